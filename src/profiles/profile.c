/*
 * profile.c - one profile: validation, accessors, and the file parser.
 */
#include "profiles.h"
#include "prof_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct profile {
	char		*pr_name;
	char		*pr_desc;
	char		*pr_source;	/* NULL: built-in */
	enum pol_mode	 pr_mode;
	char		**pr_rules[2];	/* by enum pol_list */
	size_t		 pr_nrules[2];
};

#define QMAX	80	/* bytes of a user string quoted into a message */
#define QLEN	(QMAX * 4 + 8)

static const char *const fields[] = {
	"name", "description", "mode", "allow", "deny",
};

static void
where_field(struct prof_where *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
where_field(struct prof_where *w, const char *fmt, ...)
{
	va_list	 ap;

	if (w == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(w->field, sizeof(w->field), fmt, ap);
	va_end(ap);
}

static void
where_clear(struct prof_where *w)
{
	if (w != NULL)
		memset(w, 0, sizeof(*w));
}

static const char *
list_name(enum pol_list l)
{
	return l == POL_ALLOW ? "allow" : "deny";
}

int
prof_name_valid(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= PROFILE_NAME_MAX)
			return 0;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (c == '-' && i > 0)
			continue;
		return 0;
	}
	return i > 0;
}

void
prof_show(const char *s, char *out, size_t len)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '\'' || *p == '"' ||
		    *p == '\\')
			break;
	if (*p == '\0' && p != (const unsigned char *)s)
		snprintf(out, len, "%s", s);
	else
		str_quote(s, strlen(s), 4096, out, len);
}

static int
mode_parse(const char *s, enum pol_mode *out)
{
	static const enum pol_mode modes[] = {
		POL_MODE_ALLOW_ALL, POL_MODE_DENY_LIST,
		POL_MODE_ALLOW_LIST, POL_MODE_DENY_ALL,
	};
	size_t	 i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(s, pol_mode_name(modes[i])) == 0) {
			*out = modes[i];
			return 0;
		}
	}
	return -1;
}

/* Descriptions are shown in tables and JSON: one line of valid UTF-8. */
static int
desc_check(const char *s, struct ir_err *err)
{
	size_t	 i, len = strlen(s);
	json_t	*j;

	if (len > PROFILE_DESC_MAX)
		return err_set(err, 0, "description is %zu bytes, over the "
		    "limit of %d", len, PROFILE_DESC_MAX);
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return err_set(err, 0, "description must not contain "
			    "control characters (byte %zu)", i);
	if ((j = json_stringn(s, len)) == NULL)
		return err_set(err, 0, "description is not valid UTF-8");
	json_decref(j);
	return 0;
}

/*
 * Parses each rule on its own first, so that the error names the field
 * (`where`) as well as saying it in the message.
 */
static int
rules_check(enum pol_list l, const char *const *rules, size_t n,
    struct prof_where *where, struct ir_err *err)
{
	struct pol_rule	 r;
	struct ir_err	 e;
	size_t		 i;

	for (i = 0; i < n; i++) {
		where_field(where, "%s[%zu]", list_name(l), i);
		if (rules[i] == NULL)
			return err_set(err, 0, "%s[%zu] must be a string",
			    list_name(l), i);
		if (pol_rule_parse(rules[i], l, (uint32_t)i, &r, &e) == -1)
			return err_set(err, 0, "%s[%zu] %s", list_name(l), i,
			    e.msg);
		pol_rule_clear(&r);
	}
	where_field(where, "%s", "");
	return 0;
}

static char **
strv_dup(const char *const *v, size_t n)
{
	char	**out;
	size_t	  i;

	if (n == 0)
		return NULL;
	if ((out = calloc(n, sizeof(*out))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((out[i] = strdup(v[i])) == NULL) {
			while (i-- > 0)
				free(out[i]);
			free(out);
			return NULL;
		}
	}
	return out;
}

static void
strv_free(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

struct profile *
profile_new(const char *name, const char *description, const char *mode,
    const char *const *allow, size_t nallow, const char *const *deny,
    size_t ndeny, const char *source, struct prof_where *where,
    struct ir_err *err)
{
	static const char *const deny_everything[] = { "*" };
	struct profile	*p = NULL;
	struct policy	*pol = NULL;
	enum pol_mode	 want = POL_MODE_ALLOW_ALL, got;
	char		 q[QLEN];

	where_clear(where);
	if (name == NULL) {
		where_field(where, "name");
		err_set(err, 0, "name is missing");
		return NULL;
	}
	if (!prof_name_valid(name)) {
		where_field(where, "name");
		str_quote(name, strlen(name), QMAX, q, sizeof(q));
		err_set(err, 0, "name %s: must be 1-%d characters of a-z, "
		    "0-9 and '-', starting with a letter or digit", q,
		    PROFILE_NAME_MAX);
		return NULL;
	}
	if (description != NULL && desc_check(description, err) == -1) {
		where_field(where, "description");
		return NULL;
	}
	if (mode != NULL) {
		if (mode_parse(mode, &want) == -1) {
			where_field(where, "mode");
			str_quote(mode, strlen(mode), QMAX, q, sizeof(q));
			err_set(err, 0, "mode %s: must be one of 'allow-all', "
			    "'deny-list', 'allow-list', 'deny-all'", q);
			return NULL;
		}
		if (want == POL_MODE_DENY_ALL && nallow == 0 && ndeny == 0) {
			deny = deny_everything;
			ndeny = 1;
		}
	}
	/* deny first, like policy_compile(), so both name the same rule */
	if (rules_check(POL_DENY, deny, ndeny, where, err) == -1 ||
	    rules_check(POL_ALLOW, allow, nallow, where, err) == -1)
		return NULL;
	if ((pol = policy_compile(allow, nallow, deny, ndeny, err)) == NULL)
		return NULL;
	got = policy_mode(pol);
	policy_free(pol);
	if (mode != NULL && got != want) {
		where_field(where, "mode");
		err_set(err, 0, "mode '%s' does not match the rules, whose mode "
		    "is '%s'", pol_mode_name(want), pol_mode_name(got));
		return NULL;
	}

	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto nomem;
	p->pr_mode = got;
	if ((p->pr_name = strdup(name)) == NULL ||
	    (p->pr_desc = strdup(description ? description : "")) == NULL)
		goto nomem;
	if (source != NULL && (p->pr_source = strdup(source)) == NULL)
		goto nomem;
	p->pr_nrules[POL_ALLOW] = nallow;
	p->pr_nrules[POL_DENY] = ndeny;
	if ((nallow && (p->pr_rules[POL_ALLOW] = strv_dup(allow, nallow)) ==
	    NULL) ||
	    (ndeny && (p->pr_rules[POL_DENY] = strv_dup(deny, ndeny)) == NULL))
		goto nomem;
	return p;
nomem:
	err_set(err, ENOMEM, "profile '%s': out of memory", name);
	profile_free(p);
	return NULL;
}

void
profile_free(struct profile *p)
{
	if (p == NULL)
		return;
	free(p->pr_name);
	free(p->pr_desc);
	free(p->pr_source);
	if (p->pr_rules[POL_ALLOW] != NULL)
		strv_free(p->pr_rules[POL_ALLOW], p->pr_nrules[POL_ALLOW]);
	if (p->pr_rules[POL_DENY] != NULL)
		strv_free(p->pr_rules[POL_DENY], p->pr_nrules[POL_DENY]);
	free(p);
}

void
profile_freev(struct profile **v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		profile_free(v[i]);
	free(v);
}

const char *
profile_name(const struct profile *p)
{
	return p->pr_name;
}

const char *
profile_description(const struct profile *p)
{
	return p->pr_desc;
}

enum pol_mode
profile_mode(const struct profile *p)
{
	return p->pr_mode;
}

const char *
profile_source(const struct profile *p)
{
	return p->pr_source ? p->pr_source : "builtin";
}

int
profile_is_builtin(const struct profile *p)
{
	return p->pr_source == NULL;
}

size_t
profile_nrules(const struct profile *p, enum pol_list l)
{
	return p->pr_nrules[l == POL_ALLOW ? POL_ALLOW : POL_DENY];
}

const char *const *
profile_rules(const struct profile *p, enum pol_list l)
{
	return (const char *const *)p->pr_rules[l == POL_ALLOW ? POL_ALLOW :
	    POL_DENY];
}

struct policy *
profile_compile(const struct profile *p, struct ir_err *err)
{
	struct policy	*pol;

	pol = policy_compile(profile_rules(p, POL_ALLOW),
	    profile_nrules(p, POL_ALLOW), profile_rules(p, POL_DENY),
	    profile_nrules(p, POL_DENY), err);
	if (pol == NULL)
		err_prefix(err, "profile '%s'", p->pr_name);
	return pol;
}

/*
 * The parser. Messages from here on start with the field; profile_parse()
 * puts the origin and the array position in front.
 */

/* Reads allow/deny as an array of strings; `v` points into `a`. */
static int
json_rules(json_t *a, const char *field, const char ***v, size_t *n,
    struct prof_where *where, struct ir_err *err)
{
	json_t	*e;
	size_t	 i;

	*v = NULL;
	*n = 0;
	if (a == NULL)
		return 0;
	if (!json_is_array(a)) {
		where_field(where, "%s", field);
		return err_set(err, 0, "%s must be an array of strings", field);
	}
	if (json_array_size(a) == 0)
		return 0;
	if ((*v = calloc(json_array_size(a), sizeof(**v))) == NULL)
		return err_set(err, ENOMEM, "%s: out of memory", field);
	json_array_foreach(a, i, e) {
		if (!json_is_string(e)) {
			where_field(where, "%s[%zu]", field, i);
			free(*v);
			*v = NULL;
			return err_set(err, 0, "%s[%zu] must be a string",
			    field, i);
		}
		(*v)[i] = json_string_value(e);
	}
	*n = json_array_size(a);
	return 0;
}

static int
json_str(json_t *o, const char *field, const char **out,
    struct prof_where *where, struct ir_err *err)
{
	json_t	*v;

	*out = NULL;
	if ((v = json_object_get(o, field)) == NULL)
		return 0;
	if (!json_is_string(v)) {
		where_field(where, "%s", field);
		return err_set(err, 0, "%s must be a string", field);
	}
	*out = json_string_value(v);
	return 0;
}

static struct profile *
json_profile(json_t *o, const char *origin, struct prof_where *where,
    struct ir_err *err)
{
	struct profile	 *p = NULL;
	const char	 *key, *name, *desc, *mode;
	const char	**allow = NULL, **deny = NULL;
	size_t		  nallow, ndeny, i;
	json_t		 *v;
	char		  q[QLEN];

	json_object_foreach(o, key, v) {
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (strcmp(key, fields[i]) == 0)
				break;
		if (i == sizeof(fields) / sizeof(fields[0])) {
			str_quote(key, strlen(key), QMAX, q, sizeof(q));
			where_field(where, "%s", q);
			err_set(err, 0, "unknown field %s (the fields are name, "
			    "description, mode, allow, deny)", q);
			return NULL;
		}
	}
	if (json_str(o, "name", &name, where, err) == -1 ||
	    json_str(o, "description", &desc, where, err) == -1 ||
	    json_str(o, "mode", &mode, where, err) == -1)
		return NULL;
	if (name == NULL) {
		where_field(where, "name");
		err_set(err, 0, "name is missing");
		return NULL;
	}
	if (json_rules(json_object_get(o, "allow"), "allow", &allow, &nallow,
	    where, err) == -1 ||
	    json_rules(json_object_get(o, "deny"), "deny", &deny, &ndeny,
	    where, err) == -1)
		goto done;
	p = profile_new(name, desc, mode, allow, nallow, deny, ndeny, origin,
	    where, err);
done:
	free(allow);
	free(deny);
	return p;
}

/* jansson's messages may echo input bytes: keep them printable. */
static void
json_reason(const char *s, char *out, size_t len)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		out[i] = ((unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] >= 0x7f) ? '?' : s[i];
	out[i] = '\0';
}

/* Puts "origin: prefix" in front of err's message and where's field. */
static void
locate(struct ir_err *err, struct prof_where *where, const char *org,
    const char *pfx)
{
	char	 f[sizeof(where->field)];

	if (err != NULL) {
		char	 old[IR_ERR_MAX];

		memcpy(old, err->msg, sizeof(old));
		snprintf(err->msg, sizeof(err->msg), "%s: %s%s", org, pfx, old);
	}
	if (where != NULL && *pfx != '\0') {
		snprintf(f, sizeof(f), "%s%s", pfx, where->field);
		memcpy(where->field, f, sizeof(f));
	}
}

int
profile_parse(const char *text, size_t len, const char *origin,
    struct profile ***out, size_t *nout, struct prof_where *where,
    struct ir_err *err)
{
	struct profile	**v = NULL;
	json_t		 *root = NULL, *e;
	json_error_t	  jerr;
	size_t		  n = 0, i, j;
	char		  org[QLEN], reason[sizeof(jerr.text)], pfx[32];

	*out = NULL;
	*nout = 0;
	where_clear(where);
	prof_show(origin, org, sizeof(org));
	if (len > PROFILE_FILE_MAX)
		return err_set(err, EFBIG, "%s: %zu bytes, over the %d-byte "
		    "limit of a profile file", org, len, PROFILE_FILE_MAX);

	if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		json_reason(jerr.text, reason, sizeof(reason));
		if (jerr.line <= 0)
			return err_set(err, 0, "%s: %s", org, reason);
		if (where != NULL) {
			where->line = jerr.line;
			where->column = jerr.column;
		}
		return err_set(err, 0, "%s:%d:%d: %s", org, jerr.line,
		    jerr.column, reason);
	}

	if (json_is_object(root)) {
		if ((v = calloc(1, sizeof(*v))) == NULL)
			goto nomem;
		if ((v[0] = json_profile(root, origin, where, err)) == NULL) {
			locate(err, where, org, "");
			goto fail;
		}
		n = 1;
	} else if (json_is_array(root) && json_array_size(root) > 0) {
		if ((v = calloc(json_array_size(root), sizeof(*v))) == NULL)
			goto nomem;
		json_array_foreach(root, i, e) {
			snprintf(pfx, sizeof(pfx), "[%zu].", i);
			if (!json_is_object(e)) {
				where_field(where, "[%zu]", i);
				err_set(err, 0, "%s: [%zu] must be a profile "
				    "object", org, i);
				goto fail;
			}
			if ((v[i] = json_profile(e, origin, where, err)) ==
			    NULL) {
				locate(err, where, org, pfx);
				goto fail;
			}
			n = i + 1;
			for (j = 0; j < i; j++) {
				if (strcmp(v[j]->pr_name, v[i]->pr_name) != 0)
					continue;
				where_field(where, "name");
				err_set(err, 0, "name '%s' is already defined "
				    "by [%zu]", v[i]->pr_name, j);
				locate(err, where, org, pfx);
				goto fail;
			}
		}
	} else {
		err_set(err, 0, "%s: must be a profile object or a non-empty "
		    "array of them", org);
		goto fail;
	}
	json_decref(root);
	*out = v;
	*nout = n;
	return 0;
nomem:
	err_set(err, ENOMEM, "%s: out of memory", org);
fail:
	profile_freev(v, n);
	json_decref(root);
	return -1;
}
