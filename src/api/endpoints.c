/*
 * endpoints.c - the `endpoints` option of a create, from JSON to the
 * endpoint module's specs (docs/endpoints.md "The option"). The shape is
 * checked here; the values are endpoints_compile()'s to judge.
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../endpoint/endpoint.h"
#include "api_int.h"

#define FIELD_MAX	96
#define STR_MAX		(64 * 1024)	/* any string; compile has the limits */

/* What one entry's specs point into; freed together. */
struct epj {
	struct ep_host_spec	*ej_hosts;
	struct ep_rule_spec	**ej_rules;
	struct ep_cred_spec	**ej_creds;
	size_t			 ej_n;
};

static int
unknown_check(const json_t *o, const char *field, const char *const *known,
    const char *list, struct api_error *err)
{
	const char	*k;
	json_t		*v;
	char		 q[300];
	size_t		 i;

	json_object_foreach((json_t *)o, k, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (known[i] == NULL) {
			str_quote(k, strlen(k), 64, q, sizeof(q));
			return api_error_set(err, API_INVALID_ARGUMENT,
			    "%s: unknown field %s (known: %s)", field, q, list);
		}
	}
	return 0;
}

/* A string value: *out is borrowed from `v`. */
static int
str_val(const json_t *v, const char *field, const char *key,
    const char **out, struct api_error *err)
{
	const char	*dot = key[0] != '\0' ? "." : "";

	if (!json_is_string(v))
		return api_error_set(err, API_INVALID_ARGUMENT, "%s%s%s: want a "
		    "string, got %s", field, dot, key, api_json_type(v));
	if (json_string_length(v) > STR_MAX ||
	    memchr(json_string_value(v), '\0', json_string_length(v)) != NULL)
		return api_error_set(err, API_INVALID_ARGUMENT, "%s%s%s: %s",
		    field, dot, key, json_string_length(v) > STR_MAX ?
		    "too long" : "contains a NUL character");
	*out = json_string_value(v);
	return 0;
}

/* An optional string member (NULL: absent). */
static int
str_get(const json_t *o, const char *key, const char *field,
    const char **out, struct api_error *err)
{
	const json_t	*v = json_object_get(o, key);

	*out = NULL;
	return v == NULL ? 0 : str_val(v, field, key, out, err);
}

/* An optional array member of at most `max` items (NULL: absent). */
static int
arr_get(const json_t *o, const char *key, const char *field, size_t max,
    const json_t **out, struct api_error *err)
{
	const json_t	*v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return api_error_set(err, API_INVALID_ARGUMENT, "%s.%s: want an "
		    "array, got %s", field, key, api_json_type(v));
	if (json_array_size(v) > max)
		return api_error_set(err, API_INVALID_ARGUMENT, "%s.%s: %zu "
		    "items, at most %zu", field, key, json_array_size(v), max);
	*out = v;
	return 0;
}

static int
rules_get(const json_t *a, const char *field, struct ep_rule_spec **out,
    size_t *n, struct api_error *err)
{
	static const char *const known[] = { "method", "path", "action", NULL };
	struct ep_rule_spec	*r;
	const json_t		*o;
	char			 f[FIELD_MAX + 32];
	size_t			 i;

	*n = a != NULL ? json_array_size(a) : 0;
	if ((*out = r = calloc(*n + 1, sizeof(*r))) == NULL)
		return api_error_set(err, API_INTERNAL, "out of memory");
	for (i = 0; i < *n; i++) {
		o = json_array_get(a, i);
		snprintf(f, sizeof(f), "%s.rules[%zu]", field, i);
		if (!json_is_object(o))
			return api_error_set(err, API_INVALID_ARGUMENT, "%s: want "
			    "an object {method, path, action}, got %s", f,
			    api_json_type(o));
		if (unknown_check(o, f, known, "method, path, action",
		    err) == -1 ||
		    str_get(o, "method", f, &r[i].ers_method, err) == -1 ||
		    str_get(o, "path", f, &r[i].ers_path, err) == -1 ||
		    str_get(o, "action", f, &r[i].ers_action, err) == -1)
			return -1;
	}
	return 0;
}

static int
creds_get(const json_t *a, const char *field, struct ep_cred_spec **out,
    size_t *n, struct api_error *err)
{
	static const char *const known[] = { "header", "value", NULL };
	struct ep_cred_spec	*c;
	const json_t		*o;
	char			 f[FIELD_MAX + 32];
	size_t			 i;

	*n = a != NULL ? json_array_size(a) : 0;
	if ((*out = c = calloc(*n + 1, sizeof(*c))) == NULL)
		return api_error_set(err, API_INTERNAL, "out of memory");
	for (i = 0; i < *n; i++) {
		o = json_array_get(a, i);
		snprintf(f, sizeof(f), "%s.credentials[%zu]", field, i);
		if (json_is_string(o)) {
			if (str_val(o, f, "", &c[i].ecs_value, err) == -1)
				return -1;
			continue;
		}
		if (!json_is_object(o))
			return api_error_set(err, API_INVALID_ARGUMENT, "%s: want "
			    "{header, value} or a string \"Name: template\", "
			    "got %s", f, api_json_type(o));
		if (unknown_check(o, f, known, "header, value", err) == -1 ||
		    str_get(o, "header", f, &c[i].ecs_header, err) == -1 ||
		    str_get(o, "value", f, &c[i].ecs_value, err) == -1)
			return -1;
		if (c[i].ecs_header == NULL)
			return api_error_set(err, API_INVALID_ARGUMENT,
			    "%s.header: missing", f);
		if (c[i].ecs_value == NULL)
			return api_error_set(err, API_INVALID_ARGUMENT,
			    "%s.value: missing", f);
	}
	return 0;
}

static void
epj_free(struct epj *j)
{
	for (size_t i = 0; i < j->ej_n; i++) {
		free(j->ej_rules[i]);
		free(j->ej_creds[i]);
	}
	free(j->ej_rules);
	free(j->ej_creds);
	free(j->ej_hosts);
}

static int
entry_get(const json_t *o, size_t i, struct epj *j, struct api_error *err)
{
	static const char *const known[] = { "host", "rules", "default",
	    "credentials", NULL };
	struct ep_host_spec	*h = &j->ej_hosts[i];
	const json_t		*rules, *creds;
	char			 f[FIELD_MAX];

	snprintf(f, sizeof(f), "endpoints[%zu]", i);
	if (!json_is_object(o))
		return api_error_set(err, API_INVALID_ARGUMENT, "%s: want an "
		    "object {host, rules?, default?, credentials?}, got %s", f,
		    api_json_type(o));
	if (unknown_check(o, f, known, "host, rules, default, credentials",
	    err) == -1 ||
	    str_get(o, "host", f, &h->ehs_host, err) == -1 ||
	    str_get(o, "default", f, &h->ehs_default, err) == -1 ||
	    arr_get(o, "rules", f, EP_RULES_MAX, &rules, err) == -1 ||
	    arr_get(o, "credentials", f, EP_CREDS_MAX, &creds, err) == -1)
		return -1;
	if (h->ehs_host == NULL)
		return api_error_set(err, API_INVALID_ARGUMENT, "%s.host: "
		    "missing", f);
	if (rules_get(rules, f, &j->ej_rules[i], &h->ehs_nrules, err) == -1 ||
	    creds_get(creds, f, &j->ej_creds[i], &h->ehs_ncreds, err) == -1)
		return -1;
	h->ehs_rules = j->ej_rules[i];
	h->ehs_creds = j->ej_creds[i];
	return 0;
}

static int
eps_from_json(const json_t *a, struct endpoints **out, struct api_error *err)
{
	struct epj	 j;
	struct ir_err	 e;
	size_t		 i, n;
	int		 rc = -1;

	*out = NULL;
	if (!json_is_array(a))
		return api_error_set(err, API_INVALID_ARGUMENT, "endpoints: want "
		    "an array of {host, rules?, default?, credentials?}, got %s",
		    api_json_type(a));
	if ((n = json_array_size(a)) == 0)
		return 0;
	if (n > EP_HOSTS_MAX)
		return api_error_set(err, API_INVALID_ARGUMENT, "endpoints: %zu "
		    "entries, at most %d", n, EP_HOSTS_MAX);
	memset(&j, 0, sizeof(j));
	if ((j.ej_hosts = calloc(n, sizeof(*j.ej_hosts))) == NULL ||
	    (j.ej_rules = calloc(n, sizeof(*j.ej_rules))) == NULL ||
	    (j.ej_creds = calloc(n, sizeof(*j.ej_creds))) == NULL) {
		api_error_set(err, API_INTERNAL, "out of memory");
		goto out;
	}
	j.ej_n = n;
	for (i = 0; i < n; i++)
		if (entry_get(json_array_get(a, i), i, &j, err) == -1)
			goto out;
	if ((*out = endpoints_compile(j.ej_hosts, n, &e)) == NULL) {
		api_error_set(err, e.code == ENOMEM ? API_INTERNAL :
		    API_INVALID_ARGUMENT, "%s", e.msg);
		goto out;
	}
	rc = 0;
out:
	epj_free(&j);
	return rc;
}

int
api_endpoints_compile(const char *text, size_t len, struct endpoints **out,
    struct api_error *err)
{
	json_error_t	 je;
	json_t		*j;
	int		 rc;

	*out = NULL;
	if ((j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return api_error_set(err, API_INVALID_JSON, "endpoints: invalid "
		    "JSON at line %d column %d: %s", je.line, je.column,
		    je.text);
	rc = eps_from_json(j, out, err);
	json_decref(j);
	return rc;
}

int
api_endpoints_member(const json_t *v, struct endpoints **eps, char **text,
    struct api_error *err)
{
	*text = NULL;
	if (eps_from_json(v, eps, err) == -1)
		return -1;
	if (*eps == NULL)
		return 0;
	if ((*text = json_dumps(v, JSON_COMPACT)) == NULL) {
		endpoints_free(*eps);
		*eps = NULL;
		return api_error_set(err, API_INTERNAL, "out of memory");
	}
	return 0;
}
