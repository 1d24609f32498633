/*
 * fuzz_http1.c - the HTTP/1.x framing parser (peek/http1.h) on arbitrary
 * bytes, differentially. The first byte picks what the rest is: bit 0 a
 * response (else a request), bit 1 a response to HEAD, bit 2 a chunked
 * body alone. A head is fed whole, in increments derived from the input and
 * (when short) one byte per call, each time from an exact-size heap copy,
 * and must end the same way; after a DONE chunked head, the body that
 * follows goes to the chunked decoder. The decoder is fed whole, in pieces
 * and one byte per call, and must agree with itself. Checks what a result
 * promises: offsets inside the head, no NUL, bare CR or bare LF in a DONE
 * head, a BAD reason one printable line, *used within the piece.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "peek/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MODE_RESP	0x1
#define MODE_HEAD	0x2
#define MODE_CHUNKED	0x4

struct hout {
	enum peek_rc	 rc;
	struct h1_head	 h;
};

struct cout {
	enum peek_rc	 rc;
	size_t		 used;
	uint64_t	 total;
	char		 why[PEEK_WHY_MAX];
};

static uint32_t
mix(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void
printable(const char *s)
{
	assert(*s != '\0');
	for (; *s != '\0'; s++)
		assert(*s >= 0x20 && *s < 0x7f);
}

/* step 0: increments from the seed; else fixed steps. */
static void
head_feed(int mode, const uint8_t *data, size_t size, uint32_t seed,
    size_t step, struct hout *o)
{
	uint8_t	*p;
	size_t	 len = 0, calls = 0;

	if (mode & MODE_RESP)
		h1_response_init(&o->h, (mode & MODE_HEAD) != 0);
	else
		h1_request_init(&o->h);
	do {
		if (step != 0)
			len += step;
		else if (++calls > 64)
			len = size;
		else
			len += 1 + mix(&seed) % (size / 8 + 2);
		if (len > size)
			len = size;
		if ((p = malloc(len ? len : 1)) == NULL)
			abort();
		memcpy(p, data, len);
		o->rc = h1_feed(&o->h, p, len);
		free(p);
	} while (o->rc == PEEK_MORE && len < size);
}

static void
head_same(const struct hout *a, const struct hout *b)
{
	const struct h1_head	*x = &a->h, *y = &b->h;

	assert(a->rc == b->rc);
	if (a->rc == PEEK_BAD)
		assert(strcmp(x->hd_why, y->hd_why) == 0);
	if (a->rc != PEEK_DONE)
		return;
	assert(x->hd_used == y->hd_used && x->hd_minor == y->hd_minor);
	assert(x->hd_status == y->hd_status && x->hd_body == y->hd_body);
	assert(x->hd_length == y->hd_length && x->hd_close == y->hd_close);
	assert(x->hd_upgrade == y->hd_upgrade &&
	    x->hd_continue == y->hd_continue);
	assert(x->hd_method_off == y->hd_method_off &&
	    x->hd_method_len == y->hd_method_len &&
	    x->hd_target_off == y->hd_target_off &&
	    x->hd_target_len == y->hd_target_len);
	assert(x->hd_nfields == y->hd_nfields);
	assert(memcmp(x->hd_fields, y->hd_fields,
	    x->hd_nfields * sizeof(x->hd_fields[0])) == 0);
}

/* What a DONE head promises about the bytes it covers. */
static void
head_check(int mode, const struct h1_head *h, const uint8_t *b, size_t size)
{
	const struct h1_field	*f;
	const uint8_t		*v;
	char			 name[64];
	size_t			 i, j, n, u = h->hd_used;

	assert(u >= 4 && u <= size && u <= H1_HEAD_MAX);
	assert(memcmp(b + u - 4, "\r\n\r\n", 4) == 0);
	for (i = 0; i < u; i++) {
		assert(b[i] != '\0');
		assert(b[i] >= 0x20 || b[i] == '\t' || b[i] == '\r' ||
		    b[i] == '\n');
		if (b[i] == '\r')
			assert(i + 1 < u && b[i + 1] == '\n');
		if (b[i] == '\n')
			assert(i > 0 && b[i - 1] == '\r');
	}
	assert(h->hd_minor == 0 || h->hd_minor == 1);
	assert(h->hd_nfields <= H1_FIELDS_MAX);
	if (mode & MODE_RESP) {
		assert(h->hd_status >= 100 && h->hd_status <= 999);
		assert(memcmp(b, "HTTP/1.", 7) == 0);
		assert(h->hd_upgrade == (h->hd_status == 101));
		assert(!h->hd_continue);
		if ((mode & MODE_HEAD) || h->hd_status < 200 ||
		    h->hd_status == 204 || h->hd_status == 304)
			assert(h->hd_body == H1_BODY_NONE);
	} else {
		assert(h->hd_body != H1_BODY_CLOSE);
		assert(h->hd_method_len >= 1 &&
		    h->hd_method_len <= PEEK_METHOD_MAX);
		assert(h->hd_method_off == 0 &&
		    b[h->hd_method_len] == ' ');
		assert(h->hd_target_len >= 1 &&
		    h->hd_target_off == h->hd_method_len + 1);
		assert(h->hd_target_off + h->hd_target_len + 10 < u);
		for (i = 0; i < h->hd_target_len; i++)
			assert(b[h->hd_target_off + i] > 0x20 &&
			    b[h->hd_target_off + i] < 0x7f);
		if (h->hd_body == H1_BODY_CHUNKED)
			assert(h->hd_minor == 1);
	}
	if (h->hd_body == H1_BODY_LENGTH)
		assert(h->hd_length <= H1_BODY_MAX_DECL);
	else
		assert(h->hd_length == 0);
	if (h->hd_body == H1_BODY_CLOSE)
		assert(h->hd_close);
	for (i = 0; i < h->hd_nfields; i++) {
		f = &h->hd_fields[i];
		assert(f->hf_name_len > 0);
		assert(f->hf_name_off + f->hf_name_len < f->hf_value_off);
		assert(b[f->hf_name_off + f->hf_name_len] == ':');
		assert(f->hf_value_off + f->hf_value_len + 2 < u);
		assert(f->hf_name_off > 0 && b[f->hf_name_off - 1] == '\n');
		if (f->hf_value_len > 0) {
			assert(b[f->hf_value_off] != ' ' &&
			    b[f->hf_value_off] != '\t');
			assert(b[f->hf_value_off + f->hf_value_len - 1] != ' ' &&
			    b[f->hf_value_off + f->hf_value_len - 1] != '\t');
		}
		/* h1_field_get() finds the first field of this name */
		if (f->hf_name_len >= sizeof(name))
			continue;
		memcpy(name, b + f->hf_name_off, f->hf_name_len);
		name[f->hf_name_len] = '\0';
		for (j = 0; j < i; j++)
			if (h->hd_fields[j].hf_name_len == f->hf_name_len &&
			    strncasecmp((const char *)b +
			    h->hd_fields[j].hf_name_off, name,
			    f->hf_name_len) == 0)
				break;
		v = h1_field_get(h, b, name, &n);
		assert(v == b + h->hd_fields[j].hf_value_off &&
		    n == h->hd_fields[j].hf_value_len);
	}
}

/* Pieces: 0 one shot, 1 one byte per call, else sizes from the seed. */
static void
chunked_feed(const uint8_t *data, size_t size, uint32_t seed, int how,
    struct cout *o)
{
	struct h1_chunked c;
	uint8_t		*p;
	size_t		 off = 0, n, used;

	h1_chunked_init(&c);
	o->rc = PEEK_MORE;
	o->used = 0;
	do {
		if (how == 0)
			n = size;
		else if (how == 1)
			n = 1;
		else
			n = mix(&seed) % (size / 4 + 2);
		if (n > size - off)
			n = size - off;
		if ((p = malloc(n ? n : 1)) == NULL)
			abort();
		memcpy(p, data + off, n);
		o->rc = h1_chunked_feed(&c, p, n, &used);
		free(p);
		if (o->rc == PEEK_MORE)
			assert(used == n);
		else if (o->rc == PEEK_DONE)
			assert(used <= n && used > 0);
		if (o->rc != PEEK_BAD)
			o->used = off + used;
		off += n;
	} while (o->rc == PEEK_MORE && off < size);
	o->total = c.hc_total;
	o->why[0] = '\0';
	if (o->rc == PEEK_BAD) {
		printable(c.hc_why);
		memcpy(o->why, c.hc_why, sizeof(o->why));
	}
	if (o->rc != PEEK_MORE) {
		assert(h1_chunked_feed(&c, data, size, &used) == o->rc);
		assert(o->rc == PEEK_BAD || used == 0);
	}
}

static void
chunked(const uint8_t *data, size_t size, uint32_t seed)
{
	struct cout	 one, cut, bytes;

	chunked_feed(data, size, seed, 0, &one);
	chunked_feed(data, size, seed, 2, &cut);
	assert(one.rc == cut.rc && strcmp(one.why, cut.why) == 0);
	if (one.rc != PEEK_BAD)
		assert(one.used == cut.used && one.total == cut.total);
	if (size <= 4096) {
		chunked_feed(data, size, seed, 1, &bytes);
		assert(one.rc == bytes.rc && strcmp(one.why, bytes.why) == 0);
		if (one.rc != PEEK_BAD)
			assert(one.used == bytes.used &&
			    one.total == bytes.total);
	}
	if (one.rc == PEEK_DONE) {
		assert(one.used >= 5 && one.used <= size);
		assert(memcmp(data + one.used - 4, "\r\n\r\n", 4) == 0);
		assert(one.total <= one.used);
	} else if (one.rc == PEEK_MORE)
		assert(one.used == size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hout one, cut, bytes;
	uint32_t	 seed = 2166136261u;
	size_t		 i;
	int		 mode;

	if (size == 0)
		return 0;
	mode = data[0];
	data++;
	size--;
	for (i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 16777619u;
	seed |= 1;
	if (mode & MODE_CHUNKED) {
		chunked(data, size, seed);
		return 0;
	}
	head_feed(mode, data, size, 0, size ? size : 1, &one);
	head_feed(mode, data, size, seed, 0, &cut);
	head_same(&one, &cut);
	if (size <= 4096) {
		head_feed(mode, data, size, 0, 1, &bytes);
		head_same(&one, &bytes);
	}
	if (one.rc == PEEK_DONE) {
		head_check(mode, &one.h, data, size);
		assert(h1_feed(&one.h, data, size) == PEEK_DONE);
		if (one.h.hd_body == H1_BODY_CHUNKED)
			chunked(data + one.h.hd_used, size - one.h.hd_used,
			    seed);
	} else if (one.rc == PEEK_BAD) {
		printable(one.h.hd_why);
		assert(h1_feed(&one.h, data, size) == PEEK_BAD);
	} else
		assert(size < H1_HEAD_MAX);
	return 0;
}
