/*
 * udp.c - the UDP relay: a flow is (sandbox address and port, destination
 * address and port), decided once by the policy's address rules (SPEC 2,
 * "Other traffic": names play no part) and then relayed datagram by
 * datagram until it is idle.
 *
 * A permitted flow has two sockets: one in the runner's namespace connected
 * to the destination, and one in the gateway, transparent, bound to the
 * destination's address and connected to the sandbox's: replies leave from
 * it, so they come from the address the sandbox sent to, and TPROXY hands
 * the flow's later datagrams to it directly rather than to the listener.
 * A blocked flow is remembered too (with no sockets), so that a stream of
 * datagrams is one audit event and one decision, not one per datagram.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../peek/icmp.h"
#include "proxy_int.h"

#define UDP_BUF		65536
#define UDP_BURST	64	/* datagrams per socket per wakeup */

struct flow {
	LIST_ENTRY(flow)	 f_link;
	struct pev		 f_ev[2];
	int			 f_fd[2];	/* [0] gateway side, [1] up */
	int			 f_allowed;
	unsigned		 f_slot, f_gen;
	struct sockaddr_in6	 f_src, f_dst;
	uint64_t		 f_start, f_last;
	uint64_t		 f_bytes[2];
	uint64_t		 f_dropped;
	uint64_t		 f_refused;	/* ms: last "prohibited" sent */
};

static __thread uint8_t udp_tbuf[UDP_BUF];	/* one per event loop */

static struct flow *
flow_find(struct loop *lp, const struct sockaddr_in6 *src,
    const struct sockaddr_in6 *dst)
{
	struct flow *f;

	LIST_FOREACH(f, &lp->lp_flows, f_link)
		if (f->f_src.sin6_port == src->sin6_port &&
		    f->f_dst.sin6_port == dst->sin6_port &&
		    memcmp(&f->f_src.sin6_addr, &src->sin6_addr, 16) == 0 &&
		    memcmp(&f->f_dst.sin6_addr, &dst->sin6_addr, 16) == 0)
			return f;
	return NULL;
}

static void
flow_audit(struct loop *lp, struct flow *f, enum audit_kind kind,
    const char *rule, const char *reason)
{
	struct audit_event	 ev;
	char			 id[PX_ID_MAX];

	px_audit_init(lp->lp_px, f->f_slot, kind, AUDIT_UDP, &f->f_src,
	    &f->f_dst, id, &ev);
	ev.ae_allowed = f->f_allowed;
	ev.ae_rule = rule;
	ev.ae_reason = reason;
	if (kind == AUDIT_CLOSE) {
		ev.ae_bytes_up = f->f_bytes[0];
		ev.ae_bytes_down = f->f_bytes[1];
		ev.ae_duration_ms = lp->lp_now - f->f_start;
	}
	audit_emit(&ev);
}

static void
flow_free(struct loop *lp, struct flow *f, const char *why)
{
	if (f->f_allowed)
		flow_audit(lp, f, AUDIT_CLOSE, NULL, why);
	for (int i = 0; i < 2; i++)
		if (f->f_fd[i] != -1)
			close(f->f_fd[i]);
	LIST_REMOVE(f, f_link);
	__atomic_sub_fetch(&lp->lp_px->px_sb[f->f_slot].ps_flows, 1,
	    __ATOMIC_RELAXED);
	free(f);
}

/* The gateway-side socket: transparent, bound to dst, connected to src. */
static int
flow_back_socket(struct loop *lp, struct flow *f)
{
	struct sockaddr_storage	 dst, src;
	socklen_t		 len;
	struct ir_err		 err;
	int			 fd, on = 1, v4;

	px_sa_unmap(&f->f_dst, &dst);
	px_sa_unmap(&f->f_src, &src);
	v4 = dst.ss_family == AF_INET;
	len = v4 ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	fd = gateway_socket(lp->lp_px->px_gw, dst.ss_family, SOCK_DGRAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0, &err);
	if (fd == -1)
		return -1;
	if (setsockopt(fd, v4 ? SOL_IP : SOL_IPV6, v4 ? IP_TRANSPARENT :
	    IPV6_TRANSPARENT, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, (struct sockaddr *)&dst, len) == -1 ||
	    connect(fd, (struct sockaddr *)&src, len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
flow_up_socket(struct flow *f)
{
	struct sockaddr_storage	 dst;
	socklen_t		 len;
	int			 fd;

	px_sa_unmap(&f->f_dst, &dst);
	len = dst.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&dst, len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Decides with the address rules only. Returns 1 if permitted. */
static int
flow_eval(struct loop *lp, struct flow *f, const struct policy *pol,
    const char **rule, char *reason, size_t rlen)
{
	struct pol_target	 t;
	struct pol_decision	 d;

	px_addr_target(&f->f_dst, &t);
	policy_eval(pol, lp->lp_px->px_guard, &t, &d);
	*rule = pol_decision_rule(&d);
	policy_explain(pol, &t, &d, reason, rlen);
	return d.verdict == POL_PERMITTED;
}

static struct flow *
flow_new(struct loop *lp, const struct sockaddr_in6 *src,
    const struct sockaddr_in6 *dst)
{
	struct proxy	*px = lp->lp_px;
	struct policy	*pol;
	struct flow	*f;
	const char	*rule;
	char		 reason[512];
	unsigned	 gen, n;
	int		 slot;

	slot = gateway_slot_of(px->px_gw, (const struct sockaddr *)src);
	if (slot < 0 || (pol = px_sandbox_get(px, (unsigned)slot, NULL,
	    &gen)) == NULL)
		return NULL;
	n = __atomic_add_fetch(&px->px_sb[slot].ps_flows, 1, __ATOMIC_RELAXED);
	if (n > px->px_cfg.pc_max_flows || (f = calloc(1, sizeof(*f))) ==
	    NULL) {
		__atomic_sub_fetch(&px->px_sb[slot].ps_flows, 1,
		    __ATOMIC_RELAXED);
		policy_free(pol);
		return NULL;
	}
	f->f_fd[0] = f->f_fd[1] = -1;
	f->f_slot = (unsigned)slot;
	f->f_gen = gen;
	f->f_src = *src;
	f->f_dst = *dst;
	f->f_start = f->f_last = lp->lp_now;
	LIST_INSERT_HEAD(&lp->lp_flows, f, f_link);
	f->f_allowed = flow_eval(lp, f, pol, &rule, reason, sizeof(reason));
	policy_free(pol);
	if (f->f_allowed) {
		if ((f->f_fd[1] = flow_up_socket(f)) == -1 ||
		    (f->f_fd[0] = flow_back_socket(lp, f)) == -1) {
			f->f_allowed = 0;
			snprintf(reason, sizeof(reason), "relay socket: %s",
			    strerror(errno));
			rule = "error";
		}
		for (int i = 0; i < 2 && f->f_allowed; i++) {
			f->f_ev[i].kind = PEV_FLOW;
			f->f_ev[i].ptr = f;
			if (px_epoll_add(lp, f->f_fd[i], EPOLLIN,
			    &f->f_ev[i]) == -1)
				f->f_allowed = 0;
		}
		if (!f->f_allowed)
			for (int i = 0; i < 2; i++)
				if (f->f_fd[i] != -1) {
					close(f->f_fd[i]);
					f->f_fd[i] = -1;
				}
	}
	flow_audit(lp, f, AUDIT_CONNECT, rule, reason);
	__atomic_add_fetch(f->f_allowed ? &px->px_stats.ps_udp_flows :
	    &px->px_stats.ps_udp_blocked, 1, __ATOMIC_RELAXED);
	return f;
}

/*
 * Tells the sandbox at once that a blocked datagram went nowhere, as the
 * gateway does for other protocols: a connected socket then fails with
 * EHOSTUNREACH (EACCES for IPv6) instead of waiting for an answer (SPEC 2:
 * no blocked attempt hangs). At most one every 100 ms per flow.
 */
static void
flow_refuse(struct loop *lp, struct flow *f, const uint8_t *buf, size_t len)
{
	uint8_t			 quote[1232];
	struct sockaddr_storage	 s, d;
	const uint8_t		*sa, *da;
	size_t			 n;
	int			 fam;

	if (f->f_refused != 0 && lp->lp_now < f->f_refused + 100)
		return;
	f->f_refused = lp->lp_now;
	px_sa_unmap(&f->f_src, &s);
	px_sa_unmap(&f->f_dst, &d);
	fam = s.ss_family == AF_INET ? 4 : 6;
	sa = fam == 4 ? (const uint8_t *)&((struct sockaddr_in *)&s)->sin_addr :
	    (const uint8_t *)&((struct sockaddr_in6 *)&s)->sin6_addr;
	da = fam == 4 ? (const uint8_t *)&((struct sockaddr_in *)&d)->sin_addr :
	    (const uint8_t *)&((struct sockaddr_in6 *)&d)->sin6_addr;
	n = icmp_quote_udp(fam, sa, da, ntohs(f->f_src.sin6_port),
	    ntohs(f->f_dst.sin6_port), buf, len, quote, sizeof(quote));
	if (n > 0)
		px_prohibit(lp->lp_px, f->f_slot, fam, sa, quote, n);
}

static void
flow_up(struct loop *lp, struct flow *f, const uint8_t *buf, size_t len)
{
	if (!f->f_allowed) {
		f->f_dropped++;
		flow_refuse(lp, f, buf, len);
		return;
	}
	if (send(f->f_fd[1], buf, len, 0) == (ssize_t)len)
		f->f_bytes[0] += len;
	else
		f->f_dropped++;
}

void
udp_recv(struct loop *lp)
{
	struct sockaddr_storage	 ss, odst;
	struct sockaddr_in6	 src, dst;
	struct flow		*f;
	ssize_t			 n;

	for (int i = 0; i < UDP_BURST; i++) {
		if ((n = gateway_recv(lp->lp_udpfd, udp_tbuf, sizeof(udp_tbuf), 0,
		    &ss, &odst, NULL)) == -1)
			return;
		if (ss.ss_family != AF_INET6 || odst.ss_family == AF_UNSPEC)
			continue;
		memcpy(&src, &ss, sizeof(src));
		if (px_sa_map(&odst, &dst) == -1)
			continue;
		if ((f = flow_find(lp, &src, &dst)) == NULL &&
		    (f = flow_new(lp, &src, &dst)) == NULL)
			continue;
		f->f_last = lp->lp_now;
		flow_up(lp, f, udp_tbuf, (size_t)n);
	}
}

void
udp_flow_event(struct loop *lp, struct flow *f)
{
	ssize_t	 n;

	/* From the sandbox, once TPROXY found the flow's own socket. */
	for (int i = 0; i < UDP_BURST; i++) {
		if ((n = recv(f->f_fd[0], udp_tbuf, sizeof(udp_tbuf), 0)) < 0)
			break;
		f->f_last = lp->lp_now;
		flow_up(lp, f, udp_tbuf, (size_t)n);
	}
	/* From upstream, back to the sandbox. */
	for (int i = 0; i < UDP_BURST; i++) {
		if ((n = recv(f->f_fd[1], udp_tbuf, sizeof(udp_tbuf), 0)) < 0)
			break;
		f->f_last = lp->lp_now;
		if (send(f->f_fd[0], udp_tbuf, (size_t)n, 0) == n)
			f->f_bytes[1] += (uint64_t)n;
	}
}

void
udp_expire(struct loop *lp)
{
	struct flow	*f, *next;
	unsigned	 ms = lp->lp_px->px_cfg.pc_udp_idle_ms;

	for (f = LIST_FIRST(&lp->lp_flows); f != NULL; f = next) {
		next = LIST_NEXT(f, f_link);
		if (f->f_last + ms <= lp->lp_now)
			flow_free(lp, f, "idle");
	}
}

void
udp_sandbox_changed(struct loop *lp)
{
	struct flow	*f, *next;
	struct policy	*pol;
	unsigned	 gen;

	for (f = LIST_FIRST(&lp->lp_flows); f != NULL; f = next) {
		next = LIST_NEXT(f, f_link);
		pol = px_sandbox_get(lp->lp_px, f->f_slot, NULL, &gen);
		if (gen == f->f_gen) {
			policy_free(pol);
			continue;
		}
		/* Decided again from scratch at its next datagram. */
		flow_free(lp, f, pol == NULL ? "sandbox destroyed" :
		    "policy changed");
		policy_free(pol);
	}
}

void
udp_close_all(struct loop *lp)
{
	struct flow *f;

	while ((f = LIST_FIRST(&lp->lp_flows)) != NULL)
		flow_free(lp, f, "runner stopping");
}
