/*
 * icmp.h - ICMP echo packets of the ICMP relay (src/proxy/icmp.c): reading
 * a guest's echo request, and writing the packets sent back to it (an echo
 * reply, or "administratively prohibited"). Pure: no I/O, fuzzed
 * (fuzz/fuzz_icmp.c).
 *
 * IPv4 packets read are whole (IP header first: a raw IPPROTO_ICMP socket
 * reads them so); IPv6 raw sockets give the ICMPv6 message only, its
 * addresses apart. What is built is a message without IP header: the
 * kernel adds it (and fragments) on the raw socket it is sent on.
 */
#ifndef ISORUN_PEEK_ICMP_H
#define ISORUN_PEEK_ICMP_H

#include <stddef.h>
#include <stdint.h>

#define ICMP_PKT_MAX	65535	/* the largest packet read or built */

struct icmp_echo {
	int		 ie_family;	/* 4 or 6 */
	uint8_t		 ie_src[16];	/* 4 bytes used for IPv4 */
	uint8_t		 ie_dst[16];
	uint16_t	 ie_id, ie_seq;	/* host order */
	const uint8_t	*ie_data;	/* the echo's payload, in the input */
	size_t		 ie_len;
};

/*
 * An IPv4 packet: 1 if it is a well-formed ICMP echo request (`reply` 0:
 * type 8) or echo reply (`reply` 1: type 0) with code 0 (header length,
 * total length within `len`, not a fragment, protocol ICMP, checksum
 * right), filling `out`; 0 otherwise.
 */
int	icmp_parse_echo4(const uint8_t *pkt, size_t len, int reply,
	    struct icmp_echo *out);

/*
 * An ICMPv6 message from `src` to `dst` (16 bytes each): 1 if it is an echo
 * request (`reply` 0: type 128) or reply (`reply` 1: 129), code 0, of at
 * least 8 bytes, filling `out`; 0 otherwise. The kernel checked its
 * checksum.
 */
int	icmp_parse_echo6(const uint8_t *msg, size_t len, int reply,
	    const uint8_t *src, const uint8_t *dst, struct icmp_echo *out);

/*
 * An echo reply or request message (no IP header) with `id`, `seq` and
 * `len` bytes of `data` into `buf`: type 0/8 for IPv4 (checksum filled),
 * 129/128 for IPv6 (checksum 0: the kernel fills it on a raw ICMPv6
 * socket). Returns its length, or 0 if `cap` is too small.
 */
size_t	icmp_build_echo(int family, int reply, uint16_t id, uint16_t seq,
	    const uint8_t *data, size_t len, uint8_t *buf, size_t cap);

/*
 * "Destination unreachable: administratively prohibited" (no IP header)
 * quoting the original packet `orig` (IP header first) as RFC 792 and RFC
 * 4443 want: IPv4, its header and 8 bytes; IPv6, as much as fits in 1280
 * bytes with the headers. Checksum as icmp_build_echo(). Returns its
 * length, or 0 if `cap` is too small.
 */
size_t	icmp_build_prohibited(int family, const uint8_t *orig, size_t origlen,
	    uint8_t *buf, size_t cap);

/*
 * The start of a UDP datagram as it left the guest (IP header, UDP header,
 * payload; addresses 4 or 16 bytes by family, ports in host order), to
 * quote in an error for a datagram read from a socket; cut to `cap`. The
 * UDP checksum is left 0. Returns its length, or 0 if `cap` cannot hold the
 * headers.
 */
size_t	icmp_quote_udp(int family, const uint8_t *src, const uint8_t *dst,
	    uint16_t sport, uint16_t dport, const uint8_t *data, size_t len,
	    uint8_t *buf, size_t cap);

/*
 * For IPv6, which gives no header: the original packet of request `req`
 * (an IPv6 header, then the echo request, its checksum filled in) into
 * `buf`, to quote in an error; cut to `cap` if longer. Returns its length,
 * or 0 if `cap` cannot hold the headers.
 */
size_t	icmp_rebuild6(const struct icmp_echo *req, uint8_t *buf, size_t cap);

#endif
