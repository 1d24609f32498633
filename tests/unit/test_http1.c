/*
 * test_http1.c - the HTTP/1.x framing parser of the intercepting proxy
 * (src/peek/http1.h): request and response heads, fed whole, one byte per
 * call and at every split; every BAD case of the contract, one test each;
 * the classic request smuggling shapes; the chunked body decoder at every
 * split point.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peek/http1.h"
#include "t.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
/* A literal that may hold NUL bytes, with its length. */
#define S(s)		(s), sizeof(s) - 1

enum { REQ, RESP, RESP_HEAD };	/* what to parse: h1_*_init() */

struct res {
	enum peek_rc	 rc;
	struct h1_head	 h;
	size_t		 calls;
};

static const char *
rc_name(enum peek_rc rc)
{
	switch (rc) {
	case PEEK_MORE:
		return "MORE";
	case PEEK_DONE:
		return "DONE";
	case PEEK_BAD:
		return "BAD";
	default:
		return "?";
	}
}

static void
init(struct h1_head *h, int kind)
{
	if (kind == REQ)
		h1_request_init(h);
	else
		h1_response_init(h, kind == RESP_HEAD);
}

static void
one_shot(int kind, const char *m, size_t n, struct res *r)
{
	init(&r->h, kind);
	r->rc = h1_feed(&r->h, (const uint8_t *)m, n);
	r->calls = 1;
}

/*
 * Feeds m[0..n) growing by `step` bytes per call, each time from a fresh
 * heap copy of exactly that many bytes (so that ASan sees any read past
 * len, and the pointer changes between calls as after a realloc).
 */
static void
stepped(int kind, const char *m, size_t n, size_t step, struct res *r)
{
	uint8_t	*p;
	size_t	 len = 0;

	init(&r->h, kind);
	r->rc = PEEK_MORE;
	r->calls = 0;
	do {
		len = len + step > n ? n : len + step;
		if ((p = malloc(len ? len : 1)) == NULL)
			abort();
		memcpy(p, m, len);
		r->rc = h1_feed(&r->h, p, len);
		r->calls++;
		free(p);
		if (r->rc == PEEK_MORE)
			T_CHECK(r->h.hd_scan == len, "after %zu bytes the scan "
			    "is at %zu: it would look at bytes again", len,
			    r->h.hd_scan);
	} while (r->rc == PEEK_MORE && len < n);
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

/* The results of two feeds of the same bytes agree. */
static void
check_same(const struct res *a, const struct res *b, const char *how)
{
	const struct h1_head	*x = &a->h, *y = &b->h;

	T_CHECK(a->rc == b->rc, "%s: %s, one shot %s (%s / %s)", how,
	    rc_name(b->rc), rc_name(a->rc), y->hd_why, x->hd_why);
	if (a->rc != b->rc)
		return;
	if (a->rc == PEEK_BAD)
		T_STREQ(y->hd_why, x->hd_why);
	if (a->rc != PEEK_DONE)
		return;
	T_CHECK(x->hd_used == y->hd_used && x->hd_minor == y->hd_minor &&
	    x->hd_status == y->hd_status && x->hd_body == y->hd_body &&
	    x->hd_length == y->hd_length && x->hd_close == y->hd_close &&
	    x->hd_upgrade == y->hd_upgrade &&
	    x->hd_continue == y->hd_continue &&
	    x->hd_method_off == y->hd_method_off &&
	    x->hd_method_len == y->hd_method_len &&
	    x->hd_target_off == y->hd_target_off &&
	    x->hd_target_len == y->hd_target_len &&
	    x->hd_nfields == y->hd_nfields &&
	    memcmp(x->hd_fields, y->hd_fields,
	    x->hd_nfields * sizeof(x->hd_fields[0])) == 0,
	    "%s: results differ from the one-shot feed", how);
}

/* Whole, one byte per call, and in 2, 3, 7-byte steps: the same result. */
static void
run(int kind, const char *m, size_t n, struct res *r)
{
	static const size_t	 steps[] = { 1, 2, 3, 7 };
	struct res		 s;
	char			 how[32];
	size_t			 i;

	one_shot(kind, m, n, r);
	for (i = 0; i < NELEM(steps); i++) {
		stepped(kind, m, n, steps[i], &s);
		snprintf(how, sizeof(how), "%zu-byte steps", steps[i]);
		check_same(r, &s, how);
	}
	if (r->rc == PEEK_BAD) {
		T_CHECK(r->h.hd_why[0] != '\0' && printable(r->h.hd_why),
		    "reason not one printable line: '%s'", r->h.hd_why);
		T_CHECK(h1_feed(&r->h, (const uint8_t *)"", 0) == PEEK_BAD,
		    "BAD does not stay BAD");
	} else if (r->rc == PEEK_DONE) {
		T_CHECK(h1_feed(&r->h, (const uint8_t *)m, n) == PEEK_DONE,
		    "DONE does not stay DONE");
	}
}

static int
field_is(const struct res *r, const char *m, const char *name,
    const char *want)
{
	const uint8_t	*v;
	size_t		 n;

	v = h1_field_get(&r->h, (const uint8_t *)m, name, &n);
	if (v == NULL)
		return want == NULL;
	return want != NULL && n == strlen(want) && memcmp(v, want, n) == 0;
}

/* ---- good heads ---- */

struct good {
	const char	*desc;
	int		 kind;
	const char	*m;
	enum h1_body	 body;
	uint64_t	 length;
	int		 close, upgrade, cont, minor, status;
	size_t		 used;		/* 0: all of m */
};

#define GET11	"GET /v1/x?q=1 HTTP/1.1\r\nHost: api.example.com\r\n"

static const struct good good[] = {
	{ "GET, no body", REQ, GET11 "\r\n", H1_BODY_NONE, 0, 0, 0, 0, 1, 0, 0 },
	{ "POST with Content-Length", REQ,
	    "POST /v1/chat HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n",
	    H1_BODY_LENGTH, 12, 0, 0, 0, 1, 0, 0 },
	{ "Content-Length: 0", REQ, GET11 "Content-Length: 0\r\n\r\n",
	    H1_BODY_LENGTH, 0, 0, 0, 0, 1, 0, 0 },
	{ "Content-Length with OWS around it (trimmed)", REQ,
	    GET11 "Content-Length: \t 12 \t\r\n\r\n",
	    H1_BODY_LENGTH, 12, 0, 0, 0, 1, 0, 0 },
	{ "Content-Length of 19 digits, leading zeros", REQ,
	    GET11 "Content-Length: 0000000000000000042\r\n\r\n",
	    H1_BODY_LENGTH, 42, 0, 0, 0, 1, 0, 0 },
	{ "Content-Length exactly H1_BODY_MAX_DECL", REQ,
	    GET11 "Content-Length: 9007199254740992\r\n\r\n",
	    H1_BODY_LENGTH, (uint64_t)1 << 53, 0, 0, 0, 1, 0, 0 },
	{ "chunked", REQ, GET11 "Transfer-Encoding: chunked\r\n\r\n",
	    H1_BODY_CHUNKED, 0, 0, 0, 0, 1, 0, 0 },
	{ "CHUNKED in capitals, name in any case, no space", REQ,
	    GET11 "transfer-ENCODING:ChUnKeD\r\n\r\n",
	    H1_BODY_CHUNKED, 0, 0, 0, 0, 1, 0, 0 },
	{ "HTTP/1.0 closes", REQ, "GET / HTTP/1.0\r\n\r\n",
	    H1_BODY_NONE, 0, 1, 0, 0, 0, 0, 0 },
	{ "HTTP/1.0 with Connection: Keep-Alive stays open", REQ,
	    "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 0, 0, 0 },
	{ "HTTP/1.0 with keep-alive and close closes", REQ,
	    "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close"
	    "\r\n\r\n", H1_BODY_NONE, 0, 1, 0, 0, 0, 0, 0 },
	{ "Connection: close", REQ, GET11 "Connection: close\r\n\r\n",
	    H1_BODY_NONE, 0, 1, 0, 0, 1, 0, 0 },
	{ "Connection list with CLOSE in it", REQ,
	    GET11 "Connection: foo ,\tCLOSE , bar\r\n\r\n",
	    H1_BODY_NONE, 0, 1, 0, 0, 1, 0, 0 },
	{ "Connection: closed is not close", REQ,
	    GET11 "Connection: closed, xclose\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 1, 0, 0 },
	{ "Connection list with empty elements", REQ,
	    GET11 "Connection: , ,keep-alive,, close,\r\n\r\n",
	    H1_BODY_NONE, 0, 1, 0, 0, 1, 0, 0 },
	{ "WebSocket upgrade", REQ,
	    GET11 "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 1, 0, 1, 0, 0 },
	{ "Upgrade without Connection: upgrade", REQ,
	    GET11 "Upgrade: websocket\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 1, 0, 0 },
	{ "Connection: upgrade without Upgrade", REQ,
	    GET11 "Connection: upgrade\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 1, 0, 0 },
	{ "Expect: 100-Continue", REQ,
	    "PUT /f HTTP/1.1\r\nHost: a\r\nExpect:  100-Continue \r\n"
	    "Content-Length: 5\r\n\r\n", H1_BODY_LENGTH, 5, 0, 0, 1, 1, 0, 0 },
	{ "Expect: something else", REQ, GET11 "Expect: 200-ok\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 1, 0, 0 },
	{ "a value with obs-text and a tab", REQ,
	    GET11 "X-Name: caf\xc3\xa9\tok\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 1, 0, 0 },
	{ "an empty value", REQ, GET11 "X-Empty:\r\nX-Blank: \t \r\n\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 1, 0, 0 },
	{ "32-byte method, absolute target", REQ,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_!#$% http://a/b?c#d HTTP/1.1\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 1, 0, 0 },
	{ "pipelined: the next request is not the head's", REQ,
	    "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n"
	    "abcGET /b HTTP/1.1\r\nHost: a\r\n\r\n",
	    H1_BODY_LENGTH, 3, 0, 0, 0, 1, 0, 48 },
	{ "pipelined GETs", REQ, GET11 "\r\n" GET11 "\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 1, 0, sizeof(GET11 "\r\n") - 1 },

	{ "200 with Content-Length", RESP,
	    "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n",
	    H1_BODY_LENGTH, 7, 0, 0, 0, 1, 200, 0 },
	{ "200 chunked", RESP,
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	    H1_BODY_CHUNKED, 0, 0, 0, 0, 1, 200, 0 },
	{ "200 without framing: until close", RESP,
	    "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n",
	    H1_BODY_CLOSE, 0, 1, 0, 0, 1, 200, 0 },
	{ "gzip, chunked: chunked", RESP,
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip ,\tChunked \r\n\r\n",
	    H1_BODY_CHUNKED, 0, 0, 0, 0, 1, 200, 0 },
	{ "gzip alone: until close", RESP,
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
	    H1_BODY_CLOSE, 0, 1, 0, 0, 1, 200, 0 },
	{ "chunked, gzip: until close", RESP,
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
	    H1_BODY_CLOSE, 0, 1, 0, 0, 1, 200, 0 },
	{ "status line without reason or space", RESP,
	    "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
	    H1_BODY_LENGTH, 0, 0, 0, 0, 1, 200, 0 },
	{ "status line with an empty reason", RESP,
	    "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
	    H1_BODY_LENGTH, 0, 0, 0, 0, 1, 404, 0 },
	{ "reason with obs-text and tab", RESP,
	    "HTTP/1.1 200 Tr\xe8s\tbien\r\nContent-Length: 0\r\n\r\n",
	    H1_BODY_LENGTH, 0, 0, 0, 0, 1, 200, 0 },
	{ "status 999", RESP, "HTTP/1.1 999 x\r\nContent-Length: 1\r\n\r\n",
	    H1_BODY_LENGTH, 1, 0, 0, 0, 1, 999, 0 },
	{ "204 with Content-Length: none", RESP,
	    "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 1, 204, 0 },
	{ "304 with Content-Length: none", RESP,
	    "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 1, 304, 0 },
	{ "304 without framing: none, not close", RESP,
	    "HTTP/1.1 304 Not Modified\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 1, 304, 0 },
	{ "response to HEAD with Content-Length: none", RESP_HEAD,
	    "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 1, 200, 0 },
	{ "response to HEAD, chunked: none", RESP_HEAD,
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 1, 200, 0 },
	{ "response to HEAD without framing: none, not close", RESP_HEAD,
	    "HTTP/1.1 200 OK\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 1, 200, 0 },
	{ "100 Continue then the final response", RESP,
	    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 1, 100, 25 },
	{ "103 Early Hints", RESP,
	    "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 0, 0, 1, 103, 0 },
	{ "101 Switching Protocols", RESP,
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n\r\n",
	    H1_BODY_NONE, 0, 0, 1, 0, 1, 101, 0 },
	{ "HTTP/1.0 response with Content-Length closes", RESP,
	    "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n",
	    H1_BODY_LENGTH, 2, 1, 0, 0, 0, 200, 0 },
	{ "HTTP/1.0 response with keep-alive", RESP,
	    "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
	    "Content-Length: 2\r\n\r\n",
	    H1_BODY_LENGTH, 2, 0, 0, 0, 0, 200, 0 },
	{ "response with Connection: close", RESP,
	    "HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 2\r\n\r\n",
	    H1_BODY_LENGTH, 2, 1, 0, 0, 1, 200, 0 },
	{ "Expect in a response means nothing", RESP,
	    "HTTP/1.1 200 OK\r\nExpect: 100-continue\r\nContent-Length: 0"
	    "\r\n\r\n", H1_BODY_LENGTH, 0, 0, 0, 0, 1, 200, 0 },
};

static void
head_good(const struct good *g)
{
	struct res	 r;
	size_t		 n = strlen(g->m);

	run(g->kind, g->m, n, &r);
	T_CHECK(r.rc == PEEK_DONE, "got %s: %s", rc_name(r.rc), r.h.hd_why);
	if (r.rc != PEEK_DONE)
		return;
	T_CHECK(r.h.hd_used == (g->used ? g->used : n), "hd_used %zu, want "
	    "%zu", r.h.hd_used, g->used ? g->used : n);
	T_CHECK(r.h.hd_body == g->body, "body %d, want %d", r.h.hd_body,
	    g->body);
	T_CHECK(r.h.hd_length == g->length, "length %llu, want %llu",
	    (unsigned long long)r.h.hd_length,
	    (unsigned long long)g->length);
	T_CHECK(r.h.hd_close == g->close, "close %d", r.h.hd_close);
	T_CHECK(r.h.hd_upgrade == g->upgrade, "upgrade %d", r.h.hd_upgrade);
	T_CHECK(r.h.hd_continue == g->cont, "continue %d", r.h.hd_continue);
	T_CHECK(r.h.hd_minor == g->minor, "minor %d", r.h.hd_minor);
	T_CHECK(r.h.hd_status == g->status, "status %d", r.h.hd_status);
}

/* ---- BAD heads: every case of the contract, one each ---- */

struct bad {
	const char	*desc;
	int		 kind;
	const char	*m;
	size_t		 n;
	const char	*why;		/* a substring of hd_why */
};

#define H	"GET / HTTP/1.1\r\nHost: a\r\n"
#define R	"HTTP/1.1 200 OK\r\n"

static const struct bad bad[] = {
	{ "bare LF ending the request line", REQ,
	    S("GET / HTTP/1.1\nHost: a\r\n\r\n"), "bare LF at offset 14" },
	{ "bare LF ending a field line", REQ, S(H "X: y\n\r\n"),
	    "bare LF at offset 29" },
	{ "bare LF as the empty line", REQ, S(H "\n"), "bare LF at offset 25" },
	{ "bare LF inside a value", REQ, S(H "X: a\nb\r\n\r\n"), "bare LF" },
	{ "bare CR inside the request line", REQ,
	    S("GET /\r HTTP/1.1\r\n\r\n"), "CR without LF at offset 5" },
	{ "bare CR inside a value", REQ, S(H "X: a\rb\r\n\r\n"),
	    "CR without LF at offset 29" },
	{ "CR CR LF", REQ, S(H "\r\r\n"), "CR without LF at offset 25" },
	{ "NUL in the request line", REQ, S("GET /\0 HTTP/1.1\r\n\r\n"),
	    "NUL byte at offset 5" },
	{ "NUL in a value", REQ, S(H "X: a\0b\r\n\r\n"),
	    "NUL byte at offset 29" },
	{ "control byte 0x01 in a value", REQ, S(H "X-A: a\001b\r\n\r\n"),
	    "field 'X-A' has control byte 0x01" },
	{ "ESC in a value", REQ, S(H "X: \033[31m\r\n\r\n"),
	    "control byte 0x1b" },
	{ "DEL in a value", REQ, S(H "X: a\177\r\n\r\n"),
	    "control byte 0x7f" },
	{ "vertical tab in a value", REQ, S(H "X: a\vb\r\n\r\n"),
	    "control byte 0x0b" },
	{ "obs-fold with a space", REQ, S(H "X: a\r\n b\r\n\r\n"),
	    "obsolete line folding" },
	{ "obs-fold with a tab", REQ, S(H "X: a\r\n\tb\r\n\r\n"),
	    "obsolete line folding" },
	{ "a field line starting with whitespace right after the request "
	    "line", REQ, S("GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
	    "obsolete line folding" },
	{ "space between the field name and its colon", REQ,
	    S(H "X-Y : z\r\n\r\n"),
	    "whitespace between field name 'X-Y' and its colon" },
	{ "tab between the field name and its colon", REQ,
	    S(H "X-Y\t: z\r\n\r\n"), "whitespace between field name" },
	{ "field name with a non-token byte", REQ, S(H "X(y): z\r\n\r\n"),
	    "field name 'X' has byte 0x28, not a token character" },
	{ "field name with a high byte", REQ, S(H "X\xff: z\r\n\r\n"),
	    "has byte 0xff" },
	{ "field name with '@'", REQ, S(H "a@b: z\r\n\r\n"), "byte 0x40" },
	{ "empty field name", REQ, S(H ": z\r\n\r\n"), "empty field name" },
	{ "field line without a colon", REQ, S(H "NoColon\r\n\r\n"),
	    "field line 'NoColon' has no ':'" },
	{ "empty first line", REQ, S("\r\nGET / HTTP/1.1\r\n\r\n"),
	    "empty line where the request line should be" },
	{ "two spaces after the method", REQ, S("GET  / HTTP/1.1\r\n\r\n"),
	    "malformed request line 'GET  / HTTP/1.1'" },
	{ "two spaces before the version", REQ,
	    S("GET /  HTTP/1.1\r\n\r\n"), "version ' HTTP/1.1'" },
	{ "a space after the version", REQ, S("GET / HTTP/1.1 \r\n\r\n"),
	    "version 'HTTP/1.1 '" },
	{ "a tab as separator", REQ, S("GET\t/ HTTP/1.1\r\n\r\n"),
	    "malformed request line" },
	{ "no version", REQ, S("GET /\r\n\r\n"), "malformed request line" },
	{ "only a method", REQ, S("GET\r\n\r\n"), "malformed request line" },
	{ "leading space", REQ, S(" GET / HTTP/1.1\r\n\r\n"),
	    "malformed request line" },
	{ "method not a token", REQ, S("G@T / HTTP/1.1\r\n\r\n"),
	    "malformed request line" },
	{ "33-byte method", REQ,
	    S("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456 / HTTP/1.1\r\n\r\n"),
	    "method is 33 bytes long, over 32" },
	{ "target with a high byte", REQ, S("GET /caf\xe9 HTTP/1.1\r\n\r\n"),
	    "request-target has byte 0xe9" },
	{ "target with DEL", REQ, S("GET /\177 HTTP/1.1\r\n\r\n"),
	    "request-target has byte 0x7f" },
	{ "HTTP/1.2", REQ, S("GET / HTTP/1.2\r\n\r\n"),
	    "version 'HTTP/1.2' is not HTTP/1.0 or HTTP/1.1" },
	{ "HTTP/2.0", REQ, S("GET / HTTP/2.0\r\n\r\n"), "version 'HTTP/2.0'" },
	{ "lower-case http/1.1", REQ, S("GET / http/1.1\r\n\r\n"),
	    "version 'http/1.1'" },
	{ "HTTP/1.10", REQ, S("GET / HTTP/1.10\r\n\r\n"),
	    "version 'HTTP/1.10'" },
	{ "Transfer-Encoding in an HTTP/1.0 request", REQ,
	    S("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    "Transfer-Encoding in an HTTP/1.0 request" },
	{ "Transfer-Encoding: gzip, chunked", REQ,
	    S(H "Transfer-Encoding: gzip, chunked\r\n\r\n"),
	    "Transfer-Encoding ' gzip, chunked' is not exactly 'chunked'" },
	{ "Transfer-Encoding: chunked, chunked", REQ,
	    S(H "Transfer-Encoding: chunked, chunked\r\n\r\n"),
	    "not exactly 'chunked'" },
	{ "Transfer-Encoding: identity", REQ,
	    S(H "Transfer-Encoding: identity\r\n\r\n"),
	    "not exactly 'chunked'" },
	{ "Transfer-Encoding empty", REQ, S(H "Transfer-Encoding:\r\n\r\n"),
	    "not exactly 'chunked'" },
	{ "Transfer-Encoding twice", REQ,
	    S(H "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
	    "\r\n\r\n"), "Transfer-Encoding given more than once" },
	{ "Transfer-Encoding then Content-Length", REQ,
	    S(H "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
	    "both Transfer-Encoding and Content-Length" },
	{ "Content-Length then Transfer-Encoding", REQ,
	    S(H "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    "both Transfer-Encoding and Content-Length" },
	{ "Content-Length empty", REQ, S(H "Content-Length: \r\n\r\n"),
	    "Content-Length '' is not 1 to 19 decimal digits" },
	{ "Content-Length of 20 digits", REQ,
	    S(H "Content-Length: 00000000000000000001\r\n\r\n"),
	    "is not 1 to 19 decimal digits" },
	{ "Content-Length negative", REQ, S(H "Content-Length: -1\r\n\r\n"),
	    "Content-Length '-1' is not" },
	{ "Content-Length a list", REQ, S(H "Content-Length: 5, 5\r\n\r\n"),
	    "Content-Length '5, 5' is not" },
	{ "Content-Length with a space inside", REQ,
	    S(H "Content-Length: 1 2\r\n\r\n"), "'1 2' is not" },
	{ "Content-Length with a letter", REQ,
	    S(H "Content-Length: 12a\r\n\r\n"), "'12a' is not" },
	{ "Content-Length over H1_BODY_MAX_DECL", REQ,
	    S(H "Content-Length: 9007199254740993\r\n\r\n"),
	    "Content-Length '9007199254740993' is over 9007199254740992" },
	{ "Content-Length of 19 nines", REQ,
	    S(H "Content-Length: 9999999999999999999\r\n\r\n"), "is over" },
	{ "Content-Length twice, different", REQ,
	    S(H "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"),
	    "Content-Length given more than once" },
	{ "Host twice", REQ, S(H "Host: b\r\n\r\n"), "Host given 2 times" },

	{ "status line HTTP/2", RESP, S("HTTP/2 200 OK\r\n\r\n"),
	    "status line 'HTTP/2 200 OK' does not start with HTTP/1.0" },
	{ "status line HTTP/1.2", RESP, S("HTTP/1.2 200 OK\r\n\r\n"),
	    "does not start with HTTP/1.0" },
	{ "status line without status", RESP, S("HTTP/1.1\r\n\r\n"),
	    "no 3-digit status code" },
	{ "status line, two spaces", RESP, S("HTTP/1.1  200 OK\r\n\r\n"),
	    "no 3-digit status code" },
	{ "status 2 digits", RESP, S("HTTP/1.1 20 OK\r\n\r\n"),
	    "no 3-digit status code" },
	{ "status 4 digits", RESP, S("HTTP/1.1 2000 OK\r\n\r\n"),
	    "no 3-digit status code" },
	{ "status 099", RESP, S("HTTP/1.1 099 x\r\n\r\n"),
	    "no 3-digit status code" },
	{ "status glued to the reason", RESP, S("HTTP/1.1 200OK\r\n\r\n"),
	    "no 3-digit status code" },
	{ "status line with a leading space", RESP,
	    S(" HTTP/1.1 200 OK\r\n\r\n"), "does not start with" },
	{ "reason with a control byte", RESP, S("HTTP/1.1 200 O\001K\r\n\r\n"),
	    "reason phrase has control byte 0x01" },
	{ "response: bare LF", RESP, S("HTTP/1.1 200 OK\nX: y\r\n\r\n"),
	    "bare LF at offset 15" },
	{ "response: obs-fold", RESP, S(R "X: a\r\n b\r\n\r\n"),
	    "obsolete line folding" },
	{ "response: Transfer-Encoding with Content-Length", RESP,
	    S(R "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
	    "both Transfer-Encoding and Content-Length" },
	{ "response: Content-Length with Transfer-Encoding: gzip", RESP,
	    S(R "Content-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\n"),
	    "both Transfer-Encoding and Content-Length" },
	{ "response: Transfer-Encoding in HTTP/1.0", RESP,
	    S("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    "Transfer-Encoding in an HTTP/1.0 response" },
	{ "response: chunked, chunked", RESP,
	    S(R "Transfer-Encoding: chunked, chunked\r\n\r\n"),
	    "Transfer-Encoding 'chunked, chunked': chunked more than once" },
	{ "response: chunked then gzip then chunked", RESP,
	    S(R "Transfer-Encoding: chunked, gzip, chunked\r\n\r\n"),
	    "chunked more than once" },
	{ "response: Transfer-Encoding empty", RESP,
	    S(R "Transfer-Encoding: , \r\n\r\n"),
	    "Transfer-Encoding is empty" },
	{ "response: a coding that is not a token", RESP,
	    S(R "Transfer-Encoding: gzip;q=1, chunked\r\n\r\n"),
	    "coding 'gzip;q=1' is not a token" },
	{ "response: Transfer-Encoding twice", RESP,
	    S(R "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    "Transfer-Encoding given more than once" },
	{ "response: Content-Length twice, same value", RESP,
	    S(R "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"),
	    "Content-Length given more than once" },
	{ "response: Content-Length '+5'", RESP,
	    S(R "Content-Length: +5\r\n\r\n"), "'+5' is not" },
	{ "response to HEAD: bad Content-Length still BAD", RESP_HEAD,
	    S(R "Content-Length: x\r\n\r\n"), "'x' is not" },
	{ "204: Transfer-Encoding with Content-Length still BAD", RESP,
	    S("HTTP/1.1 204 No\r\nContent-Length: 0\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n"), "both Transfer-Encoding and Content-Length" },
	{ "response: empty first line", RESP, S("\r\nHTTP/1.1 200 OK\r\n\r\n"),
	    "empty line where the status line should be" },
};

static void
head_bad(const struct bad *b)
{
	struct res	 r;

	run(b->kind, b->m, b->n, &r);
	T_CHECK(r.rc == PEEK_BAD, "got %s", rc_name(r.rc));
	T_CHECK(strstr(r.h.hd_why, b->why) != NULL, "why '%s', want '%s'",
	    r.h.hd_why, b->why);
}

/*
 * Request smuggling (CL.TE, TE.CL, TE.TE and the usual obfuscations): the
 * proxy and a server could split the stream differently. All BAD.
 */
static const struct bad smuggle[] = {
	{ "CL.TE", REQ, S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 13"
	    "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED"),
	    "both Transfer-Encoding and Content-Length" },
	{ "TE.CL", REQ, S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	    "chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n"),
	    "both Transfer-Encoding and Content-Length" },
	{ "TE.TE: 'chunked ' (trailing space)", REQ,
	    S(H "Transfer-Encoding: chunked \r\n\r\n"),
	    "Transfer-Encoding ' chunked ' is not exactly 'chunked'" },
	{ "TE.TE: tab before chunked", REQ,
	    S(H "Transfer-Encoding:\tchunked\r\n\r\n"),
	    "'\\x09chunked' is not exactly 'chunked'" },
	{ "TE.TE: xchunked", REQ, S(H "Transfer-Encoding: xchunked\r\n\r\n"),
	    "' xchunked' is not exactly" },
	{ "TE.TE: chunked, identity", REQ,
	    S(H "Transfer-Encoding: chunked, identity\r\n\r\n"),
	    "' chunked, identity' is not exactly" },
	{ "TE.TE: chunked then x", REQ,
	    S(H "Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n"),
	    "Transfer-Encoding given more than once" },
	{ "TE.TE: quoted \"chunked\"", REQ,
	    S(H "Transfer-Encoding: \"chunked\"\r\n\r\n"),
	    "is not exactly 'chunked'" },
	{ "TE.TE: 'Transfer-Encoding : chunked'", REQ,
	    S(H "Transfer-Encoding : chunked\r\n\r\n"),
	    "whitespace between field name 'Transfer-Encoding' and its colon" },
	{ "TE.TE: ' Transfer-Encoding: chunked' as obs-fold", REQ,
	    S(H "X: y\r\n Transfer-Encoding: chunked\r\n\r\n"),
	    "obsolete line folding" },
	{ "TE.TE: 'Transfer-Encoding\\n: chunked'", REQ,
	    S(H "Transfer-Encoding\n: chunked\r\n\r\n"), "bare LF" },
	{ "TE.TE: 'X: X\\nTransfer-Encoding: chunked'", REQ,
	    S(H "X: X\nTransfer-Encoding: chunked\r\n\r\n"), "bare LF" },
	{ "TE.TE: vertical tab", REQ,
	    S(H "Transfer-Encoding:\vchunked\r\n\r\n"), "control byte 0x0b" },
	{ "TE.TE: Transfer_Encoding is another field, but with CL", REQ,
	    S(H "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"
	    "Transfer_Encoding: chunked\r\n\r\n"), "both Transfer-Encoding" },
	{ "CL '+12'", REQ, S(H "Content-Length: +12\r\n\r\n"),
	    "Content-Length '+12' is not 1 to 19 decimal digits" },
	{ "CL '0x10'", REQ, S(H "Content-Length: 0x10\r\n\r\n"),
	    "Content-Length '0x10' is not" },
	{ "CL '1e3'", REQ, S(H "Content-Length: 1e3\r\n\r\n"), "'1e3' is not" },
	{ "CL twice, same value", REQ,
	    S(H "Content-Length: 12\r\nContent-Length: 12\r\n\r\n"),
	    "Content-Length given more than once" },
	{ "CL with a space before the colon", REQ,
	    S(H "Content-Length : 12\r\n\r\n"), "whitespace between" },
	{ "bare LF before the request ('\\nGET')", REQ,
	    S("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), "bare LF at offset 0" },
	{ "bare LF ends the head ('\\n\\n')", REQ,
	    S("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\n\nGET /x"),
	    "bare LF" },
	{ "NUL hides a field", REQ,
	    S(H "X: a\0\r\nContent-Length: 5\r\n\r\n"), "NUL byte" },
};

/* The results do not depend on how the bytes arrive. */
static void
splits(const struct good *g)
{
	struct res	 one, s;
	uint8_t		*p;
	size_t		 n = strlen(g->m), k;
	char		 how[32];

	one_shot(g->kind, g->m, n, &one);
	/* k bytes first, then all of it: every split point */
	for (k = 0; k <= n; k++) {
		init(&s.h, g->kind);
		if ((p = malloc(n + 1)) == NULL)
			abort();
		memcpy(p, g->m, n);
		s.rc = h1_feed(&s.h, p, k);
		if (s.rc == PEEK_MORE)
			s.rc = h1_feed(&s.h, p, n);
		free(p);
		snprintf(how, sizeof(how), "split at %zu", k);
		check_same(&one, &s, how);
		/* a prefix shorter than the head is never DONE */
		init(&s.h, g->kind);
		s.rc = h1_feed(&s.h, (const uint8_t *)g->m, k);
		T_CHECK(k >= one.h.hd_used ? s.rc == PEEK_DONE :
		    s.rc == PEEK_MORE, "prefix of %zu bytes: %s", k,
		    rc_name(s.rc));
	}
}

/* The next message starts at hd_used: parse a stream of them. */
static void
pipelined(void)
{
	static const char m[] =
	    "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
	    "GET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	    "GET /c HTTP/1.1\r\nHost: a\r\n";
	struct h1_head	 h;
	const uint8_t	*b = (const uint8_t *)m;
	size_t		 off;

	h1_request_init(&h);
	T_CHECK(h1_feed(&h, b, sizeof(m) - 1) == PEEK_DONE, "%s", h.hd_why);
	T_CHECK(h.hd_used == 48, "used %zu", h.hd_used);
	T_CHECK(h.hd_body == H1_BODY_LENGTH && h.hd_length == 3, "body");
	T_CHECK(h.hd_method_off == 0 && h.hd_method_len == 4 &&
	    memcmp(b + h.hd_target_off, "/a", 2) == 0 &&
	    h.hd_target_len == 2, "method/target");
	off = h.hd_used + h.hd_length;
	h1_request_init(&h);
	T_CHECK(h1_feed(&h, b + off, sizeof(m) - 1 - off) == PEEK_DONE,
	    "second: %s", h.hd_why);
	T_CHECK(h.hd_close && h.hd_body == H1_BODY_NONE, "second: framing");
	T_CHECK(h.hd_target_len == 2 &&
	    memcmp(b + off + h.hd_target_off, "/b", 2) == 0, "second target");
	off += h.hd_used;
	h1_request_init(&h);
	T_CHECK(h1_feed(&h, b + off, sizeof(m) - 1 - off) == PEEK_MORE,
	    "third is incomplete: %s", h.hd_why);
}

/* Offsets, values trimmed, case-insensitive names, first of several. */
static void
fields(void)
{
	static const char m[] = "PUT /x HTTP/1.1\r\nHost:  api.example.com \t"
	    "\r\nX-Dup: one\r\nx-dup: two\r\nX-Empty:\r\nAuthorization: "
	    "Bearer guest\r\n\r\n";
	struct res	 r;
	const struct h1_field *f;
	unsigned	 i;

	run(REQ, m, sizeof(m) - 1, &r);
	T_CHECK(r.rc == PEEK_DONE, "%s", r.h.hd_why);
	T_CHECK(r.h.hd_nfields == 5, "%u fields", r.h.hd_nfields);
	T_CHECK(field_is(&r, m, "HOST", "api.example.com"), "Host");
	T_CHECK(field_is(&r, m, "x-DUP", "one"), "X-Dup is the first");
	T_CHECK(field_is(&r, m, "X-Empty", ""), "X-Empty");
	T_CHECK(field_is(&r, m, "authorization", "Bearer guest"), "auth");
	T_CHECK(field_is(&r, m, "X-Absent", NULL), "absent");
	T_CHECK(field_is(&r, m, "X-Du", NULL), "a prefix is not the name");
	f = &r.h.hd_fields[1];
	T_CHECK(f->hf_name_off == 43 && f->hf_name_len == 5 &&
	    f->hf_value_off == 50 && f->hf_value_len == 3, "X-Dup offsets "
	    "%u %u %u %u", f->hf_name_off, f->hf_name_len, f->hf_value_off,
	    f->hf_value_len);
	for (i = 0; i < r.h.hd_nfields; i++) {
		f = &r.h.hd_fields[i];
		T_CHECK(m[f->hf_name_off + f->hf_name_len] == ':' &&
		    f->hf_value_off + f->hf_value_len < r.h.hd_used,
		    "field %u offsets", i);
	}
	T_CHECK(memcmp(m + r.h.hd_method_off, "PUT", 3) == 0 &&
	    r.h.hd_method_len == 3 && r.h.hd_target_off == 4 &&
	    r.h.hd_target_len == 2, "method and target");
}

struct buf {
	char	 b[2 * H1_HEAD_MAX];
	size_t	 n;
};

static struct buf B;

static void
put(struct buf *b, const char *s)
{
	size_t	 n = strlen(s);

	if (b->n + n > sizeof(b->b))
		abort();
	memcpy(b->b + b->n, s, n);
	b->n += n;
}

/* A request head of exactly `size` bytes (one long field pads it). */
static void
head_of(struct buf *b, size_t size)
{
	static const char	 a[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";

	b->n = 0;
	put(b, a);
	memset(b->b + b->n, 'p', size - b->n - 4);
	b->n = size - 4;
	put(b, "\r\n\r\n");
}

static void
cap_head(void)
{
	struct res	 r;

	head_of(&B, H1_HEAD_MAX);
	run(REQ, B.b, B.n, &r);
	T_CHECK(r.rc == PEEK_DONE && r.h.hd_used == H1_HEAD_MAX,
	    "%d bytes: %s %s", H1_HEAD_MAX, rc_name(r.rc), r.h.hd_why);
	head_of(&B, H1_HEAD_MAX + 1);
	run(REQ, B.b, B.n, &r);
	T_CHECK(r.rc == PEEK_BAD && strstr(r.h.hd_why, "request head "
	    "exceeds 16384 bytes") != NULL, "%d bytes: %s %s",
	    H1_HEAD_MAX + 1, rc_name(r.rc), r.h.hd_why);
	/* decided as soon as the cap is passed, before the head ends */
	run(REQ, B.b, H1_HEAD_MAX - 1, &r);
	T_CHECK(r.rc == PEEK_MORE, "%d bytes, no end: %s", H1_HEAD_MAX - 1,
	    rc_name(r.rc));
	run(REQ, B.b, H1_HEAD_MAX, &r);
	T_CHECK(r.rc == PEEK_BAD, "%d bytes, no end yet: %s", H1_HEAD_MAX,
	    rc_name(r.rc));
	memcpy(B.b, "HTTP/1.1 200 OK\r\nX-Pad: ", 24);
	memset(B.b + 24, 'p', 9);
	run(RESP, B.b, B.n, &r);
	T_CHECK(r.rc == PEEK_BAD && strstr(r.h.hd_why, "response head "
	    "exceeds") != NULL, "response: %s %s", rc_name(r.rc),
	    r.h.hd_why);
}

static void
cap_fields(void)
{
	struct res	 r;
	char		 l[32];
	int		 i;

	B.n = 0;
	put(&B, "GET / HTTP/1.1\r\n");
	for (i = 0; i < H1_FIELDS_MAX; i++) {
		snprintf(l, sizeof(l), "X-%d: %d\r\n", i, i);
		put(&B, l);
	}
	put(&B, "\r\n");
	run(REQ, B.b, B.n, &r);
	T_CHECK(r.rc == PEEK_DONE && r.h.hd_nfields == H1_FIELDS_MAX,
	    "%d fields: %s %s", H1_FIELDS_MAX, rc_name(r.rc), r.h.hd_why);
	T_CHECK(field_is(&r, B.b, "x-99", "99"), "the last field");
	B.n -= 2;
	put(&B, "X-Extra: 1\r\n");
	run(REQ, B.b, B.n, &r);
	T_CHECK(r.rc == PEEK_BAD && strstr(r.h.hd_why, "more than 100 "
	    "header fields") != NULL, "%d fields, no end yet: %s %s",
	    H1_FIELDS_MAX + 1, rc_name(r.rc), r.h.hd_why);
}

static void
shrink(void)
{
	struct h1_head	 h;

	h1_request_init(&h);
	T_CHECK(h1_feed(&h, (const uint8_t *)"GET / HT", 8) == PEEK_MORE,
	    "prefix");
	T_CHECK(h1_feed(&h, (const uint8_t *)"GET", 3) == PEEK_BAD,
	    "shrunk buffer");
	T_STREQ(h.hd_why, "buffer shrank from 8 to 3 bytes");
}

/* Guest bytes in a reason are quoted and escaped: no forged log line. */
static void
escaped(void)
{
	static const char m[] = "GET /\r\n\r\n";
	struct res	 r;

	run(REQ, S("G\033]0;x\007T / HTTP/1.1\r\n\r\n"), &r);
	T_STREQ(r.h.hd_why, "malformed request line 'G\\x1b]0;x\\x07T / "
	    "HTTP/1.1'");
	run(REQ, S("GET / HTTP/1.1\xe2\x80\xa8\r\n\r\n"), &r);
	T_STREQ(r.h.hd_why, "request line: version 'HTTP/1.1\\xe2\\x80\\xa8' "
	    "is not HTTP/1.0 or HTTP/1.1");
	run(REQ, S("GET / HTTP/1.1\r\nTransfer-Encoding: \xff\"'\\chunked"
	    "\r\n\r\n"), &r);
	T_STREQ(r.h.hd_why, "Transfer-Encoding ' \\xff\"\\'\\\\chunked' is "
	    "not exactly 'chunked'");
	run(REQ, m, sizeof(m) - 1, &r);
	T_STREQ(r.h.hd_why, "malformed request line 'GET /'");
	/* quotes are cut: the reason stays one short line */
	head_of(&B, 200);
	memset(B.b, '\001', 100);
	run(REQ, B.b, B.n, &r);
	T_CHECK(r.rc == PEEK_BAD && strlen(r.h.hd_why) < PEEK_WHY_MAX &&
	    printable(r.h.hd_why) && strstr(r.h.hd_why, "\\x01...'") != NULL,
	    "long reason '%s'", r.h.hd_why);
}

/* Each byte is looked at once: 16 KiB one byte per call is quick. */
static void
linear(void)
{
	struct res	 r;
	struct timespec	 a, b;
	double		 ms;

	head_of(&B, H1_HEAD_MAX);
	clock_gettime(CLOCK_MONOTONIC, &a);
	stepped(REQ, B.b, B.n, 1, &r);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	T_CHECK(r.rc == PEEK_DONE && r.calls == B.n, "%s after %zu calls",
	    rc_name(r.rc), r.calls);
	T_CHECK(ms < 1000, "%zu bytes one at a time took %.0f ms", B.n, ms);
}

/* ---- chunked bodies ---- */

struct cres {
	enum peek_rc	 rc;
	size_t		 used;		/* of the whole input */
	char		 why[PEEK_WHY_MAX];
};

/*
 * Feeds m[0..n) in pieces ending at the offsets cuts[0..ncuts) then n,
 * each a fresh heap copy of exactly its bytes (the decoder keeps none).
 */
static void
chunked_run(const char *m, size_t n, const size_t *cuts, size_t ncuts,
    struct cres *r)
{
	struct h1_chunked c;
	uint8_t		*p;
	size_t		 i, from = 0, to, used;

	h1_chunked_init(&c);
	r->rc = PEEK_MORE;
	r->used = 0;
	r->why[0] = '\0';
	for (i = 0; i <= ncuts && r->rc == PEEK_MORE; i++) {
		to = i < ncuts ? cuts[i] : n;
		if ((p = malloc(to - from + 1)) == NULL)
			abort();
		memcpy(p, m + from, to - from);
		r->rc = h1_chunked_feed(&c, p, to - from, &used);
		free(p);
		if (r->rc == PEEK_MORE)
			T_CHECK(used == to - from, "MORE used %zu of %zu",
			    used, to - from);
		if (r->rc != PEEK_BAD)
			r->used = from + used;
		from = to;
	}
	if (r->rc == PEEK_BAD) {
		snprintf(r->why, sizeof(r->why), "%s", c.hc_why);
		T_CHECK(c.hc_why[0] != '\0' && printable(c.hc_why),
		    "reason '%s'", c.hc_why);
	}
	if (r->rc != PEEK_MORE) {
		T_CHECK(h1_chunked_feed(&c, (const uint8_t *)"0\r\n\r\n", 5,
		    &used) == r->rc && (r->rc == PEEK_BAD || used == 0),
		    "%s does not stay (used %zu)", rc_name(r->rc), used);
	}
}

struct cgood {
	const char	*desc;
	const char	*m;
	size_t		 n;
	size_t		 used;		/* the body's length */
	uint64_t	 total;		/* data bytes */
};

static const struct cgood cgood[] = {
	{ "one chunk", S("5\r\nhello\r\n0\r\n\r\n"), 15, 5 },
	{ "only the last chunk", S("0\r\n\r\n"), 5, 0 },
	{ "next message follows", S("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1"),
	    15, 5 },
	{ "two chunks, hex sizes in both cases", S("a\r\n0123456789\r\n"
	    "1F\r\n0123456789abcdef0123456789abcde\r\n0\r\n\r\n"), 57, 41 },
	{ "leading zeros, 15 digits", S("00000000000000a\r\n0123456789\r\n"
	    "000\r\n\r\n"), 36, 10 },
	{ "extensions", S("5;name=value;q=\"a b\"\r\nhello\r\n"
	    "0;last\t=\t1\r\n\r\n"), 43, 5 },
	{ "trailers", S("3\r\nabc\r\n0\r\nX-Sum: 123\r\nX-Empty:\r\n"
	    "X-Tab:\ta b\xc3\xa9\r\n\r\nnext"), 49, 3 },
	{ "data holding CRLF and what looks like a chunk",
	    S("7\r\n\r\n0\r\n\r\n\r\n0\r\n\r\n"), 17, 7 },
	{ "data holding NUL and bare LF", S("4\r\n\0\n\r\0\r\n0\r\n\r\n"), 14,
	    4 },
};

static void
chunked_good(const struct cgood *g)
{
	struct h1_chunked c;
	struct cres	 one, s;
	size_t		 k, k2, cuts[2], used, all = 0;
	enum peek_rc	 rc = PEEK_MORE;

	chunked_run(g->m, g->n, NULL, 0, &one);
	T_CHECK(one.rc == PEEK_DONE && one.used == g->used, "%s used %zu, "
	    "want %zu: %s", rc_name(one.rc), one.used, g->used, one.why);
	/* every split point, and every pair of split points */
	for (k = 0; k <= g->n; k++) {
		for (k2 = k; k2 <= g->n; k2++) {
			cuts[0] = k;
			cuts[1] = k2;
			chunked_run(g->m, g->n, cuts, 2, &s);
			T_CHECK(s.rc == one.rc && s.used == one.used,
			    "cut at %zu and %zu: %s used %zu", k, k2,
			    rc_name(s.rc), s.used);
		}
	}
	/* one byte per call */
	h1_chunked_init(&c);
	for (k = 0; k < g->n && rc == PEEK_MORE; k++) {
		rc = h1_chunked_feed(&c, (const uint8_t *)g->m + k, 1, &used);
		all += used;
	}
	T_CHECK(rc == PEEK_DONE && all == g->used && c.hc_total == g->total,
	    "bytes: %s used %zu total %llu", rc_name(rc), all,
	    (unsigned long long)c.hc_total);
	/* a prefix short of the end is never DONE */
	for (k = 0; k < g->used; k++) {
		chunked_run(g->m, k, NULL, 0, &s);
		T_CHECK(s.rc == PEEK_MORE, "prefix %zu: %s %s", k,
		    rc_name(s.rc), s.why);
	}
}

struct cbad {
	const char	*desc;
	const char	*m;
	size_t		 n;
	const char	*why;
};

static const struct cbad cbad[] = {
	{ "bare LF after the size", S("5\nhello\r\n0\r\n\r\n"),
	    "bare LF in the chunked body" },
	{ "bare LF after the last chunk", S("0\n\r\n"), "bare LF" },
	{ "bare LF as the final line", S("0\r\n\n"), "bare LF" },
	{ "bare LF ending a trailer", S("0\r\nX: y\n\r\n"), "bare LF" },
	{ "bare LF in an extension", S("5;a\nhello\r\n"), "bare LF" },
	{ "empty size line", S("\r\n"), "chunk size line starts with byte "
	    "0x0d, not a hex digit" },
	{ "size is only an extension", S(";x\r\n"), "starts with byte 0x3b" },
	{ "size not hex", S("g\r\n"), "starts with byte 0x67" },
	{ "negative size", S("-5\r\n"), "starts with byte 0x2d" },
	{ "size with 0x", S("0x5\r\n"), "chunk size is followed by byte 0x78" },
	{ "size with a leading space", S(" 5\r\n"), "starts with byte 0x20" },
	{ "size with a trailing space", S("5 \r\nhello\r\n"),
	    "chunk size is followed by byte 0x20, not ';' or CRLF" },
	{ "whitespace before ';'", S("5 ;x\r\nhello\r\n"), "byte 0x20" },
	{ "size with '+'", S("+5\r\n"), "starts with byte 0x2b" },
	{ "16 hex digits", S("0000000000000005\r\nhello\r\n0\r\n\r\n"),
	    "chunk size has more than 15 hex digits" },
	{ "16 hex digits of value", S("ffffffffffffffff\r\n"),
	    "more than 15 hex digits" },
	{ "CR without LF after the size", S("5\rhello"), "CR without LF" },
	{ "data one byte longer than the size", S("5\r\nhello!\r\n0\r\n\r\n"),
	    "chunk data is not followed by CRLF (byte 0x21)" },
	{ "data followed by LF only", S("5\r\nhello\n0\r\n\r\n"),
	    "chunk data is not followed by CRLF (byte 0x0a)" },
	{ "data followed by CR only", S("5\r\nhello\r0\r\n\r\n"),
	    "CR without LF in the chunked body (byte 0x30)" },
	{ "data shorter than the size (CL.TE-style)",
	    S("8\r\nSMUG\r\n0\r\n\r\nGED\r\n"), "not followed by CRLF" },
	{ "extension with a control byte", S("5;a\001b\r\nhello\r\n"),
	    "chunk extension has byte 0x01" },
	{ "extension with a high byte", S("5;\xff\r\nhello\r\n"),
	    "chunk extension has byte 0xff" },
	{ "extension with NUL", S("5;\0\r\nhello\r\n"), "byte 0x00" },
	{ "final line is CR then junk", S("0\r\n\rX"), "CR without LF" },
	{ "trailer obs-fold", S("0\r\nX: a\r\n b\r\n\r\n"),
	    "obsolete line folding" },
	{ "trailer starting with a tab", S("0\r\n\tX: a\r\n\r\n"),
	    "obsolete line folding" },
	{ "trailer without colon", S("0\r\nNoColon\r\n\r\n"),
	    "trailer line has no ':'" },
	{ "trailer with whitespace before the colon", S("0\r\nX : a\r\n\r\n"),
	    "whitespace between a trailer field name and its colon" },
	{ "trailer name not a token", S("0\r\nX(y): a\r\n\r\n"),
	    "trailer field name has byte 0x28" },
	{ "trailer empty name", S("0\r\n: a\r\n\r\n"),
	    "empty trailer field name" },
	{ "trailer value with a control byte", S("0\r\nX: a\001\r\n\r\n"),
	    "trailer field value has control byte 0x01" },
	{ "trailer value with DEL", S("0\r\nX: \177\r\n\r\n"),
	    "control byte 0x7f" },
	{ "trailer bare CR", S("0\r\nX: a\rb\r\n\r\n"), "CR without LF" },
	{ "trailer NUL", S("0\r\nX: a\0\r\n\r\n"), "control byte 0x00" },
};

static void
chunked_bad(const struct cbad *b)
{
	struct cres	 one, s;
	size_t		 k, cuts[1];

	chunked_run(b->m, b->n, NULL, 0, &one);
	T_CHECK(one.rc == PEEK_BAD && strstr(one.why, b->why) != NULL,
	    "%s: '%s', want '%s'", rc_name(one.rc), one.why, b->why);
	for (k = 0; k <= b->n; k++) {
		cuts[0] = k;
		chunked_run(b->m, b->n, cuts, 1, &s);
		T_CHECK(s.rc == one.rc && strcmp(s.why, one.why) == 0,
		    "cut at %zu: %s '%s'", k, rc_name(s.rc), s.why);
	}
}

/* Lines up to H1_CHUNK_LINE_MAX bytes (CRLF not counted), not one more. */
static void
chunked_caps(void)
{
	static char	 m[H1_CHUNK_LINE_MAX + 64];
	struct cres	 r;
	size_t		 n;

	/* a size line: "5;" then padding */
	memcpy(m, "5;", 2);
	memset(m + 2, 'e', H1_CHUNK_LINE_MAX - 2);
	n = H1_CHUNK_LINE_MAX;
	memcpy(m + n, "\r\nhello\r\n0\r\n\r\n", 14);
	chunked_run(m, n + 14, NULL, 0, &r);
	T_CHECK(r.rc == PEEK_DONE && r.used == n + 14, "size line of %d: "
	    "%s %s", H1_CHUNK_LINE_MAX, rc_name(r.rc), r.why);
	m[n] = 'e';
	chunked_run(m, n + 1, NULL, 0, &r);
	T_CHECK(r.rc == PEEK_BAD && strstr(r.why, "chunk size line exceeds "
	    "4096 bytes") != NULL, "size line of %d, no end yet: %s %s",
	    H1_CHUNK_LINE_MAX + 1, rc_name(r.rc), r.why);
	/* a trailer line: "0\r\nX: " then padding */
	memcpy(m, "0\r\nX: ", 6);
	memset(m + 6, 'v', H1_CHUNK_LINE_MAX - 3);
	n = 3 + H1_CHUNK_LINE_MAX;
	memcpy(m + n, "\r\n\r\n", 4);
	chunked_run(m, n + 4, NULL, 0, &r);
	T_CHECK(r.rc == PEEK_DONE && r.used == n + 4, "trailer of %d: %s %s",
	    H1_CHUNK_LINE_MAX, rc_name(r.rc), r.why);
	m[n] = 'v';
	chunked_run(m, n + 1, NULL, 0, &r);
	T_CHECK(r.rc == PEEK_BAD && strstr(r.why, "trailer line exceeds") !=
	    NULL, "trailer of %d: %s %s", H1_CHUNK_LINE_MAX + 1,
	    rc_name(r.rc), r.why);
	/* the 15-digit maximum size is read, not refused */
	chunked_run(S("fffffffffffffff\r\nabc"), NULL, 0, &r);
	T_CHECK(r.rc == PEEK_MORE && r.used == 20, "15 f: %s %s",
	    rc_name(r.rc), r.why);
}

/* A head and its chunked body, as the proxy runs them. */
static void
head_then_body(void)
{
	static const char m[] = "POST /up HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "4\r\nWiki\r\n6;x=y\r\npedia \r\n0\r\nX-T: 1\r\n\r\n"
	    "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
	struct h1_head	 h;
	struct h1_chunked c;
	const uint8_t	*b = (const uint8_t *)m;
	size_t		 used, off;

	h1_request_init(&h);
	T_CHECK(h1_feed(&h, b, sizeof(m) - 1) == PEEK_DONE &&
	    h.hd_body == H1_BODY_CHUNKED, "head: %s", h.hd_why);
	h1_chunked_init(&c);
	T_CHECK(h1_chunked_feed(&c, b + h.hd_used, sizeof(m) - 1 - h.hd_used,
	    &used) == PEEK_DONE, "body: %s", c.hc_why);
	T_CHECK(c.hc_total == 10, "data %llu", (unsigned long long)c.hc_total);
	off = h.hd_used + used;
	T_CHECK(memcmp(m + off, "GET /next", 9) == 0, "next at %zu", off);
	h1_request_init(&h);
	T_CHECK(h1_feed(&h, b + off, sizeof(m) - 1 - off) == PEEK_DONE &&
	    h.hd_used == sizeof(m) - 1 - off, "next: %s", h.hd_why);
}

int
main(void)
{
	size_t	 i;

	for (i = 0; i < NELEM(good); i++)
		T_RUN(head_good(&good[i]), "good: %s", good[i].desc);
	for (i = 0; i < NELEM(good); i++)
		T_RUN(splits(&good[i]), "every split: %s", good[i].desc);
	for (i = 0; i < NELEM(bad); i++)
		T_RUN(head_bad(&bad[i]), "bad: %s", bad[i].desc);
	for (i = 0; i < NELEM(smuggle); i++)
		T_RUN(head_bad(&smuggle[i]), "smuggling: %s", smuggle[i].desc);
	T_RUN(pipelined(), "pipelined requests: hd_used");
	T_RUN(fields(), "fields: offsets, h1_field_get");
	T_RUN(cap_head(), "head cap H1_HEAD_MAX");
	T_RUN(cap_fields(), "field cap H1_FIELDS_MAX");
	T_RUN(shrink(), "a shrinking buffer is BAD");
	T_RUN(escaped(), "reasons quote guest bytes escaped");
	T_RUN(linear(), "16 KiB one byte per call, each byte looked at once");
	for (i = 0; i < NELEM(cgood); i++)
		T_RUN(chunked_good(&cgood[i]), "chunked good: %s",
		    cgood[i].desc);
	for (i = 0; i < NELEM(cbad); i++)
		T_RUN(chunked_bad(&cbad[i]), "chunked bad: %s", cbad[i].desc);
	T_RUN(chunked_caps(), "chunked line caps, 15-digit size");
	T_RUN(head_then_body(), "head, chunked body, next request");
	return t_done();
}
