/*
 * answer.c - what a sandbox's policy says about a query name and about the
 * addresses of an answer, and the rewrite of an upstream answer into the
 * reply the guest gets.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns_int.h"

static int
port_cmp(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

int
dns_pol_init(struct dns_pol *dp, struct policy *p, struct ir_err *err)
{
	const struct pol_rule	*r;
	size_t			 i, n, k;

	memset(dp, 0, sizeof(*dp));
	n = policy_nrules(p, POL_ALLOW);
	for (i = k = 0; i < n; i++) {
		r = policy_rule(p, POL_ALLOW, i);
		if (r->port != 0 && r->kind != POL_ADDR)
			k++;
	}
	if (k > 0 && (dp->dp_ports = calloc(k, sizeof(uint16_t))) == NULL)
		return err_set(err, errno, "out of memory");
	for (i = k = 0; i < n; i++) {
		r = policy_rule(p, POL_ALLOW, i);
		if (r->port != 0 && r->kind != POL_ADDR)
			dp->dp_ports[k++] = r->port;
	}
	if (k > 1)
		qsort(dp->dp_ports, k, sizeof(uint16_t), port_cmp);
	for (i = n = 0; i < k; i++)
		if (n == 0 || dp->dp_ports[n - 1] != dp->dp_ports[i])
			dp->dp_ports[n++] = dp->dp_ports[i];
	dp->dp_nports = k > 0 ? n : 0;
	dp->dp_policy = policy_hold(p);
	return 0;
}

void
dns_pol_clear(struct dns_pol *dp)
{
	policy_free(dp->dp_policy);
	free(dp->dp_ports);
	memset(dp, 0, sizeof(*dp));
}

/*
 * Port 0 first (no port rule matches). A block by a rule or the guard
 * there is final: only rules without a port match at port 0. A default
 * block may still turn into a permit at a port some allow rule names.
 */
static int
pol_any_port(const struct dns_pol *dp, const struct pol_guard *g,
    const struct pol_target *t0, struct pol_decision *d)
{
	struct pol_target	 t = *t0;
	struct pol_decision	 dd;
	size_t			 i;

	t.port = 0;
	policy_eval(dp->dp_policy, g, &t, d);
	if (d->verdict == POL_PERMITTED)
		return 1;
	if (d->basis != POL_BY_DEFAULT)
		return 0;
	for (i = 0; i < dp->dp_nports; i++) {
		t.port = dp->dp_ports[i];
		policy_eval(dp->dp_policy, g, &t, &dd);
		if (dd.verdict == POL_PERMITTED) {
			*d = dd;
			return 1;
		}
	}
	return 0;
}

int
dns_pol_name(const struct dns_pol *dp, const char *name, size_t len,
    struct pol_decision *d)
{
	struct pol_name		 pn = { name, len };
	struct pol_target	 t;

	memset(&t, 0, sizeof(t));
	t.names = &pn;
	t.nnames = 1;
	return pol_any_port(dp, NULL, &t, d);
}

int
dns_pol_addr(const struct dns_pol *dp, const struct pol_guard *g,
    const struct pol_target *t, struct pol_decision *d)
{
	return pol_any_port(dp, g, t, d);
}

/* Index of `n` in the chain, or -1. */
static int
chain_find(const struct dns_name *chain, size_t n, const struct dns_name *nm)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (dns_name_eq(&chain[i], nm))
			return (int)i;
	return -1;
}

/*
 * The CNAME chain from the query's name: chain[0] is the name asked, each
 * next one the target of a CNAME owned by the one before. Stops at a loop
 * or DNS_CHAIN_MAX names.
 */
static size_t
chain_build(const struct dns_msg *m, const struct dns_query *q,
    struct dns_name *chain)
{
	const struct dns_rr	*rr;
	struct dns_name		 owner, target;
	size_t			 n = 1, i, off;
	const char		*why;
	int			 more = 1;

	chain[0] = q->q_name;
	if (q->q_type == DNS_T_CNAME)
		return n;
	while (more && n < DNS_CHAIN_MAX) {
		more = 0;
		for (i = 0; i < m->m_nrr; i++) {
			rr = &m->m_rr[i];
			if (rr->r_section != 1 || rr->r_type != DNS_T_CNAME)
				continue;
			dns_rr_name(m, rr, &owner);
			if (!dns_name_eq(&owner, &chain[n - 1]))
				continue;
			off = rr->r_rdoff;
			if (dns_name_read(m->m_buf, m->m_len, &off, &target,
			    &why) == -1 || chain_find(chain, n, &target) >= 0)
				break;
			chain[n++] = target;
			more = 1;
			break;
		}
	}
	return n;
}

static void
answer_names(struct dns_answer *res, const struct dns_name *chain, size_t n)
{
	size_t	 i, o = 0, len;

	res->a_nnames = n;
	for (i = 0; i < n; i++) {
		len = dns_name_text(&chain[i], res->a_text + o, DNS_TEXT_MAX);
		res->a_names[i].s = res->a_text + o;
		res->a_names[i].len = len;
		o += len + 1;
	}
}

/* Decides an address record: 1 keep (and map), 0 strip. */
static int
answer_addr(const struct dns_msg *m, const struct dns_rr *rr,
    const struct dns_pol *dp, const struct pol_guard *g,
    struct dns_answer *res)
{
	struct pol_target	 t;
	struct pol_decision	 d;
	struct dns_strip	*st;
	struct dns_map		*mp;

	memset(&t, 0, sizeof(t));
	t.family = rr->r_type == DNS_T_A ? 4 : 6;
	memcpy(t.addr, m->m_buf + rr->r_rdoff, rr->r_rdlen);
	t.names = res->a_names;
	t.nnames = res->a_nnames;
	if (!dns_pol_addr(dp, g, &t, &d)) {
		if (res->a_nstrip < DNS_STRIP_MAX) {
			st = &res->a_strip[res->a_nstrip++];
			st->st_family = t.family;
			memcpy(st->st_addr, t.addr, 16);
			st->st_d = d;
		}
		res->a_stripped++;
		return 0;
	}
	/* An address the cache cannot name is one the proxy could not
	 * match to its name: leave it out rather than out of sync. */
	if (res->a_nmaps == DNS_MAPS_MAX) {
		res->a_stripped++;
		return 0;
	}
	mp = &res->a_maps[res->a_nmaps++];
	mp->mp_family = t.family;
	memcpy(mp->mp_addr, t.addr, 16);
	mp->mp_ttl = rr->r_ttl;
	return 1;
}

static void
reply_head(struct dns_wr *w, const struct dns_query *q, int rcode, int tc)
{
	uint16_t	 flags;

	flags = DNS_F_QR | DNS_F_RA | (q->q_flags & (DNS_F_RD | DNS_F_CD)) |
	    (uint16_t)(rcode & DNS_F_RCMASK) | (tc ? DNS_F_TC : 0);
	dns_wr_u16(w, q->q_id);
	dns_wr_u16(w, flags);
	dns_wr_u16(w, 1);
	dns_wr_u16(w, 0);
	dns_wr_u16(w, 0);
	dns_wr_u16(w, 0);
	dns_wr_name(w, &q->q_name, 1);
	dns_wr_u16(w, q->q_type);
	dns_wr_u16(w, q->q_class);
}

int
dns_answer_filter(const struct dns_query *q, const uint8_t *ab, size_t alen,
    const struct dns_pol *dp, const struct pol_guard *g, uint8_t *out,
    size_t maxlen, struct dns_answer *res, struct dns_msg *m)
{
	return dns_answer_filter_aged(q, ab, alen, 0, dp, g, out, maxlen, res,
	    m);
}

int
dns_answer_filter_aged(const struct dns_query *q, const uint8_t *ab,
    size_t alen, uint32_t age_s, const struct dns_pol *dp,
    const struct pol_guard *g, uint8_t *out, size_t maxlen,
    struct dns_answer *res, struct dns_msg *m)
{
	struct dns_name		 chain[DNS_CHAIN_MAX], owner;
	const struct dns_rr	*rr;
	struct dns_wr		 w;
	const char		*why;
	size_t			 i, nchain;
	uint16_t		 an = 0, ns = 0;
	int			 rcode;

	memset(res, 0, offsetof(struct dns_answer, a_text));
	res->a_nmaps = res->a_nstrip = res->a_stripped = 0;
	res->a_truncated = 0;
	if (!q->q_hasq || dns_msg_parse(ab, alen, m, &why) != 0 ||
	    !(m->m_flags & DNS_F_QR) || DNS_OPCODE(m->m_flags) != 0 ||
	    !m->m_hasq || m->m_qtype != q->q_type ||
	    m->m_qclass != q->q_class || !dns_name_eq(&m->m_qname, &q->q_name))
		return -1;
	rcode = (m->m_flags & DNS_F_RCMASK) | (m->m_edns_ercode << 4);
	if (rcode > 15)
		return -1;
	for (i = 0; age_s > 0 && i < m->m_nrr; i++)
		if (m->m_rr[i].r_type != DNS_T_OPT)
			m->m_rr[i].r_ttl = m->m_rr[i].r_ttl > age_s ?
			    m->m_rr[i].r_ttl - age_s : 0;
	res->a_rcode = rcode;
	nchain = chain_build(m, q, chain);
	answer_names(res, chain, nchain);
	dns_wr_init(&w, out, maxlen);
	reply_head(&w, q, rcode, 0);
	for (i = 0; i < m->m_nrr && (rcode == DNS_NOERROR ||
	    rcode == DNS_NXDOMAIN); i++) {
		rr = &m->m_rr[i];
		if (rr->r_type == DNS_T_OPT || rr->r_section == 3)
			continue;
		if (rr->r_class == DNS_C_IN && (rr->r_type == DNS_T_A ||
		    rr->r_type == DNS_T_AAAA)) {
			if (rr->r_section != 1)
				continue;
			dns_rr_name(m, rr, &owner);
			if (chain_find(chain, nchain, &owner) < 0)
				continue;
			if (!answer_addr(m, rr, dp, g, res))
				continue;
		} else if (rr->r_section == 1) {
			dns_rr_name(m, rr, &owner);
			if (chain_find(chain, nchain, &owner) < 0)
				continue;
		}
		dns_wr_rr(&w, m, rr);
		if (rr->r_section == 1)
			an++;
		else
			ns++;
	}
	if (q->q_edns)
		dns_wr_opt(&w, DNS_EDNS_SIZE, 0);
	if (w.w_full) {
		/* Too big for the guest: TC and no records; it retries on
		 * TCP. Every address stays mapped: the cache is written
		 * before any reply. */
		res->a_truncated = 1;
		dns_wr_init(&w, out, maxlen);
		reply_head(&w, q, rcode, 1);
		if (q->q_edns)
			dns_wr_opt(&w, DNS_EDNS_SIZE, 0);
		if (w.w_full)
			return -1;
		an = ns = 0;
	}
	dns_wr_counts(&w, 1, an, ns, q->q_edns ? 1 : 0);
	return (int)w.w_len;
}

size_t
dns_answer_cache(const struct dns_answer *ans, struct dcache *c, uint64_t now,
    unsigned floor_s, unsigned max_s)
{
	const struct dns_map	*mp;
	uint64_t		 ttl;
	size_t			 i, k, failed = 0;

	for (i = 0; i < ans->a_nmaps; i++) {
		mp = &ans->a_maps[i];
		ttl = mp->mp_ttl < floor_s ? floor_s : mp->mp_ttl;
		if (ttl > max_s)
			ttl = max_s;
		/* Backwards: the newest pair of an address is listed first. */
		for (k = ans->a_nnames; k-- > 0;)
			if (dcache_put(c, now, mp->mp_family, mp->mp_addr,
			    ans->a_names[k].s, ans->a_names[k].len,
			    now + ttl * 1000) == -1)
				failed++;
	}
	return failed;
}
