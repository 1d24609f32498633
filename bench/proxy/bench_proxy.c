/*
 * bench_proxy.c - client and far-end server of the proxy benchmark
 * (issue 3, "Speed"). bench/proxy/run.sh drives it: the server runs in the
 * test universe's wan, the clients in a sandbox of the proxy or in a
 * namespace that the host forwards for without any filtering (the baseline).
 *
 *   bench_proxy server [-t THREADS] [-c CERT -k KEY] MODE=PORT...
 *	MODE: sink (reads all, answers the byte count at EOF), echo, http
 *	(answers one request, Connection: close), https (the same over TLS),
 *	stat (answers one line of counters and closes). Prints "ready".
 *   bench_proxy bulk ADDR PORT SECONDS STREAMS
 *   bench_proxy rate ADDR PORT SECONDS THREADS [-H HOST] [-s SNI -C CAFILE]
 *   bench_proxy lat COUNT LABEL=NETNS,ADDR,PORT,HOST...
 *   bench_proxy hold ADDR PORT COUNT	(holds until stdin ends)
 *   bench_proxy query ADDR PORT	(prints what a stat port says)
 *
 * Every client prints one line of key=value results. Counts come from the
 * far end where there is one: bulk reports what the sink says it received,
 * hold counts only connections whose byte came back. With no arguments it
 * runs bench/proxy/run.sh (as `make bench` does).
 *
 * OpenSSL is loaded with dlopen() so that the generic bench link line
 * (library + $(LDLIBS)) is enough.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS	64
#define MAX_LISTEN	8
#define BULK_CHUNK	(256 * 1024)
#define HOLD_INFLIGHT	256

static const char	 http_ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
			    "Connection: close\r\n\r\nok\n";

/* The OpenSSL functions used, resolved by tls_load(). */
#define TLS_FUNCS \
	X(TLS_client_method) X(TLS_server_method) X(SSL_CTX_new) \
	X(SSL_CTX_ctrl) X(SSL_CTX_set_options) X(SSL_CTX_set_verify) \
	X(SSL_CTX_load_verify_locations) X(SSL_CTX_set_num_tickets) \
	X(SSL_CTX_use_certificate_chain_file) X(SSL_CTX_use_PrivateKey_file) \
	X(SSL_new) X(SSL_free) X(SSL_set_fd) X(SSL_ctrl) X(SSL_set1_host) \
	X(SSL_set_accept_state) X(SSL_do_handshake) X(SSL_connect) \
	X(SSL_read) X(SSL_write) X(SSL_shutdown) X(SSL_get_error) \
	X(ERR_get_error) X(ERR_error_string_n)
#define X(f) static __typeof__(f) *p_##f;
TLS_FUNCS
#undef X

static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list	 ap;

	fputs("bench_proxy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void
tls_load(void)
{
	void	*h;

	if ((h = dlopen("libssl.so.3", RTLD_NOW | RTLD_GLOBAL)) == NULL)
		die("libssl.so.3: %s", dlerror());
#define X(f) \
	if ((p_##f = (__typeof__(f) *)dlsym(h, #f)) == NULL) \
		die("libssl.so.3: no symbol %s", #f);
	TLS_FUNCS
#undef X
}

static const char *
tls_error(void)
{
	static __thread char	 buf[256];
	unsigned long		 e = p_ERR_get_error();

	if (e == 0)
		return "no OpenSSL error queued";
	p_ERR_error_string_n(e, buf, sizeof(buf));
	return buf;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system) of this process so far. */
static double
cpu_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
nofile_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static unsigned long
num_arg(const char *s, const char *what, unsigned long min, unsigned long max)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max)
		die("%s '%s': want a number from %lu to %lu", what, s, min, max);
	return v;
}

static void
addr_parse(const char *host, const char *port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;
	unsigned long		 p = num_arg(port, "port", 1, 65535);

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*s6);
	} else
		die("address '%s': not an IPv4 or IPv6 literal", host);
}

/* A connected blocking TCP socket, or -1 with errno set. */
static int
dial(const struct sockaddr_storage *ss, socklen_t len)
{
	int	 fd, on = 1, e;

	if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (connect(fd, (const struct sockaddr *)ss, len) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const void *p, size_t n)
{
	const char	*b = p;
	ssize_t		 w;

	while (n > 0) {
		if ((w = send(fd, b, n, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- server ---- */

enum smode { M_SINK, M_ECHO, M_HTTP, M_HTTPS, M_STAT, M_N };

static const char *const mode_names[M_N] = { "sink", "echo", "http",
    "https", "stat" };

struct sitem {			/* what an epoll event points at */
	int		 it_listen;
	enum smode	 it_mode;
	int		 it_fd;
};

struct sconn {
	struct sitem	 sc_it;
	SSL		*sc_ssl;
	int		 sc_shook;
	uint64_t	 sc_n;
	size_t		 sc_len;
	char		 sc_buf[1024];
};

static struct {
	uint64_t	 sink_bytes, sink_conns, echo_open, echo_total;
	uint64_t	 http, https, tls_fail, errors;
} st;

static SSL_CTX		*srv_ctx;
static struct sitem	 srv_listen[MAX_THREADS][MAX_LISTEN];
static int		 srv_nlisten;

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
sconn_close(struct sconn *c)
{
	if (c->sc_it.it_mode == M_ECHO)
		cnt(&st.echo_open, -1);
	if (c->sc_ssl != NULL)
		p_SSL_free(c->sc_ssl);
	close(c->sc_it.it_fd);
	free(c);
}

static int
head_done(struct sconn *c)
{
	c->sc_buf[c->sc_len] = '\0';
	return strstr(c->sc_buf, "\r\n\r\n") != NULL;
}

/* Returns 1 if `c` stays open. */
static int
sconn_plain(struct sconn *c)
{
	static __thread char	 trash[1 << 20];
	ssize_t			 n;
	char			 line[64];
	int			 fd = c->sc_it.it_fd;

	for (;;) {
		switch (c->sc_it.it_mode) {
		case M_SINK:
			/* MSG_TRUNC: TCP discards the bytes, no copy */
			n = recv(fd, trash, sizeof(trash), MSG_TRUNC);
			if (n > 0) {
				c->sc_n += (uint64_t)n;
				continue;
			}
			if (n == 0) {
				cnt(&st.sink_bytes, (int64_t)c->sc_n);
				cnt(&st.sink_conns, 1);
				n = snprintf(line, sizeof(line), "%llu\n",
				    (unsigned long long)c->sc_n);
				send(fd, line, (size_t)n, MSG_NOSIGNAL);
				return 0;
			}
			break;
		case M_ECHO:
			n = recv(fd, c->sc_buf, sizeof(c->sc_buf), 0);
			if (n > 0) {
				if (send(fd, c->sc_buf, (size_t)n,
				    MSG_NOSIGNAL) != n)
					return 0;
				continue;
			}
			if (n == 0)
				return 0;
			break;
		case M_HTTP:
			n = recv(fd, c->sc_buf + c->sc_len,
			    sizeof(c->sc_buf) - 1 - c->sc_len, 0);
			if (n > 0) {
				c->sc_len += (size_t)n;
				if (head_done(c)) {
					cnt(&st.http, 1);
					send(fd, http_ok, sizeof(http_ok) - 1,
					    MSG_NOSIGNAL);
					return 0;
				}
				if (c->sc_len == sizeof(c->sc_buf) - 1)
					return 0;
				continue;
			}
			if (n == 0)
				return 0;
			break;
		default:
			return 0;
		}
		if (errno == EAGAIN || errno == EINTR)
			return 1;
		cnt(&st.errors, 1);
		return 0;
	}
}

/* Returns 1 if `c` stays open; sets *out if it waits to write. */
static int
sconn_tls(struct sconn *c, int *out)
{
	int	 r, e;

	*out = 0;
	if (!c->sc_shook) {
		if ((r = p_SSL_do_handshake(c->sc_ssl)) != 1)
			goto wait;
		c->sc_shook = 1;
	}
	for (;;) {
		r = p_SSL_read(c->sc_ssl, c->sc_buf + c->sc_len,
		    (int)(sizeof(c->sc_buf) - 1 - c->sc_len));
		if (r <= 0)
			goto wait;
		c->sc_len += (size_t)r;
		if (head_done(c)) {
			cnt(&st.https, 1);
			if (p_SSL_write(c->sc_ssl, http_ok,
			    sizeof(http_ok) - 1) <= 0)
				cnt(&st.errors, 1);
			p_SSL_shutdown(c->sc_ssl);
			return 0;
		}
		if (c->sc_len == sizeof(c->sc_buf) - 1)
			return 0;
	}
wait:
	e = p_SSL_get_error(c->sc_ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return 1;
	if (e == SSL_ERROR_WANT_WRITE) {
		*out = 1;
		return 1;
	}
	if (!c->sc_shook)
		cnt(&st.tls_fail, 1);
	return 0;
}

static void
srv_accept(int ep, struct sitem *l)
{
	struct sconn		*c;
	struct epoll_event	 ev;
	char			 line[512];
	int			 fd, n;

	while ((fd = accept4(l->it_fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		if (l->it_mode == M_STAT) {
			n = snprintf(line, sizeof(line), "stat sink_bytes=%llu "
			    "sink_conns=%llu echo_open=%llu echo_total=%llu "
			    "http=%llu https=%llu tls_fail=%llu errors=%llu\n",
			    (unsigned long long)cnt_get(&st.sink_bytes),
			    (unsigned long long)cnt_get(&st.sink_conns),
			    (unsigned long long)cnt_get(&st.echo_open),
			    (unsigned long long)cnt_get(&st.echo_total),
			    (unsigned long long)cnt_get(&st.http),
			    (unsigned long long)cnt_get(&st.https),
			    (unsigned long long)cnt_get(&st.tls_fail),
			    (unsigned long long)cnt_get(&st.errors));
			send(fd, line, (size_t)n, MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			cnt(&st.errors, 1);
			continue;
		}
		c->sc_it.it_fd = fd;
		c->sc_it.it_mode = l->it_mode;
		if (l->it_mode == M_ECHO) {
			cnt(&st.echo_open, 1);
			cnt(&st.echo_total, 1);
		}
		if (l->it_mode == M_HTTPS) {
			if ((c->sc_ssl = p_SSL_new(srv_ctx)) == NULL ||
			    p_SSL_set_fd(c->sc_ssl, fd) != 1) {
				cnt(&st.tls_fail, 1);
				sconn_close(c);
				continue;
			}
			p_SSL_set_accept_state(c->sc_ssl);
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
			cnt(&st.errors, 1);
			sconn_close(c);
		}
	}
}

static void *
srv_thread(void *arg)
{
	struct sitem		*ls = arg;
	struct epoll_event	 evs[256], ev;
	int			 ep, n, keep, out;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	for (int i = 0; i < srv_nlisten; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &ls[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, ls[i].it_fd, &ev) == -1)
			die("epoll_ctl: %s", strerror(errno));
	}
	for (;;) {
		if ((n = epoll_wait(ep, evs, 256, -1)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			struct sitem *it = evs[i].data.ptr;
			struct sconn *c = (struct sconn *)(void *)it;

			if (it->it_listen) {
				srv_accept(ep, it);
				continue;
			}
			out = 0;
			if (it->it_mode == M_HTTPS)
				keep = sconn_tls(c, &out);
			else
				keep = sconn_plain(c);
			if (!keep) {
				sconn_close(c);
				continue;
			}
			memset(&ev, 0, sizeof(ev));
			ev.events = out ? EPOLLOUT : EPOLLIN;
			ev.data.ptr = c;
			epoll_ctl(ep, EPOLL_CTL_MOD, it->it_fd, &ev);
		}
	}
	return NULL;
}

static int
srv_socket(uint16_t port)
{
	struct sockaddr_in6	 a;
	int			 fd, on = 1, off = 0;

	if ((fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons(port);
	a.sin6_addr = in6addr_any;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1)
		die("port %u: %s", port, strerror(errno));
	if (listen(fd, 4096) == -1)
		die("listen: %s", strerror(errno));
	return fd;
}

static int
cmd_server(int argc, char **argv)
{
	const char	*cert = NULL, *key = NULL;
	enum smode	 modes[MAX_LISTEN];
	uint16_t	 ports[MAX_LISTEN];
	pthread_t	 th;
	unsigned long	 nthr = 2;
	int		 ch, tls = 0, m;

	while ((ch = getopt(argc, argv, "t:c:k:")) != -1) {
		switch (ch) {
		case 't': nthr = num_arg(optarg, "threads", 1, MAX_THREADS);
			break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		default: return 2;
		}
	}
	for (int i = optind; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (eq == NULL || srv_nlisten == MAX_LISTEN)
			die("'%s': want MODE=PORT (at most %d)", argv[i],
			    MAX_LISTEN);
		*eq = '\0';
		for (m = 0; m < M_N && strcmp(argv[i], mode_names[m]) != 0;
		    m++)
			;
		if (m == M_N)
			die("mode '%s': want sink, echo, http, https or stat",
			    argv[i]);
		modes[srv_nlisten] = (enum smode)m;
		ports[srv_nlisten] = (uint16_t)num_arg(eq + 1, "port", 1,
		    65535);
		tls |= m == M_HTTPS;
		srv_nlisten++;
	}
	if (srv_nlisten == 0)
		die("server: no MODE=PORT given");
	if (tls) {
		if (cert == NULL || key == NULL)
			die("https needs -c CERT and -k KEY");
		tls_load();
		if ((srv_ctx = p_SSL_CTX_new(p_TLS_server_method())) == NULL ||
		    p_SSL_CTX_use_certificate_chain_file(srv_ctx, cert) != 1 ||
		    p_SSL_CTX_use_PrivateKey_file(srv_ctx, key,
		    SSL_FILETYPE_PEM) != 1)
			die("%s, %s: %s", cert, key, tls_error());
		/* no tickets: every connection is a full handshake anyway */
		p_SSL_CTX_set_num_tickets(srv_ctx, 0);
		p_SSL_CTX_ctrl(srv_ctx, SSL_CTRL_SET_SESS_CACHE_MODE,
		    SSL_SESS_CACHE_OFF, NULL);
	}
	nofile_raise();
	signal(SIGPIPE, SIG_IGN);
	for (unsigned long t = 0; t < nthr; t++)
		for (int i = 0; i < srv_nlisten; i++) {
			srv_listen[t][i].it_listen = 1;
			srv_listen[t][i].it_mode = modes[i];
			/* stat answers from one thread: one socket is enough */
			srv_listen[t][i].it_fd = modes[i] == M_STAT && t > 0 ?
			    -1 : srv_socket(ports[i]);
		}
	for (unsigned long t = 0; t < nthr; t++) {
		for (int i = 0; i < srv_nlisten; i++)
			if (srv_listen[t][i].it_fd == -1)
				srv_listen[t][i].it_fd = srv_listen[0][i].it_fd;
		if (pthread_create(&th, NULL, srv_thread, srv_listen[t]) != 0)
			die("pthread_create failed");
	}
	printf("ready\n");
	fflush(stdout);
	pause();
	return 0;
}

/* ---- bulk ---- */

struct bulk_th {
	const struct sockaddr_storage *ss;
	socklen_t	 len;
	double		 until;
	pthread_barrier_t *bar;
	uint64_t	 sent, got;
	double		 end;
	int		 fail;
};

static void *
bulk_thread(void *arg)
{
	struct bulk_th	*b = arg;
	char		*buf, line[64];
	ssize_t		 n;
	size_t		 have = 0;
	int		 fd;

	if ((buf = malloc(BULK_CHUNK)) == NULL)
		die("out of memory");
	memset(buf, 'b', BULK_CHUNK);
	if ((fd = dial(b->ss, b->len)) == -1)
		b->fail = errno;
	/* twice: all connected, then the clock is set */
	pthread_barrier_wait(b->bar);
	pthread_barrier_wait(b->bar);
	if (fd == -1) {
		free(buf);
		return NULL;
	}
	while (now_s() < b->until) {
		if ((n = send(fd, buf, BULK_CHUNK, MSG_NOSIGNAL)) <= 0) {
			b->fail = errno;
			break;
		}
		b->sent += (uint64_t)n;
	}
	shutdown(fd, SHUT_WR);
	while (have < sizeof(line) - 1 &&
	    (n = recv(fd, line + have, sizeof(line) - 1 - have, 0)) > 0)
		have += (size_t)n;
	line[have] = '\0';
	b->end = now_s();
	b->got = strtoull(line, NULL, 10);
	if (have == 0 && b->fail == 0)
		b->fail = ECONNRESET;
	close(fd);
	free(buf);
	return NULL;
}

static int
cmd_bulk(int argc, char **argv)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	struct bulk_th		 b[MAX_THREADS];
	pthread_t		 th[MAX_THREADS];
	pthread_barrier_t	 bar;
	unsigned long		 secs, ns;
	uint64_t		 sent = 0, got = 0;
	double			 t0, end = 0;
	int			 fail = 0;

	if (argc != 5)
		die("usage: bulk ADDR PORT SECONDS STREAMS");
	addr_parse(argv[1], argv[2], &ss, &len);
	secs = num_arg(argv[3], "seconds", 1, 3600);
	ns = num_arg(argv[4], "streams", 1, MAX_THREADS);
	pthread_barrier_init(&bar, NULL, (unsigned)ns + 1);
	memset(b, 0, sizeof(b));
	for (unsigned long i = 0; i < ns; i++) {
		b[i].ss = &ss;
		b[i].len = len;
		b[i].bar = &bar;
		if (pthread_create(&th[i], NULL, bulk_thread, &b[i]) != 0)
			die("pthread_create failed");
	}
	pthread_barrier_wait(&bar);
	t0 = now_s();
	for (unsigned long i = 0; i < ns; i++)
		b[i].until = t0 + (double)secs;
	pthread_barrier_wait(&bar);
	for (unsigned long i = 0; i < ns; i++) {
		pthread_join(th[i], NULL);
		sent += b[i].sent;
		got += b[i].got;
		if (b[i].end > end)
			end = b[i].end;
		if (b[i].fail != 0)
			fail = b[i].fail;
	}
	printf("bulk streams=%lu sent=%llu received=%llu seconds=%.3f "
	    "gbit_s=%.3f cpu_s=%.3f error=%s\n", ns, (unsigned long long)sent,
	    (unsigned long long)got, end - t0,
	    (double)got * 8 / (end - t0) / 1e9, cpu_self(),
	    fail ? strerror(fail) : "none");
	return fail != 0 || got != sent;
}

/* ---- rate and lat ---- */

struct req {
	const char		*label;
	int			 nsfd;		/* -1: the caller's netns */
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	const char		*host;		/* Host header */
	const char		*sni;		/* NULL: plain TCP */
	SSL_CTX			*ctx;
	char			 head[512];
	size_t			 headlen;
};

static void
req_init(struct req *r, int argc, char **argv)
{
	const char	*ca = NULL;
	int		 ch;

	r->host = "bench.test";
	r->sni = NULL;
	optind = 1;
	while ((ch = getopt(argc, argv, "H:s:C:")) != -1) {
		switch (ch) {
		case 'H': r->host = optarg; break;
		case 's': r->sni = optarg; break;
		case 'C': ca = optarg; break;
		default: exit(2);
		}
	}
	r->headlen = (size_t)snprintf(r->head, sizeof(r->head),
	    "GET /bench HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
	    "User-Agent: bench_proxy\r\n\r\n", r->host);
	if (r->sni == NULL)
		return;
	if (ca == NULL)
		die("-s SNI needs -C CAFILE");
	tls_load();
	if ((r->ctx = p_SSL_CTX_new(p_TLS_client_method())) == NULL ||
	    p_SSL_CTX_load_verify_locations(r->ctx, ca, NULL) != 1)
		die("%s: %s", ca, tls_error());
	p_SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL);
	p_SSL_CTX_set_options(r->ctx, SSL_OP_NO_TICKET);
	p_SSL_CTX_ctrl(r->ctx, SSL_CTRL_SET_SESS_CACHE_MODE,
	    SSL_SESS_CACHE_OFF, NULL);
	p_SSL_CTX_ctrl(r->ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_3_VERSION,
	    NULL);
}

/*
 * One connection: connect, (TLS handshake,) request, the whole answer
 * until the server closes. *first: seconds from the start of connect to
 * the first byte of the answer. Returns 0 if the answer was a 200.
 */
static int	 self_ns = -1;

static int
req_one(const struct req *r, double *first)
{
	char	 buf[1024];
	size_t	 have = 0;
	ssize_t	 n;
	double	 t0;
	SSL	*ssl = NULL;
	int	 fd, rc = -1, on = 1;

	if (r->nsfd != -1 && setns(r->nsfd, CLONE_NEWNET) == -1)
		die("setns: %s", strerror(errno));
	fd = socket(r->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->nsfd != -1 && setns(self_ns, CLONE_NEWNET) == -1)
		die("setns back: %s", strerror(errno));
	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	t0 = now_s();
	if (connect(fd, (const struct sockaddr *)&r->ss, r->len) == -1) {
		close(fd);
		return -1;
	}
	if (r->sni != NULL) {
		if ((ssl = p_SSL_new(r->ctx)) == NULL ||
		    p_SSL_set_fd(ssl, fd) != 1 ||
		    p_SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME,
		    TLSEXT_NAMETYPE_host_name, (void *)(uintptr_t)r->sni) != 1 ||
		    p_SSL_set1_host(ssl, r->sni) != 1 ||
		    p_SSL_connect(ssl) != 1 ||
		    p_SSL_write(ssl, r->head, (int)r->headlen) != (int)r->headlen)
			goto out;
	} else if (send_all(fd, r->head, r->headlen) == -1)
		goto out;
	for (;;) {
		if (ssl != NULL)
			n = p_SSL_read(ssl, buf + have, (int)(sizeof(buf) - 1 -
			    have));
		else
			n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (n <= 0)
			break;
		if (have == 0 && first != NULL)
			*first = now_s() - t0;
		have += (size_t)n;
		if (have == sizeof(buf) - 1)
			break;
	}
	buf[have] = '\0';
	if (strncmp(buf, "HTTP/1.1 200 ", 13) == 0)
		rc = 0;
out:
	if (ssl != NULL)
		p_SSL_free(ssl);
	close(fd);
	return rc;
}

struct rate_th {
	const struct req *r;
	double		 until;
	uint64_t	 ok, err;
};

static void *
rate_thread(void *arg)
{
	struct rate_th	*t = arg;

	while (now_s() < t->until) {
		if (req_one(t->r, NULL) == 0)
			t->ok++;
		else
			t->err++;
	}
	return NULL;
}

static int
cmd_rate(int argc, char **argv)
{
	struct req	 r;
	struct rate_th	 t[MAX_THREADS];
	pthread_t	 th[MAX_THREADS];
	unsigned long	 secs, nt;
	uint64_t	 ok = 0, err = 0;
	double		 t0, t1;

	if (argc < 5)
		die("usage: rate ADDR PORT SECONDS THREADS [-H HOST] "
		    "[-s SNI -C CAFILE]");
	memset(&r, 0, sizeof(r));
	r.nsfd = -1;
	addr_parse(argv[1], argv[2], &r.ss, &r.len);
	secs = num_arg(argv[3], "seconds", 1, 3600);
	nt = num_arg(argv[4], "threads", 1, MAX_THREADS);
	req_init(&r, argc - 4, argv + 4);
	t0 = now_s();
	for (unsigned long i = 0; i < nt; i++) {
		t[i].r = &r;
		t[i].until = t0 + (double)secs;
		t[i].ok = t[i].err = 0;
		if (pthread_create(&th[i], NULL, rate_thread, &t[i]) != 0)
			die("pthread_create failed");
	}
	for (unsigned long i = 0; i < nt; i++) {
		pthread_join(th[i], NULL);
		ok += t[i].ok;
		err += t[i].err;
	}
	t1 = now_s();
	printf("rate ok=%llu err=%llu seconds=%.3f per_s=%.1f cpu_s=%.3f\n",
	    (unsigned long long)ok, (unsigned long long)err, t1 - t0,
	    (double)ok / (t1 - t0), cpu_self());
	return err != 0;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define LAT_MAX	8

/*
 * lat COUNT LABEL=NETNS,ADDR,PORT,HOST...: COUNT sequential connections to
 * each target, interleaved one by one (target order rotating), so that all
 * targets see the same neighbours on a shared machine. Each socket is
 * created in its target's network namespace (/run/netns/NETNS).
 */
static int
cmd_lat(int argc, char **argv)
{
	struct req	 r[LAT_MAX];
	double		*v[LAT_MAX], first;
	unsigned long	 n, err[LAT_MAX], m[LAT_MAX];
	int		 nt = argc - 2, rc = 0;
	char		 path[512], *f[4], *save;

	if (argc < 3 || nt > LAT_MAX)
		die("usage: lat COUNT LABEL=NETNS,ADDR,PORT,HOST... (at most %d)",
		    LAT_MAX);
	n = num_arg(argv[1], "count", 1, 1000000);
	if ((self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) == -1)
		die("/proc/self/ns/net: %s", strerror(errno));
	memset(r, 0, sizeof(r));
	for (int t = 0; t < nt; t++) {
		char *eq = strchr(argv[t + 2], '=');

		if (eq == NULL)
			die("'%s': want LABEL=NETNS,ADDR,PORT,HOST", argv[t + 2]);
		*eq = '\0';
		r[t].label = argv[t + 2];
		f[0] = strtok_r(eq + 1, ",", &save);
		for (int i = 1; i < 4; i++)
			f[i] = strtok_r(NULL, ",", &save);
		if (f[3] == NULL)
			die("target '%s': want NETNS,ADDR,PORT,HOST", r[t].label);
		snprintf(path, sizeof(path), "/run/netns/%s", f[0]);
		if ((r[t].nsfd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			die("%s: %s", path, strerror(errno));
		addr_parse(f[1], f[2], &r[t].ss, &r[t].len);
		r[t].host = f[3];
		r[t].headlen = (size_t)snprintf(r[t].head, sizeof(r[t].head),
		    "GET /bench HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
		    "User-Agent: bench_proxy\r\n\r\n", r[t].host);
		if ((v[t] = calloc(n, sizeof(*v[t]))) == NULL)
			die("out of memory");
		err[t] = m[t] = 0;
	}
	/* warm up (neighbour entries, caches) */
	for (int i = 0; i < 20; i++)
		for (int t = 0; t < nt; t++)
			req_one(&r[t], NULL);
	for (unsigned long i = 0; i < n; i++)
		for (int k = 0; k < nt; k++) {
			int t = (int)((i + (unsigned long)k) % (unsigned long)nt);

			first = 0;
			if (req_one(&r[t], &first) == 0 && first > 0)
				v[t][m[t]++] = first * 1e6;
			else
				err[t]++;
		}
	for (int t = 0; t < nt; t++) {
		if (m[t] == 0)
			die("lat: %s: no connection succeeded", r[t].label);
		qsort(v[t], m[t], sizeof(*v[t]), dcmp);
		printf("%s lat n=%lu err=%lu warm=20 p50_us=%.1f p90_us=%.1f "
		    "p99_us=%.1f max_us=%.1f\n", r[t].label, m[t], err[t],
		    v[t][m[t] / 2], v[t][m[t] * 90 / 100],
		    v[t][m[t] * 99 / 100], v[t][m[t] - 1]);
		rc |= err[t] != 0;
		free(v[t]);
		close(r[t].nsfd);
	}
	return rc;
}

/* ---- hold ---- */

struct hconn {
	int	 fd;
	int	 state;		/* 0 connecting, 1 sent, 2 held, 3 failed */
};

static int
cmd_hold(int argc, char **argv)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	struct hconn		*hc;
	struct epoll_event	 ev, evs[256];
	unsigned long		 n, next = 0, inflight = 0, held = 0, failed = 0;
	double			 t0;
	char			 b;
	int			 ep, e, on = 1;

	if (argc != 4)
		die("usage: hold ADDR PORT COUNT");
	addr_parse(argv[1], argv[2], &ss, &len);
	n = num_arg(argv[3], "count", 1, 1000000);
	nofile_raise();
	signal(SIGPIPE, SIG_IGN);
	if ((hc = calloc(n, sizeof(*hc))) == NULL ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("out of memory");
	t0 = now_s();
	while (held + failed < n) {
		while (next < n && inflight < HOLD_INFLIGHT) {
			struct hconn *h = &hc[next++];

			h->fd = socket(ss.ss_family, SOCK_STREAM |
			    SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (h->fd == -1) {
				die("socket (connection %lu): %s", next,
				    strerror(errno));
			}
			setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &on,
			    sizeof(on));
			if (connect(h->fd, (struct sockaddr *)&ss, len) == -1 &&
			    errno != EINPROGRESS) {
				h->state = 3;
				failed++;
				close(h->fd);
				continue;
			}
			memset(&ev, 0, sizeof(ev));
			ev.events = EPOLLOUT | EPOLLIN;
			ev.data.ptr = h;
			epoll_ctl(ep, EPOLL_CTL_ADD, h->fd, &ev);
			inflight++;
		}
		int k = epoll_wait(ep, evs, 256, 10000);

		if (k <= 0)
			break;
		for (int i = 0; i < k; i++) {
			struct hconn	*h = evs[i].data.ptr;
			socklen_t	 el = sizeof(e);

			if (h->state == 0 && (evs[i].events & EPOLLOUT)) {
				e = 0;
				getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &e,
				    &el);
				if (e != 0 || send(h->fd, "h", 1,
				    MSG_NOSIGNAL) != 1)
					goto bad;
				h->state = 1;
				memset(&ev, 0, sizeof(ev));
				ev.events = EPOLLIN;
				ev.data.ptr = h;
				epoll_ctl(ep, EPOLL_CTL_MOD, h->fd, &ev);
				continue;
			}
			if (h->state == 1 && (evs[i].events & EPOLLIN)) {
				if (recv(h->fd, &b, 1, 0) != 1 || b != 'h')
					goto bad;
				h->state = 2;
				held++;
				inflight--;
				epoll_ctl(ep, EPOLL_CTL_DEL, h->fd, NULL);
				continue;
			}
			if (!(evs[i].events & (EPOLLERR | EPOLLHUP)))
				continue;
bad:
			h->state = 3;
			failed++;
			inflight--;
			epoll_ctl(ep, EPOLL_CTL_DEL, h->fd, NULL);
			close(h->fd);
		}
	}
	printf("held n=%lu failed=%lu seconds=%.3f\n", held,
	    n - held, now_s() - t0);
	fflush(stdout);
	while (read(STDIN_FILENO, &b, 1) > 0)
		;
	for (unsigned long i = 0; i < next; i++)
		if (hc[i].state == 1 || hc[i].state == 2 || hc[i].state == 0)
			close(hc[i].fd);
	printf("closed\n");
	free(hc);
	return held != n;
}

static int
cmd_query(int argc, char **argv)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 buf[1024];
	size_t			 have = 0;
	ssize_t			 n;
	int			 fd;

	if (argc != 3)
		die("usage: query ADDR PORT");
	addr_parse(argv[1], argv[2], &ss, &len);
	if ((fd = dial(&ss, len)) == -1)
		die("%s port %s: %s", argv[1], argv[2], strerror(errno));
	while (have < sizeof(buf) - 1 &&
	    (n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	close(fd);
	fputs(buf, stdout);
	return have == 0;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 1) {
		/* `make bench`: the benchmark is the driver script */
		if (access("bench/proxy/run.sh", X_OK) == -1) {
			fprintf(stderr, "bench_proxy: run bench/proxy/run.sh "
			    "from the repository root\n");
			return 2;
		}
		setenv("BENCH_NO_BUILD", "1", 1);
		execl("/bin/sh", "sh", "bench/proxy/run.sh", (char *)NULL);
		die("bench/proxy/run.sh: %s", strerror(errno));
	}
	if (strcmp(argv[1], "server") == 0)
		return cmd_server(argc - 1, argv + 1);
	if (strcmp(argv[1], "bulk") == 0)
		return cmd_bulk(argc - 1, argv + 1);
	if (strcmp(argv[1], "rate") == 0)
		return cmd_rate(argc - 1, argv + 1);
	if (strcmp(argv[1], "lat") == 0)
		return cmd_lat(argc - 1, argv + 1);
	if (strcmp(argv[1], "hold") == 0)
		return cmd_hold(argc - 1, argv + 1);
	if (strcmp(argv[1], "query") == 0)
		return cmd_query(argc - 1, argv + 1);
	fprintf(stderr, "usage: bench_proxy [server|bulk|rate|lat|hold|query] "
	    "ARGS (see the source's header)\n");
	return 2;
}
