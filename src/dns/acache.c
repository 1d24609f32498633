/*
 * acache.c - one sandbox's answer cache: the upstream's answers to the
 * questions its guest asked, kept for their TTL, so that a question asked
 * again is answered without a packet going upstream. What is kept is the
 * upstream's message as it came; every use goes through dns_answer_filter()
 * again, with the policy of that moment, so a live policy change applies
 * to cached answers at once. Entries are keyed by (name in lower case,
 * type) with a per-cache seed, bounded by bytes, least recently used
 * evicted first.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "dns_int.h"

struct ac_ent {
	struct ac_ent	*e_next;		/* hash chain */
	TAILQ_ENTRY(ac_ent) e_lru;		/* use order, oldest first */
	uint64_t	 e_stored, e_expires;	/* ms */
	uint32_t	 e_hash;
	uint16_t	 e_type;
	uint16_t	 e_len;			/* of the message */
	uint8_t		 e_nlen;		/* of the name */
	uint8_t		 e_data[];		/* the name (wire, lower
						   case), the message */
};

#define E_NAME(e)	((e)->e_data)
#define E_MSG(e)	((e)->e_data + (e)->e_nlen)

struct acache {
	size_t		 c_max, c_bytes, c_n;
	unsigned	 c_ttl_max_s;
	uint64_t	 c_seed;
	TAILQ_HEAD(, ac_ent) c_lru;
	struct ac_ent	**c_buck;
	size_t		 c_nbuck;
};

#define AC_BUCKETS0	16

struct acache *
acache_new(size_t max_bytes, unsigned ttl_max_s, uint64_t seed)
{
	struct acache *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->c_max = max_bytes;
	c->c_ttl_max_s = ttl_max_s;
	c->c_seed = seed;
	TAILQ_INIT(&c->c_lru);
	return c;
}

void
acache_free(struct acache *c)
{
	struct ac_ent *e;

	if (c == NULL)
		return;
	while ((e = TAILQ_FIRST(&c->c_lru)) != NULL) {
		TAILQ_REMOVE(&c->c_lru, e, e_lru);
		free(e);
	}
	free(c->c_buck);
	free(c);
}

size_t
acache_bytes(const struct acache *c)
{
	return c->c_bytes;
}

size_t
acache_count(const struct acache *c)
{
	return c->c_n;
}

static size_t
ent_size(size_t nlen, size_t len)
{
	return sizeof(struct ac_ent) + nlen + len;
}

static void
key_norm(const struct dns_name *n, uint8_t out[DNS_NAME_MAX])
{
	/* Length bytes are at most 63, below 'A': only letters change. */
	for (size_t i = 0; i < n->n_len; i++)
		out[i] = (uint8_t)(n->n_wire[i] >= 'A' && n->n_wire[i] <= 'Z' ?
		    n->n_wire[i] + 32 : n->n_wire[i]);
}

static uint32_t
key_hash(const struct acache *c, const uint8_t *name, size_t len,
    uint16_t type)
{
	return dns_hash(c->c_seed ^ type, name, len);
}

static struct ac_ent **
ent_find(struct acache *c, uint32_t h, const uint8_t *name, size_t len,
    uint16_t type)
{
	struct ac_ent	**pp;

	if (c->c_nbuck == 0)
		return NULL;
	for (pp = &c->c_buck[h & (c->c_nbuck - 1)]; *pp != NULL;
	    pp = &(*pp)->e_next)
		if ((*pp)->e_hash == h && (*pp)->e_type == type &&
		    (*pp)->e_nlen == len && memcmp(E_NAME(*pp), name,
		    len) == 0)
			return pp;
	return NULL;
}

static void
ent_drop(struct acache *c, struct ac_ent *e)
{
	struct ac_ent	**pp = &c->c_buck[e->e_hash & (c->c_nbuck - 1)];

	while (*pp != e)
		pp = &(*pp)->e_next;
	*pp = e->e_next;
	TAILQ_REMOVE(&c->c_lru, e, e_lru);
	c->c_bytes -= ent_size(e->e_nlen, e->e_len);
	c->c_n--;
	free(e);
}

static int
buckets_grow(struct acache *c)
{
	struct ac_ent	**nb, *e, *next;
	size_t		 nn = c->c_nbuck == 0 ? AC_BUCKETS0 : c->c_nbuck * 2;

	if ((nb = calloc(nn, sizeof(*nb))) == NULL)
		return -1;
	for (size_t i = 0; i < c->c_nbuck; i++)
		for (e = c->c_buck[i]; e != NULL; e = next) {
			next = e->e_next;
			e->e_next = nb[e->e_hash & (nn - 1)];
			nb[e->e_hash & (nn - 1)] = e;
		}
	free(c->c_buck);
	c->c_buck = nb;
	c->c_nbuck = nn;
	return 0;
}

/* RFC 2181 8: a TTL with the top bit set is taken as zero. */
static uint32_t
ttl_of(uint32_t t)
{
	return t > 0x7fffffffu ? 0 : t;
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/*
 * How long `m` may be kept, in seconds; 0: not at all. Positive answers:
 * the smallest TTL of the answer and authority sections. Negative ones
 * (NXDOMAIN, or no record of the type asked), RFC 2308: only with an SOA,
 * and no longer than its MINIMUM.
 */
static uint32_t
msg_ttl(const struct dns_msg *m)
{
	const struct dns_rr	*rr;
	uint32_t		 ttl = UINT32_MAX, min;
	int			 rcode, has = 0, soa = 0;

	rcode = m->m_flags & DNS_F_RCMASK;
	if ((m->m_flags & DNS_F_TC) || m->m_edns_ercode != 0 ||
	    (rcode != DNS_NOERROR && rcode != DNS_NXDOMAIN) ||
	    !m->m_hasq || m->m_qclass != DNS_C_IN)
		return 0;
	for (size_t i = 0; i < m->m_nrr; i++) {
		rr = &m->m_rr[i];
		if (rr->r_type == DNS_T_OPT || rr->r_section == 3)
			continue;
		if (ttl_of(rr->r_ttl) < ttl)
			ttl = ttl_of(rr->r_ttl);
		if (rr->r_section == 1 && (rr->r_type == m->m_qtype ||
		    m->m_qtype == DNS_T_ANY))
			has = 1;
		if (rr->r_section == 2 && rr->r_type == DNS_T_SOA &&
		    rr->r_rdlen >= 20) {
			soa = 1;
			min = ttl_of(rd32(m->m_buf + rr->r_rdoff +
			    rr->r_rdlen - 4));	/* its MINIMUM */
			if (min < ttl)
				ttl = min;
		}
	}
	if ((rcode == DNS_NXDOMAIN || !has) && !soa)
		return 0;
	return ttl == UINT32_MAX ? 0 : ttl;
}

int
acache_put(struct acache *c, uint64_t now, const struct dns_msg *m)
{
	struct ac_ent	*e, **pp;
	uint8_t		 name[DNS_NAME_MAX];
	uint32_t	 ttl, h;
	size_t		 size, nlen = m->m_qname.n_len;

	if (c->c_max == 0 || m->m_len > AC_MSG_MAX || m->m_nrr > AC_RR_MAX ||
	    (ttl = msg_ttl(m)) == 0)
		return 0;
	size = ent_size(nlen, m->m_len);
	if (size > c->c_max)
		return 0;
	if (ttl > c->c_ttl_max_s)
		ttl = c->c_ttl_max_s;
	key_norm(&m->m_qname, name);
	h = key_hash(c, name, nlen, m->m_qtype);
	if ((pp = ent_find(c, h, name, nlen, m->m_qtype)) != NULL)
		ent_drop(c, *pp);
	while (!TAILQ_EMPTY(&c->c_lru) && c->c_bytes + size > c->c_max)
		ent_drop(c, TAILQ_FIRST(&c->c_lru));
	if (c->c_n >= c->c_nbuck && buckets_grow(c) == -1)
		return -1;
	if ((e = malloc(size)) == NULL)
		return -1;
	memset(e, 0, sizeof(*e));
	e->e_stored = now;
	e->e_expires = now + (uint64_t)ttl * 1000;
	e->e_hash = h;
	e->e_type = m->m_qtype;
	e->e_len = (uint16_t)m->m_len;
	e->e_nlen = (uint8_t)nlen;
	memcpy(E_NAME(e), name, nlen);
	memcpy(E_MSG(e), m->m_buf, m->m_len);
	e->e_next = c->c_buck[h & (c->c_nbuck - 1)];
	c->c_buck[h & (c->c_nbuck - 1)] = e;
	TAILQ_INSERT_TAIL(&c->c_lru, e, e_lru);
	c->c_bytes += size;
	c->c_n++;
	return 1;
}

size_t
acache_get(struct acache *c, uint64_t now, const struct dns_name *qname,
    uint16_t qtype, uint8_t *out, size_t cap, uint32_t *age_s)
{
	struct ac_ent	**pp, *e;
	uint8_t		 name[DNS_NAME_MAX];

	key_norm(qname, name);
	pp = ent_find(c, key_hash(c, name, qname->n_len, qtype), name,
	    qname->n_len, qtype);
	if (pp == NULL)
		return 0;
	e = *pp;
	if (now >= e->e_expires || now < e->e_stored) {
		ent_drop(c, e);
		return 0;
	}
	if (e->e_len > cap)
		return 0;
	memcpy(out, E_MSG(e), e->e_len);
	*age_s = (uint32_t)((now - e->e_stored) / 1000);
	TAILQ_REMOVE(&c->c_lru, e, e_lru);
	TAILQ_INSERT_TAIL(&c->c_lru, e, e_lru);
	return e->e_len;
}
