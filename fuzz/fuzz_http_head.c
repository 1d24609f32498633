/*
 * fuzz_http_head.c - peek_http_feed() on arbitrary bytes, differentially:
 * one call, chunks cut at points derived from the input, and (when short)
 * one byte per call must end the same way. Checks what a result promises
 * (a DONE host is a valid name or an IP literal, offsets lie inside the
 * head; a BAD reason is one printable line) and that http_forbidden()
 * echoing the host and a piece of the input keeps a well-formed response.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peek/peek.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	enum peek_rc	 rc;
	struct http_head h;
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
feed(const uint8_t *data, size_t size, uint32_t seed, size_t step,
    struct out *o)
{
	uint8_t	*p = NULL;
	size_t	 len = 0, calls = 0;

	peek_http_init(&o->h);
	o->rc = PEEK_MORE;
	do {
		if (step != 0)
			len += step;
		else if (++calls > 64)
			len = size;
		else
			len += 1 + mix(&seed) % (size / 8 + 2);
		if (len > size)
			len = size;
		free(p);
		if ((p = malloc(len + 1)) == NULL)
			abort();
		memcpy(p, data, len);
		o->rc = peek_http_feed(&o->h, p, len);
	} while (o->rc == PEEK_MORE && len < size);
	free(p);
}

static void
same(const struct out *a, const struct out *b)
{
	assert(a->rc == b->rc);
	if (a->rc == PEEK_DONE) {
		assert(strcmp(a->h.hh_host, b->h.hh_host) == 0);
		assert(a->h.hh_used == b->h.hh_used);
		assert(a->h.hh_port == b->h.hh_port);
		assert(a->h.hh_host_ip == b->h.hh_host_ip);
		assert(a->h.hh_minor == b->h.hh_minor);
		assert(a->h.hh_form == b->h.hh_form);
		assert(a->h.hh_target_off == b->h.hh_target_off &&
		    a->h.hh_target_len == b->h.hh_target_len);
	} else if (a->rc == PEEK_BAD)
		assert(strcmp(a->h.hh_why, b->h.hh_why) == 0);
}

/* The 403 is one head and a body of one line, Content-Length exact. */
static void
check_forbidden(const char *host, const uint8_t *data, size_t size)
{
	char		 rule[64], resp[2048];
	const char	*body, *cl;
	size_t		 n = size < sizeof(rule) - 1 ? size : sizeof(rule) - 1;
	int		 len;

	memcpy(rule, data, n);
	rule[n] = '\0';
	len = http_forbidden(resp, sizeof(resp), host, rule);
	assert(len > 0 && (size_t)len == strlen(resp));
	body = strstr(resp, "\r\n\r\n");
	assert(body != NULL);
	body += 4;
	cl = strstr(resp, "\r\nContent-Length: ");
	assert(cl != NULL && cl < body);
	assert(strtoul(cl + 18, NULL, 10) == strlen(body));
	assert(strchr(body, '\r') == NULL);
	assert(strchr(body, '\n') == body + strlen(body) - 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct out one, cut, bytes;
	uint32_t	 seed = 2166136261u;
	size_t		 i, n;
	char		 why[PEEK_WHY_MAX];
	const struct http_head *h = &one.h;

	(void)peek_classify(data, size);
	for (i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 16777619u;
	seed |= 1;
	feed(data, size, 0, size ? size : 1, &one);
	feed(data, size, seed, 0, &cut);
	same(&one, &cut);
	if (size <= 4096) {
		feed(data, size, 0, 1, &bytes);
		same(&one, &bytes);
	}
	if (one.rc == PEEK_DONE) {
		assert(h->hh_used <= size && h->hh_used <= PEEK_HTTP_MAX);
		assert(h->hh_method_len > 0 &&
		    h->hh_method_len <= PEEK_METHOD_MAX);
		assert(h->hh_target_off + h->hh_target_len < h->hh_used);
		assert(h->hh_minor == 0 || h->hh_minor == 1);
		assert(h->hh_hostlen == strlen(h->hh_host));
		assert(h->hh_minor == 0 || h->hh_hostlen > 0);
		if (h->hh_hostlen > 0 && !h->hh_host_ip)
			assert(peek_host_check(h->hh_host, h->hh_hostlen, &n,
			    "x", why, sizeof(why)) == PEEK_HOST_NAME &&
			    n == h->hh_hostlen);
		assert(memchr(data, '\0', h->hh_used) == NULL);
		check_forbidden(h->hh_host, data + h->hh_target_off,
		    h->hh_target_len);
		assert(peek_http_feed(&one.h, data, size) == PEEK_DONE);
	} else if (one.rc == PEEK_BAD) {
		assert(h->hh_why[0] != '\0');
		for (i = 0; h->hh_why[i] != '\0'; i++)
			assert(h->hh_why[i] >= 0x20 && h->hh_why[i] < 0x7f);
	} else
		assert(size < PEEK_HTTP_MAX);
	check_forbidden((const char *)"x", data, size);
	return 0;
}
