/*
 * http1.h - HTTP/1.x message framing for the intercepting proxy (issue 9,
 * docs/endpoints.md): where each request and response head ends, what it
 * says, and where its body ends, on the decrypted stream of an intercepted
 * connection.
 *
 * Pure code: no I/O, no globals, no allocation. Resumable in the style of
 * peek.h: the caller feeds the whole buffer read so far (the pointer may
 * change between calls, the length only grows); offsets, never pointers,
 * are kept. Once a feed function has returned PEEK_DONE or PEEK_BAD it
 * returns the same again.
 *
 * Strict, because the proxy checks each request on its own: a second
 * request hidden in what we read as the first one's body (request
 * smuggling) would pass unchecked. So a request head is PEEK_BAD when the
 * proxy and a server could disagree on where it or its body ends
 * (RFC 9112 sections 2.2, 5, 6):
 *   - a bare CR or a bare LF anywhere in the head (lines end in CRLF
 *     only), a NUL or other control byte (tab allowed in values),
 *     obs-fold (a line starting with space or tab), whitespace between a
 *     field name and its colon, a field name that is not a token, an empty
 *     field name;
 *   - a request line that is not exactly METHOD SP TARGET SP HTTP/1.0|1.1
 *     (one space each, method a token of at most PEEK_METHOD_MAX bytes,
 *     target of visible ASCII only);
 *   - Transfer-Encoding in an HTTP/1.0 request, Transfer-Encoding other
 *     than exactly "chunked" (any case, after optional spaces; "chunked "
 *     with a trailing blank, a tab before it, "gzip, chunked", "chunked,
 *     chunked", "identity" are BAD), given twice, or given together with
 *     Content-Length;
 *   - Content-Length not 1 to 19 decimal digits, given more than once
 *     (even with the same value), or over H1_BODY_MAX_DECL;
 *   - Host given more than once (RFC 9112 3.2: the proxy checks the
 *     first, a server could use another);
 *   - a head over H1_HEAD_MAX bytes or with more than H1_FIELDS_MAX
 *     fields (decided as soon as the cap is passed, before the head ends).
 * A response head is checked the same way (status line exactly
 * HTTP/1.x SP 3DIGIT SP reason, the reason possibly empty; also
 * "HTTP/1.1 200" + CRLF with no reason and no space), except that
 * Transfer-Encoding is a comma list of codings (tokens, "chunked" at most
 * once) whose last coding, if not "chunked", makes the body
 * close-delimited (RFC 9112 6.3, rule 4 for responses), that
 * Transfer-Encoding with Content-Length is BAD there too, and that Host
 * is not looked at.
 */
#ifndef ISORUN_HTTP1_H
#define ISORUN_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#include "peek.h"

#define H1_HEAD_MAX	 16384		/* a head, empty line included */
#define H1_FIELDS_MAX	 100		/* header fields in one head */
#define H1_BODY_MAX_DECL ((uint64_t)1 << 53) /* a declared Content-Length */
#define H1_CHUNK_LINE_MAX 4096		/* a chunk-size line, extensions
					   included, or a trailer line */

struct h1_field {
	uint32_t	 hf_name_off, hf_name_len;
	uint32_t	 hf_value_off, hf_value_len;	/* without the leading
							   and trailing
							   whitespace */
};

enum h1_body {
	H1_BODY_NONE,		/* no body: no framing field in a request; a
				   response to HEAD, 1xx, 204 or 304 */
	H1_BODY_LENGTH,		/* hd_length bytes (may be 0) */
	H1_BODY_CHUNKED,	/* chunked: use struct h1_chunked */
	H1_BODY_CLOSE,		/* responses only: until the server closes */
};

/*
 * A request or response head. Zero it with h1_request_init() or
 * h1_response_init(). Fields hd_ are results, valid after PEEK_DONE; the
 * rest private. Offsets are into the caller's buffer.
 */
struct h1_head {
	/* results */
	int		 hd_minor;		/* HTTP/1.hd_minor: 0 or 1 */
	uint32_t	 hd_method_off, hd_method_len;	/* requests */
	uint32_t	 hd_target_off, hd_target_len;	/* requests */
	int		 hd_status;		/* responses: 100 to 999 */
	struct h1_field	 hd_fields[H1_FIELDS_MAX];
	unsigned	 hd_nfields;
	enum h1_body	 hd_body;
	uint64_t	 hd_length;		/* H1_BODY_LENGTH */
	int		 hd_close;		/* the connection ends after this
						   message: "Connection: close"
						   (any token of a comma list,
						   any case), or HTTP/1.0
						   without "keep-alive", or
						   H1_BODY_CLOSE */
	int		 hd_upgrade;		/* an Upgrade field and
						   "upgrade" among Connection's
						   tokens (requests); status
						   101 (responses) */
	int		 hd_continue;		/* requests: "Expect:
						   100-continue" */
	size_t		 hd_used;		/* the head's length, the empty
						   line included; the body
						   starts there */
	char		 hd_why[PEEK_WHY_MAX];	/* after PEEK_BAD: one
						   printable line, guest bytes
						   quoted and escaped */
	/* private */
	enum peek_rc	 hd_rc;
	int		 hd_request;
	int		 hd_head_req;		/* response to a HEAD request */
	size_t		 hd_scan;		/* next byte to look at */
	size_t		 hd_line;		/* start of the current line */
	unsigned	 hd_nlines;
	int		 hd_nte, hd_ncl;
};

void	h1_request_init(struct h1_head *);
/* `head_request`: the response answers a HEAD request (never a body). */
void	h1_response_init(struct h1_head *, int head_request);

/*
 * Parses buf[0..len). Returns PEEK_MORE (incomplete; call again with more),
 * PEEK_DONE (the results are valid; bytes from hd_used on are not part of
 * the head), or PEEK_BAD (hd_why says why).
 */
enum peek_rc	h1_feed(struct h1_head *, const uint8_t *buf, size_t len);

/*
 * The value of the first field named `name` (case-insensitive), or NULL;
 * *vlen gets its length. For the proxy's Host check and tests.
 */
const uint8_t	*h1_field_get(const struct h1_head *, const uint8_t *buf,
		    const char *name, size_t *vlen);

/*
 * A chunked body (RFC 9112 7.1): chunk-size lines (hex, at most 15 digits,
 * optional ";ext" of visible ASCII and whitespace, CRLF), chunk data each
 * followed by exactly CRLF, a last chunk of size 0, then trailer fields
 * (each a "name: value" line with the head's rules) and an empty line.
 * Bare LF, a size with no digit, more than 15 digits (leading zeros
 * count), anything but ';' or CRLF right after the digits, a chunk-size or
 * trailer line over H1_CHUNK_LINE_MAX bytes (CRLF not counted), or data
 * not followed by CRLF: BAD.
 *
 * Unlike the head parsers, this one is fed consecutive pieces, not the
 * whole body: the proxy passes each piece on as it comes and keeps none.
 */
struct h1_chunked {
	char		 hc_why[PEEK_WHY_MAX];	/* after PEEK_BAD */
	/* private */
	enum peek_rc	 hc_rc;
	int		 hc_st;
	uint64_t	 hc_left;		/* data bytes left in a chunk */
	unsigned	 hc_digits;
	size_t		 hc_linelen;
	uint64_t	 hc_total;		/* data bytes so far */
};

void		h1_chunked_init(struct h1_chunked *);

/*
 * Reads buf[0..len), the next bytes of the body. *used gets how many of
 * them belong to the body: all of them with PEEK_MORE; up to and including
 * the last CRLF of the trailer section with PEEK_DONE (what follows is the
 * next message), 0 when called again after that; undefined with PEEK_BAD.
 */
enum peek_rc	h1_chunked_feed(struct h1_chunked *, const uint8_t *buf,
		    size_t len, size_t *used);

#endif
