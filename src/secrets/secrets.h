/*
 * secrets.h - runner-held secrets: values the runner injects into requests
 * (endpoint credentials, docs/endpoints.md) and that no sandbox ever holds.
 *
 * One file per secret in a directory of the runner's state dir, readable by
 * its owner only. A value is never copied into an error message, a log line
 * or an audit event; callers that get one wipe it with secrets_wipe().
 *
 * Thread-safe: every call works on the directory by its descriptor, and a
 * set is a rename, so a concurrent get sees the old or the new value whole.
 */
#ifndef ISORUN_SECRETS_H
#define ISORUN_SECRETS_H

#include <stddef.h>

#include "../common/err.h"

#define SECRET_NAME_MAX		64
#define SECRET_VALUE_MAX	65536

struct secrets;

/*
 * Opens the secrets directory `dir`, creating its last component (mode
 * 0700) when missing. Refuses a directory that is a symlink, not owned by
 * the effective user (root for isorund), or accessible to its group or to
 * others (EPERM, naming the directory and its mode). Removes temporary
 * files a crash left behind. Returns NULL with `err` set on failure.
 */
struct secrets	*secrets_open(const char *dir, struct ir_err *err);
void		 secrets_close(struct secrets *);

/*
 * A name is 1 to SECRET_NAME_MAX characters of [A-Za-z0-9_.-] whose first
 * is a letter, a digit or '_' (so never ".", "..", a hidden temporary
 * file, or something that reads as a CLI option). Returns 0, or -1 with a
 * message quoting the name.
 */
int	 secrets_name_check(const char *name, struct ir_err *err);

/*
 * Stores `len` bytes (1 to SECRET_VALUE_MAX, no NUL byte) under `name`,
 * replacing any value atomically: a temporary file (0600) is written and
 * fsync'd, renamed over the old one, and the directory fsync'd. On failure
 * the old value, if any, is untouched and no temporary file remains.
 */
int	 secrets_set(struct secrets *, const char *name, const void *val,
	    size_t len, struct ir_err *err);

/*
 * For injection only. On success *val is a malloc'd copy with a NUL after
 * its *len bytes, which the caller releases with secrets_wipe(). A secret
 * that is not set is ENOENT ("secret 'NAME' is not set").
 */
int	 secrets_get(struct secrets *, const char *name, char **val,
	    size_t *len, struct ir_err *err);
void	 secrets_wipe(char *val, size_t len);

/*
 * 1 if `name` is set, 0 if not, -1 for a bad name or another error: a
 * check without reading the value (create-time checks of credentials).
 */
int	 secrets_exists(struct secrets *, const char *name, struct ir_err *err);

/* ENOENT when not set. */
int	 secrets_delete(struct secrets *, const char *name, struct ir_err *err);

/*
 * The names that are set, sorted, as a malloc'd array of malloc'd strings
 * (free with secrets_names_free()); *n may be 0 (then *names is NULL).
 */
int	 secrets_list(struct secrets *, char ***names, size_t *n,
	    struct ir_err *err);
void	 secrets_names_free(char **names, size_t n);

#endif
