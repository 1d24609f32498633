/*
 * proto.c - error codes, routes and the small pure helpers of the API.
 */
#include "api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "../secrets/secrets.h"

static const struct {
	const char	*name;
	unsigned	 status;
} codes[API_NCODES] = {
	[API_OK]			= { "ok", 200 },
	[API_INVALID_JSON]		= { "invalid_json", 400 },
	[API_INVALID_ARGUMENT]		= { "invalid_argument", 400 },
	[API_UNAUTHENTICATED]		= { "unauthenticated", 401 },
	[API_NOT_FOUND]			= { "not_found", 404 },
	[API_METHOD_NOT_ALLOWED]	= { "method_not_allowed", 405 },
	[API_ALREADY_EXISTS]		= { "already_exists", 409 },
	[API_CONFLICT]			= { "conflict", 409 },
	[API_PAYLOAD_TOO_LARGE]		= { "payload_too_large", 413 },
	[API_UNSUPPORTED_MEDIA_TYPE]	= { "unsupported_media_type", 415 },
	[API_INTERNAL]			= { "internal", 500 },
	[API_NOT_IMPLEMENTED]		= { "not_implemented", 501 },
	[API_UNAVAILABLE]		= { "unavailable", 503 },
};

int
api_error_set(struct api_error *e, enum api_code code, const char *fmt, ...)
{
	va_list	 ap;

	if (e == NULL)
		return -1;
	e->ap_code = code;
	va_start(ap, fmt);
	vsnprintf(e->ap_msg, sizeof(e->ap_msg), fmt, ap);
	va_end(ap);
	return -1;
}

unsigned
api_code_status(enum api_code c)
{
	return (unsigned)c < API_NCODES ? codes[c].status : 500;
}

const char *
api_code_name(enum api_code c)
{
	return (unsigned)c < API_NCODES ? codes[c].name : "internal";
}

enum api_code
api_code_from_name(const char *name)
{
	unsigned	 i;

	for (i = 0; name != NULL && i < API_NCODES; i++)
		if (strcmp(codes[i].name, name) == 0)
			return (enum api_code)i;
	return API_NCODES;
}

char *
api_error_body(const struct api_error *e, size_t *len)
{
	json_t	*j;
	char	*s;

	j = json_pack("{s:{s:s, s:s}}", "error", "code",
	    api_code_name(e->ap_code), "message", e->ap_msg);
	if (j == NULL)
		return NULL;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s != NULL && len != NULL)
		*len = strlen(s);
	return s;
}

static const struct api_route_def routes[API_NROUTES] = {
	{ API_R_HEALTHZ,  "GET",    "/healthz",			false, false },
	{ API_R_METRICS,  "GET",    "/metrics",			false, false },
	{ API_R_PROFILES, "GET",    "/v1/network-profiles",	false, false },
	{ API_R_CREATE,   "POST",   "/v1/sandboxes",		true, false },
	{ API_R_LIST,     "GET",    "/v1/sandboxes",		false, false },
	{ API_R_GET,      "GET",    "/v1/sandboxes/{id}",	false, false },
	{ API_R_DESTROY,  "DELETE", "/v1/sandboxes/{id}",	false, false },
	{ API_R_EXEC,     "POST",   "/v1/sandboxes/{id}/exec",	true, false },
	{ API_R_NETWORK,  "PUT",    "/v1/sandboxes/{id}/network", true, false },
	{ API_R_ENDPOINTS, "PUT",   "/v1/sandboxes/{id}/endpoints", true, false },
	{ API_R_AUDIT,    "GET",    "/v1/sandboxes/{id}/audit",	false, false },
	{ API_R_SECRETS,  "GET",    "/v1/secrets",		false, false },
	{ API_R_SECRET_PUT, "PUT",  "/v1/secrets/{name}",	true, true },
	{ API_R_SECRET_DELETE, "DELETE", "/v1/secrets/{name}",	false, false },
};

const struct api_route_def *
api_route_def(enum api_route r)
{
	return (unsigned)r < API_NROUTES ? &routes[r] : NULL;
}

int
api_id_check(const char *id, size_t len, struct api_error *err)
{
	char	 q[API_ID_MAX * 4 + 16];
	size_t	 i;

	for (i = 0; i < len; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9') ||
		    (i > 0 && (id[i] == '-' || id[i] == '_'))))
			break;
	if (len > 0 && len <= API_ID_MAX && i == len)
		return 0;
	str_quote(id, len, API_ID_MAX + 1, q, sizeof(q));
	return api_error_set(err, API_INVALID_ARGUMENT, "id %s: want 1 to %d "
	    "of [A-Za-z0-9_-], the first a letter or digit", q, API_ID_MAX);
}

/*
 * Matches `path` against a template; the {id} or {name} segment (if any)
 * goes to `id` with its length in *idlen, and *isname says which. Returns
 * 1 on a match.
 */
static int
path_match(const char *tmpl, const char *path, const char **id,
    size_t *idlen, bool *isname)
{
	const char	*t = strchr(tmpl, '{'), *e;
	size_t		 pre, n;

	*id = NULL;
	*idlen = 0;
	if (t == NULL || (e = strchr(t, '}')) == NULL)
		return strcmp(tmpl, path) == 0;
	*isname = strncmp(t, "{name}", 6) == 0;
	pre = (size_t)(t - tmpl);
	if (strncmp(tmpl, path, pre) != 0)
		return 0;
	n = strcspn(path + pre, "/");
	if (n == 0 || strcmp(path + pre + n, e + 1) != 0)
		return 0;
	*id = path + pre;
	*idlen = n;
	return 1;
}

/* A secret's name from a path: secrets_name_check() on a copy. */
static int
name_check(const char *p, size_t n, struct api_error *err)
{
	struct ir_err	 e;
	char		 buf[SECRET_NAME_MAX + 2];

	snprintf(buf, sizeof(buf), "%.*s", (int)n, p);
	if (n > SECRET_NAME_MAX)
		return api_error_set(err, API_INVALID_ARGUMENT, "secret name "
		    "'%.*s...': longer than %d characters", 16, p,
		    SECRET_NAME_MAX);
	if (secrets_name_check(buf, &e) == -1)
		return api_error_set(err, API_INVALID_ARGUMENT, "%s", e.msg);
	return 0;
}

int
api_route(const char *method, const char *path, enum api_route *route,
    char id[API_SEG_MAX + 1], char *allow, size_t allowlen,
    struct api_error *err)
{
	const char	*pid, *badid = NULL, *badname = NULL;
	size_t		 n, badn = 0, used = 0;
	char		 q[300];
	unsigned	 i;
	int		 known = 0;
	bool		 isname = false;

	id[0] = '\0';
	if (allowlen > 0)
		allow[0] = '\0';
	for (i = 0; i < API_NROUTES; i++) {
		if (!path_match(routes[i].rd_path, path, &pid, &n, &isname))
			continue;
		if (pid != NULL && isname && name_check(pid, n, NULL) == -1) {
			badname = pid;
			badn = n;
			continue;
		}
		if (pid != NULL && !isname && api_id_check(pid, n, NULL) ==
		    -1) {
			badid = pid;
			badn = n;
			continue;
		}
		if (strcmp(routes[i].rd_method, method) == 0) {
			*route = routes[i].rd_route;
			if (pid != NULL)
				snprintf(id, API_SEG_MAX + 1, "%.*s", (int)n,
				    pid);
			return 0;
		}
		if (used < allowlen)
			used += (size_t)snprintf(allow + used, allowlen - used,
			    "%s%s", known ? ", " : "", routes[i].rd_method);
		known = 1;
	}
	if (known) {
		str_quote(method, strlen(method), 16, q, sizeof(q));
		return api_error_set(err, API_METHOD_NOT_ALLOWED, "method %s "
		    "is not allowed on %s (allowed: %s)", q, path,
		    allowlen ? allow : "?");
	}
	if (badname != NULL)
		return name_check(badname, badn, err);
	if (badid != NULL) {
		str_quote(badid, badn, API_ID_MAX + 1, q, sizeof(q));
		return api_error_set(err, API_NOT_FOUND, "no sandbox %s (ids "
		    "are 1 to %d of [A-Za-z0-9_-])", q, API_ID_MAX);
	}
	str_quote(path, strlen(path), 128, q, sizeof(q));
	return api_error_set(err, API_NOT_FOUND, "no such endpoint: %s; the "
	    "API is under /v1/ (see docs/api.md)", q);
}

bool
api_content_type_ok(const char *ct)
{
	const char	*p;
	size_t		 n;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, "application/json", 16) != 0)
		return false;
	for (p = ct + 16; *p != '\0';) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (*p++ != ';')
			return false;
		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, "; \t");
		if (!(n == 13 && strncasecmp(p, "charset=utf-8", 13) == 0) &&
		    !(n == 15 && strncasecmp(p, "charset=\"utf-8\"", 15) == 0))
			return false;
		p += n;
	}
	return true;
}

bool
api_raw_type_ok(const char *ct)
{
	size_t	 n;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	return (n == 24 && strncasecmp(ct, "application/octet-stream", n) ==
	    0) || (n == 10 && strncasecmp(ct, "text/plain", n) == 0);
}

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t	 cp;
	size_t		 len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

char *
api_utf8_clean(const char *s, size_t len, size_t *outlen)
{
	const unsigned char	*u = (const unsigned char *)s;
	char			*out, *o;
	size_t			 i, n;

	/* Each bad byte grows to 3: U+FFFD is EF BF BD. */
	if (len > (SIZE_MAX - 1) / 3 || (out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	for (i = 0, o = out; i < len; ) {
		if (u[i] != 0 && (n = utf8_seq(u + i, len - i)) > 0) {
			memcpy(o, u + i, n);
			o += n;
			i += n;
		} else {
			/* NUL too: JSON strings could carry it, but C
			 * clients of the API would cut the output there. */
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	*o = '\0';
	if (outlen != NULL)
		*outlen = (size_t)(o - out);
	return out;
}

void
api_time_format(int64_t ms, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);
	char		 tmp[32];

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "1970-01-01T00:00:00.000Z");
		return;
	}
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", tmp, (int)(ms % 1000));
}

bool
api_token_equal(const char *given, const char *want)
{
	size_t		 gl = strlen(given), wl = strlen(want), i;
	unsigned char	 d = gl != wl;

	/* Every byte of `want` is looked at whatever `given` is. */
	for (i = 0; i < wl; i++)
		d |= (unsigned char)(want[i] ^ (gl ? given[i % gl] : 0));
	return wl > 0 && d == 0;
}
