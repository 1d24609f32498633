/*
 * trie.c - address prefixes in a path-compressed binary trie.
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
	free(t->jump);
	free(t->jent);
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

/* Node counts of every subtree, into size[] (indexed like t->n). */
static uint32_t
atrie_sizes(const struct atrie *t, uint32_t n, uint32_t *size)
{
	uint32_t s = 1;

	if (t->n[n].child[0] != 0)
		s += atrie_sizes(t, t->n[n].child[0], size);
	if (t->n[n].child[1] != 0)
		s += atrie_sizes(t, t->n[n].child[1], size);
	return size[n] = s;
}

#define JUMP_MIN_NODES	8	/* smaller subtrees are walked */

/* Fills jump table entry `e` for node `top`, span end `end`, key `key`. */
static void
ajent_fill(const struct atrie *t, uint32_t top, unsigned end, u128 key,
    struct ajent *e)
{
	const struct anode	*m = &t->n[top];
	uint32_t		 c;

	e->next = 0;
	e->best[0] = e->best[1] = 0;
	for (;;) {
		/* m->len < end: all of m's prefix bits are known */
		if (((key ^ m->key) & mask128(m->len)) != 0)
			return;
		if (m->pcount != 0)
			e->next |= AJ_SLOW;
		if (m->any[0] != 0)
			e->best[0] = m->any[0];
		if (m->any[1] != 0)
			e->best[1] = m->any[1];
		c = m->child[bit128(key, m->len)];
		if (c == 0)
			return;
		m = &t->n[c];
		if (m->len >= end) {
			e->next |= c;
			return;
		}
	}
}

static int
atrie_jumps(struct atrie *t)
{
	uint32_t	*size, *queue, qh = 0, qt = 0, n, c, i;
	unsigned	 bits;
	struct ajent	*je;
	struct ajump	*aj;
	int		 rc = -1;

	if (t->nn < JUMP_MIN_NODES)
		return 0;
	size = calloc(t->nn, sizeof(*size));
	queue = calloc(t->nn, sizeof(*queue));
	if (size == NULL || queue == NULL)
		goto out;
	atrie_sizes(t, 0, size);
	queue[qt++] = 0;
	while (qh < qt) {
		n = queue[qh++];
		/* about one entry per node below: memory stays linear */
		for (bits = 2; bits < 8 && (2u << bits) <= size[n]; bits++)
			;
		if (t->n[n].len + bits > t->maxlen) {
			t->n[n].jump = 0;
			continue;
		}
		aj = realloc(t->jump, (t->njump + 1) * sizeof(*aj));
		if (aj == NULL)
			goto out;
		t->jump = aj;
		je = realloc(t->jent, (t->njent + (1u << bits)) * sizeof(*je));
		if (je == NULL)
			goto out;
		t->jent = je;
		aj[t->njump].first = (uint32_t)t->njent;
		aj[t->njump].bits = (uint8_t)bits;
		t->n[n].jump = (uint32_t)++t->njump;
		for (i = 0; i < (1u << bits); i++) {
			u128 key = t->n[n].key |
			    ((u128)i << (128 - t->n[n].len - bits));

			ajent_fill(t, n, t->n[n].len + bits, key, &je[t->njent + i]);
			c = je[t->njent + i].next & ~AJ_SLOW;
			/* big continuations get a table of their own;
			 * UINT32_MAX marks them queued until then */
			if (c != 0 && size[c] >= JUMP_MIN_NODES &&
			    t->n[c].jump == 0) {
				t->n[c].jump = UINT32_MAX;
				queue[qt++] = c;
			}
		}
		t->njent += 1u << bits;
	}
	rc = 0;
out:
	free(size);
	free(queue);
	return rc;
}

int
atrie_finish(struct atrie *t)
{
	if (pports_finish(&t->ports, anode_span, t) == -1)
		return -1;
	return atrie_jumps(t);
}

static inline void
anode_take(const struct atrie *t, const struct anode *n, uint16_t port,
    rref best[2])
{
	const struct pport	*pp = NULL;
	int			 l;

	if (n->pcount != 0 && port != 0)
		pp = pport_find(t->ports.v + n->pfirst, n->pcount, port);
	for (l = 0; l < 2; l++) {
		if (pp != NULL && pp->r[l] != 0)
			best[l] = pp->r[l];
		else if (n->any[l] != 0)
			best[l] = n->any[l];
	}
}

void
atrie_lookup(const struct atrie *t, u128 key, uint16_t port, rref best[2])
{
	const struct anode	*n = &t->n[0];
	const struct ajump	*aj;
	const struct ajent	*e;
	uint32_t		 c;

	best[0] = best[1] = 0;
	for (;;) {
		if (((key ^ n->key) & mask128(n->len)) != 0)
			break;
		if (n->jump != 0) {
			aj = &t->jump[n->jump - 1];
			e = &t->jent[aj->first + (uint32_t)((key <<
			    n->len) >> (128 - aj->bits))];
			if ((e->next & AJ_SLOW) == 0) {
				if (e->best[0] != 0)
					best[0] = e->best[0];
				if (e->best[1] != 0)
					best[1] = e->best[1];
				if (e->next == 0)
					break;
				n = &t->n[e->next];
				continue;
			}
		}
		anode_take(t, n, port, best);
		if (n->len >= t->maxlen)
			break;
		c = n->child[bit128(key, n->len)];
		if (c == 0)
			break;
		n = &t->n[c];
	}
}
