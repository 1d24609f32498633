/*
 * daemon.c - what the commands that talk to isorund share: where it is,
 * one request with its error reporting, and the options every one of them
 * takes (--socket, --url, --json).
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../api/client.h"

/* One request; on a 2xx answer `r` holds it (api_resp_free()). */
static int
call(const struct cli_api *ca, const char *cmd, const char *method,
    const char *path, const char *ctype, const char *body, size_t len,
    struct api_resp *r)
{
	struct api_target	 t;
	struct api_error	 e;
	struct ir_err		 err;
	int			 rc;

	if (api_target_env(&t, ca->ca_socket, ca->ca_url, &err) == -1) {
		cli_warnx("%s: %s", cmd, err.msg);
		return CLI_USAGE;
	}
	rc = api_call_body(&t, method, path, ctype, body, len, r, &err);
	api_target_free(&t);
	if (rc == -1) {
		cli_warnx("%s: %s", cmd, err.msg);
		return CLI_FAIL;
	}
	if (r->rs_status < 200 || r->rs_status > 299) {
		api_resp_error(r, &e);
		cli_warnx("%s: %s", cmd, e.ap_msg);
		rc = r->rs_status >= 400 && r->rs_status < 500 ? CLI_USAGE :
		    CLI_FAIL;
		api_resp_free(r);
		return rc;
	}
	return CLI_OK;
}

int
cli_api_raw(const struct cli_api *ca, const char *cmd, const char *method,
    const char *path, const char *body, size_t len, unsigned *status)
{
	struct api_resp	 r;
	int		 rc;

	if ((rc = call(ca, cmd, method, path, "application/octet-stream",
	    body, len, &r)) != CLI_OK)
		return rc;
	*status = r.rs_status;
	api_resp_free(&r);
	return CLI_OK;
}

int
cli_api(const struct cli_api *ca, const char *cmd, const char *method,
    const char *path, json_t *body, json_t **out)
{
	struct api_resp		 r;
	json_error_t		 je;
	char			*text = NULL;
	int			 rc;

	if (out != NULL)
		*out = NULL;
	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		json_decref(body);
		cli_warnx("%s: out of memory", cmd);
		return CLI_FAIL;
	}
	json_decref(body);
	rc = call(ca, cmd, method, path, "application/json", text,
	    text ? strlen(text) : 0, &r);
	free(text);
	if (rc != CLI_OK)
		return rc;
	if (out != NULL && r.rs_len > 0 &&
	    (*out = json_loadb(r.rs_body, r.rs_len, 0, &je)) == NULL) {
		cli_warnx("%s: isorund answered something that is not JSON: %s",
		    cmd, je.text);
		api_resp_free(&r);
		return CLI_FAIL;
	}
	api_resp_free(&r);
	return CLI_OK;
}

/*
 * The options every daemon command takes. Returns 1 if `c` was one of
 * them (handled), 0 if not.
 */
int
cli_api_opt(struct cli_api *ca, int c, const char *arg)
{
	switch (c) {
	case CLI_OPT_SOCKET:
		ca->ca_socket = arg;
		return 1;
	case CLI_OPT_URL:
		ca->ca_url = arg;
		return 1;
	case CLI_OPT_JSON:
		ca->ca_json = 1;
		return 1;
	}
	return 0;
}

const char *
cli_api_usage(void)
{
	return "  --json              print the API's JSON answer\n"
	    "  --socket PATH       isorund's unix socket (default $ISORUN_SOCKET, "
	    "else\n"
	    "                      " API_SOCKET ")\n"
	    "  --url URL           isorund over TCP, http://HOST:PORT (default "
	    "$ISORUN_URL),\n"
	    "                      with the token in $ISORUN_API_KEY\n";
}

/* An id argument: what the API would refuse is a usage error here. */
int
cli_id_check(const char *cmd, const char *id)
{
	struct api_error	 e;

	if (api_id_check(id, strlen(id), &e) == -1)
		return cli_usage_error(cmd, "%s: sandbox %s", cmd, e.ap_msg);
	return CLI_OK;
}

int
cli_strv_add(const char ***v, size_t *n, const char *s)
{
	const char	**nv = realloc(*v, (*n + 2) * sizeof(*nv));

	if (nv == NULL) {
		cli_warnx("out of memory");
		return -1;
	}
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

/* {"K": "V", ...} of "K=V" strings; reports a malformed one. */
json_t *
cli_env_json(const char *cmd, const char *const *env, size_t n)
{
	json_t		*o;
	const char	*eq;
	char		*k;
	size_t		 i;

	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((eq = strchr(env[i], '=')) == NULL || eq == env[i]) {
			cli_usage_error(cmd, "%s: --env '%s': want NAME=VALUE",
			    cmd, env[i]);
			json_decref(o);
			return NULL;
		}
		if ((k = strndup(env[i], (size_t)(eq - env[i]))) == NULL ||
		    json_object_set_new(o, k, json_string(eq + 1)) == -1) {
			free(k);
			cli_warnx("%s: --env '%s': not valid UTF-8, or out of "
			    "memory", cmd, env[i]);
			json_decref(o);
			return NULL;
		}
		free(k);
	}
	return o;
}

/*
 * The network part of a request body from --profile, --allow, --deny and
 * --network, put into `body`. Returns CLI_OK or reports and returns the
 * exit code.
 */
int
cli_network_json(const char *cmd, const struct cli_policy_src *ps,
    json_t *body)
{
	json_t	*net, *a, *d;
	size_t	 i;

	if (ps->ps_profile != NULL && ps->ps_have_network)
		return cli_usage_error(cmd, "%s: networkProfile and network are "
		    "mutually exclusive (--profile with --allow, --deny or "
		    "--network)", cmd);
	if (ps->ps_profile != NULL) {
		if (json_object_set_new(body, "networkProfile",
		    json_string(ps->ps_profile)) == -1)
			goto bad;
		return CLI_OK;
	}
	if (!ps->ps_have_network)
		return CLI_OK;
	a = json_array();
	d = json_array();
	net = json_object();
	if (a == NULL || d == NULL || net == NULL) {
		json_decref(a);
		json_decref(d);
		json_decref(net);
		goto bad;
	}
	for (i = 0; i < ps->ps_nallow; i++)
		json_array_append_new(a, json_string(ps->ps_allow[i]));
	for (i = 0; i < ps->ps_ndeny; i++)
		json_array_append_new(d, json_string(ps->ps_deny[i]));
	if (json_array_size(a) != ps->ps_nallow ||
	    json_array_size(d) != ps->ps_ndeny) {
		json_decref(a);
		json_decref(d);
		json_decref(net);
		goto bad;
	}
	json_object_set_new(net, "allow", a);
	json_object_set_new(net, "deny", d);
	if (json_object_set_new(body, "network", net) == -1)
		goto bad;
	return CLI_OK;
bad:
	cli_warnx("%s: a rule or profile name is not valid UTF-8, or out of "
	    "memory", cmd);
	return CLI_USAGE;
}

/* "profile claude-code" or "rules: allow-list, 2 allow, 1 deny". */
void
cli_network_desc(json_t *sb, char *buf, size_t len)
{
	const char	*prof = json_string_value(json_object_get(sb,
			    "networkProfile"));
	const char	*mode = json_string_value(json_object_get(sb,
			    "networkMode"));
	json_t		*net = json_object_get(sb, "network");

	if (prof != NULL)
		snprintf(buf, len, "profile %s", prof);
	else
		snprintf(buf, len, "rules: %s, %zu allow, %zu deny",
		    mode ? mode : "?",
		    json_array_size(json_object_get(net, "allow")),
		    json_array_size(json_object_get(net, "deny")));
}

const char *
cli_jstr(json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}
