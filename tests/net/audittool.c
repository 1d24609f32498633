/*
 * audittool - test driver for src/audit (tests/cli/audit.sh).
 *
 *   audittool emit DB [KEY=VALUE...]     emits events, flushes, closes
 *   audittool trickle DB MS N [KEY=VALUE...]
 *                                        one event every MS ms, N of them,
 *                                        the store left to commit on its own
 *   audittool load DB RATE               emits about RATE events/s until
 *                                        killed; every 50 ms prints
 *                                        "emitted N at T" (T: CLOCK_REALTIME ns)
 *   audittool flood DB THREADS TOTAL     TOTAL events from THREADS threads as
 *                                        fast as they go; prints the count,
 *                                        the summarized count and ns per emit
 *   audittool count DB                   "rows R events E summarized S
 *                                        integrity ok|..."
 *   audittool metrics                    emits one event of each kind and
 *                                        prints the Prometheus text
 *
 * KEY=VALUE sets a field of the events: sandbox, kind (connect, close, dns,
 * request), proto, verdict (blocked, allowed), src, dst (ADDR:PORT or
 * [ADDR]:PORT), name, source (none, sni, host, dns), rule, reason, qname,
 * qtype, rcode, up, down, ms, method, path, requests (with it, the close
 * is of an intercepted connection), attempts (ae_count: one event for N),
 * ago (a duration: the event's age), count (how many events),
 * max_bytes, max_age (the store's config, a duration), queue (its
 * size), pause (emit: the writer takes nothing until all are emitted, so
 * that a small queue overflows into summaries).
 * Exit 0, or 1 with a message on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit_int.h"

static void die(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

static void
die(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "audittool: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
mono_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
parse_sa(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (void *)ss;
	struct sockaddr_in6	*sin6 = (void *)ss;
	char			 a[64];
	const char		*colon;
	size_t			 n;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		if ((colon = strstr(s, "]:")) == NULL ||
		    (n = (size_t)(colon - s - 1)) >= sizeof(a))
			die("bad address %s", s);
		memcpy(a, s + 1, n);
		a[n] = '\0';
		colon++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    (n = (size_t)(colon - s)) >= sizeof(a))
			die("bad address %s", s);
		memcpy(a, s, n);
		a[n] = '\0';
	}
	if (inet_pton(AF_INET, a, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)atoi(colon + 1));
	} else if (inet_pton(AF_INET6, a, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)atoi(colon + 1));
	} else
		die("bad address %s", s);
}

static uint64_t
duration(const char *s)
{
	struct ir_err	 err;
	uint64_t	 ns;

	if (audit_parse_duration(s, &ns, &err) == -1)
		die("%s", err.msg);
	return ns;
}

struct opts {
	struct audit_event	 ev;
	struct audit_config	 cfg;
	unsigned long		 count;
	int			 pause;
};

static void
parse_kv(int argc, char **argv, struct opts *o)
{
	int	 i;

	memset(o, 0, sizeof(*o));
	o->ev.ae_sandbox = "sb1";
	o->ev.ae_rule = "default";
	o->ev.ae_reason = "no rule allows it";
	o->count = 1;
	parse_sa("203.0.113.10:443", &o->ev.ae_dst);
	parse_sa("100.64.0.2:40000", &o->ev.ae_src);
	for (i = 0; i < argc; i++) {
		char	*k = argv[i], *v = strchr(k, '=');

		if (v == NULL)
			die("want KEY=VALUE, got %s", k);
		*v++ = '\0';
		if (strcmp(k, "sandbox") == 0)
			o->ev.ae_sandbox = v;
		else if (strcmp(k, "kind") == 0)
			o->ev.ae_kind = strcmp(v, "close") == 0 ? AUDIT_CLOSE :
			    strcmp(v, "dns") == 0 ? AUDIT_DNS :
			    strcmp(v, "request") == 0 ? AUDIT_REQUEST :
			    AUDIT_CONNECT;
		else if (strcmp(k, "proto") == 0)
			o->ev.ae_proto = strcmp(v, "udp") == 0 ? AUDIT_UDP :
			    strcmp(v, "icmp") == 0 ? AUDIT_ICMP :
			    strcmp(v, "dns") == 0 ? AUDIT_DNS_PROTO : AUDIT_TCP;
		else if (strcmp(k, "verdict") == 0)
			o->ev.ae_allowed = strcmp(v, "allowed") == 0;
		else if (strcmp(k, "src") == 0)
			parse_sa(v, &o->ev.ae_src);
		else if (strcmp(k, "dst") == 0)
			parse_sa(v, &o->ev.ae_dst);
		else if (strcmp(k, "name") == 0) {
			o->ev.ae_name = v;
			o->ev.ae_namelen = strlen(v);
		} else if (strcmp(k, "source") == 0)
			o->ev.ae_name_source = strcmp(v, "sni") == 0 ?
			    AUDIT_NAME_SNI : strcmp(v, "host") == 0 ?
			    AUDIT_NAME_HOST : strcmp(v, "dns") == 0 ?
			    AUDIT_NAME_DNS : AUDIT_NAME_NONE;
		else if (strcmp(k, "rule") == 0)
			o->ev.ae_rule = v;
		else if (strcmp(k, "reason") == 0)
			o->ev.ae_reason = v;
		else if (strcmp(k, "qname") == 0)
			o->ev.ae_qname = v;
		else if (strcmp(k, "qtype") == 0)
			o->ev.ae_qtype = (uint16_t)atoi(v);
		else if (strcmp(k, "rcode") == 0)
			o->ev.ae_rcode = v;
		else if (strcmp(k, "up") == 0)
			o->ev.ae_bytes_up = strtoull(v, NULL, 10);
		else if (strcmp(k, "down") == 0)
			o->ev.ae_bytes_down = strtoull(v, NULL, 10);
		else if (strcmp(k, "ms") == 0)
			o->ev.ae_duration_ms = strtoull(v, NULL, 10);
		else if (strcmp(k, "method") == 0) {
			o->ev.ae_method = v;
			o->ev.ae_methodlen = strlen(v);
		} else if (strcmp(k, "path") == 0) {
			o->ev.ae_path = v;
			o->ev.ae_pathlen = strlen(v);
		} else if (strcmp(k, "requests") == 0) {
			o->ev.ae_requests = strtoull(v, NULL, 10);
			o->ev.ae_intercepted = 1;
		} else if (strcmp(k, "attempts") == 0)
			o->ev.ae_count = strtoull(v, NULL, 10);
		else if (strcmp(k, "ago") == 0)
			o->ev.ae_time_ns = now_ns() - duration(v);
		else if (strcmp(k, "count") == 0)
			o->count = strtoul(v, NULL, 10);
		else if (strcmp(k, "max_bytes") == 0)
			o->cfg.ac_max_bytes = strtoull(v, NULL, 10);
		else if (strcmp(k, "queue") == 0)
			o->cfg.ac_queue_max = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(k, "pause") == 0)
			o->pause = 1;
		else if (strcmp(k, "max_age") == 0)
			o->cfg.ac_max_age_s = duration(v) / 1000000000u;
		else
			die("unknown key %s", k);
	}
}

static void
open_store(const char *db, const struct audit_config *cfg)
{
	struct ir_err	 err;

	if (audit_store_open(db, cfg, &err) == -1)
		die("%s", err.msg);
}

static int
do_emit(int argc, char **argv)
{
	struct opts	 o;
	struct ir_err	 err;
	unsigned long	 i;

	parse_kv(argc - 3, argv + 3, &o);
	open_store(argv[2], &o.cfg);
	if (o.pause)
		audit_store_pause(1);
	for (i = 0; i < o.count; i++)
		audit_emit(&o.ev);
	audit_store_pause(0);
	if (audit_store_flush(&err) == -1)
		die("%s", err.msg);
	audit_store_close();
	return 0;
}

static int
do_trickle(int argc, char **argv)
{
	struct opts	 o;
	struct timespec	 ts;
	unsigned long	 ms, n, i;
	char		 reason[64];

	if (argc < 5)
		die("usage: audittool trickle DB MS N [KEY=VALUE...]");
	ms = strtoul(argv[3], NULL, 10);
	n = strtoul(argv[4], NULL, 10);
	parse_kv(argc - 5, argv + 5, &o);
	open_store(argv[2], &o.cfg);
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	for (i = 0; i < n; i++) {
		nanosleep(&ts, NULL);
		snprintf(reason, sizeof(reason), "trickle %lu", i);
		o.ev.ae_reason = reason;
		o.ev.ae_time_ns = 0;
		audit_emit(&o.ev);
	}
	audit_store_close();
	return 0;
}

static int
do_load(int argc, char **argv)
{
	struct opts	 o;
	struct timespec	 ts = { 0, 1000000 };
	unsigned long	 rate, n = 0;
	uint64_t	 start, next_print = 0, t;
	char		 reason[64];

	if (argc < 4)
		die("usage: audittool load DB RATE");
	rate = strtoul(argv[3], NULL, 10);
	parse_kv(0, NULL, &o);
	open_store(argv[2], NULL);
	start = mono_ns();
	for (;;) {
		/* Catch up to RATE per second, then sleep a millisecond. */
		t = mono_ns();
		while (n < (t - start) / 1000 * rate / 1000000) {
			snprintf(reason, sizeof(reason), "load %lu", n);
			o.ev.ae_reason = reason;
			audit_emit(&o.ev);
			n++;
		}
		if (t >= next_print) {
			dprintf(STDOUT_FILENO, "emitted %lu at %llu\n", n,
			    (unsigned long long)now_ns());
			next_print = t + 50000000;
		}
		nanosleep(&ts, NULL);
	}
}

struct flood {
	pthread_t	 thr;
	unsigned long	 n;
	unsigned	 id;
	uint64_t	 ns, cpu_ns;
};

static uint64_t
cpu_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *
flood_main(void *arg)
{
	struct flood		*f = arg;
	struct audit_event	 ev;
	char			 sb[32], reason[64][32];
	unsigned long		 i;
	uint64_t		 t0, c0;

	/* Formatted beforehand: only audit_emit() is timed. */
	for (i = 0; i < 64; i++)
		snprintf(reason[i], sizeof(reason[i]), "no rule allows %lu", i);
	memset(&ev, 0, sizeof(ev));
	snprintf(sb, sizeof(sb), "flood%u", f->id);
	ev.ae_sandbox = sb;
	ev.ae_rule = "default";
	ev.ae_name_source = AUDIT_NAME_SNI;
	parse_sa("100.64.0.2:40000", &ev.ae_src);
	t0 = mono_ns();
	c0 = cpu_ns();
	for (i = 0; i < f->n; i++) {
		struct sockaddr_in *d = (void *)&ev.ae_dst;

		/* 64 destinations per thread: summaries stay distinct. */
		d->sin_family = AF_INET;
		d->sin_port = htons(443);
		d->sin_addr.s_addr = htonl(0xcb007100u | (uint32_t)(i % 64));
		ev.ae_name = "flood.example";
		ev.ae_namelen = 13;
		ev.ae_reason = reason[(i / 64) % 64];
		audit_emit(&ev);
	}
	f->ns = mono_ns() - t0;
	f->cpu_ns = cpu_ns() - c0;
	return NULL;
}

static int
do_flood(int argc, char **argv)
{
	struct flood		 f[64];
	struct audit_metrics	 m0, m1;
	unsigned		 nthr, i;
	unsigned long		 total, sent = 0;
	uint64_t		 ns = 0, cpu = 0, t0, t1;

	if (argc < 5)
		die("usage: audittool flood DB THREADS TOTAL");
	nthr = (unsigned)strtoul(argv[3], NULL, 10);
	total = strtoul(argv[4], NULL, 10);
	if (nthr == 0 || nthr > 64)
		die("THREADS: 1 to 64");
	open_store(argv[2], NULL);
	audit_metrics_snapshot(&m0);
	t0 = mono_ns();
	for (i = 0; i < nthr; i++) {
		f[i].id = i;
		f[i].n = total / nthr + (i < total % nthr ? 1 : 0);
		sent += f[i].n;
		if (pthread_create(&f[i].thr, NULL, flood_main, &f[i]) != 0)
			die("pthread_create");
	}
	for (i = 0; i < nthr; i++) {
		pthread_join(f[i].thr, NULL);
		ns += f[i].ns;
		cpu += f[i].cpu_ns;
	}
	t1 = mono_ns();
	audit_metrics_snapshot(&m1);
	audit_store_close();
	/* wall: as the emitting thread saw it; cpu: what it spent. */
	printf("emitted %lu summarized %llu ns_per_emit_wall %llu "
	    "ns_per_emit_cpu %llu emit_ms %llu total_ms %llu\n", sent,
	    (unsigned long long)(m1.am_aggregated - m0.am_aggregated),
	    (unsigned long long)(ns / (sent ? sent : 1)),
	    (unsigned long long)(cpu / (sent ? sent : 1)),
	    (unsigned long long)((t1 - t0) / 1000000),
	    (unsigned long long)((mono_ns() - t0) / 1000000));
	return 0;
}

static int
do_count(int argc, char **argv)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	int		 rc;

	if (argc < 3)
		die("usage: audittool count DB");
	if (sqlite3_open_v2(argv[2], &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		die("cannot open %s", argv[2]);
	rc = sqlite3_prepare_v2(db, "SELECT count(*), coalesce(sum(count), "
	    "0), coalesce(sum(CASE WHEN last_ns IS NOT NULL THEN count END), "
	    "0), coalesce(max(time_ns), 0), (SELECT group_concat("
	    "integrity_check) FROM pragma_integrity_check) FROM events", -1,
	    &s, NULL);
	if (rc != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
		die("query: %s", sqlite3_errmsg(db));
	printf("rows %lld events %lld summarized %lld max_time %lld "
	    "integrity %s\n", sqlite3_column_int64(s, 0),
	    sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2),
	    sqlite3_column_int64(s, 3), sqlite3_column_text(s, 4));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return 0;
}

static int
do_metrics(void)
{
	struct audit_event	 ev;
	struct audit_metrics	 m;
	struct audit_gauges	 g = { 3, 2 };
	char			 buf[16384];

	memset(&ev, 0, sizeof(ev));
	ev.ae_sandbox = "m";
	ev.ae_rule = "guard";
	audit_set_sink(NULL, NULL);
	audit_emit(&ev);
	audit_observe_latency_ns(42000);
	audit_metrics_snapshot(&m);
	audit_metrics_render(&m, &g, buf, sizeof(buf));
	fputs(buf, stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: audittool emit|trickle|load|flood|count|"
		    "metrics ...");
	if (strcmp(argv[1], "metrics") == 0)
		return do_metrics();
	if (argc < 3)
		die("%s: needs DB", argv[1]);
	if (strcmp(argv[1], "emit") == 0)
		return do_emit(argc, argv);
	if (strcmp(argv[1], "trickle") == 0)
		return do_trickle(argc, argv);
	if (strcmp(argv[1], "load") == 0)
		return do_load(argc, argv);
	if (strcmp(argv[1], "flood") == 0)
		return do_flood(argc, argv);
	if (strcmp(argv[1], "count") == 0)
		return do_count(argc, argv);
	die("unknown command %s", argv[1]);
	return 1;
}
