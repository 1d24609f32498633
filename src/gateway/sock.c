/*
 * sock.c - sockets inside the gateway for a runner that stays outside it.
 *
 * Only socket() itself runs inside the namespace (on a short-lived thread):
 * a socket belongs to the namespace it was created in, so setsockopt, bind,
 * listen and accept work on it from anywhere.
 */
#include "gw_int.h"
#include "gateway.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

struct sock_job {
	int		 sj_domain, sj_type, sj_proto;
	int		 sj_fd;
	struct ir_err	*sj_err;
};

static int
sock_main(void *arg)
{
	struct sock_job	*j = arg;

	if ((j->sj_fd = socket(j->sj_domain, j->sj_type, j->sj_proto)) == -1)
		return err_set(j->sj_err, errno, "socket: %s", strerror(errno));
	return 0;
}

int
gateway_socket(const struct gateway *gw, int domain, int type, int protocol,
    struct ir_err *err)
{
	struct sock_job	 j = { domain, type, protocol, -1, err };

	if (netns_run(gw->gw_nsfd, sock_main, &j, err) == -1) {
		err_prefix(err, "network namespace %s", gw->gw_netns);
		return -1;
	}
	return j.sj_fd;
}

static int
opt_on(int fd, int level, int name, const char *what, struct ir_err *err)
{
	int	 on = 1;

	if (setsockopt(fd, level, name, &on, sizeof(on)) == -1)
		return err_set(err, errno, "%s: %s", what, strerror(errno));
	return 0;
}

int
gateway_listen(const struct gateway *gw, int type, uint16_t port,
    struct ir_err *err)
{
	struct sockaddr_in6	 sin6;
	int			 fd, off = 0, stream;

	stream = (type & 0xf) == SOCK_STREAM;
	if ((fd = gateway_socket(gw, AF_INET6, type, 0, err)) == -1)
		return -1;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) ==
	    -1) {
		err_set(err, errno, "IPV6_V6ONLY off: %s", strerror(errno));
		goto fail;
	}
	if (opt_on(fd, SOL_IP, IP_TRANSPARENT, "IP_TRANSPARENT", err) == -1 ||
	    opt_on(fd, SOL_IPV6, IPV6_TRANSPARENT, "IPV6_TRANSPARENT",
	    err) == -1 ||
	    opt_on(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", err) == -1 ||
	    opt_on(fd, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", err) == -1)
		goto fail;
	/*
	 * A datagram listener takes every sandbox's queries and flows: room
	 * for a burst (300 DNS queries at once overflow the default). Root
	 * may exceed rmem_max; if not, the default stays.
	 */
	if (!stream) {
		int	 big = GW_UDP_RCVBUF;

		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big,
		    sizeof(big)) == -1)
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big,
			    sizeof(big));
	}
	if (!stream &&
	    (opt_on(fd, SOL_IP, IP_RECVORIGDSTADDR, "IP_RECVORIGDSTADDR",
	    err) == -1 ||
	    opt_on(fd, SOL_IPV6, IPV6_RECVORIGDSTADDR, "IPV6_RECVORIGDSTADDR",
	    err) == -1))
		goto fail;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_any;
	sin6.sin6_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == -1) {
		err_set(err, errno, "bind [::]:%u: %s", port, strerror(errno));
		goto fail;
	}
	if (stream && listen(fd, SOMAXCONN) == -1) {
		err_set(err, errno, "listen: %s", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	err_prefix(err, "network namespace %s: %s listener on port %u",
	    gw->gw_netns, stream ? "TCP" : "UDP", port);
	close(fd);
	return -1;
}

/* AF_INET6 v4-mapped -> AF_INET, in place. */
static void
unmap(struct sockaddr_storage *ss)
{
	struct sockaddr_in6	 s6;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;

	if (ss->ss_family != AF_INET6)
		return;
	memcpy(&s6, ss, sizeof(s6));
	if (!IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr))
		return;
	memset(ss, 0, sizeof(*ss));
	s4->sin_family = AF_INET;
	s4->sin_port = s6.sin6_port;
	memcpy(&s4->sin_addr, &s6.sin6_addr.s6_addr[12], 4);
}

int
gateway_origdst(int fd, struct sockaddr_storage *out, struct ir_err *err)
{
	socklen_t	 len = sizeof(*out);

	memset(out, 0, sizeof(*out));
	if (getsockname(fd, (struct sockaddr *)out, &len) == -1)
		return err_set(err, errno, "getsockname: %s", strerror(errno));
	unmap(out);
	return 0;
}

/* Leaves *out AF_UNSPEC when the message is absent. */
static void
recv_origdst(struct msghdr *msg, struct sockaddr_storage *out)
{
	struct cmsghdr	*c;

	memset(out, 0, sizeof(*out));
	for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct sockaddr_in))) {
			memcpy(out, CMSG_DATA(c), sizeof(struct sockaddr_in));
			return;
		}
		if (c->cmsg_level == SOL_IPV6 &&
		    c->cmsg_type == IPV6_ORIGDSTADDR &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct sockaddr_in6))) {
			memcpy(out, CMSG_DATA(c), sizeof(struct sockaddr_in6));
			unmap(out);
			return;
		}
	}
}

ssize_t
gateway_recv(int fd, void *buf, size_t len, int flags,
    struct sockaddr_storage *src, struct sockaddr_storage *odst, int *trunc)
{
	char		 cbuf[128];	/* one sockaddr_in6 control message */
	struct iovec	 iov = { buf, len };
	struct msghdr	 m;
	ssize_t		 n;

	memset(&m, 0, sizeof(m));
	m.msg_name = src;
	m.msg_namelen = sizeof(*src);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf;
	m.msg_controllen = sizeof(cbuf);
	if ((n = recvmsg(fd, &m, flags)) == -1)
		return -1;
	recv_origdst(&m, odst);
	if (trunc != NULL)
		*trunc = (m.msg_flags & MSG_TRUNC) != 0;
	return n;
}
