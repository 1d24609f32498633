/*
 * proxy_int.h - what proxy.c, tcp.c and udp.c share. Not a contract.
 */
#ifndef ISORUN_PROXY_INT_H
#define ISORUN_PROXY_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <sys/queue.h>

#include "../audit/audit.h"
#include "../peek/peek.h"
#include "proxy.h"

#define PX_ID_MAX	64
#define PX_PIPE_POOL	64	/* empty pipes kept per loop */
#define PX_PIPE_SIZE	(1 << 20) /* asked of each pipe (F_SETPIPE_SZ) */
#define PX_ACCEPT_BURST	16	/* connections accepted per wakeup */
#define PX_ACCEPT_RETRY_MS 50	/* a listener paused for lack of fds */
#define PX_WARN_MS	10000	/* the least between two stderr lines */

/* What an epoll event points at. */
enum pev_kind {
	PEV_TCP_LISTEN,
	PEV_UDP_LISTEN,
	PEV_WAKE,		/* the loop's eventfd */
	PEV_CLIENT,		/* a connection's sandbox side */
	PEV_UPSTREAM,		/* a connection's upstream side */
	PEV_FLOW,		/* a UDP flow's upstream socket */
	PEV_ICMP,		/* one of the ICMP relay's sockets */
};

struct pev {
	enum pev_kind	 kind;
	void		*ptr;
};

/* A sandbox as the proxy sees it: one per slot, shared by the loops. */
struct px_sandbox {
	pthread_mutex_t	 ps_lock;	/* guards ps_pol, ps_eps, ps_id,
					   ps_gen */
	struct policy	*ps_pol;	/* NULL: no sandbox in this slot */
	struct endpoints *ps_eps;	/* NULL: no endpoint rules */
	char		 ps_id[PX_ID_MAX];
	unsigned	 ps_gen;	/* bumped by every set and clear */
	unsigned	 ps_conns;	/* atomic: open TCP connections */
	unsigned	 ps_flows;	/* atomic: UDP flows */
};

/*
 * A timer list: every member has the same timeout, so appending keeps it
 * sorted by deadline and the head is always the next to expire.
 */
struct conn;
TAILQ_HEAD(connq, conn);
struct tlist {
	struct connq	 tl_q;
	unsigned	 tl_ms;
};

enum { TL_FIRST, TL_PEEK, TL_CONNECT, TL_IDLE, TL_DRAIN, TL_LINGER, TL_N };

struct flow;
LIST_HEAD(flowlist, flow);
struct icmp_relay;
struct mitm_sess;
struct px_ratelimit;

struct loop {
	struct proxy	*lp_px;
	pthread_t	 lp_thread;
	int		 lp_epfd;
	int		 lp_wakefd;	/* eventfd: stop, or sandboxes changed */
	int		 lp_tcpfd, lp_udpfd;
	int		 lp_spare;	/* kept open for EMFILE */
	uint64_t	 lp_accept_at;	/* listener paused until (ms): out of
					   descriptors even with the spare */
	struct pev	 lp_ev_tcp, lp_ev_udp, lp_ev_wake;
	struct tlist	 lp_timers[TL_N];
	struct connq	 lp_conns;	/* every open connection */
	struct connq	 lp_dead;	/* closed, freed after the batch of
					   events that may still name them */
	int		 lp_pipes[PX_PIPE_POOL][2]; /* empty pipes to reuse */
	unsigned	 lp_npipes;
	struct flowlist	 lp_flows;
	struct icmp_relay *lp_icmp;	/* loop 0 only */
	struct mitm_sess *lp_sess;	/* intercept.c: upstream TLS sessions
					   to resume, per host and port */
	uint64_t	 lp_now;	/* ms, CLOCK_MONOTONIC, per wakeup */
	unsigned	 lp_seen_gen;	/* px_gen last handled */
};

struct proxy {
	struct gateway		*px_gw;
	struct proxy_config	 px_cfg;
	struct proxy_hooks	 px_hooks;
	const struct pol_guard	*px_guard;
	unsigned		 px_nslots;
	struct px_sandbox	*px_sb;		/* [px_nslots] */
	unsigned		 px_nloops;
	struct loop		*px_loops;
	int			 px_stop;	/* atomic */
	uint64_t		 px_fd_warned;	/* atomic: ms of the last
						   "out of descriptors" line */
	unsigned		 px_gen;	/* atomic: sandbox changes */
	struct proxy_stats	 px_stats;	/* atomic counters */
	struct px_ratelimit	*px_rl;		/* ratelimit.c */
	int			 px_icmp[2];	/* raw ICMP, ICMPv6 sockets in
						   the gateway, for sending */
	/* interception (proxy_intercept_setup; NULL: off) */
	struct tlsca		*px_ca;
	struct secrets		*px_secrets;
	SSL_CTX			*px_upctx;	/* client side, verifying */
};

/* A TCP connection's life. */
enum conn_state {
	CS_PEEK,	/* reading the client's first bytes for a name */
	CS_CONNECT,	/* permitted; upstream connect in progress */
	CS_RELAY,	/* flushing peeked bytes, then splicing both ways */
	CS_MITM,	/* permitted and intercepted (intercept.c): TLS ends
			   here on both sides, each request is checked */
	CS_DRAIN,	/* blocked after a peek: the alert or the 403 was
			   sent and our side shut; reading until the client
			   closes so that it gets them before any reset */
	CS_DEAD,	/* closed; freed after the current batch of events,
			   which may still name it */
};

struct conn {
	struct loop		*c_lp;
	enum conn_state		 c_state;
	int			 c_fd[2];	/* [0] client, [1] upstream */
	struct pev		 c_ev[2];
	int			 c_pipe[2][2];	/* [dir][r/w]; dir 0: up; -1
						   while that way is idle: a
						   pipe is held only while
						   bytes are in it */
	size_t			 c_inpipe[2];
	uint8_t			 c_eof[2];	/* read EOF from side */
	uint8_t			 c_shut[2];	/* shut write on side */
	uint8_t			 c_reset[2];	/* [dir]: its reader was reset;
						   the pipe is flushed first,
						   then the reset passed on */
	uint64_t		 c_rst_at;	/* ms: a reset waits since then
						   for the other side to take
						   what is queued to it
						   (tcp_linger); 0: none */
	unsigned		 c_slot, c_gen;
	struct policy		*c_pol;		/* the deciding policy */
	struct sockaddr_in6	 c_src, c_dst;	/* v4 as v4-mapped */
	struct sockaddr_in6	 c_up;		/* where to connect: c_dst, or
						   an address the runner
						   resolved for the name */
	uint64_t		 c_start;	/* ms */
	uint64_t		 c_accept_ns;	/* for the decision latency */
	uint64_t		 c_bytes[2];	/* [0] up, [1] down */
	/* peek */
	uint8_t			*c_buf;
	size_t			 c_len, c_cap, c_off;
	enum peek_rc		 c_kind;	/* peek_classify() */
	union {
		struct tls_hello	 tls;
		struct http_head	 http;
	}			 c_p;
	/* the name that decided, and where it came from */
	char			 c_name[256];
	uint16_t		 c_namelen;
	enum audit_name_source	 c_namesrc;
	int			 c_held;	/* ph_hold done */
	struct endpoints	*c_eps;		/* the sandbox's endpoint rules
						   at accept (a reference) */
	struct mitm		*c_mitm;	/* CS_MITM */
	/* timers */
	struct tlist		*c_tl;
	uint64_t		 c_deadline;
	TAILQ_ENTRY(conn)	 c_tq;
	TAILQ_ENTRY(conn)	 c_all;
};

/* proxy.c */
uint64_t	px_now_ms(void);
uint64_t	px_now_ns(void);
void		px_timer_set(struct loop *, struct conn *, int which);
void		px_timer_clear(struct loop *, struct conn *);
int		tcp_linger(struct loop *, struct conn *, int fd);
int		px_epoll_add(struct loop *, int fd, uint32_t events,
		    struct pev *);
/* The sandbox's policy (a reference the caller drops) and id, or NULL. */
struct policy	*px_sandbox_get(struct proxy *, unsigned slot, char *id,
		    unsigned *gen);
/* The sandbox's endpoint rules (a reference the caller drops), or NULL. */
struct endpoints *px_sandbox_eps(struct proxy *, unsigned slot);
/*
 * Starts an audit event of the sandbox in `slot` with what every proxy
 * event carries; `id` holds a copy of the sandbox's id for the event.
 */
void		 px_audit_init(struct proxy *, unsigned slot,
		    enum audit_kind, enum audit_proto,
		    const struct sockaddr_in6 *src,
		    const struct sockaddr_in6 *dst, char id[PX_ID_MAX],
		    struct audit_event *ev);
void		 px_addr_target(const struct sockaddr_in6 *, struct pol_target *);
void		 px_sa_unmap(const struct sockaddr_in6 *,
		    struct sockaddr_storage *);
/* The inverse: AF_INET as v4-mapped, AF_INET6 as is; -1 for others. */
int		 px_sa_map(const struct sockaddr_storage *,
		    struct sockaddr_in6 *);
/*
 * Sends ICMP(v6) message `msg` (no IP header) to sandbox address `to` with
 * source address `from` (family 4 or 6: 4 or 16 bytes each), from the
 * gateway; the kernel adds the IP header and fragments. Any thread.
 */
void		 px_icmp_send(struct proxy *, int family, const uint8_t *from,
		    const uint8_t *to, const uint8_t *msg, size_t len);
/*
 * "Administratively prohibited" to sandbox address `to` in `slot`, from its
 * gateway address, quoting `orig` (the refused packet, IP header first).
 */
void		 px_prohibit(struct proxy *, unsigned slot, int family,
		    const uint8_t *to, const uint8_t *orig, size_t origlen);

/* tcp.c */
void	tcp_conn_free(struct loop *, struct conn *, int rst, const char *why);
/* Opens the upstream socket to c_up, connecting; -1: `c` was freed. */
int	tcp_upstream_open(struct loop *, struct conn *);
void	tcp_accept(struct loop *);
void	tcp_accept_resume(struct loop *);
void	tcp_event(struct loop *, struct conn *, int side, uint32_t events);
void	tcp_timeout(struct loop *, struct conn *);
void	tcp_close_all(struct loop *);
void	tcp_reap(struct loop *);
void	tcp_pipes_free(struct loop *);
/* Sandbox `slot` changed: re-decide or close its connections. */
void	tcp_sandbox_changed(struct loop *);

/* intercept.c */
struct mitm;
/*
 * Intercepts `c` (decided, permitted, peeked a ClientHello with SNI naming
 * `h`'s host; `h` lives in c_eps): takes over the peeked bytes, opens the
 * upstream connection and moves `c` to CS_MITM.
 */
void	mitm_start(struct loop *, struct conn *, const struct ep_host *h);
void	mitm_event(struct loop *, struct conn *, int side, uint32_t events);
void	mitm_timeout(struct loop *, struct conn *);
void	mitm_free(struct mitm *);
/* The sandbox's endpoint rules changed: the next request is judged by
 * `h`, the host's entry in the new c_eps. */
void	mitm_rehost(struct mitm *, const struct ep_host *h);
uint64_t mitm_requests(const struct mitm *);
void	mitm_loop_fini(struct loop *);	/* its session cache */

/* udp.c */
void	udp_recv(struct loop *);
void	udp_flow_event(struct loop *, struct flow *);
void	udp_expire(struct loop *);
void	udp_close_all(struct loop *);
void	udp_sandbox_changed(struct loop *);

/* icmp.c: the ICMP relay, on loop 0 */
int	icmp_open(struct loop *, struct ir_err *);
void	icmp_event(struct loop *);
void	icmp_expire(struct loop *);
int	icmp_busy(const struct loop *);	/* sessions to expire */
void	icmp_sandbox_changed(struct loop *);
void	icmp_close_all(struct loop *);
void	icmp_free(struct loop *);

#endif
