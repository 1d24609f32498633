/*
 * cmd_create.c - `isorun create`: a sandbox in isorund (POST /v1/sandboxes).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const struct option opts[] = {
	{ "image",	required_argument,	NULL, 'i' },
	{ "profile",	required_argument,	NULL, 'p' },
	{ "allow",	required_argument,	NULL, 'a' },
	{ "deny",	required_argument,	NULL, 'd' },
	{ "network",	no_argument,		NULL, 'n' },
	{ "env",	required_argument,	NULL, 'e' },
	{ "timeout",	required_argument,	NULL, 't' },
	{ "id",		required_argument,	NULL, 'I' },
	{ "endpoints",	required_argument,	NULL, 'E' },
	{ "help",	no_argument,		NULL, 'h' },
	CLI_API_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

void
cmd_create_usage(FILE *f)
{
	fprintf(f, "usage: isorun create [--image IMAGE] [--profile NAME | "
	    "--allow RULE... --deny RULE...]\n"
	    "                     [--env K=V]... [--timeout SECONDS] [--id ID] "
	    "[--json]\n"
	    "                     [--endpoints FILE.json]\n\n"
	    "Creates a sandbox in isorund and prints its id. It lives until "
	    "'isorun destroy'\n(or its --timeout), across isorund restarts.\n\n"
	    "  --image IMAGE       host (default), a rootfs directory, or an "
	    "imported name\n"
	    "  --profile NAME      a network profile ('isorun profiles'); "
	    "default unrestricted\n"
	    "  --allow RULE        allow a host, *.domain, address or CIDR "
	    "(with :PORT)\n"
	    "  --deny RULE         deny one; deny wins; '0.0.0.0/0' or '*' "
	    "blocks the rest\n"
	    "  --network           rules given (possibly none), not a "
	    "profile\n"
	    "  --env K=V           an environment variable of every exec\n"
	    "  --timeout SECONDS   destroy the sandbox after this long\n"
	    "  --id ID             its id (default: sb- and 12 hex digits)\n"
	    "  --endpoints FILE    endpoint rules and credentials per host: a "
	    "JSON array of\n"
	    "                      {host, rules, default, credentials} "
	    "(docs/endpoints.md);\n"
	    "                      their secrets must be set ('isorun secret "
	    "set')\n"
	    "%s", cli_api_usage());
}

int
cmd_create(int argc, char **argv)
{
	struct cli_api		 ca;
	struct cli_policy_src	 ps;
	const char		**allow = NULL, **deny = NULL, **env = NULL;
	const char		*image = NULL, *id = NULL, *epfile = NULL;
	size_t			 nallow = 0, ndeny = 0, nenv = 0;
	json_t			*body = NULL, *out = NULL, *e;
	unsigned long		 timeout = 0;
	char			*end, *eptext = NULL;
	size_t			 eplen;
	int			 c, rc = CLI_USAGE;

	memset(&ca, 0, sizeof(ca));
	memset(&ps, 0, sizeof(ps));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (cli_api_opt(&ca, c, optarg))
			continue;
		switch (c) {
		case 'i': image = optarg; break;
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
		case 'e':
			if (cli_strv_add(&env, &nenv, optarg) == -1) {
				rc = CLI_FAIL;
				goto out;
			}
			break;
		case 't':
			errno = 0;
			timeout = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-' ||
			    timeout == 0 || timeout > 31 * 86400) {
				rc = cli_usage_error("create", "create: --timeout "
				    "'%s': want whole seconds, 1 to 2678400",
				    optarg);
				goto out;
			}
			break;
		case 'I':
			if ((rc = cli_id_check("create", optarg)) != CLI_OK)
				goto out;
			rc = CLI_USAGE;
			id = optarg;
			break;
		case 'E': epfile = optarg; break;
		case 'h':
			cmd_create_usage(stdout);
			rc = CLI_OK;
			goto out;
		default:
			rc = cli_getopt_error("create", c, optopt,
			    argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc) {
		rc = cli_usage_error("create", "create: unexpected argument "
		    "'%s' (options only)", argv[optind]);
		goto out;
	}
	ps.ps_allow = allow;
	ps.ps_nallow = nallow;
	ps.ps_deny = deny;
	ps.ps_ndeny = ndeny;
	if ((body = json_object()) == NULL) {
		rc = CLI_FAIL;
		goto out;
	}
	if ((rc = cli_network_json("create", &ps, body)) != CLI_OK)
		goto out;
	rc = CLI_USAGE;
	if (id != NULL)
		json_object_set_new(body, "id", json_string(id));
	if (image != NULL && json_object_set_new(body, "image",
	    json_string(image)) == -1) {
		cli_warnx("create: --image: not valid UTF-8");
		goto out;
	}
	if (nenv > 0) {
		if ((e = cli_env_json("create", env, nenv)) == NULL)
			goto out;
		json_object_set_new(body, "env", e);
	}
	if (timeout > 0)
		json_object_set_new(body, "timeoutMs",
		    json_integer((json_int_t)timeout * 1000));
	if (epfile != NULL) {
		if ((eptext = cli_endpoints_load("create", epfile, &eplen)) ==
		    NULL)
			goto out;
		json_object_set_new(body, "endpoints", json_loadb(eptext, eplen,
		    0, NULL));
	}
	rc = cli_api(&ca, "create", "POST", "/v1/sandboxes", body, &out);
	body = NULL;
	if (rc != CLI_OK)
		goto out;
	if (ca.ca_json)
		rc = cli_json_print(json_incref(out));
	else
		printf("%s\n", cli_jstr(out, "id"));
out:
	json_decref(body);
	json_decref(out);
	free(allow);
	free(deny);
	free(env);
	free(eptext);
	return rc;
}
