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

#define W_01		0x0101010101010101ULL
#define W_7F		0x7f7f7f7f7f7f7f7fULL
#define W_80		0x8080808080808080ULL

/*
 * The high and the low half of a 128-bit product folded: every bit of the
 * input reaches every bit of the output (a plain multiply only carries
 * upwards, and chunks that differ in their top bytes would share slots).
 */
static inline uint64_t
nh_fold(uint64_t x, uint64_t k)
{
	u128 p = (u128)x * k;

	return (uint64_t)p ^ (uint64_t)(p >> 64);
}

static inline uint64_t
nh_mix(uint64_t h, uint64_t w)
{
	return nh_fold(h ^ w, 0x9e3779b97f4a7c15ULL);
}

/* Its low bits pick the slot, its high bits tag it. */
static inline uint64_t
nh_final(uint64_t h)
{
	return nh_fold(h, 0xff51afd7ed558ccdULL);
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

/* The top r bytes of a word, 1 <= r <= 7. */
static inline uint64_t
nw_top(uint64_t x, size_t r)
{
	return x & (~0ULL << (64 - 8 * r));
}

/* A name read once: every suffix's hash and bytes come from here. */
struct nscan {
	uint64_t	 c[NW_CHUNKS];		/* chunks, lower-cased */
	uint64_t	 f[NW_CHUNKS + 1];	/* f[m]: fold of c[0 .. m) */
	uint16_t	 suf[POL_NAME_MAX];	/* suf[i]: length of the
						   suffix of i + 1 labels */
	size_t		 ndots;
};

#ifdef __SSE2__
/*
 * Chunks 2J and 2J + 1 at once: lower-cased, stored, folded, and their
 * dots found. Byte i of v is chunk 2J + 1's byte i for i < 8, chunk 2J's
 * byte i - 8 above.
 */
static inline size_t
nw_pair(struct nscan *x, size_t nd, size_t J, __m128i v)
{
	const __m128i	 up = _mm_cmplt_epi8(_mm_add_epi8(v,
			    _mm_set1_epi8((char)(0x80 - 'A'))),
			    _mm_set1_epi8((char)(-128 + 26)));
	unsigned	 m, b;

	v = _mm_or_si128(v, _mm_and_si128(up, _mm_set1_epi8(0x20)));
	_mm_storeu_si128((__m128i *)&x->c[2 * J], _mm_shuffle_epi32(v, 0x4e));
	x->f[2 * J + 1] = nh_mix(x->f[2 * J], x->c[2 * J]);
	x->f[2 * J + 2] = nh_mix(x->f[2 * J + 1], x->c[2 * J + 1]);
	m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v,
	    _mm_set1_epi8('.')));
	/* the highest byte is the rightmost: shortest suffix first */
	for (; m != 0; m ^= 1u << b) {
		b = 31 - (unsigned)__builtin_clz(m);
		x->suf[nd++] = (uint16_t)(16 * J + 15 - b);
	}
	return nd;
}

/* s[0 .. n), n <= POL_NAME_MAX. */
static void
nw_scan(struct nscan *x, const char *s, size_t n)
{
	size_t	 J, nd = 0;

	x->f[0] = NH_SEED;
	for (J = 0; 16 * J + 16 <= n; J++)
		nd = nw_pair(x, nd, J, _mm_loadu_si128((const __m128i *)(s +
		    n - 16 * J - 16)));
	if (n % 16 != 0)
		nd = nw_pair(x, nd, J, _mm_set_epi64x(
		    (long long)nw_chunk(s, n, 2 * J),
		    n % 16 > 8 ? (long long)nw_chunk(s, n, 2 * J + 1) : 0));
	x->ndots = nd;
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

/* 0x80 in each byte of x that is a '.', 0 elsewhere. */
static inline uint64_t
nw_dots(uint64_t x)
{
	uint64_t z = x ^ ('.' * W_01);

	return ~(((z & W_7F) + W_7F) | z) & W_80;
}

/*
 * The dots of chunk j: the length of the suffix after each, shortest first
 * (the byte swap puts the chunk's rightmost byte lowest).
 */
static inline size_t
nw_suffixes(uint16_t *suf, size_t nd, uint64_t c, size_t j)
{
	uint64_t d;

	for (d = __builtin_bswap64(nw_dots(c)); d != 0; d &= d - 1)
		suf[nd++] = (uint16_t)(8 * j +
		    (size_t)(__builtin_ctzll(d) >> 3));
	return nd;
}

/* s[0 .. n), n <= POL_NAME_MAX. */
static void
nw_scan(struct nscan *x, const char *s, size_t n)
{
	size_t		 j, nd = 0;
	uint64_t	 c;

	x->f[0] = NH_SEED;
	for (j = 0; 8 * j < n; j++) {
		c = nw_lower(nw_chunk(s, n, j));
		x->c[j] = c;
		x->f[j + 1] = nh_mix(x->f[j], c);
		nd = nw_suffixes(x->suf, nd, c, j);
	}
	x->ndots = nd;
}
#endif

/* The hash of the suffix of L bytes. */
static inline uint64_t
nw_hash(const struct nscan *x, size_t L)
{
	uint64_t p = L % 8 ? nw_top(x->c[L / 8], L % 8) : 0;

	return nh_final(nh_mix(x->f[L / 8], p) ^ L);
}

static inline uint64_t
nent_chunk(const struct nent *e, size_t j)
{
	return j < NENT_INL / 8 ? e->tail[j] : nw_chunk(e->name, e->len, j);
}

/* Is entry e the suffix of L bytes? */
static inline int
nent_is(const struct nent *e, uint64_t h, const struct nscan *x, size_t L)
{
	size_t	 j;

	if (e->h != h || e->len != L)
		return 0;
	for (j = 0; j < L / 8; j++)
		if (x->c[j] != nent_chunk(e, j))
			return 0;
	return L % 8 == 0 || nw_top(x->c[j], L % 8) == nent_chunk(e, j);
}

static inline const struct nent *
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
	if (t->ne * 2 > t->mask + 1 && ntab_slots(t, 2 * (t->mask + 1)) == -1)
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
	return n < 128 && ((mask[n / 64] >> (n % 64)) & 1);
}

/* The largest m <= n in `mask`, 0 if none. */
static inline size_t
labels_top(const uint64_t *mask, size_t n)
{
	uint64_t lo = mask[0], hi = mask[1];

	if (n > 127)
		n = 127;
	if (n < 64) {
		lo &= ~0ULL >> (63 - n);
		hi = 0;
	} else
		hi &= ~0ULL >> (127 - n);
	if (hi != 0)
		return 127 - (size_t)__builtin_clzll(hi);
	if (lo != 0)
		return 63 - (size_t)__builtin_clzll(lo);
	return 0;
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
	return pports_finish(&t->ports, nent_span, t);
}

/* Takes entry `e`'s rules of kind base+list for `port` into best[]. */
static void
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
	size_t			 start, n, nl, i, top, L;
	int			 kind;

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
	 * probed.
	 */
	start = len > POL_NAME_MAX ? len - POL_NAME_MAX : 0;
	n = len - start;
	nw_scan(&x, s + start, n);
	nl = x.ndots + 1;
	top = labels_top(t->wild_labels, start == 0 ? nl - 1 : nl);
	if (start == 0 && labels_has(t->exact_labels, nl))
		top = nl;
	for (i = 1; i <= top; i++) {
		if (i < nl) {
			/* a wildcard needs a byte in front of the dot */
			L = x.suf[i - 1];
			if (!labels_has(t->wild_labels, i) || start + n - L < 2)
				continue;
			kind = NK_WILD_DENY;
		} else if (start == 0) {
			L = n;
			kind = NK_EXACT_DENY;
		} else if (start >= 2 && s[start - 1] == '.') {
			/* the window is a suffix that follows a dot */
			L = n;
			kind = NK_WILD_DENY;
		} else
			break;
		if ((e = ntab_find(t, &x, L)) != NULL)
			nent_take(t, e, kind, port, best);
	}
}
