/*
 * metrics.c - counters kept by audit_emit() and the store, and their
 * Prometheus text form.
 *
 * Counters are process-wide and updated with relaxed atomics: a scrape may
 * see one counter a little ahead of another, never a torn value.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "audit_int.h"

static uint64_t	m_conn[3][2][AUDIT_NREASONS];
static uint64_t	m_closed[3];
static uint64_t	m_dns[2][AUDIT_NRCODES];
static uint64_t	m_req[2][3];
static uint64_t	m_bytes_up, m_bytes_down, m_events, m_queue;
static uint64_t	m_lat[AUDIT_LAT_NBUCKETS], m_lat_sum;
uint64_t	metrics_aggregated, metrics_dropped, metrics_written,
		metrics_retained;

const uint64_t audit_lat_bounds_ns[AUDIT_LAT_NBUCKETS] = {
	1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000, 25000000, 50000000,
	100000000, 250000000, 1000000000, 0,
};

static const char *const rcodes[AUDIT_NRCODES] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"other",
};

const char *
audit_rcode_label(unsigned i)
{
	return i < AUDIT_NRCODES ? rcodes[i] : "other";
}

void
metrics_add(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

void
metrics_set_queue(uint64_t n)
{
	__atomic_store_n(&m_queue, n, __ATOMIC_RELAXED);
}

static unsigned
reason_kind(const char *rule)
{
	if (rule != NULL && strcmp(rule, "default") == 0)
		return AUDIT_REASON_DEFAULT;
	if (rule != NULL && strcmp(rule, "guard") == 0)
		return AUDIT_REASON_GUARD;
	return AUDIT_REASON_RULE;
}

/* A request's deciding rule: 0 a rule, 1 "default", 2 "ambiguous". */
static unsigned
req_reason(const char *rule)
{
	if (rule != NULL && strcmp(rule, "default") == 0)
		return 1;
	if (rule != NULL && strcmp(rule, "ambiguous") == 0)
		return 2;
	return 0;
}

static unsigned
rcode_index(const char *rcode)
{
	unsigned	 i;

	for (i = 0; rcode != NULL && i < AUDIT_NRCODES - 1; i++)
		if (strcmp(rcode, rcodes[i]) == 0)
			return i;
	return AUDIT_NRCODES - 1;
}

void
metrics_count(const struct audit_event *ev)
{
	unsigned	 a = ev->ae_allowed ? 1 : 0;
	unsigned	 p = (unsigned)ev->ae_proto;
	uint64_t	 n = ev->ae_count > 1 ? ev->ae_count : 1;

	metrics_add(&m_events, n);
	switch (ev->ae_kind) {
	case AUDIT_CONNECT:
		if (p < 3)
			metrics_add(&m_conn[p][a][reason_kind(ev->ae_rule)], n);
		break;
	case AUDIT_CLOSE:
		/* Bytes are the totals of the N connections already. */
		if (p < 3)
			metrics_add(&m_closed[p], n);
		metrics_add(&m_bytes_up, ev->ae_bytes_up);
		metrics_add(&m_bytes_down, ev->ae_bytes_down);
		/* Allowed requests are only counted here: a total, like
		   the bytes. The close event does not say which endpoint
		   rule allowed them; its own rule decides the label. */
		if (ev->ae_intercepted)
			metrics_add(&m_req[1][req_reason(ev->ae_rule)],
			    ev->ae_requests);
		break;
	case AUDIT_DNS:
		metrics_add(&m_dns[a][rcode_index(ev->ae_rcode)], n);
		break;
	case AUDIT_REQUEST:
		/* Allowed ones recorded singly are in a close event too. */
		if (!a)
			metrics_add(&m_req[0][req_reason(ev->ae_rule)], n);
		break;
	}
}

void
audit_observe_latency_ns(uint64_t ns)
{
	unsigned	 i;

	for (i = 0; i < AUDIT_LAT_NBUCKETS - 1; i++)
		if (ns <= audit_lat_bounds_ns[i])
			break;
	metrics_add(&m_lat[i], 1);
	metrics_add(&m_lat_sum, ns);
}

static uint64_t
ld(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

void
audit_metrics_snapshot(struct audit_metrics *m)
{
	unsigned	 i, j, k;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < 3; i++) {
		for (j = 0; j < 2; j++)
			for (k = 0; k < AUDIT_NREASONS; k++)
				m->am_conn[i][j][k] = ld(&m_conn[i][j][k]);
		m->am_closed[i] = ld(&m_closed[i]);
	}
	for (j = 0; j < 2; j++) {
		for (k = 0; k < AUDIT_NRCODES; k++)
			m->am_dns[j][k] = ld(&m_dns[j][k]);
		for (k = 0; k < 3; k++)
			m->am_requests[j][k] = ld(&m_req[j][k]);
	}
	m->am_bytes_up = ld(&m_bytes_up);
	m->am_bytes_down = ld(&m_bytes_down);
	m->am_events = ld(&m_events);
	m->am_aggregated = ld(&metrics_aggregated);
	m->am_dropped = ld(&metrics_dropped);
	m->am_written = ld(&metrics_written);
	m->am_retained = ld(&metrics_retained);
	m->am_queue = ld(&m_queue);
	for (i = 0; i < AUDIT_LAT_NBUCKETS; i++)
		m->am_lat[i] = ld(&m_lat[i]);
	m->am_lat_sum_ns = ld(&m_lat_sum);
}

/* A bounded appender that keeps counting past the end, as snprintf(). */
struct pbuf {
	char	*p;
	size_t	 len, n;
};

static void
pb_printf(struct pbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
pb_printf(struct pbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(b->n < b->len ? b->p + b->n : NULL,
	    b->n < b->len ? b->len - b->n : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->n += (size_t)n;
}

static void
pb_head(struct pbuf *b, const char *name, const char *type, const char *help)
{
	pb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
pb_u64(struct pbuf *b, const char *name, const char *labels, uint64_t v)
{
	pb_printf(b, "%s%s %llu\n", name, labels, (unsigned long long)v);
}

/* ns as seconds, exactly: Prometheus values are floats in text. */
static void
pb_seconds(struct pbuf *b, uint64_t ns)
{
	pb_printf(b, "%llu.%09llu", (unsigned long long)(ns / 1000000000u),
	    (unsigned long long)(ns % 1000000000u));
}

static void
render_latency(struct pbuf *b, const struct audit_metrics *m)
{
	static const char name[] = "isorun_decision_latency_seconds";
	uint64_t	 cum = 0;
	unsigned	 i;

	pb_head(b, name, "histogram", "Time from a connection's first "
	    "packet or bytes to its verdict.");
	for (i = 0; i < AUDIT_LAT_NBUCKETS; i++) {
		cum += m->am_lat[i];
		pb_printf(b, "%s_bucket{le=\"", name);
		if (i == AUDIT_LAT_NBUCKETS - 1)
			pb_printf(b, "+Inf");
		else
			pb_seconds(b, audit_lat_bounds_ns[i]);
		pb_printf(b, "\"} %llu\n", (unsigned long long)cum);
	}
	pb_printf(b, "%s_sum ", name);
	pb_seconds(b, m->am_lat_sum_ns);
	pb_printf(b, "\n%s_count %llu\n", name, (unsigned long long)cum);
}

int
audit_metrics_render(const struct audit_metrics *m,
    const struct audit_gauges *g, char *buf, size_t len)
{
	static const char *const verdicts[2] = { "blocked", "allowed" };
	static const char *const reasons[AUDIT_NREASONS] = { "rule",
	    "default", "guard" };
	static const char *const req_reasons[3] = { "rule", "default",
	    "ambiguous" };
	struct pbuf	 b = { buf, len, 0 };
	char		 l[128];
	unsigned	 i, j, k;

	if (len > 0)
		buf[0] = '\0';
	pb_head(&b, "isorun_connections_total", "counter", "Connections and "
	    "flows decided, by protocol, verdict and what decided (a rule, "
	    "the default or the guard list).");
	for (i = 0; i < 3; i++)
		for (j = 0; j < 2; j++)
			for (k = 0; k < AUDIT_NREASONS; k++) {
				snprintf(l, sizeof(l), "{proto=\"%s\","
				    "verdict=\"%s\",reason=\"%s\"}",
				    audit_proto_name(i), verdicts[j],
				    reasons[k]);
				pb_u64(&b, "isorun_connections_total", l,
				    m->am_conn[i][j][k]);
			}
	pb_head(&b, "isorun_connections_closed_total", "counter",
	    "Permitted connections and flows that ended.");
	for (i = 0; i < 3; i++) {
		snprintf(l, sizeof(l), "{proto=\"%s\"}", audit_proto_name(i));
		pb_u64(&b, "isorun_connections_closed_total", l,
		    m->am_closed[i]);
	}
	pb_head(&b, "isorun_dns_queries_total", "counter", "DNS queries "
	    "answered by the DNS view, by verdict and response code.");
	for (j = 0; j < 2; j++)
		for (k = 0; k < AUDIT_NRCODES; k++) {
			snprintf(l, sizeof(l), "{verdict=\"%s\",rcode=\"%s\"}",
			    verdicts[j], rcodes[k]);
			pb_u64(&b, "isorun_dns_queries_total", l,
			    m->am_dns[j][k]);
		}
	pb_head(&b, "isorun_requests_total", "counter", "HTTP requests on "
	    "intercepted connections decided by endpoint rules, by verdict "
	    "and what decided (a rule, the default, an ambiguous request).");
	for (j = 0; j < 2; j++)
		for (k = 0; k < 3; k++) {
			snprintf(l, sizeof(l), "{verdict=\"%s\",reason=\"%s\"}",
			    j ? "allowed" : "denied", req_reasons[k]);
			pb_u64(&b, "isorun_requests_total", l,
			    m->am_requests[j][k]);
		}
	pb_head(&b, "isorun_bytes_total", "counter", "Bytes relayed by "
	    "permitted connections that ended (up: from the sandbox).");
	pb_u64(&b, "isorun_bytes_total", "{direction=\"up\"}", m->am_bytes_up);
	pb_u64(&b, "isorun_bytes_total", "{direction=\"down\"}",
	    m->am_bytes_down);
	pb_head(&b, "isorun_active_connections", "gauge",
	    "Proxied connections open now.");
	pb_u64(&b, "isorun_active_connections", "",
	    g != NULL ? g->ag_connections : 0);
	pb_head(&b, "isorun_active_sandboxes", "gauge", "Sandboxes alive now.");
	pb_u64(&b, "isorun_active_sandboxes", "",
	    g != NULL ? g->ag_sandboxes : 0);
	pb_head(&b, "isorun_audit_events_total", "counter",
	    "Audit events emitted.");
	pb_u64(&b, "isorun_audit_events_total", "", m->am_events);
	pb_head(&b, "isorun_audit_events_aggregated_total", "counter",
	    "Audit events folded into counted summaries because the queue "
	    "was full.");
	pb_u64(&b, "isorun_audit_events_aggregated_total", "",
	    m->am_aggregated);
	pb_head(&b, "isorun_audit_events_dropped_total", "counter",
	    "Audit events lost: the store closed while its writes failed.");
	pb_u64(&b, "isorun_audit_events_dropped_total", "", m->am_dropped);
	pb_head(&b, "isorun_audit_rows_written_total", "counter",
	    "Rows committed to the audit database.");
	pb_u64(&b, "isorun_audit_rows_written_total", "", m->am_written);
	pb_head(&b, "isorun_audit_rows_expired_total", "counter",
	    "Rows removed by retention (age or size).");
	pb_u64(&b, "isorun_audit_rows_expired_total", "", m->am_retained);
	pb_head(&b, "isorun_audit_queue_events", "gauge",
	    "Audit events waiting for the writer.");
	pb_u64(&b, "isorun_audit_queue_events", "", m->am_queue);
	render_latency(&b, m);
	if (len > 0 && b.n >= len)
		buf[len - 1] = '\0';
	return (int)b.n;
}
