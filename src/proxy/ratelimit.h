/*
 * ratelimit.h - the audit events of the gateway's rate limits (ratelimit.c).
 * Not a contract: only proxy.c calls these.
 */
#ifndef ISORUN_PX_RATELIMIT_H
#define ISORUN_PX_RATELIMIT_H

#include <stdint.h>

#include "../common/err.h"

struct proxy;
struct px_ratelimit;

struct px_ratelimit *px_rl_new(struct proxy *, struct ir_err *);
void	px_rl_free(struct px_ratelimit *);
/* ms until loop 0's next px_rl_poll(), -1 for none: it wakes up for it. */
int	px_rl_wait_ms(const struct px_ratelimit *, uint64_t now);
/*
 * Loop 0, once a second: reads the counters and emits one audit event per
 * sandbox and protocol whose count grew, with ae_count the increase.
 */
void	px_rl_poll(struct proxy *, uint64_t now);
/* Around the clearing of a slot's id in proxy_sandbox_clear(). */
void	px_rl_clear_begin(struct proxy *, unsigned slot);
void	px_rl_clear_end(struct proxy *);

#endif
