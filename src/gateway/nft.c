/*
 * nft.c - the gateway's nftables ruleset, through libnftables.
 *
 * libnftables talks netlink to the namespace its socket was opened in, and
 * depending on the version it opens that socket in nft_ctx_new() or lazily.
 * So the whole life of a context (new, run, free) happens on one worker
 * thread that entered the gateway namespace and never leaves it: no code
 * path can reach the host's ruleset.
 */
#include "gw_int.h"
#include "gateway.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
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
 * ICMP echo requests get the mark too, with no tproxy: the mark's routing
 * delivers them to the gateway itself, where a raw socket of the runner
 * reads them (the ICMP relay, src/proxy/icmp.c) and the kernel ignores them
 * (icmp_echo_ignore_all). Other ICMP is refused.
 *
 * The dns chain ends in refuse too, never in the TCP/UDP proxies: with the
 * DNS listener gone, port 53 must not fall through to the generic proxy.
 *
 * Rate limits: a SYN of a new connection above the sandbox's rate is reset
 * here, before any socket sees it, and so is a datagram that would reach
 * the UDP relay's listener (a new flow, or a blocked flow's, which has no
 * socket of its own; a permitted flow's datagrams go to its connected
 * socket and are not limited). One named limit and one named counter per
 * sandbox, found through maps keyed by the veth: a slot with no elements
 * (no sandbox, or no limit configured) is not limited. The SYN rule comes
 * before the established-socket one, which a SYN to a listener's own port
 * would match. The counters are what the proxy turns into audit events, so
 * no refused attempt goes unrecorded.
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
"	map tcp_limit {\n"
"		type ifname : limit\n"
"	}\n"
"	map tcp_refused {\n"
"		type ifname : counter\n"
"	}\n"
"	map udp_limit {\n"
"		type ifname : limit\n"
"	}\n"
"	map udp_refused {\n"
"		type ifname : counter\n"
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
"		tcp flags & (fin | syn | rst | ack) == syn "
"limit name iifname map @tcp_limit counter name iifname map @tcp_refused "
"reject with tcp reset\n"
"		meta l4proto tcp socket transparent 1 meta mark set %#x accept\n"
"		meta pkttype != host counter drop\n"
"		fib daddr type { broadcast, multicast, anycast } counter drop\n"
"		icmp type echo-request meta mark set %#x accept\n"
"		icmpv6 type echo-request meta mark set %#x accept\n"
"		meta l4proto { tcp, udp } th dport 53 goto dns\n"
"		meta l4proto tcp tproxy to :%u meta mark set %#x accept\n"
"		meta l4proto udp socket transparent 1 socket wildcard 0 "
"meta mark set %#x accept\n"
"		meta l4proto udp limit name iifname map @udp_limit "
"counter name iifname map @udp_refused "
"reject with icmpx admin-prohibited\n"
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
	return snprintf(buf, len, ruleset_fmt, GW_FWMARK, GW_FWMARK,
	    GW_FWMARK, c->gc_tcp_port, GW_FWMARK, GW_FWMARK, c->gc_udp_port,
	    GW_FWMARK, c->gc_dns_port, GW_FWMARK, c->gc_dns_port, GW_FWMARK,
	    GW_FWMARK);
}

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

/*
 * A worker thread that entered the gateway namespace and holds one
 * context for the gateway's life: closing a netfilter netlink socket after
 * a set change waits for the kernel's deferred cleanup (5-20 ms here), and
 * a destroy should not.
 */
struct gw_nft {
	pthread_t	 nf_thread;
	pthread_mutex_t	 nf_mu;
	pthread_cond_t	 nf_cv;
	int		 nf_nsfd;
	const char	*nf_nsname;
	const char	*nf_cmds;	/* the job; NULL when none */
	int		 nf_want_out;	/* the job's output is wanted */
	char		*nf_out;	/* its output, malloc'd */
	struct ir_err	 nf_err;
	int		 nf_rc;
	int		 nf_state;
};

enum { NF_STARTING, NF_IDLE, NF_JOB, NF_DONE, NF_QUIT, NF_FAILED };

static void
nft_exec_job(struct nft_ctx *ctx, struct gw_nft *nf)
{
	char	 why[256];

	const char	*out;

	/* errno is not meaningful after libnftables: the text says why. */
	nf->nf_rc = 0;
	if (nft_run_cmd_from_buffer(ctx, nf->nf_cmds) != 0) {
		nft_errline(nft_ctx_get_error_buffer(ctx), why, sizeof(why));
		nf->nf_rc = err_set(&nf->nf_err, EINVAL, "nft: %s", why);
	}
	/* Reading the buffer also empties it for the next job. */
	out = nft_ctx_get_output_buffer(ctx);
	if (nf->nf_rc == 0 && nf->nf_want_out &&
	    (nf->nf_out = strdup(out != NULL ? out : "")) == NULL)
		nf->nf_rc = err_set(&nf->nf_err, ENOMEM, "nft: out of memory");
}

static void
nft_state(struct gw_nft *nf, int state)
{
	pthread_mutex_lock(&nf->nf_mu);
	nf->nf_state = state;
	pthread_cond_broadcast(&nf->nf_cv);
	pthread_mutex_unlock(&nf->nf_mu);
}

static void *
nft_main(void *arg)
{
	struct gw_nft	*nf = arg;
	struct nft_ctx	*ctx = NULL;

	pthread_setname_np(pthread_self(), "isorun-nft");
	/* Never run a command in the caller's namespace. */
	if (setns(nf->nf_nsfd, CLONE_NEWNET) == -1) {
		err_set(&nf->nf_err, errno, "setns into network namespace: %s",
		    strerror(errno));
		goto fail;
	}
	if ((ctx = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL) {
		err_set(&nf->nf_err, ENOMEM, "nft_ctx_new failed");
		goto fail;
	}
	if (nft_ctx_buffer_output(ctx) == -1 ||
	    nft_ctx_buffer_error(ctx) == -1) {
		err_set(&nf->nf_err, ENOMEM, "nft: cannot buffer output");
		goto fail;
	}
	pthread_mutex_lock(&nf->nf_mu);
	nf->nf_state = NF_IDLE;
	pthread_cond_broadcast(&nf->nf_cv);
	for (;;) {
		while (nf->nf_state != NF_JOB && nf->nf_state != NF_QUIT)
			pthread_cond_wait(&nf->nf_cv, &nf->nf_mu);
		if (nf->nf_state == NF_QUIT)
			break;
		pthread_mutex_unlock(&nf->nf_mu);
		nft_exec_job(ctx, nf);
		pthread_mutex_lock(&nf->nf_mu);
		nf->nf_state = NF_DONE;
		pthread_cond_broadcast(&nf->nf_cv);
	}
	pthread_mutex_unlock(&nf->nf_mu);
	nft_ctx_free(ctx);
	return NULL;
fail:
	if (ctx != NULL)
		nft_ctx_free(ctx);
	nft_state(nf, NF_FAILED);
	return NULL;
}

struct gw_nft *
nft_open(int nsfd, const char *nsname, struct ir_err *err)
{
	struct gw_nft	*nf;
	int		 rc, state;

	if ((nf = calloc(1, sizeof(*nf))) == NULL) {
		err_set(err, errno, "nft worker: %s", strerror(errno));
		return NULL;
	}
	nf->nf_nsfd = nsfd;
	nf->nf_nsname = nsname;
	nf->nf_state = NF_STARTING;
	pthread_mutex_init(&nf->nf_mu, NULL);
	pthread_cond_init(&nf->nf_cv, NULL);
	if ((rc = pthread_create(&nf->nf_thread, NULL, nft_main, nf)) != 0) {
		err_set(err, rc, "network namespace %s: nft worker: "
		    "pthread_create: %s", nsname, strerror(rc));
		goto fail;
	}
	pthread_mutex_lock(&nf->nf_mu);
	while (nf->nf_state == NF_STARTING)
		pthread_cond_wait(&nf->nf_cv, &nf->nf_mu);
	state = nf->nf_state;
	pthread_mutex_unlock(&nf->nf_mu);
	if (state == NF_FAILED) {
		pthread_join(nf->nf_thread, NULL);
		if (err != NULL)
			*err = nf->nf_err;
		err_prefix(err, "network namespace %s", nsname);
		goto fail;
	}
	return nf;
fail:
	pthread_cond_destroy(&nf->nf_cv);
	pthread_mutex_destroy(&nf->nf_mu);
	free(nf);
	return NULL;
}

int
nft_query(struct gw_nft *nf, const char *cmds, char **out,
    struct ir_err *err)
{
	int	 rc;

	pthread_mutex_lock(&nf->nf_mu);
	/* Callers on several threads (a poll of the counters, a sandbox
	 * added) take turns. */
	while (nf->nf_state != NF_IDLE)
		pthread_cond_wait(&nf->nf_cv, &nf->nf_mu);
	nf->nf_cmds = cmds;
	nf->nf_want_out = out != NULL;
	nf->nf_out = NULL;
	nf->nf_state = NF_JOB;
	pthread_cond_broadcast(&nf->nf_cv);
	while (nf->nf_state != NF_DONE)
		pthread_cond_wait(&nf->nf_cv, &nf->nf_mu);
	nf->nf_cmds = NULL;
	rc = nf->nf_rc;
	if (rc == -1 && err != NULL)
		*err = nf->nf_err;
	if (out != NULL)
		*out = nf->nf_out;
	nf->nf_out = NULL;
	nf->nf_state = NF_IDLE;
	pthread_cond_broadcast(&nf->nf_cv);
	pthread_mutex_unlock(&nf->nf_mu);
	if (rc == -1)
		err_prefix(err, "network namespace %s", nf->nf_nsname);
	return rc;
}

int
nft_exec(struct gw_nft *nf, const char *cmds, struct ir_err *err)
{
	return nft_query(nf, cmds, NULL, err);
}

void
nft_close(struct gw_nft *nf)
{
	if (nf == NULL)
		return;
	nft_state(nf, NF_QUIT);
	pthread_join(nf->nf_thread, NULL);
	pthread_cond_destroy(&nf->nf_cv);
	pthread_mutex_destroy(&nf->nf_mu);
	free(nf);
}
