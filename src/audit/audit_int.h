/*
 * audit_int.h - what the files of src/audit share: the queue between
 * audit_emit() and the writer, and the store's hooks.
 */
#ifndef ISORUN_AUDIT_INT_H
#define ISORUN_AUDIT_INT_H

#include <pthread.h>
#include <stdint.h>

#include "audit.h"

/*
 * One event copied out of the emitter's memory, or a summary of several.
 * The strings of r_ev point into r_buf (or are NULL / static).
 */
struct arec {
	struct arec		*r_hnext;	/* summaries: hash chain */
	struct arec		*r_lnext;	/* summaries: in order of creation */
	uint64_t		 r_hash;
	int			 r_summary;	/* 0, AQ_FULL or AQ_COARSE */
	struct audit_event	 r_ev;		/* ae_count, ae_last_ns set */
	char			 r_buf[];
};

#define AQ_FULL		1	/* keyed by sandbox, verdict, rule, dst, proto;
				   requests: host instead of dst */
#define AQ_COARSE	2	/* keyed by sandbox, verdict, proto */
#define AQ_SPARE	3	/* keyed by verdict, kind, proto; never allocated */

/* What the writer takes in one go: queued events, then summaries. */
struct abatch {
	struct arec	**b_ev;
	unsigned	  b_nev;
	struct arec	 *b_sum;	/* list by r_lnext */
	struct arec	**b_buckets;	/* the summaries' table, to recycle */
	struct arec	 *b_spare;	/* array of b_nspare */
	unsigned	  b_nspare;
	uint64_t	  b_events;	/* events it stands for */
};

#define AQ_NSPARE	(2 * 4 * 4)	/* verdicts, kinds, protocols */
#define AQ_COARSE_MAX	1024
/* Methods are short tokens; a guest's longer one is cut here. */
#define AQ_METHOD_MAX	32

/*
 * The bounded queue. aq_push() may be called from any thread; aq_take()
 * from one (the writer).
 */
struct aqueue {
	pthread_mutex_t	  q_lock;
	struct arec	**q_cur, **q_spare;	/* double buffer */
	unsigned	  q_n, q_max;
	struct arec	**q_buckets, **q_sbuckets;
	unsigned	  q_nbuckets;
	struct arec	 *q_shead, *q_stail;	/* summaries, in order */
	unsigned	  q_nsum, q_ncoarse, q_summax;
	struct arec	  q_spares[AQ_NSPARE];
	struct arec	  q_tspares[AQ_NSPARE];	/* handed to the writer */
	uint64_t	  q_events;		/* since the last aq_take() */
};

int	aq_init(struct aqueue *, unsigned qmax, unsigned summax);
void	aq_destroy(struct aqueue *);

/*
 * Copies `ev` (time 0 becomes now) into the queue, or folds it into a
 * summary when the queue is full. Returns the number of events queued
 * (not summarized) after the push, so the caller can wake the writer.
 */
unsigned aq_push(struct aqueue *, const struct audit_event *ev);

/*
 * Moves everything pushed so far into `b`; the writer owns it until
 * abatch_free(), which must come before the next aq_take(). Cheap: the
 * emitters wait only for pointer swaps.
 */
void	aq_take(struct aqueue *, struct abatch *b);
void	abatch_free(struct aqueue *, struct abatch *b);

/*
 * Gives back what the writer took and could not write (the disk is
 * full): its events go in front of the queue again, or into summaries
 * with their counts when it is full, so that none is lost while the store
 * cannot write. The records move out of `b`; abatch_free() it as usual.
 */
void	aq_requeue(struct aqueue *, struct abatch *b);

/* The database's PRAGMA user_version (store.c writes, query.c reads). */
#define AUDIT_SCHEMA	2

/* audit.c -> store.c: 0 when no store is open. */
int	store_push(const struct audit_event *ev);

/* metrics.c */
void	metrics_count(const struct audit_event *ev);
void	metrics_add(uint64_t *counter, uint64_t n);
void	metrics_set_queue(uint64_t n);
extern uint64_t	metrics_aggregated, metrics_dropped, metrics_written,
		metrics_retained;

/* Tests: while paused, the writer takes nothing from the queue. */
void	audit_store_pause(int on);

/* Now, CLOCK_REALTIME, in ns. */
uint64_t audit_now_ns(void);

#endif
