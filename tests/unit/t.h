/*
 * t.h - the unit tests' harness. A test program prints one TAP-like line per
 * case ("ok - name" or "not ok - name: why"); tests/run counts them. A case
 * is a function; T_CHECK records a failure and goes on, so one run shows all
 * that is wrong.
 */
#ifndef ISORUN_T_H
#define ISORUN_T_H

#include <stdio.h>
#include <string.h>

static int	 t_failed_case;	/* failures in the current case */
static int	 t_npass, t_nfail;
static char	 t_first[512];	/* first failure of the case */

#define T_CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		if (t_failed_case++ == 0) {				\
			int n_ = snprintf(t_first, sizeof(t_first),	\
			    "%s:%d: ", __FILE__, __LINE__);		\
			snprintf(t_first + n_, sizeof(t_first) - (size_t)n_, \
			    __VA_ARGS__);				\
		} else							\
			fprintf(stderr, "  also %s:%d: %s\n", __FILE__,	\
			    __LINE__, #cond);				\
	}								\
} while (0)

#define T_STREQ(a, b) do {						\
	const char *a_ = (a), *b_ = (b);				\
	T_CHECK(a_ != NULL && b_ != NULL && strcmp(a_, b_) == 0,	\
	    "%s: got '%s', want '%s'", #a, a_ ? a_ : "(null)",		\
	    b_ ? b_ : "(null)");					\
} while (0)

/* Runs one case; `name` may be a printf format for table-driven cases. */
#define T_RUN(fn, ...) do {						\
	char name_[256];						\
	t_failed_case = 0;						\
	snprintf(name_, sizeof(name_), __VA_ARGS__);			\
	fn;								\
	if (t_failed_case == 0) {					\
		t_npass++;						\
		printf("ok - %s\n", name_);				\
	} else {							\
		t_nfail++;						\
		printf("not ok - %s: %s\n", name_, t_first);		\
	}								\
	fflush(stdout);							\
} while (0)

static inline int
t_done(void)
{
	return t_nfail ? 1 : 0;
}

#endif
