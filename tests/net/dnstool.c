/*
 * dnstool - test driver for src/dns (tests/net/dns_view.sh).
 *
 *   dnstool serve [-u UPSTREAMS] [-f FLOOR_S] [-d DEADLINE_MS] [-q QPS]
 *       [-b BURST] NAME N
 *       plays the runner: creates gateway NAME with N sandboxes, starts
 *       the DNS view (upstreams default 192.0.2.53), audit JSON on
 *       stderr; commands on stdin, one reply line each:
 *         set SLOT ID refuse|- ALLOW,..|- DENY,..|-   attach / live change
 *         clear SLOT
 *         names SLOT ADDR      -> "names SLOT ADDR: n1 n2 ..."
 *         maps SLOT NAME ADDR  -> "maps yes|no"
 *         addrs SLOT NAME      -> "addrs NAME: a1 a2 ..."
 *         hold SLOT ADDR | release SLOT ADDR -> "held" | "released"
 *         stats                -> "stats queries=.. forwarded=.. ..."
 *         quit
 *   dnstool purge NAME
 *   dnstool query [-t] [-e] [-T MS] SERVER NAME [TYPE]
 *       one query (UDP, or TCP with -t; EDNS with -e); prints
 *       "rcode=R an=N tc=0|1 (Nms)" then one line per answer record
 *       ("A 192.0.2.11", "CNAME cname.test", "TXT", ...), or
 *       "timeout (Nms)" / "error ...".
 *   dnstool raw [-t] [-T MS] SERVER HEX
 *       sends HEX as the message; prints the reply's header as above.
 *   dnstool pipeline SERVER NAME...
 *       one TCP connection, every query sent, then half-closed, before
 *       reading; prints one line per reply: "reply NAME rcode=R an=N".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dns/dns.h"
#include "gateway/gateway.h"
#include "policy/policy.h"

#define MAXSB	16

static int	 timeout_ms = 3000;

static void	 usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: dnstool serve [-u UP] [-f FLOOR] "
	    "[-d DEADLINE] [-q QPS] [-b BURST] NAME N | purge NAME | query [-t] [-e] [-T MS] "
	    "SERVER NAME [TYPE] | raw [-t] [-T MS] SERVER HEX | "
	    "pipeline SERVER NAME...\n");
	exit(2);
}

static long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
parse_sa(const char *s, unsigned port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

/* ---- the client ---- */

static const struct {
	const char	*name;
	unsigned	 type;
} types[] = {
	{ "A", 1 }, { "NS", 2 }, { "CNAME", 5 }, { "SOA", 6 }, { "PTR", 12 },
	{ "MX", 15 }, { "TXT", 16 }, { "AAAA", 28 }, { "SRV", 33 },
	{ "OPT", 41 }, { "AXFR", 252 }, { "ANY", 255 },
};

static unsigned
type_num(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(s, types[i].name) == 0)
			return types[i].type;
	return (unsigned)atoi(s);
}

static const char *
type_name(unsigned t)
{
	static char	 buf[16];
	size_t		 i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == t)
			return types[i].name;
	snprintf(buf, sizeof(buf), "TYPE%u", t);
	return buf;
}

static const char *
rcode_name(unsigned r)
{
	static const char *const n[] = { "NOERROR", "FORMERR", "SERVFAIL",
	    "NXDOMAIN", "NOTIMP", "REFUSED" };

	return r < 6 ? n[r] : "OTHER";
}

static size_t
build_query(uint8_t *b, const char *name, unsigned type, int edns,
    uint16_t id)
{
	size_t		 o = 12, l;
	const char	*p = name, *dot;

	memset(b, 0, 12);
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
	b[2] = 0x01;	/* RD */
	b[5] = 1;
	b[11] = edns ? 1 : 0;
	while (*p != '\0') {
		dot = strchr(p, '.');
		l = dot ? (size_t)(dot - p) : strlen(p);
		if (l > 63)
			l = 63;
		b[o++] = (uint8_t)l;
		memcpy(b + o, p, l);
		o += l;
		p += l;
		if (*p == '.')
			p++;
	}
	b[o++] = 0;
	b[o++] = (uint8_t)(type >> 8);
	b[o++] = (uint8_t)type;
	b[o++] = 0;
	b[o++] = 1;
	if (edns) {
		static const uint8_t opt[11] = { 0, 0, 41, 0x04, 0xd0 };

		memcpy(b + o, opt, 11);
		o += 11;
	}
	return o;
}

static int
wait_fd(int fd, short ev, long deadline)
{
	struct pollfd	 p = { fd, ev, 0 };
	long		 left = deadline - now_ms();

	if (left < 0)
		left = 0;
	return poll(&p, 1, (int)left);
}

/* Reads exactly n bytes by the deadline. */
static int
read_full(int fd, uint8_t *b, size_t n, long deadline)
{
	size_t	 got = 0;
	ssize_t	 r;

	while (got < n) {
		if (wait_fd(fd, POLLIN, deadline) <= 0)
			return -1;
		if ((r = read(fd, b + got, n - got)) <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Skips a (compressed) name; returns the new offset or 0. */
static size_t
skip_name(const uint8_t *m, size_t len, size_t o)
{
	while (o < len) {
		if (m[o] == 0)
			return o + 1;
		if ((m[o] & 0xc0) == 0xc0)
			return o + 2 <= len ? o + 2 : 0;
		o += 1 + (size_t)m[o];
	}
	return 0;
}

static void
read_name(const uint8_t *m, size_t len, size_t o, char *out, size_t outlen)
{
	size_t	 n = 0;
	int	 hops = 0;

	out[0] = '\0';
	while (o < len && hops < 64) {
		if (m[o] == 0)
			break;
		if ((m[o] & 0xc0) == 0xc0) {
			if (o + 1 >= len)
				break;
			o = (size_t)(m[o] & 0x3f) << 8 | m[o + 1];
			hops++;
			continue;
		}
		if (n > 0 && n + 1 < outlen)
			out[n++] = '.';
		for (size_t k = 1; k <= m[o] && o + k < len && n + 1 < outlen;
		    k++)
			out[n++] = (char)m[o + k];
		o += 1 + (size_t)m[o];
	}
	out[n] = '\0';
}

static void
print_reply(const uint8_t *m, size_t len, long t0)
{
	unsigned	 an, qd, i, type, rdlen;
	size_t		 o = 12;
	char		 buf[300];

	if (len < 12) {
		printf("error short reply (%zu bytes)\n", len);
		return;
	}
	qd = (unsigned)(m[4] << 8 | m[5]);
	an = (unsigned)(m[6] << 8 | m[7]);
	printf("rcode=%s an=%u tc=%d qd=%u id=%u (%ldms)\n",
	    rcode_name(m[3] & 0xf), an, (m[2] & 0x02) ? 1 : 0, qd,
	    (unsigned)(m[0] << 8 | m[1]), now_ms() - t0);
	for (i = 0; i < qd && o; i++)
		if ((o = skip_name(m, len, o)) != 0)
			o += 4;
	for (i = 0; i < an && o && o + 10 <= len; i++) {
		size_t own = o;

		if ((o = skip_name(m, len, o)) == 0 || o + 10 > len)
			break;
		type = (unsigned)(m[o] << 8 | m[o + 1]);
		rdlen = (unsigned)(m[o + 8] << 8 | m[o + 9]);
		o += 10;
		if (o + rdlen > len)
			break;
		read_name(m, len, own, buf, sizeof(buf));
		printf("  owner %s\n", buf);
		if (type == 1 && rdlen == 4)
			printf("A %s\n", inet_ntop(AF_INET, m + o, buf,
			    sizeof(buf)));
		else if (type == 28 && rdlen == 16)
			printf("AAAA %s\n", inet_ntop(AF_INET6, m + o, buf,
			    sizeof(buf)));
		else if (type == 5) {
			read_name(m, len, o, buf, sizeof(buf));
			printf("CNAME %s\n", buf);
		} else
			printf("%s\n", type_name(type));
		o += rdlen;
	}
}

static int
exchange(int tcp, const char *server, const uint8_t *q, size_t qlen)
{
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	uint8_t			 buf[65536 + 2];
	long			 t0 = now_ms(), deadline = t0 + timeout_ms;
	ssize_t			 n;
	int			 fd;

	if (parse_sa(server, 53, &sa, &salen) == -1) {
		printf("error bad server '%s'\n", server);
		return 1;
	}
	fd = socket(sa.ss_family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, salen) == -1) {
		printf("error connect: %s (%ldms)\n", strerror(errno),
		    now_ms() - t0);
		return 0;
	}
	if (tcp) {
		buf[0] = (uint8_t)(qlen >> 8);
		buf[1] = (uint8_t)qlen;
		memcpy(buf + 2, q, qlen);
		if (write(fd, buf, qlen + 2) != (ssize_t)(qlen + 2) ||
		    read_full(fd, buf, 2, deadline) == -1) {
			printf("timeout (%ldms)\n", now_ms() - t0);
			return 0;
		}
		n = buf[0] << 8 | buf[1];
		if (read_full(fd, buf, (size_t)n, deadline) == -1) {
			printf("timeout (%ldms)\n", now_ms() - t0);
			return 0;
		}
	} else {
		if (send(fd, q, qlen, 0) == -1) {
			printf("error send: %s\n", strerror(errno));
			return 0;
		}
		if (wait_fd(fd, POLLIN, deadline) <= 0) {
			printf("timeout (%ldms)\n", now_ms() - t0);
			return 0;
		}
		if ((n = recv(fd, buf, sizeof(buf), 0)) == -1) {
			printf("error recv: %s (%ldms)\n", strerror(errno),
			    now_ms() - t0);
			return 0;
		}
	}
	print_reply(buf, (size_t)n, t0);
	close(fd);
	return 0;
}

static int
cmd_query(int argc, char **argv)
{
	uint8_t	 q[600];
	int	 c, tcp = 0, edns = 0;

	optind = 1;
	while ((c = getopt(argc, argv, "teT:")) != -1) {
		switch (c) {
		case 't':
			tcp = 1;
			break;
		case 'e':
			edns = 1;
			break;
		case 'T':
			timeout_ms = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc > 3 || strlen(argv[1]) > 253)
		usage();
	return exchange(tcp, argv[0], q, build_query(q, argv[1],
	    argc == 3 ? type_num(argv[2]) : 1, edns,
	    (uint16_t)(getpid() ^ now_ms())));
}

static int
cmd_raw(int argc, char **argv)
{
	uint8_t	 q[4096];
	size_t	 n = 0, i, hl;
	int	 c, tcp = 0;

	optind = 1;
	while ((c = getopt(argc, argv, "tT:")) != -1) {
		switch (c) {
		case 't':
			tcp = 1;
			break;
		case 'T':
			timeout_ms = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || (hl = strlen(argv[1])) % 2 != 0 || hl / 2 > sizeof(q))
		usage();
	for (i = 0; i < hl; i += 2) {
		unsigned v;

		if (sscanf(argv[1] + i, "%2x", &v) != 1)
			usage();
		q[n++] = (uint8_t)v;
	}
	return exchange(tcp, argv[0], q, n);
}

static int
cmd_pipeline(int argc, char **argv)
{
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	uint8_t			 q[600], buf[65536];
	long			 deadline = now_ms() + timeout_ms;
	size_t			 len;
	int			 fd, i, id, n;

	if (argc < 2 || parse_sa(argv[0], 53, &sa, &salen) == -1)
		usage();
	fd = socket(sa.ss_family, SOCK_STREAM, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, salen) == -1) {
		printf("error connect: %s\n", strerror(errno));
		return 0;
	}
	for (i = 1; i < argc; i++) {
		len = build_query(q + 2, argv[i], 1, 0, (uint16_t)i);
		q[0] = (uint8_t)(len >> 8);
		q[1] = (uint8_t)len;
		if (write(fd, q, len + 2) != (ssize_t)(len + 2)) {
			printf("error write\n");
			return 0;
		}
	}
	/* Half-closed, as some clients do: the answers must still come. */
	shutdown(fd, SHUT_WR);
	for (i = 1; i < argc; i++) {
		if (read_full(fd, buf, 2, deadline) == -1 ||
		    read_full(fd, buf, (size_t)(n = buf[0] << 8 | buf[1]),
		    deadline) == -1 || n < 12) {
			printf("timeout\n");
			return 0;
		}
		id = buf[0] << 8 | buf[1];
		printf("reply %s rcode=%s an=%u\n",
		    id >= 1 && id < argc ? argv[id] : "?",
		    rcode_name(buf[3] & 0xf), (unsigned)(buf[6] << 8 | buf[7]));
	}
	close(fd);
	return 0;
}

/* ---- the runner ---- */

struct srv {
	struct gateway		*gw;
	struct dnsview		*dv;
	struct gw_sandbox	*sb[MAXSB];
	int			 nsb;
};

/* "a,b,c" or "-" -> array (pointers into s). */
static size_t
split(char *s, char **out, size_t max)
{
	size_t	 n = 0;
	char	*tok, *save = NULL;

	if (strcmp(s, "-") == 0)
		return 0;
	for (tok = strtok_r(s, ",", &save); tok != NULL && n < max;
	    tok = strtok_r(NULL, ",", &save))
		out[n++] = tok;
	return n;
}

static int
slot_arg(struct srv *s, const char *a, unsigned *slot)
{
	char	*end;

	/* Any number: the view itself must refuse a slot out of range. */
	(void)s;
	*slot = (unsigned)strtoul(a, &end, 10);
	if (*end != '\0' || *a == '\0') {
		printf("error bad slot '%s'\n", a);
		return -1;
	}
	return 0;
}

static int
addr_arg(const char *a, struct sockaddr_storage *ss)
{
	socklen_t	 len;

	if (parse_sa(a, 0, ss, &len) == -1) {
		printf("error bad address '%s'\n", a);
		return -1;
	}
	return 0;
}

static void
srv_set(struct srv *s, char **w, int n)
{
	char		*allow[64], *deny[64];
	size_t		 na, nd;
	struct policy	*p;
	struct ir_err	 err;
	unsigned	 slot;

	if (n != 6 || slot_arg(s, w[1], &slot) == -1) {
		if (n != 6)
			printf("error usage: set SLOT ID FLAGS ALLOW DENY\n");
		return;
	}
	na = split(w[4], allow, 64);
	nd = split(w[5], deny, 64);
	if ((p = policy_compile((const char *const *)allow, na,
	    (const char *const *)deny, nd, &err)) == NULL) {
		printf("error %s\n", err.msg);
		return;
	}
	if (dnsview_sandbox_set(s->dv, slot, w[2], p,
	    strcmp(w[3], "refuse") == 0 ? DNSVIEW_REFUSE : 0, &err) == -1)
		printf("error %s\n", err.msg);
	else
		printf("set %u\n", slot);
	policy_free(p);
}

static void
srv_names(struct srv *s, char **w, int n)
{
	struct sockaddr_storage	 ss;
	struct pol_name		 names[16];
	char			 buf[4096];
	unsigned		 slot;
	size_t			 k, i;

	if (n != 3 || slot_arg(s, w[1], &slot) == -1 ||
	    addr_arg(w[2], &ss) == -1)
		return;
	k = dnsview_names(s->dv, slot, (struct sockaddr *)&ss, names, 16,
	    buf, sizeof(buf));
	printf("names %u %s:", slot, w[2]);
	for (i = 0; i < k; i++)
		printf(" %.*s", (int)names[i].len, names[i].s);
	printf("\n");
}

static void
srv_command(struct srv *s, char *line, int *quit)
{
	struct sockaddr_storage	 ss, out[128];
	struct dnsview_stats	 st;
	char			*w[8], *save = NULL, a[INET6_ADDRSTRLEN];
	unsigned		 slot;
	size_t			 k, i;
	int			 n = 0;

	for (char *tok = strtok_r(line, " \t\n", &save); tok != NULL && n < 8;
	    tok = strtok_r(NULL, " \t\n", &save))
		w[n++] = tok;
	if (n == 0)
		return;
	if (strcmp(w[0], "set") == 0)
		srv_set(s, w, n);
	else if (strcmp(w[0], "clear") == 0 && n == 2) {
		if (slot_arg(s, w[1], &slot) == 0) {
			dnsview_sandbox_clear(s->dv, slot);
			printf("cleared %u\n", slot);
		}
	} else if (strcmp(w[0], "names") == 0)
		srv_names(s, w, n);
	else if (strcmp(w[0], "maps") == 0 && n == 4) {
		if (slot_arg(s, w[1], &slot) == 0 && addr_arg(w[3], &ss) == 0)
			printf("maps %s\n", dnsview_maps(s->dv, slot, w[2],
			    strlen(w[2]), (struct sockaddr *)&ss) ? "yes" :
			    "no");
	} else if (strcmp(w[0], "addrs") == 0 && n == 3) {
		if (slot_arg(s, w[1], &slot) == -1)
			return;
		k = dnsview_addrs(s->dv, slot, w[2], strlen(w[2]), out, 128);
		printf("addrs %s:", w[2]);
		for (i = 0; i < k; i++) {
			if (out[i].ss_family == AF_INET)
				inet_ntop(AF_INET, &((struct sockaddr_in *)
				    &out[i])->sin_addr, a, sizeof(a));
			else
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)
				    &out[i])->sin6_addr, a, sizeof(a));
			printf(" %s", a);
		}
		printf("\n");
	} else if ((strcmp(w[0], "hold") == 0 ||
	    strcmp(w[0], "release") == 0) && n == 3) {
		if (slot_arg(s, w[1], &slot) == -1 || addr_arg(w[2], &ss) == -1)
			return;
		if (w[0][0] == 'h') {
			dnsview_hold(s->dv, slot, (struct sockaddr *)&ss);
			printf("held\n");
		} else {
			dnsview_release(s->dv, slot, (struct sockaddr *)&ss);
			printf("released\n");
		}
	} else if (strcmp(w[0], "stats") == 0) {
		dnsview_stats(s->dv, &st);
		printf("stats queries=%llu forwarded=%llu blocked=%llu "
		    "errors=%llu servfail=%llu stripped=%llu dropped=%llu "
		    "tcp=%llu cache_full=%llu cached=%llu limited=%llu\n",
		    (unsigned long long)st.ds_queries,
		    (unsigned long long)st.ds_forwarded,
		    (unsigned long long)st.ds_blocked,
		    (unsigned long long)st.ds_errors,
		    (unsigned long long)st.ds_servfail,
		    (unsigned long long)st.ds_stripped,
		    (unsigned long long)st.ds_dropped,
		    (unsigned long long)st.ds_tcp,
		    (unsigned long long)st.ds_cache_full,
		    (unsigned long long)st.ds_cached,
		    (unsigned long long)st.ds_limited);
	} else if (strcmp(w[0], "quit") == 0)
		*quit = 1;
	else
		printf("error unknown command '%s'\n", w[0]);
}

static volatile sig_atomic_t	 got_term;

static void
on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static int
cmd_serve(int argc, char **argv)
{
	struct srv		 s;
	struct gateway_config	 gc;
	struct dnsview_config	 dc;
	struct pol_guard	*guard;
	struct ir_err		 err;
	struct sigaction	 sa;
	char			 line[4096];
	int			 c, i, quit = 0, rc = 1;

	dnsview_config_default(&dc);
	dc.dc_servers = "192.0.2.53";
	optind = 1;
	while ((c = getopt(argc, argv, "u:f:d:q:b:")) != -1) {
		switch (c) {
		case 'u':
			dc.dc_servers = optarg;
			break;
		case 'q':
			dc.dc_sb_qps = (unsigned)atoi(optarg);
			break;
		case 'b':
			dc.dc_sb_burst = (unsigned)atoi(optarg);
			break;
		case 'f':
			dc.dc_ttl_floor_s = (unsigned)atoi(optarg);
			break;
		case 'd':
			dc.dc_deadline_ms = (unsigned)atoi(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(&s, 0, sizeof(s));
	if ((guard = pol_guard_compile(pol_guard_defaults, pol_guard_ndefaults,
	    &err)) == NULL) {
		printf("error %s\n", err.msg);
		return 1;
	}
	gateway_config_default(&gc);
	gc.gc_name = argv[0];
	dc.dc_port = gc.gc_dns_port;
	if ((s.gw = gateway_create(&gc, &err)) == NULL) {
		printf("error %s\n", err.msg);
		pol_guard_free(guard);
		return 1;
	}
	s.nsb = atoi(argv[1]);
	if (s.nsb < 0 || s.nsb > MAXSB)
		s.nsb = 0;
	for (i = 0; i < s.nsb; i++) {
		struct gw_sandbox_info si;

		if ((s.sb[i] = gateway_sandbox_add(s.gw, &err)) == NULL) {
			printf("error %s\n", err.msg);
			goto out;
		}
		gateway_sandbox_info(s.sb[i], &si);
		printf("sandbox %u %s %s\n", si.si_slot, si.si_netns,
		    inet_ntop(AF_INET, &si.si_gw4, line, sizeof(line)));
	}
	if ((s.dv = dnsview_start(s.gw, &dc, guard, &err)) == NULL) {
		printf("error %s\n", err.msg);
		goto out;
	}
	printf("ready\n");
	/* SIGTERM interrupts the read (no SA_RESTART): fgets returns NULL. */
	while (!quit && !got_term && fgets(line, sizeof(line), stdin) != NULL)
		srv_command(&s, line, &quit);
	rc = 0;
out:
	dnsview_stop(s.dv);
	gateway_destroy(s.gw);
	pol_guard_free(guard);
	printf("stopped\n");
	return rc;
}

int
main(int argc, char **argv)
{
	struct ir_err	 err;

	if (argc < 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "purge") == 0 && argc == 3) {
		if (gateway_purge(argv[2], &err) == -1) {
			printf("error %s\n", err.msg);
			return 1;
		}
		return 0;
	}
	if (strcmp(argv[1], "query") == 0)
		return cmd_query(argc - 1, argv + 1);
	if (strcmp(argv[1], "raw") == 0)
		return cmd_raw(argc - 1, argv + 1);
	if (strcmp(argv[1], "pipeline") == 0)
		return cmd_pipeline(argc - 2, argv + 2);
	usage();
}
