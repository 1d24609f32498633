/*
 * proxy.c - the proxy's event loops, its sandbox table and its timers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/icmp6.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../peek/icmp.h"
#include "proxy_int.h"
#include "ratelimit.h"

void
proxy_config_default(struct proxy_config *c)
{
	memset(c, 0, sizeof(*c));
	c->pc_first_byte_ms = 1000;
	c->pc_peek_ms = 10000;
	c->pc_connect_ms = 10000;
	c->pc_idle_ms = 3600000;
	c->pc_max_conns = 4096;
	c->pc_udp_idle_ms = 60000;
	c->pc_max_flows = 512;
}

uint64_t
px_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
px_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
px_timer_clear(struct loop *lp, struct conn *c)
{
	(void)lp;
	if (c->c_tl != NULL) {
		TAILQ_REMOVE(&c->c_tl->tl_q, c, c_tq);
		c->c_tl = NULL;
	}
}

void
px_timer_set(struct loop *lp, struct conn *c, int which)
{
	struct tlist	*tl = &lp->lp_timers[which];

	px_timer_clear(lp, c);
	c->c_tl = tl;
	c->c_deadline = lp->lp_now + tl->tl_ms;
	TAILQ_INSERT_TAIL(&tl->tl_q, c, c_tq);
}

int
px_epoll_add(struct loop *lp, int fd, uint32_t events, struct pev *ev)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	e.events = events;
	e.data.ptr = ev;
	return epoll_ctl(lp->lp_epfd, EPOLL_CTL_ADD, fd, &e);
}

struct policy *
px_sandbox_get(struct proxy *px, unsigned slot, char *id, unsigned *gen)
{
	struct px_sandbox	*sb;
	struct policy		*pol;

	if (slot >= px->px_nslots)
		return NULL;
	sb = &px->px_sb[slot];
	pthread_mutex_lock(&sb->ps_lock);
	pol = policy_hold(sb->ps_pol);
	if (id != NULL)
		memcpy(id, sb->ps_id, PX_ID_MAX);
	if (gen != NULL)
		*gen = sb->ps_gen;
	pthread_mutex_unlock(&sb->ps_lock);
	return pol;
}

struct endpoints *
px_sandbox_eps(struct proxy *px, unsigned slot)
{
	struct px_sandbox	*sb;
	struct endpoints	*eps;

	if (slot >= px->px_nslots)
		return NULL;
	sb = &px->px_sb[slot];
	pthread_mutex_lock(&sb->ps_lock);
	eps = endpoints_hold(sb->ps_eps);
	pthread_mutex_unlock(&sb->ps_lock);
	return eps;
}

void
px_audit_init(struct proxy *px, unsigned slot, enum audit_kind kind,
    enum audit_proto proto, const struct sockaddr_in6 *src,
    const struct sockaddr_in6 *dst, char id[PX_ID_MAX],
    struct audit_event *ev)
{
	struct px_sandbox	*sb = &px->px_sb[slot];

	pthread_mutex_lock(&sb->ps_lock);
	memcpy(id, sb->ps_id, PX_ID_MAX);
	pthread_mutex_unlock(&sb->ps_lock);
	memset(ev, 0, sizeof(*ev));
	ev->ae_sandbox = id;
	ev->ae_kind = kind;
	ev->ae_proto = proto;
	px_sa_unmap(src, &ev->ae_src);
	px_sa_unmap(dst, &ev->ae_dst);
}

void
px_addr_target(const struct sockaddr_in6 *a, struct pol_target *t)
{
	memset(t, 0, sizeof(*t));
	if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
		t->family = 4;
		memcpy(t->addr, &a->sin6_addr.s6_addr[12], 4);
	} else {
		t->family = 6;
		memcpy(t->addr, &a->sin6_addr, 16);
	}
	t->port = ntohs(a->sin6_port);
}

void
px_sa_unmap(const struct sockaddr_in6 *a, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)out;

		s4->sin_family = AF_INET;
		s4->sin_port = a->sin6_port;
		memcpy(&s4->sin_addr, &a->sin6_addr.s6_addr[12], 4);
	} else
		memcpy(out, a, sizeof(*a));
}

int
px_sa_map(const struct sockaddr_storage *in, struct sockaddr_in6 *out)
{
	memset(out, 0, sizeof(*out));
	out->sin6_family = AF_INET6;
	if (in->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)in;

		out->sin6_port = s4->sin_port;
		out->sin6_addr.s6_addr[10] = 0xff;
		out->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->sin6_addr.s6_addr[12], &s4->sin_addr, 4);
		return 0;
	}
	if (in->ss_family == AF_INET6) {
		memcpy(out, in, sizeof(*out));
		return 0;
	}
	return -1;
}

/* sendmsg() of `msg` to `to` with one control message `cmsg` of `clen`. */
static void
icmp_sendmsg(int fd, const void *to, socklen_t tolen, int level, int type,
    const void *cmsg, size_t clen, const uint8_t *msg, size_t len)
{
	struct iovec	 iov = { (void *)(uintptr_t)msg, len };
	union {
		char		 b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr	 align;
	}		 ctl;
	struct msghdr	 mh;
	struct cmsghdr	*cm;

	memset(&ctl, 0, sizeof(ctl));
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = (void *)(uintptr_t)to;
	mh.msg_namelen = tolen;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = &ctl;
	mh.msg_controllen = CMSG_SPACE(clen);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(clen);
	memcpy(CMSG_DATA(cm), cmsg, clen);
	(void)sendmsg(fd, &mh, 0);
}

void
px_icmp_send(struct proxy *px, int family, const uint8_t *from,
    const uint8_t *to, const uint8_t *msg, size_t len)
{
	/* The source rides in the packet info: the sockets are
	 * transparent, so any address will do. */
	if (family == 4) {
		struct sockaddr_in	 s4 = { .sin_family = AF_INET };
		struct in_pktinfo	 pi = { 0 };

		memcpy(&s4.sin_addr, to, 4);
		memcpy(&pi.ipi_spec_dst, from, 4);
		icmp_sendmsg(px->px_icmp[0], &s4, sizeof(s4), IPPROTO_IP,
		    IP_PKTINFO, &pi, sizeof(pi), msg, len);
	} else {
		struct sockaddr_in6	 s6 = { .sin6_family = AF_INET6 };
		struct in6_pktinfo	 pi = { 0 };

		memcpy(&s6.sin6_addr, to, 16);
		memcpy(&pi.ipi6_addr, from, 16);
		icmp_sendmsg(px->px_icmp[1], &s6, sizeof(s6), IPPROTO_IPV6,
		    IPV6_PKTINFO, &pi, sizeof(pi), msg, len);
	}
}

void
px_prohibit(struct proxy *px, unsigned slot, int family, const uint8_t *to,
    const uint8_t *orig, size_t origlen)
{
	struct gw_sandbox_info	 si;
	uint8_t			 msg[1280];
	size_t			 n;

	if (gateway_slot_info(px->px_gw, slot, &si) == -1 ||
	    (n = icmp_build_prohibited(family, orig, origlen, msg,
	    sizeof(msg))) == 0)
		return;
	px_icmp_send(px, family, family == 4 ? (const uint8_t *)&si.si_gw4 :
	    (const uint8_t *)&si.si_gw6, to, msg, n);
}

/* The sending sockets: transparent, and reading nothing. */
static int
icmp_send_sockets(struct proxy *px, struct ir_err *err)
{
	const int	 t = SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC;
	uint32_t	 none = ~0U;
	struct icmp6_filter f6;
	int		 on = 1;

	ICMP6_FILTER_SETBLOCKALL(&f6);
	if ((px->px_icmp[0] = gateway_socket(px->px_gw, AF_INET, t,
	    IPPROTO_ICMP, err)) == -1 ||
	    (px->px_icmp[1] = gateway_socket(px->px_gw, AF_INET6, t,
	    IPPROTO_ICMPV6, err)) == -1) {
		err_prefix(err, "proxy: ICMP sockets");
		return -1;
	}
	/* SOL_RAW ICMP_FILTER (1): a mask of the types to drop. */
	if (setsockopt(px->px_icmp[0], SOL_RAW, 1, &none, sizeof(none)) == -1 ||
	    setsockopt(px->px_icmp[1], IPPROTO_ICMPV6, ICMP6_FILTER, &f6,
	    sizeof(f6)) == -1 ||
	    setsockopt(px->px_icmp[0], SOL_IP, IP_TRANSPARENT, &on,
	    sizeof(on)) == -1 ||
	    setsockopt(px->px_icmp[1], SOL_IPV6, IPV6_TRANSPARENT, &on,
	    sizeof(on)) == -1)
		return err_set(err, errno, "proxy: ICMP sockets: %s",
		    strerror(errno));
	return 0;
}

static void
loop_expire(struct loop *lp)
{
	for (int i = 0; i < TL_N; i++) {
		struct tlist	*tl = &lp->lp_timers[i];
		struct conn	*c;

		while ((c = TAILQ_FIRST(&tl->tl_q)) != NULL &&
		    c->c_deadline <= lp->lp_now)
			tcp_timeout(lp, c);
	}
	udp_expire(lp);
	icmp_expire(lp);
}

static int
loop_wait_ms(struct loop *lp)
{
	uint64_t	 next = UINT64_MAX;
	int		 rl;

	for (int i = 0; i < TL_N; i++) {
		struct conn *c = TAILQ_FIRST(&lp->lp_timers[i].tl_q);

		if (c != NULL && c->c_deadline < next)
			next = c->c_deadline;
	}
	if ((!LIST_EMPTY(&lp->lp_flows) || icmp_busy(lp)) &&
	    lp->lp_now + 1000 < next)
		next = lp->lp_now + 1000;
	if (lp->lp_accept_at != 0 && lp->lp_accept_at < next)
		next = lp->lp_accept_at;
	if (lp == &lp->lp_px->px_loops[0] &&
	    (rl = px_rl_wait_ms(lp->lp_px->px_rl, lp->lp_now)) >= 0 &&
	    lp->lp_now + (uint64_t)rl < next)
		next = lp->lp_now + (uint64_t)rl;
	if (next == UINT64_MAX)
		return -1;
	return next <= lp->lp_now ? 0 : (int)(next - lp->lp_now);
}

static void *
loop_main(void *arg)
{
	struct loop		*lp = arg;
	struct proxy		*px = lp->lp_px;
	struct epoll_event	 evs[64];
	int			 n;

	while (!__atomic_load_n(&px->px_stop, __ATOMIC_ACQUIRE)) {
		lp->lp_now = px_now_ms();
		n = epoll_wait(lp->lp_epfd, evs, 64, loop_wait_ms(lp));
		lp->lp_now = px_now_ms();
		for (int i = 0; i < n; i++) {
			struct pev	*ev = evs[i].data.ptr;
			uint64_t	 v;

			switch (ev->kind) {
			case PEV_TCP_LISTEN:
				tcp_accept(lp);
				break;
			case PEV_UDP_LISTEN:
				udp_recv(lp);
				break;
			case PEV_WAKE:
				if (read(lp->lp_wakefd, &v, sizeof(v)) < 0) {
					/* EAGAIN: a concurrent wakeup */
				}
				break;
			case PEV_CLIENT:
				tcp_event(lp, ev->ptr, 0, evs[i].events);
				break;
			case PEV_UPSTREAM:
				tcp_event(lp, ev->ptr, 1, evs[i].events);
				break;
			case PEV_FLOW:
				udp_flow_event(lp, ev->ptr);
				break;
			case PEV_ICMP:
				icmp_event(lp);
				break;
			}
		}
		if (__atomic_load_n(&px->px_gen, __ATOMIC_ACQUIRE) !=
		    lp->lp_seen_gen) {
			lp->lp_seen_gen = __atomic_load_n(&px->px_gen,
			    __ATOMIC_ACQUIRE);
			tcp_sandbox_changed(lp);
			udp_sandbox_changed(lp);
			icmp_sandbox_changed(lp);
		}
		loop_expire(lp);
		if (lp == &px->px_loops[0])
			px_rl_poll(px, lp->lp_now);
		if (lp->lp_accept_at != 0 && lp->lp_accept_at <= lp->lp_now)
			tcp_accept_resume(lp);
		tcp_reap(lp);
	}
	tcp_close_all(lp);
	udp_close_all(lp);
	icmp_close_all(lp);
	return NULL;
}

static void
loop_wake(struct loop *lp)
{
	uint64_t one = 1;

	if (write(lp->lp_wakefd, &one, sizeof(one)) < 0) {
		/* counter full: the loop is awake anyway */
	}
}

static void
loop_fini(struct loop *lp)
{
	tcp_pipes_free(lp);
	icmp_free(lp);
	mitm_loop_fini(lp);
	if (lp->lp_tcpfd != -1)
		close(lp->lp_tcpfd);
	if (lp->lp_udpfd != -1)
		close(lp->lp_udpfd);
	if (lp->lp_wakefd != -1)
		close(lp->lp_wakefd);
	if (lp->lp_epfd != -1)
		close(lp->lp_epfd);
	if (lp->lp_spare != -1)
		close(lp->lp_spare);
}

static int
loop_init(struct proxy *px, struct loop *lp, struct ir_err *err)
{
	const struct proxy_config *c = &px->px_cfg;
	unsigned	 ms[TL_N];
	uint16_t	 tport, uport;

	lp->lp_px = px;
	lp->lp_epfd = lp->lp_wakefd = lp->lp_tcpfd = lp->lp_udpfd = -1;
	lp->lp_spare = -1;
	ms[TL_FIRST] = c->pc_first_byte_ms;
	ms[TL_PEEK] = c->pc_peek_ms;
	ms[TL_CONNECT] = c->pc_connect_ms;
	ms[TL_IDLE] = c->pc_idle_ms;
	ms[TL_DRAIN] = 2000;
	ms[TL_LINGER] = 10;
	for (int i = 0; i < TL_N; i++) {
		TAILQ_INIT(&lp->lp_timers[i].tl_q);
		lp->lp_timers[i].tl_ms = ms[i];
	}
	TAILQ_INIT(&lp->lp_conns);
	TAILQ_INIT(&lp->lp_dead);
	LIST_INIT(&lp->lp_flows);
	lp->lp_ev_tcp.kind = PEV_TCP_LISTEN;
	lp->lp_ev_udp.kind = PEV_UDP_LISTEN;
	lp->lp_ev_wake.kind = PEV_WAKE;
	gateway_ports(px->px_gw, &tport, &uport, NULL);
	if ((lp->lp_epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (lp->lp_wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (lp->lp_spare = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		err_set(err, errno, "proxy: event loop: %s", strerror(errno));
		return -1;
	}
	if ((lp->lp_tcpfd = gateway_listen(px->px_gw, SOCK_STREAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, tport, err)) == -1 ||
	    (lp->lp_udpfd = gateway_listen(px->px_gw, SOCK_DGRAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, uport, err)) == -1) {
		err_prefix(err, "proxy");
		return -1;
	}
	if (px_epoll_add(lp, lp->lp_tcpfd, EPOLLIN | EPOLLEXCLUSIVE,
	    &lp->lp_ev_tcp) == -1 ||
	    px_epoll_add(lp, lp->lp_udpfd, EPOLLIN, &lp->lp_ev_udp) == -1 ||
	    px_epoll_add(lp, lp->lp_wakefd, EPOLLIN, &lp->lp_ev_wake) == -1) {
		err_set(err, errno, "proxy: epoll: %s", strerror(errno));
		return -1;
	}
	if (lp == &px->px_loops[0] && icmp_open(lp, err) == -1)
		return -1;
	return 0;
}

static void
proxy_free(struct proxy *px)
{
	for (unsigned i = 0; i < px->px_nloops; i++)
		loop_fini(&px->px_loops[i]);
	px_rl_free(px->px_rl);
	for (unsigned i = 0; i < px->px_nslots; i++) {
		policy_free(px->px_sb[i].ps_pol);
		endpoints_free(px->px_sb[i].ps_eps);
		pthread_mutex_destroy(&px->px_sb[i].ps_lock);
	}
	for (int i = 0; i < 2; i++)
		if (px->px_icmp[i] != -1)
			close(px->px_icmp[i]);
	SSL_CTX_free(px->px_upctx);
	free(px->px_loops);
	free(px->px_sb);
	free(px);
}

struct proxy *
proxy_start(struct gateway *gw, const struct proxy_config *c,
    const struct proxy_hooks *hooks, const struct pol_guard *guard,
    struct ir_err *err)
{
	struct proxy	*px;
	unsigned	 started = 0;
	long		 ncpu;
	int		 rc;

	if ((px = calloc(1, sizeof(*px))) == NULL)
		goto oom;
	px->px_gw = gw;
	px->px_cfg = *c;
	if (hooks != NULL)
		px->px_hooks = *hooks;
	px->px_guard = guard;
	px->px_icmp[0] = px->px_icmp[1] = -1;
	if (px->px_cfg.pc_max_total == 0) {
		struct rlimit	 rl;
		rlim_t		 n = 0;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur > PROXY_FD_RESERVE)
			n = (rl.rlim_cur - PROXY_FD_RESERVE) / 2;
		else if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur == RLIM_INFINITY)
			n = UINT_MAX;
		/* A tiny limit still gets a few connections. */
		px->px_cfg.pc_max_total = n < 16 ? 16 : n > UINT_MAX ?
		    UINT_MAX : (unsigned)n;
	}
	px->px_nslots = gateway_nslots(gw);
	if ((px->px_sb = calloc(px->px_nslots, sizeof(*px->px_sb))) == NULL) {
		free(px);
		goto oom;
	}
	for (unsigned i = 0; i < px->px_nslots; i++)
		pthread_mutex_init(&px->px_sb[i].ps_lock, NULL);
	if ((px->px_rl = px_rl_new(px, err)) == NULL) {
		proxy_free(px);
		return NULL;
	}
	if ((px->px_nloops = c->pc_threads) == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		px->px_nloops = ncpu < 1 ? 1 : ncpu > 64 ? 64 : (unsigned)ncpu;
	}
	if ((px->px_loops = calloc(px->px_nloops,
	    sizeof(*px->px_loops))) == NULL) {
		px->px_nloops = 0;
		proxy_free(px);
		goto oom;
	}
	for (unsigned i = 0; i < px->px_nloops; i++)
		px->px_loops[i].lp_epfd = px->px_loops[i].lp_wakefd =
		    px->px_loops[i].lp_tcpfd = px->px_loops[i].lp_udpfd =
		    px->px_loops[i].lp_spare = -1;
	if (icmp_send_sockets(px, err) == -1)
		goto fail;
	for (unsigned i = 0; i < px->px_nloops; i++)
		if (loop_init(px, &px->px_loops[i], err) == -1)
			goto fail;
	for (; started < px->px_nloops; started++) {
		rc = pthread_create(&px->px_loops[started].lp_thread, NULL,
		    loop_main, &px->px_loops[started]);
		if (rc != 0) {
			err_set(err, rc, "proxy: thread: %s", strerror(rc));
			goto fail;
		}
	}
	return px;
fail:
	__atomic_store_n(&px->px_stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < started; i++) {
		loop_wake(&px->px_loops[i]);
		pthread_join(px->px_loops[i].lp_thread, NULL);
	}
	proxy_free(px);
	return NULL;
oom:
	err_set(err, ENOMEM, "proxy: out of memory");
	return NULL;
}

void
proxy_stop(struct proxy *px)
{
	if (px == NULL)
		return;
	__atomic_store_n(&px->px_stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < px->px_nloops; i++)
		loop_wake(&px->px_loops[i]);
	for (unsigned i = 0; i < px->px_nloops; i++)
		pthread_join(px->px_loops[i].lp_thread, NULL);
	px_rl_poll(px, UINT64_MAX);	/* what the last second refused */
	proxy_free(px);
}

static void
proxy_changed(struct proxy *px)
{
	__atomic_add_fetch(&px->px_gen, 1, __ATOMIC_ACQ_REL);
	for (unsigned i = 0; i < px->px_nloops; i++)
		loop_wake(&px->px_loops[i]);
}

int
proxy_sandbox_set(struct proxy *px, unsigned slot, const char *id,
    struct policy *pol, struct endpoints *eps, struct ir_err *err)
{
	struct px_sandbox	*sb;
	struct policy		*old;
	struct endpoints	*oldeps;

	if (slot >= px->px_nslots)
		return err_set(err, EINVAL, "proxy: slot %u out of range (%u)",
		    slot, px->px_nslots);
	if (pol == NULL)
		return err_set(err, EINVAL, "proxy: slot %u: no policy", slot);
	if (strlen(id) >= PX_ID_MAX)
		return err_set(err, EINVAL, "proxy: sandbox id '%.16s...' is "
		    "longer than %d", id, PX_ID_MAX - 1);
	if (eps != NULL && endpoints_count(eps) > 0 && px->px_upctx == NULL)
		return err_set(err, ENOTSUP, "proxy: sandbox %s has endpoint "
		    "rules but this runner does not intercept TLS (no CA)",
		    id);
	sb = &px->px_sb[slot];
	pthread_mutex_lock(&sb->ps_lock);
	old = sb->ps_pol;
	oldeps = sb->ps_eps;
	sb->ps_pol = policy_hold(pol);
	sb->ps_eps = endpoints_hold(eps);
	snprintf(sb->ps_id, sizeof(sb->ps_id), "%s", id);
	sb->ps_gen++;
	pthread_mutex_unlock(&sb->ps_lock);
	policy_free(old);
	endpoints_free(oldeps);
	if (old != NULL)
		proxy_changed(px);
	return 0;
}

void
proxy_sandbox_clear(struct proxy *px, unsigned slot)
{
	struct px_sandbox	*sb;
	struct policy		*old;
	struct endpoints	*oldeps;

	if (slot >= px->px_nslots)
		return;
	sb = &px->px_sb[slot];
	px_rl_clear_begin(px, slot);
	pthread_mutex_lock(&sb->ps_lock);
	old = sb->ps_pol;
	oldeps = sb->ps_eps;
	sb->ps_pol = NULL;
	sb->ps_eps = NULL;
	sb->ps_id[0] = '\0';
	sb->ps_gen++;
	pthread_mutex_unlock(&sb->ps_lock);
	px_rl_clear_end(px);
	policy_free(old);
	endpoints_free(oldeps);
	if (old != NULL)
		proxy_changed(px);
}

void
proxy_stats(const struct proxy *px, struct proxy_stats *out)
{
	const struct proxy_stats *s = &px->px_stats;

	out->ps_accepted = __atomic_load_n(&s->ps_accepted, __ATOMIC_RELAXED);
	out->ps_permitted = __atomic_load_n(&s->ps_permitted,
	    __ATOMIC_RELAXED);
	out->ps_blocked = __atomic_load_n(&s->ps_blocked, __ATOMIC_RELAXED);
	out->ps_active = __atomic_load_n(&s->ps_active, __ATOMIC_RELAXED);
	out->ps_udp_flows = __atomic_load_n(&s->ps_udp_flows,
	    __ATOMIC_RELAXED);
	out->ps_udp_blocked = __atomic_load_n(&s->ps_udp_blocked,
	    __ATOMIC_RELAXED);
}
