/*
 * cmd_inspect.c - `isorun inspect`: one sandbox of isorund in full
 * (GET /v1/sandboxes/{id}).
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
cmd_inspect_usage(FILE *f)
{
	fprintf(f, "usage: isorun inspect [--json] ID\n\n"
	    "Shows a sandbox of isorund: image, state, times, addresses and its "
	    "network policy\nwith every rule.\n\n%s", cli_api_usage());
}

static void
rules(const char *label, json_t *a)
{
	json_t	*r;
	size_t	 i;
	char	 buf[1100];

	printf("%-16s", label);
	if (json_array_size(a) == 0)
		printf("(none)");
	json_array_foreach(a, i, r)
		printf("%s%s", i ? " " : "", cli_show(json_string_value(r) ?
		    json_string_value(r) : "", buf, sizeof(buf)));
	printf("\n");
}

void
cli_inspect_print(json_t *sb)
{
	json_t	*net = json_object_get(sb, "network");

	printf("%-16s%s\n", "id", cli_jstr(sb, "id"));
	printf("%-16s%s\n", "image", cli_jstr(sb, "image"));
	printf("%-16s%s\n", "state", cli_jstr(sb, "state"));
	printf("%-16s%s\n", "created", cli_jstr(sb, "createdAt"));
	printf("%-16s%s\n", "expires", json_is_string(json_object_get(sb,
	    "expiresAt")) ? cli_jstr(sb, "expiresAt") : "never");
	printf("%-16s%s\n", "ipv4", cli_jstr(sb, "ipv4"));
	printf("%-16s%s\n", "ipv6", cli_jstr(sb, "ipv6"));
	printf("%-16s%s\n", "profile", json_is_string(json_object_get(sb,
	    "networkProfile")) ? cli_jstr(sb, "networkProfile") :
	    "(rules given at create or by network set)");
	printf("%-16s%s\n", "mode", cli_jstr(sb, "networkMode"));
	rules("allow", json_object_get(net, "allow"));
	rules("deny", json_object_get(net, "deny"));
}

int
cmd_inspect(int argc, char **argv)
{
	struct cli_api	 ca;
	json_t		*out = NULL;
	char		 path[128];
	int		 c, rc;

	memset(&ca, 0, sizeof(ca));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (cli_api_opt(&ca, c, optarg))
			continue;
		if (c == 'h') {
			cmd_inspect_usage(stdout);
			return CLI_OK;
		}
		return cli_getopt_error("inspect", c, optopt, argv[optind - 1]);
	}
	if (optind != argc - 1)
		return cli_usage_error("inspect", "inspect: want exactly one "
		    "sandbox ID");
	if ((rc = cli_id_check("inspect", argv[optind])) != CLI_OK)
		return rc;
	snprintf(path, sizeof(path), "/v1/sandboxes/%s", argv[optind]);
	if ((rc = cli_api(&ca, "inspect", "GET", path, NULL, &out)) != CLI_OK)
		return rc;
	if (ca.ca_json)
		return cli_json_print(out);
	cli_inspect_print(out);
	json_decref(out);
	return CLI_OK;
}
