/*
 * cmd_profiles.c - `isorun profiles`: the catalogue, as a table or JSON.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../profiles/profiles.h"

static const struct option opts[] = {
	{ "json",		no_argument,		NULL, 'j' },
	{ "profiles-dir",	required_argument,	NULL, 'd' },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL,			0,			NULL, 0 },
};

void
cmd_profiles_usage(FILE *f)
{
	fprintf(f, "usage: isorun profiles [--json] [--profiles-dir DIR]\n"
	    "\n"
	    "Lists the network profiles: the built-ins, then those of the "
	    "operator's\n"
	    "files (DIR/*.json, default %s), which add or\n"
	    "override profiles. Bad files are reported on stderr; the others "
	    "still load.\n"
	    "\n"
	    "  --json               print a JSON array of\n"
	    "                       {name, description, mode, allow, deny, "
	    "source}\n"
	    "  --profiles-dir DIR   read profile files from DIR\n", PROFILES_DIR);
}

static int
print_table(const struct profiles *pc)
{
	const struct profile	*p;
	size_t			 i;
	int			 wn = 4, wm = 4, ws = 6, n;
	char			 buf[1024];

	for (i = 0; i < profiles_count(pc); i++) {
		p = profiles_at(pc, i);
		if ((n = (int)strlen(profile_name(p))) > wn)
			wn = n;
		if ((n = (int)strlen(pol_mode_name(profile_mode(p)))) > wm)
			wm = n;
		n = (int)strlen(cli_show(profile_source(p), buf, sizeof(buf)));
		if (n > ws)
			ws = n;
	}
	printf("%-*s  %-*s  %5s  %5s  %-*s  %s\n", wn, "NAME", wm, "MODE",
	    "ALLOW", "DENY", ws, "SOURCE", "DESCRIPTION");
	for (i = 0; i < profiles_count(pc); i++) {
		p = profiles_at(pc, i);
		printf("%-*s  %-*s  %5zu  %5zu  %-*s  %s\n", wn,
		    profile_name(p), wm, pol_mode_name(profile_mode(p)),
		    profile_nrules(p, POL_ALLOW), profile_nrules(p, POL_DENY),
		    ws, cli_show(profile_source(p), buf, sizeof(buf)),
		    profile_description(p));
	}
	return CLI_OK;
}

int
cmd_profiles(int argc, char **argv)
{
	struct profiles	*pc;
	const char	*dir = NULL;
	char		 q[300];
	int		 c, json = 0, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			cmd_profiles_usage(stdout);
			return CLI_OK;
		default:
			return cli_getopt_error("profiles", c, optopt,
			    argv[optind - 1]);
		}
	}
	if (optind < argc) {
		str_quote(argv[optind], strlen(argv[optind]), 64, q, sizeof(q));
		return cli_usage_error("profiles", "profiles: unexpected "
		    "argument %s", q);
	}
	if ((pc = cli_profiles_load(dir)) == NULL)
		return CLI_FAIL;
	rc = json ? cli_json_print(profiles_json(pc)) : print_table(pc);
	profiles_free(pc);
	return rc;
}
