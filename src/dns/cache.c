/*
 * cache.c - one sandbox's names: which addresses its own lookups returned
 * for which names. A link is one (address, name) pair; every link sits on
 * its address's list, its name's list and the write-order (LRU) list.
 * Hash tables are keyed with a per-cache seed so a guest choosing names
 * cannot aim them at one bucket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns_int.h"

struct dc_addr;
struct dc_name;

struct dc_link {
	struct dc_link	*l_anext, **l_aprev;	/* same address */
	struct dc_link	*l_nnext, **l_nprev;	/* same name */
	struct dc_link	*l_older, *l_newer;	/* write order */
	struct dc_addr	*l_addr;
	struct dc_name	*l_name;
	uint64_t	 l_expires;
};

struct dc_addr {
	struct dc_addr	*a_next;		/* hash chain */
	struct dc_link	*a_links;
	unsigned	 a_holds;
	uint32_t	 a_hash;
	uint8_t		 a_family;
	uint8_t		 a_addr[16];
};

struct dc_name {
	struct dc_name	*n_next;
	struct dc_link	*n_links;
	uint32_t	 n_hash;
	uint16_t	 n_len;
	char		 n_text[];		/* lower case, NUL */
};

struct dcache {
	size_t		 c_max, c_nlinks;
	uint64_t	 c_seed;
	struct dc_link	*c_oldest, *c_newest;
	struct dc_addr	**c_abuck;
	size_t		 c_nabuck, c_naddrs;
	struct dc_name	**c_nbuck;
	size_t		 c_nnbuck, c_nnames;
};

#define DC_BUCKETS0	16

uint32_t
dns_hash(uint64_t seed, const uint8_t *p, size_t len)
{
	uint64_t	 h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

/* Lower case, one trailing dot dropped. Returns the length, or -1 if
 * too long to be a name's text. */
static int
dc_norm(const char *name, size_t len, char *out)
{
	size_t	 i;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len >= DNS_TEXT_MAX)
		return -1;
	for (i = 0; i < len; i++)
		out[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ?
		    name[i] + 32 : name[i]);
	out[len] = '\0';
	return (int)len;
}

static void
dc_key(uint8_t family, const uint8_t *addr, uint8_t key[17])
{
	memset(key, 0, 17);
	key[0] = family;
	memcpy(key + 1, addr, family == 4 ? 4 : 16);
}

struct dcache *
dcache_new(size_t max, uint64_t seed)
{
	struct dcache	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->c_max = max > 0 ? max : 1;
	c->c_seed = seed;
	c->c_nabuck = c->c_nnbuck = DC_BUCKETS0;
	c->c_abuck = calloc(c->c_nabuck, sizeof(*c->c_abuck));
	c->c_nbuck = calloc(c->c_nnbuck, sizeof(*c->c_nbuck));
	if (c->c_abuck == NULL || c->c_nbuck == NULL) {
		dcache_free(c);
		return NULL;
	}
	return c;
}

void
dcache_free(struct dcache *c)
{
	struct dc_link	*l, *next;
	struct dc_addr	*a, *an;
	size_t		 i;

	if (c == NULL)
		return;
	for (l = c->c_oldest; l != NULL; l = next) {
		next = l->l_newer;
		free(l);
	}
	for (i = 0; c->c_abuck != NULL && i < c->c_nabuck; i++)
		for (a = c->c_abuck[i]; a != NULL; a = an) {
			an = a->a_next;
			free(a);
		}
	for (i = 0; c->c_nbuck != NULL && i < c->c_nnbuck; i++) {
		struct dc_name *n, *nn;

		for (n = c->c_nbuck[i]; n != NULL; n = nn) {
			nn = n->n_next;
			free(n);
		}
	}
	free(c->c_abuck);
	free(c->c_nbuck);
	free(c);
}

size_t
dcache_count(const struct dcache *c)
{
	return c->c_nlinks;
}

static struct dc_addr *
addr_find(const struct dcache *c, uint8_t family, const uint8_t *addr)
{
	uint8_t		 key[17];
	uint32_t	 h;
	struct dc_addr	*a;

	dc_key(family, addr, key);
	h = dns_hash(c->c_seed, key, sizeof(key));
	for (a = c->c_abuck[h & (c->c_nabuck - 1)]; a != NULL; a = a->a_next)
		if (a->a_hash == h && a->a_family == key[0] &&
		    memcmp(a->a_addr, key + 1, 16) == 0)
			return a;
	return NULL;
}

static struct dc_name *
name_find(const struct dcache *c, const char *text, size_t len)
{
	uint32_t	 h = dns_hash(c->c_seed, (const uint8_t *)text, len);
	struct dc_name	*n;

	for (n = c->c_nbuck[h & (c->c_nnbuck - 1)]; n != NULL; n = n->n_next)
		if (n->n_hash == h && n->n_len == len &&
		    memcmp(n->n_text, text, len) == 0)
			return n;
	return NULL;
}

/* Doubles a table when it holds more entries than buckets. */
static void
addr_grow(struct dcache *c)
{
	struct dc_addr	**nb, *a, *next;
	size_t		 i, nn = c->c_nabuck * 2;

	if (c->c_naddrs <= c->c_nabuck || (nb = calloc(nn, sizeof(*nb))) ==
	    NULL)
		return;
	for (i = 0; i < c->c_nabuck; i++)
		for (a = c->c_abuck[i]; a != NULL; a = next) {
			next = a->a_next;
			a->a_next = nb[a->a_hash & (nn - 1)];
			nb[a->a_hash & (nn - 1)] = a;
		}
	free(c->c_abuck);
	c->c_abuck = nb;
	c->c_nabuck = nn;
}

static void
name_grow(struct dcache *c)
{
	struct dc_name	**nb, *n, *next;
	size_t		 i, nn = c->c_nnbuck * 2;

	if (c->c_nnames <= c->c_nnbuck || (nb = calloc(nn, sizeof(*nb))) ==
	    NULL)
		return;
	for (i = 0; i < c->c_nnbuck; i++)
		for (n = c->c_nbuck[i]; n != NULL; n = next) {
			next = n->n_next;
			n->n_next = nb[n->n_hash & (nn - 1)];
			nb[n->n_hash & (nn - 1)] = n;
		}
	free(c->c_nbuck);
	c->c_nbuck = nb;
	c->c_nnbuck = nn;
}

static struct dc_addr *
addr_get(struct dcache *c, uint8_t family, const uint8_t *addr)
{
	struct dc_addr	*a;
	uint8_t		 key[17];

	if ((a = addr_find(c, family, addr)) != NULL)
		return a;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	dc_key(family, addr, key);
	a->a_hash = dns_hash(c->c_seed, key, sizeof(key));
	a->a_family = key[0];
	memcpy(a->a_addr, key + 1, 16);
	a->a_next = c->c_abuck[a->a_hash & (c->c_nabuck - 1)];
	c->c_abuck[a->a_hash & (c->c_nabuck - 1)] = a;
	c->c_naddrs++;
	addr_grow(c);
	return a;
}

static struct dc_name *
name_get(struct dcache *c, const char *text, size_t len)
{
	struct dc_name	*n;

	if ((n = name_find(c, text, len)) != NULL)
		return n;
	if ((n = calloc(1, sizeof(*n) + len + 1)) == NULL)
		return NULL;
	n->n_hash = dns_hash(c->c_seed, (const uint8_t *)text, len);
	n->n_len = (uint16_t)len;
	memcpy(n->n_text, text, len);
	n->n_next = c->c_nbuck[n->n_hash & (c->c_nnbuck - 1)];
	c->c_nbuck[n->n_hash & (c->c_nnbuck - 1)] = n;
	c->c_nnames++;
	name_grow(c);
	return n;
}

/* Frees an address no link and no hold needs any more. */
static void
addr_maybe_free(struct dcache *c, struct dc_addr *a)
{
	struct dc_addr	**pp;

	if (a->a_links != NULL || a->a_holds > 0)
		return;
	for (pp = &c->c_abuck[a->a_hash & (c->c_nabuck - 1)]; *pp != a;
	    pp = &(*pp)->a_next)
		;
	*pp = a->a_next;
	c->c_naddrs--;
	free(a);
}

static void
name_maybe_free(struct dcache *c, struct dc_name *n)
{
	struct dc_name	**pp;

	if (n->n_links != NULL)
		return;
	for (pp = &c->c_nbuck[n->n_hash & (c->c_nnbuck - 1)]; *pp != n;
	    pp = &(*pp)->n_next)
		;
	*pp = n->n_next;
	c->c_nnames--;
	free(n);
}

static void
lru_unlink(struct dcache *c, struct dc_link *l)
{
	if (l->l_older != NULL)
		l->l_older->l_newer = l->l_newer;
	else
		c->c_oldest = l->l_newer;
	if (l->l_newer != NULL)
		l->l_newer->l_older = l->l_older;
	else
		c->c_newest = l->l_older;
	l->l_older = l->l_newer = NULL;
}

static void
lru_append(struct dcache *c, struct dc_link *l)
{
	l->l_older = c->c_newest;
	l->l_newer = NULL;
	if (c->c_newest != NULL)
		c->c_newest->l_newer = l;
	else
		c->c_oldest = l;
	c->c_newest = l;
}

static void
link_front(struct dc_link *l, struct dc_link **ahead, struct dc_link **nhead)
{
	l->l_anext = *ahead;
	if (*ahead != NULL)
		(*ahead)->l_aprev = &l->l_anext;
	*ahead = l;
	l->l_aprev = ahead;
	l->l_nnext = *nhead;
	if (*nhead != NULL)
		(*nhead)->l_nprev = &l->l_nnext;
	*nhead = l;
	l->l_nprev = nhead;
}

static void
link_out(struct dc_link *l)
{
	*l->l_aprev = l->l_anext;
	if (l->l_anext != NULL)
		l->l_anext->l_aprev = l->l_aprev;
	*l->l_nprev = l->l_nnext;
	if (l->l_nnext != NULL)
		l->l_nnext->l_nprev = l->l_nprev;
}

static void
link_free(struct dcache *c, struct dc_link *l)
{
	struct dc_addr	*a = l->l_addr;
	struct dc_name	*n = l->l_name;

	link_out(l);
	lru_unlink(c, l);
	free(l);
	c->c_nlinks--;
	addr_maybe_free(c, a);
	name_maybe_free(c, n);
}

static int
visible(const struct dc_link *l, uint64_t now)
{
	return l->l_expires > now || l->l_addr->a_holds > 0;
}

/* Evicts the oldest link of an unheld address; held ones move to the
 * new end (they cannot go while held). Returns -1 if all are held. */
static int
evict_one(struct dcache *c)
{
	struct dc_link	*l;
	size_t		 n;

	for (n = c->c_nlinks; n > 0; n--) {
		l = c->c_oldest;
		if (l->l_addr->a_holds == 0) {
			link_free(c, l);
			return 0;
		}
		lru_unlink(c, l);
		lru_append(c, l);
	}
	return -1;
}

void
dcache_expire(struct dcache *c, uint64_t now)
{
	struct dc_link	*l;
	size_t		 n;

	for (n = c->c_nlinks; n > 0 && (l = c->c_oldest) != NULL; n--) {
		if (l->l_expires > now)
			break;
		if (l->l_addr->a_holds == 0)
			link_free(c, l);
		else {
			lru_unlink(c, l);
			lru_append(c, l);
		}
	}
}

/* The name's list: a name has a few addresses, while an address may have
 * thousands of names (a CDN's), and this runs for every cached answer. */
static struct dc_link *
link_find(const struct dc_addr *a, const struct dc_name *n)
{
	struct dc_link	*l;

	for (l = n->n_links; l != NULL; l = l->l_nnext)
		if (l->l_addr == a)
			return l;
	return NULL;
}

int
dcache_put(struct dcache *c, uint64_t now, uint8_t family,
    const uint8_t *addr, const char *name, size_t len, uint64_t expires)
{
	char		 text[DNS_TEXT_MAX];
	struct dc_addr	*a;
	struct dc_name	*n;
	struct dc_link	*l;
	int		 tl;

	if ((family != 4 && family != 6) ||
	    (tl = dc_norm(name, len, text)) < 0) {
		errno = EINVAL;
		return -1;
	}
	dcache_expire(c, now);
	a = addr_find(c, family, addr);
	n = name_find(c, text, (size_t)tl);
	if (a != NULL && n != NULL && (l = link_find(a, n)) != NULL) {
		if (expires > l->l_expires)
			l->l_expires = expires;
		link_out(l);
		link_front(l, &a->a_links, &n->n_links);
		lru_unlink(c, l);
		lru_append(c, l);
		return 0;
	}
	if (c->c_nlinks >= c->c_max && evict_one(c) == -1) {
		errno = ENOSPC;
		return -1;
	}
	/* Eviction may have freed what was found: look again. */
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -1;
	if ((a = addr_get(c, family, addr)) == NULL) {
		free(l);
		return -1;
	}
	if ((n = name_get(c, text, (size_t)tl)) == NULL) {
		addr_maybe_free(c, a);
		free(l);
		return -1;
	}
	l->l_addr = a;
	l->l_name = n;
	l->l_expires = expires;
	link_front(l, &a->a_links, &n->n_links);
	lru_append(c, l);
	c->c_nlinks++;
	return 0;
}

size_t
dcache_names(struct dcache *c, uint64_t now, uint8_t family,
    const uint8_t *addr, struct pol_name *names, size_t max, char *buf,
    size_t buflen)
{
	struct dc_addr	*a;
	struct dc_link	*l;
	size_t		 k = 0, o = 0;

	if ((a = addr_find(c, family, addr)) == NULL)
		return 0;
	for (l = a->a_links; l != NULL && k < max; l = l->l_anext) {
		if (!visible(l, now) || o + l->l_name->n_len + 1 > buflen)
			continue;
		memcpy(buf + o, l->l_name->n_text, l->l_name->n_len + 1);
		names[k].s = buf + o;
		names[k].len = l->l_name->n_len;
		o += l->l_name->n_len + 1;
		k++;
	}
	return k;
}

int
dcache_maps(struct dcache *c, uint64_t now, uint8_t family,
    const uint8_t *addr, const char *name, size_t len)
{
	char		 text[DNS_TEXT_MAX];
	struct dc_addr	*a;
	struct dc_name	*n;
	struct dc_link	*l;
	int		 tl;

	if ((tl = dc_norm(name, len, text)) < 0 ||
	    (a = addr_find(c, family, addr)) == NULL ||
	    (n = name_find(c, text, (size_t)tl)) == NULL ||
	    (l = link_find(a, n)) == NULL)
		return 0;
	return visible(l, now);
}

size_t
dcache_addrs(struct dcache *c, uint64_t now, const char *name, size_t len,
    struct dcache_addr *out, size_t max)
{
	char		 text[DNS_TEXT_MAX];
	struct dc_name	*n;
	struct dc_link	*l;
	size_t		 k = 0;
	int		 tl;

	if ((tl = dc_norm(name, len, text)) < 0 ||
	    (n = name_find(c, text, (size_t)tl)) == NULL)
		return 0;
	for (l = n->n_links; l != NULL && k < max; l = l->l_nnext) {
		if (!visible(l, now))
			continue;
		out[k].family = l->l_addr->a_family;
		memcpy(out[k].addr, l->l_addr->a_addr, 16);
		k++;
	}
	return k;
}

int
dcache_hold(struct dcache *c, uint8_t family, const uint8_t *addr)
{
	struct dc_addr	*a;

	if (family != 4 && family != 6) {
		errno = EINVAL;
		return -1;
	}
	if ((a = addr_get(c, family, addr)) == NULL)
		return -1;
	a->a_holds++;
	return 0;
}

void
dcache_release(struct dcache *c, uint8_t family, const uint8_t *addr)
{
	struct dc_addr	*a;

	if ((family != 4 && family != 6) ||
	    (a = addr_find(c, family, addr)) == NULL || a->a_holds == 0)
		return;
	a->a_holds--;
	addr_maybe_free(c, a);
}

void
dcache_filter(struct dcache *c, dcache_keep_fn *keep, void *arg)
{
	struct dc_link	*l, *next;

	for (l = c->c_oldest; l != NULL; l = next) {
		next = l->l_newer;
		if (!keep(arg, l->l_addr->a_family, l->l_addr->a_addr,
		    l->l_name->n_text, l->l_name->n_len))
			link_free(c, l);
	}
}
