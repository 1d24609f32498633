/*
 * test_icmp.c - the ICMP echo packets of src/peek/icmp.c: requests parsed
 * from what a raw socket reads, and the messages built for the guest, with
 * their checksums checked by an independent sum.
 *
 * ICMP_CORPUS=DIR writes the cases to DIR/fuzz_icmp (the fuzzer's seeds).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "peek/icmp.h"
#include "t.h"

static const uint8_t src4[4] = { 100, 64, 0, 2 }, dst4[4] = { 192, 0, 2, 10 };
static const uint8_t src6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x49, 0x52, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 2 };
static const uint8_t dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0x10 };

/* The one's complement sum of `n` bytes, folded (0xffff: a valid sum). */
static unsigned
ones(const uint8_t *p, size_t n, unsigned sum)
{
	for (size_t i = 0; i < n; i++)
		sum += i % 2 ? p[i] : (unsigned)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static unsigned
ones6(const uint8_t *s, const uint8_t *d, const uint8_t *msg, size_t n)
{
	uint8_t	 ph[8] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16),
		    (uint8_t)(n >> 8), (uint8_t)n, 0, 0, 0, 58 };

	return ones(msg, n, ones(ph, 8, ones(d, 16, ones(s, 16, 0))));
}

/* An IPv4 echo request packet as the guest's kernel sends it. */
static size_t
req4(uint8_t *buf, size_t payload, int type)
{
	size_t	 n = 28 + payload;
	unsigned s;

	memset(buf, 0, n);
	buf[0] = 0x45;
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	buf[8] = 64;
	buf[9] = 1;
	memcpy(buf + 12, src4, 4);
	memcpy(buf + 16, dst4, 4);
	buf[20] = (uint8_t)type;
	buf[24] = 0x12;		/* id 0x1234 */
	buf[25] = 0x34;
	buf[27] = 7;		/* seq 7 */
	for (size_t i = 0; i < payload; i++)
		buf[28 + i] = (uint8_t)('a' + i % 26);
	s = ones(buf + 20, 8 + payload, 0);
	buf[22] = (uint8_t)(~s >> 8);
	buf[23] = (uint8_t)~s;
	return n;
}

static void
parse4_good(void)
{
	uint8_t			 b[128];
	struct icmp_echo	 e;
	size_t			 n = req4(b, 32, 8);

	T_CHECK(icmp_parse_echo4(b, n, 0, &e) == 1, "a plain echo request");
	T_CHECK(e.ie_family == 4 && e.ie_id == 0x1234 && e.ie_seq == 7 &&
	    e.ie_len == 32 && e.ie_data == b + 28, "fields: id %x seq %u len "
	    "%zu", e.ie_id, e.ie_seq, e.ie_len);
	T_CHECK(memcmp(e.ie_src, src4, 4) == 0 && memcmp(e.ie_dst, dst4, 4) ==
	    0, "addresses");
	T_CHECK(icmp_parse_echo4(b, n, 1, &e) == 0, "a request is no reply");
	/* Bytes after the IP total length are not the packet's. */
	T_CHECK(icmp_parse_echo4(b, n + 10, 0, &e) == 1 && e.ie_len == 32,
	    "trailing bytes ignored");
	n = req4(b, 0, 0);
	T_CHECK(icmp_parse_echo4(b, n, 1, &e) == 1 && e.ie_len == 0,
	    "an empty echo reply");
}

static void
parse4_bad(void)
{
	uint8_t			 b[128], c[128];
	struct icmp_echo	 e;
	size_t			 n = req4(b, 32, 8);

	T_CHECK(icmp_parse_echo4(b, 19, 0, &e) == 0, "shorter than a header");
	T_CHECK(icmp_parse_echo4(b, n - 1, 0, &e) == 0, "cut short");
	memcpy(c, b, n);
	c[0] = 0x65;
	T_CHECK(icmp_parse_echo4(c, n, 0, &e) == 0, "version 6");
	memcpy(c, b, n);
	c[0] = 0x44;
	T_CHECK(icmp_parse_echo4(c, n, 0, &e) == 0, "header length 16");
	memcpy(c, b, n);
	c[0] = 0x4f;
	T_CHECK(icmp_parse_echo4(c, n, 0, &e) == 0, "header length 60 > total");
	memcpy(c, b, n);
	c[6] = 0x20;	/* more fragments */
	T_CHECK(icmp_parse_echo4(c, n, 0, &e) == 0, "a fragment");
	memcpy(c, b, n);
	c[7] = 1;	/* offset */
	T_CHECK(icmp_parse_echo4(c, n, 0, &e) == 0, "a later fragment");
	memcpy(c, b, n);
	c[6] = 0x40;	/* DF is fine */
	T_CHECK(icmp_parse_echo4(c, n, 0, &e) == 1, "DF set");
	memcpy(c, b, n);
	c[9] = 17;
	T_CHECK(icmp_parse_echo4(c, n, 0, &e) == 0, "UDP");
	memcpy(c, b, n);
	c[21] = 1;
	T_CHECK(icmp_parse_echo4(c, n, 0, &e) == 0, "code 1");
	memcpy(c, b, n);
	c[40] ^= 1;
	T_CHECK(icmp_parse_echo4(c, n, 0, &e) == 0, "bad checksum");
	memcpy(c, b, n);
	c[2] = 0;
	c[3] = 27;
	T_CHECK(icmp_parse_echo4(c, n, 0, &e) == 0, "total length < 28");
}

static void
parse6(void)
{
	uint8_t			 m[64] = { 128, 0, 0, 0, 0xab, 0xcd, 0, 9 };
	struct icmp_echo	 e;

	T_CHECK(icmp_parse_echo6(m, 40, 0, src6, dst6, &e) == 1, "request");
	T_CHECK(e.ie_family == 6 && e.ie_id == 0xabcd && e.ie_seq == 9 &&
	    e.ie_len == 32 && memcmp(e.ie_src, src6, 16) == 0 &&
	    memcmp(e.ie_dst, dst6, 16) == 0, "fields");
	T_CHECK(icmp_parse_echo6(m, 40, 1, src6, dst6, &e) == 0, "not a reply");
	T_CHECK(icmp_parse_echo6(m, 7, 0, src6, dst6, &e) == 0, "7 bytes");
	m[1] = 1;
	T_CHECK(icmp_parse_echo6(m, 40, 0, src6, dst6, &e) == 0, "code 1");
	m[1] = 0;
	m[0] = 129;
	T_CHECK(icmp_parse_echo6(m, 8, 1, src6, dst6, &e) == 1 &&
	    e.ie_len == 0, "an empty reply");
	m[0] = 1;
	T_CHECK(icmp_parse_echo6(m, 40, 0, src6, dst6, &e) == 0, "an error");
}

static void
build_echo(void)
{
	uint8_t			 out[256], data[5] = "hello";
	struct icmp_echo	 e;
	uint8_t			 pkt[256];
	size_t			 n;

	n = icmp_build_echo(4, 1, 0x1234, 7, data, 5, out, sizeof(out));
	T_CHECK(n == 13 && out[0] == 0 && out[1] == 0 && out[4] == 0x12 &&
	    out[5] == 0x34 && out[7] == 7 && memcmp(out + 8, "hello", 5) == 0,
	    "v4 reply: %zu bytes", n);
	T_CHECK(ones(out, n, 0) == 0xffff, "v4 checksum verifies");
	/* A v4 reply in an IP header parses back as a reply. */
	memset(pkt, 0, 20);
	pkt[0] = 0x45;
	pkt[3] = (uint8_t)(20 + n);
	pkt[9] = 1;
	memcpy(pkt + 20, out, n);
	T_CHECK(icmp_parse_echo4(pkt, 20 + n, 1, &e) == 1 && e.ie_len == 5 &&
	    e.ie_seq == 7, "parses back");
	n = icmp_build_echo(6, 0, 1, 2, data, 5, out, sizeof(out));
	T_CHECK(n == 13 && out[0] == 128 && out[2] == 0 && out[3] == 0,
	    "v6 request, checksum left to the kernel");
	T_CHECK(icmp_build_echo(4, 0, 1, 2, data, 5, out, 12) == 0,
	    "too small a buffer");
	T_CHECK(icmp_build_echo(4, 0, 1, 2, data, 5, out, 13) == 13,
	    "exactly enough");
	/* In place: the payload may already be where it goes. */
	memcpy(out + 8, "abc", 3);
	n = icmp_build_echo(4, 0, 1, 2, out + 8, 3, out, sizeof(out));
	T_CHECK(n == 11 && memcmp(out + 8, "abc", 3) == 0, "in place");
}

static void
build_prohibited(void)
{
	uint8_t			 b[2048], out[2048], q[1280];
	struct icmp_echo	 e;
	size_t			 n, r;

	n = req4(b, 1000, 8);
	r = icmp_build_prohibited(4, b, n, out, sizeof(out));
	T_CHECK(r == 8 + 28 && out[0] == 3 && out[1] == 13 &&
	    memcmp(out + 8, b, 28) == 0, "v4: header + 8 bytes quoted (%zu)",
	    r);
	T_CHECK(ones(out, r, 0) == 0xffff, "v4 checksum verifies");
	T_CHECK(icmp_build_prohibited(4, b, n, out, 35) == 0, "v4: no room");
	T_CHECK(icmp_build_prohibited(4, b, 10, out, sizeof(out)) == 8,
	    "v4: no header to quote");

	memset(b, 'x', sizeof(b));
	T_CHECK(icmp_parse_echo6((const uint8_t *)"\x80\0\0\0\0\x05\0\x01",
	    8, 0, src6, dst6, &e) == 1, "v6 request");
	e.ie_data = b;
	e.ie_len = 2000;	/* longer than an error may quote */
	n = icmp_rebuild6(&e, q, sizeof(q));
	T_CHECK(n == sizeof(q) && q[0] == 0x60 && q[6] == 58 &&
	    q[4] == (2008 >> 8) && q[5] == (2008 & 0xff) &&
	    memcmp(q + 8, src6, 16) == 0 && memcmp(q + 24, dst6, 16) == 0,
	    "v6: rebuilt header, payload length of the whole (%zu)", n);
	r = icmp_build_prohibited(6, q, n, out, sizeof(out));
	T_CHECK(r == 1280 - 40 && out[0] == 1 && out[1] == 1,
	    "v6: as much as fits in 1280 (%zu)", r);
	e.ie_len = 20;
	n = icmp_rebuild6(&e, q, sizeof(q));
	T_CHECK(n == 40 + 28 && ones6(src6, dst6, q + 40, 28) == 0xffff,
	    "v6: a short request rebuilt whole, its checksum right");
	T_CHECK(icmp_rebuild6(&e, q, 47) == 0, "v6: no room for the headers");
}

static void
quote_udp(void)
{
	uint8_t	 q[1232], data[2000];
	size_t	 n;

	memset(data, 'u', sizeof(data));
	n = icmp_quote_udp(4, src4, dst4, 40000, 53, data, 100, q, sizeof(q));
	T_CHECK(n == 128 && q[0] == 0x45 && q[9] == 17 && q[2] == 0 &&
	    q[3] == 128 && memcmp(q + 12, src4, 4) == 0 &&
	    memcmp(q + 16, dst4, 4) == 0, "v4 header (%zu)", n);
	T_CHECK(ones(q, 20, 0) == 0xffff, "v4 header checksum verifies");
	T_CHECK(q[20] == 40000 >> 8 && q[21] == (40000 & 0xff) && q[22] == 0 &&
	    q[23] == 53 && q[24] == 0 && q[25] == 108, "UDP header: ports, "
	    "length");
	n = icmp_quote_udp(6, src6, dst6, 1, 2, data, 2000, q, sizeof(q));
	T_CHECK(n == sizeof(q) && q[0] == 0x60 && q[6] == 17 &&
	    q[4] == (2008 >> 8) && q[5] == (2008 & 0xff),
	    "v6: cut to the buffer, lengths of the whole (%zu)", n);
	T_CHECK(icmp_quote_udp(4, src4, dst4, 1, 2, data, 10, q, 27) == 0,
	    "no room for the headers");
	T_CHECK(icmp_quote_udp(4, src4, dst4, 1, 2, data, 70000, q,
	    sizeof(q)) == 0, "a datagram longer than IP allows");
	/* What the UDP relay sends: a v4 error quoting header + 8 bytes. */
	n = icmp_quote_udp(4, src4, dst4, 1, 2, data, 100, q, sizeof(q));
	T_CHECK(icmp_build_prohibited(4, q, n, data, sizeof(data)) == 36,
	    "v4 error of a quoted datagram");
}

static void
corpus(const char *dir)
{
	char	 path[512];
	uint8_t	 b[256];
	size_t	 n;
	FILE	*f;

	snprintf(path, sizeof(path), "%s/fuzz_icmp", dir);
	mkdir(path, 0755);
	for (int i = 0; i < 3; i++) {
		/* First byte: which parser (see fuzz/fuzz_icmp.c). */
		b[0] = (uint8_t)i;
		n = i == 2 ? 41 : req4(b + 1, 32, i == 0 ? 8 : 0) + 1;
		if (i == 2) {
			memcpy(b + 1, "\x80\0\0\0\x12\x34\0\x07", 8);
			memset(b + 9, 'p', 32);
		}
		snprintf(path, sizeof(path), "%s/fuzz_icmp/seed%d", dir, i);
		if ((f = fopen(path, "wb")) != NULL) {
			fwrite(b, 1, n, f);
			fclose(f);
		}
	}
}

int
main(void)
{
	const char	*dir;

	if ((dir = getenv("ICMP_CORPUS")) != NULL)
		corpus(dir);
	T_RUN(parse4_good(), "icmp: IPv4 echo requests and replies parsed");
	T_RUN(parse4_bad(), "icmp: malformed IPv4 packets refused");
	T_RUN(parse6(), "icmp: ICMPv6 echo messages parsed");
	T_RUN(build_echo(), "icmp: echo messages built");
	T_RUN(build_prohibited(), "icmp: administratively prohibited, quoting");
	T_RUN(quote_udp(), "icmp: a refused UDP datagram's headers rebuilt");
	return t_done();
}
