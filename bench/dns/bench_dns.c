/*
 * bench_dns.c - the programs of the DNS view's benchmark (issue 4,
 * "Speed"); bench/dns/run.sh drives them in the closed test universe.
 *
 *   bench_dns upstream ADDR [PORT]
 *	a fast authoritative stub for the wan: answers every A query with
 *	192.0.2.10 (TTL 60), AAAA and other types with NODATA, and a TXT
 *	query for "count.bench" with the number of queries it answered so
 *	far. recvmmsg/sendmmsg, so that it is never what is measured.
 *   bench_dns serve [-a store|null] [-C BYTES] [-D DB] [-n SANDBOXES]
 *	    [-u UPSTREAMS] NAME
 *	the runner side: gateway NAME with SANDBOXES sandbox namespaces and
 *	the DNS view (src/dns) forwarding to UPSTREAMS, every sandbox under
 *	an allow-list policy of 40 rules; audit events into the SQLite store
 *	at DB (as the daemon does) or into a sink that drops them; -C: the
 *	answer cache's bytes per sandbox (dc_answers_max; 0: no answer is
 *	kept; default the view's, 128 KiB). Prints "sandbox SLOT NETNS
 *	GATEWAY" per sandbox, "policy ...", "answers_max=" and "ready"; on
 *	stdin, "stats" prints the view's and the audit's counters, "quit"
 *	stops.
 *   bench_dns lat [-n COUNT] [-R] [-o FIRST] [-c LABEL [-N NAMES]
 *	    [-O CFIRST]] LABEL=NETNS,ADDR...
 *	COUNT queries per path, one at a time, the paths in turn query by
 *	query (so that neighbours hit every path alike); -R at SCHED_FIFO 1.
 *	Query k asks name FIRST + k (0) on every path but the one labelled
 *	by -c, which asks CFIRST + k % NAMES (0, 500): names `warm` asked
 *	it just before, so that a view answers them from its answer cache.
 *	Every path is first asked 20 names past FIRST + COUNT, not measured.
 *	Prints one line per path: "lat LABEL n= lost= p50_us= p90_us=
 *	p99_us= max_us= mean_us=".
 *   bench_dns load [-t SECONDS] [-c INFLIGHT] [-N NAMES] [-o FIRST] [-x]
 *	    NETNS,ADDR...
 *	keeps INFLIGHT queries in flight, spread over the paths (one socket
 *	each), for SECONDS, the names cycling over NAMES of them (100,000)
 *	from FIRST (0); every answer is checked (id, question, rcode, the
 *	address; -x: the names are blocked ones and NXDOMAIN is right).
 *	Prints "load answered= lost= bad= qps= p50_us= p99_us= ...
 *	client_cpu_s=" (its own CPU time).
 *   bench_dns warm [-N NAMES] [-o FIRST] NETNS,ADDR...
 *	asks each of the NAMES names from FIRST once on every path, one at a
 *	time, every answer checked (what fills a view's answer cache before
 *	a cached run). Prints "warm asked= answered= lost=".
 *   bench_dns count NETNS,ADDR
 *	prints what the upstream at ADDR answered so far.
 *   bench_dns purge NAME
 *	removes what a runner NAME left (gateway_purge).
 *
 * NETNS is a name under /run/netns, or "-" for the caller's own. Names
 * asked are q<N>.example.com, or q<N>.blocked.test with -x. With no
 * arguments it runs bench/dns/run.sh (as `make bench` does).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "dns/dns.h"
#include "gateway/gateway.h"
#include "policy/policy.h"

#define BATCH		64
#define MSG_MAX		1500
#define MAX_PATHS	16
#define MAX_INFLIGHT	4096
#define NAMES		100000
#define LOST_MS		1000
#define ANSWER_ADDR	"192.0.2.10"

static void	 die(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list	 ap;

	fputs("bench_dns: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static double
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* ---- messages ---- */

/* A query for q<n>.<suffix>, type `type`, no EDNS (as glibc asks). */
static size_t
query_make(uint8_t *b, uint16_t id, unsigned n, const char *suffix,
    uint16_t type)
{
	char		 name[128], *lab, *dot;
	size_t		 off = 12, l;

	memset(b, 0, 12);
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
	b[2] = 0x01;				/* RD */
	b[5] = 1;				/* QDCOUNT */
	snprintf(name, sizeof(name), "q%u.%s", n, suffix);
	for (lab = name; lab != NULL; lab = dot) {
		if ((dot = strchr(lab, '.')) != NULL)
			*dot++ = '\0';
		l = strlen(lab);
		b[off++] = (uint8_t)l;
		memcpy(b + off, lab, l);
		off += l;
	}
	b[off++] = 0;
	b[off++] = (uint8_t)(type >> 8);
	b[off++] = (uint8_t)type;
	b[off++] = 0;
	b[off++] = 1;				/* IN */
	return off;
}

/* Offset past the question of `b`, or 0. Names in questions are never
 * compressed. */
static size_t
question_end(const uint8_t *b, size_t len)
{
	size_t	 off = 12;

	if (len < 12 || b[4] != 0 || b[5] != 1)
		return 0;
	while (off < len && b[off] != 0) {
		if (b[off] & 0xc0)
			return 0;
		off += 1 + (size_t)b[off];
	}
	off += 5;
	return off <= len ? off : 0;
}

/*
 * Checks an answer to the query `q` (qlen bytes): same id and question,
 * QR, then NXDOMAIN (want_nx) or NOERROR with one A record ANSWER_ADDR
 * (CNAME-free: the stub answers with a pointer to the question name).
 * Returns 0 if right.
 */
static int
answer_check(const uint8_t *a, size_t alen, const uint8_t *q, size_t qlen,
    int want_nx)
{
	static const uint8_t	 want[4] = { 192, 0, 2, 10 };
	size_t			 off, ql = question_end(q, qlen);
	unsigned		 an, i, type, rdlen;

	if (ql == 0 || alen < ql || memcmp(a, q, 2) != 0 ||
	    !(a[2] & 0x80) || memcmp(a + 12, q + 12, ql - 12) != 0)
		return -1;
	if (want_nx)
		return (a[3] & 0x0f) == 3 ? 0 : -1;
	if ((a[3] & 0x0f) != 0)
		return -1;
	an = (unsigned)a[6] << 8 | a[7];
	off = ql;
	for (i = 0; i < an; i++) {
		if (off < alen && (a[off] & 0xc0) == 0xc0)
			off += 2;
		else {
			while (off < alen && a[off] != 0)
				off += 1 + (size_t)a[off];
			off++;
		}
		if (off + 10 > alen)
			return -1;
		type = (unsigned)a[off] << 8 | a[off + 1];
		rdlen = (unsigned)a[off + 8] << 8 | a[off + 9];
		off += 10;
		if (off + rdlen > alen)
			return -1;
		if (type == 1 && rdlen == 4 && memcmp(a + off, want, 4) == 0)
			return 0;
		off += rdlen;
	}
	return -1;
}

/* ---- paths: a socket in a namespace, and where to send ---- */

struct path {
	char			 p_label[32];
	char			 p_netns[64];
	struct sockaddr_in	 p_dst;
	int			 p_fd;
};

static int
socket_in(const char *netns)
{
	char	 p[128];
	int	 self, ns, fd, e;

	if (strcmp(netns, "-") == 0)
		return socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	snprintf(p, sizeof(p), "/run/netns/%s", netns);
	if ((self = open("/proc/thread-self/ns/net", O_RDONLY)) == -1 ||
	    (ns = open(p, O_RDONLY)) == -1)
		die("%s: %s", p, strerror(errno));
	if (setns(ns, CLONE_NEWNET) == -1)
		die("setns %s: %s", p, strerror(errno));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	e = errno;
	if (setns(self, CLONE_NEWNET) == -1)
		die("setns back: %s", strerror(errno));
	close(ns);
	close(self);
	errno = e;
	return fd;
}

/* "[LABEL=]NETNS,ADDR[,PORT]" */
static void
path_open(struct path *p, const char *spec, int labelled)
{
	char	 buf[256], *s = buf, *a, *port;
	int	 sz = 4 << 20;

	memset(p, 0, sizeof(*p));
	snprintf(buf, sizeof(buf), "%s", spec);
	if (labelled) {
		if ((a = strchr(s, '=')) == NULL)
			die("path '%s': want LABEL=NETNS,ADDR", spec);
		*a = '\0';
		snprintf(p->p_label, sizeof(p->p_label), "%s", s);
		s = a + 1;
	}
	if ((a = strchr(s, ',')) == NULL)
		die("path '%s': want NETNS,ADDR", spec);
	*a++ = '\0';
	if ((port = strchr(a, ',')) != NULL)
		*port++ = '\0';
	snprintf(p->p_netns, sizeof(p->p_netns), "%s", s);
	p->p_dst.sin_family = AF_INET;
	p->p_dst.sin_port = htons(port != NULL ? (uint16_t)atoi(port) : 53);
	if (inet_pton(AF_INET, a, &p->p_dst.sin_addr) != 1)
		die("path '%s': bad address '%s'", spec, a);
	if ((p->p_fd = socket_in(p->p_netns)) == -1)
		die("socket in %s: %s", p->p_netns, strerror(errno));
	setsockopt(p->p_fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	setsockopt(p->p_fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	if (connect(p->p_fd, (struct sockaddr *)&p->p_dst,
	    sizeof(p->p_dst)) == -1)
		die("connect %s: %s", spec, strerror(errno));
}

/* ---- percentiles ---- */

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank; sorts v. */
static double
pct(double *v, size_t n, double p)
{
	size_t	 i;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(double), cmp_double);
	i = (size_t)(p / 100 * (double)n + 0.999999);
	return v[i > 0 ? i - 1 : 0];
}

/* ---- upstream ---- */

static uint64_t	 up_count;

/* Builds the reply to q (len bytes) in r; returns its length or 0. */
static size_t
upstream_reply(const uint8_t *q, size_t len, uint8_t *r)
{
	static const uint8_t	 cname[] = "\5count\5bench";
	size_t			 ql, off;
	unsigned		 type;
	char			 txt[32];
	int			 n;

	if (len < 12 || (q[2] & 0x80) || (ql = question_end(q, len)) == 0)
		return 0;
	memcpy(r, q, ql);
	r[2] = 0x80 | (q[2] & 0x01);		/* QR, RD echoed */
	r[3] = 0x80;				/* RA, NOERROR */
	memset(r + 6, 0, 6);			/* no EDNS back */
	type = (unsigned)q[ql - 4] << 8 | q[ql - 3];
	off = ql;
	up_count++;
	if (type == 1) {
		static const uint8_t rr[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0,
		    60, 0, 4, 192, 0, 2, 10 };

		memcpy(r + off, rr, sizeof(rr));
		off += sizeof(rr);
		r[7] = 1;
	} else if (type == 16 && ql == 12 + sizeof(cname) + 4 &&
	    memcmp(q + 12, cname, sizeof(cname)) == 0) {
		n = snprintf(txt, sizeof(txt), "%llu",
		    (unsigned long long)up_count);
		memcpy(r + off, "\xc0\x0c\0\x10\0\x01\0\0\0\0\0", 11);
		off += 11;
		r[off++] = (uint8_t)(n + 1);
		r[off++] = (uint8_t)n;
		memcpy(r + off, txt, (size_t)n);
		off += (size_t)n;
		r[7] = 1;
	}
	return off;
}

static int
cmd_upstream(int argc, char **argv)
{
	struct sockaddr_in	 sin, from[BATCH];
	struct mmsghdr		 in[BATCH], out[BATCH];
	struct iovec		 iin[BATCH], iout[BATCH];
	static uint8_t		 qb[BATCH][MSG_MAX], rb[BATCH][MSG_MAX];
	int			 fd, n, i, k, one = 1, sz = 8 << 20;

	if (argc < 2)
		die("usage: upstream ADDR [PORT]");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(argc > 2 ? (uint16_t)atoi(argv[2]) : 53);
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1)
		die("upstream: bad address '%s'", argv[1]);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("upstream: bind %s: %s", argv[1], strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		memset(in, 0, sizeof(in));
		for (i = 0; i < BATCH; i++) {
			iin[i].iov_base = qb[i];
			iin[i].iov_len = MSG_MAX;
			in[i].msg_hdr.msg_iov = &iin[i];
			in[i].msg_hdr.msg_iovlen = 1;
			in[i].msg_hdr.msg_name = &from[i];
			in[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		if ((n = recvmmsg(fd, in, BATCH, MSG_WAITFORONE, NULL)) <= 0) {
			if (n == -1 && errno != EINTR)
				die("upstream: recvmmsg: %s", strerror(errno));
			continue;
		}
		memset(out, 0, sizeof(out));
		for (i = k = 0; i < n; i++) {
			if ((iout[k].iov_len = upstream_reply(qb[i],
			    in[i].msg_len, rb[k])) == 0)
				continue;
			iout[k].iov_base = rb[k];
			out[k].msg_hdr.msg_iov = &iout[k];
			out[k].msg_hdr.msg_iovlen = 1;
			out[k].msg_hdr.msg_name = &from[i];
			out[k].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
			k++;
		}
		for (i = 0; i < k; i += n)
			if ((n = sendmmsg(fd, out + i, (unsigned)(k - i),
			    0)) <= 0)
				break;
	}
}

/* ---- the runner side ---- */

static uint64_t	 sink_events;

static void
null_sink(void *arg, const struct audit_event *ev)
{
	(void)arg;
	(void)ev;
	__atomic_add_fetch(&sink_events, 1, __ATOMIC_RELAXED);
}

/* An allow list of the size the proxy benchmark uses: names, wildcards,
 * addresses with and without ports, then a catch-all deny. */
static const char *const pol_allow[] = {
	"*.example.com", "pypi.org", "files.pythonhosted.org",
	"*.pythonhosted.org", "github.com", "api.github.com",
	"*.githubusercontent.com", "registry.npmjs.org", "*.npmjs.org",
	"deb.debian.org", "security.debian.org", "*.ubuntu.com",
	"api.openai.com", "*.openai.com", "api.anthropic.com",
	"*.amazonaws.com", "*.docker.io", "ghcr.io", "*.ghcr.io",
	"proxy.golang.org", "sum.golang.org", "crates.io", "*.crates.io",
	"static.rust-lang.org", "rubygems.org", "repo.maven.apache.org",
	"github.com:22", "gitlab.com:22", "192.0.2.0/25", "203.0.113.0/28",
	"198.51.100.7", "2001:db8:1::/64", "2001:db8:2::7", "192.0.2.200:443",
	"203.0.113.99:8080", "*.internal.test:443", "10.1.0.0/16:5432",
	"allowed.test",
};
static const char *const pol_deny[] = { "blocked.test", "*.blocked.test",
	"*.exfil.test", "192.0.2.12", "0.0.0.0/0", "::/0" };

static void
serve_stats(struct dnsview *dv)
{
	struct dnsview_stats	 st;
	struct audit_metrics	 am;

	dnsview_stats(dv, &st);
	audit_metrics_snapshot(&am);
	printf("stats queries=%llu forwarded=%llu cached=%llu blocked=%llu "
	    "errors=%llu servfail=%llu dropped=%llu events=%llu "
	    "aggregated=%llu written=%llu audit_dropped=%llu\n",
	    (unsigned long long)st.ds_queries,
	    (unsigned long long)st.ds_forwarded,
	    (unsigned long long)st.ds_cached,
	    (unsigned long long)st.ds_blocked,
	    (unsigned long long)st.ds_errors,
	    (unsigned long long)st.ds_servfail,
	    (unsigned long long)st.ds_dropped,
	    (unsigned long long)am.am_events,
	    (unsigned long long)am.am_aggregated,
	    (unsigned long long)am.am_written,
	    (unsigned long long)am.am_dropped);
}

static int
cmd_serve(int argc, char **argv)
{
	struct gateway_config	 gc;
	struct dnsview_config	 dc;
	struct gw_sandbox_info	 si;
	struct gw_sandbox	*sb[64];
	struct pol_guard	*guard = NULL;
	struct policy		*pol = NULL;
	struct gateway		*gw = NULL;
	struct dnsview		*dv = NULL;
	struct ir_err		 err;
	const char		*sink = "store", *db = NULL;
	char			 line[256], a[INET_ADDRSTRLEN], *end;
	unsigned long		 ul;
	int			 c, i, nsb = 4, rc = 1, store = 0;

	dnsview_config_default(&dc);
	dc.dc_servers = "192.0.2.54";
	/* What the view can carry: no per-sandbox query rate limit. */
	dc.dc_sb_qps = 0;
	optind = 1;
	while ((c = getopt(argc, argv, "a:C:D:n:u:")) != -1) {
		switch (c) {
		case 'a': sink = optarg; break;
		case 'C':
			errno = 0;
			ul = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    optarg[0] == '-')
				die("serve: -C '%s': want bytes", optarg);
			dc.dc_answers_max = (size_t)ul;
			break;
		case 'D': db = optarg; break;
		case 'n': nsb = atoi(optarg); break;
		case 'u': dc.dc_servers = optarg; break;
		default: die("usage: serve [-a store|null] [-C BYTES] [-D DB] "
		    "[-n N] [-u UPSTREAMS] NAME");
		}
	}
	if (optind + 1 != argc || nsb < 1 || nsb > 64)
		die("usage: serve [-a store|null] [-C BYTES] [-D DB] "
		    "[-n 1..64] [-u UPSTREAMS] NAME");
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(sink, "store") == 0) {
		if (db == NULL)
			die("serve: -a store needs -D DB");
		if (audit_store_open(db, NULL, &err) == -1) {
			printf("error %s\n", err.msg);
			return 1;
		}
		store = 1;
	} else if (strcmp(sink, "null") == 0)
		audit_set_sink(null_sink, NULL);
	else
		die("serve: sink '%s': want store or null", sink);
	memset(sb, 0, sizeof(sb));
	if ((guard = pol_guard_compile(pol_guard_defaults, pol_guard_ndefaults,
	    &err)) == NULL ||
	    (pol = policy_compile(pol_allow, sizeof(pol_allow) /
	    sizeof(pol_allow[0]), pol_deny, sizeof(pol_deny) /
	    sizeof(pol_deny[0]), &err)) == NULL)
		goto fail;
	gateway_config_default(&gc);
	gc.gc_name = argv[optind];
	dc.dc_port = gc.gc_dns_port;
	if ((gw = gateway_create(&gc, &err)) == NULL)
		goto fail;
	for (i = 0; i < nsb; i++) {
		if ((sb[i] = gateway_sandbox_add(gw, &err)) == NULL)
			goto fail;
	}
	if ((dv = dnsview_start(gw, &dc, guard, &err)) == NULL)
		goto fail;
	for (i = 0; i < nsb; i++) {
		gateway_sandbox_info(sb[i], &si);
		snprintf(line, sizeof(line), "bench-%d", i);
		if (dnsview_sandbox_set(dv, si.si_slot, line, pol, 0, &err) ==
		    -1)
			goto fail;
		printf("sandbox %u %s %s\n", si.si_slot, si.si_netns,
		    inet_ntop(AF_INET, &si.si_gw4, a, sizeof(a)));
	}
	printf("policy allow=%zu deny=%zu\nanswers_max=%zu\nready\n",
	    sizeof(pol_allow) / sizeof(pol_allow[0]), sizeof(pol_deny) /
	    sizeof(pol_deny[0]), dc.dc_answers_max);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (strncmp(line, "stats", 5) == 0)
			serve_stats(dv);
		else if (strncmp(line, "quit", 4) == 0)
			break;
	}
	rc = 0;
	goto out;
fail:
	printf("error %s\n", err.msg);
out:
	dnsview_stop(dv);
	if (gw != NULL)
		gateway_destroy(gw);
	policy_free(pol);
	pol_guard_free(guard);
	if (store)
		audit_store_close();
	printf("stopped\n");
	return rc;
}

/* ---- clients ---- */

static void
rt_on(void)
{
	struct sched_param	 sp = { .sched_priority = 1 };

	if (sched_setscheduler(0, SCHED_FIFO, &sp) == -1)
		die("SCHED_FIFO: %s", strerror(errno));
}

/* One query on p, waited for; returns the round trip in µs, or -1. */
static double
ask_once(struct path *p, unsigned n, const char *suffix, int want_nx)
{
	uint8_t		 q[512], a[MSG_MAX];
	struct pollfd	 pfd = { p->p_fd, POLLIN, 0 };
	size_t		 ql;
	ssize_t		 r;
	double		 t0, dl;
	uint16_t	 id = (uint16_t)(n * 2654435761u >> 16);

	ql = query_make(q, id, n, suffix, 1);
	while (recv(p->p_fd, a, sizeof(a), MSG_DONTWAIT) > 0)
		;
	t0 = now_us();
	dl = t0 + LOST_MS * 1000.0;
	if (send(p->p_fd, q, ql, 0) != (ssize_t)ql)
		return -1;
	for (;;) {
		if ((r = recv(p->p_fd, a, sizeof(a), MSG_DONTWAIT)) > 0) {
			if (answer_check(a, (size_t)r, q, ql, want_nx) == 0)
				return now_us() - t0;
			continue;	/* a late answer to an earlier one */
		}
		if (now_us() >= dl)
			return -1;
		poll(&pfd, 1, (int)((dl - now_us()) / 1000) + 1);
	}
}

#define LAT_USAGE "usage: lat [-n COUNT] [-R] [-o FIRST] [-c LABEL [-N NAMES] " \
	"[-O CFIRST]] LABEL=NETNS,ADDR..."

/* The name path i asks as its query k (see the top of the file). */
static unsigned
lat_name(int i, int cached, unsigned k, unsigned first, unsigned cfirst,
    unsigned cnames)
{
	return i == cached ? cfirst + k % cnames : first + k;
}

static int
cmd_lat(int argc, char **argv)
{
	struct path	 p[MAX_PATHS];
	double		*v[MAX_PATHS], t, sum;
	size_t		 nv[MAX_PATHS];
	const char	*clabel = NULL;
	unsigned	 first = 0, cfirst = 0, cnames = 500;
	int		 c, i, j, k, np, count = 2000, lost[MAX_PATHS], rt = 0;
	int		 cached = -1;

	optind = 1;
	while ((c = getopt(argc, argv, "n:Ro:c:N:O:")) != -1) {
		switch (c) {
		case 'n': count = atoi(optarg); break;
		case 'R': rt = 1; break;
		case 'o': first = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'c': clabel = optarg; break;
		case 'N': cnames = (unsigned)atoi(optarg); break;
		case 'O': cfirst = (unsigned)strtoul(optarg, NULL, 10); break;
		default: die(LAT_USAGE);
		}
	}
	np = argc - optind;
	if (np < 1 || np > MAX_PATHS || count < 1 || cnames < 1)
		die(LAT_USAGE);
	for (i = 0; i < np; i++) {
		path_open(&p[i], argv[optind + i], 1);
		if ((v[i] = calloc((size_t)count, sizeof(double))) == NULL)
			die("out of memory");
		nv[i] = 0;
		lost[i] = 0;
		if (clabel != NULL && strcmp(p[i].p_label, clabel) == 0)
			cached = i;
	}
	if (clabel != NULL && cached == -1)
		die("lat: -c %s: no such path", clabel);
	if (rt)
		rt_on();
	/* Warm up: the first queries of a path set up caches and ARP; names
	 * of their own, past the measured ones. */
	for (k = 0; k < 20; k++)
		for (i = 0; i < np; i++)
			ask_once(&p[i], first + (unsigned)count + (unsigned)k,
			    "example.com", 0);
	for (k = 0; k < count; k++)
		for (j = 0; j < np; j++) {
			i = (k + j) % np;
			t = ask_once(&p[i], lat_name(i, cached, (unsigned)k,
			    first, cfirst, cnames), "example.com", 0);
			if (t < 0)
				lost[i]++;
			else
				v[i][nv[i]++] = t;
		}
	for (i = 0; i < np; i++) {
		for (sum = 0, k = 0; k < (int)nv[i]; k++)
			sum += v[i][k];
		printf("lat %s n=%zu lost=%d p50_us=%.1f p90_us=%.1f "
		    "p99_us=%.1f max_us=%.1f mean_us=%.1f\n", p[i].p_label,
		    nv[i], lost[i], pct(v[i], nv[i], 50), pct(v[i], nv[i], 90),
		    pct(v[i], nv[i], 99), pct(v[i], nv[i], 100),
		    nv[i] ? sum / (double)nv[i] : 0);
		free(v[i]);
	}
	return 0;
}

struct slot {
	double		 s_sent;
	uint16_t	 s_id;
	uint16_t	 s_qlen;
	uint8_t		 s_q[128];
};

struct load {
	struct path	 l_p[MAX_PATHS];
	int		 l_np;
	struct slot	*l_s;		/* INFLIGHT of them */
	int		 l_n, l_per;	/* slots, slots per path */
	int		 l_nx;
	unsigned	 l_next;	/* next name */
	unsigned	 l_names;	/* how many names in turn */
	unsigned	 l_first;	/* from which */
	uint16_t	 l_gen;
	uint64_t	 l_answered, l_lost, l_bad;
	double		*l_lat;
	size_t		 l_nlat, l_caplat;
	int		 l_sending;
};

/* Fills slot i with a fresh query; id = slot (low bits) + generation. */
static void
slot_fill(struct load *L, int i, double now)
{
	struct slot	*s = &L->l_s[i];

	L->l_gen++;
	s->s_id = (uint16_t)((i % L->l_per) | (L->l_gen << 10));
	s->s_qlen = (uint16_t)query_make(s->s_q, s->s_id,
	    L->l_first + L->l_next++ % L->l_names, L->l_nx ? "blocked.test" : "example.com",
	    1);
	s->s_sent = now;
}

static void
lat_add(struct load *L, double us)
{
	double	*nv;

	if (L->l_nlat == L->l_caplat) {
		L->l_caplat = L->l_caplat ? L->l_caplat * 2 : 65536;
		if ((nv = realloc(L->l_lat, L->l_caplat * sizeof(*nv))) ==
		    NULL)
			die("out of memory");
		L->l_lat = nv;
	}
	L->l_lat[L->l_nlat++] = us;
}

/* Sends the slots listed in idx (all on path pi) in one sendmmsg. */
static void
send_slots(struct load *L, int pi, const int *idx, int n)
{
	struct mmsghdr	 m[BATCH];
	struct iovec	 iov[BATCH];
	int		 i, k, r;

	for (k = 0; k < n; k += BATCH) {
		memset(m, 0, sizeof(m));
		for (i = 0; i < BATCH && k + i < n; i++) {
			iov[i].iov_base = L->l_s[idx[k + i]].s_q;
			iov[i].iov_len = L->l_s[idx[k + i]].s_qlen;
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		for (r = 0; r < i; ) {
			int s = sendmmsg(L->l_p[pi].p_fd, m + r,
			    (unsigned)(i - r), 0);

			if (s <= 0)
				break;	/* counted lost at its deadline */
			r += s;
		}
	}
}

static void
load_read(struct load *L, int pi, double now)
{
	struct mmsghdr	 m[BATCH];
	struct iovec	 iov[BATCH];
	static uint8_t	 buf[BATCH][MSG_MAX];
	int		 resend[BATCH * 4], nr = 0, n, i, si;
	uint16_t	 id;

	for (;;) {
		memset(m, 0, sizeof(m));
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = MSG_MAX;
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		if ((n = recvmmsg(L->l_p[pi].p_fd, m, BATCH, MSG_DONTWAIT,
		    NULL)) <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (m[i].msg_len < 12) {
				L->l_bad++;
				continue;
			}
			id = (uint16_t)(buf[i][0] << 8 | buf[i][1]);
			si = pi * L->l_per + (id & 0x3ff);
			if ((id & 0x3ff) >= L->l_per || si >= L->l_n ||
			    L->l_s[si].s_id != id)
				continue;	/* late: already counted lost */
			if (answer_check(buf[i], m[i].msg_len, L->l_s[si].s_q,
			    L->l_s[si].s_qlen, L->l_nx) == 0) {
				L->l_answered++;
				lat_add(L, now - L->l_s[si].s_sent);
			} else
				L->l_bad++;
			L->l_s[si].s_id ^= 0x8000 | 0x3ff; /* not twice */
			if (L->l_sending) {
				slot_fill(L, si, now);
				resend[nr++] = si;
			}
		}
		if (nr > 0)
			send_slots(L, pi, resend, nr);
		nr = 0;
		if (n < BATCH)
			break;
	}
}

static int
cmd_load(int argc, char **argv)
{
	struct load	 L;
	struct rusage	 ru;
	struct pollfd	 pfd[MAX_PATHS];
	double		 secs = 1, t0, tend, now, last_scan;
	int		 c, i, k, inflight = 64, *idx;

	memset(&L, 0, sizeof(L));
	L.l_names = NAMES;
	optind = 1;
	while ((c = getopt(argc, argv, "t:c:N:o:x")) != -1) {
		switch (c) {
		case 't': secs = atof(optarg); break;
		case 'c': inflight = atoi(optarg); break;
		case 'N': L.l_names = (unsigned)atoi(optarg); break;
		case 'o': L.l_first = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'x': L.l_nx = 1; break;
		default: die("usage: load [-t SECONDS] [-c INFLIGHT] [-N NAMES] "
		    "[-o FIRST] [-x] NETNS,ADDR...");
		}
	}
	if (L.l_names < 1)
		die("load: -N wants at least 1 name");
	L.l_np = argc - optind;
	if (L.l_np < 1 || L.l_np > MAX_PATHS || inflight < L.l_np ||
	    inflight > MAX_INFLIGHT || secs <= 0)
		die("usage: load [-t SECONDS] [-c INFLIGHT <= %d] [-N NAMES] "
		    "[-o FIRST] [-x] NETNS,ADDR...", MAX_INFLIGHT);
	L.l_per = inflight / L.l_np;
	if (L.l_per > 1024)
		die("load: at most 1024 in flight per path");
	L.l_n = L.l_per * L.l_np;
	if ((L.l_s = calloc((size_t)L.l_n, sizeof(*L.l_s))) == NULL ||
	    (idx = calloc((size_t)L.l_n, sizeof(int))) == NULL)
		die("out of memory");
	for (i = 0; i < L.l_np; i++) {
		path_open(&L.l_p[i], argv[optind + i], 0);
		pfd[i].fd = L.l_p[i].p_fd;
		pfd[i].events = POLLIN;
	}
	L.l_sending = 1;
	t0 = last_scan = now_us();
	tend = t0 + secs * 1e6;
	for (i = 0; i < L.l_np; i++) {
		for (k = 0; k < L.l_per; k++) {
			slot_fill(&L, i * L.l_per + k, t0);
			idx[k] = i * L.l_per + k;
		}
		send_slots(&L, i, idx, L.l_per);
	}
	while ((now = now_us()) < tend) {
		poll(pfd, (nfds_t)L.l_np, 10);
		now = now_us();
		for (i = 0; i < L.l_np; i++)
			if (pfd[i].revents & POLLIN)
				load_read(&L, i, now);
		if (now - last_scan < 10000)
			continue;
		last_scan = now;
		for (i = 0; i < L.l_np; i++) {
			int nr = 0;

			for (k = i * L.l_per; k < (i + 1) * L.l_per; k++)
				if (now - L.l_s[k].s_sent > LOST_MS * 1000.0) {
					L.l_lost++;
					slot_fill(&L, k, now);
					idx[nr++] = k;
				}
			if (nr > 0)
				send_slots(&L, i, idx, nr);
		}
	}
	/* Answers after the end are not counted. */
	getrusage(RUSAGE_SELF, &ru);
	printf("load answered=%llu lost=%llu bad=%llu qps=%.0f p50_us=%.1f "
	    "p90_us=%.1f p99_us=%.1f max_us=%.1f inflight=%d "
	    "client_cpu_s=%.3f\n",
	    (unsigned long long)L.l_answered, (unsigned long long)L.l_lost,
	    (unsigned long long)L.l_bad, (double)L.l_answered / secs,
	    pct(L.l_lat, L.l_nlat, 50), pct(L.l_lat, L.l_nlat, 90),
	    pct(L.l_lat, L.l_nlat, 99), pct(L.l_lat, L.l_nlat, 100),
	    L.l_n, (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	return 0;
}

static int
cmd_warm(int argc, char **argv)
{
	struct path	 p;
	unsigned	 names = 1000, first = 0, n;
	unsigned long	 asked = 0, answered = 0;
	int		 c, i;

	optind = 1;
	while ((c = getopt(argc, argv, "N:o:")) != -1) {
		switch (c) {
		case 'N': names = (unsigned)atoi(optarg); break;
		case 'o': first = (unsigned)strtoul(optarg, NULL, 10); break;
		default: die("usage: warm [-N NAMES] [-o FIRST] NETNS,ADDR...");
		}
	}
	if (optind == argc || names < 1)
		die("usage: warm [-N NAMES] [-o FIRST] NETNS,ADDR...");
	for (i = optind; i < argc; i++) {
		path_open(&p, argv[i], 0);
		for (n = 0; n < names; n++) {
			asked++;
			if (ask_once(&p, first + n, "example.com", 0) >= 0)
				answered++;
		}
		close(p.p_fd);
	}
	printf("warm asked=%lu answered=%lu lost=%lu\n", asked, answered,
	    asked - answered);
	return 0;
}

static int
cmd_count(int argc, char **argv)
{
	static const uint8_t	 q[] = { 0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0,
	    0, 0, 5, 'c', 'o', 'u', 'n', 't', 5, 'b', 'e', 'n', 'c', 'h', 0,
	    0, 16, 0, 1 };
	struct path		 p;
	struct pollfd		 pfd;
	uint8_t			 a[MSG_MAX];
	ssize_t			 r;
	size_t			 off = sizeof(q) + 12;

	if (argc != 2)
		die("usage: count NETNS,ADDR");
	path_open(&p, argv[1], 0);
	if (send(p.p_fd, q, sizeof(q), 0) != (ssize_t)sizeof(q))
		die("count: send: %s", strerror(errno));
	pfd.fd = p.p_fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 2000) != 1 ||
	    (r = recv(p.p_fd, a, sizeof(a), 0)) <= (ssize_t)off ||
	    (size_t)r < off + 1 + (size_t)a[off] || a[7] != 1)
		die("count: no answer from %s", argv[1]);
	printf("%.*s\n", (int)a[off], a + off + 1);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		if (access("bench/dns/run.sh", X_OK) == -1) {
			fprintf(stderr, "bench_dns: run bench/dns/run.sh "
			    "from the repository's root\n");
			return 2;
		}
		execl("/bin/sh", "sh", "bench/dns/run.sh", (char *)NULL);
		die("bench/dns/run.sh: %s", strerror(errno));
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "upstream") == 0)
		return cmd_upstream(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "lat") == 0)
		return cmd_lat(argc - 1, argv + 1);
	if (strcmp(argv[1], "load") == 0)
		return cmd_load(argc - 1, argv + 1);
	if (strcmp(argv[1], "warm") == 0)
		return cmd_warm(argc - 1, argv + 1);
	if (strcmp(argv[1], "count") == 0)
		return cmd_count(argc - 1, argv + 1);
	if (strcmp(argv[1], "purge") == 0 && argc == 3) {
		struct ir_err	 err;

		if (gateway_purge(argv[2], &err) == -1)
			die("purge: %s", err.msg);
		return 0;
	}
	die("unknown command '%s' (upstream, serve, lat, load, warm, count, "
	    "purge)",
	    argv[1]);
}
