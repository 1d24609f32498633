/*
 * tcp.c - one TCP connection from a sandbox, from accept to close.
 *
 * The states are in proxy_int.h (enum conn_state). Sockets are registered
 * edge-triggered for input and output once, so every handler does all the
 * work it can until EAGAIN; what to wait for follows from the buffers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "proxy_int.h"

#define PEEK_BUF_FIRST	2048
#define REASON_MAX	512

static void
set_linger0(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

static void
stat_add(uint64_t *v, int64_t d)
{
	__atomic_add_fetch(v, (uint64_t)d, __ATOMIC_RELAXED);
}

static void
conn_audit(struct conn *c, enum audit_kind kind, int allowed,
    const char *rule, const char *reason)
{
	struct audit_event	 ev;
	char			 id[PX_ID_MAX];

	px_audit_init(c->c_lp->lp_px, c->c_slot, kind, AUDIT_TCP, &c->c_src,
	    &c->c_dst, id, &ev);
	if (c->c_namelen > 0) {
		ev.ae_name = c->c_name;
		ev.ae_namelen = c->c_namelen;
	}
	ev.ae_name_source = c->c_namesrc;
	ev.ae_allowed = allowed;
	ev.ae_rule = rule;
	ev.ae_reason = reason;
	if (kind == AUDIT_CLOSE) {
		ev.ae_bytes_up = c->c_bytes[0];
		ev.ae_bytes_down = c->c_bytes[1];
		ev.ae_duration_ms = c->c_lp->lp_now - c->c_start;
		if (c->c_mitm != NULL) {
			ev.ae_intercepted = 1;
			ev.ae_requests = mitm_requests(c->c_mitm);
		}
	}
	audit_emit(&ev);
}

/* At most one line every PX_WARN_MS for all loops: a flood of refusals
 * is in the audit, not on stderr. */
static void
warn_fds(struct loop *lp, int e)
{
	struct proxy	*px = lp->lp_px;
	uint64_t	 last;

	last = __atomic_load_n(&px->px_fd_warned, __ATOMIC_RELAXED);
	if ((last != 0 && lp->lp_now < last + PX_WARN_MS) ||
	    !__atomic_compare_exchange_n(&px->px_fd_warned, &last,
	    lp->lp_now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	fprintf(stderr, "isorun: proxy: out of file descriptors (%s): new "
	    "connections are reset until some close\n", strerror(e));
}

/*
 * A pipe for one direction of a relay: an empty one from the loop's pool,
 * else a new one (as large as the kernel lets us: fewer splice calls per
 * byte). Returns -1 when out of descriptors.
 */
static int
pipe_get(struct loop *lp, int p[2])
{
	if (lp->lp_npipes > 0) {
		lp->lp_npipes--;
		p[0] = lp->lp_pipes[lp->lp_npipes][0];
		p[1] = lp->lp_pipes[lp->lp_npipes][1];
		return 0;
	}
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	(void)fcntl(p[1], F_SETPIPE_SZ, PX_PIPE_SIZE);
	return 0;
}

/* Closes both ends that are open (and forgets them). */
static void
pipe_close(int p[2])
{
	for (int j = 0; j < 2; j++) {
		if (p[j] != -1)
			close(p[j]);
		p[j] = -1;
	}
}

/* Gives back an empty pipe (or closes it when the pool is full). */
static void
pipe_put(struct loop *lp, int p[2])
{
	if (lp->lp_npipes < PX_PIPE_POOL) {
		lp->lp_pipes[lp->lp_npipes][0] = p[0];
		lp->lp_pipes[lp->lp_npipes][1] = p[1];
		lp->lp_npipes++;
		p[0] = p[1] = -1;
	} else
		pipe_close(p);
}

/* Closes one pipe of the pool. 0: the pool was empty. */
static int
pipe_pool_drop(struct loop *lp)
{
	if (lp->lp_npipes == 0)
		return 0;
	pipe_close(lp->lp_pipes[--lp->lp_npipes]);
	return 1;
}

void
tcp_pipes_free(struct loop *lp)
{
	while (pipe_pool_drop(lp))
		;
}

/*
 * Closes `c`; the memory goes after the current batch of events (one of
 * which may be for its other socket): see tcp_reap(). `rst`: end both
 * sockets with a reset (SO_LINGER 0) instead of a FIN, so that a failure
 * on one side is seen as one on the other.
 */
static void
conn_free(struct loop *lp, struct conn *c, int rst, const char *why)
{
	struct proxy		*px = lp->lp_px;
	const struct proxy_hooks *h = &px->px_hooks;
	struct sockaddr_storage	 dst;

	if (c->c_state == CS_DEAD)
		return;
	if (c->c_state == CS_RELAY || c->c_state == CS_CONNECT ||
	    c->c_state == CS_MITM)
		conn_audit(c, AUDIT_CLOSE, 1, NULL, why);
	if (c->c_mitm != NULL) {
		mitm_free(c->c_mitm);
		c->c_mitm = NULL;
	}
	endpoints_free(c->c_eps);
	c->c_eps = NULL;
	for (int i = 0; i < 2; i++) {
		/* A pipe with bytes in it is closed; an empty one reused. */
		if (c->c_pipe[i][0] != -1 && c->c_inpipe[i] == 0)
			pipe_put(lp, c->c_pipe[i]);
		pipe_close(c->c_pipe[i]);
		if (c->c_fd[i] == -1)
			continue;
		if (rst)
			set_linger0(c->c_fd[i]);
		close(c->c_fd[i]);
	}
	if (c->c_held && h->ph_release != NULL) {
		px_sa_unmap(&c->c_dst, &dst);
		h->ph_release(h->ph_arg, c->c_slot, (struct sockaddr *)&dst);
	}
	px_timer_clear(lp, c);
	TAILQ_REMOVE(&lp->lp_conns, c, c_all);
	__atomic_sub_fetch(&px->px_sb[c->c_slot].ps_conns, 1,
	    __ATOMIC_RELAXED);
	stat_add(&px->px_stats.ps_active, -1);
	policy_free(c->c_pol);
	c->c_pol = NULL;
	free(c->c_buf);
	c->c_buf = NULL;
	c->c_state = CS_DEAD;
	TAILQ_INSERT_TAIL(&lp->lp_dead, c, c_all);
}

void
tcp_conn_free(struct loop *lp, struct conn *c, int rst, const char *why)
{
	conn_free(lp, c, rst, why);
}

void
tcp_reap(struct loop *lp)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&lp->lp_dead)) != NULL) {
		TAILQ_REMOVE(&lp->lp_dead, c, c_all);
		free(c);
	}
}

static int
conn_register(struct loop *lp, struct conn *c, int side)
{
	c->c_ev[side].kind = side == 0 ? PEV_CLIENT : PEV_UPSTREAM;
	c->c_ev[side].ptr = c;
	return px_epoll_add(lp, c->c_fd[side],
	    EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, &c->c_ev[side]);
}

/* Refreshes the idle timer, at most once a second per connection. */
static void
conn_touch(struct loop *lp, struct conn *c)
{
	if (c->c_tl == &lp->lp_timers[TL_IDLE] &&
	    c->c_deadline >= lp->lp_now + lp->lp_timers[TL_IDLE].tl_ms - 1000)
		return;
	px_timer_set(lp, c, TL_IDLE);
}

/*
 * Moves bytes both ways until nothing moves. Returns -1 if `c` was freed.
 */
static int
conn_pump(struct loop *lp, struct conn *c)
{
	ssize_t	 n;
	int	 progress, moved = 0;

	/* The peeked bytes go first, by plain send. */
	while (c->c_buf != NULL && c->c_off < c->c_len) {
		n = send(c->c_fd[1], c->c_buf + c->c_off, c->c_len - c->c_off,
		    MSG_NOSIGNAL);
		if (n > 0) {
			c->c_off += (size_t)n;
			c->c_bytes[0] += (uint64_t)n;
			moved = 1;
			continue;
		}
		if (n == -1 && errno == EAGAIN)
			break;
		conn_free(lp, c, 1, "upstream send failed");
		return -1;
	}
	if (c->c_buf != NULL && c->c_off == c->c_len) {
		free(c->c_buf);
		c->c_buf = NULL;
		c->c_len = c->c_cap = c->c_off = 0;
	}
again:
	for (int dir = 0; dir < 2; dir++) {
		int	 from = c->c_fd[dir], to = c->c_fd[!dir];

		if (dir == 0 && c->c_buf != NULL)
			continue;
		/* The side this way writes to was reset: nothing more
		   goes to it; its reset waits for the other way. */
		if (c->c_reset[!dir])
			continue;
		do {
			progress = 0;
			if (!c->c_eof[dir] && c->c_inpipe[dir] < PX_PIPE_SIZE) {
				if (c->c_pipe[dir][0] == -1 &&
				    pipe_get(lp, c->c_pipe[dir]) == -1) {
					warn_fds(lp, errno);
					conn_free(lp, c, 1, "out of file "
					    "descriptors for a pipe");
					return -1;
				}
				n = splice(from, NULL, c->c_pipe[dir][1], NULL,
				    PX_PIPE_SIZE - c->c_inpipe[dir],
				    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
				if (n > 0) {
					c->c_inpipe[dir] += (size_t)n;
					progress = 1;
				} else if (n == 0) {
					c->c_eof[dir] = 1;
					progress = 1;
				} else if (errno != EAGAIN) {
					/* What it sent before the reset is
					   in the pipe: delivered first, as
					   its peer would have had it. */
					c->c_eof[dir] = c->c_reset[dir] = 1;
					progress = 1;
				}
			}
			if (c->c_inpipe[dir] > 0) {
				n = splice(c->c_pipe[dir][0], NULL, to, NULL,
				    c->c_inpipe[dir],
				    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
				if (n > 0) {
					c->c_inpipe[dir] -= (size_t)n;
					c->c_bytes[dir] += (uint64_t)n;
					progress = 1;
				} else if (n == -1 && errno != EAGAIN) {
					/* `to` was reset. What it sent
					   before comes the other way first,
					   then its reset; what was for it is
					   dropped. */
					pipe_close(c->c_pipe[dir]);
					c->c_inpipe[dir] = 0;
					c->c_eof[dir] = c->c_reset[!dir] = 1;
					if (dir == 1)
						goto again;
					break;
				}
			}
			if (c->c_reset[dir] && c->c_eof[dir] &&
			    c->c_inpipe[dir] == 0) {
				if (tcp_linger(lp, c, to))
					return 0;
				conn_free(lp, c, 1, dir == 0 ?
				    "reset by the sandbox" :
				    "reset by upstream");
				return -1;
			}
			if (c->c_eof[dir] && c->c_inpipe[dir] == 0 &&
			    !c->c_shut[dir]) {
				shutdown(to, SHUT_WR);
				c->c_shut[dir] = 1;
			}
			moved |= progress;
		} while (progress);
		/* Nothing in flight this way: an idle connection holds no
		 * pipe, only its two sockets. */
		if (c->c_inpipe[dir] == 0 && c->c_pipe[dir][0] != -1)
			pipe_put(lp, c->c_pipe[dir]);
	}
	if (c->c_shut[0] && c->c_shut[1]) {
		conn_free(lp, c, 0, "closed");
		return -1;
	}
	if (moved)
		conn_touch(lp, c);
	return 0;
}

static void
conn_relay(struct loop *lp, struct conn *c)
{
	c->c_state = CS_RELAY;
	px_timer_set(lp, c, TL_IDLE);
	conn_pump(lp, c);
}

int
tcp_upstream_open(struct loop *lp, struct conn *c)
{
	struct sockaddr_storage	 dst;
	socklen_t		 len;
	int			 fd, on = 1;

	px_sa_unmap(&c->c_up, &dst);
	len = dst.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		char	 why[128];

		if (errno == EMFILE || errno == ENFILE)
			warn_fds(lp, errno);
		snprintf(why, sizeof(why), "upstream socket: %s",
		    strerror(errno));
		conn_free(lp, c, 1, why);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c->c_fd[1] = fd;
	if (connect(fd, (struct sockaddr *)&dst, len) == -1 &&
	    errno != EINPROGRESS) {
		conn_free(lp, c, 1, strerror(errno));
		return -1;
	}
	if (conn_register(lp, c, 1) == -1 ||
	    (c->c_ev[0].ptr == NULL && conn_register(lp, c, 0) == -1)) {
		conn_free(lp, c, 1, "epoll: out of resources");
		return -1;
	}
	px_timer_set(lp, c, TL_CONNECT);
	return 0;
}

static void
conn_connect(struct loop *lp, struct conn *c)
{
	/* From here on conn_free() audits the end of a permitted one. */
	c->c_state = CS_CONNECT;
	(void)tcp_upstream_open(lp, c);
}

static void
conn_connected(struct loop *lp, struct conn *c)
{
	int		 e = 0;
	socklen_t	 len = sizeof(e);
	char		 why[128];

	if (getsockopt(c->c_fd[1], SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		e = errno;
	if (e == EINPROGRESS || e == EALREADY)
		return;
	if (e != 0) {
		snprintf(why, sizeof(why), "upstream connect: %s",
		    strerror(e));
		conn_free(lp, c, 1, why);
		return;
	}
	conn_relay(lp, c);
}

/* Blocked after a peek: say why in the protocol the client speaks. */
static void
conn_refuse(struct loop *lp, struct conn *c, const char *rule)
{
	char		 resp[2048];
	ssize_t		 n = 0;

	if (c->c_kind == PEEK_TLS) {
		n = TLS_ALERT_LEN;
		memcpy(resp, tls_alert_access_denied(), TLS_ALERT_LEN);
	} else if (c->c_kind == PEEK_HTTP) {
		char			 a[INET6_ADDRSTRLEN];
		struct sockaddr_storage	 dst;

		px_sa_unmap(&c->c_dst, &dst);
		if (dst.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&dst)->
			    sin_addr, a, sizeof(a));
		else
			inet_ntop(AF_INET6, &c->c_dst.sin6_addr, a, sizeof(a));
		n = http_forbidden(resp, sizeof(resp), c->c_namelen > 0 ?
		    c->c_name : a, rule);
	}
	if (n <= 0 || (size_t)n > sizeof(resp)) {
		conn_free(lp, c, 1, NULL);
		return;
	}
	if (send(c->c_fd[0], resp, (size_t)n, MSG_NOSIGNAL) != n) {
		conn_free(lp, c, 1, NULL);
		return;
	}
	shutdown(c->c_fd[0], SHUT_WR);
	free(c->c_buf);
	c->c_buf = NULL;
	c->c_state = CS_DRAIN;
	px_timer_set(lp, c, TL_DRAIN);
}

static void
conn_set_name(struct conn *c, const char *s, size_t len,
    enum audit_name_source src)
{
	if (len >= sizeof(c->c_name))
		len = sizeof(c->c_name) - 1;
	memcpy(c->c_name, s, len);
	c->c_name[len] = '\0';
	c->c_namelen = (uint16_t)len;
	c->c_namesrc = src;
}

static void
sa_text(const struct sockaddr_in6 *sa, char *buf, size_t len)
{
	if (IN6_IS_ADDR_V4MAPPED(&sa->sin6_addr))
		inet_ntop(AF_INET, &sa->sin6_addr.s6_addr[12], buf, len);
	else
		inet_ntop(AF_INET6, &sa->sin6_addr, buf, len);
}

/*
 * A permit rests on an SNI or Host name the runner never resolved to the
 * destination: connect to an address it did resolve that name to (the
 * destination's family first), keeping the port. Returns 0 if none.
 */
static int
conn_pick_upstream(struct conn *c, const struct proxy_hooks *h,
    const struct policy *pol, const struct pol_guard *guard)
{
	struct sockaddr_storage	 addrs[8];
	struct sockaddr_in6	 up[8];
	struct pol_target	 t;
	struct pol_decision	 d;
	struct pol_name		 name = { c->c_name, c->c_namelen };
	size_t			 n, i, k = 0;
	int			 want4, pick = -1;

	if (h->ph_addrs == NULL)
		return 0;
	n = h->ph_addrs(h->ph_arg, c->c_slot, c->c_name, c->c_namelen, addrs,
	    8);
	/* Each candidate decided again as the connection it would be: the
	 * DNS view keeps no blocked address, but the upstream address is
	 * ours to check, not its alone. */
	for (i = 0; i < n; i++) {
		if (px_sa_map(&addrs[i], &up[k]) == -1)
			continue;
		up[k].sin6_port = c->c_dst.sin6_port;
		px_addr_target(&up[k], &t);
		t.names = &name;
		t.nnames = 1;
		policy_eval(pol, guard, &t, &d);
		if (d.verdict == POL_PERMITTED)
			k++;
	}
	want4 = IN6_IS_ADDR_V4MAPPED(&c->c_dst.sin6_addr);
	for (i = 0; i < k && pick == -1; i++)
		if (IN6_IS_ADDR_V4MAPPED(&up[i].sin6_addr) == want4)
			pick = (int)i;
	if (pick == -1 && k > 0)
		pick = 0;
	if (pick == -1)
		return 0;
	c->c_up = up[pick];
	return 1;
}

/*
 * The verdict of `pol` for `c` with its name (if any) or else the
 * sandbox's DNS names for the destination. Writes the deciding rule and a
 * reason. A permit that rests on a name from SNI or Host stands only if the
 * runner resolved that name to the destination for this sandbox.
 */
static int
conn_eval(struct loop *lp, struct conn *c, const struct policy *pol,
    int use_dns, const char **rule, char *reason, size_t rlen)
{
	struct proxy		*px = lp->lp_px;
	const struct proxy_hooks *h = &px->px_hooks;
	struct pol_target	 t;
	struct pol_decision	 d;
	struct pol_name		 names[PROXY_NAMES_MAX];
	char			 nbuf[PROXY_NAMES_MAX * 256];
	struct sockaddr_storage	 dst;
	char			 a[INET6_ADDRSTRLEN];

	px_addr_target(&c->c_dst, &t);
	px_sa_unmap(&c->c_dst, &dst);
	if (c->c_namelen > 0 && c->c_namesrc != AUDIT_NAME_DNS) {
		names[0].s = c->c_name;
		names[0].len = c->c_namelen;
		t.names = names;
		t.nnames = 1;
	} else if (use_dns && h->ph_names != NULL) {
		t.nnames = h->ph_names(h->ph_arg, c->c_slot,
		    (struct sockaddr *)&dst, names, PROXY_NAMES_MAX, nbuf,
		    sizeof(nbuf));
		t.names = names;
	}
	policy_eval(pol, px->px_guard, &t, &d);
	*rule = pol_decision_rule(&d);
	policy_explain(pol, &t, &d, reason, rlen);
	if (d.name >= 0 && (size_t)d.name < t.nnames &&
	    (c->c_namelen == 0 || c->c_namesrc == AUDIT_NAME_DNS))
		conn_set_name(c, t.names[d.name].s, t.names[d.name].len,
		    AUDIT_NAME_DNS);
	if (d.verdict != POL_PERMITTED || d.basis != POL_BY_RULE ||
	    d.name < 0 || c->c_namesrc == AUDIT_NAME_DNS)
		return d.verdict == POL_PERMITTED;
	if (h->ph_maps != NULL && h->ph_maps(h->ph_arg, c->c_slot, c->c_name,
	    c->c_namelen, (struct sockaddr *)&dst))
		return 1;
	sa_text(&c->c_dst, a, sizeof(a));
	if (conn_pick_upstream(c, h, pol, px->px_guard)) {
		char	 b[INET6_ADDRSTRLEN];

		sa_text(&c->c_up, b, sizeof(b));
		snprintf(reason, rlen, "%s '%s' matches allow rule '%s'; the "
		    "runner never resolved it to %s, so the connection goes "
		    "to %s, which it did", c->c_namesrc == AUDIT_NAME_SNI ?
		    "SNI" : "Host", c->c_name, *rule, a, b);
		return 1;
	}
	snprintf(reason, rlen, "%s '%s' matches allow rule '%s' but the "
	    "runner never resolved it for this sandbox (destination %s)",
	    c->c_namesrc == AUDIT_NAME_SNI ? "SNI" : "Host", c->c_name, *rule,
	    a);
	*rule = "unresolved-name";
	return 0;
}

/*
 * A permitted connection of a sandbox with endpoint rules: 1 and *hp when
 * it is to be intercepted (TLS, SNI naming an endpoint host, its port), 0
 * when no endpoint host is concerned, -1 with a reason when it must be
 * blocked: any other way to an endpoint host (plain HTTP, another port, no
 * SNI, a raw connection to one of its addresses) would dodge its rules.
 */
static int
conn_endpoint(struct loop *lp, struct conn *c, const struct ep_host **hp,
    char *reason, size_t rlen)
{
	const struct proxy_hooks *h = &lp->lp_px->px_hooks;
	struct pol_name		 names[PROXY_NAMES_MAX];
	char			 nbuf[PROXY_NAMES_MAX * 256];
	struct sockaddr_storage	 dst;
	uint16_t		 port = ntohs(c->c_dst.sin6_port);
	size_t			 n = 0, i;

	if (c->c_namelen > 0 && c->c_namesrc != AUDIT_NAME_DNS) {
		if (!endpoints_has_name(c->c_eps, c->c_name, c->c_namelen))
			return 0;
		if (c->c_kind == PEEK_TLS && c->c_namesrc == AUDIT_NAME_SNI &&
		    (*hp = endpoints_lookup(c->c_eps, c->c_name, c->c_namelen,
		    port)) != NULL) {
			/* Credentials go only to an address the runner
			   resolved for the name, whatever rule permitted. */
			px_sa_unmap(&c->c_up, &dst);
			if (h->ph_maps == NULL || h->ph_maps(h->ph_arg,
			    c->c_slot, c->c_name, c->c_namelen,
			    (struct sockaddr *)&dst) || conn_pick_upstream(c, h,
			    c->c_pol, lp->lp_px->px_guard))
				return 1;
			snprintf(reason, rlen, "%s has endpoint rules and the "
			    "runner never resolved it for this sandbox",
			    c->c_name);
			return -1;
		}
		snprintf(reason, rlen, "%s has endpoint rules: only TLS with "
		    "SNI %s to its endpoint port is allowed (this is %s to "
		    "port %u), so that the runner checks every request",
		    c->c_name, c->c_name, c->c_kind == PEEK_TLS ? "TLS" :
		    "plain HTTP", port);
		return -1;
	}
	/* No name of its own: every DNS name of the destination counts. */
	if (h->ph_names != NULL) {
		px_sa_unmap(&c->c_dst, &dst);
		n = h->ph_names(h->ph_arg, c->c_slot, (struct sockaddr *)&dst,
		    names, PROXY_NAMES_MAX, nbuf, sizeof(nbuf));
	}
	for (i = 0; i < n; i++)
		if (endpoints_has_name(c->c_eps, names[i].s, names[i].len)) {
			snprintf(reason, rlen, "the destination is an address "
			    "of %.*s, which has endpoint rules: only TLS with "
			    "SNI %.*s is allowed there", (int)names[i].len,
			    names[i].s, (int)names[i].len, names[i].s);
			return -1;
		}
	return 0;
}

/* Decides `c` now: connects it upstream, or refuses it. */
static void
conn_decide(struct loop *lp, struct conn *c, int peeked)
{
	struct proxy		*px = lp->lp_px;
	const struct ep_host	*eph = NULL;
	const char		*rule;
	char			 reason[REASON_MAX];
	int			 ok, mitm = 0;

	ok = conn_eval(lp, c, c->c_pol, 1, &rule, reason, sizeof(reason));
	if (ok && c->c_eps != NULL) {
		mitm = conn_endpoint(lp, c, &eph, reason, sizeof(reason));
		if (mitm == -1) {
			ok = 0;
			rule = "endpoint";
		}
	}
	/* From accept to verdict; for a peek that includes the client's
	 * own pace, which the histogram then shows. */
	audit_observe_latency_ns(px_now_ns() - c->c_accept_ns);
	conn_audit(c, AUDIT_CONNECT, ok, rule, reason);
	if (!ok) {
		stat_add(&px->px_stats.ps_blocked, 1);
		if (peeked)
			conn_refuse(lp, c, rule);
		else
			conn_free(lp, c, 1, NULL);
		return;
	}
	stat_add(&px->px_stats.ps_permitted, 1);
	if (px->px_hooks.ph_hold != NULL) {
		struct sockaddr_storage dst;

		px_sa_unmap(&c->c_dst, &dst);
		px->px_hooks.ph_hold(px->px_hooks.ph_arg, c->c_slot,
		    (struct sockaddr *)&dst);
		c->c_held = 1;
	}
	if (mitm == 1)
		mitm_start(lp, c, eph);
	else
		conn_connect(lp, c);
}

/* Blocked by a malformed or ambiguous hello or head: no name we can trust. */
static void
conn_bad(struct loop *lp, struct conn *c, const char *why)
{
	char	 reason[REASON_MAX];

	snprintf(reason, sizeof(reason), "%s: %s",
	    c->c_kind == PEEK_TLS ? "TLS ClientHello" : "HTTP request head",
	    why);
	conn_audit(c, AUDIT_CONNECT, 0, "malformed", reason);
	stat_add(&c->c_lp->lp_px->px_stats.ps_blocked, 1);
	conn_refuse(lp, c, "malformed");
}

/*
 * Runs the parser on what was read. Returns 1 when the connection was
 * decided (or freed), 0 to read more.
 */
static int
conn_parse(struct loop *lp, struct conn *c)
{
	enum peek_rc	 rc;

	if (c->c_kind == PEEK_MORE) {
		c->c_kind = peek_classify(c->c_buf, c->c_len);
		if (c->c_kind == PEEK_TLS)
			peek_tls_init(&c->c_p.tls);
		else if (c->c_kind == PEEK_HTTP)
			peek_http_init(&c->c_p.http);
	}
	switch (c->c_kind) {
	case PEEK_TLS:
		rc = peek_tls_feed(&c->c_p.tls, c->c_buf, c->c_len);
		if (rc == PEEK_BAD)
			conn_bad(lp, c, c->c_p.tls.th_why);
		else if (rc == PEEK_DONE && c->c_p.tls.th_namelen > 0)
			conn_set_name(c, c->c_p.tls.th_name,
			    c->c_p.tls.th_namelen, AUDIT_NAME_SNI);
		break;
	case PEEK_HTTP:
		rc = peek_http_feed(&c->c_p.http, c->c_buf, c->c_len);
		if (rc == PEEK_BAD && c->c_p.http.hh_notreq) {
			/*
			 * A method-like word and a space, but no request line
			 * (an SSH client's banner with its comment, a text
			 * protocol): not HTTP. Decided as any connection
			 * without a name of its own, by the DNS names of its
			 * destination; its bytes are relayed as they are.
			 */
			c->c_kind = PEEK_OTHER;
			rc = PEEK_DONE;
		} else if (rc == PEEK_BAD)
			conn_bad(lp, c, c->c_p.http.hh_why);
		else if (rc == PEEK_DONE && c->c_p.http.hh_hostlen > 0 &&
		    !c->c_p.http.hh_host_ip)
			conn_set_name(c, c->c_p.http.hh_host,
			    c->c_p.http.hh_hostlen, AUDIT_NAME_HOST);
		break;
	case PEEK_OTHER:
		rc = PEEK_DONE;
		break;
	default:
		return 0;
	}
	if (rc == PEEK_MORE)
		return 0;
	if (rc == PEEK_DONE)
		conn_decide(lp, c, 1);
	return 1;
}

static void
conn_peek(struct loop *lp, struct conn *c)
{
	size_t	 max;
	ssize_t	 n;
	uint8_t	*nb;

	for (;;) {
		max = c->c_kind == PEEK_HTTP ? PEEK_HTTP_MAX : PEEK_TLS_WIRE_MAX;
		if (c->c_len == c->c_cap) {
			size_t ncap = c->c_cap == 0 ? PEEK_BUF_FIRST :
			    c->c_cap * 2;

			if (ncap > max + 64)
				ncap = max + 64;
			if (ncap <= c->c_cap) {
				conn_bad(lp, c, "more than the peek limit "
				    "without a complete message");
				return;
			}
			if ((nb = realloc(c->c_buf, ncap)) == NULL) {
				conn_free(lp, c, 1, NULL);
				return;
			}
			c->c_buf = nb;
			c->c_cap = ncap;
		}
		n = recv(c->c_fd[0], c->c_buf + c->c_len, c->c_cap - c->c_len,
		    0);
		if (n > 0) {
			if (c->c_len == 0)
				px_timer_set(lp, c, TL_PEEK);
			c->c_len += (size_t)n;
			if (conn_parse(lp, c))
				return;
			continue;
		}
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == 0 && (c->c_kind == PEEK_MORE ||
		    c->c_kind == PEEK_OTHER)) {
			/* Sent what it had and shut: decide by DNS names. */
			c->c_eof[0] = 1;
			c->c_kind = PEEK_OTHER;
			conn_decide(lp, c, 1);
			return;
		}
		/* Reset, or closed in the middle of a hello or head. */
		conn_free(lp, c, 1, NULL);
		return;
	}
}

static void
conn_drain(struct loop *lp, struct conn *c)
{
	char	 buf[4096];
	ssize_t	 n;

	while ((n = recv(c->c_fd[0], buf, sizeof(buf), 0)) > 0)
		;
	if (n == 0 || errno != EAGAIN)
		conn_free(lp, c, 0, NULL);
}

void
tcp_event(struct loop *lp, struct conn *c, int side, uint32_t events)
{
	switch (c->c_state) {
	case CS_PEEK:
		if (side == 0)
			conn_peek(lp, c);
		break;
	case CS_CONNECT:
		if (side == 1)
			conn_connected(lp, c);
		break;
	case CS_RELAY:
		conn_pump(lp, c);
		break;
	case CS_MITM:
		mitm_event(lp, c, side, events);
		break;
	case CS_DRAIN:
		if (side == 0)
			conn_drain(lp, c);
		break;
	case CS_DEAD:
		break;
	}
}

/*
 * A reset is passed on with SO_LINGER 0, which throws away whatever the
 * socket still holds. So it waits until `fd`'s peer has acknowledged
 * every byte queued to it (checked again every TL_LINGER ms and on each
 * event), for at most the idle timeout: a peer that reads nothing holds
 * the connection no longer than an idle one. 1: wait; 0: go ahead.
 */
int
tcp_linger(struct loop *lp, struct conn *c, int fd)
{
	int	 q = 0;

	if (ioctl(fd, SIOCOUTQ, &q) == -1 || q <= 0)
		return 0;
	if (c->c_rst_at == 0)
		c->c_rst_at = lp->lp_now;
	else if (lp->lp_now - c->c_rst_at >= lp->lp_timers[TL_IDLE].tl_ms)
		return 0;
	px_timer_set(lp, c, TL_LINGER);
	return 1;
}

void
tcp_timeout(struct loop *lp, struct conn *c)
{
	char	 why[128];

	if (c->c_rst_at != 0) {		/* tcp_linger(): look again */
		if (c->c_state == CS_MITM)
			mitm_event(lp, c, 0, 0);
		else
			conn_pump(lp, c);
		return;
	}
	switch (c->c_state) {
	case CS_PEEK:
		px_timer_clear(lp, c);
		if (c->c_kind == PEEK_MORE || c->c_kind == PEEK_OTHER) {
			/* Server-first protocol, or too little to tell. */
			c->c_kind = PEEK_OTHER;
			conn_decide(lp, c, 0);
			return;
		}
		snprintf(why, sizeof(why), "incomplete after %u ms",
		    lp->lp_timers[TL_PEEK].tl_ms);
		conn_bad(lp, c, why);
		return;
	case CS_CONNECT:
		snprintf(why, sizeof(why), "upstream connect: no answer in "
		    "%u ms", lp->lp_timers[TL_CONNECT].tl_ms);
		conn_free(lp, c, 1, why);
		return;
	case CS_RELAY:
		snprintf(why, sizeof(why), "idle for %u ms",
		    lp->lp_timers[TL_IDLE].tl_ms);
		conn_free(lp, c, 1, why);
		return;
	case CS_MITM:
		mitm_timeout(lp, c);
		return;
	case CS_DRAIN:
		conn_free(lp, c, 1, NULL);
		return;
	case CS_DEAD:
		return;
	}
}

static void
accept_refuse(struct proxy *px, int fd, const struct sockaddr_in6 *src,
    const struct sockaddr_in6 *dst, const char *id, const char *rule,
    const char *reason)
{
	struct audit_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.ae_sandbox = id;
	ev.ae_kind = AUDIT_CONNECT;
	ev.ae_proto = AUDIT_TCP;
	px_sa_unmap(src, &ev.ae_src);
	px_sa_unmap(dst, &ev.ae_dst);
	ev.ae_rule = rule;
	ev.ae_reason = reason;
	audit_emit(&ev);
	stat_add(&px->px_stats.ps_blocked, 1);
	set_linger0(fd);
	close(fd);
}

static void
conn_new(struct loop *lp, int fd, const struct sockaddr_in6 *src)
{
	struct proxy		*px = lp->lp_px;
	struct sockaddr_in6	 dst;
	socklen_t		 len = sizeof(dst);
	struct pol_target	 t;
	struct pol_decision	 d;
	struct policy		*pol;
	struct conn		*c;
	char			 id[PX_ID_MAX], why[128];
	unsigned		 gen, n;
	int			 slot, on = 1;

	stat_add(&px->px_stats.ps_accepted, 1);
	if (getsockname(fd, (struct sockaddr *)&dst, &len) == -1 ||
	    dst.sin6_family != AF_INET6) {
		set_linger0(fd);
		close(fd);
		return;
	}
	slot = gateway_slot_of(px->px_gw, (const struct sockaddr *)src);
	if (slot < 0 || (pol = px_sandbox_get(px, (unsigned)slot, id,
	    &gen)) == NULL) {
		accept_refuse(px, fd, src, &dst, "", "no-sandbox",
		    "no sandbox holds this source address");
		return;
	}
	/* Taken before it is checked: the loops accept at once, and a load
	 * then a later add let two of them pass the last place. */
	if (__atomic_add_fetch(&px->px_stats.ps_active, 1, __ATOMIC_RELAXED) >
	    px->px_cfg.pc_max_total) {
		stat_add(&px->px_stats.ps_active, -1);
		snprintf(why, sizeof(why), "the runner has %u connections "
		    "open, its limit (descriptors are kept for the API and "
		    "new sandboxes)", px->px_cfg.pc_max_total);
		accept_refuse(px, fd, src, &dst, id, "limit", why);
		policy_free(pol);
		return;
	}
	n = __atomic_add_fetch(&px->px_sb[slot].ps_conns, 1,
	    __ATOMIC_RELAXED);
	if (n > px->px_cfg.pc_max_conns) {
		stat_add(&px->px_stats.ps_active, -1);
		__atomic_sub_fetch(&px->px_sb[slot].ps_conns, 1,
		    __ATOMIC_RELAXED);
		snprintf(why, sizeof(why), "the sandbox has %u connections "
		    "open, the limit", px->px_cfg.pc_max_conns);
		accept_refuse(px, fd, src, &dst, id, "limit", why);
		policy_free(pol);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		stat_add(&px->px_stats.ps_active, -1);
		__atomic_sub_fetch(&px->px_sb[slot].ps_conns, 1,
		    __ATOMIC_RELAXED);
		accept_refuse(px, fd, src, &dst, id, "limit", "out of memory");
		policy_free(pol);
		return;
	}
	c->c_lp = lp;
	c->c_fd[0] = fd;
	c->c_fd[1] = -1;
	for (int i = 0; i < 2; i++)
		c->c_pipe[i][0] = c->c_pipe[i][1] = -1;
	c->c_slot = (unsigned)slot;
	c->c_gen = gen;
	c->c_pol = pol;
	c->c_src = *src;
	c->c_dst = dst;
	c->c_up = dst;
	c->c_start = lp->lp_now;
	c->c_accept_ns = px_now_ns();
	c->c_kind = PEEK_MORE;
	TAILQ_INSERT_TAIL(&lp->lp_conns, c, c_all);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));

	if ((c->c_eps = px_sandbox_eps(px, (unsigned)slot)) != NULL &&
	    endpoints_count(c->c_eps) == 0) {
		endpoints_free(c->c_eps);
		c->c_eps = NULL;
	}
	px_addr_target(&dst, &t);
	policy_eval(pol, px->px_guard, &t, &d);
	/* With endpoint rules the name always matters: it may call for
	   interception even where the policy permits every name. */
	if (!d.name_matters && c->c_eps == NULL) {
		conn_decide(lp, c, 0);
		return;
	}
	c->c_state = CS_PEEK;
	if (conn_register(lp, c, 0) == -1) {
		conn_free(lp, c, 1, NULL);
		return;
	}
	px_timer_set(lp, c, TL_FIRST);
}

/*
 * The loop's spare descriptor, held so that it can be closed to accept a
 * connection it must refuse when out of descriptors. Another thread may
 * take the number between that close and the accept, and then none is
 * left to get it back with: the pool's empty pipes are a cache, so one is
 * given back for it. Without that the loop could never refuse again, and
 * connections would wait in its backlog until some other closed (seen in
 * tests/faults/fds.sh). -1 if none can be had.
 */
static int
spare_open(struct loop *lp)
{
	int	 fd;

	while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1 &&
	    (errno == EMFILE || errno == ENFILE) && pipe_pool_drop(lp))
		;
	return fd;
}

/*
 * accept() failed for lack of descriptors: give up the spare one to
 * accept the next connection and reset it, with an audit event, rather
 * than leave it waiting. Returns 0 when one was refused (try again), 1
 * when none is waiting, -1 when there was no room even so (another
 * thread took the spare's slot): then pause the listener, for a level-
 * triggered one would wake us at once, forever.
 */
static int
accept_no_fds(struct loop *lp, int e)
{
	struct proxy		*px = lp->lp_px;
	struct sockaddr_in6	 src, dst;
	socklen_t		 len = sizeof(src);
	struct policy		*pol = NULL;
	char			 id[PX_ID_MAX] = "", why[128];
	int			 fd, slot;

	warn_fds(lp, e);
	if (lp->lp_spare == -1 && (lp->lp_spare = spare_open(lp)) == -1)
		return -1;
	close(lp->lp_spare);
	lp->lp_spare = -1;
	fd = accept4(lp->lp_tcpfd, (struct sockaddr *)&src, &len,
	    SOCK_CLOEXEC);
	if (fd == -1) {
		e = errno;
		lp->lp_spare = spare_open(lp);
		return e == EAGAIN ? 1 : -1;
	}
	stat_add(&px->px_stats.ps_accepted, 1);
	len = sizeof(dst);
	if (src.sin6_family != AF_INET6 || getsockname(fd,
	    (struct sockaddr *)&dst, &len) == -1) {
		set_linger0(fd);
		close(fd);
	} else {
		slot = gateway_slot_of(px->px_gw, (const struct sockaddr *)
		    &src);
		if (slot >= 0)
			pol = px_sandbox_get(px, (unsigned)slot, id, NULL);
		snprintf(why, sizeof(why), "the runner is out of file "
		    "descriptors (%s)", strerror(e));
		accept_refuse(px, fd, &src, &dst, pol != NULL ? id : "",
		    "limit", why);
		policy_free(pol);
	}
	lp->lp_spare = spare_open(lp);
	return 0;
}

void
tcp_accept(struct loop *lp)
{
	struct sockaddr_in6	 src;
	socklen_t		 len;
	int			 fd, rc;

	/*
	 * At most PX_ACCEPT_BURST per wakeup: the listener is level-triggered,
	 * so what is left waits for the next epoll_wait(), and the relays of
	 * other connections ready meanwhile are not held up behind a flood of
	 * connections to refuse (bench/load/flood).
	 */
	for (int burst = 0; burst < PX_ACCEPT_BURST; burst++) {
		len = sizeof(src);
		fd = accept4(lp->lp_tcpfd, (struct sockaddr *)&src, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			if (src.sin6_family != AF_INET6) {
				close(fd);
				continue;
			}
			conn_new(lp, fd, &src);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE) {
			if ((rc = accept_no_fds(lp, errno)) == 0)
				continue;
			if (rc == -1 && epoll_ctl(lp->lp_epfd, EPOLL_CTL_DEL,
			    lp->lp_tcpfd, NULL) == 0)
				lp->lp_accept_at = lp->lp_now +
				    PX_ACCEPT_RETRY_MS;
			return;
		}
		if (errno == ECONNABORTED || errno == EINTR)
			continue;
		return;
	}
}

/* The pause is over: watch the listener again and take what waits. */
void
tcp_accept_resume(struct loop *lp)
{
	if (px_epoll_add(lp, lp->lp_tcpfd, EPOLLIN | EPOLLEXCLUSIVE,
	    &lp->lp_ev_tcp) == -1) {
		lp->lp_accept_at = lp->lp_now + PX_ACCEPT_RETRY_MS;
		return;
	}
	lp->lp_accept_at = 0;
	tcp_accept(lp);
}

/*
 * The sandbox's endpoint rules changed (a live change): `c` takes the new
 * ones. An intercepted connection goes on under its host's new entry (the
 * next request is judged by it), or is closed if the host has none now; a
 * relayed one to a host that now has endpoint rules is closed, since its
 * requests would pass unchecked. Returns -1 if `c` was freed.
 */
static int
conn_new_eps(struct loop *lp, struct conn *c)
{
	struct endpoints	*eps, *old = c->c_eps;
	const struct ep_host	*h = NULL;
	char			 reason[REASON_MAX];
	int			 r;

	eps = px_sandbox_eps(lp->lp_px, c->c_slot);
	if (eps != NULL && endpoints_count(eps) == 0) {
		endpoints_free(eps);
		eps = NULL;
	}
	if (eps == old) {
		endpoints_free(eps);
		return 0;
	}
	c->c_eps = eps;
	if (c->c_state == CS_MITM) {
		if (eps != NULL)
			h = endpoints_lookup(eps, c->c_name, c->c_namelen,
			    ntohs(c->c_dst.sin6_port));
		if (h == NULL) {
			endpoints_free(old);
			conn_free(lp, c, 1, "its endpoint rules were removed");
			return -1;
		}
		mitm_rehost(c->c_mitm, h);
	} else if ((c->c_state == CS_RELAY || c->c_state == CS_CONNECT) &&
	    eps != NULL && (r = conn_endpoint(lp, c, &h, reason,
	    sizeof(reason))) != 0) {
		if (r == 1)
			snprintf(reason, sizeof(reason), "%s has endpoint "
			    "rules now; a new connection is checked by them",
			    c->c_name);
		conn_audit(c, AUDIT_CONNECT, 0, "endpoint", reason);
		endpoints_free(old);
		conn_free(lp, c, 1, "blocked by an endpoint rules change");
		return -1;
	}
	endpoints_free(old);
	return 0;
}

void
tcp_sandbox_changed(struct loop *lp)
{
	struct proxy	*px = lp->lp_px;
	struct conn	*c, *next;
	struct policy	*pol;
	const char	*rule;
	char		 reason[REASON_MAX];
	unsigned	 gen;

	for (c = TAILQ_FIRST(&lp->lp_conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, c_all);
		pol = px_sandbox_get(px, c->c_slot, NULL, &gen);
		if (gen == c->c_gen) {
			policy_free(pol);
			continue;
		}
		if (pol == NULL) {
			conn_free(lp, c, 1, "sandbox destroyed");
			continue;
		}
		policy_free(c->c_pol);
		c->c_pol = pol;
		c->c_gen = gen;
		if (c->c_state != CS_RELAY && c->c_state != CS_CONNECT &&
		    c->c_state != CS_MITM) {
			(void)conn_new_eps(lp, c);
			continue;
		}
		if (!conn_eval(lp, c, pol, 1, &rule, reason, sizeof(reason))) {
			conn_audit(c, AUDIT_CONNECT, 0, rule, reason);
			conn_free(lp, c, 1, "blocked by a policy change");
			continue;
		}
		(void)conn_new_eps(lp, c);
	}
}

void
tcp_close_all(struct loop *lp)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&lp->lp_conns)) != NULL)
		conn_free(lp, c, 1, "runner stopping");
	tcp_reap(lp);
}
