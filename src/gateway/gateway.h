/*
 * gateway.h - the runner's gateway network namespace, one veth per sandbox,
 * and the nftables TPROXY ruleset that sends every sandbox packet to a socket
 * the runner owns (or rejects it).
 *
 * Layout (docs/gateway.md has the address plan and the generated ruleset):
 *
 *   host netns (runner process, upstream sockets)
 *
 *   /run/netns/<name>-gw      lo + one veth "sb<slot>" per sandbox; no uplink,
 *                             forwarding off; nft table "inet isorun";
 *                             ip rule fwmark GW_FWMARK lookup GW_TABLE;
 *                             local 0.0.0.0/0 and ::/0 dev lo in GW_TABLE
 *   /run/netns/<name>-sb<N>   lo + "eth0" (peer of sb<N>), default routes
 *                             via the gateway end
 *
 * Both kinds of namespace are named like `ip netns add` names them (a bind
 * mount under /run/netns), so `ip netns exec` works on them and a crashed
 * runner's leftovers are found by name: gateway_purge().
 *
 * Inside the gateway, TCP from a sandbox goes by TPROXY to gc_tcp_port, UDP
 * and TCP to port 53 to gc_dns_port, other UDP to gc_udp_port; ICMP echo
 * requests are delivered to the gateway itself, whose kernel ignores them,
 * for a raw socket of the runner (the ICMP relay); everything else, and
 * everything that finds no socket listening, is rejected at once (TCP reset
 * or ICMP administratively prohibited). New TCP connections and datagrams
 * for the UDP relay above a per-sandbox rate (gc_conn_rate) are rejected
 * the same way before they reach a socket, and counted per sandbox
 * (gateway_refused()): the proxy turns the counts into audit events. Packets whose source is
 * not the sandbox's own address on its own veth are dropped. So when the
 * runner's sockets close (the runner died), sandboxes lose the network.
 *
 * Threads: a struct gateway is not locked; one thread at a time calls
 * gateway_* on it (but gateway_refused() and the slot functions below,
 * from any thread). The calling thread never changes namespace: work inside a
 * namespace is done by a short-lived thread that enters it and exits, but
 * for nftables, run by one worker thread ("isorun-nft") that lives in the
 * gateway namespace as long as the gateway.
 * Everything here needs CAP_SYS_ADMIN and CAP_NET_ADMIN (root).
 */
#ifndef ISORUN_GATEWAY_H
#define ISORUN_GATEWAY_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../common/err.h"

#define GW_NAME_MAX	32		/* runner name, [A-Za-z0-9_-] */
#define GW_NETNS_DIR	"/run/netns"
#define GW_NETNS_MAX	(GW_NAME_MAX + 16)
#define GW_FWMARK	0x1		/* set on tproxied packets */
#define GW_TABLE	100		/* routing table with the local routes */
#define GW_RULE_PRIO	100		/* ip rule priority of the fwmark rule */
#define GW_SB_IFNAME	"eth0"		/* the veth end inside a sandbox */
#define GW_NFT_TABLE	"isorun"	/* family inet */
#define GW_UDP_RCVBUF	(4 << 20)	/* receive buffer of UDP listeners */

struct gateway_config {
	const char	*gc_name;	/* names the namespaces; default "isorun" */
	const char	*gc_pool4;	/* IPv4 prefix, /30 per sandbox;
					   default "100.64.0.0/16" */
	const char	*gc_pool6;	/* IPv6 prefix of at most /64, a /64 per
					   sandbox; default "2001:db8:4952::/48" */
	unsigned	 gc_max_sandboxes; /* default 1024, capped by the pools */
	uint16_t	 gc_tcp_port;	/* TPROXY port for TCP; default 15001 */
	uint16_t	 gc_udp_port;	/* for UDP but DNS; default 15002 */
	uint16_t	 gc_dns_port;	/* for UDP and TCP port 53; default 15053 */
	unsigned	 gc_conn_rate;	/* per sandbox and second: new TCP
					   connections, and datagrams that
					   would reach the UDP relay's
					   listener, each refused in the
					   kernel above it; 0: no limit;
					   default GW_CONN_RATE */
	unsigned	 gc_conn_burst;	/* let through at once above the rate
					   (nft's burst); default
					   GW_CONN_BURST */
};

#define GW_CONN_RATE	5000
#define GW_CONN_BURST	5000

/* What the rate limits of one slot refused so far (nft counters). */
struct gw_refused {
	uint64_t	 gr_tcp;	/* TCP SYNs (connection attempts) */
	uint64_t	 gr_udp;	/* datagrams */
};
#define GW_REFUSED_NONE	UINT64_MAX	/* the slot has no counter */

/* What the rest of the runner needs to know about one sandbox's network. */
struct gw_sandbox_info {
	unsigned	 si_slot;
	char		 si_netns[GW_NETNS_MAX];	/* name under /run/netns */
	char		 si_ifname[IF_NAMESIZE];	/* gateway end of the veth */
	struct in_addr	 si_addr4;	/* the sandbox's, on eth0 */
	struct in_addr	 si_gw4;	/* the gateway end's; default route */
	struct in6_addr	 si_addr6;
	struct in6_addr	 si_gw6;
	uint8_t		 si_plen4;	/* 30 */
	uint8_t		 si_plen6;	/* 64 */
};

struct gateway;
struct gw_sandbox;

/* Fills `c` with the defaults above. */
void	gateway_config_default(struct gateway_config *c);

/*
 * Creates the gateway namespace /run/netns/<name>-gw with loopback up,
 * forwarding off, the policy routing for TPROXY and the nft ruleset.
 * Fails with EEXIST if the namespace already exists (a runner of the same
 * name is running, or one died: see gateway_purge()). On failure nothing is
 * left behind. The caller frees the result with gateway_destroy().
 */
struct gateway *gateway_create(const struct gateway_config *c,
	    struct ir_err *err);

/*
 * Removes every sandbox still attached (as gateway_sandbox_remove()), then
 * the gateway namespace, and frees `gw`. Sockets from gateway_listen() stay
 * valid and keep the (unnamed, interface-less) namespace alive until closed.
 */
void	gateway_destroy(struct gateway *gw);

/*
 * Removes what a runner of this name left behind: /run/netns/<name>-gw and
 * every /run/netns/<name>-sb<N>. The kernel frees a namespace, and the veths
 * in it, when its last process or socket is gone. Returns 0 if nothing was
 * left or all was removed.
 */
int	gateway_purge(const char *name, struct ir_err *err);

/* "<name>-gw", the gateway namespace's name under /run/netns. */
const char *gateway_netns(const struct gateway *gw);

/*
 * Creates a sandbox namespace and its veth pair, addresses both ends, routes
 * the sandbox by default through the gateway end and adds the sandbox to the
 * ruleset's sets. Slots are given round robin (the next free one after
 * the last given), so a slot just freed is reused last. On failure nothing is
 * left behind. Release with gateway_sandbox_remove().
 */
struct gw_sandbox *gateway_sandbox_add(struct gateway *gw, struct ir_err *err);

/*
 * Undoes gateway_sandbox_add(): removes the set elements (from then on the
 * ruleset drops whatever comes from the sandbox) and the /run/netns name;
 * frees `sb`. The veth pair goes with the namespace when the kernel frees
 * it, which it does once no process or socket is left inside (processes
 * still inside keep it, and the veth, alive but cut off); gateway_sandbox_add()
 * deletes a leftover veth when it reuses the slot. Returns -1 if some step
 * failed; it still does every other step and frees `sb`.
 */
int	gateway_sandbox_remove(struct gateway *gw, struct gw_sandbox *sb,
	    struct ir_err *err);

void	gateway_sandbox_info(const struct gw_sandbox *sb,
	    struct gw_sandbox_info *out);

/*
 * The sandbox that owns source address `sa` (AF_INET, AF_INET6 or a
 * v4-mapped AF_INET6), or NULL. The ruleset drops spoofed sources, so the
 * source of an accepted connection names its sandbox.
 */
struct gw_sandbox *gateway_sandbox_lookup(const struct gateway *gw,
	    const struct sockaddr *sa);

/*
 * The slot whose sandbox address is `sa` (as gateway_sandbox_lookup(), but
 * whether or not a sandbox holds the slot now), or -1. It reads only what
 * gateway_create() fixed, so any thread may call it at any time: the proxy
 * and the DNS view keep their own per-slot tables indexed by it.
 */
int	gateway_slot_of(const struct gateway *gw, const struct sockaddr *sa);

/*
 * The addresses and names of `slot` (as gateway_sandbox_info() gives them
 * for a sandbox in it), whether or not a sandbox holds it: like
 * gateway_slot_of(), any thread may call it. Returns 0, or -1 for a slot
 * out of range.
 */
int	gateway_slot_info(const struct gateway *gw, unsigned slot,
	    struct gw_sandbox_info *out);

/* The number of slots; valid slots are 0 .. gateway_nslots() - 1. */
unsigned gateway_nslots(const struct gateway *gw);

/* The listener ports of the ruleset (gc_tcp_port, ...); NULL to skip. */
void	gateway_ports(const struct gateway *gw, uint16_t *tcp, uint16_t *udp,
	    uint16_t *dns);

/* The rate limit of the ruleset: gc_conn_rate and gc_conn_burst. */
void	gateway_conn_limit(const struct gateway *gw, unsigned *rate,
	    unsigned *burst);

/*
 * Reads the rate limits' counters of every slot into out[gateway_nslots()]:
 * monotonic from gateway_sandbox_add() (or _adopt()) on, GW_REFUSED_NONE
 * for a slot that holds no sandbox (or with no limit). One netlink dump,
 * run by the nft worker; any thread may call it, at any time between
 * gateway_create() and gateway_destroy() (nft commands are serialised).
 * Returns 0 or -1.
 */
int	gateway_refused(struct gateway *gw, struct gw_refused *out,
	    struct ir_err *err);

/*
 * A socket(domain, type, protocol) created inside the gateway namespace, for
 * a caller that stays in its own. `type` may carry SOCK_NONBLOCK and
 * SOCK_CLOEXEC. Returns the fd, or -1.
 */
int	gateway_socket(const struct gateway *gw, int domain, int type,
	    int protocol, struct ir_err *err);

/*
 * A dual-stack (AF_INET6, not V6ONLY) transparent listening socket inside
 * the gateway, bound to [::]:port with SO_REUSEADDR and SO_REUSEPORT (so
 * each event loop may open its own). `type` is SOCK_STREAM (listen()ed) or
 * SOCK_DGRAM (with IP_RECVORIGDSTADDR and IPV6_RECVORIGDSTADDR set, and a
 * receive buffer of GW_UDP_RCVBUF), and may carry SOCK_NONBLOCK and
 * SOCK_CLOEXEC. Returns the fd, or -1.
 */
int	gateway_listen(const struct gateway *gw, int type, uint16_t port,
	    struct ir_err *err);

/*
 * The destination the sandbox connected to, for a socket accepted from a
 * gateway_listen() socket: with TPROXY that is the local address. A
 * v4-mapped address is returned as AF_INET. Returns 0 or -1.
 */
int	gateway_origdst(int fd, struct sockaddr_storage *out,
	    struct ir_err *err);

/*
 * One datagram from a SOCK_DGRAM gateway_listen() socket (recvmsg() with
 * `flags`): its bytes into buf, its source into *src (as the kernel gives
 * it: v4-mapped on the dual-stack socket), its original destination into
 * *odst from the IP_ORIGDSTADDR / IPV6_ORIGDSTADDR control message
 * (v4-mapped returned as AF_INET; AF_UNSPEC when absent). *trunc, if not
 * NULL, says whether the datagram was longer than `len`. Returns its
 * length, or -1 with errno (EAGAIN: nothing to read).
 */
ssize_t	gateway_recv(int fd, void *buf, size_t len, int flags,
	    struct sockaddr_storage *src, struct sockaddr_storage *odst,
	    int *trunc);

/*
 * The ruleset gateway_create() loads, as nft text, for logs and docs.
 * Returns the length it needs (as snprintf does).
 */
int	gateway_ruleset(const struct gateway_config *c, char *buf, size_t len);

/*
 * Daemon restarts. A runner that should come back (isorund) lets go of its
 * gateway instead of destroying it, and its successor takes it back:
 *
 *   gateway_release(gw)                  the process forgets; the kernel
 *                                        objects stay
 *   gw = gateway_adopt(&c)               same name and pools as before
 *   gateway_sandbox_adopt(gw, slot)...   each sandbox that is still wanted
 *   gateway_purge_unused(gw)             the rest
 *
 * Between the two, the sandboxes' packets find no listener and are refused
 * (see "What happens when the runner dies" in docs/gateway.md): fail closed.
 */

/*
 * Frees `gw` and closes its descriptors, leaving every kernel object in
 * place: the gateway namespace with its routing and ruleset, and every
 * sandbox's namespace, veth and set elements.
 */
void	gateway_release(struct gateway *gw);

/*
 * Takes back the gateway namespace a released (or dead) runner of this
 * name left: ENOENT if there is none. The ruleset is loaded again in one
 * transaction (so the ports of `c` apply), with empty sandbox sets: no
 * sandbox packet passes until gateway_sandbox_adopt() puts its elements
 * back. The routing and sysctls are kept as gateway_create() made them.
 * The pools must be the ones the gateway was created with (the caller
 * keeps a record): addresses are derived from them. On failure nothing is
 * changed. Free the result with gateway_destroy() or gateway_release().
 */
struct gateway *gateway_adopt(const struct gateway_config *c,
	    struct ir_err *err);

/*
 * Takes back the sandbox in `slot` of an adopted gateway: its namespace
 * /run/netns/<name>-sb<slot> and its veth must still exist (ENOENT
 * otherwise; EBUSY if the slot is taken). Puts its set elements back, so
 * its packets reach the runner's listeners again. On failure nothing is
 * changed. Release with gateway_sandbox_remove() as any other.
 */
struct gw_sandbox *gateway_sandbox_adopt(struct gateway *gw, unsigned slot,
	    struct ir_err *err);

/*
 * Removes every /run/netns/<name>-sb<N> of this gateway's name whose slot
 * holds no sandbox, and the gateway end of its veth: what a previous runner
 * left and nobody adopted. Kill the processes inside first (the namespace
 * and veth would otherwise live on, without a name). Returns 0, or -1 with
 * the first failure after trying every one.
 */
int	gateway_purge_unused(struct gateway *gw, struct ir_err *err);

#endif
