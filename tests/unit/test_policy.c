/*
 * test_policy.c - rule parsing, compilation and evaluation (SPEC 2).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "t.h"

/* ---- parsing: every rule shape ---- */

static const struct good_rule {
	const char	*text;
	enum pol_kind	 kind;
	int		 family, plen, port;
	const char	*name;	/* HOST/WILD: stored form */
} good_rules[] = {
	{ "10.0.0.0/8", POL_ADDR, 4, 8, 0, NULL },
	{ "0.0.0.0/0", POL_ADDR, 4, 0, 0, NULL },
	{ "192.168.1.0/24", POL_ADDR, 4, 24, 0, NULL },
	{ "1.2.3.4", POL_ADDR, 4, 32, 0, NULL },
	{ "1.2.3.4/32", POL_ADDR, 4, 32, 0, NULL },
	{ "2001:db8::/32", POL_ADDR, 6, 32, 0, NULL },
	{ "::/0", POL_ADDR, 6, 0, 0, NULL },
	{ "2001:db8::1", POL_ADDR, 6, 128, 0, NULL },
	{ "[2001:db8::1]:443", POL_ADDR, 6, 128, 443, NULL },
	{ "[2001:db8::/48]:22", POL_ADDR, 6, 48, 22, NULL },
	{ "[::1]", POL_ADDR, 6, 128, 0, NULL },
	{ "10.0.0.0/8:5432", POL_ADDR, 4, 8, 5432, NULL },
	{ "1.2.3.4:65535", POL_ADDR, 4, 32, 65535, NULL },
	{ "api.openai.com", POL_HOST, 0, 0, 0, "api.openai.com" },
	{ "API.OpenAI.com.", POL_HOST, 0, 0, 0, "api.openai.com" },
	{ "github.com:22", POL_HOST, 0, 0, 22, "github.com" },
	{ "localhost", POL_HOST, 0, 0, 0, "localhost" },
	{ "_dmarc.example.com", POL_HOST, 0, 0, 0, "_dmarc.example.com" },
	{ "xn--bcher-kva.example", POL_HOST, 0, 0, 0, "xn--bcher-kva.example" },
	{ "b\xc3\xbc" "cher.example", POL_HOST, 0, 0, 0,
	    "xn--bcher-kva.example" },
	{ "B\xc3\x9c" "CHER.example", POL_HOST, 0, 0, 0,
	    "xn--bcher-kva.example" },
	{ "*.openai.com", POL_WILD, 0, 0, 0, "openai.com" },
	{ "*.corp.test:8443", POL_WILD, 0, 0, 8443, "corp.test" },
	{ "*.com", POL_WILD, 0, 0, 0, "com" },
	{ "*", POL_ANY, 0, 0, 0, NULL },
	{ "*:22", POL_ANY, 0, 0, 22, NULL },
	{ "a-b.c-d.e1", POL_HOST, 0, 0, 0, "a-b.c-d.e1" },
};

static void
check_good(const struct good_rule *g)
{
	struct pol_rule	 r;
	struct ir_err	 err = { 0 };

	if (pol_rule_parse(g->text, POL_ALLOW, 7, &r, &err) != 0) {
		T_CHECK(0, "rejected: %s", err.msg);
		return;
	}
	T_CHECK(r.kind == g->kind, "kind %d, want %d", r.kind, g->kind);
	T_CHECK(r.port == g->port, "port %u, want %d", r.port, g->port);
	T_CHECK(r.index == 7 && r.list == POL_ALLOW, "index/list not kept");
	T_STREQ(r.text, g->text);
	if (g->kind == POL_ADDR) {
		T_CHECK(r.family == g->family, "family %u", r.family);
		T_CHECK(r.plen == g->plen, "plen %u", r.plen);
	}
	if (g->name != NULL)
		T_STREQ(r.name, g->name);
	pol_rule_clear(&r);
}

/* ---- parsing: every error, with the words the user must see ---- */

static const struct bad_rule {
	const char	*text;
	const char	*want;	/* fragment of the message */
} bad_rules[] = {
	{ "", "empty rule" },
	{ "*foo.com", "'*foo.com': '*' must be a whole label, as in '*.foo.com'" },
	{ "a.*.com", "'*' is only allowed as the whole first label" },
	{ "*.*.com", "'*' is only allowed as the whole first label" },
	{ "foo*.com", "'*' is only allowed as the whole first label" },
	{ "*.", "nothing after '*.'" },
	{ "10.0.0.1/8", "host bits are set after the /8 prefix; did you mean "
	    "'10.0.0.0/8'?" },
	{ "2001:db8::1/32", "did you mean '2001:db8::/32'?" },
	{ "10.0.0.0/33", "prefix length 33 is too long for IPv4 (at most 32)" },
	{ "::/129", "prefix length 129 is too long for IPv6 (at most 128)" },
	{ "10.0.0.0/x", "prefix length after '/' is not a number" },
	{ "10.0.0.0/", "prefix length after '/' is not a number" },
	{ "1.2.3.256", "not a valid IPv4 address" },
	{ "1.2.3", "not a valid IPv4 address" },
	{ "010.1.2.3", "not a valid IPv4 address" },
	{ "foo.com/8", "not a valid IP address or prefix" },
	{ "2001:db8::g", "not a valid IP address" },
	{ "fe80::1%eth0", "not a valid IP address" },
	{ "::ffff:1.2.3.4", "write '1.2.3.4/32' instead" },
	{ "[1.2.3.4]:80", "brackets are only for IPv6" },
	{ "[2001:db8::1", "'[' without a closing ']'" },
	{ "[2001:db8::1]x", "expected ':PORT' after ']'" },
	{ "github.com:", "missing port number after ':'" },
	{ "github.com:0", "port 0 is out of range 1-65535" },
	{ "github.com:65536", "port 65536 is out of range 1-65535" },
	{ "github.com:99999999", "is not a number" },
	{ "github.com:ssh", "port 'ssh' is not a number" },
	{ "github.com:-1", "is not a number" },
	{ ":443", "nothing before ':'" },
	{ "foo .com", "contains a space" },
	{ " foo.com", "contains a space" },
	{ "foo.com\t", "contains a space" },
	{ "foo\n.com", "contains a control character" },
	{ "foo..com", "empty label (two dots in a row)" },
	{ ".foo.com", "starts with a dot" },
	{ ".", "empty name" },
	{ "foo.com..", "empty label" },
	{ "-foo.com", "starts or ends with '-'" },
	{ "foo-.com", "starts or ends with '-'" },
	{ "foo!.com", "bad character '!' in name" },
	{ "foo/bar", "not a valid IP address or prefix" },
	{ "foo@bar.com", "bad character '@'" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	    "is 64 bytes long; a label has at most 63" },
	{ "\xff\xfe.com", "cannot convert the name to punycode" },
	{ "\xe2\x98\x83.com", "cannot convert the name to punycode" },
};

static void
check_bad(const struct bad_rule *b)
{
	struct pol_rule	 r;
	struct ir_err	 err = { 0 };

	if (pol_rule_parse(b->text, POL_DENY, 0, &r, &err) == 0) {
		T_CHECK(0, "accepted as kind %d", r.kind);
		pol_rule_clear(&r);
		return;
	}
	T_CHECK(strstr(err.msg, b->want) != NULL, "message '%s' lacks '%s'",
	    err.msg, b->want);
	T_CHECK(strchr(err.msg, '\n') == NULL, "message has a newline");
}

static void
test_long_names(void)
{
	char		 name[600], rule[1200];
	struct pol_rule	 r;
	struct ir_err	 err = { 0 };
	size_t		 i;

	/* 4 labels of 63 = 255 with dots: over 253 */
	for (i = 0; i < 4; i++) {
		memset(name + i * 64, 'a', 63);
		name[i * 64 + 63] = '.';
	}
	name[4 * 64 - 1] = '\0';
	T_CHECK(pol_rule_parse(name, POL_DENY, 0, &r, &err) == -1 &&
	    strstr(err.msg, "at most 253"), "255-byte name: %s", err.msg);
	/* exactly 253 is fine */
	name[253] = '\0';
	name[252] = 'b';
	T_CHECK(pol_rule_parse(name, POL_DENY, 0, &r, &err) == 0,
	    "253-byte name rejected: %s", err.msg);
	pol_rule_clear(&r);
	snprintf(rule, sizeof(rule), "*.%s", name);
	T_CHECK(pol_rule_parse(rule, POL_DENY, 0, &r, &err) == 0,
	    "wildcard with 253-byte suffix rejected: %s", err.msg);
	pol_rule_clear(&r);
	memset(rule, 'a', 1100);
	rule[1100] = '\0';
	T_CHECK(pol_rule_parse(rule, POL_DENY, 0, &r, &err) == -1 &&
	    strstr(err.msg, "1100 bytes long (at most 1024)"), "%s", err.msg);
	/* the message quotes at most a bounded part of the rule */
	T_CHECK(strlen(err.msg) < 200, "message of %zu bytes",
	    strlen(err.msg));
}

static void
test_catchall(void)
{
	static const struct {
		const char *text;
		int catchall;
	} c[] = {
		{ "0.0.0.0/0", 1 }, { "::/0", 1 }, { "*", 1 },
		{ "0.0.0.0/0:443", 0 }, { "*:22", 0 }, { "0.0.0.0/1", 0 },
		{ "*.com", 0 },
	};
	struct pol_rule	 r;
	size_t		 i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		T_CHECK(pol_rule_parse(c[i].text, POL_DENY, 0, &r, NULL) == 0,
		    "%s rejected", c[i].text);
		T_CHECK(pol_rule_is_catchall(&r) == c[i].catchall,
		    "%s: catchall %d", c[i].text, pol_rule_is_catchall(&r));
		pol_rule_clear(&r);
	}
}

/* ---- compile: all-or-nothing, and the error names the rule ---- */

static void
test_all_or_nothing(void)
{
	const char	*allow[] = { "pypi.org", "api.openai.com" };
	const char	*deny[] = { "0.0.0.0/0", "10.0.0.0/8", "*foo.com" };
	struct ir_err	 err = { 0 };
	struct policy	*p;

	p = policy_compile(allow, 2, deny, 3, &err);
	T_CHECK(p == NULL, "bad policy compiled");
	T_STREQ(err.msg, "deny[2] '*foo.com': '*' must be a whole label, as "
	    "in '*.foo.com'");
	allow[1] = "a.*.com";
	p = policy_compile(allow, 2, NULL, 0, &err);
	T_CHECK(p == NULL && strncmp(err.msg, "allow[1] 'a.*.com': ", 20) == 0,
	    "%s", err.msg);
	p = policy_compile(NULL, 0, NULL, 0, &err);
	T_CHECK(p != NULL && policy_mode(p) == POL_MODE_ALLOW_ALL,
	    "empty policy");
	policy_free(p);
}

static void
test_modes(void)
{
	const char	*a[] = { "pypi.org" }, *d[] = { "0.0.0.0/0" },
			*d2[] = { "169.254.169.254" }, *d3[] = { "*" };
	struct policy	*p;

	p = policy_compile(a, 1, d, 1, NULL);
	T_CHECK(policy_mode(p) == POL_MODE_ALLOW_LIST, "allow-list");
	T_CHECK(policy_default_blocks(p), "allow-list default");
	policy_free(p);
	p = policy_compile(NULL, 0, d3, 1, NULL);
	T_CHECK(policy_mode(p) == POL_MODE_DENY_ALL, "deny-all");
	T_STREQ(pol_mode_name(policy_mode(p)), "deny-all");
	policy_free(p);
	p = policy_compile(NULL, 0, d2, 1, NULL);
	T_CHECK(policy_mode(p) == POL_MODE_DENY_LIST, "deny-list");
	T_CHECK(!policy_default_blocks(p), "deny-list default");
	T_CHECK(policy_nrules(p, POL_DENY) == 1 &&
	    policy_rule(p, POL_DENY, 0) != NULL &&
	    policy_rule(p, POL_DENY, 1) == NULL, "rule access");
	policy_free(p);
}

/* ---- evaluation ---- */

#define MAXR 8
struct ev {
	const char	*allow[MAXR];
	const char	*deny[MAXR];
	const char	*addr;		/* NULL: none */
	int		 port;
	const char	*names[3];
	const char	*verdict;	/* "permitted" / "blocked" */
	const char	*rule;		/* text, "default" or "guard" */
	int		 name_matters;	/* only checked when no names */
};

#define SEED1_ALLOW { "api.openai.com", "pypi.org" }
#define SEED1_DENY { "0.0.0.0/0" }
#define SEED2_DENY { "169.254.169.254", "metadata.google.internal" }

static const struct ev evs[] = {
	/* seed 1: deny everything, allow api.openai.com and pypi.org */
	{ SEED1_ALLOW, SEED1_DENY, "203.0.113.10", 443, { "pypi.org" },
	    "permitted", "pypi.org", 0 },
	{ SEED1_ALLOW, SEED1_DENY, "203.0.113.11", 443, { "api.openai.com" },
	    "permitted", "api.openai.com", 0 },
	{ SEED1_ALLOW, SEED1_DENY, "198.51.100.1", 443, { "example.com" },
	    "blocked", "default", 0 },
	{ SEED1_ALLOW, SEED1_DENY, "198.51.100.1", 443, { NULL },
	    "blocked", "default", 1 },
	/* the IPv4 catch-all also blocks IPv6 */
	{ SEED1_ALLOW, SEED1_DENY, "2001:db8::5", 443, { NULL },
	    "blocked", "default", 1 },
	{ SEED1_ALLOW, SEED1_DENY, "2001:db8::5", 443, { "pypi.org" },
	    "permitted", "pypi.org", 0 },
	/* seed 2: block specific hosts */
	{ { NULL }, SEED2_DENY, "198.51.100.1", 443, { "example.com" },
	    "permitted", "default", 0 },
	{ { NULL }, SEED2_DENY, "169.254.169.254", 80, { NULL },
	    "blocked", "169.254.169.254", 0 },
	{ { NULL }, SEED2_DENY, "203.0.113.9", 80,
	    { "metadata.google.internal" }, "blocked",
	    "metadata.google.internal", 0 },
	{ { NULL }, SEED2_DENY, "203.0.113.9", 80, { NULL },
	    "permitted", "default", 1 },
	/* guard list: 169.254.0.0/16 even when allowed */
	{ { "169.254.0.0/16" }, { NULL }, "169.254.1.1", 80, { NULL },
	    "blocked", "guard", 0 },
	{ { NULL }, { NULL }, "127.0.0.1", 22, { NULL },
	    "blocked", "guard", 0 },
	{ { NULL }, { NULL }, "::1", 22, { NULL }, "blocked", "guard", 0 },
	{ { NULL }, { NULL }, "::ffff:127.0.0.1", 22, { NULL },
	    "blocked", "guard", 0 },
	{ { NULL }, { NULL }, "fe80::1", 22, { NULL }, "blocked", "guard", 0 },
	{ { NULL }, { NULL }, "198.51.100.1", 22, { NULL },
	    "permitted", "default", 0 },
	/* deny inside an allowed wildcard */
	{ { "*.example.com" }, { "bad.example.com" }, "203.0.113.1", 443,
	    { "bad.example.com" }, "blocked", "bad.example.com", 0 },
	{ { "*.example.com" }, { "bad.example.com" }, "203.0.113.1", 443,
	    { "good.example.com" }, "permitted", "*.example.com", 0 },
	{ { "*.example.com" }, { "bad.example.com" }, "203.0.113.1", 443,
	    { "x.bad.example.com" }, "permitted", "*.example.com", 0 },
	{ { "*.example.com" }, { "*.bad.example.com" }, "203.0.113.1", 443,
	    { "x.bad.example.com" }, "blocked", "*.bad.example.com", 0 },
	/* wildcard vs apex */
	{ { "*.openai.com" }, { NULL }, "203.0.113.1", 443, { "openai.com" },
	    "blocked", "default", 0 },
	{ { "*.openai.com" }, { NULL }, "203.0.113.1", 443,
	    { "a.b.openai.com" }, "permitted", "*.openai.com", 0 },
	{ { "*.openai.com" }, { NULL }, "203.0.113.1", 443,
	    { "xopenai.com" }, "blocked", "default", 0 },
	{ { "*.openai.com" }, { NULL }, "203.0.113.1", 443,
	    { ".openai.com" }, "blocked", "default", 0 },
	/* case and trailing dot */
	{ { "api.openai.com" }, { NULL }, "203.0.113.1", 443,
	    { "API.OpenAI.COM." }, "permitted", "api.openai.com", 0 },
	{ { "API.openai.com." }, { NULL }, "203.0.113.1", 443,
	    { "api.openai.com" }, "permitted", "API.openai.com.", 0 },
	{ { "*.OpenAI.com" }, { NULL }, "203.0.113.1", 443,
	    { "CDN.openai.com." }, "permitted", "*.OpenAI.com", 0 },
	{ { "api.openai.com" }, { NULL }, "203.0.113.1", 443,
	    { "api.openai.com.." }, "blocked", "default", 0 },
	/* exact beats wildcard, longer suffix beats shorter, port first */
	{ { "*.example.com", "a.example.com" }, { NULL }, "203.0.113.1", 443,
	    { "a.example.com" }, "permitted", "a.example.com", 0 },
	{ { "*.example.com", "*.b.example.com" }, { NULL }, "203.0.113.1", 443,
	    { "a.b.example.com" }, "permitted", "*.b.example.com", 0 },
	{ { "github.com", "github.com:22" }, { NULL }, "203.0.113.1", 22,
	    { "github.com" }, "permitted", "github.com:22", 0 },
	/* ports */
	{ { "github.com:22" }, { NULL }, "203.0.113.1", 22, { "github.com" },
	    "permitted", "github.com:22", 0 },
	{ { "github.com:22" }, { NULL }, "203.0.113.1", 443, { "github.com" },
	    "blocked", "default", 0 },
	{ { "github.com:22" }, { NULL }, "203.0.113.1", 0, { "github.com" },
	    "blocked", "default", 0 },
	{ { "10.0.0.0/8:5432" }, { NULL }, "10.1.2.3", 5432, { NULL },
	    "permitted", "10.0.0.0/8:5432", 0 },
	{ { "10.0.0.0/8:5432" }, { NULL }, "10.1.2.3", 5433, { NULL },
	    "blocked", "default", 0 },
	{ { "[2001:db8::1]:443" }, { NULL }, "2001:db8::1", 443, { NULL },
	    "permitted", "[2001:db8::1]:443", 0 },
	{ { NULL }, { "*:25" }, "198.51.100.1", 25, { NULL },
	    "blocked", "*:25", 0 },
	{ { NULL }, { "*:25" }, "198.51.100.1", 26, { NULL },
	    "permitted", "default", 0 },
	{ { NULL }, { "0.0.0.0/0:25" }, "198.51.100.1", 25, { NULL },
	    "blocked", "0.0.0.0/0:25", 0 },
	{ { NULL }, { "0.0.0.0/0:25" }, "2001:db8::1", 25, { NULL },
	    "permitted", "default", 0 },
	/* longest prefix reported; deny before allow whatever the length */
	{ { "10.1.0.0/16" }, { "10.0.0.0/8" }, "10.1.2.3", 80, { NULL },
	    "blocked", "10.0.0.0/8", 0 },
	{ { NULL }, { "10.0.0.0/8", "10.1.0.0/16" }, "10.1.2.3", 80, { NULL },
	    "blocked", "10.1.0.0/16", 0 },
	{ { "10.0.0.0/8" }, { NULL }, "11.0.0.1", 80, { NULL },
	    "blocked", "default", 0 },
	{ { "0.0.0.0/0" }, { NULL }, "11.0.0.1", 80, { NULL },
	    "permitted", "0.0.0.0/0", 0 },
	{ { "0.0.0.0/0" }, { NULL }, "2001:db8::1", 80, { NULL },
	    "blocked", "default", 0 },
	/* catch-all given only for IPv4, other family */
	{ { "2001:db8::/32" }, { "0.0.0.0/0" }, "2001:db8::1", 80, { NULL },
	    "permitted", "2001:db8::/32", 0 },
	{ { NULL }, { "::/0" }, "198.51.100.1", 80, { NULL },
	    "blocked", "default", 0 },
	{ { NULL }, { "*" }, "198.51.100.1", 80, { "example.com" },
	    "blocked", "default", 0 },
	/* address deny wins over an allowed name; direct IP to a denied
	 * range with an allowed SNI */
	{ { "pypi.org" }, { "203.0.113.0/24" }, "203.0.113.7", 443,
	    { "pypi.org" }, "blocked", "203.0.113.0/24", 0 },
	/* two names: any deny blocks; the first allowed name decides */
	{ { "a.test", "b.test" }, { "c.test" }, "203.0.113.7", 443,
	    { "x.test", "b.test", "c.test" }, "blocked", "c.test", 0 },
	{ { "a.test", "b.test" }, { NULL }, "203.0.113.7", 443,
	    { "x.test", "b.test", "a.test" }, "permitted", "b.test", 0 },
	/* allow "*" */
	{ { "*" }, { "evil.test" }, "203.0.113.7", 443, { "ok.test" },
	    "permitted", "*", 0 },
	{ { "*" }, { "evil.test" }, "203.0.113.7", 443, { NULL },
	    "permitted", "*", 1 },
	/* no address: names only */
	{ { "pypi.org" }, { NULL }, NULL, 0, { "pypi.org" },
	    "permitted", "pypi.org", 0 },
	{ { "10.0.0.0/8" }, { NULL }, NULL, 0, { "pypi.org" },
	    "blocked", "default", 0 },
	/* IDN rules match punycode names */
	{ { "b\xc3\xbc" "cher.example" }, { NULL }, "203.0.113.7", 443,
	    { "xn--bcher-kva.example" }, "permitted",
	    "b\xc3\xbc" "cher.example", 0 },
	/* name_matters when no names are known */
	{ { "10.0.0.0/8" }, { "*.evil.test" }, "10.0.0.1", 443, { NULL },
	    "permitted", "10.0.0.0/8", 1 },
	{ { "10.0.0.0/8" }, { NULL }, "10.0.0.1", 443, { NULL },
	    "permitted", "10.0.0.0/8", 0 },
	{ { "pypi.org" }, { "10.0.0.0/8" }, "10.0.0.1", 443, { NULL },
	    "blocked", "10.0.0.0/8", 0 },
};

static const char *const guard[] = {
	"127.0.0.0/8", "::1", "169.254.0.0/16", "fe80::/10", "192.0.2.1",
};

static size_t
count(const char *const *v)
{
	size_t n = 0;

	while (n < MAXR && v[n] != NULL)
		n++;
	return n;
}

static void
check_ev(const struct ev *e, const struct pol_guard *g, int naive)
{
	struct pol_name		 names[3];
	struct pol_target	 t = { 0 };
	struct pol_decision	 d;
	struct policy		*p;
	struct ir_err		 err = { 0 };
	char			 why[512];
	size_t			 i;

	p = policy_compile(e->allow, count(e->allow), e->deny, count(e->deny),
	    &err);
	if (p == NULL) {
		T_CHECK(0, "compile: %s", err.msg);
		return;
	}
	if (e->addr != NULL && pol_target_set_addr(&t, e->addr) != 0)
		T_CHECK(0, "bad test address %s", e->addr);
	t.port = (uint16_t)e->port;
	for (i = 0; i < 3 && e->names[i] != NULL; i++) {
		names[i].s = e->names[i];
		names[i].len = strlen(e->names[i]);
	}
	t.names = names;
	t.nnames = i;
	if (naive)
		policy_eval_naive(p, g, &t, &d);
	else
		policy_eval(p, g, &t, &d);
	policy_explain(p, &t, &d, why, sizeof(why));
	T_STREQ(pol_verdict_name(d.verdict), e->verdict);
	T_STREQ(pol_decision_rule(&d), e->rule);
	if (t.nnames == 0)
		T_CHECK(d.name_matters == e->name_matters, "name_matters %d",
		    d.name_matters);
	T_CHECK(strlen(why) > 10, "reason '%s'", why);
	policy_free(p);
}

static void
test_explain(void)
{
	const char		*allow[] = { "pypi.org" }, *deny[] = { "0.0.0.0/0" };
	struct pol_name		 n = { "PyPI.org", 8 };
	struct pol_target	 t = { 0 };
	struct pol_decision	 d;
	struct policy		*p = policy_compile(allow, 1, deny, 1, NULL);
	struct pol_guard	*g = pol_guard_compile(guard, 5, NULL);
	char			 buf[512];

	pol_target_set_addr(&t, "203.0.113.5");
	t.port = 443;
	t.names = &n;
	t.nnames = 1;
	policy_eval(p, g, &t, &d);
	policy_explain(p, &t, &d, buf, sizeof(buf));
	T_STREQ(buf, "name 'PyPI.org' port 443 matches allow rule 'pypi.org'");
	t.nnames = 0;
	policy_eval(p, g, &t, &d);
	policy_explain(p, &t, &d, buf, sizeof(buf));
	T_STREQ(buf, "no allow rule matches the address; the default is "
	    "blocked (allow-list policy)");
	pol_target_set_addr(&t, "169.254.169.254");
	policy_eval(p, g, &t, &d);
	policy_explain(p, &t, &d, buf, sizeof(buf));
	T_STREQ(buf, "destination 169.254.169.254 is in the guard list "
	    "(169.254.0.0/16): no sandbox may reach it");
	/* guest bytes are quoted, never printed raw */
	n.s = "a\n\x01.test";
	n.len = 8;
	t.nnames = 1;
	pol_target_set_addr(&t, "203.0.113.5");
	policy_eval(p, g, &t, &d);
	policy_explain(p, &t, &d, buf, sizeof(buf));
	T_CHECK(strchr(buf, '\n') == NULL && strchr(buf, '\x01') == NULL,
	    "raw bytes in '%s'", buf);
	pol_guard_free(g);
	policy_free(p);
}

static void
test_guard_errors(void)
{
	const char	*bad1[] = { "10.0.0.0/8", "example.com" };
	const char	*bad2[] = { "10.0.0.0/8:22" };
	const char	*bad3[] = { "10.0.0.1/8" };
	struct ir_err	 err = { 0 };
	struct pol_guard *g;

	g = pol_guard_compile(bad1, 2, &err);
	T_CHECK(g == NULL && strstr(err.msg, "guard list[1] 'example.com': "
	    "only address prefixes"), "%s", err.msg);
	g = pol_guard_compile(bad2, 1, &err);
	T_CHECK(g == NULL && strstr(err.msg, "without a port"), "%s", err.msg);
	g = pol_guard_compile(bad3, 1, &err);
	T_CHECK(g == NULL && strstr(err.msg, "guard list: deny[0] "
	    "'10.0.0.1/8': host bits"), "%s", err.msg);
	g = pol_guard_compile(pol_guard_defaults, pol_guard_ndefaults, &err);
	T_CHECK(g != NULL, "defaults: %s", err.msg);
	/* 0.0.0.0 and :: mean the host the runner connects from (found by
	 * tests/escape: a name resolving to 0.0.0.0 reached a host service). */
	{
		static const char *const guarded[] = { "0.0.0.0", "0.1.2.3",
		    "::", "127.0.0.1", "::1", "169.254.169.254", "fe80::1" };
		static const char *const open[] = { "1.0.0.0", "::2",
		    "192.0.2.1" };
		struct policy		*p = policy_compile(NULL, 0, NULL, 0,
					    NULL);
		struct pol_target	 t;
		struct pol_decision	 d;

		for (size_t i = 0; i < sizeof(guarded) / sizeof(*guarded);
		    i++) {
			memset(&t, 0, sizeof(t));
			pol_target_set_addr(&t, guarded[i]);
			policy_eval(p, g, &t, &d);
			T_CHECK(d.verdict == POL_BLOCKED &&
			    d.basis == POL_BY_GUARD, "%s is not guarded",
			    guarded[i]);
		}
		for (size_t i = 0; i < sizeof(open) / sizeof(*open); i++) {
			memset(&t, 0, sizeof(t));
			pol_target_set_addr(&t, open[i]);
			policy_eval(p, g, &t, &d);
			T_CHECK(d.verdict == POL_PERMITTED, "%s is guarded",
			    open[i]);
		}
		policy_free(p);
	}
	pol_guard_free(g);
}

/* Names the parser of a peer would pass on: any bytes, any length. */
static void
test_hostile_names(void)
{
	const char		*allow[] = { "*.ok.test" };
	const char		*deny[] = { "*.evil.test" };
	struct policy		*p = policy_compile(allow, 1, deny, 1, NULL);
	struct pol_target	 t = { 0 };
	struct pol_decision	 d, dn;
	struct pol_name		 n;
	static char		 big[20000];
	size_t			 i;

	pol_target_set_addr(&t, "203.0.113.5");
	t.names = &n;
	t.nnames = 1;
	/* a 16 KiB name ending in a denied suffix is still denied */
	for (i = 0; i + 2 < sizeof(big); i += 2)
		memcpy(big + i, "a.", 2);
	memcpy(big + 16000, "evil.test", 10);
	n.s = big;
	n.len = strlen(big);
	policy_eval(p, NULL, &t, &d);
	policy_eval_naive(p, NULL, &t, &dn);
	T_CHECK(d.verdict == POL_BLOCKED && d.basis == POL_BY_RULE,
	    "long denied name: %s", pol_decision_rule(&d));
	T_CHECK(dn.verdict == d.verdict && dn.rule == d.rule, "naive differs");
	/* NUL inside: the part before it must not match */
	n.s = "x.ok.test\0.evil";
	n.len = 15;
	policy_eval(p, NULL, &t, &d);
	T_CHECK(d.verdict == POL_BLOCKED && d.basis == POL_BY_DEFAULT,
	    "NUL name: %s", pol_decision_rule(&d));
	n.s = "x.ok.test\0";
	n.len = 10;
	policy_eval(p, NULL, &t, &d);
	T_CHECK(d.verdict == POL_BLOCKED, "trailing NUL permitted");
	n.s = "";
	n.len = 0;
	policy_eval(p, NULL, &t, &d);
	T_CHECK(d.verdict == POL_BLOCKED && d.basis == POL_BY_DEFAULT,
	    "empty name");
	/* more labels than a DNS name can have (empty ones): 243 and 254 */
	memset(big, '.', 240);
	memcpy(big + 240, "x.evil.test", 12);
	n.s = big;
	n.len = strlen(big);
	policy_eval(p, NULL, &t, &d);
	policy_eval_naive(p, NULL, &t, &dn);
	T_CHECK(d.verdict == POL_BLOCKED && d.basis == POL_BY_RULE &&
	    dn.rule == d.rule, "dotted denied name: %s",
	    pol_decision_rule(&d));
	memset(big, '.', 253);
	n.len = 253;
	policy_eval(p, NULL, &t, &d);
	T_CHECK(d.verdict == POL_BLOCKED && d.basis == POL_BY_DEFAULT,
	    "all dots: %s", pol_decision_rule(&d));
	policy_free(p);
}

/*
 * Differential: random policies over a small universe of addresses, names
 * and ports, every target evaluated by the compiled engine and by the naive
 * scan; verdict, basis, rule and name must agree.
 */
static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static const char *const dnames[] = {
	"a.test", "b.a.test", "c.b.a.test", "x.test", "test", "A.TEST.",
	"y.x.test", "other.example",
};

static void
rand_rule(char *buf, size_t len)
{
	static const int ports[] = { 0, 0, 0, 22, 443 };
	char	 base[128];
	int	 port = ports[rnd(5)];

	switch (rnd(6)) {
	case 0:
		snprintf(base, sizeof(base), "10.%u.0.0/16", rnd(3));
		break;
	case 1: {
		unsigned pl = rnd(33);
		uint32_t a = (10u << 24) | (rnd(3) << 16) | rnd(4);

		a = pl == 0 ? 0 : a & (~0u << (32 - pl));
		snprintf(base, sizeof(base), "%u.%u.%u.%u/%u", a >> 24,
		    (a >> 16) & 255, (a >> 8) & 255, a & 255, pl);
		break;
	}
	case 2:
		snprintf(base, sizeof(base), "2001:db8:%x::/48", rnd(3));
		break;
	case 3:
		snprintf(base, sizeof(base), "%s", dnames[rnd(5)]);
		break;
	case 4:
		snprintf(base, sizeof(base), "*.%s", dnames[rnd(5)]);
		break;
	default:
		snprintf(base, sizeof(base), "%s", rnd(4) ? "*" : "0.0.0.0/0");
		break;
	}
	if (port == 0)
		snprintf(buf, len, "%s", base);
	else if (base[0] == '2')
		snprintf(buf, len, "[%s]:%d", base, port);
	else
		snprintf(buf, len, "%s:%d", base, port);
}

static void
test_differential(void)
{
	char			 rb[16][64];
	const char		*rules[16];
	struct pol_name		 names[2];
	struct pol_target	 t;
	struct pol_decision	 a, b;
	struct policy		*p;
	struct pol_guard	*g = pol_guard_compile(guard, 5, NULL);
	int			 round, k, na, nd, bad = 0;

	for (round = 0; round < 3000 && bad < 5; round++) {
		na = (int)rnd(7);
		nd = (int)rnd(7);
		for (k = 0; k < na + nd; k++) {
			rand_rule(rb[k], sizeof(rb[k]));
			rules[k] = rb[k];
		}
		p = policy_compile(rules, (size_t)na, rules + na, (size_t)nd,
		    NULL);
		if (p == NULL) {
			T_CHECK(0, "random policy rejected");
			break;
		}
		for (k = 0; k < 40; k++) {
			memset(&t, 0, sizeof(t));
			switch (rnd(4)) {
			case 0:
				t.family = 4;
				t.addr[0] = 10;
				t.addr[1] = (uint8_t)rnd(3);
				t.addr[3] = (uint8_t)rnd(4);
				break;
			case 1:
				pol_target_set_addr(&t, rnd(2) ?
				    "2001:db8:1::5" : "2001:db8:7::5");
				break;
			case 2:
				pol_target_set_addr(&t, rnd(2) ?
				    "::ffff:10.1.0.0" : "127.0.0.1");
				break;
			default:
				break;
			}
			t.port = (uint16_t)(rnd(3) == 0 ? 0 :
			    rnd(2) ? 22 : 443);
			names[0].s = dnames[rnd(8)];
			names[1].s = dnames[rnd(8)];
			names[0].len = strlen(names[0].s);
			names[1].len = strlen(names[1].s);
			t.names = names;
			t.nnames = rnd(3);
			policy_eval(p, g, &t, &a);
			policy_eval_naive(p, g, &t, &b);
			if (a.verdict != b.verdict || a.basis != b.basis ||
			    a.rule != b.rule || a.name != b.name ||
			    a.name_matters != b.name_matters) {
				bad++;
				T_CHECK(0, "compiled '%s' (%s) vs naive '%s' "
				    "(%s), first rule '%s'",
				    pol_decision_rule(&a),
				    pol_verdict_name(a.verdict),
				    pol_decision_rule(&b),
				    pol_verdict_name(b.verdict),
				    na + nd ? rules[0] : "-");
			}
		}
		policy_free(p);
	}
	pol_guard_free(g);
}

/*
 * Large policies get index tables over their address ranges: check them
 * against the naive scan with thousands of prefixes in one /8 and in one
 * /32 of IPv6, some with ports, so that nested tables, range lists and
 * walks up the port-rule nodes are all met.
 */
static void
test_differential_large(void)
{
	static char		 rb[3000][64];
	static const char	*rules[3000];
	struct pol_target	 t;
	struct pol_decision	 a, b;
	struct policy		*p;
	int			 k, bad = 0;

	for (k = 0; k < 3000; k++) {
		unsigned pl = 8 + rnd(25);
		uint32_t v = (10u << 24) | (rnd(1u << 24));
		const char *port = rnd(8) == 0 ? ":443" : "";

		if (k % 3 == 2) {
			char a6[64];

			switch (rnd(4)) {
			case 0:
				snprintf(a6, sizeof(a6), "2001:db8::/32");
				break;
			case 1:
				snprintf(a6, sizeof(a6), "2001:db8:%x::/48",
				    rnd(65536));
				break;
			case 2:
				snprintf(a6, sizeof(a6), "2001:db8:%x:%x00::/56",
				    rnd(65536), rnd(256));
				break;
			default:
				snprintf(a6, sizeof(a6), "2001:db8:%x:%x::/64",
				    rnd(65536), rnd(65536));
				break;
			}
			snprintf(rb[k], sizeof(rb[k]), "%s%s%s", *port ? "[" : "",
			    a6, *port ? "]:443" : "");
		} else {
			v = v & (~0u << (32 - pl));
			snprintf(rb[k], sizeof(rb[k]), "%u.%u.%u.%u/%u%s",
			    v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255, pl,
			    port);
		}
		rules[k] = rb[k];
	}
	p = policy_compile(rules, 2000, rules + 2000, 1000, NULL);
	T_CHECK(p != NULL, "large random policy rejected");
	if (p == NULL)
		return;
	for (k = 0; k < 4000 && bad < 5; k++) {
		memset(&t, 0, sizeof(t));
		if (k & 1) {
			uint32_t v = (10u << 24) | rnd(1u << 24);

			t.family = 4;
			t.addr[0] = (uint8_t)(v >> 24);
			t.addr[1] = (uint8_t)(v >> 16);
			t.addr[2] = (uint8_t)(v >> 8);
			t.addr[3] = (uint8_t)v;
		} else {
			t.family = 6;
			memcpy(t.addr, "\x20\x01\x0d\xb8", 4);
			t.addr[4] = (uint8_t)rnd(256);
			t.addr[5] = (uint8_t)rnd(256);
			t.addr[6] = (uint8_t)(rnd(4) ? 0 : rnd(256));
		}
		t.port = rnd(2) ? 443 : 80;
		policy_eval(p, NULL, &t, &a);
		policy_eval_naive(p, NULL, &t, &b);
		if (a.verdict != b.verdict || a.rule != b.rule ||
		    a.basis != b.basis) {
			bad++;
			T_CHECK(0, "compiled '%s' vs naive '%s'",
			    pol_decision_rule(&a), pol_decision_rule(&b));
		}
	}
	policy_free(p);
}

/*
 * Address ranges start and end at prefix boundaries: with prefixes nested
 * deeply around a few points (both families, a quarter with ports), the
 * first and last address of every rule and their neighbours, at several
 * ports, must get the naive scan's answer.
 */
static void
edge_target(struct pol_target *t, int v6, const uint8_t *a, int delta)
{
	int	 i, n = v6 ? 16 : 4;

	memset(t, 0, sizeof(*t));
	t->family = v6 ? 6 : 4;
	memcpy(t->addr, a, (size_t)n);
	/* +1 / -1 on a big-endian number of n bytes, wrapping */
	for (i = n - 1; delta != 0 && i >= 0; i--) {
		t->addr[i] = (uint8_t)(t->addr[i] + delta);
		if ((delta > 0 && t->addr[i] != 0) ||
		    (delta < 0 && t->addr[i] != 0xff))
			break;
	}
}

static void
test_differential_edges(void)
{
	static char		 rb[600][80];
	static const char	*rules[600];
	static const char *const pts4[] = { "10.1.2.3", "10.1.2.200",
	    "10.1.130.7", "10.200.0.1", "0.0.0.0", "255.255.255.255" };
	static const char *const pts6[] = { "2001:db8::1", "2001:db8::8000",
	    "2001:db8:0:1::", "2001:db8:ffff::ffff", "::", "ffff::" };
	static const int	 ports[] = { 0, 0, 0, 22, 443 };
	struct pol_target	 t, base;
	struct pol_decision	 a, b;
	struct pol_guard	*g = pol_guard_compile(guard, 5, NULL);
	struct pol_rule		 r;
	struct policy		*p;
	uint8_t			 lo[16], hi[16];
	int			 k, i, d, pi, bad = 0, v6, plen, port, nb;

	for (k = 0; k < 600; k++) {
		char	 a6[64];

		v6 = k % 2;
		pol_target_set_addr(&base, v6 ? pts6[rnd(6)] : pts4[rnd(6)]);
		plen = v6 ? (int)rnd(129) : (int)rnd(33);
		nb = v6 ? 16 : 4;
		/* mask the point down to the prefix */
		for (i = 0; i < nb; i++) {
			int keep = plen - 8 * i;

			if (keep <= 0)
				base.addr[i] = 0;
			else if (keep < 8)
				base.addr[i] &= (uint8_t)(0xff00 >> keep);
		}
		inet_ntop(v6 ? AF_INET6 : AF_INET, base.addr, a6, sizeof(a6));
		port = ports[rnd(5)];
		if (port == 0)
			snprintf(rb[k], sizeof(rb[k]), "%s/%d", a6, plen);
		else if (v6)
			snprintf(rb[k], sizeof(rb[k]), "[%s/%d]:%d", a6, plen,
			    port);
		else
			snprintf(rb[k], sizeof(rb[k]), "%s/%d:%d", a6, plen,
			    port);
		rules[k] = rb[k];
	}
	p = policy_compile(rules, 400, rules + 400, 200, NULL);
	T_CHECK(p != NULL, "nested policy rejected");
	if (p == NULL)
		goto out;
	for (k = 0; k < 600 && bad < 5; k++) {
		if (pol_rule_parse(rules[k], POL_ALLOW, 0, &r, NULL) != 0)
			continue;
		nb = r.family == 6 ? 16 : 4;
		memcpy(lo, r.addr, 16);
		memcpy(hi, r.addr, 16);
		for (i = 0; i < nb; i++) {
			int keep = r.plen - 8 * i;

			if (keep <= 0)
				hi[i] = 0xff;
			else if (keep < 8)
				hi[i] |= (uint8_t)(0xff >> keep);
		}
		for (d = -1; d <= 1; d++)
			for (i = 0; i < 2; i++)
				for (pi = 0; pi < 4; pi++) {
					edge_target(&t, r.family == 6,
					    i ? hi : lo, d);
					t.port = (uint16_t)(pi == 0 ? 0 :
					    pi == 1 ? 22 : pi == 2 ? 443 : 80);
					policy_eval(p, pi == 3 ? g : NULL, &t,
					    &a);
					policy_eval_naive(p, pi == 3 ? g : NULL,
					    &t, &b);
					if (a.verdict != b.verdict ||
					    a.rule != b.rule ||
					    a.basis != b.basis) {
						bad++;
						T_CHECK(0, "near '%s' port %u: "
						    "compiled '%s' vs naive "
						    "'%s'", rules[k], t.port,
						    pol_decision_rule(&a),
						    pol_decision_rule(&b));
					}
				}
		pol_rule_clear(&r);
	}
	policy_free(p);
out:
	pol_guard_free(g);
}

int
main(void)
{
	struct pol_guard	*g;
	size_t			 i;

	for (i = 0; i < sizeof(good_rules) / sizeof(good_rules[0]); i++)
		T_RUN(check_good(&good_rules[i]), "rule parses: %s",
		    good_rules[i].text);
	for (i = 0; i < sizeof(bad_rules) / sizeof(bad_rules[0]); i++) {
		char q[128];

		str_quote(bad_rules[i].text, strlen(bad_rules[i].text), 40, q,
		    sizeof(q));
		T_RUN(check_bad(&bad_rules[i]), "rule rejected: %s -> %s", q,
		    bad_rules[i].want);
	}
	T_RUN(test_long_names(), "name and rule length limits");
	T_RUN(test_catchall(), "catch-all detection");
	T_RUN(test_all_or_nothing(), "a bad rule rejects the whole policy");
	T_RUN(test_modes(), "policy modes");
	g = pol_guard_compile(guard, 5, NULL);
	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		T_RUN(check_ev(&evs[i], g, 0), "eval %zu: %s%s%s -> %s by %s",
		    i, evs[i].addr ? evs[i].addr : "", evs[i].names[0] ? " " : "",
		    evs[i].names[0] ? evs[i].names[0] : "", evs[i].verdict,
		    evs[i].rule);
		T_RUN(check_ev(&evs[i], g, 1), "naive eval %zu agrees", i);
	}
	pol_guard_free(g);
	T_RUN(test_explain(), "reasons");
	T_RUN(test_guard_errors(), "guard list errors");
	T_RUN(test_hostile_names(), "hostile names");
	T_RUN(test_differential(), "compiled engine agrees with the naive scan");
	T_RUN(test_differential_large(), "large policies (index tables) agree "
	    "with the naive scan");
	T_RUN(test_differential_edges(), "nested prefixes with ports: both "
	    "ends of every rule agree with the naive scan");
	return t_done();
}
