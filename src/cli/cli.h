/*
 * cli.h - what the `isorun` commands share. One file per command; main.c
 * holds the table and reports usage.
 */
#ifndef ISORUN_CLI_H
#define ISORUN_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/err.h"

struct profiles;

/* Exit codes. */
#define CLI_OK		0
#define CLI_FAIL	1	/* the system failed us: I/O, memory */
#define CLI_USAGE	2	/* bad usage, or bad input: policy, profile, target */

struct cli_cmd {
	const char	*name;
	int		(*run)(int argc, char **argv);	/* argv[0] is the name */
	const char	*summary;
	void		(*usage)(FILE *);
};

int	cmd_profiles(int, char **);
void	cmd_profiles_usage(FILE *);
int	cmd_policy(int, char **);
void	cmd_policy_usage(FILE *);
int	cmd_run(int, char **);
void	cmd_run_usage(FILE *);
int	cmd_image(int, char **);
void	cmd_image_usage(FILE *);
int	cmd_audit(int, char **);
void	cmd_audit_usage(FILE *);

/* "isorun: <message>" on stderr. */
void	cli_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports a usage error with a hint to `help`, returns CLI_USAGE. */
int	cli_usage_error(const char *cmd, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Reports a getopt_long() failure: `c` is what it returned (':' or '?'),
 * `opt` its optopt, `arg` the argument at fault. Returns CLI_USAGE.
 */
int	cli_getopt_error(const char *cmd, int c, int opt, const char *arg);

/* `s` as it is when it prints safely on one line, else quoted into `buf`. */
const char	*cli_show(const char *s, char *buf, size_t len);

/*
 * Loads the catalogue from `dir` (NULL: the default) and prints the
 * diagnostics of bad files on stderr. Returns NULL after reporting.
 */
struct profiles	*cli_profiles_load(const char *dir);

/*
 * A sandbox's network policy from the command line: the rules given
 * (ps_have_network: --allow, --deny or --network was used, even if empty)
 * or a profile from the catalogue (none given: "unrestricted", SPEC 2).
 * Reports errors itself. Returns CLI_OK with *out set (and `source`
 * describing where it came from, *dns_flags the DNS view's flags for it
 * when dns_flags is not NULL), or the exit code.
 */
struct policy;
struct cli_policy_src {
	const char		*ps_profile;
	const char *const	*ps_allow;
	size_t			 ps_nallow;
	const char *const	*ps_deny;
	size_t			 ps_ndeny;
	int			 ps_have_network;
	const char		*ps_profiles_dir;
};
int	cli_policy_make(const struct cli_policy_src *src, struct policy **out,
	    char *source, size_t srclen, unsigned *dns_flags);

/* Prints `v` (NULL: out of memory) as indented JSON on stdout and drops the
 * reference. Returns CLI_OK or, with a message, CLI_FAIL. */
struct json_t;
int		 cli_json_print(struct json_t *v);

/*
 * Commands that talk to isorund over its API (daemon.c has what they
 * share). Exit codes: CLI_OK; CLI_USAGE for a usage error or an answer
 * 4xx (bad request, unknown sandbox); CLI_FAIL when isorund cannot be
 * reached or fails (5xx). `exec` exits with the command's code.
 */
int	cmd_create(int, char **);
void	cmd_create_usage(FILE *);
int	cmd_exec(int, char **);
void	cmd_exec_usage(FILE *);
int	cmd_destroy(int, char **);
void	cmd_destroy_usage(FILE *);
int	cmd_ls(int, char **);
void	cmd_ls_usage(FILE *);
int	cmd_inspect(int, char **);
void	cmd_inspect_usage(FILE *);
int	cmd_network(int, char **);
void	cmd_network_usage(FILE *);
int	cmd_endpoints(int, char **);
void	cmd_endpoints_usage(FILE *);
int	cmd_secret(int, char **);
void	cmd_secret_usage(FILE *);

/* getopt_long() values of the options every daemon command takes. */
#define CLI_OPT_SOCKET	0x100
#define CLI_OPT_URL	0x101
#define CLI_OPT_JSON	0x102
#define CLI_API_OPTIONS							\
	{ "socket",	required_argument,	NULL, CLI_OPT_SOCKET },	\
	{ "url",	required_argument,	NULL, CLI_OPT_URL },	\
	{ "json",	no_argument,		NULL, CLI_OPT_JSON }

struct cli_api {
	const char	*ca_socket;	/* --socket */
	const char	*ca_url;	/* --url */
	int		 ca_json;	/* --json */
};

/* Handles a CLI_OPT_* option: 1 if `c` was one, else 0. */
int		 cli_api_opt(struct cli_api *ca, int c, const char *arg);
/* The usage lines of those options. */
const char	*cli_api_usage(void);

/*
 * One request to isorund. `body` (may be NULL) is sent as JSON and its
 * reference dropped. On a 2xx answer returns CLI_OK with *out the parsed
 * JSON (NULL for an empty answer; `out` may be NULL). Otherwise reports
 * "isorun: CMD: <the API's message>" and returns the exit code above.
 */
int	cli_api(const struct cli_api *ca, const char *cmd, const char *method,
	    const char *path, struct json_t *body, struct json_t **out);

/*
 * As cli_api(), with `len` raw bytes as application/octet-stream (a
 * secret's value) and no answer body kept; *status is the 2xx status.
 */
int	cli_api_raw(const struct cli_api *ca, const char *cmd,
	    const char *method, const char *path, const char *body, size_t len,
	    unsigned *status);

/*
 * The file of --endpoints FILE: its text (malloc'd, NUL-terminated),
 * checked to be one JSON array (the create option's `endpoints`). Reports
 * errors naming the file itself; returns NULL after that.
 */
char	*cli_endpoints_load(const char *cmd, const char *file, size_t *len);

/*
 * `policy check --endpoints FILE --request 'METHOD URL'...`: decides each
 * request as an intercepting proxy would under `pol` and FILE's rules;
 * prints a table, or appends one object per request to `out` (JSON).
 * Returns a CLI exit code (bad rules or requests: CLI_USAGE, with a
 * message).
 */
/* A port: 1 to 5 decimal digits, 1 to 65535. Returns 0, or -1. */
int	cli_port_parse(const char *s, uint16_t *port);

struct json_t;
int	cli_policy_requests(const struct policy *pol, const char *file,
	    const char *const *reqs, size_t n, struct json_t *out);

/* A sandbox id argument; reports a bad one as a usage error. */
int	cli_id_check(const char *cmd, const char *id);

/*
 * The start of `isorun CMD set|show ...`: no argument, --help or -h print
 * `usage` (exit 2, 0); else the first must be set or show (*set says
 * which) and *argc and *argv move past CMD, so that getopt sees the subcommand
 * as argv[0]. Returns -1 to go on, else the exit code.
 */
int	cli_set_show(const char *cmd, int *argc, char ***argv,
	    void (*usage)(FILE *), int *set);
/* Appends to a NULL-terminated vector; -1 (reported) when out of memory. */
int	cli_strv_add(const char ***v, size_t *n, const char *s);
/* The "env" object of NAME=VALUE strings; NULL (reported) if one is bad. */
struct json_t	*cli_env_json(const char *cmd, const char *const *env,
		    size_t n);
/* Puts "network" or "networkProfile" into `body` as the options said. */
int	cli_network_json(const char *cmd, const struct cli_policy_src *ps,
	    struct json_t *body);
/* A one-line description of a sandbox's network, for tables. */
void	cli_network_desc(struct json_t *sb, char *buf, size_t len);
/* A sandbox as `isorun inspect` shows it (also `network show`). */
void	cli_inspect_print(struct json_t *sb);
/* A string member of an object, or "-". */
const char	*cli_jstr(struct json_t *o, const char *key);

#endif
