/*
 * test_audit.c - src/audit: the JSON form, durations, the queue and its
 * summaries, the store (queries, follow, retention, errors) and the
 * Prometheus text of the metrics, parsed back.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit_int.h"
#include "t.h"

static char	 dir[64];

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
sa4(struct sockaddr_storage *ss, const char *a, unsigned port)
{
	struct sockaddr_in	*sin = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, a, &sin->sin_addr);
}

static void
sa6(struct sockaddr_storage *ss, const char *a, unsigned port)
{
	struct sockaddr_in6	*sin6 = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	inet_pton(AF_INET6, a, &sin6->sin6_addr);
}

/* A blocked TCP connect of sandbox `sb` to `dst`:`port`. */
static void
ev_init(struct audit_event *ev, const char *sb, const char *dst,
    unsigned port)
{
	memset(ev, 0, sizeof(*ev));
	ev->ae_sandbox = sb;
	ev->ae_kind = AUDIT_CONNECT;
	ev->ae_proto = AUDIT_TCP;
	sa4(&ev->ae_src, "100.64.0.2", 40000);
	sa4(&ev->ae_dst, dst, port);
	ev->ae_rule = "default";
	ev->ae_reason = "no rule allows it";
}

static void
db_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void
db_remove(const char *path)
{
	char	 p[256];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

/* ---- rows read back ---- */

struct trow {
	int64_t		 id;
	uint64_t	 time, count, last, up, down, ms;
	char		 sb[64], name[64], rule[64], reason[128], dst[64];
	char		 src[64], qname[64], rcode[16];
	char		 method[64], path[AUDIT_PATH_MAX + 64];
	unsigned	 dport, sport, qtype;
	int		 allowed, has_name, has_rule, has_reason, kind, proto;
	int		 nsrc, has_method, has_path, intercepted;
	size_t		 pathlen;
	uint64_t	 requests;
};

struct rows {
	struct trow	*r;
	size_t		 n, cap;
	int		 stop_after;	/* follow: stop after this many */
	int		 idle;
};

static void
cp(char *d, size_t len, const char *s)
{
	snprintf(d, len, "%s", s != NULL ? s : "");
}

static void
addr_str(const struct sockaddr_storage *ss, char *buf, size_t len,
    unsigned *port)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;

	buf[0] = '\0';
	*port = 0;
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)len);
		*port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, (socklen_t)len);
		*port = ntohs(sin6->sin6_port);
	}
}

static int
collect(void *arg, const struct audit_row *row)
{
	struct rows			*rs = arg;
	struct trow			*t;
	const struct audit_event	*ev;

	if (row == NULL) {
		rs->idle++;
		return rs->idle > 25;	/* 5 s without the rows wanted */
	}
	ev = &row->ar_ev;
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 64;
		rs->r = realloc(rs->r, rs->cap * sizeof(*rs->r));
	}
	t = &rs->r[rs->n++];
	memset(t, 0, sizeof(*t));
	t->id = row->ar_id;
	t->time = ev->ae_time_ns;
	t->count = ev->ae_count;
	t->last = ev->ae_last_ns;
	t->up = ev->ae_bytes_up;
	t->down = ev->ae_bytes_down;
	t->ms = ev->ae_duration_ms;
	cp(t->sb, sizeof(t->sb), ev->ae_sandbox);
	if ((t->has_name = ev->ae_name != NULL))
		snprintf(t->name, sizeof(t->name), "%.*s",
		    (int)ev->ae_namelen, ev->ae_name);
	t->has_rule = ev->ae_rule != NULL;
	cp(t->rule, sizeof(t->rule), ev->ae_rule);
	t->has_reason = ev->ae_reason != NULL;
	cp(t->reason, sizeof(t->reason), ev->ae_reason);
	cp(t->qname, sizeof(t->qname), ev->ae_qname);
	cp(t->rcode, sizeof(t->rcode), ev->ae_rcode);
	t->qtype = ev->ae_qtype;
	if ((t->has_method = ev->ae_method != NULL))
		snprintf(t->method, sizeof(t->method), "%.*s",
		    (int)ev->ae_methodlen, ev->ae_method);
	if ((t->has_path = ev->ae_path != NULL))
		snprintf(t->path, sizeof(t->path), "%.*s",
		    (int)ev->ae_pathlen, ev->ae_path);
	t->pathlen = ev->ae_pathlen;
	t->requests = ev->ae_requests;
	t->intercepted = ev->ae_intercepted;
	addr_str(&ev->ae_dst, t->dst, sizeof(t->dst), &t->dport);
	addr_str(&ev->ae_src, t->src, sizeof(t->src), &t->sport);
	t->nsrc = ev->ae_src.ss_family != AF_UNSPEC;
	t->allowed = ev->ae_allowed;
	t->kind = ev->ae_kind;
	t->proto = ev->ae_proto;
	return rs->stop_after > 0 && (int)rs->n >= rs->stop_after;
}

static void
rows_free(struct rows *rs)
{
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

static int
query(const char *path, const struct audit_filter *f, struct rows *rs)
{
	struct audit_db	*d;
	struct ir_err	 err;
	int		 rc;

	memset(rs, 0, sizeof(*rs));
	if ((d = audit_db_open(path, &err)) == NULL) {
		fprintf(stderr, "  %s\n", err.msg);
		return -1;
	}
	rc = audit_query(d, f, collect, rs, &err);
	if (rc == -1)
		fprintf(stderr, "  %s\n", err.msg);
	audit_db_close(d);
	return rc;
}

static const struct audit_filter all = { NULL, 0, -1, 0 };

static uint64_t
sum_counts(const struct rows *rs)
{
	uint64_t	 n = 0;

	for (size_t i = 0; i < rs->n; i++)
		n += rs->r[i].count;
	return n;
}

/* ---- the JSON form ---- */

static json_t *
json_of(const struct audit_event *ev, char *buf, size_t len)
{
	json_error_t	 je;
	int		 n;

	n = audit_format_json(ev, buf, len);
	T_CHECK(n > 0 && (size_t)n < len, "length %d", n);
	return json_loads(buf, 0, &je);
}

static void
keys_are(json_t *o, const char *const *want)
{
	const char	*k;
	json_t		*v;
	size_t		 i = 0;

	/* jansson keeps insertion order: the order of the text. */
	json_object_foreach(o, k, v) {
		(void)v;
		T_CHECK(want[i] != NULL && strcmp(k, want[i]) == 0,
		    "key %zu is %s, want %s", i, k, want[i] ? want[i] : "end");
		if (want[i] == NULL)
			return;
		i++;
	}
	T_CHECK(want[i] == NULL, "missing key %s", want[i]);
}

static void
test_json(void)
{
	static const char *const kconnect[] = { "time_ns", "sandbox", "event",
	    "proto", "src", "sport", "dst", "dport", "name", "name_source",
	    "verdict", "rule", "reason", NULL };
	static const char *const kclose[] = { "time_ns", "sandbox", "event",
	    "proto", "src", "sport", "dst", "dport", "name", "name_source",
	    "verdict", "rule", "reason", "bytes_up", "bytes_down",
	    "duration_ms", NULL };
	static const char *const kdns[] = { "time_ns", "sandbox", "event",
	    "proto", "src", "sport", "dst", "dport", "name", "name_source",
	    "verdict", "rule", "reason", "qname", "qtype", "rcode", "count",
	    "last_ns", NULL };
	struct audit_event	 ev;
	char			 buf[2048], small[16];
	json_t			*o;
	int			 n;

	ev_init(&ev, "sb-1", "203.0.113.7", 443);
	ev.ae_time_ns = 1700000000123456789ULL;
	sa6(&ev.ae_dst, "2001:db8::7", 8443);
	ev.ae_name = "ev\"il\n\xff.example";
	ev.ae_namelen = strlen(ev.ae_name);
	ev.ae_name_source = AUDIT_NAME_SNI;
	ev.ae_rule = "*.example";
	o = json_of(&ev, buf, sizeof(buf));
	T_CHECK(o != NULL, "not JSON: %s", buf);
	if (o != NULL) {
		keys_are(o, kconnect);
		T_CHECK(json_integer_value(json_object_get(o, "time_ns")) ==
		    1700000000123456789LL, "time_ns");
		T_STREQ(json_string_value(json_object_get(o, "dst")),
		    "2001:db8::7");
		T_CHECK(json_integer_value(json_object_get(o, "dport")) ==
		    8443, "dport");
		T_STREQ(json_string_value(json_object_get(o, "name")),
		    "ev\"il\n\xc3\xbf.example");
		T_STREQ(json_string_value(json_object_get(o, "name_source")),
		    "sni");
		T_STREQ(json_string_value(json_object_get(o, "verdict")),
		    "blocked");
		json_decref(o);
	}
	T_CHECK(strstr(buf, "\\u00ff") && strstr(buf, "\\u000a"), "%s", buf);

	ev.ae_kind = AUDIT_CLOSE;
	ev.ae_allowed = 1;
	ev.ae_name = NULL;
	ev.ae_src.ss_family = AF_UNSPEC;
	ev.ae_bytes_up = 10;
	ev.ae_bytes_down = 20000000000ULL;
	ev.ae_duration_ms = 1234;
	if ((o = json_of(&ev, buf, sizeof(buf))) != NULL) {
		keys_are(o, kclose);
		T_CHECK(json_is_null(json_object_get(o, "src")) &&
		    json_is_null(json_object_get(o, "sport")) &&
		    json_is_null(json_object_get(o, "name")), "%s", buf);
		T_CHECK(json_integer_value(json_object_get(o, "bytes_down")) ==
		    20000000000LL, "bytes_down");
		T_STREQ(json_string_value(json_object_get(o, "verdict")),
		    "allowed");
		json_decref(o);
	}

	ev.ae_kind = AUDIT_DNS;
	ev.ae_proto = AUDIT_DNS_PROTO;
	ev.ae_qname = "x.example";
	ev.ae_qtype = 28;
	ev.ae_rcode = "NXDOMAIN";
	ev.ae_count = 5;
	ev.ae_last_ns = 1700000001000000000ULL;
	if ((o = json_of(&ev, buf, sizeof(buf))) != NULL) {
		keys_are(o, kdns);
		T_CHECK(json_integer_value(json_object_get(o, "qtype")) == 28,
		    "qtype");
		T_CHECK(json_integer_value(json_object_get(o, "count")) == 5,
		    "count");
		json_decref(o);
	}

	/* Truncation: the needed length, always NUL-terminated. */
	n = audit_format_json(&ev, small, sizeof(small));
	T_CHECK(n == (int)strlen(buf), "needs %d, want %zu", n, strlen(buf));
	T_CHECK(strlen(small) == sizeof(small) - 1 &&
	    strncmp(small, buf, sizeof(small) - 1) == 0, "%s", small);
}

/* A denied request of sandbox `sb` to `host` (the proxy's shape). */
static void
req_init(struct audit_event *ev, const char *sb, const char *host,
    const char *rule, const char *method, const char *path)
{
	ev_init(ev, sb, "203.0.113.80", 443);
	ev->ae_kind = AUDIT_REQUEST;
	ev->ae_name = host;
	ev->ae_namelen = strlen(host);
	ev->ae_name_source = AUDIT_NAME_SNI;
	ev->ae_rule = rule;
	ev->ae_reason = "denied by an endpoint rule";
	ev->ae_method = method;
	ev->ae_methodlen = method ? strlen(method) : 0;
	ev->ae_path = path;
	ev->ae_pathlen = path ? strlen(path) : 0;
}

static void
test_json_request(void)
{
	static const char *const kreq[] = { "time_ns", "sandbox", "event",
	    "proto", "src", "sport", "dst", "dport", "name", "name_source",
	    "verdict", "rule", "reason", "method", "path", NULL };
	static const char *const kreqsum[] = { "time_ns", "sandbox", "event",
	    "proto", "src", "sport", "dst", "dport", "name", "name_source",
	    "verdict", "rule", "reason", "method", "path", "count", "last_ns",
	    NULL };
	static const char *const kclose[] = { "time_ns", "sandbox", "event",
	    "proto", "src", "sport", "dst", "dport", "name", "name_source",
	    "verdict", "rule", "reason", "bytes_up", "bytes_down",
	    "duration_ms", "requests", "intercepted", NULL };
	struct audit_event	 ev;
	char			 buf[8192], longp[3000];
	json_t			*o;
	const char		*v;

	req_init(&ev, "sb-r", "api.example", "deny DELETE /v1/admin/*",
	    "DELETE", "/v1/admin/\x01users");
	ev.ae_time_ns = 1700000000000000001ULL;
	if ((o = json_of(&ev, buf, sizeof(buf))) != NULL) {
		keys_are(o, kreq);
		T_STREQ(json_string_value(json_object_get(o, "event")),
		    "request");
		T_STREQ(json_string_value(json_object_get(o, "verdict")),
		    "blocked");
		T_STREQ(json_string_value(json_object_get(o, "method")),
		    "DELETE");
		T_STREQ(json_string_value(json_object_get(o, "path")),
		    "/v1/admin/\x01users");
		T_STREQ(json_string_value(json_object_get(o, "rule")),
		    "deny DELETE /v1/admin/*");
		T_STREQ(json_string_value(json_object_get(o, "name")),
		    "api.example");
		json_decref(o);
	} else
		T_CHECK(0, "not JSON: %s", buf);

	/* the path capped at AUDIT_PATH_MAX, no method: null */
	memset(longp, 'p', sizeof(longp));
	longp[0] = '/';
	ev.ae_path = longp;
	ev.ae_pathlen = sizeof(longp);
	ev.ae_method = NULL;
	ev.ae_methodlen = 0;
	ev.ae_count = 3;
	ev.ae_last_ns = ev.ae_time_ns + 5;
	if ((o = json_of(&ev, buf, sizeof(buf))) != NULL) {
		keys_are(o, kreqsum);
		v = json_string_value(json_object_get(o, "path"));
		T_CHECK(v != NULL && strlen(v) == AUDIT_PATH_MAX &&
		    strncmp(v, longp, AUDIT_PATH_MAX) == 0, "path of %zu",
		    v ? strlen(v) : 0);
		T_CHECK(json_is_null(json_object_get(o, "method")), "method");
		T_CHECK(json_integer_value(json_object_get(o, "count")) == 3,
		    "count");
		json_decref(o);
	}

	/* the close of an intercepted connection; fields of requests on
	   other kinds never show */
	ev_init(&ev, "sb-r", "203.0.113.80", 443);
	ev.ae_kind = AUDIT_CLOSE;
	ev.ae_allowed = 1;
	ev.ae_method = "GET";
	ev.ae_methodlen = 3;
	ev.ae_path = "/x";
	ev.ae_pathlen = 2;
	ev.ae_intercepted = 1;
	ev.ae_requests = 42;
	if ((o = json_of(&ev, buf, sizeof(buf))) != NULL) {
		keys_are(o, kclose);
		T_CHECK(json_integer_value(json_object_get(o, "requests")) ==
		    42 && json_is_true(json_object_get(o, "intercepted")),
		    "%s", buf);
		json_decref(o);
	}
	/* not intercepted: neither key, even with a count of requests */
	ev.ae_intercepted = 0;
	if ((o = json_of(&ev, buf, sizeof(buf))) != NULL) {
		T_CHECK(json_object_get(o, "requests") == NULL &&
		    json_object_get(o, "intercepted") == NULL &&
		    json_object_get(o, "method") == NULL, "%s", buf);
		json_decref(o);
	}
	ev.ae_kind = AUDIT_CONNECT;
	ev.ae_intercepted = 1;
	if ((o = json_of(&ev, buf, sizeof(buf))) != NULL) {
		T_CHECK(json_object_get(o, "requests") == NULL &&
		    json_object_get(o, "path") == NULL, "%s", buf);
		json_decref(o);
	}
}

/* No store: a request whose escaped path passes 2 KiB is still one whole
   JSON line on stderr. */
static void
test_stderr_long(void)
{
	struct audit_event	 ev;
	char			 path[AUDIT_PATH_MAX], f[128], *line = NULL;
	size_t			 cap = 0;
	ssize_t			 n;
	json_error_t		 je;
	json_t			*o;
	FILE			*fp;
	int			 fd, saved;

	memset(path, 0x01, sizeof(path));
	path[0] = '/';
	req_init(&ev, "e", "api.example", "default", "GET", NULL);
	ev.ae_path = path;
	ev.ae_pathlen = sizeof(path);
	db_path(f, sizeof(f), "stderr.txt");
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	T_CHECK(fd >= 0 && saved >= 0, "open %s", f);
	if (fd < 0 || saved < 0)
		return;
	dup2(fd, STDERR_FILENO);
	audit_emit(&ev);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	if ((fp = fopen(f, "r")) == NULL) {
		T_CHECK(0, "reopen %s", f);
		return;
	}
	n = getline(&line, &cap, fp);
	T_CHECK(n > 6 * AUDIT_PATH_MAX && line[n - 1] == '\n', "line of %zd",
	    n);
	T_CHECK(getline(&line, &cap, fp) == -1, "more than one line");
	fclose(fp);
	o = n > 0 ? json_loads(line, 0, &je) : NULL;
	T_CHECK(o != NULL, "not JSON: %.80s", line ? line : "");
	if (o != NULL) {
		T_CHECK(json_string_length(json_object_get(o, "path")) ==
		    AUDIT_PATH_MAX, "path");
		json_decref(o);
	}
	free(line);
	unlink(f);
}

/* ---- durations ---- */

static const struct {
	const char	*in;
	uint64_t	 s;	/* 0: error */
	const char	*msg;
} durations[] = {
	{ "90s", 90, NULL },
	{ "10m", 600, NULL },
	{ "2h", 7200, NULL },
	{ "7d", 604800, NULL },
	{ "1w", 604800, NULL },
	{ "1h30m", 5400, NULL },
	{ "0s", 0, NULL },
	{ "", 0, "empty" },
	{ "10", 0, "needs a unit" },
	{ "10x", 0, "unknown unit 'x'" },
	{ "h", 0, "not a duration" },
	{ "-5m", 0, "not a duration" },
	{ "1h 5m", 0, "not a duration" },
	{ "36600d", 0, "over 100 years" },
	{ "99999999999999999999s", 0, "too large" },
};

static void
test_duration(size_t i)
{
	struct ir_err	 err;
	uint64_t	 ns = 7;
	int		 rc;

	rc = audit_parse_duration(durations[i].in, &ns, &err);
	if (durations[i].msg == NULL) {
		T_CHECK(rc == 0, "%s", err.msg);
		T_CHECK(ns == durations[i].s * 1000000000ULL, "got %llu",
		    (unsigned long long)ns);
		return;
	}
	T_CHECK(rc == -1, "accepted");
	if (rc == -1) {
		T_CHECK(strstr(err.msg, durations[i].msg) != NULL, "%s",
		    err.msg);
		T_CHECK(strncmp(err.msg, "'", 1) == 0, "no quoted input: %s",
		    err.msg);
	}
}

/* ---- the queue and summaries ---- */

static const struct trow *
find_dst(const struct rows *rs, const char *dst, int summary)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->r[i].dst, dst) == 0 &&
		    (rs->r[i].last != 0) == summary)
			return &rs->r[i];
	return NULL;
}

static const struct trow *
find_coarse(const struct rows *rs, const char *sb)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].last != 0 && rs->r[i].dst[0] == '\0' &&
		    strcmp(rs->r[i].sb, sb) == 0)
			return &rs->r[i];
	return NULL;
}

static void
test_overflow(void)
{
	struct audit_config	 cfg = { 0 };
	struct audit_metrics	 m0, m1;
	struct audit_event	 ev;
	struct ir_err		 err;
	struct rows		 rs;
	const struct trow	*t;
	char			 path[128], dst[32], sb[32];
	int			 i, rc;

	db_path(path, sizeof(path), "overflow.db");
	cfg.ac_queue_max = 8;
	cfg.ac_summary_max = 2;
	rc = audit_store_open(path, &cfg, &err);
	T_CHECK(rc == 0, "%s", err.msg);
	if (rc != 0)
		return;
	audit_metrics_snapshot(&m0);
	audit_store_pause(1);
	/* 8 fill the queue... */
	for (i = 0; i < 8; i++) {
		snprintf(dst, sizeof(dst), "203.0.113.%d", i + 1);
		ev_init(&ev, "s", dst, 80);
		audit_emit(&ev);
	}
	/* ...100 to one destination from changing ports: one summary... */
	for (i = 0; i < 100; i++) {
		ev_init(&ev, "s", "203.0.113.50", 443);
		sa4(&ev.ae_src, "100.64.0.2", 40000 + (unsigned)i);
		ev.ae_name = "a.example";
		ev.ae_namelen = 9;
		ev.ae_name_source = AUDIT_NAME_SNI;
		audit_emit(&ev);
	}
	/* ...30 to another, names and ports differing: details cleared... */
	for (i = 0; i < 30; i++) {
		ev_init(&ev, "s", "203.0.113.51", 1000 + (unsigned)i);
		ev.ae_name = i % 2 ? "b1.example" : "b2.example";
		ev.ae_namelen = 10;
		audit_emit(&ev);
	}
	/* ...7 more destinations: past summary_max, keyed by sandbox... */
	for (i = 0; i < 7; i++) {
		snprintf(dst, sizeof(dst), "203.0.113.%d", 52 + i);
		ev_init(&ev, "s", dst, 22);
		audit_emit(&ev);
	}
	/* ...3 closes of another sandbox: bytes add up. */
	for (i = 0; i < 3; i++) {
		ev_init(&ev, "t", "203.0.113.60", 443);
		ev.ae_kind = AUDIT_CLOSE;
		ev.ae_allowed = 1;
		ev.ae_rule = "203.0.113.60";
		ev.ae_bytes_up = 10;
		ev.ae_bytes_down = 20;
		ev.ae_duration_ms = 5;
		audit_emit(&ev);
	}
	audit_store_pause(0);
	rc = audit_store_flush(&err);
	T_CHECK(rc == 0, "%s", err.msg);
	audit_metrics_snapshot(&m1);
	T_CHECK(m1.am_aggregated - m0.am_aggregated == 140, "aggregated %llu",
	    (unsigned long long)(m1.am_aggregated - m0.am_aggregated));

	if (query(path, &all, &rs) == 0) {
		T_CHECK(rs.n == 12, "%zu rows, want 8 + 4 summaries", rs.n);
		T_CHECK(sum_counts(&rs) == 148, "%llu events",
		    (unsigned long long)sum_counts(&rs));
		for (i = 0; i < 8; i++) {
			snprintf(dst, sizeof(dst), "203.0.113.%d", i + 1);
			t = find_dst(&rs, dst, 0);
			T_CHECK(t != NULL && t->count == 1 && t->dport == 80,
			    "queued event %s", dst);
		}
		t = find_dst(&rs, "203.0.113.50", 1);
		T_CHECK(t != NULL && t->count == 100, "summary of 100");
		if (t != NULL) {
			T_CHECK(t->dport == 443 && t->sport == 0 &&
			    strcmp(t->src, "100.64.0.2") == 0,
			    "ports %u %u src %s", t->dport, t->sport, t->src);
			T_STREQ(t->name, "a.example");
			T_STREQ(t->rule, "default");
			T_STREQ(t->reason, "no rule allows it");
			T_CHECK(t->last >= t->time, "last before first");
		}
		t = find_dst(&rs, "203.0.113.51", 1);
		T_CHECK(t != NULL && t->count == 30, "summary of 30");
		if (t != NULL)
			T_CHECK(!t->has_name && t->dport == 0, "name %s port %u",
			    t->name, t->dport);
		t = find_coarse(&rs, "s");
		T_CHECK(t != NULL && t->count == 7, "coarse summary of 7");
		if (t != NULL)
			T_CHECK(!t->has_rule && t->dport == 0, "rule %s",
			    t->rule);
		t = find_coarse(&rs, "t");
		T_CHECK(t != NULL && t->count == 3, "coarse summary of 3");
		if (t != NULL)
			T_CHECK(t->allowed && t->kind == AUDIT_CLOSE &&
			    t->up == 30 && t->down == 60 && t->ms == 15,
			    "close summary: %llu %llu %llu",
			    (unsigned long long)t->up,
			    (unsigned long long)t->down,
			    (unsigned long long)t->ms);
		rows_free(&rs);
	}

	/* Past the coarse table: the spare records still count them all. */
	audit_metrics_snapshot(&m0);
	audit_store_pause(1);
	for (i = 0; i < 8 + 2 + AQ_COARSE_MAX + 76; i++) {
		snprintf(sb, sizeof(sb), "x%d", i);
		snprintf(dst, sizeof(dst), "198.51.100.%d", i % 200);
		ev_init(&ev, sb, dst, 53);
		ev.ae_proto = AUDIT_UDP;
		audit_emit(&ev);
	}
	audit_store_pause(0);
	T_CHECK(audit_store_flush(&err) == 0, "%s", err.msg);
	audit_metrics_snapshot(&m1);
	T_CHECK(m1.am_aggregated - m0.am_aggregated ==
	    2 + AQ_COARSE_MAX + 76, "aggregated %llu",
	    (unsigned long long)(m1.am_aggregated - m0.am_aggregated));
	if (query(path, &(struct audit_filter){ NULL, 0, -1, 0 }, &rs) == 0) {
		T_CHECK(sum_counts(&rs) == 148 + 8 + 2 + AQ_COARSE_MAX + 76,
		    "%llu events", (unsigned long long)sum_counts(&rs));
		t = find_coarse(&rs, "");
		T_CHECK(t != NULL && t->count == 76 && t->proto == AUDIT_UDP &&
		    strstr(t->reason, "full") != NULL, "spare summary");
		rows_free(&rs);
	}
	audit_store_close();
	db_remove(path);
}

/*
 * An emitter's ae_count N > 1: one event standing for N attempts is a row
 * with count N, adds N to a summary, counts N in the metrics and shows
 * "count": N in JSON.
 */
static void
test_emitter_count(void)
{
	struct audit_config	 cfg = { 0 };
	struct audit_metrics	 m0, m1;
	struct audit_event	 ev;
	struct ir_err		 err;
	struct rows		 rs;
	const struct trow	*t;
	char			 path[128], buf[2048];
	json_t			*o;
	int			 i, rc;

	ev_init(&ev, "n", "203.0.113.9", 443);
	ev.ae_count = 250;
	if ((o = json_of(&ev, buf, sizeof(buf))) != NULL) {
		T_CHECK(json_integer_value(json_object_get(o, "count")) ==
		    250 && json_object_get(o, "last_ns") == NULL, "%s", buf);
		json_decref(o);
	}
	ev.ae_count = 1;
	if ((o = json_of(&ev, buf, sizeof(buf))) != NULL) {
		T_CHECK(json_object_get(o, "count") == NULL, "%s", buf);
		json_decref(o);
	}

	db_path(path, sizeof(path), "count.db");
	cfg.ac_queue_max = 2;
	rc = audit_store_open(path, &cfg, &err);
	T_CHECK(rc == 0, "%s", err.msg);
	if (rc != 0)
		return;
	audit_metrics_snapshot(&m0);
	audit_store_pause(1);
	/* a row of its own: count 250 */
	ev_init(&ev, "n", "203.0.113.9", 443);
	ev.ae_count = 250;
	audit_emit(&ev);
	ev_init(&ev, "n", "203.0.113.8", 443);
	audit_emit(&ev);
	/* queue full: 3 events to .10 of 7, 1, 0 (one) attempts */
	for (i = 0; i < 3; i++) {
		ev_init(&ev, "n", "203.0.113.10", 443);
		ev.ae_count = i == 0 ? 7 : i == 1 ? 1 : 0;
		audit_emit(&ev);
	}
	/* a summary that starts from an event of 40 */
	ev_init(&ev, "n", "203.0.113.11", 22);
	ev.ae_count = 40;
	ev.ae_proto = AUDIT_UDP;
	audit_emit(&ev);
	audit_emit(&ev);
	ev_init(&ev, "n", "100.64.0.1", 53);
	ev.ae_kind = AUDIT_DNS;
	ev.ae_proto = AUDIT_DNS_PROTO;
	ev.ae_rcode = "REFUSED";
	ev.ae_count = 3;
	audit_emit(&ev);
	ev_init(&ev, "n", "203.0.113.12", 443);
	ev.ae_kind = AUDIT_CLOSE;
	ev.ae_allowed = 1;
	ev.ae_count = 4;
	ev.ae_bytes_up = 10;
	audit_emit(&ev);
	audit_store_pause(0);
	T_CHECK(audit_store_flush(&err) == 0, "%s", err.msg);
	audit_metrics_snapshot(&m1);
	T_CHECK(m1.am_conn[AUDIT_TCP][0][AUDIT_REASON_DEFAULT] -
	    m0.am_conn[AUDIT_TCP][0][AUDIT_REASON_DEFAULT] == 250 + 1 + 9,
	    "tcp blocked %llu", (unsigned long long)
	    (m1.am_conn[AUDIT_TCP][0][AUDIT_REASON_DEFAULT] -
	    m0.am_conn[AUDIT_TCP][0][AUDIT_REASON_DEFAULT]));
	T_CHECK(m1.am_conn[AUDIT_UDP][0][AUDIT_REASON_DEFAULT] -
	    m0.am_conn[AUDIT_UDP][0][AUDIT_REASON_DEFAULT] == 80, "udp");
	T_CHECK(m1.am_dns[0][5] - m0.am_dns[0][5] == 3, "dns REFUSED");
	T_CHECK(m1.am_closed[AUDIT_TCP] - m0.am_closed[AUDIT_TCP] == 4 &&
	    m1.am_bytes_up - m0.am_bytes_up == 10, "close");
	T_CHECK(m1.am_events - m0.am_events == 250 + 1 + 9 + 80 + 3 + 4,
	    "events %llu", (unsigned long long)(m1.am_events - m0.am_events));
	T_CHECK(m1.am_aggregated - m0.am_aggregated == 9 + 80 + 3 + 4,
	    "aggregated %llu",
	    (unsigned long long)(m1.am_aggregated - m0.am_aggregated));
	if (query(path, &all, &rs) == 0) {
		T_CHECK(sum_counts(&rs) == m1.am_events - m0.am_events,
		    "%llu in the rows", (unsigned long long)sum_counts(&rs));
		t = find_dst(&rs, "203.0.113.9", 0);
		T_CHECK(t != NULL && t->count == 250 && t->last == 0,
		    "row of 250");
		t = find_dst(&rs, "203.0.113.10", 1);
		T_CHECK(t != NULL && t->count == 9, "summary of 7 + 1 + 1");
		t = find_dst(&rs, "203.0.113.11", 1);
		T_CHECK(t != NULL && t->count == 80, "summary of 40 + 40");
		t = find_dst(&rs, "100.64.0.1", 1);
		T_CHECK(t != NULL && t->count == 3 && t->kind == AUDIT_DNS,
		    "dns summary of 3");
		t = find_dst(&rs, "203.0.113.12", 1);
		T_CHECK(t != NULL && t->count == 4 && t->up == 10,
		    "close summary of 4");
		rows_free(&rs);
	}
	audit_store_close();
	db_remove(path);
}

/*
 * Request events: every field back from the store, the path capped at
 * AUDIT_PATH_MAX, the close of an intercepted connection with its count,
 * and the verdict filter (blocked: denied).
 */
static void
test_request_store(void)
{
	struct audit_event	 ev;
	struct ir_err		 err;
	struct rows		 rs;
	const struct trow	*t;
	char			 path[128], longp[AUDIT_PATH_MAX + 500];
	uint64_t		 t0 = now_ns();

	db_path(path, sizeof(path), "request.db");
	if (audit_store_open(path, NULL, &err) == -1) {
		T_CHECK(0, "%s", err.msg);
		return;
	}
	req_init(&ev, "r", "api.example", "deny DELETE /v1/admin/*",
	    "DELETE", "/v1/admin/users");
	ev.ae_time_ns = t0;
	sa6(&ev.ae_src, "2001:db8::2", 41000);
	sa6(&ev.ae_dst, "2001:db8::80", 443);
	audit_emit(&ev);
	memset(longp, 'a', sizeof(longp));
	longp[0] = '/';
	req_init(&ev, "r", "api.example", "default", "PATCH", NULL);
	ev.ae_path = longp;
	ev.ae_pathlen = sizeof(longp);
	ev.ae_time_ns = t0 + 1;
	audit_emit(&ev);
	/* a method longer than any real one is cut, not refused */
	req_init(&ev, "r", "api.example", "ambiguous", "", "/a//b");
	ev.ae_method = longp + 1;
	ev.ae_methodlen = 100;
	ev.ae_time_ns = t0 + 2;
	audit_emit(&ev);
	ev_init(&ev, "r", "203.0.113.80", 443);
	ev.ae_kind = AUDIT_CLOSE;
	ev.ae_allowed = 1;
	ev.ae_rule = "api.example";
	ev.ae_reason = "closed";
	ev.ae_bytes_up = 300;
	ev.ae_bytes_down = 9000;
	ev.ae_duration_ms = 77;
	ev.ae_intercepted = 1;
	ev.ae_requests = 12;
	ev.ae_time_ns = t0 + 3;
	audit_emit(&ev);
	ev.ae_intercepted = 0;
	ev.ae_requests = 5;	/* ignored: not intercepted */
	ev.ae_time_ns = t0 + 4;
	audit_emit(&ev);
	T_CHECK(audit_store_flush(&err) == 0, "%s", err.msg);

	if (query(path, &all, &rs) == 0) {
		T_CHECK(rs.n == 5, "%zu rows", rs.n);
		if (rs.n == 5) {
			t = &rs.r[0];
			T_CHECK(t->kind == AUDIT_REQUEST && !t->allowed &&
			    t->proto == AUDIT_TCP && t->count == 1 &&
			    t->time == t0, "request row");
			T_STREQ(t->sb, "r");
			T_STREQ(t->name, "api.example");
			T_STREQ(t->rule, "deny DELETE /v1/admin/*");
			T_STREQ(t->reason, "denied by an endpoint rule");
			T_STREQ(t->method, "DELETE");
			T_STREQ(t->path, "/v1/admin/users");
			T_STREQ(t->src, "2001:db8::2");
			T_STREQ(t->dst, "2001:db8::80");
			T_CHECK(t->sport == 41000 && t->dport == 443,
			    "ports %u %u", t->sport, t->dport);
			T_CHECK(!t->intercepted && t->requests == 0,
			    "close fields on a request");
			t = &rs.r[1];
			T_CHECK(t->pathlen == AUDIT_PATH_MAX &&
			    strncmp(t->path, longp, AUDIT_PATH_MAX) == 0,
			    "path of %zu", t->pathlen);
			T_STREQ(t->rule, "default");
			t = &rs.r[2];
			T_CHECK(strlen(t->method) == AQ_METHOD_MAX &&
			    strncmp(t->method, longp + 1, AQ_METHOD_MAX) == 0,
			    "method %s", t->method);
			T_STREQ(t->path, "/a//b");
			t = &rs.r[3];
			T_CHECK(t->kind == AUDIT_CLOSE && t->intercepted &&
			    t->requests == 12 && t->up == 300 &&
			    t->down == 9000 && t->ms == 77 && !t->has_method &&
			    !t->has_path, "intercepted close");
			t = &rs.r[4];
			T_CHECK(t->kind == AUDIT_CLOSE && !t->intercepted &&
			    t->requests == 0, "plain close");
		}
		rows_free(&rs);
	}
	/* blocked: the denied requests only */
	if (query(path, &(struct audit_filter){ "r", 0, 0, 0 }, &rs) == 0) {
		T_CHECK(rs.n == 3 && rs.r[0].kind == AUDIT_REQUEST &&
		    rs.r[2].kind == AUDIT_REQUEST, "%zu blocked", rs.n);
		rows_free(&rs);
	}
	if (query(path, &(struct audit_filter){ "r", 0, 1, 0 }, &rs) == 0) {
		T_CHECK(rs.n == 2 && rs.r[0].kind == AUDIT_CLOSE, "%zu allowed",
		    rs.n);
		rows_free(&rs);
	}
	audit_store_close();
	db_remove(path);
}

static const struct trow *
find_req(const struct rows *rs, const char *host, const char *rule,
    int summary)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].kind == AUDIT_REQUEST &&
		    strcmp(rs->r[i].name, host) == 0 &&
		    strcmp(rs->r[i].rule, rule) == 0 &&
		    (rs->r[i].last != 0) == summary)
			return &rs->r[i];
	return NULL;
}

/*
 * A flood of denied requests with the queue full folds into summaries
 * keyed by sandbox, host and rule, with exact counts and the first's
 * method and path; past the summaries, coarse ones without host, method
 * or path; past those, spares that still say "request".
 */
static void
test_request_flood(void)
{
	struct audit_config	 cfg = { 0 };
	struct audit_metrics	 m0, m1;
	struct audit_event	 ev;
	struct ir_err		 err;
	struct rows		 rs;
	const struct trow	*t;
	char			 path[128], p[64], sb[32];
	int			 i, rc, nspare;

	db_path(path, sizeof(path), "reqflood.db");
	cfg.ac_queue_max = 4;
	cfg.ac_summary_max = 3;
	rc = audit_store_open(path, &cfg, &err);
	T_CHECK(rc == 0, "%s", err.msg);
	if (rc != 0)
		return;
	audit_metrics_snapshot(&m0);
	audit_store_pause(1);
	for (i = 0; i < 4; i++) {
		req_init(&ev, "f", "q.example", "default", "GET", "/q");
		audit_emit(&ev);
	}
	/* 1000 to one host and rule, paths and source ports differing */
	for (i = 0; i < 1000; i++) {
		snprintf(p, sizeof(p), "/v1/admin/%d", i);
		req_init(&ev, "f", "api.example", "deny * /v1/admin/*",
		    i % 2 ? "DELETE" : "PUT", p);
		sa4(&ev.ae_src, "100.64.0.2", 30000 + (unsigned)i);
		audit_emit(&ev);
	}
	/* same host, another rule; another host, same rule */
	for (i = 0; i < 300; i++) {
		req_init(&ev, "f", "api.example", "default", "POST", "/x");
		audit_emit(&ev);
		req_init(&ev, "f", "b.example", "deny * /v1/admin/*", "GET",
		    "/v1/admin/y");
		audit_emit(&ev);
	}
	/* past summary_max: keyed by sandbox only */
	for (i = 0; i < 50; i++) {
		snprintf(p, sizeof(p), "h%d.example", i);
		req_init(&ev, "f", p, "default", "GET", "/");
		audit_emit(&ev);
	}
	/* past the coarse table: spares, still requests */
	nspare = 20;
	for (i = 0; i < AQ_COARSE_MAX + nspare; i++) {
		snprintf(sb, sizeof(sb), "g%d", i);
		req_init(&ev, sb, "c.example", "default", "GET", "/");
		audit_emit(&ev);
	}
	audit_store_pause(0);
	T_CHECK(audit_store_flush(&err) == 0, "%s", err.msg);
	audit_metrics_snapshot(&m1);
	T_CHECK(m1.am_aggregated - m0.am_aggregated ==
	    1000 + 600 + 50 + AQ_COARSE_MAX + (uint64_t)nspare,
	    "aggregated %llu",
	    (unsigned long long)(m1.am_aggregated - m0.am_aggregated));
	T_CHECK(m1.am_requests[0][0] - m0.am_requests[0][0] == 1300 &&
	    m1.am_requests[0][1] - m0.am_requests[0][1] ==
	    4 + 300 + 50 + AQ_COARSE_MAX + (uint64_t)nspare,
	    "denied: rule %llu default %llu",
	    (unsigned long long)(m1.am_requests[0][0] - m0.am_requests[0][0]),
	    (unsigned long long)(m1.am_requests[0][1] - m0.am_requests[0][1]));
	if (query(path, &all, &rs) == 0) {
		T_CHECK(sum_counts(&rs) == 4 + 1000 + 600 + 50 +
		    AQ_COARSE_MAX + (uint64_t)nspare, "%llu events",
		    (unsigned long long)sum_counts(&rs));
		t = find_req(&rs, "api.example", "deny * /v1/admin/*", 1);
		T_CHECK(t != NULL && t->count == 1000, "summary of 1000");
		if (t != NULL) {
			T_STREQ(t->method, "PUT");
			T_STREQ(t->path, "/v1/admin/0");
			T_CHECK(t->sport == 0 && t->dport == 443 &&
			    t->kind == AUDIT_REQUEST && !t->allowed,
			    "sport %u dport %u", t->sport, t->dport);
		}
		t = find_req(&rs, "api.example", "default", 1);
		T_CHECK(t != NULL && t->count == 300, "summary by rule");
		if (t != NULL)
			T_STREQ(t->method, "POST");
		t = find_req(&rs, "b.example", "deny * /v1/admin/*", 1);
		T_CHECK(t != NULL && t->count == 300, "summary by host");
		t = NULL;
		for (size_t k = 0; k < rs.n; k++)
			if (rs.r[k].last != 0 && !rs.r[k].has_name &&
			    strcmp(rs.r[k].sb, "f") == 0)
				t = &rs.r[k];
		T_CHECK(t != NULL && t->count == 50 && !t->has_method &&
		    !t->has_path && !t->has_rule && t->kind == AUDIT_REQUEST,
		    "coarse summary of 50");
		t = find_coarse(&rs, "");
		/* "f" took one coarse record: one more g in the spares */
		T_CHECK(t != NULL && t->count == (uint64_t)nspare + 1 &&
		    t->kind == AUDIT_REQUEST && !t->has_method,
		    "spare summary of requests");
		rows_free(&rs);
	}
	audit_store_close();
	db_remove(path);
}

/* The CREATE statements of schema 1, as isorun wrote them before requests. */
static const char schema_v1[] =
    "PRAGMA auto_vacuum = INCREMENTAL;"
    "PRAGMA journal_mode = WAL;"
    "CREATE TABLE IF NOT EXISTS events ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time_ns INTEGER NOT NULL,"
    " sandbox TEXT NOT NULL,"
    " event TEXT NOT NULL,"
    " proto TEXT NOT NULL,"
    " src TEXT, sport INTEGER,"
    " dst TEXT, dport INTEGER,"
    " name TEXT, name_source TEXT NOT NULL,"
    " verdict TEXT NOT NULL,"
    " rule TEXT, reason TEXT,"
    " bytes_up INTEGER, bytes_down INTEGER, duration_ms INTEGER,"
    " qname TEXT, qtype INTEGER, rcode TEXT,"
    " count INTEGER NOT NULL DEFAULT 1,"
    " last_ns INTEGER);"
    "CREATE INDEX IF NOT EXISTS events_time ON events (time_ns);"
    "CREATE INDEX IF NOT EXISTS events_sandbox ON events (sandbox, time_ns);"
    "PRAGMA user_version = 1;";

static int
sql_run(const char *path, const char *sql)
{
	sqlite3	*db;
	int	 rc;

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "  %s\n", sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/*
 * A database of schema 1 reads as it is (new fields NULL), is migrated
 * by the writer in place keeping its rows, and then takes requests; a
 * newer schema is refused by both.
 */
static void
test_migration(void)
{
	struct audit_event	 ev;
	struct ir_err		 err;
	struct rows		 rs;
	struct audit_db		*d;
	char			 path[128], sql[4096];
	uint64_t		 t0 = now_ns() - 60000000000ULL;
	int			 rc;

	db_path(path, sizeof(path), "v1.db");
	snprintf(sql, sizeof(sql), "%s"
	    "INSERT INTO events (time_ns, sandbox, event, proto, src, sport,"
	    " dst, dport, name, name_source, verdict, rule, reason)"
	    " VALUES (%llu, 'old', 'connect', 'tcp', '100.64.0.2', 40000,"
	    " '203.0.113.5', 443, 'old.example', 'sni', 'blocked', 'default',"
	    " 'no rule allows it');"
	    "INSERT INTO events (time_ns, sandbox, event, proto, dst, dport,"
	    " name_source, verdict, rule, bytes_up, bytes_down, duration_ms,"
	    " count, last_ns) VALUES (%llu, 'old', 'close', 'tcp',"
	    " '203.0.113.6', 80, 'none', 'allowed', '203.0.113.6', 1, 2, 3,"
	    " 4, %llu);", schema_v1, (unsigned long long)t0,
	    (unsigned long long)t0 + 1, (unsigned long long)t0 + 9);
	T_CHECK(sql_run(path, sql) == 0, "schema 1");

	/* read before any writer migrated it */
	if (query(path, &all, &rs) == 0) {
		T_CHECK(rs.n == 2 && rs.r[0].kind == AUDIT_CONNECT &&
		    !rs.r[0].has_method && !rs.r[1].intercepted &&
		    rs.r[1].count == 4 && rs.r[1].up == 1, "%zu rows", rs.n);
		rows_free(&rs);
	} else
		T_CHECK(0, "schema 1 unreadable");

	rc = audit_store_open(path, NULL, &err);
	T_CHECK(rc == 0, "%s", err.msg);
	if (rc != 0)
		return;
	req_init(&ev, "new", "api.example", "deny DELETE /v1/admin/*",
	    "DELETE", "/v1/admin/u");
	audit_emit(&ev);
	ev_init(&ev, "new", "203.0.113.80", 443);
	ev.ae_kind = AUDIT_CLOSE;
	ev.ae_allowed = 1;
	ev.ae_intercepted = 1;
	ev.ae_requests = 3;
	audit_emit(&ev);
	T_CHECK(audit_store_flush(&err) == 0, "%s", err.msg);
	if (query(path, &all, &rs) == 0) {
		T_CHECK(rs.n == 4, "%zu rows", rs.n);
		if (rs.n == 4) {
			T_CHECK(rs.r[0].id == 1 && rs.r[0].time == t0 &&
			    rs.r[0].sport == 40000 && !rs.r[0].has_method &&
			    !rs.r[0].has_path, "old row 1");
			T_STREQ(rs.r[0].name, "old.example");
			T_STREQ(rs.r[0].reason, "no rule allows it");
			T_CHECK(rs.r[1].kind == AUDIT_CLOSE &&
			    rs.r[1].count == 4 && rs.r[1].last == t0 + 9 &&
			    rs.r[1].ms == 3 && !rs.r[1].intercepted,
			    "old row 2");
			T_CHECK(rs.r[2].kind == AUDIT_REQUEST &&
			    rs.r[2].id == 3, "new request id %lld",
			    (long long)rs.r[2].id);
			T_STREQ(rs.r[2].method, "DELETE");
			T_STREQ(rs.r[2].path, "/v1/admin/u");
			T_CHECK(rs.r[3].intercepted && rs.r[3].requests == 3,
			    "new close");
		}
		rows_free(&rs);
	}
	audit_store_close();
	/* opens again as it is now */
	rc = audit_store_open(path, NULL, &err);
	T_CHECK(rc == 0, "reopen: %s", err.msg);
	if (rc == 0)
		audit_store_close();
	db_remove(path);

	/* a migration that fails (the column is there already): refused
	   with SQLite's word, rolled back */
	db_path(path, sizeof(path), "v1bad.db");
	snprintf(sql, sizeof(sql), "%sALTER TABLE events ADD COLUMN path "
	    "BLOB;", schema_v1);
	T_CHECK(sql_run(path, sql) == 0, "schema 1 with path");
	T_CHECK(audit_store_open(path, NULL, &err) == -1 &&
	    strstr(err.msg, "migration from schema 1") != NULL &&
	    strstr(err.msg, "duplicate column name: path") != NULL,
	    "store: %s", err.msg);
	d = audit_db_open(path, &err);
	T_CHECK(d != NULL, "still schema 1: %s", err.msg);
	audit_db_close(d);
	T_CHECK(sql_run(path, "SELECT method FROM events") == -1,
	    "the migration was not rolled back");
	db_remove(path);

	/* a newer schema: refused, and left as it is */
	db_path(path, sizeof(path), "v3.db");
	T_CHECK(sql_run(path, "CREATE TABLE events (id INTEGER);"
	    "PRAGMA user_version = 3;") == 0, "schema 3");
	T_CHECK(audit_store_open(path, NULL, &err) == -1 &&
	    strstr(err.msg, "schema 3 is newer") != NULL, "store: %s",
	    err.msg);
	d = audit_db_open(path, &err);
	T_CHECK(d == NULL && strstr(err.msg, "schema 3 is newer") != NULL,
	    "reader: %s", err.msg);
	audit_db_close(d);
	db_remove(path);
}

/*
 * A write that fails (RLIMIT_FSIZE plays the full disk) loses nothing: the
 * batch goes back into the queue, past its size into summaries with their
 * counts, and is written once the file may grow again; flush says why
 * meanwhile, and nothing is counted as dropped.
 */
static void
test_write_fails(void)
{
	struct audit_config	 cfg = { 0 };
	struct audit_metrics	 m0, m1;
	struct audit_event	 ev;
	struct ir_err		 err;
	struct rows		 rs;
	struct rlimit		 old, lim;
	struct stat		 sb;
	const struct trow	*t;
	char			 path[128], wal[140], dst[32], reason[2048];
	off_t			 size = 0;
	int			 i, rc, rc1, rc2;

	db_path(path, sizeof(path), "full.db");
	snprintf(wal, sizeof(wal), "%s-wal", path);
	cfg.ac_queue_max = 8;
	cfg.ac_summary_max = 2;
	rc = audit_store_open(path, &cfg, &err);
	T_CHECK(rc == 0, "%s", err.msg);
	if (rc != 0)
		return;
	ev_init(&ev, "s", "203.0.113.1", 80);
	audit_emit(&ev);
	T_CHECK(audit_store_flush(&err) == 0, "%s", err.msg);
	if (stat(path, &sb) == 0)
		size = sb.st_size;
	if (stat(wal, &sb) == 0 && sb.st_size > size)
		size = sb.st_size;
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	audit_metrics_snapshot(&m0);

	/* Neither file may grow: every write of a batch this big fails. */
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)size;
	setrlimit(RLIMIT_FSIZE, &lim);
	audit_store_pause(1);
	for (i = 0; i < 8; i++) {
		snprintf(dst, sizeof(dst), "203.0.113.%d", i + 10);
		ev_init(&ev, "s", dst, 80);
		ev.ae_reason = reason;
		audit_emit(&ev);
	}
	for (i = 0; i < 100; i++) {
		ev_init(&ev, "s", "203.0.113.50", 443);
		ev.ae_reason = reason;
		audit_emit(&ev);
	}
	audit_store_pause(0);
	rc1 = audit_store_flush(&err);
	/* More while it still fails: the queue holds the first ones now. */
	for (i = 0; i < 30; i++) {
		ev_init(&ev, "t", "203.0.113.60", 443);
		ev.ae_kind = AUDIT_CLOSE;
		ev.ae_allowed = 1;
		ev.ae_bytes_down = 7;
		audit_emit(&ev);
	}
	rc2 = audit_store_flush(&err);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	T_CHECK(rc1 == -1 && rc2 == -1, "flush while failing: %d %d", rc1,
	    rc2);
	T_CHECK(strstr(err.msg, path) != NULL &&
	    strstr(err.msg, "cannot write") != NULL &&
	    strstr(err.msg, "events kept in memory until it can") != NULL,
	    "%s", err.msg);
	audit_metrics_snapshot(&m1);
	T_CHECK(m1.am_queue > 0, "nothing waits in the queue");

	rc = audit_store_flush(&err);
	T_CHECK(rc == 0, "flush once it may grow: %s", err.msg);
	audit_metrics_snapshot(&m1);
	T_CHECK(m1.am_dropped == m0.am_dropped, "%llu dropped",
	    (unsigned long long)(m1.am_dropped - m0.am_dropped));
	if (query(path, &all, &rs) == 0) {
		T_CHECK(sum_counts(&rs) == 1 + 8 + 100 + 30, "%llu events",
		    (unsigned long long)sum_counts(&rs));
		for (i = 0; i < 8; i++) {
			snprintf(dst, sizeof(dst), "203.0.113.%d", i + 10);
			t = find_dst(&rs, dst, 0);
			T_CHECK(t != NULL && t->count == 1 &&
			    strncmp(t->reason, reason, sizeof(t->reason) - 1)
			    == 0, "queued event %s", dst);
		}
		t = find_dst(&rs, "203.0.113.50", 1);
		T_CHECK(t != NULL && t->count == 100, "summary of 100");
		t = find_dst(&rs, "203.0.113.60", 1);
		T_CHECK(t != NULL && t->count == 30 && t->down == 30 * 7,
		    "summary of 30 closes: %llu, %llu bytes",
		    t ? (unsigned long long)t->count : 0,
		    t ? (unsigned long long)t->down : 0);
		rows_free(&rs);
	}
	audit_store_close();
	db_remove(path);
}

/* Every event lands in the store or, once it is closed, on stderr. */
struct closer {
	pthread_t	 thr;
	volatile int	*stop;
	unsigned long	 n;
};

static void *
emit_loop(void *arg)
{
	struct closer		*c = arg;
	struct audit_event	 ev;

	ev_init(&ev, "c", "192.0.2.1", 80);
	while (!*c->stop) {
		audit_emit(&ev);
		c->n++;
	}
	return NULL;
}

static void
test_close_racing(void)
{
	struct closer		 c[2];
	struct ir_err		 err;
	struct rows		 rs;
	struct timespec		 ts = { 0, 30000000 };
	volatile int		 stop = 0;
	char			 path[128], log[128], line[1024];
	unsigned long		 lines = 0, emitted = 0;
	FILE			*f;
	int			 saved, fd;

	db_path(path, sizeof(path), "close.db");
	db_path(log, sizeof(log), "close.stderr");
	if (audit_store_open(path, NULL, &err) == -1) {
		T_CHECK(0, "%s", err.msg);
		return;
	}
	fflush(stderr);
	saved = dup(2);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	dup2(fd, 2);
	close(fd);
	for (int i = 0; i < 2; i++) {
		c[i].stop = &stop;
		c[i].n = 0;
		pthread_create(&c[i].thr, NULL, emit_loop, &c[i]);
	}
	nanosleep(&ts, NULL);
	audit_store_close();
	nanosleep(&ts, NULL);
	stop = 1;
	for (int i = 0; i < 2; i++) {
		pthread_join(c[i].thr, NULL);
		emitted += c[i].n;
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if ((f = fopen(log, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			lines += strncmp(line, "{\"time_ns\":", 11) == 0;
		fclose(f);
	}
	if (query(path, &all, &rs) == 0) {
		T_CHECK(sum_counts(&rs) + lines == emitted, "store %llu + "
		    "stderr %lu != emitted %lu",
		    (unsigned long long)sum_counts(&rs), lines, emitted);
		T_CHECK(sum_counts(&rs) > 0 && lines > 0, "store %llu stderr "
		    "%lu", (unsigned long long)sum_counts(&rs), lines);
		rows_free(&rs);
	}
	unlink(log);
	db_remove(path);
}

/* ---- queries ---- */

static void
test_query_filters(void)
{
	struct audit_event	 ev;
	struct ir_err		 err;
	struct rows		 rs;
	struct audit_filter	 f;
	char			 path[128];
	uint64_t		 now = now_ns(), h = 3600000000000ULL;

	db_path(path, sizeof(path), "query.db");
	if (audit_store_open(path, NULL, &err) == -1) {
		T_CHECK(0, "%s", err.msg);
		return;
	}
	/* a: blocked 3 h ago, allowed 2 h ago, blocked now; b: blocked now */
	ev_init(&ev, "a", "203.0.113.1", 443);
	ev.ae_time_ns = now - 3 * h;
	ev.ae_reason = "a1";
	audit_emit(&ev);
	ev.ae_time_ns = now - 2 * h;
	ev.ae_allowed = 1;
	ev.ae_reason = "a2";
	audit_emit(&ev);
	ev.ae_time_ns = 0;
	ev.ae_allowed = 0;
	ev.ae_reason = "a3";
	audit_emit(&ev);
	ev_init(&ev, "b", "203.0.113.2", 443);
	ev.ae_reason = "b1";
	audit_emit(&ev);
	T_CHECK(audit_store_flush(&err) == 0, "%s", err.msg);
	audit_store_close();	/* queries read a closed store too */

	if (query(path, &all, &rs) == 0) {
		T_CHECK(rs.n == 4, "%zu rows", rs.n);
		if (rs.n == 4)
			T_CHECK(strcmp(rs.r[0].reason, "a1") == 0 &&
			    strcmp(rs.r[1].reason, "a2") == 0 &&
			    rs.r[0].time < rs.r[1].time &&
			    rs.r[1].time < rs.r[2].time, "order %s %s",
			    rs.r[0].reason, rs.r[1].reason);
		rows_free(&rs);
	}
	f = (struct audit_filter){ "a", 0, -1, 0 };
	if (query(path, &f, &rs) == 0) {
		T_CHECK(rs.n == 3, "sandbox a: %zu rows", rs.n);
		rows_free(&rs);
	}
	f = (struct audit_filter){ "a", 0, 0, 0 };
	if (query(path, &f, &rs) == 0) {
		T_CHECK(rs.n == 2 && !rs.r[0].allowed && !rs.r[1].allowed,
		    "a blocked: %zu rows", rs.n);
		rows_free(&rs);
	}
	f = (struct audit_filter){ NULL, 0, 1, 0 };
	if (query(path, &f, &rs) == 0) {
		T_CHECK(rs.n == 1 && strcmp(rs.r[0].reason, "a2") == 0,
		    "allowed: %zu rows", rs.n);
		rows_free(&rs);
	}
	f = (struct audit_filter){ NULL, now - 150 * 60000000000ULL, -1, 0 };
	if (query(path, &f, &rs) == 0) {
		T_CHECK(rs.n == 3 && strcmp(rs.r[0].reason, "a2") == 0,
		    "since 2h30m: %zu rows", rs.n);
		rows_free(&rs);
	}
	f = (struct audit_filter){ NULL, 0, -1, 2 };
	if (query(path, &f, &rs) == 0) {
		T_CHECK(rs.n == 2 && rs.r[0].time <= rs.r[1].time &&
		    rs.r[0].time >= now, "limit 2: %zu rows", rs.n);
		rows_free(&rs);
	}
	f = (struct audit_filter){ "nobody", 0, -1, 0 };
	if (query(path, &f, &rs) == 0) {
		T_CHECK(rs.n == 0, "unknown sandbox: %zu rows", rs.n);
		rows_free(&rs);
	}
	db_remove(path);
}

/* The callback may stop a query. */
static int
stop_at_first(void *arg, const struct audit_row *row)
{
	(void)row;
	(*(int *)arg)++;
	return 1;
}

static void
test_query_stop(void)
{
	struct audit_event	 ev;
	struct audit_db		*d;
	struct ir_err		 err;
	char			 path[128];
	int			 n = 0;

	db_path(path, sizeof(path), "stop.db");
	if (audit_store_open(path, NULL, &err) == -1) {
		T_CHECK(0, "%s", err.msg);
		return;
	}
	ev_init(&ev, "a", "203.0.113.1", 443);
	for (int i = 0; i < 5; i++)
		audit_emit(&ev);
	audit_store_close();
	if ((d = audit_db_open(path, &err)) != NULL) {
		T_CHECK(audit_query(d, &all, stop_at_first, &n, &err) == 0,
		    "%s", err.msg);
		T_CHECK(n == 1, "called %d times", n);
		audit_db_close(d);
	} else
		T_CHECK(0, "%s", err.msg);
	db_remove(path);
}

/* ---- follow ---- */

struct follower {
	pthread_t		 thr;
	const char		*path;
	struct audit_filter	 f;
	struct rows		 rs;
	int			 rc;
};

static void *
follow_main(void *arg)
{
	struct follower	*fw = arg;
	struct audit_db	*d;
	struct ir_err	 err;

	fw->rc = -1;
	if ((d = audit_db_open(fw->path, &err)) == NULL)
		return NULL;
	fw->rc = audit_follow(d, &fw->f, collect, &fw->rs, &err);
	audit_db_close(d);
	return NULL;
}

static void
test_follow(void)
{
	struct follower		 fw;
	struct audit_event	 ev;
	struct ir_err		 err;
	struct timespec		 ts = { 0, 300000000 };
	char			 path[128];
	uint64_t		 t0;

	db_path(path, sizeof(path), "follow.db");
	if (audit_store_open(path, NULL, &err) == -1) {
		T_CHECK(0, "%s", err.msg);
		return;
	}
	ev_init(&ev, "f", "203.0.113.1", 443);
	ev.ae_reason = "old";
	audit_emit(&ev);
	T_CHECK(audit_store_flush(&err) == 0, "%s", err.msg);

	memset(&fw, 0, sizeof(fw));
	fw.path = path;
	fw.f = (struct audit_filter){ "f", 0, 0, 0 };
	fw.rs.stop_after = 2;
	pthread_create(&fw.thr, NULL, follow_main, &fw);
	nanosleep(&ts, NULL);
	/* Another sandbox's and an allowed event: not for this follower. */
	ev_init(&ev, "g", "203.0.113.1", 443);
	audit_emit(&ev);
	ev_init(&ev, "f", "203.0.113.1", 443);
	ev.ae_allowed = 1;
	audit_emit(&ev);
	nanosleep(&ts, NULL);
	/* Then one that is, without a flush: the writer's own commit. */
	ev.ae_allowed = 0;
	ev.ae_reason = "new";
	t0 = mono_ns();
	audit_emit(&ev);
	pthread_join(fw.thr, NULL);
	T_CHECK(fw.rc == 0, "follow failed");
	T_CHECK(fw.rs.n == 2, "%zu rows", fw.rs.n);
	if (fw.rs.n == 2) {
		T_STREQ(fw.rs.r[0].reason, "old");
		T_STREQ(fw.rs.r[1].reason, "new");
		T_CHECK(fw.rs.r[0].id < fw.rs.r[1].id, "ids");
	}
	/* The follower stopped on the second row: it came within 1 s. */
	T_CHECK(mono_ns() - t0 < 1000000000ULL, "seen after %llu ms",
	    (unsigned long long)((mono_ns() - t0) / 1000000));
	rows_free(&fw.rs);
	audit_store_close();
	db_remove(path);
}

/* ---- retention ---- */

static void
test_retain_age(void)
{
	struct audit_config	 cfg = { 0 };
	struct audit_metrics	 m0, m1;
	struct audit_event	 ev;
	struct ir_err		 err;
	struct rows		 rs;
	char			 path[128];
	uint64_t		 day = 86400000000000ULL, now = now_ns();

	db_path(path, sizeof(path), "age.db");
	cfg.ac_max_age_s = 86400;
	if (audit_store_open(path, &cfg, &err) == -1) {
		T_CHECK(0, "%s", err.msg);
		return;
	}
	audit_metrics_snapshot(&m0);
	ev_init(&ev, "old", "203.0.113.1", 443);
	for (int i = 0; i < 10; i++) {
		ev.ae_time_ns = now - 2 * day - (uint64_t)i;
		audit_emit(&ev);
	}
	ev_init(&ev, "edge", "203.0.113.1", 443);
	ev.ae_time_ns = now - day + 60000000000ULL;	/* a minute to spare */
	audit_emit(&ev);
	ev_init(&ev, "new", "203.0.113.1", 443);
	audit_emit(&ev);
	T_CHECK(audit_store_flush(&err) == 0, "%s", err.msg);
	audit_metrics_snapshot(&m1);
	T_CHECK(m1.am_retained - m0.am_retained == 10, "expired %llu",
	    (unsigned long long)(m1.am_retained - m0.am_retained));
	if (query(path, &all, &rs) == 0) {
		T_CHECK(rs.n == 2 && strcmp(rs.r[0].sb, "edge") == 0 &&
		    strcmp(rs.r[1].sb, "new") == 0, "%zu rows", rs.n);
		rows_free(&rs);
	}
	audit_store_close();

	/* A shorter max_age applies when the store opens again. */
	cfg.ac_max_age_s = 3600;
	T_CHECK(audit_store_open(path, &cfg, &err) == 0, "%s", err.msg);
	audit_store_close();
	if (query(path, &all, &rs) == 0) {
		T_CHECK(rs.n == 1 && strcmp(rs.r[0].sb, "new") == 0,
		    "%zu rows", rs.n);
		rows_free(&rs);
	}
	db_remove(path);
}

static int64_t
db_used(const char *path, int64_t *rows, int64_t *lo, int64_t *hi)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	int64_t		 used = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT (SELECT page_count FROM "
	    "pragma_page_count) - (SELECT freelist_count FROM "
	    "pragma_freelist_count), (SELECT page_size FROM pragma_page_size),"
	    " count(*), min(id), max(id) FROM events", -1, &s, NULL) ==
	    SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
		used = sqlite3_column_int64(s, 0) * sqlite3_column_int64(s, 1);
		*rows = sqlite3_column_int64(s, 2);
		*lo = sqlite3_column_int64(s, 3);
		*hi = sqlite3_column_int64(s, 4);
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return used;
}

static void
test_retain_size(void)
{
	struct audit_config	 cfg = { 0 };
	struct audit_event	 ev;
	struct ir_err		 err;
	struct stat		 sb;
	char			 path[128], reason[64];
	int64_t			 used, rows = 0, lo = 0, hi = 0, max_used = 0;
	int			 i, j;

	db_path(path, sizeof(path), "size.db");
	cfg.ac_max_bytes = 256 * 1024;
	if (audit_store_open(path, &cfg, &err) == -1) {
		T_CHECK(0, "%s", err.msg);
		return;
	}
	ev_init(&ev, "big", "203.0.113.1", 443);
	for (j = 0; j < 10; j++) {
		for (i = 0; i < 2000; i++) {
			snprintf(reason, sizeof(reason), "event %d of a "
			    "sandbox that tries a lot", j * 2000 + i);
			ev.ae_reason = reason;
			audit_emit(&ev);
		}
		T_CHECK(audit_store_flush(&err) == 0, "%s", err.msg);
		used = db_used(path, &rows, &lo, &hi);
		if (used > max_used)
			max_used = used;
	}
	T_CHECK(max_used > 0 && max_used <= (int64_t)cfg.ac_max_bytes,
	    "used %lld bytes, bound %llu", (long long)max_used,
	    (unsigned long long)cfg.ac_max_bytes);
	/* The newest survive, the oldest went first, with no hole. */
	T_CHECK(hi == 20000 && lo > 1 && rows == hi - lo + 1,
	    "rows %lld ids %lld..%lld", (long long)rows, (long long)lo,
	    (long long)hi);
	T_CHECK(rows > 1000, "only %lld rows kept", (long long)rows);
	audit_store_close();
	T_CHECK(stat(path, &sb) == 0 && sb.st_size <= (off_t)cfg.ac_max_bytes,
	    "file is %lld bytes", (long long)sb.st_size);
	db_remove(path);
}

/* ---- errors ---- */

static void
test_errors(void)
{
	struct audit_config	 cfg = { 0 };
	struct ir_err		 err;
	char			 path[128], other[128];
	sqlite3			*db;
	int			 fd;

	T_CHECK(audit_store_flush(&err) == -1 &&
	    strstr(err.msg, "no store") != NULL, "flush: %s", err.msg);
	T_CHECK(audit_store_open("/nonexistent-dir/x/audit.db", NULL, &err) ==
	    -1 && strstr(err.msg, "/nonexistent-dir/x/audit.db") != NULL &&
	    err.code == ENOENT, "missing dir: %s", err.msg);
	db_path(path, sizeof(path), "err.db");
	cfg.ac_max_bytes = 1000;
	T_CHECK(audit_store_open(path, &cfg, &err) == -1 &&
	    strstr(err.msg, "max_bytes 1000") != NULL, "%s", err.msg);
	cfg.ac_max_bytes = 0;
	cfg.ac_commit_ms = 2000;
	T_CHECK(audit_store_open(path, &cfg, &err) == -1 &&
	    strstr(err.msg, "2000 ms") != NULL, "%s", err.msg);
	cfg.ac_commit_ms = 0;
	T_CHECK(audit_store_open(path, &cfg, &err) == 0, "%s", err.msg);
	db_path(other, sizeof(other), "err2.db");
	T_CHECK(audit_store_open(other, &cfg, &err) == -1 &&
	    err.code == EBUSY && strstr(err.msg, "already open") != NULL,
	    "second store: %s", err.msg);
	audit_store_close();
	audit_store_close();	/* twice is harmless */
	db_remove(path);

	/* Not a database, not ours, missing: each says so. */
	db_path(path, sizeof(path), "garbage.db");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	{
		static const char junk[] = "this is not sqlite, this is a "
		    "text file padded to be longer than a database header "
		    "................................................\n";

		T_CHECK(write(fd, junk, sizeof(junk) - 1) ==
		    (ssize_t)sizeof(junk) - 1, "write");
	}
	close(fd);
	T_CHECK(audit_store_open(path, NULL, &err) == -1 &&
	    strstr(err.msg, path) != NULL &&
	    strstr(err.msg, "not a database") != NULL, "garbage: %s",
	    err.msg);
	T_CHECK(audit_db_open(path, &err) == NULL &&
	    strstr(err.msg, "not a database") != NULL, "garbage read: %s",
	    err.msg);
	db_remove(path);
	db_path(path, sizeof(path), "foreign.db");
	if (sqlite3_open(path, &db) == SQLITE_OK) {
		sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL);
		sqlite3_close(db);
	}
	T_CHECK(audit_store_open(path, NULL, &err) == -1 &&
	    strstr(err.msg, "not an isorun audit database") != NULL,
	    "foreign: %s", err.msg);
	T_CHECK(audit_db_open(path, &err) == NULL &&
	    strstr(err.msg, "not an isorun audit database") != NULL,
	    "foreign read: %s", err.msg);
	db_remove(path);
	db_path(path, sizeof(path), "missing.db");
	T_CHECK(audit_db_open(path, &err) == NULL && err.code == ENOENT &&
	    strstr(err.msg, path) != NULL, "missing: %s", err.msg);
	/* The reader never creates one. */
	T_CHECK(access(path, F_OK) == -1, "the reader created %s", path);
	T_CHECK(audit_db_open(dir, &err) == NULL &&
	    strstr(err.msg, "not a regular file") != NULL, "dir: %s",
	    err.msg);
}

/* ---- metrics ---- */

/*
 * A small parser of the text format: every sample line belongs to a
 * family announced by # TYPE before it; names and labels are well formed;
 * values are numbers. Returns the value of `want` (a full sample name with
 * labels) in *v when found.
 */
static int
prom_check(const char *text, const char *want, double *v, char *why,
    size_t wlen)
{
	char		 fam[64][96], line[512], name[512];
	const char	*p = text, *nl;
	int		 nfam = 0, found = 0;

	while (*p != '\0') {
		size_t	 n, i;
		char	*sp, *end;
		double	 val;
		int	 ok;

		if ((nl = strchr(p, '\n')) == NULL) {
			snprintf(why, wlen, "no final newline");
			return -1;
		}
		n = (size_t)(nl - p);
		if (n >= sizeof(line)) {
			snprintf(why, wlen, "long line");
			return -1;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char t[32];

			if (nfam == 64 || sscanf(line + 7, "%95s %31s",
			    fam[nfam], t) != 2 || (strcmp(t, "counter") &&
			    strcmp(t, "gauge") && strcmp(t, "histogram"))) {
				snprintf(why, wlen, "bad TYPE: %s", line);
				return -1;
			}
			nfam++;
			continue;
		}
		if ((sp = strrchr(line, ' ')) == NULL) {
			snprintf(why, wlen, "no value: %s", line);
			return -1;
		}
		*sp = '\0';
		val = strtod(sp + 1, &end);
		if (*end != '\0' || end == sp + 1) {
			snprintf(why, wlen, "bad value: %s", sp + 1);
			return -1;
		}
		snprintf(name, sizeof(name), "%s", line);
		/* name: [a-zA-Z_:][a-zA-Z0-9_:]*, then {k="v",...} */
		for (i = 0; name[i] != '\0' && name[i] != '{'; i++)
			if (!((name[i] >= 'a' && name[i] <= 'z') ||
			    (name[i] >= 'A' && name[i] <= 'Z') ||
			    name[i] == '_' || name[i] == ':' ||
			    (i > 0 && name[i] >= '0' && name[i] <= '9'))) {
				snprintf(why, wlen, "bad name: %s", name);
				return -1;
			}
		if (name[i] == '{') {
			const char *l = name + i + 1;

			while (*l != '}') {
				const char *k = l;

				while ((*l >= 'a' && *l <= 'z') || *l == '_')
					l++;
				if (l == k || l[0] != '=' || l[1] != '"') {
					snprintf(why, wlen, "bad label: %s",
					    name);
					return -1;
				}
				l = strchr(l + 2, '"');
				if (l == NULL || (l[1] != ',' && l[1] != '}')) {
					snprintf(why, wlen, "bad label: %s",
					    name);
					return -1;
				}
				l += l[1] == ',' ? 2 : 1;
			}
			if (l[1] != '\0') {
				snprintf(why, wlen, "after labels: %s", name);
				return -1;
			}
		}
		for (ok = 0, i = 0; i < (size_t)nfam && !ok; i++) {
			size_t fl = strlen(fam[i]);

			ok = strncmp(name, fam[i], fl) == 0 &&
			    (name[fl] == '\0' || name[fl] == '{' ||
			    strncmp(name + fl, "_bucket{", 8) == 0 ||
			    strcmp(name + fl, "_sum") == 0 ||
			    strcmp(name + fl, "_count") == 0);
		}
		if (!ok) {
			snprintf(why, wlen, "no TYPE before %s", name);
			return -1;
		}
		if (want != NULL && strcmp(name, want) == 0) {
			*v = val;
			found = 1;
		}
	}
	if (want != NULL && !found) {
		snprintf(why, wlen, "no sample %s", want);
		return -1;
	}
	return 0;
}

static void
prom_is(const char *text, const char *sample, double want)
{
	char	 why[600];
	double	 v = -1;

	if (prom_check(text, sample, &v, why, sizeof(why)) == -1)
		T_CHECK(0, "%s", why);
	else
		T_CHECK(v == want, "%s is %g, want %g", sample, v, want);
}

static void
test_metrics_render(void)
{
	struct audit_metrics	 m;
	struct audit_gauges	 g = { 12, 3 };
	char			 buf[32768], small[64], why[600];
	double			 prev = -1, v;
	int			 n, i;

	memset(&m, 0, sizeof(m));
	m.am_conn[AUDIT_TCP][0][AUDIT_REASON_GUARD] = 7;
	m.am_conn[AUDIT_UDP][1][AUDIT_REASON_RULE] = 2;
	m.am_dns[0][3] = 5;		/* blocked NXDOMAIN */
	m.am_dns[1][AUDIT_NRCODES - 1] = 1;
	m.am_requests[0][2] = 6;	/* denied ambiguous */
	m.am_requests[1][0] = 11;	/* allowed rule */
	m.am_bytes_up = 1000;
	m.am_bytes_down = 1ULL << 40;
	m.am_aggregated = 99;
	m.am_dropped = 1;
	m.am_queue = 4;
	m.am_lat[0] = 3;		/* <= 1 us */
	m.am_lat[4] = 2;		/* <= 50 us */
	m.am_lat[AUDIT_LAT_NBUCKETS - 1] = 1;	/* > 1 s */
	m.am_lat_sum_ns = 2500000000ULL;
	n = audit_metrics_render(&m, &g, buf, sizeof(buf));
	T_CHECK(n > 0 && (size_t)n == strlen(buf), "length %d", n);
	T_CHECK(prom_check(buf, NULL, NULL, why, sizeof(why)) == 0, "%s", why);
	prom_is(buf, "isorun_connections_total{proto=\"tcp\",verdict="
	    "\"blocked\",reason=\"guard\"}", 7);
	prom_is(buf, "isorun_connections_total{proto=\"udp\",verdict="
	    "\"allowed\",reason=\"rule\"}", 2);
	prom_is(buf, "isorun_connections_total{proto=\"icmp\",verdict="
	    "\"blocked\",reason=\"default\"}", 0);
	prom_is(buf, "isorun_dns_queries_total{verdict=\"blocked\",rcode="
	    "\"NXDOMAIN\"}", 5);
	prom_is(buf, "isorun_dns_queries_total{verdict=\"allowed\",rcode="
	    "\"other\"}", 1);
	prom_is(buf, "isorun_requests_total{verdict=\"denied\",reason="
	    "\"ambiguous\"}", 6);
	prom_is(buf, "isorun_requests_total{verdict=\"allowed\",reason="
	    "\"rule\"}", 11);
	prom_is(buf, "isorun_requests_total{verdict=\"denied\",reason="
	    "\"default\"}", 0);
	prom_is(buf, "isorun_requests_total{verdict=\"allowed\",reason="
	    "\"ambiguous\"}", 0);
	prom_is(buf, "isorun_bytes_total{direction=\"down\"}",
	    (double)(1ULL << 40));
	prom_is(buf, "isorun_active_connections", 12);
	prom_is(buf, "isorun_active_sandboxes", 3);
	prom_is(buf, "isorun_audit_events_aggregated_total", 99);
	prom_is(buf, "isorun_audit_events_dropped_total", 1);
	prom_is(buf, "isorun_audit_queue_events", 4);
	prom_is(buf, "isorun_decision_latency_seconds_bucket{le="
	    "\"0.000001000\"}", 3);
	prom_is(buf, "isorun_decision_latency_seconds_bucket{le="
	    "\"0.000050000\"}", 5);
	prom_is(buf, "isorun_decision_latency_seconds_bucket{le="
	    "\"1.000000000\"}", 5);
	prom_is(buf, "isorun_decision_latency_seconds_bucket{le=\"+Inf\"}", 6);
	prom_is(buf, "isorun_decision_latency_seconds_count", 6);
	prom_is(buf, "isorun_decision_latency_seconds_sum", 2.5);
	/* Buckets are cumulative. */
	for (i = 0; i < AUDIT_LAT_NBUCKETS - 1; i++) {
		char s[128];

		snprintf(s, sizeof(s), "isorun_decision_latency_seconds_bucket"
		    "{le=\"%llu.%09llu\"}",
		    (unsigned long long)(audit_lat_bounds_ns[i] / 1000000000),
		    (unsigned long long)(audit_lat_bounds_ns[i] % 1000000000));
		if (prom_check(buf, s, &v, why, sizeof(why)) == -1) {
			T_CHECK(0, "%s", why);
			break;
		}
		T_CHECK(v >= prev, "%s decreases", s);
		prev = v;
	}
	/* Like snprintf: the length it needs, a terminated prefix. */
	T_CHECK(audit_metrics_render(&m, &g, small, sizeof(small)) == n &&
	    strlen(small) == sizeof(small) - 1 &&
	    strncmp(small, buf, sizeof(small) - 1) == 0, "truncated: %s",
	    small);
}

static void
test_metrics_count(void)
{
	struct audit_metrics	 m0, m1;
	struct audit_event	 ev;
	struct ir_err		 err;
	char			 path[128];

	db_path(path, sizeof(path), "metrics.db");
	if (audit_store_open(path, NULL, &err) == -1) {
		T_CHECK(0, "%s", err.msg);
		return;
	}
	audit_metrics_snapshot(&m0);
	ev_init(&ev, "m", "203.0.113.1", 443);
	audit_emit(&ev);			/* tcp blocked default */
	ev.ae_rule = "guard";
	audit_emit(&ev);			/* tcp blocked guard */
	ev.ae_rule = "*.example";
	ev.ae_allowed = 1;
	ev.ae_proto = AUDIT_UDP;
	audit_emit(&ev);			/* udp allowed rule */
	ev.ae_kind = AUDIT_CLOSE;
	ev.ae_bytes_up = 100;
	ev.ae_bytes_down = 5000;
	audit_emit(&ev);
	ev_init(&ev, "m", "100.64.0.1", 53);
	ev.ae_kind = AUDIT_DNS;
	ev.ae_proto = AUDIT_DNS_PROTO;
	ev.ae_rcode = "NXDOMAIN";
	audit_emit(&ev);
	ev.ae_allowed = 1;
	ev.ae_rcode = "BADVERS";
	audit_emit(&ev);
	req_init(&ev, "m", "api.example", "deny * /admin/*", "GET", "/admin");
	audit_emit(&ev);			/* denied rule */
	ev.ae_rule = "default";
	ev.ae_count = 4;
	audit_emit(&ev);			/* denied default, 4 */
	ev.ae_rule = "ambiguous";
	ev.ae_count = 0;
	audit_emit(&ev);			/* denied ambiguous */
	ev.ae_allowed = 1;
	ev.ae_rule = "allow GET /*";
	audit_emit(&ev);			/* in the close's count */
	ev_init(&ev, "m", "203.0.113.80", 443);
	ev.ae_kind = AUDIT_CLOSE;
	ev.ae_allowed = 1;
	ev.ae_rule = "api.example";
	ev.ae_requests = 5;
	ev.ae_intercepted = 1;
	audit_emit(&ev);			/* 5 allowed */
	ev.ae_intercepted = 0;
	ev.ae_requests = 9;
	audit_emit(&ev);			/* not intercepted: none */
	audit_observe_latency_ns(800);
	audit_observe_latency_ns(3000000000ULL);
	T_CHECK(audit_store_flush(&err) == 0, "%s", err.msg);
	audit_metrics_snapshot(&m1);
	T_CHECK(m1.am_closed[AUDIT_TCP] - m0.am_closed[AUDIT_TCP] == 2,
	    "tcp closed");
	for (int j = 0; j < 2; j++)
		for (int k = 0; k < 3; k++) {
			static const uint64_t want[2][3] = { { 1, 4, 1 },
			    { 5, 0, 0 } };

			T_CHECK(m1.am_requests[j][k] - m0.am_requests[j][k] ==
			    want[j][k], "requests[%d][%d] %llu", j, k,
			    (unsigned long long)(m1.am_requests[j][k] -
			    m0.am_requests[j][k]));
		}
	T_CHECK(m1.am_conn[AUDIT_TCP][0][AUDIT_REASON_DEFAULT] -
	    m0.am_conn[AUDIT_TCP][0][AUDIT_REASON_DEFAULT] == 1, "default");
	T_CHECK(m1.am_conn[AUDIT_TCP][0][AUDIT_REASON_GUARD] -
	    m0.am_conn[AUDIT_TCP][0][AUDIT_REASON_GUARD] == 1, "guard");
	T_CHECK(m1.am_conn[AUDIT_UDP][1][AUDIT_REASON_RULE] -
	    m0.am_conn[AUDIT_UDP][1][AUDIT_REASON_RULE] == 1, "rule");
	T_CHECK(m1.am_closed[AUDIT_UDP] - m0.am_closed[AUDIT_UDP] == 1,
	    "closed");
	T_CHECK(m1.am_bytes_up - m0.am_bytes_up == 100 &&
	    m1.am_bytes_down - m0.am_bytes_down == 5000, "bytes");
	T_CHECK(m1.am_dns[0][3] - m0.am_dns[0][3] == 1, "NXDOMAIN");
	T_CHECK(m1.am_dns[1][AUDIT_NRCODES - 1] -
	    m0.am_dns[1][AUDIT_NRCODES - 1] == 1, "other rcode");
	T_CHECK(m1.am_events - m0.am_events == 6 + 3 + 4 + 2, "events");
	T_CHECK(m1.am_written - m0.am_written == 12, "written %llu",
	    (unsigned long long)(m1.am_written - m0.am_written));
	T_CHECK(m1.am_lat[0] - m0.am_lat[0] == 1 &&
	    m1.am_lat[AUDIT_LAT_NBUCKETS - 1] -
	    m0.am_lat[AUDIT_LAT_NBUCKETS - 1] == 1, "latency buckets");
	T_CHECK(m1.am_lat_sum_ns - m0.am_lat_sum_ns == 3000000800ULL,
	    "latency sum");
	audit_store_close();
	db_remove(path);
}

int
main(void)
{
	size_t	 i;

	snprintf(dir, sizeof(dir), "/tmp/test_audit.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	T_RUN(test_json(), "json: keys in order, escaping, truncation");
	T_RUN(test_json_request(), "json: requests, intercepted closes, the "
	    "path capped");
	T_RUN(test_stderr_long(), "no store: a long escaped path is one whole "
	    "line on stderr");
	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++)
		T_RUN(test_duration(i), "duration '%s'", durations[i].in);
	T_RUN(test_overflow(), "queue full: summaries with exact counts");
	T_RUN(test_emitter_count(), "an emitter's count: row, summaries, JSON, "
	    "metrics");
	T_RUN(test_request_store(), "requests: every field stored and read "
	    "back, path capped, verdict filter");
	T_RUN(test_request_flood(), "requests: a flood folds into exact "
	    "summaries by sandbox, host and rule");
	T_RUN(test_migration(), "schema 1 database: read, migrated, rows "
	    "kept, new rows taken; newer refused");
	T_RUN(test_write_fails(), "a failed write keeps every event until it "
	    "can write");
	T_RUN(test_close_racing(), "close while emitting: nothing lost");
	T_RUN(test_query_filters(), "query: sandbox, since, verdict, limit");
	T_RUN(test_query_stop(), "query: the callback stops it");
	T_RUN(test_follow(), "follow: new rows of the filter within 1 s");
	T_RUN(test_retain_age(), "retention by age");
	T_RUN(test_retain_size(), "retention by size, oldest first");
	T_RUN(test_errors(), "errors name the input and say why");
	T_RUN(test_metrics_render(), "metrics: Prometheus text parses back");
	T_RUN(test_metrics_count(), "metrics: counted by audit_emit");
	rmdir(dir);
	return t_done();
}
