/*
 * loadtool.c - clients and far-end server of the load benchmarks
 * (bench/load/{flood,conns}; issues 7 and 8). Plain sockets only: it links
 * nothing of isorun, so the scripts build it with one cc line.
 *
 *   loadtool server [-p PROCS] MODE=PORT...
 *	MODE: http (GET /bytes/N answers N bytes, keep-alive), echo, stat
 *	(answers one line of counters and closes). PROCS processes (4) share
 *	each port with SO_REUSEPORT, so that accepts are spread over several
 *	descriptor limits. Prints "ready"; runs until SIGTERM.
 *   loadtool query ADDR PORT
 *	prints what a stat port says.
 *   loadtool flood -n COUNT [-p PROCS] [-c INFLIGHT] [-w SECONDS]
 *	    [-r PER_SECOND] TARGET...
 *	COUNT connection attempts (spread over PROCS processes, each keeping
 *	INFLIGHT in flight, paced at PER_SECOND in all if given), to the
 *	TARGETs in turn: ADDR:PORT (a reset is expected) or ADDR:PORT@HOST
 *	(an HTTP request with that Host is sent once connected; a 403 is
 *	expected). An attempt unanswered after SECONDS (5) is a timeout.
 *	Prints one line of outcomes and the CPU time the processes used.
 *   loadtool fetch ADDR PORT PATH [-m MAXSECONDS] [-i USEC]
 *	one HTTP/1.1 GET per new connection, in a loop (one started every
 *	USEC at most, if given), until SIGINT, SIGTERM or MAXSECONDS; each
 *	answer's body is checked against its Content-Length. Prints counts,
 *	latency percentiles and throughput.
 *   loadtool hold -n PER_NETNS [-c INFLIGHT] [-t SECONDS] TARGETS NETNS...
 *	in each network namespace (a path such as /run/netns/X), PER_NETNS
 *	connections to the comma-separated ADDR:PORT TARGETS in turn, each
 *	verified by an echo of a token of its own. Prints "held ..." when
 *	every one is verified or failed (what is still under way after
 *	SECONDS, 120, has failed), holds them until stdin ends, echoes a
 *	second token on each (prints "recheck ...") and closes them.
 *
 * Every output is one line of key=value pairs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS	32
#define MAX_TARGETS	64
#define MAX_LISTEN	8
#define HEAD_MAX	4096
#define BODY_CHUNK	(256 * 1024)

static volatile sig_atomic_t	 stop;

static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list	 ap;

	fputs("loadtool: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void
on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void
signals_catch(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESTART;	/* a fetch under way completes */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The soft descriptor limit at the hard one; returns it. */
static rlim_t
nofile_raise(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

static unsigned long
num_arg(const char *s, const char *what, unsigned long min, unsigned long max)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		die("%s: '%s' is not a number in %lu..%lu", what, s, min, max);
	return v;
}

/* ADDR:PORT or [ADDR6]:PORT. */
static void
addr_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;
	char			 host[INET6_ADDRSTRLEN + 2];
	const char		*colon;
	size_t			 n;
	unsigned long		 port;

	if ((colon = strrchr(spec, ':')) == NULL)
		die("'%s': want ADDR:PORT", spec);
	n = (size_t)(colon - spec);
	if (n >= sizeof(host))
		die("'%s': address too long", spec);
	memcpy(host, spec, n);
	host[n] = '\0';
	port = num_arg(colon + 1, "port", 1, 65535);
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			die("'%s': bad IPv6 address", spec);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
	} else {
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			die("'%s': bad IPv4 address", spec);
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
	}
}

/* A non-blocking connect under way; -1 with errno on an immediate error. */
static int
dial_nb(const struct sockaddr_storage *ss, socklen_t len)
{
	int	 fd;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)ss, len) == -1 &&
	    errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char	*c = p;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---------------------------------------------------------------- server */

struct srv_stats {
	uint64_t	 ss_http_conns;
	uint64_t	 ss_http_requests;	/* answers sent whole */
	uint64_t	 ss_http_bytes;		/* body bytes sent */
	uint64_t	 ss_echo_conns;		/* accepted */
	uint64_t	 ss_echo_open;		/* open now */
	uint64_t	 ss_echo_peak;
	uint64_t	 ss_echo_bytes;
	uint64_t	 ss_accept_errors;	/* EMFILE and friends */
	uint64_t	 ss_procs;
	uint64_t	 ss_proc_open[MAX_PROCS];
};

enum lmode { L_HTTP, L_ECHO, L_STAT };

struct lsock {
	enum lmode	 l_mode;
	uint16_t	 l_port;
	int		 l_fd;
};

struct sconn {
	enum lmode	 c_mode;
	int		 c_fd;
	size_t		 c_in;		/* head bytes, or echo bytes pending */
	uint64_t	 c_left;	/* body bytes still to send */
	int		 c_keep;	/* keep-alive after this answer */
	char		 c_buf[HEAD_MAX];
};

static struct srv_stats	*sst;
static char		 pattern[BODY_CHUNK];
static int		 srv_index;

static void
cnt(uint64_t *v, int64_t d)
{
	__atomic_add_fetch(v, (uint64_t)d, __ATOMIC_RELAXED);
}

static uint64_t
cnt_get(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static void
sconn_close(int ep, struct sconn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->c_fd, NULL);
	close(c->c_fd);
	if (c->c_mode == L_ECHO) {
		cnt(&sst->ss_echo_open, -1);
		cnt(&sst->ss_proc_open[srv_index], -1);
	}
	free(c);
}

/* Parses a complete head in c_buf; 0, or -1 for a bad request. */
static int
http_head(struct sconn *c, size_t headlen)
{
	char	*p, *line_end;
	unsigned long long n = 0;

	c->c_buf[headlen - 1] = '\0';
	if (strncmp(c->c_buf, "GET ", 4) != 0)
		return -1;
	p = c->c_buf + 4;
	if (strncmp(p, "/bytes/", 7) == 0)
		n = strtoull(p + 7, NULL, 10);
	if (n > (1ull << 34))
		return -1;
	line_end = strstr(c->c_buf, "\r\n");
	c->c_keep = line_end == NULL ||
	    strcasestr(line_end, "\nConnection: close") == NULL;
	c->c_left = n;
	return 0;
}

/* Sends what it can of the answer; 1 when done, 0 on EAGAIN, -1. */
static int
http_send(struct sconn *c)
{
	ssize_t	 w;
	size_t	 k;

	while (c->c_left > 0) {
		k = c->c_left < sizeof(pattern) ? (size_t)c->c_left :
		    sizeof(pattern);
		if ((w = send(c->c_fd, pattern, k, MSG_NOSIGNAL)) == -1)
			return errno == EAGAIN ? 0 : -1;
		c->c_left -= (uint64_t)w;
		cnt(&sst->ss_http_bytes, w);
	}
	return 1;
}

static void
http_io(int ep, struct sconn *c)
{
	char		 hdr[160];
	char		*end;
	ssize_t		 r;
	size_t		 hl;
	int		 n, rc;
	struct epoll_event ev;

	for (;;) {
		if (c->c_left > 0) {
			if ((rc = http_send(c)) == -1)
				goto done;
			if (rc == 0) {
				ev.events = EPOLLOUT;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->c_fd, &ev);
				return;
			}
			cnt(&sst->ss_http_requests, 1);
			if (!c->c_keep)
				goto done;
			ev.events = EPOLLIN;
			ev.data.ptr = c;
			epoll_ctl(ep, EPOLL_CTL_MOD, c->c_fd, &ev);
		}
		end = c->c_in > 0 ? memmem(c->c_buf, c->c_in, "\r\n\r\n", 4) :
		    NULL;
		if (end == NULL) {
			if (c->c_in == sizeof(c->c_buf))
				goto done;
			r = read(c->c_fd, c->c_buf + c->c_in,
			    sizeof(c->c_buf) - c->c_in);
			if (r == -1 && errno == EAGAIN)
				return;
			if (r <= 0)
				goto done;
			c->c_in += (size_t)r;
			continue;
		}
		hl = (size_t)(end - c->c_buf) + 4;
		if (http_head(c, hl) == -1)
			goto done;
		memmove(c->c_buf, c->c_buf + hl, c->c_in - hl);
		c->c_in -= hl;
		n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\n"
		    "Content-Length: %llu\r\nContent-Type: "
		    "application/octet-stream\r\n%s\r\n",
		    (unsigned long long)c->c_left,
		    c->c_keep ? "" : "Connection: close\r\n");
		/* A fresh head after the last answer: the buffer is empty. */
		if (write_all(c->c_fd, hdr, (size_t)n) == -1)
			goto done;
		if (c->c_left == 0) {
			cnt(&sst->ss_http_requests, 1);
			if (!c->c_keep)
				goto done;
		}
	}
done:
	sconn_close(ep, c);
}

static void
echo_io(int ep, struct sconn *c)
{
	struct epoll_event ev;
	ssize_t		 r, w;

	for (;;) {
		if (c->c_in > 0) {
			w = send(c->c_fd, c->c_buf, c->c_in, MSG_NOSIGNAL);
			if (w == -1 && errno == EAGAIN) {
				ev.events = EPOLLOUT;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->c_fd, &ev);
				return;
			}
			if (w <= 0)
				goto done;
			memmove(c->c_buf, c->c_buf + w, c->c_in - (size_t)w);
			c->c_in -= (size_t)w;
			cnt(&sst->ss_echo_bytes, w);
			if (c->c_in == 0) {
				ev.events = EPOLLIN | EPOLLRDHUP;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->c_fd, &ev);
			}
			continue;
		}
		r = read(c->c_fd, c->c_buf, sizeof(c->c_buf));
		if (r == -1 && errno == EAGAIN)
			return;
		if (r <= 0)
			goto done;
		c->c_in = (size_t)r;
	}
done:
	sconn_close(ep, c);
}

static void
stat_answer(int fd)
{
	char		 line[512];
	uint64_t	 open_max = 0, open_min = UINT64_MAX, v;
	int		 i, n, procs = (int)sst->ss_procs;

	for (i = 0; i < procs; i++) {
		v = cnt_get(&sst->ss_proc_open[i]);
		open_max = v > open_max ? v : open_max;
		open_min = v < open_min ? v : open_min;
	}
	n = snprintf(line, sizeof(line), "http_conns=%llu http_requests=%llu "
	    "http_bytes=%llu echo_conns=%llu echo_open=%llu echo_peak=%llu "
	    "echo_bytes=%llu accept_errors=%llu echo_open_per_proc=%llu..%llu\n",
	    (unsigned long long)cnt_get(&sst->ss_http_conns),
	    (unsigned long long)cnt_get(&sst->ss_http_requests),
	    (unsigned long long)cnt_get(&sst->ss_http_bytes),
	    (unsigned long long)cnt_get(&sst->ss_echo_conns),
	    (unsigned long long)cnt_get(&sst->ss_echo_open),
	    (unsigned long long)cnt_get(&sst->ss_echo_peak),
	    (unsigned long long)cnt_get(&sst->ss_echo_bytes),
	    (unsigned long long)cnt_get(&sst->ss_accept_errors),
	    (unsigned long long)(open_min == UINT64_MAX ? 0 : open_min),
	    (unsigned long long)open_max);
	(void)write_all(fd, line, (size_t)n);
}

static void
srv_accept(int ep, struct lsock *l)
{
	struct epoll_event ev;
	struct sconn	*c;
	uint64_t	 open, peak;
	int		 fd, one = 1;

	for (;;) {
		fd = accept4(l->l_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EINTR)
				cnt(&sst->ss_accept_errors, 1);
			return;
		}
		if (l->l_mode == L_STAT) {
			int fl = fcntl(fd, F_GETFL);
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
			stat_answer(fd);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->c_mode = l->l_mode;
		c->c_fd = fd;
		if (c->c_mode == L_ECHO) {
			cnt(&sst->ss_echo_conns, 1);
			cnt(&sst->ss_proc_open[srv_index], 1);
			open = __atomic_add_fetch(&sst->ss_echo_open, 1,
			    __ATOMIC_RELAXED);
			peak = cnt_get(&sst->ss_echo_peak);
			while (open > peak && !__atomic_compare_exchange_n(
			    &sst->ss_echo_peak, &peak, open, 0,
			    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
				;
		} else
			cnt(&sst->ss_http_conns, 1);
		ev.events = EPOLLIN | (c->c_mode == L_ECHO ? EPOLLRDHUP : 0);
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
			close(fd);
			free(c);
		}
	}
}

static int
srv_socket(uint16_t port)
{
	struct sockaddr_in6 sa;
	int		 fd, one = 1, zero = 0;

	if ((fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_addr = in6addr_any;
	sa.sin6_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		die("bind port %u: %s", port, strerror(errno));
	if (listen(fd, 4096) == -1)
		die("listen: %s", strerror(errno));
	return fd;
}

static void
srv_child(struct lsock *ls, int nls, int ready)
{
	struct epoll_event ev, evs[256];
	int		 ep, i, n;
	char		 ok = 'r';

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll: %s", strerror(errno));
	for (i = 0; i < nls; i++) {
		ls[i].l_fd = srv_socket(ls[i].l_port);
		ev.events = EPOLLIN;
		ev.data.ptr = &ls[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, ls[i].l_fd, &ev);
	}
	(void)write_all(ready, &ok, 1);
	close(ready);
	while (!stop) {
		n = epoll_wait(ep, evs, 256, 500);
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p >= (void *)ls && p < (void *)(ls + nls))
				srv_accept(ep, p);
			else if (((struct sconn *)p)->c_mode == L_HTTP)
				http_io(ep, p);
			else
				echo_io(ep, p);
		}
	}
	_exit(0);
}

static int
cmd_server(int argc, char **argv)
{
	struct lsock	 ls[MAX_LISTEN];
	pid_t		 pids[MAX_PROCS];
	int		 nls = 0, procs = 4, i, opt, p[2];
	char		 c;

	while ((opt = getopt(argc, argv, "p:")) != -1) {
		if (opt == 'p')
			procs = (int)num_arg(optarg, "-p", 1, MAX_PROCS);
		else
			die("usage: server [-p PROCS] MODE=PORT...");
	}
	for (i = optind; i < argc && nls < MAX_LISTEN; i++) {
		char *eq = strchr(argv[i], '=');
		if (eq == NULL)
			die("'%s': want MODE=PORT", argv[i]);
		*eq = '\0';
		if (strcmp(argv[i], "http") == 0)
			ls[nls].l_mode = L_HTTP;
		else if (strcmp(argv[i], "echo") == 0)
			ls[nls].l_mode = L_ECHO;
		else if (strcmp(argv[i], "stat") == 0)
			ls[nls].l_mode = L_STAT;
		else
			die("unknown mode '%s'", argv[i]);
		ls[nls++].l_port = (uint16_t)num_arg(eq + 1, "port", 1, 65535);
	}
	if (nls == 0)
		die("server: no MODE=PORT");
	nofile_raise();
	sst = mmap(NULL, sizeof(*sst), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sst == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	sst->ss_procs = (uint64_t)procs;
	for (i = 0; i < (int)sizeof(pattern); i++)
		pattern[i] = (char)('a' + i % 26);
	if (pipe(p) == -1)
		die("pipe: %s", strerror(errno));
	signals_catch();
	for (i = 0; i < procs; i++) {
		if ((pids[i] = fork()) == -1)
			die("fork: %s", strerror(errno));
		if (pids[i] == 0) {
			close(p[0]);
			srv_index = i;
			srv_child(ls, nls, p[1]);
		}
	}
	close(p[1]);
	for (i = 0; i < procs; i++)
		if (read(p[0], &c, 1) != 1)
			die("a server process did not start");
	close(p[0]);
	printf("ready procs=%d\n", procs);
	fflush(stdout);
	while (!stop)
		pause();
	for (i = 0; i < procs; i++)
		kill(pids[i], SIGTERM);
	for (i = 0; i < procs; i++)
		waitpid(pids[i], NULL, 0);
	return 0;
}

static int
cmd_query(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t	 len;
	char		 buf[1024], spec[128];
	ssize_t		 r;
	size_t		 n = 0;
	int		 fd;

	if (argc != 3)
		die("usage: query ADDR PORT");
	snprintf(spec, sizeof(spec), "%s:%s", argv[1], argv[2]);
	addr_parse(spec, &ss, &len);
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&ss, len) == -1)
		die("query %s: %s", spec, strerror(errno));
	while (n < sizeof(buf) - 1 &&
	    (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	fputs(buf, stdout);
	close(fd);
	return 0;
}

/* ----------------------------------------------------------------- flood */

struct target {
	struct sockaddr_storage	 t_addr;
	socklen_t		 t_len;
	const char		*t_host;	/* NULL: a reset is expected */
};

enum { F_REFUSED, F_RESET_AFTER, F_DENIED, F_CONNECTED, F_OTHER_ANSWER,
	F_EOF, F_TIMEOUT, F_DIAL_ERROR, F_SOCK_ERROR, NOUT };
static const char *const out_name[NOUT] = { "refused", "reset",
	"denied403", "answered_unexpectedly", "other_answer",
	"eof_without_answer", "timeout", "dial_error", "socket_error" };

struct fconn {
	int		 f_fd;
	int		 f_target;
	int		 f_sent;
	double		 f_t0;
	size_t		 f_in;
	char		 f_buf[64];
};

static void
flood_child(struct target *tg, int ntg, unsigned long count,
    unsigned long first, int inflight, double wait_s, double rate, int out)
{
	struct epoll_event ev, evs[256];
	struct fconn	*fc;
	uint64_t	 res[NOUT];
	unsigned long	 started = 0, done = 0;
	char		 req[512];
	int		 ep, i, n, err, reqlen;
	socklen_t	 sl;
	ssize_t		 r;
	double		 t, tstart;

	memset(res, 0, sizeof(res));
	tstart = now_s();
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll: %s", strerror(errno));
	if ((fc = calloc((size_t)inflight, sizeof(*fc))) == NULL)
		die("out of memory");
	for (i = 0; i < inflight; i++)
		fc[i].f_fd = -1;
	while (done < count) {
		for (i = 0; i < inflight && started < count; i++) {
			if (fc[i].f_fd != -1)
				continue;
			if (rate > 0 && (double)started >= (now_s() - tstart) *
			    rate)
				break;
			fc[i].f_target = (int)((first + started) % (unsigned)ntg);
			started++;
			fc[i].f_fd = dial_nb(&tg[fc[i].f_target].t_addr,
			    tg[fc[i].f_target].t_len);
			if (fc[i].f_fd == -1) {
				res[errno == ECONNREFUSED ? F_REFUSED :
				    F_DIAL_ERROR]++;
				done++;
				continue;
			}
			fc[i].f_sent = 0;
			fc[i].f_in = 0;
			fc[i].f_t0 = now_s();
			ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
			ev.data.u32 = (uint32_t)i;
			epoll_ctl(ep, EPOLL_CTL_ADD, fc[i].f_fd, &ev);
		}
		n = epoll_wait(ep, evs, 256, rate > 0 ? 1 : 100);
		t = now_s();
		for (i = 0; i < n; i++) {
			struct fconn *c = &fc[evs[i].data.u32];
			const struct target *g = &tg[c->f_target];
			int outcome = -1;

			if (c->f_fd == -1)
				continue;
			if (!c->f_sent) {
				err = 0;
				sl = sizeof(err);
				getsockopt(c->f_fd, SOL_SOCKET, SO_ERROR, &err,
				    &sl);
				if (err == ECONNREFUSED || err == ECONNRESET)
					outcome = F_REFUSED;
				else if (err != 0)
					outcome = F_SOCK_ERROR;
				else if (g->t_host == NULL) {
					/*
					 * TPROXY completes the handshake
					 * before the proxy decides: a reset
					 * follows at once.
					 */
					c->f_sent = 1;
					ev.events = EPOLLIN | EPOLLRDHUP;
					ev.data.u32 = evs[i].data.u32;
					epoll_ctl(ep, EPOLL_CTL_MOD, c->f_fd,
					    &ev);
				} else {
					reqlen = snprintf(req, sizeof(req),
					    "GET /flood HTTP/1.1\r\nHost: %s\r\n"
					    "\r\n", g->t_host);
					c->f_sent = 1;
					if (send(c->f_fd, req, (size_t)reqlen,
					    MSG_NOSIGNAL) != reqlen)
						outcome = F_SOCK_ERROR;
					else {
						ev.events = EPOLLIN | EPOLLRDHUP;
						ev.data.u32 = evs[i].data.u32;
						epoll_ctl(ep, EPOLL_CTL_MOD,
						    c->f_fd, &ev);
					}
				}
			} else {
				r = read(c->f_fd, c->f_buf + c->f_in,
				    sizeof(c->f_buf) - c->f_in);
				if (r > 0)
					c->f_in += (size_t)r;
				if (r == -1 && errno == EAGAIN)
					continue;
				if (r > 0 && g->t_host == NULL)
					outcome = F_CONNECTED;
				else if (c->f_in >= 12) {
					outcome = memcmp(c->f_buf,
					    "HTTP/1.1 403", 12) == 0 ? F_DENIED :
					    F_OTHER_ANSWER;
				} else if (r == 0)
					outcome = F_EOF;
				else if (r == -1 && errno != EAGAIN)
					outcome = F_RESET_AFTER;
			}
			if (outcome >= 0) {
				res[outcome]++;
				done++;
				close(c->f_fd);	/* epoll forgets it */
				c->f_fd = -1;
			}
		}
		for (i = 0; i < inflight; i++)
			if (fc[i].f_fd != -1 && t - fc[i].f_t0 > wait_s) {
				res[F_TIMEOUT]++;
				done++;
				close(fc[i].f_fd);
				fc[i].f_fd = -1;
			}
	}
	if (write_all(out, res, sizeof(res)) == -1)
		_exit(1);
	_exit(0);
}

static int
cmd_flood(int argc, char **argv)
{
	struct target	 tg[MAX_TARGETS];
	pid_t		 pids[MAX_PROCS];
	uint64_t	 res[NOUT], part[NOUT];
	unsigned long	 count = 0, each, first = 0;
	double		 t0, t1, wait_s = 5, rate = 0;
	struct rusage	 ru;
	int		 ntg = 0, procs = 4, inflight = 128, opt, i, j, p[2];
	int		 status, bad = 0;
	char		*at;

	while ((opt = getopt(argc, argv, "n:p:c:w:r:")) != -1) {
		switch (opt) {
		case 'n': count = num_arg(optarg, "-n", 1, 100000000); break;
		case 'p': procs = (int)num_arg(optarg, "-p", 1, MAX_PROCS); break;
		case 'c': inflight = (int)num_arg(optarg, "-c", 1, 8192); break;
		case 'w': wait_s = (double)num_arg(optarg, "-w", 1, 600); break;
		case 'r': rate = (double)num_arg(optarg, "-r", 0, 10000000); break;
		default: die("usage: flood -n COUNT [-p PROCS] [-c INFLIGHT] "
		    "[-w SECONDS] [-r PER_SECOND] TARGET...");
		}
	}
	if (count == 0 || optind >= argc)
		die("flood: -n COUNT and at least one TARGET");
	for (i = optind; i < argc && ntg < MAX_TARGETS; i++, ntg++) {
		if ((at = strchr(argv[i], '@')) != NULL)
			*at++ = '\0';
		tg[ntg].t_host = at;
		addr_parse(argv[i], &tg[ntg].t_addr, &tg[ntg].t_len);
	}
	nofile_raise();
	signal(SIGPIPE, SIG_IGN);
	if (pipe(p) == -1)
		die("pipe: %s", strerror(errno));
	t0 = now_s();
	for (i = 0; i < procs; i++) {
		each = count / (unsigned)procs + ((unsigned)i < count % (unsigned)procs);
		if ((pids[i] = fork()) == -1)
			die("fork: %s", strerror(errno));
		if (pids[i] == 0) {
			close(p[0]);
			flood_child(tg, ntg, each, first, inflight, wait_s,
			    rate / procs, p[1]);
		}
		first += each;
	}
	close(p[1]);
	memset(res, 0, sizeof(res));
	for (i = 0; i < procs; i++) {
		if (read(p[0], part, sizeof(part)) != (ssize_t)sizeof(part)) {
			bad = 1;
			continue;
		}
		for (j = 0; j < NOUT; j++)
			res[j] += part[j];
	}
	for (i = 0; i < procs; i++)
		if (waitpid(pids[i], &status, 0) == -1 || status != 0)
			bad = 1;
	t1 = now_s();
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("flood attempts=%lu procs=%d inflight=%d paced=%.0f seconds=%.3f "
	    "per_s=%.0f client_cpu_s=%.2f", count, procs, inflight, rate,
	    t1 - t0, (double)count / (t1 - t0),
	    (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	for (j = 0; j < NOUT; j++)
		printf(" %s=%llu", out_name[j], (unsigned long long)res[j]);
	printf(" child_failed=%d\n", bad);
	return bad;
}

/* ----------------------------------------------------------------- fetch */

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *v, size_t n, double p)
{
	size_t	 i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* One GET on a new connection; returns body bytes, or -1. */
static long long
fetch_one(const struct sockaddr_storage *ss, socklen_t len, const char *req,
    size_t reqlen, char *buf, size_t bufsz)
{
	long long	 body = 0, want = -1;
	size_t		 in = 0;
	ssize_t		 r;
	char		*end, *cl;
	int		 fd, one = 1;

	if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)ss, len) == -1 ||
	    write_all(fd, req, reqlen) == -1)
		goto fail;
	for (;;) {
		if ((r = read(fd, buf + in, bufsz - 1 - in)) <= 0)
			goto fail;
		in += (size_t)r;
		buf[in] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
		if (in == bufsz - 1)
			goto fail;
	}
	if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0 ||
	    (cl = strcasestr(buf, "\r\nContent-Length:")) == NULL || cl > end)
		goto fail;
	want = strtoll(cl + 17, NULL, 10);
	body = (long long)(in - (size_t)(end + 4 - buf));
	while (body < want) {
		if ((r = read(fd, buf, bufsz)) <= 0)
			goto fail;
		body += r;
	}
	close(fd);
	return body == want ? body : -1;
fail:
	close(fd);
	return -1;
}

static int
cmd_fetch(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t	 len;
	double		*lat = NULL, t0, t1, ts, maxs = 3600, sum_mb_s = 0;
	double		 every = 0, next;
	double		*mbs = NULL;
	size_t		 n = 0, cap = 0, reqlen;
	unsigned long long bytes = 0, errs = 0;
	long long	 got;
	char		 spec[128], req[512], *buf;
	int		 opt;

	while ((opt = getopt(argc, argv, "m:i:")) != -1) {
		if (opt == 'm')
			maxs = (double)num_arg(optarg, "-m", 1, 86400);
		else if (opt == 'i')
			every = (double)num_arg(optarg, "-i", 0, 60000000) / 1e6;
		else
			die("usage: fetch ADDR PORT PATH [-m MAXSECONDS] [-i USEC]");
	}
	if (argc - optind != 3)
		die("usage: fetch ADDR PORT PATH [-m MAXSECONDS] [-i USEC]");
	snprintf(spec, sizeof(spec), "%s:%s", argv[optind], argv[optind + 1]);
	addr_parse(spec, &ss, &len);
	reqlen = (size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n"
	    "Host: %s\r\nConnection: close\r\n\r\n", argv[optind + 2],
	    argv[optind]);
	if ((buf = malloc(BODY_CHUNK)) == NULL)
		die("out of memory");
	signals_catch();
	t0 = now_s();
	next = t0;
	while (!stop && now_s() - t0 < maxs) {
		ts = now_s();
		if (every > 0) {
			/* A fixed cadence; a late fetch is not caught up. */
			if (ts < next) {
				usleep((useconds_t)((next - ts) * 1e6));
				continue;
			}
			next = ts + every;
		}
		got = fetch_one(&ss, len, req, reqlen, buf, BODY_CHUNK);
		t1 = now_s();
		if (got < 0) {
			errs++;
			usleep(1000);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((lat = realloc(lat, cap * sizeof(*lat))) == NULL ||
			    (mbs = realloc(mbs, cap * sizeof(*mbs))) == NULL)
				die("out of memory");
		}
		lat[n] = (t1 - ts) * 1e6;
		mbs[n] = (double)got / (t1 - ts) / 1e6;
		sum_mb_s += mbs[n];
		n++;
		bytes += (unsigned long long)got;
	}
	t1 = now_s();
	qsort(lat, n, sizeof(*lat), dcmp);
	qsort(mbs, n, sizeof(*mbs), dcmp);
	printf("fetch n=%zu err=%llu bytes=%llu seconds=%.3f per_s=%.1f "
	    "p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f mb_s=%.1f "
	    "fetch_mb_s_p50=%.1f\n", n, errs, bytes, t1 - t0,
	    (double)n / (t1 - t0), pct(lat, n, 0.5), pct(lat, n, 0.9),
	    pct(lat, n, 0.99), n ? lat[n - 1] : 0,
	    (double)bytes / (t1 - t0) / 1e6, pct(mbs, n, 0.5));
	free(lat);
	free(mbs);
	free(buf);
	return 0;
}

/* ------------------------------------------------------------------ hold */

enum hstate { H_CONNECTING, H_WAIT_ECHO, H_HELD, H_FAILED };

struct hconn {
	int		 h_fd;
	enum hstate	 h_state;
	unsigned	 h_ns, h_idx;
	int		 h_round;	/* token round: 0, then 1 (recheck) */
	size_t		 h_in;
	char		 h_tok[32];
	char		 h_buf[32];
};

static int
tok_make(struct hconn *h)
{
	return snprintf(h->h_tok, sizeof(h->h_tok), "n%u-c%u-r%d\n", h->h_ns,
	    h->h_idx, h->h_round);
}

/* Sends the token; 0, or -1 when the connection failed. */
static int
tok_send(struct hconn *h)
{
	int	 n = tok_make(h);

	h->h_in = 0;
	return send(h->h_fd, h->h_tok, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -1;
}

/* Reads the echo; 1 when whole and equal, 0 for more, -1 on a failure. */
static int
tok_read(struct hconn *h)
{
	size_t	 want = strlen(h->h_tok);
	ssize_t	 r;

	r = read(h->h_fd, h->h_buf + h->h_in, want - h->h_in);
	if (r == -1 && errno == EAGAIN)
		return 0;
	if (r <= 0)
		return -1;
	h->h_in += (size_t)r;
	if (h->h_in < want)
		return 0;
	return memcmp(h->h_buf, h->h_tok, want) == 0 ? 1 : -1;
}

/*
 * Runs the epoll loop until no connection is connecting or waiting for its
 * echo; new connections are started from `next` while fewer than
 * `inflight` are under way. Counts failures by errno in fails[].
 */
struct hold {
	struct hconn	*hd_c;
	size_t		 hd_n, hd_next, hd_pending, hd_held, hd_failed;
	int		 hd_ep, hd_inflight;
	int		 hd_nsfd[1024];
	struct sockaddr_storage hd_tg[MAX_TARGETS];
	socklen_t	 hd_tglen[MAX_TARGETS];
	int		 hd_ntg;
	unsigned	 hd_per;
	unsigned long	 hd_errs[4];	/* refused/reset, timeout, EMFILE, other */
	double		 hd_last;
	double		 hd_deadline;	/* what is still under way then fails */
	int		 hd_stop;
};

static void
hold_fail(struct hold *hd, struct hconn *h, int e)
{
	hd->hd_errs[e == ECONNREFUSED || e == ECONNRESET || e == EPIPE ? 0 :
	    e == ETIMEDOUT ? 1 : e == EMFILE || e == ENFILE ? 2 : 3]++;
	if (h->h_fd != -1)
		close(h->h_fd);
	h->h_fd = -1;
	h->h_state = H_FAILED;
	hd->hd_failed++;
	hd->hd_pending--;
}

static void
hold_start(struct hold *hd)
{
	struct epoll_event ev;
	struct hconn	*h;
	unsigned	 ns;
	int		 cur = -1, t;

	while (!hd->hd_stop && hd->hd_next < hd->hd_n && hd->hd_pending < (size_t)hd->hd_inflight) {
		h = &hd->hd_c[hd->hd_next++];
		hd->hd_pending++;
		ns = h->h_ns;
		if ((int)ns != cur) {
			if (setns(hd->hd_nsfd[ns], CLONE_NEWNET) == -1)
				die("setns: %s", strerror(errno));
			cur = (int)ns;
		}
		t = (int)((h->h_idx + ns) % (unsigned)hd->hd_ntg);
		h->h_fd = dial_nb(&hd->hd_tg[t], hd->hd_tglen[t]);
		if (h->h_fd == -1) {
			hold_fail(hd, h, errno);
			continue;
		}
		h->h_state = H_CONNECTING;
		ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
		ev.data.ptr = h;
		epoll_ctl(hd->hd_ep, EPOLL_CTL_ADD, h->h_fd, &ev);
	}
}

static void
hold_loop(struct hold *hd)
{
	struct epoll_event ev, evs[512];
	struct hconn	*h;
	socklen_t	 sl;
	size_t		 k;
	int		 i, n, err, rc;

	while (hd->hd_pending > 0 || (!hd->hd_stop && hd->hd_next < hd->hd_n)) {
		hold_start(hd);
		n = epoll_wait(hd->hd_ep, evs, 512, 1000);
		if (now_s() > hd->hd_deadline) {
			for (k = 0; k < hd->hd_next; k++) {
				h = &hd->hd_c[k];
				if (h->h_fd != -1 && (h->h_state == H_CONNECTING ||
				    h->h_state == H_WAIT_ECHO))
					hold_fail(hd, h, ETIMEDOUT);
			}
			hd->hd_stop = 1;	/* start no more */
			continue;
		}
		for (i = 0; i < n; i++) {
			h = evs[i].data.ptr;
			if (h->h_state == H_CONNECTING) {
				err = 0;
				sl = sizeof(err);
				getsockopt(h->h_fd, SOL_SOCKET, SO_ERROR, &err,
				    &sl);
				if (err != 0) {
					hold_fail(hd, h, err);
					continue;
				}
				if (!(evs[i].events & EPOLLOUT))
					continue;
				if (tok_send(h) == -1) {
					hold_fail(hd, h, errno);
					continue;
				}
				h->h_state = H_WAIT_ECHO;
				ev.events = EPOLLIN | EPOLLRDHUP;
				ev.data.ptr = h;
				epoll_ctl(hd->hd_ep, EPOLL_CTL_MOD, h->h_fd, &ev);
			} else if (h->h_state == H_WAIT_ECHO) {
				if ((rc = tok_read(h)) == 0)
					continue;
				if (rc == -1) {
					hold_fail(hd, h, errno ? errno : EPIPE);
					continue;
				}
				h->h_state = H_HELD;
				hd->hd_held++;
				hd->hd_pending--;
				hd->hd_last = now_s();
				/* Nothing more to watch until the recheck. */
				epoll_ctl(hd->hd_ep, EPOLL_CTL_DEL, h->h_fd,
				    NULL);
			}
		}
	}
}

static int
cmd_hold(int argc, char **argv)
{
	struct hold	 hd;
	struct hconn	*h;
	struct epoll_event ev;
	double		 t0, wait_s = 120;
	size_t		 i, ok;
	unsigned	 nns, ns, k;
	rlim_t		 lim;
	char		*tgs, *tok, *save = NULL, line[64];
	int		 opt;

	memset(&hd, 0, sizeof(hd));
	hd.hd_inflight = 256;
	while ((opt = getopt(argc, argv, "n:c:t:")) != -1) {
		if (opt == 'n')
			hd.hd_per = (unsigned)num_arg(optarg, "-n", 1, 100000);
		else if (opt == 'c')
			hd.hd_inflight = (int)num_arg(optarg, "-c", 1, 100000);
		else if (opt == 't')
			wait_s = (double)num_arg(optarg, "-t", 1, 3600);
		else
			die("usage: hold -n PER_NETNS [-c INFLIGHT] [-t SECONDS] "
			    "TARGETS NETNS...");
	}
	if (hd.hd_per == 0 || argc - optind < 2)
		die("usage: hold -n PER_NETNS [-c INFLIGHT] [-t SECONDS] "
		    "TARGETS NETNS...");
	tgs = argv[optind++];
	for (tok = strtok_r(tgs, ",", &save); tok != NULL && hd.hd_ntg < MAX_TARGETS;
	    tok = strtok_r(NULL, ",", &save)) {
		addr_parse(tok, &hd.hd_tg[hd.hd_ntg], &hd.hd_tglen[hd.hd_ntg]);
		hd.hd_ntg++;
	}
	nns = (unsigned)(argc - optind);
	if (nns > 1024)
		die("hold: at most 1024 namespaces");
	for (ns = 0; ns < nns; ns++)
		if ((hd.hd_nsfd[ns] = open(argv[optind + ns], O_RDONLY |
		    O_CLOEXEC)) == -1)
			die("%s: %s", argv[optind + ns], strerror(errno));
	lim = nofile_raise();
	hd.hd_n = (size_t)nns * hd.hd_per;
	if (hd.hd_n + nns + 64 > lim)
		die("hold: %zu connections do not fit RLIMIT_NOFILE %llu",
		    hd.hd_n, (unsigned long long)lim);
	if ((hd.hd_c = calloc(hd.hd_n, sizeof(*hd.hd_c))) == NULL)
		die("out of memory");
	for (i = 0, ns = 0; ns < nns; ns++)
		for (k = 0; k < hd.hd_per; k++, i++) {
			hd.hd_c[i].h_ns = ns;
			hd.hd_c[i].h_idx = k;
			hd.hd_c[i].h_fd = -1;
		}
	signal(SIGPIPE, SIG_IGN);
	if ((hd.hd_ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll: %s", strerror(errno));
	t0 = now_s();
	hd.hd_deadline = t0 + wait_s;
	hold_loop(&hd);
	printf("held n=%zu verified=%zu failed=%zu not_started=%zu "
	    "refused_or_reset=%lu timeout=%lu emfile=%lu other=%lu "
	    "seconds=%.3f\n", hd.hd_n, hd.hd_held, hd.hd_failed,
	    hd.hd_n - hd.hd_next, hd.hd_errs[0], hd.hd_errs[1],
	    hd.hd_errs[2], hd.hd_errs[3], hd.hd_held ? hd.hd_last - t0 : 0);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL)
		;
	/* The recheck: a second token through every connection held. */
	memset(hd.hd_errs, 0, sizeof(hd.hd_errs));
	hd.hd_pending = 0;
	hd.hd_failed = 0;
	for (i = 0; i < hd.hd_n; i++) {
		h = &hd.hd_c[i];
		if (h->h_state != H_HELD)
			continue;
		h->h_round = 1;
		hd.hd_pending++;
		if (tok_send(h) == -1) {
			hold_fail(&hd, h, errno);
			continue;
		}
		h->h_state = H_WAIT_ECHO;
		ev.events = EPOLLIN | EPOLLRDHUP;
		ev.data.ptr = h;
		epoll_ctl(hd.hd_ep, EPOLL_CTL_ADD, h->h_fd, &ev);
	}
	hd.hd_held = 0;
	hd.hd_next = hd.hd_n;
	hd.hd_deadline = now_s() + wait_s;
	hold_loop(&hd);
	ok = hd.hd_held;
	for (i = 0; i < hd.hd_n; i++)
		if (hd.hd_c[i].h_fd != -1)
			close(hd.hd_c[i].h_fd);
	printf("recheck ok=%zu failed=%zu\n", ok, hd.hd_failed);
	free(hd.hd_c);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: loadtool server|query|flood|fetch|hold ...");
	argc--;
	argv++;
	optind = 1;
	if (strcmp(argv[0], "server") == 0)
		return cmd_server(argc, argv);
	if (strcmp(argv[0], "query") == 0)
		return cmd_query(argc, argv);
	if (strcmp(argv[0], "flood") == 0)
		return cmd_flood(argc, argv);
	if (strcmp(argv[0], "fetch") == 0)
		return cmd_fetch(argc, argv);
	if (strcmp(argv[0], "hold") == 0)
		return cmd_hold(argc, argv);
	die("unknown command '%s'", argv[0]);
}
