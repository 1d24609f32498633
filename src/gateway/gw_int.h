/*
 * gw_int.h - inside the gateway module: namespaces, rtnetlink, nftables.
 * Not a contract: only the .c files of src/gateway include it.
 */
#ifndef ISORUN_GW_INT_H
#define ISORUN_GW_INT_H

#include <netinet/in.h>
#include <stdint.h>

#include "../common/err.h"
#include "gateway.h"

struct mnl_socket;
struct gw_nft;

/* rtnl.c: rtnetlink through libmnl, on a socket bound to one namespace. */
struct rtnl {
	struct mnl_socket	*rt_nl;
	unsigned		 rt_portid;
	unsigned		 rt_seq;
	const char		*rt_ns;		/* namespace name, for messages */
};

struct gw_sandbox {
	struct gw_sandbox_info	 sb_info;
};

struct gateway {
	char			 gw_name[GW_NAME_MAX + 1];
	char			 gw_netns[GW_NETNS_MAX];	/* "<name>-gw" */
	int			 gw_nsfd;
	struct rtnl		 gw_rtnl;	/* bound to the gateway */
	struct gw_nft		*gw_nft;	/* its nft worker */
	struct gw_counters	*gw_counters;	/* reads the rate limits' */
	uint16_t		 gw_tcp_port, gw_udp_port, gw_dns_port;
	unsigned		 gw_conn_rate, gw_conn_burst;
	uint32_t		 gw_pool4;	/* host order */
	uint8_t			 gw_plen4;
	struct in6_addr		 gw_pool6;
	uint8_t			 gw_plen6;
	unsigned		 gw_nslots;
	struct gw_sandbox	**gw_slots;	/* [gw_nslots], NULL = free */
	unsigned		 gw_next;	/* where the search for a free
						   slot starts */
};

/* netns.c */

/*
 * Runs fn(arg) on a new thread that has entered network namespace `nsfd`,
 * and returns what fn returned. The thread exits afterwards, so no thread of
 * the caller ever stays in another namespace. If entering fails, fn is not
 * run: -1 with `err` set.
 */
int	netns_run(int nsfd, int (*fn)(void *), void *arg, struct ir_err *err);

/*
 * Creates a named namespace /run/netns/<name> (as `ip netns add` does) and
 * runs init(arg) inside it, on a thread, before anyone else can use it. On
 * failure, including init's, nothing is left. Returns 0 or -1.
 */
int	netns_add(const char *name, int (*init)(void *), void *arg,
	    struct ir_err *err);

/* Opens /run/netns/<name> (O_CLOEXEC); -1 with `err` set on failure. */
int	netns_open(const char *name, struct ir_err *err);

/* Unmounts and unlinks /run/netns/<name>; a missing one is not an error. */
int	netns_del(const char *name, struct ir_err *err);

/*
 * Writes `val` to /proc/sys/<key> (key with '/' separators) for the calling
 * thread's network namespace: only call it from a netns_run()/netns_add()
 * function. Reads it back and fails if it did not stick.
 */
int	sysctl_set(const char *key, const char *val, struct ir_err *err);

/* rtnl.c */

/* Opens an rtnetlink socket inside namespace `nsfd`; close with rtnl_close(). */
int	rtnl_open(struct rtnl *r, int nsfd, const char *nsname,
	    struct ir_err *err);
void	rtnl_close(struct rtnl *r);

/* ifindex of `name`, or -1 (ENODEV if there is none). */
int	rtnl_link_index(struct rtnl *r, const char *name, struct ir_err *err);
int	rtnl_link_up(struct rtnl *r, int ifindex, const char *name,
	    struct ir_err *err);
int	rtnl_link_del(struct rtnl *r, const char *name, struct ir_err *err);

/* veth `name` in r's namespace, its peer `peer` in namespace `peer_nsfd`. */
int	rtnl_veth_add(struct rtnl *r, const char *name, const char *peer,
	    int peer_nsfd, struct ir_err *err);

/* addr: 4 or 16 bytes by family; IPv6 addresses skip DAD. */
int	rtnl_addr_add(struct rtnl *r, int ifindex, int family,
	    const void *addr, int plen, struct ir_err *err);

/* Default route via `gw` (family's size) out of `ifindex`, main table. */
int	rtnl_route_default(struct rtnl *r, int family, const void *gw,
	    int ifindex, struct ir_err *err);

/* `ip route add local 0.0.0.0/0 (or ::/0) dev <ifindex> table <table>` */
int	rtnl_route_local_default(struct rtnl *r, int family, int ifindex,
	    uint32_t table, struct ir_err *err);

/* `ip rule add fwmark <mark> lookup <table> priority <prio>` and its undo. */
int	rtnl_rule(struct rtnl *r, int add, int family, uint32_t mark,
	    uint32_t table, uint32_t prio, struct ir_err *err);

/* nft.c: libnftables, always run inside the gateway namespace. */

/*
 * Starts the worker that runs nft commands inside namespace `nsfd` (which
 * must stay open until nft_close()); `nsname` names it in messages and must
 * outlive the worker.
 */
struct gw_nft *nft_open(int nsfd, const char *nsname, struct ir_err *err);

/*
 * Runs nft commands `cmds` (one transaction) on the worker; 0 or -1. Any
 * thread: callers take turns.
 */
int	nft_exec(struct gw_nft *nf, const char *cmds, struct ir_err *err);

void	nft_close(struct gw_nft *nf);

/*
 * The counter objects of a table, read by a netlink dump on a socket of
 * its own in namespace `nsfd` (not through the worker). Any thread; reads
 * take turns. fn(arg, name, packets) for each counter.
 */
struct gw_counters;
typedef void nft_counter_fn(void *arg, const char *name, uint64_t packets);
struct gw_counters *nft_counters_open(int nsfd, const char *nsname,
	    struct ir_err *err);
int	nft_counters_read(struct gw_counters *gc, const char *table,
	    nft_counter_fn *fn, void *arg, struct ir_err *err);
void	nft_counters_close(struct gw_counters *gc);

#endif
