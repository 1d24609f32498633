/*
 * test_api.c - the pure parts of the API (src/api): routes, request bodies
 * and their error messages, query parameters, content types, UTF-8
 * cleaning, the token compare, state records, isorund's configuration and
 * the client's response parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/api.h"
#include "api/client.h"
#include "endpoint/endpoint.h"
#include "policy/policy.h"
#include "t.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const struct route_case {
	const char	*method, *path;
	int		 rc;		/* 0 or the api_code */
	enum api_route	 route;
	const char	*id;
	const char	*want;		/* message or Allow fragment */
} routes[] = {
	{ "GET", "/healthz", 0, API_R_HEALTHZ, "", NULL },
	{ "GET", "/metrics", 0, API_R_METRICS, "", NULL },
	{ "GET", "/v1/network-profiles", 0, API_R_PROFILES, "", NULL },
	{ "POST", "/v1/sandboxes", 0, API_R_CREATE, "", NULL },
	{ "GET", "/v1/sandboxes", 0, API_R_LIST, "", NULL },
	{ "GET", "/v1/sandboxes/sb-12ab", 0, API_R_GET, "sb-12ab", NULL },
	{ "DELETE", "/v1/sandboxes/a_b", 0, API_R_DESTROY, "a_b", NULL },
	{ "POST", "/v1/sandboxes/x/exec", 0, API_R_EXEC, "x", NULL },
	{ "PUT", "/v1/sandboxes/x/network", 0, API_R_NETWORK, "x", NULL },
	{ "GET", "/v1/sandboxes/x/audit", 0, API_R_AUDIT, "x", NULL },
	{ "GET", "/v1/secrets", 0, API_R_SECRETS, "", NULL },
	{ "PUT", "/v1/secrets/openai", 0, API_R_SECRET_PUT, "openai", NULL },
	{ "DELETE", "/v1/secrets/a.b-c_d", 0, API_R_SECRET_DELETE, "a.b-c_d",
	    NULL },
	{ "PUT", "/v1/secrets/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    0, API_R_SECRET_PUT,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    NULL },
	{ "PUT", "/v1/secrets/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    API_INVALID_ARGUMENT, 0, "", "longer than 64" },
	{ "PUT", "/v1/secrets/.hidden", API_INVALID_ARGUMENT, 0, "",
	    "secret name '.hidden': must start with" },
	{ "DELETE", "/v1/secrets/a b", API_INVALID_ARGUMENT, 0, "",
	    "secret name 'a b': only letters" },
	{ "GET", "/v1/secrets/x", API_METHOD_NOT_ALLOWED, 0, "",
	    "PUT, DELETE" },
	{ "POST", "/v1/secrets", API_METHOD_NOT_ALLOWED, 0, "", "GET" },
	{ "PUT", "/v1/secrets/", API_NOT_FOUND, 0, "", "no such endpoint" },
	{ "PUT", "/v1/secrets/x/y", API_NOT_FOUND, 0, "", "no such endpoint" },
	{ "PATCH", "/v1/sandboxes", API_METHOD_NOT_ALLOWED, 0, "",
	    "POST, GET" },
	{ "POST", "/v1/sandboxes/x", API_METHOD_NOT_ALLOWED, 0, "",
	    "GET, DELETE" },
	{ "GET", "/v1/sandboxes/x/exec", API_METHOD_NOT_ALLOWED, 0, "",
	    "POST" },
	{ "DELETE", "/healthz", API_METHOD_NOT_ALLOWED, 0, "", "GET" },
	{ "GET", "/", API_NOT_FOUND, 0, "", "no such endpoint: '/'" },
	{ "GET", "/v1/sandboxes/", API_NOT_FOUND, 0, "", "no such endpoint" },
	{ "GET", "/v1/sandboxes/x/", API_NOT_FOUND, 0, "", "no such endpoint" },
	{ "GET", "/v1/sandboxes/x/exec/y", API_NOT_FOUND, 0, "",
	    "no such endpoint" },
	{ "GET", "/v1/sandboxes/a.b", API_NOT_FOUND, 0, "",
	    "no sandbox 'a.b'" },
	{ "GET", "/v1/sandboxes/-x", API_NOT_FOUND, 0, "", "no sandbox '-x'" },
	{ "GET", "/v1/sandboxes/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    API_NOT_FOUND, 0, "", "no sandbox" },
	{ "GET", "/V1/sandboxes", API_NOT_FOUND, 0, "", "no such endpoint" },
};

static void
t_route(const struct route_case *c)
{
	struct api_error	 e;
	enum api_route		 r = API_NROUTES;
	char			 id[API_SEG_MAX + 1], allow[64];
	int			 rc;

	memset(&e, 0, sizeof(e));
	rc = api_route(c->method, c->path, &r, id, allow, sizeof(allow), &e);
	if (c->rc == 0) {
		T_CHECK(rc == 0, "failed: %s", e.ap_msg);
		T_CHECK(r == c->route, "route %d, want %d", r, c->route);
		T_STREQ(id, c->id);
		return;
	}
	T_CHECK(rc == -1, "matched");
	T_CHECK((int)e.ap_code == c->rc, "code %s", api_code_name(e.ap_code));
	if (c->rc == API_METHOD_NOT_ALLOWED)
		T_STREQ(allow, c->want);
	else
		T_CHECK(strstr(e.ap_msg, c->want) != NULL, "message '%s'",
		    e.ap_msg);
}

static const struct body_case {
	const char	*desc;
	const char	*body;
	int		 code;		/* 0: parses */
	const char	*want;		/* fragment of the message */
} creates[] = {
	{ "empty body", "", 0, NULL },
	{ "empty object", "{}", 0, NULL },
	{ "seed allow-only", "{\"image\":\"python:3.12-slim\",\"network\":"
	    "{\"deny\":[\"0.0.0.0/0\"],\"allow\":[\"api.openai.com\","
	    "\"pypi.org\"]}}", 0, NULL },
	{ "seed profile", "{\"image\":\"python:3.12-slim\",\"networkProfile\":"
	    "\"locked-down\"}", 0, NULL },
	{ "everything", "{\"id\":\"my-box_1\",\"image\":\"host\",\"env\":"
	    "{\"A\":\"1\",\"_B2\":\"\"},\"timeoutMs\":60000,\"network\":{}}",
	    0, NULL },
	{ "not JSON", "{\"image\":", API_INVALID_JSON, "invalid JSON at line 1" },
	{ "trailing garbage", "{} x", API_INVALID_JSON, "invalid JSON" },
	{ "an array", "[]", API_INVALID_JSON, "want a JSON object, got an array" },
	{ "duplicate key", "{\"image\":\"a\",\"image\":\"b\"}", API_INVALID_JSON,
	    "duplicate" },
	{ "unknown field", "{\"imag\":\"host\"}", API_INVALID_ARGUMENT,
	    "unknown field 'imag' (known: id, image, network" },
	{ "both network kinds", "{\"network\":{},\"networkProfile\":\"x\"}",
	    API_INVALID_ARGUMENT, "networkProfile and network are mutually "
	    "exclusive" },
	{ "network not object", "{\"network\":[\"a\"]}", API_INVALID_ARGUMENT,
	    "network: want an object" },
	{ "network unknown key", "{\"network\":{\"allowed\":[]}}",
	    API_INVALID_ARGUMENT, "unknown field network.'allowed'" },
	{ "allow not array", "{\"network\":{\"allow\":\"a.com\"}}",
	    API_INVALID_ARGUMENT, "network.allow: want an array of strings, "
	    "got a string" },
	{ "allow item not string", "{\"network\":{\"allow\":[\"a\",3]}}",
	    API_INVALID_ARGUMENT, "network.allow[1]: want a string, got an "
	    "integer" },
	{ "profile empty", "{\"networkProfile\":\"\"}", API_INVALID_ARGUMENT,
	    "networkProfile: must not be empty" },
	{ "profile not string", "{\"networkProfile\":1}", API_INVALID_ARGUMENT,
	    "networkProfile: want a string" },
	{ "bad id chars", "{\"id\":\"a/b\"}", API_INVALID_ARGUMENT,
	    "id 'a/b': want 1 to 48" },
	{ "id starts with dash", "{\"id\":\"-a\"}", API_INVALID_ARGUMENT,
	    "id '-a'" },
	{ "id not string", "{\"id\":7}", API_INVALID_ARGUMENT,
	    "id: want a string, got an integer" },
	{ "image empty", "{\"image\":\"\"}", API_INVALID_ARGUMENT,
	    "image: must not be empty" },
	{ "image null", "{\"image\":null}", API_INVALID_ARGUMENT,
	    "image: want a string, got null" },
	{ "env not object", "{\"env\":[\"A=1\"]}", API_INVALID_ARGUMENT,
	    "env: want an object of strings, got an array" },
	{ "env bad name", "{\"env\":{\"A-B\":\"1\"}}", API_INVALID_ARGUMENT,
	    "env: variable name 'A-B'" },
	{ "env digit first", "{\"env\":{\"1A\":\"1\"}}", API_INVALID_ARGUMENT,
	    "variable name '1A'" },
	{ "env value not string", "{\"env\":{\"A\":1}}", API_INVALID_ARGUMENT,
	    "env.A: want a string, got an integer" },
	{ "timeout zero", "{\"timeoutMs\":0}", API_INVALID_ARGUMENT,
	    "timeoutMs: want an integer number of milliseconds from 1" },
	{ "timeout negative", "{\"timeoutMs\":-5}", API_INVALID_ARGUMENT,
	    "timeoutMs" },
	{ "timeout real", "{\"timeoutMs\":1.5}", API_INVALID_ARGUMENT,
	    "got a number" },
	{ "timeout huge", "{\"timeoutMs\":99999999999999}",
	    API_INVALID_ARGUMENT, "out of range" },
	{ "NUL in string", "{\"image\":\"a\\u0000b\"}", API_INVALID_JSON,
	    "invalid JSON" },
	{ "endpoints empty", "{\"endpoints\":[]}", 0, NULL },
	{ "endpoints seed shape", "{\"endpoints\":[{\"host\":\"api.openai.com\","
	    "\"rules\":[{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
	    "\"action\":\"allow\"},{\"method\":\"DELETE\",\"path\":"
	    "\"/v1/admin/*\",\"action\":\"deny\"}],\"default\":\"deny\","
	    "\"credentials\":[{\"header\":\"Authorization\",\"value\":"
	    "\"Bearer ${secret:openai}\"},\"X-Org: ${secret:org}\"]}]}", 0,
	    NULL },
	{ "endpoints not array", "{\"endpoints\":{}}", API_INVALID_ARGUMENT,
	    "endpoints: want an array of {host, rules?, default?, "
	    "credentials?}, got an object" },
	{ "endpoints entry not object", "{\"endpoints\":[\"a.com\"]}",
	    API_INVALID_ARGUMENT, "endpoints[0]: want an object" },
	{ "endpoints unknown field", "{\"endpoints\":[{\"host\":\"a.com\","
	    "\"rule\":[]}]}", API_INVALID_ARGUMENT, "endpoints[0]: unknown "
	    "field 'rule' (known: host, rules, default, credentials)" },
	{ "endpoints host missing", "{\"endpoints\":[{\"rules\":[]}]}",
	    API_INVALID_ARGUMENT, "endpoints[0].host: missing" },
	{ "endpoints host not string", "{\"endpoints\":[{\"host\":1}]}",
	    API_INVALID_ARGUMENT, "endpoints[0].host: want a string, got an "
	    "integer" },
	{ "endpoints rules not array", "{\"endpoints\":[{\"host\":\"a.com\","
	    "\"rules\":{}}]}", API_INVALID_ARGUMENT, "endpoints[0].rules: want "
	    "an array, got an object" },
	{ "endpoints rule not object", "{\"endpoints\":[{\"host\":\"a.com\","
	    "\"rules\":[\"allow GET /\"]}]}", API_INVALID_ARGUMENT,
	    "endpoints[0].rules[0]: want an object {method, path, action}" },
	{ "endpoints rule method type", "{\"endpoints\":[{\"host\":\"a.com\","
	    "\"rules\":[{\"method\":1,\"path\":\"/\",\"action\":\"allow\"}]}]}",
	    API_INVALID_ARGUMENT, "endpoints[0].rules[0].method: want a "
	    "string, got an integer" },
	{ "endpoints rule unknown", "{\"endpoints\":[{\"host\":\"a.com\","
	    "\"rules\":[{\"verb\":\"GET\"}]}]}", API_INVALID_ARGUMENT,
	    "endpoints[0].rules[0]: unknown field 'verb'" },
	{ "endpoints bad path (compile)", "{\"endpoints\":[{\"host\":"
	    "\"a.com\",\"rules\":[{\"method\":\"GET\",\"path\":\"/v1/*x\","
	    "\"action\":\"allow\"}]}]}", API_INVALID_ARGUMENT,
	    "endpoints[0].rules[0].path '/v1/*x'" },
	{ "endpoints wildcard host (compile)", "{\"endpoints\":[{\"host\":"
	    "\"*.a.com\"}]}", API_INVALID_ARGUMENT, "endpoints[0].host" },
	{ "endpoints cred not object", "{\"endpoints\":[{\"host\":\"a.com\","
	    "\"credentials\":[1]}]}", API_INVALID_ARGUMENT,
	    "endpoints[0].credentials[0]: want {header, value} or a string" },
	{ "endpoints cred value missing", "{\"endpoints\":[{\"host\":"
	    "\"a.com\",\"credentials\":[{\"header\":\"X\"}]}]}",
	    API_INVALID_ARGUMENT, "endpoints[0].credentials[0].value: missing" },
	{ "endpoints bad template (compile)", "{\"endpoints\":[{\"host\":"
	    "\"a.com\",\"credentials\":[\"X: $x\"]}]}", API_INVALID_ARGUMENT,
	    "endpoints[0].credentials[0]" },
	{ "endpoints duplicate host", "{\"endpoints\":[{\"host\":\"a.com\"},"
	    "{\"host\":\"A.com.\"}]}", API_INVALID_ARGUMENT,
	    "endpoints[1].host 'a.com': port 443 already has an entry" },
};

static void
t_create(const struct body_case *c)
{
	struct api_create	 cr;
	struct api_error	 e;
	int			 rc;

	memset(&e, 0, sizeof(e));
	rc = api_create_parse(c->body, strlen(c->body), &cr, &e);
	if (c->code == 0) {
		T_CHECK(rc == 0, "failed: %s", e.ap_msg);
		api_create_free(&cr);
		return;
	}
	T_CHECK(rc == -1, "parsed");
	T_CHECK((int)e.ap_code == c->code, "code %s: %s",
	    api_code_name(e.ap_code), e.ap_msg);
	T_CHECK(strstr(e.ap_msg, c->want) != NULL, "message '%s', want '%s'",
	    e.ap_msg, c->want);
	T_CHECK(cr.cr_id == NULL && cr.cr_env == NULL &&
	    cr.cr_net.an_allow == NULL && cr.cr_endpoints == NULL &&
	    cr.cr_endpoints_json == NULL, "left allocated on failure");
}

static void
t_create_fields(void)
{
	struct api_create	 cr;
	struct api_error	 e;
	const char		*b = "{\"id\":\"x1\",\"image\":\"img\",\"env\":"
				    "{\"K\":\"v=w\"},\"timeoutMs\":1500,"
				    "\"network\":{\"deny\":[\"0.0.0.0/0\"],"
				    "\"allow\":[\"a.com\",\"b.com\"]}}";

	T_CHECK(api_create_parse(b, strlen(b), &cr, &e) == 0, "%s", e.ap_msg);
	T_STREQ(cr.cr_id, "x1");
	T_STREQ(cr.cr_image, "img");
	T_CHECK(cr.cr_env != NULL && cr.cr_env[1] == NULL, "env count");
	if (cr.cr_env != NULL)
		T_STREQ(cr.cr_env[0], "K=v=w");
	T_CHECK(cr.cr_timeout_ms == 1500, "timeout %llu",
	    (unsigned long long)cr.cr_timeout_ms);
	T_CHECK(cr.cr_net.an_set && cr.cr_net.an_profile == NULL, "network");
	T_CHECK(cr.cr_net.an_nallow == 2 && cr.cr_net.an_ndeny == 1,
	    "rules %zu/%zu", cr.cr_net.an_nallow, cr.cr_net.an_ndeny);
	if (cr.cr_net.an_nallow == 2)
		T_STREQ(cr.cr_net.an_allow[1], "b.com");
	api_create_free(&cr);

	/* Endpoints: compiled, and kept as given (templates, not values). */
	b = "{\"endpoints\":[{\"host\":\"API.example.com:8443\",\"credentials\":"
	    "[\"Authorization: Bearer ${secret:k1}\"],\"rules\":[{\"method\":"
	    "\"get\",\"path\":\"/v1/*\",\"action\":\"allow\"}]}]}";
	T_CHECK(api_create_parse(b, strlen(b), &cr, &e) == 0, "%s", e.ap_msg);
	T_CHECK(cr.cr_endpoints != NULL && endpoints_count(cr.cr_endpoints) ==
	    1, "compiled");
	if (cr.cr_endpoints != NULL) {
		T_STREQ(ep_host_name(endpoints_get(cr.cr_endpoints, 0)),
		    "api.example.com");
		T_CHECK(ep_host_port(endpoints_get(cr.cr_endpoints, 0)) == 8443,
		    "port");
		T_STREQ(endpoints_secret(cr.cr_endpoints, 0), "k1");
	}
	T_CHECK(cr.cr_endpoints_json != NULL && strstr(cr.cr_endpoints_json,
	    "\"API.example.com:8443\"") != NULL && strstr(cr.cr_endpoints_json,
	    "${secret:k1}") != NULL, "as given: %s", cr.cr_endpoints_json ?
	    cr.cr_endpoints_json : "(null)");
	api_create_free(&cr);
	T_CHECK(api_create_parse("{\"endpoints\":[]}", 16, &cr, &e) == 0 &&
	    cr.cr_endpoints == NULL && cr.cr_endpoints_json == NULL,
	    "empty is none");
	api_create_free(&cr);

	/* Neither kind: not set (the daemon applies "unrestricted"). */
	T_CHECK(api_create_parse("{}", 2, &cr, &e) == 0, "%s", e.ap_msg);
	T_CHECK(!cr.cr_net.an_set && cr.cr_image == NULL && cr.cr_id == NULL,
	    "defaults");
	api_create_free(&cr);
}

/* Rules are judged by the policy engine, named as the request had them. */
static void
t_network_compile(void)
{
	struct api_network	 n;
	struct api_error	 e;
	struct policy		*p;
	const char		*good = "{\"network\":{\"deny\":[\"0.0.0.0/0\"],"
				    "\"allow\":[\"api.openai.com\"]}}";
	const char		*bad = "{\"network\":{\"allow\":[\"ok.com\"],"
				    "\"deny\":[\"x.com\",\"*foo.com\"]}}";

	T_CHECK(api_network_parse(good, strlen(good), &n, &e) == 0, "%s",
	    e.ap_msg);
	p = api_network_compile(&n, &e);
	T_CHECK(p != NULL, "%s", e.ap_msg);
	T_CHECK(p == NULL || policy_mode(p) == POL_MODE_ALLOW_LIST, "mode");
	policy_free(p);
	api_network_free(&n);

	T_CHECK(api_network_parse(bad, strlen(bad), &n, &e) == 0, "%s",
	    e.ap_msg);
	p = api_network_compile(&n, &e);
	T_CHECK(p == NULL, "compiled");
	T_CHECK(e.ap_code == API_INVALID_ARGUMENT, "code");
	T_CHECK(strncmp(e.ap_msg, "network.deny[1] '*foo.com': ", 28) == 0,
	    "message '%s'", e.ap_msg);
	policy_free(p);
	api_network_free(&n);
}

static const struct body_case nets[] = {
	{ "rules", "{\"network\":{\"allow\":[\"a.com\"]}}", 0, NULL },
	{ "empty rules", "{\"network\":{}}", 0, NULL },
	{ "profile", "{\"networkProfile\":\"openai\"}", 0, NULL },
	{ "neither", "{}", API_INVALID_ARGUMENT,
	    "want network {allow?, deny?} or networkProfile" },
	{ "empty body", "", API_INVALID_JSON, "body: empty" },
	{ "both", "{\"networkProfile\":\"a\",\"network\":{}}",
	    API_INVALID_ARGUMENT, "mutually exclusive" },
	{ "create's field", "{\"image\":\"x\",\"networkProfile\":\"a\"}",
	    API_INVALID_ARGUMENT, "unknown field 'image'" },
};

static void
t_net(const struct body_case *c)
{
	struct api_network	 n;
	struct api_error	 e;
	int			 rc;

	memset(&e, 0, sizeof(e));
	rc = api_network_parse(c->body, strlen(c->body), &n, &e);
	if (c->code == 0) {
		T_CHECK(rc == 0 && n.an_set, "failed: %s", e.ap_msg);
		api_network_free(&n);
		return;
	}
	T_CHECK(rc == -1, "parsed");
	T_CHECK((int)e.ap_code == c->code, "code %s", api_code_name(e.ap_code));
	T_CHECK(strstr(e.ap_msg, c->want) != NULL, "message '%s'", e.ap_msg);
}

static const struct body_case execs[] = {
	{ "shell string", "{\"cmd\":\"pip install openai\"}", 0, NULL },
	{ "argv", "{\"cmd\":[\"ls\",\"-l\",\"\"]}", 0, NULL },
	{ "all fields", "{\"cmd\":\"cat\",\"env\":{\"A\":\"b\"},\"cwd\":\"/tmp\","
	    "\"stdin\":\"hello\\n\",\"timeoutMs\":2000}", 0, NULL },
	{ "no cmd", "{\"env\":{}}", API_INVALID_ARGUMENT, "cmd: missing" },
	{ "empty body", "", API_INVALID_JSON, "body: empty" },
	{ "empty cmd", "{\"cmd\":\"\"}", API_INVALID_ARGUMENT,
	    "cmd: must not be empty" },
	{ "empty argv", "{\"cmd\":[]}", API_INVALID_ARGUMENT, "empty argv" },
	{ "empty program", "{\"cmd\":[\"\",\"x\"]}", API_INVALID_ARGUMENT,
	    "cmd[0]: must not be empty" },
	{ "argv item", "{\"cmd\":[\"ls\",{}]}", API_INVALID_ARGUMENT,
	    "cmd[1]: want a string, got an object" },
	{ "cmd number", "{\"cmd\":5}", API_INVALID_ARGUMENT,
	    "cmd: want a string or an array of strings, got an integer" },
	{ "relative cwd", "{\"cmd\":\"x\",\"cwd\":\"tmp\"}",
	    API_INVALID_ARGUMENT, "cwd: want an absolute path" },
	{ "stdin not string", "{\"cmd\":\"x\",\"stdin\":[1]}",
	    API_INVALID_ARGUMENT, "stdin: want a string" },
	{ "timeout string", "{\"cmd\":\"x\",\"timeoutMs\":\"5\"}",
	    API_INVALID_ARGUMENT, "timeoutMs: want an integer" },
	{ "unknown", "{\"cmd\":\"x\",\"tty\":true}", API_INVALID_ARGUMENT,
	    "unknown field 'tty' (known: cmd, env, cwd, stdin, timeoutMs)" },
};

static void
t_exec(const struct body_case *c)
{
	struct api_exec		 x;
	struct api_error	 e;
	int			 rc;

	memset(&e, 0, sizeof(e));
	rc = api_exec_parse(c->body, strlen(c->body), &x, &e);
	if (c->code == 0) {
		T_CHECK(rc == 0, "failed: %s", e.ap_msg);
		T_CHECK((x.ex_shell == NULL) != (x.ex_argv == NULL),
		    "shell xor argv");
		api_exec_free(&x);
		return;
	}
	T_CHECK(rc == -1, "parsed");
	T_CHECK((int)e.ap_code == c->code, "code %s", api_code_name(e.ap_code));
	T_CHECK(strstr(e.ap_msg, c->want) != NULL, "message '%s'", e.ap_msg);
}

static void
t_exec_fields(void)
{
	struct api_exec		 x;
	struct api_error	 e;
	const char		*b = "{\"cmd\":[\"sh\",\"-c\",\"cat\"],\"stdin\":"
				    "\"a\\nb\",\"cwd\":\"/w\",\"timeoutMs\":9}";

	T_CHECK(api_exec_parse(b, strlen(b), &x, &e) == 0, "%s", e.ap_msg);
	T_CHECK(x.ex_argv != NULL && x.ex_argv[3] == NULL, "argv");
	if (x.ex_argv != NULL)
		T_STREQ(x.ex_argv[2], "cat");
	T_CHECK(x.ex_stdin_len == 3 && memcmp(x.ex_stdin, "a\nb", 3) == 0,
	    "stdin");
	T_STREQ(x.ex_cwd, "/w");
	T_CHECK(x.ex_timeout_ms == 9, "timeout");
	api_exec_free(&x);
}

static void
t_audit_params(void)
{
	struct api_audit_query	 q;
	struct api_error	 e;
	uint64_t		 now = 10000ull * 1000000000;

	memset(&q, 0, sizeof(q));
	q.aq_verdict = -1;
	T_CHECK(api_audit_param(&q, "since", "10m", now, &e) == 0, "%s",
	    e.ap_msg);
	T_CHECK(q.aq_since_ns == now - 600ull * 1000000000, "relative since");
	T_CHECK(api_audit_param(&q, "since", "1700000000000000000", now,
	    &e) == 0 && q.aq_since_ns == 1700000000000000000ull, "ns since");
	T_CHECK(api_audit_param(&q, "since", "2023-11-14T22:13:20Z", now,
	    &e) == 0 && q.aq_since_ns == 1700000000ull * 1000000000,
	    "RFC 3339 since: %llu", (unsigned long long)q.aq_since_ns);
	T_CHECK(api_audit_param(&q, "since", "2023-11-14T23:13:20.5+01:00",
	    now, &e) == 0 && q.aq_since_ns == 1700000000500000000ull,
	    "RFC 3339 with offset and fraction");
	T_CHECK(api_audit_param(&q, "since", "yesterday", now, &e) == -1 &&
	    strstr(e.ap_msg, "since 'yesterday'") != NULL, "bad since: %s",
	    e.ap_msg);
	T_CHECK(api_audit_param(&q, "verdict", "blocked", now, &e) == 0 &&
	    q.aq_verdict == 0, "blocked");
	T_CHECK(api_audit_param(&q, "verdict", "allowed", now, &e) == 0 &&
	    q.aq_verdict == 1, "allowed");
	T_CHECK(api_audit_param(&q, "verdict", "no", now, &e) == -1 &&
	    strstr(e.ap_msg, "want blocked, allowed or any") != NULL,
	    "bad verdict");
	T_CHECK(api_audit_param(&q, "follow", NULL, now, &e) == 0 &&
	    q.aq_follow, "bare follow");
	T_CHECK(api_audit_param(&q, "follow", "0", now, &e) == 0 &&
	    !q.aq_follow, "follow=0");
	T_CHECK(api_audit_param(&q, "follow", "yes", now, &e) == -1,
	    "follow=yes");
	T_CHECK(api_audit_param(&q, "limit", "25", now, &e) == 0 &&
	    q.aq_limit == 25, "limit");
	T_CHECK(api_audit_param(&q, "limit", "0", now, &e) == -1 &&
	    api_audit_param(&q, "limit", "-1", now, &e) == -1 &&
	    api_audit_param(&q, "limit", "1x", now, &e) == -1, "bad limit");
	T_CHECK(api_audit_param(&q, "sincE", "1m", now, &e) == -1 &&
	    e.ap_code == API_INVALID_ARGUMENT &&
	    strstr(e.ap_msg, "unknown query parameter 'sincE'") != NULL,
	    "unknown parameter: %s", e.ap_msg);
}

static void
t_content_type(void)
{
	T_CHECK(api_content_type_ok("application/json"), "plain");
	T_CHECK(api_content_type_ok("Application/JSON; charset=UTF-8"),
	    "charset");
	T_CHECK(api_content_type_ok("application/json;charset=\"utf-8\""),
	    "quoted charset");
	T_CHECK(!api_content_type_ok(NULL), "missing");
	T_CHECK(!api_content_type_ok("text/plain"), "text");
	T_CHECK(!api_content_type_ok("application/jsonx"), "suffix");
	T_CHECK(!api_content_type_ok("application/json; charset=latin1"),
	    "latin1");
	T_CHECK(!api_content_type_ok("application/x-www-form-urlencoded"),
	    "form");
	T_CHECK(api_raw_type_ok("application/octet-stream"), "raw");
	T_CHECK(api_raw_type_ok(" Text/Plain; charset=utf-8"), "raw text");
	T_CHECK(!api_raw_type_ok(NULL), "raw missing");
	T_CHECK(!api_raw_type_ok("application/json"), "raw json");
	T_CHECK(!api_raw_type_ok("application/x-www-form-urlencoded"),
	    "raw form");
	T_CHECK(!api_raw_type_ok("text/plainx"), "raw suffix");
}

static void
t_endpoints_compile(void)
{
	struct endpoints	*eps;
	struct api_error	 e;
	const char		*t;

	t = "[{\"host\":\"a.com\",\"rules\":[{\"method\":\"GET\",\"path\":"
	    "\"/x\",\"action\":\"allow\"}]}]";
	T_CHECK(api_endpoints_compile(t, strlen(t), &eps, &e) == 0 &&
	    eps != NULL && endpoints_count(eps) == 1, "%s", e.ap_msg);
	endpoints_free(eps);
	T_CHECK(api_endpoints_compile("[]", 2, &eps, &e) == 0 && eps == NULL,
	    "empty");
	T_CHECK(api_endpoints_compile("[", 1, &eps, &e) == -1 &&
	    e.ap_code == API_INVALID_JSON && eps == NULL &&
	    strstr(e.ap_msg, "endpoints: invalid JSON at line 1") != NULL,
	    "%s", e.ap_msg);
	T_CHECK(api_endpoints_compile("{}", 2, &eps, &e) == -1 &&
	    e.ap_code == API_INVALID_ARGUMENT, "%s", e.ap_msg);
	t = "[{\"host\":\"a.com\",\"default\":\"maybe\"}]";
	T_CHECK(api_endpoints_compile(t, strlen(t), &eps, &e) == -1 &&
	    strstr(e.ap_msg, "endpoints[0].default") != NULL, "%s", e.ap_msg);
}

static void
t_utf8(void)
{
	static const struct {
		const char	*in;
		size_t		 len;
		const char	*out;
	} c[] = {
		{ "plain", 5, "plain" },
		{ "caf\xc3\xa9", 5, "caf\xc3\xa9" },
		{ "\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80" },
		{ "a\xff" "b", 3, "a\xef\xbf\xbd" "b" },
		{ "\xc3", 1, "\xef\xbf\xbd" },			/* cut short */
		{ "\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd" },	/* overlong */
		{ "\xed\xa0\x80", 3,				/* surrogate */
		    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "a\0b", 3, "a\xef\xbf\xbd" "b" },
		{ "", 0, "" },
	};
	size_t	 i, n;
	char	*s;
	json_t	*j;

	for (i = 0; i < NELEM(c); i++) {
		s = api_utf8_clean(c[i].in, c[i].len, &n);
		T_CHECK(s != NULL && n == strlen(c[i].out) &&
		    strcmp(s, c[i].out) == 0, "case %zu", i);
		j = s != NULL ? json_stringn(s, n) : NULL;
		T_CHECK(s == NULL || j != NULL, "case %zu: jansson refuses it",
		    i);
		json_decref(j);
		free(s);
	}
}

static void
t_token(void)
{
	T_CHECK(api_token_equal("abcdefghijklmnop", "abcdefghijklmnop"), "=");
	T_CHECK(!api_token_equal("abcdefghijklmnoq", "abcdefghijklmnop"),
	    "last differs");
	T_CHECK(!api_token_equal("abcdefghijklmno", "abcdefghijklmnop"),
	    "prefix");
	T_CHECK(!api_token_equal("abcdefghijklmnopq", "abcdefghijklmnop"),
	    "longer");
	T_CHECK(!api_token_equal("", "abcdefghijklmnop"), "empty given");
	T_CHECK(!api_token_equal("", ""), "empty both");
}

static void
t_record(void)
{
	char			 a0[] = "api.openai.com", a1[] = "pypi.org";
	char			 d0[] = "0.0.0.0/0", id[] = "sb-0123456789ab";
	char			 img[] = "python:3.12-slim", prof[] = "claude-code";
	char			*allow[] = { a0, a1, NULL };
	char			*deny[] = { d0, NULL };
	struct api_record	 r, back;
	struct ir_err		 e;
	char			*s;
	const char		*t;

	memset(&r, 0, sizeof(r));
	r.rc_id = id;
	r.rc_image = img;
	r.rc_slot = 7;
	r.rc_allow = allow;
	r.rc_nallow = 2;
	r.rc_deny = deny;
	r.rc_ndeny = 1;
	r.rc_dns_flags = 1;
	r.rc_created_ms = 1795381257283;
	r.rc_expires_ms = 1795381317283;
	s = api_record_dump(&r);
	T_CHECK(s != NULL, "dump");
	if (s == NULL)
		return;
	T_CHECK(api_record_parse(s, strlen(s), "rec", &back, &e) == 0, "%s",
	    e.msg);
	T_STREQ(back.rc_id, r.rc_id);
	T_STREQ(back.rc_image, r.rc_image);
	T_CHECK(back.rc_profile == NULL, "profile");
	T_CHECK(back.rc_slot == 7 && back.rc_dns_flags == 1 &&
	    back.rc_created_ms == r.rc_created_ms &&
	    back.rc_expires_ms == r.rc_expires_ms, "numbers");
	T_CHECK(back.rc_nallow == 2 && back.rc_ndeny == 1 &&
	    back.rc_allow[2] == NULL, "rules");
	if (back.rc_nallow == 2)
		T_STREQ(back.rc_allow[1], "pypi.org");
	api_record_free(&back);
	free(s);

	r.rc_profile = prof;
	r.rc_nallow = r.rc_ndeny = 0;
	s = api_record_dump(&r);
	T_CHECK(s != NULL && api_record_parse(s, strlen(s), "rec", &back,
	    &e) == 0, "profile round trip");
	if (s != NULL)
		T_STREQ(back.rc_profile, "claude-code");
	api_record_free(&back);
	free(s);

	/* Endpoints: kept as text, absent when none (older records too). */
	r.rc_endpoints = (char *)"[{\"host\":\"a.com\",\"credentials\":"
	    "[\"X: ${secret:k}\"]}]";
	s = api_record_dump(&r);
	T_CHECK(s != NULL && api_record_parse(s, strlen(s), "rec", &back,
	    &e) == 0, "endpoints round trip");
	if (s != NULL)
		T_STREQ(back.rc_endpoints, r.rc_endpoints);
	api_record_free(&back);
	free(s);
	r.rc_endpoints = NULL;
	s = api_record_dump(&r);
	T_CHECK(s != NULL && strstr(s, "endpoints") == NULL &&
	    api_record_parse(s, strlen(s), "rec", &back, &e) == 0 &&
	    back.rc_endpoints == NULL, "no endpoints");
	api_record_free(&back);
	free(s);
	t = "{\"version\":1,\"id\":\"a\",\"image\":\"h\",\"slot\":0,\"profile\":"
	    "null,\"allow\":[],\"deny\":[],\"dnsFlags\":0,\"createdMs\":0,"
	    "\"expiresMs\":0,\"endpoints\":{}}";
	T_CHECK(api_record_parse(t, strlen(t), "f", &back, &e) == -1 &&
	    strstr(e.msg, "endpoints") != NULL, "endpoints not an array: %s",
	    e.msg);

	T_CHECK(api_record_parse("{\"version\":2}", 13, "f.json", &back,
	    &e) == -1 && strstr(e.msg, "f.json") != NULL, "bad version: %s",
	    e.msg);
	T_CHECK(api_record_parse("{", 1, "f.json", &back, &e) == -1 &&
	    strncmp(e.msg, "f.json:1:", 9) == 0, "bad JSON: %s", e.msg);
	t = "{\"version\":1,\"id\":\"a/b\",\"image\":\"h\",\"slot\":0,\"profile\":"
	    "null,\"allow\":[],\"deny\":[],\"dnsFlags\":0,\"createdMs\":0,"
	    "\"expiresMs\":0}";
	T_CHECK(api_record_parse(t, strlen(t), "f", &back, &e) == -1,
	    "bad id accepted");
	t = "{\"version\":1,\"id\":\"a\",\"image\":\"h\",\"slot\":0,\"profile\":"
	    "null,\"allow\":[],\"deny\":[],\"dnsFlags\":0,\"createdMs\":0,"
	    "\"expiresMs\":0,\"extra\":1}";
	T_CHECK(api_record_parse(t, strlen(t), "f", &back, &e) == -1,
	    "unknown field accepted");
}

static const struct conf_case {
	const char	*desc;
	const char	*text;
	const char	*want;		/* NULL: parses */
} confs[] = {
	{ "empty", "", NULL },
	{ "comments and blanks", "# x\n\n   # y\n", NULL },
	{ "all kinds", "socket = /tmp/s.sock\nsocket_mode = 0600\n"
	    "listen = [::1]:8420\ntoken_file = /etc/isorun/t\nname = r-1\n"
	    "max_sandboxes = 16\ndns_servers = 192.0.2.53,[2001:db8::53]:53\n"
	    "audit_db = \"\"\naudit_retention = 12h\non_shutdown = destroy\n"
	    "exec_timeout_ms = 1000\n", NULL },
	{ "CRLF and spaces", "name=abc \r\n\tsocket   =   /a/b \r\n", NULL },
	{ "no equals", "name abc\n", "x.conf:1: want KEY = VALUE" },
	{ "unknown key", "\nsockets = /a\n", "x.conf:2: unknown key 'sockets'" },
	{ "twice", "name = a\nname = b\n", "x.conf:2: key 'name' given twice" },
	{ "relative path", "run_dir = run\n",
	    "x.conf:1: key 'run_dir' 'run': want an absolute path" },
	{ "bad name", "name = a.b\n", "key 'name' 'a.b': want 1 to 32" },
	{ "long name", "name = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	    "want 1 to 32" },
	{ "bad mode", "socket_mode = 0999\n", "want an octal mode" },
	{ "bad number", "max_sandboxes = 10k\n", "want an integer from 1" },
	{ "number too big", "max_sandboxes = 70000\n", "to 65536" },
	{ "zero", "max_connections = 0\n", "from 1" },
	{ "bad listen", "listen = localhost:80\n", "want ADDR:PORT" },
	{ "bad port", "listen = 127.0.0.1:0\n", "want ADDR:PORT" },
	{ "v6 no brackets", "listen = ::1:80\n", "want ADDR:PORT" },
	{ "bad shutdown", "on_shutdown = kill\n", "want keep or destroy" },
	{ "bad duration", "audit_retention = forever\n", "want a duration" },
	{ "control char", "name = a\x01\n", "control character" },
	{ "NUL", "name = a\0b\n", "NUL" },
};

static void
t_conf(const struct conf_case *c)
{
	struct api_conf	 cf;
	struct ir_err	 e;
	size_t		 len = strcmp(c->desc, "NUL") == 0 ? 11 :
			    strlen(c->text);
	int		 rc;

	api_conf_default(&cf);
	memset(&e, 0, sizeof(e));
	rc = api_conf_parse(&cf, c->text, len, "x.conf", &e);
	if (c->want == NULL)
		T_CHECK(rc == 0, "failed: %s", e.msg);
	else {
		T_CHECK(rc == -1, "parsed");
		T_CHECK(strstr(e.msg, c->want) != NULL, "message '%s'", e.msg);
	}
	api_conf_free(&cf);
}

static void
t_conf_values(void)
{
	struct api_conf	 cf, back;
	struct ir_err	 e;
	const char	*t = "socket = /tmp/s.sock\nlisten = 127.0.0.1:8420\n"
			    "token_file = /etc/t\non_shutdown = destroy\n"
			    "audit_retention = 36h\naudit_db = \"\"\n";
	char		*buf;
	int		 n;

	api_conf_default(&cf);
	T_STREQ(cf.cf_socket, API_SOCKET);
	T_CHECK(cf.cf_socket_mode == 0660, "default mode %o",
	    cf.cf_socket_mode);
	T_CHECK(cf.cf_on_shutdown == API_SHUTDOWN_KEEP, "default keep");
	T_CHECK(cf.cf_audit_max_age_s == 7 * 86400, "default retention");
	T_CHECK(api_conf_parse(&cf, t, strlen(t), "x", &e) == 0, "%s", e.msg);
	T_STREQ(cf.cf_socket, "/tmp/s.sock");
	T_STREQ(cf.cf_listen, "127.0.0.1:8420");
	T_STREQ(cf.cf_audit_db, "");
	T_CHECK(cf.cf_on_shutdown == API_SHUTDOWN_DESTROY, "destroy");
	T_CHECK(cf.cf_audit_max_age_s == 36 * 3600, "36h");
	T_CHECK(api_conf_check(&cf, &e) == 0, "%s", e.msg);
	/* Flags override the file: the same setter. */
	T_CHECK(api_conf_set(&cf, "socket", "/x.sock", &e) == 0, "%s", e.msg);
	T_STREQ(cf.cf_socket, "/x.sock");
	T_CHECK(api_conf_set(&cf, "nope", "1", &e) == -1 &&
	    strstr(e.msg, "unknown key 'nope'") != NULL, "unknown");

	/* What api_conf_format writes parses back to the same. */
	n = api_conf_format(&cf, NULL, 0);
	T_CHECK(n > 0 && (buf = malloc((size_t)n + 1)) != NULL, "format");
	if (n > 0 && buf != NULL) {
		T_CHECK(api_conf_format(&cf, buf, (size_t)n + 1) == n, "len");
		api_conf_default(&back);
		T_CHECK(api_conf_parse(&back, buf, (size_t)n, "fmt", &e) == 0,
		    "reparse: %s", e.msg);
		T_STREQ(back.cf_socket, "/x.sock");
		T_STREQ(back.cf_audit_db, "");
		T_CHECK(back.cf_audit_max_age_s == 36 * 3600 &&
		    back.cf_on_shutdown == API_SHUTDOWN_DESTROY &&
		    back.cf_socket_mode == 0660, "values");
		api_conf_free(&back);
		free(buf);
	}

	/* TCP without a token file is refused. */
	T_CHECK(api_conf_set(&cf, "token_file", "", &e) == -1,
	    "empty token_file accepted as a path");
	free(cf.cf_token_file);
	cf.cf_token_file = strdup("");
	T_CHECK(api_conf_check(&cf, &e) == -1 &&
	    strstr(e.msg, "needs token_file") != NULL, "check: %s", e.msg);
	api_conf_free(&cf);
}

static void
t_conf_keys(void)
{
	const struct api_conf_key	*k;
	struct api_conf			 cf;
	struct ir_err			 e;
	size_t				 n, i;
	static const char *const want[] = { "socket", "listen", "token_file",
	    "name", "pool4", "pool6", "dns_servers", "state_dir", "run_dir",
	    "profiles_dir", "audit_db", "max_body_bytes", "max_sandboxes",
	    "exec_timeout_ms", "on_shutdown" };

	k = api_conf_keys(&n);
	for (i = 0; i < NELEM(want); i++) {
		size_t j;

		for (j = 0; j < n; j++)
			if (strcmp(k[j].ck_name, want[i]) == 0)
				break;
		T_CHECK(j < n, "no key %s", want[i]);
	}
	for (i = 0; i < n; i++)
		T_CHECK(k[i].ck_doc != NULL && k[i].ck_doc[0] != '\0' &&
		    k[i].ck_arg != NULL, "key %s has no documentation",
		    k[i].ck_name);
	/* Every key is settable and the default passes the check. */
	api_conf_default(&cf);
	T_CHECK(api_conf_check(&cf, &e) == 0, "defaults: %s", e.msg);
	api_conf_free(&cf);
}

static void
t_errors(void)
{
	struct api_error	 e;
	char			*s;
	size_t			 n;
	int			 i;

	for (i = 0; i < API_NCODES; i++) {
		T_CHECK(api_code_from_name(api_code_name((enum api_code)i)) ==
		    (enum api_code)i, "code %d round trip", i);
		T_CHECK(api_code_status((enum api_code)i) >= 200 &&
		    api_code_status((enum api_code)i) < 600, "status of %d", i);
	}
	T_CHECK(api_code_status(API_PAYLOAD_TOO_LARGE) == 413 &&
	    api_code_status(API_UNSUPPORTED_MEDIA_TYPE) == 415 &&
	    api_code_status(API_ALREADY_EXISTS) == 409 &&
	    api_code_status(API_UNAUTHENTICATED) == 401, "statuses");
	T_CHECK(api_code_from_name("bogus") == API_NCODES, "unknown name");
	api_error_set(&e, API_NOT_FOUND, "no sandbox '%s'", "x\"y");
	s = api_error_body(&e, &n);
	T_STREQ(s, "{\"error\":{\"code\":\"not_found\",\"message\":"
	    "\"no sandbox 'x\\\"y'\"}}");
	T_CHECK(s == NULL || n == strlen(s), "length");
	free(s);
}

static const struct resp_case {
	const char	*desc;
	const char	*raw;
	int		 ok;
	unsigned	 status;
	const char	*body;
} resps[] = {
	{ "content-length", "HTTP/1.1 200 OK\r\nContent-Type: application/json"
	    "\r\nContent-Length: 2\r\n\r\n{}", 1, 200, "{}" },
	{ "extra bytes after the length", "HTTP/1.1 201 Created\r\n"
	    "Content-Length: 2\r\n\r\n{}xx", 1, 201, "{}" },
	{ "until close", "HTTP/1.1 204 No Content\r\n\r\n", 1, 204, "" },
	{ "chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n", 1, 200, "abcde" },
	{ "bare LF", "HTTP/1.0 404 Not Found\ncontent-length: 1\n\nx", 1, 404,
	    "x" },
	{ "short body", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}", 0, 0,
	    NULL },
	{ "bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "zz\r\n", 0, 0, NULL },
	{ "chunk past end", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "\r\nff\r\nabc", 0, 0, NULL },
	{ "not HTTP", "SSH-2.0-x\r\n", 0, 0, NULL },
	{ "no head end", "HTTP/1.1 200 OK\r\nX: y", 0, 0, NULL },
};

static void
t_resp(const struct resp_case *c)
{
	struct api_resp		 r;
	struct ir_err		 e;
	int			 rc;

	rc = api_resp_parse(c->raw, strlen(c->raw), &r, &e);
	if (!c->ok) {
		T_CHECK(rc == -1, "parsed");
		return;
	}
	T_CHECK(rc == 0, "failed: %s", e.msg);
	T_CHECK(r.rs_status == c->status, "status %u", r.rs_status);
	T_STREQ(r.rs_body, c->body);
	api_resp_free(&r);
}

static void
t_resp_error(void)
{
	struct api_resp		 r;
	struct api_error	 e;
	struct ir_err		 ie;
	const char		*raw = "HTTP/1.1 409 Conflict\r\nContent-Length: "
				    "57\r\n\r\n{\"error\":{\"code\":\"already_exists"
				    "\",\"message\":\"a sandbox\"}}";

	T_CHECK(api_resp_parse(raw, strlen(raw), &r, &ie) == 0, "%s", ie.msg);
	api_resp_error(&r, &e);
	T_CHECK(e.ap_code == API_ALREADY_EXISTS, "code %d", e.ap_code);
	T_STREQ(e.ap_msg, "a sandbox");
	api_resp_free(&r);
	raw = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 4\r\n\r\noops";
	T_CHECK(api_resp_parse(raw, strlen(raw), &r, &ie) == 0, "%s", ie.msg);
	api_resp_error(&r, &e);
	T_CHECK(e.ap_code == API_INTERNAL &&
	    strstr(e.ap_msg, "status 502") != NULL, "non-JSON: %s", e.ap_msg);
	api_resp_free(&r);
	/* An empty message is no message (found by fuzz_api). */
	raw = "HTTP/1.1 400 Bad Request\r\nContent-Length: 35\r\n\r\n"
	    "{\"error\":{\"code\":\"x\",\"message\":\"\"}}";
	T_CHECK(api_resp_parse(raw, strlen(raw), &r, &ie) == 0, "%s", ie.msg);
	api_resp_error(&r, &e);
	T_CHECK(e.ap_code == API_INVALID_ARGUMENT &&
	    strstr(e.ap_msg, "status 400") != NULL, "empty: %s", e.ap_msg);
	api_resp_free(&r);
}

static void
t_target(void)
{
	struct api_target	 t;
	struct ir_err		 e;

	unsetenv("ISORUN_SOCKET");
	unsetenv("ISORUN_URL");
	setenv("ISORUN_API_KEY", "k", 1);
	T_CHECK(api_target_env(&t, NULL, NULL, &e) == 0, "%s", e.msg);
	T_STREQ(t.at_socket, API_SOCKET);
	T_CHECK(t.at_token == NULL, "a socket sends no token");
	api_target_free(&t);
	setenv("ISORUN_SOCKET", "/tmp/a.sock", 1);
	T_CHECK(api_target_env(&t, NULL, NULL, &e) == 0, "%s", e.msg);
	T_STREQ(t.at_socket, "/tmp/a.sock");
	api_target_free(&t);
	T_CHECK(api_target_env(&t, "/b.sock", NULL, &e) == 0, "%s", e.msg);
	T_STREQ(t.at_socket, "/b.sock");
	api_target_free(&t);
	T_CHECK(api_target_env(&t, NULL, "http://[2001:db8::1]:8420/",
	    &e) == 0, "%s", e.msg);
	T_STREQ(t.at_host, "2001:db8::1");
	T_STREQ(t.at_port, "8420");
	T_STREQ(t.at_token, "k");
	api_target_free(&t);
	unsetenv("ISORUN_SOCKET");
	setenv("ISORUN_URL", "http://127.0.0.1:9", 1);
	T_CHECK(api_target_env(&t, NULL, NULL, &e) == 0 &&
	    t.at_host != NULL && strcmp(t.at_port, "9") == 0, "env url");
	api_target_free(&t);
	T_CHECK(api_target_env(&t, NULL, "https://h:1", &e) == -1 &&
	    strstr(e.msg, "https is not supported") != NULL, "https");
	T_CHECK(api_target_env(&t, NULL, "http://h", &e) == -1 &&
	    strstr(e.msg, "--url 'http://h'") != NULL, "no port: %s", e.msg);
	T_CHECK(api_target_env(&t, NULL, "http://h:1/v1", &e) == -1,
	    "path");
	setenv("ISORUN_URL", "ftp://x", 1);
	T_CHECK(api_target_env(&t, NULL, NULL, &e) == -1 &&
	    strstr(e.msg, "$ISORUN_URL") != NULL, "env named: %s", e.msg);
	unsetenv("ISORUN_URL");
	unsetenv("ISORUN_API_KEY");
}

int
main(void)
{
	size_t	 i;

	for (i = 0; i < NELEM(routes); i++)
		T_RUN(t_route(&routes[i]), "api_route %s %s", routes[i].method,
		    routes[i].path);
	for (i = 0; i < NELEM(creates); i++)
		T_RUN(t_create(&creates[i]), "create body: %s", creates[i].desc);
	T_RUN(t_create_fields(), "create body: fields");
	T_RUN(t_network_compile(), "network rules: compiled, named as sent");
	for (i = 0; i < NELEM(nets); i++)
		T_RUN(t_net(&nets[i]), "network body: %s", nets[i].desc);
	for (i = 0; i < NELEM(execs); i++)
		T_RUN(t_exec(&execs[i]), "exec body: %s", execs[i].desc);
	T_RUN(t_exec_fields(), "exec body: fields");
	T_RUN(t_audit_params(), "audit query parameters");
	T_RUN(t_content_type(), "content types");
	T_RUN(t_endpoints_compile(), "endpoints: from JSON text");
	T_RUN(t_utf8(), "output cleaned to UTF-8");
	T_RUN(t_token(), "token compare");
	T_RUN(t_record(), "state records");
	for (i = 0; i < NELEM(confs); i++)
		T_RUN(t_conf(&confs[i]), "config: %s", confs[i].desc);
	T_RUN(t_conf_values(), "config: values, flags, format, check");
	T_RUN(t_conf_keys(), "config: the keys the issue lists, documented");
	T_RUN(t_errors(), "error codes and bodies");
	for (i = 0; i < NELEM(resps); i++)
		T_RUN(t_resp(&resps[i]), "client response: %s", resps[i].desc);
	T_RUN(t_resp_error(), "client: the API's error");
	T_RUN(t_target(), "client: where isorund is");
	return t_done();
}
