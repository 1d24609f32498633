/*
 * test_endpoint.c - src/endpoint: compiling the `endpoints` option (every
 * field's error), host lookup, request evaluation (deny first, prefixes,
 * defaults, case), request-target normalisation (every ambiguity is a
 * deny, never "no match"), the network policy consistency check, and
 * credential templates rendered without ever showing a secret.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint/endpoint.h"
#include "t.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

static const struct ep_rule_spec api_rules[] = {
	{ "DELETE", "/v1/admin/*", "deny" },		/* 0 */
	{ "POST", "/v1/chat/completions", "allow" },	/* 1 */
	{ "GET", "/v1/models", "allow" },		/* 2 */
	{ "*", "/v1/files/*", "allow" },		/* 3 */
	{ "*", "/v1/files/secret", "deny" },		/* 4 */
	{ "GET", "/", "allow" },			/* 5 */
};

static const struct ep_cred_spec api_creds[] = {
	{ "Authorization", "Bearer ${secret:openai}" },
	{ NULL, "OpenAI-Organization: org-$$1 ${secret:org}${secret:openai}" },
};

static struct endpoints *
api(void)
{
	struct ep_host_spec	 h[2] = {
		{ "API.OpenAI.com.", api_rules, N(api_rules), NULL, api_creds,
		  N(api_creds) },
		{ "test.example:8443", api_rules, 1, NULL, NULL, 0 },
	};
	struct ir_err		 err = { 0 };
	struct endpoints	*e = endpoints_compile(h, 2, &err);

	if (e == NULL)
		fprintf(stderr, "compile: %s\n", err.msg);
	return e;
}

static void
test_compile(void)
{
	struct endpoints	*e = api();
	const struct ep_host	*h;

	if (e == NULL) {
		T_CHECK(0, "the example compiles");
		return;
	}
	T_CHECK(endpoints_count(e) == 2, "2 entries");
	h = endpoints_get(e, 0);
	T_STREQ(ep_host_name(h), "api.openai.com");
	T_CHECK(ep_host_port(h) == 443, "default port %u", ep_host_port(h));
	T_CHECK(ep_host_nrules(h) == 6, "6 rules");
	T_STREQ(ep_rule_text(h, 0), "deny DELETE /v1/admin/*");
	T_CHECK(ep_rule_text(h, 6) == NULL, "no rule 6");
	h = endpoints_get(e, 1);
	T_STREQ(ep_host_name(h), "test.example");
	T_CHECK(ep_host_port(h) == 8443, "port 8443");
	T_CHECK(endpoints_get(e, 2) == NULL, "no entry 2");
	T_STREQ(endpoints_secret(e, 0), "openai");
	T_STREQ(endpoints_secret(e, 1), "org");
	T_CHECK(endpoints_secret(e, 2) == NULL, "two distinct secrets");
	endpoints_free(e);

	/* IDNA, like network rules. */
	{
		struct ep_host_spec	 s = { "b\xc3\xbc" "cher.example", NULL,
					     0, NULL, NULL, 0 };
		struct ir_err		 err;

		e = endpoints_compile(&s, 1, &err);
		T_CHECK(e != NULL, "IDNA: %s", err.msg);
		if (e != NULL)
			T_STREQ(ep_host_name(endpoints_get(e, 0)),
			    "xn--bcher-kva.example");
		endpoints_free(e);
	}
	e = endpoints_compile(NULL, 0, NULL);
	T_CHECK(e != NULL && endpoints_count(e) == 0, "no entries");
	endpoints_free(e);
}

struct bad {
	const char	*host, *method, *path, *action, *def;
	const char	*cheader, *cvalue;
	const char	*want;
};

static void
test_bad(void)
{
	static const struct bad	 bad[] = {
		{ NULL, "GET", "/", "allow", NULL, NULL, NULL,
		  "endpoints[0].host: missing" },
		{ "", "GET", "/", "allow", NULL, NULL, NULL,
		  "endpoints[0].host: missing" },
		{ "*.example.com", "GET", "/", "allow", NULL, NULL, NULL,
		  "endpoints[0].host '*.example.com': wildcards are not" },
		{ "*", "GET", "/", "allow", NULL, NULL, NULL,
		  "wildcards are not supported" },
		{ "203.0.113.5", "GET", "/", "allow", NULL, NULL, NULL,
		  "endpoints[0].host '203.0.113.5': an IP address" },
		{ "a b.com", "GET", "/", "allow", NULL, NULL, NULL,
		  "endpoints[0].host 'a b.com'" },
		{ "x.com:0", "GET", "/", "allow", NULL, NULL, NULL,
		  "endpoints[0].host 'x.com:0'" },
		{ "x.com", NULL, "/", "allow", NULL, NULL, NULL,
		  "endpoints[0].rules[0].method: missing" },
		{ "x.com", "GE T", "/", "allow", NULL, NULL, NULL,
		  "endpoints[0].rules[0].method 'GE T': not an HTTP method" },
		{ "x.com", "G*", "/", "allow", NULL, NULL, NULL,
		  "'G*': '*' stands alone" },
		{ "x.com", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/", "allow",
		  NULL, NULL, NULL, "longer than 32" },
		{ "x.com", "GET", NULL, "allow", NULL, NULL, NULL,
		  "endpoints[0].rules[0].path: missing" },
		{ "x.com", "GET", "v1", "allow", NULL, NULL, NULL,
		  "path 'v1': must start with '/'" },
		{ "x.com", "GET", "/v1/*x", "allow", NULL, NULL, NULL,
		  "endpoints[0].rules[0].path '/v1/*x': '*' is only allowed "
		  "as the last segment" },
		{ "x.com", "GET", "/v1*", "allow", NULL, NULL, NULL,
		  "'*' is only allowed" },
		{ "x.com", "GET", "/*/x", "allow", NULL, NULL, NULL,
		  "'*' is only allowed" },
		{ "x.com", "GET", "/v1/%41", "allow", NULL, NULL, NULL,
		  "not its escape" },
		{ "x.com", "GET", "/v1?x=1", "allow", NULL, NULL, NULL,
		  "the query is not matched" },
		{ "x.com", "GET", "/v1#x", "allow", NULL, NULL, NULL,
		  "fragment" },
		{ "x.com", "GET", "/v1;a", "allow", NULL, NULL, NULL,
		  "path parameters" },
		{ "x.com", "GET", "/v1\\a", "allow", NULL, NULL, NULL,
		  "some servers read '\\' as '/'" },
		{ "x.com", "GET", "/v 1", "allow", NULL, NULL, NULL,
		  "only printable ASCII" },
		{ "x.com", "GET", "/caf\xc3\xa9", "allow", NULL, NULL, NULL,
		  "'/caf\\xc3\\xa9': only printable ASCII" },
		{ "x.com", "GET", "/v1/../admin", "allow", NULL, NULL, NULL,
		  "'..' segment" },
		{ "x.com", "GET", "/./x", "allow", NULL, NULL, NULL,
		  "'..' segment" },
		{ "x.com", "GET", "/v1/..", "allow", NULL, NULL, NULL,
		  "'..' segment" },
		{ "x.com", "GET", "/v1//x", "allow", NULL, NULL, NULL,
		  "empty segment" },
		{ "x.com", "GET", "/v1//*", "allow", NULL, NULL, NULL,
		  "empty segment" },
		{ "x.com", "GET", "/", NULL, NULL, NULL, NULL,
		  "endpoints[0].rules[0].action: missing" },
		{ "x.com", "GET", "/", "permit", NULL, NULL, NULL,
		  "action 'permit': must be \"allow\" or \"deny\"" },
		{ "x.com", "GET", "/", "allow", "maybe", NULL, NULL,
		  "endpoints[0].default 'maybe': must be" },
		{ "x.com", NULL, NULL, NULL, NULL, "Host", "x",
		  "credentials[0].header 'Host': frames or routes" },
		{ "x.com", NULL, NULL, NULL, NULL, "content-length", "1",
		  "frames or routes" },
		{ "x.com", NULL, NULL, NULL, NULL, "Transfer-Encoding", "x",
		  "frames or routes" },
		{ "x.com", NULL, NULL, NULL, NULL, "X Key", "x",
		  "header 'X Key': not a header name" },
		{ "x.com", NULL, NULL, NULL, NULL, "X-Key:", "x",
		  "not a header name" },
		{ "x.com", NULL, NULL, NULL, NULL, "", "x",
		  "credentials[0].header: missing" },
		{ "x.com", NULL, NULL, NULL, NULL, "X-K", "",
		  "credentials[0].value: the value is empty" },
		{ "x.com", NULL, NULL, NULL, NULL, "X-K", "a\r\nX-Evil: 1",
		  "credentials[0].value 'a\\x0d\\x0aX-Evil: 1': a header value "
		  "cannot hold a line break" },
		{ "x.com", NULL, NULL, NULL, NULL, "X-K", "${secret:a",
		  "without its '}'" },
		{ "x.com", NULL, NULL, NULL, NULL, "X-K", "${env:HOME}",
		  "'$' starts ${secret:NAME}" },
		{ "x.com", NULL, NULL, NULL, NULL, "X-K", "cost $5",
		  "'$' starts" },
		{ "x.com", NULL, NULL, NULL, NULL, "X-K", "${secret:}",
		  "secret name: empty" },
		{ "x.com", NULL, NULL, NULL, NULL, "X-K", "${secret:a/b}",
		  "secret name 'a/b'" },
		{ "x.com", NULL, NULL, NULL, NULL, "X-K", "${secret:..}",
		  "must start with" },
		{ "x.com", NULL, NULL, NULL, NULL, NULL, "Authorization Bearer",
		  "credentials[0] 'Authorization Bearer': not 'Header: value'" },
		{ "x.com", NULL, NULL, NULL, NULL, NULL, ": x",
		  "credentials[0]: missing" },
	};
	struct ep_host_spec	 s;
	struct ep_rule_spec	 r;
	struct ep_cred_spec	 c;
	struct ir_err		 err;
	struct endpoints	*e;
	size_t			 i;

	for (i = 0; i < N(bad); i++) {
		memset(&s, 0, sizeof(s));
		s.ehs_host = bad[i].host;
		s.ehs_default = bad[i].def;
		if (bad[i].method || bad[i].path || bad[i].action) {
			r.ers_method = bad[i].method;
			r.ers_path = bad[i].path;
			r.ers_action = bad[i].action;
			s.ehs_rules = &r;
			s.ehs_nrules = 1;
		}
		if (bad[i].cheader || bad[i].cvalue) {
			c.ecs_header = bad[i].cheader;
			c.ecs_value = bad[i].cvalue;
			s.ehs_creds = &c;
			s.ehs_ncreds = 1;
		}
		err.msg[0] = '\0';
		e = endpoints_compile(&s, 1, &err);
		T_CHECK(e == NULL && err.code == EINVAL &&
		    strstr(err.msg, bad[i].want) != NULL, "bad[%zu]: want "
		    "'%s', got '%s'", i, bad[i].want, err.msg);
		endpoints_free(e);
	}
}

/* Errors past the first entry, rule or credential name the right one. */
static void
test_bad_where(void)
{
	struct ep_rule_spec	 r[3] = { { "GET", "/", "allow" },
				    { "GET", "/a", "allow" },
				    { "GET", "/v1/*x", "allow" } };
	struct ep_cred_spec	 c[2] = { { "X-A", "1" }, { "x-a", "2" } };
	struct ep_host_spec	 s[3] = { { "a.example", r, 2, NULL, NULL, 0 },
				    { "b.example", r, 3, NULL, NULL, 0 },
				    { "c.example", NULL, 0, NULL, c, 2 } };
	struct ep_host_spec	 dup[2] = { { "a.example", NULL, 0, NULL,
					  NULL, 0 }, { "A.example.:443", NULL,
					  0, NULL, NULL, 0 } };
	struct ep_host_spec	 many[EP_HOSTS_MAX + 1];
	struct ir_err		 err;
	struct endpoints	*e;

	e = endpoints_compile(s, 3, &err);
	T_CHECK(e == NULL && strcmp(err.msg, "endpoints[1].rules[2].path "
	    "'/v1/*x': '*' is only allowed as the last segment, as in "
	    "'/v1/*'") == 0, "second entry's third rule: %s", err.msg);
	endpoints_free(e);
	e = endpoints_compile(s + 2, 1, &err);
	T_CHECK(e == NULL && strstr(err.msg, "endpoints[0].credentials[1]."
	    "header 'x-a': given twice (credentials[0])"), "dup header: %s",
	    err.msg);
	endpoints_free(e);
	e = endpoints_compile(dup, 2, &err);
	T_CHECK(e == NULL && strstr(err.msg, "endpoints[1].host 'a.example':"
	    " port 443 already has an entry (endpoints[0])"), "dup host: %s",
	    err.msg);
	endpoints_free(e);
	dup[1].ehs_host = "a.example:8443";
	e = endpoints_compile(dup, 2, &err);
	T_CHECK(e != NULL, "same host, another port: %s", err.msg);
	endpoints_free(e);
	memset(many, 0, sizeof(many));
	e = endpoints_compile(many, EP_HOSTS_MAX + 1, &err);
	T_CHECK(e == NULL && strstr(err.msg, "more than 256"), "too many: %s",
	    err.msg);
	s[0].ehs_nrules = EP_RULES_MAX + 1;
	e = endpoints_compile(s, 1, &err);
	T_CHECK(e == NULL && strstr(err.msg, "endpoints[0].rules: 257 rules"),
	    "too many rules: %s", err.msg);
}

struct evc {
	const char	*method, *target;
	enum ep_verdict	 verdict;
	enum ep_basis	 basis;
	int		 rule;
	const char	*path;		/* NULL: not checked */
};

#define ALLOW(r)	EP_ALLOW, EP_BY_RULE, r
#define DENY(r)		EP_DENY, EP_BY_RULE, r
#define DEFAULT		EP_DENY, EP_BY_DEFAULT, -1
#define AMBIG		EP_DENY, EP_BY_AMBIGUOUS, -1, ""

static const struct evc evcases[] = {
	{ "POST", "/v1/chat/completions", ALLOW(1), "/v1/chat/completions" },
	{ "POST", "/v1/chat/completions?stream=true&x=/../", ALLOW(1),
	  "/v1/chat/completions" },
	{ "POST", "/v1/chat/completions/", ALLOW(1), NULL },
	{ "POST", "/v1/chat/completions/x", DEFAULT, NULL },
	{ "POST", "/v1/chat/completion", DEFAULT, NULL },
	{ "POST", "/v1/chat", DEFAULT, NULL },
	{ "GET", "/v1/chat/completions", DEFAULT, NULL },
	{ "post", "/v1/chat/completions", ALLOW(1), NULL },
	{ "POST", "/V1/chat/completions", DEFAULT, NULL },
	{ "DELETE", "/v1/admin/users/7", DENY(0), NULL },
	{ "DELETE", "/v1/admin", DENY(0), NULL },
	{ "DELETE", "/v1/admin/", DENY(0), NULL },
	{ "delete", "/V1/ADMIN/users", DENY(0), NULL },
	{ "DeLeTe", "/v1/Admin", DENY(0), NULL },
	{ "DELETE", "/v1/administrator", DEFAULT, NULL },
	{ "DELETE", "/v1/%61dmin/users", DENY(0), "/v1/admin/users" },
	{ "GET", "/v1/admin/users", DEFAULT, NULL },
	{ "GET", "/v1/models", ALLOW(2), NULL },
	{ "GET", "/v1/models/", ALLOW(2), NULL },
	{ "GET", "/v1/models/gpt", DEFAULT, NULL },
	{ "GET", "/v1/%6Dodels", ALLOW(2), "/v1/models" },
	{ "GET", "/v1/%6dodel%73", ALLOW(2), "/v1/models" },
	{ "PUT", "/v1/files/a/b.txt", ALLOW(3), NULL },
	{ "PUT", "/v1/files", ALLOW(3), NULL },
	{ "PUT", "/v1/filesystem", DEFAULT, NULL },
	{ "PUT", "/v1/files/secret", DENY(4), NULL },
	{ "GET", "/v1/files/SECRET", DENY(4), NULL },
	{ "GET", "/v1/files/secret/", DENY(4), NULL },
	{ "GET", "/v1/files/secret/x", ALLOW(3), NULL },
	{ "GET", "/v1/files/secre%74", DENY(4), "/v1/files/secret" },
	{ "GET", "/v1/files/a%3ab%20c%7e", ALLOW(3), "/v1/files/a%3Ab%20c~" },
	{ "GET", "/v1/files/...", ALLOW(3), NULL },
	{ "GET", "/v1/files/.hidden", ALLOW(3), NULL },
	{ "GET", "/v1/files/a..b", ALLOW(3), NULL },
	{ "GET", "/", ALLOW(5), NULL },
	{ "GET", "/?q", ALLOW(5), "/" },
	{ "GET", "/x", DEFAULT, NULL },
	/* absolute-form: only this host and port */
	{ "GET", "https://api.openai.com/v1/models", ALLOW(2), "/v1/models" },
	{ "GET", "HTTPS://API.OPENAI.COM./v1/models", ALLOW(2), NULL },
	{ "GET", "https://api.openai.com:443/v1/models", ALLOW(2), NULL },
	{ "GET", "https://api.openai.com", ALLOW(5), "/" },
	{ "GET", "https://api.openai.com?x", ALLOW(5), "/" },
	{ "GET", "http://api.openai.com/v1/models", AMBIG },
	{ "GET", "http://api.openai.com:443/v1/models", AMBIG },
	{ "GET", "https://api.openai.com:8443/v1/models", AMBIG },
	{ "GET", "https://api.openai.com:/v1/models", AMBIG },
	{ "GET", "https://evil.example/v1/models", AMBIG },
	{ "GET", "https://api.openai.com.evil.example/v1/models", AMBIG },
	{ "GET", "https://u@api.openai.com/v1/models", AMBIG },
	{ "GET", "https://api.openai.com@evil.example/v1/models", AMBIG },
	/* ambiguous: never "no match" */
	{ "PUT", "/v1/files/../admin/x", AMBIG },
	{ "PUT", "/v1/files/..", AMBIG },
	{ "PUT", "/v1/files/./a", AMBIG },
	{ "PUT", "/v1/files/.", AMBIG },
	{ "PUT", "/v1//files/a", AMBIG },
	{ "PUT", "//v1/files/a", AMBIG },
	{ "PUT", "/v1/files/%2e%2e/admin", AMBIG },
	{ "PUT", "/v1/files/%2E./admin", AMBIG },
	{ "PUT", "/v1/files/.%2e/admin", AMBIG },
	{ "PUT", "/v1/files%2Fa", AMBIG },
	{ "PUT", "/v1/files/a%2f..%2fadmin", AMBIG },
	{ "PUT", "/v1/files/a%00", AMBIG },
	{ "PUT", "/v1/files/a%5Cb", AMBIG },
	{ "PUT", "/v1/files/a%25", AMBIG },
	{ "PUT", "/v1/files/a%252e", AMBIG },
	{ "PUT", "/v1/files/a%3b", AMBIG },
	{ "PUT", "/v1/files/a%0a", AMBIG },
	{ "PUT", "/v1/files/a%7f", AMBIG },
	{ "PUT", "/v1/files/%C3%A9", AMBIG },
	{ "PUT", "/v1/files/a\\..\\..\\admin", AMBIG },
	{ "PUT", "/v1/files/a;b", AMBIG },
	{ "DELETE", "/v1/admin;x=1/users", AMBIG },
	{ "PUT", "/v1/files/caf\xc3\xa9", AMBIG },
	{ "PUT", "/v1/files/a#b", AMBIG },
	{ "PUT", "/v1/files/a?b#c", AMBIG },
	{ "PUT", "/v1/files/a b", AMBIG },
	{ "PUT", "/v1/files/a\tb", AMBIG },
	{ "PUT", "/v1/files/a?x\x01", AMBIG },
	{ "PUT", "/v1/files/%zz", AMBIG },
	{ "PUT", "/v1/files/%4", AMBIG },
	{ "PUT", "/v1/files/%", AMBIG },
	{ "OPTIONS", "*", AMBIG },
	{ "CONNECT", "api.openai.com:443", AMBIG },
	{ "GET", "v1/models", AMBIG },
	{ "GET", "", AMBIG },
	{ "", "/v1/models", AMBIG },
	{ "GE T", "/v1/models", AMBIG },
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/", AMBIG },
};

static void
test_eval(void)
{
	struct endpoints	*e = api();
	const struct ep_host	*h;
	struct ep_decision	 d;
	const struct evc	*c;
	size_t			 i, mlen;

	if (e == NULL) {
		T_CHECK(0, "compile");
		return;
	}
	h = endpoints_get(e, 0);
	for (i = 0; i < N(evcases); i++) {
		c = &evcases[i];
		mlen = strlen(c->method);
		ep_eval(h, c->method, mlen, c->target, strlen(c->target), &d);
		T_CHECK(d.ed_verdict == c->verdict && d.ed_basis == c->basis &&
		    d.ed_rule == c->rule, "case %zu %s %s: verdict %d basis %d "
		    "rule %d (%s)", i, c->method, c->target, d.ed_verdict,
		    d.ed_basis, d.ed_rule, d.ed_why);
		if (c->path != NULL)
			T_CHECK(strcmp(d.ed_path, c->path) == 0, "case %zu: "
			    "path '%s', want '%s'", i, d.ed_path, c->path);
		for (const char *p = d.ed_why; *p; p++)
			T_CHECK((unsigned char)*p >= 0x20 &&
			    (unsigned char)*p < 0x7f, "case %zu: why is "
			    "printable", i);
	}

	/* Too long, and exactly the limit. */
	{
		char	*t = malloc(EP_TARGET_MAX + 2);

		memset(t, 'a', EP_TARGET_MAX + 1);
		memcpy(t, "/v1/files/", 10);
		ep_eval(h, "GET", 3, t, EP_TARGET_MAX, &d);
		T_CHECK(d.ed_verdict == EP_ALLOW && strlen(d.ed_path) ==
		    EP_TARGET_MAX, "8192 bytes: %s", d.ed_why);
		ep_eval(h, "GET", 3, t, EP_TARGET_MAX + 1, &d);
		T_CHECK(d.ed_basis == EP_BY_AMBIGUOUS &&
		    strstr(d.ed_why, "longer than 8192"), "8193: %s", d.ed_why);
		free(t);
	}
	ep_eval(h, "GET\0", 4, "/v1/models", 10, &d);
	T_CHECK(d.ed_basis == EP_BY_AMBIGUOUS, "NUL in the method");
	/* A NUL in the target. */
	ep_eval(h, "GET", 3, "/v1/models\0x", 12, &d);
	T_CHECK(d.ed_basis == EP_BY_AMBIGUOUS, "NUL in target");

	/* Reasons and the rule text for the 403 body. */
	ep_eval(h, "DELETE", 6, "/v1/admin/x", 11, &d);
	T_STREQ(d.ed_why, "DELETE '/v1/admin/x' matches deny rule "
	    "'deny DELETE /v1/admin/*'");
	T_STREQ(ep_decision_rule(h, &d), "deny DELETE /v1/admin/*");
	ep_eval(h, "GET", 3, "/nope", 5, &d);
	T_STREQ(d.ed_why, "no rule matches GET '/nope'; the default for "
	    "api.openai.com is deny");
	T_STREQ(ep_decision_rule(h, &d), "default");
	ep_eval(h, "GET", 3, "/a/../b", 7, &d);
	T_STREQ(d.ed_why, "ambiguous target '/a/../b': a '.' or '..' segment");
	T_STREQ(ep_decision_rule(h, &d), "ambiguous");

	/* The second entry: port 8443, one deny rule, so default allow. */
	h = endpoints_get(e, 1);
	ep_eval(h, "GET", 3, "https://test.example:8443/x", 27, &d);
	T_CHECK(d.ed_verdict == EP_ALLOW && d.ed_basis == EP_BY_DEFAULT,
	    "deny-list default allow: %s", d.ed_why);
	ep_eval(h, "GET", 3, "https://test.example/x", 22, &d);
	T_CHECK(d.ed_basis == EP_BY_AMBIGUOUS, "absolute-form without the "
	    "port is 443: %s", d.ed_why);
	endpoints_free(e);
}

static void
test_defaults(void)
{
	static const struct ep_rule_spec allow1[] = { { "GET", "/a", "allow" } };
	static const struct ep_rule_spec deny1[] = { { "*", "/a/*", "deny" } };
	static const struct {
		const struct ep_rule_spec	*r;
		size_t				 n;
		const char			*def;
		enum ep_verdict			 want;
	} cases[] = {
		{ NULL, 0, NULL, EP_ALLOW },	/* credentials only */
		{ allow1, 1, NULL, EP_DENY },	/* an allow-list */
		{ deny1, 1, NULL, EP_ALLOW },	/* a deny-list */
		{ NULL, 0, "deny", EP_DENY },
		{ allow1, 1, "allow", EP_ALLOW },
		{ deny1, 1, "deny", EP_DENY },
	};
	struct ep_host_spec	 s;
	struct ep_decision	 d;
	struct ir_err		 err;
	struct endpoints	*e;

	for (size_t i = 0; i < N(cases); i++) {
		memset(&s, 0, sizeof(s));
		s.ehs_host = "x.example";
		s.ehs_rules = cases[i].r;
		s.ehs_nrules = cases[i].n;
		s.ehs_default = cases[i].def;
		if ((e = endpoints_compile(&s, 1, &err)) == NULL) {
			T_CHECK(0, "case %zu: %s", i, err.msg);
			continue;
		}
		ep_eval(endpoints_get(e, 0), "GET", 3, "/b", 2, &d);
		T_CHECK(d.ed_basis == EP_BY_DEFAULT &&
		    d.ed_verdict == cases[i].want, "case %zu: %s", i, d.ed_why);
		ep_eval(endpoints_get(e, 0), "GET", 3, "/a/../b", 7, &d);
		T_CHECK(d.ed_verdict == EP_DENY, "case %zu: ambiguous is denied "
		    "whatever the default", i);
		endpoints_free(e);
	}
}

static void
test_lookup(void)
{
	struct endpoints	*e = api();
	const struct ep_host	*h0;

	if (e == NULL)
		return;
	h0 = endpoints_get(e, 0);
	T_CHECK(endpoints_lookup(e, "api.openai.com", 14, 443) == h0, "exact");
	T_CHECK(endpoints_lookup(e, "API.OPENAI.COM.", 15, 443) == h0,
	    "case, trailing dot");
	T_CHECK(endpoints_lookup(e, "api.openai.com", 14, 8443) == NULL,
	    "another port");
	T_CHECK(endpoints_lookup(e, "x.api.openai.com", 16, 443) == NULL,
	    "a subdomain");
	T_CHECK(endpoints_lookup(e, "openai.com", 10, 443) == NULL, "parent");
	T_CHECK(endpoints_lookup(e, "api.openai.com\0", 15, 443) == NULL,
	    "NUL");
	T_CHECK(endpoints_lookup(e, "api.openai.co", 13, 443) == NULL,
	    "shorter");
	T_CHECK(endpoints_lookup(e, "test.example", 12, 8443) ==
	    endpoints_get(e, 1), "second entry by its port");
	T_CHECK(ep_host_header_ok(h0, "api.openai.com", 14), "Host");
	T_CHECK(ep_host_header_ok(h0, "API.openai.com.:443", 19), "Host:443");
	T_CHECK(!ep_host_header_ok(h0, "api.openai.com:8443", 19), "port");
	T_CHECK(!ep_host_header_ok(h0, "api.openai.com:", 15), "empty port");
	T_CHECK(!ep_host_header_ok(h0, "api.openai.com:0443x", 20), "junk");
	T_CHECK(!ep_host_header_ok(h0, "evil.example", 12), "fronting");
	T_CHECK(!ep_host_header_ok(h0, "u@api.openai.com", 16), "userinfo");
	T_CHECK(!ep_host_header_ok(h0, "", 0), "empty");
	T_CHECK(ep_host_header_ok(endpoints_get(e, 1), "test.example", 12),
	    "no port on a non-443 entry: its own port");
	T_CHECK(ep_host_header_ok(endpoints_get(e, 1), "test.example:8443",
	    17), "its port");
	T_CHECK(!ep_host_header_ok(endpoints_get(e, 1), "test.example:443",
	    15), "another port");
	T_CHECK(endpoints_has_name(e, "Test.Example", 12), "has name");
	T_CHECK(endpoints_has_name(e, "api.openai.com.", 15), "has name 2");
	T_CHECK(!endpoints_has_name(e, "pypi.org", 8), "not ours");
	endpoints_free(e);
}

static void
test_policy(void)
{
	static const char *allow[] = { "api.openai.com", "*.example" };
	static const char *deny[] = { "0.0.0.0/0" };
	static const char *deny2[] = { "api.openai.com" };
	static const char *allow3[] = { "api.openai.com:8443", "test.example" };
	struct endpoints	*e = api();
	struct policy		*p;
	struct ir_err		 err = { 0 };

	if (e == NULL)
		return;
	p = policy_compile(allow, 2, deny, 1, &err);
	T_CHECK(endpoints_check_policy(e, p, &err) == 0, "allow-list: %s",
	    err.msg);
	policy_free(p);
	T_CHECK(endpoints_check_policy(e, NULL, &err) == 0, "unrestricted");
	p = policy_compile(allow, 1, deny, 1, &err);
	T_CHECK(endpoints_check_policy(e, p, &err) == -1 &&
	    strstr(err.msg, "endpoints[1].host 'test.example' port 8443: "
	    "the network policy blocks it (") &&
	    strstr(err.msg, "endpoint rules only narrow"), "missing host: %s",
	    err.msg);
	policy_free(p);
	p = policy_compile(NULL, 0, deny2, 1, &err);
	T_CHECK(endpoints_check_policy(e, p, &err) == -1 &&
	    strstr(err.msg, "endpoints[0].host 'api.openai.com' port 443") &&
	    strstr(err.msg, "deny rule 'api.openai.com'"), "denied host: %s",
	    err.msg);
	policy_free(p);
	p = policy_compile(allow3, 2, NULL, 0, &err);
	T_CHECK(endpoints_check_policy(e, p, &err) == -1 &&
	    strstr(err.msg, "'api.openai.com' port 443"),
	    "a rule for another port: %s", err.msg);
	policy_free(p);
	endpoints_free(e);
}

struct fake {
	int	 calls;
	int	 fail;
};

static int
fake_get(void *arg, const char *name, char **val, size_t *len,
    struct ir_err *err)
{
	struct fake	*f = arg;
	const char	*v;

	f->calls++;
	if (f->fail || strcmp(name, "missing") == 0)
		return err_set(err, ENOENT, "secret '%s' is not set", name);
	if (strcmp(name, "openai") == 0)
		v = "sk-TOPSECRET";
	else if (strcmp(name, "org") == 0)
		v = "o\tx";
	else if (strcmp(name, "crlf") == 0)
		v = "sk-LEAK\r\nX-Evil: 1";
	else if (strcmp(name, "empty") == 0)
		v = "";
	else
		v = "?";
	*val = strdup(v);
	*len = strlen(v);
	return 0;
}

static void
test_creds(void)
{
	static const struct ep_cred_spec bad[] = {
		{ "X-A", "k=${secret:crlf}" },
		{ "X-B", "${secret:missing}" },
		{ "X-C", "${secret:empty}" },
	};
	struct endpoints	*e = api();
	const struct ep_host	*h;
	struct ep_host_spec	 s = { "x.example", NULL, 0, NULL, bad, 3 };
	struct fake		 f = { 0, 0 };
	struct ir_err		 err = { 0 };
	char			*out;
	size_t			 len;

	if (e == NULL)
		return;
	h = endpoints_get(e, 0);
	T_CHECK(ep_host_ncreds(h) == 2, "2 credentials");
	T_STREQ(ep_cred_header(h, 0), "Authorization");
	T_STREQ(ep_cred_header(h, 1), "OpenAI-Organization");
	T_CHECK(ep_cred_header(h, 2) == NULL, "no third");
	T_CHECK(ep_host_is_cred_header(h, "authorization", 13), "case");
	T_CHECK(ep_host_is_cred_header(h, "OPENAI-ORGANIZATION", 19), "2nd");
	T_CHECK(!ep_host_is_cred_header(h, "Authorizatio", 12), "prefix");
	T_CHECK(!ep_host_is_cred_header(h, "Cookie", 6), "other");
	T_CHECK(ep_cred_render(h, 0, fake_get, &f, &out, &len, &err) == 0 &&
	    strcmp(out, "Bearer sk-TOPSECRET") == 0 && len == 19, "bearer: %s",
	    err.msg);
	ep_cred_wipe(out, len);
	T_CHECK(ep_cred_render(h, 1, fake_get, &f, &out, &len, &err) == 0 &&
	    strcmp(out, "org-$1 o\txsk-TOPSECRET") == 0, "line form, $$, two "
	    "secrets: %s", out ? out : err.msg);
	ep_cred_wipe(out, len);
	T_CHECK(f.calls == 3, "one lookup per secret: %d", f.calls);
	T_CHECK(ep_cred_render(h, 2, fake_get, &f, &out, &len, &err) == -1 &&
	    out == NULL, "no credential 2");
	f.fail = 1;
	T_CHECK(ep_cred_render(h, 1, fake_get, &f, &out, &len, &err) == -1 &&
	    out == NULL && err.code == ENOENT && strcmp(err.msg, "credential "
	    "'OpenAI-Organization' for api.openai.com: secret 'org' is not "
	    "set") == 0, "lookup fails: %s", err.msg);
	endpoints_free(e);

	f.fail = 0;
	if ((e = endpoints_compile(&s, 1, &err)) == NULL) {
		T_CHECK(0, "compile: %s", err.msg);
		return;
	}
	h = endpoints_get(e, 0);
	T_CHECK(ep_cred_render(h, 0, fake_get, &f, &out, &len, &err) == -1 &&
	    out == NULL && strstr(err.msg, "secret 'crlf' holds a line break") &&
	    !strstr(err.msg, "LEAK"), "CRLF secret: %s", err.msg);
	T_CHECK(ep_cred_render(h, 1, fake_get, &f, &out, &len, &err) == -1 &&
	    strstr(err.msg, "'missing' is not set"), "missing: %s", err.msg);
	T_CHECK(ep_cred_render(h, 2, fake_get, &f, &out, &len, &err) == -1 &&
	    strstr(err.msg, "'empty' is empty"), "empty: %s", err.msg);
	T_STREQ(endpoints_secret(e, 0), "crlf");
	endpoints_free(e);
}

/* A secret larger than the first buffer grows it. */
static int
big_get(void *arg, const char *name, char **val, size_t *len,
    struct ir_err *err)
{
	(void)arg;
	(void)name;
	(void)err;
	*len = 60000;
	*val = malloc(*len + 1);
	memset(*val, 'k', *len);
	(*val)[*len] = '\0';
	return 0;
}

static void
test_creds_big(void)
{
	static const struct ep_cred_spec c[] = { { "X-K",
	    "a${secret:big}b${secret:big}" } };
	struct ep_host_spec	 s = { "x.example", NULL, 0, NULL, c, 1 };
	struct ir_err		 err = { 0 };
	struct endpoints	*e = endpoints_compile(&s, 1, &err);
	char			*out;
	size_t			 len;

	if (e == NULL) {
		T_CHECK(0, "%s", err.msg);
		return;
	}
	T_CHECK(ep_cred_render(endpoints_get(e, 0), 0, big_get, NULL, &out,
	    &len, &err) == 0 && len == 120002 && out[0] == 'a' &&
	    out[60001] == 'b' && out[len] == '\0', "two 60000-byte secrets");
	ep_cred_wipe(out, len);
	endpoints_free(e);
}

int
main(void)
{
	T_RUN(test_compile(), "endpoint: compile, normalised hosts, secrets");
	T_RUN(test_bad(), "endpoint: every bad field names itself");
	T_RUN(test_bad_where(), "endpoint: errors name the entry, rule, "
	    "credential; limits");
	T_RUN(test_eval(), "endpoint: evaluation and target normalisation");
	T_RUN(test_defaults(), "endpoint: the default of default");
	T_RUN(test_lookup(), "endpoint: host lookup");
	T_RUN(test_policy(), "endpoint: hosts must be permitted by the "
	    "network policy");
	T_RUN(test_creds(), "endpoint: credential templates and rendering");
	T_RUN(test_creds_big(), "endpoint: large secrets");
	return t_done();
}
