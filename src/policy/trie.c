/*
 * trie.c - address prefixes: a path-compressed binary trie to build, its
 * ranges and their index to look up (see policy_int.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

static inline u128
mask128(unsigned len)
{
	return len == 0 ? 0 : ~(u128)0 << (128 - len);
}

static inline unsigned
bit128(u128 k, unsigned i)
{
	return (unsigned)(k >> (127 - i)) & 1;
}

static unsigned
clz128(u128 x)
{
	uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;

	if (hi != 0)
		return (unsigned)__builtin_clzll(hi);
	if (lo != 0)
		return 64 + (unsigned)__builtin_clzll(lo);
	return 128;
}

static int
atrie_node(struct atrie *t, u128 key, unsigned len, uint32_t *out)
{
	struct anode	*n;

	if (t->nn == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;

		if ((n = realloc(t->n, cap * sizeof(*n))) == NULL)
			return -1;
		t->n = n;
		t->cap = cap;
	}
	n = &t->n[t->nn];
	memset(n, 0, sizeof(*n));
	n->key = key & mask128(len);
	n->len = (uint8_t)len;
	*out = (uint32_t)t->nn++;
	return 0;
}

int
atrie_init(struct atrie *t, unsigned maxlen)
{
	uint32_t root;

	memset(t, 0, sizeof(*t));
	t->maxlen = maxlen;
	return atrie_node(t, 0, 0, &root);
}

void
atrie_free(struct atrie *t)
{
	free(t->n);
	pports_free(&t->ports);
	free(t->r4);
	free(t->r6);
	free(t->alen);
	free(t->tab);
	free(t->ent);
	memset(t, 0, sizeof(*t));
}

static int
atrie_attach(struct atrie *t, uint32_t node, uint16_t port,
    enum pol_list list, rref ref)
{
	if (port != 0)
		return pports_add(&t->ports, node, port, list, ref);
	if (t->n[node].any[list] == 0)
		t->n[node].any[list] = ref;
	return 0;
}

int
atrie_add(struct atrie *t, u128 key, unsigned len, uint16_t port,
    enum pol_list list, rref ref)
{
	uint32_t	 cur = 0, c, mid, leaf;
	unsigned	 b, common;

	key &= mask128(len);
	for (;;) {
		if (t->n[cur].len == len)
			return atrie_attach(t, cur, port, list, ref);
		b = bit128(key, t->n[cur].len);
		c = t->n[cur].child[b];
		if (c == 0) {
			if (atrie_node(t, key, len, &leaf) == -1)
				return -1;
			t->n[cur].child[b] = leaf;
			return atrie_attach(t, leaf, port, list, ref);
		}
		common = clz128(key ^ t->n[c].key);
		if (common > len)
			common = len;
		if (common >= t->n[c].len) {
			cur = c;
			continue;
		}
		/* The child's prefix and ours part at `common`: split. */
		if (atrie_node(t, key, common, &mid) == -1)
			return -1;
		t->n[mid].child[bit128(t->n[c].key, common)] = c;
		t->n[cur].child[b] = mid;
		cur = mid;
	}
}

static void
anode_span(void *ctx, uint32_t node, uint32_t first, uint32_t count)
{
	struct atrie *t = ctx;

	t->n[node].pfirst = first;
	t->n[node].pcount = count;
}

static inline u128
span(unsigned len)
{
	return len == 0 ? 0 : (u128)1 << (128 - len);
}

/* Ranges and index under construction. */
struct abuild {
	struct atrie	*t;
	u128		*s;		/* range starts */
	struct arange	*r;
	size_t		 n, cap;
};

static int
arange_eq(const struct arange *a, const struct arange *b)
{
	return a->any[0] == b->any[0] && a->any[1] == b->any[1] &&
	    a->pnode == b->pnode && a->alen[0] == b->alen[0] &&
	    a->alen[1] == b->alen[1];
}

/* From `start` on (until the next push), addresses match as `a` says. */
static int
ab_push(struct abuild *b, u128 start, const struct arange *a)
{
	if (b->n > 0 && b->s[b->n - 1] == start)
		b->n--;
	if (b->n > 0 && arange_eq(&b->r[b->n - 1], a))
		return 0;
	if (b->n == b->cap) {
		size_t		 cap = b->cap ? b->cap * 2 : 64;
		u128		*s;
		struct arange	*r;

		if ((s = realloc(b->s, cap * sizeof(*s))) == NULL)
			return -1;
		b->s = s;
		if ((r = realloc(b->r, cap * sizeof(*r))) == NULL)
			return -1;
		b->r = r;
		b->cap = cap;
	}
	b->s[b->n] = start;
	b->r[b->n] = *a;
	b->n++;
	return 0;
}

/*
 * Depth first, in address order: each node's rules hold over its prefix
 * except where a child's prefix says otherwise. `st` is what the nodes
 * above give, `plen` the length of st.pnode's prefix.
 */
static int
ab_walk(struct abuild *b, uint32_t ni, struct arange st, unsigned plen)
{
	struct anode	*n = &b->t->n[ni];
	struct arange	 a;
	u128		 end, after;
	uint32_t	 c;
	int		 k;

	n->pup = st.pnode;
	for (k = 0; k < 2; k++)
		if (n->any[k] != 0) {
			st.any[k] = n->any[k];
			st.alen[k] = n->len;
		}
	if (n->pcount != 0) {
		st.pnode = ni + 1;
		plen = n->len;
	}
	/* a port rule can only win against a shorter or equal any-port
	 * prefix of its list */
	a = st;
	if (a.pnode != 0 && a.any[0] != 0 && plen < a.alen[0] &&
	    a.any[1] != 0 && plen < a.alen[1])
		a.pnode = 0;
	if (ab_push(b, n->key, &a) == -1)
		return -1;
	end = n->key + span(n->len);
	for (k = 0; k < 2; k++) {
		if ((c = n->child[k]) == 0)
			continue;
		if (ab_walk(b, c, st, plen) == -1)
			return -1;
		after = b->t->n[c].key + span(b->t->n[c].len);
		if (after != end && ab_push(b, after, &a) == -1)
			return -1;
	}
	return 0;
}

/* The index entry for the keys in ranges lo .. hi (the starts of lo + 1 ..
 * hi fall inside them). */
static int
ab_index(struct abuild *b, size_t lo, size_t hi, uint32_t *out)
{
	struct atrie	*t = b->t;
	size_t		 count = hi - lo + 1, i, j, k;
	unsigned	 skip, bits;
	u128		 from, last, mask;
	uint32_t	 ti, first, e;
	void		*p;

	if (count == 1) {
		*out = (uint32_t)lo << 2 | AE_RANGE;
		return 0;
	}
	if (count <= AE_LIST_MAX) {
		*out = (uint32_t)lo << 5 | (uint32_t)(count - 2) << 2 | AE_LIST;
		return 0;
	}
	/* one or two entries per range: lists stay short, memory linear
	 * per level */
	skip = clz128(b->s[lo + 1] ^ b->s[hi]);
	for (bits = 2; bits < 16 && (1u << bits) <= count; bits++)
		;
	if (bits > t->maxlen - skip)
		bits = t->maxlen - skip;
	if ((p = realloc(t->tab, (t->ntab + 1) * sizeof(*t->tab))) == NULL)
		return -1;
	t->tab = p;
	if ((p = realloc(t->ent, (t->nent + (1u << bits)) *
	    sizeof(*t->ent))) == NULL)
		return -1;
	t->ent = p;
	ti = (uint32_t)t->ntab++;
	first = (uint32_t)t->nent;
	t->nent += 1u << bits;
	mask = mask128(skip);
	t->tab[ti].mask = mask;
	t->tab[ti].prefix = b->s[lo + 1] & mask;
	t->tab[ti].mask4 = (uint32_t)(mask >> 96);
	t->tab[ti].prefix4 = (uint32_t)(t->tab[ti].prefix >> 96);
	t->tab[ti].first = first;
	t->tab[ti].below = (uint32_t)lo;
	t->tab[ti].above = (uint32_t)hi;
	t->tab[ti].skip = (uint8_t)skip;
	t->tab[ti].shift = (uint8_t)((t->maxlen == 32 ? 32 : 128) - bits);
	for (i = 0, j = lo; i < (1u << bits); i++) {
		from = (b->s[lo + 1] & mask) |
		    ((u128)i << (128 - skip - bits));
		last = from + (span(skip + bits) - 1);
		while (j < hi && b->s[j + 1] <= from)
			j++;
		for (k = j; k < hi && b->s[k + 1] <= last; k++)
			;
		if (ab_index(b, j, k, &e) == -1)
			return -1;
		t->ent[first + i] = e;
	}
	*out = ti << 2 | AE_TABLE;
	return 0;
}

static int
atrie_index(struct atrie *t)
{
	struct abuild	 b = { .t = t };
	struct arange	 none = { { 0, 0 }, 0, { 0, 0 } };
	size_t		 i;
	int		 rc = -1;

	if (ab_walk(&b, 0, none, 0) == -1 ||
	    ab_index(&b, 0, b.n - 1, &t->root) == -1)
		goto out;
	if ((t->alen = malloc(b.n * sizeof(*t->alen))) == NULL)
		goto out;
	if (t->maxlen == 32 && (t->r4 = malloc(b.n * sizeof(*t->r4))) == NULL)
		goto out;
	if (t->maxlen == 128 && (t->r6 = malloc(b.n * sizeof(*t->r6))) == NULL)
		goto out;
	for (i = 0; i < b.n; i++) {
		t->alen[i][0] = b.r[i].alen[0];
		t->alen[i][1] = b.r[i].alen[1];
		if (t->r4 != NULL) {
			t->r4[i].start = (uint32_t)(b.s[i] >> 96);
			t->r4[i].any[0] = b.r[i].any[0];
			t->r4[i].any[1] = b.r[i].any[1];
			t->r4[i].pnode = b.r[i].pnode;
		} else {
			memset(&t->r6[i], 0, sizeof(t->r6[i]));
			t->r6[i].start = b.s[i];
			t->r6[i].any[0] = b.r[i].any[0];
			t->r6[i].any[1] = b.r[i].any[1];
			t->r6[i].pnode = b.r[i].pnode;
		}
	}
	t->nr = b.n;
	rc = 0;
out:
	free(b.s);
	free(b.r);
	return rc;
}

int
atrie_finish(struct atrie *t)
{
	if (pports_finish(&t->ports, anode_span, t) == -1)
		return -1;
	return atrie_index(t);
}

/*
 * A port rule at a node from `pnode` up beats range ri's any-port rule of
 * its list (in best[] on entry) if its prefix is as long or longer; the
 * deepest wins.
 */
void
arange_ports(const struct atrie *t, uint32_t ri, uint32_t pnode,
    uint16_t port, rref best[2])
{
	const struct anode	*n;
	const struct pport	*pp;
	uint32_t		 m;
	unsigned		 open = 3, l;

	for (m = pnode; m != 0 && open != 0; m = n->pup) {
		n = &t->n[m - 1];
		pp = pport_find(t->ports.v + n->pfirst, n->pcount, port);
		for (l = 0; l < 2; l++) {
			if ((open & (1u << l)) == 0)
				continue;
			if (best[l] != 0 && n->len < t->alen[ri][l])
				open &= ~(1u << l);
			else if (pp != NULL && pp->r[l] != 0) {
				best[l] = pp->r[l];
				open &= ~(1u << l);
			}
		}
	}
}
