/*
 * fuzz_dns_msg.c - the DNS view's parsers on arbitrary bytes, both ways:
 *   - as a guest's query: dns_query_parse(); an accepted query must build
 *     an upstream query and an error reply that parse again and carry the
 *     same question;
 *   - as an upstream answer to its own question: dns_answer_filter() under
 *     a policy with allow, deny and guard rules; a reply must parse, fit
 *     the size asked, hold no address the policy blocks and only addresses
 *     that went into the cache (checked through dns_answer_cache());
 *     the answer cache's copy of it passes the filter the same way.
 * Checks: no crash, leak or UB, and those properties (assert).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dns_msg		 m1, m2;
static struct dns_answer	 ans;
static struct dns_pol		 dp;
static struct pol_guard		*guard;
static uint8_t			 out[DNS_MSG_MAX];

static void
setup(void)
{
	static const char *const allow[] = { "*.example.com", "alias.test",
	    "github.com:22", "*:8443" };
	static const char *const deny[] = { "blocked.test", "*.exfil.test",
	    "192.0.2.12", "0.0.0.0/0" };
	struct policy	*p;

	p = policy_compile(allow, 4, deny, 4, NULL);
	assert(p != NULL);
	assert(dns_pol_init(&dp, p, NULL) == 0);
	policy_free(p);
	guard = pol_guard_compile(pol_guard_defaults, pol_guard_ndefaults,
	    NULL);
	assert(guard != NULL);
}

static void
as_query(const uint8_t *data, size_t size)
{
	struct dns_query	 q;
	struct pol_decision	 d;
	char			 text[DNS_TEXT_MAX];
	uint8_t			 b[600];
	const char		*why;
	size_t			 n, tl;
	int			 rc;

	rc = dns_query_parse(data, size, &q, &m1, &why);
	if (rc == -1)
		return;
	n = dns_reply_error(&q, rc > 0 ? rc : DNS_NXDOMAIN, b, sizeof(b));
	assert(n >= DNS_HDR_LEN);
	assert(dns_msg_parse(b, n, &m2, &why) == 0);
	assert(m2.m_id == q.q_id && (m2.m_flags & DNS_F_QR));
	if (rc != 0)
		return;
	assert(m2.m_hasq && dns_name_eq(&m2.m_qname, &q.q_name));
	tl = dns_name_text(&q.q_name, text, sizeof(text));
	assert(tl < sizeof(text) && strlen(text) == tl);
	dns_pol_name(&dp, text, tl, &d);
	n = dns_query_build(&q, 7, b, sizeof(b));
	assert(n > 0);
	assert(dns_msg_parse(b, n, &m2, &why) == 0);
	assert(m2.m_hasq && dns_name_eq(&m2.m_qname, &q.q_name) &&
	    m2.m_qtype == q.q_type && m2.m_nrr == 1 && m2.m_edns);
}

/* The answer cache keeps what the filter accepted (m1 holds its parse);
 * the copy it gives back is the same bytes, and passes the filter again,
 * TTLs aged, to a reply of the same length. */
static void
kept(const struct dns_query *q, const uint8_t *data, size_t size, int len)
{
	static uint8_t	 copy[AC_MSG_MAX];
	struct acache	*ac = acache_new(16384, 3600, 1);
	size_t		 n;
	uint32_t	 age = 0;
	int		 rc;

	assert(ac != NULL);
	rc = acache_put(ac, 0, &m1);
	assert(rc == 0 || rc == 1);
	n = acache_get(ac, 1500, &q->q_name, q->q_type, copy, sizeof(copy),
	    &age);
	assert(n == 0 || (rc == 1 && n == size && age == 1));
	if (n > 0) {
		assert(memcmp(copy, data, n) == 0);
		assert(dns_answer_filter_aged(q, copy, n, age, &dp, guard, out,
		    DNS_MSG_MAX, &ans, &m2) == len);
	}
	acache_free(ac);
}

static void
as_answer(const uint8_t *data, size_t size, size_t maxlen)
{
	struct dns_query	 q;
	struct dcache		*c;
	const struct dns_rr	*rr;
	struct pol_target	 t;
	struct pol_decision	 d;
	const char		*why;
	size_t			 i;
	int			 len;

	/* The question the answer claims to answer is the one asked. */
	if (dns_msg_parse(data, size, &m1, &why) != 0 || !m1.m_hasq)
		return;
	memset(&q, 0, sizeof(q));
	q.q_id = 0x4242;
	q.q_flags = DNS_F_RD;
	q.q_hasq = 1;
	q.q_name = m1.m_qname;
	q.q_type = m1.m_qtype;
	q.q_class = m1.m_qclass;
	q.q_edns = size & 1;
	len = dns_answer_filter(&q, data, size, &dp, guard, out, maxlen,
	    &ans, &m1);
	if (len < 0)
		return;
	assert((size_t)len <= maxlen);
	assert(dns_msg_parse(out, (size_t)len, &m2, &why) == 0);
	assert(m2.m_id == 0x4242 && m2.m_hasq &&
	    dns_name_eq(&m2.m_qname, &q.q_name));
	assert(ans.a_nnames >= 1 && ans.a_nnames <= DNS_CHAIN_MAX);
	assert(ans.a_nmaps <= DNS_MAPS_MAX && ans.a_nstrip <= DNS_STRIP_MAX);
	c = dcache_new(16, 1);
	assert(c != NULL);
	dns_answer_cache(&ans, c, 0, 60, 3600);
	for (i = 0; i < m2.m_nrr; i++) {
		rr = &m2.m_rr[i];
		assert(rr->r_section != 3 || rr->r_type == DNS_T_OPT);
		if (rr->r_class != DNS_C_IN || (rr->r_type != DNS_T_A &&
		    rr->r_type != DNS_T_AAAA))
			continue;
		assert(rr->r_section == 1);
		memset(&t, 0, sizeof(t));
		t.family = rr->r_type == DNS_T_A ? 4 : 6;
		memcpy(t.addr, out + rr->r_rdoff, rr->r_rdlen);
		t.names = ans.a_names;
		t.nnames = ans.a_nnames;
		assert(dns_pol_addr(&dp, guard, &t, &d) == 1);
		/* Every address the guest gets is named (16 pairs at most in
		 * this cache, so only the first few are checked). */
		if (ans.a_nmaps * ans.a_nnames <= 16)
			assert(dcache_maps(c, 1, t.family, t.addr,
			    ans.a_names[0].s, ans.a_names[0].len));
	}
	dcache_free(c);
	if (maxlen == DNS_MSG_MAX)
		kept(&q, data, size, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (guard == NULL)
		setup();
	as_query(data, size);
	as_answer(data, size, DNS_UDP_MIN);
	as_answer(data, size, DNS_MSG_MAX);
	return 0;
}
