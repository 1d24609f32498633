/*
 * audit.h - one event for every decision the runner takes (SPEC 5): the
 * event, its JSON form, the durable store, queries and metrics.
 *
 * The proxy, the UDP relay and the DNS view describe each decision with a
 * struct audit_event and hand it to audit_emit(). audit_emit() never blocks
 * and may be called from any thread. Where the event goes is the sink, in
 * this order: the function given to audit_set_sink(); else the store, when
 * audit_store_open() succeeded; else one JSON line per event on stderr.
 *
 * The JSON form (audit_format_json) has these keys, always in this order:
 *   time_ns, sandbox, event, proto, src, sport, dst, dport, name,
 *   name_source, verdict, rule, reason  and, for "request" events,
 *   method, path;  for "close" events, bytes_up, bytes_down,
 *   duration_ms, and requests, intercepted (true) when ae_intercepted;
 *   for "dns" events, qname, qtype, rcode;  count when ae_count > 1 or
 *   ae_last_ns != 0, and last_ns when ae_last_ns != 0 (summaries).
 * `rule` is the deciding rule's text, "default" or "guard" ("ambiguous"
 * for requests); a denied request's verdict is "blocked".
 *
 * docs/audit.md describes the schema, the durability and the aggregation of
 * floods.
 */
#ifndef ISORUN_AUDIT_H
#define ISORUN_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../common/err.h"

enum audit_kind {
	AUDIT_CONNECT = 0,	/* a connection or flow was decided */
	AUDIT_CLOSE,		/* a permitted connection ended */
	AUDIT_DNS,		/* a DNS query was answered */
	AUDIT_REQUEST,		/* an HTTP request inside an intercepted TLS
				   connection was decided by endpoint rules
				   (docs/endpoints.md): always when denied */
};

enum audit_proto {
	AUDIT_TCP = 0,
	AUDIT_UDP,
	AUDIT_ICMP,
	AUDIT_DNS_PROTO,	/* "dns" */
};

enum audit_name_source {
	AUDIT_NAME_NONE = 0,
	AUDIT_NAME_SNI,
	AUDIT_NAME_HOST,
	AUDIT_NAME_DNS,
};

#define AUDIT_PATH_MAX	1024

struct audit_event {
	uint64_t		 ae_time_ns;	/* CLOCK_REALTIME; 0: now */
	const char		*ae_sandbox;	/* id; NULL: "" */
	enum audit_kind		 ae_kind;
	enum audit_proto	 ae_proto;
	struct sockaddr_storage	 ae_src;	/* AF_UNSPEC: absent */
	struct sockaddr_storage	 ae_dst;
	const char		*ae_name;	/* NULL: none */
	size_t			 ae_namelen;
	enum audit_name_source	 ae_name_source;
	int			 ae_allowed;	/* verdict */
	const char		*ae_rule;	/* rule text, "default", "guard" */
	const char		*ae_reason;	/* one line, human */
	/* AUDIT_CLOSE */
	uint64_t		 ae_bytes_up;	/* sandbox -> upstream */
	uint64_t		 ae_bytes_down;
	uint64_t		 ae_duration_ms;
	uint64_t		 ae_requests;	/* intercepted: allowed requests
						   sent upstream (each denied
						   one is an AUDIT_REQUEST) */
	int			 ae_intercepted; /* TLS terminated by the
						   runner (endpoint rules) */
	/* AUDIT_REQUEST (ae_name: the endpoint host; ae_rule as for
	   connections: "deny DELETE /v1/admin/\*", "default", "ambiguous") */
	const char		*ae_method;	/* as sent, NULL: none */
	size_t			 ae_methodlen;
	const char		*ae_path;	/* normalised, no query; capped
						   at AUDIT_PATH_MAX by the store */
	size_t			 ae_pathlen;
	/* AUDIT_DNS */
	const char		*ae_qname;
	uint16_t		 ae_qtype;
	const char		*ae_rcode;	/* "NOERROR", "NXDOMAIN", ... */
	/*
	 * The number of attempts the event stands for: an emitter leaves it 0
	 * (one) or sets N > 1 when one event reports N attempts (a rate limit
	 * that refused N connections in the last second); the store keeps N
	 * as the row's count, summaries add it, metrics count it N times.
	 * ae_last_ns: summaries, as read back from the store (emitters leave
	 * it 0), the time of the last event folded in.
	 */
	uint64_t		 ae_count;
	uint64_t		 ae_last_ns;
};

typedef void audit_sink_fn(void *arg, const struct audit_event *ev);

/*
 * Replaces the sink (NULL restores the store or the stderr JSON lines). Not
 * thread-safe against concurrent audit_emit(): set it before starting the
 * threads that emit.
 */
void	audit_set_sink(audit_sink_fn *fn, void *arg);

/*
 * Counts `ev` in the metrics and hands it to the sink. With the store open
 * it copies the event (its pointers need only live during the call) into a
 * bounded queue and returns; when the queue is full, the event is folded
 * into a counted summary. Never blocks on I/O.
 */
void	audit_emit(const struct audit_event *ev);

/*
 * Formats `ev` as one JSON object without a newline. Returns the length it
 * needs, as snprintf() does; the output is always NUL-terminated when
 * len > 0 and is truncated at a character boundary of the escaping.
 */
int	audit_format_json(const struct audit_event *ev, char *buf, size_t len);

const char *audit_kind_name(enum audit_kind);
const char *audit_proto_name(enum audit_proto);
const char *audit_name_source_name(enum audit_name_source);

/*
 * The store: one SQLite database in WAL mode, written by one thread of the
 * process that opened it. Events are durable (survive a crash of that
 * process) within ac_commit_ms of audit_emit(), at most one second.
 */
#define AUDIT_DB_PATH		"/var/lib/isorun/audit.db"
#define AUDIT_MIN_BYTES		(64u * 1024)

struct audit_config {
	uint64_t	 ac_max_age_s;	/* keep events this long; 0: 7 days */
	uint64_t	 ac_max_bytes;	/* database size bound; 0: 256 MiB */
	unsigned	 ac_queue_max;	/* events waiting; 0: 16384 */
	unsigned	 ac_summary_max; /* summaries between commits; 0: 4096 */
	unsigned	 ac_commit_ms;	/* commit period; 0: 200, at most 1000 */
	unsigned	 ac_retain_ms;	/* age check period; 0: 60000 */
};

/*
 * Opens (creating it and its schema when missing) the database at `path`
 * and starts the writer thread; from then on audit_emit() feeds it.
 * `cfg` NULL: the defaults. One store per process: -1 if one is open.
 */
int	audit_store_open(const char *path, const struct audit_config *cfg,
	    struct ir_err *err);

/*
 * Waits until every event emitted before the call is committed, then
 * applies retention (age and size) at once. -1 when the store is not open
 * or the last write failed (the message says why).
 */
int	audit_store_flush(struct ir_err *err);

/*
 * Writes what is queued, stops the writer and closes the database. Events
 * emitted afterwards go to the sink or stderr again. Safe to call when no
 * store is open and while other threads emit.
 */
void	audit_store_close(void);

/*
 * Reading: any process may open the database while the writer runs.
 */
struct audit_db;

struct audit_filter {
	const char	*af_sandbox;	/* NULL: every sandbox */
	uint64_t	 af_since_ns;	/* events at or after; 0: all */
	int		 af_verdict;	/* -1: any, 0: blocked, 1: allowed */
	unsigned	 af_limit;	/* 0: all; else only the last N */
};

struct audit_row {
	int64_t			 ar_id;	/* increases with every row written */
	struct audit_event	 ar_ev;	/* ae_count >= 1 */
};

/*
 * Called per row, oldest first; the row's strings live until it returns.
 * audit_follow() also calls it with `row` NULL each time it finds nothing
 * new, so that the caller can stop. Non-zero stops the query or follow.
 */
typedef int audit_row_fn(void *arg, const struct audit_row *row);

/* Opens an existing store for reading; never creates one. */
struct audit_db	*audit_db_open(const char *path, struct ir_err *err);
void		 audit_db_close(struct audit_db *);

/*
 * Calls `fn` for each row that passes `f`, ordered by time (the last
 * af_limit of them when af_limit is set). 0 on success or when `fn`
 * stopped it, -1 on error.
 */
int	audit_query(struct audit_db *, const struct audit_filter *f,
	    audit_row_fn *fn, void *arg, struct ir_err *err);

/*
 * audit_query(), then every row written afterwards that passes `f`, in the
 * order written, polling every AUDIT_FOLLOW_MS, until `fn` returns
 * non-zero (then 0) or an error (-1).
 */
#define AUDIT_FOLLOW_MS		200
int	audit_follow(struct audit_db *, const struct audit_filter *f,
	    audit_row_fn *fn, void *arg, struct ir_err *err);

/*
 * Parses a duration for `since`: one or more <digits><unit> with unit s, m,
 * h, d or w ("90s", "10m", "1h30m", "7d"). Pure. The message names the
 * text and says why.
 */
int	audit_parse_duration(const char *s, uint64_t *ns, struct ir_err *err);

/*
 * Metrics. audit_emit() counts every event (whatever the sink); the proxy
 * reports how long decisions take with audit_observe_latency_ns().
 */
enum audit_reason_kind {
	AUDIT_REASON_RULE = 0,
	AUDIT_REASON_DEFAULT,
	AUDIT_REASON_GUARD,
};
#define AUDIT_NREASONS		3
#define AUDIT_NRCODES		7	/* NOERROR .. REFUSED, then "other" */
#define AUDIT_LAT_NBUCKETS	18	/* 1 us .. 1 s, then +Inf */

struct audit_metrics {
	/* AUDIT_CONNECT events: [proto tcp/udp/icmp][blocked/allowed][reason] */
	uint64_t	 am_conn[3][2][AUDIT_NREASONS];
	uint64_t	 am_closed[3];		/* AUDIT_CLOSE events by proto */
	uint64_t	 am_dns[2][AUDIT_NRCODES]; /* [blocked/allowed][rcode] */
	/* Requests on intercepted connections: [denied/allowed][rule,
	   default, ambiguous]; denied from AUDIT_REQUEST events, allowed
	   from ae_requests of AUDIT_CLOSE events */
	uint64_t	 am_requests[2][3];
	uint64_t	 am_bytes_up, am_bytes_down;
	uint64_t	 am_events;		/* every audit_emit() */
	uint64_t	 am_aggregated;		/* folded into summaries */
	uint64_t	 am_dropped;		/* lost: closed while writes fail */
	uint64_t	 am_written;		/* rows committed */
	uint64_t	 am_retained;		/* rows removed by retention */
	uint64_t	 am_queue;		/* events waiting (gauge) */
	uint64_t	 am_lat[AUDIT_LAT_NBUCKETS]; /* per bucket, not cumulative */
	uint64_t	 am_lat_sum_ns;
};

/* What the caller knows and the audit does not. */
struct audit_gauges {
	uint64_t	 ag_connections;	/* open proxied connections */
	uint64_t	 ag_sandboxes;		/* live sandboxes */
};

/* Upper bounds of the latency buckets, in ns; the last is +Inf (0). */
extern const uint64_t audit_lat_bounds_ns[AUDIT_LAT_NBUCKETS];

const char	*audit_rcode_label(unsigned i);	/* "NOERROR" .. "other" */

void	audit_observe_latency_ns(uint64_t ns);
void	audit_metrics_snapshot(struct audit_metrics *out);

/*
 * Renders `m` and `g` in the Prometheus text exposition format (0.0.4).
 * Pure. Returns the length it needs, as snprintf() does.
 */
int	audit_metrics_render(const struct audit_metrics *m,
	    const struct audit_gauges *g, char *buf, size_t len);

#endif
