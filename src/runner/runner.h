/*
 * runner.h - one runner: the gateway, the proxy, the DNS view and the
 * sandboxes behind them, wired together. `isorun run` embeds one; the
 * daemon holds one for its life.
 *
 * A sandbox here is the whole of it: a network slot in the gateway (its
 * namespace and veth), its policy in the proxy and the DNS view, and the
 * bubblewrap sandbox joined to that namespace with /etc/resolv.conf naming
 * the gateway. Creating one is all-or-nothing; destroying one removes
 * every part (the DNS cache with it).
 *
 * Threads: the runner's calls are serialised by a lock of its own, so a
 * daemon's threads may call them concurrently; sandbox_exec() on
 * runner_sandbox_box() runs outside that lock.
 */
#ifndef ISORUN_RUNNER_H
#define ISORUN_RUNNER_H

#include <stdbool.h>

#include "../common/err.h"
#include "../dns/dns.h"
#include "../gateway/gateway.h"
#include "../policy/policy.h"
#include "../proxy/proxy.h"
#include "../sandbox/sandbox.h"

struct runner_config {
	struct gateway_config	 rc_gw;
	struct proxy_config	 rc_px;
	struct dnsview_config	 rc_dns;
	struct sandbox_paths	 rc_paths;
	const char *const	*rc_guard;	/* extra guard prefixes */
	size_t			 rc_nguard;
};

/* The defaults of every part. */
void	runner_config_default(struct runner_config *c);

struct runner;
struct runner_sandbox;

/*
 * Creates the gateway (EEXIST if a runner of that name exists: see
 * gateway_purge), compiles the guard list (defaults, this host's
 * addresses, the sandbox pools, rc_guard), starts the DNS view and the
 * proxy. Nothing is left behind on failure.
 */
struct runner	*runner_start(const struct runner_config *c, struct ir_err *err);

/*
 * Destroys every sandbox still there, stops the proxy and the DNS view,
 * removes the gateway. Sandboxes lose the network before their processes
 * are killed.
 */
void		 runner_stop(struct runner *r);

struct runner_sandbox_spec {
	const char		*rs_id;		/* NULL: generated */
	const char		*rs_image;	/* NULL: "host" */
	const char *const	*rs_env;	/* "K=V", NULL-terminated */
	struct policy		*rs_policy;	/* borrowed; the runner holds
						   its own reference */
	unsigned		 rs_dns_flags;	/* DNSVIEW_REFUSE for the
						   locked-down profile */
	bool			 rs_lifeline;	/* dies with this process */
};

/*
 * Creates a sandbox with its network and policy. The policy is in force
 * (proxy and DNS) before the sandbox's first process starts.
 */
struct runner_sandbox *runner_sandbox_create(struct runner *r,
	    const struct runner_sandbox_spec *spec, struct ir_err *err);

/* Replaces the sandbox's policy (a live change: see proxy_sandbox_set). */
int	runner_sandbox_set_policy(struct runner *r, struct runner_sandbox *s,
	    struct policy *pol, unsigned dns_flags, struct ir_err *err);

/*
 * Removes the sandbox's network (so its processes lose it first), then
 * its processes and files, and frees `s`. Returns -1 if some step failed;
 * every other step is still done.
 */
int	runner_sandbox_destroy(struct runner *r, struct runner_sandbox *s,
	    struct ir_err *err);

struct sandbox	*runner_sandbox_box(struct runner_sandbox *s);
const char	*runner_sandbox_id(const struct runner_sandbox *s);
/* The sandbox's addresses and namespace, as the gateway gave them. */
void		 runner_sandbox_net(const struct runner_sandbox *s,
		    struct gw_sandbox_info *out);

#endif
