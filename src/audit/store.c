/*
 * store.c - the durable audit trail: one SQLite database in WAL mode, one
 * writer thread, retention by age and size.
 *
 * audit_emit() pushes into the queue (queue.c); the writer wakes when the
 * queue is a quarter full, when a flush is asked for, or every
 * ac_commit_ms, and writes what it took in one transaction. A commit in WAL
 * mode is a write(2) of the log: from then on the rows survive a crash of
 * this process (kill -9), though not necessarily of the machine until the
 * next checkpoint (docs/audit.md).
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit_int.h"

#define DEF_MAX_AGE_S	(7ULL * 24 * 3600)
#define DEF_MAX_BYTES	(256ULL * 1024 * 1024)
#define DEF_QUEUE	16384
#define DEF_SUMMARIES	4096
#define DEF_COMMIT_MS	200
#define DEF_RETAIN_MS	60000
#define CHECKPOINT_MS	1000
#define WARN_EVERY_NS	(10ULL * 1000000000)

static const char schema[] =
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
    " last_ns INTEGER,"
    " method TEXT, path TEXT,"
    " requests INTEGER, intercepted INTEGER);"
    "CREATE INDEX IF NOT EXISTS events_time ON events (time_ns);"
    "CREATE INDEX IF NOT EXISTS events_sandbox ON events (sandbox, time_ns);"
    "PRAGMA user_version = 2;";

/*
 * Schema 1 -> 2: the columns of requests and intercepted connections.
 * Nullable and added at the end, so the rows of schema 1 stay as they
 * were (NULL in the new columns) and readers of either version work.
 */
static const char migrate_1_2[] =
    "ALTER TABLE events ADD COLUMN method TEXT;"
    "ALTER TABLE events ADD COLUMN path TEXT;"
    "ALTER TABLE events ADD COLUMN requests INTEGER;"
    "ALTER TABLE events ADD COLUMN intercepted INTEGER;";

static const char insert_sql[] =
    "INSERT INTO events (time_ns, sandbox, event, proto, src, sport, dst,"
    " dport, name, name_source, verdict, rule, reason, bytes_up, bytes_down,"
    " duration_ms, qname, qtype, rcode, count, last_ns, method, path,"
    " requests, intercepted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
    " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static struct {
	pthread_mutex_t	 life;		/* open and close */
	pthread_mutex_t	 lock;		/* the fields below up to s_q */
	pthread_cond_t	 wake;		/* the writer waits here */
	pthread_cond_t	 done;		/* flushers wait here */
	int		 stop, paused, wfail;
	uint64_t	 flush_req, flush_done;
	char		 werr[IR_ERR_MAX];
	int		 open;		/* atomic: emitters read it */
	unsigned	 inflight;	/* atomic: emitters inside push */
	unsigned	 wake_at;
	struct aqueue	 q;
	struct audit_config cfg;
	char		*path;
	sqlite3		*db;
	sqlite3_stmt	*ins;
	pthread_t	 thr;
	uint64_t	 age_due, ckpt_due, warn_due;	/* monotonic ns */
	int		 vacuum;	/* the database can shrink */
} st = {
	.life = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static uint64_t
mono_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
db_err(struct ir_err *err, sqlite3 *db, const char *path, const char *what)
{
	int	 ec = sqlite3_extended_errcode(db), code = EIO;

	switch (ec & 0xff) {
	case SQLITE_CANTOPEN:	code = ENOENT;	break;
	case SQLITE_PERM:
	case SQLITE_READONLY:
	case SQLITE_AUTH:	code = EACCES;	break;
	case SQLITE_FULL:	code = ENOSPC;	break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:	code = EBUSY;	break;
	case SQLITE_NOMEM:	code = ENOMEM;	break;
	}
	return err_set(err, code, "audit database %s: %s: %s", path, what,
	    sqlite3_errmsg(db));
}

static int
exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int64_t
pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*s;
	int64_t		 v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void
config_fill(struct audit_config *c, const struct audit_config *in)
{
	memset(c, 0, sizeof(*c));
	if (in != NULL)
		*c = *in;
	if (c->ac_max_age_s == 0)
		c->ac_max_age_s = DEF_MAX_AGE_S;
	if (c->ac_max_bytes == 0)
		c->ac_max_bytes = DEF_MAX_BYTES;
	if (c->ac_queue_max == 0)
		c->ac_queue_max = DEF_QUEUE;
	if (c->ac_summary_max == 0)
		c->ac_summary_max = DEF_SUMMARIES;
	if (c->ac_commit_ms == 0)
		c->ac_commit_ms = DEF_COMMIT_MS;
	if (c->ac_retain_ms == 0)
		c->ac_retain_ms = DEF_RETAIN_MS;
}

static int
config_check(const struct audit_config *c, struct ir_err *err)
{
	if (c->ac_max_bytes < AUDIT_MIN_BYTES)
		return err_set(err, EINVAL, "audit: max_bytes %llu is below "
		    "the minimum of %u", (unsigned long long)c->ac_max_bytes,
		    AUDIT_MIN_BYTES);
	if (c->ac_commit_ms > 1000)
		return err_set(err, EINVAL, "audit: commit period %u ms is "
		    "over 1000 ms: events must be durable within a second",
		    c->ac_commit_ms);
	if (c->ac_queue_max > (1u << 24) || c->ac_summary_max > (1u << 20))
		return err_set(err, EINVAL, "audit: queue of %u or %u "
		    "summaries is too large", c->ac_queue_max,
		    c->ac_summary_max);
	if (c->ac_max_age_s > 100ULL * 365 * 24 * 3600)
		return err_set(err, EINVAL, "audit: max_age %llu s is over "
		    "100 years", (unsigned long long)c->ac_max_age_s);
	return 0;
}

/*
 * Creates the file (mode 0600: the trail names what sandboxes tried to
 * reach) and its directory when missing, so that SQLite's WAL and shm
 * files inherit that mode.
 */
static int
file_prepare(const char *path, struct ir_err *err)
{
	char	*dup, *dir;
	int	 fd;

	if ((dup = strdup(path)) == NULL)
		return err_set(err, ENOMEM, "audit database %s: out of memory",
		    path);
	dir = dirname(dup);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		err_set(err, errno, "audit database %s: cannot create the "
		    "directory %s: %s", path, dir, strerror(errno));
		free(dup);
		return -1;
	}
	free(dup);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return err_set(err, errno, "audit database %s: %s", path,
		    strerror(errno));
	close(fd);
	return 0;
}

static int
db_setup(sqlite3 *db, const struct audit_config *c, const char *path,
    struct ir_err *err)
{
	sqlite3_stmt	*s;
	int64_t		 ver, pages;
	char		 sql[128];
	int		 fresh;

	sqlite3_busy_timeout(db, 5000);
	if ((ver = pragma_int(db, "PRAGMA user_version")) < 0)
		return db_err(err, db, path, "cannot read it");
	if (ver > AUDIT_SCHEMA)
		return err_set(err, EINVAL, "audit database %s: schema %lld "
		    "is newer than this isorun's (%d)", path, (long long)ver,
		    AUDIT_SCHEMA);
	fresh = pragma_int(db, "SELECT count(*) FROM sqlite_master") == 0;
	if (!fresh && ver == 0)
		return err_set(err, EINVAL, "audit database %s: not an isorun "
		    "audit database (it has tables but no schema version)",
		    path);
	if (fresh && exec(db, "PRAGMA auto_vacuum = INCREMENTAL") == -1)
		return db_err(err, db, path, "auto_vacuum");
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s,
	    NULL) != SQLITE_OK)
		return db_err(err, db, path, "journal_mode");
	if (sqlite3_step(s) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(s, 0), "wal") != 0) {
		sqlite3_finalize(s);
		return err_set(err, EIO, "audit database %s: cannot switch to "
		    "WAL mode", path);
	}
	sqlite3_finalize(s);
	/* The WAL is checkpointed at a quarter of the size bound at most. */
	pages = (int64_t)(c->ac_max_bytes / 4 / 4096);
	pages = pages < 16 ? 16 : pages > 1000 ? 1000 : pages;
	snprintf(sql, sizeof(sql), "PRAGMA synchronous = NORMAL;"
	    "PRAGMA wal_autocheckpoint = %lld;"
	    "PRAGMA journal_size_limit = %lld;", (long long)pages,
	    (long long)pages * 4096);
	if (exec(db, sql) == -1)
		return db_err(err, db, path, "settings");
	if (exec(db, "BEGIN IMMEDIATE") == -1)
		return db_err(err, db, path, "begin");
	/* Read again inside the transaction: another writer may have
	   migrated it since. */
	ver = pragma_int(db, "PRAGMA user_version");
	if (ver == 1 && exec(db, migrate_1_2) == -1) {
		db_err(err, db, path, "migration from schema 1");
		exec(db, "ROLLBACK");
		return -1;
	}
	if (exec(db, schema) == -1 || exec(db, "COMMIT") == -1) {
		db_err(err, db, path, "schema");
		exec(db, "ROLLBACK");
		return -1;
	}
	return 0;
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v, size_t n)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, (int)n, SQLITE_STATIC);
}

static void
bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
	sqlite3_bind_int64(s, i, v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

static void
bind_addr(sqlite3_stmt *s, int ia, const struct sockaddr_storage *ss,
    char *buf, size_t len)
{
	const void	*a;
	unsigned	 port;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		a = &sin->sin_addr;
		port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		a = &sin6->sin6_addr;
		port = ntohs(sin6->sin6_port);
	} else
		a = NULL;
	if (a == NULL || inet_ntop(ss->ss_family, a, buf, (socklen_t)len) ==
	    NULL) {
		sqlite3_bind_null(s, ia);
		sqlite3_bind_null(s, ia + 1);
		return;
	}
	sqlite3_bind_text(s, ia, buf, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, ia + 1, (int)port);
}

static int
insert(sqlite3_stmt *s, const struct audit_event *ev)
{
	char	 src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	int	 rc;

	bind_u64(s, 1, ev->ae_time_ns);
	bind_text(s, 2, ev->ae_sandbox, strlen(ev->ae_sandbox));
	bind_text(s, 3, audit_kind_name(ev->ae_kind), strlen(
	    audit_kind_name(ev->ae_kind)));
	bind_text(s, 4, audit_proto_name(ev->ae_proto), strlen(
	    audit_proto_name(ev->ae_proto)));
	bind_addr(s, 5, &ev->ae_src, src, sizeof(src));
	bind_addr(s, 7, &ev->ae_dst, dst, sizeof(dst));
	bind_text(s, 9, ev->ae_name, ev->ae_namelen);
	bind_text(s, 10, audit_name_source_name(ev->ae_name_source),
	    strlen(audit_name_source_name(ev->ae_name_source)));
	bind_text(s, 11, ev->ae_allowed ? "allowed" : "blocked", 7);
	bind_text(s, 12, ev->ae_rule, ev->ae_rule ? strlen(ev->ae_rule) : 0);
	bind_text(s, 13, ev->ae_reason, ev->ae_reason ?
	    strlen(ev->ae_reason) : 0);
	for (int i = 14; i <= 19; i++)
		sqlite3_bind_null(s, i);
	for (int i = 22; i <= 25; i++)
		sqlite3_bind_null(s, i);
	if (ev->ae_kind == AUDIT_CLOSE) {
		bind_u64(s, 14, ev->ae_bytes_up);
		bind_u64(s, 15, ev->ae_bytes_down);
		bind_u64(s, 16, ev->ae_duration_ms);
		if (ev->ae_intercepted) {
			bind_u64(s, 24, ev->ae_requests);
			sqlite3_bind_int(s, 25, 1);
		}
	} else if (ev->ae_kind == AUDIT_REQUEST) {
		bind_text(s, 22, ev->ae_method, ev->ae_methodlen <
		    AQ_METHOD_MAX ? ev->ae_methodlen : AQ_METHOD_MAX);
		bind_text(s, 23, ev->ae_path, ev->ae_pathlen < AUDIT_PATH_MAX ?
		    ev->ae_pathlen : AUDIT_PATH_MAX);
	} else if (ev->ae_kind == AUDIT_DNS) {
		bind_text(s, 17, ev->ae_qname, ev->ae_qname ?
		    strlen(ev->ae_qname) : 0);
		sqlite3_bind_int(s, 18, ev->ae_qtype);
		bind_text(s, 19, ev->ae_rcode, ev->ae_rcode ?
		    strlen(ev->ae_rcode) : 0);
	}
	bind_u64(s, 20, ev->ae_count ? ev->ae_count : 1);
	if (ev->ae_last_ns != 0)
		bind_u64(s, 21, ev->ae_last_ns);
	else
		sqlite3_bind_null(s, 21);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * One transaction; returns the rows written, or -1 with SQLite's message
 * in `why` (taken before the rollback, which has its own).
 */
static int64_t
write_batch(const struct abatch *b, char *why, size_t len)
{
	const struct arec	*r;
	int64_t			 n = 0;
	unsigned		 i;

	if (b->b_events == 0)
		return 0;
	if (exec(st.db, "BEGIN IMMEDIATE") == -1)
		goto fail;
	for (i = 0; i < b->b_nev; i++, n++)
		if (insert(st.ins, &b->b_ev[i]->r_ev) == -1)
			goto fail;
	for (r = b->b_sum; r != NULL; r = r->r_lnext, n++)
		if (insert(st.ins, &r->r_ev) == -1)
			goto fail;
	for (i = 0; i < b->b_nspare; i++, n++)
		if (insert(st.ins, &b->b_spare[i].r_ev) == -1)
			goto fail;
	if (exec(st.db, "COMMIT") == -1)
		goto fail;
	return n;
fail:
	snprintf(why, len, "%s", sqlite3_errmsg(st.db));
	if (!sqlite3_get_autocommit(st.db))
		exec(st.db, "ROLLBACK");
	return -1;
}

/*
 * A write failed: `what` and SQLite's `why`, and what became of the
 * events (`fate`). On stderr at most every WARN_EVERY_NS; the next
 * audit_store_flush() reports it too.
 */
static void
warn_write(const char *what, const char *why, const char *fate)
{
	uint64_t	 now = mono_ns();

	pthread_mutex_lock(&st.lock);
	st.wfail = 1;
	snprintf(st.werr, sizeof(st.werr), "audit database %s: %s: %s%s%s",
	    st.path, what, why, fate[0] != '\0' ? "; " : "", fate);
	pthread_mutex_unlock(&st.lock);
	if (now < st.warn_due)
		return;
	st.warn_due = now + WARN_EVERY_NS;
	fprintf(stderr, "isorun: %s\n", st.werr);
}

static int64_t
delete_where(const char *sql, int64_t arg)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_prepare_v2(st.db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, arg);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes64(st.db);
}

static int64_t
used_bytes(void)
{
	int64_t	 pc, fl, ps;

	pc = pragma_int(st.db, "PRAGMA page_count");
	fl = pragma_int(st.db, "PRAGMA freelist_count");
	ps = pragma_int(st.db, "PRAGMA page_size");
	if (pc < 0 || fl < 0 || ps < 0)
		return -1;
	return (pc - fl) * ps;
}

/*
 * Size: while the pages in use pass ac_max_bytes, deletes the oldest rows
 * (lowest ids), aiming at 90% of it; ids are dense enough that their span
 * estimates the row count without a scan. Returns rows deleted or -1.
 */
static int64_t
retain_size(void)
{
	int64_t	 used, target, lo, hi, del, n, total = 0;
	int	 round;

	target = (int64_t)(st.cfg.ac_max_bytes / 10 * 9);
	for (round = 0; round < 16; round++) {
		if ((used = used_bytes()) < 0)
			return -1;
		if (used <= (int64_t)st.cfg.ac_max_bytes && (round == 0 ||
		    used <= target))
			break;
		lo = pragma_int(st.db, "SELECT min(id) FROM events");
		hi = pragma_int(st.db, "SELECT max(id) FROM events");
		if (lo <= 0 || hi < lo)
			break;
		del = (hi - lo + 1) * (used - target) / used + 1;
		if ((n = delete_where("DELETE FROM events WHERE id < ?",
		    lo + del)) < 0)
			return -1;
		total += n;
	}
	return total;
}

static void
retain(int force)
{
	uint64_t	 now = mono_ns();
	int64_t		 cut, n, total = 0;

	if (force || now >= st.age_due) {
		st.age_due = now + (uint64_t)st.cfg.ac_retain_ms * 1000000;
		cut = (int64_t)(audit_now_ns() -
		    st.cfg.ac_max_age_s * 1000000000ULL);
		if ((n = delete_where("DELETE FROM events WHERE time_ns < ?",
		    cut)) < 0)
			warn_write("retention by age", sqlite3_errmsg(st.db),
			    "");
		else
			total += n;
	}
	if ((n = retain_size()) < 0)
		warn_write("retention by size", sqlite3_errmsg(st.db), "");
	else
		total += n;
	if (total > 0) {
		metrics_add(&metrics_retained, (uint64_t)total);
		if (st.vacuum)
			exec(st.db, "PRAGMA incremental_vacuum");
	}
}

static void
writer_wait(void)
{
	struct timespec	 dl;
	uint64_t	 t;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	t = (uint64_t)dl.tv_nsec + (uint64_t)st.cfg.ac_commit_ms * 1000000;
	dl.tv_sec += (time_t)(t / 1000000000);
	dl.tv_nsec = (long)(t % 1000000000);
	while (!st.stop && st.flush_req == st.flush_done) {
		if (st.paused) {
			pthread_cond_wait(&st.wake, &st.lock);
			continue;
		}
		/* After a failed write the queue holds what waits: retry
		 * once a period, not at once. */
		if (!st.wfail &&
		    __atomic_load_n(&st.q.q_n, __ATOMIC_RELAXED) >= st.wake_at)
			break;
		if (pthread_cond_timedwait(&st.wake, &st.lock, &dl) ==
		    ETIMEDOUT)
			break;
	}
}

static void *
writer_main(void *arg)
{
	struct abatch	 b;
	uint64_t	 req;
	int64_t		 n;
	int		 stop, kept = 0;
	char		 why[256], fate[64];

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&st.lock);
		writer_wait();
		stop = st.stop;
		req = st.flush_req;
		pthread_mutex_unlock(&st.lock);

		aq_take(&st.q, &b);
		metrics_set_queue(0);
		if ((n = write_batch(&b, why, sizeof(why))) < 0 && stop) {
			snprintf(fate, sizeof(fate), "%llu events lost",
			    (unsigned long long)b.b_events);
			metrics_add(&metrics_dropped, b.b_events);
			warn_write("cannot write", why, fate);
		} else if (n < 0) {
			/* A full disk: keep them (as summaries past the
			 * queue's size) and try again next period. */
			snprintf(fate, sizeof(fate), "%llu events kept in "
			    "memory until it can", (unsigned long long)
			    b.b_events);
			aq_requeue(&st.q, &b);
			kept = 1;
			metrics_set_queue(__atomic_load_n(&st.q.q_n,
			    __ATOMIC_RELAXED));
			warn_write("cannot write", why, fate);
		} else {
			metrics_add(&metrics_written, (uint64_t)n);
			if (kept && n > 0) {
				fprintf(stderr, "isorun: audit database %s: "
				    "writing again (%lld rows, with the "
				    "events kept meanwhile)\n", st.path,
				    (long long)n);
				kept = 0;
			}
			pthread_mutex_lock(&st.lock);
			st.wfail = 0;
			pthread_mutex_unlock(&st.lock);
		}
		abatch_free(&st.q, &b);
		retain(req != st.flush_done);
		if (n > 0 && mono_ns() >= st.ckpt_due) {
			/* Syncs the WAL: bounds what a power loss takes. */
			sqlite3_wal_checkpoint_v2(st.db, NULL,
			    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
			st.ckpt_due = mono_ns() + CHECKPOINT_MS * 1000000ULL;
		}
		pthread_mutex_lock(&st.lock);
		st.flush_done = req;
		pthread_cond_broadcast(&st.done);
		pthread_mutex_unlock(&st.lock);
		if (stop)
			break;
	}
	return NULL;
}

static void
db_close(void)
{
	sqlite3_finalize(st.ins);
	st.ins = NULL;
	sqlite3_close(st.db);
	st.db = NULL;
	free(st.path);
	st.path = NULL;
}

int
audit_store_open(const char *path, const struct audit_config *cfg,
    struct ir_err *err)
{
	pthread_condattr_t	 ca;
	int			 rc = -1;

	pthread_mutex_lock(&st.life);
	if (__atomic_load_n(&st.open, __ATOMIC_SEQ_CST)) {
		err_set(err, EBUSY, "audit database %s: a store is already "
		    "open (%s)", path, st.path);
		goto out;
	}
	config_fill(&st.cfg, cfg);
	if (config_check(&st.cfg, err) == -1 || file_prepare(path, err) == -1)
		goto out;
	if ((st.path = strdup(path)) == NULL) {
		err_set(err, ENOMEM, "audit database %s: out of memory", path);
		goto out;
	}
	if (sqlite3_open_v2(path, &st.db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		db_err(err, st.db, path, "cannot open");
		goto fail;
	}
	if (db_setup(st.db, &st.cfg, path, err) == -1)
		goto fail;
	st.vacuum = pragma_int(st.db, "PRAGMA auto_vacuum") == 2;
	if (sqlite3_prepare_v2(st.db, insert_sql, -1, &st.ins, NULL) !=
	    SQLITE_OK) {
		db_err(err, st.db, path, "prepare");
		goto fail;
	}
	if (aq_init(&st.q, st.cfg.ac_queue_max, st.cfg.ac_summary_max) ==
	    -1) {
		err_set(err, ENOMEM, "audit: no memory for a queue of %u",
		    st.cfg.ac_queue_max);
		goto fail;
	}
	st.wake_at = st.cfg.ac_queue_max / 4 ? st.cfg.ac_queue_max / 4 : 1;
	st.stop = st.paused = st.wfail = 0;
	st.flush_req = st.flush_done = 0;
	st.age_due = st.ckpt_due = st.warn_due = 0;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st.wake, &ca);
	pthread_cond_init(&st.done, NULL);
	pthread_condattr_destroy(&ca);
	/* Old events are removed before the first new ones are written. */
	retain(1);
	if ((errno = pthread_create(&st.thr, NULL, writer_main, NULL)) != 0) {
		err_set(err, errno, "audit: cannot start the writer: %s",
		    strerror(errno));
		pthread_cond_destroy(&st.wake);
		pthread_cond_destroy(&st.done);
		aq_destroy(&st.q);
		goto fail;
	}
	__atomic_store_n(&st.open, 1, __ATOMIC_SEQ_CST);
	rc = 0;
	goto out;
fail:
	db_close();
out:
	pthread_mutex_unlock(&st.life);
	return rc;
}

void
audit_store_close(void)
{
	struct timespec	 ts = { 0, 100000 };

	pthread_mutex_lock(&st.life);
	if (!__atomic_load_n(&st.open, __ATOMIC_SEQ_CST)) {
		pthread_mutex_unlock(&st.life);
		return;
	}
	__atomic_store_n(&st.open, 0, __ATOMIC_SEQ_CST);
	/* Emitters that saw the store open finish their push first. */
	while (__atomic_load_n(&st.inflight, __ATOMIC_SEQ_CST) != 0)
		nanosleep(&ts, NULL);
	pthread_mutex_lock(&st.lock);
	st.stop = 1;
	st.paused = 0;
	pthread_cond_signal(&st.wake);
	pthread_mutex_unlock(&st.lock);
	pthread_join(st.thr, NULL);
	pthread_cond_destroy(&st.wake);
	pthread_cond_destroy(&st.done);
	aq_destroy(&st.q);
	db_close();
	pthread_mutex_unlock(&st.life);
}

int
audit_store_flush(struct ir_err *err)
{
	uint64_t	 gen;
	int		 rc = 0;

	pthread_mutex_lock(&st.life);
	if (!__atomic_load_n(&st.open, __ATOMIC_SEQ_CST)) {
		pthread_mutex_unlock(&st.life);
		return err_set(err, EINVAL, "audit: no store is open");
	}
	pthread_mutex_lock(&st.lock);
	gen = ++st.flush_req;
	pthread_cond_signal(&st.wake);
	while (st.flush_done < gen)
		pthread_cond_wait(&st.done, &st.lock);
	if (st.wfail)
		rc = err_set(err, EIO, "%s", st.werr);
	pthread_mutex_unlock(&st.lock);
	pthread_mutex_unlock(&st.life);
	return rc;
}

void
audit_store_pause(int on)
{
	pthread_mutex_lock(&st.lock);
	st.paused = on;
	pthread_cond_signal(&st.wake);
	pthread_mutex_unlock(&st.lock);
}

int
store_push(const struct audit_event *ev)
{
	unsigned	 n;

	if (!__atomic_load_n(&st.open, __ATOMIC_RELAXED))
		return 0;
	__atomic_add_fetch(&st.inflight, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&st.open, __ATOMIC_SEQ_CST)) {
		__atomic_sub_fetch(&st.inflight, 1, __ATOMIC_SEQ_CST);
		return 0;
	}
	n = aq_push(&st.q, ev);
	metrics_set_queue(n);
	if (n == st.wake_at) {
		pthread_mutex_lock(&st.lock);
		pthread_cond_signal(&st.wake);
		pthread_mutex_unlock(&st.lock);
	}
	__atomic_sub_fetch(&st.inflight, 1, __ATOMIC_SEQ_CST);
	return 1;
}
