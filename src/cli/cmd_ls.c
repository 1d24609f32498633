/*
 * cmd_ls.c - `isorun ls`: the sandboxes of isorund (GET /v1/sandboxes).
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

static const struct option opts[] = {
	{ "quiet",	no_argument,		NULL, 'q' },
	{ "help",	no_argument,		NULL, 'h' },
	CLI_API_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

void
cmd_ls_usage(FILE *f)
{
	fprintf(f, "usage: isorun ls [--quiet] [--json]\n\n"
	    "Lists the sandboxes of isorund: id, image, state, network, "
	    "address, creation.\n\n"
	    "  --quiet, -q         ids only, one a line\n%s", cli_api_usage());
}

int
cmd_ls(int argc, char **argv)
{
	struct cli_api	 ca;
	json_t		*out = NULL, *a, *sb;
	size_t		 i;
	char		 net[256];
	int		 c, quiet = 0, rc;

	memset(&ca, 0, sizeof(ca));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
		if (cli_api_opt(&ca, c, optarg))
			continue;
		if (c == 'q')
			quiet = 1;
		else if (c == 'h') {
			cmd_ls_usage(stdout);
			return CLI_OK;
		} else
			return cli_getopt_error("ls", c, optopt,
			    argv[optind - 1]);
	}
	if (optind < argc)
		return cli_usage_error("ls", "ls: unexpected argument '%s'",
		    argv[optind]);
	if ((rc = cli_api(&ca, "ls", "GET", "/v1/sandboxes", NULL, &out)) !=
	    CLI_OK)
		return rc;
	if (ca.ca_json)
		return cli_json_print(out);
	a = json_object_get(out, "sandboxes");
	if (!quiet)
		printf("%-20s %-16s %-8s %-36s %-15s %s\n", "ID", "IMAGE",
		    "STATE", "NETWORK", "IPV4", "CREATED");
	json_array_foreach(a, i, sb) {
		if (quiet) {
			printf("%s\n", cli_jstr(sb, "id"));
			continue;
		}
		cli_network_desc(sb, net, sizeof(net));
		printf("%-20s %-16s %-8s %-36s %-15s %s\n", cli_jstr(sb, "id"),
		    cli_jstr(sb, "image"), cli_jstr(sb, "state"), net,
		    cli_jstr(sb, "ipv4"), cli_jstr(sb, "createdAt"));
	}
	json_decref(out);
	return CLI_OK;
}
