/*
 * guard.h - the runner's guard list (SPEC 2): what no sandbox may reach,
 * whatever its policy.
 */
#ifndef ISORUN_GUARD_H
#define ISORUN_GUARD_H

#include "../common/err.h"
#include "../gateway/gateway.h"
#include "../policy/policy.h"

/*
 * Compiles the guard list of a runner: pol_guard_defaults, every address of
 * this host (the interfaces of the caller's network namespace, read now),
 * the gateway's sandbox pools from `gc` (so that sandboxes never reach each
 * other or the gateway; NULL: none) and `extra` (operator prefixes).
 * Returns NULL with `err` set on failure.
 */
struct pol_guard *runner_guard(const struct gateway_config *gc,
	    const char *const *extra, size_t nextra, struct ir_err *err);

#endif
