/*
 * proxy.h - the transparent proxy: every TCP connection and UDP flow a
 * sandbox opens arrives here (by TPROXY, see gateway.h) and is decided by
 * the sandbox's policy before a single byte leaves the host.
 *
 * One event loop per thread (SO_REUSEPORT listeners in the gateway), all
 * non-blocking. Per TCP connection: the sandbox comes from the source
 * address (gateway_slot_of), the destination from the local address. If no
 * name could change the verdict, it is decided at accept (blocked: RST).
 * Otherwise the proxy peeks: a TLS ClientHello's SNI, else an HTTP/1.x Host,
 * else the names this sandbox's own DNS lookups gave the destination (the
 * hooks below). A permit that rests on a name from SNI or Host connects
 * only to an address the runner resolved for that name for this sandbox:
 * the destination if it is one (ph_maps), else one of them (ph_addrs, same
 * family first), else it is blocked. Upstream connections are made from the
 * runner's own network namespace. Blocked after a peek: a TLS access_denied alert, an
 * HTTP 403 naming host and rule, or a RST. Permitted: bytes move with
 * splice(2); half-close and resets are passed on.
 *
 * UDP (not DNS, which the DNS view owns) is decided per flow by address
 * rules only (SPEC 2, "Other traffic") and relayed datagram by datagram.
 *
 * Every decision, and the end of every permitted connection, is an audit
 * event (audit.h). docs/proxy.md has the states, timeouts and limits.
 */
#ifndef ISORUN_PROXY_H
#define ISORUN_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../common/err.h"
#include "../endpoint/endpoint.h"
#include "../gateway/gateway.h"
#include "../policy/policy.h"
#include "../secrets/secrets.h"
#include "../tlsca/tlsca.h"

#define PROXY_NAMES_MAX	8	/* DNS names considered per destination */
#define PROXY_FD_RESERVE 1024	/* descriptors left to the rest of the
				   process (the API, DNS, sandboxes) */

struct proxy_config {
	unsigned pc_threads;		/* event loops; 0: one per CPU */
	unsigned pc_first_byte_ms;	/* peek: wait this long for the first
					   byte, then decide by DNS names
					   (server-first protocols); 1000 */
	unsigned pc_peek_ms;		/* peek: a complete hello or head
					   within this; 10000 */
	unsigned pc_connect_ms;		/* upstream connect; 10000 */
	unsigned pc_idle_ms;		/* no byte either way; 3600000 */
	unsigned pc_max_conns;		/* per sandbox, TCP; 4096 */
	unsigned pc_max_total;		/* all sandboxes, TCP; 0: what the
					   descriptor limit leaves after
					   PROXY_FD_RESERVE, two per
					   connection (at proxy_start) */
	unsigned pc_udp_idle_ms;	/* a UDP flow's lifetime without
					   traffic; 60000 */
	unsigned pc_max_flows;		/* per sandbox, UDP; 512 */
};

/*
 * What the DNS view tells the proxy (all may be NULL: no DNS names, and no
 * name from SNI or Host is ever trusted for a permit). Called from the
 * proxy's threads, concurrently; they must not block.
 */
struct proxy_hooks {
	void	*ph_arg;
	/*
	 * The names this sandbox's lookups returned for `dst` (port ignored):
	 * fills at most `max` names whose bytes live in `buf` (`buflen`).
	 * Returns the number filled.
	 */
	size_t	(*ph_names)(void *arg, unsigned slot,
		    const struct sockaddr *dst, struct pol_name *names,
		    size_t max, char *buf, size_t buflen);
	/* 1 if the runner resolved `name` to `dst` for this sandbox. */
	int	(*ph_maps)(void *arg, unsigned slot, const char *name,
		    size_t len, const struct sockaddr *dst);
	/*
	 * The addresses the runner resolved `name` to for this sandbox (at
	 * most `max`, port 0); the proxy connects a connection permitted by
	 * that name to one of them when the guest chose another. Returns
	 * the count.
	 */
	size_t	(*ph_addrs)(void *arg, unsigned slot, const char *name,
		    size_t len, struct sockaddr_storage *out, size_t max);
	/* A connection starts / stops using `dst` (keeps cache entries). */
	void	(*ph_hold)(void *arg, unsigned slot, const struct sockaddr *dst);
	void	(*ph_release)(void *arg, unsigned slot,
		    const struct sockaddr *dst);
};

struct proxy_stats {
	uint64_t ps_accepted;		/* TCP connections accepted */
	uint64_t ps_permitted;
	uint64_t ps_blocked;
	uint64_t ps_active;		/* open now */
	uint64_t ps_udp_flows;		/* UDP flows permitted */
	uint64_t ps_udp_blocked;	/* UDP flows blocked */
};

struct proxy;

void	proxy_config_default(struct proxy_config *c);

/*
 * Opens the TCP and UDP listeners in `gw` (gc_tcp_port, gc_udp_port) and
 * starts the event loops. `guard` (borrowed; must outlive the proxy) is
 * evaluated for every sandbox; it should hold the host's own addresses and
 * the gateway's pools (see runner_guard()). `hooks` is copied. No sandbox
 * has a policy yet: connections from a slot without one are reset.
 */
struct proxy *proxy_start(struct gateway *gw, const struct proxy_config *c,
	    const struct proxy_hooks *hooks, const struct pol_guard *guard,
	    struct ir_err *err);

/*
 * Stops the loops, closes every connection and listener, frees `p`.
 * After it returns, the gateway's TPROXY rules find no socket: sandboxes
 * have no way out.
 */
void	proxy_stop(struct proxy *p);

/*
 * Enables the interception of hosts with endpoint rules (docs/endpoints.md):
 * `ca` mints the guest-side certificates, `sec` holds the credentials'
 * secrets (both borrowed; they must outlive the proxy). Upstream servers
 * are verified against the host's default trust store plus the PEM
 * certificates in `upstream_ca_file` (NULL: none). Call once, before a
 * sandbox with endpoints is set. Without it, proxy_sandbox_set() refuses
 * endpoints.
 */
int	proxy_intercept_setup(struct proxy *p, struct tlsca *ca,
	    struct secrets *sec, const char *upstream_ca_file,
	    struct ir_err *err);

/*
 * Sets (or replaces: a live change) the policy of the sandbox in `slot`,
 * whose id appears in audit events, and its endpoint rules (NULL: none).
 * The proxy takes its own references (policy_hold, endpoints_hold). On a
 * replacement, connections open under the old policy that the new one
 * blocks are closed (with an audit event); the others go on. New endpoint
 * rules apply to open connections too: an intercepted one judges its next
 * request by its host's new entry, or is closed if the host has none now;
 * a relayed one to a host that now has endpoint rules is closed (rule
 * "endpoint"), since its requests would pass unchecked.
 *
 * A connection whose name has endpoint rules is intercepted when it is TLS
 * with that name as SNI to the entry's port; any other connection to such
 * a name (plain HTTP, another port, no SNI) is blocked, rule "endpoint".
 */
int	proxy_sandbox_set(struct proxy *p, unsigned slot, const char *id,
	    struct policy *pol, struct endpoints *eps, struct ir_err *err);

/* Forgets the sandbox in `slot` and closes all its connections and flows. */
void	proxy_sandbox_clear(struct proxy *p, unsigned slot);

void	proxy_stats(const struct proxy *p, struct proxy_stats *out);

#endif
