/*
 * view.c - the DNS forwarder: listeners in the gateway, one thread with an
 * epoll loop that drives c-ares for the upstream side, per-sandbox policy
 * and name cache.
 *
 * Life of a query: received (UDP recvmsg with the original destination, or
 * a TCP message) -> parsed (dns_query_parse) -> decided by the sandbox's
 * policy under its slot lock -> answered at once, or a fresh query goes
 * to c-ares -> the answer is filtered (dns_answer_filter) and its
 * addresses cached under the slot lock -> the reply leaves, from the
 * address the guest asked, port 53 -> audit event.
 */
#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../audit/audit.h"
#include "dns.h"
#include "dns_int.h"

#define DV_UDP_BATCH	64	/* datagrams per wakeup before looking around */
#define DV_TCP_PENDING	16	/* queries in flight per guest TCP connection */
#define DV_TCP_OUTMAX	(256 * 1024)
#define DV_REASON_MAX	512
#define DV_ACCEPT_RETRY_MS 100	/* the TCP listener paused for lack of fds */

enum dv_evtype { EV_WAKE, EV_UDP, EV_TCPL, EV_USEND, EV_TCP, EV_ARES };

struct dv_ev {
	enum dv_evtype	 e_type;
	int		 e_fd;
};

struct dv_sb {
	char		 sb_id[DNSVIEW_ID_MAX + 1];
	struct dns_pol	 sb_pol;
	unsigned	 sb_flags;
	struct dcache	*sb_cache;
	struct acache	*sb_answers;
	/* the query rate limit: a token bucket (dc_sb_qps, dc_sb_burst) */
	double		 sb_tokens;
	uint64_t	 sb_tok_ms;
	uint64_t	 sb_limited;	/* refused since the last report */
	struct sockaddr_storage sb_lim_peer;	/* the last one's source */
};

struct dv_slot {
	pthread_mutex_t	 s_lock;
	struct dv_sb	*s_sb;		/* NULL: no sandbox */
	uint32_t	 s_gen;		/* bumped when a sandbox goes */
	unsigned	 s_inflight;	/* view thread only */
};

struct dv_tcp {
	struct dv_ev		 t_ev;
	TAILQ_ENTRY(dv_tcp)	 t_link;
	unsigned		 t_slot;
	struct sockaddr_storage	 t_peer, t_dst;
	uint8_t			*t_in;
	size_t			 t_inlen, t_incap;
	uint8_t			*t_out;
	size_t			 t_outlen, t_outcap;
	unsigned		 t_pending;
	unsigned		 t_refs;	/* the connection + queries */
	int			 t_closed;
	int			 t_eof;		/* the guest half-closed */
	int			 t_busy;	/* in tcp_messages() */
	uint64_t		 t_last;
	uint32_t		 t_events;
};

struct dv_query {
	TAILQ_ENTRY(dv_query)	 q_link;	/* by deadline, while waiting */
	struct dnsview		*q_dv;
	uint64_t		 q_deadline;
	int			 q_done;	/* answered: the deadline hit */
	unsigned		 q_slot;
	uint32_t		 q_gen;
	uint16_t		 q_upid;
	struct dv_tcp		*q_conn;	/* NULL: UDP */
	struct sockaddr_storage	 q_peer, q_dst;
	struct dns_query	 q_q;
	char			 q_sbid[DNSVIEW_ID_MAX + 1];
	struct policy		*q_pol;		/* the one that let it through */
	struct pol_decision	 q_d;
	char			 q_name[DNS_TEXT_MAX];
	size_t			 q_namelen;
	int			 q_cached;	/* answered from sb_answers */
	uint32_t		 q_age;		/* that kept answer's, s */
};

struct dv_asock {
	struct dv_ev		 a_ev;
	LIST_ENTRY(dv_asock)	 a_link;
};

struct dnsview {
	struct gateway		*dv_gw;
	struct dnsview_config	 dv_conf;
	char			*dv_servers;
	const struct pol_guard	*dv_guard;
	unsigned		 dv_nslots;
	struct dv_slot		*dv_slots;
	int			 dv_ep;
	struct dv_ev		 dv_wake, dv_udp, dv_tcpl, dv_usend;
	pthread_t		 dv_thread;
	int			 dv_started;
	int			 dv_stop;
	ares_channel		 dv_ares;
	int			 dv_ares_ok;
	LIST_HEAD(, dv_asock)	 dv_asocks;
	TAILQ_HEAD(, dv_query)	 dv_waiting;
	unsigned		 dv_npending;
	TAILQ_HEAD(, dv_tcp)	 dv_conns;
	unsigned		 dv_nconns;
	uint64_t		 dv_next_sweep;
	int			 dv_spare;	/* kept open for EMFILE */
	uint64_t		 dv_tcpl_paused; /* ms: the TCP listener is out
					   of epoll till then (no fds) */
	uint8_t			 dv_ids[65536 / 8];	/* upstream ids in use */
	uint16_t		 dv_rnd[256];
	unsigned		 dv_nrnd;
	struct dnsview_stats	 dv_stats;
	/* scratch of the view thread */
	uint8_t			 dv_buf[DNS_MSG_MAX + 1];
	uint8_t			 dv_out[DNS_MSG_MAX + 2];
	uint8_t			 dv_kept[AC_MSG_MAX];	/* a cached answer */
	struct dns_msg		 dv_msg;
	struct dns_answer	 dv_ans;
};

#define STAT(dv, f)	__atomic_add_fetch(&(dv)->dv_stats.f, 1, \
			    __ATOMIC_RELAXED)

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
dnsview_config_default(struct dnsview_config *c)
{
	memset(c, 0, sizeof(*c));
	c->dc_port = 15053;
	c->dc_timeout_ms = 400;
	c->dc_tries = 2;
	c->dc_deadline_ms = 1500;
	c->dc_ttl_floor_s = 60;
	c->dc_ttl_max_s = 86400;
	c->dc_cache_max = 4096;
	c->dc_answers_max = 128 * 1024;
	c->dc_answers_ttl_max_s = 3600;
	c->dc_sb_qps = 2000;
	c->dc_sb_burst = 4000;
	c->dc_max_pending = 4096;
	c->dc_sb_pending = 256;
	c->dc_tcp_max = 256;
	c->dc_tcp_idle_ms = 10000;
}

/* sockaddr -> (family 4/6, 16 bytes); v4-mapped is IPv4. */
static int
sa_key(const struct sockaddr *sa, uint8_t *family, uint8_t addr[16])
{
	const struct sockaddr_in	*s4 = (const void *)sa;
	const struct sockaddr_in6	*s6 = (const void *)sa;

	memset(addr, 0, 16);
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		*family = 4;
		memcpy(addr, &s4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		*family = 4;
		memcpy(addr, &s6->sin6_addr.s6_addr[12], 4);
	} else {
		*family = 6;
		memcpy(addr, &s6->sin6_addr, 16);
	}
	return 0;
}

/* A v4-mapped AF_INET6 becomes AF_INET (for audit events). */
static void
sa_unmap(const struct sockaddr_storage *in, struct sockaddr_storage *out)
{
	const struct sockaddr_in6	*s6 = (const void *)in;
	struct sockaddr_in		*s4 = (struct sockaddr_in *)out;

	if (in->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memset(out, 0, sizeof(*out));
		s4->sin_family = AF_INET;
		s4->sin_port = s6->sin6_port;
		memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	} else
		*out = *in;
}

/* ---- per-sandbox state, for every thread ---- */

static struct dv_slot *
slot_lock(struct dnsview *dv, unsigned slot)
{
	struct dv_slot	*s;

	if (slot >= dv->dv_nslots)
		return NULL;
	s = &dv->dv_slots[slot];
	pthread_mutex_lock(&s->s_lock);
	if (s->s_sb == NULL) {
		pthread_mutex_unlock(&s->s_lock);
		return NULL;
	}
	return s;
}

static void
sb_free(struct dv_sb *sb)
{
	if (sb == NULL)
		return;
	dcache_free(sb->sb_cache);
	acache_free(sb->sb_answers);
	dns_pol_clear(&sb->sb_pol);
	free(sb);
}

static uint64_t
rnd64(void)
{
	uint64_t	 v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = now_ms() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)&v;
	return v;
}

/*
 * The query rate limit. A sandbox's queries take a token each from a
 * bucket of dc_sb_burst filled at dc_sb_qps; without one the query gets
 * REFUSED at once (not forwarded, not decided) and is counted, and the
 * counts become one audit event per sandbox and second (rule
 * "rate-limit", with the count), like the gateway's for connections.
 * Called with the slot locked. 1: go on.
 */
static int
rate_take(const struct dnsview_config *c, struct dv_sb *sb, uint64_t now)
{
	if (c->dc_sb_qps == 0)
		return 1;
	if (now > sb->sb_tok_ms) {
		sb->sb_tokens += (double)(now - sb->sb_tok_ms) * c->dc_sb_qps /
		    1000.0;
		if (sb->sb_tokens > c->dc_sb_burst)
			sb->sb_tokens = c->dc_sb_burst;
		sb->sb_tok_ms = now;
	}
	if (sb->sb_tokens < 1.0)
		return 0;
	sb->sb_tokens -= 1.0;
	return 1;
}

static void
limited_report(struct dnsview *dv, const char *id,
    const struct sockaddr_storage *peer, uint64_t n)
{
	struct audit_event	 ev;
	char			 reason[160];

	memset(&ev, 0, sizeof(ev));
	ev.ae_sandbox = id;
	ev.ae_kind = AUDIT_DNS;
	ev.ae_proto = AUDIT_DNS_PROTO;
	sa_unmap(peer, &ev.ae_src);
	ev.ae_name_source = AUDIT_NAME_DNS;
	ev.ae_allowed = 0;
	ev.ae_rule = "rate-limit";
	snprintf(reason, sizeof(reason), "%llu DNS queries over the "
	    "sandbox's limit of %u/s (burst %u) refused",
	    (unsigned long long)n, dv->dv_conf.dc_sb_qps,
	    dv->dv_conf.dc_sb_burst);
	ev.ae_reason = reason;
	ev.ae_rcode = dns_rcode_name(DNS_REFUSED);
	ev.ae_count = n;
	audit_emit(&ev);
}

/* Once a second: the counts of refused queries, per sandbox. */
static void
limited_sweep(struct dnsview *dv)
{
	struct sockaddr_storage	 peer;
	char			 id[DNSVIEW_ID_MAX + 1];
	uint64_t		 n;

	for (unsigned i = 0; i < dv->dv_nslots; i++) {
		struct dv_slot	*s = &dv->dv_slots[i];

		pthread_mutex_lock(&s->s_lock);
		n = 0;
		if (s->s_sb != NULL && (n = s->s_sb->sb_limited) > 0) {
			s->s_sb->sb_limited = 0;
			snprintf(id, sizeof(id), "%s", s->s_sb->sb_id);
			peer = s->s_sb->sb_lim_peer;
		}
		pthread_mutex_unlock(&s->s_lock);
		if (n > 0)
			limited_report(dv, id, &peer, n);
	}
}

/* Keep a cache pair only if the new policy lets its address through with
 * its name. */
static int
keep_pair(void *arg, uint8_t family, const uint8_t *addr, const char *name,
    size_t len)
{
	const struct dv_sb	*sb = arg;
	struct pol_name		 pn = { name, len };
	struct pol_target	 t;
	struct pol_decision	 d;

	memset(&t, 0, sizeof(t));
	t.family = family;
	memcpy(t.addr, addr, 16);
	t.names = &pn;
	t.nnames = 1;
	return dns_pol_addr(&sb->sb_pol, NULL, &t, &d);
}

int
dnsview_sandbox_set(struct dnsview *dv, unsigned slot, const char *id,
    struct policy *p, unsigned flags, struct ir_err *err)
{
	struct dns_pol	 np, old;
	struct dv_slot	*s;
	struct dv_sb	*sb, *fresh = NULL;

	if (slot >= dv->dv_nslots)
		return err_set(err, EINVAL, "DNS view: slot %u out of range "
		    "(%u slots)", slot, dv->dv_nslots);
	if (p == NULL)
		return err_set(err, EINVAL, "DNS view: slot %u: no policy",
		    slot);
	if (dns_pol_init(&np, p, err) == -1)
		return -1;
	if ((fresh = calloc(1, sizeof(*fresh))) == NULL ||
	    (fresh->sb_cache = dcache_new(dv->dv_conf.dc_cache_max,
	    rnd64())) == NULL ||
	    (fresh->sb_answers = acache_new(dv->dv_conf.dc_answers_max,
	    dv->dv_conf.dc_answers_ttl_max_s, rnd64())) == NULL) {
		sb_free(fresh);
		dns_pol_clear(&np);
		return err_set(err, ENOMEM, "DNS view: slot %u: out of memory",
		    slot);
	}
	fresh->sb_tokens = dv->dv_conf.dc_sb_burst;
	fresh->sb_tok_ms = now_ms();
	s = &dv->dv_slots[slot];
	pthread_mutex_lock(&s->s_lock);
	memset(&old, 0, sizeof(old));
	if ((sb = s->s_sb) == NULL) {
		sb = s->s_sb = fresh;
		fresh = NULL;
	} else
		old = sb->sb_pol;
	sb->sb_pol = np;
	sb->sb_flags = flags;
	snprintf(sb->sb_id, sizeof(sb->sb_id), "%s", id != NULL ? id : "");
	if (old.dp_policy != NULL)
		dcache_filter(sb->sb_cache, keep_pair, sb);
	pthread_mutex_unlock(&s->s_lock);
	if (old.dp_policy != NULL)
		dns_pol_clear(&old);
	sb_free(fresh);
	return 0;
}

void
dnsview_sandbox_clear(struct dnsview *dv, unsigned slot)
{
	struct dv_slot	*s;
	struct dv_sb	*sb;

	if (slot >= dv->dv_nslots)
		return;
	s = &dv->dv_slots[slot];
	pthread_mutex_lock(&s->s_lock);
	sb = s->s_sb;
	s->s_sb = NULL;
	s->s_gen++;
	pthread_mutex_unlock(&s->s_lock);
	if (sb != NULL && sb->sb_limited > 0)
		limited_report(dv, sb->sb_id, &sb->sb_lim_peer, sb->sb_limited);
	sb_free(sb);
}

size_t
dnsview_names(struct dnsview *dv, unsigned slot, const struct sockaddr *addr,
    struct pol_name *names, size_t max, char *buf, size_t buflen)
{
	struct dv_slot	*s;
	uint8_t		 fam, a[16];
	size_t		 n;

	if (sa_key(addr, &fam, a) == -1 || (s = slot_lock(dv, slot)) == NULL)
		return 0;
	n = dcache_names(s->s_sb->sb_cache, now_ms(), fam, a, names, max, buf,
	    buflen);
	pthread_mutex_unlock(&s->s_lock);
	return n;
}

int
dnsview_maps(struct dnsview *dv, unsigned slot, const char *name,
    size_t len, const struct sockaddr *addr)
{
	struct dv_slot	*s;
	uint8_t		 fam, a[16];
	int		 r;

	if (sa_key(addr, &fam, a) == -1 || (s = slot_lock(dv, slot)) == NULL)
		return 0;
	r = dcache_maps(s->s_sb->sb_cache, now_ms(), fam, a, name, len);
	pthread_mutex_unlock(&s->s_lock);
	return r;
}

size_t
dnsview_addrs(struct dnsview *dv, unsigned slot, const char *name,
    size_t len, struct sockaddr_storage *out, size_t max)
{
	struct dcache_addr	 a[64];
	struct dv_slot		*s;
	size_t			 n, i;

	if ((s = slot_lock(dv, slot)) == NULL)
		return 0;
	n = dcache_addrs(s->s_sb->sb_cache, now_ms(), name, len, a,
	    max < 64 ? max : 64);
	pthread_mutex_unlock(&s->s_lock);
	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		if (a[i].family == 4) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&out[i];

			s4->sin_family = AF_INET;
			memcpy(&s4->sin_addr, a[i].addr, 4);
		} else {
			struct sockaddr_in6 *s6 =
			    (struct sockaddr_in6 *)&out[i];

			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, a[i].addr, 16);
		}
	}
	return n;
}

void
dnsview_hold(struct dnsview *dv, unsigned slot, const struct sockaddr *addr)
{
	struct dv_slot	*s;
	uint8_t		 fam, a[16];

	if (sa_key(addr, &fam, a) == -1 || (s = slot_lock(dv, slot)) == NULL)
		return;
	dcache_hold(s->s_sb->sb_cache, fam, a);
	pthread_mutex_unlock(&s->s_lock);
}

void
dnsview_release(struct dnsview *dv, unsigned slot,
    const struct sockaddr *addr)
{
	struct dv_slot	*s;
	uint8_t		 fam, a[16];

	if (sa_key(addr, &fam, a) == -1 || (s = slot_lock(dv, slot)) == NULL)
		return;
	dcache_release(s->s_sb->sb_cache, fam, a);
	pthread_mutex_unlock(&s->s_lock);
}

void
dnsview_stats(struct dnsview *dv, struct dnsview_stats *out)
{
	uint64_t	*src = (uint64_t *)&dv->dv_stats, *dst = (uint64_t *)out;
	size_t		 i;

	for (i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

/* ---- audit ---- */

struct dv_audit {
	const char		*sbid;
	const struct sockaddr_storage *peer, *dst;
	const char		*qname;
	size_t			 qnamelen;
	uint16_t		 qtype;
};

static void
audit_dns(const struct dv_audit *a, int allowed, const char *rule,
    const char *reason, int rcode, const struct sockaddr_storage *dst)
{
	struct audit_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.ae_sandbox = a->sbid;
	ev.ae_kind = AUDIT_DNS;
	ev.ae_proto = AUDIT_DNS_PROTO;
	sa_unmap(a->peer, &ev.ae_src);
	sa_unmap(dst != NULL ? dst : a->dst, &ev.ae_dst);
	ev.ae_name = a->qname;
	ev.ae_namelen = a->qnamelen;
	ev.ae_name_source = AUDIT_NAME_DNS;
	ev.ae_allowed = allowed;
	ev.ae_rule = rule;
	ev.ae_reason = reason;
	ev.ae_qname = a->qname;
	ev.ae_qtype = a->qtype;
	ev.ae_rcode = dns_rcode_name(rcode);
	audit_emit(&ev);
}

static void
explain(const struct policy *p, const struct pol_decision *d,
    uint8_t family, const uint8_t *addr, const struct pol_name *names,
    size_t nnames, char *buf, size_t len)
{
	struct pol_target	 t;

	memset(&t, 0, sizeof(t));
	t.family = family;
	if (addr != NULL)
		memcpy(t.addr, addr, 16);
	t.names = names;
	t.nnames = nnames;
	t.port = d->basis == POL_BY_RULE ? d->rule->port : 0;
	policy_explain(p, &t, d, buf, len);
}

/* ---- replies ---- */

static void tcp_unref(struct dnsview *, struct dv_tcp *);
static void tcp_close(struct dnsview *, struct dv_tcp *);
static void tcp_events(struct dnsview *, struct dv_tcp *);
static void tcp_messages(struct dnsview *, struct dv_tcp *);

/* From the address the guest sent to, port 53: the reply socket is
 * transparent and the source comes in a PKTINFO control message. */
static void
udp_reply(struct dnsview *dv, const struct sockaddr_storage *peer,
    const struct sockaddr_storage *dst, const uint8_t *buf, size_t len)
{
	union {
		struct cmsghdr	 c;
		char		 b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	}			 cbuf;
	struct iovec		 iov = { (void *)buf, len };
	struct msghdr		 m;
	struct cmsghdr		*c;
	struct in6_pktinfo	 pi;
	const struct sockaddr_in *d4 = (const void *)dst;
	const struct sockaddr_in6 *d6 = (const void *)dst;

	memset(&m, 0, sizeof(m));
	memset(&cbuf, 0, sizeof(cbuf));
	memset(&pi, 0, sizeof(pi));
	m.msg_name = (void *)peer;
	m.msg_namelen = sizeof(struct sockaddr_in6);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf.b;
	m.msg_controllen = sizeof(cbuf.b);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	if (dst->ss_family == AF_INET) {
		pi.ipi6_addr.s6_addr[10] = 0xff;
		pi.ipi6_addr.s6_addr[11] = 0xff;
		memcpy(&pi.ipi6_addr.s6_addr[12], &d4->sin_addr, 4);
	} else
		pi.ipi6_addr = d6->sin6_addr;
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	if (sendmsg(dv->dv_usend.e_fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
		STAT(dv, ds_dropped);
}

static void
tcp_reply(struct dnsview *dv, struct dv_tcp *t, const uint8_t *buf,
    size_t len)
{
	uint8_t		 hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	size_t		 need, off = 0;
	ssize_t		 n;
	uint8_t		*nb;

	if (t->t_closed)
		return;
	if (t->t_outlen == 0) {
		struct iovec iov[2] = { { hdr, 2 }, { (void *)buf, len } };

		n = writev(t->t_ev.e_fd, iov, 2);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			tcp_close(dv, t);
			return;
		}
		off = n > 0 ? (size_t)n : 0;
		if (off == len + 2)
			return;
	}
	need = t->t_outlen + len + 2 - off;
	if (need > DV_TCP_OUTMAX) {
		tcp_close(dv, t);
		return;
	}
	if (need > t->t_outcap) {
		if ((nb = realloc(t->t_out, need)) == NULL) {
			tcp_close(dv, t);
			return;
		}
		t->t_out = nb;
		t->t_outcap = need;
	}
	for (; off < len + 2; off++)
		t->t_out[t->t_outlen++] = off < 2 ? hdr[off] : buf[off - 2];
	tcp_events(dv, t);
}

static void
reply(struct dnsview *dv, struct dv_tcp *t,
    const struct sockaddr_storage *peer, const struct sockaddr_storage *dst,
    const uint8_t *buf, size_t len)
{
	if (len == 0)
		return;
	if (t != NULL)
		tcp_reply(dv, t, buf, len);
	else
		udp_reply(dv, peer, dst, buf, len);
}

static void
reply_rcode(struct dnsview *dv, struct dv_tcp *t,
    const struct sockaddr_storage *peer, const struct sockaddr_storage *dst,
    const struct dns_query *q, int rcode)
{
	uint8_t		 out[DNS_HDR_LEN + DNS_NAME_MAX + 4 + 11];

	reply(dv, t, peer, dst, out, dns_reply_error(q, rcode, out,
	    sizeof(out)));
}

/* ---- upstream ---- */

static uint16_t
id_new(struct dnsview *dv)
{
	uint16_t	 id;
	int		 tries;

	for (tries = 0; tries < 64; tries++) {
		if (dv->dv_nrnd == 0) {
			if (getrandom(dv->dv_rnd, sizeof(dv->dv_rnd), 0) !=
			    (ssize_t)sizeof(dv->dv_rnd)) {
				for (unsigned i = 0; i < 256; i++)
					dv->dv_rnd[i] = (uint16_t)rnd64();
			}
			dv->dv_nrnd = 256;
		}
		id = dv->dv_rnd[--dv->dv_nrnd];
		if (!(dv->dv_ids[id >> 3] & (1 << (id & 7))))
			break;
	}
	dv->dv_ids[id >> 3] |= (uint8_t)(1 << (id & 7));
	return id;
}

static void
query_free(struct dnsview *dv, struct dv_query *q)
{
	dv->dv_ids[q->q_upid >> 3] &= (uint8_t)~(1 << (q->q_upid & 7));
	if (q->q_slot < dv->dv_nslots && dv->dv_slots[q->q_slot].s_inflight)
		dv->dv_slots[q->q_slot].s_inflight--;
	dv->dv_npending--;
	if (q->q_conn != NULL) {
		/* Messages may wait in its buffer for a free slot. */
		q->q_conn->t_pending--;
		if (!q->q_conn->t_closed && !dv->dv_stop) {
			tcp_messages(dv, q->q_conn);
			tcp_events(dv, q->q_conn);
		}
		tcp_unref(dv, q->q_conn);
	}
	policy_free(q->q_pol);
	free(q);
}

static void
query_audit_init(const struct dv_query *q, struct dv_audit *a)
{
	a->sbid = q->q_sbid;
	a->peer = &q->q_peer;
	a->dst = &q->q_dst;
	a->qname = q->q_name;
	a->qnamelen = q->q_namelen;
	a->qtype = q->q_q.q_type;
}

static void
query_servfail(struct dnsview *dv, struct dv_query *q, const char *why)
{
	struct dv_audit	 a;
	char		 reason[DV_REASON_MAX];

	STAT(dv, ds_servfail);
	reply_rcode(dv, q->q_conn, &q->q_peer, &q->q_dst, &q->q_q,
	    DNS_SERVFAIL);
	query_audit_init(q, &a);
	snprintf(reason, sizeof(reason), "upstream failed: %s", why);
	audit_dns(&a, 1, pol_decision_rule(&q->q_d), reason, DNS_SERVFAIL,
	    NULL);
}

static void
answer_audit(const struct dv_query *q, const struct policy *p,
    const struct dns_answer *ans)
{
	struct dv_audit		 a;
	struct sockaddr_storage	 ss;
	const struct dns_strip	*st;
	char			 reason[DV_REASON_MAX], why[DV_REASON_MAX];
	size_t			 i;

	query_audit_init(q, &a);
	explain(q->q_pol, &q->q_d, 0, NULL, ans->a_names, 1, why,
	    sizeof(why));
	snprintf(reason, sizeof(reason), "%s: %s; %zu address(es) "
	    "kept, %zu stripped%s", q->q_cached ? "answered from the cache" :
	    "forwarded", why, ans->a_nmaps, ans->a_stripped,
	    ans->a_truncated ? "; truncated for UDP" : "");
	audit_dns(&a, 1, pol_decision_rule(&q->q_d), reason, ans->a_rcode,
	    NULL);
	for (i = 0; i < ans->a_nstrip; i++) {
		st = &ans->a_strip[i];
		memset(&ss, 0, sizeof(ss));
		if (st->st_family == 4) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			memcpy(&s4->sin_addr, st->st_addr, 4);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, st->st_addr, 16);
		}
		explain(p, &st->st_d, st->st_family, st->st_addr,
		    ans->a_names, ans->a_nnames, why, sizeof(why));
		snprintf(reason, sizeof(reason), "address stripped from the "
		    "answer: %s", why);
		audit_dns(&a, 0, pol_decision_rule(&st->st_d), reason,
		    ans->a_rcode, &ss);
	}
}

/* The upstream answered, or its answer was kept: filter (with the policy
 * of now), write the name cache, keep the answer, then reply. */
static void
query_answer(struct dnsview *dv, struct dv_query *q, const uint8_t *ab,
    size_t alen)
{
	struct dns_answer	*ans = &dv->dv_ans;
	struct dv_slot		*s = &dv->dv_slots[q->q_slot];
	struct dv_sb		*sb;
	struct policy		*p;
	const struct dnsview_config *c = &dv->dv_conf;
	size_t			 maxlen, failed = 0;
	uint64_t		 now = now_ms();
	int			 len;

	maxlen = q->q_conn != NULL ? DNS_MSG_MAX : q->q_q.q_udpmax;
	pthread_mutex_lock(&s->s_lock);
	if ((sb = s->s_sb) == NULL || s->s_gen != q->q_gen) {
		pthread_mutex_unlock(&s->s_lock);
		STAT(dv, ds_dropped);
		return;
	}
	len = dns_answer_filter_aged(&q->q_q, ab, alen, q->q_age, &sb->sb_pol,
	    dv->dv_guard, dv->dv_out, maxlen, ans, &dv->dv_msg);
	p = policy_hold(sb->sb_pol.dp_policy);
	if (len > 0) {
		failed = dns_answer_cache(ans, sb->sb_cache, now,
		    c->dc_ttl_floor_s, c->dc_ttl_max_s);
		if (!q->q_cached)
			(void)acache_put(sb->sb_answers, now, &dv->dv_msg);
	}
	pthread_mutex_unlock(&s->s_lock);
	if (len <= 0) {
		query_servfail(dv, q, "unusable answer");
		policy_free(p);
		return;
	}
	reply(dv, q->q_conn, &q->q_peer, &q->q_dst, dv->dv_out, (size_t)len);
	__atomic_add_fetch(&dv->dv_stats.ds_stripped, ans->a_stripped,
	    __ATOMIC_RELAXED);
	__atomic_add_fetch(&dv->dv_stats.ds_cache_full, failed,
	    __ATOMIC_RELAXED);
	answer_audit(q, p, ans);
	policy_free(p);
}

/* A question asked again within its answer's TTL: the kept answer, through
 * the same filter, without going upstream. */
static void
answer_kept(struct dnsview *dv, unsigned slot, uint32_t gen, struct dv_tcp *t,
    const struct sockaddr_storage *peer, const struct sockaddr_storage *dst,
    const struct dns_query *qq, const char *sbid, struct policy *p,
    const struct pol_decision *d, const char *name, size_t nlen, size_t kept,
    uint32_t age)
{
	struct dv_query	 q;

	memset(&q, 0, sizeof(q));
	q.q_dv = dv;
	q.q_slot = slot;
	q.q_gen = gen;
	q.q_conn = t;
	q.q_peer = *peer;
	q.q_dst = *dst;
	q.q_q = *qq;
	q.q_pol = p;
	q.q_d = *d;
	snprintf(q.q_sbid, sizeof(q.q_sbid), "%s", sbid);
	memcpy(q.q_name, name, nlen + 1);
	q.q_namelen = nlen;
	q.q_cached = 1;
	q.q_age = age;
	STAT(dv, ds_cached);
	query_answer(dv, &q, dv->dv_kept, kept);
}

static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dv_query	*q = arg;
	struct dnsview	*dv = q->q_dv;

	(void)timeouts;
	if (status == ARES_EDESTRUCTION || q->q_done) {
		if (!q->q_done)
			TAILQ_REMOVE(&dv->dv_waiting, q, q_link);
		query_free(dv, q);
		return;
	}
	TAILQ_REMOVE(&dv->dv_waiting, q, q_link);
	if (status == ARES_SUCCESS && abuf != NULL && alen > 0)
		query_answer(dv, q, abuf, (size_t)alen);
	else
		query_servfail(dv, q, ares_strerror(status));
	query_free(dv, q);
}

/* Past the deadline: SERVFAIL now; c-ares still owns the query. */
static void
queries_expire(struct dnsview *dv, uint64_t now)
{
	struct dv_query	*q;

	while ((q = TAILQ_FIRST(&dv->dv_waiting)) != NULL &&
	    q->q_deadline <= now) {
		TAILQ_REMOVE(&dv->dv_waiting, q, q_link);
		q->q_done = 1;
		query_servfail(dv, q, "no answer in time");
	}
}

static void
forward(struct dnsview *dv, struct dv_query *q)
{
	uint8_t		 buf[DNS_HDR_LEN + DNS_NAME_MAX + 4 + 11];
	size_t		 len;

	q->q_upid = id_new(dv);
	len = dns_query_build(&q->q_q, q->q_upid, buf, sizeof(buf));
	q->q_deadline = now_ms() + dv->dv_conf.dc_deadline_ms;
	TAILQ_INSERT_TAIL(&dv->dv_waiting, q, q_link);
	dv->dv_npending++;
	dv->dv_slots[q->q_slot].s_inflight++;
	if (q->q_conn != NULL) {
		q->q_conn->t_refs++;
		q->q_conn->t_pending++;
	}
	STAT(dv, ds_forwarded);
	/* May call on_answer() at once (no server, no memory). */
	ares_send(dv->dv_ares, buf, (int)len, on_answer, q);
}

/* ---- queries ---- */

static void
query_in(struct dnsview *dv, unsigned slot, struct dv_tcp *t,
    const struct sockaddr_storage *peer, const struct sockaddr_storage *dst,
    const uint8_t *buf, size_t len)
{
	struct dns_query	 qq;
	struct dv_query		*q;
	struct dv_slot		*s;
	struct dv_audit		 a;
	struct pol_decision	 d;
	struct pol_name		 pn;
	struct policy		*p;
	char			 name[DNS_TEXT_MAX], sbid[DNSVIEW_ID_MAX + 1];
	char			 reason[DV_REASON_MAX], why[DV_REASON_MAX];
	const char		*perr;
	size_t			 nlen, kept = 0;
	unsigned		 flags;
	uint32_t		 gen, age = 0;
	uint64_t		 now;
	int			 rc, fwd;

	rc = dns_query_parse(buf, len, &qq, &dv->dv_msg, &perr);
	if (rc == -1) {
		STAT(dv, ds_dropped);
		return;
	}
	nlen = qq.q_hasq ? dns_name_text(&qq.q_name, name, sizeof(name)) : 0;
	name[nlen] = '\0';
	a.peer = peer;
	a.dst = dst;
	a.qname = name;
	a.qnamelen = nlen;
	a.qtype = qq.q_type;
	if ((s = slot_lock(dv, slot)) == NULL) {
		STAT(dv, ds_errors);
		reply_rcode(dv, t, peer, dst, &qq, DNS_REFUSED);
		return;
	}
	snprintf(sbid, sizeof(sbid), "%s", s->s_sb->sb_id);
	a.sbid = sbid;
	now = now_ms();
	if (!rate_take(&dv->dv_conf, s->s_sb, now)) {
		s->s_sb->sb_limited++;
		s->s_sb->sb_lim_peer = *peer;
		pthread_mutex_unlock(&s->s_lock);
		STAT(dv, ds_limited);
		reply_rcode(dv, t, peer, dst, &qq, DNS_REFUSED);
		return;
	}
	if (rc > 0) {
		pthread_mutex_unlock(&s->s_lock);
		STAT(dv, ds_errors);
		reply_rcode(dv, t, peer, dst, &qq, rc);
		snprintf(reason, sizeof(reason), "not answered: %s", perr);
		audit_dns(&a, 0, "default", reason, rc, NULL);
		return;
	}
	STAT(dv, ds_queries);
	fwd = dns_pol_name(&s->s_sb->sb_pol, name, nlen, &d);
	flags = s->s_sb->sb_flags;
	gen = s->s_gen;
	p = policy_hold(s->s_sb->sb_pol.dp_policy);
	if (fwd)
		kept = acache_get(s->s_sb->sb_answers, now, &qq.q_name,
		    qq.q_type, dv->dv_kept, sizeof(dv->dv_kept), &age);
	pthread_mutex_unlock(&s->s_lock);
	if (!fwd) {
		rc = (flags & DNSVIEW_REFUSE) ? DNS_REFUSED : DNS_NXDOMAIN;
		STAT(dv, ds_blocked);
		reply_rcode(dv, t, peer, dst, &qq, rc);
		pn.s = name;
		pn.len = nlen;
		explain(p, &d, 0, NULL, &pn, 1, why, sizeof(why));
		snprintf(reason, sizeof(reason), "not forwarded: %s", why);
		audit_dns(&a, 0, pol_decision_rule(&d), reason, rc, NULL);
		policy_free(p);
		return;
	}
	if (kept > 0) {
		answer_kept(dv, slot, gen, t, peer, dst, &qq, sbid, p, &d,
		    name, nlen, kept, age);
		policy_free(p);
		return;
	}
	if (dv->dv_npending >= dv->dv_conf.dc_max_pending ||
	    dv->dv_slots[slot].s_inflight >= dv->dv_conf.dc_sb_pending ||
	    (q = calloc(1, sizeof(*q))) == NULL) {
		STAT(dv, ds_servfail);
		reply_rcode(dv, t, peer, dst, &qq, DNS_SERVFAIL);
		audit_dns(&a, 1, pol_decision_rule(&d),
		    "too many queries in flight", DNS_SERVFAIL, NULL);
		policy_free(p);
		return;
	}
	q->q_dv = dv;
	q->q_slot = slot;
	q->q_gen = gen;
	q->q_conn = t;
	q->q_peer = *peer;
	q->q_dst = *dst;
	q->q_q = qq;
	q->q_pol = p;
	q->q_d = d;
	memcpy(q->q_sbid, sbid, sizeof(sbid));
	memcpy(q->q_name, name, nlen + 1);
	q->q_namelen = nlen;
	forward(dv, q);
}

static void
udp_in(struct dnsview *dv)
{
	struct sockaddr_storage	 peer, dst;
	ssize_t			 n;
	int			 i, slot, trunc;

	for (i = 0; i < DV_UDP_BATCH; i++) {
		if ((n = gateway_recv(dv->dv_udp.e_fd, dv->dv_buf,
		    sizeof(dv->dv_buf), MSG_DONTWAIT, &peer, &dst,
		    &trunc)) == -1)
			return;
		if (dst.ss_family == AF_UNSPEC || trunc ||
		    (slot = gateway_slot_of(dv->dv_gw,
		    (struct sockaddr *)&peer)) < 0) {
			STAT(dv, ds_dropped);
			continue;
		}
		query_in(dv, (unsigned)slot, NULL, &peer, &dst, dv->dv_buf,
		    (size_t)n);
	}
}

/* Nothing should arrive on the reply socket (TPROXY never picks an
 * unconnected socket); drain whatever does. */
static void
usend_in(struct dnsview *dv)
{
	int	 i;

	for (i = 0; i < DV_UDP_BATCH; i++)
		if (recv(dv->dv_usend.e_fd, dv->dv_buf, sizeof(dv->dv_buf),
		    MSG_DONTWAIT) == -1)
			return;
}

/* ---- guest TCP ---- */

static void
tcp_events(struct dnsview *dv, struct dv_tcp *t)
{
	struct epoll_event	 ev;
	uint32_t		 want = 0;

	if (t->t_closed)
		return;
	if (t->t_eof && t->t_pending == 0 && t->t_outlen == 0) {
		tcp_close(dv, t);
		return;
	}
	if (t->t_pending < DV_TCP_PENDING && !t->t_eof)
		want |= EPOLLIN;
	if (t->t_outlen > 0)
		want |= EPOLLOUT;
	if (want == t->t_events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = &t->t_ev;
	if (epoll_ctl(dv->dv_ep, EPOLL_CTL_MOD, t->t_ev.e_fd, &ev) == 0)
		t->t_events = want;
}

/* Not inlined: -Wuse-after-free cannot follow the reference count. */
static __attribute__((noinline)) void
tcp_unref(struct dnsview *dv, struct dv_tcp *t)
{
	if (--t->t_refs > 0)
		return;
	(void)dv;
	free(t->t_in);
	free(t->t_out);
	free(t);
}

static void
tcp_close(struct dnsview *dv, struct dv_tcp *t)
{
	if (t->t_closed)
		return;
	t->t_closed = 1;
	epoll_ctl(dv->dv_ep, EPOLL_CTL_DEL, t->t_ev.e_fd, NULL);
	close(t->t_ev.e_fd);
	t->t_ev.e_fd = -1;
	TAILQ_REMOVE(&dv->dv_conns, t, t_link);
	dv->dv_nconns--;
	tcp_unref(dv, t);
}

/*
 * Out of descriptors: the spare one makes room to accept the next guest
 * connection and reset it, so that its resolver fails at once rather than
 * wait. 0 when one was refused, 1 when none waits, -1 when there was no
 * room even so.
 */
static int
tcp_refuse_one(struct dnsview *dv)
{
	struct linger	 l = { 1, 0 };
	int		 fd, rc;

	if (dv->dv_spare == -1 &&
	    (dv->dv_spare = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	close(dv->dv_spare);
	dv->dv_spare = -1;
	if ((fd = accept4(dv->dv_tcpl.e_fd, NULL, NULL, SOCK_CLOEXEC)) ==
	    -1) {
		rc = errno == EAGAIN ? 1 : -1;
		dv->dv_spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
		return rc;
	}
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
	STAT(dv, ds_dropped);
	dv->dv_spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return 0;
}

static void
tcp_accept(struct dnsview *dv)
{
	struct sockaddr_storage	 peer, dst;
	socklen_t		 plen;
	struct epoll_event	 ev;
	struct dv_tcp		*t;
	int			 fd, slot, i, rc;

	for (i = 0; i < DV_UDP_BATCH; i++) {
		plen = sizeof(peer);
		if ((fd = accept4(dv->dv_tcpl.e_fd, (struct sockaddr *)&peer,
		    &plen, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
			if (errno != EMFILE && errno != ENFILE)
				return;
			if ((rc = tcp_refuse_one(dv)) == 0)
				continue;
			if (rc == 1)
				return;
			/* Level-triggered: while no descriptor is free it
			 * would wake us at once, forever. */
			if (epoll_ctl(dv->dv_ep, EPOLL_CTL_DEL,
			    dv->dv_tcpl.e_fd, NULL) == 0)
				dv->dv_tcpl_paused = now_ms() +
				    DV_ACCEPT_RETRY_MS;
			return;
		}
		if (dv->dv_nconns >= dv->dv_conf.dc_tcp_max ||
		    (slot = gateway_slot_of(dv->dv_gw,
		    (struct sockaddr *)&peer)) < 0 ||
		    gateway_origdst(fd, &dst, NULL) == -1 ||
		    (t = calloc(1, sizeof(*t))) == NULL) {
			STAT(dv, ds_dropped);
			close(fd);
			continue;
		}
		t->t_ev.e_type = EV_TCP;
		t->t_ev.e_fd = fd;
		t->t_slot = (unsigned)slot;
		t->t_peer = peer;
		t->t_dst = dst;
		t->t_refs = 1;
		t->t_last = now_ms();
		t->t_events = EPOLLIN;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &t->t_ev;
		if (epoll_ctl(dv->dv_ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
			close(fd);
			free(t);
			continue;
		}
		TAILQ_INSERT_TAIL(&dv->dv_conns, t, t_link);
		dv->dv_nconns++;
		STAT(dv, ds_tcp);
	}
}

/* Runs every whole message in the input buffer. */
static void
tcp_messages(struct dnsview *dv, struct dv_tcp *t)
{
	size_t	 mlen, off = 0;

	/* A query that fails at once frees itself, which calls back here:
	 * the outer call goes on with the buffer. */
	if (t->t_busy)
		return;
	t->t_busy = 1;
	while (!t->t_closed && t->t_pending < DV_TCP_PENDING &&
	    t->t_inlen - off >= 2) {
		mlen = (size_t)t->t_in[off] << 8 | t->t_in[off + 1];
		if (mlen == 0) {
			tcp_close(dv, t);
			return;
		}
		if (t->t_inlen - off - 2 < mlen)
			break;
		query_in(dv, t->t_slot, t, &t->t_peer, &t->t_dst,
		    t->t_in + off + 2, mlen);
		off += 2 + mlen;
	}
	t->t_busy = 0;
	if (t->t_closed)
		return;
	memmove(t->t_in, t->t_in + off, t->t_inlen - off);
	t->t_inlen -= off;
}

static void
tcp_read(struct dnsview *dv, struct dv_tcp *t)
{
	size_t		 want;
	ssize_t		 n;
	uint8_t		*nb;

	for (;;) {
		want = t->t_inlen >= 2 ?
		    2 + ((size_t)t->t_in[0] << 8 | t->t_in[1]) : 512;
		if (want < 512)
			want = 512;
		if (want > t->t_incap) {
			if ((nb = realloc(t->t_in, want)) == NULL) {
				tcp_close(dv, t);
				break;
			}
			t->t_in = nb;
			t->t_incap = want;
		}
		if (t->t_inlen == t->t_incap)
			break;	/* a full message waits for a free slot */
		n = read(t->t_ev.e_fd, t->t_in + t->t_inlen,
		    t->t_incap - t->t_inlen);
		if (n == 0) {
			/* Answer what was asked, then close (RFC 7766). */
			t->t_eof = 1;
			break;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			tcp_close(dv, t);
			break;
		}
		if (n == -1)
			break;
		t->t_inlen += (size_t)n;
		t->t_last = now_ms();
		tcp_messages(dv, t);
		if (t->t_closed || t->t_pending >= DV_TCP_PENDING)
			break;
	}
	if (!t->t_closed)
		tcp_events(dv, t);
}

static void
tcp_write(struct dnsview *dv, struct dv_tcp *t)
{
	ssize_t	 n;

	n = write(t->t_ev.e_fd, t->t_out, t->t_outlen);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			tcp_close(dv, t);
		return;
	}
	memmove(t->t_out, t->t_out + n, t->t_outlen - (size_t)n);
	t->t_outlen -= (size_t)n;
	t->t_last = now_ms();
	tcp_events(dv, t);
}

static void
tcp_sweep(struct dnsview *dv, uint64_t now)
{
	struct dv_tcp	*t, *next;

	for (t = TAILQ_FIRST(&dv->dv_conns); t != NULL; t = next) {
		next = TAILQ_NEXT(t, t_link);
		if (t->t_pending == 0 &&
		    now - t->t_last >= dv->dv_conf.dc_tcp_idle_ms)
			tcp_close(dv, t);
	}
}

/* ---- c-ares sockets in our epoll ---- */

static void
ares_sock_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dnsview		*dv = data;
	struct dv_asock		*as;
	struct epoll_event	 ev;

	LIST_FOREACH(as, &dv->dv_asocks, a_link)
		if (as->a_ev.e_fd == fd)
			break;
	if (!readable && !writable) {
		if (as != NULL) {
			epoll_ctl(dv->dv_ep, EPOLL_CTL_DEL, fd, NULL);
			LIST_REMOVE(as, a_link);
			free(as);
		}
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
	if (as != NULL) {
		ev.data.ptr = &as->a_ev;
		epoll_ctl(dv->dv_ep, EPOLL_CTL_MOD, fd, &ev);
		return;
	}
	if ((as = calloc(1, sizeof(*as))) == NULL)
		return;		/* its query times out: SERVFAIL */
	as->a_ev.e_type = EV_ARES;
	as->a_ev.e_fd = fd;
	ev.data.ptr = &as->a_ev;
	if (epoll_ctl(dv->dv_ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		free(as);
		return;
	}
	LIST_INSERT_HEAD(&dv->dv_asocks, as, a_link);
}

/* ---- the loop ---- */

/* The pause is over: watch the TCP listener again. */
static void
tcpl_resume(struct dnsview *dv, uint64_t now)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &dv->dv_tcpl;
	if (epoll_ctl(dv->dv_ep, EPOLL_CTL_ADD, dv->dv_tcpl.e_fd, &ev) == -1)
		dv->dv_tcpl_paused = now + DV_ACCEPT_RETRY_MS;
	else
		dv->dv_tcpl_paused = 0;
}

static int
loop_timeout(struct dnsview *dv, uint64_t now)
{
	struct timeval	 tv, *tvp, max = { 1, 0 };
	struct dv_query	*q;
	uint64_t	 ms;

	tvp = ares_timeout(dv->dv_ares, &max, &tv);
	ms = (uint64_t)tvp->tv_sec * 1000 + (uint64_t)tvp->tv_usec / 1000;
	if ((q = TAILQ_FIRST(&dv->dv_waiting)) != NULL)
		ms = q->q_deadline <= now ? 0 :
		    q->q_deadline - now < ms ? q->q_deadline - now : ms;
	if (dv->dv_tcpl_paused != 0)
		ms = dv->dv_tcpl_paused <= now ? 0 :
		    dv->dv_tcpl_paused - now < ms ? dv->dv_tcpl_paused - now :
		    ms;
	return (int)ms + (ms == 0 && tvp->tv_usec > 0 ? 1 : 0);
}

static void *
view_main(void *arg)
{
	struct dnsview		*dv = arg;
	struct epoll_event	 evs[64];
	struct dv_ev		*e;
	struct dv_tcp		*t;
	uint64_t		 now;
	int			 i, n;

	while (!dv->dv_stop) {
		n = epoll_wait(dv->dv_ep, evs, 64, loop_timeout(dv, now_ms()));
		for (i = 0; i < n; i++) {
			e = evs[i].data.ptr;
			switch (e->e_type) {
			case EV_WAKE:
				dv->dv_stop = 1;
				break;
			case EV_UDP:
				udp_in(dv);
				break;
			case EV_USEND:
				usend_in(dv);
				break;
			case EV_TCPL:
				tcp_accept(dv);
				break;
			case EV_ARES:
				ares_process_fd(dv->dv_ares,
				    evs[i].events & (EPOLLIN | EPOLLERR |
				    EPOLLHUP) ? e->e_fd : ARES_SOCKET_BAD,
				    evs[i].events & EPOLLOUT ? e->e_fd :
				    ARES_SOCKET_BAD);
				break;
			case EV_TCP:
				t = (struct dv_tcp *)e;
				if (t->t_closed)
					break;
				/* Replies sent at once may close it. */
				t->t_refs++;
				if (evs[i].events & EPOLLOUT)
					tcp_write(dv, t);
				if (!t->t_closed && (evs[i].events &
				    (EPOLLIN | EPOLLERR | EPOLLHUP)))
					tcp_read(dv, t);
				tcp_unref(dv, t);
				break;
			}
		}
		ares_process_fd(dv->dv_ares, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
		now = now_ms();
		queries_expire(dv, now);
		if (dv->dv_tcpl_paused != 0 && now >= dv->dv_tcpl_paused)
			tcpl_resume(dv, now);
		if (now >= dv->dv_next_sweep) {
			tcp_sweep(dv, now);
			limited_sweep(dv);
			dv->dv_next_sweep = now + 1000;
		}
	}
	return NULL;
}

/* ---- start and stop ---- */

static pthread_once_t	 ares_once = PTHREAD_ONCE_INIT;
static int		 ares_init_rc;

static void
ares_lib_init(void)
{
	ares_init_rc = ares_library_init(ARES_LIB_INIT_ALL);
}

static int
ep_add(struct dnsview *dv, struct dv_ev *e, enum dv_evtype type,
    struct ir_err *err)
{
	struct epoll_event	 ev;

	e->e_type = type;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = e;
	if (epoll_ctl(dv->dv_ep, EPOLL_CTL_ADD, e->e_fd, &ev) == -1)
		return err_set(err, errno, "epoll_ctl: %s", strerror(errno));
	return 0;
}

/* The socket replies leave from: transparent, port 53, dual-stack. With
 * a listener on 53 itself, that one serves. */
static int
usend_open(struct dnsview *dv, struct ir_err *err)
{
	struct sockaddr_in6	 sin6;
	int			 fd, on = 1, off = 0;

	if (dv->dv_conf.dc_port == 53) {
		dv->dv_usend.e_fd = -1;
		return 0;
	}
	if ((fd = gateway_socket(dv->dv_gw, AF_INET6, SOCK_DGRAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0, err)) == -1)
		return -1;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(53);
	/* SO_REUSEADDR: a runner adopting the gateway of one that just died
	 * must not find the port taken. */
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) ==
	    -1 || setsockopt(fd, SOL_IP, IP_TRANSPARENT, &on, sizeof(on)) ==
	    -1 || setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &on,
	    sizeof(on)) == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
	    sizeof(on)) == -1 || bind(fd, (struct sockaddr *)&sin6,
	    sizeof(sin6)) == -1) {
		err_set(err, errno, "reply socket on [::]:53 in %s: %s",
		    gateway_netns(dv->dv_gw), strerror(errno));
		close(fd);
		return -1;
	}
	dv->dv_usend.e_fd = fd;
	return 0;
}

static int
ares_open(struct dnsview *dv, struct ir_err *err)
{
	struct ares_options	 o;
	int			 rc, mask;

	pthread_once(&ares_once, ares_lib_init);
	if (ares_init_rc != ARES_SUCCESS)
		return err_set(err, EIO, "c-ares: %s",
		    ares_strerror(ares_init_rc));
	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS |
	    ARES_FLAG_STAYOPEN;
	o.timeout = (int)dv->dv_conf.dc_timeout_ms;
	o.tries = (int)dv->dv_conf.dc_tries;
	o.ednspsz = DNS_EDNS_SIZE;
	o.sock_state_cb = ares_sock_cb;
	o.sock_state_cb_data = dv;
	mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	    ARES_OPT_EDNSPSZ | ARES_OPT_SOCK_STATE_CB;
	if ((rc = ares_init_options(&dv->dv_ares, &o, mask)) != ARES_SUCCESS)
		return err_set(err, EIO, "c-ares: %s", ares_strerror(rc));
	dv->dv_ares_ok = 1;
	if (dv->dv_servers != NULL && (rc = ares_set_servers_ports_csv(
	    dv->dv_ares, dv->dv_servers)) != ARES_SUCCESS)
		return err_set(err, EINVAL, "upstreams '%s': %s",
		    dv->dv_servers, ares_strerror(rc));
	return 0;
}

static void
view_free(struct dnsview *dv)
{
	struct dv_tcp	*t;
	struct dv_asock	*as;
	unsigned	 i;

	/* Pending queries come back as ARES_EDESTRUCTION and are freed. */
	if (dv->dv_ares_ok)
		ares_destroy(dv->dv_ares);
	while ((t = TAILQ_FIRST(&dv->dv_conns)) != NULL)
		tcp_close(dv, t);
	while ((as = LIST_FIRST(&dv->dv_asocks)) != NULL) {
		LIST_REMOVE(as, a_link);
		free(as);
	}
	if (dv->dv_udp.e_fd != -1)
		close(dv->dv_udp.e_fd);
	if (dv->dv_tcpl.e_fd != -1)
		close(dv->dv_tcpl.e_fd);
	if (dv->dv_spare != -1)
		close(dv->dv_spare);
	if (dv->dv_usend.e_fd != -1)
		close(dv->dv_usend.e_fd);
	if (dv->dv_wake.e_fd != -1)
		close(dv->dv_wake.e_fd);
	if (dv->dv_ep != -1)
		close(dv->dv_ep);
	for (i = 0; dv->dv_slots != NULL && i < dv->dv_nslots; i++) {
		sb_free(dv->dv_slots[i].s_sb);
		pthread_mutex_destroy(&dv->dv_slots[i].s_lock);
	}
	free(dv->dv_slots);
	free(dv->dv_servers);
	free(dv);
}

struct dnsview *
dnsview_start(struct gateway *gw, const struct dnsview_config *c,
    const struct pol_guard *guard, struct ir_err *err)
{
	struct dnsview	*dv;
	unsigned	 i;

	if ((dv = calloc(1, sizeof(*dv))) == NULL) {
		err_set(err, ENOMEM, "DNS view: out of memory");
		return NULL;
	}
	dv->dv_gw = gw;
	dv->dv_conf = *c;
	dv->dv_conf.dc_servers = NULL;
	dv->dv_guard = guard;
	dv->dv_ep = dv->dv_wake.e_fd = dv->dv_udp.e_fd = dv->dv_tcpl.e_fd =
	    dv->dv_usend.e_fd = dv->dv_spare = -1;
	LIST_INIT(&dv->dv_asocks);
	TAILQ_INIT(&dv->dv_waiting);
	TAILQ_INIT(&dv->dv_conns);
	dv->dv_nslots = gateway_nslots(gw);
	if ((c->dc_servers != NULL &&
	    (dv->dv_servers = strdup(c->dc_servers)) == NULL) ||
	    (dv->dv_slots = calloc(dv->dv_nslots, sizeof(*dv->dv_slots))) ==
	    NULL) {
		err_set(err, ENOMEM, "DNS view: out of memory");
		free(dv->dv_slots);
		free(dv->dv_servers);
		free(dv);
		return NULL;
	}
	for (i = 0; i < dv->dv_nslots; i++)
		pthread_mutex_init(&dv->dv_slots[i].s_lock, NULL);
	if ((dv->dv_ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (dv->dv_wake.e_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		err_set(err, errno, "%s", strerror(errno));
		goto fail;
	}
	if (ares_open(dv, err) == -1)
		goto fail;
	dv->dv_udp.e_fd = gateway_listen(gw, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, c->dc_port, err);
	if (dv->dv_udp.e_fd == -1)
		goto fail;
	dv->dv_tcpl.e_fd = gateway_listen(gw, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, c->dc_port, err);
	if (dv->dv_tcpl.e_fd == -1 || usend_open(dv, err) == -1)
		goto fail;
	if ((dv->dv_spare = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		err_set(err, errno, "/dev/null: %s", strerror(errno));
		goto fail;
	}
	if (dv->dv_usend.e_fd == -1)
		dv->dv_usend.e_fd = dup(dv->dv_udp.e_fd);
	if (ep_add(dv, &dv->dv_wake, EV_WAKE, err) == -1 ||
	    ep_add(dv, &dv->dv_udp, EV_UDP, err) == -1 ||
	    ep_add(dv, &dv->dv_tcpl, EV_TCPL, err) == -1 ||
	    (c->dc_port != 53 && ep_add(dv, &dv->dv_usend, EV_USEND,
	    err) == -1))
		goto fail;
	if ((errno = pthread_create(&dv->dv_thread, NULL, view_main, dv)) !=
	    0) {
		err_set(err, errno, "thread: %s", strerror(errno));
		goto fail;
	}
	dv->dv_started = 1;
	return dv;
fail:
	err_prefix(err, "DNS view");
	view_free(dv);
	return NULL;
}

void
dnsview_stop(struct dnsview *dv)
{
	uint64_t	 one = 1;

	if (dv == NULL)
		return;
	if (dv->dv_started) {
		if (write(dv->dv_wake.e_fd, &one, sizeof(one)) == -1)
			dv->dv_stop = 1;
		pthread_join(dv->dv_thread, NULL);
	}
	view_free(dv);
}
