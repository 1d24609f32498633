/*
 * cmd_endpoints.c - `isorun endpoints set|show`: a sandbox's endpoint rules
 * in isorund, changed live (PUT /v1/sandboxes/{id}/endpoints) or shown.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const struct option opts[] = {
	{ "help",	no_argument,		NULL, 'h' },
	CLI_API_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

void
cmd_endpoints_usage(FILE *f)
{
	fprintf(f, "usage: isorun endpoints set [--json] ID FILE.json\n"
	    "       isorun endpoints show [--json] ID\n\n"
	    "set replaces the sandbox's endpoint rules while it runs "
	    "(docs/endpoints.md): the\nnext request on every connection, open "
	    "or new, is judged by them; an open\nconnection to a host that "
	    "gains or loses its rules is closed. FILE holds the\narray of "
	    "{host, rules, default, credentials} of 'isorun create "
	    "--endpoints'; []\nremoves them all. Only a sandbox created with "
	    "endpoints trusts the runner's CA,\nso only such a sandbox can "
	    "get new ones.\n"
	    "show prints the rules in force.\n%s", cli_api_usage());
}

int
cmd_endpoints(int argc, char **argv)
{
	struct cli_api	 ca;
	const char	*sub;
	char		*text = NULL, path[128];
	size_t		 len;
	json_t		*body = NULL, *out = NULL, *eps;
	int		 c, rc, set;

	if ((rc = cli_set_show("endpoints", &argc, &argv,
	    cmd_endpoints_usage, &set)) != -1)
		return rc;
	sub = set ? "set" : "show";
	memset(&ca, 0, sizeof(ca));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (cli_api_opt(&ca, c, optarg))
			continue;
		if (c == 'h') {
			cmd_endpoints_usage(stdout);
			return CLI_OK;
		}
		return cli_getopt_error("endpoints", c, optopt,
		    argv[optind - 1]);
	}
	if (argc - optind != (set ? 2 : 1))
		return cli_usage_error("endpoints", "endpoints %s: want %s",
		    sub, set ? "a sandbox ID and a FILE" : "exactly one "
		    "sandbox ID");
	if ((rc = cli_id_check("endpoints", argv[optind])) != CLI_OK)
		return rc;
	if (!set) {
		snprintf(path, sizeof(path), "/v1/sandboxes/%s", argv[optind]);
		rc = cli_api(&ca, "endpoints", "GET", path, NULL, &out);
	} else {
		if ((text = cli_endpoints_load("endpoints", argv[optind + 1],
		    &len)) == NULL)
			return CLI_USAGE;
		body = json_pack("{s:o}", "endpoints", json_loadb(text, len, 0,
		    NULL));
		snprintf(path, sizeof(path), "/v1/sandboxes/%s/endpoints",
		    argv[optind]);
		rc = cli_api(&ca, "endpoints", "PUT", path, body, &out);
		body = NULL;
	}
	if (rc != CLI_OK)
		goto out;
	eps = json_object_get(out, "endpoints");
	if (ca.ca_json)
		rc = cli_json_print(json_pack("{s:O}", "endpoints", eps));
	else if (set)
		printf("%s: %zu endpoint host(s)\n", argv[optind],
		    json_array_size(eps));
	else
		rc = cli_json_print(json_incref(eps));
out:
	json_decref(out);
	free(text);
	return rc;
}
