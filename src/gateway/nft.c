/*
 * nft.c - the gateway's nftables ruleset, through libnftables.
 *
 * libnftables talks netlink to the namespace its socket was opened in, and
 * depending on the version it opens that socket in nft_ctx_new() or lazily.
 * So the whole life of a context (new, run, free) happens on a thread inside
 * the gateway namespace: no code path can reach the host's ruleset.
 */
#include "gw_int.h"
#include "gateway.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>

/*
 * One table, family inet. Sets sb4/sb6 hold "veth . source address" of each
 * sandbox, so adding a sandbox is adding two elements.
 *
 * prerouting runs at mangle (-150): after defragmentation (-400), as tproxy
 * needs whole packets (the tproxy expression turns nf_defrag on for the
 * namespace; no conntrack is involved). A sandbox packet that tproxy hands to a socket gets
 * GW_FWMARK, which the ip rule routes to the local table, and is accepted.
 * tproxy with no socket to hand to does nothing and evaluation goes on, so
 * every path ends in "refuse": an explicit reject.
 *
 * The dns chain ends in refuse too, never in the TCP/UDP proxies: with the
 * DNS listener gone, port 53 must not fall through to the generic proxy.
 *
 * input admits only tproxied packets (and NDP) from the veths: a mark cannot
 * come from a sandbox, as the veth clears skb->mark when a packet crosses
 * namespaces. Nothing is ever forwarded.
 */
static const char ruleset_fmt[] =
"table inet " GW_NFT_TABLE " {\n"
"	set sb4 {\n"
"		type ifname . ipv4_addr\n"
"	}\n"
"	set sb6 {\n"
"		type ifname . ipv6_addr\n"
"	}\n"
"	chain prerouting {\n"
"		type filter hook prerouting priority mangle; policy drop;\n"
"		iifname \"lo\" accept\n"
"		iifname . ip saddr @sb4 goto sandbox\n"
"		iifname . ip6 saddr @sb6 goto sandbox\n"
"		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } "
"ip6 hoplimit 255 accept\n"
"		counter drop comment \"spoofed or unknown source\"\n"
"	}\n"
"	chain sandbox {\n"
"		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } "
"ip6 hoplimit 255 accept\n"
"		meta l4proto tcp socket transparent 1 meta mark set %#x accept\n"
"		meta pkttype != host counter drop\n"
"		fib daddr type { broadcast, multicast, anycast } counter drop\n"
"		meta l4proto { tcp, udp } th dport 53 goto dns\n"
"		meta l4proto tcp tproxy to :%u meta mark set %#x accept\n"
"		meta l4proto udp tproxy to :%u meta mark set %#x accept\n"
"		goto refuse\n"
"	}\n"
"	chain dns {\n"
"		meta l4proto tcp tproxy to :%u meta mark set %#x accept\n"
"		meta l4proto udp tproxy to :%u meta mark set %#x accept\n"
"		goto refuse\n"
"	}\n"
"	chain refuse {\n"
"		meta l4proto tcp counter reject with tcp reset\n"
"		counter reject with icmpx admin-prohibited\n"
"		drop\n"
"	}\n"
"	chain input {\n"
"		type filter hook input priority filter; policy drop;\n"
"		iifname \"lo\" accept\n"
"		meta mark %#x accept\n"
"		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } "
"ip6 hoplimit 255 accept\n"
"	}\n"
"	chain forward {\n"
"		type filter hook forward priority filter; policy drop;\n"
"	}\n"
"}\n";

int
gateway_ruleset(const struct gateway_config *c, char *buf, size_t len)
{
	return snprintf(buf, len, ruleset_fmt, GW_FWMARK,
	    c->gc_tcp_port, GW_FWMARK, c->gc_udp_port, GW_FWMARK,
	    c->gc_dns_port, GW_FWMARK, c->gc_dns_port, GW_FWMARK,
	    GW_FWMARK);
}

struct nft_job {
	const char	*nj_cmds;
	struct ir_err	*nj_err;
};

/*
 * libnftables' error text is "Error: why\n<a line of input>\n<carets>\n",
 * but for a multi-line buffer 1.0.6 quotes the wrong input line: keep only
 * "why"; callers say which command it was.
 */
static void
nft_errline(const char *msg, char *out, size_t len)
{
	size_t	 n;

	if (msg == NULL || *msg == '\0') {
		snprintf(out, len, "failed");
		return;
	}
	if (strncmp(msg, "Error: ", 7) == 0)
		msg += 7;
	n = strcspn(msg, "\n");
	snprintf(out, len, "%.*s", (int)(n > 200 ? 200 : n), msg);
}

static int
nft_main(void *arg)
{
	struct nft_job	*j = arg;
	struct nft_ctx	*ctx;
	char		 why[256];
	int		 rc = -1;

	if ((ctx = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL)
		return err_set(j->nj_err, ENOMEM, "nft_ctx_new failed");
	if (nft_ctx_buffer_output(ctx) == -1 ||
	    nft_ctx_buffer_error(ctx) == -1) {
		err_set(j->nj_err, ENOMEM, "nft: cannot buffer output");
		goto out;
	}
	/* errno is not meaningful after libnftables: the text says why. */
	if (nft_run_cmd_from_buffer(ctx, j->nj_cmds) != 0) {
		nft_errline(nft_ctx_get_error_buffer(ctx), why, sizeof(why));
		err_set(j->nj_err, EINVAL, "nft: %s", why);
		goto out;
	}
	rc = 0;
out:
	nft_ctx_free(ctx);
	return rc;
}

int
nft_run(int nsfd, const char *nsname, const char *cmds, struct ir_err *err)
{
	struct nft_job	 j = { cmds, err };

	if (netns_run(nsfd, nft_main, &j, err) == -1) {
		err_prefix(err, "network namespace %s", nsname);
		return -1;
	}
	return 0;
}
