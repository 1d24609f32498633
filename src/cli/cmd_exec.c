/*
 * cmd_exec.c - `isorun exec`: one command in a sandbox of isorund
 * (POST /v1/sandboxes/{id}/exec). Its output is printed when it has ended
 * (the API answers once); the exit code is the command's.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#define STDIN_MAX	(1024 * 1024)

static const struct option opts[] = {
	{ "env",	required_argument,	NULL, 'e' },
	{ "cwd",	required_argument,	NULL, 'C' },
	{ "timeout",	required_argument,	NULL, 't' },
	{ "stdin",	no_argument,		NULL, 'i' },
	{ "help",	no_argument,		NULL, 'h' },
	CLI_API_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

void
cmd_exec_usage(FILE *f)
{
	fprintf(f, "usage: isorun exec [--env K=V]... [--cwd DIR] [--timeout "
	    "SECONDS] [--stdin] [--json]\n"
	    "                   ID [--] COMMAND [ARG]...\n"
	    "       isorun exec [OPTIONS] ID -c 'SHELL COMMAND LINE'\n\n"
	    "Runs a command in sandbox ID and, when it has ended, prints its "
	    "output and exits\nwith its exit code (128+N when signal N ended "
	    "it). Files and background\nprocesses persist between execs.\n\n"
	    "  -c CMDLINE          run CMDLINE with /bin/sh -c\n"
	    "  --env K=V           an environment variable of the command\n"
	    "  --cwd DIR           its working directory (absolute)\n"
	    "  --timeout SECONDS   kill it after this long\n"
	    "  --stdin             send this program's standard input (at most "
	    "1 MiB of text)\n"
	    "%s\nWith --json the result is printed as JSON ({exitCode, stdout, "
	    "stderr, timedOut,\ndurationMs, ...}) and the exit status is 0 "
	    "when the command ran.\n", cli_api_usage());
}

static int
read_stdin(char **out, size_t *len)
{
	char	*buf;
	size_t	 n = 0;
	ssize_t	 r;

	if ((buf = malloc(STDIN_MAX + 1)) == NULL)
		return -1;
	while (n < STDIN_MAX + 1) {
		if ((r = read(STDIN_FILENO, buf + n, STDIN_MAX + 1 - n)) == -1) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > STDIN_MAX) {
		free(buf);
		errno = EFBIG;
		return -1;
	}
	*out = buf;
	*len = n;
	return 0;
}

static void
write_out(FILE *f, json_t *s)
{
	if (json_string_length(s) > 0)
		fwrite(json_string_value(s), 1, json_string_length(s), f);
}

int
cmd_exec(int argc, char **argv)
{
	struct cli_api	 ca;
	const char	**env = NULL, *cwd = NULL, *id, *shell = NULL;
	size_t		 nenv = 0, inlen = 0;
	json_t		*body = NULL, *out = NULL, *cmd, *e;
	unsigned long	 timeout = 0;
	char		*end, *in = NULL, path[128];
	int		 c, i, want_stdin = 0, rc = CLI_USAGE;

	memset(&ca, 0, sizeof(ca));
	optind = 0;
	opterr = 0;
	/* '+': the first non-option is the id; what follows is the command. */
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		if (cli_api_opt(&ca, c, optarg))
			continue;
		switch (c) {
		case 'e':
			if (cli_strv_add(&env, &nenv, optarg) == -1) {
				rc = CLI_FAIL;
				goto out;
			}
			break;
		case 'C': cwd = optarg; break;
		case 't':
			errno = 0;
			timeout = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-' ||
			    timeout == 0 || timeout > 31 * 86400) {
				rc = cli_usage_error("exec", "exec: --timeout "
				    "'%s': want whole seconds, 1 to 2678400",
				    optarg);
				goto out;
			}
			break;
		case 'i': want_stdin = 1; break;
		case 'h':
			cmd_exec_usage(stdout);
			rc = CLI_OK;
			goto out;
		default:
			rc = cli_getopt_error("exec", c, optopt,
			    argv[optind - 1]);
			goto out;
		}
	}
	if (optind >= argc) {
		rc = cli_usage_error("exec", "exec: no sandbox ID given");
		goto out;
	}
	id = argv[optind++];
	if ((rc = cli_id_check("exec", id)) != CLI_OK)
		goto out;
	rc = CLI_USAGE;
	if (optind < argc && strcmp(argv[optind], "-c") == 0) {
		if (optind + 2 != argc) {
			rc = cli_usage_error("exec", "exec: -c takes one "
			    "argument, the whole command line");
			goto out;
		}
		shell = argv[optind + 1];
	} else if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (shell == NULL && optind >= argc) {
		rc = cli_usage_error("exec", "exec: no COMMAND given (isorun "
		    "exec ID COMMAND [ARG]... or isorun exec ID -c 'LINE')");
		goto out;
	}
	if ((body = json_object()) == NULL) {
		rc = CLI_FAIL;
		goto out;
	}
	if (shell != NULL)
		cmd = json_string(shell);
	else {
		cmd = json_array();
		for (i = optind; cmd != NULL && i < argc; i++)
			if (json_array_append_new(cmd, json_string(argv[i])) ==
			    -1) {
				json_decref(cmd);
				cmd = NULL;
			}
	}
	if (cmd == NULL || json_object_set_new(body, "cmd", cmd) == -1) {
		cli_warnx("exec: the command is not valid UTF-8");
		goto out;
	}
	if (nenv > 0) {
		if ((e = cli_env_json("exec", env, nenv)) == NULL)
			goto out;
		json_object_set_new(body, "env", e);
	}
	if (cwd != NULL && json_object_set_new(body, "cwd",
	    json_string(cwd)) == -1) {
		cli_warnx("exec: --cwd: not valid UTF-8");
		goto out;
	}
	if (timeout > 0)
		json_object_set_new(body, "timeoutMs",
		    json_integer((json_int_t)timeout * 1000));
	if (want_stdin) {
		if (read_stdin(&in, &inlen) == -1) {
			cli_warnx("exec: --stdin: %s", errno == EFBIG ?
			    "more than 1 MiB" : strerror(errno));
			goto out;
		}
		if (json_object_set_new(body, "stdin", json_stringn(in,
		    inlen)) == -1) {
			cli_warnx("exec: --stdin: only UTF-8 text can be sent");
			goto out;
		}
	}
	snprintf(path, sizeof(path), "/v1/sandboxes/%s/exec", id);
	rc = cli_api(&ca, "exec", "POST", path, body, &out);
	body = NULL;
	if (rc != CLI_OK)
		goto out;
	if (ca.ca_json) {
		rc = cli_json_print(json_incref(out));
		goto out;
	}
	write_out(stdout, json_object_get(out, "stdout"));
	fflush(stdout);
	write_out(stderr, json_object_get(out, "stderr"));
	if (json_is_true(json_object_get(out, "timedOut")))
		cli_warnx("exec: the command was killed at its timeout");
	if (json_is_true(json_object_get(out, "stdoutTruncated")) ||
	    json_is_true(json_object_get(out, "stderrTruncated")))
		cli_warnx("exec: output was cut at the runner's limit "
		    "(output_max_bytes)");
	rc = (int)json_integer_value(json_object_get(out, "exitCode"));
out:
	json_decref(body);
	json_decref(out);
	free(env);
	free(in);
	return rc;
}
