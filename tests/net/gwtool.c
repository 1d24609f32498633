/*
 * gwtool - test driver for src/gateway (tests/net/gateway_tproxy.sh).
 *
 *   gwtool serve NAME NSANDBOX [MAX]  create a gateway (of at most MAX
 *                                sandboxes) and sandboxes, listen from
 *                                here (the host side) through TPROXY, log
 *                                what arrives; commands on stdin: close,
 *                                close tcp|udp|dns-tcp|dns-udp, open, add,
 *                                remove SLOT, quit
 *   gwtool purge NAME            remove what a dead "serve" left
 *   gwtool ruleset               print the default nft ruleset
 *   gwtool connect [-b SRC] [-t MS] ADDR PORT   TCP client
 *   gwtool udp [-b SRC] [-t MS] ADDR PORT       UDP client, waits for a reply
 *   gwtool ping [-t MS] [-T TYPE] ADDR          ICMP / ICMPv6 echo (or TYPE)
 *   gwtool listen PORT...        plain TCP+UDP server on [::]:PORT
 *
 * Clients print one word first: connected, reply, refused, reset,
 * unreachable, denied, timeout or error; then details.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/gateway.h"

#define GREETING	"isorun\n"

static int	 timeout_ms = 2000;
static int	 ping_type = -1;	/* -T: another ICMP type than echo */
static const char *bind_src;

static void
usage(void)
{
	fprintf(stderr, "usage: gwtool serve NAME N [MAX] | purge NAME | ruleset | "
	    "connect|udp [-b SRC] [-t MS] ADDR PORT | ping [-t MS] [-T TYPE] ADDR | "
	    "listen PORT...\n");
	exit(2);
}

static long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
sa_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char	 a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], a,
			    sizeof(a));
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) ?
		    "%s:%u" : "[%s]:%u", a, ntohs(s6->sin6_port));
	} else
		snprintf(buf, len, "?");
	return buf;
}

static int
parse_addr(const char *s, unsigned port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return AF_INET6;
	}
	fprintf(stderr, "gwtool: bad address '%s'\n", s);
	exit(2);
}

static void
print_errno(int e, long t0)
{
	const char	*w;

	switch (e) {
	case ECONNREFUSED:	w = "refused"; break;
	case ECONNRESET:	w = "reset"; break;
	case EHOSTUNREACH:
	case ENETUNREACH:	w = "unreachable"; break;
	case EACCES:
	case EPERM:		w = "denied"; break;
	case ETIMEDOUT:		w = "timeout"; break;
	default:		w = "error"; break;
	}
	printf("%s %s (%ldms)\n", w, strerror(e), now_ms() - t0);
}

/* Client socket of `type`, bound to bind_src if given. */
static int
client_socket(int family, int type)
{
	struct sockaddr_storage	 src;
	socklen_t		 slen;
	int			 fd, on = 1;

	if ((fd = socket(family, type | SOCK_NONBLOCK, 0)) == -1) {
		printf("error socket: %s\n", strerror(errno));
		exit(1);
	}
	if (bind_src != NULL) {
		if (parse_addr(bind_src, 0, &src, &slen) != family) {
			printf("error -b family differs\n");
			exit(1);
		}
		/* The guest may try any source; let the kernel send it. */
		setsockopt(fd, SOL_IP, IP_FREEBIND, &on, sizeof(on));
		if (bind(fd, (struct sockaddr *)&src, slen) == -1) {
			printf("error bind %s: %s\n", bind_src, strerror(errno));
			exit(1);
		}
	}
	return fd;
}

static int
wait_fd(int fd, short ev, long deadline)
{
	struct pollfd	 p = { fd, ev, 0 };
	long		 left;
	int		 n;

	for (;;) {
		if ((left = deadline - now_ms()) < 0)
			left = 0;
		n = poll(&p, 1, (int)left);
		if (n > 0 || (n == 0 && left == 0))
			return n;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

static int
cmd_connect(const char *addr, unsigned port)
{
	struct sockaddr_storage	 dst;
	socklen_t		 len, elen = sizeof(int);
	char			 buf[128];
	long			 t0 = now_ms(), deadline = t0 + timeout_ms;
	ssize_t			 n;
	int			 fam, fd, e = 0;

	fam = parse_addr(addr, port, &dst, &len);
	fd = client_socket(fam, SOCK_STREAM);
	if (connect(fd, (struct sockaddr *)&dst, len) == -1 &&
	    errno != EINPROGRESS) {
		print_errno(errno, t0);
		return 0;
	}
	if (wait_fd(fd, POLLOUT, deadline) == 0) {
		printf("timeout (%ldms)\n", now_ms() - t0);
		return 0;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen);
	if (e != 0) {
		print_errno(e, t0);
		return 0;
	}
	n = 0;
	if (wait_fd(fd, POLLIN, deadline) > 0 &&
	    (n = read(fd, buf, sizeof(buf) - 1)) < 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	printf("connected %s (%ldms)\n", buf, now_ms() - t0);
	close(fd);
	return 0;
}

static int
cmd_udp(const char *addr, unsigned port)
{
	struct sockaddr_storage	 dst;
	socklen_t		 len;
	char			 buf[128];
	long			 t0 = now_ms(), deadline = t0 + timeout_ms;
	ssize_t			 n;
	int			 fam, fd;

	fam = parse_addr(addr, port, &dst, &len);
	fd = client_socket(fam, SOCK_DGRAM);
	if (connect(fd, (struct sockaddr *)&dst, len) == -1 ||
	    send(fd, "hello\n", 6, 0) == -1) {
		print_errno(errno, t0);
		return 0;
	}
	if (wait_fd(fd, POLLIN, deadline) == 0) {
		printf("timeout (%ldms)\n", now_ms() - t0);
		return 0;
	}
	if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) == -1) {
		print_errno(errno, t0);
		return 0;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	printf("reply %s (%ldms)\n", buf, now_ms() - t0);
	return 0;
}

static uint16_t
cksum(const void *p, size_t len)
{
	const uint8_t	*b = p;
	uint32_t	 s = 0;
	size_t		 i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		s += (uint32_t)b[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons((uint16_t)~s);
}

static int
cmd_ping(const char *addr)
{
	struct sockaddr_storage	 dst;
	socklen_t		 len;
	uint8_t			 pkt[64], buf[1500];
	long			 t0 = now_ms(), deadline = t0 + timeout_ms;
	ssize_t			 n;
	size_t			 off;
	int			 fam, fd, v6;

	fam = parse_addr(addr, 0, &dst, &len);
	v6 = fam == AF_INET6;
	if ((fd = socket(fam, SOCK_RAW, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP)) ==
	    -1) {
		printf("error raw socket: %s\n", strerror(errno));
		return 1;
	}
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = ping_type >= 0 ? (uint8_t)ping_type :
	    v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	pkt[4] = (uint8_t)(getpid() >> 8);
	pkt[5] = (uint8_t)getpid();
	pkt[7] = 1;
	if (!v6) {
		uint16_t c = cksum(pkt, sizeof(pkt));

		memcpy(pkt + 2, &c, 2);
	}
	if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&dst, len) ==
	    -1) {
		print_errno(errno, t0);
		return 0;
	}
	while (wait_fd(fd, POLLIN, deadline) > 0) {
		if ((n = recv(fd, buf, sizeof(buf), 0)) <= 0)
			break;
		off = v6 ? 0 : (size_t)(buf[0] & 0xf) * 4;
		if ((size_t)n < off + 8)
			continue;
		if ((!v6 && buf[off] == ICMP_ECHOREPLY) ||
		    (v6 && buf[off] == ICMP6_ECHO_REPLY)) {
			printf("reply (%ldms)\n", now_ms() - t0);
			return 0;
		}
		if ((!v6 && buf[off] == ICMP_DEST_UNREACH) ||
		    (v6 && buf[off] == ICMP6_DST_UNREACH)) {
			printf("unreachable %u %u (%ldms)\n", buf[off],
			    buf[off + 1], now_ms() - t0);
			return 0;
		}
	}
	printf("timeout (%ldms)\n", now_ms() - t0);
	return 0;
}

/* A plain dual-stack server that logs whatever reaches it. */
static int
cmd_listen(int argc, char **argv)
{
	struct pollfd		 p[32];
	struct sockaddr_in6	 a;
	struct sockaddr_storage	 peer;
	socklen_t		 plen;
	char			 s[80], buf[256];
	int			 i, n = 0, fd, on = 1, off = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < argc && n + 2 <= 32; i++) {
		int types[2] = { SOCK_STREAM, SOCK_DGRAM }, k;

		for (k = 0; k < 2; k++) {
			fd = socket(AF_INET6, types[k], 0);
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
			    sizeof(on));
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
			    sizeof(off));
			memset(&a, 0, sizeof(a));
			a.sin6_family = AF_INET6;
			a.sin6_port = htons((uint16_t)atoi(argv[i]));
			if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
			    (k == 0 && listen(fd, 16) == -1)) {
				printf("error bind %s: %s\n", argv[i],
				    strerror(errno));
				return 1;
			}
			p[n].fd = fd;
			p[n++].events = POLLIN;
		}
	}
	printf("ready\n");
	for (;;) {
		if (poll(p, (nfds_t)n, -1) == -1 && errno != EINTR)
			return 1;
		for (i = 0; i < n; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			plen = sizeof(peer);
			if (i % 2 == 0) {
				if ((fd = accept(p[i].fd,
				    (struct sockaddr *)&peer, &plen)) == -1)
					continue;
				printf("accepted tcp from=%s\n",
				    sa_str(&peer, s, sizeof(s)));
				close(fd);
			} else if (recvfrom(p[i].fd, buf, sizeof(buf), 0,
			    (struct sockaddr *)&peer, &plen) >= 0)
				printf("got udp from=%s\n",
				    sa_str(&peer, s, sizeof(s)));
		}
	}
}

enum { L_TCP, L_UDP, L_DNSTCP, L_DNSUDP, L_N };
static const char *const lname[L_N] = { "tcp", "udp", "dns-tcp", "dns-udp" };

#define SRV_MAXSB	64

struct srv {
	struct gateway		*gw;
	struct gw_sandbox	*sb[SRV_MAXSB];
	struct gateway_config	 conf;
	int			 lfd[L_N];
};

static void
srv_info(struct srv *s, struct gw_sandbox *sb)
{
	struct gw_sandbox_info	 si;
	char			 a[4][INET6_ADDRSTRLEN];

	gateway_sandbox_info(sb, &si);
	if (si.si_slot < SRV_MAXSB)
		s->sb[si.si_slot] = sb;
	inet_ntop(AF_INET, &si.si_addr4, a[0], sizeof(a[0]));
	inet_ntop(AF_INET, &si.si_gw4, a[1], sizeof(a[1]));
	inet_ntop(AF_INET6, &si.si_addr6, a[2], sizeof(a[2]));
	inet_ntop(AF_INET6, &si.si_gw6, a[3], sizeof(a[3]));
	printf("sandbox %u %s %s %s %s %s %s\n", si.si_slot, si.si_netns,
	    si.si_ifname, a[0], a[1], a[2], a[3]);
}

static int
srv_open(struct srv *s)
{
	static const int types[L_N] = { SOCK_STREAM, SOCK_DGRAM, SOCK_STREAM,
	    SOCK_DGRAM };
	uint16_t	 ports[L_N];
	struct ir_err	 err;
	int		 i;

	ports[L_TCP] = s->conf.gc_tcp_port;
	ports[L_UDP] = s->conf.gc_udp_port;
	ports[L_DNSTCP] = ports[L_DNSUDP] = s->conf.gc_dns_port;
	for (i = 0; i < L_N; i++) {
		if (s->lfd[i] != -1)
			continue;
		s->lfd[i] = gateway_listen(s->gw, types[i] | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ports[i], &err);
		if (s->lfd[i] == -1) {
			printf("error %s\n", err.msg);
			return -1;
		}
	}
	return 0;
}

static void
srv_close(struct srv *s)
{
	int	 i;

	for (i = 0; i < L_N; i++) {
		if (s->lfd[i] != -1)
			close(s->lfd[i]);
		s->lfd[i] = -1;
	}
}

static const char *
srv_sandbox(struct srv *s, const struct sockaddr_storage *peer)
{
	static char		 buf[16];
	struct gw_sandbox	*sb;
	struct gw_sandbox_info	 si;

	if ((sb = gateway_sandbox_lookup(s->gw,
	    (const struct sockaddr *)peer)) == NULL)
		return "none";
	gateway_sandbox_info(sb, &si);
	snprintf(buf, sizeof(buf), "%u", si.si_slot);
	return buf;
}

static void
srv_tcp(struct srv *s, int l)
{
	struct sockaddr_storage	 peer, dst;
	socklen_t		 plen = sizeof(peer);
	struct ir_err		 err;
	char			 a[80], b[80];
	int			 fd;

	if ((fd = accept4(s->lfd[l], (struct sockaddr *)&peer, &plen,
	    SOCK_CLOEXEC)) == -1)
		return;
	if (gateway_origdst(fd, &dst, &err) == -1)
		printf("error %s\n", err.msg);
	else
		printf("%s from=%s to=%s sandbox=%s\n", lname[l],
		    sa_str(&peer, a, sizeof(a)), sa_str(&dst, b, sizeof(b)),
		    srv_sandbox(s, &peer));
	if (write(fd, GREETING, sizeof(GREETING) - 1) == -1)
		printf("error greeting: %s\n", strerror(errno));
	close(fd);
}

/*
 * A UDP relay answers from the address the sandbox sent to: a transparent
 * socket in the gateway, bound to that (non-local) address.
 */
static void
srv_udp_reply(struct srv *s, struct sockaddr_storage *dst,
    struct sockaddr_storage *peer)
{
	struct sockaddr_storage	 to = *peer;
	struct sockaddr_in	*t4 = (struct sockaddr_in *)&to;
	struct sockaddr_in6	*p6 = (struct sockaddr_in6 *)peer;
	struct ir_err		 err;
	socklen_t		 len;
	int			 fd, on = 1;

	if (dst->ss_family == AF_INET && peer->ss_family == AF_INET6) {
		memset(&to, 0, sizeof(to));
		t4->sin_family = AF_INET;
		t4->sin_port = p6->sin6_port;
		memcpy(&t4->sin_addr, &p6->sin6_addr.s6_addr[12], 4);
	}
	len = dst->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	if ((fd = gateway_socket(s->gw, dst->ss_family, SOCK_DGRAM |
	    SOCK_CLOEXEC, 0, &err)) == -1) {
		printf("error %s\n", err.msg);
		return;
	}
	if (setsockopt(fd, dst->ss_family == AF_INET ? SOL_IP : SOL_IPV6,
	    dst->ss_family == AF_INET ? IP_TRANSPARENT : IPV6_TRANSPARENT,
	    &on, sizeof(on)) == -1 ||
	    bind(fd, (struct sockaddr *)dst, len) == -1 ||
	    sendto(fd, GREETING, sizeof(GREETING) - 1, 0,
	    (struct sockaddr *)&to, len) == -1)
		printf("error udp reply: %s\n", strerror(errno));
	close(fd);
}

static void
srv_udp(struct srv *s, int l)
{
	struct sockaddr_storage	 peer, dst;
	char			 buf[512], a[80], b[80];

	if (gateway_recv(s->lfd[l], buf, sizeof(buf), 0, &peer, &dst,
	    NULL) == -1)
		return;
	if (dst.ss_family == AF_UNSPEC) {
		printf("error %s: no original destination\n", lname[l]);
		return;
	}
	printf("%s from=%s to=%s sandbox=%s\n", lname[l],
	    sa_str(&peer, a, sizeof(a)), sa_str(&dst, b, sizeof(b)),
	    srv_sandbox(s, &peer));
	srv_udp_reply(s, &dst, &peer);
}

/* Returns 1 to go on, 0 to quit. */
static int
srv_command(struct srv *s, char *line)
{
	struct gw_sandbox	*sb;
	struct ir_err		 err;
	unsigned		 slot;
	int			 i;

	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, "close") == 0) {
		srv_close(s);
		printf("closed\n");
	} else if (strncmp(line, "close ", 6) == 0) {
		for (i = 0; i < L_N; i++)
			if (strcmp(line + 6, lname[i]) == 0 && s->lfd[i] != -1) {
				close(s->lfd[i]);
				s->lfd[i] = -1;
				printf("closed %s\n", lname[i]);
			}
	} else if (strcmp(line, "open") == 0) {
		if (srv_open(s) == 0)
			printf("opened\n");
	} else if (strcmp(line, "add") == 0) {
		if ((sb = gateway_sandbox_add(s->gw, &err)) == NULL)
			printf("error %s\n", err.msg);
		else
			srv_info(s, sb);
	} else if (sscanf(line, "remove %u", &slot) == 1) {
		if (slot >= SRV_MAXSB || (sb = s->sb[slot]) == NULL)
			printf("error no sandbox %u\n", slot);
		else if (gateway_sandbox_remove(s->gw, sb, &err) == -1)
			printf("error %s\n", err.msg);
		else
			printf("removed %u\n", slot);
		if (slot < SRV_MAXSB)
			s->sb[slot] = NULL;
	} else if (strcmp(line, "quit") == 0)
		return 0;
	else
		printf("error unknown command '%s'\n", line);
	return 1;
}

/*
 * Reads what stdin has (not through stdio: poll must see every queued
 * command) and runs each whole line. Returns 0 at EOF or "quit".
 */
static int
srv_input(struct srv *s, char *buf, size_t size, size_t *used)
{
	char	*nl;
	ssize_t	 n;
	size_t	 len;

	if ((n = read(0, buf + *used, size - 1 - *used)) <= 0)
		return 0;
	*used += (size_t)n;
	while ((nl = memchr(buf, '\n', *used)) != NULL) {
		*nl = '\0';
		len = (size_t)(nl - buf) + 1;
		if (srv_command(s, buf) == 0)
			return 0;
		memmove(buf, buf + len, *used - len);
		*used -= len;
	}
	if (*used == size - 1)
		*used = 0;	/* overlong line: drop it */
	return 1;
}

static int
cmd_serve(const char *name, int nsb, unsigned max)
{
	struct srv	 s;
	struct pollfd	 p[1 + L_N];
	struct ir_err	 err;
	char		 line[256];
	size_t		 used = 0;
	int		 i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	memset(&s, 0, sizeof(s));
	for (i = 0; i < L_N; i++)
		s.lfd[i] = -1;
	gateway_config_default(&s.conf);
	s.conf.gc_name = name;
	if (max > 0)
		s.conf.gc_max_sandboxes = max;
	if ((s.gw = gateway_create(&s.conf, &err)) == NULL) {
		printf("error %s\n", err.msg);
		return 1;
	}
	printf("gateway %s\n", gateway_netns(s.gw));
	for (i = 0; i < nsb; i++) {
		struct gw_sandbox *sb = gateway_sandbox_add(s.gw, &err);

		if (sb == NULL) {
			printf("error %s\n", err.msg);
			goto out;
		}
		srv_info(&s, sb);
	}
	if (srv_open(&s) == -1)
		goto out;
	printf("ready\n");
	for (;;) {
		p[0].fd = 0;
		p[0].events = POLLIN;
		for (i = 0; i < L_N; i++) {
			p[1 + i].fd = s.lfd[i];
			p[1 + i].events = POLLIN;
		}
		if (poll(p, 1 + L_N, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < L_N; i++) {
			if (s.lfd[i] == -1 || !(p[1 + i].revents & POLLIN))
				continue;
			if (i == L_TCP || i == L_DNSTCP)
				srv_tcp(&s, i);
			else
				srv_udp(&s, i);
		}
		if ((p[0].revents & (POLLIN | POLLHUP)) &&
		    srv_input(&s, line, sizeof(line), &used) == 0)
			break;
	}
out:
	srv_close(&s);
	gateway_destroy(s.gw);
	printf("destroyed\n");
	return 0;
}

int
main(int argc, char **argv)
{
	struct ir_err	 err;
	char		 buf[4096];
	int		 c;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "serve") == 0 && (argc == 4 || argc == 5))
		return cmd_serve(argv[2], atoi(argv[3]),
		    argc == 5 ? (unsigned)atoi(argv[4]) : 0);
	if (strcmp(argv[1], "purge") == 0 && argc == 3) {
		if (gateway_purge(argv[2], &err) == -1) {
			printf("error %s\n", err.msg);
			return 1;
		}
		return 0;
	}
	if (strcmp(argv[1], "ruleset") == 0) {
		struct gateway_config	 conf;

		gateway_config_default(&conf);
		gateway_ruleset(&conf, buf, sizeof(buf));
		fputs(buf, stdout);
		return 0;
	}
	if (strcmp(argv[1], "listen") == 0 && argc > 2)
		return cmd_listen(argc - 2, argv + 2);
	optind = 2;
	while ((c = getopt(argc, argv, "b:t:T:")) != -1) {
		switch (c) {
		case 'b':
			bind_src = optarg;
			break;
		case 'T':
			ping_type = atoi(optarg);
			break;
		case 't':
			timeout_ms = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[-optind + 1], "connect") == 0 && argc == 2)
		return cmd_connect(argv[0], (unsigned)atoi(argv[1]));
	if (strcmp(argv[-optind + 1], "udp") == 0 && argc == 2)
		return cmd_udp(argv[0], (unsigned)atoi(argv[1]));
	if (strcmp(argv[-optind + 1], "ping") == 0 && argc == 1)
		return cmd_ping(argv[0]);
	usage();
}
