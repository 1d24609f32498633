/*
 * rule.c - one rule's text into a struct pol_rule (SPEC 2, "Rule shapes").
 */
#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <idn2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QMAX	80	/* bytes of a bad rule quoted in a message */

static int
rule_fail(struct ir_err *err, const char *text, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
rule_fail(struct ir_err *err, const char *text, const char *fmt, ...)
{
	char	 q[QMAX * 4 + 8], why[IR_ERR_MAX];
	va_list	 ap;

	if (err == NULL)
		return -1;
	str_quote(text, strlen(text), QMAX, q, sizeof(q));
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return err_set(err, EINVAL, "%s: %s", q, why);
}

/* Parses a decimal number of at most `maxdig` digits; -1 if not one. */
static long
parse_num(const char *s, size_t len, size_t maxdig)
{
	long	 v = 0;
	size_t	 i;

	if (len == 0 || len > maxdig)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int
parse_port(const char *text, const char *p, size_t len, uint16_t *port,
    struct ir_err *err)
{
	char	 q[32];
	long	 v;

	if (len == 0)
		return rule_fail(err, text, "missing port number after ':'");
	v = parse_num(p, len, 6);
	if (v < 0) {
		str_quote(p, len, 12, q, sizeof(q));
		return rule_fail(err, text, "port %s is not a number", q);
	}
	if (v < 1 || v > 65535)
		return rule_fail(err, text, "port %ld is out of range 1-65535",
		    v);
	*port = (uint16_t)v;
	return 0;
}

static void
mask_addr(uint8_t *a, size_t alen, unsigned plen)
{
	size_t	 i;

	for (i = 0; i < alen; i++) {
		if (plen >= 8)
			plen -= 8;
		else {
			a[i] &= (uint8_t)(0xff00 >> plen);
			plen = 0;
		}
	}
}

/*
 * Parses an address or prefix ("a.b.c.d", "x::y", with optional "/len").
 * Returns 1 if `s` is one (rule filled), 0 if `s` does not look like an
 * address at all, -1 on a bad address (err set).
 */
static int
parse_addr(const char *text, const char *s, size_t len, struct pol_rule *r,
    struct ir_err *err)
{
	char		 buf[64], sugg[INET6_ADDRSTRLEN];
	const char	*slash;
	size_t		 alen;
	long		 plen = -1;
	uint8_t		 net[16];
	int		 v6;

	slash = memchr(s, '/', len);
	alen = slash ? (size_t)(slash - s) : len;
	if (alen >= sizeof(buf))
		return 0;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, r->addr) == 1)
		v6 = 0;
	else if (inet_pton(AF_INET6, buf, r->addr) == 1)
		v6 = 1;
	else if (slash != NULL || memchr(buf, ':', alen) != NULL)
		return rule_fail(err, text, "not a valid IP address or prefix");
	else
		return 0;
	r->family = v6 ? 6 : 4;
	if (slash != NULL) {
		plen = parse_num(slash + 1, len - alen - 1, 3);
		if (plen < 0)
			return rule_fail(err, text,
			    "prefix length after '/' is not a number");
		if (plen > (v6 ? 128 : 32))
			return rule_fail(err, text,
			    "prefix length %ld is too long for %s (at most %d)",
			    plen, v6 ? "IPv6" : "IPv4", v6 ? 128 : 32);
	} else
		plen = v6 ? 128 : 32;
	r->plen = (uint8_t)plen;
	memcpy(net, r->addr, 16);
	mask_addr(net, v6 ? 16 : 4, (unsigned)plen);
	if (memcmp(net, r->addr, v6 ? 16 : 4) != 0) {
		inet_ntop(v6 ? AF_INET6 : AF_INET, net, sugg, sizeof(sugg));
		return rule_fail(err, text,
		    "host bits are set after the /%ld prefix; did you mean "
		    "'%s/%ld'?", plen, sugg, plen);
	}
	if (v6 && plen >= 96 && memcmp(r->addr,
	    "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		inet_ntop(AF_INET, r->addr + 12, sugg, sizeof(sugg));
		return rule_fail(err, text, "IPv4-mapped IPv6 addresses are "
		    "matched as IPv4; write '%s/%ld' instead", sugg, plen - 96);
	}
	r->kind = POL_ADDR;
	return 1;
}

static int
is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	    c == '_';
}

/*
 * Checks a lower-case ASCII name label by label. `what` is "name" or
 * "wildcard suffix" for messages.
 */
static int
check_name(const char *text, const char *name, const char *what,
    struct ir_err *err)
{
	const char	*l = name, *dot;
	size_t		 n = strlen(name), ll, i;
	int		 alldigit = 0;

	if (n == 0)
		return rule_fail(err, text, "empty %s", what);
	if (n > POL_NAME_MAX)
		return rule_fail(err, text, "%s is %zu bytes long; a DNS name "
		    "has at most %d", what, n, POL_NAME_MAX);
	for (;;) {
		dot = strchr(l, '.');
		ll = dot ? (size_t)(dot - l) : strlen(l);
		if (ll == 0)
			return rule_fail(err, text, l == name ?
			    "%s starts with a dot" :
			    "%s has an empty label (two dots in a row)", what);
		if (ll > POL_LABEL_MAX)
			return rule_fail(err, text, "label '%.*s...' is %zu "
			    "bytes long; a label has at most %d", 16, l, ll,
			    POL_LABEL_MAX);
		alldigit = 1;
		for (i = 0; i < ll; i++) {
			unsigned char c = (unsigned char)l[i];

			if (c == '*')
				return rule_fail(err, text, "'*' is only "
				    "allowed as the whole first label, as in "
				    "'*.example.com'");
			if (!is_ldh(c)) {
				char q[16];

				str_quote(l + i, 1, 1, q, sizeof(q));
				return rule_fail(err, text, "bad character %s "
				    "in %s (letters, digits, '-' and '_' only)",
				    q, what);
			}
			if (c < '0' || c > '9')
				alldigit = 0;
		}
		if (l[0] == '-' || l[ll - 1] == '-')
			return rule_fail(err, text, "label '%.*s' starts or "
			    "ends with '-'", (int)ll, l);
		if (dot == NULL)
			break;
		l = dot + 1;
	}
	if (alldigit)
		return rule_fail(err, text, "not a valid IPv4 address, and a "
		    "name's last label cannot be all digits");
	return 0;
}

/*
 * Turns `s` (len bytes, one trailing dot already removed) into the
 * lower-case ASCII form: non-ASCII names go through IDNA2008 (UTS#46
 * non-transitional) with libidn2. Returns a malloc'd string or NULL.
 */
static char *
name_to_ascii(const char *text, const char *s, size_t len, struct ir_err *err)
{
	char	*in, *out = NULL;
	size_t	 i;
	int	 ascii = 1, rc;

	if ((in = strndup(s, len)) == NULL) {
		err_set(err, errno, "out of memory");
		return NULL;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)in[i] >= 0x80)
			ascii = 0;
	if (ascii) {
		for (i = 0; i < len; i++)
			if (in[i] >= 'A' && in[i] <= 'Z')
				in[i] = (char)(in[i] - 'A' + 'a');
		return in;
	}
	rc = idn2_to_ascii_8z(in, &out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	free(in);
	if (rc != IDN2_OK) {
		rule_fail(err, text, "cannot convert the name to punycode: %s",
		    idn2_strerror(rc));
		return NULL;
	}
	/* idn2 allocates with its own malloc; hand back one of ours. */
	in = strdup(out);
	idn2_free(out);
	if (in == NULL)
		err_set(err, errno, "out of memory");
	return in;
}

static int
parse_name(const char *text, const char *s, size_t len, struct pol_rule *r,
    struct ir_err *err)
{
	const char	*star;
	int		 wild = 0;

	if (len == 1 && s[0] == '*') {
		r->kind = POL_ANY;
		return 0;
	}
	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		wild = 1;
		s += 2;
		len -= 2;
	} else if (len >= 1 && s[0] == '*') {
		char sug[72], q[300];

		snprintf(sug, sizeof(sug), "*.%.*s",
		    (int)(len - 1 > 64 ? 64 : len - 1), s + 1);
		str_quote(sug, strlen(sug), 66, q, sizeof(q));
		return rule_fail(err, text, "'*' must be a whole label, as in "
		    "%s", q);
	}
	star = memchr(s, '*', len);
	if (star != NULL)
		return rule_fail(err, text, "'*' is only allowed as the whole "
		    "first label, as in '*.example.com'");
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0)
		return rule_fail(err, text, wild ? "nothing after '*.'" :
		    "empty name");
	if (len > POL_NAME_MAX * 4)
		return rule_fail(err, text, "name is %zu bytes long; a DNS name "
		    "has at most %d", len, POL_NAME_MAX);
	if ((r->name = name_to_ascii(text, s, len, err)) == NULL)
		return -1;
	if (check_name(text, r->name, wild ? "wildcard suffix" : "name",
	    err) == -1) {
		free(r->name);
		r->name = NULL;
		return -1;
	}
	r->kind = wild ? POL_WILD : POL_HOST;
	return 0;
}

int
pol_rule_parse(const char *text, enum pol_list list, uint32_t index,
    struct pol_rule *r, struct ir_err *err)
{
	const char	*host, *colon, *close;
	size_t		 len, hlen, i;
	int		 rc;

	memset(r, 0, sizeof(*r));
	r->list = list;
	r->index = index;
	if (text == NULL || (len = strlen(text)) == 0)
		return err_set(err, EINVAL, "'': empty rule");
	if (len > POL_RULE_MAX)
		return rule_fail(err, text, "rule is %zu bytes long (at most %d)",
		    len, POL_RULE_MAX);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == ' ' || c == '\t')
			return rule_fail(err, text, "contains a space");
		if (c < 0x20 || c == 0x7f)
			return rule_fail(err, text,
			    "contains a control character");
	}

	host = text;
	hlen = len;
	if (text[0] == '[') {
		close = strchr(text, ']');
		if (close == NULL)
			return rule_fail(err, text, "'[' without a closing ']'");
		host = text + 1;
		hlen = (size_t)(close - host);
		if (close[1] == ':') {
			if (parse_port(text, close + 2, strlen(close + 2),
			    &r->port, err) == -1)
				return -1;
		} else if (close[1] != '\0')
			return rule_fail(err, text, "expected ':PORT' after ']'");
		if (memchr(host, ':', hlen) == NULL)
			return rule_fail(err, text, "brackets are only for IPv6 "
			    "addresses, as in '[2001:db8::1]:443'");
	} else if ((colon = strchr(text, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		hlen = (size_t)(colon - text);
		if (hlen == 0)
			return rule_fail(err, text, "nothing before ':'");
		if (parse_port(text, colon + 1, len - hlen - 1, &r->port,
		    err) == -1)
			return -1;
	}

	rc = parse_addr(text, host, hlen, r, err);
	if (rc == 1) {
		if ((r->text = strdup(text)) == NULL)
			return err_set(err, errno, "out of memory");
		return 0;
	}
	if (rc == -1)
		return -1;
	if (text[0] == '[')
		return rule_fail(err, text, "not a valid IPv6 address");
	if (parse_name(text, host, hlen, r, err) == -1)
		return -1;
	if ((r->text = strdup(text)) == NULL) {
		pol_rule_clear(r);
		return err_set(err, errno, "out of memory");
	}
	return 0;
}

void
pol_rule_clear(struct pol_rule *r)
{
	free(r->name);
	free(r->text);
	r->name = r->text = NULL;
}

int
pol_rule_is_catchall(const struct pol_rule *r)
{
	if (r->port != 0)
		return 0;
	return r->kind == POL_ANY || (r->kind == POL_ADDR && r->plen == 0);
}
