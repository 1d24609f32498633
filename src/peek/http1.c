/*
 * http1.c - HTTP/1.x framing for the intercepting proxy: request and
 * response heads, chunked bodies.
 *
 * The head scan is the one of http.c: byte by byte over what arrived since
 * the last call, refusing NUL, bare CR and bare LF on the way, each line
 * checked as its CRLF arrives. The framing fields are checked on their own
 * line (Transfer-Encoding needs the raw bytes); the rest (Connection,
 * Upgrade, Expect, Host) once the empty line has arrived, from hd_fields.
 * docs/http1.md says what is BAD and why.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../common/err.h"
#include "peek_int.h"
#include "http1.h"


enum ch_state {
	CH_SIZE,	/* hex digits of a chunk size */
	CH_EXT,		/* after ';': extensions up to CR */
	CH_SIZE_LF,	/* the LF of a chunk-size line */
	CH_DATA,	/* hc_left bytes of chunk data */
	CH_DATA_CR,	/* the CRLF after chunk data */
	CH_DATA_LF,
	CH_TR_START,	/* a trailer line, or the final empty line */
	CH_TR_NAME,	/* a trailer field's name, up to ':' */
	CH_TR_VALUE,	/* its value, up to CR */
	CH_TR_LF,	/* the LF of a trailer line */
	CH_END_LF,	/* the LF of the final empty line */
};

static int hbad(struct h1_head *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static enum peek_rc cbad(struct h1_chunked *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
hbad(struct h1_head *h, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(h->hd_why, sizeof(h->hd_why), fmt, ap);
	va_end(ap);
	h->hd_rc = PEEK_BAD;
	return -1;
}

static enum peek_rc
cbad(struct h1_chunked *c, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(c->hc_why, sizeof(c->hc_why), fmt, ap);
	va_end(ap);
	c->hc_rc = PEEK_BAD;
	return PEEK_BAD;
}


static int
is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* A byte a field value may hold: VCHAR, obs-text, SP, HTAB. */
static int
is_vbyte(uint8_t c)
{
	return (c >= 0x20 && c != 0x7f) || c == '\t';
}

static int
eq(const uint8_t *s, size_t n, const char *lit)
{
	return n == strlen(lit) && strncasecmp((const char *)s, lit, n) == 0;
}

void
h1_request_init(struct h1_head *h)
{
	memset(h, 0, sizeof(*h));
	h->hd_rc = PEEK_MORE;
	h->hd_request = 1;
}

void
h1_response_init(struct h1_head *h, int head_request)
{
	memset(h, 0, sizeof(*h));
	h->hd_rc = PEEK_MORE;
	h->hd_head_req = head_request != 0;
}

static int
request_line(struct h1_head *h, const uint8_t *l, size_t n)
{
	char	 q[140];
	size_t	 m, t, v;

	for (m = 0; m < n && peek_tchar(l[m]); m++)
		;
	if (m == 0 || m == n || l[m] != ' ')
		return hbad(h, "malformed request line %s",
		    peek_quote(q, sizeof(q), l, n));
	if (m > PEEK_METHOD_MAX)
		return hbad(h, "method is %zu bytes long, over %d", m,
		    PEEK_METHOD_MAX);
	for (t = m + 1; t < n && l[t] != ' '; t++)
		if (l[t] < 0x21 || l[t] > 0x7e)
			return hbad(h, "request-target has byte 0x%02x", l[t]);
	if (t == m + 1 || t == n)
		return hbad(h, "malformed request line %s",
		    peek_quote(q, sizeof(q), l, n));
	v = t + 1;
	if (n - v != 8 || memcmp(l + v, "HTTP/1.", 7) != 0 ||
	    (l[v + 7] != '0' && l[v + 7] != '1'))
		return hbad(h, "request line: version %s is not HTTP/1.0 or "
		    "HTTP/1.1", peek_quote(q, sizeof(q), l + v, n - v));
	h->hd_minor = l[v + 7] - '0';
	h->hd_method_off = (uint32_t)h->hd_line;
	h->hd_method_len = (uint32_t)m;
	h->hd_target_off = (uint32_t)(h->hd_line + m + 1);
	h->hd_target_len = (uint32_t)(t - m - 1);
	return 0;
}

static int
status_line(struct h1_head *h, const uint8_t *l, size_t n)
{
	char	 q[140];
	size_t	 i;

	if (n < 8 || memcmp(l, "HTTP/1.", 7) != 0 ||
	    (l[7] != '0' && l[7] != '1') || (n > 8 && l[8] != ' '))
		return hbad(h, "status line %s does not start with HTTP/1.0 "
		    "or HTTP/1.1 and a space", peek_quote(q, sizeof(q), l, n));
	if (n < 12 || l[9] < '1' || l[9] > '9' || l[10] < '0' ||
	    l[10] > '9' || l[11] < '0' || l[11] > '9' ||
	    (n > 12 && l[12] != ' '))
		return hbad(h, "status line %s has no 3-digit status code "
		    "from 100 to 999", peek_quote(q, sizeof(q), l, n));
	for (i = 13; i < n; i++)
		if (!is_vbyte(l[i]))
			return hbad(h, "reason phrase has control byte 0x%02x",
			    l[i]);
	h->hd_minor = l[7] - '0';
	h->hd_status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + l[11] - '0';
	return 0;
}

/* Content-Length, its value v[0..n) with the whitespace trimmed. */
static int
content_length(struct h1_head *h, const uint8_t *v, size_t n)
{
	char		 q[140];
	uint64_t	 x = 0;
	size_t		 i;

	if (++h->hd_ncl > 1)
		return hbad(h, "Content-Length given more than once");
	if (h->hd_nte > 0)
		return hbad(h, "both Transfer-Encoding and Content-Length");
	if (n == 0 || n > 19)
		return hbad(h, "Content-Length %s is not 1 to 19 decimal "
		    "digits", peek_quote(q, sizeof(q), v, n));
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return hbad(h, "Content-Length %s is not 1 to 19 "
			    "decimal digits", peek_quote(q, sizeof(q), v, n));
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x > H1_BODY_MAX_DECL)
		return hbad(h, "Content-Length %s is over %llu",
		    peek_quote(q, sizeof(q), v, n),
		    (unsigned long long)H1_BODY_MAX_DECL);
	h->hd_length = x;
	return 0;
}

/*
 * A response's codings v[0..n): a comma list of tokens, chunked at most
 * once (RFC 9112 7). Unless chunked is the last, the body runs until the
 * server closes (RFC 9112 6.3, rule 4).
 */
static int
response_codings(struct h1_head *h, const uint8_t *v, size_t n)
{
	char	 q[140], q2[140];
	size_t	 i = 0, s, e, k;
	int	 last = -1, nchunked = 0;

	while (i < n) {
		while (i < n && (is_ows(v[i]) || v[i] == ','))
			i++;
		if (i == n)
			break;
		for (s = i; i < n && v[i] != ','; i++)
			;
		for (e = i; e > s && is_ows(v[e - 1]); e--)
			;
		for (k = s; k < e; k++)
			if (!peek_tchar(v[k]))
				return hbad(h, "Transfer-Encoding %s: coding "
				    "%s is not a token",
				    peek_quote(q, sizeof(q), v, n),
				    peek_quote(q2, sizeof(q2), v + s, e - s));
		last = eq(v + s, e - s, "chunked");
		if (last && ++nchunked > 1)
			return hbad(h, "Transfer-Encoding %s: chunked more "
			    "than once", peek_quote(q, sizeof(q), v, n));
	}
	if (last == -1)
		return hbad(h, "Transfer-Encoding is empty");
	h->hd_body = last ? H1_BODY_CHUNKED : H1_BODY_CLOSE;
	return 0;
}

/*
 * Transfer-Encoding; r[0..n) is the raw value after the colon. In a
 * request, nothing but spaces and "chunked": a server that does not trim a
 * trailing blank or a tab could take the coding as unknown, ignore it and
 * read the chunks as the next request.
 */
static int
transfer_encoding(struct h1_head *h, const uint8_t *r, size_t n,
    const uint8_t *v, size_t vn)
{
	char	 q[140];
	size_t	 i;

	if (++h->hd_nte > 1)
		return hbad(h, "Transfer-Encoding given more than once");
	if (h->hd_ncl > 0)
		return hbad(h, "both Transfer-Encoding and Content-Length");
	if (h->hd_minor == 0)
		return hbad(h, "Transfer-Encoding in an HTTP/1.0 %s",
		    h->hd_request ? "request" : "response");
	if (!h->hd_request)
		return response_codings(h, v, vn);
	for (i = 0; i < n && r[i] == ' '; i++)
		;
	if (!eq(r + i, n - i, "chunked"))
		return hbad(h, "Transfer-Encoding %s is not exactly 'chunked'",
		    peek_quote(q, sizeof(q), r, n));
	h->hd_body = H1_BODY_CHUNKED;
	return 0;
}

static int
field_line(struct h1_head *h, const uint8_t *l, size_t n)
{
	char		 q[140];
	struct h1_field	*f;
	size_t		 i, c, e;

	if (is_ows(l[0]))
		return hbad(h, "obsolete line folding: field line %s starts "
		    "with whitespace", peek_quote(q, sizeof(q), l, n));
	for (c = 0; c < n && peek_tchar(l[c]); c++)
		;
	if (c == n)
		return hbad(h, "field line %s has no ':'",
		    peek_quote(q, sizeof(q), l, n));
	if (is_ows(l[c]))
		return hbad(h, "whitespace between field name %s and its "
		    "colon", peek_quote(q, sizeof(q), l, c));
	if (l[c] != ':')
		return hbad(h, "field name %s has byte 0x%02x, not a token "
		    "character", peek_quote(q, sizeof(q), l, c), l[c]);
	if (c == 0)
		return hbad(h, "empty field name");
	for (i = c + 1; i < n; i++)
		if (!is_vbyte(l[i]))
			return hbad(h, "field %s has control byte 0x%02x",
			    peek_quote(q, sizeof(q), l, c), l[i]);
	if (h->hd_nfields == H1_FIELDS_MAX)
		return hbad(h, "more than %d header fields", H1_FIELDS_MAX);
	for (i = c + 1; i < n && is_ows(l[i]); i++)
		;
	for (e = n; e > i && is_ows(l[e - 1]); e--)
		;
	f = &h->hd_fields[h->hd_nfields++];
	f->hf_name_off = (uint32_t)h->hd_line;
	f->hf_name_len = (uint32_t)c;
	f->hf_value_off = (uint32_t)(h->hd_line + i);
	f->hf_value_len = (uint32_t)(e - i);
	if (eq(l, c, "content-length"))
		return content_length(h, l + i, e - i);
	if (eq(l, c, "transfer-encoding"))
		return transfer_encoding(h, l + c + 1, n - c - 1, l + i, e - i);
	return 0;
}

#define CONN_CLOSE	0x1
#define CONN_KEEPALIVE	0x2
#define CONN_UPGRADE	0x4

/* The tokens of a Connection value v[0..n) we act on. */
static unsigned
connection_tokens(const uint8_t *v, size_t n)
{
	size_t		 i = 0, s, e;
	unsigned	 t = 0;

	while (i < n) {
		for (s = i; i < n && v[i] != ','; i++)
			;
		for (e = i; e > s && is_ows(v[e - 1]); e--)
			;
		while (s < e && is_ows(v[s]))
			s++;
		if (eq(v + s, e - s, "close"))
			t |= CONN_CLOSE;
		else if (eq(v + s, e - s, "keep-alive"))
			t |= CONN_KEEPALIVE;
		else if (eq(v + s, e - s, "upgrade"))
			t |= CONN_UPGRADE;
		i++;
	}
	return t;
}

static int
no_body(const struct h1_head *h)
{
	return h->hd_head_req || h->hd_status < 200 || h->hd_status == 204 ||
	    h->hd_status == 304;
}

/* The empty line has arrived: the head is complete. */
static int
head_end(struct h1_head *h, const uint8_t *buf)
{
	const struct h1_field	*f;
	const uint8_t		*name, *v;
	unsigned		 i, conn = 0, nhost = 0, upgrade = 0;

	for (i = 0; i < h->hd_nfields; i++) {
		f = &h->hd_fields[i];
		name = buf + f->hf_name_off;
		v = buf + f->hf_value_off;
		if (eq(name, f->hf_name_len, "connection"))
			conn |= connection_tokens(v, f->hf_value_len);
		else if (eq(name, f->hf_name_len, "upgrade"))
			upgrade = 1;
		else if (eq(name, f->hf_name_len, "host"))
			nhost++;
		else if (eq(name, f->hf_name_len, "expect") &&
		    eq(v, f->hf_value_len, "100-continue"))
			h->hd_continue = h->hd_request;
	}
	if (h->hd_request && nhost > 1)
		return hbad(h, "Host given %u times", nhost);
	/* With Transfer-Encoding, transfer_encoding() has set hd_body. */
	if (h->hd_nte == 0 && h->hd_ncl > 0)
		h->hd_body = H1_BODY_LENGTH;
	else if (h->hd_nte == 0)
		h->hd_body = h->hd_request ? H1_BODY_NONE : H1_BODY_CLOSE;
	if (!h->hd_request && no_body(h))
		h->hd_body = H1_BODY_NONE;
	if (h->hd_body != H1_BODY_LENGTH)
		h->hd_length = 0;
	h->hd_close = (conn & CONN_CLOSE) != 0 ||
	    (h->hd_minor == 0 && (conn & CONN_KEEPALIVE) == 0) ||
	    h->hd_body == H1_BODY_CLOSE;
	if (h->hd_request)
		h->hd_upgrade = upgrade && (conn & CONN_UPGRADE) != 0;
	else
		h->hd_upgrade = h->hd_status == 101;
	h->hd_rc = PEEK_DONE;
	return 0;
}

/* A line buf[hd_line..hd_line + n), its CRLF removed. */
static int
line(struct h1_head *h, const uint8_t *buf, size_t n)
{
	const uint8_t	*l = buf + h->hd_line;

	if (h->hd_nlines++ == 0) {
		if (n == 0)
			return hbad(h, "empty line where the %s line should be",
			    h->hd_request ? "request" : "status");
		return h->hd_request ? request_line(h, l, n) :
		    status_line(h, l, n);
	}
	if (n > 0)
		return field_line(h, l, n);
	return head_end(h, buf);
}

enum peek_rc
h1_feed(struct h1_head *h, const uint8_t *buf, size_t len)
{
	size_t	 i, lim;

	if (h->hd_rc != PEEK_MORE)
		return h->hd_rc;
	if (len < h->hd_scan) {
		hbad(h, "buffer shrank from %zu to %zu bytes", h->hd_scan, len);
		return PEEK_BAD;
	}
	lim = len < H1_HEAD_MAX ? len : H1_HEAD_MAX;
	for (i = h->hd_scan; i < lim; i++) {
		if (buf[i] == '\0') {
			hbad(h, "NUL byte at offset %zu", i);
			return PEEK_BAD;
		}
		if (i > 0 && buf[i - 1] == '\r' && buf[i] != '\n') {
			hbad(h, "CR without LF at offset %zu", i - 1);
			return PEEK_BAD;
		}
		if (buf[i] != '\n')
			continue;
		if (i == 0 || buf[i - 1] != '\r') {
			hbad(h, "bare LF at offset %zu", i);
			return PEEK_BAD;
		}
		if (line(h, buf, i - 1 - h->hd_line) == -1)
			return PEEK_BAD;
		h->hd_line = i + 1;
		if (h->hd_rc == PEEK_DONE) {
			h->hd_scan = h->hd_used = i + 1;
			return PEEK_DONE;
		}
	}
	h->hd_scan = i;
	if (i == H1_HEAD_MAX) {
		hbad(h, "%s head exceeds %d bytes",
		    h->hd_request ? "request" : "response", H1_HEAD_MAX);
		return PEEK_BAD;
	}
	return PEEK_MORE;
}

const uint8_t *
h1_field_get(const struct h1_head *h, const uint8_t *buf, const char *name,
    size_t *vlen)
{
	const struct h1_field	*f;
	unsigned		 i;

	for (i = 0; i < h->hd_nfields; i++) {
		f = &h->hd_fields[i];
		if (eq(buf + f->hf_name_off, f->hf_name_len, name)) {
			*vlen = f->hf_value_len;
			return buf + f->hf_value_off;
		}
	}
	*vlen = 0;
	return NULL;
}

void
h1_chunked_init(struct h1_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->hc_rc = PEEK_MORE;
	c->hc_st = CH_SIZE;
}

static int
hexval(uint8_t b)
{
	if (b >= '0' && b <= '9')
		return b - '0';
	if (b >= 'a' && b <= 'f')
		return b - 'a' + 10;
	if (b >= 'A' && b <= 'F')
		return b - 'A' + 10;
	return -1;
}

/* One byte b of a chunk-size line; c->hc_st is CH_SIZE or CH_EXT. */
static enum peek_rc
size_byte(struct h1_chunked *c, uint8_t b)
{
	int	 x;

	if (c->hc_st == CH_EXT) {
		if (b == '\r')
			c->hc_st = CH_SIZE_LF;
		else if (b != '\t' && (b < 0x20 || b > 0x7e))
			return cbad(c, "chunk extension has byte 0x%02x", b);
		return PEEK_MORE;
	}
	if ((x = hexval(b)) >= 0) {
		if (++c->hc_digits > 15)
			return cbad(c, "chunk size has more than 15 hex "
			    "digits");
		c->hc_left = c->hc_left << 4 | (uint64_t)x;
		return PEEK_MORE;
	}
	if (c->hc_digits == 0)
		return cbad(c, "chunk size line starts with byte 0x%02x, not "
		    "a hex digit", b);
	if (b == ';')
		c->hc_st = CH_EXT;
	else if (b == '\r')
		c->hc_st = CH_SIZE_LF;
	else
		return cbad(c, "chunk size is followed by byte 0x%02x, not "
		    "';' or CRLF", b);
	return PEEK_MORE;
}

/* One byte b of a trailer line; c->hc_st is CH_TR_START to CH_TR_VALUE. */
static enum peek_rc
trailer_byte(struct h1_chunked *c, uint8_t b)
{
	if (c->hc_st == CH_TR_START) {
		if (b == '\r') {
			c->hc_st = CH_END_LF;
			return PEEK_MORE;
		}
		if (is_ows(b))
			return cbad(c, "obsolete line folding: a trailer line "
			    "starts with whitespace");
		if (b == ':')
			return cbad(c, "empty trailer field name");
		c->hc_st = CH_TR_NAME;
	}
	if (c->hc_st == CH_TR_VALUE) {
		if (b == '\r')
			c->hc_st = CH_TR_LF;
		else if (!is_vbyte(b))
			return cbad(c, "trailer field value has control byte "
			    "0x%02x", b);
		return PEEK_MORE;
	}
	if (b == ':')
		c->hc_st = CH_TR_VALUE;
	else if (is_ows(b))
		return cbad(c, "whitespace between a trailer field name and "
		    "its colon");
	else if (b == '\r')
		return cbad(c, "trailer line has no ':'");
	else if (!peek_tchar(b))
		return cbad(c, "trailer field name has byte 0x%02x, not a "
		    "token character", b);
	return PEEK_MORE;
}

/* The LF of a CRLF, in state st; what comes next. */
static enum peek_rc
lf_byte(struct h1_chunked *c, uint8_t b)
{
	if (b != '\n')
		return cbad(c, "CR without LF in the chunked body (byte "
		    "0x%02x)", b);
	c->hc_linelen = 0;
	switch (c->hc_st) {
	case CH_SIZE_LF:
		c->hc_digits = 0;
		c->hc_st = c->hc_left == 0 ? CH_TR_START : CH_DATA;
		break;
	case CH_DATA_LF:
		c->hc_st = CH_SIZE;
		break;
	case CH_TR_LF:
		c->hc_st = CH_TR_START;
		break;
	default:	/* CH_END_LF */
		c->hc_rc = PEEK_DONE;
		return PEEK_DONE;
	}
	return PEEK_MORE;
}

enum peek_rc
h1_chunked_feed(struct h1_chunked *c, const uint8_t *buf, size_t len,
    size_t *used)
{
	enum peek_rc	 rc;
	size_t		 i = 0;
	uint64_t	 n;
	uint8_t		 b;

	*used = 0;
	if (c->hc_rc != PEEK_MORE)
		return c->hc_rc;
	while (i < len) {
		if (c->hc_st == CH_DATA) {
			n = len - i < c->hc_left ? len - i : c->hc_left;
			i += n;
			c->hc_left -= n;
			c->hc_total += n;
			if (c->hc_left == 0)
				c->hc_st = CH_DATA_CR;
			continue;
		}
		b = buf[i++];
		switch (c->hc_st) {
		case CH_SIZE_LF:
		case CH_DATA_LF:
		case CH_TR_LF:
		case CH_END_LF:
			rc = lf_byte(c, b);
			break;
		case CH_DATA_CR:
			if (b != '\r')
				return cbad(c, "chunk data is not followed "
				    "by CRLF (byte 0x%02x)", b);
			c->hc_st = CH_DATA_LF;
			rc = PEEK_MORE;
			break;
		default:
			if (b == '\n')
				return cbad(c, "bare LF in the chunked body");
			if (b != '\r' &&
			    ++c->hc_linelen > H1_CHUNK_LINE_MAX)
				return cbad(c, "%s line exceeds %d bytes",
				    c->hc_st <= CH_EXT ? "chunk size" :
				    "trailer", H1_CHUNK_LINE_MAX);
			if (c->hc_st <= CH_EXT)
				rc = size_byte(c, b);
			else
				rc = trailer_byte(c, b);
			break;
		}
		if (rc == PEEK_DONE) {
			*used = i;
			return PEEK_DONE;
		}
		if (rc == PEEK_BAD)
			return PEEK_BAD;
	}
	*used = len;
	return PEEK_MORE;
}
