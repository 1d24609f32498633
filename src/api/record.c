/*
 * record.c - the daemon's state record of one sandbox, as JSON:
 *
 *   {"version":1, "id":"sb-..", "image":"host", "slot":0,
 *    "profile":"claude-code" | null, "allow":[..], "deny":[..],
 *    "dnsFlags":0, "createdMs":..., "expiresMs":0,
 *    "endpoints":[..]}
 *
 * "endpoints" (the create's option as given, or as last set live:
 * templates, never secret values) is absent for a sandbox created without
 * them, and in records written before it existed; [] when a live change
 * removed them all (the sandbox still trusts the runner's CA).
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define RECORD_VERSION	1

static json_t *
strv_json(char *const *v, size_t n)
{
	json_t	*a;
	size_t	 i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) == -1) {
			json_decref(a);
			return NULL;
		}
	return a;
}

char *
api_record_dump(const struct api_record *r)
{
	json_t	*j, *allow, *deny;
	char	*s;

	allow = strv_json(r->rc_allow, r->rc_nallow);
	deny = strv_json(r->rc_deny, r->rc_ndeny);
	if (allow == NULL || deny == NULL) {
		json_decref(allow);
		json_decref(deny);
		return NULL;
	}
	j = json_pack("{s:i, s:s, s:s, s:I, s:o, s:o, s:o, s:I, s:I, s:I}",
	    "version", RECORD_VERSION,
	    "id", r->rc_id,
	    "image", r->rc_image,
	    "slot", (json_int_t)r->rc_slot,
	    "profile", r->rc_profile ? json_string(r->rc_profile) :
	    json_null(),
	    "allow", allow,
	    "deny", deny,
	    "dnsFlags", (json_int_t)r->rc_dns_flags,
	    "createdMs", (json_int_t)r->rc_created_ms,
	    "expiresMs", (json_int_t)r->rc_expires_ms);
	if (j == NULL)
		return NULL;
	if (r->rc_endpoints != NULL && json_object_set_new(j, "endpoints",
	    json_loads(r->rc_endpoints, JSON_REJECT_DUPLICATES, NULL)) == -1) {
		json_decref(j);
		return NULL;
	}
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

void
api_record_free(struct api_record *r)
{
	size_t	 i;

	free(r->rc_id);
	free(r->rc_image);
	free(r->rc_profile);
	for (i = 0; r->rc_allow != NULL && r->rc_allow[i] != NULL; i++)
		free(r->rc_allow[i]);
	free(r->rc_allow);
	for (i = 0; r->rc_deny != NULL && r->rc_deny[i] != NULL; i++)
		free(r->rc_deny[i]);
	free(r->rc_deny);
	free(r->rc_endpoints);
	memset(r, 0, sizeof(*r));
}

static int
strv_get(json_t *a, const char *field, const char *origin, char ***out,
    size_t *n, struct ir_err *err)
{
	size_t	 i;

	if (!json_is_array(a))
		return err_set(err, 0, "%s: %s: want an array", origin, field);
	*n = json_array_size(a);
	if ((*out = calloc(*n + 1, sizeof(**out))) == NULL)
		return err_set(err, ENOMEM, "%s: out of memory", origin);
	for (i = 0; i < *n; i++) {
		if (!json_is_string(json_array_get(a, i)))
			return err_set(err, 0, "%s: %s[%zu]: want a string",
			    origin, field, i);
		if (((*out)[i] = strdup(json_string_value(json_array_get(a,
		    i)))) == NULL)
			return err_set(err, ENOMEM, "%s: out of memory", origin);
	}
	return 0;
}

int
api_record_parse(const char *text, size_t len, const char *origin,
    struct api_record *r, struct ir_err *err)
{
	json_error_t	 je;
	json_t		*j, *allow = NULL, *deny = NULL, *prof = NULL;
	json_t		*eps = NULL;
	const char	*id = NULL, *image = NULL;
	json_int_t	 ver = 0, slot = -1, flags = 0, created = 0, expires = 0;

	memset(r, 0, sizeof(*r));
	if ((j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return err_set(err, 0, "%s:%d:%d: %s", origin, je.line,
		    je.column, je.text);
	if (json_unpack_ex(j, &je, JSON_STRICT, "{s:I, s:s, s:s, s:I, s:o, "
	    "s:o, s:o, s:I, s:I, s:I, s?o}", "version", &ver, "id", &id,
	    "image", &image, "slot", &slot, "profile", &prof, "allow", &allow,
	    "deny", &deny, "dnsFlags", &flags, "createdMs", &created,
	    "expiresMs", &expires, "endpoints", &eps) == -1) {
		err_set(err, 0, "%s: %s", origin, je.text);
		goto fail;
	}
	if (ver != RECORD_VERSION) {
		err_set(err, 0, "%s: version %lld: want %d", origin,
		    (long long)ver, RECORD_VERSION);
		goto fail;
	}
	if (api_id_check(id, strlen(id), NULL) == -1 || slot < 0 ||
	    slot > 65535 || flags < 0 || flags > 0xffff || created < 0 ||
	    expires < 0 || (!json_is_null(prof) && !json_is_string(prof)) ||
	    (eps != NULL && !json_is_array(eps))) {
		err_set(err, 0, "%s: a field is out of range (id, slot, "
		    "profile, dnsFlags, createdMs, expiresMs or endpoints)",
		    origin);
		goto fail;
	}
	/* [] is kept: its endpoints were removed live, it trusts the CA. */
	if (eps != NULL &&
	    (r->rc_endpoints = json_dumps(eps, JSON_COMPACT)) == NULL) {
		err_set(err, ENOMEM, "%s: out of memory", origin);
		goto fail;
	}
	if ((r->rc_id = strdup(id)) == NULL ||
	    (r->rc_image = strdup(image)) == NULL ||
	    (json_is_string(prof) && (r->rc_profile =
	    strdup(json_string_value(prof))) == NULL)) {
		err_set(err, ENOMEM, "%s: out of memory", origin);
		goto fail;
	}
	if (strv_get(allow, "allow", origin, &r->rc_allow, &r->rc_nallow,
	    err) == -1 ||
	    strv_get(deny, "deny", origin, &r->rc_deny, &r->rc_ndeny,
	    err) == -1)
		goto fail;
	r->rc_slot = (unsigned)slot;
	r->rc_dns_flags = (unsigned)flags;
	r->rc_created_ms = created;
	r->rc_expires_ms = expires;
	json_decref(j);
	return 0;
fail:
	json_decref(j);
	api_record_free(r);
	return -1;
}
