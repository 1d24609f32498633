/*
 * peek.h - read a name from the first bytes a guest sends on a TCP
 * connection: the SNI of a TLS ClientHello, or the Host of an HTTP/1.x
 * request head. And the two replies the proxy sends when it blocks after a
 * peek.
 *
 * Pure code: no I/O, no globals, no allocation. The proxy owns the bytes and
 * the parser state (a plain struct, usually inside its connection).
 *
 * Both parsers are resumable. The proxy calls the feed function each time
 * more bytes arrived, with the whole buffer read so far: the pointer may
 * change between calls (a realloc), the length only grows. The parser keeps
 * offsets, never pointers, and resumes where it stopped, so a hello that
 * arrives one byte per segment costs O(n) in all. Once a feed function has
 * returned PEEK_DONE or PEEK_BAD, it returns the same again without looking
 * at the buffer.
 *
 * Fail closed: anything these parsers cannot read unambiguously is PEEK_BAD,
 * which the proxy must treat as blocked, never as "no name". See
 * docs/peek.md for what is BAD and why.
 */
#ifndef ISORUN_PEEK_H
#define ISORUN_PEEK_H

#include <stddef.h>
#include <stdint.h>

#define PEEK_TLS_MAX	 65536	/* ClientHello body, bytes (its declared length) */
#define PEEK_TLS_WIRE_MAX 131072 /* the records that carry it, headers included */
#define PEEK_TLS_EXTS_MAX 128	/* extensions in one hello */
#define PEEK_HTTP_MAX	 16384	/* request head, up to and including the empty line */
#define PEEK_METHOD_MAX	 32
#define PEEK_NAME_MAX	 253	/* host name, trailing dot removed */
#define PEEK_WHY_MAX	 192	/* reason text, NUL included */

enum peek_rc {
	PEEK_MORE,	/* not enough bytes to tell: call again with more */
	PEEK_DONE,	/* complete; the results are valid */
	PEEK_BAD,	/* invalid or over a cap: block; the reason says why */
	PEEK_TLS,	/* peek_classify(): a TLS record (or SSLv2 hello) */
	PEEK_HTTP,	/* peek_classify(): an HTTP method token and a space */
	PEEK_OTHER,	/* peek_classify(): neither; there is no name to read */
};

/*
 * Returns PEEK_TLS if buf starts with 0x16 (a TLS handshake record), or looks
 * like an SSLv2-compatible ClientHello (which the TLS parser then refuses);
 * PEEK_HTTP if it starts with 1 to PEEK_METHOD_MAX token characters and a
 * space; PEEK_MORE if it could still become either; PEEK_OTHER otherwise.
 */
enum peek_rc	 peek_classify(const uint8_t *buf, size_t len);

#define TLS_HELLO_ALPN	0x01	/* application_layer_protocol_negotiation */
#define TLS_HELLO_ECH	0x02	/* encrypted_client_hello (0xfe0d): the SNI is
				   then the outer, public name; real or GREASE
				   cannot be told apart */
#define TLS_HELLO_SV	0x04	/* supported_versions (a TLS 1.3 client) */

/*
 * A TLS ClientHello, reassembled from any number of handshake records.
 * Zero it with peek_tls_init(). Fields th_ are results, the rest private.
 */
struct tls_hello {
	/* results, after PEEK_DONE */
	char		 th_name[PEEK_NAME_MAX + 2]; /* SNI host name, as sent
					   but without a trailing dot, NUL-
					   terminated; "" when there is none */
	size_t		 th_namelen;
	size_t		 th_used;	/* bytes of the buffer the hello's
					   records take; what follows them is
					   not part of the hello */
	uint16_t	 th_version;	/* legacy_version: 0x0301 to 0x0303 */
	uint16_t	 th_nalpn;	/* protocols in the ALPN list */
	unsigned	 th_flags;	/* TLS_HELLO_* */
	/* after PEEK_BAD: one printable line; guest bytes quoted */
	char		 th_why[PEEK_WHY_MAX];
	/* private */
	enum peek_rc	 th_rc;
	size_t		 th_off;	/* next unread byte of the buffer */
	size_t		 th_recleft;	/* payload bytes left in this record */
	uint32_t	 th_pos;	/* handshake message bytes read */
	uint32_t	 th_need;	/* bytes left in the current field */
	uint32_t	 th_val;	/* integer field being read */
	uint32_t	 th_msgend, th_extend, th_listend; /* in th_pos terms */
	int		 th_st;
	uint16_t	 th_exttype;
	uint16_t	 th_next;
	uint16_t	 th_ext[PEEK_TLS_EXTS_MAX]; /* types seen, for duplicates */
};

void		 peek_tls_init(struct tls_hello *);

/*
 * Parses buf[0..len), the bytes received so far (see the top of this file).
 * Returns:
 *   PEEK_MORE  the hello is not complete yet;
 *   PEEK_DONE  a well-formed ClientHello: th_name (maybe ""), th_used, ...;
 *   PEEK_BAD   th_why says why. Caps are enforced as soon as a length is
 *              declared, before its bytes arrive: a hello over PEEK_TLS_MAX,
 *              records over PEEK_TLS_WIRE_MAX, a record over 16384 bytes.
 * The proxy never needs to buffer more than PEEK_TLS_WIRE_MAX bytes: with
 * that many, the result is never PEEK_MORE.
 */
enum peek_rc	 peek_tls_feed(struct tls_hello *, const uint8_t *buf,
		    size_t len);

enum http_form {
	HTTP_ORIGIN,	/* "/path" */
	HTTP_ABSOLUTE,	/* "http://authority/path" */
	HTTP_AUTHORITY,	/* "host:port", CONNECT only */
	HTTP_ASTERISK,	/* "*", OPTIONS only */
};

/*
 * An HTTP/1.0 or 1.1 request head. Zero it with peek_http_init(). Fields hh_
 * are results, the rest private. Offsets are into the caller's buffer.
 */
struct http_head {
	/* results, after PEEK_DONE */
	size_t		 hh_method_off, hh_method_len;
	size_t		 hh_target_off, hh_target_len;
	enum http_form	 hh_form;
	int		 hh_minor;	/* HTTP/1.hh_minor: 0 or 1 */
	char		 hh_host[PEEK_NAME_MAX + 1]; /* the name: from the
					   authority of an absolute-form or
					   CONNECT target, else from Host;
					   port, brackets and trailing dot
					   removed; "" when there is none */
	size_t		 hh_hostlen;
	int		 hh_host_ip;	/* hh_host is an IPv4 or IPv6 literal:
					   the connection has no name */
	uint16_t	 hh_port;	/* from the same place; 0: not given */
	size_t		 hh_used;	/* head length, empty line included */
	char		 hh_why[PEEK_WHY_MAX];	/* after PEEK_BAD */
	/* private */
	enum peek_rc	 hh_rc;
	size_t		 hh_scan;	/* next byte to look at */
	size_t		 hh_line;	/* start of the current line */
	unsigned	 hh_nlines;
	int		 hh_auth;	/* hh_host came from the target */
	int		 hh_nhost;	/* Host headers seen */
	int		 hh_notreq;	/* with PEEK_BAD: the first line is not
					   an HTTP request line at all (e.g.
					   "SSH-2.0-OpenSSH_9.2p1 Debian"): not
					   HTTP, rather than bad HTTP */
};

void		 peek_http_init(struct http_head *);

/*
 * Parses buf[0..len), the bytes received so far. Returns PEEK_MORE until the
 * empty line that ends the head has arrived (it needs the whole head, to see
 * every Host header); PEEK_DONE with the results; PEEK_BAD with hh_why, also
 * as soon as PEEK_HTTP_MAX bytes hold no complete head (so with that many,
 * the result is never PEEK_MORE). The body, or a next request, after
 * hh_used is not looked at.
 */
enum peek_rc	 peek_http_feed(struct http_head *, const uint8_t *buf,
		    size_t len);

/* What peek_host_check() found. */
enum peek_host {
	PEEK_HOST_BAD = -1,
	PEEK_HOST_NAME = 0,	/* a DNS host name */
	PEEK_HOST_IPV4,		/* a dotted-quad IPv4 literal */
};

/*
 * Checks that name[0..len) is a host name: letters, digits, '-', '_' and
 * '.'; labels of 1 to 63 bytes; at most 253 bytes without one trailing dot;
 * a last label of digits only is an IPv4 literal when it is a strict dotted
 * quad, and PEEK_HOST_BAD otherwise. Sets *namelen to the length without the
 * trailing dot. On PEEK_HOST_BAD, writes why (quoting the name) to why.
 * `what` names the input in that message ("server_name", "Host").
 */
enum peek_host	 peek_host_check(const char *name, size_t len,
		    size_t *namelen, const char *what, char *why,
		    size_t whylen);

/*
 * The 7-byte TLS record the proxy sends to refuse a ClientHello: a fatal
 * alert (level 2), access_denied (49), record version 0x0303.
 */
#define TLS_ALERT_LEN	7
const uint8_t	*tls_alert_access_denied(void);

/*
 * Writes into buf (size len) a complete HTTP/1.1 403 response with
 * Content-Type text/plain, Content-Length and Connection: close, whose body
 * is the line "isorun: blocked HOST (rule RULE)\n". host and rule (NULL
 * means "") are echoed with CR, LF and other control bytes removed, and cut
 * at 255 and 1100 bytes. Returns the response's length, not counting the
 * NUL written after it, or -1 if response and NUL do not fit in len bytes.
 */
int		 http_forbidden(char *buf, size_t len, const char *host,
		    const char *rule);

#endif
