/*
 * tls.c - the TLS ClientHello parser: SNI and a few flags, from a hello
 * reassembled across any number of handshake records.
 *
 * Two layers. The record layer walks the caller's buffer record by record
 * and hands each payload slice to the message layer, a byte-wise state
 * machine over the handshake message: every field is either an integer
 * (read one byte at a time, so it may straddle records) or a run of bytes
 * to skip or copy. Each field is checked against the innermost enclosing
 * length before it is read, so a lie in any length is caught where it is
 * told, and a cap is enforced before the bytes it announces arrive.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "../common/err.h"
#include "peek.h"

#define REC_HANDSHAKE	22
#define REC_MAX		16384	/* RFC 8446 5.1: 2^14 */
#define HS_CLIENT_HELLO	1

#define EXT_SERVER_NAME	0
#define EXT_ALPN	16
#define EXT_SUPPORTED_VERSIONS 43
#define EXT_ECH		0xfe0d

/* What the next bytes of the handshake message are. */
enum {
	S_TYPE,		/* msg_type */
	S_LEN,		/* 24-bit length */
	S_VERSION,	/* legacy_version */
	S_RANDOM,	/* skip 32 */
	S_SIDLEN,
	S_SID,		/* skip */
	S_CSLEN,
	S_CS,		/* skip */
	S_COMPLEN,
	S_COMP,		/* skip */
	S_EXTSLEN,
	S_EXTTYPE,
	S_EXTLEN,
	S_EXTBODY,	/* skip: an extension we do not read */
	S_SNLISTLEN,	/* server_name: ServerNameList length */
	S_SNTYPE,	/* NameType */
	S_SNLEN,
	S_SNNAME,	/* copy into th_name */
	S_ALPNLEN,	/* ALPN: ProtocolNameList length */
	S_ALPNPLEN,
	S_ALPNP,	/* skip */
	S_DONE,
};

static const char *const field[] = {
	"handshake type", "ClientHello length", "legacy_version", "random",
	"session id length", "session id", "cipher suites length",
	"cipher suites", "compression methods length", "compression methods",
	"extensions length", "extension type", "extension length",
	"extension", "server_name list length", "server_name type",
	"server_name length", "server_name", "ALPN list length",
	"ALPN protocol length", "ALPN protocol", "",
};

static int
is_skip(int st)
{
	return st == S_RANDOM || st == S_SID || st == S_CS || st == S_COMP ||
	    st == S_EXTBODY || st == S_SNNAME || st == S_ALPNP;
}

static int bad(struct tls_hello *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(struct tls_hello *t, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(t->th_why, sizeof(t->th_why), fmt, ap);
	va_end(ap);
	t->th_rc = PEEK_BAD;
	return -1;
}

void
peek_tls_init(struct tls_hello *t)
{
	memset(t, 0, sizeof(*t));
	t->th_rc = PEEK_MORE;
	t->th_st = S_TYPE;
	t->th_need = 1;
}

/* The next field is `need` bytes of `st` and must end by `end`. */
static int
expect(struct tls_hello *t, int st, uint32_t need, uint32_t end)
{
	if (t->th_pos + need > end)
		return bad(t, "ClientHello %s: %u bytes at offset %u run past "
		    "the end of the enclosing field at %u", field[st], need,
		    t->th_pos, end);
	t->th_st = st;
	t->th_need = need;
	t->th_val = 0;
	return 0;
}

static int
next_ext(struct tls_hello *t)
{
	if (t->th_pos == t->th_msgend) {
		t->th_st = S_DONE;
		return 0;
	}
	return expect(t, S_EXTTYPE, 2, t->th_msgend);
}

static int
ext_type(struct tls_hello *t, uint32_t v)
{
	uint16_t i;

	for (i = 0; i < t->th_next; i++)
		if (t->th_ext[i] == v)
			return bad(t, "ClientHello has extension %u twice", v);
	if (t->th_next == PEEK_TLS_EXTS_MAX)
		return bad(t, "ClientHello has more than %d extensions",
		    PEEK_TLS_EXTS_MAX);
	t->th_ext[t->th_next++] = (uint16_t)v;
	t->th_exttype = (uint16_t)v;
	return expect(t, S_EXTLEN, 2, t->th_msgend);
}

static int
ext_start(struct tls_hello *t, uint32_t v)
{
	if (t->th_pos + v > t->th_msgend)
		return bad(t, "extension %u declares %u bytes, %u remain in "
		    "the ClientHello", t->th_exttype, v,
		    t->th_msgend - t->th_pos);
	t->th_extend = t->th_pos + v;
	switch (t->th_exttype) {
	case EXT_SERVER_NAME:
		return expect(t, S_SNLISTLEN, 2, t->th_extend);
	case EXT_ALPN:
		t->th_flags |= TLS_HELLO_ALPN;
		return expect(t, S_ALPNLEN, 2, t->th_extend);
	case EXT_SUPPORTED_VERSIONS:
		t->th_flags |= TLS_HELLO_SV;
		break;
	case EXT_ECH:
		t->th_flags |= TLS_HELLO_ECH;
		break;
	}
	return expect(t, S_EXTBODY, v, t->th_extend);
}

static int
sni_done(struct tls_hello *t)
{
	char		 q[140];
	size_t		 n;
	enum peek_host	 k;

	if (t->th_pos != t->th_listend)
		return bad(t, "server_name has more than one entry");
	k = peek_host_check(t->th_name, t->th_namelen, &n, "server_name",
	    t->th_why, sizeof(t->th_why));
	if (k == PEEK_HOST_BAD) {
		t->th_rc = PEEK_BAD;
		return -1;
	}
	if (k == PEEK_HOST_IPV4) {
		str_quote(t->th_name, t->th_namelen, 32, q, sizeof(q));
		return bad(t, "server_name %s is an IP literal, not a name", q);
	}
	t->th_namelen = n;
	t->th_name[n] = '\0';
	return next_ext(t);
}

/* The field that just ended was value v (or a run of bytes); go on. */
static int
step(struct tls_hello *t)
{
	uint32_t v = t->th_val, pos = t->th_pos, end = t->th_msgend;

	switch (t->th_st) {
	case S_TYPE:
		if (v != HS_CLIENT_HELLO)
			return bad(t, "handshake message type %u is not "
			    "ClientHello (1)", v);
		return expect(t, S_LEN, 3, 4);
	case S_LEN:
		if (v > PEEK_TLS_MAX)
			return bad(t, "ClientHello declares %u bytes, cap is "
			    "%d", v, PEEK_TLS_MAX);
		t->th_msgend = 4 + v;
		return expect(t, S_VERSION, 2, t->th_msgend);
	case S_VERSION:
		if (v < 0x0301 || v > 0x0303)
			return bad(t, "ClientHello version 0x%04x is not TLS "
			    "1.0 to 1.2 (0x0301-0x0303)", v);
		t->th_version = (uint16_t)v;
		return expect(t, S_RANDOM, 32, end);
	case S_RANDOM:
		return expect(t, S_SIDLEN, 1, end);
	case S_SIDLEN:
		if (v > 32)
			return bad(t, "session id of %u bytes, max 32", v);
		return expect(t, S_SID, v, end);
	case S_SID:
		return expect(t, S_CSLEN, 2, end);
	case S_CSLEN:
		if (v == 0 || v % 2 != 0)
			return bad(t, "cipher suites length %u is not a "
			    "positive even number", v);
		return expect(t, S_CS, v, end);
	case S_CS:
		return expect(t, S_COMPLEN, 1, end);
	case S_COMPLEN:
		if (v == 0)
			return bad(t, "ClientHello offers no compression method");
		return expect(t, S_COMP, v, end);
	case S_COMP:
		if (pos == end) {
			t->th_st = S_DONE;
			return 0;
		}
		return expect(t, S_EXTSLEN, 2, end);
	case S_EXTSLEN:
		if (pos + v != end)
			return bad(t, "extensions block declares %u bytes, %u "
			    "remain in the ClientHello", v, end - pos);
		return next_ext(t);
	case S_EXTTYPE:
		return ext_type(t, v);
	case S_EXTLEN:
		return ext_start(t, v);
	case S_EXTBODY:
		return next_ext(t);
	case S_SNLISTLEN:
		if (pos + v != t->th_extend)
			return bad(t, "server_name list declares %u bytes, its "
			    "extension has %u", v, t->th_extend - pos);
		if (v == 0)
			return bad(t, "server_name list is empty");
		t->th_listend = t->th_extend;
		return expect(t, S_SNTYPE, 1, t->th_listend);
	case S_SNTYPE:
		if (v != 0)
			return bad(t, "server_name entry of type %u is not "
			    "host_name (0)", v);
		return expect(t, S_SNLEN, 2, t->th_listend);
	case S_SNLEN:
		if (v == 0)
			return bad(t, "server_name is empty");
		if (v > PEEK_NAME_MAX + 1)
			return bad(t, "server_name is %u bytes long, over %d",
			    v, PEEK_NAME_MAX);
		t->th_namelen = 0;
		return expect(t, S_SNNAME, v, t->th_listend);
	case S_SNNAME:
		return sni_done(t);
	case S_ALPNLEN:
		if (pos + v != t->th_extend)
			return bad(t, "ALPN list declares %u bytes, its "
			    "extension has %u", v, t->th_extend - pos);
		if (v == 0)
			return bad(t, "ALPN list is empty");
		return expect(t, S_ALPNPLEN, 1, t->th_extend);
	case S_ALPNPLEN:
		if (v == 0)
			return bad(t, "ALPN protocol name is empty");
		return expect(t, S_ALPNP, v, t->th_extend);
	case S_ALPNP:
		t->th_nalpn++;
		if (pos == t->th_extend)
			return next_ext(t);
		return expect(t, S_ALPNPLEN, 1, t->th_extend);
	}
	return bad(t, "ClientHello parser in state %d", t->th_st);
}

/*
 * Feeds n bytes of handshake message. Returns how many were used (fewer
 * than n only when the message ended), or -1 when it is BAD.
 */
static ssize_t
msg_feed(struct tls_hello *t, const uint8_t *p, size_t n)
{
	size_t	 i = 0, k;

	while (i < n && t->th_st != S_DONE) {
		if (!is_skip(t->th_st)) {
			t->th_val = t->th_val << 8 | p[i++];
			k = 1;
		} else {
			k = n - i < t->th_need ? n - i : t->th_need;
			if (t->th_st == S_SNNAME) {
				memcpy(t->th_name + t->th_namelen, p + i, k);
				t->th_namelen += k;
			}
			i += k;
		}
		t->th_pos += (uint32_t)k;
		t->th_need -= (uint32_t)k;
		while (t->th_need == 0 && t->th_st != S_DONE)
			if (step(t) == -1)
				return -1;
	}
	return (ssize_t)i;
}

/* Reads a record header at p (avail bytes). 1: read, 0: need more, -1. */
static int
rec_header(struct tls_hello *t, const uint8_t *p, size_t avail)
{
	unsigned v, n;

	/* a record is at least 6 bytes: never wait with a full buffer */
	if (t->th_off + 6 > PEEK_TLS_WIRE_MAX)
		return bad(t, "ClientHello records exceed %d bytes",
		    PEEK_TLS_WIRE_MAX);
	if (p[0] != REC_HANDSHAKE) {
		if (t->th_off == 0 && (p[0] & 0x80))
			return bad(t, "SSLv2-compatible ClientHello, not "
			    "supported");
		return bad(t, "TLS record of type %u where a handshake record "
		    "(22) must be", p[0]);
	}
	if (avail < 3)
		return 0;
	v = (unsigned)p[1] << 8 | p[2];
	if (v < 0x0301 || v > 0x0303)
		return bad(t, "TLS record version 0x%04x is not TLS 1.0 to 1.2 "
		    "(0x0301-0x0303)", v);
	if (avail < 5)
		return 0;
	n = (unsigned)p[3] << 8 | p[4];
	if (n == 0)
		return bad(t, "empty TLS handshake record");
	if (n > REC_MAX)
		return bad(t, "TLS record declares %u bytes, max %d", n,
		    REC_MAX);
	if (t->th_off + 5 + n > PEEK_TLS_WIRE_MAX)
		return bad(t, "ClientHello records exceed %d bytes",
		    PEEK_TLS_WIRE_MAX);
	t->th_off += 5;
	t->th_recleft = n;
	return 1;
}

enum peek_rc
peek_tls_feed(struct tls_hello *t, const uint8_t *buf, size_t len)
{
	ssize_t	 used;
	size_t	 k;
	int	 r;

	if (t->th_rc != PEEK_MORE)
		return t->th_rc;
	if (len < t->th_off) {
		bad(t, "buffer shrank from %zu to %zu bytes", t->th_off, len);
		return PEEK_BAD;
	}
	while (t->th_off < len) {
		if (t->th_recleft == 0) {
			if ((r = rec_header(t, buf + t->th_off,
			    len - t->th_off)) == -1)
				return PEEK_BAD;
			if (r == 0)
				return PEEK_MORE;
			continue;
		}
		k = len - t->th_off;
		if (k > t->th_recleft)
			k = t->th_recleft;
		if ((used = msg_feed(t, buf + t->th_off, k)) == -1)
			return PEEK_BAD;
		t->th_off += (size_t)used;
		t->th_recleft -= (size_t)used;
		if (t->th_st == S_DONE) {
			if (t->th_recleft != 0) {
				bad(t, "%zu bytes follow the ClientHello in "
				    "its record", t->th_recleft);
				return PEEK_BAD;
			}
			t->th_used = t->th_off;
			t->th_rc = PEEK_DONE;
			return PEEK_DONE;
		}
	}
	return PEEK_MORE;
}
