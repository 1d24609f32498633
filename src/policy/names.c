/*
 * names.c - hostnames and wildcard suffixes in one open-addressing hash
 * table. A name is looked up whole (exact rules) and then by each suffix
 * that follows a dot (wildcard rules), the hashes of all suffixes coming
 * from one right-to-left pass. The cost grows with the name's length, never
 * with the number of rules.
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
	if ((t->slot = calloc(n, sizeof(*t->slot))) == NULL)
		return -1;
	t->mask = n - 1;
	return 0;
}

void
ntab_free(struct ntab *t)
{
	free(t->e);
	free(t->slot);
	free(t->ports);
	free(t->pend);
	memset(t, 0, sizeof(*t));
}

static uint64_t
nh_hash(const char *s, size_t len)
{
	uint64_t h = 0;

	while (len > 0)
		h = nh_step(h, (unsigned char)s[--len]);
	return nh_final(h);
}

static int
same_name(const char *wire, size_t len, const struct nent *e)
{
	size_t i;

	if (len != e->len)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)wire[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)e->name[i])
			return 0;
	}
	return 1;
}

static const struct nent *
ntab_find(const struct ntab *t, uint64_t h, const char *s, size_t len)
{
	size_t			 i = (size_t)h & t->mask;
	uint32_t		 tag = (uint32_t)(h >> 32);
	const struct nslot	*sl;

	for (;; i = (i + 1) & t->mask) {
		sl = &t->slot[i];
		if (sl->ent == 0)
			return NULL;
		if (sl->tag == tag && same_name(s, len, &t->e[sl->ent - 1]))
			return &t->e[sl->ent - 1];
	}
}

/* Finds or creates the entry for `name`; returns its index or -1. */
static long
ntab_entry(struct ntab *t, const char *name)
{
	size_t		 len = strlen(name), i;
	uint64_t	 h = nh_hash(name, len);
	const struct nent *found;
	struct nent	*e;

	if ((found = ntab_find(t, h, name, len)) != NULL)
		return found - t->e;
	/* ntab_init sized the slots for every rule: never more than half full */
	if (t->ne == t->cape) {
		size_t cap = t->cape ? t->cape * 2 : 64;

		if ((e = realloc(t->e, cap * sizeof(*e))) == NULL)
			return -1;
		t->e = e;
		t->cape = cap;
	}
	e = &t->e[t->ne];
	memset(e, 0, sizeof(*e));
	e->h = h;
	e->name = name;
	e->len = (uint16_t)len;
	for (i = (size_t)h & t->mask; t->slot[i].ent != 0; i = (i + 1) & t->mask)
		;
	t->slot[i].tag = (uint32_t)(h >> 32);
	t->slot[i].ent = (uint32_t)++t->ne;
	return (long)(t->ne - 1);
}

int
ntab_add(struct ntab *t, const char *name, int kind, uint16_t port, rref ref)
{
	struct npend	*p;
	long		 ei;

	if ((ei = ntab_entry(t, name)) < 0)
		return -1;
	if (port == 0) {
		if (t->e[ei].any[kind] == 0)
			t->e[ei].any[kind] = ref;
		return 0;
	}
	if (t->npend == t->cappend) {
		size_t cap = t->cappend ? t->cappend * 2 : 64;

		if ((p = realloc(t->pend, cap * sizeof(*p))) == NULL)
			return -1;
		t->pend = p;
		t->cappend = cap;
	}
	p = &t->pend[t->npend++];
	p->ent = (uint32_t)ei;
	p->port = port;
	p->kind = (uint8_t)kind;
	p->ref = ref;
	return 0;
}

static int
npend_cmp(const void *a, const void *b)
{
	const struct npend *x = a, *y = b;

	if (x->ent != y->ent)
		return x->ent < y->ent ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->ref < y->ref ? -1 : 1;
}

int
ntab_finish(struct ntab *t)
{
	size_t		 i;
	struct pport	*pp = NULL;

	if (t->npend == 0)
		return 0;
	qsort(t->pend, t->npend, sizeof(*t->pend), npend_cmp);
	if ((t->ports = calloc(t->npend, sizeof(*t->ports))) == NULL)
		return -1;
	for (i = 0; i < t->npend; i++) {
		const struct npend *p = &t->pend[i];
		struct nent *e = &t->e[p->ent];

		if (i == 0 || p->ent != t->pend[i - 1].ent) {
			e->pfirst = (uint32_t)t->nports;
			pp = NULL;
		}
		if (pp == NULL || pp->port != p->port) {
			pp = &t->ports[t->nports++];
			pp->port = p->port;
			e->pcount++;
		}
		if (pp->r[p->kind] == 0)
			pp->r[p->kind] = p->ref;
	}
	free(t->pend);
	t->pend = NULL;
	t->npend = t->cappend = 0;
	return 0;
}

/* Takes entry `e`'s rules of kind base+list for `port` into best[]. */
static void
nent_take(const struct ntab *t, const struct nent *e, int base,
    uint16_t port, rref best[2])
{
	const struct pport	*pp = NULL;
	int			 l;

	if (e->pcount != 0 && port != 0)
		pp = pport_find(t->ports + e->pfirst, e->pcount, port);
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
	const struct nent	*e;
	uint64_t		 h = 0;
	size_t			 i, stop;

	best[0] = best[1] = 0;
	if (t->ne == 0)
		return;
	if (len > 0 && s[len - 1] == '.')
		len--;
	/* No rule name is longer than POL_NAME_MAX: nor is any suffix worth
	 * hashing. Suffixes are met shortest first, so later (longer) matches
	 * replace earlier ones, and the exact match comes last. */
	stop = len > POL_NAME_MAX ? len - POL_NAME_MAX : 0;
	for (i = len; i > stop; i--) {
		h = nh_step(h, (unsigned char)s[i - 1]);
		if (i - 1 == 0) {
			e = ntab_find(t, nh_final(h), s, len);
			if (e != NULL)
				nent_take(t, e, NK_EXACT_DENY, port, best);
		} else if (s[i - 2] == '.' && i - 1 >= 2) {
			/* s[i-1..len) follows a dot with at least one byte
			 * in front of the dot: a wildcard may match */
			e = ntab_find(t, nh_final(h), s + i - 1, len - i + 1);
			if (e != NULL)
				nent_take(t, e, NK_WILD_DENY, port, best);
		}
	}
}
