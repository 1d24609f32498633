/*
 * dnsmsg.c - DNS messages: parse what guests and upstreams send, write
 * what the view sends. Guest bytes are never copied out unparsed: a query
 * upstream and a reply to the guest are both written from parsed values.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "dns_int.h"

/* RDATA layouts that hold names: `pre` fixed bytes, `names` names, then
 * exactly `post` bytes. `compress`: a RFC 1035 type, whose names may be
 * compressed on output (RFC 3597 section 4). */
static const struct rdata_form {
	uint16_t	 type;
	uint8_t		 pre, names, post, compress;
} rdata_forms[] = {
	{ 2, 0, 1, 0, 1 },	/* NS */
	{ 3, 0, 1, 0, 1 },	/* MD */
	{ 4, 0, 1, 0, 1 },	/* MF */
	{ 5, 0, 1, 0, 1 },	/* CNAME */
	{ 6, 0, 2, 20, 1 },	/* SOA */
	{ 7, 0, 1, 0, 1 },	/* MB */
	{ 8, 0, 1, 0, 1 },	/* MG */
	{ 9, 0, 1, 0, 1 },	/* MR */
	{ 12, 0, 1, 0, 1 },	/* PTR */
	{ 14, 0, 2, 0, 1 },	/* MINFO */
	{ 15, 2, 1, 0, 1 },	/* MX */
	{ 17, 0, 2, 0, 0 },	/* RP */
	{ 18, 2, 1, 0, 0 },	/* AFSDB */
	{ 21, 2, 1, 0, 0 },	/* RT */
	{ 26, 2, 2, 0, 0 },	/* PX */
	{ 33, 6, 1, 0, 0 },	/* SRV */
	{ 36, 2, 1, 0, 0 },	/* KX */
	{ 39, 0, 1, 0, 0 },	/* DNAME */
};

static const struct rdata_form *
rdata_form(uint16_t type)
{
	size_t	 i;

	for (i = 0; i < sizeof(rdata_forms) / sizeof(rdata_forms[0]); i++)
		if (rdata_forms[i].type == type)
			return &rdata_forms[i];
	return NULL;
}

const char *
dns_rcode_name(int rcode)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL",
	    "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
	    "NOTAUTH", "NOTZONE" };

	if (rcode >= 0 && rcode < (int)(sizeof(names) / sizeof(names[0])))
		return names[rcode];
	if (rcode == DNS_BADVERS)
		return "BADVERS";
	return "RCODE?";
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

int
dns_name_read(const uint8_t *msg, size_t len, size_t *off,
    struct dns_name *out, const char **why)
{
	size_t		 pos = *off, seg = *off, end = 0, n = 0, target;
	uint8_t		 c;

	for (;;) {
		if (pos >= len) {
			*why = "name runs past the end of the message";
			return -1;
		}
		c = msg[pos];
		if (c == 0) {
			out->n_wire[n++] = 0;
			if (end == 0)
				end = pos + 1;
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= len) {
				*why = "compression pointer cut short";
				return -1;
			}
			target = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
			/* Strictly before the segment that holds it: no
			 * loops, no forward references. */
			if (target >= seg) {
				*why = "compression pointer does not point "
				    "backwards (loop or forward reference)";
				return -1;
			}
			if (target < DNS_HDR_LEN) {
				*why = "compression pointer into the header";
				return -1;
			}
			if (end == 0)
				end = pos + 2;
			pos = seg = target;
			continue;
		}
		if (c & 0xc0) {
			*why = "label type 0x40 or 0x80 is not supported";
			return -1;
		}
		if (pos + 1 + c > len) {
			*why = "label runs past the end of the message";
			return -1;
		}
		if (n + 1 + c + 1 > DNS_NAME_MAX) {
			*why = "name longer than 255 bytes";
			return -1;
		}
		memcpy(out->n_wire + n, msg + pos, 1 + (size_t)c);
		n += 1 + (size_t)c;
		pos += 1 + (size_t)c;
	}
	out->n_len = (uint8_t)n;
	*off = end;
	return 0;
}

size_t
dns_name_text(const struct dns_name *nm, char *buf, size_t len)
{
	size_t		 i = 0, o = 0, k, lab;
	uint8_t		 c;
	char		 tmp[5];

	if (len == 0)
		return 0;
	while (i < nm->n_len && (lab = nm->n_wire[i]) != 0) {
		if (o > 0 && o + 1 < len)
			buf[o++] = '.';
		for (k = 1; k <= lab; k++) {
			c = lower(nm->n_wire[i + k]);
			if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
				if (o + 1 < len)
					buf[o++] = (char)c;
			} else {
				snprintf(tmp, sizeof(tmp), "\\%03u", c);
				if (o + 4 < len) {
					memcpy(buf + o, tmp, 4);
					o += 4;
				}
			}
		}
		i += 1 + lab;
	}
	buf[o] = '\0';
	return o;
}

int
dns_name_eq(const struct dns_name *a, const struct dns_name *b)
{
	size_t	 i;

	/* Length bytes are at most 63, below 'A': folding them is harmless. */
	if (a->n_len != b->n_len)
		return 0;
	for (i = 0; i < a->n_len; i++)
		if (lower(a->n_wire[i]) != lower(b->n_wire[i]))
			return 0;
	return 1;
}

void
dns_rr_name(const struct dns_msg *m, const struct dns_rr *rr,
    struct dns_name *out)
{
	size_t		 off = rr->r_nameoff;
	const char	*why;

	if (dns_name_read(m->m_buf, m->m_len, &off, out, &why) == -1) {
		out->n_len = 1;
		out->n_wire[0] = 0;
	}
}

/* Checks the names inside a record's data against its layout. */
static int
rdata_check(const uint8_t *buf, size_t len, const struct dns_rr *rr,
    const char **why)
{
	const struct rdata_form	*f;
	struct dns_name		 nm;
	size_t			 off = rr->r_rdoff, end = off + rr->r_rdlen;
	unsigned		 i;

	if (rr->r_class == DNS_C_IN &&
	    ((rr->r_type == DNS_T_A && rr->r_rdlen != 4) ||
	    (rr->r_type == DNS_T_AAAA && rr->r_rdlen != 16))) {
		*why = "address record of the wrong length";
		return -1;
	}
	if ((f = rdata_form(rr->r_type)) == NULL)
		return 0;
	if (rr->r_rdlen < f->pre) {
		*why = "record data too short for its type";
		return -1;
	}
	off += f->pre;
	for (i = 0; i < f->names; i++) {
		if (dns_name_read(buf, end, &off, &nm, why) == -1)
			return -1;
	}
	(void)len;
	if (off + f->post != end) {
		*why = "record data does not match its type";
		return -1;
	}
	return 0;
}

static int
parse_opt(struct dns_msg *m, const struct dns_rr *rr, const char **why)
{
	if (rr->r_section != 3) {
		*why = "OPT record outside the additional section";
		return -1;
	}
	if (m->m_edns) {
		*why = "more than one OPT record";
		return -1;
	}
	if (m->m_buf[rr->r_nameoff] != 0) {
		*why = "OPT record not owned by the root";
		return -1;
	}
	m->m_edns = 1;
	m->m_edns_size = rr->r_class;
	m->m_edns_ercode = (uint8_t)(rr->r_ttl >> 24);
	m->m_edns_version = (uint8_t)(rr->r_ttl >> 16);
	m->m_edns_flags = (uint16_t)rr->r_ttl;
	return 0;
}

int
dns_msg_parse(const uint8_t *buf, size_t len, struct dns_msg *m,
    const char **why)
{
	struct dns_name	 nm;
	struct dns_rr	*rr;
	size_t		 off, nrr, i;

	memset(m, 0, offsetof(struct dns_msg, m_rr));
	m->m_buf = buf;
	m->m_len = len;
	if (len < DNS_HDR_LEN) {
		*why = "shorter than a DNS header";
		return -1;
	}
	m->m_id = get16(buf);
	m->m_flags = get16(buf + 2);
	for (i = 0; i < 4; i++)
		m->m_count[i] = get16(buf + 4 + 2 * i);
	if (len > DNS_MSG_MAX) {
		*why = "longer than 65535 bytes";
		return -2;
	}
	if (m->m_count[0] > 1) {
		*why = "more than one question";
		return -2;
	}
	off = DNS_HDR_LEN;
	if (m->m_count[0] == 1) {
		if (dns_name_read(buf, len, &off, &m->m_qname, why) == -1)
			return -2;
		if (off + 4 > len) {
			*why = "question cut short";
			return -2;
		}
		m->m_qtype = get16(buf + off);
		m->m_qclass = get16(buf + off + 2);
		off += 4;
		m->m_hasq = 1;
	}
	nrr = (size_t)m->m_count[1] + m->m_count[2] + m->m_count[3];
	if (nrr > DNS_RR_MAX) {
		*why = "too many records";
		return -2;
	}
	for (i = 0; i < nrr; i++) {
		rr = &m->m_rr[i];
		rr->r_nameoff = (uint16_t)off;
		rr->r_section = i < m->m_count[1] ? 1 :
		    i < (size_t)m->m_count[1] + m->m_count[2] ? 2 : 3;
		if (off >= len) {
			*why = "record cut short (the counts say more records "
			    "than there are)";
			return -2;
		}
		if (dns_name_read(buf, len, &off, &nm, why) == -1)
			return -2;
		if (off + 10 > len) {
			*why = "record cut short (the counts say more records "
			    "than there are)";
			return -2;
		}
		rr->r_type = get16(buf + off);
		rr->r_class = get16(buf + off + 2);
		rr->r_ttl = get32(buf + off + 4);
		rr->r_rdlen = get16(buf + off + 8);
		rr->r_rdoff = (uint16_t)(off + 10);
		if ((size_t)rr->r_rdoff + rr->r_rdlen > len) {
			*why = "record data runs past the end of the message";
			return -2;
		}
		if (rdata_check(buf, len, rr, why) == -1)
			return -2;
		if (rr->r_type == DNS_T_OPT && parse_opt(m, rr, why) == -1)
			return -2;
		off = (size_t)rr->r_rdoff + rr->r_rdlen;
		m->m_nrr = i + 1;
	}
	if (off != len) {
		*why = "bytes left over after the last record";
		return -2;
	}
	return 0;
}

int
dns_query_parse(const uint8_t *buf, size_t len, struct dns_query *q,
    struct dns_msg *m, const char **why)
{
	int	 rc;

	memset(q, 0, sizeof(*q));
	*why = "";
	if (len < DNS_HDR_LEN) {
		*why = "shorter than a DNS header";
		return -1;
	}
	q->q_id = get16(buf);
	q->q_flags = get16(buf + 2);
	q->q_udpmax = DNS_UDP_MIN;
	if (q->q_flags & DNS_F_QR) {
		*why = "a response, not a query";
		return -1;
	}
	if (DNS_OPCODE(q->q_flags) != 0) {
		*why = "only standard queries (opcode 0) are served";
		return DNS_NOTIMP;
	}
	if ((rc = dns_msg_parse(buf, len, m, why)) != 0)
		return rc == -1 ? -1 : DNS_FORMERR;
	if (!m->m_hasq) {
		*why = "no question";
		return DNS_FORMERR;
	}
	q->q_hasq = 1;
	q->q_name = m->m_qname;
	q->q_type = m->m_qtype;
	q->q_class = m->m_qclass;
	if (m->m_edns) {
		q->q_edns = 1;
		q->q_udpmax = m->m_edns_size < DNS_UDP_MIN ? DNS_UDP_MIN :
		    m->m_edns_size > DNS_EDNS_SIZE ? DNS_EDNS_SIZE :
		    m->m_edns_size;
		if (m->m_edns_version != 0) {
			*why = "EDNS version other than 0";
			return DNS_BADVERS;
		}
	}
	if (m->m_count[1] != 0 || m->m_count[2] != 0) {
		*why = "a query with answer or authority records";
		return DNS_FORMERR;
	}
	if (q->q_type == DNS_T_OPT) {
		*why = "OPT is not a question type";
		return DNS_FORMERR;
	}
	if (q->q_class != DNS_C_IN) {
		*why = "only class IN is served";
		return DNS_REFUSED;
	}
	switch (q->q_type) {
	case DNS_T_AXFR:
	case DNS_T_IXFR:
	case DNS_T_TSIG:
	case DNS_T_TKEY:
	case DNS_T_MAILA:
	case DNS_T_MAILB:
		*why = "zone transfers and meta types are not served";
		return DNS_NOTIMP;
	default:
		break;
	}
	return 0;
}

/* ---- writing ---- */

void
dns_wr_init(struct dns_wr *w, uint8_t *buf, size_t cap)
{
	w->w_buf = buf;
	w->w_cap = cap > DNS_MSG_MAX ? DNS_MSG_MAX : cap;
	w->w_len = 0;
	w->w_full = 0;
	w->w_nnames = 0;
}

void
dns_wr_bytes(struct dns_wr *w, const void *p, size_t n)
{
	if (w->w_full || n > w->w_cap - w->w_len) {
		w->w_full = 1;
		return;
	}
	memcpy(w->w_buf + w->w_len, p, n);
	w->w_len += n;
}

void
dns_wr_u16(struct dns_wr *w, uint16_t v)
{
	uint8_t	 b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	dns_wr_bytes(w, b, 2);
}

void
dns_wr_u32(struct dns_wr *w, uint32_t v)
{
	uint8_t	 b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	dns_wr_bytes(w, b, 4);
}

/* Does the name written at `off` equal n->n_wire[p..]? */
static int
wr_same(const struct dns_wr *w, uint16_t off, const struct dns_name *n,
    size_t p)
{
	struct dns_name	 o;
	size_t		 at = off, i;
	const char	*why;

	if (dns_name_read(w->w_buf, w->w_len, &at, &o, &why) == -1 ||
	    o.n_len != n->n_len - p)
		return 0;
	for (i = 0; i < o.n_len; i++)
		if (lower(o.n_wire[i]) != lower(n->n_wire[p + i]))
			return 0;
	return 1;
}

static void
wr_remember(struct dns_wr *w, size_t off, size_t rest)
{
	if (w->w_full || off >= 0x4000 || w->w_nnames >= DNS_WR_NAMES)
		return;
	w->w_off[w->w_nnames] = (uint16_t)off;
	w->w_rest[w->w_nnames++] = (uint16_t)rest;
}

void
dns_wr_name(struct dns_wr *w, const struct dns_name *n, int compress)
{
	size_t		 p, start = w->w_len, rest;
	unsigned	 j;
	int		 ptr = -1;

	p = 0;
	if (compress) {
		for (; n->n_wire[p] != 0; p += 1 + n->n_wire[p]) {
			rest = n->n_len - p;
			for (j = 0; j < w->w_nnames && ptr < 0; j++)
				if (w->w_rest[j] == rest &&
				    wr_same(w, w->w_off[j], n, p))
					ptr = w->w_off[j];
			if (ptr >= 0)
				break;
		}
	} else
		p = n->n_len - 1;
	if (ptr < 0) {
		dns_wr_bytes(w, n->n_wire, n->n_len);
		p = n->n_len - 1;
	} else {
		dns_wr_bytes(w, n->n_wire, p);
		dns_wr_u16(w, (uint16_t)(0xc000 | ptr));
	}
	if (!compress)
		return;
	for (size_t i = 0; i < p; i += 1 + n->n_wire[i])
		wr_remember(w, start + i, n->n_len - i);
}

void
dns_wr_counts(struct dns_wr *w, uint16_t qd, uint16_t an, uint16_t ns,
    uint16_t ar)
{
	uint16_t	 c[4] = { qd, an, ns, ar };
	int		 i;

	if (w->w_len < DNS_HDR_LEN)
		return;
	for (i = 0; i < 4; i++) {
		w->w_buf[4 + 2 * i] = (uint8_t)(c[i] >> 8);
		w->w_buf[5 + 2 * i] = (uint8_t)c[i];
	}
}

void
dns_wr_rr(struct dns_wr *w, const struct dns_msg *m, const struct dns_rr *rr)
{
	const struct rdata_form	*f;
	struct dns_name		 nm;
	size_t			 lenpos, off, end, rdlen;
	const char		*why;
	unsigned		 i;

	dns_rr_name(m, rr, &nm);
	dns_wr_name(w, &nm, 1);
	dns_wr_u16(w, rr->r_type);
	dns_wr_u16(w, rr->r_class);
	dns_wr_u32(w, rr->r_ttl);
	lenpos = w->w_len;
	dns_wr_u16(w, 0);
	off = rr->r_rdoff;
	end = off + rr->r_rdlen;
	if ((f = rdata_form(rr->r_type)) == NULL) {
		dns_wr_bytes(w, m->m_buf + off, rr->r_rdlen);
	} else {
		dns_wr_bytes(w, m->m_buf + off, f->pre);
		off += f->pre;
		for (i = 0; i < f->names; i++) {
			if (dns_name_read(m->m_buf, end, &off, &nm, &why) ==
			    -1) {
				w->w_full = 1;	/* cannot happen: parsed */
				return;
			}
			dns_wr_name(w, &nm, f->compress);
		}
		dns_wr_bytes(w, m->m_buf + off, end - off);
	}
	if (w->w_full)
		return;
	rdlen = w->w_len - lenpos - 2;
	w->w_buf[lenpos] = (uint8_t)(rdlen >> 8);
	w->w_buf[lenpos + 1] = (uint8_t)rdlen;
}

void
dns_wr_opt(struct dns_wr *w, uint16_t udpsize, uint8_t ercode)
{
	uint8_t	 root = 0;

	dns_wr_bytes(w, &root, 1);
	dns_wr_u16(w, DNS_T_OPT);
	dns_wr_u16(w, udpsize);
	dns_wr_u32(w, (uint32_t)ercode << 24);
	dns_wr_u16(w, 0);
}

size_t
dns_query_build(const struct dns_query *q, uint16_t id, uint8_t *buf,
    size_t cap)
{
	struct dns_wr	 w;
	struct dns_name	 lc = q->q_name;
	size_t		 i;

	for (i = 0; i < lc.n_len; i++)
		lc.n_wire[i] = lower(lc.n_wire[i]);
	dns_wr_init(&w, buf, cap);
	dns_wr_u16(&w, id);
	dns_wr_u16(&w, DNS_F_RD);
	dns_wr_u16(&w, 1);
	dns_wr_u16(&w, 0);
	dns_wr_u16(&w, 0);
	dns_wr_u16(&w, 1);
	dns_wr_name(&w, &lc, 0);
	dns_wr_u16(&w, q->q_type);
	dns_wr_u16(&w, q->q_class);
	/* Last, and exactly 11 bytes: c-ares strips it from the end if the
	 * upstream answers FORMERR to EDNS. */
	dns_wr_opt(&w, DNS_EDNS_SIZE, 0);
	return w.w_full ? 0 : w.w_len;
}

size_t
dns_reply_error(const struct dns_query *q, int rcode, uint8_t *buf,
    size_t cap)
{
	struct dns_wr	 w;
	uint16_t	 flags;

	flags = DNS_F_QR | DNS_F_RA | (q->q_flags & (DNS_F_OPMASK | DNS_F_RD |
	    DNS_F_CD)) | (uint16_t)(rcode & DNS_F_RCMASK);
	dns_wr_init(&w, buf, cap);
	dns_wr_u16(&w, q->q_id);
	dns_wr_u16(&w, flags);
	dns_wr_u16(&w, q->q_hasq ? 1 : 0);
	dns_wr_u16(&w, 0);
	dns_wr_u16(&w, 0);
	dns_wr_u16(&w, q->q_edns ? 1 : 0);
	if (q->q_hasq) {
		dns_wr_name(&w, &q->q_name, 0);
		dns_wr_u16(&w, q->q_type);
		dns_wr_u16(&w, q->q_class);
	}
	if (q->q_edns)
		dns_wr_opt(&w, DNS_EDNS_SIZE, (uint8_t)(rcode >> 4));
	return w.w_full ? 0 : w.w_len;
}
