/*
 * main.c - `isorun`: the command table and its dispatch.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static int	cmd_help(int, char **);
static void	cmd_help_usage(FILE *);

static const struct cli_cmd cmds[] = {
	{ "policy", cmd_policy, "check connections against an egress policy",
	    cmd_policy_usage },
	{ "profiles", cmd_profiles, "list the network profiles",
	    cmd_profiles_usage },
	{ "run", cmd_run, "run a command in a new sandbox under a network "
	    "policy", cmd_run_usage },
	{ "image", cmd_image, "import, list and remove sandbox images",
	    cmd_image_usage },
	{ "audit", cmd_audit, "show and follow the audit trail",
	    cmd_audit_usage },
	{ "create", cmd_create, "create a sandbox in isorund",
	    cmd_create_usage },
	{ "exec", cmd_exec, "run a command in a sandbox of isorund",
	    cmd_exec_usage },
	{ "destroy", cmd_destroy, "destroy sandboxes of isorund",
	    cmd_destroy_usage },
	{ "ls", cmd_ls, "list the sandboxes of isorund", cmd_ls_usage },
	{ "inspect", cmd_inspect, "show a sandbox of isorund",
	    cmd_inspect_usage },
	{ "network", cmd_network, "change or show a sandbox's policy live",
	    cmd_network_usage },
	{ "endpoints", cmd_endpoints, "change or show a sandbox's endpoint "
	    "rules live", cmd_endpoints_usage },
	{ "secret", cmd_secret, "set, list and remove the runner's secrets",
	    cmd_secret_usage },
	{ "help", cmd_help, "show the help of a command", cmd_help_usage },
};
#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static void
usage(FILE *f)
{
	size_t	 i;

	fputs("usage: isorun [--help] COMMAND [ARG...]\n"
	    "\n"
	    "Runs untrusted code in Linux sandboxes, each with its own egress "
	    "policy.\n"
	    "\n"
	    "commands:\n", f);
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fputs("\nRun 'isorun help COMMAND' (or 'isorun COMMAND --help') for "
	    "a command's options.\n", f);
}

static const struct cli_cmd *
cmd_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

static int
unknown_command(const char *name)
{
	char	 q[160];

	str_quote(name, strlen(name), 32, q, sizeof(q));
	cli_warnx("unknown command %s; run 'isorun --help' for the list", q);
	return CLI_USAGE;
}

static void
cmd_help_usage(FILE *f)
{
	fputs("usage: isorun help [COMMAND]\n"
	    "\n"
	    "Shows the options of COMMAND, or the list of commands.\n", f);
}

static int
cmd_help(int argc, char **argv)
{
	const struct cli_cmd	*c;

	if (argc < 2) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cmd_help_usage(stdout);
		return CLI_OK;
	}
	if ((c = cmd_find(argv[1])) == NULL)
		return unknown_command(argv[1]);
	c->usage(stdout);
	return CLI_OK;
}

int
main(int argc, char **argv)
{
	const struct cli_cmd	*c;
	char			 q[160];
	int			 rc;

	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		rc = CLI_OK;
	} else if (argv[1][0] == '-') {
		str_quote(argv[1], strlen(argv[1]), 32, q, sizeof(q));
		cli_warnx("unknown option %s; run 'isorun --help'", q);
		return CLI_USAGE;
	} else if ((c = cmd_find(argv[1])) == NULL)
		return unknown_command(argv[1]);
	else
		rc = c->run(argc - 1, argv + 1);

	/* A full disk or a closed pipe must not look like success. */
	if (fflush(stdout) == EOF || ferror(stdout)) {
		cli_warnx("write error on standard output");
		return CLI_FAIL;
	}
	return rc;
}
