/*
 * http.c - the REST API over HTTP/1.1 with libmicrohttpd: a unix socket
 * (access by file mode and group) and, if configured, TCP with a bearer
 * token. One thread per connection, so an exec that runs for minutes
 * holds only its own connection.
 *
 * A request is decided in three steps, matching libmicrohttpd's calls of
 * the handler: the first call (headers) checks the token, the route, the
 * query, the length and the type, and answers an error at once; the
 * middle calls collect the body up to max_body_bytes; the last one
 * dispatches. Every answer is JSON except /metrics (Prometheus text) and
 * a followed audit trail (NDJSON, streamed through a pipe by a thread).
 */
#include "isorund.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../audit/audit.h"
#include "../proxy/proxy.h"

#define AUDIT_LIMIT_DEF	1000	/* events per answer when none is asked */
#define FOLLOW_GRACE_MS	2000	/* a destroyed sandbox's last events */

/* The statuses counted in the metrics, per route. */
static const unsigned statuses[] = {
	200, 201, 204, 400, 401, 404, 405, 409, 413, 415, 500, 501, 503,
};
#define NSTATUS	(sizeof(statuses) / sizeof(statuses[0]))

struct lsn {
	struct httpd	*l_h;
	bool		 l_tcp;		/* needs the token */
};

struct follow {
	LIST_ENTRY(follow)	 fo_link;
	struct httpd		*fo_h;
	pthread_t		 fo_thread;
	int			 fo_fd;		/* write end of the pipe */
	struct audit_db		*fo_db;
	struct audit_filter	 fo_f;
	char			 fo_id[API_ID_MAX + 1];
	int64_t			 fo_gone_ms;	/* when the sandbox went */
	bool			 fo_done;
};

struct httpd {
	struct isorund		*h_d;
	struct MHD_Daemon	*h_unix;
	struct MHD_Daemon	*h_tcp;
	struct lsn		 h_lsn_unix;
	struct lsn		 h_lsn_tcp;
	pthread_mutex_t		 h_lock;
	pthread_cond_t		 h_idle;	/* h_active went to 0 */
	unsigned		 h_active;	/* requests not yet completed */
	LIST_HEAD(, follow)	 h_follows;
	uint64_t		 h_count[API_NROUTES + 1][NSTATUS];
};

#define STOP_GRACE_MS	5000	/* for answers in flight at shutdown */

/* One request (libmicrohttpd's con_cls). */
struct hreq {
	enum api_route	 hr_route;
	bool		 hr_routed;
	char		 hr_id[API_SEG_MAX + 1];	/* {id} or {name} */
	char		 hr_allow[64];
	struct api_error hr_err;
	bool		 hr_failed;	/* answer hr_err at the end */
	struct api_audit_query hr_aq;
	char		*hr_body;
	size_t		 hr_len;
	size_t		 hr_cap;
};

static void
count(struct httpd *h, const struct hreq *r, unsigned status)
{
	size_t	 i, route = r != NULL && r->hr_routed ? r->hr_route :
	    API_NROUTES;

	for (i = 0; i < NSTATUS; i++)
		if (statuses[i] == status) {
			__atomic_add_fetch(&h->h_count[route][i], 1,
			    __ATOMIC_RELAXED);
			return;
		}
}

static enum MHD_Result
respond(struct httpd *h, struct MHD_Connection *c, struct hreq *r,
    unsigned status, const char *ctype, char *body, size_t len)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 ret;

	if (body == NULL && len == 0)
		resp = MHD_create_response_from_buffer(0, (void *)"",
		    MHD_RESPMEM_PERSISTENT);
	else
		resp = MHD_create_response_from_buffer(len, body,
		    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	if (ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (status == 405 && r != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->hr_allow);
	if (status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"isorun\"");
	if (status == 201 && r != NULL && r->hr_route == API_R_CREATE &&
	    r->hr_id[0] != '\0') {
		char	 loc[API_ID_MAX + 32];

		snprintf(loc, sizeof(loc), "/v1/sandboxes/%s", r->hr_id);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc);
	}
	count(h, r, status);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
respond_error(struct httpd *h, struct MHD_Connection *c, struct hreq *r,
    const struct api_error *e)
{
	char	*body;
	size_t	 len = 0;

	if ((body = api_error_body(e, &len)) == NULL)
		return MHD_NO;
	return respond(h, c, r, api_code_status(e->ap_code),
	    "application/json", body, len);
}

static enum MHD_Result
respond_json(struct httpd *h, struct MHD_Connection *c, struct hreq *r,
    unsigned status, json_t *j)
{
	struct api_error	 e;
	char			*body;

	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (body == NULL) {
		api_error_set(&e, API_INTERNAL, "out of memory");
		return respond_error(h, c, r, &e);
	}
	return respond(h, c, r, status, "application/json", body,
	    strlen(body));
}

/* Query parameters: only the audit route takes any. */
struct qctx {
	struct hreq	*q_r;
	uint64_t	 q_now_ns;
};

static enum MHD_Result
query_one(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct qctx	*q = cls;
	char		 k[160];

	(void)kind;
	if (q->q_r->hr_failed)
		return MHD_NO;
	if (q->q_r->hr_route == API_R_AUDIT) {
		if (api_audit_param(&q->q_r->hr_aq, key, value, q->q_now_ns,
		    &q->q_r->hr_err) == -1)
			q->q_r->hr_failed = true;
		return q->q_r->hr_failed ? MHD_NO : MHD_YES;
	}
	str_quote(key, strlen(key), 32, k, sizeof(k));
	api_error_set(&q->q_r->hr_err, API_INVALID_ARGUMENT, "unknown query "
	    "parameter %s: this endpoint takes none", k);
	q->q_r->hr_failed = true;
	return MHD_NO;
}

/* The first call: everything the headers can decide. */
static void
request_head(struct lsn *l, struct MHD_Connection *c, const char *url,
    const char *method, struct hreq *r)
{
	struct isorund		*d = l->l_h->h_d;
	const struct api_route_def *rd;
	const char		*auth, *cl, *ct, *te;
	struct qctx		 q;
	struct timespec		 ts;
	unsigned long long	 n;
	char			*end;

	r->hr_aq.aq_verdict = -1;
	if (l->l_tcp) {
		auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_AUTHORIZATION);
		if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 ||
		    !api_token_equal(auth + 7, d->d_token)) {
			api_error_set(&r->hr_err, API_UNAUTHENTICATED, "%s",
			    auth == NULL ? "no Authorization header: send "
			    "'Authorization: Bearer <token>' (ISORUN_API_KEY)" :
			    "the bearer token is not this runner's");
			r->hr_failed = true;
			return;
		}
	}
	if (api_route(method, url, &r->hr_route, r->hr_id, r->hr_allow,
	    sizeof(r->hr_allow), &r->hr_err) == -1) {
		r->hr_failed = true;
		return;
	}
	r->hr_routed = true;
	clock_gettime(CLOCK_REALTIME, &ts);
	q.q_r = r;
	q.q_now_ns = (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_one, &q);
	if (r->hr_failed)
		return;
	rd = api_route_def(r->hr_route);
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING);
	n = cl != NULL ? strtoull(cl, &end, 10) : 0;
	if (n > d->d_conf.cf_max_body_bytes) {
		api_error_set(&r->hr_err, API_PAYLOAD_TOO_LARGE, "body: %llu "
		    "bytes, over this runner's limit of %u (max_body_bytes)",
		    n, d->d_conf.cf_max_body_bytes);
		r->hr_failed = true;
		return;
	}
	if (n == 0 && te == NULL)
		return;
	if (!rd->rd_body) {
		api_error_set(&r->hr_err, API_INVALID_ARGUMENT, "body: %s %s "
		    "takes none", rd->rd_method, rd->rd_path);
		r->hr_failed = true;
		return;
	}
	ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	if (rd->rd_raw && !api_raw_type_ok(ct)) {
		char	 q2[200];

		str_quote(ct ? ct : "", ct ? strlen(ct) : 0, 64, q2, sizeof(q2));
		api_error_set(&r->hr_err, API_UNSUPPORTED_MEDIA_TYPE, "Content-"
		    "Type %s: want application/octet-stream (the raw value)",
		    ct ? q2 : "missing");
		r->hr_failed = true;
	} else if (!rd->rd_raw && !api_content_type_ok(ct)) {
		char	 q2[200];

		str_quote(ct ? ct : "", ct ? strlen(ct) : 0, 64, q2, sizeof(q2));
		api_error_set(&r->hr_err, API_UNSUPPORTED_MEDIA_TYPE, "Content-"
		    "Type %s: want application/json", ct ? q2 : "missing");
		r->hr_failed = true;
	}
}

static int
body_add(struct isorund *d, struct hreq *r, const char *data, size_t n)
{
	size_t	 cap;
	char	*nb;

	if (r->hr_len + n > d->d_conf.cf_max_body_bytes)
		return api_error_set(&r->hr_err, API_PAYLOAD_TOO_LARGE, "body: "
		    "over this runner's limit of %u bytes (max_body_bytes)",
		    d->d_conf.cf_max_body_bytes);
	if (r->hr_len + n + 1 > r->hr_cap) {
		cap = r->hr_cap ? r->hr_cap : 4096;
		while (cap < r->hr_len + n + 1)
			cap *= 2;
		/* Not realloc(): a secret's bytes must not stay in freed
		   memory. */
		if ((nb = malloc(cap)) == NULL)
			return api_error_set(&r->hr_err, API_INTERNAL,
			    "out of memory");
		if (r->hr_body != NULL) {
			memcpy(nb, r->hr_body, r->hr_len);
			explicit_bzero(r->hr_body, r->hr_cap);
			free(r->hr_body);
		}
		r->hr_body = nb;
		r->hr_cap = cap;
	}
	memcpy(r->hr_body + r->hr_len, data, n);
	r->hr_len += n;
	r->hr_body[r->hr_len] = '\0';
	return 0;
}

/* Audit */

/* Appends one event's JSON to a growing buffer. */
struct abuf {
	char	*ab_buf;
	size_t	 ab_len;
	size_t	 ab_cap;
	size_t	 ab_rows;
	bool	 ab_nomem;
};

static void
abuf_add(struct abuf *b, const char *s, size_t n)
{
	char	*nb;
	size_t	 cap;

	if (b->ab_nomem)
		return;
	if (b->ab_len + n + 1 > b->ab_cap) {
		cap = b->ab_cap ? b->ab_cap * 2 : 8192;
		while (cap < b->ab_len + n + 1)
			cap *= 2;
		if ((nb = realloc(b->ab_buf, cap)) == NULL) {
			b->ab_nomem = true;
			return;
		}
		b->ab_buf = nb;
		b->ab_cap = cap;
	}
	memcpy(b->ab_buf + b->ab_len, s, n);
	b->ab_len += n;
	b->ab_buf[b->ab_len] = '\0';
}

/* The event as one JSON object into a malloc'd string. */
static char *
row_json(const struct audit_row *row, size_t *len)
{
	char	*s;
	int	 n;

	n = audit_format_json(&row->ar_ev, NULL, 0);
	if (n < 0 || (s = malloc((size_t)n + 2)) == NULL)
		return NULL;
	audit_format_json(&row->ar_ev, s, (size_t)n + 1);
	*len = (size_t)n;
	return s;
}

static int
query_row(void *arg, const struct audit_row *row)
{
	struct abuf	*b = arg;
	char		*s;
	size_t		 n;

	if (row == NULL)
		return 0;
	if ((s = row_json(row, &n)) == NULL) {
		b->ab_nomem = true;
		return 1;
	}
	if (b->ab_rows++ > 0)
		abuf_add(b, ",", 1);
	abuf_add(b, s, n);
	free(s);
	return b->ab_nomem;
}

static void
audit_filter_make(const struct hreq *r, struct audit_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->af_sandbox = r->hr_id;
	f->af_since_ns = r->hr_aq.aq_since_ns;
	f->af_verdict = r->hr_aq.aq_verdict;
	f->af_limit = r->hr_aq.aq_limit ? r->hr_aq.aq_limit : AUDIT_LIMIT_DEF;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
follow_row(void *arg, const struct audit_row *row)
{
	struct follow	*fo = arg;
	struct pollfd	 p;
	char		*s;
	size_t		 n;
	int		 rc;

	if (row == NULL) {
		if (sbx_is_stopping(fo->fo_h->h_d))
			return 1;
		if (!sbx_exists(fo->fo_h->h_d, fo->fo_id)) {
			if (fo->fo_gone_ms == 0)
				fo->fo_gone_ms = now_ms();
			else if (now_ms() - fo->fo_gone_ms > FOLLOW_GRACE_MS)
				return 1;
		}
		/* The reader went away (libmicrohttpd closed its end). */
		p.fd = fo->fo_fd;
		p.events = POLLOUT;
		return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
	}
	/* A steady flow never lets audit_follow() call with NULL. */
	if (sbx_is_stopping(fo->fo_h->h_d) || (s = row_json(row, &n)) == NULL)
		return 1;
	s[n] = '\n';
	rc = write_all(fo->fo_fd, s, n + 1) == -1;
	free(s);
	return rc;
}

static void *
follow_main(void *arg)
{
	struct follow	*fo = arg;
	struct ir_err	 e;

	if (audit_follow(fo->fo_db, &fo->fo_f, follow_row, fo, &e) == -1)
		log_warnx("audit follow %s: %s", fo->fo_id, e.msg);
	close(fo->fo_fd);
	audit_db_close(fo->fo_db);
	pthread_mutex_lock(&fo->fo_h->h_lock);
	fo->fo_done = true;
	pthread_mutex_unlock(&fo->fo_h->h_lock);
	return NULL;
}

/* Joins the follow threads that ended (all of them when `all`). */
static void
follows_reap(struct httpd *h, bool all)
{
	struct follow	*fo, *next;

	for (;;) {
		pthread_mutex_lock(&h->h_lock);
		for (fo = LIST_FIRST(&h->h_follows); fo != NULL; fo = next) {
			next = LIST_NEXT(fo, fo_link);
			if (fo->fo_done || all) {
				LIST_REMOVE(fo, fo_link);
				break;
			}
		}
		pthread_mutex_unlock(&h->h_lock);
		if (fo == NULL)
			return;
		pthread_join(fo->fo_thread, NULL);
		free(fo);
	}
}

static enum MHD_Result
do_audit(struct httpd *h, struct MHD_Connection *c, struct hreq *r)
{
	struct isorund		*d = h->h_d;
	struct MHD_Response	*resp;
	struct api_error	 e;
	struct ir_err		 ie;
	struct audit_db		*db;
	struct audit_filter	 f;
	struct follow		*fo;
	struct abuf		 b;
	enum MHD_Result		 ret;
	bool			 live = sbx_exists(d, r->hr_id);
	int			 p[2];

	if (d->d_conf.cf_audit_db[0] == '\0') {
		api_error_set(&e, API_NOT_IMPLEMENTED, "the audit store is off "
		    "on this runner (audit_db = \"\"): events go to its log");
		return respond_error(h, c, r, &e);
	}
	audit_filter_make(r, &f);
	if ((db = audit_db_open(d->d_conf.cf_audit_db, &ie)) == NULL) {
		api_error_set(&e, API_INTERNAL, "audit store: %s", ie.msg);
		return respond_error(h, c, r, &e);
	}
	if (!r->hr_aq.aq_follow) {
		memset(&b, 0, sizeof(b));
		abuf_add(&b, "{\"events\":[", 11);
		if (audit_query(db, &f, query_row, &b, &ie) == -1) {
			audit_db_close(db);
			free(b.ab_buf);
			api_error_set(&e, API_INTERNAL, "audit store: %s",
			    ie.msg);
			return respond_error(h, c, r, &e);
		}
		audit_db_close(db);
		abuf_add(&b, "]}", 2);
		if (b.ab_nomem) {
			free(b.ab_buf);
			api_error_set(&e, API_INTERNAL, "out of memory");
			return respond_error(h, c, r, &e);
		}
		if (!live && b.ab_rows == 0) {
			free(b.ab_buf);
			api_error_set(&e, API_NOT_FOUND, "no sandbox '%s', and no "
			    "audit events for that id", r->hr_id);
			return respond_error(h, c, r, &e);
		}
		return respond(h, c, r, 200, "application/json", b.ab_buf,
		    b.ab_len);
	}
	if (!live) {
		audit_db_close(db);
		api_error_set(&e, API_NOT_FOUND, "no sandbox '%s' to follow "
		    "(without follow=1 its past events can be read)", r->hr_id);
		return respond_error(h, c, r, &e);
	}
	follows_reap(h, false);
	if ((fo = calloc(1, sizeof(*fo))) == NULL ||
	    pipe2(p, O_CLOEXEC) == -1) {
		free(fo);
		audit_db_close(db);
		api_error_set(&e, API_INTERNAL, "follow: %s", strerror(errno));
		return respond_error(h, c, r, &e);
	}
	fo->fo_h = h;
	fo->fo_fd = p[1];
	fo->fo_db = db;
	fo->fo_f = f;
	snprintf(fo->fo_id, sizeof(fo->fo_id), "%s", r->hr_id);
	fo->fo_f.af_sandbox = fo->fo_id;
	if ((resp = MHD_create_response_from_pipe(p[0])) == NULL) {
		close(p[0]);
		close(p[1]);
		audit_db_close(db);
		free(fo);
		return MHD_NO;
	}
	pthread_mutex_lock(&h->h_lock);
	if (pthread_create(&fo->fo_thread, NULL, follow_main, fo) != 0) {
		pthread_mutex_unlock(&h->h_lock);
		close(p[1]);
		audit_db_close(db);
		free(fo);
		MHD_destroy_response(resp);	/* closes p[0] */
		api_error_set(&e, API_INTERNAL, "follow: cannot start a thread");
		return respond_error(h, c, r, &e);
	}
	LIST_INSERT_HEAD(&h->h_follows, fo, fo_link);
	pthread_mutex_unlock(&h->h_lock);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/x-ndjson");
	count(h, r, 200);
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
metrics_append(struct httpd *h, char **buf, size_t *len)
{
	const struct api_route_def *rd;
	char	*nb, line[256];
	size_t	 i, j, cap = *len + 8192;
	int	 n;
	uint64_t v;

	if ((nb = realloc(*buf, cap)) == NULL)
		return;
	*buf = nb;
#define ADD(...) do {							\
	n = snprintf(line, sizeof(line), __VA_ARGS__);			\
	if (n > 0 && *len + (size_t)n + 1 > cap) {			\
		cap = (cap + (size_t)n) * 2;				\
		if ((nb = realloc(*buf, cap)) == NULL)			\
			return;						\
		*buf = nb;						\
	}								\
	if (n > 0) {							\
		memcpy(*buf + *len, line, (size_t)n + 1);		\
		*len += (size_t)n;					\
	}								\
} while (0)
	ADD("# HELP isorund_sandboxes Sandboxes this daemon holds.\n"
	    "# TYPE isorund_sandboxes gauge\nisorund_sandboxes %u\n",
	    sbx_count(h->h_d));
	ADD("# HELP isorund_api_requests_total API answers by route and "
	    "status.\n# TYPE isorund_api_requests_total counter\n");
	for (i = 0; i <= API_NROUTES; i++)
		for (j = 0; j < NSTATUS; j++) {
			v = __atomic_load_n(&h->h_count[i][j],
			    __ATOMIC_RELAXED);
			if (v == 0)
				continue;
			rd = api_route_def((enum api_route)i);
			ADD("isorund_api_requests_total{route=\"%s %s\","
			    "status=\"%u\"} %llu\n", rd ? rd->rd_method : "",
			    rd ? rd->rd_path : "(none)", statuses[j],
			    (unsigned long long)v);
		}
#undef ADD
}

static enum MHD_Result
do_metrics(struct httpd *h, struct MHD_Connection *c, struct hreq *r)
{
	struct audit_metrics	 m;
	struct audit_gauges	 g;
	struct proxy_stats	 ps;
	struct api_error	 e;
	char			*buf;
	size_t			 len;
	int			 n;

	audit_metrics_snapshot(&m);
	runner_proxy_stats(h->h_d->d_runner, &ps);
	g.ag_connections = ps.ps_active;
	g.ag_sandboxes = sbx_count(h->h_d);
	n = audit_metrics_render(&m, &g, NULL, 0);
	if (n < 0 || (buf = malloc((size_t)n + 1)) == NULL) {
		api_error_set(&e, API_INTERNAL, "metrics: out of memory");
		return respond_error(h, c, r, &e);
	}
	audit_metrics_render(&m, &g, buf, (size_t)n + 1);
	len = (size_t)n;
	metrics_append(h, &buf, &len);
	return respond(h, c, r, 200, "text/plain; version=0.0.4; charset=utf-8",
	    buf, len);
}

static enum MHD_Result
dispatch(struct httpd *h, struct MHD_Connection *c, struct hreq *r)
{
	struct isorund		*d = h->h_d;
	struct api_error	 e;
	struct api_create	 cr;
	struct api_exec		 ex;
	struct api_network	 net;
	struct endpoints	*eps;
	char			*text;
	json_t			*out = NULL;
	unsigned		 status = 200;
	int			 rc = -1;
	bool			 created;

	if (sbx_is_stopping(d)) {
		api_error_set(&e, API_UNAVAILABLE, "isorund is shutting down");
		return respond_error(h, c, r, &e);
	}
	switch (r->hr_route) {
	case API_R_HEALTHZ:
		out = json_pack("{s:s, s:s, s:s, s:i, s:I}", "status", "ok",
		    "version", API_VERSION, "runner", d->d_conf.cf_name,
		    "sandboxes", (int)sbx_count(d), "uptimeMs",
		    (json_int_t)(now_ms() - d->d_started_ms));
		rc = out ? 0 : api_error_set(&e, API_INTERNAL, "out of memory");
		break;
	case API_R_METRICS:
		return do_metrics(h, c, r);
	case API_R_AUDIT:
		return do_audit(h, c, r);
	case API_R_PROFILES:
		rc = sbx_profiles(d, &out, &e);
		break;
	case API_R_CREATE:
		if ((rc = api_create_parse(r->hr_body, r->hr_len, &cr,
		    &e)) == 0) {
			rc = sbx_create(d, &cr, &out, &e);
			api_create_free(&cr);
		}
		if (rc == 0) {
			status = 201;
			snprintf(r->hr_id, sizeof(r->hr_id), "%s",
			    json_string_value(json_object_get(out, "id")));
		}
		break;
	case API_R_LIST:
		rc = sbx_list(d, &out, &e);
		break;
	case API_R_GET:
		rc = sbx_get(d, r->hr_id, &out, &e);
		break;
	case API_R_DESTROY:
		if ((rc = sbx_destroy(d, r->hr_id, &e)) == 0)
			return respond(h, c, r, 204, NULL, NULL, 0);
		break;
	case API_R_EXEC:
		if ((rc = api_exec_parse(r->hr_body, r->hr_len, &ex, &e)) == 0) {
			rc = sbx_exec(d, r->hr_id, &ex, &out, &e);
			api_exec_free(&ex);
		}
		break;
	case API_R_NETWORK:
		if ((rc = api_network_parse(r->hr_body, r->hr_len, &net,
		    &e)) == 0) {
			rc = sbx_network(d, r->hr_id, &net, &out, &e);
			api_network_free(&net);
		}
		break;
	case API_R_ENDPOINTS:
		if ((rc = api_endpoints_parse(r->hr_body, r->hr_len, &eps,
		    &text, &e)) == 0) {
			rc = sbx_endpoints(d, r->hr_id, eps, text, &out, &e);
			endpoints_free(eps);
			free(text);
		}
		break;
	case API_R_SECRETS:
		rc = sec_list(d, &out, &e);
		break;
	case API_R_SECRET_PUT:
		if ((rc = sec_put(d, r->hr_id, r->hr_body ? r->hr_body : "",
		    r->hr_len, &created, &e)) == 0)
			return respond(h, c, r, created ? 201 : 204, NULL, NULL,
			    0);
		break;
	case API_R_SECRET_DELETE:
		if ((rc = sec_delete(d, r->hr_id, &e)) == 0)
			return respond(h, c, r, 204, NULL, NULL, 0);
		break;
	case API_NROUTES:
		api_error_set(&e, API_INTERNAL, "no route");
		break;
	}
	if (rc == -1)
		return respond_error(h, c, r, &e);
	return respond_json(h, c, r, status, out);
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data, size_t *size,
    void **con_cls)
{
	struct lsn	*l = cls;
	struct hreq	*r = *con_cls;

	(void)version;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return MHD_NO;
		*con_cls = r;
		pthread_mutex_lock(&l->l_h->h_lock);
		l->l_h->h_active++;
		pthread_mutex_unlock(&l->l_h->h_lock);
		request_head(l, c, url, method, r);
		/* Answer now: the body of a refused request is not read. */
		if (r->hr_failed)
			return respond_error(l->l_h, c, r, &r->hr_err);
		return MHD_YES;
	}
	if (*size > 0) {
		if (!r->hr_failed && body_add(l->l_h->h_d, r, data, *size) == -1)
			r->hr_failed = true;
		*size = 0;
		return MHD_YES;
	}
	if (r->hr_failed)
		return respond_error(l->l_h, c, r, &r->hr_err);
	return dispatch(l->l_h, c, r);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct lsn	*l = cls;
	struct hreq	*r = *con_cls;

	(void)c;
	(void)toe;
	if (r != NULL) {
		if (r->hr_body != NULL)
			explicit_bzero(r->hr_body, r->hr_cap);
		free(r->hr_body);
		free(r);
		pthread_mutex_lock(&l->l_h->h_lock);
		if (--l->l_h->h_active == 0)
			pthread_cond_broadcast(&l->l_h->h_idle);
		pthread_mutex_unlock(&l->l_h->h_lock);
	}
	*con_cls = NULL;
}

/*
 * libmicrohttpd's messages, at most MHD_LOG_BURST a second: out of file
 * descriptors, its accept loop says so ~10^5 times a second
 * (tests/faults/fds.sh).
 */
#define MHD_LOG_BURST	10

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
	static time_t		 window;
	static unsigned		 n_window, n_dropped;
	unsigned		 dropped = 0;
	char			 buf[512];
	size_t			 n;
	time_t			 now = time(NULL);
	int			 say;

	(void)cls;
	pthread_mutex_lock(&mu);
	if (now != window) {
		dropped = n_dropped;
		window = now;
		n_window = n_dropped = 0;
	}
	if ((say = n_window < MHD_LOG_BURST))
		n_window++;
	else
		n_dropped++;
	pthread_mutex_unlock(&mu);
	if (dropped > 0)
		log_warnx("http: %u more messages in the last second not "
		    "shown", dropped);
	if (!say)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_warnx("http: %s", buf);
}

/* The unix socket: a stale one is replaced, a live one is an error. */
static int
unix_listen(const struct api_conf *cf, struct ir_err *err)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	struct group		*gr;
	char			 dir[sizeof(sun.sun_path)], *slash;
	int			 fd, probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(cf->cf_socket) >= sizeof(sun.sun_path))
		return err_set(err, ENAMETOOLONG, "socket %s: longer than %zu "
		    "bytes", cf->cf_socket, sizeof(sun.sun_path) - 1);
	memcpy(sun.sun_path, cf->cf_socket, strlen(cf->cf_socket));
	snprintf(dir, sizeof(dir), "%s", cf->cf_socket);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			return err_set(err, errno, "mkdir %s: %s", dir,
			    strerror(errno));
	}
	if (lstat(cf->cf_socket, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(err, EEXIST, "socket %s: exists and is "
			    "not a socket", cf->cf_socket);
		if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) !=
		    -1) {
			if (connect(probe, (struct sockaddr *)&sun,
			    sizeof(sun)) == 0) {
				close(probe);
				return err_set(err, EADDRINUSE, "socket %s: "
				    "another isorund answers there",
				    cf->cf_socket);
			}
			close(probe);
		}
		unlink(cf->cf_socket);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return err_set(err, errno, "socket: %s", strerror(errno));
	/* With main()'s umask 022 only root can connect (it takes write
	 * permission) until the mode and group below are set. */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		err_set(err, errno, "bind %s: %s", cf->cf_socket,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (cf->cf_socket_group[0] != '\0' &&
	    (gr = getgrnam(cf->cf_socket_group)) != NULL &&
	    chown(cf->cf_socket, (uid_t)-1, gr->gr_gid) == -1)
		log_warnx("chown %s to group %s: %s", cf->cf_socket,
		    cf->cf_socket_group, strerror(errno));
	if (chmod(cf->cf_socket, cf->cf_socket_mode) == -1 ||
	    listen(fd, 256) == -1) {
		err_set(err, errno, "socket %s: %s", cf->cf_socket,
		    strerror(errno));
		close(fd);
		unlink(cf->cf_socket);
		return -1;
	}
	return fd;
}

static int
tcp_listen(const char *spec, struct ir_err *err)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;
	char			 host[INET6_ADDRSTRLEN + 2];
	const char		*colon;
	socklen_t		 sl;
	int			 fd, on = 1;
	size_t			 n;

	memset(&ss, 0, sizeof(ss));
	colon = spec[0] == '[' ? strstr(spec, "]:") + 1 : strrchr(spec, ':');
	n = (size_t)(colon - spec) - (spec[0] == '[' ? 2 : 0);
	snprintf(host, sizeof(host), "%.*s", (int)n, spec + (spec[0] == '['));
	if (spec[0] == '[') {
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, host, &s6->sin6_addr);
		s6->sin6_port = htons((uint16_t)atoi(colon + 1));
		sl = sizeof(*s6);
	} else {
		s4->sin_family = AF_INET;
		inet_pton(AF_INET, host, &s4->sin_addr);
		s4->sin_port = htons((uint16_t)atoi(colon + 1));
		sl = sizeof(*s4);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return err_set(err, errno, "listen %s: %s", spec,
		    strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1 ||
	    listen(fd, 256) == -1) {
		err_set(err, errno, "listen %s: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static struct MHD_Daemon *
mhd_start(struct httpd *h, struct lsn *l, int fd, bool v6, struct ir_err *err)
{
	struct MHD_Daemon	*m;
	unsigned		 flags = MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG |
	    MHD_USE_ITC;

	if (v6)
		flags |= MHD_USE_IPv6;
	m = MHD_start_daemon(flags, 0, NULL, NULL, handler, l,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_LIMIT, h->h_d->d_conf.cf_max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, 0u,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, l,
	    MHD_OPTION_END);
	if (m == NULL)
		err_set(err, EIO, "libmicrohttpd would not start on %s",
		    l->l_tcp ? h->h_d->d_conf.cf_listen :
		    h->h_d->d_conf.cf_socket);
	return m;
}

struct httpd *
httpd_start(struct isorund *d, struct ir_err *err)
{
	struct httpd	*h;
	int		 ufd = -1, tfd = -1;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	h->h_d = d;
	pthread_mutex_init(&h->h_lock, NULL);
	pthread_cond_init(&h->h_idle, NULL);
	LIST_INIT(&h->h_follows);
	h->h_lsn_unix.l_h = h;
	h->h_lsn_tcp.l_h = h;
	h->h_lsn_tcp.l_tcp = true;
	if ((ufd = unix_listen(&d->d_conf, err)) == -1)
		goto fail;
	if ((h->h_unix = mhd_start(h, &h->h_lsn_unix, ufd, false, err)) == NULL)
		goto fail;
	ufd = -1;	/* libmicrohttpd's now */
	if (d->d_conf.cf_listen[0] != '\0') {
		if ((tfd = tcp_listen(d->d_conf.cf_listen, err)) == -1)
			goto fail;
		if ((h->h_tcp = mhd_start(h, &h->h_lsn_tcp, tfd,
		    d->d_conf.cf_listen[0] == '[', err)) == NULL)
			goto fail;
		log_info("serving on %s and on TCP %s (bearer token)",
		    d->d_conf.cf_socket, d->d_conf.cf_listen);
	} else
		log_info("serving on %s", d->d_conf.cf_socket);
	return h;
fail:
	if (tfd != -1)
		close(tfd);
	if (h->h_unix != NULL)
		MHD_stop_daemon(h->h_unix);
	if (ufd != -1)
		close(ufd);
	unlink(d->d_conf.cf_socket);
	pthread_cond_destroy(&h->h_idle);
	pthread_mutex_destroy(&h->h_lock);
	free(h);
	return NULL;
}

/* Stops accepting; the listening socket is ours to close after the stop. */
static MHD_socket
quiesce(struct MHD_Daemon *m)
{
	return m != NULL ? MHD_quiesce_daemon(m) : MHD_INVALID_SOCKET;
}

void
httpd_stop(struct httpd *h)
{
	struct timespec	 until;
	MHD_socket	 fu, ft;

	if (h == NULL)
		return;
	fu = quiesce(h->h_unix);
	ft = quiesce(h->h_tcp);
	unlink(h->h_d->d_conf.cf_socket);
	/* Requests in flight are answered (their execs were ended), within a
	 * bound: libmicrohttpd's stop cuts every connection. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_GRACE_MS / 1000;
	pthread_mutex_lock(&h->h_lock);
	while (h->h_active > 0 &&
	    pthread_cond_timedwait(&h->h_idle, &h->h_lock, &until) == 0)
		;
	if (h->h_active > 0)
		log_warnx("stopping with %u requests unanswered", h->h_active);
	pthread_mutex_unlock(&h->h_lock);
	if (h->h_tcp != NULL)
		MHD_stop_daemon(h->h_tcp);
	MHD_stop_daemon(h->h_unix);
	if (fu != MHD_INVALID_SOCKET)
		close(fu);
	if (ft != MHD_INVALID_SOCKET)
		close(ft);
	follows_reap(h, true);
	pthread_cond_destroy(&h->h_idle);
	pthread_mutex_destroy(&h->h_lock);
	free(h);
}
