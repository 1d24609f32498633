/*
 * icmp.c - ICMP echo packets: parsed from guest bytes, built for the guest.
 * See icmp.h.
 */
#include <string.h>

#include "icmp.h"

#define IP4_HDR		20
#define IP6_HDR		40
#define ICMP_HDR	8
#define IP6_MIN_MTU	1280

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t
sum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t	 i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t
sum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint16_t
csum(const uint8_t *p, size_t len)
{
	return sum_fold(sum_add(0, p, len));
}

/*
 * ICMPv6 checksum (RFC 8200 8.1) of a message given in two pieces, `a`
 * of even length then `b`: the pseudo-header, then the message.
 */
static uint16_t
csum6(const uint8_t *src, const uint8_t *dst, const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen)
{
	uint8_t	 ph[8] = { 0 };
	size_t	 len = alen + blen;

	ph[0] = (uint8_t)(len >> 24);
	ph[1] = (uint8_t)(len >> 16);
	ph[2] = (uint8_t)(len >> 8);
	ph[3] = (uint8_t)len;
	ph[7] = 58;
	return sum_fold(sum_add(sum_add(sum_add(sum_add(sum_add(0, src, 16),
	    dst, 16), ph, 8), a, alen), b, blen));
}

int
icmp_parse_echo4(const uint8_t *pkt, size_t len, int reply,
    struct icmp_echo *out)
{
	size_t	 hl, tot;

	if (len < IP4_HDR || pkt[0] >> 4 != 4)
		return 0;
	hl = (size_t)(pkt[0] & 0x0f) * 4;
	tot = get16(pkt + 2);
	if (hl < IP4_HDR || tot < hl + ICMP_HDR || tot > len)
		return 0;
	/* More fragments, or an offset: the kernel reassembles, so no. */
	if ((get16(pkt + 6) & 0x3fff) != 0 || pkt[9] != 1)
		return 0;
	if (pkt[hl] != (reply ? 0 : 8) || pkt[hl + 1] != 0 ||
	    csum(pkt + hl, tot - hl) != 0)
		return 0;
	memset(out, 0, sizeof(*out));
	out->ie_family = 4;
	memcpy(out->ie_src, pkt + 12, 4);
	memcpy(out->ie_dst, pkt + 16, 4);
	out->ie_id = get16(pkt + hl + 4);
	out->ie_seq = get16(pkt + hl + 6);
	out->ie_data = pkt + hl + ICMP_HDR;
	out->ie_len = tot - hl - ICMP_HDR;
	return 1;
}

int
icmp_parse_echo6(const uint8_t *msg, size_t len, int reply, const uint8_t *src,
    const uint8_t *dst, struct icmp_echo *out)
{
	if (len < ICMP_HDR || len > ICMP_PKT_MAX - IP6_HDR ||
	    msg[0] != (reply ? 129 : 128) || msg[1] != 0)
		return 0;
	memset(out, 0, sizeof(*out));
	out->ie_family = 6;
	memcpy(out->ie_src, src, 16);
	memcpy(out->ie_dst, dst, 16);
	out->ie_id = get16(msg + 4);
	out->ie_seq = get16(msg + 6);
	out->ie_data = msg + ICMP_HDR;
	out->ie_len = len - ICMP_HDR;
	return 1;
}

size_t
icmp_build_echo(int family, int reply, uint16_t id, uint16_t seq,
    const uint8_t *data, size_t len, uint8_t *buf, size_t cap)
{
	if (len > cap || cap - len < ICMP_HDR)
		return 0;
	if (family == 4)
		buf[0] = reply ? 0 : 8;
	else
		buf[0] = reply ? 129 : 128;
	buf[1] = 0;
	put16(buf + 2, 0);
	put16(buf + 4, id);
	put16(buf + 6, seq);
	if (len > 0)
		memmove(buf + ICMP_HDR, data, len);
	if (family == 4)
		put16(buf + 2, csum(buf, ICMP_HDR + len));
	return ICMP_HDR + len;
}

size_t
icmp_build_prohibited(int family, const uint8_t *orig, size_t origlen,
    uint8_t *buf, size_t cap)
{
	size_t	 q;

	if (family == 4) {
		/* RFC 792: the original header and 64 bits of its data. */
		q = origlen >= IP4_HDR ? (size_t)(orig[0] & 0x0f) * 4 + 8 : 0;
		if (q > origlen)
			q = origlen;
	} else
		q = origlen > IP6_MIN_MTU - IP6_HDR - ICMP_HDR ?
		    IP6_MIN_MTU - IP6_HDR - ICMP_HDR : origlen;
	if (cap < ICMP_HDR + q)
		return 0;
	memset(buf, 0, ICMP_HDR);
	buf[0] = family == 4 ? 3 : 1;	/* destination unreachable */
	buf[1] = family == 4 ? 13 : 1;	/* administratively prohibited */
	if (q > 0)
		memmove(buf + ICMP_HDR, orig, q);
	if (family == 4)
		put16(buf + 2, csum(buf, ICMP_HDR + q));
	return ICMP_HDR + q;
}

size_t
icmp_rebuild6(const struct icmp_echo *req, uint8_t *buf, size_t cap)
{
	struct icmp_echo	 cut = *req;
	size_t			 n;

	if (req->ie_family != 6 || cap < IP6_HDR + ICMP_HDR)
		return 0;
	if (cut.ie_len > cap - IP6_HDR - ICMP_HDR)
		cut.ie_len = cap - IP6_HDR - ICMP_HDR;
	n = icmp_build_echo(6, 0, cut.ie_id, cut.ie_seq, cut.ie_data,
	    cut.ie_len, buf + IP6_HDR, cap - IP6_HDR);
	/* The header and checksum are those of what was sent, whole. */
	memset(buf, 0, IP6_HDR);
	buf[0] = 0x60;
	put16(buf + 4, (uint16_t)(ICMP_HDR + req->ie_len));
	buf[6] = 58;
	buf[7] = 64;
	memcpy(buf + 8, req->ie_src, 16);
	memcpy(buf + 24, req->ie_dst, 16);
	put16(buf + IP6_HDR + 2, csum6(req->ie_src, req->ie_dst,
	    buf + IP6_HDR, ICMP_HDR, req->ie_data, req->ie_len));
	return IP6_HDR + n;
}

size_t
icmp_quote_udp(int family, const uint8_t *src, const uint8_t *dst,
    uint16_t sport, uint16_t dport, const uint8_t *data, size_t len,
    uint8_t *buf, size_t cap)
{
	size_t	 h = family == 4 ? IP4_HDR : IP6_HDR, q;

	if (cap < h + 8 || len > ICMP_PKT_MAX - h - 8)
		return 0;
	q = len < cap - h - 8 ? len : cap - h - 8;
	memset(buf, 0, h + 8);
	if (family == 4) {
		buf[0] = 0x45;
		put16(buf + 2, (uint16_t)(h + 8 + len));
		buf[8] = 64;
		buf[9] = 17;
		memcpy(buf + 12, src, 4);
		memcpy(buf + 16, dst, 4);
		put16(buf + 10, csum(buf, IP4_HDR));
	} else {
		buf[0] = 0x60;
		put16(buf + 4, (uint16_t)(8 + len));
		buf[6] = 17;
		buf[7] = 64;
		memcpy(buf + 8, src, 16);
		memcpy(buf + 24, dst, 16);
	}
	put16(buf + h, sport);
	put16(buf + h + 2, dport);
	put16(buf + h + 4, (uint16_t)(8 + len));
	if (q > 0)
		memcpy(buf + h + 8, data, q);
	return h + 8 + q;
}
