/*
 * cmd_secret.c - `isorun secret`: the runner-held secrets that endpoint
 * credentials inject (PUT, GET, DELETE /v1/secrets). A value goes from
 * stdin to isorund and nowhere else: never an argument (ps would show
 * it), never printed.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>

#include "../secrets/secrets.h"

static const struct option opts[] = {
	{ "raw",	no_argument,		NULL, 'r' },
	{ "state-dir",	required_argument,	NULL, 'S' },
	{ "help",	no_argument,		NULL, 'h' },
	CLI_API_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

void
cmd_secret_usage(FILE *f)
{
	fprintf(f, "usage: isorun secret set [--raw] NAME   (the value on "
	    "stdin)\n"
	    "       isorun secret ls [--json]\n"
	    "       isorun secret rm NAME...\n"
	    "       (each also with --state-dir DIR)\n\n"
	    "The runner's secrets, which endpoint credentials inject into a "
	    "sandbox's\nrequests (\"Authorization: Bearer ${secret:NAME}\") "
	    "so that the sandbox never\nholds them. Stored readable by root "
	    "only; no command ever prints a value.\n\n"
	    "  set NAME   stores stdin (1 to %d bytes, no NUL) as NAME; one "
	    "trailing\n"
	    "             newline is dropped (echo KEY | isorun secret set "
	    "NAME); on a\n"
	    "             terminal the line is read without echo\n"
	    "  --raw      keep the value exactly as read\n"
	    "  ls         the names\n"
	    "  rm NAME    deletes them\n"
	    "  --state-dir DIR  the store of an embedded runner ('isorun run "
	    "--state-dir DIR'),\n"
	    "             DIR/secrets, used directly instead of isorund's\n\n"
	    "A NAME is 1 to %d of [A-Za-z0-9_.-], the first a letter, digit "
	    "or '_'.\n\n%s", SECRET_VALUE_MAX, SECRET_NAME_MAX,
	    cli_api_usage());
}

static int
name_check(const char *name)
{
	struct ir_err	 e;

	if (secrets_name_check(name, &e) == -1)
		return cli_usage_error("secret", "secret: %s", e.msg);
	return CLI_OK;
}

/*
 * The value from stdin, at most SECRET_VALUE_MAX + 1 bytes (one more says
 * "too long"). On a terminal: one line, not echoed.
 */
static char *
value_read(size_t *len, int *tty)
{
	struct termios	 old, quiet;
	size_t		 cap = SECRET_VALUE_MAX + 2, n = 0;
	ssize_t		 r;
	char		*buf;

	*tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if ((buf = malloc(cap)) == NULL)
		return NULL;
	if (*tty) {
		fprintf(stderr, "isorun: value (not echoed), then Enter: ");
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	while (n < cap - 1) {
		r = read(STDIN_FILENO, buf + n, *tty ? 1 : cap - 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (*tty && buf[n - 1] == '\n')
			break;
	}
	if (*tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	*len = n;
	return buf;
}

/* The store in DIR/secrets, for --state-dir; NULL after reporting. */
static struct secrets *
local_open(const char *dir)
{
	struct secrets	*s;
	struct ir_err	 e;
	char		 path[4096];

	snprintf(path, sizeof(path), "%s/secrets", dir);
	if ((s = secrets_open(path, &e)) == NULL)
		cli_warnx("secret: --state-dir: %s", e.msg);
	return s;
}

/* A local operation's failure, reported as the API's would be. */
static int
local_fail(const char *what, const struct ir_err *e)
{
	cli_warnx("secret %s: %s", what, e->msg);
	return e->code == EINVAL || e->code == EFBIG || e->code == ENOENT ?
	    CLI_USAGE : CLI_FAIL;
}

static int
local_set(const char *dir, const char *name, const char *val, size_t len,
    unsigned *status)
{
	struct secrets	*s;
	struct ir_err	 e;
	int		 had, rc = CLI_OK;

	if ((s = local_open(dir)) == NULL)
		return CLI_FAIL;
	if ((had = secrets_exists(s, name, &e)) == -1 ||
	    secrets_set(s, name, val, len, &e) == -1)
		rc = local_fail("set", &e);
	*status = had ? 204 : 201;
	secrets_close(s);
	return rc;
}

static int
secret_set(const struct cli_api *ca, const char *dir, const char *name,
    int raw)
{
	char		 path[128], *val;
	size_t		 len;
	unsigned	 status = 0;
	int		 rc, tty;

	if ((rc = name_check(name)) != CLI_OK)
		return rc;
	if ((val = value_read(&len, &tty)) == NULL) {
		cli_warnx("secret: out of memory");
		return CLI_FAIL;
	}
	if ((!raw || tty) && len > 0 && val[len - 1] == '\n')
		len--;
	if (len == 0)
		rc = cli_usage_error("secret", "secret set %s: the value on "
		    "stdin is empty", name);
	else if (len > SECRET_VALUE_MAX)
		rc = cli_usage_error("secret", "secret set %s: the value on "
		    "stdin is over %d bytes", name, SECRET_VALUE_MAX);
	else {
		snprintf(path, sizeof(path), "/v1/secrets/%s", name);
		rc = dir != NULL ? local_set(dir, name, val, len, &status) :
		    cli_api_raw(ca, "secret set", "PUT", path, val, len,
		    &status);
	}
	explicit_bzero(val, SECRET_VALUE_MAX + 2);
	free(val);
	if (rc == CLI_OK)
		fprintf(stderr, "isorun: secret %s %s\n", name, status == 201 ?
		    "set" : "replaced");
	return rc;
}

/* The same JSON as GET /v1/secrets. */
static int
local_ls(const char *dir, json_t **out)
{
	struct secrets	*s;
	struct ir_err	 e;
	json_t		*a;
	char		**names;
	size_t		 i, n;

	if ((s = local_open(dir)) == NULL)
		return CLI_FAIL;
	if (secrets_list(s, &names, &n, &e) == -1) {
		secrets_close(s);
		return local_fail("ls", &e);
	}
	secrets_close(s);
	a = json_array();
	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_pack("{s:s}", "name", names[i]));
	secrets_names_free(names, n);
	if (a == NULL || (*out = json_pack("{s:o}", "secrets", a)) == NULL) {
		cli_warnx("secret ls: out of memory");
		return CLI_FAIL;
	}
	return CLI_OK;
}

static int
secret_ls(const struct cli_api *ca, const char *dir)
{
	json_t	*out = NULL, *s;
	size_t	 i;
	int	 rc;

	if ((rc = dir != NULL ? local_ls(dir, &out) : cli_api(ca, "secret ls",
	    "GET", "/v1/secrets", NULL, &out)) != CLI_OK)
		return rc;
	if (ca->ca_json)
		return cli_json_print(out);
	json_array_foreach(json_object_get(out, "secrets"), i, s)
		printf("%s\n", cli_jstr(s, "name"));
	json_decref(out);
	return CLI_OK;
}

static int
local_rm(const char *dir, const char *name)
{
	struct secrets	*s;
	struct ir_err	 e;
	int		 rc = CLI_OK;

	if ((s = local_open(dir)) == NULL)
		return CLI_FAIL;
	if (secrets_delete(s, name, &e) == -1)
		rc = local_fail("rm", &e);
	secrets_close(s);
	return rc;
}

static int
secret_rm(const struct cli_api *ca, const char *dir, char **names, int n)
{
	char	 path[128];
	int	 i, r, rc = CLI_OK;

	for (i = 0; i < n; i++)
		if ((r = name_check(names[i])) != CLI_OK)
			return r;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/v1/secrets/%s", names[i]);
		r = dir != NULL ? local_rm(dir, names[i]) : cli_api(ca,
		    "secret rm", "DELETE", path, NULL, NULL);
		if (r == CLI_OK)
			printf("%s\n", names[i]);
		else if (rc == CLI_OK || r == CLI_FAIL)
			rc = r;
	}
	return rc;
}

int
cmd_secret(int argc, char **argv)
{
	struct cli_api	 ca;
	const char	*sub, *dir = NULL;
	int		 c, raw = 0, n;

	memset(&ca, 0, sizeof(ca));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (cli_api_opt(&ca, c, optarg))
			continue;
		if (c == 'r') {
			raw = 1;
			continue;
		}
		if (c == 'S') {
			dir = optarg;
			continue;
		}
		if (c == 'h') {
			cmd_secret_usage(stdout);
			return CLI_OK;
		}
		return cli_getopt_error("secret", c, optopt, argv[optind - 1]);
	}
	if (optind >= argc)
		return cli_usage_error("secret", "secret: want set, ls or rm");
	sub = argv[optind++];
	n = argc - optind;
	if (raw && strcmp(sub, "set") != 0)
		return cli_usage_error("secret", "secret %s: --raw is for set",
		    sub);
	if (strcmp(sub, "set") == 0) {
		if (n != 1)
			return cli_usage_error("secret", "secret set: want one "
			    "NAME (the value is read from stdin)");
		return secret_set(&ca, dir, argv[optind], raw);
	}
	if (strcmp(sub, "ls") == 0) {
		if (n != 0)
			return cli_usage_error("secret", "secret ls: unexpected "
			    "argument '%s'", argv[optind]);
		return secret_ls(&ca, dir);
	}
	if (strcmp(sub, "rm") == 0) {
		if (n < 1)
			return cli_usage_error("secret", "secret rm: no NAME "
			    "given");
		return secret_rm(&ca, dir, argv + optind, n);
	}
	return cli_usage_error("secret", "secret '%s': want set, ls or rm",
	    sub);
}
