/*
 * query.c - reading the audit trail: filtered queries and follow.
 *
 * A reader has its own connection; in WAL mode it never waits for the
 * writer nor makes it wait (beyond holding back a checkpoint while a
 * query runs).
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_int.h"

struct audit_db {
	sqlite3		*d_db;
	char		*d_path;
	int		 d_ver;		/* schema */
};

#define COLS1 "id, time_ns, sandbox, event, proto, src, sport, dst, dport," \
    " name, name_source, verdict, rule, reason, bytes_up, bytes_down," \
    " duration_ms, qname, qtype, rcode, count, last_ns"
/* A database of schema 1 that no writer has migrated yet reads as NULL. */
#define COLS_V1	COLS1 ", NULL, NULL, NULL, NULL"
#define COLS	COLS1 ", method, path, requests, intercepted"

static int
rd_err(struct ir_err *err, struct audit_db *d, const char *what)
{
	return err_set(err, EIO, "audit database %s: %s: %s", d->d_path, what,
	    sqlite3_errmsg(d->d_db));
}

struct audit_db *
audit_db_open(const char *path, struct ir_err *err)
{
	struct audit_db	*d;
	sqlite3_stmt	*s = NULL;
	struct stat	 sb;
	int		 rc;

	if (stat(path, &sb) == -1) {
		err_set(err, errno, "audit database %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		err_set(err, EINVAL, "audit database %s: not a regular file",
		    path);
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->d_path = strdup(path)) == NULL) {
		free(d);
		err_set(err, ENOMEM, "audit database %s: out of memory", path);
		return NULL;
	}
	/* Read-write lets a reader use the WAL index; read-only is enough. */
	rc = sqlite3_open_v2(path, &d->d_db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_close(d->d_db);
		d->d_db = NULL;
		rc = sqlite3_open_v2(path, &d->d_db, SQLITE_OPEN_READONLY,
		    NULL);
	}
	if (rc != SQLITE_OK) {
		err_set(err, EIO, "audit database %s: cannot open: %s", path,
		    sqlite3_errmsg(d->d_db));
		goto fail;
	}
	sqlite3_busy_timeout(d->d_db, 2000);
	sqlite3_exec(d->d_db, "PRAGMA query_only = 1", NULL, NULL, NULL);
	if (sqlite3_prepare_v2(d->d_db, "SELECT (SELECT user_version FROM "
	    "pragma_user_version), (SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'table' AND name = 'events')", -1, &s, NULL) !=
	    SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		rd_err(err, d, "cannot read it");
		if (sqlite3_errcode(d->d_db) == SQLITE_NOTADB)
			err->code = EINVAL;	/* the wrong file, not a fault */
		goto fail;
	}
	if (sqlite3_column_int(s, 1) != 1 || sqlite3_column_int(s, 0) < 1) {
		err_set(err, EINVAL, "audit database %s: not an isorun audit "
		    "database (no events table)", path);
		goto fail;
	}
	if (sqlite3_column_int(s, 0) > AUDIT_SCHEMA) {
		err_set(err, EINVAL, "audit database %s: schema %d is newer "
		    "than this isorun's (%d)", path, sqlite3_column_int(s, 0),
		    AUDIT_SCHEMA);
		goto fail;
	}
	d->d_ver = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return d;
fail:
	sqlite3_finalize(s);
	audit_db_close(d);
	return NULL;
}

void
audit_db_close(struct audit_db *d)
{
	if (d == NULL)
		return;
	sqlite3_close(d->d_db);
	free(d->d_path);
	free(d);
}

/* The enum value named `s` by audit_*_name(); 0 when none (a bad row). */
static int
parse_kind(const char *s)
{
	for (int i = AUDIT_CONNECT; s != NULL && i <= AUDIT_REQUEST; i++)
		if (strcmp(s, audit_kind_name(i)) == 0)
			return i;
	return 0;
}

static int
parse_proto(const char *s)
{
	for (int i = AUDIT_TCP; s != NULL && i <= AUDIT_DNS_PROTO; i++)
		if (strcmp(s, audit_proto_name(i)) == 0)
			return i;
	return 0;
}

static int
parse_name_source(const char *s)
{
	for (int i = AUDIT_NAME_NONE; s != NULL && i <= AUDIT_NAME_DNS; i++)
		if (strcmp(s, audit_name_source_name(i)) == 0)
			return i;
	return 0;
}

static const char *
col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static void
col_addr(sqlite3_stmt *s, int i, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (void *)ss;
	struct sockaddr_in6	*sin6 = (void *)ss;
	const char		*a = col_text(s, i);
	uint16_t		 port = htons((uint16_t)sqlite3_column_int(s,
				    i + 1));

	memset(ss, 0, sizeof(*ss));
	if (a == NULL)
		return;
	if (inet_pton(AF_INET, a, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = port;
	} else if (inet_pton(AF_INET6, a, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
	}
}

static void
row_decode(sqlite3_stmt *s, struct audit_row *r)
{
	struct audit_event	*ev = &r->ar_ev;
	const char		*v;

	memset(r, 0, sizeof(*r));
	r->ar_id = sqlite3_column_int64(s, 0);
	ev->ae_time_ns = (uint64_t)sqlite3_column_int64(s, 1);
	ev->ae_sandbox = (v = col_text(s, 2)) ? v : "";
	ev->ae_kind = (enum audit_kind)parse_kind(col_text(s, 3));
	ev->ae_proto = (enum audit_proto)parse_proto(col_text(s, 4));
	col_addr(s, 5, &ev->ae_src);
	col_addr(s, 7, &ev->ae_dst);
	if ((ev->ae_name = col_text(s, 9)) != NULL)
		ev->ae_namelen = (size_t)sqlite3_column_bytes(s, 9);
	ev->ae_name_source = (enum audit_name_source)parse_name_source(
	    col_text(s, 10));
	v = col_text(s, 11);
	ev->ae_allowed = v != NULL && strcmp(v, "allowed") == 0;
	ev->ae_rule = col_text(s, 12);
	ev->ae_reason = col_text(s, 13);
	ev->ae_bytes_up = (uint64_t)sqlite3_column_int64(s, 14);
	ev->ae_bytes_down = (uint64_t)sqlite3_column_int64(s, 15);
	ev->ae_duration_ms = (uint64_t)sqlite3_column_int64(s, 16);
	ev->ae_qname = col_text(s, 17);
	ev->ae_qtype = (uint16_t)sqlite3_column_int(s, 18);
	ev->ae_rcode = col_text(s, 19);
	ev->ae_count = (uint64_t)sqlite3_column_int64(s, 20);
	ev->ae_last_ns = (uint64_t)sqlite3_column_int64(s, 21);
	if ((ev->ae_method = col_text(s, 22)) != NULL)
		ev->ae_methodlen = (size_t)sqlite3_column_bytes(s, 22);
	if ((ev->ae_path = col_text(s, 23)) != NULL)
		ev->ae_pathlen = (size_t)sqlite3_column_bytes(s, 23);
	ev->ae_requests = (uint64_t)sqlite3_column_int64(s, 24);
	ev->ae_intercepted = sqlite3_column_int(s, 25) != 0;
}

/*
 * Builds the query for `f`; `after` >= 0: only ids above it, in id order
 * (follow); `upto` > 0: only ids up to it.
 */
static int
prepare(struct audit_db *d, const struct audit_filter *f, int64_t after,
    int64_t upto, sqlite3_stmt **out, struct ir_err *err)
{
	const char	*cols;
	char		 w[256], sql[1024];
	sqlite3_stmt	*s;
	int		 i = 1;

	/* A writer may have migrated it since it was opened (a follow
	   across an upgrade of the runner). */
	if (d->d_ver < AUDIT_SCHEMA && sqlite3_prepare_v2(d->d_db,
	    "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			d->d_ver = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
	}
	cols = d->d_ver < 2 ? COLS_V1 : COLS;

	snprintf(w, sizeof(w), "WHERE 1%s%s%s%s%s",
	    f->af_sandbox ? " AND sandbox = ?" : "",
	    f->af_since_ns ? " AND time_ns >= ?" : "",
	    f->af_verdict >= 0 ? " AND verdict = ?" : "",
	    after >= 0 ? " AND id > ?" : "",
	    upto > 0 ? " AND id <= ?" : "");
	if (after >= 0)
		snprintf(sql, sizeof(sql), "SELECT %s FROM events %s "
		    "ORDER BY id", cols, w);
	else if (f->af_limit > 0)
		snprintf(sql, sizeof(sql), "SELECT * FROM (SELECT %s FROM "
		    "events %s ORDER BY time_ns DESC, id DESC LIMIT ?) "
		    "ORDER BY time_ns, id", cols, w);
	else
		snprintf(sql, sizeof(sql), "SELECT %s FROM events %s "
		    "ORDER BY time_ns, id", cols, w);
	if (sqlite3_prepare_v2(d->d_db, sql, -1, &s, NULL) != SQLITE_OK)
		return rd_err(err, d, "query");
	if (f->af_sandbox)
		sqlite3_bind_text(s, i++, f->af_sandbox, -1, SQLITE_STATIC);
	if (f->af_since_ns)
		sqlite3_bind_int64(s, i++, f->af_since_ns > INT64_MAX ?
		    INT64_MAX : (int64_t)f->af_since_ns);
	if (f->af_verdict >= 0)
		sqlite3_bind_text(s, i++, f->af_verdict ? "allowed" :
		    "blocked", -1, SQLITE_STATIC);
	if (after >= 0)
		sqlite3_bind_int64(s, i++, after);
	if (upto > 0)
		sqlite3_bind_int64(s, i++, upto);
	if (after < 0 && f->af_limit > 0)
		sqlite3_bind_int64(s, i++, f->af_limit);
	*out = s;
	return 0;
}

/* Runs `s` to the end: 1 when `fn` stopped it, 0 done, -1 error. */
static int
run(struct audit_db *d, sqlite3_stmt *s, audit_row_fn *fn, void *arg,
    unsigned *nrows, struct ir_err *err)
{
	struct audit_row	 r;
	int			 rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		row_decode(s, &r);
		if (nrows != NULL)
			(*nrows)++;
		if (fn(arg, &r) != 0) {
			sqlite3_finalize(s);
			return 1;
		}
	}
	if (rc != SQLITE_DONE) {
		rd_err(err, d, "query");
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}

int
audit_query(struct audit_db *d, const struct audit_filter *f,
    audit_row_fn *fn, void *arg, struct ir_err *err)
{
	sqlite3_stmt	*s;

	if (prepare(d, f, -1, 0, &s, err) == -1)
		return -1;
	return run(d, s, fn, arg, NULL, err) < 0 ? -1 : 0;
}

/*
 * In one read transaction: the highest id, then the rows of `f` with ids
 * in (after, highest] (after < 0: the first query, by time). Sets *last
 * to the highest id whether rows passed the filter or not, so that the
 * next poll never scans them again.
 */
static int
follow_step(struct audit_db *d, const struct audit_filter *f, int64_t *last,
    int first, audit_row_fn *fn, void *arg, unsigned *nrows,
    struct ir_err *err)
{
	sqlite3_stmt	*s;
	int64_t		 hi;
	int		 rc = 0;

	if (sqlite3_exec(d->d_db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return rd_err(err, d, "begin");
	if (sqlite3_prepare_v2(d->d_db, "SELECT coalesce(max(id), 0) FROM "
	    "events", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_finalize(s);
		sqlite3_exec(d->d_db, "ROLLBACK", NULL, NULL, NULL);
		return rd_err(err, d, "query");
	}
	hi = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (hi > *last) {
		if (prepare(d, f, first ? -1 : *last, hi, &s, err) == -1)
			rc = -1;
		else
			rc = run(d, s, fn, arg, nrows, err);
		*last = hi;
	}
	sqlite3_exec(d->d_db, "COMMIT", NULL, NULL, NULL);
	return rc;
}

int
audit_follow(struct audit_db *d, const struct audit_filter *f,
    audit_row_fn *fn, void *arg, struct ir_err *err)
{
	struct timespec	 ts = { 0, AUDIT_FOLLOW_MS * 1000000L };
	int64_t		 last = 0;
	unsigned	 nrows;
	int		 rc, first = 1;

	for (;;) {
		nrows = 0;
		rc = follow_step(d, f, &last, first, fn, arg, &nrows, err);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
		first = 0;
		if (nrows == 0 && fn(arg, NULL) != 0)
			return 0;
		nanosleep(&ts, NULL);
	}
}

int
audit_parse_duration(const char *s, uint64_t *out, struct ir_err *err)
{
	static const char units[] = "smhdw";
	static const uint64_t secs[] = { 1, 60, 3600, 86400, 604800 };
	const char	*p = s, *u;
	uint64_t	 total = 0, v;
	char		 q[80];

	str_quote(s, strlen(s), 32, q, sizeof(q));
	if (*p == '\0')
		return err_set(err, 0, "%s: empty; give a duration such as "
		    "10m, 2h or 7d", q);
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			return err_set(err, 0, "%s: not a duration; give one "
			    "such as 10m, 2h or 7d", q);
		for (v = 0; *p >= '0' && *p <= '9'; p++) {
			if (v > (UINT64_MAX - 9) / 10)
				return err_set(err, 0, "%s: too large", q);
			v = v * 10 + (uint64_t)(*p - '0');
		}
		if (*p == '\0')
			return err_set(err, 0, "%s: a number needs a unit (s, "
			    "m, h, d or w), as in 10m", q);
		if ((u = strchr(units, *p)) == NULL) {
			char	 c[16];

			str_quote(p, 1, 1, c, sizeof(c));
			return err_set(err, 0, "%s: unknown unit %s; use s, m, "
			    "h, d or w", q, c);
		}
		p++;
		/* Capped at 100 years: more is a typo, not a retention. */
		if (v > 3153600000ULL / secs[u - units] ||
		    (total += v * secs[u - units]) > 3153600000ULL)
			return err_set(err, 0, "%s: too large (over 100 years)",
			    q);
	}
	*out = total * 1000000000ULL;
	return 0;
}
