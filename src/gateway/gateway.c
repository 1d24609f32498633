/*
 * gateway.c - the gateway namespace and the sandboxes attached to it.
 *
 * Address plan: sandbox slot N gets the Nth /30 of the IPv4 pool (gateway
 * end .1, sandbox .2) and the Nth /64 of the IPv6 pool (gateway ::1,
 * sandbox ::2). So an address maps back to its sandbox by arithmetic.
 */
#include "gw_int.h"
#include "gateway.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#define GW_DEF_NAME	"isorun"
#define GW_DEF_POOL4	"100.64.0.0/16"
#define GW_DEF_POOL6	"2001:db8:4952::/48"
#define GW_DEF_MAX	1024
#define GW_SLOTS_MAX	65536		/* "sb65535" fits IF_NAMESIZE */

void
gateway_config_default(struct gateway_config *c)
{
	memset(c, 0, sizeof(*c));
	c->gc_name = GW_DEF_NAME;
	c->gc_pool4 = GW_DEF_POOL4;
	c->gc_pool6 = GW_DEF_POOL6;
	c->gc_max_sandboxes = GW_DEF_MAX;
	c->gc_tcp_port = 15001;
	c->gc_udp_port = 15002;
	c->gc_dns_port = 15053;
	c->gc_conn_rate = GW_CONN_RATE;
	c->gc_conn_burst = GW_CONN_BURST;
}

static int
name_ok(const char *name, struct ir_err *err)
{
	size_t	 i, n;
	char	 q[GW_NAME_MAX * 4 + 8];

	if (name == NULL)
		return err_set(err, EINVAL, "gateway name not set");
	n = strlen(name);
	for (i = 0; i < n; i++)
		if (!(name[i] >= 'a' && name[i] <= 'z') &&
		    !(name[i] >= 'A' && name[i] <= 'Z') &&
		    !(name[i] >= '0' && name[i] <= '9') &&
		    name[i] != '-' && name[i] != '_')
			break;
	if (n > 0 && n <= GW_NAME_MAX && i == n)
		return 0;
	str_quote(name, n, GW_NAME_MAX, q, sizeof(q));
	return err_set(err, EINVAL, "gateway name %s: want 1 to %d of "
	    "[A-Za-z0-9_-]", q, GW_NAME_MAX);
}

/* "addr/len" with no host bits set, len <= maxlen. */
static int
pool_parse(const char *text, int family, int maxlen, void *addr,
    uint8_t *plen, struct ir_err *err)
{
	char		 buf[64], *slash, *end;
	unsigned char	*a = addr;
	long		 len;
	int		 bits = family == AF_INET ? 32 : 128, i;

	if (text == NULL || strlen(text) >= sizeof(buf) ||
	    (slash = strchr(strcpy(buf, text), '/')) == NULL)
		goto bad;
	*slash++ = '\0';
	errno = 0;
	len = strtol(slash, &end, 10);
	if (*slash == '\0' || *end != '\0' || errno != 0 || len < 1 ||
	    len > maxlen || inet_pton(family, buf, addr) != 1)
		goto bad;
	for (i = (int)len; i < bits; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			goto bad;
	*plen = (uint8_t)len;
	return 0;
bad:
	return err_set(err, EINVAL, "address pool '%s': want an %s prefix of "
	    "at most /%d with no host bits set", text ? text : "(null)",
	    family == AF_INET ? "IPv4" : "IPv6", maxlen);
}

static void
slot_addrs(const struct gateway *gw, unsigned slot, struct gw_sandbox_info *si)
{
	uint32_t	 base = gw->gw_pool4 + 4 * slot;
	uint64_t	 hi = 0;
	int		 i;

	si->si_slot = slot;
	si->si_gw4.s_addr = htonl(base + 1);
	si->si_addr4.s_addr = htonl(base + 2);
	si->si_plen4 = 30;
	for (i = 0; i < 8; i++)
		hi = hi << 8 | gw->gw_pool6.s6_addr[i];
	hi |= slot;	/* slot < 2^(64 - plen6): only subnet bits */
	memset(&si->si_gw6, 0, sizeof(si->si_gw6));
	for (i = 0; i < 8; i++)
		si->si_gw6.s6_addr[i] = (uint8_t)(hi >> (56 - 8 * i));
	si->si_addr6 = si->si_gw6;
	si->si_gw6.s6_addr[15] = 1;
	si->si_addr6.s6_addr[15] = 2;
	si->si_plen6 = 64;
	snprintf(si->si_netns, sizeof(si->si_netns), "%s-sb%u", gw->gw_name,
	    slot);
	snprintf(si->si_ifname, sizeof(si->si_ifname), "sb%u", slot);
}

/* Writes each {key, value} of `set`; stops at the first failure. */
static int
sysctl_set_all(const char *const (*set)[2], size_t n, struct ir_err *err)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (sysctl_set(set[i][0], set[i][1], err) == -1)
			return -1;
	return 0;
}

static int
gateway_init_ns(void *arg)
{
	static const char *const set[][2] = {
		{ "net/ipv4/ip_forward", "0" },
		{ "net/ipv4/conf/all/forwarding", "0" },
		{ "net/ipv4/conf/default/forwarding", "0" },
		{ "net/ipv6/conf/all/forwarding", "0" },
		{ "net/ipv6/conf/default/forwarding", "0" },
		{ "net/ipv6/conf/all/accept_ra", "0" },
		{ "net/ipv6/conf/default/accept_ra", "0" },
		/* A veth only ever sees its own sandbox's sources. */
		{ "net/ipv4/conf/all/rp_filter", "1" },
		{ "net/ipv4/conf/default/rp_filter", "1" },
		/* Echo requests come here for the runner's ICMP relay: the
		 * gateway must not answer them in the destination's name. */
		{ "net/ipv4/icmp_echo_ignore_all", "1" },
		{ "net/ipv6/icmp/echo_ignore_all", "1" },
	};

	return sysctl_set_all(set, sizeof(set) / sizeof(set[0]), arg);
}

static int
sandbox_init_ns(void *arg)
{
	/* IPv4 conf of a new namespace is copied from the host's. */
	static const char *const set[][2] = {
		{ "net/ipv4/ip_forward", "0" },
		{ "net/ipv6/conf/all/forwarding", "0" },
		{ "net/ipv6/conf/default/forwarding", "0" },
		{ "net/ipv6/conf/all/accept_ra", "0" },
		{ "net/ipv6/conf/default/accept_ra", "0" },
		/* ping(8) without CAP_NET_RAW (the guest has none over this
		 * namespace): ICMP echo sockets, which send nothing but echo
		 * requests, for every group. */
		{ "net/ipv4/ping_group_range", "0\t2147483647" },
	};

	return sysctl_set_all(set, sizeof(set) / sizeof(set[0]), arg);
}

/* ip rule fwmark -> GW_TABLE, and local default routes in it, both families. */
static int
gateway_tproxy_routing(struct gateway *gw, struct ir_err *err)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	int		 lo, i;

	if ((lo = rtnl_link_index(&gw->gw_rtnl, "lo", err)) == -1 ||
	    rtnl_link_up(&gw->gw_rtnl, lo, "lo", err) == -1)
		return -1;
	for (i = 0; i < 2; i++) {
		if (rtnl_rule(&gw->gw_rtnl, 1, fams[i], GW_FWMARK, GW_TABLE,
		    GW_RULE_PRIO, err) == -1 ||
		    rtnl_route_local_default(&gw->gw_rtnl, fams[i], lo,
		    GW_TABLE, err) == -1)
			return -1;
	}
	return 0;
}

/* Checks `c` and fills a new gateway's fields; no kernel object yet. */
static struct gateway *
gw_new(const struct gateway_config *c, struct ir_err *err)
{
	struct gateway	*gw;
	uint64_t	 n4, n6;

	if (name_ok(c->gc_name, err) == -1)
		return NULL;
	/* TCP to port 53 and other TCP must reach different sockets. */
	if (c->gc_tcp_port == 0 || c->gc_udp_port == 0 || c->gc_dns_port == 0 ||
	    c->gc_tcp_port == c->gc_dns_port || c->gc_udp_port == c->gc_dns_port) {
		err_set(err, EINVAL, "gateway %s: ports tcp %u, udp %u, dns %u: "
		    "want non-zero, dns apart from tcp and udp", c->gc_name,
		    c->gc_tcp_port, c->gc_udp_port, c->gc_dns_port);
		return NULL;
	}
	if ((gw = calloc(1, sizeof(*gw))) == NULL) {
		err_set(err, errno, "gateway: %s", strerror(errno));
		return NULL;
	}
	gw->gw_nsfd = -1;
	snprintf(gw->gw_name, sizeof(gw->gw_name), "%s", c->gc_name);
	snprintf(gw->gw_netns, sizeof(gw->gw_netns), "%s-gw", c->gc_name);
	gw->gw_tcp_port = c->gc_tcp_port;
	gw->gw_udp_port = c->gc_udp_port;
	gw->gw_dns_port = c->gc_dns_port;
	gw->gw_conn_rate = c->gc_conn_rate;
	gw->gw_conn_burst = c->gc_conn_burst;
	if (pool_parse(c->gc_pool4, AF_INET, 30, &gw->gw_pool4, &gw->gw_plen4,
	    err) == -1 ||
	    pool_parse(c->gc_pool6, AF_INET6, 64, &gw->gw_pool6, &gw->gw_plen6,
	    err) == -1)
		goto fail;
	gw->gw_pool4 = ntohl(gw->gw_pool4);
	n4 = (uint64_t)1 << (30 - gw->gw_plen4);
	n6 = 64 - gw->gw_plen6 >= 17 ? GW_SLOTS_MAX :
	    (uint64_t)1 << (64 - gw->gw_plen6);
	gw->gw_nslots = c->gc_max_sandboxes;
	if (gw->gw_nslots > n4)
		gw->gw_nslots = (unsigned)n4;
	if (gw->gw_nslots > n6)
		gw->gw_nslots = (unsigned)n6;
	if (gw->gw_nslots > GW_SLOTS_MAX)
		gw->gw_nslots = GW_SLOTS_MAX;
	if (gw->gw_nslots == 0) {
		err_set(err, EINVAL, "gateway %s: max sandboxes is 0", c->gc_name);
		goto fail;
	}
	if ((gw->gw_slots = calloc(gw->gw_nslots, sizeof(*gw->gw_slots))) ==
	    NULL) {
		err_set(err, errno, "gateway: %s", strerror(errno));
		goto fail;
	}
	return gw;
fail:
	free(gw);
	return NULL;
}

struct gateway *
gateway_create(const struct gateway_config *c, struct ir_err *err)
{
	struct gateway	*gw;
	char		*rules = NULL;
	int		 made = 0, len;

	if ((gw = gw_new(c, err)) == NULL)
		return NULL;
	if (netns_add(gw->gw_netns, gateway_init_ns, err, err) == -1) {
		if (err != NULL && err->code == EEXIST)
			err_prefix(err, "gateway %s is running, or a dead runner "
			    "left it (purge it)", gw->gw_name);
		goto fail;
	}
	made = 1;
	if ((gw->gw_nsfd = netns_open(gw->gw_netns, err)) == -1 ||
	    rtnl_open(&gw->gw_rtnl, gw->gw_nsfd, gw->gw_netns, err) == -1 ||
	    (gw->gw_nft = nft_open(gw->gw_nsfd, gw->gw_netns, err)) == NULL ||
	    (gw->gw_counters = nft_counters_open(gw->gw_nsfd, gw->gw_netns,
	    err)) == NULL ||
	    gateway_tproxy_routing(gw, err) == -1)
		goto fail;

	len = gateway_ruleset(c, NULL, 0);
	if ((rules = malloc((size_t)len + 1)) == NULL) {
		err_set(err, errno, "gateway: %s", strerror(errno));
		goto fail;
	}
	gateway_ruleset(c, rules, (size_t)len + 1);
	if (nft_exec(gw->gw_nft, rules, err) == -1) {
		err_prefix(err, "load table inet " GW_NFT_TABLE);
		goto fail;
	}
	free(rules);
	return gw;
fail:
	free(rules);
	nft_counters_close(gw->gw_counters);
	nft_close(gw->gw_nft);
	rtnl_close(&gw->gw_rtnl);
	if (gw->gw_nsfd != -1)
		close(gw->gw_nsfd);
	/* The routing and nft state go with the namespace. */
	if (made)
		netns_del(gw->gw_netns, NULL);
	free(gw->gw_slots);
	free(gw);
	return NULL;
}

void
gateway_destroy(struct gateway *gw)
{
	unsigned	 i;

	if (gw == NULL)
		return;
	for (i = 0; i < gw->gw_nslots; i++)
		if (gw->gw_slots[i] != NULL)
			gateway_sandbox_remove(gw, gw->gw_slots[i], NULL);
	nft_counters_close(gw->gw_counters);
	nft_close(gw->gw_nft);
	rtnl_close(&gw->gw_rtnl);
	close(gw->gw_nsfd);
	netns_del(gw->gw_netns, NULL);
	free(gw->gw_slots);
	free(gw);
}

const char *
gateway_netns(const struct gateway *gw)
{
	return gw->gw_netns;
}

/*
 * The per-sandbox objects of the rate limits (docs/gateway.md): a limit and
 * a counter for each of tcp and udp, and the map elements that point the
 * veth at them. Objects first, then elements; deleted the other way round.
 */
static int
sandbox_nft_limits(const struct gateway *gw, const char *ifn, int add,
    char *cmd, size_t len)
{
	static const char *const proto[] = { "tcp", "udp" };
	char	 burst[48] = "";
	int	 n = 0, i, r;

	if (gw->gw_conn_rate == 0)
		return 0;
	if (gw->gw_conn_burst > 0)
		snprintf(burst, sizeof(burst), " burst %u packets",
		    gw->gw_conn_burst);
	for (i = 0; i < 2 && add; i++) {
		r = snprintf(cmd + n, len - (size_t)n,
		    "add limit inet " GW_NFT_TABLE " %s_limit_%s { rate over "
		    "%u/second%s }\n"
		    "add counter inet " GW_NFT_TABLE " %s_refused_%s\n"
		    "add element inet " GW_NFT_TABLE " %s_limit { \"%s\" : "
		    "\"%s_limit_%s\" }\n"
		    "add element inet " GW_NFT_TABLE " %s_refused { \"%s\" : "
		    "\"%s_refused_%s\" }\n", proto[i], ifn, gw->gw_conn_rate,
		    burst, proto[i], ifn, proto[i], ifn, proto[i], ifn, proto[i],
		    ifn, proto[i], ifn);
		if (r < 0 || (size_t)r >= len - (size_t)n)
			return -1;
		n += r;
	}
	for (i = 0; i < 2 && !add; i++) {
		r = snprintf(cmd + n, len - (size_t)n,
		    "delete element inet " GW_NFT_TABLE " %s_limit { \"%s\" }\n"
		    "delete element inet " GW_NFT_TABLE " %s_refused { \"%s\" }\n"
		    "delete limit inet " GW_NFT_TABLE " %s_limit_%s\n"
		    "delete counter inet " GW_NFT_TABLE " %s_refused_%s\n",
		    proto[i], ifn, proto[i], ifn, proto[i], ifn, proto[i], ifn);
		if (r < 0 || (size_t)r >= len - (size_t)n)
			return -1;
		n += r;
	}
	return n;
}

static int
sandbox_nft(struct gateway *gw, const struct gw_sandbox_info *si, int add,
    struct ir_err *err)
{
	char	 cmd[2048], a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
	const char *verb = add ? "add" : "delete";
	int	 n;

	inet_ntop(AF_INET, &si->si_addr4, a4, sizeof(a4));
	inet_ntop(AF_INET6, &si->si_addr6, a6, sizeof(a6));
	/* The set elements go first on delete: from then on nothing of the
	 * sandbox reaches the limits, so no refusal is left uncounted. */
	n = snprintf(cmd, sizeof(cmd),
	    "%s element inet " GW_NFT_TABLE " sb4 { \"%s\" . %s }\n"
	    "%s element inet " GW_NFT_TABLE " sb6 { \"%s\" . %s }\n",
	    verb, si->si_ifname, a4, verb, si->si_ifname, a6);
	if (sandbox_nft_limits(gw, si->si_ifname, add, cmd + n,
	    sizeof(cmd) - (size_t)n) == -1)
		return err_set(err, ENAMETOOLONG, "sandbox %s: nft commands "
		    "too long", si->si_ifname);
	if (nft_exec(gw->gw_nft, cmd, err) == -1) {
		err_prefix(err, "%s element \"%s\" . %s / %s in sets sb4/sb6%s",
		    verb, si->si_ifname, a4, a6, gw->gw_conn_rate > 0 ?
		    " and its rate limits" : "");
		return -1;
	}
	return 0;
}

/* Addresses and routes on the sandbox's end, through a socket inside it. */
static int
sandbox_inside(int sbfd, const struct gw_sandbox_info *si, struct ir_err *err)
{
	struct rtnl	 r;
	int		 lo, eth, rc = -1;

	if (rtnl_open(&r, sbfd, si->si_netns, err) == -1)
		return -1;
	if ((lo = rtnl_link_index(&r, "lo", err)) == -1 ||
	    rtnl_link_up(&r, lo, "lo", err) == -1 ||
	    (eth = rtnl_link_index(&r, GW_SB_IFNAME, err)) == -1 ||
	    rtnl_addr_add(&r, eth, AF_INET, &si->si_addr4, si->si_plen4,
	    err) == -1 ||
	    rtnl_addr_add(&r, eth, AF_INET6, &si->si_addr6, si->si_plen6,
	    err) == -1 ||
	    rtnl_link_up(&r, eth, GW_SB_IFNAME, err) == -1 ||
	    rtnl_route_default(&r, AF_INET, &si->si_gw4, eth, err) == -1 ||
	    rtnl_route_default(&r, AF_INET6, &si->si_gw6, eth, err) == -1)
		goto out;
	rc = 0;
out:
	rtnl_close(&r);
	return rc;
}

static int
sandbox_outside(struct gateway *gw, const struct gw_sandbox_info *si,
    struct ir_err *err)
{
	struct rtnl	*r = &gw->gw_rtnl;
	int		 idx;

	if ((idx = rtnl_link_index(r, si->si_ifname, err)) == -1 ||
	    rtnl_addr_add(r, idx, AF_INET, &si->si_gw4, si->si_plen4,
	    err) == -1 ||
	    rtnl_addr_add(r, idx, AF_INET6, &si->si_gw6, si->si_plen6,
	    err) == -1 ||
	    rtnl_link_up(r, idx, si->si_ifname, err) == -1)
		return -1;
	return 0;
}

/*
 * The veth pair of slot si. A removed sandbox's pair goes with its
 * namespace, later, when the kernel frees it (or never, if a process is
 * still inside): one left over under this slot's name is deleted now.
 */
static int
veth_add(struct gateway *gw, const struct gw_sandbox_info *si, int sbfd,
    struct ir_err *err)
{
	struct ir_err	 e;

	if (rtnl_veth_add(&gw->gw_rtnl, si->si_ifname, GW_SB_IFNAME, sbfd,
	    &e) == 0)
		return 0;
	if (e.code != EEXIST ||
	    (rtnl_link_del(&gw->gw_rtnl, si->si_ifname, &e) == -1 &&
	    e.code != ENODEV) ||
	    rtnl_veth_add(&gw->gw_rtnl, si->si_ifname, GW_SB_IFNAME, sbfd,
	    &e) == -1) {
		if (err != NULL)
			*err = e;
		return -1;
	}
	return 0;
}

struct gw_sandbox *
gateway_sandbox_add(struct gateway *gw, struct ir_err *err)
{
	struct gw_sandbox	*sb;
	struct gw_sandbox_info	*si;
	unsigned		 i, slot = 0;
	int			 sbfd = -1, made_ns = 0, made_veth = 0;

	/* Round robin, not the lowest free slot: a slot just given back has
	 * its old veth for a while (see gateway_sandbox_remove()). */
	for (i = 0; i < gw->gw_nslots; i++) {
		slot = (gw->gw_next + i) % gw->gw_nslots;
		if (gw->gw_slots[slot] == NULL)
			break;
	}
	if (i == gw->gw_nslots) {
		err_set(err, ENOSPC, "gateway %s: all %u sandbox slots in use",
		    gw->gw_name, gw->gw_nslots);
		return NULL;
	}
	if ((sb = calloc(1, sizeof(*sb))) == NULL) {
		err_set(err, errno, "sandbox: %s", strerror(errno));
		return NULL;
	}
	si = &sb->sb_info;
	slot_addrs(gw, slot, si);

	if (netns_add(si->si_netns, sandbox_init_ns, err, err) == -1)
		goto fail;
	made_ns = 1;
	if ((sbfd = netns_open(si->si_netns, err)) == -1)
		goto fail;
	if (veth_add(gw, si, sbfd, err) == -1)
		goto fail;
	made_veth = 1;
	if (sandbox_outside(gw, si, err) == -1 ||
	    sandbox_inside(sbfd, si, err) == -1 ||
	    sandbox_nft(gw, si, 1, err) == -1)
		goto fail;
	close(sbfd);
	gw->gw_slots[slot] = sb;
	gw->gw_next = slot + 1;
	return sb;
fail:
	if (made_veth)
		rtnl_link_del(&gw->gw_rtnl, si->si_ifname, NULL);
	if (sbfd != -1)
		close(sbfd);
	if (made_ns)
		netns_del(si->si_netns, NULL);
	free(sb);
	return NULL;
}

static void
first_err(int *rc, struct ir_err *err, const struct ir_err *e)
{
	if (*rc == 0 && err != NULL)
		*err = *e;
	*rc = -1;
}

int
gateway_sandbox_remove(struct gateway *gw, struct gw_sandbox *sb,
    struct ir_err *err)
{
	struct gw_sandbox_info	*si = &sb->sb_info;
	struct ir_err		 e;
	int			 rc = 0;

	/*
	 * Report the first failure, but do every step. Once its set elements
	 * are gone, the veth carries nothing (the ruleset drops what comes in
	 * on it); deleting it would cost 10-40 ms of unregistering a device,
	 * so it goes with the namespace when the kernel frees that, off this
	 * path. veth_add() deletes one that is still there when the slot is
	 * reused.
	 */
	if (sandbox_nft(gw, si, 0, &e) == -1)
		first_err(&rc, err, &e);
	if (netns_del(si->si_netns, &e) == -1)
		first_err(&rc, err, &e);
	if (si->si_slot < gw->gw_nslots && gw->gw_slots[si->si_slot] == sb)
		gw->gw_slots[si->si_slot] = NULL;
	free(sb);
	return rc;
}

void
gateway_sandbox_info(const struct gw_sandbox *sb, struct gw_sandbox_info *out)
{
	*out = sb->sb_info;
}

int
gateway_slot_of(const struct gateway *gw, const struct sockaddr *sa)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	const uint8_t		*b;
	uint64_t		 hi = 0, lo = 0, pool = 0, mask;
	uint32_t		 a, off;
	int			 i;

	if (sa->sa_family == AF_INET) {
		a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
		goto v4;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	b = s6->sin6_addr.s6_addr;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		a = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
		    (uint32_t)b[14] << 8 | b[15];
		goto v4;
	}
	for (i = 0; i < 8; i++) {
		hi = hi << 8 | b[i];
		lo = lo << 8 | b[8 + i];
		pool = pool << 8 | gw->gw_pool6.s6_addr[i];
	}
	mask = gw->gw_plen6 == 64 ? 0 : ((uint64_t)1 << (64 - gw->gw_plen6)) - 1;
	if ((hi & ~mask) != pool || lo != 2 || (hi & mask) >= gw->gw_nslots)
		return -1;
	return (int)(hi & mask);
v4:
	off = a - gw->gw_pool4;
	if (a < gw->gw_pool4 || (off & 3) != 2 || (off >> 2) >= gw->gw_nslots)
		return -1;
	return (int)(off >> 2);
}

int
gateway_slot_info(const struct gateway *gw, unsigned slot,
    struct gw_sandbox_info *out)
{
	if (slot >= gw->gw_nslots)
		return -1;
	slot_addrs(gw, slot, out);
	return 0;
}

struct gw_sandbox *
gateway_sandbox_lookup(const struct gateway *gw, const struct sockaddr *sa)
{
	int	 slot = gateway_slot_of(gw, sa);

	return slot < 0 ? NULL : gw->gw_slots[slot];
}

void
gateway_conn_limit(const struct gateway *gw, unsigned *rate, unsigned *burst)
{
	if (rate != NULL)
		*rate = gw->gw_conn_rate;
	if (burst != NULL)
		*burst = gw->gw_conn_burst;
}

struct refused_walk {
	struct gw_refused	*rw_out;
	unsigned		 rw_nslots;
};

/* "tcp_refused_sb3", "udp_refused_sb3": the others are not ours. */
static void
refused_one(void *arg, const char *name, uint64_t packets)
{
	struct refused_walk	*rw = arg;
	unsigned		 slot;
	char			 proto[4], end;

	if (sscanf(name, "%3[a-z]_refused_sb%u%c", proto, &slot, &end) != 2 ||
	    slot >= rw->rw_nslots)
		return;
	if (strcmp(proto, "tcp") == 0)
		rw->rw_out[slot].gr_tcp = packets;
	else if (strcmp(proto, "udp") == 0)
		rw->rw_out[slot].gr_udp = packets;
}

int
gateway_refused(struct gateway *gw, struct gw_refused *out,
    struct ir_err *err)
{
	struct refused_walk	 rw = { out, gw->gw_nslots };
	unsigned		 i;

	for (i = 0; i < gw->gw_nslots; i++)
		out[i].gr_tcp = out[i].gr_udp = GW_REFUSED_NONE;
	if (gw->gw_conn_rate == 0)
		return 0;
	if (nft_counters_read(gw->gw_counters, GW_NFT_TABLE, refused_one, &rw,
	    err) == -1) {
		err_prefix(err, "gateway %s: rate limits", gw->gw_name);
		return -1;
	}
	return 0;
}

unsigned
gateway_nslots(const struct gateway *gw)
{
	return gw->gw_nslots;
}

void
gateway_ports(const struct gateway *gw, uint16_t *tcp, uint16_t *udp,
    uint16_t *dns)
{
	if (tcp != NULL)
		*tcp = gw->gw_tcp_port;
	if (udp != NULL)
		*udp = gw->gw_udp_port;
	if (dns != NULL)
		*dns = gw->gw_dns_port;
}

/* "<name>-sb<digits>" */
static int
is_sandbox_ns(const char *ent, const char *name)
{
	size_t	 n = strlen(name);
	const char *p;

	if (strncmp(ent, name, n) != 0 || strncmp(ent + n, "-sb", 3) != 0)
		return 0;
	p = ent + n + 3;
	if (*p == '\0')
		return 0;
	for (; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

int
gateway_purge(const char *name, struct ir_err *err)
{
	DIR		*d;
	struct dirent	*de;
	char		 gwns[GW_NETNS_MAX];
	int		 rc = 0;

	if (name_ok(name, err) == -1)
		return -1;
	if ((d = opendir(GW_NETNS_DIR)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return err_set(err, errno, "open %s: %s", GW_NETNS_DIR,
		    strerror(errno));
	}
	while ((de = readdir(d)) != NULL)
		if (is_sandbox_ns(de->d_name, name) &&
		    netns_del(de->d_name, rc == 0 ? err : NULL) == -1)
			rc = -1;
	closedir(d);
	snprintf(gwns, sizeof(gwns), "%s-gw", name);
	if (netns_del(gwns, rc == 0 ? err : NULL) == -1)
		rc = -1;
	return rc;
}

/*
 * Daemon restarts (gateway.h: gateway_release, gateway_adopt,
 * gateway_sandbox_adopt, gateway_purge_unused). The kernel objects outlive
 * the process; these functions only let go of them and take them back.
 */

/* `fd` is a namespace (not a file left where one was unmounted). */
static int
is_netns_fd(int fd, const char *name, struct ir_err *err)
{
	struct statfs	 st;

	if (fstatfs(fd, &st) == -1)
		return err_set(err, errno, "network namespace %s: %s", name,
		    strerror(errno));
	if (st.f_type != NSFS_MAGIC)
		return err_set(err, ENOENT, "network namespace %s: %s/%s is "
		    "not a namespace", name, GW_NETNS_DIR, name);
	return 0;
}

void
gateway_release(struct gateway *gw)
{
	unsigned	 i;

	if (gw == NULL)
		return;
	for (i = 0; i < gw->gw_nslots; i++)
		free(gw->gw_slots[i]);
	nft_counters_close(gw->gw_counters);
	nft_close(gw->gw_nft);
	rtnl_close(&gw->gw_rtnl);
	if (gw->gw_nsfd != -1)
		close(gw->gw_nsfd);
	free(gw->gw_slots);
	free(gw);
}

struct gateway *
gateway_adopt(const struct gateway_config *c, struct ir_err *err)
{
	static const char reset[] = "add table inet " GW_NFT_TABLE "\n"
	    "delete table inet " GW_NFT_TABLE "\n";
	struct gateway	*gw;
	char		*rules = NULL;
	int		 len;

	if ((gw = gw_new(c, err)) == NULL)
		return NULL;
	if ((gw->gw_nsfd = netns_open(gw->gw_netns, err)) == -1 ||
	    is_netns_fd(gw->gw_nsfd, gw->gw_netns, err) == -1 ||
	    netns_run(gw->gw_nsfd, gateway_init_ns, err, err) == -1 ||
	    rtnl_open(&gw->gw_rtnl, gw->gw_nsfd, gw->gw_netns, err) == -1 ||
	    (gw->gw_nft = nft_open(gw->gw_nsfd, gw->gw_netns, err)) == NULL ||
	    (gw->gw_counters = nft_counters_open(gw->gw_nsfd, gw->gw_netns,
	    err)) == NULL)
		goto fail;
	/* One transaction: the old table goes and the new one comes, with
	 * empty sets, or nothing changes. */
	len = gateway_ruleset(c, NULL, 0);
	if ((rules = malloc(sizeof(reset) + (size_t)len)) == NULL) {
		err_set(err, errno, "gateway: %s", strerror(errno));
		goto fail;
	}
	memcpy(rules, reset, sizeof(reset) - 1);
	gateway_ruleset(c, rules + sizeof(reset) - 1, (size_t)len + 1);
	if (nft_exec(gw->gw_nft, rules, err) == -1) {
		err_prefix(err, "reload table inet " GW_NFT_TABLE);
		goto fail;
	}
	free(rules);
	return gw;
fail:
	free(rules);
	gateway_release(gw);
	return NULL;
}

struct gw_sandbox *
gateway_sandbox_adopt(struct gateway *gw, unsigned slot, struct ir_err *err)
{
	struct gw_sandbox	*sb;
	struct gw_sandbox_info	*si;
	int			 fd;

	if (slot >= gw->gw_nslots) {
		err_set(err, EINVAL, "gateway %s: slot %u: want 0 to %u",
		    gw->gw_name, slot, gw->gw_nslots - 1);
		return NULL;
	}
	if (gw->gw_slots[slot] != NULL) {
		err_set(err, EBUSY, "gateway %s: slot %u is in use",
		    gw->gw_name, slot);
		return NULL;
	}
	if ((sb = calloc(1, sizeof(*sb))) == NULL) {
		err_set(err, errno, "sandbox: %s", strerror(errno));
		return NULL;
	}
	si = &sb->sb_info;
	slot_addrs(gw, slot, si);
	if ((fd = netns_open(si->si_netns, err)) == -1)
		goto fail;
	if (is_netns_fd(fd, si->si_netns, err) == -1) {
		close(fd);
		goto fail;
	}
	close(fd);
	if (rtnl_link_index(&gw->gw_rtnl, si->si_ifname, err) == -1 ||
	    sandbox_nft(gw, si, 1, err) == -1)
		goto fail;
	gw->gw_slots[slot] = sb;
	if (slot >= gw->gw_next)
		gw->gw_next = slot + 1;
	return sb;
fail:
	err_prefix(err, "adopt slot %u", slot);
	free(sb);
	return NULL;
}

int
gateway_purge_unused(struct gateway *gw, struct ir_err *err)
{
	DIR		*d;
	struct dirent	*de;
	struct ir_err	 e;
	char		 ifname[IF_NAMESIZE];
	unsigned long	 slot;
	size_t		 n = strlen(gw->gw_name) + 3;
	int		 rc = 0;

	if ((d = opendir(GW_NETNS_DIR)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return err_set(err, errno, "open %s: %s", GW_NETNS_DIR,
		    strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_sandbox_ns(de->d_name, gw->gw_name))
			continue;
		slot = strtoul(de->d_name + n, NULL, 10);
		if (slot < gw->gw_nslots && gw->gw_slots[slot] != NULL)
			continue;
		/* Its veth goes with the namespace unless a process is
		 * still inside: remove the gateway end either way. */
		snprintf(ifname, sizeof(ifname), "sb%lu", slot);
		if (slot < GW_SLOTS_MAX && rtnl_link_del(&gw->gw_rtnl, ifname,
		    &e) == -1 && e.code != ENODEV && rc == 0) {
			*(err != NULL ? err : &e) = e;
			rc = -1;
		}
		if (netns_del(de->d_name, &e) == -1 && rc == 0) {
			*(err != NULL ? err : &e) = e;
			rc = -1;
		}
	}
	closedir(d);
	return rc;
}
