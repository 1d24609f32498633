/*
 * cli.h - what the `isorun` commands share. One file per command; main.c
 * holds the table and reports usage.
 */
#ifndef ISORUN_CLI_H
#define ISORUN_CLI_H

#include <stddef.h>
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

#endif
