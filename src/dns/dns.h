/*
 * dns.h - the DNS view: every DNS query a sandbox sends, to any address,
 * on UDP or TCP port 53, is answered here (SPEC 2 "DNS view").
 *
 * The gateway's ruleset TPROXYs port 53 from every sandbox to listeners
 * this module opens in the gateway (gateway_listen). Per query:
 *   - the sandbox is the source address's slot (gateway_slot_of);
 *     strangers are dropped, a slot without a sandbox gets REFUSED;
 *   - malformed -> FORMERR (if the header is readable; else dropped);
 *     other opcodes, meta types -> NOTIMP; classes but IN -> REFUSED;
 *   - a name matching a deny rule -> NXDOMAIN; with an allow list or a
 *     catch-all deny, a name no allow hostname/wildcard rule matches (on
 *     some port) -> NXDOMAIN; with DNSVIEW_REFUSE both get REFUSED. No
 *     packet leaves for these;
 *   - otherwise a fresh query built from the parsed question goes to the
 *     upstream resolvers (UDP, TCP on truncation, retries) from the
 *     runner's own network namespace; no answer within dc_deadline_ms ->
 *     SERVFAIL;
 *   - the answer loses A/AAAA records the policy or the guard blocks
 *     (evaluated with every name of the CNAME chain, as the proxy will
 *     evaluate the connection) and everything outside the chain; what is
 *     left goes into the sandbox's own name cache BEFORE the reply leaves,
 *     so a client's SYN never races its own lookup.
 * Every decision is an audit event (audit.h, event "dns"), but queries
 * over a sandbox's rate limit (dc_sb_qps, dc_sb_burst): those get REFUSED
 * at once and one counted event a second (rule "rate-limit").
 *
 * The name cache: per sandbox, never shared. Address -> names (the name
 * asked and each CNAME on the way), kept for max(TTL, dc_ttl_floor_s)
 * capped at dc_ttl_max_s, and past that while a connection holds the
 * address; at most dc_cache_max (address, name) pairs per sandbox, the
 * least recently written unheld pair evicted first. A policy change drops
 * the pairs the new policy blocks.
 *
 * The answer cache: per sandbox too. A question asked again within its
 * answer's TTL (at most dc_answers_ttl_max_s) is answered from the kept
 * upstream message, through the same filter with the policy of the moment,
 * without going upstream; dc_answers_max bytes, LRU. docs/dns.md has the
 * details.
 *
 * Threads: the view runs one thread of its own (epoll + c-ares); that
 * thread never changes namespace. Every function below may be called from
 * any thread. dnsview_names/maps/addrs/hold/release take one per-sandbox
 * mutex for a hash lookup: cheap enough for every accepted connection.
 */
#ifndef ISORUN_DNS_H
#define ISORUN_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../common/err.h"
#include "../gateway/gateway.h"
#include "../policy/policy.h"

#define DNSVIEW_ID_MAX	64	/* sandbox ids longer than this are cut */

/* dnsview_sandbox_set() flags */
#define DNSVIEW_REFUSE	0x1	/* blocked names get REFUSED, not NXDOMAIN
				   (the locked-down profile) */

struct dnsview_config {
	const char	*dc_servers;	/* upstreams, "192.0.2.53,[2001:db8::53]:5353"
					   (c-ares csv); NULL: the nameservers
					   of the runner's /etc/resolv.conf */
	uint16_t	 dc_port;	/* the gateway's gc_dns_port; 15053 */
	unsigned	 dc_timeout_ms;	/* first try per server; 400 (c-ares
					   doubles it on each round) */
	unsigned	 dc_tries;	/* rounds over the servers; 2 */
	unsigned	 dc_deadline_ms; /* SERVFAIL to the guest after this,
					   whatever the upstream does; 1500 */
	unsigned	 dc_ttl_floor_s; /* cache entries live at least; 60 */
	unsigned	 dc_ttl_max_s;	/* and at most (unless held); 86400 */
	unsigned	 dc_cache_max;	/* (address, name) pairs per sandbox;
					   4096 */
	size_t		 dc_answers_max; /* bytes of kept upstream answers per
					   sandbox; 128 KiB; 0: none kept */
	unsigned	 dc_answers_ttl_max_s; /* kept at most; 3600 */
	unsigned	 dc_sb_qps;	/* queries per second and sandbox;
					   2000; 0: no limit (over it:
					   REFUSED, counted in the audit) */
	unsigned	 dc_sb_burst;	/* how many at once above it; 4000 */
	unsigned	 dc_max_pending; /* upstream queries in flight; 4096 */
	unsigned	 dc_sb_pending;	/* of them, per sandbox; 256 */
	unsigned	 dc_tcp_max;	/* guest TCP connections; 256 */
	unsigned	 dc_tcp_idle_ms; /* close an idle one after; 10000 */
};

struct dnsview_stats {
	uint64_t	 ds_queries;	/* parsed well enough to answer */
	uint64_t	 ds_forwarded;	/* sent upstream */
	uint64_t	 ds_cached;	/* answered from a kept answer */
	uint64_t	 ds_limited;	/* REFUSED over the rate limit */
	uint64_t	 ds_blocked;	/* NXDOMAIN/REFUSED by policy */
	uint64_t	 ds_errors;	/* FORMERR, NOTIMP, REFUSED (no
					   sandbox or class), BADVERS */
	uint64_t	 ds_servfail;	/* upstream failed or too slow */
	uint64_t	 ds_stripped;	/* addresses taken out of answers */
	uint64_t	 ds_dropped;	/* unreadable, strangers, overload */
	uint64_t	 ds_tcp;	/* TCP connections accepted */
	uint64_t	 ds_cache_full;	/* pairs not cached: all held */
};

struct dnsview;

void	dnsview_config_default(struct dnsview_config *c);

/*
 * Opens the UDP and TCP listeners on c->dc_port in `gw`, a reply socket
 * on port 53 there (replies leave from the address the guest asked, port
 * 53), the c-ares channel, and starts the thread. `guard` is borrowed and
 * must outlive the view. No sandbox is attached yet. Returns NULL (err
 * set) on failure, leaving nothing behind.
 */
struct dnsview *dnsview_start(struct gateway *gw,
	    const struct dnsview_config *c, const struct pol_guard *guard,
	    struct ir_err *err);

/* Stops the thread, answers nothing more, closes every socket, frees
 * every sandbox's cache and policy reference, and `dv`. */
void	dnsview_stop(struct dnsview *dv);

/*
 * Attaches the sandbox in `slot` (id for the audit trail, policy, flags)
 * or, if one is attached, replaces its id, policy and flags (a live
 * change: the next query and answer use the new policy, and cache pairs
 * it blocks are dropped at once). Takes its own reference to `p`.
 */
int	dnsview_sandbox_set(struct dnsview *dv, unsigned slot, const char *id,
	    struct policy *p, unsigned flags, struct ir_err *err);

/* Detaches the sandbox and frees its cache; answers still in flight for
 * it are dropped. */
void	dnsview_sandbox_clear(struct dnsview *dv, unsigned slot);

/*
 * The names this sandbox's own lookups returned for `addr` (AF_INET,
 * AF_INET6 or v4-mapped; port ignored), the name asked and every CNAME in
 * between, most recently resolved first: at most `max`, their bytes
 * (NUL-terminated) in buf. Returns the count (0 for an unknown slot).
 */
size_t	dnsview_names(struct dnsview *dv, unsigned slot,
	    const struct sockaddr *addr, struct pol_name *names, size_t max,
	    char *buf, size_t buflen);

/* 1 if the runner resolved `name` (any case, trailing dot ignored) to
 * `addr` for this sandbox and the pair is still kept, else 0. */
int	dnsview_maps(struct dnsview *dv, unsigned slot, const char *name,
	    size_t len, const struct sockaddr *addr);

/* The addresses the runner resolved `name` to for this sandbox (port 0),
 * at most `max`; for a proxy that must pick an upstream address itself.
 * Returns the count. */
size_t	dnsview_addrs(struct dnsview *dv, unsigned slot, const char *name,
	    size_t len, struct sockaddr_storage *out, size_t max);

/* A connection starts / stops using `addr`: while held, its pairs stay
 * past their TTL and are never evicted. Holds nest; release what you
 * hold. */
void	dnsview_hold(struct dnsview *dv, unsigned slot,
	    const struct sockaddr *addr);
void	dnsview_release(struct dnsview *dv, unsigned slot,
	    const struct sockaddr *addr);

void	dnsview_stats(struct dnsview *dv, struct dnsview_stats *out);

#endif
