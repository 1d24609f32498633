/*
 * fuzz_endpoint.c - src/endpoint on arbitrary bytes, two ways.
 *
 * Input "METHOD\nTARGET" (no newline: the method is GET): ep_eval() against
 * a fixed set of rules. Checks: no crash, no leak; the verdict equals a
 * naive matcher written here from the header's words, applied to the path
 * ep_eval() reports; an allowed target holds nothing ambiguous (no '..' or
 * '.' segment, '//', '\', ';', '#', escaped '/', '.', '%', NUL, control or
 * non-ASCII byte), so in particular a '..' is never allowed by a prefix
 * rule; normalising the reported path again gives itself; every escape
 * left in it is upper-case hex of a character that is not unreserved; the
 * reason is one printable line.
 *
 * Input starting with "S\n": a spec in a tiny line format compiled by
 * endpoints_compile(): "host H", "rule ACTION METHOD PATH", "default D",
 * "cred HEADER: TEMPLATE" (each line applies to the last host). Checks: no
 * crash, no leak; a failure's message is one printable line naming
 * "endpoints["; a compiled rule's path holds no '..' segment.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "endpoint/endpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct nrule {
	const char	*action, *method, *path;
};

static const struct nrule rules[] = {
	{ "deny", "DELETE", "/v1/admin/*" },
	{ "allow", "POST", "/v1/chat/completions" },
	{ "allow", "GET", "/v1/models" },
	{ "allow", "*", "/v1/files/*" },
	{ "deny", "*", "/v1/files/secret" },
	{ "allow", "GET", "/" },
	{ "deny", "*", "/private/*" },
	{ "allow", "*", "/*" },
};
#define NRULES	(sizeof(rules) / sizeof(rules[0]))

static struct endpoints	*eps;

static void
setup(void)
{
	static struct ep_rule_spec	 rs[NRULES];
	struct ep_host_spec		 h = { "api.example.com", rs, NRULES,
					     "deny", NULL, 0 };

	for (size_t i = 0; i < NRULES; i++) {
		rs[i].ers_action = rules[i].action;
		rs[i].ers_method = rules[i].method;
		rs[i].ers_path = rules[i].path;
	}
	eps = endpoints_compile(&h, 1, NULL);
	assert(eps != NULL);
}

/* The rules of endpoint.h, read literally. */
static int
naive_path(const struct nrule *r, const char *path)
{
	size_t	 pl = strlen(r->path), n = strlen(path);
	int	 deny = strcmp(r->action, "deny") == 0;
	char	 p[EP_PATH_MAX + 2];

	if (pl >= 2 && strcmp(r->path + pl - 2, "/*") == 0) {
		/* "/a/\*": "/a", and "/a/" followed by anything */
		memcpy(p, r->path, pl - 1);
		p[pl - 1] = '\0';
		if ((deny ? strncasecmp : strncmp)(path, p, pl - 1) == 0)
			return 1;
		p[pl - 2] = '\0';
		return (deny ? strcasecmp : strcmp)(path, p) == 0;
	}
	if ((deny ? strcasecmp : strcmp)(path, r->path) == 0)
		return 1;
	/* with one trailing '/' more */
	return n == pl + 1 && path[pl] == '/' && r->path[pl - 1] != '/' &&
	    (deny ? strncasecmp : strncmp)(path, r->path, pl) == 0;
}

static int
naive(const char *m, size_t mlen, const char *path, int *rule)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < NRULES; i++) {
			const struct nrule *r = &rules[i];

			if (strcmp(r->action, pass ? "allow" : "deny") != 0)
				continue;
			if (strcmp(r->method, "*") != 0 &&
			    (strlen(r->method) != mlen ||
			    strncasecmp(r->method, m, mlen) != 0))
				continue;
			if (!naive_path(r, path))
				continue;
			*rule = (int)i;
			return pass ? EP_ALLOW : EP_DENY;
		}
	*rule = -1;
	return EP_DENY;
}

static int
has_ci(const char *s, size_t len, const char *needle)
{
	size_t	 n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(s + i, needle, n) == 0)
			return 1;
	return 0;
}

static void
check_allowed(const char *t, size_t tlen)
{
	size_t	 plen, i;

	for (i = 0; i < tlen; i++)
		assert((unsigned char)t[i] > 0x20 && (unsigned char)t[i] < 0x7f &&
		    t[i] != '#');
	if (t[0] != '/') {
		const char *end = t + tlen, *p = t + 8;

		assert(tlen >= 23 &&
		    strncasecmp(t, "https://api.example.com", 23) == 0);
		while (p < end && *p != '/' && *p != '?')
			p++;
		t = p;
		tlen = (size_t)(end - p);
	}
	for (plen = 0; plen < tlen && t[plen] != '?'; plen++)
		;
	assert(memchr(t, '\\', plen) == NULL && memchr(t, ';', plen) == NULL);
	for (i = 0; i + 1 < plen; i++)
		assert(!(t[i] == '/' && t[i + 1] == '/'));
	for (i = 0; i < plen; i++)
		if (t[i] == '/' && i + 1 < plen && t[i + 1] == '.') {
			assert(!(i + 2 == plen || t[i + 2] == '/'));
			assert(!(t[i + 2] == '.' && (i + 3 == plen ||
			    t[i + 3] == '/')));
		}
	assert(!has_ci(t, plen, "%2e") && !has_ci(t, plen, "%2f") &&
	    !has_ci(t, plen, "%5c") && !has_ci(t, plen, "%25") &&
	    !has_ci(t, plen, "%00") && !has_ci(t, plen, "%3b"));
}

static void
eval_one(const char *m, size_t mlen, const char *t, size_t tlen)
{
	static struct ep_decision d, d2;
	static char	 again[EP_TARGET_MAX + 1];
	char		 why[EP_WHY_MAX];
	const struct ep_host *h = endpoints_get(eps, 0);
	size_t		 i;
	int		 rule, v;

	ep_eval(h, m, mlen, t, tlen, &d);
	for (i = 0; d.ed_why[i]; i++)
		assert((unsigned char)d.ed_why[i] >= 0x20 &&
		    (unsigned char)d.ed_why[i] < 0x7f);
	assert(i > 0);
	if (d.ed_basis == EP_BY_AMBIGUOUS) {
		assert(d.ed_verdict == EP_DENY && d.ed_rule == -1);
		assert(d.ed_path[0] == '\0');
		return;
	}
	v = naive(m, mlen, d.ed_path, &rule);
	assert((int)d.ed_verdict == v && d.ed_rule == rule);
	assert((d.ed_basis == EP_BY_RULE) == (rule >= 0));
	if (d.ed_verdict == EP_ALLOW)
		check_allowed(t, tlen);
	/* The reported path is normal: normalising it changes nothing. */
	assert(ep_target_normalize(d.ed_path, strlen(d.ed_path), NULL, 0,
	    again, why, sizeof(why)) == 0 && strcmp(again, d.ed_path) == 0);
	for (i = 0; d.ed_path[i]; i++)
		if (d.ed_path[i] == '%') {
			int c = (int)strtol((char[]){ d.ed_path[i + 1],
			    d.ed_path[i + 2], 0 }, NULL, 16);

			assert(strchr("0123456789ABCDEF", d.ed_path[i + 1]) &&
			    strchr("0123456789ABCDEF", d.ed_path[i + 2]));
			assert(!((c >= 'a' && c <= 'z') || (c >= 'A' &&
			    c <= 'Z') || (c >= '0' && c <= '9') ||
			    c == '-' || c == '_' || c == '~'));
		}
	/* Same request, same answer. */
	ep_eval(h, m, mlen, t, tlen, &d2);
	assert(d2.ed_verdict == d.ed_verdict && d2.ed_rule == d.ed_rule);
}

static int
spec_line(char *line, struct ep_host_spec *hs, size_t *nh,
    struct ep_rule_spec *rs, size_t *nr, struct ep_cred_spec *cs, size_t *nc)
{
	char	*a, *b;

	if (strncmp(line, "host ", 5) == 0 && *nh < 4) {
		memset(&hs[*nh], 0, sizeof(hs[*nh]));
		hs[*nh].ehs_host = line + 5;
		hs[*nh].ehs_rules = rs + *nr;
		hs[*nh].ehs_creds = cs + *nc;
		(*nh)++;
		return 0;
	}
	if (*nh == 0)
		return 0;
	if (strncmp(line, "rule ", 5) == 0 && *nr < 16) {
		a = strchr(line + 5, ' ');
		b = a ? strchr(a + 1, ' ') : NULL;
		if (b == NULL)
			return 0;
		*a = *b = '\0';
		rs[*nr].ers_action = line + 5;
		rs[*nr].ers_method = a + 1;
		rs[*nr].ers_path = b + 1;
		(*nr)++;
		hs[*nh - 1].ehs_nrules++;
	} else if (strncmp(line, "default ", 8) == 0)
		hs[*nh - 1].ehs_default = line + 8;
	else if (strncmp(line, "cred ", 5) == 0 && *nc < 8) {
		cs[*nc].ecs_header = NULL;
		cs[*nc].ecs_value = line + 5;
		(*nc)++;
		hs[*nh - 1].ehs_ncreds++;
	}
	return 0;
}

static void
spec_one(char *text)
{
	struct ep_host_spec	 hs[4];
	struct ep_rule_spec	 rs[16];
	struct ep_cred_spec	 cs[8];
	struct ir_err		 err = { 0 };
	struct endpoints	*e;
	size_t			 nh = 0, nr = 0, nc = 0, i, j;
	char			*line, *next;

	for (line = text; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		spec_line(line, hs, &nh, rs, &nr, cs, &nc);
	}
	if ((e = endpoints_compile(hs, nh, &err)) == NULL) {
		assert(strncmp(err.msg, "endpoints", 9) == 0);
		for (i = 0; err.msg[i]; i++)
			assert((unsigned char)err.msg[i] >= 0x20 &&
			    (unsigned char)err.msg[i] < 0x7f);
		return;
	}
	for (i = 0; i < endpoints_count(e); i++) {
		const struct ep_host *h = endpoints_get(e, i);

		for (j = 0; j < ep_host_nrules(h); j++)
			assert(strstr(ep_rule_text(h, j), "/../") == NULL &&
			    strstr(ep_rule_text(h, j), "//") == NULL);
		for (j = 0; j < ep_host_ncreds(h); j++)
			assert(ep_host_is_cred_header(h, ep_cred_header(h, j),
			    strlen(ep_cred_header(h, j))));
	}
	endpoints_free(e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data, *nl;
	char		*text;

	if (eps == NULL)
		setup();
	if (size >= 2 && data[0] == 'S' && data[1] == '\n') {
		if ((text = malloc(size - 1)) == NULL)
			return 0;
		memcpy(text, data + 2, size - 2);
		text[size - 2] = '\0';
		spec_one(text);
		free(text);
		return 0;
	}
	if ((nl = memchr(s, '\n', size)) == NULL)
		eval_one("GET", 3, s, size);
	else
		eval_one(s, (size_t)(nl - s), nl + 1, size - (size_t)(nl - s) -
		    1);
	return 0;
}
