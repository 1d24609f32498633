/*
 * queue.c - the bounded queue between audit_emit() and the writer.
 *
 * Emitters copy the event outside the lock and hold the lock only to store
 * a pointer or bump a summary. When the queue is full, events are folded
 * into summaries keyed by (sandbox, verdict, kind, proto, rule, dst
 * address, or the host for requests); past ac_summary_max of those, by
 * (sandbox, verdict, kind, proto); past AQ_COARSE_MAX of those, or when
 * memory runs out, into one
 * of the AQ_NSPARE preallocated records keyed by (verdict, kind, proto).
 * So every event is counted somewhere, and memory stays bounded.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "audit_int.h"

static const char spare_reason[] =
    "summary: the audit queue and its summaries were full";

uint64_t
audit_now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
aq_init(struct aqueue *q, unsigned qmax, unsigned summax)
{
	unsigned	 nb = 64;

	memset(q, 0, sizeof(*q));
	while (nb < 2 * (summax + AQ_COARSE_MAX))
		nb *= 2;
	q->q_max = qmax;
	q->q_summax = summax;
	q->q_nbuckets = nb;
	q->q_cur = calloc(qmax, sizeof(*q->q_cur));
	q->q_spare = calloc(qmax, sizeof(*q->q_spare));
	q->q_buckets = calloc(nb, sizeof(*q->q_buckets));
	q->q_sbuckets = calloc(nb, sizeof(*q->q_sbuckets));
	if (q->q_cur == NULL || q->q_spare == NULL || q->q_buckets == NULL ||
	    q->q_sbuckets == NULL || pthread_mutex_init(&q->q_lock, NULL)) {
		free(q->q_cur);
		free(q->q_spare);
		free(q->q_buckets);
		free(q->q_sbuckets);
		return -1;
	}
	return 0;
}

void
aq_destroy(struct aqueue *q)
{
	struct abatch	 b;

	aq_take(q, &b);
	abatch_free(q, &b);
	pthread_mutex_destroy(&q->q_lock);
	free(q->q_cur);
	free(q->q_spare);
	free(q->q_buckets);
	free(q->q_sbuckets);
	memset(q, 0, sizeof(*q));
}

static size_t
slen(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

static const char *
scopy(char **p, const char *s, size_t n)
{
	char	*d = *p;

	if (s == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	*p += n + 1;
	return d;
}

/* The attempts `ev` stands for: its emitter may say N > 1. */
static uint64_t
ev_count(const struct audit_event *ev)
{
	return ev->ae_count > 1 ? ev->ae_count : 1;
}

/* A copy of `ev` in one allocation; NULL when memory is short. */
static struct arec *
rec_copy(const struct audit_event *ev, uint64_t now)
{
	struct arec	*r;
	char		*p;
	size_t		 n, mlen = 0, plen = 0;

	n = slen(ev->ae_sandbox) + (ev->ae_name ? ev->ae_namelen + 1 : 0) +
	    slen(ev->ae_rule) + slen(ev->ae_reason) + slen(ev->ae_qname) +
	    slen(ev->ae_rcode) + 1;
	if (ev->ae_kind == AUDIT_REQUEST) {
		mlen = ev->ae_methodlen < AQ_METHOD_MAX ? ev->ae_methodlen :
		    AQ_METHOD_MAX;
		plen = ev->ae_pathlen < AUDIT_PATH_MAX ? ev->ae_pathlen :
		    AUDIT_PATH_MAX;
		n += (ev->ae_method ? mlen + 1 : 0) +
		    (ev->ae_path ? plen + 1 : 0);
	}
	if ((r = malloc(sizeof(*r) + n)) == NULL)
		return NULL;
	r->r_hnext = r->r_lnext = NULL;
	r->r_hash = 0;
	r->r_summary = 0;
	r->r_ev = *ev;
	p = r->r_buf;
	r->r_ev.ae_sandbox = scopy(&p, ev->ae_sandbox ? ev->ae_sandbox : "",
	    ev->ae_sandbox ? strlen(ev->ae_sandbox) : 0);
	r->r_ev.ae_name = scopy(&p, ev->ae_name, ev->ae_namelen);
	r->r_ev.ae_rule = scopy(&p, ev->ae_rule, slen(ev->ae_rule) - 1);
	r->r_ev.ae_reason = scopy(&p, ev->ae_reason, slen(ev->ae_reason) - 1);
	r->r_ev.ae_qname = scopy(&p, ev->ae_qname, slen(ev->ae_qname) - 1);
	r->r_ev.ae_rcode = scopy(&p, ev->ae_rcode, slen(ev->ae_rcode) - 1);
	if (ev->ae_kind == AUDIT_REQUEST) {
		r->r_ev.ae_method = scopy(&p, ev->ae_method, mlen);
		r->r_ev.ae_methodlen = ev->ae_method ? mlen : 0;
		r->r_ev.ae_path = scopy(&p, ev->ae_path, plen);
		r->r_ev.ae_pathlen = ev->ae_path ? plen : 0;
	} else {
		r->r_ev.ae_method = r->r_ev.ae_path = NULL;
		r->r_ev.ae_methodlen = r->r_ev.ae_pathlen = 0;
	}
	if (r->r_ev.ae_time_ns == 0)
		r->r_ev.ae_time_ns = now;
	r->r_ev.ae_count = ev_count(ev);
	r->r_ev.ae_last_ns = 0;
	return r;
}

/* FNV-1a, good enough for a table that only emitters of one runner fill. */
static uint64_t
hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char	*s = p;

	while (n-- > 0)
		h = (h ^ *s++) * 0x100000001b3ULL;
	return h;
}

static uint64_t
hash_str(uint64_t h, const char *s)
{
	return hash_bytes(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

/* The address part of `ss` (no port); *n its length, 0 when absent. */
static const void *
sa_addr(const struct sockaddr_storage *ss, size_t *n)
{
	if (ss->ss_family == AF_INET) {
		*n = 4;
		return &((const struct sockaddr_in *)(const void *)ss)->sin_addr;
	}
	if (ss->ss_family == AF_INET6) {
		*n = 16;
		return &((const struct sockaddr_in6 *)(const void *)ss)->
		    sin6_addr;
	}
	*n = 0;
	return NULL;
}

static uint16_t
sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)ss)->sin_port;
	if (ss->ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)(const void *)ss)->
		    sin6_port;
	return 0;
}

static void
sa_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)(void *)ss)->sin_port = port;
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)(void *)ss)->sin6_port = port;
}

static int
sa_same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const void	*pa, *pb;
	size_t		 na, nb;

	pa = sa_addr(a, &na);
	pb = sa_addr(b, &nb);
	return a->ss_family == b->ss_family && na == nb &&
	    (na == 0 || memcmp(pa, pb, na) == 0);
}

static uint64_t
key_hash(const struct audit_event *ev, int kind)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;
	unsigned char	 k[4];
	const void	*a;
	size_t		 n;

	k[0] = (unsigned char)kind;
	k[1] = ev->ae_allowed ? 1 : 0;
	k[2] = (unsigned char)ev->ae_kind;
	k[3] = (unsigned char)ev->ae_proto;
	h = hash_bytes(h, k, sizeof(k));
	h = hash_str(h, ev->ae_sandbox);
	if (kind == AQ_FULL && ev->ae_kind == AUDIT_REQUEST) {
		h = hash_str(h, ev->ae_rule);
		if (ev->ae_name != NULL)
			h = hash_bytes(h, ev->ae_name, ev->ae_namelen);
	} else if (kind == AQ_FULL) {
		h = hash_str(h, ev->ae_rule);
		a = sa_addr(&ev->ae_dst, &n);
		h = hash_bytes(h, &ev->ae_dst.ss_family,
		    sizeof(ev->ae_dst.ss_family));
		if (n > 0)
			h = hash_bytes(h, a, n);
	}
	return h;
}

static int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
name_eq(const struct audit_event *a, const struct audit_event *b)
{
	if (a->ae_name == NULL || b->ae_name == NULL)
		return a->ae_name == b->ae_name;
	return a->ae_namelen == b->ae_namelen &&
	    memcmp(a->ae_name, b->ae_name, a->ae_namelen) == 0;
}

static int
key_eq(const struct arec *s, const struct audit_event *ev, int kind)
{
	const struct audit_event *k = &s->r_ev;

	if (s->r_summary != kind || !k->ae_allowed != !ev->ae_allowed ||
	    k->ae_kind != ev->ae_kind || k->ae_proto != ev->ae_proto ||
	    strcmp(k->ae_sandbox, ev->ae_sandbox ? ev->ae_sandbox : "") != 0)
		return 0;
	if (kind == AQ_FULL && ev->ae_kind == AUDIT_REQUEST)
		return str_eq(k->ae_rule, ev->ae_rule) &&
		    name_eq(k, ev);
	if (kind == AQ_FULL)
		return str_eq(k->ae_rule, ev->ae_rule) &&
		    sa_same_addr(&k->ae_dst, &ev->ae_dst);
	return 1;
}

/*
 * Folds `ev`, standing for `n` events from `t` to `last`, into summary
 * `s`: counts add up, time spans first to last, and a detail the events
 * do not all share is cleared, but for the method and path of a request:
 * the first's stay as an example (its key is sandbox, host and rule).
 */
static void
merge_n(struct arec *s, const struct audit_event *ev, uint64_t t,
    uint64_t last, uint64_t n)
{
	struct audit_event	*k = &s->r_ev;

	k->ae_count += n;
	if (t < k->ae_time_ns)
		k->ae_time_ns = t;
	if (last > k->ae_last_ns)
		k->ae_last_ns = last;
	k->ae_bytes_up += ev->ae_bytes_up;
	k->ae_bytes_down += ev->ae_bytes_down;
	k->ae_duration_ms += ev->ae_duration_ms;
	if (!sa_same_addr(&k->ae_src, &ev->ae_src))
		k->ae_src.ss_family = AF_UNSPEC;
	else if (sa_port(&k->ae_src) != sa_port(&ev->ae_src))
		sa_set_port(&k->ae_src, 0);
	if (!sa_same_addr(&k->ae_dst, &ev->ae_dst))
		k->ae_dst.ss_family = AF_UNSPEC;
	else if (sa_port(&k->ae_dst) != sa_port(&ev->ae_dst))
		sa_set_port(&k->ae_dst, 0);
	k->ae_requests += ev->ae_requests;
	k->ae_intercepted |= ev->ae_intercepted ? 1 : 0;
	if (k->ae_name != NULL && !name_eq(k, ev)) {
		k->ae_name = NULL;
		k->ae_namelen = 0;
	}
	if (k->ae_name_source != ev->ae_name_source)
		k->ae_name_source = AUDIT_NAME_NONE;
	if (!str_eq(k->ae_rule, ev->ae_rule))
		k->ae_rule = NULL;
	if (!str_eq(k->ae_reason, ev->ae_reason))
		k->ae_reason = NULL;
	if (!str_eq(k->ae_qname, ev->ae_qname))
		k->ae_qname = NULL;
	if (k->ae_qtype != ev->ae_qtype)
		k->ae_qtype = 0;
	if (!str_eq(k->ae_rcode, ev->ae_rcode))
		k->ae_rcode = NULL;
}

static void
merge(struct arec *s, const struct audit_event *ev, uint64_t t)
{
	merge_n(s, ev, t, t, ev_count(ev));
}

static struct arec *
sum_find(struct aqueue *q, const struct audit_event *ev, int kind, uint64_t h)
{
	struct arec	*s;

	for (s = q->q_buckets[h & (q->q_nbuckets - 1)]; s; s = s->r_hnext)
		if (s->r_hash == h && key_eq(s, ev, kind))
			return s;
	return NULL;
}

/* Links `r`, a summary with its count and times set, into the table. */
static void
sum_link(struct aqueue *q, struct arec *r, int kind, uint64_t h)
{
	struct arec	**b = &q->q_buckets[h & (q->q_nbuckets - 1)];

	r->r_summary = kind;
	r->r_hash = h;
	if (kind == AQ_COARSE) {
		r->r_ev.ae_rule = NULL;
		r->r_ev.ae_dst.ss_family = AF_UNSPEC;
		if (r->r_ev.ae_kind == AUDIT_REQUEST) {
			r->r_ev.ae_name = r->r_ev.ae_method =
			    r->r_ev.ae_path = NULL;
			r->r_ev.ae_namelen = r->r_ev.ae_methodlen =
			    r->r_ev.ae_pathlen = 0;
		}
		q->q_ncoarse++;
	} else
		q->q_nsum++;
	r->r_hnext = *b;
	*b = r;
	r->r_lnext = NULL;
	if (q->q_stail != NULL)
		q->q_stail->r_lnext = r;
	else
		q->q_shead = r;
	q->q_stail = r;
}

static void
sum_insert(struct aqueue *q, struct arec *r, int kind, uint64_t h)
{
	r->r_ev.ae_last_ns = r->r_ev.ae_time_ns;
	sum_link(q, r, kind, h);
}

static void
spare_merge(struct aqueue *q, const struct audit_event *ev, uint64_t t,
    uint64_t last, uint64_t n)
{
	unsigned	 i;
	struct arec	*s;

	i = ((ev->ae_allowed ? 1u : 0u) * 4 + (unsigned)ev->ae_kind % 4) * 4 +
	    (unsigned)ev->ae_proto % 4;
	s = &q->q_spares[i];
	if (s->r_ev.ae_count == 0) {
		memset(&s->r_ev, 0, sizeof(s->r_ev));
		s->r_summary = AQ_SPARE;
		s->r_ev.ae_count = n;
		s->r_ev.ae_sandbox = "";
		s->r_ev.ae_allowed = ev->ae_allowed ? 1 : 0;
		s->r_ev.ae_kind = ev->ae_kind;
		s->r_ev.ae_proto = ev->ae_proto;
		s->r_ev.ae_reason = spare_reason;
		s->r_ev.ae_time_ns = t;
		s->r_ev.ae_last_ns = last;
		s->r_ev.ae_bytes_up = ev->ae_bytes_up;
		s->r_ev.ae_bytes_down = ev->ae_bytes_down;
		s->r_ev.ae_duration_ms = ev->ae_duration_ms;
		s->r_ev.ae_requests = ev->ae_requests;
		s->r_ev.ae_intercepted = ev->ae_intercepted ? 1 : 0;
		return;
	}
	s->r_ev.ae_count += n;
	if (t < s->r_ev.ae_time_ns)
		s->r_ev.ae_time_ns = t;
	if (last > s->r_ev.ae_last_ns)
		s->r_ev.ae_last_ns = last;
	s->r_ev.ae_bytes_up += ev->ae_bytes_up;
	s->r_ev.ae_bytes_down += ev->ae_bytes_down;
	s->r_ev.ae_duration_ms += ev->ae_duration_ms;
	s->r_ev.ae_requests += ev->ae_requests;
	s->r_ev.ae_intercepted |= ev->ae_intercepted ? 1 : 0;
}

/*
 * Queue full: folds `ev` into a summary, using `r` (its copy, or NULL: one
 * is made when a new summary needs it) as a new one when none matches.
 * Returns what the caller must free.
 */
static struct arec *
aggregate(struct aqueue *q, const struct audit_event *ev, struct arec *r,
    uint64_t t, uint64_t hfull, uint64_t hcoarse)
{
	struct arec	*s;

	metrics_add(&metrics_aggregated, ev_count(ev));
	if ((s = sum_find(q, ev, AQ_FULL, hfull)) != NULL) {
		merge(s, ev, t);
		return r;
	}
	if (q->q_nsum < q->q_summax || (q->q_ncoarse < AQ_COARSE_MAX &&
	    sum_find(q, ev, AQ_COARSE, hcoarse) == NULL)) {
		/* Once per new key, so rare enough to allocate here. */
		if (r == NULL)
			r = rec_copy(ev, t);
		if (r != NULL) {
			sum_insert(q, r, q->q_nsum < q->q_summax ? AQ_FULL :
			    AQ_COARSE, q->q_nsum < q->q_summax ? hfull :
			    hcoarse);
			return NULL;
		}
	}
	if ((s = sum_find(q, ev, AQ_COARSE, hcoarse)) != NULL) {
		merge(s, ev, t);
		return r;
	}
	spare_merge(q, ev, t, t, ev_count(ev));
	return r;
}

unsigned
aq_push(struct aqueue *q, const struct audit_event *ev)
{
	struct arec	*r = NULL;
	uint64_t	 t, hfull = 0, hcoarse = 0;
	unsigned	 n;
	int		 full;

	t = ev->ae_time_ns != 0 ? ev->ae_time_ns : audit_now_ns();
	/*
	 * A racy peek: when the queue looks full the event will most likely
	 * be folded into a summary, so hash it instead of copying it.
	 */
	full = __atomic_load_n(&q->q_n, __ATOMIC_RELAXED) >= q->q_max;
	if (!full)
		r = rec_copy(ev, t);
	if (full || r == NULL) {
		hfull = key_hash(ev, AQ_FULL);
		hcoarse = key_hash(ev, AQ_COARSE);
	}
	pthread_mutex_lock(&q->q_lock);
	q->q_events++;
	if (r != NULL && q->q_n < q->q_max) {
		q->q_cur[q->q_n] = r;
		__atomic_store_n(&q->q_n, q->q_n + 1, __ATOMIC_RELAXED);
		r = NULL;
	} else if (full && q->q_n < q->q_max) {
		/* emptied since the peek: copy under the lock, rarely */
		if ((r = rec_copy(ev, t)) != NULL) {
			q->q_cur[q->q_n] = r;
			__atomic_store_n(&q->q_n, q->q_n + 1,
			    __ATOMIC_RELAXED);
			r = NULL;
		} else
			r = aggregate(q, ev, NULL, t, hfull, hcoarse);
	} else {
		if (!full && r != NULL) {
			/* filled up since the peek: hash under the lock */
			hfull = key_hash(ev, AQ_FULL);
			hcoarse = key_hash(ev, AQ_COARSE);
		}
		r = aggregate(q, ev, r, t, hfull, hcoarse);
	}
	n = q->q_n;
	pthread_mutex_unlock(&q->q_lock);
	free(r);
	return n;
}

void
aq_take(struct aqueue *q, struct abatch *b)
{
	unsigned	 i;

	memset(b, 0, sizeof(*b));
	pthread_mutex_lock(&q->q_lock);
	b->b_ev = q->q_cur;
	b->b_nev = q->q_n;
	q->q_cur = q->q_spare;
	q->q_spare = NULL;
	__atomic_store_n(&q->q_n, 0, __ATOMIC_RELAXED);
	b->b_sum = q->q_shead;
	b->b_buckets = q->q_buckets;
	q->q_buckets = q->q_sbuckets;
	q->q_sbuckets = NULL;
	q->q_shead = q->q_stail = NULL;
	q->q_nsum = q->q_ncoarse = 0;
	for (i = 0; i < AQ_NSPARE; i++) {
		if (q->q_spares[i].r_ev.ae_count == 0)
			continue;
		q->q_tspares[b->b_nspare++] = q->q_spares[i];
		q->q_spares[i].r_ev.ae_count = 0;
	}
	b->b_spare = q->q_tspares;
	b->b_events = q->q_events;
	q->q_events = 0;
	pthread_mutex_unlock(&q->q_lock);
}

/* Only the thread that took `b`, before its next aq_take(). */
void
abatch_free(struct aqueue *q, struct abatch *b)
{
	struct arec	*s, *next;
	unsigned	 i;

	for (i = 0; i < b->b_nev; i++)
		free(b->b_ev[i]);
	for (s = b->b_sum; s != NULL; s = next) {
		next = s->r_lnext;
		free(s);
	}
	memset(b->b_buckets, 0, q->q_nbuckets * sizeof(*b->b_buckets));
	q->q_spare = b->b_ev;
	q->q_sbuckets = b->b_buckets;
	memset(b, 0, sizeof(*b));
}

/*
 * `r` (an event that found no room in the queue, or a summary) goes back
 * into a summary with its count: its own key's, a new one while there is
 * room, a coarse one, or a spare. Under the queue's lock.
 */
static void
refold(struct aqueue *q, struct arec *r)
{
	struct audit_event	*ev = &r->r_ev;
	struct arec		*s;
	uint64_t		 t = ev->ae_time_ns, last, h;

	last = ev->ae_last_ns != 0 ? ev->ae_last_ns : t;
	if (r->r_summary == 0)
		metrics_add(&metrics_aggregated, ev->ae_count);
	if (r->r_summary != AQ_COARSE) {
		h = key_hash(ev, AQ_FULL);
		if ((s = sum_find(q, ev, AQ_FULL, h)) != NULL) {
			merge_n(s, ev, t, last, ev->ae_count);
			free(r);
			return;
		}
		if (q->q_nsum < q->q_summax) {
			ev->ae_last_ns = last;
			sum_link(q, r, AQ_FULL, h);
			return;
		}
	}
	h = key_hash(ev, AQ_COARSE);
	if ((s = sum_find(q, ev, AQ_COARSE, h)) != NULL) {
		merge_n(s, ev, t, last, ev->ae_count);
		free(r);
		return;
	}
	if (q->q_ncoarse < AQ_COARSE_MAX) {
		ev->ae_last_ns = last;
		sum_link(q, r, AQ_COARSE, h);
		return;
	}
	spare_merge(q, ev, t, last, ev->ae_count);
	free(r);
}

void
aq_requeue(struct aqueue *q, struct abatch *b)
{
	struct audit_event	*ev;
	struct arec		*s, *next;
	unsigned		 i, k;

	pthread_mutex_lock(&q->q_lock);
	/* Its events go first: they are older than any queued since. */
	k = q->q_max - q->q_n;
	if (k > b->b_nev)
		k = b->b_nev;
	memmove(q->q_cur + k, q->q_cur, q->q_n * sizeof(*q->q_cur));
	memcpy(q->q_cur, b->b_ev, k * sizeof(*q->q_cur));
	__atomic_store_n(&q->q_n, q->q_n + k, __ATOMIC_RELAXED);
	for (i = k; i < b->b_nev; i++)
		refold(q, b->b_ev[i]);
	b->b_nev = 0;
	for (s = b->b_sum; s != NULL; s = next) {
		next = s->r_lnext;
		refold(q, s);
	}
	b->b_sum = NULL;
	for (i = 0; i < b->b_nspare; i++) {
		ev = &b->b_spare[i].r_ev;
		spare_merge(q, ev, ev->ae_time_ns, ev->ae_last_ns,
		    ev->ae_count);
	}
	b->b_nspare = 0;
	q->q_events += b->b_events;
	b->b_events = 0;
	pthread_mutex_unlock(&q->q_lock);
}
