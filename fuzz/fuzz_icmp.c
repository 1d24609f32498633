/*
 * fuzz_icmp.c - the ICMP relay's parsing of guest bytes (src/peek/icmp.c)
 * on arbitrary input, and what is built from what parses. The first byte
 * picks: 0 an IPv4 packet as a request, 1 as a reply, 2+ an ICMPv6
 * message. Checks: no crash or UB; what parses lies within the input; what
 * is built fits its buffer and, for IPv4, has a checksum that verifies.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "peek/icmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t	 out[ICMP_PKT_MAX], quote[1280];

static unsigned
ones(const uint8_t *p, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += i % 2 ? p[i] : (unsigned)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t	 a[16] = { 0x20, 1, 0xd, 0xb8, [15] = 2 };
	struct icmp_echo	 e;
	const uint8_t		*p = data + 1;
	size_t			 n = size - 1, r;
	int			 ok;

	if (size == 0)
		return 0;
	if (data[0] < 2)
		ok = icmp_parse_echo4(p, n, data[0], &e);
	else
		ok = icmp_parse_echo6(p, n, data[0] & 1, a, a, &e);
	if (!ok)
		return 0;
	assert(e.ie_data >= p && e.ie_data + e.ie_len <= p + n);
	r = icmp_build_echo(e.ie_family, 1, e.ie_id, e.ie_seq, e.ie_data,
	    e.ie_len, out, sizeof(out));
	assert(r == 8 + e.ie_len);
	if (e.ie_family == 4) {
		assert(ones(out, r) == 0xffff);
		r = icmp_build_prohibited(4, p, n, out, sizeof(out));
		assert(r >= 8 && r <= 8 + 60 + 8 && ones(out, r) == 0xffff);
	} else {
		r = icmp_rebuild6(&e, quote, sizeof(quote));
		assert(r >= 48 && r <= sizeof(quote));
		r = icmp_build_prohibited(6, quote, r, out, sizeof(out));
		assert(r >= 48 && r <= 1280 - 40);
	}
	return 0;
}
