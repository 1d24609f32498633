/*
 * fuzz_tls_hello.c - peek_tls_feed() on arbitrary bytes, differentially: the
 * input fed in one call, in chunks cut at points derived from the input,
 * and (when short) one byte per call, each call with a fresh heap copy of
 * the bytes so far, must end the same way: same result, same name, same
 * reason. Also checks what a result promises: a DONE name is a valid host
 * name within the caps, th_used within the input; a BAD reason is one
 * printable line.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peek/peek.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	enum peek_rc	 rc;
	struct tls_hello t;
};

static uint32_t
mix(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* step 0: random chunks seeded by `seed`; else `step` bytes per call. */
static void
feed(const uint8_t *data, size_t size, uint32_t seed, size_t step,
    struct out *o)
{
	uint8_t	*p = NULL;
	size_t	 len = 0, calls = 0;

	peek_tls_init(&o->t);
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
		o->rc = peek_tls_feed(&o->t, p, len);
	} while (o->rc == PEEK_MORE && len < size);
	free(p);
}

static void
same(const struct out *a, const struct out *b)
{
	assert(a->rc == b->rc);
	if (a->rc == PEEK_DONE) {
		assert(strcmp(a->t.th_name, b->t.th_name) == 0);
		assert(a->t.th_used == b->t.th_used);
		assert(a->t.th_version == b->t.th_version);
		assert(a->t.th_flags == b->t.th_flags);
		assert(a->t.th_nalpn == b->t.th_nalpn);
	} else if (a->rc == PEEK_BAD)
		assert(strcmp(a->t.th_why, b->t.th_why) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct out one, cut, bytes;
	uint32_t	 seed = 2166136261u;
	size_t		 i, n;
	char		 why[PEEK_WHY_MAX];

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
		assert(one.t.th_used <= size && one.t.th_used <= PEEK_TLS_WIRE_MAX);
		assert(one.t.th_namelen == strlen(one.t.th_name));
		if (one.t.th_namelen > 0)
			assert(peek_host_check(one.t.th_name, one.t.th_namelen,
			    &n, "x", why, sizeof(why)) == PEEK_HOST_NAME &&
			    n == one.t.th_namelen);
		assert(one.t.th_version >= 0x0301 &&
		    one.t.th_version <= 0x0303);
		/* done is done */
		assert(peek_tls_feed(&one.t, data, size) == PEEK_DONE);
	} else if (one.rc == PEEK_BAD) {
		assert(one.t.th_why[0] != '\0');
		for (i = 0; one.t.th_why[i] != '\0'; i++)
			assert(one.t.th_why[i] >= 0x20 && one.t.th_why[i] < 0x7f);
	} else
		assert(size < PEEK_TLS_WIRE_MAX);
	return 0;
}
