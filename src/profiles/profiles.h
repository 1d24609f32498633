/*
 * profiles.h - the catalogue of named network profiles (SPEC.md section 3).
 *
 * A profile is a name, a description and a pair of allow/deny rule lists,
 * kept as rule text. profile_compile() turns one into a fresh policy, so a
 * sandbox keeps the rules it was created with whatever later happens to the
 * catalogue.
 *
 * The catalogue is the four built-ins plus whatever the operator's profile
 * files add or override. profile_parse() is pure (bytes in, profiles or an
 * error out); profiles_load() is the I/O shell around it. Nothing here keeps
 * global state: the runner calls profiles_load() again whenever it wants a
 * fresh catalogue, which is how new files show up without a restart.
 *
 * File format: one object, or an array of objects,
 *   { "name": "...", "description"?: "...", "mode"?: "allow-list",
 *     "allow"?: ["rule", ...], "deny"?: ["rule", ...] }
 * Unknown fields are errors. A given mode must be the one the rules make
 * (policy_mode()); mode "deny-all" with no rules at all means deny ["*"].
 */
#ifndef ISORUN_PROFILES_H
#define ISORUN_PROFILES_H

#include <stddef.h>

#include "../common/err.h"
#include "../policy/policy.h"

#define PROFILES_DIR		"/etc/isorun/profiles.d"
#define PROFILE_NAME_MAX	64
#define PROFILE_DESC_MAX	1024		/* bytes */
#define PROFILE_FILE_MAX	(1024 * 1024)	/* bytes in one profile file */

struct profile;

/*
 * Where in its input a profile error is, for callers that want it apart
 * from the message (which already says it).
 */
struct prof_where {
	int	 line;		/* JSON syntax errors: 1-based; 0 otherwise */
	int	 column;
	char	 field[64];	/* e.g. "allow[3]", "[1].name"; "" if none */
};

/*
 * Makes a profile from rule text, validating everything a file would be
 * held to: the name, the description, every rule, and `mode` (NULL: the one
 * the rules make). `source` is the file it came from, NULL for a built-in.
 * All strings are copied. Returns NULL with `err` set, and `where->field`
 * naming the field at fault when `where` is not NULL; the message starts
 * with that field, e.g. "allow[3] '*foo.com': '*' must be a whole label...".
 */
struct profile	*profile_new(const char *name, const char *description,
		    const char *mode, const char *const *allow, size_t nallow,
		    const char *const *deny, size_t ndeny, const char *source,
		    struct prof_where *where, struct ir_err *err);
void		 profile_free(struct profile *);

/*
 * Parses the `len` bytes of `text` (no NUL needed) as a profile file.
 * `origin` names the input in messages and becomes each profile's source.
 * On success returns 0 with a malloc'd array of `*nout` (>= 1) profiles in
 * file order, which the caller frees with profile_freev(). On failure
 * returns -1 with nothing allocated and `err` set to a message naming the
 * origin, then the line and column or the field, then why:
 *   "a.json:3:14: ...", "a.json: [1].deny[0] '*foo.com': ...".
 * `where` may be NULL.
 */
int	profile_parse(const char *text, size_t len, const char *origin,
	    struct profile ***out, size_t *nout, struct prof_where *where,
	    struct ir_err *err);
void	profile_freev(struct profile **, size_t);

const char	*profile_name(const struct profile *);
const char	*profile_description(const struct profile *);	/* "" if none */
enum pol_mode	 profile_mode(const struct profile *);
const char	*profile_source(const struct profile *);	/* "builtin" or a path */
int		 profile_is_builtin(const struct profile *);
/* The rule texts of one list, in order; the array may be NULL when empty. */
size_t		 profile_nrules(const struct profile *, enum pol_list);
const char *const *profile_rules(const struct profile *, enum pol_list);

/* Compiles a new policy from the profile's rules; free with policy_free(). */
struct policy	*profile_compile(const struct profile *, struct ir_err *);

/*
 * The catalogue.
 */
struct profiles;

enum prof_severity {
	PROF_WARNING,	/* loaded, but look: e.g. two files define one name */
	PROF_ERROR,	/* the file was skipped */
};

struct prof_diag {
	enum prof_severity	 severity;
	const char		*path;	/* the file */
	int			 line;	/* 0 if not known */
	int			 column;
	const char		*field;	/* NULL if none */
	const char		*msg;	/* the whole message, naming path and
					   line or field: print this one */
};

/* The built-ins only, in SPEC order. NULL only when out of memory. */
struct profiles	*profiles_builtin(struct ir_err *);

/*
 * The built-ins overlaid with the directory's `*.json` files (NULL: the
 * default PROFILES_DIR), read in byte order of their names. A file adds
 * profiles or replaces a built-in of the same name; if two files define a
 * name, the later one wins and a warning says so. A bad file (unreadable,
 * not a regular file, over PROFILE_FILE_MAX, bad JSON or rules) is skipped
 * with an error diagnostic and the others load. The names a bad file
 * defines, as far as they can be read, are kept as unavailable, so a broken
 * override never silently falls back to the built-in.
 *
 * A missing directory means the built-ins only. Returns NULL with `err` set
 * only when the directory exists but cannot be read, or out of memory.
 */
struct profiles	*profiles_load(const char *dir, struct ir_err *err);
void		 profiles_free(struct profiles *);

/* Catalogue order: built-ins in SPEC order (overridden ones in place),
 * then the operator's profiles sorted by name. Unavailable names are not
 * listed. Profiles are owned by the catalogue. */
size_t			 profiles_count(const struct profiles *);
const struct profile	*profiles_at(const struct profiles *, size_t);

/*
 * The catalogue as a JSON array of {name, description, mode, allow, deny,
 * source}, in catalogue order: what `isorun profiles --json` prints and
 * GET /v1/network-profiles answers. NULL when out of memory.
 */
struct json_t;
struct json_t		*profiles_json(const struct profiles *);

/*
 * Returns the profile called `name`, or NULL with `err` set: an unknown
 * name (err->code ENOENT), or a name whose file has errors (code 0; the
 * message says which file and why).
 */
const struct profile	*profiles_find(const struct profiles *, const char *name,
			    struct ir_err *err);

size_t			 profiles_ndiags(const struct profiles *);
const struct prof_diag	*profiles_diag(const struct profiles *, size_t);

#endif
