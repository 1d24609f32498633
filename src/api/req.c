/*
 * req.c - request bodies: JSON in, validated structs out. Every error names
 * the field as the request spelled it ("env.PATH", "cmd[2]") and says why.
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../audit/audit.h"
#include "../endpoint/endpoint.h"
#include "../policy/policy.h"
#include "api_int.h"

#define Q_MAX	64	/* bytes of a value quoted in a message */

const char *
api_json_type(const json_t *v)
{
	if (v == NULL)
		return "nothing";
	switch (json_typeof(v)) {
	case JSON_OBJECT:	return "an object";
	case JSON_ARRAY:	return "an array";
	case JSON_STRING:	return "a string";
	case JSON_INTEGER:	return "an integer";
	case JSON_REAL:		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:	return "a boolean";
	case JSON_NULL:		return "null";
	}
	return "something else";
}

/* The body as a JSON object; len 0 is {} when `empty_ok`. */
static json_t *
body_load(const char *body, size_t len, bool empty_ok, struct api_error *err)
{
	json_error_t	 je;
	json_t		*j;

	if (len == 0) {
		if (empty_ok)
			return json_object();
		api_error_set(err, API_INVALID_JSON, "body: empty; want a JSON "
		    "object");
		return NULL;
	}
	if ((j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		api_error_set(err, API_INVALID_JSON, "body: invalid JSON at "
		    "line %d column %d: %s", je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		api_error_set(err, API_INVALID_JSON, "body: want a JSON object, "
		    "got %s", api_json_type(j));
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Fails on a key of `obj` not in `known` (NULL-terminated). */
static int
no_unknown(const json_t *obj, const char *prefix, const char *const *known,
    struct api_error *err)
{
	const char	*k;
	json_t		*v;
	char		 q[Q_MAX * 4 + 8], list[256];
	size_t		 i, used = 0;

	json_object_foreach((json_t *)obj, k, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (known[i] != NULL)
			continue;
		list[0] = '\0';
		for (i = 0; known[i] != NULL && used < sizeof(list); i++)
			used += (size_t)snprintf(list + used, sizeof(list) -
			    used, "%s%s", i ? ", " : "", known[i]);
		str_quote(k, strlen(k), Q_MAX, q, sizeof(q));
		return api_error_set(err, API_INVALID_ARGUMENT, "unknown field "
		    "%s%s (known: %s)", prefix, q, list);
	}
	return 0;
}

static int
want_string(const json_t *v, const char *field, size_t max, bool empty_ok,
    char **out, struct api_error *err)
{
	size_t	 n;

	if (!json_is_string(v))
		return api_error_set(err, API_INVALID_ARGUMENT, "%s: want a "
		    "string, got %s", field, api_json_type(v));
	n = json_string_length(v);
	if (n == 0 && !empty_ok)
		return api_error_set(err, API_INVALID_ARGUMENT, "%s: must not "
		    "be empty", field);
	if (n > max)
		return api_error_set(err, API_INVALID_ARGUMENT, "%s: %zu bytes, "
		    "at most %zu", field, n, max);
	if (memchr(json_string_value(v), '\0', n) != NULL)
		return api_error_set(err, API_INVALID_ARGUMENT, "%s: contains "
		    "a NUL character", field);
	if (out != NULL && (*out = strdup(json_string_value(v))) == NULL)
		return api_error_set(err, API_INTERNAL, "out of memory");
	return 0;
}

static int
want_ms(const json_t *v, const char *field, uint64_t max, uint64_t *out,
    struct api_error *err)
{
	json_int_t	 i;

	if (!json_is_integer(v) || (i = json_integer_value(v)) < 1 ||
	    (uint64_t)i > max)
		return api_error_set(err, API_INVALID_ARGUMENT, "%s: want an "
		    "integer number of milliseconds from 1 to %llu, got %s",
		    field, (unsigned long long)max, json_is_integer(v) ?
		    "a value out of range" : api_json_type(v));
	*out = (uint64_t)i;
	return 0;
}

static void
strv_free(char **v)
{
	size_t	 i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* An array of strings into a NULL-terminated vector (never NULL). */
static int
want_strv(const json_t *v, const char *field, size_t maxn, bool empty_ok,
    char ***out, size_t *n, struct api_error *err)
{
	char	**sv, f[128];
	size_t	  i, cnt;

	if (!json_is_array(v))
		return api_error_set(err, API_INVALID_ARGUMENT, "%s: want an "
		    "array of strings, got %s", field, api_json_type(v));
	cnt = json_array_size(v);
	if (cnt > maxn)
		return api_error_set(err, API_INVALID_ARGUMENT, "%s: %zu items, "
		    "at most %zu", field, cnt, maxn);
	if ((sv = calloc(cnt + 1, sizeof(*sv))) == NULL)
		return api_error_set(err, API_INTERNAL, "out of memory");
	for (i = 0; i < cnt; i++) {
		snprintf(f, sizeof(f), "%s[%zu]", field, i);
		if (want_string(json_array_get(v, i), f, POL_RULE_MAX * 4,
		    empty_ok, &sv[i], err) == -1) {
			strv_free(sv);
			return -1;
		}
	}
	*out = sv;
	if (n != NULL)
		*n = cnt;
	return 0;
}

/* {"NAME": "value", ...} into "NAME=value" strings. */
static int
want_env(const json_t *v, const char *field, char ***out,
    struct api_error *err)
{
	const char	*k;
	json_t		*val;
	char		**sv, q[Q_MAX * 4 + 8], f[API_ENV_NAME_MAX + 64];
	size_t		 i = 0, n, kl;

	if (!json_is_object(v))
		return api_error_set(err, API_INVALID_ARGUMENT, "%s: want an "
		    "object of strings, got %s", field, api_json_type(v));
	if ((n = json_object_size(v)) > API_ENV_MAX)
		return api_error_set(err, API_INVALID_ARGUMENT, "%s: %zu "
		    "variables, at most %d", field, n, API_ENV_MAX);
	if ((sv = calloc(n + 1, sizeof(*sv))) == NULL)
		return api_error_set(err, API_INTERNAL, "out of memory");
	json_object_foreach((json_t *)v, k, val) {
		kl = strlen(k);
		if (kl == 0 || kl > API_ENV_NAME_MAX ||
		    strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789_") != kl || (k[0] >= '0' && k[0] <= '9')) {
			str_quote(k, kl, Q_MAX, q, sizeof(q));
			api_error_set(err, API_INVALID_ARGUMENT, "%s: variable "
			    "name %s: want 1 to %d of [A-Za-z0-9_], not "
			    "starting with a digit", field, q,
			    API_ENV_NAME_MAX);
			goto fail;
		}
		snprintf(f, sizeof(f), "%s.%s", field, k);
		if (want_string(val, f, 128 * 1024, true, NULL, err) == -1)
			goto fail;
		if (asprintf(&sv[i], "%s=%s", k, json_string_value(val)) ==
		    -1) {
			sv[i] = NULL;
			api_error_set(err, API_INTERNAL, "out of memory");
			goto fail;
		}
		i++;
	}
	*out = sv;
	return 0;
fail:
	strv_free(sv);
	return -1;
}

void
api_network_free(struct api_network *n)
{
	free(n->an_profile);
	strv_free(n->an_allow);
	strv_free(n->an_deny);
	memset(n, 0, sizeof(*n));
}

/* `network` and `networkProfile` of `obj` (either may be absent). */
static int
network_get(const json_t *obj, struct api_network *n, struct api_error *err)
{
	static const char *const known[] = { "allow", "deny", NULL };
	const json_t	*net = json_object_get(obj, "network");
	const json_t	*prof = json_object_get(obj, "networkProfile");
	const json_t	*v;

	memset(n, 0, sizeof(*n));
	if (net != NULL && prof != NULL)
		return api_error_set(err, API_INVALID_ARGUMENT, "networkProfile "
		    "and network are mutually exclusive");
	if (prof != NULL) {
		if (want_string(prof, "networkProfile", 64, false,
		    &n->an_profile, err) == -1)
			return -1;
		n->an_set = true;
		return 0;
	}
	if (net == NULL)
		return 0;
	if (!json_is_object(net))
		return api_error_set(err, API_INVALID_ARGUMENT, "network: want an "
		    "object {allow?: [...], deny?: [...]}, got %s", api_json_type(net));
	if (no_unknown(net, "network.", known, err) == -1)
		return -1;
	/* Rules are judged by policy_compile(); empty ones too. */
	if ((v = json_object_get(net, "allow")) != NULL) {
		if (want_strv(v, "network.allow", POL_RULES_MAX, true,
		    &n->an_allow, &n->an_nallow, err) == -1)
			goto fail;
	} else if ((n->an_allow = calloc(1, sizeof(char *))) == NULL)
		goto nomem;
	if ((v = json_object_get(net, "deny")) != NULL) {
		if (want_strv(v, "network.deny", POL_RULES_MAX, true,
		    &n->an_deny, &n->an_ndeny, err) == -1)
			goto fail;
	} else if ((n->an_deny = calloc(1, sizeof(char *))) == NULL)
		goto nomem;
	if (n->an_nallow + n->an_ndeny > POL_RULES_MAX) {
		api_error_set(err, API_INVALID_ARGUMENT, "network: %zu rules, "
		    "at most %d", n->an_nallow + n->an_ndeny, POL_RULES_MAX);
		goto fail;
	}
	n->an_set = true;
	return 0;
nomem:
	api_error_set(err, API_INTERNAL, "out of memory");
fail:
	api_network_free(n);
	return -1;
}

struct policy *
api_network_compile(const struct api_network *n, struct api_error *err)
{
	struct policy	*p;
	struct ir_err	 e;

	if ((p = policy_compile((const char *const *)n->an_allow, n->an_nallow,
	    (const char *const *)n->an_deny, n->an_ndeny, &e)) == NULL)
		api_error_set(err, e.code == ENOMEM ? API_INTERNAL :
		    API_INVALID_ARGUMENT, "network.%s", e.msg);
	return p;
}

void
api_create_free(struct api_create *c)
{
	free(c->cr_id);
	free(c->cr_image);
	api_network_free(&c->cr_net);
	strv_free(c->cr_env);
	endpoints_free(c->cr_endpoints);
	free(c->cr_endpoints_json);
	memset(c, 0, sizeof(*c));
}

int
api_create_parse(const char *body, size_t len, struct api_create *c,
    struct api_error *err)
{
	static const char *const known[] = { "id", "image", "network",
	    "networkProfile", "env", "timeoutMs", "endpoints", NULL };
	json_t		*j, *v;

	memset(c, 0, sizeof(*c));
	if ((j = body_load(body, len, true, err)) == NULL)
		return -1;
	if (no_unknown(j, "", known, err) == -1)
		goto fail;
	if ((v = json_object_get(j, "id")) != NULL) {
		if (!json_is_string(v)) {
			api_error_set(err, API_INVALID_ARGUMENT, "id: want a "
			    "string, got %s", api_json_type(v));
			goto fail;
		}
		if (api_id_check(json_string_value(v), json_string_length(v),
		    err) == -1 || want_string(v, "id", API_ID_MAX, false,
		    &c->cr_id, err) == -1)
			goto fail;
	}
	if ((v = json_object_get(j, "image")) != NULL &&
	    want_string(v, "image", API_PATH_MAX, false, &c->cr_image,
	    err) == -1)
		goto fail;
	if (network_get(j, &c->cr_net, err) == -1)
		goto fail;
	if ((v = json_object_get(j, "env")) != NULL &&
	    want_env(v, "env", &c->cr_env, err) == -1)
		goto fail;
	if ((v = json_object_get(j, "timeoutMs")) != NULL &&
	    want_ms(v, "timeoutMs", API_TIMEOUT_MAX_MS, &c->cr_timeout_ms,
	    err) == -1)
		goto fail;
	if ((v = json_object_get(j, "endpoints")) != NULL &&
	    api_endpoints_member(v, &c->cr_endpoints, &c->cr_endpoints_json,
	    err) == -1)
		goto fail;
	json_decref(j);
	return 0;
fail:
	json_decref(j);
	api_create_free(c);
	return -1;
}

void
api_exec_free(struct api_exec *x)
{
	strv_free(x->ex_argv);
	free(x->ex_shell);
	strv_free(x->ex_env);
	free(x->ex_cwd);
	free(x->ex_stdin);
	memset(x, 0, sizeof(*x));
}

int
api_exec_parse(const char *body, size_t len, struct api_exec *x,
    struct api_error *err)
{
	static const char *const known[] = { "cmd", "env", "cwd", "stdin",
	    "timeoutMs", NULL };
	json_t		*j, *v;

	memset(x, 0, sizeof(*x));
	if ((j = body_load(body, len, false, err)) == NULL)
		return -1;
	if (no_unknown(j, "", known, err) == -1)
		goto fail;
	if ((v = json_object_get(j, "cmd")) == NULL) {
		api_error_set(err, API_INVALID_ARGUMENT, "cmd: missing; want a "
		    "shell command line or an argv array");
		goto fail;
	}
	if (json_is_string(v)) {
		if (want_string(v, "cmd", 1024 * 1024, false, &x->ex_shell,
		    err) == -1)
			goto fail;
	} else if (json_is_array(v)) {
		if (json_array_size(v) == 0) {
			api_error_set(err, API_INVALID_ARGUMENT, "cmd: an empty "
			    "argv; want at least the program");
			goto fail;
		}
		if (want_strv(v, "cmd", API_ARGV_MAX, true, &x->ex_argv, NULL,
		    err) == -1)
			goto fail;
		if (x->ex_argv[0][0] == '\0') {
			api_error_set(err, API_INVALID_ARGUMENT, "cmd[0]: must "
			    "not be empty");
			goto fail;
		}
	} else {
		api_error_set(err, API_INVALID_ARGUMENT, "cmd: want a string or "
		    "an array of strings, got %s", api_json_type(v));
		goto fail;
	}
	if ((v = json_object_get(j, "env")) != NULL &&
	    want_env(v, "env", &x->ex_env, err) == -1)
		goto fail;
	if ((v = json_object_get(j, "cwd")) != NULL) {
		if (want_string(v, "cwd", API_PATH_MAX, false, &x->ex_cwd,
		    err) == -1)
			goto fail;
		if (x->ex_cwd[0] != '/') {
			api_error_set(err, API_INVALID_ARGUMENT, "cwd: want an "
			    "absolute path");
			goto fail;
		}
	}
	if ((v = json_object_get(j, "stdin")) != NULL) {
		if (want_string(v, "stdin", SIZE_MAX, true, NULL, err) == -1)
			goto fail;
		x->ex_stdin_len = json_string_length(v);
		if ((x->ex_stdin = malloc(x->ex_stdin_len + 1)) == NULL) {
			api_error_set(err, API_INTERNAL, "out of memory");
			goto fail;
		}
		memcpy(x->ex_stdin, json_string_value(v), x->ex_stdin_len + 1);
	}
	if ((v = json_object_get(j, "timeoutMs")) != NULL &&
	    want_ms(v, "timeoutMs", API_TIMEOUT_MAX_MS, &x->ex_timeout_ms,
	    err) == -1)
		goto fail;
	json_decref(j);
	return 0;
fail:
	json_decref(j);
	api_exec_free(x);
	return -1;
}

int
api_network_parse(const char *body, size_t len, struct api_network *n,
    struct api_error *err)
{
	static const char *const known[] = { "network", "networkProfile",
	    NULL };
	json_t		*j;

	memset(n, 0, sizeof(*n));
	if ((j = body_load(body, len, false, err)) == NULL)
		return -1;
	if (no_unknown(j, "", known, err) == -1 ||
	    network_get(j, n, err) == -1)
		goto fail;
	if (!n->an_set) {
		api_error_set(err, API_INVALID_ARGUMENT, "body: want network "
		    "{allow?, deny?} or networkProfile");
		goto fail;
	}
	json_decref(j);
	return 0;
fail:
	json_decref(j);
	api_network_free(n);
	return -1;
}

int
api_endpoints_parse(const char *body, size_t len, struct endpoints **eps,
    char **text, struct api_error *err)
{
	static const char *const known[] = { "endpoints", NULL };
	json_t		*j, *v;
	int		 rc = -1;

	*eps = NULL;
	*text = NULL;
	if ((j = body_load(body, len, false, err)) == NULL)
		return -1;
	if (no_unknown(j, "", known, err) == -1)
		goto out;
	if ((v = json_object_get(j, "endpoints")) == NULL)
		api_error_set(err, API_INVALID_ARGUMENT, "body: want "
		    "{\"endpoints\": [...]} (an empty array removes them)");
	else
		rc = api_endpoints_member(v, eps, text, err);
out:
	json_decref(j);
	return rc;
}

/* "2026-11-22T20:41:55Z", with optional fraction and a Z or +HH:MM. */
static int
rfc3339(const char *s, uint64_t *ns)
{
	struct tm	 tm;
	const char	*p;
	uint64_t	 frac = 0, scale = 1000000000;
	long		 off = 0;
	time_t		 t;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if ((*p == '+' || *p == '-') && p[1] >= '0' && p[1] <= '2' &&
	    p[2] >= '0' && p[2] <= '9' && p[3] == ':' && p[4] >= '0' &&
	    p[4] <= '5' && p[5] >= '0' && p[5] <= '9') {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
		    ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
		if (*p == '+')
			off = -off;
		p += 6;
	} else
		return -1;
	if (*p != '\0' || (t = timegm(&tm)) == (time_t)-1 || t + off < 0)
		return -1;
	*ns = (uint64_t)(t + off) * 1000000000 + frac;
	return 0;
}

int
api_audit_param(struct api_audit_query *q, const char *key,
    const char *value, uint64_t now_ns, struct api_error *err)
{
	struct ir_err	 e;
	char		 qv[Q_MAX * 4 + 8], *end;
	uint64_t	 ns;
	unsigned long	 l;

	str_quote(value ? value : "", value ? strlen(value) : 0, Q_MAX, qv,
	    sizeof(qv));
	if (strcmp(key, "since") == 0) {
		if (value == NULL || *value == '\0')
			return api_error_set(err, API_INVALID_ARGUMENT, "since: "
			    "empty; want a duration (10m), an RFC 3339 time or "
			    "Unix nanoseconds");
		if (strspn(value, "0123456789") == strlen(value)) {
			errno = 0;
			q->aq_since_ns = strtoull(value, &end, 10);
			if (errno == 0)
				return 0;
		} else if (rfc3339(value, &ns) == 0) {
			q->aq_since_ns = ns;
			return 0;
		} else if (audit_parse_duration(value, &ns, &e) == 0) {
			q->aq_since_ns = ns < now_ns ? now_ns - ns : 0;
			return 0;
		}
		return api_error_set(err, API_INVALID_ARGUMENT, "since %s: want "
		    "a duration (90s, 10m, 1h30m, 7d), an RFC 3339 time or "
		    "Unix nanoseconds", qv);
	}
	if (strcmp(key, "verdict") == 0) {
		if (value != NULL && strcmp(value, "blocked") == 0)
			q->aq_verdict = 0;
		else if (value != NULL && strcmp(value, "allowed") == 0)
			q->aq_verdict = 1;
		else if (value != NULL && strcmp(value, "any") == 0)
			q->aq_verdict = -1;
		else
			return api_error_set(err, API_INVALID_ARGUMENT, "verdict "
			    "%s: want blocked, allowed or any", qv);
		return 0;
	}
	if (strcmp(key, "follow") == 0) {
		if (value == NULL || strcmp(value, "1") == 0 ||
		    strcmp(value, "true") == 0)
			q->aq_follow = true;
		else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0)
			q->aq_follow = false;
		else
			return api_error_set(err, API_INVALID_ARGUMENT, "follow "
			    "%s: want 1, true, 0 or false", qv);
		return 0;
	}
	if (strcmp(key, "limit") == 0) {
		errno = 0;
		l = value ? strtoul(value, &end, 10) : 0;
		if (value == NULL || *value < '0' || *value > '9' ||
		    *end != '\0' || errno != 0 || l < 1 || l > 100000)
			return api_error_set(err, API_INVALID_ARGUMENT, "limit "
			    "%s: want an integer from 1 to 100000", qv);
		q->aq_limit = (unsigned)l;
		return 0;
	}
	str_quote(key, strlen(key), Q_MAX, qv, sizeof(qv));
	return api_error_set(err, API_INVALID_ARGUMENT, "unknown query "
	    "parameter %s (known: since, verdict, limit, follow)", qv);
}
