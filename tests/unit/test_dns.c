/*
 * test_dns.c - the DNS view's pure parts (src/dns/dns_int.h): message
 * parsing and writing, the policy questions for names and answer
 * addresses, answer filtering, the per-sandbox name cache.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_int.h"
#include "policy/policy.h"
#include "t.h"

static struct dns_msg	 scratch;	/* large: not on the stack */
static struct dns_answer ans;

/* ---- a small message builder for the tests ---- */

struct mb {
	uint8_t	 b[70000];
	size_t	 n;
};

static void
mb_u8(struct mb *m, unsigned v)
{
	m->b[m->n++] = (uint8_t)v;
}

static void
mb_u16(struct mb *m, unsigned v)
{
	mb_u8(m, v >> 8);
	mb_u8(m, v & 0xff);
}

static void
mb_u32(struct mb *m, uint32_t v)
{
	mb_u16(m, v >> 16);
	mb_u16(m, v & 0xffff);
}

static void
mb_head(struct mb *m, unsigned id, unsigned flags, unsigned qd, unsigned an,
    unsigned ns, unsigned ar)
{
	m->n = 0;
	mb_u16(m, id);
	mb_u16(m, flags);
	mb_u16(m, qd);
	mb_u16(m, an);
	mb_u16(m, ns);
	mb_u16(m, ar);
}

/* "a.b.c" in wire form, uncompressed; "" is the root. */
static void
mb_name(struct mb *m, const char *s)
{
	const char	*dot;
	size_t		 l;

	while (*s != '\0') {
		dot = strchr(s, '.');
		l = dot ? (size_t)(dot - s) : strlen(s);
		mb_u8(m, (unsigned)l);
		memcpy(m->b + m->n, s, l);
		m->n += l;
		s += l + (dot ? 1 : 0);
	}
	mb_u8(m, 0);
}

static void
mb_ptr(struct mb *m, unsigned off)
{
	mb_u16(m, 0xc000 | off);
}

static void
mb_question(struct mb *m, const char *name, unsigned type)
{
	mb_name(m, name);
	mb_u16(m, type);
	mb_u16(m, DNS_C_IN);
}

static void
mb_rr_head(struct mb *m, const char *name, unsigned type, uint32_t ttl,
    unsigned rdlen)
{
	if (name == NULL)
		mb_ptr(m, 12);		/* the question's name */
	else
		mb_name(m, name);
	mb_u16(m, type);
	mb_u16(m, DNS_C_IN);
	mb_u32(m, ttl);
	mb_u16(m, rdlen);
}

static void
mb_a(struct mb *m, const char *name, const char *addr, uint32_t ttl)
{
	uint8_t	 a[16];

	if (inet_pton(AF_INET, addr, a) == 1) {
		mb_rr_head(m, name, DNS_T_A, ttl, 4);
		memcpy(m->b + m->n, a, 4);
		m->n += 4;
	} else {
		inet_pton(AF_INET6, addr, a);
		mb_rr_head(m, name, DNS_T_AAAA, ttl, 16);
		memcpy(m->b + m->n, a, 16);
		m->n += 16;
	}
}

static void
mb_cname(struct mb *m, const char *name, const char *target, uint32_t ttl)
{
	struct mb	 t;

	t.n = 0;
	mb_name(&t, target);
	mb_rr_head(m, name, DNS_T_CNAME, ttl, (unsigned)t.n);
	memcpy(m->b + m->n, t.b, t.n);
	m->n += t.n;
}

static void
mb_opt(struct mb *m, unsigned size, unsigned version)
{
	mb_u8(m, 0);
	mb_u16(m, DNS_T_OPT);
	mb_u16(m, size);
	mb_u32(m, (uint32_t)version << 16);
	mb_u16(m, 0);
}

static struct dns_name
wname(const char *s)
{
	struct mb	 m;
	struct dns_name	 n;

	m.n = 0;
	mb_name(&m, s);
	n.n_len = (uint8_t)m.n;
	memcpy(n.n_wire, m.b, m.n);
	return n;
}

static struct dns_query
mkquery(const char *name, unsigned type, int edns)
{
	struct dns_query	 q;

	memset(&q, 0, sizeof(q));
	q.q_id = 0x1234;
	q.q_flags = DNS_F_RD;
	q.q_hasq = 1;
	q.q_name = wname(name);
	q.q_type = (uint16_t)type;
	q.q_class = DNS_C_IN;
	q.q_edns = edns;
	q.q_udpmax = edns ? DNS_EDNS_SIZE : DNS_UDP_MIN;
	return q;
}

static struct policy *
pol(const char *allow, const char *deny)
{
	char		*a[32], *d[32], *as = NULL, *ds = NULL, *sv;
	size_t		 na = 0, nd = 0;
	struct policy	*p;
	struct ir_err	 err;

	if (allow != NULL && (as = strdup(allow)) != NULL)
		for (char *t = strtok_r(as, " ", &sv); t && na < 32;
		    t = strtok_r(NULL, " ", &sv))
			a[na++] = t;
	if (deny != NULL && (ds = strdup(deny)) != NULL)
		for (char *t = strtok_r(ds, " ", &sv); t && nd < 32;
		    t = strtok_r(NULL, " ", &sv))
			d[nd++] = t;
	p = policy_compile((const char *const *)a, na, (const char *const *)d,
	    nd, &err);
	if (p == NULL)
		fprintf(stderr, "policy: %s\n", err.msg);
	free(as);
	free(ds);
	return p;
}

static struct pol_guard *
guard(void)
{
	return pol_guard_compile(pol_guard_defaults, pol_guard_ndefaults,
	    NULL);
}

/* ---- names ---- */

static void
test_name_good(void)
{
	struct mb	 m;
	struct dns_name	 n;
	const char	*why;
	char		 text[DNS_TEXT_MAX];
	size_t		 off;

	mb_head(&m, 1, 0, 0, 0, 0, 0);
	mb_name(&m, "Api.Example.COM");		/* at 12 */
	mb_u8(&m, 3);
	memcpy(m.b + m.n, "www", 3);
	m.n += 3;
	mb_ptr(&m, 16);				/* www.example.com */
	mb_ptr(&m, 29);				/* pointer to a pointer */
	off = 12;
	T_CHECK(dns_name_read(m.b, m.n, &off, &n, &why) == 0, "%s", why);
	T_CHECK(off == 29, "off %zu", off);
	dns_name_text(&n, text, sizeof(text));
	T_STREQ(text, "api.example.com");
	off = 29;
	T_CHECK(dns_name_read(m.b, m.n, &off, &n, &why) == 0, "%s", why);
	T_CHECK(off == 35, "off after a pointer %zu", off);
	dns_name_text(&n, text, sizeof(text));
	T_STREQ(text, "www.example.com");
	off = 35;
	T_CHECK(dns_name_read(m.b, m.n, &off, &n, &why) == 0, "%s", why);
	dns_name_text(&n, text, sizeof(text));
	T_STREQ(text, "www.example.com");
	T_CHECK(off == 37, "off %zu", off);
	T_CHECK(dns_name_eq(&n, &(struct dns_name){ 0 }) == 0, "eq empty");
	{
		struct dns_name a = wname("WWW.example.com");

		T_CHECK(dns_name_eq(&n, &a), "case-insensitive equality");
	}
}

static void
test_name_text(void)
{
	struct dns_name	 n;
	char		 text[DNS_TEXT_MAX];

	n = wname("");
	T_CHECK(dns_name_text(&n, text, sizeof(text)) == 0, "root");
	T_STREQ(text, "");
	/* a label with a dot, a backslash, a space and a NUL */
	n.n_len = 0;
	n.n_wire[n.n_len++] = 5;
	memcpy(n.n_wire + n.n_len, "a.b\\ ", 5);
	n.n_len += 5;
	n.n_wire[n.n_len++] = 2;
	n.n_wire[n.n_len++] = 'X';
	n.n_wire[n.n_len++] = 0;
	n.n_wire[n.n_len++] = 0;
	dns_name_text(&n, text, sizeof(text));
	T_STREQ(text, "a\\046b\\092\\032.x\\000");
	/* the longest text fits */
	n.n_len = 0;
	for (int i = 0; i < 4; i++) {
		unsigned l = i < 3 ? 63 : 61;

		n.n_wire[n.n_len++] = (uint8_t)l;
		memset(n.n_wire + n.n_len, 0xff, l);
		n.n_len += (uint8_t)l;
	}
	n.n_wire[n.n_len++] = 0;
	T_CHECK(n.n_len == 255, "built %u", n.n_len);
	T_CHECK(dns_name_text(&n, text, sizeof(text)) == 250 * 4 + 3,
	    "escaped length %zu", strlen(text));
}

static const struct bad_name {
	const char	*what;
	const uint8_t	 bytes[24];
	size_t		 len;
	const char	*why;
} bad_names[] = {
	{ "pointer to itself (loop)", { 0xc0, 12 }, 2, "backwards" },
	{ "two pointers in a loop", { 1, 'a', 0xc0, 12 }, 4, "backwards" },
	{ "forward pointer", { 0xc0, 14, 1, 'a', 0 }, 5, "backwards" },
	{ "pointer out of range", { 0xff, 0xff }, 2, "backwards" },
	{ "pointer into the header", { 1, 'a', 0xc0, 3 }, 4, "header" },
	{ "pointer cut short", { 1, 'a', 0xc0 }, 3, "cut short" },
	{ "label type 0x40", { 0x41, 'a' }, 2, "label type" },
	{ "label type 0x80", { 0x81, 'a' }, 2, "label type" },
	{ "label past the end", { 5, 'a', 'b' }, 3, "past the end" },
	{ "no terminator", { 1, 'a' }, 2, "past the end" },
	{ "empty", { 0 }, 0, "past the end" },
};

static void
test_name_bad(const struct bad_name *b)
{
	uint8_t		 msg[64];
	struct dns_name	 n;
	const char	*why = "";
	size_t		 off = 12;

	memset(msg, 0, 12);
	memcpy(msg + 12, b->bytes, b->len);
	T_CHECK(dns_name_read(msg, 12 + b->len, &off, &n, &why) == -1,
	    "accepted");
	T_CHECK(strstr(why, b->why) != NULL, "why '%s', want '%s'", why,
	    b->why);
}

static void
test_name_too_long(void)
{
	uint8_t		 msg[400];
	struct dns_name	 n;
	const char	*why = "";
	size_t		 off = 12, o = 12, i;

	memset(msg, 0, sizeof(msg));
	/* 4 labels of 63 = 256 bytes with the root: one too many */
	for (i = 0; i < 4; i++) {
		msg[o++] = 63;
		memset(msg + o, 'a', 63);
		o += 63;
	}
	msg[o++] = 0;
	T_CHECK(dns_name_read(msg, o, &off, &n, &why) == -1, "256 accepted");
	T_CHECK(strstr(why, "255") != NULL, "why '%s'", why);
	/* 255 exactly is fine */
	o = 12;
	for (i = 0; i < 4; i++) {
		msg[o++] = i < 3 ? 63 : 61;
		o += i < 3 ? 63 : 61;
	}
	msg[o++] = 0;
	off = 12;
	T_CHECK(dns_name_read(msg, o, &off, &n, &why) == 0, "255: %s", why);
	T_CHECK(n.n_len == 255, "len %u", n.n_len);
	/* a label of 64 is a label type, not a length */
	msg[12] = 64;
	off = 12;
	T_CHECK(dns_name_read(msg, o, &off, &n, &why) == -1, "64 accepted");
	/* a pointer loop that grows the name gets stopped too */
	memset(msg, 0, sizeof(msg));
	msg[12] = 1;
	msg[13] = 'a';
	msg[14] = 0xc0;
	msg[15] = 12;
	off = 14;
	T_CHECK(dns_name_read(msg, 16, &off, &n, &why) == -1, "loop accepted");
}

/* ---- messages ---- */

enum { M_QUERY, M_RESP };

static const struct bad_msg {
	const char	*what;
	void		(*build)(struct mb *);
	int		 rc;
	const char	*why;
} bad_msgs[];

static void
bm_counts_lie(struct mb *m)
{
	mb_head(m, 1, DNS_F_QR, 1, 2, 0, 0);
	mb_question(m, "a.test", 1);
	mb_a(m, NULL, "192.0.2.1", 60);
}

static void
bm_trailing(struct mb *m)
{
	mb_head(m, 1, 0, 1, 0, 0, 0);
	mb_question(m, "a.test", 1);
	mb_u8(m, 0);
}

static void
bm_two_questions(struct mb *m)
{
	mb_head(m, 1, 0, 2, 0, 0, 0);
	mb_question(m, "a.test", 1);
	mb_question(m, "b.test", 1);
}

static void
bm_question_short(struct mb *m)
{
	mb_head(m, 1, 0, 1, 0, 0, 0);
	mb_name(m, "a.test");
	mb_u16(m, 1);
}

static void
bm_a_len(struct mb *m)
{
	mb_head(m, 1, DNS_F_QR, 1, 1, 0, 0);
	mb_question(m, "a.test", 1);
	mb_rr_head(m, NULL, DNS_T_A, 60, 5);
	mb_u32(m, 0);
	mb_u8(m, 0);
}

static void
bm_rdata_past(struct mb *m)
{
	mb_head(m, 1, DNS_F_QR, 1, 1, 0, 0);
	mb_question(m, "a.test", 1);
	mb_rr_head(m, NULL, DNS_T_TXT, 60, 10);
	mb_u8(m, 3);
}

static void
bm_record_short(struct mb *m)
{
	mb_head(m, 1, DNS_F_QR, 1, 1, 0, 0);
	mb_question(m, "a.test", 1);
	mb_ptr(m, 12);
	mb_u16(m, DNS_T_A);
}

static void
bm_opt_twice(struct mb *m)
{
	mb_head(m, 1, 0, 1, 0, 0, 2);
	mb_question(m, "a.test", 1);
	mb_opt(m, 1232, 0);
	mb_opt(m, 1232, 0);
}

static void
bm_opt_answer(struct mb *m)
{
	mb_head(m, 1, DNS_F_QR, 1, 1, 0, 0);
	mb_question(m, "a.test", 1);
	mb_opt(m, 1232, 0);
}

static void
bm_opt_owner(struct mb *m)
{
	mb_head(m, 1, 0, 1, 0, 0, 1);
	mb_question(m, "a.test", 1);
	mb_name(m, "x");
	mb_u16(m, DNS_T_OPT);
	mb_u16(m, 1232);
	mb_u32(m, 0);
	mb_u16(m, 0);
}

static void
bm_cname_bad(struct mb *m)
{
	mb_head(m, 1, DNS_F_QR, 1, 1, 0, 0);
	mb_question(m, "a.test", 1);
	mb_rr_head(m, NULL, DNS_T_CNAME, 60, 3);
	mb_u8(m, 5);		/* a label longer than the record data */
	mb_u8(m, 'b');
	mb_u8(m, 0);
}

static void
bm_cname_extra(struct mb *m)
{
	mb_head(m, 1, DNS_F_QR, 1, 1, 0, 0);
	mb_question(m, "a.test", 1);
	mb_rr_head(m, NULL, DNS_T_CNAME, 60, 4);
	mb_ptr(m, 12);
	mb_u16(m, 0);		/* bytes after the name */
}

static void
bm_soa_short(struct mb *m)
{
	mb_head(m, 1, DNS_F_QR, 1, 0, 1, 0);
	mb_question(m, "a.test", 1);
	mb_rr_head(m, "test", DNS_T_SOA, 60, 4 + 16);
	mb_ptr(m, 14);
	mb_ptr(m, 14);
	for (int i = 0; i < 4; i++)
		mb_u32(m, 1);	/* 16 of the 20 bytes */
}

static void
bm_too_many(struct mb *m)
{
	mb_head(m, 1, DNS_F_QR, 1, 600, 0, 0);
	mb_question(m, "a.test", 1);
	for (int i = 0; i < 600; i++)
		mb_a(m, NULL, "192.0.2.1", 60);
}

static void
bm_header_short(struct mb *m)
{
	mb_head(m, 1, 0, 1, 0, 0, 0);
	m->n = 11;
}

static const struct bad_msg bad_msgs[] = {
	{ "counts that lie", bm_counts_lie, -2, "cut short" },
	{ "bytes after the records", bm_trailing, -2, "left over" },
	{ "two questions", bm_two_questions, -2, "more than one question" },
	{ "question cut short", bm_question_short, -2, "question cut" },
	{ "A record of 5 bytes", bm_a_len, -2, "wrong length" },
	{ "record data past the end", bm_rdata_past, -2, "past the end" },
	{ "record cut short", bm_record_short, -2, "cut short" },
	{ "two OPT records", bm_opt_twice, -2, "more than one OPT" },
	{ "OPT in the answer", bm_opt_answer, -2, "outside" },
	{ "OPT not owned by the root", bm_opt_owner, -2, "root" },
	{ "CNAME with a bad name", bm_cname_bad, -2, "past the end" },
	{ "CNAME with bytes after the name", bm_cname_extra, -2,
	    "does not match" },
	{ "SOA short of its 20 bytes", bm_soa_short, -2, "does not match" },
	{ "600 records", bm_too_many, -2, "too many" },
	{ "11 bytes", bm_header_short, -1, "shorter" },
};

static void
test_msg_bad(const struct bad_msg *b)
{
	static struct mb	 m;
	const char		*why = "";
	int			 rc;

	b->build(&m);
	rc = dns_msg_parse(m.b, m.n, &scratch, &why);
	T_CHECK(rc == b->rc, "rc %d, want %d (%s)", rc, b->rc, why);
	T_CHECK(strstr(why, b->why) != NULL, "why '%s', want '%s'", why,
	    b->why);
}

static void
test_msg_good(void)
{
	static struct mb	 m;
	const char		*why = "";
	struct dns_name		 n;
	char			 text[DNS_TEXT_MAX];

	mb_head(&m, 7, DNS_F_QR | DNS_F_RD | DNS_F_RA, 1, 2, 1, 2);
	mb_question(&m, "alias.test", DNS_T_A);
	mb_cname(&m, NULL, "cname.test", 60);
	mb_a(&m, "cname.test", "192.0.2.11", 30);
	mb_rr_head(&m, "test", DNS_T_SOA, 60, 4 + 20);
	mb_ptr(&m, 18);
	mb_ptr(&m, 18);
	for (int i = 0; i < 5; i++)
		mb_u32(&m, 1);
	mb_a(&m, "glue.test", "192.0.2.99", 60);
	mb_opt(&m, 4096, 0);
	T_CHECK(dns_msg_parse(m.b, m.n, &scratch, &why) == 0, "%s", why);
	T_CHECK(scratch.m_id == 7 && scratch.m_hasq, "header");
	T_CHECK(scratch.m_nrr == 5, "records %zu", scratch.m_nrr);
	T_CHECK(scratch.m_edns && scratch.m_edns_size == 4096, "edns");
	T_CHECK(scratch.m_rr[0].r_section == 1 &&
	    scratch.m_rr[2].r_section == 2 && scratch.m_rr[3].r_section == 3,
	    "sections");
	dns_rr_name(&scratch, &scratch.m_rr[1], &n);
	dns_name_text(&n, text, sizeof(text));
	T_STREQ(text, "cname.test");
	T_CHECK(scratch.m_rr[1].r_ttl == 30, "ttl");
}

/* ---- queries ---- */

static const struct query_case {
	const char	*what;
	unsigned	 flags, qd, an, type, class;
	int		 edns;		/* -1 none, else the version */
	unsigned	 size;
	int		 rc;
	unsigned	 udpmax;
} query_cases[] = {
	{ "standard A", DNS_F_RD, 1, 0, DNS_T_A, 1, -1, 0, 0, 512 },
	{ "AAAA with EDNS 4096", DNS_F_RD, 1, 0, DNS_T_AAAA, 1, 0, 4096, 0,
	    DNS_EDNS_SIZE },
	{ "EDNS 100", 0, 1, 0, DNS_T_A, 1, 0, 100, 0, 512 },
	{ "EDNS 1000", 0, 1, 0, DNS_T_A, 1, 0, 1000, 0, 1000 },
	{ "a response", DNS_F_QR, 1, 0, DNS_T_A, 1, -1, 0, -1, 512 },
	{ "opcode STATUS", 2 << 11, 1, 0, DNS_T_A, 1, -1, 0, DNS_NOTIMP, 512 },
	{ "no question", 0, 0, 0, DNS_T_A, 1, -1, 0, DNS_FORMERR, 512 },
	{ "an answer in a query", 0, 1, 1, DNS_T_A, 1, -1, 0, DNS_FORMERR,
	    512 },
	{ "class CH", 0, 1, 0, DNS_T_TXT, 3, -1, 0, DNS_REFUSED, 512 },
	{ "class ANY", 0, 1, 0, DNS_T_A, 255, -1, 0, DNS_REFUSED, 512 },
	{ "AXFR", 0, 1, 0, DNS_T_AXFR, 1, -1, 0, DNS_NOTIMP, 512 },
	{ "IXFR", 0, 1, 0, DNS_T_IXFR, 1, -1, 0, DNS_NOTIMP, 512 },
	{ "qtype OPT", 0, 1, 0, DNS_T_OPT, 1, -1, 0, DNS_FORMERR, 512 },
	{ "EDNS version 1", 0, 1, 0, DNS_T_A, 1, 1, 1232, DNS_BADVERS,
	    1232 },
	{ "ANY", 0, 1, 0, DNS_T_ANY, 1, -1, 0, 0, 512 },
};

static void
test_query(const struct query_case *c)
{
	static struct mb	 m;
	struct dns_query	 q;
	const char		*why = "";
	char			 text[DNS_TEXT_MAX];
	int			 rc;

	mb_head(&m, 0xbeef, c->flags, c->qd, c->an, 0, c->edns >= 0);
	if (c->qd)
		mb_name(&m, "Www.Example.com");
	if (c->qd) {
		mb_u16(&m, c->type);
		mb_u16(&m, c->class);
	}
	if (c->an)
		mb_a(&m, NULL, "192.0.2.1", 1);
	if (c->edns >= 0)
		mb_opt(&m, c->size, (unsigned)c->edns);
	rc = dns_query_parse(m.b, m.n, &q, &scratch, &why);
	T_CHECK(rc == c->rc, "rc %d, want %d (%s)", rc, c->rc, why);
	T_CHECK(q.q_id == 0xbeef, "id %x", q.q_id);
	T_CHECK(q.q_udpmax == c->udpmax, "udpmax %u, want %u", q.q_udpmax,
	    c->udpmax);
	if (rc == 0) {
		dns_name_text(&q.q_name, text, sizeof(text));
		T_STREQ(text, "www.example.com");
		T_CHECK(q.q_type == c->type, "type");
	}
	if (rc > 0)
		T_CHECK(why[0] != '\0', "no reason");
}

static void
test_query_short(void)
{
	struct dns_query	 q;
	const char		*why = "";
	uint8_t			 b[12] = { 1, 2, 0, 0, 0, 1 };

	T_CHECK(dns_query_parse(b, 11, &q, &scratch, &why) == -1, "11 bytes");
	T_CHECK(dns_query_parse(b, 12, &q, &scratch, &why) == DNS_FORMERR,
	    "a header claiming a question: %s", why);
	T_CHECK(q.q_id == 0x0102 && !q.q_hasq, "id kept, no question");
}

/* ---- writing ---- */

static void
test_query_build(void)
{
	struct dns_query	 q = mkquery("API.Example.com", DNS_T_AAAA, 0);
	uint8_t			 b[512];
	const char		*why = "";
	char			 text[DNS_TEXT_MAX];
	size_t			 n;

	n = dns_query_build(&q, 0x4242, b, sizeof(b));
	T_CHECK(n > 0, "not built");
	T_CHECK(dns_msg_parse(b, n, &scratch, &why) == 0, "%s", why);
	T_CHECK(scratch.m_id == 0x4242, "id");
	T_CHECK(scratch.m_flags == DNS_F_RD, "flags %x", scratch.m_flags);
	dns_name_text(&scratch.m_qname, text, sizeof(text));
	T_CHECK(memcmp(scratch.m_qname.n_wire, "\3api\7example\3com", 16) == 0,
	    "upstream name not lower case: %s", text);
	T_CHECK(scratch.m_qtype == DNS_T_AAAA, "type");
	T_CHECK(scratch.m_edns && scratch.m_edns_size == DNS_EDNS_SIZE,
	    "EDNS");
	/* the OPT is the last 11 bytes (c-ares strips it there) */
	T_CHECK(b[n - 11] == 0 && b[n - 10] == 0 && b[n - 9] == DNS_T_OPT,
	    "OPT not last");
	T_CHECK(dns_query_build(&q, 1, b, 20) == 0, "no room: built");
}

static void
test_reply_error(void)
{
	struct dns_query	 q = mkquery("Blocked.test", DNS_T_A, 1);
	uint8_t			 b[512];
	const char		*why = "";
	size_t			 n;

	q.q_flags |= DNS_F_CD;
	n = dns_reply_error(&q, DNS_NXDOMAIN, b, sizeof(b));
	T_CHECK(dns_msg_parse(b, n, &scratch, &why) == 0, "%s", why);
	T_CHECK(scratch.m_id == 0x1234, "id");
	T_CHECK(scratch.m_flags == (DNS_F_QR | DNS_F_RD | DNS_F_RA |
	    DNS_F_CD | DNS_NXDOMAIN), "flags %x", scratch.m_flags);
	T_CHECK(scratch.m_hasq && dns_name_eq(&scratch.m_qname, &q.q_name) &&
	    memcmp(scratch.m_qname.n_wire, "\7Blocked", 8) == 0,
	    "question not echoed as spelled");
	T_CHECK(scratch.m_count[1] == 0 && scratch.m_edns, "records");
	n = dns_reply_error(&q, DNS_BADVERS, b, sizeof(b));
	T_CHECK(dns_msg_parse(b, n, &scratch, &why) == 0, "%s", why);
	T_CHECK((scratch.m_flags & 0xf) == 0 && scratch.m_edns_ercode == 1,
	    "BADVERS as extended rcode");
	q.q_hasq = 0;
	q.q_edns = 0;
	n = dns_reply_error(&q, DNS_FORMERR, b, sizeof(b));
	T_CHECK(n == 12, "header-only FORMERR is %zu bytes", n);
	T_CHECK((b[3] & 0xf) == DNS_FORMERR && b[5] == 0, "FORMERR header");
}

static void
test_wr_compress(void)
{
	uint8_t		 b[512];
	struct dns_wr	 w;
	struct dns_name	 n1 = wname("www.example.com"),
			 n2 = wname("API.EXAMPLE.com"), n3 = wname("com"),
			 got;
	const char	*why;
	size_t		 off, p2;

	dns_wr_init(&w, b, sizeof(b));
	dns_wr_bytes(&w, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
	dns_wr_name(&w, &n1, 1);
	p2 = w.w_len;
	dns_wr_name(&w, &n2, 1);
	T_CHECK(w.w_len - p2 == 4 + 2, "api.example.com took %zu bytes",
	    w.w_len - p2);
	off = p2;
	T_CHECK(dns_name_read(b, w.w_len, &off, &got, &why) == 0, "%s", why);
	T_CHECK(dns_name_eq(&got, &n2), "round trip");
	p2 = w.w_len;
	dns_wr_name(&w, &n3, 1);
	T_CHECK(w.w_len - p2 == 2, "com: a pointer, %zu bytes", w.w_len - p2);
	p2 = w.w_len;
	dns_wr_name(&w, &n1, 0);
	T_CHECK(w.w_len - p2 == n1.n_len, "uncompressed");
	dns_wr_init(&w, b, 10);
	dns_wr_name(&w, &n1, 1);
	T_CHECK(w.w_full, "overflow not noticed");
}

/* ---- policy: names and addresses ---- */

static const struct name_case {
	const char	*allow, *deny;
	const char	*name;
	int		 fwd;
	const char	*rule;		/* pol_decision_rule */
} name_cases[] = {
	{ NULL, NULL, "anything.test", 1, "default" },
	{ NULL, "blocked.test", "blocked.test", 0, "blocked.test" },
	{ NULL, "blocked.test", "BLOCKED.Test", 0, "blocked.test" },
	{ NULL, "blocked.test", "x.blocked.test", 1, "default" },
	{ NULL, "*.exfil.test", "c2VjcmV0.exfil.test", 0, "*.exfil.test" },
	{ NULL, "*.exfil.test", "exfil.test", 1, "default" },
	{ NULL, "evil.test:443", "evil.test", 1, "default" },
	{ NULL, "192.0.2.0/24", "allowed.test", 1, "default" },
	{ "api.example.com", "0.0.0.0/0", "api.example.com", 1,
	    "api.example.com" },
	{ "api.example.com", "0.0.0.0/0", "www.example.com", 0, "default" },
	{ "api.example.com", NULL, "other.test", 0, "default" },
	{ "*.example.com", "www.example.com", "www.example.com", 0,
	    "www.example.com" },
	{ "*.example.com", "www.example.com", "a.b.example.com", 1,
	    "*.example.com" },
	{ "*.example.com", NULL, "example.com", 0, "default" },
	{ "github.com:22", NULL, "github.com", 1, "github.com:22" },
	{ "github.com:22", NULL, "gitlab.com", 0, "default" },
	{ "*.corp.test:8443 x.test:1", NULL, "a.corp.test", 1,
	    "*.corp.test:8443" },
	{ "x.test:22", "x.test:22", "x.test", 0, "default" },
	{ "*:443", NULL, "any.test", 1, "*:443" },
	{ "*", "blocked.test", "any.test", 1, "*" },
	{ "*", "blocked.test", "blocked.test", 0, "blocked.test" },
	{ NULL, "0.0.0.0/0", "api.example.com", 0, "default" },
	{ NULL, "*", "api.example.com", 0, "default" },
	{ "203.0.113.0/24", NULL, "api.example.com", 0, "default" },
	{ "1.in-addr.arpa", NULL, "5.1.in-addr.arpa", 0, "default" },
	{ NULL, NULL, "weird\\046label.test", 1, "default" },
	{ "allowed.test", NULL, "allowed\\046test", 0, "default" },
};

static void
test_pol_name(const struct name_case *c)
{
	struct policy		*p = pol(c->allow, c->deny);
	struct dns_pol		 dp;
	struct pol_decision	 d;
	int			 fwd;

	T_CHECK(p != NULL, "policy");
	if (p == NULL)
		return;
	T_CHECK(dns_pol_init(&dp, p, NULL) == 0, "init");
	policy_free(p);		/* dp holds its own reference */
	fwd = dns_pol_name(&dp, c->name, strlen(c->name), &d);
	T_CHECK(fwd == c->fwd, "forward %d, want %d", fwd, c->fwd);
	T_STREQ(pol_decision_rule(&d), c->rule);
	dns_pol_clear(&dp);
}

static void
test_pol_addr(void)
{
	struct pol_guard	*g = guard();
	struct policy		*p = pol("github.com:22 api.example.com",
				    "192.0.2.12 evil.test");
	struct dns_pol		 dp;
	struct pol_decision	 d;
	struct pol_name		 nm[2] = { { "github.com", 10 },
				    { "evil.test", 9 } };
	struct pol_target	 t;

	dns_pol_init(&dp, p, NULL);
	memset(&t, 0, sizeof(t));
	t.family = 4;
	t.names = nm;
	t.nnames = 1;
	inet_pton(AF_INET, "192.0.2.11", t.addr);
	T_CHECK(dns_pol_addr(&dp, g, &t, &d) == 1, "github.com:22 address");
	inet_pton(AF_INET, "192.0.2.12", t.addr);
	T_CHECK(dns_pol_addr(&dp, g, &t, &d) == 0 && d.basis == POL_BY_RULE,
	    "denied address kept");
	inet_pton(AF_INET, "169.254.169.254", t.addr);
	T_CHECK(dns_pol_addr(&dp, g, &t, &d) == 0 && d.basis == POL_BY_GUARD,
	    "guarded address kept");
	inet_pton(AF_INET, "127.0.0.1", t.addr);
	T_CHECK(dns_pol_addr(&dp, g, &t, &d) == 0, "loopback kept");
	t.family = 6;
	inet_pton(AF_INET6, "fe80::1", t.addr);
	T_CHECK(dns_pol_addr(&dp, g, &t, &d) == 0, "link-local kept");
	inet_pton(AF_INET6, "::ffff:169.254.1.1", t.addr);
	T_CHECK(dns_pol_addr(&dp, g, &t, &d) == 0, "mapped guard kept");
	t.family = 4;
	inet_pton(AF_INET, "192.0.2.11", t.addr);
	t.nnames = 2;
	T_CHECK(dns_pol_addr(&dp, g, &t, &d) == 0 &&
	    strcmp(pol_decision_rule(&d), "evil.test") == 0,
	    "a denied chain name must block the address");
	t.nnames = 0;
	T_CHECK(dns_pol_addr(&dp, g, &t, &d) == 0 && d.basis == POL_BY_DEFAULT,
	    "no name, allow-list: blocked by default");
	dns_pol_clear(&dp);
	policy_free(p);
	pol_guard_free(g);
}

/* ---- answers ---- */

struct filter_env {
	struct pol_guard	*g;
	struct dns_pol		 dp;
	uint8_t			 out[DNS_MSG_MAX];
	int			 len;
};

static void
env_init(struct filter_env *e, const char *allow, const char *deny)
{
	struct policy	*p = pol(allow, deny);

	e->g = guard();
	dns_pol_init(&e->dp, p, NULL);
	policy_free(p);
}

static void
env_free(struct filter_env *e)
{
	dns_pol_clear(&e->dp);
	pol_guard_free(e->g);
}

/* Filters `m` for q; parses the reply into `scratch`. */
static int
env_filter(struct filter_env *e, const struct dns_query *q, struct mb *m,
    size_t maxlen)
{
	const char	*why = "";

	e->len = dns_answer_filter(q, m->b, m->n, &e->dp, e->g, e->out,
	    maxlen, &ans, &scratch);
	if (e->len <= 0)
		return -1;
	if (dns_msg_parse(e->out, (size_t)e->len, &scratch, &why) != 0) {
		T_CHECK(0, "reply does not parse: %s", why);
		return -1;
	}
	return 0;
}

/* The answer-section records of the parsed reply, "TYPE value" joined. */
static void
answer_str(char *buf, size_t len)
{
	const struct dns_rr	*rr;
	struct dns_name		 n;
	char			 a[INET6_ADDRSTRLEN], t[DNS_TEXT_MAX];
	size_t			 i, o = 0;
	const char		*why;

	buf[0] = '\0';
	for (i = 0; i < scratch.m_nrr; i++) {
		rr = &scratch.m_rr[i];
		if (rr->r_section != 1)
			continue;
		if (rr->r_type == DNS_T_A || rr->r_type == DNS_T_AAAA)
			o += (size_t)snprintf(buf + o, len - o, "%s%s %s",
			    o ? " " : "", rr->r_type == DNS_T_A ? "A" : "AAAA",
			    inet_ntop(rr->r_type == DNS_T_A ? AF_INET :
			    AF_INET6, scratch.m_buf + rr->r_rdoff, a,
			    sizeof(a)));
		else if (rr->r_type == DNS_T_CNAME || rr->r_type == DNS_T_MX) {
			size_t off = rr->r_rdoff + (rr->r_type == DNS_T_MX ?
			    2 : 0);

			dns_name_read(scratch.m_buf, scratch.m_len, &off, &n,
			    &why);
			dns_name_text(&n, t, sizeof(t));
			o += (size_t)snprintf(buf + o, len - o, "%s%s %s",
			    o ? " " : "", rr->r_type == DNS_T_MX ? "MX" :
			    "CNAME", t);
		} else
			o += (size_t)snprintf(buf + o, len - o, "%sT%u",
			    o ? " " : "", rr->r_type);
	}
}

static void
test_filter_plain(void)
{
	static struct mb	 m;
	struct filter_env	 e;
	struct dns_query	 q = mkquery("Api.Example.com", DNS_T_A, 0);
	char			 s[512];

	env_init(&e, NULL, NULL);
	mb_head(&m, 99, DNS_F_QR | DNS_F_RD | DNS_F_RA | DNS_F_AA | DNS_F_AD,
	    1, 2, 0, 1);
	mb_question(&m, "api.example.com", DNS_T_A);
	mb_a(&m, NULL, "192.0.2.10", 300);
	mb_a(&m, NULL, "192.0.2.13", 5);
	mb_opt(&m, 1232, 0);
	T_CHECK(env_filter(&e, &q, &m, 512) == 0, "filter failed");
	answer_str(s, sizeof(s));
	T_STREQ(s, "A 192.0.2.10 A 192.0.2.13");
	T_CHECK(scratch.m_id == 0x1234, "the guest's id");
	T_CHECK(scratch.m_flags == (DNS_F_QR | DNS_F_RD | DNS_F_RA),
	    "flags %x (AA and AD cleared)", scratch.m_flags);
	T_CHECK(memcmp(scratch.m_qname.n_wire, "\3Api\7Example", 12) == 0,
	    "question not as the guest spelled it");
	T_CHECK(!scratch.m_edns, "OPT to a guest that sent none");
	T_CHECK(ans.a_nmaps == 2 && ans.a_maps[1].mp_ttl == 5, "maps");
	T_CHECK(ans.a_nnames == 1 && strcmp(ans.a_names[0].s,
	    "api.example.com") == 0, "names");
	q.q_edns = 1;
	T_CHECK(env_filter(&e, &q, &m, 1232) == 0 && scratch.m_edns &&
	    scratch.m_edns_size == DNS_EDNS_SIZE, "OPT for an EDNS guest");
	env_free(&e);
}

static void
test_filter_chain(void)
{
	static struct mb	 m;
	struct filter_env	 e;
	struct dns_query	 q = mkquery("alias.test", DNS_T_A, 0);
	char			 s[512];

	env_init(&e, "alias.test", "0.0.0.0/0");
	mb_head(&m, 1, DNS_F_QR | DNS_F_RA, 1, 4, 0, 1);
	mb_question(&m, "alias.test", DNS_T_A);
	mb_cname(&m, NULL, "cname.test", 60);
	mb_a(&m, "other.test", "192.0.2.66", 60);	/* not on the chain */
	mb_a(&m, "CNAME.test", "192.0.2.11", 60);
	mb_rr_head(&m, "cname.test", DNS_T_TXT, 60, 3);
	mb_u8(&m, 2);
	mb_u8(&m, 'h');
	mb_u8(&m, 'i');
	mb_a(&m, "glue.test", "192.0.2.77", 60);	/* additional */
	T_CHECK(env_filter(&e, &q, &m, 512) == 0, "filter failed");
	answer_str(s, sizeof(s));
	T_STREQ(s, "CNAME cname.test A 192.0.2.11 T16");
	T_CHECK(scratch.m_count[3] == 0, "additional section kept");
	T_CHECK(ans.a_nnames == 2 && strcmp(ans.a_names[1].s,
	    "cname.test") == 0, "chain");
	T_CHECK(ans.a_nmaps == 1 && ans.a_stripped == 0, "maps %zu",
	    ans.a_nmaps);
	env_free(&e);
}

static void
test_filter_chain_loop(void)
{
	static struct mb	 m;
	struct filter_env	 e;
	struct dns_query	 q = mkquery("a.test", DNS_T_A, 0);

	env_init(&e, NULL, NULL);
	mb_head(&m, 1, DNS_F_QR, 1, 2, 0, 0);
	mb_question(&m, "a.test", DNS_T_A);
	mb_cname(&m, NULL, "b.test", 60);
	mb_cname(&m, "b.test", "a.test", 60);
	T_CHECK(env_filter(&e, &q, &m, 512) == 0, "filter failed");
	T_CHECK(ans.a_nnames == 2, "chain of %zu names", ans.a_nnames);
	T_CHECK(scratch.m_count[1] == 2, "records kept %u",
	    scratch.m_count[1]);
	env_free(&e);
}

static void
test_filter_strip(void)
{
	static struct mb	 m;
	struct filter_env	 e;
	struct dns_query	 q = mkquery("rebind.test", DNS_T_A, 0);
	char			 s[512];

	env_init(&e, NULL, "192.0.2.12");
	mb_head(&m, 1, DNS_F_QR, 1, 1, 0, 0);
	mb_question(&m, "rebind.test", DNS_T_A);
	mb_a(&m, NULL, "169.254.169.254", 60);
	T_CHECK(env_filter(&e, &q, &m, 512) == 0, "filter failed");
	T_CHECK((scratch.m_flags & 0xf) == DNS_NOERROR &&
	    scratch.m_count[1] == 0, "not NODATA");
	T_CHECK(ans.a_stripped == 1 && ans.a_nstrip == 1 &&
	    ans.a_strip[0].st_d.basis == POL_BY_GUARD && ans.a_nmaps == 0,
	    "strip report");
	q = mkquery("multi.test", DNS_T_A, 0);
	mb_head(&m, 1, DNS_F_QR, 1, 3, 0, 0);
	mb_question(&m, "multi.test", DNS_T_A);
	mb_a(&m, NULL, "192.0.2.12", 60);
	mb_a(&m, NULL, "192.0.2.11", 60);
	mb_a(&m, NULL, "127.0.0.1", 60);
	T_CHECK(env_filter(&e, &q, &m, 512) == 0, "filter failed");
	answer_str(s, sizeof(s));
	T_STREQ(s, "A 192.0.2.11");
	T_CHECK(ans.a_stripped == 2 && ans.a_nmaps == 1, "stripped %zu",
	    ans.a_stripped);
	T_CHECK(ans.a_strip[0].st_d.basis == POL_BY_RULE &&
	    strcmp(ans.a_strip[0].st_d.rule->text, "192.0.2.12") == 0,
	    "deciding rule");
	q = mkquery("loop.test", DNS_T_AAAA, 0);
	mb_head(&m, 1, DNS_F_QR, 1, 2, 0, 0);
	mb_question(&m, "loop.test", DNS_T_AAAA);
	mb_a(&m, NULL, "::1", 60);
	mb_a(&m, NULL, "fe80::1", 60);
	T_CHECK(env_filter(&e, &q, &m, 512) == 0 && scratch.m_count[1] == 0,
	    "AAAA ::1 / fe80::1 kept");
	env_free(&e);
}

static void
test_filter_cname_denied(void)
{
	static struct mb	 m;
	struct filter_env	 e;
	struct dns_query	 q = mkquery("api.example.com", DNS_T_A, 0);

	env_init(&e, "*.example.com", "evil.test");
	mb_head(&m, 1, DNS_F_QR, 1, 2, 0, 0);
	mb_question(&m, "api.example.com", DNS_T_A);
	mb_cname(&m, NULL, "evil.test", 60);
	mb_a(&m, "evil.test", "192.0.2.50", 60);
	T_CHECK(env_filter(&e, &q, &m, 512) == 0, "filter failed");
	T_CHECK(ans.a_stripped == 1 && ans.a_nmaps == 0 &&
	    strcmp(pol_decision_rule(&ans.a_strip[0].st_d), "evil.test") == 0,
	    "address under a denied CNAME kept");
	env_free(&e);
}

static void
test_filter_rcodes(void)
{
	static struct mb	 m;
	struct filter_env	 e;
	struct dns_query	 q = mkquery("nx.test", DNS_T_A, 0);

	env_init(&e, NULL, NULL);
	mb_head(&m, 1, DNS_F_QR | DNS_NXDOMAIN, 1, 0, 1, 0);
	mb_question(&m, "nx.test", DNS_T_A);
	mb_rr_head(&m, "test", DNS_T_SOA, 60, 4 + 20);
	mb_ptr(&m, 15);
	mb_ptr(&m, 15);
	for (int i = 0; i < 5; i++)
		mb_u32(&m, 1);
	T_CHECK(env_filter(&e, &q, &m, 512) == 0, "filter failed");
	T_CHECK((scratch.m_flags & 0xf) == DNS_NXDOMAIN &&
	    scratch.m_count[2] == 1, "NXDOMAIN with its SOA");
	mb_head(&m, 1, DNS_F_QR | DNS_SERVFAIL, 1, 1, 0, 0);
	mb_question(&m, "nx.test", DNS_T_A);
	mb_a(&m, NULL, "192.0.2.1", 60);
	T_CHECK(env_filter(&e, &q, &m, 512) == 0 &&
	    (scratch.m_flags & 0xf) == DNS_SERVFAIL &&
	    scratch.m_count[1] == 0 && ans.a_nmaps == 0,
	    "SERVFAIL passes without records");
	/* answers that do not answer the question */
	mb_head(&m, 1, DNS_F_QR, 1, 0, 0, 0);
	mb_question(&m, "other.test", DNS_T_A);
	T_CHECK(env_filter(&e, &q, &m, 512) == -1, "other name accepted");
	mb_head(&m, 1, DNS_F_QR, 1, 0, 0, 0);
	mb_question(&m, "nx.test", DNS_T_AAAA);
	T_CHECK(env_filter(&e, &q, &m, 512) == -1, "other type accepted");
	mb_head(&m, 1, 0, 1, 0, 0, 0);
	mb_question(&m, "nx.test", DNS_T_A);
	T_CHECK(env_filter(&e, &q, &m, 512) == -1, "a query accepted");
	mb_head(&m, 1, DNS_F_QR, 0, 0, 0, 0);
	T_CHECK(env_filter(&e, &q, &m, 512) == -1, "no question accepted");
	mb_head(&m, 1, DNS_F_QR, 1, 0, 0, 1);
	mb_question(&m, "nx.test", DNS_T_A);
	mb_opt(&m, 1232, 0);
	m.b[m.n - 6] = 1;	/* extended rcode 16 */
	T_CHECK(env_filter(&e, &q, &m, 512) == -1, "extended rcode accepted");
	env_free(&e);
}

static void
test_filter_mx(void)
{
	static struct mb	 m;
	struct filter_env	 e;
	struct dns_query	 q = mkquery("mail.test", DNS_T_MX, 0);
	char			 s[512];

	env_init(&e, NULL, NULL);
	mb_head(&m, 1, DNS_F_QR, 1, 1, 0, 0);
	mb_question(&m, "mail.test", DNS_T_MX);
	mb_rr_head(&m, NULL, DNS_T_MX, 60, 2 + 4 + 2);
	mb_u16(&m, 10);
	mb_u8(&m, 3);
	memcpy(m.b + m.n, "smtp", 3);	/* "smt" */
	m.n += 3;
	mb_ptr(&m, 17);			/* + ".test" of the question */
	T_CHECK(env_filter(&e, &q, &m, 512) == 0, "filter failed");
	answer_str(s, sizeof(s));
	T_STREQ(s, "MX smt.test");
	env_free(&e);
}

static void
test_filter_truncate(void)
{
	static struct mb	 m;
	struct filter_env	 e;
	struct dns_query	 q = mkquery("big.test", DNS_T_A, 0);
	char			 a[32];
	int			 i;

	env_init(&e, NULL, NULL);
	mb_head(&m, 1, DNS_F_QR, 1, 70, 0, 0);
	mb_question(&m, "big.test", DNS_T_A);
	for (i = 0; i < 70; i++) {
		snprintf(a, sizeof(a), "192.0.2.%d", i + 1);
		mb_a(&m, NULL, a, 60);
	}
	T_CHECK(env_filter(&e, &q, &m, 512) == 0, "filter failed");
	T_CHECK((scratch.m_flags & DNS_F_TC) && scratch.m_count[1] == 0 &&
	    ans.a_truncated, "not truncated for 512");
	T_CHECK(ans.a_nmaps == DNS_MAPS_MAX && ans.a_stripped == 6,
	    "maps %zu stripped %zu", ans.a_nmaps, ans.a_stripped);
	T_CHECK(env_filter(&e, &q, &m, DNS_MSG_MAX) == 0, "filter failed");
	T_CHECK(!(scratch.m_flags & DNS_F_TC) &&
	    scratch.m_count[1] == DNS_MAPS_MAX, "TCP: %u records",
	    scratch.m_count[1]);
	T_CHECK(env_filter(&e, &q, &m, 20) == -1, "no room for a header");
	env_free(&e);
}

/* ---- the cache ---- */

static uint8_t	 A1[16] = { 192, 0, 2, 11 }, A2[16] = { 192, 0, 2, 12 },
		 A3[16] = { 192, 0, 2, 13 };

static void
test_cache_basic(void)
{
	struct dcache		*c = dcache_new(16, 42);
	struct pol_name		 nm[8];
	struct dcache_addr	 ad[8];
	char			 buf[256];
	size_t			 n;

	T_CHECK(dcache_put(c, 0, 4, A1, "allowed.test", 12, 1000) == 0, "put");
	T_CHECK(dcache_put(c, 0, 4, A1, "GitHub.com.", 11, 1000) == 0, "put");
	T_CHECK(dcache_put(c, 0, 4, A2, "github.com", 10, 1000) == 0, "put");
	T_CHECK(dcache_count(c) == 3, "count %zu", dcache_count(c));
	n = dcache_names(c, 10, 4, A1, nm, 8, buf, sizeof(buf));
	T_CHECK(n == 2, "names %zu", n);
	if (n == 2) {
		T_STREQ(nm[0].s, "github.com");
		T_STREQ(nm[1].s, "allowed.test");
	}
	T_CHECK(dcache_maps(c, 10, 4, A1, "ALLOWED.test.", 13), "maps case");
	T_CHECK(!dcache_maps(c, 10, 4, A2, "allowed.test", 12), "wrong addr");
	T_CHECK(!dcache_maps(c, 10, 6, A1, "allowed.test", 12),
	    "family ignored");
	n = dcache_addrs(c, 10, "github.com", 10, ad, 8);
	T_CHECK(n == 2, "addrs %zu", n);
	T_CHECK(dcache_names(c, 10, 4, A3, nm, 8, buf, sizeof(buf)) == 0,
	    "unknown address");
	T_CHECK(dcache_names(c, 10, 4, A1, nm, 8, buf, 12) == 1,
	    "buffer for one name");
	T_CHECK(dcache_names(c, 10, 4, A1, nm, 1, buf, sizeof(buf)) == 1,
	    "max 1");
	T_CHECK(dcache_put(c, 0, 5, A1, "x", 1, 1) == -1 && errno == EINVAL,
	    "family 5");
	dcache_free(c);
}

static void
test_cache_ttl_hold(void)
{
	struct dcache	*c = dcache_new(16, 1);
	struct pol_name	 nm[4];
	char		 buf[256];

	dcache_put(c, 0, 4, A1, "a.test", 6, 1000);
	T_CHECK(dcache_maps(c, 999, 4, A1, "a.test", 6), "before expiry");
	T_CHECK(!dcache_maps(c, 1000, 4, A1, "a.test", 6), "at expiry");
	dcache_put(c, 0, 4, A1, "a.test", 6, 500);
	T_CHECK(!dcache_maps(c, 1000, 4, A1, "a.test", 6),
	    "a shorter TTL must not... (still expired)");
	dcache_put(c, 1000, 4, A1, "a.test", 6, 2000);
	T_CHECK(dcache_maps(c, 1500, 4, A1, "a.test", 6), "refreshed");
	T_CHECK(dcache_hold(c, 4, A1) == 0 && dcache_hold(c, 4, A1) == 0,
	    "hold");
	T_CHECK(dcache_maps(c, 5000, 4, A1, "a.test", 6), "held past TTL");
	dcache_expire(c, 5000);
	T_CHECK(dcache_count(c) == 1, "held pair expired");
	T_CHECK(dcache_names(c, 5000, 4, A1, nm, 4, buf, sizeof(buf)) == 1,
	    "names while held");
	dcache_release(c, 4, A1);
	T_CHECK(dcache_maps(c, 5000, 4, A1, "a.test", 6), "still one hold");
	dcache_release(c, 4, A1);
	dcache_release(c, 4, A1);	/* one too many: harmless */
	T_CHECK(!dcache_maps(c, 5000, 4, A1, "a.test", 6), "released");
	dcache_expire(c, 5000);
	T_CHECK(dcache_count(c) == 0, "count %zu", dcache_count(c));
	/* a hold before any answer protects the pair that comes later */
	dcache_hold(c, 4, A2);
	dcache_put(c, 0, 4, A2, "b.test", 6, 10);
	T_CHECK(dcache_maps(c, 100, 4, A2, "b.test", 6), "early hold");
	dcache_release(c, 4, A2);
	dcache_free(c);
}

static void
test_cache_evict(void)
{
	struct dcache	*c = dcache_new(3, 7);

	dcache_put(c, 0, 4, A1, "one.test", 8, 100000);
	dcache_put(c, 0, 4, A2, "two.test", 8, 100000);
	dcache_put(c, 0, 4, A3, "three.test", 10, 100000);
	dcache_put(c, 0, 4, A1, "one.test", 8, 100000);	/* refresh: newest */
	dcache_put(c, 0, 6, A1, "four.test", 9, 100000);
	T_CHECK(dcache_count(c) == 3, "count %zu", dcache_count(c));
	T_CHECK(!dcache_maps(c, 1, 4, A2, "two.test", 8), "LRU not evicted");
	T_CHECK(dcache_maps(c, 1, 4, A1, "one.test", 8), "refreshed evicted");
	dcache_hold(c, 4, A3);
	dcache_put(c, 0, 4, A2, "five.test", 9, 100000);
	T_CHECK(dcache_maps(c, 1, 4, A3, "three.test", 10), "held evicted");
	T_CHECK(!dcache_maps(c, 1, 4, A1, "one.test", 8), "unheld kept");
	dcache_hold(c, 6, A1);
	dcache_hold(c, 4, A2);
	errno = 0;
	T_CHECK(dcache_put(c, 0, 4, A1, "six.test", 8, 100000) == -1 &&
	    errno == ENOSPC, "all held: put");
	T_CHECK(dcache_count(c) == 3, "count %zu", dcache_count(c));
	dcache_free(c);
}

static void
test_cache_many(void)
{
	struct dcache	*c = dcache_new(4096, 3);
	uint8_t		 a[16] = { 0 };
	char		 name[32];
	int		 i, ok = 1;

	for (i = 0; i < 5000; i++) {
		a[0] = 10;
		a[1] = (uint8_t)(i >> 8);
		a[2] = (uint8_t)i;
		snprintf(name, sizeof(name), "h%d.test", i);
		if (dcache_put(c, 0, 4, a, name, strlen(name), 100000) != 0)
			ok = 0;
	}
	T_CHECK(ok, "put failed");
	T_CHECK(dcache_count(c) == 4096, "bounded: %zu", dcache_count(c));
	a[1] = (uint8_t)(4999 >> 8);
	a[2] = (uint8_t)4999;
	T_CHECK(dcache_maps(c, 1, 4, a, "h4999.test", 10), "newest");
	a[1] = 0;
	a[2] = 0;
	T_CHECK(!dcache_maps(c, 1, 4, a, "h0.test", 7), "oldest kept");
	dcache_expire(c, 100000);
	T_CHECK(dcache_count(c) == 0, "all expired: %zu", dcache_count(c));
	dcache_free(c);
}

static int
keep_not_b(void *arg, uint8_t family, const uint8_t *addr, const char *name,
    size_t len)
{
	(void)arg;
	(void)family;
	(void)addr;
	return !(len == 6 && memcmp(name, "b.test", 6) == 0);
}

static void
test_cache_filter(void)
{
	struct dcache	*c = dcache_new(16, 9);

	dcache_put(c, 0, 4, A1, "a.test", 6, 1000);
	dcache_put(c, 0, 4, A1, "b.test", 6, 1000);
	dcache_put(c, 0, 4, A2, "b.test", 6, 1000);
	dcache_filter(c, keep_not_b, NULL);
	T_CHECK(dcache_count(c) == 1, "count %zu", dcache_count(c));
	T_CHECK(dcache_maps(c, 0, 4, A1, "a.test", 6), "kept");
	T_CHECK(!dcache_maps(c, 0, 4, A2, "b.test", 6), "dropped");
	dcache_free(c);
}

static void
test_answer_cache(void)
{
	static struct mb	 m;
	struct filter_env	 e;
	struct dns_query	 q = mkquery("Alias.test", DNS_T_A, 0);
	struct dcache		*c = dcache_new(16, 5), *other = dcache_new(16, 6);
	struct pol_name		 nm[4];
	char			 buf[256];

	env_init(&e, NULL, NULL);
	mb_head(&m, 1, DNS_F_QR, 1, 2, 0, 0);
	mb_question(&m, "alias.test", DNS_T_A);
	mb_cname(&m, NULL, "cname.test", 60);
	mb_a(&m, "cname.test", "192.0.2.11", 5);
	T_CHECK(env_filter(&e, &q, &m, 512) == 0, "filter failed");
	T_CHECK(dns_answer_cache(&ans, c, 1000, 60, 86400) == 0, "failed");
	T_CHECK(dcache_names(c, 1000, 4, A1, nm, 4, buf, sizeof(buf)) == 2,
	    "two names for the address");
	T_STREQ(nm[0].s, "alias.test");
	T_STREQ(nm[1].s, "cname.test");
	T_CHECK(dcache_maps(c, 1000 + 59999, 4, A1, "alias.test", 10),
	    "TTL 5 raised to the 60 s floor");
	T_CHECK(!dcache_maps(c, 1000 + 60000, 4, A1, "alias.test", 10),
	    "kept past the floor");
	T_CHECK(dcache_names(other, 1000, 4, A1, nm, 4, buf, sizeof(buf)) ==
	    0, "another sandbox's cache sees it");
	dcache_free(c);
	c = dcache_new(16, 5);
	ans.a_maps[0].mp_ttl = 1000000;
	dns_answer_cache(&ans, c, 0, 60, 3600);
	T_CHECK(!dcache_maps(c, 3600 * 1000, 4, A1, "alias.test", 10),
	    "TTL not capped");
	dcache_free(c);
	dcache_free(other);
	env_free(&e);
}

/* ---- the answer cache ---- */

static void
mb_soa(struct mb *m, const char *zone, uint32_t ttl, uint32_t minimum)
{
	struct mb	 t;

	t.n = 0;
	mb_name(&t, "ns.test");
	mb_name(&t, "admin.test");
	for (int i = 0; i < 4; i++)
		mb_u32(&t, 100);	/* serial, refresh, retry, expire */
	mb_u32(&t, minimum);
	mb_rr_head(m, zone, DNS_T_SOA, ttl, (unsigned)t.n);
	memcpy(m->b + m->n, t.b, t.n);
	m->n += t.n;
}

/* Parses `m` into scratch and offers it to the cache. */
static int
ac_put(struct acache *c, uint64_t now, struct mb *m)
{
	const char	*why = "";

	if (dns_msg_parse(m->b, m->n, &scratch, &why) != 0) {
		T_CHECK(0, "test message does not parse: %s", why);
		return -2;
	}
	return acache_put(c, now, &scratch);
}

/* The TTLs of the records of a kept copy, in order, "a b c". */
static void
ac_ttls(const uint8_t *b, size_t n, char *out, size_t len)
{
	const char	*why = "";
	size_t		 o = 0;

	out[0] = '\0';
	if (dns_msg_parse(b, n, &scratch, &why) != 0) {
		snprintf(out, len, "unparsable: %s", why);
		return;
	}
	for (size_t i = 0; i < scratch.m_nrr && o < len; i++)
		if (scratch.m_rr[i].r_type != DNS_T_OPT)
			o += (size_t)snprintf(out + o, len - o, "%s%u",
			    o ? " " : "", scratch.m_rr[i].r_ttl);
}

static void
test_acache_basic(void)
{
	static struct mb	 m;
	uint32_t		 age = 0;
	static uint8_t		 out[AC_MSG_MAX];
	struct filter_env	 e;
	struct acache		*c = acache_new(65536, 3600, 7);
	struct dns_name		 n = wname("ALIAS.Test");
	struct dns_query	 q = mkquery("alias.TEST", DNS_T_A, 1);
	char			 t[128];
	size_t			 len;
	int			 rc;

	mb_head(&m, 77, DNS_F_QR | DNS_F_RD | DNS_F_RA, 1, 2, 0, 1);
	mb_question(&m, "alias.test", DNS_T_A);
	mb_cname(&m, NULL, "cname.test", 300);
	mb_a(&m, "cname.test", "192.0.2.11", 100);
	mb_opt(&m, 1232, 0);
	T_CHECK(ac_put(c, 5000, &m) == 1, "not kept");
	T_CHECK(acache_count(c) == 1 && acache_bytes(c) > m.n,
	    "count %zu bytes %zu", acache_count(c), acache_bytes(c));
	len = acache_get(c, 5000 + 30999, &n, DNS_T_A, out, sizeof(out), &age);
	T_CHECK(len == m.n && memcmp(out, m.b, m.n) == 0,
	    "kept %zu of %zu bytes, or changed", len, m.n);
	T_CHECK(age == 30, "age %u s", age);
	/* the reply ages its TTLs; what is kept goes through the filter like
	   an upstream answer, with the policy given */
	env_init(&e, NULL, NULL);
	rc = dns_answer_filter_aged(&q, out, len, age, &e.dp, e.g, e.out, 1232,
	    &ans, &scratch);
	T_CHECK(rc > 0 && ans.a_nmaps == 1 && ans.a_maps[0].mp_ttl == 70,
	    "rc %d maps %zu", rc, ans.a_nmaps);
	if (rc > 0) {
		ac_ttls(e.out, (size_t)rc, t, sizeof(t));
		T_STREQ(t, "270 70");	/* OPT untouched */
	}
	env_free(&e);
	env_init(&e, NULL, "192.0.2.11");
	T_CHECK(dns_answer_filter_aged(&q, out, len, age, &e.dp, e.g, e.out,
	    1232, &ans, &scratch) > 0 && ans.a_nmaps == 0 &&
	    ans.a_stripped == 1, "kept answer not re-filtered: maps %zu "
	    "stripped %zu", ans.a_nmaps, ans.a_stripped);
	env_free(&e);
	T_CHECK(acache_get(c, 5000, &n, DNS_T_AAAA, out, sizeof(out), &age) == 0,
	    "another type answered");
	n = wname("other.test");
	T_CHECK(acache_get(c, 5000, &n, DNS_T_A, out, sizeof(out), &age) == 0,
	    "another name answered");
	n = wname("alias.test");
	T_CHECK(acache_get(c, 5000, &n, DNS_T_A, out, 10, &age) == 0,
	    "copied into a buffer too small");
	T_CHECK(acache_get(c, 5000 + 99999, &n, DNS_T_A, out, sizeof(out), &age) > 0,
	    "gone before its smallest TTL (100 s)");
	T_CHECK(acache_get(c, 5000 + 100000, &n, DNS_T_A, out, sizeof(out), &age) ==
	    0 && acache_count(c) == 0 && acache_bytes(c) == 0,
	    "kept past its smallest TTL");
	/* the same question again replaces the entry */
	T_CHECK(ac_put(c, 0, &m) == 1 && ac_put(c, 1000, &m) == 1 &&
	    acache_count(c) == 1, "%zu entries", acache_count(c));
	acache_free(c);
	/* the cap on TTLs */
	c = acache_new(65536, 60, 7);
	mb_head(&m, 77, DNS_F_QR, 1, 1, 0, 0);
	mb_question(&m, "alias.test", DNS_T_A);
	mb_a(&m, NULL, "192.0.2.11", 86400);
	T_CHECK(ac_put(c, 0, &m) == 1, "not kept");
	T_CHECK(acache_get(c, 59999, &n, DNS_T_A, out, sizeof(out), &age) > 0 &&
	    acache_get(c, 60000, &n, DNS_T_A, out, sizeof(out), &age) == 0,
	    "TTL not capped at 60 s");
	acache_free(c);
}

static void
test_acache_never(void)
{
	static struct mb	 m;
	struct acache		*c = acache_new(65536, 3600, 7);

	mb_head(&m, 1, DNS_F_QR | DNS_SERVFAIL, 1, 0, 0, 0);
	mb_question(&m, "a.test", DNS_T_A);
	T_CHECK(ac_put(c, 0, &m) == 0, "SERVFAIL kept");
	mb_head(&m, 1, DNS_F_QR | DNS_F_TC, 1, 1, 0, 0);
	mb_question(&m, "a.test", DNS_T_A);
	mb_a(&m, NULL, "192.0.2.1", 60);
	T_CHECK(ac_put(c, 0, &m) == 0, "truncated answer kept");
	mb_head(&m, 1, DNS_F_QR, 1, 2, 0, 0);
	mb_question(&m, "a.test", DNS_T_A);
	mb_a(&m, NULL, "192.0.2.1", 60);
	mb_a(&m, NULL, "192.0.2.2", 0);
	T_CHECK(ac_put(c, 0, &m) == 0, "a TTL of 0 kept");
	mb_head(&m, 1, DNS_F_QR, 1, 1, 0, 0);
	mb_question(&m, "a.test", DNS_T_A);
	mb_a(&m, NULL, "192.0.2.1", 0x80000010u);
	T_CHECK(ac_put(c, 0, &m) == 0, "a TTL with the top bit kept");
	mb_head(&m, 1, DNS_F_QR | DNS_NXDOMAIN, 1, 0, 0, 0);
	mb_question(&m, "a.test", DNS_T_A);
	T_CHECK(ac_put(c, 0, &m) == 0, "NXDOMAIN without SOA kept");
	mb_head(&m, 1, DNS_F_QR, 1, 0, 0, 0);
	mb_question(&m, "a.test", DNS_T_A);
	T_CHECK(ac_put(c, 0, &m) == 0, "NODATA without SOA kept");
	mb_head(&m, 1, DNS_F_QR, 1, 1, 0, 0);
	mb_question(&m, "a.test", DNS_T_A);
	mb_cname(&m, NULL, "b.test", 60);
	T_CHECK(ac_put(c, 0, &m) == 0, "a CNAME without the type, no SOA, kept");
	mb_head(&m, 1, DNS_F_QR, 1, AC_RR_MAX + 1, 0, 0);
	mb_question(&m, "a.test", DNS_T_A);
	for (unsigned i = 0; i <= AC_RR_MAX; i++) {
		char	 a[32];

		snprintf(a, sizeof(a), "198.51.100.%u", i);
		mb_a(&m, NULL, a, 60);
	}
	T_CHECK(ac_put(c, 0, &m) == 0, "%d records kept", AC_RR_MAX + 1);
	T_CHECK(acache_count(c) == 0, "%zu kept", acache_count(c));
	acache_free(c);
	c = acache_new(0, 3600, 7);
	mb_head(&m, 1, DNS_F_QR, 1, 1, 0, 0);
	mb_question(&m, "a.test", DNS_T_A);
	mb_a(&m, NULL, "192.0.2.1", 60);
	T_CHECK(ac_put(c, 0, &m) == 0, "kept in a cache of 0 bytes");
	acache_free(c);
}

static void
test_acache_negative(void)
{
	static struct mb	 m;
	uint32_t		 age = 0;
	static uint8_t		 out[AC_MSG_MAX];
	struct acache		*c = acache_new(65536, 3600, 7);
	struct dns_name		 n = wname("gone.test");
	size_t			 len;

	mb_head(&m, 1, DNS_F_QR | DNS_NXDOMAIN, 1, 0, 1, 0);
	mb_question(&m, "gone.test", DNS_T_A);
	mb_soa(&m, "test", 3600, 30);
	T_CHECK(ac_put(c, 0, &m) == 1, "NXDOMAIN with SOA not kept");
	len = acache_get(c, 29999, &n, DNS_T_A, out, sizeof(out), &age);
	T_CHECK(len == m.n && age == 29, "not kept for the SOA's MINIMUM");
	T_CHECK(acache_get(c, 30000, &n, DNS_T_A, out, sizeof(out), &age) == 0,
	    "kept past the SOA's MINIMUM (RFC 2308)");
	mb_head(&m, 1, DNS_F_QR, 1, 0, 1, 0);
	mb_question(&m, "gone.test", DNS_T_AAAA);
	mb_soa(&m, "test", 20, 300);
	T_CHECK(ac_put(c, 0, &m) == 1, "NODATA with SOA not kept");
	T_CHECK(acache_get(c, 19999, &n, DNS_T_AAAA, out, sizeof(out), &age) > 0 &&
	    acache_get(c, 20000, &n, DNS_T_AAAA, out, sizeof(out), &age) == 0,
	    "NODATA not kept for the SOA's own TTL");
	acache_free(c);
}

static void
test_acache_bounds(void)
{
	static struct mb	 m;
	uint32_t		 age = 0;
	static uint8_t		 out[AC_MSG_MAX];
	struct acache		*c = acache_new(8192, 3600, 7);
	struct dns_name		 n;
	char			 name[64];
	size_t			 max = 0;

	for (unsigned i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "h%u.test", i);
		mb_head(&m, 1, DNS_F_QR, 1, 1, 0, 0);
		mb_question(&m, name, DNS_T_A);
		mb_a(&m, NULL, "192.0.2.1", 600);
		T_CHECK(ac_put(c, i, &m) == 1, "%s not kept", name);
		if (acache_bytes(c) > max)
			max = acache_bytes(c);
		if (i >= 10) {	/* keep h0 in use: never the oldest */
			n = wname("h0.test");
			T_CHECK(acache_get(c, i, &n, DNS_T_A, out,
			    sizeof(out), &age) > 0, "h0 evicted at %u", i);
		}
	}
	T_CHECK(max <= 8192, "grew to %zu bytes", max);
	T_CHECK(acache_count(c) > 20, "only %zu kept", acache_count(c));
	n = wname("h1999.test");
	T_CHECK(acache_get(c, 2000, &n, DNS_T_A, out, sizeof(out), &age) > 0,
	    "the newest evicted");
	n = wname("h1000.test");
	T_CHECK(acache_get(c, 2000, &n, DNS_T_A, out, sizeof(out), &age) == 0,
	    "an old one kept");
	acache_free(c);
}

int
main(void)
{
	size_t	 i;

	T_RUN(test_name_good(), "name: compressed and plain names read");
	T_RUN(test_name_text(), "name: text form, escapes, longest");
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		T_RUN(test_name_bad(&bad_names[i]), "name: rejects %s",
		    bad_names[i].what);
	T_RUN(test_name_too_long(), "name: 255 bytes, not 256; label 64");
	T_RUN(test_msg_good(), "message: every section parsed");
	for (i = 0; i < sizeof(bad_msgs) / sizeof(bad_msgs[0]); i++)
		T_RUN(test_msg_bad(&bad_msgs[i]), "message: rejects %s",
		    bad_msgs[i].what);
	for (i = 0; i < sizeof(query_cases) / sizeof(query_cases[0]); i++)
		T_RUN(test_query(&query_cases[i]), "query: %s",
		    query_cases[i].what);
	T_RUN(test_query_short(), "query: short and header-only");
	T_RUN(test_query_build(), "write: upstream query");
	T_RUN(test_reply_error(), "write: error replies");
	T_RUN(test_wr_compress(), "write: name compression");
	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++)
		T_RUN(test_pol_name(&name_cases[i]),
		    "policy: allow [%s] deny [%s]: %s %s",
		    name_cases[i].allow ? name_cases[i].allow : "",
		    name_cases[i].deny ? name_cases[i].deny : "",
		    name_cases[i].name,
		    name_cases[i].fwd ? "forwarded" : "blocked");
	T_RUN(test_pol_addr(), "policy: answer addresses, guard, chain names");
	T_RUN(test_filter_plain(), "answer: plain A, header, EDNS");
	T_RUN(test_filter_chain(), "answer: CNAME chain, records off it");
	T_RUN(test_filter_chain_loop(), "answer: CNAME loop ends");
	T_RUN(test_filter_strip(), "answer: guard and deny addresses stripped");
	T_RUN(test_filter_cname_denied(), "answer: CNAME to a denied name");
	T_RUN(test_filter_rcodes(), "answer: rcodes, mismatched answers");
	T_RUN(test_filter_mx(), "answer: names in RDATA decompressed");
	T_RUN(test_filter_truncate(), "answer: TC for UDP, maps bounded");
	T_RUN(test_cache_basic(), "cache: names, maps, addrs");
	T_RUN(test_cache_ttl_hold(), "cache: TTL and holds");
	T_RUN(test_cache_evict(), "cache: LRU eviction spares held");
	T_RUN(test_cache_many(), "cache: bounded at 4096, growth");
	T_RUN(test_cache_filter(), "cache: policy change filter");
	T_RUN(test_answer_cache(), "cache: answer chain, floor, cap");
	T_RUN(test_acache_basic(), "answer cache: kept, aged, re-filtered, capped");
	T_RUN(test_acache_never(), "answer cache: what is never kept");
	T_RUN(test_acache_negative(), "answer cache: NXDOMAIN and NODATA (RFC 2308)");
	T_RUN(test_acache_bounds(), "answer cache: bounded by bytes, LRU");
	return t_done();
}
