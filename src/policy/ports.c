/*
 * ports.c - per-port rules of trie nodes and name entries, gathered while
 * building and then sorted into one array of per-owner spans.
 */
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

int
pports_add(struct pports *pp, uint32_t owner, uint16_t port, unsigned slot,
    rref ref)
{
	struct ppend	*p;

	if (pp->npend == pp->cap) {
		size_t cap = pp->cap ? pp->cap * 2 : 64;

		if ((p = realloc(pp->pend, cap * sizeof(*p))) == NULL)
			return -1;
		pp->pend = p;
		pp->cap = cap;
	}
	p = &pp->pend[pp->npend++];
	p->owner = owner;
	p->port = port;
	p->slot = (uint8_t)slot;
	p->ref = ref;
	return 0;
}

static int
ppend_cmp(const void *a, const void *b)
{
	const struct ppend *x = a, *y = b;

	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	/* refs are distinct: each rule is added once */
	return x->ref < y->ref ? -1 : 1;
}

int
pports_finish(struct pports *pp,
    void (*span)(void *, uint32_t, uint32_t, uint32_t), void *ctx)
{
	struct pport	*cur = NULL;
	size_t		 i, first = 0;

	if (pp->npend == 0)
		return 0;
	qsort(pp->pend, pp->npend, sizeof(*pp->pend), ppend_cmp);
	if ((pp->v = calloc(pp->npend, sizeof(*pp->v))) == NULL)
		return -1;
	for (i = 0; i < pp->npend; i++) {
		const struct ppend *p = &pp->pend[i];

		if (i > 0 && p->owner != pp->pend[i - 1].owner) {
			span(ctx, pp->pend[i - 1].owner, (uint32_t)first,
			    (uint32_t)(pp->n - first));
			first = pp->n;
			cur = NULL;
		}
		if (cur == NULL || cur->port != p->port) {
			cur = &pp->v[pp->n++];
			cur->port = p->port;
		}
		if (cur->r[p->slot] == 0)	/* sorted: first rule wins */
			cur->r[p->slot] = p->ref;
	}
	span(ctx, pp->pend[pp->npend - 1].owner, (uint32_t)first,
	    (uint32_t)(pp->n - first));
	free(pp->pend);
	pp->pend = NULL;
	pp->npend = pp->cap = 0;
	return 0;
}

void
pports_free(struct pports *pp)
{
	free(pp->v);
	free(pp->pend);
	memset(pp, 0, sizeof(*pp));
}

const struct pport *
pport_find(const struct pport *v, uint32_t n, uint16_t port)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (v[mid].port == port)
			return &v[mid];
		if (v[mid].port < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

