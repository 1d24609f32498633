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

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
 * (no sandbox, or no limit configured) is not limited. The counters are
 * what the proxy turns into audit events, so no refused attempt goes
 * unrecorded.
 *
 * The established-socket rule takes the packets of connections the proxy
 * already accepted (one lookup instead of fib + tproxy), but never a
 * connection's opening SYN: a SYN whose tuple still has a TIME_WAIT socket
 * in the gateway (the proxy closed first, and the sandbox reuses its source
 * port within the 60 s) would be matched to that socket, which answers with
 * a bare ACK; the client resets it and sends its SYN again only after
 * TCP_TIMEOUT_MIN (~15 ms here). tproxy handles that case: a SYN to a
 * TIME_WAIT socket goes to the listener (nf_tproxy_handle_time_wait4).
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
"		tcp flags & (fin | syn | rst | ack) != syn "
"socket transparent 1 meta mark set %#x accept\n"
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
	struct ir_err	 nf_err;
	int		 nf_rc;
	int		 nf_state;
};

enum { NF_STARTING, NF_IDLE, NF_JOB, NF_DONE, NF_QUIT, NF_FAILED };

static void
nft_exec_job(struct nft_ctx *ctx, struct gw_nft *nf)
{
	char	 why[256];

	/* errno is not meaningful after libnftables: the text says why. */
	nf->nf_rc = 0;
	if (nft_run_cmd_from_buffer(ctx, nf->nf_cmds) != 0) {
		nft_errline(nft_ctx_get_error_buffer(ctx), why, sizeof(why));
		nf->nf_rc = err_set(&nf->nf_err, EINVAL, "nft: %s", why);
	}
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
nft_exec(struct gw_nft *nf, const char *cmds, struct ir_err *err)
{
	int	 rc;

	pthread_mutex_lock(&nf->nf_mu);
	/* Callers on several threads take turns. */
	while (nf->nf_state != NF_IDLE)
		pthread_cond_wait(&nf->nf_cv, &nf->nf_mu);
	nf->nf_cmds = cmds;
	nf->nf_state = NF_JOB;
	pthread_cond_broadcast(&nf->nf_cv);
	while (nf->nf_state != NF_DONE)
		pthread_cond_wait(&nf->nf_cv, &nf->nf_mu);
	nf->nf_cmds = NULL;
	rc = nf->nf_rc;
	if (rc == -1 && err != NULL)
		*err = nf->nf_err;
	nf->nf_state = NF_IDLE;
	pthread_cond_broadcast(&nf->nf_cv);
	pthread_mutex_unlock(&nf->nf_mu);
	if (rc == -1)
		err_prefix(err, "network namespace %s", nf->nf_nsname);
	return rc;
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

/*
 * Reading the counters: a netfilter netlink dump of the table's counter
 * objects on a socket of our own in the gateway, not a "list counters"
 * through libnftables, which first caches the whole ruleset (sets, maps
 * and their elements: 90 ms and more for 1,024 sandboxes) and would hold
 * the nft worker, and so sandbox creations, meanwhile.
 */
struct gw_counters {
	pthread_mutex_t		 gc_mu;
	struct mnl_socket	*gc_nl;
	unsigned		 gc_portid;
	unsigned		 gc_seq;
};

struct nfnl_open_job {
	struct gw_counters	*oj_gc;
	struct ir_err		*oj_err;
};

static int
nfnl_open_main(void *arg)
{
	struct nfnl_open_job	*j = arg;
	struct gw_counters	*gc = j->oj_gc;

	if ((gc->gc_nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC)) ==
	    NULL)
		return err_set(j->oj_err, errno, "netfilter netlink socket: %s",
		    strerror(errno));
	if (mnl_socket_bind(gc->gc_nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		err_set(j->oj_err, errno, "bind netfilter netlink socket: %s",
		    strerror(errno));
		mnl_socket_close(gc->gc_nl);
		gc->gc_nl = NULL;
		return -1;
	}
	return 0;
}

struct gw_counters *
nft_counters_open(int nsfd, const char *nsname, struct ir_err *err)
{
	struct gw_counters	*gc;
	struct nfnl_open_job	 j;

	if ((gc = calloc(1, sizeof(*gc))) == NULL) {
		err_set(err, errno, "counters: %s", strerror(errno));
		return NULL;
	}
	j.oj_gc = gc;
	j.oj_err = err;
	if (netns_run(nsfd, nfnl_open_main, &j, err) == -1) {
		err_prefix(err, "network namespace %s", nsname);
		free(gc);
		return NULL;
	}
	gc->gc_portid = mnl_socket_get_portid(gc->gc_nl);
	gc->gc_seq = (unsigned)time(NULL);
	pthread_mutex_init(&gc->gc_mu, NULL);
	return gc;
}

void
nft_counters_close(struct gw_counters *gc)
{
	if (gc == NULL)
		return;
	mnl_socket_close(gc->gc_nl);
	pthread_mutex_destroy(&gc->gc_mu);
	free(gc);
}

struct counters_walk {
	nft_counter_fn	*cw_fn;
	void		*cw_arg;
};

static int
counter_attr(const struct nlattr *a, void *data)
{
	const struct nlattr	**tb = data;
	int			 type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, NFTA_OBJ_MAX) < 0)
		return MNL_CB_OK;
	tb[type] = a;
	return MNL_CB_OK;
}

static int
counter_data_attr(const struct nlattr *a, void *data)
{
	const struct nlattr	**tb = data;
	int			 type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, NFTA_COUNTER_MAX) < 0)
		return MNL_CB_OK;
	tb[type] = a;
	return MNL_CB_OK;
}

static int
counter_msg(const struct nlmsghdr *nlh, void *data)
{
	struct counters_walk	*cw = data;
	const struct nlattr	*tb[NFTA_OBJ_MAX + 1] = { NULL };
	const struct nlattr	*cb[NFTA_COUNTER_MAX + 1] = { NULL };

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), counter_attr, tb) <
	    0 || tb[NFTA_OBJ_NAME] == NULL || tb[NFTA_OBJ_DATA] == NULL ||
	    mnl_attr_validate(tb[NFTA_OBJ_NAME], MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_OK;
	if (mnl_attr_parse_nested(tb[NFTA_OBJ_DATA], counter_data_attr, cb) < 0 ||
	    cb[NFTA_COUNTER_PACKETS] == NULL ||
	    mnl_attr_validate(cb[NFTA_COUNTER_PACKETS], MNL_TYPE_U64) < 0)
		return MNL_CB_OK;
	cw->cw_fn(cw->cw_arg, mnl_attr_get_str(tb[NFTA_OBJ_NAME]),
	    be64toh(mnl_attr_get_u64(cb[NFTA_COUNTER_PACKETS])));
	return MNL_CB_OK;
}

int
nft_counters_read(struct gw_counters *gc, const char *table,
    nft_counter_fn *fn, void *arg, struct ir_err *err)
{
	char			 buf[32768];
	struct nlmsghdr		*nlh;
	struct nfgenmsg		*nfg;
	struct counters_walk	 cw = { fn, arg };
	ssize_t			 n;
	int			 ret, e;

	pthread_mutex_lock(&gc->gc_mu);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETOBJ;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++gc->gc_seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = NFPROTO_INET;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	mnl_attr_put_strz(nlh, NFTA_OBJ_TABLE, table);
	mnl_attr_put_u32(nlh, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
	if (mnl_socket_sendto(gc->gc_nl, nlh, nlh->nlmsg_len) == -1)
		goto fail;
	do {
		if ((n = mnl_socket_recvfrom(gc->gc_nl, buf, sizeof(buf))) ==
		    -1)
			goto fail;
		ret = mnl_cb_run(buf, (size_t)n, gc->gc_seq, gc->gc_portid,
		    counter_msg, &cw);
	} while (ret > MNL_CB_STOP);
	if (ret == MNL_CB_ERROR)
		goto fail;
	pthread_mutex_unlock(&gc->gc_mu);
	return 0;
fail:
	e = errno;
	pthread_mutex_unlock(&gc->gc_mu);
	return err_set(err, e, "dump the counters of table inet %s: %s", table,
	    strerror(e));
}
