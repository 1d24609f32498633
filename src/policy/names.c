/*
 * names.c - hostnames and wildcard suffixes in one hash table. A name is
 * looked up whole (exact rules) and by each suffix that follows a dot
 * (wildcard rules). It is read in 8-byte chunks aligned at its end, right
 * to left: chunk j is bytes [n - 8j - 8, n - 8j). A suffix of L bytes is
 * chunks 0 .. L/8 - 1 and the top L%8 bytes of the next one, so the hashes
 * of all suffixes share one fold over the chunks and each costs one step
 * more. The pass that folds also lower-cases and finds the dots. Only the
 * suffixes whose label count some rule has are probed. The cost grows with
 * the name's length, never with the number of rules.
 */
#include <endian.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

#define NH_SEED		0x6a09e667f3bcc909ULL
#define NW_CHUNKS	((POL_NAME_MAX + 7) / 8)

/* the scan and the probes are the whole lookup: no calls in between */
#define HOT		inline __attribute__((always_inline))

#define W_01		0x0101010101010101ULL
#define W_7F		0x7f7f7f7f7f7f7f7fULL
#define W_80		0x8080808080808080ULL

/*
 * The fold over a name's chunks is a multiply per chunk (a bijection for a
 * given fold so far); it only carries upwards, so the last step folds the
 * high and the low half of a 128-bit product: every bit of the input
 * reaches the bits that pick the slot.
 */
#define NH_K1		0x9e3779b97f4a7c15ULL
#define NH_K2		0xff51afd7ed558ccdULL

static inline uint64_t
nh_mix(uint64_t h, uint64_t w)
{
	return (h ^ w) * NH_K1;
}

/* Its low bits pick the slot, its high bits tag it. */
static inline uint64_t
nh_final(uint64_t h)
{
	u128 p = (u128)h * NH_K2;

	return (uint64_t)p ^ (uint64_t)(p >> 64);
}

static inline uint64_t
ld64(const void *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	return le64toh(x);
}

/*
 * Chunk j of s[0 .. n) as a little-endian word; the leftmost chunk, when
 * shorter, has its bytes at the top and zeros below. Never reads outside
 * s[0 .. n) (names from the wire are not padded).
 */
static inline uint64_t
nw_chunk(const char *s, size_t n, size_t j)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 r = n - 8 * j;
	uint64_t		 x;
	uint32_t		 a, b;

	if (r >= 8)
		return ld64(s + r - 8);
	if (n >= 8)
		return ld64(s) << (8 * (8 - r));
	if (r >= 4) {
		memcpy(&a, p, 4);
		memcpy(&b, p + r - 4, 4);
		x = le32toh(a) | (uint64_t)le32toh(b) << (8 * (r - 4));
	} else
		x = p[0] | (uint64_t)p[r / 2] << (8 * (r / 2)) |
		    (uint64_t)p[r - 1] << (8 * (r - 1));
	return x << (8 * (8 - r));
}

/* nw_top[r]: the top r bytes of a word, 0 <= r <= 8. */
static const uint64_t nw_top[9] = {
	0, 0xffULL << 56, 0xffffULL << 48, 0xffffffULL << 40,
	0xffffffffULL << 32, 0xffffffffffULL << 24, 0xffffffffffffULL << 16,
	0xffffffffffffffULL << 8, ~0ULL,
};

/*
 * A name read once: every suffix's hash and bytes come from here. Chunks go
 * by pairs, 2J and 2J + 1, 16 bytes: byte i of pair J is byte i of chunk
 * 2J + 1 for i < 8, byte i - 8 of chunk 2J above. A zero pair follows the
 * last one.
 */
struct nscan {
	uint64_t	 c[NW_CHUNKS + 2];	/* chunks, lower-cased */
	uint64_t	 f[NW_CHUNKS + 1];	/* f[m]: fold of c[0 .. m) */
	uint16_t	 dots[NW_CHUNKS / 2];	/* bit i: byte i of pair J
						   is a dot */
	size_t		 ndots;
};

/* The leftmost r bytes of s[0 .. n) (1 <= r <= 15, r <= n) at the top of
 * 16 bytes, zeros below. */
static inline u128
nw_left(const char *s, size_t n, size_t r)
{
	u128 x;

	if (n >= 16)
		x = (u128)ld64(s + 8) << 64 | ld64(s);
	else if (r >= 8)
		x = ld64(s) | (u128)ld64(s + r - 8) << (8 * (r - 8));
	else
		x = nw_chunk(s, r, 0) >> (8 * (8 - r));
	return x << (8 * (16 - r));
}

#ifdef __SSE2__
static HOT __m128i
nw_pair(struct nscan *x, size_t J, __m128i v, __m128i count)
{
	const __m128i	 up = _mm_cmplt_epi8(_mm_add_epi8(v,
			    _mm_set1_epi8((char)(0x80 - 'A'))),
			    _mm_set1_epi8((char)(-128 + 26)));
	__m128i		 dot;

	v = _mm_or_si128(v, _mm_and_si128(up, _mm_set1_epi8(0x20)));
	_mm_storeu_si128((__m128i *)&x->c[2 * J], _mm_shuffle_epi32(v, 0x4e));
	x->f[2 * J + 1] = nh_mix(x->f[2 * J], x->c[2 * J]);
	x->f[2 * J + 2] = nh_mix(x->f[2 * J + 1], x->c[2 * J + 1]);
	dot = _mm_cmpeq_epi8(v, _mm_set1_epi8('.'));
	x->dots[J] = (uint16_t)_mm_movemask_epi8(dot);
	return _mm_sub_epi8(count, dot);	/* a dot is -1 */
}

/* s[0 .. n), n <= POL_NAME_MAX. */
static HOT void
nw_scan(struct nscan *x, const char *s, size_t n)
{
	__m128i		 count = _mm_setzero_si128();
	size_t		 J;
	u128		 l;

	x->f[0] = NH_SEED;
	for (J = 0; 16 * J + 16 <= n; J++)
		count = nw_pair(x, J, _mm_loadu_si128((const __m128i *)(s +
		    n - 16 * J - 16)), count);
	if (n % 16 != 0) {
		l = nw_left(s, n, n % 16);
		count = nw_pair(x, J++, _mm_set_epi64x((long long)(l >> 64),
		    (long long)l), count);
	}
	_mm_storeu_si128((__m128i *)&x->c[2 * J], _mm_setzero_si128());
	count = _mm_sad_epu8(count, _mm_setzero_si128());
	x->ndots = (size_t)_mm_cvtsi128_si64(count) +
	    (size_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(count, count));
}
#else
/* 'A'..'Z' become 'a'..'z' in each byte; other bytes are kept. */
static inline uint64_t
nw_lower(uint64_t x)
{
	uint64_t a = x & W_7F;
	uint64_t up = (a + 0x3f * W_01) & ~(a + 0x25 * W_01) & ~x & W_80;

	return x | (up >> 2);
}

/* Bit i set if byte i of x is a '.'. */
static inline unsigned
nw_dots(uint64_t x)
{
	uint64_t z = x ^ ('.' * W_01);

	z = ~(((z & W_7F) + W_7F) | z) & W_80;
	return (unsigned)(((z >> 7) * 0x0102040810204080ULL) >> 56);
}

/* s[0 .. n), n <= POL_NAME_MAX. */
static HOT void
nw_scan(struct nscan *x, const char *s, size_t n)
{
	size_t		 j;
	uint64_t	 c;
	unsigned	 d;

	x->f[0] = NH_SEED;
	x->ndots = 0;
	for (j = 0; 8 * j < n; j++) {
		c = nw_lower(nw_chunk(s, n, j));
		x->c[j] = c;
		x->f[j + 1] = nh_mix(x->f[j], c);
		d = nw_dots(c);
		x->ndots += (size_t)__builtin_popcount(d);
		if (j % 2 == 0)
			x->dots[j / 2] = (uint16_t)(d << 8);
		else
			x->dots[j / 2] |= (uint16_t)d;
	}
	x->c[j] = x->c[j + 1] = 0;
}
#endif

/* The hash of the suffix of L bytes. */
static inline uint64_t
nw_hash(const struct nscan *x, size_t L)
{
	return nh_final(x->f[L / 8] ^ (x->c[L / 8] & nw_top[L % 8]) ^ L);
}

/* Is entry e the suffix of L bytes? */
static HOT int
nent_is(const struct nent *e, uint64_t h, const struct nscan *x, size_t L)
{
	uint64_t	 d;
	size_t		 j;

	if (e->h != h || e->len != L)
		return 0;
	if (L <= NENT_INL) {
		/* straight: the zero pair covers chunks past the name */
		d = (x->c[0] & nw_top[L >= 8 ? 8 : L]) ^ e->tail[0];
		d |= (x->c[1] & nw_top[L >= 16 ? 8 : L > 8 ? L - 8 : 0]) ^
		    e->tail[1];
		d |= (x->c[2] & nw_top[L > 16 ? L - 16 : 0]) ^ e->tail[2];
		return d == 0;
	}
	for (j = 0; j < L / 8; j++)
		if (x->c[j] != (j < NENT_INL / 8 ? e->tail[j] :
		    nw_chunk(e->name, L, j)))
			return 0;
	return L % 8 == 0 ||
	    (x->c[j] & nw_top[L % 8]) == nw_chunk(e->name, L, j);
}

static HOT const struct nent *
ntab_find(const struct ntab *t, const struct nscan *x, size_t L)
{
	const struct nslot	*s;
	const struct nent	*e;
	uint64_t		 h = nw_hash(x, L);
	uint32_t		 tag = (uint32_t)(h >> 32);
	size_t			 i;

	for (i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
		s = &t->s[i];
		if (s->ent == 0)
			return NULL;
		e = &t->e[s->ent - 1];
		if (s->tag == tag && nent_is(e, h, x, L))
			return e;
	}
}

static void
slot_put(struct nslot *s, size_t mask, uint64_t h, size_t ent)
{
	size_t	 i;

	for (i = (size_t)h & mask; s[i].ent != 0; i = (i + 1) & mask)
		;
	s[i].tag = (uint32_t)(h >> 32);
	s[i].ent = (uint32_t)(ent + 1);
}

/* (Re)builds the slots, n of them (a power of two). */
static int
ntab_slots(struct ntab *t, size_t n)
{
	struct nslot	*s;
	size_t		 i;

	if ((s = calloc(n, sizeof(*s))) == NULL)
		return -1;
	for (i = 0; i < t->ne; i++)
		slot_put(s, n - 1, t->e[i].h, i);
	free(t->s);
	t->s = s;
	t->mask = n - 1;
	return 0;
}

int
ntab_init(struct ntab *t)
{
	memset(t, 0, sizeof(*t));
	return ntab_slots(t, 16);
}

void
ntab_free(struct ntab *t)
{
	free(t->s);
	free(t->e);
	pports_free(&t->ports);
	memset(t, 0, sizeof(*t));
}

/* Finds or creates the entry for `name`; returns its index, -1 when out of
 * memory. */
static long
ntab_entry(struct ntab *t, const char *name)
{
	struct nscan	 x;
	struct nent	*e;
	size_t		 len = strlen(name), k;

	nw_scan(&x, name, len);
	if ((e = (struct nent *)ntab_find(t, &x, len)) != NULL)
		return e - t->e;
	if (t->ne == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;

		/* one entry per cache line */
		if ((e = aligned_alloc(64, cap * sizeof(*e))) == NULL)
			return -1;
		if (t->ne > 0)
			memcpy(e, t->e, t->ne * sizeof(*e));
		free(t->e);
		t->e = e;
		t->cap = cap;
	}
	e = &t->e[t->ne];
	memset(e, 0, sizeof(*e));
	e->h = nw_hash(&x, len);
	e->len = (uint8_t)len;
	e->name = name;
	for (k = 0; k < NENT_INL / 8 && 8 * k < len; k++)
		e->tail[k] = x.c[k];
	slot_put(t->s, t->mask, e->h, t->ne);
	t->ne++;
	if (t->ne * 4 > t->mask + 1 && ntab_slots(t, 2 * (t->mask + 1)) == -1)
		return -1;
	return (long)(t->ne - 1);
}

static void
labels_set(uint64_t *mask, const char *name)
{
	size_t n = 1;

	for (; *name != '\0'; name++)
		n += *name == '.';
	mask[n / 64] |= 1ULL << (n % 64);
}

/* Rule names have at most 127 labels; a wire name may have more. */
static inline int
labels_has(const uint64_t *mask, size_t n)
{
	if (n < 64)
		return (mask[0] >> n) & 1;
	return n < 128 && ((mask[1] >> (n - 64)) & 1);
}

int
ntab_add(struct ntab *t, const char *name, int kind, uint16_t port, rref ref)
{
	long		 ei;

	if (strlen(name) > POL_NAME_MAX)
		return -1;
	labels_set(kind == NK_EXACT_DENY || kind == NK_EXACT_ALLOW ?
	    t->exact_labels : t->wild_labels, name);
	if ((ei = ntab_entry(t, name)) == -1)
		return -1;
	if (port != 0)
		return pports_add(&t->ports, (uint32_t)ei, port, (unsigned)kind,
		    ref);
	if (t->e[ei].any[kind] == 0)
		t->e[ei].any[kind] = ref;
	return 0;
}

static void
nent_span(void *ctx, uint32_t ent, uint32_t first, uint32_t count)
{
	struct ntab *t = ctx;

	t->e[ent].pfirst = first;
	t->e[ent].pcount = (uint16_t)count;
}

int
ntab_finish(struct ntab *t)
{
	size_t	 n;

	for (n = 1; n < 128; n++)
		if (labels_has(t->wild_labels, n))
			t->wl[t->nwl++] = (uint8_t)n;
	return pports_finish(&t->ports, nent_span, t);
}

/* Takes entry `e`'s rules of kind base+list for `port` into best[]. */
static HOT void
nent_take(const struct ntab *t, const struct nent *e, int base,
    uint16_t port, rref best[2])
{
	const struct pport	*pp = NULL;
	int			 l;

	if (e->pcount != 0 && port != 0)
		pp = pport_find(t->ports.v + e->pfirst, e->pcount, port);
	for (l = 0; l < 2; l++) {
		if (pp != NULL && pp->r[base + l] != 0)
			best[l] = pp->r[base + l];
		else if (e->any[base + l] != 0)
			best[l] = e->any[base + l];
	}
}

void
ntab_lookup(const struct ntab *t, const char *s, size_t len, uint16_t port,
    rref best[2])
{
	struct nscan		 x;
	const struct nent	*e;
	size_t			 start, n, nl, j, k = 0, L = 0, J = 0;
	unsigned		 m, b;

	best[0] = best[1] = 0;
	if (t->ne == 0)
		return;
	if (len > 0 && s[len - 1] == '.')
		len--;
	/*
	 * No rule name is longer than POL_NAME_MAX, so only the last
	 * POL_NAME_MAX bytes can hold a matching suffix. Suffixes are met
	 * shortest first: later (longer) matches replace earlier ones, and
	 * the whole name comes last. Only label counts some rule has are
	 * probed, and the dots are walked only that far.
	 */
	start = len > POL_NAME_MAX ? len - POL_NAME_MAX : 0;
	n = len - start;
	nw_scan(&x, s + start, n);
	nl = x.ndots + 1;
	m = n > 0 ? x.dots[0] : 0;
	for (j = 0; j < t->nwl && t->wl[j] < nl; j++) {
		/* to the wl[j]-th dot from the right: pair J's highest
		 * byte is its rightmost */
		for (; k < t->wl[j]; k++) {
			while (m == 0)
				m = x.dots[++J];
			b = 31 - (unsigned)__builtin_clz(m);
			m ^= 1u << b;
			L = 16 * J + 15 - b;
		}
		/* a wildcard needs a byte in front of the dot */
		if (start + n - L >= 2 && (e = ntab_find(t, &x, L)) != NULL)
			nent_take(t, e, NK_WILD_DENY, port, best);
	}
	if (start == 0) {
		if (labels_has(t->exact_labels, nl) &&
		    (e = ntab_find(t, &x, n)) != NULL)
			nent_take(t, e, NK_EXACT_DENY, port, best);
	} else if (j < t->nwl && t->wl[j] == nl && start >= 2 &&
	    s[start - 1] == '.') {
		/* the window is a suffix that follows a dot */
		if ((e = ntab_find(t, &x, n)) != NULL)
			nent_take(t, e, NK_WILD_DENY, port, best);
	}
}
