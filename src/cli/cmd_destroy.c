/*
 * cmd_destroy.c - `isorun destroy`: sandboxes of isorund gone, with every
 * trace (DELETE /v1/sandboxes/{id}).
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

static const struct option opts[] = {
	{ "help",	no_argument,		NULL, 'h' },
	CLI_API_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

void
cmd_destroy_usage(FILE *f)
{
	fprintf(f, "usage: isorun destroy [--json] ID...\n\n"
	    "Destroys each sandbox: its network first, then its processes and "
	    "files. Prints\nthe ids destroyed; goes on after a failure and "
	    "exits with the worst status.\n\n%s", cli_api_usage());
}

int
cmd_destroy(int argc, char **argv)
{
	struct cli_api	 ca;
	json_t		*done;
	char		 path[128];
	int		 c, i, rc = CLI_OK, r;

	memset(&ca, 0, sizeof(ca));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (cli_api_opt(&ca, c, optarg))
			continue;
		if (c == 'h') {
			cmd_destroy_usage(stdout);
			return CLI_OK;
		}
		return cli_getopt_error("destroy", c, optopt, argv[optind - 1]);
	}
	if (optind >= argc)
		return cli_usage_error("destroy", "destroy: no sandbox ID given");
	for (i = optind; i < argc; i++)
		if ((r = cli_id_check("destroy", argv[i])) != CLI_OK)
			return r;
	if ((done = json_array()) == NULL)
		return CLI_FAIL;
	for (i = optind; i < argc; i++) {
		snprintf(path, sizeof(path), "/v1/sandboxes/%s", argv[i]);
		r = cli_api(&ca, "destroy", "DELETE", path, NULL, NULL);
		if (r == CLI_OK) {
			json_array_append_new(done, json_string(argv[i]));
			if (!ca.ca_json)
				printf("%s\n", argv[i]);
		} else if (rc == CLI_OK || r == CLI_FAIL)
			rc = r;
	}
	if (ca.ca_json) {
		if (cli_json_print(json_pack("{s:o}", "destroyed", done)) !=
		    CLI_OK)
			rc = CLI_FAIL;
	} else
		json_decref(done);
	return rc;
}
