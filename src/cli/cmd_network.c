/*
 * cmd_network.c - `isorun network set|show`: a sandbox's policy in
 * isorund, changed live (PUT /v1/sandboxes/{id}/network) or shown.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const struct option opts[] = {
	{ "profile",	required_argument,	NULL, 'p' },
	{ "allow",	required_argument,	NULL, 'a' },
	{ "deny",	required_argument,	NULL, 'd' },
	{ "network",	no_argument,		NULL, 'n' },
	{ "help",	no_argument,		NULL, 'h' },
	CLI_API_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

void
cmd_network_usage(FILE *f)
{
	fprintf(f, "usage: isorun network set [--profile NAME | --allow RULE... "
	    "--deny RULE... | --network]\n"
	    "                         [--json] ID\n"
	    "       isorun network show [--json] ID\n\n"
	    "set replaces the sandbox's egress policy while it runs: every new "
	    "connection and\nDNS answer follows the new one; open connections "
	    "it blocks are closed. A\nprofile's rules are copied: later "
	    "changes to the profile do not reach the sandbox.\n"
	    "show prints the policy in force.\n\n"
	    "  --profile NAME      a network profile ('isorun profiles')\n"
	    "  --allow RULE        allow a host, *.domain, address or CIDR "
	    "(with :PORT)\n"
	    "  --deny RULE         deny one; deny wins; '0.0.0.0/0' or '*' "
	    "blocks the rest\n"
	    "  --network           rules given (possibly none: allow "
	    "everything)\n%s", cli_api_usage());
}

int
cmd_network(int argc, char **argv)
{
	struct cli_api		 ca;
	struct cli_policy_src	 ps;
	const char		**allow = NULL, **deny = NULL, *sub;
	size_t			 nallow = 0, ndeny = 0;
	json_t			*body = NULL, *out = NULL;
	char			 path[128], desc[256];
	int			 c, rc = CLI_USAGE, set;

	if ((rc = cli_set_show("network", &argc, &argv, cmd_network_usage,
	    &set)) != -1)
		return rc;
	rc = CLI_USAGE;
	sub = set ? "set" : "show";
	memset(&ca, 0, sizeof(ca));
	memset(&ps, 0, sizeof(ps));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (cli_api_opt(&ca, c, optarg))
			continue;
		if (!set && c != 'h' && c != ':' && c != '?') {
			rc = cli_usage_error("network", "network show: %s "
			    "belongs to network set", argv[optind - 1]);
			goto out;
		}
		switch (c) {
		case 'p': ps.ps_profile = optarg; break;
		case 'a':
		case 'd':
			ps.ps_have_network = 1;
			if (cli_strv_add(c == 'a' ? &allow : &deny, c == 'a' ?
			    &nallow : &ndeny, optarg) == -1) {
				rc = CLI_FAIL;
				goto out;
			}
			break;
		case 'n': ps.ps_have_network = 1; break;
		case 'h':
			cmd_network_usage(stdout);
			rc = CLI_OK;
			goto out;
		default:
			rc = cli_getopt_error("network", c, optopt,
			    argv[optind - 1]);
			goto out;
		}
	}
	if (optind != argc - 1) {
		rc = cli_usage_error("network", "network %s: want exactly one "
		    "sandbox ID", sub);
		goto out;
	}
	if ((rc = cli_id_check("network", argv[optind])) != CLI_OK)
		goto out;
	if (set && ps.ps_profile == NULL && !ps.ps_have_network) {
		rc = cli_usage_error("network", "network set: give --profile, "
		    "or --allow/--deny rules (--network alone: no rules, allow "
		    "everything)");
		goto out;
	}
	if (!set) {
		snprintf(path, sizeof(path), "/v1/sandboxes/%s", argv[optind]);
		if ((rc = cli_api(&ca, "network", "GET", path, NULL, &out)) !=
		    CLI_OK)
			goto out;
	} else {
		ps.ps_allow = allow;
		ps.ps_nallow = nallow;
		ps.ps_deny = deny;
		ps.ps_ndeny = ndeny;
		if ((body = json_object()) == NULL) {
			rc = CLI_FAIL;
			goto out;
		}
		if ((rc = cli_network_json("network", &ps, body)) != CLI_OK)
			goto out;
		snprintf(path, sizeof(path), "/v1/sandboxes/%s/network",
		    argv[optind]);
		rc = cli_api(&ca, "network", "PUT", path, body, &out);
		body = NULL;
		if (rc != CLI_OK)
			goto out;
	}
	if (ca.ca_json) {
		rc = cli_json_print(json_pack("{s:O, s:O, s:O}", "network",
		    json_object_get(out, "network"), "networkProfile",
		    json_object_get(out, "networkProfile"), "networkMode",
		    json_object_get(out, "networkMode")));
		goto out;
	}
	cli_network_desc(out, desc, sizeof(desc));
	if (set)
		printf("%s: %s\n", argv[optind], desc);
	else
		cli_inspect_print(out);
out:
	json_decref(body);
	json_decref(out);
	free(allow);
	free(deny);
	return rc;
}
