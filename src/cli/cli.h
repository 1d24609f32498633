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
int	cmd_image(int, char **);
void	cmd_image_usage(FILE *);

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

/* Prints `v` (NULL: out of memory) as indented JSON on stdout and drops the
 * reference. Returns CLI_OK or, with a message, CLI_FAIL. */
struct json_t;
int		 cli_json_print(struct json_t *v);

#endif
