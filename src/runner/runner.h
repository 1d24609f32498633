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
#include "../endpoint/endpoint.h"
#include "../gateway/gateway.h"
#include "../policy/policy.h"
#include "../proxy/proxy.h"
#include "../sandbox/sandbox.h"
#include "../secrets/secrets.h"

struct runner_config {
	struct gateway_config	 rc_gw;
	struct proxy_config	 rc_px;
	struct dnsview_config	 rc_dns;
	struct sandbox_paths	 rc_paths;
	const char *const	*rc_guard;	/* extra guard prefixes */
	size_t			 rc_nguard;
	const char		*rc_ca_file;	/* PEM certificates every
						   sandbox trusts besides the
						   host's (NULL: none) */
	struct sandbox_limits	 rc_limits;	/* every sandbox's; pids
						   SB_PIDS_MAX, memory none */
};

/* Where a sandbox's CA bundle is, and the variables that name it. */
#define RUNNER_CA_BUNDLE	"/etc/ssl/certs/ca-certificates.crt"

/* The defaults of every part. */
void	runner_config_default(struct runner_config *c);

struct runner;
struct runner_sandbox;

/*
 * Creates the gateway (EEXIST if a runner of that name exists: see
 * gateway_purge), compiles the guard list (defaults, this host's
 * addresses, the sandbox pools, rc_guard), starts the DNS view and the
 * proxy. With rc_ca_file, every sandbox's RUNNER_CA_BUNDLE is the host's
 * bundle plus that file, and SSL_CERT_FILE, REQUESTS_CA_BUNDLE,
 * CURL_CA_BUNDLE, PIP_CERT, GIT_SSL_CAINFO and NODE_EXTRA_CA_CERTS name
 * it (the caller's env still wins). It raises the process's soft
 * RLIMIT_NOFILE to the hard limit (two descriptors per connection). Nothing
 * is left behind on failure.
 *
 * With rc_paths.sp_state_dir, it also opens the secrets store
 * (<state_dir>/secrets) and the CA (<state_dir>/ca, made at first start,
 * named after rc_gw.gc_name) and has the proxy intercept the hosts of
 * sandboxes with endpoint rules (docs/endpoints.md); upstream servers are
 * verified against the host's trust store plus rc_ca_file. Without a
 * state dir, a sandbox with endpoints is refused. Failing to open either
 * is a start error naming the path.
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
	struct endpoints	*rs_endpoints;	/* borrowed; NULL or empty:
						   none; the runner holds its
						   own reference */
};

/*
 * Creates a sandbox with its network and policy. The policy is in force
 * (proxy and DNS) before the sandbox's first process starts.
 *
 * With endpoints: every host must be permitted by the policy
 * (endpoints_check_policy) and every secret the credentials name must be
 * set, else it fails with code 0 (the request's fault) and a message
 * naming the host or the secret. Its RUNNER_CA_BUNDLE is the host's
 * bundle, rc_ca_file's certificates and the runner's CA, and the
 * variables above name it. Sandboxes without endpoints do not trust the
 * CA.
 */
struct runner_sandbox *runner_sandbox_create(struct runner *r,
	    const struct runner_sandbox_spec *spec, struct ir_err *err);

/*
 * Replaces the sandbox's policy (a live change: see proxy_sandbox_set). A
 * policy that blocks one of the sandbox's endpoint hosts is refused (code
 * 0) and the old one stays.
 */
int	runner_sandbox_set_policy(struct runner *r, struct runner_sandbox *s,
	    struct policy *pol, unsigned dns_flags, struct ir_err *err);

/*
 * Replaces the sandbox's endpoint rules (a live change; NULL or empty:
 * none; borrowed, the runner holds its own reference). Refused (code 0,
 * the old rules stay) for a sandbox created without endpoints, which does
 * not trust the runner's CA, and for the reasons of a create: a host the
 * policy in force blocks, a secret not set. Open connections follow at
 * once (proxy_sandbox_set).
 */
int	runner_sandbox_set_endpoints(struct runner *r,
	    struct runner_sandbox *s, struct endpoints *eps,
	    struct ir_err *err);

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

/*
 * Daemon restarts. A daemon that stops without destroying its sandboxes
 * detaches; the next one resumes the same runner name and adopts them
 * again, each with the policy it recorded:
 *
 *   runner_detach(r)                        sandboxes keep running, without
 *                                           network (fail closed)
 *   r = runner_resume(&c)                   same name and pools
 *   runner_sandbox_adopt(r, id, slot, ...)  for each sandbox recorded
 *   runner_purge_unadopted(r)               the others are destroyed
 *
 * Sandboxes meant to survive must be created without rs_lifeline.
 */

/*
 * Stops the proxy and the DNS view (so sandboxes lose the network at once),
 * then frees the runner without destroying anything: sandboxes, their
 * namespaces and the gateway stay for runner_resume(). `r` is freed.
 */
void		 runner_detach(struct runner *r);

/*
 * As runner_start(), but takes back the gateway a detached (or dead)
 * runner of this name left (gateway_adopt(): ENOENT if there is none)
 * instead of creating one. No sandbox is attached until
 * runner_sandbox_adopt(). On failure nothing is destroyed.
 */
struct runner	*runner_resume(const struct runner_config *c,
		    struct ir_err *err);

/*
 * Takes back sandbox `id` (sandbox_open() in rc_paths) on gateway slot
 * `slot`, as runner_sandbox_net() reported it when it was created: its
 * init must be alive and its network namespace must be that slot's. `eps`
 * (borrowed, NULL: none) are its endpoints as last set; their secrets are
 * not checked again (a request needing a missing one gets a 502).
 * `trusts_ca`: it was created with endpoints (its bundle holds the
 * runner's CA), even if a live change left it none. The
 * policy is in force (proxy and DNS) before its packets pass the gateway
 * again. On failure nothing is changed: the caller decides whether to
 * destroy it (runner_purge_unadopted()).
 */
struct runner_sandbox *runner_sandbox_adopt(struct runner *r, const char *id,
	    unsigned slot, struct policy *pol, struct endpoints *eps,
	    bool trusts_ca, unsigned dns_flags, struct ir_err *err);

/*
 * Destroys every sandbox in rc_paths' run directory that sits in one of
 * this runner's slot namespaces and was not adopted, then removes the slot
 * namespaces nobody holds (gateway_purge_unused()). Sandboxes of other
 * runners sharing the run directory are left alone. Returns 0, or -1 with
 * the first failure after trying every one.
 */
int	runner_purge_unadopted(struct runner *r, struct ir_err *err);

/*
 * runner_sandbox_destroy() in two steps, for a caller with execs in flight
 * on the sandbox's box: _remove takes the network away, kills every
 * process (those execs then return) and removes the files, but leaves `s`
 * allocated; _free frees it once no thread uses its box any more. Returns
 * as runner_sandbox_destroy().
 */
int	runner_sandbox_remove(struct runner *r, struct runner_sandbox *s,
	    struct ir_err *err);
void	runner_sandbox_free(struct runner_sandbox *s);

/*
 * The secrets store the proxy injects from (NULL: no state dir), for the
 * daemon's /v1/secrets. Borrowed; lives as long as the runner.
 */
struct secrets	*runner_secrets(struct runner *r);

/* The proxy's counters (proxy_stats()), for a daemon's metrics. */
void	runner_proxy_stats(struct runner *r, struct proxy_stats *out);

#endif
