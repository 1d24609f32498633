/*
 * rtnl.c - the few rtnetlink requests the gateway needs, through libmnl.
 *
 * Every request asks for an ACK and waits for it, so a return of 0 means the
 * kernel did it. A socket works on the namespace it was opened in.
 */
#include "gw_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define RTNL_MSGSIZE	1024
#define RTNL_RECVSIZE	8192	/* replies here are one message and an ACK */

struct rtnl_open_job {
	struct rtnl	*oj_r;
	struct ir_err	*oj_err;
};

/* Runs inside the namespace (errno is per thread: report it here). */
static int
rtnl_open_main(void *arg)
{
	struct rtnl_open_job	*j = arg;
	struct rtnl		*r = j->oj_r;

	if ((r->rt_nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC)) == NULL)
		return err_set(j->oj_err, errno, "rtnetlink socket: %s",
		    strerror(errno));
	if (mnl_socket_bind(r->rt_nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		err_set(j->oj_err, errno, "bind rtnetlink socket: %s",
		    strerror(errno));
		mnl_socket_close(r->rt_nl);
		r->rt_nl = NULL;
		return -1;
	}
	return 0;
}

int
rtnl_open(struct rtnl *r, int nsfd, const char *nsname, struct ir_err *err)
{
	struct rtnl_open_job	 j = { r, err };

	memset(r, 0, sizeof(*r));
	r->rt_ns = nsname;
	if (netns_run(nsfd, rtnl_open_main, &j, err) == -1) {
		err_prefix(err, "network namespace %s", nsname);
		return -1;
	}
	r->rt_portid = mnl_socket_get_portid(r->rt_nl);
	r->rt_seq = (unsigned)time(NULL);
	return 0;
}

void
rtnl_close(struct rtnl *r)
{
	if (r->rt_nl != NULL)
		mnl_socket_close(r->rt_nl);
	r->rt_nl = NULL;
}

static struct nlmsghdr *
rtnl_msg(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr	*nlh;

	memset(buf, 0, RTNL_MSGSIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	return nlh;
}

/*
 * Sends `nlh`, hands each reply message to cb (may be NULL) and waits for
 * the ACK. Returns 0, or -1 with errno from the kernel's answer.
 */
static int
rtnl_talk(struct rtnl *r, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char	 buf[RTNL_RECVSIZE];
	ssize_t	 n;
	int	 ret;

	nlh->nlmsg_seq = ++r->rt_seq;
	if (mnl_socket_sendto(r->rt_nl, nlh, nlh->nlmsg_len) == -1)
		return -1;
	do {
		if ((n = mnl_socket_recvfrom(r->rt_nl, buf, sizeof(buf))) == -1)
			return -1;
		ret = mnl_cb_run(buf, (size_t)n, r->rt_seq, r->rt_portid, cb,
		    data);
	} while (ret > MNL_CB_STOP);
	return ret == MNL_CB_STOP ? 0 : -1;
}

static int
rtnl_fail(struct rtnl *r, struct ir_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
rtnl_fail(struct rtnl *r, struct ir_err *err, const char *fmt, ...)
{
	char	 what[256];
	va_list	 ap;
	int	 e = errno;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_set(err, e, "network namespace %s: %s: %s", r->rt_ns, what,
	    strerror(e));
}

static int
link_index_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg	*ifm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type == RTM_NEWLINK)
		*(int *)data = ifm->ifi_index;
	return MNL_CB_OK;
}

int
rtnl_link_index(struct rtnl *r, const char *name, struct ir_err *err)
{
	char		 buf[RTNL_MSGSIZE];
	struct nlmsghdr	*nlh = rtnl_msg(buf, RTM_GETLINK, 0);
	struct ifinfomsg *ifm;
	int		 idx = -1;

	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (rtnl_talk(r, nlh, link_index_cb, &idx) == -1)
		return rtnl_fail(r, err, "find interface %s", name);
	if (idx <= 0) {
		errno = ENODEV;
		return rtnl_fail(r, err, "find interface %s", name);
	}
	return idx;
}

int
rtnl_link_up(struct rtnl *r, int ifindex, const char *name,
    struct ir_err *err)
{
	char		 buf[RTNL_MSGSIZE];
	struct nlmsghdr	*nlh = rtnl_msg(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifm;

	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	if (rtnl_talk(r, nlh, NULL, NULL) == -1)
		return rtnl_fail(r, err, "set %s up", name);
	return 0;
}

int
rtnl_link_del(struct rtnl *r, const char *name, struct ir_err *err)
{
	char		 buf[RTNL_MSGSIZE];
	struct nlmsghdr	*nlh = rtnl_msg(buf, RTM_DELLINK, 0);
	struct ifinfomsg *ifm;

	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (rtnl_talk(r, nlh, NULL, NULL) == -1)
		return rtnl_fail(r, err, "delete interface %s", name);
	return 0;
}

int
rtnl_veth_add(struct rtnl *r, const char *name, const char *peer,
    int peer_nsfd, struct ir_err *err)
{
	char		 buf[RTNL_MSGSIZE];
	struct nlmsghdr	*nlh;
	struct ifinfomsg *ifm;
	struct nlattr	*info, *data, *pe;

	nlh = rtnl_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	pe = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes follow an ifinfomsg of its own. */
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_nsfd);
	mnl_attr_nest_end(nlh, pe);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	if (rtnl_talk(r, nlh, NULL, NULL) == -1)
		return rtnl_fail(r, err, "create veth %s (peer %s)", name,
		    peer);
	return 0;
}

static const char *
addr_str(int family, const void *addr, char *buf, size_t len)
{
	if (inet_ntop(family, addr, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

int
rtnl_addr_add(struct rtnl *r, int ifindex, int family, const void *addr,
    int plen, struct ir_err *err)
{
	char		 buf[RTNL_MSGSIZE], a[INET6_ADDRSTRLEN];
	struct nlmsghdr	*nlh;
	struct ifaddrmsg *ifa;
	size_t		 alen = family == AF_INET ? 4 : 16;

	nlh = rtnl_msg(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, alen, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, addr);
	/* Usable at once: both ends are ours, DAD would only add a delay. */
	if (family == AF_INET6)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	if (rtnl_talk(r, nlh, NULL, NULL) == -1)
		return rtnl_fail(r, err, "add address %s/%d on ifindex %d",
		    addr_str(family, addr, a, sizeof(a)), plen, ifindex);
	return 0;
}

static struct nlmsghdr *
route_msg(char *buf, int family, uint32_t table, uint8_t type,
    uint8_t scope)
{
	struct nlmsghdr	*nlh;
	struct rtmsg	*rtm;

	nlh = rtnl_msg(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = 0;
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = scope;
	rtm->rtm_type = type;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	return nlh;
}

int
rtnl_route_default(struct rtnl *r, int family, const void *gw, int ifindex,
    struct ir_err *err)
{
	char		 buf[RTNL_MSGSIZE], a[INET6_ADDRSTRLEN];
	struct nlmsghdr	*nlh;

	nlh = route_msg(buf, family, RT_TABLE_MAIN, RTN_UNICAST,
	    RT_SCOPE_UNIVERSE);
	mnl_attr_put(nlh, RTA_GATEWAY, family == AF_INET ? 4 : 16, gw);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	if (rtnl_talk(r, nlh, NULL, NULL) == -1)
		return rtnl_fail(r, err, "add default route via %s",
		    addr_str(family, gw, a, sizeof(a)));
	return 0;
}

int
rtnl_route_local_default(struct rtnl *r, int family, int ifindex,
    uint32_t table, struct ir_err *err)
{
	char		 buf[RTNL_MSGSIZE];
	struct nlmsghdr	*nlh;

	nlh = route_msg(buf, family, table, RTN_LOCAL, RT_SCOPE_HOST);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	if (rtnl_talk(r, nlh, NULL, NULL) == -1)
		return rtnl_fail(r, err, "add route local %s dev lo table %u",
		    family == AF_INET ? "0.0.0.0/0" : "::/0", table);
	return 0;
}

int
rtnl_rule(struct rtnl *r, int add, int family, uint32_t mark,
    uint32_t table, uint32_t prio, struct ir_err *err)
{
	char		 buf[RTNL_MSGSIZE];
	struct nlmsghdr	*nlh;
	struct fib_rule_hdr *frh;

	nlh = rtnl_msg(buf, add ? RTM_NEWRULE : RTM_DELRULE,
	    add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = (uint8_t)family;
	frh->action = FR_ACT_TO_TBL;
	frh->table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
	mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffff);
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	mnl_attr_put_u32(nlh, FRA_PRIORITY, prio);
	if (rtnl_talk(r, nlh, NULL, NULL) == -1)
		return rtnl_fail(r, err, "%s %s rule fwmark %#x lookup %u",
		    add ? "add" : "delete", family == AF_INET ? "IPv4" : "IPv6",
		    mark, table);
	return 0;
}
