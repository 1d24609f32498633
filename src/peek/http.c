/*
 * http.c - the HTTP/1.x request head parser: the name a request is for.
 *
 * The scan goes byte by byte over what arrived since the last call,
 * refusing NUL, bare CR and bare LF on the way, and handles each line as
 * its CRLF arrives. Strict where a lenient reading would let the proxy and
 * the server disagree about the host: one Host, no folding, no whitespace
 * before a colon, an absolute-form authority that agrees with Host.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../common/err.h"
#include "peek_int.h"
#include "peek.h"


struct hostport {
	char		 hp_host[PEEK_NAME_MAX + 2];
	size_t		 hp_len;
	int		 hp_ip;
	uint16_t	 hp_port;
};

static int bad(struct http_head *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(struct http_head *h, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(h->hh_why, sizeof(h->hh_why), fmt, ap);
	va_end(ap);
	h->hh_rc = PEEK_BAD;
	return -1;
}


/*
 * A byte at `i` broke the head: if it is still on the first line and that
 * line has no " HTTP/", the bytes were never an HTTP request (hh_notreq).
 * A line that says HTTP and breaks the rules is bad HTTP: blocked.
 */
static int
not_request(const struct http_head *h, const uint8_t *buf, size_t i)
{
	return h->hh_line == 0 && memmem(buf, i, " HTTP/", 6) == NULL;
}

void
peek_http_init(struct http_head *h)
{
	memset(h, 0, sizeof(*h));
	h->hh_rc = PEEK_MORE;
}

/*
 * Parses an authority or a Host value, s[0..n): host, "[v6]", either with
 * ":port". `what` names it in messages.
 */
static int
host_parse(struct http_head *h, const uint8_t *s, size_t n, int need_port,
    const char *what, struct hostport *hp)
{
	char		 q[140], v6[64];
	const uint8_t	*rest, *colon, *close;
	size_t		 hlen, i;
	unsigned	 port = 0;
	struct in6_addr	 a6;
	enum peek_host	 k;

	memset(hp, 0, sizeof(*hp));
	peek_quote(q, sizeof(q), s, n);
	if (n == 0)
		return bad(h, "%s is empty", what);
	if (memchr(s, '@', n) != NULL)
		return bad(h, "%s %s has userinfo ('@')", what, q);
	if (s[0] == '[') {
		if ((close = memchr(s, ']', n)) == NULL)
			return bad(h, "%s %s has no closing ']'", what, q);
		hlen = (size_t)(close - s) - 1;
		if (hlen == 0 || hlen >= sizeof(v6))
			return bad(h, "%s %s is not an IPv6 address", what, q);
		memcpy(v6, s + 1, hlen);
		v6[hlen] = '\0';
		if (memchr(v6, '\0', hlen) != NULL ||
		    inet_pton(AF_INET6, v6, &a6) != 1)
			return bad(h, "%s %s is not an IPv6 address", what, q);
		memcpy(hp->hp_host, v6, hlen + 1);
		hp->hp_len = hlen;
		hp->hp_ip = 1;
		rest = close + 1;
	} else {
		colon = memchr(s, ':', n);
		if (colon != NULL && memchr(colon + 1, ':',
		    n - (size_t)(colon + 1 - s)) != NULL)
			return bad(h, "%s %s: an IPv6 literal must be in "
			    "brackets", what, q);
		hlen = colon != NULL ? (size_t)(colon - s) : n;
		if (hlen == 0)
			return bad(h, "%s %s has no host", what, q);
		k = peek_host_check((const char *)s, hlen, &hp->hp_len, what,
		    h->hh_why, sizeof(h->hh_why));
		if (k == PEEK_HOST_BAD) {
			h->hh_rc = PEEK_BAD;
			return -1;
		}
		memcpy(hp->hp_host, s, hp->hp_len);
		hp->hp_host[hp->hp_len] = '\0';
		hp->hp_ip = k == PEEK_HOST_IPV4;
		rest = s + hlen;
	}
	if (rest == s + n) {
		if (need_port)
			return bad(h, "%s %s has no port", what, q);
		return 0;
	}
	if (*rest != ':' || rest + 1 == s + n || s + n - rest > 6)
		return bad(h, "%s %s has an invalid port", what, q);
	for (i = 1; rest + i < s + n; i++) {
		if (rest[i] < '0' || rest[i] > '9')
			return bad(h, "%s %s has an invalid port", what, q);
		port = port * 10 + (unsigned)(rest[i] - '0');
	}
	if (port == 0 || port > 65535)
		return bad(h, "%s %s has an invalid port", what, q);
	hp->hp_port = (uint16_t)port;
	return 0;
}

static void
host_set(struct http_head *h, const struct hostport *hp)
{
	memcpy(h->hh_host, hp->hp_host, hp->hp_len + 1);
	h->hh_hostlen = hp->hp_len;
	h->hh_host_ip = hp->hp_ip;
	h->hh_port = hp->hp_port;
}

/* The request-target t[0..n) of `method`. */
static int
target(struct http_head *h, const uint8_t *m, size_t mlen, const uint8_t *t,
    size_t n)
{
	char		 q[140];
	struct hostport	 hp;
	size_t		 i, a;

	if (mlen == 7 && memcmp(m, "CONNECT", 7) == 0) {
		if (host_parse(h, t, n, 1, "CONNECT authority", &hp) == -1)
			return -1;
		h->hh_form = HTTP_AUTHORITY;
		h->hh_auth = 1;
		host_set(h, &hp);
		return 0;
	}
	if (t[0] == '/') {
		h->hh_form = HTTP_ORIGIN;
		return 0;
	}
	if (n == 1 && t[0] == '*') {
		if (mlen != 7 || memcmp(m, "OPTIONS", 7) != 0)
			return bad(h, "request-target '*' is for OPTIONS only");
		h->hh_form = HTTP_ASTERISK;
		return 0;
	}
	/* absolute-form: scheme "://" authority [ path-abempty ] [ "?" ] */
	for (i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') ||
		    (t[i] >= 'A' && t[i] <= 'Z') ||
		    (i > 0 && ((t[i] >= '0' && t[i] <= '9') || t[i] == '+' ||
		    t[i] == '-' || t[i] == '.'))))
			break;
	if (i == 0 || n - i < 3 || memcmp(t + i, "://", 3) != 0)
		return bad(h, "request-target %s is not in origin, absolute, "
		    "authority or asterisk form", peek_quote(q, sizeof(q), t, n));
	a = i + 3;
	for (i = a; i < n && t[i] != '/' && t[i] != '?' && t[i] != '#'; i++)
		;
	if (host_parse(h, t + a, i - a, 0, "request-target authority",
	    &hp) == -1)
		return -1;
	h->hh_form = HTTP_ABSOLUTE;
	h->hh_auth = 1;
	host_set(h, &hp);
	return 0;
}

static int
request_line(struct http_head *h, const uint8_t *l, size_t n)
{
	char		 q[140];
	const uint8_t	*t, *v, *sp;
	size_t		 m, tl, vl;

	/* Until the version is checked, a bad line is not HTTP at all. */
	h->hh_notreq = 1;
	for (m = 0; m < n && peek_tchar(l[m]); m++)
		;
	if (m == 0 || m == n || l[m] != ' ')
		return bad(h, "malformed request line %s",
		    peek_quote(q, sizeof(q), l, n));
	if (m > PEEK_METHOD_MAX)
		return bad(h, "method is %zu bytes long, over %d", m,
		    PEEK_METHOD_MAX);
	t = l + m + 1;
	if ((sp = memchr(t, ' ', (size_t)(l + n - t))) == NULL || sp == t)
		return bad(h, "malformed request line %s",
		    peek_quote(q, sizeof(q), l, n));
	tl = (size_t)(sp - t);
	v = sp + 1;
	vl = (size_t)(l + n - v);
	if (vl >= 5 && memcmp(v, "HTTP/", 5) == 0)
		h->hh_notreq = 0;
	if (vl == 8 && memcmp(v, "HTTP/1.", 7) == 0 &&
	    (v[7] == '0' || v[7] == '1'))
		h->hh_minor = v[7] - '0';
	else if (vl >= 5 && memcmp(v, "HTTP/", 5) == 0)
		return bad(h, "unknown HTTP version %s",
		    peek_quote(q, sizeof(q), v, vl));
	else
		return bad(h, "malformed request line %s",
		    peek_quote(q, sizeof(q), l, n));
	for (m = 0; m < tl; m++)
		if (t[m] < 0x21 || t[m] > 0x7e)
			return bad(h, "request-target has byte 0x%02x", t[m]);
	h->hh_method_off = 0;
	h->hh_method_len = (size_t)(t - 1 - l);
	h->hh_target_off = (size_t)(t - l);
	h->hh_target_len = tl;
	return target(h, l, h->hh_method_len, t, tl);
}

static int
host_header(struct http_head *h, const uint8_t *v, size_t n)
{
	char		 q1[140], q2[140];
	struct hostport	 hp;

	if (++h->hh_nhost > 1)
		return bad(h, "duplicate Host header");
	if (n == 0) {
		if (h->hh_minor == 1)
			return bad(h, "empty Host in an HTTP/1.1 request");
		return 0;
	}
	if (host_parse(h, v, n, 0, "Host", &hp) == -1)
		return -1;
	if (!h->hh_auth) {
		host_set(h, &hp);
		return 0;
	}
	if (hp.hp_len != h->hh_hostlen ||
	    strncasecmp(hp.hp_host, h->hh_host, hp.hp_len) != 0)
		return bad(h, "Host %s differs from the request-target's "
		    "authority %s", peek_quote(q1, sizeof(q1), v, n),
		    peek_quote(q2, sizeof(q2), (const uint8_t *)h->hh_host,
		    h->hh_hostlen));
	return 0;
}

static int
header_line(struct http_head *h, const uint8_t *l, size_t n)
{
	char		 q[140];
	size_t		 i, c, e;

	if (l[0] == ' ' || l[0] == '\t')
		return bad(h, "obsolete line folding: header line %s starts "
		    "with whitespace", peek_quote(q, sizeof(q), l, n));
	for (c = 0; c < n && peek_tchar(l[c]); c++)
		;
	if (c == n)
		return bad(h, "header line %s has no ':'",
		    peek_quote(q, sizeof(q), l, n));
	if (l[c] == ' ' || l[c] == '\t')
		return bad(h, "whitespace before the colon in header %s",
		    peek_quote(q, sizeof(q), l, c));
	if (l[c] != ':')
		return bad(h, "header name %s has byte 0x%02x, not a token "
		    "character", peek_quote(q, sizeof(q), l, c), l[c]);
	if (c == 0)
		return bad(h, "empty header name");
	for (i = c + 1; i < n; i++)
		if ((l[i] < 0x20 && l[i] != '\t') || l[i] == 0x7f)
			return bad(h, "header %s has control byte 0x%02x",
			    peek_quote(q, sizeof(q), l, c), l[i]);
	if (c != 4 || strncasecmp((const char *)l, "host", 4) != 0)
		return 0;
	for (i = c + 1; i < n && (l[i] == ' ' || l[i] == '\t'); i++)
		;
	for (e = n; e > i && (l[e - 1] == ' ' || l[e - 1] == '\t'); e--)
		;
	return host_header(h, l + i, e - i);
}

/* A line l[0..n), its CRLF removed. */
static int
line(struct http_head *h, const uint8_t *l, size_t n)
{
	if (h->hh_nlines++ == 0)
		return request_line(h, l, n);
	if (n > 0)
		return header_line(h, l, n);
	if (h->hh_minor == 1 && h->hh_nhost == 0)
		return bad(h, "HTTP/1.1 request without Host");
	h->hh_rc = PEEK_DONE;
	return 0;
}

enum peek_rc
peek_http_feed(struct http_head *h, const uint8_t *buf, size_t len)
{
	size_t	 i, lim;

	if (h->hh_rc != PEEK_MORE)
		return h->hh_rc;
	if (len < h->hh_scan) {
		bad(h, "buffer shrank from %zu to %zu bytes", h->hh_scan, len);
		return PEEK_BAD;
	}
	lim = len < PEEK_HTTP_MAX ? len : PEEK_HTTP_MAX;
	for (i = h->hh_scan; i < lim; i++) {
		if (buf[i] == '\0') {
			bad(h, "NUL byte at offset %zu", i);
			h->hh_notreq = not_request(h, buf, i);
			return PEEK_BAD;
		}
		if (i > 0 && buf[i - 1] == '\r' && buf[i] != '\n') {
			bad(h, "CR without LF at offset %zu", i - 1);
			h->hh_notreq = not_request(h, buf, i);
			return PEEK_BAD;
		}
		if (buf[i] != '\n')
			continue;
		if (i == 0 || buf[i - 1] != '\r') {
			bad(h, "bare LF at offset %zu", i);
			h->hh_notreq = not_request(h, buf, i);
			return PEEK_BAD;
		}
		if (line(h, buf + h->hh_line, i - 1 - h->hh_line) == -1)
			return PEEK_BAD;
		h->hh_line = i + 1;
		if (h->hh_rc == PEEK_DONE) {
			h->hh_scan = h->hh_used = i + 1;
			return PEEK_DONE;
		}
	}
	h->hh_scan = i;
	if (i == PEEK_HTTP_MAX) {
		bad(h, "request head exceeds %d bytes", PEEK_HTTP_MAX);
		return PEEK_BAD;
	}
	return PEEK_MORE;
}
