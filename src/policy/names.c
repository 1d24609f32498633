/*
 * names.c - hostnames and wildcard suffixes in one open-addressing hash
 * table whose slots are the entries. A name is looked up whole (exact
 * rules) and then by each suffix that follows a dot (wildcard rules), the
 * hashes of all suffixes coming from one pass over the name. The cost grows
 * with the name's length, never with the number of rules.
 */
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

int
ntab_init(struct ntab *t, size_t expected)
{
	size_t	 n = 16;

	memset(t, 0, sizeof(*t));
	while (n < expected * 2)
		n *= 2;
	if ((t->e = aligned_alloc(64, n * sizeof(*t->e))) == NULL)
		return -1;
	memset(t->e, 0, n * sizeof(*t->e));
	t->mask = n - 1;
	return 0;
}

void
ntab_free(struct ntab *t)
{
	free(t->e);
	pports_free(&t->ports);
	memset(t, 0, sizeof(*t));
}

/*
 * One forward pass over s[0..len) (len <= POL_NAME_MAX): writes the
 * lower-cased bytes to buf, and for each label its start offset and hash.
 * The bytes of a label are gathered in a register, never read back from
 * buf (no store-to-load stalls). Returns the number of labels.
 */
static size_t
nh_scan(const char *s, size_t len, unsigned char *buf, uint64_t *lh,
    uint16_t *lstart)
{
	uint64_t	 w = 0, h = NH_SEED;
	size_t		 i, nl = 0, k = 0;

	lstart[0] = 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		c = (unsigned char)(c + ((unsigned)(c - 'A') < 26u ? 32 : 0));
		buf[i] = c;
		if (c == '.') {
			lh[nl++] = nh_mix(h, w ^ k);
			lstart[nl] = (uint16_t)(i + 1);
			w = 0;
			h = NH_SEED;
			k = 0;
			continue;
		}
		w = (w << 8) | c;
		if ((++k & 7) == 0) {
			h = nh_mix(h, w);
			w = 0;
		}
	}
	lh[nl++] = nh_mix(h, w ^ k);
	return nl;
}

/* The slot hash of a whole lower-case name (no trailing dot, <= POL_NAME_MAX),
 * as ntab_lookup() computes it for each suffix. */
static uint64_t
nh_name(const char *name, size_t len)
{
	unsigned char	 buf[POL_NAME_MAX];
	uint64_t	 lh[NH_LABELS + 1], h = NH_SEED;
	uint16_t	 lstart[NH_LABELS + 1];
	size_t		 nl;

	nl = nh_scan(name, len, buf, lh, lstart);
	while (nl > 0)
		h = nh_combine(h, lh[--nl]);
	return nh_final(h);
}

static inline int
nent_is(const struct nent *e, uint64_t h, const void *s, size_t len)
{
	size_t inl = len < NENT_INL ? len : NENT_INL;

	return e->h == h && e->len == len && memcmp(e->inl, s, inl) == 0 &&
	    (len == inl || memcmp(e->name + inl, (const char *)s + inl,
	    len - inl) == 0);
}

/* `s` is lower-case: as stored, or from nh_scan(). */
static const struct nent *
ntab_find(const struct ntab *t, uint64_t h, const void *s, size_t len)
{
	const struct nent	*e;
	size_t			 i;

	for (i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
		e = &t->e[i];
		if (e->len == 0)
			return NULL;
		if (nent_is(e, h, s, len))
			return e;
	}
}

/* Finds or creates the entry for `name`; returns its index. ntab_init
 * sized the table for every rule: it is never more than half full. */
static long
ntab_entry(struct ntab *t, const char *name)
{
	size_t		 len = strlen(name), i;
	uint64_t	 h = nh_name(name, len);
	struct nent	*e;

	for (i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
		e = &t->e[i];
		if (e->len == 0)
			break;
		if (nent_is(e, h, name, len))
			return (long)i;
	}
	e->h = h;
	e->name = name;
	e->len = (uint8_t)len;
	memcpy(e->inl, name, len < NENT_INL ? len : NENT_INL);
	t->ne++;
	return (long)i;
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

int
ntab_add(struct ntab *t, const char *name, int kind, uint16_t port, rref ref)
{
	long		 ei;

	if (strlen(name) > POL_NAME_MAX || t->ne * 2 >= t->mask + 1)
		return -1;
	labels_set(kind == NK_EXACT_DENY || kind == NK_EXACT_ALLOW ?
	    t->exact_labels : t->wild_labels, name);
	ei = ntab_entry(t, name);
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
	t->e[ent].pcount = count;
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
	unsigned char		 buf[POL_NAME_MAX];
	uint64_t		 lh[NH_LABELS + 1], h = NH_SEED;
	uint16_t		 lstart[NH_LABELS + 1];
	const struct nent	*e;
	size_t			 start, n, nl, off, k;

	best[0] = best[1] = 0;
	if (t->ne == 0)
		return;
	if (len > 0 && s[len - 1] == '.')
		len--;
	/*
	 * No rule name is longer than POL_NAME_MAX, so only the last
	 * POL_NAME_MAX bytes can hold a matching suffix. Suffixes are met
	 * shortest first: later (longer) matches replace earlier ones, and
	 * the exact match comes last.
	 */
	start = len > POL_NAME_MAX ? len - POL_NAME_MAX : 0;
	n = len - start;
	nl = nh_scan(s + start, n, buf, lh, lstart);
	for (k = nl; k-- > 0;) {
		h = nh_combine(h, lh[k]);
		off = lstart[k];
		if (off == 0 && start == 0) {
			if (!labels_has(t->exact_labels, nl))
				return;
			e = ntab_find(t, nh_final(h), buf, n);
			if (e != NULL)
				nent_take(t, e, NK_EXACT_DENY, port, best);
			return;
		}
		/* a wildcard needs a dot in front of the suffix and at
		 * least one byte in front of the dot */
		if (off == 0 && (s[start - 1] != '.' || start < 2))
			return;
		if (start + off < 2 || !labels_has(t->wild_labels, nl - k))
			continue;
		e = ntab_find(t, nh_final(h), buf + off, n - off);
		if (e != NULL)
			nent_take(t, e, NK_WILD_DENY, port, best);
	}
}
