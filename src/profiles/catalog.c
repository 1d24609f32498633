/*
 * catalog.c - the built-in profiles and the operator's profile directory.
 */
#include "profiles.h"
#include "prof_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* SPEC.md section 3's host lists. */
static const char *const hosts_anthropic[] = {
	"api.anthropic.com", "statsig.anthropic.com", "claude.ai",
	"platform.claude.com", "docs.claude.com", "code.claude.com", NULL,
};
static const char *const hosts_openai[] = {
	"api.openai.com", NULL,
};
static const char *const hosts_pypi[] = {
	"pypi.org", "www.pypi.org", "files.pythonhosted.org",
	"pythonhosted.org", "pypi.python.org", "test.pypi.org", NULL,
};
static const char *const hosts_npm[] = {
	"registry.npmjs.org", "npmjs.org", "www.npmjs.org", "npmjs.com",
	"www.npmjs.com", "registry.yarnpkg.com", "yarnpkg.com", NULL,
};
static const char *const hosts_github[] = {
	"github.com", "www.github.com", "api.github.com", "codeload.github.com",
	"gist.github.com", "raw.githubusercontent.com",
	"objects.githubusercontent.com", "release-assets.githubusercontent.com",
	"avatars.githubusercontent.com", "pkg-npm.githubusercontent.com",
	"npm.pkg.github.com", "ghcr.io", NULL,
};
static const char *const hosts_crates[] = {
	"crates.io", "www.crates.io", "index.crates.io", "static.crates.io",
	"static.rust-lang.org", "rustup.rs", NULL,
};
static const char *const deny_everything[] = { "*", NULL };

#define GROUPS_MAX	5

static const struct builtin {
	const char		*name;
	const char		*desc;
	const char		*mode;
	const char *const	*allow[GROUPS_MAX + 1];	/* NULL-terminated */
	const char *const	*deny;
} builtins[] = {
	{ "unrestricted", "No filtering, sandbox can reach any host",
	    "allow-all", { NULL }, NULL },
	{ "locked-down", "Air-gapped, no external network at all",
	    "deny-all", { NULL }, deny_everything },
	{ "claude-code", "Anthropic API + PyPI + npm + GitHub + crates.io",
	    "allow-list", { hosts_anthropic, hosts_pypi, hosts_npm,
	    hosts_github, hosts_crates, NULL }, NULL },
	{ "openai", "OpenAI API + PyPI + npm + GitHub",
	    "allow-list", { hosts_openai, hosts_pypi, hosts_npm,
	    hosts_github, NULL }, NULL },
};
#define NBUILTIN	(sizeof(builtins) / sizeof(builtins[0]))

struct entry {
	char		*e_name;
	struct profile	*e_prof;	/* NULL: unavailable, e_why says why */
	char		*e_why;
	char		*e_path;	/* the defining file; NULL: built-in */
};

struct diag {
	struct prof_diag d;		/* points into the fields below */
	char		*path;
	char		*field;
	char		*msg;
};

struct profiles {
	struct entry		 *pc_ent;	/* built-ins first */
	size_t			  pc_nent;
	const struct profile	**pc_list;	/* catalogue order */
	size_t			  pc_nlist;
	struct diag		 *pc_diag;
	size_t			  pc_ndiag;
};

#define SHOW	2048		/* a path shown in a message */

static size_t
strv_len(const char *const *v)
{
	size_t	 n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

static struct profile *
builtin_make(const struct builtin *b, struct ir_err *err)
{
	struct profile	 *p;
	const char	**allow = NULL;
	size_t		  nallow = 0, g, i;

	for (g = 0; b->allow[g] != NULL; g++)
		nallow += strv_len(b->allow[g]);
	if (nallow && (allow = calloc(nallow, sizeof(*allow))) == NULL) {
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	nallow = 0;
	for (g = 0; b->allow[g] != NULL; g++)
		for (i = 0; b->allow[g][i] != NULL; i++)
			allow[nallow++] = b->allow[g][i];
	p = profile_new(b->name, b->desc, b->mode, allow, nallow,
	    b->deny, strv_len(b->deny), NULL, NULL, err);
	if (p == NULL)
		err_prefix(err, "built-in profile '%s'", b->name);
	free(allow);
	return p;
}

static struct entry *
entry_find(struct profiles *pc, const char *name)
{
	size_t	 i;

	for (i = 0; i < pc->pc_nent; i++)
		if (strcmp(pc->pc_ent[i].e_name, name) == 0)
			return &pc->pc_ent[i];
	return NULL;
}

/* Returns the entry called `name`, appending an empty one if need be. */
static struct entry *
entry_get(struct profiles *pc, const char *name)
{
	struct entry	*e;

	if ((e = entry_find(pc, name)) != NULL)
		return e;
	e = reallocarray(pc->pc_ent, pc->pc_nent + 1, sizeof(*e));
	if (e == NULL)
		return NULL;
	pc->pc_ent = e;
	e = &pc->pc_ent[pc->pc_nent];
	memset(e, 0, sizeof(*e));
	if ((e->e_name = strdup(name)) == NULL)
		return NULL;
	pc->pc_nent++;
	return e;
}

static int
diag_add(struct profiles *pc, enum prof_severity sev, const char *path,
    const struct prof_where *w, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
diag_add(struct profiles *pc, enum prof_severity sev, const char *path,
    const struct prof_where *w, const char *fmt, ...)
{
	struct diag	*d;
	va_list		 ap;
	int		 rc;

	d = reallocarray(pc->pc_diag, pc->pc_ndiag + 1, sizeof(*d));
	if (d == NULL)
		return -1;
	pc->pc_diag = d;
	d = &pc->pc_diag[pc->pc_ndiag];
	memset(d, 0, sizeof(*d));
	va_start(ap, fmt);
	rc = vasprintf(&d->msg, fmt, ap);
	va_end(ap);
	if (rc == -1) {
		d->msg = NULL;
		return -1;
	}
	pc->pc_ndiag++;
	if ((d->path = strdup(path)) == NULL)
		return -1;
	if (w != NULL && w->field[0] != '\0' &&
	    (d->field = strdup(w->field)) == NULL)
		return -1;
	d->d.severity = sev;
	d->d.path = d->path;
	d->d.line = w ? w->line : 0;
	d->d.column = w ? w->column : 0;
	d->d.field = d->field;
	d->d.msg = d->msg;
	return 0;
}

/* Takes ownership of `p`. */
static int
define(struct profiles *pc, struct profile *p, const char *path)
{
	struct entry	*e;
	char		 a[SHOW], b[SHOW];

	if ((e = entry_get(pc, profile_name(p))) == NULL) {
		profile_free(p);
		return -1;
	}
	if (e->e_path != NULL) {
		prof_show(path, a, sizeof(a));
		prof_show(e->e_path, b, sizeof(b));
		if (diag_add(pc, PROF_WARNING, path, NULL, "%s: profile '%s' "
		    "is also defined by %s; the later file wins", a,
		    profile_name(p), b) == -1) {
			profile_free(p);
			return -1;
		}
	}
	profile_free(e->e_prof);
	free(e->e_why);
	free(e->e_path);
	e->e_prof = p;
	e->e_why = NULL;
	if ((e->e_path = strdup(path)) == NULL)
		return -1;
	return 0;
}

/*
 * A bad file may still say which names it meant to define: those become
 * unavailable rather than falling back to a built-in or an earlier file.
 */
static int
poison(struct profiles *pc, const char *text, size_t len, const char *path,
    const char *why)
{
	json_t		*root, *o, *name;
	struct entry	*e;
	size_t		 i, n;
	int		 rc = 0;

	if ((root = json_loadb(text, len, 0, NULL)) == NULL)
		return 0;
	n = json_is_array(root) ? json_array_size(root) : 1;
	for (i = 0; i < n && rc == 0; i++) {
		o = json_is_array(root) ? json_array_get(root, i) : root;
		name = json_object_get(o, "name");
		if (!json_is_string(name) ||
		    !prof_name_valid(json_string_value(name)))
			continue;
		if ((e = entry_get(pc, json_string_value(name))) == NULL) {
			rc = -1;
			break;
		}
		profile_free(e->e_prof);
		e->e_prof = NULL;
		free(e->e_why);
		free(e->e_path);
		e->e_path = strdup(path);
		if (asprintf(&e->e_why, "profile '%s' is unavailable: %s",
		    e->e_name, why) == -1)
			e->e_why = NULL;
		if (e->e_path == NULL || e->e_why == NULL)
			rc = -1;
	}
	json_decref(root);
	return rc;
}

/*
 * Reads at most PROFILE_FILE_MAX + 1 bytes so that a file growing under us
 * is still caught by the limit. Returns the length, or -1 with errno set.
 */
static ssize_t
read_all(int fd, char *buf, size_t cap)
{
	size_t	 n = 0;
	ssize_t	 r;

	while (n < cap) {
		r = read(fd, buf + n, cap - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

/* Returns -1 only when out of memory; a bad file is a diagnostic. */
static int
load_file(struct profiles *pc, const char *path)
{
	struct profile	**v = NULL;
	struct prof_where w;
	struct ir_err	  e;
	struct stat	  st;
	char		 *buf = NULL, show[SHOW];
	ssize_t		  len;
	size_t		  nv = 0, i;
	int		  fd, rc = 0;

	prof_show(path, show, sizeof(show));
	/* O_NONBLOCK: a FIFO dropped in the directory must not hang us. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1)
		return diag_add(pc, PROF_ERROR, path, NULL, "%s: %s", show,
		    strerror(errno));
	if (fstat(fd, &st) == -1) {
		rc = diag_add(pc, PROF_ERROR, path, NULL, "%s: %s", show,
		    strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = diag_add(pc, PROF_ERROR, path, NULL, "%s: not a regular "
		    "file", show);
		goto done;
	}
	if (st.st_size > PROFILE_FILE_MAX)
		goto toobig;
	if ((buf = malloc(PROFILE_FILE_MAX + 1)) == NULL) {
		rc = -1;
		goto done;
	}
	if ((len = read_all(fd, buf, PROFILE_FILE_MAX + 1)) == -1) {
		rc = diag_add(pc, PROF_ERROR, path, NULL, "%s: %s", show,
		    strerror(errno));
		goto done;
	}
	if (len > PROFILE_FILE_MAX)
		goto toobig;

	if (profile_parse(buf, (size_t)len, path, &v, &nv, &w, &e) == -1) {
		if (e.code == ENOMEM)
			rc = -1;
		else if ((rc = diag_add(pc, PROF_ERROR, path, &w, "%s",
		    e.msg)) == 0)
			rc = poison(pc, buf, (size_t)len, path, e.msg);
		goto done;
	}
	for (i = 0; i < nv; i++) {
		rc = define(pc, v[i], path);
		v[i] = NULL;
		if (rc == -1)
			break;
	}
	goto done;
toobig:
	rc = diag_add(pc, PROF_ERROR, path, NULL, "%s: over the %d-byte limit "
	    "of a profile file", show, PROFILE_FILE_MAX);
done:
	profile_freev(v, nv);
	free(buf);
	close(fd);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	return strcmp(*x, *y);
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return strcmp(x->e_name, y->e_name);
}

/* Sorts the operator's names and lists the available profiles. */
static int
finish(struct profiles *pc)
{
	size_t	 i;

	if (pc->pc_nent > NBUILTIN)
		qsort(pc->pc_ent + NBUILTIN, pc->pc_nent - NBUILTIN,
		    sizeof(*pc->pc_ent), entry_cmp);
	free(pc->pc_list);
	pc->pc_nlist = 0;
	if ((pc->pc_list = calloc(pc->pc_nent, sizeof(*pc->pc_list))) == NULL)
		return -1;
	for (i = 0; i < pc->pc_nent; i++)
		if (pc->pc_ent[i].e_prof != NULL)
			pc->pc_list[pc->pc_nlist++] = pc->pc_ent[i].e_prof;
	return 0;
}

static struct profiles *
builtins_add(struct ir_err *err)
{
	struct profiles	*pc;
	struct entry	*e;
	size_t		 i;

	if ((pc = calloc(1, sizeof(*pc))) == NULL)
		goto nomem;
	for (i = 0; i < NBUILTIN; i++) {
		if ((e = entry_get(pc, builtins[i].name)) == NULL)
			goto nomem;
		if ((e->e_prof = builtin_make(&builtins[i], err)) == NULL)
			goto fail;
	}
	return pc;
nomem:
	err_set(err, ENOMEM, "profiles: out of memory");
fail:
	profiles_free(pc);
	return NULL;
}

struct profiles *
profiles_builtin(struct ir_err *err)
{
	struct profiles	*pc;

	if ((pc = builtins_add(err)) == NULL)
		return NULL;
	if (finish(pc) == -1) {
		err_set(err, ENOMEM, "profiles: out of memory");
		profiles_free(pc);
		return NULL;
	}
	return pc;
}

struct profiles *
profiles_load(const char *dir, struct ir_err *err)
{
	struct profiles	 *pc = NULL;
	struct dirent	 *de;
	DIR		 *d = NULL;
	char		**names = NULL, **nn, *path, show[SHOW];
	size_t		  n = 0, i, len;

	if (dir == NULL)
		dir = PROFILES_DIR;
	prof_show(dir, show, sizeof(show));
	if ((pc = builtins_add(err)) == NULL)
		return NULL;
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			goto done;
		err_set(err, errno, "profiles directory %s: %s", show,
		    strerror(errno));
		goto fail;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if ((nn = reallocarray(names, n + 1, sizeof(*names))) == NULL)
			goto nomem;
		names = nn;
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto nomem;
		n++;
	}
	if (errno != 0) {
		err_set(err, errno, "profiles directory %s: %s", show,
		    strerror(errno));
		goto fail;
	}
	if (n > 0)	/* qsort(NULL, 0, ...) is undefined */
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if (asprintf(&path, "%s/%s", dir, names[i]) == -1)
			goto nomem;
		if (load_file(pc, path) == -1) {
			free(path);
			goto nomem;
		}
		free(path);
	}
done:
	if (finish(pc) == -1)
		goto nomem;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (d != NULL)
		closedir(d);
	return pc;
nomem:
	err_set(err, ENOMEM, "profiles directory %s: out of memory", show);
fail:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (d != NULL)
		closedir(d);
	profiles_free(pc);
	return NULL;
}

void
profiles_free(struct profiles *pc)
{
	size_t	 i;

	if (pc == NULL)
		return;
	for (i = 0; i < pc->pc_nent; i++) {
		free(pc->pc_ent[i].e_name);
		profile_free(pc->pc_ent[i].e_prof);
		free(pc->pc_ent[i].e_why);
		free(pc->pc_ent[i].e_path);
	}
	free(pc->pc_ent);
	for (i = 0; i < pc->pc_ndiag; i++) {
		free(pc->pc_diag[i].path);
		free(pc->pc_diag[i].field);
		free(pc->pc_diag[i].msg);
	}
	free(pc->pc_diag);
	free(pc->pc_list);
	free(pc);
}

size_t
profiles_count(const struct profiles *pc)
{
	return pc->pc_nlist;
}

const struct profile *
profiles_at(const struct profiles *pc, size_t i)
{
	return i < pc->pc_nlist ? pc->pc_list[i] : NULL;
}

static json_t *
rules_json(const struct profile *p, enum pol_list l)
{
	const char *const	*v = profile_rules(p, l);
	json_t			*a;
	size_t			 i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < profile_nrules(p, l); i++) {
		if (json_array_append_new(a, json_string(v[i])) == -1) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
profile_json(const struct profile *p)
{
	json_t	*allow, *deny;

	allow = rules_json(p, POL_ALLOW);
	deny = rules_json(p, POL_DENY);
	if (allow == NULL || deny == NULL) {
		json_decref(allow);
		json_decref(deny);
		return NULL;
	}
	/* "o" hands both arrays over, even when packing fails. */
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}",
	    "name", profile_name(p),
	    "description", profile_description(p),
	    "mode", pol_mode_name(profile_mode(p)),
	    "allow", allow,
	    "deny", deny,
	    "source", profile_source(p));
}

json_t *
profiles_json(const struct profiles *pc)
{
	json_t	*a;
	size_t	 i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < pc->pc_nlist; i++)
		if (json_array_append_new(a, profile_json(pc->pc_list[i])) ==
		    -1) {
			json_decref(a);
			return NULL;
		}
	return a;
}

const struct profile *
profiles_find(const struct profiles *pc, const char *name, struct ir_err *err)
{
	char	 q[4 * PROFILE_NAME_MAX + 16];
	size_t	 i;

	for (i = 0; i < pc->pc_nent; i++) {
		if (strcmp(pc->pc_ent[i].e_name, name) != 0)
			continue;
		if (pc->pc_ent[i].e_prof == NULL) {
			err_set(err, 0, "%s", pc->pc_ent[i].e_why);
			return NULL;
		}
		return pc->pc_ent[i].e_prof;
	}
	str_quote(name, strlen(name), PROFILE_NAME_MAX, q, sizeof(q));
	err_set(err, ENOENT, "unknown profile %s", q);
	return NULL;
}

size_t
profiles_ndiags(const struct profiles *pc)
{
	return pc->pc_ndiag;
}

const struct prof_diag *
profiles_diag(const struct profiles *pc, size_t i)
{
	return i < pc->pc_ndiag ? &pc->pc_diag[i].d : NULL;
}
