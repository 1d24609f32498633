/*
 * icmp.c - the ICMP relay: echo requests (ping) from sandboxes. SPEC 2
 * "Other traffic": ICMP is blocked unless the policy is unrestricted (no
 * rules; the guard list still applies). The gateway delivers every echo
 * request to itself (gateway.h), where a raw socket of ours reads it; its
 * kernel ignores it.
 *
 * A permitted echo goes out again from the runner's namespace, on a raw
 * socket, under an identifier of ours; the reply goes back to the sandbox
 * from the address it pinged, sent from the gateway by px_icmp_send(). A
 * blocked echo gets "administratively prohibited" from the sandbox's
 * gateway address, at once. A session (sandbox address, destination, the
 * guest's identifier) is decided once and is one audit event, like a UDP
 * flow; it ends after ICMP_IDLE_MS without an echo.
 *
 * Only loop 0 runs the relay. Other ICMP types are refused by the gateway.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../peek/icmp.h"
#include "proxy_int.h"

/* <linux/icmp.h> has these, but clashes with <net/if.h>. */
#ifndef ICMP_FILTER
#define ICMP_FILTER	1		/* SOL_RAW: a mask of types to drop */
#endif
struct icmp_filter_mask {
	uint32_t	 data;
};


#define ICMP_IDLE_MS	10000	/* a session without an echo ends */
#define ICMP_MAX	4096	/* sessions, all sandboxes */
#define ICMP_PER_SB	64	/* sessions per sandbox */
#define ICMP_HASH	1024
#define ICMP_BURST	64	/* packets per socket per wakeup */

/* IR_IN*: in the gateway, echo requests in, replies and errors out;
 * IR_UP*: in the runner's namespace, to and from the far end. */
enum { IR_IN4, IR_IN6, IR_UP4, IR_UP6, IR_N };

struct icmp_sess {
	struct icmp_sess	*is_hnext;
	TAILQ_ENTRY(icmp_sess)	 is_lru;	/* oldest echo first */
	unsigned		 is_slot, is_gen;
	int			 is_allowed;
	int			 is_family;
	uint8_t			 is_src[16], is_dst[16];
	uint16_t		 is_id;		/* the guest's */
	uint16_t		 is_upid;	/* ours, upstream */
	uint64_t		 is_start, is_last;
	uint64_t		 is_bytes[2];	/* echo payload: up, down */
};
TAILQ_HEAD(icmp_sessq, icmp_sess);

struct icmp_relay {
	int			 ir_fd[IR_N];
	struct pev		 ir_ev;
	struct icmp_sess	*ir_hash[ICMP_HASH];
	struct icmp_sess	*ir_byid[65536];	/* by is_upid */
	struct icmp_sessq	 ir_lru;
	unsigned		 ir_n;
	unsigned		*ir_nsb;	/* [nslots]: sessions per slot */
	uint16_t		 ir_nextid;
};

static __thread uint8_t icmp_in[ICMP_PKT_MAX], icmp_out[ICMP_PKT_MAX];

static unsigned
sess_hash(unsigned slot, const uint8_t *dst, uint16_t id)
{
	uint32_t h = 2166136261u ^ slot;

	for (int i = 0; i < 16; i++)
		h = (h ^ dst[i]) * 16777619u;
	h = (h ^ id) * 16777619u;
	return h % ICMP_HASH;
}

static struct icmp_sess *
sess_find(struct icmp_relay *ir, unsigned slot, const struct icmp_echo *e)
{
	struct icmp_sess *s;

	for (s = ir->ir_hash[sess_hash(slot, e->ie_dst, e->ie_id)]; s != NULL;
	    s = s->is_hnext)
		if (s->is_slot == slot && s->is_id == e->ie_id &&
		    s->is_family == e->ie_family &&
		    memcmp(s->is_src, e->ie_src, 16) == 0 &&
		    memcmp(s->is_dst, e->ie_dst, 16) == 0)
			return s;
	return NULL;
}

/* The v4-mapped or v6 form the proxy's audit helpers take. */
static void
sess_sa(int family, const uint8_t *a, struct sockaddr_in6 *out)
{
	memset(out, 0, sizeof(*out));
	out->sin6_family = AF_INET6;
	if (family == 4) {
		out->sin6_addr.s6_addr[10] = 0xff;
		out->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->sin6_addr.s6_addr[12], a, 4);
	} else
		memcpy(&out->sin6_addr, a, 16);
}

static void
sess_audit(struct loop *lp, const struct icmp_sess *s, enum audit_kind kind,
    const char *rule, const char *reason)
{
	struct audit_event	 ev;
	struct sockaddr_in6	 src, dst;
	char			 id[PX_ID_MAX];

	sess_sa(s->is_family, s->is_src, &src);
	sess_sa(s->is_family, s->is_dst, &dst);
	px_audit_init(lp->lp_px, s->is_slot, kind, AUDIT_ICMP, &src, &dst, id,
	    &ev);
	ev.ae_allowed = s->is_allowed;
	ev.ae_rule = rule;
	ev.ae_reason = reason;
	if (kind == AUDIT_CLOSE) {
		ev.ae_bytes_up = s->is_bytes[0];
		ev.ae_bytes_down = s->is_bytes[1];
		ev.ae_duration_ms = lp->lp_now - s->is_start;
	}
	audit_emit(&ev);
}

static void
sess_free(struct loop *lp, struct icmp_sess *s, const char *why)
{
	struct icmp_relay	*ir = lp->lp_icmp;
	struct icmp_sess	**pp;

	if (s->is_allowed)
		sess_audit(lp, s, AUDIT_CLOSE, NULL, why);
	for (pp = &ir->ir_hash[sess_hash(s->is_slot, s->is_dst, s->is_id)];
	    *pp != s; pp = &(*pp)->is_hnext)
		;
	*pp = s->is_hnext;
	TAILQ_REMOVE(&ir->ir_lru, s, is_lru);
	if (s->is_allowed)
		ir->ir_byid[s->is_upid] = NULL;
	ir->ir_n--;
	ir->ir_nsb[s->is_slot]--;
	free(s);
}

/* Decides an echo of a session not seen yet: 1 if permitted. */
static int
sess_decide(struct loop *lp, const struct policy *pol,
    const struct icmp_echo *e, const char **rule, char *reason, size_t rlen)
{
	struct pol_target	 t;
	struct pol_decision	 d;

	if (policy_mode(pol) != POL_MODE_ALLOW_ALL) {
		*rule = "default";
		snprintf(reason, rlen, "ICMP is permitted only when the policy "
		    "is unrestricted (this one is %s)",
		    pol_mode_name(policy_mode(pol)));
		return 0;
	}
	memset(&t, 0, sizeof(t));
	t.family = (uint8_t)e->ie_family;
	memcpy(t.addr, e->ie_dst, e->ie_family == 4 ? 4 : 16);
	policy_eval(pol, lp->lp_px->px_guard, &t, &d);
	*rule = pol_decision_rule(&d);
	policy_explain(pol, &t, &d, reason, rlen);
	return d.verdict == POL_PERMITTED;
}

static int
upid_alloc(struct icmp_relay *ir, uint16_t *out)
{
	for (unsigned i = 0; i < 65536; i++) {
		uint16_t id = ir->ir_nextid++;

		if (ir->ir_byid[id] == NULL) {
			*out = id;
			return 0;
		}
	}
	return -1;
}

static struct icmp_sess *
sess_new(struct loop *lp, unsigned slot, unsigned gen,
    const struct policy *pol, const struct icmp_echo *e)
{
	struct icmp_relay	*ir = lp->lp_icmp;
	struct icmp_sess	*s;
	const char		*rule;
	char			 reason[512];
	unsigned		 h;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->is_slot = slot;
	s->is_gen = gen;
	s->is_family = e->ie_family;
	memcpy(s->is_src, e->ie_src, 16);
	memcpy(s->is_dst, e->ie_dst, 16);
	s->is_id = e->ie_id;
	s->is_start = s->is_last = lp->lp_now;
	s->is_allowed = sess_decide(lp, pol, e, &rule, reason, sizeof(reason));
	if (s->is_allowed && (ir->ir_n >= ICMP_MAX ||
	    ir->ir_nsb[slot] >= ICMP_PER_SB || upid_alloc(ir, &s->is_upid))) {
		s->is_allowed = 0;
		rule = "error";
		snprintf(reason, sizeof(reason), "too many ICMP echo sessions "
		    "(%u per sandbox, %u in all)", ICMP_PER_SB, ICMP_MAX);
	}
	sess_audit(lp, s, AUDIT_CONNECT, rule, reason);
	/* A blocked session is remembered only while there is room: one
	 * audit event per ping, not per echo. */
	if (ir->ir_n >= ICMP_MAX || ir->ir_nsb[slot] >= ICMP_PER_SB) {
		free(s);
		return NULL;
	}
	h = sess_hash(slot, e->ie_dst, e->ie_id);
	s->is_hnext = ir->ir_hash[h];
	ir->ir_hash[h] = s;
	TAILQ_INSERT_TAIL(&ir->ir_lru, s, is_lru);
	if (s->is_allowed)
		ir->ir_byid[s->is_upid] = s;
	ir->ir_n++;
	ir->ir_nsb[slot]++;
	return s;
}

static void
prohibited(struct loop *lp, unsigned slot, const struct icmp_echo *e,
    const uint8_t *orig, size_t origlen)
{
	uint8_t	 quote[1280];

	if (e->ie_family == 6) {
		origlen = icmp_rebuild6(e, quote, sizeof(quote));
		orig = quote;
	}
	px_prohibit(lp->lp_px, slot, e->ie_family, e->ie_src, orig, origlen);
}

static void
up_send(struct icmp_relay *ir, const struct icmp_sess *s,
    const struct icmp_echo *e)
{
	struct sockaddr_in	 s4 = { .sin_family = AF_INET };
	struct sockaddr_in6	 s6 = { .sin6_family = AF_INET6 };
	size_t			 n;

	n = icmp_build_echo(s->is_family, 0, s->is_upid, e->ie_seq,
	    e->ie_data, e->ie_len, icmp_out, sizeof(icmp_out));
	if (n == 0)
		return;
	if (s->is_family == 4) {
		memcpy(&s4.sin_addr, s->is_dst, 4);
		(void)sendto(ir->ir_fd[IR_UP4], icmp_out, n, 0,
		    (struct sockaddr *)&s4, sizeof(s4));
	} else {
		memcpy(&s6.sin6_addr, s->is_dst, 16);
		(void)sendto(ir->ir_fd[IR_UP6], icmp_out, n, 0,
		    (struct sockaddr *)&s6, sizeof(s6));
	}
}

/* An echo request from a sandbox: `pkt` is the whole IPv4 packet, or
 * NULL for IPv6. */
static void
from_sandbox(struct loop *lp, const struct icmp_echo *e, const uint8_t *pkt,
    size_t pktlen)
{
	struct icmp_relay	*ir = lp->lp_icmp;
	struct proxy		*px = lp->lp_px;
	struct sockaddr_in6	 src;
	struct icmp_sess	*s;
	struct policy		*pol;
	unsigned		 gen;
	int			 slot;

	sess_sa(e->ie_family, e->ie_src, &src);
	slot = gateway_slot_of(px->px_gw, (struct sockaddr *)&src);
	if (slot < 0 || (pol = px_sandbox_get(px, (unsigned)slot, NULL,
	    &gen)) == NULL)
		return;
	if ((s = sess_find(ir, (unsigned)slot, e)) != NULL &&
	    s->is_gen != gen) {
		sess_free(lp, s, "policy changed");
		s = NULL;
	}
	if (s == NULL)
		s = sess_new(lp, (unsigned)slot, gen, pol, e);
	policy_free(pol);
	if (s != NULL) {
		s->is_last = lp->lp_now;
		TAILQ_REMOVE(&ir->ir_lru, s, is_lru);
		TAILQ_INSERT_TAIL(&ir->ir_lru, s, is_lru);
	}
	if (s != NULL && s->is_allowed) {
		s->is_bytes[0] += e->ie_len;
		up_send(ir, s, e);
	} else
		prohibited(lp, (unsigned)slot, e, pkt, pktlen);
}

static void
recv_in4(struct loop *lp)
{
	struct icmp_echo	 e;
	ssize_t			 n;

	for (int i = 0; i < ICMP_BURST; i++) {
		if ((n = recv(lp->lp_icmp->ir_fd[IR_IN4], icmp_in,
		    sizeof(icmp_in), 0)) < 0)
			return;
		if (icmp_parse_echo4(icmp_in, (size_t)n, 0, &e))
			from_sandbox(lp, &e, icmp_in, (size_t)n);
	}
}

static void
recv_in6(struct loop *lp)
{
	struct sockaddr_in6	 from;
	struct in6_pktinfo	*pi;
	struct icmp_echo	 e;
	struct cmsghdr		*cm;
	struct iovec		 iov = { icmp_in, sizeof(icmp_in) };
	union {
		char		 buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr	 align;
	}			 ctl;
	struct msghdr		 mh;
	const uint8_t		*dst;
	ssize_t			 n;

	for (int i = 0; i < ICMP_BURST; i++) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_name = &from;
		mh.msg_namelen = sizeof(from);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		if ((n = recvmsg(lp->lp_icmp->ir_fd[IR_IN6], &mh, 0)) < 0)
			return;
		dst = NULL;
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
		    cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == IPPROTO_IPV6 &&
			    cm->cmsg_type == IPV6_PKTINFO) {
				pi = (struct in6_pktinfo *)CMSG_DATA(cm);
				dst = (const uint8_t *)&pi->ipi6_addr;
			}
		if (dst != NULL && from.sin6_family == AF_INET6 &&
		    icmp_parse_echo6(icmp_in, (size_t)n, 0,
		    (const uint8_t *)&from.sin6_addr, dst, &e))
			from_sandbox(lp, &e, NULL, 0);
	}
}

/* An echo reply from the far end, for session `s`: back to the sandbox. */
static void
to_guest(struct loop *lp, struct icmp_sess *s, const struct icmp_echo *rep)
{
	struct policy		*pol;
	unsigned		 gen;
	size_t			 n;

	/* The sandbox may be gone or under another policy by now. */
	pol = px_sandbox_get(lp->lp_px, s->is_slot, NULL, &gen);
	policy_free(pol);
	if (pol == NULL || gen != s->is_gen)
		return;
	n = icmp_build_echo(s->is_family, 1, s->is_id, rep->ie_seq,
	    rep->ie_data, rep->ie_len, icmp_out, sizeof(icmp_out));
	if (n == 0)
		return;
	s->is_bytes[1] += rep->ie_len;
	px_icmp_send(lp->lp_px, s->is_family, s->is_dst, s->is_src, icmp_out,
	    n);
}

static void
recv_up(struct loop *lp, int which)
{
	struct icmp_relay	*ir = lp->lp_icmp;
	struct sockaddr_in6	 from;
	socklen_t		 flen;
	struct icmp_echo	 e;
	struct icmp_sess	*s;
	static const uint8_t	 any[16];
	ssize_t			 n;
	int			 ok;

	for (int i = 0; i < ICMP_BURST; i++) {
		flen = sizeof(from);
		if ((n = recvfrom(ir->ir_fd[which], icmp_in, sizeof(icmp_in), 0,
		    (struct sockaddr *)&from, &flen)) < 0)
			return;
		if (which == IR_UP4)
			ok = icmp_parse_echo4(icmp_in, (size_t)n, 1, &e);
		else
			ok = from.sin6_family == AF_INET6 &&
			    icmp_parse_echo6(icmp_in, (size_t)n, 1,
			    (const uint8_t *)&from.sin6_addr, any, &e);
		/* Ours, and from where that session's echoes went. */
		if (!ok || (s = ir->ir_byid[e.ie_id]) == NULL ||
		    s->is_family != e.ie_family ||
		    memcmp(s->is_dst, e.ie_src, 16) != 0)
			continue;
		to_guest(lp, s, &e);
	}
}

void
icmp_event(struct loop *lp)
{
	recv_in4(lp);
	recv_in6(lp);
	recv_up(lp, IR_UP4);
	recv_up(lp, IR_UP6);
}

void
icmp_expire(struct loop *lp)
{
	struct icmp_relay	*ir = lp->lp_icmp;
	struct icmp_sess	*s;

	if (ir == NULL)
		return;
	while ((s = TAILQ_FIRST(&ir->ir_lru)) != NULL &&
	    s->is_last + ICMP_IDLE_MS <= lp->lp_now)
		sess_free(lp, s, "idle");
}

int
icmp_busy(const struct loop *lp)
{
	return lp->lp_icmp != NULL && lp->lp_icmp->ir_n > 0;
}

void
icmp_sandbox_changed(struct loop *lp)
{
	struct icmp_relay	*ir = lp->lp_icmp;
	struct icmp_sess	*s, *next;
	struct policy		*pol;
	unsigned		 gen;

	if (ir == NULL)
		return;
	for (s = TAILQ_FIRST(&ir->ir_lru); s != NULL; s = next) {
		next = TAILQ_NEXT(s, is_lru);
		pol = px_sandbox_get(lp->lp_px, s->is_slot, NULL, &gen);
		policy_free(pol);
		if (gen != s->is_gen)
			sess_free(lp, s, pol == NULL ? "sandbox destroyed" :
			    "policy changed");
	}
}

void
icmp_close_all(struct loop *lp)
{
	struct icmp_sess *s;

	if (lp->lp_icmp == NULL)
		return;
	while ((s = TAILQ_FIRST(&lp->lp_icmp->ir_lru)) != NULL)
		sess_free(lp, s, "runner stopping");
}

void
icmp_free(struct loop *lp)
{
	struct icmp_relay *ir = lp->lp_icmp;

	if (ir == NULL)
		return;
	icmp_close_all(lp);
	for (int i = 0; i < IR_N; i++)
		if (ir->ir_fd[i] != -1)
			close(ir->ir_fd[i]);
	free(ir->ir_nsb);
	free(ir);
	lp->lp_icmp = NULL;
}

static int
filter4(int fd, int type)
{
	struct icmp_filter_mask	 f = { .data = ~(1U << type) };

	return setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f));
}

static int
filter6(int fd, int type)
{
	struct icmp6_filter	 f;

	ICMP6_FILTER_SETBLOCKALL(&f);
	ICMP6_FILTER_SETPASS(type, &f);
	return setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
}

int
icmp_open(struct loop *lp, struct ir_err *err)
{
	struct proxy		*px = lp->lp_px;
	struct icmp_relay	*ir;
	const int		 t = SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC;
	int			 on = 1;
	const char		*what;

	if ((ir = calloc(1, sizeof(*ir))) == NULL ||
	    (ir->ir_nsb = calloc(px->px_nslots, sizeof(*ir->ir_nsb))) ==
	    NULL) {
		free(ir);
		return err_set(err, ENOMEM, "proxy: ICMP relay: out of memory");
	}
	for (int i = 0; i < IR_N; i++)
		ir->ir_fd[i] = -1;
	TAILQ_INIT(&ir->ir_lru);
	ir->ir_ev.kind = PEV_ICMP;
	ir->ir_ev.ptr = ir;
	lp->lp_icmp = ir;
	what = "gateway sockets";
	if ((ir->ir_fd[IR_IN4] = gateway_socket(px->px_gw, AF_INET, t,
	    IPPROTO_ICMP, err)) == -1 ||
	    (ir->ir_fd[IR_IN6] = gateway_socket(px->px_gw, AF_INET6, t,
	    IPPROTO_ICMPV6, err)) == -1)
		goto fail;
	what = "raw sockets";
	if ((ir->ir_fd[IR_UP4] = socket(AF_INET, t, IPPROTO_ICMP)) == -1 ||
	    (ir->ir_fd[IR_UP6] = socket(AF_INET6, t, IPPROTO_ICMPV6)) == -1 ||
	    filter4(ir->ir_fd[IR_IN4], ICMP_ECHO) == -1 ||
	    filter6(ir->ir_fd[IR_IN6], ICMP6_ECHO_REQUEST) == -1 ||
	    setsockopt(ir->ir_fd[IR_IN6], IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
	    sizeof(on)) == -1 ||

	    filter4(ir->ir_fd[IR_UP4], ICMP_ECHOREPLY) == -1 ||
	    filter6(ir->ir_fd[IR_UP6], ICMP6_ECHO_REPLY) == -1) {
		err_set(err, errno, "%s", strerror(errno));
		goto fail;
	}
	for (int i = 0; i < IR_N; i++)
		if (px_epoll_add(lp, ir->ir_fd[i], EPOLLIN, &ir->ir_ev) == -1) {
			what = "epoll";
			err_set(err, errno, "%s", strerror(errno));
			goto fail;
		}
	return 0;
fail:
	err_prefix(err, "proxy: ICMP relay: %s", what);
	icmp_free(lp);
	return -1;
}
