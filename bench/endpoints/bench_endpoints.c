/*
 * bench_endpoints.c - far end and clients of the TLS interception
 * benchmark (issue 9, "Speed"); bench/endpoints/run.sh drives it.
 *
 *   bench_endpoints server -a ADDR -p PORT -c CERT -k KEY [-t THREADS]
 *	[-A AUTH]
 *	An epoll HTTP/1.1 server over TLS, THREADS loops on SO_REUSEPORT
 *	listeners. Requests are read whole (head to the empty line, then a
 *	Content-Length body) and answered 200 with a body of 64 bytes, or
 *	of N bytes for a target ending in "?size=N"; kept alive unless the
 *	request says "Connection: close". Prints "ready", then one line per
 *	connection that ends: "conn reqs=N auth=A other=O bad=B", where A
 *	requests carried "Authorization: AUTH" exactly, O another
 *	Authorization, B a method/path other than the two below.
 *
 *   bench_endpoints client ADDR PORT SNI CAFILE SECS CONNS [-s SIZE] [-n]
 *	[-g AUTH]
 *	CONNS threads, each with one keep-alive TLS connection (trusting
 *	CAFILE, verifying SNI), sending requests back to back for SECS:
 *	"POST /v1/chat/completions" with a small JSON body and "GET
 *	/v1/models", in turn, Host SNI:PORT, "Authorization: AUTH" when -g
 *	is given (a guest's placeholder key). -s: ask for SIZE-byte bodies.
 *	-n: a new connection per request (Connection: close), the time of
 *	each including connect and both handshakes. Prints one line:
 *	"ok=N err=E conns=C secs=S per_s=R p50_us= p99_us= mean_us= cpu_s=".
 *	A request counts as ok only with a 200 and its whole body.
 *
 * With no arguments it runs bench/endpoints/run.sh (as `make bench` does).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_MAX		32768
#define SIZE_MAX_BODY	(1u << 20)
#define HIST_US		100000		/* 1 us buckets up to 100 ms */
#define MAX_CONNS	256

static void
fatal(const char *what)
{
	char	 buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	fprintf(stderr, "bench_endpoints: %s: %s (%s)\n", what,
	    strerror(errno), buf);
	exit(2);
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
nodelay(int fd)
{
	int	 one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* The value of header `name` in the head [p, e), or NULL. */
static const char *
header(const char *p, const char *e, const char *name, size_t *len)
{
	size_t	 nl = strlen(name);
	const char *l, *v;

	for (l = memchr(p, '\n', (size_t)(e - p)); l != NULL && ++l < e;
	    l = memchr(l, '\n', (size_t)(e - l))) {
		if ((size_t)(e - l) <= nl || l[nl] != ':' ||
		    strncasecmp(l, name, nl) != 0)
			continue;
		for (v = l + nl + 1; v < e && *v == ' '; v++)
			;
		for (*len = 0; v + *len < e && v[*len] != '\r'; (*len)++)
			;
		return v;
	}
	return NULL;
}

/* ---- the server ---- */

struct sconn {
	int		 fd, hs, close_after, armed;
	SSL		*ssl;
	char		 in[IN_MAX];
	size_t		 inlen;
	char		*out;
	size_t		 outlen, outoff, outcap;
	unsigned long	 reqs, auth, other, bad;
};

static SSL_CTX		*srv_ctx;
static const char	*srv_auth;
static struct sockaddr_in srv_sa;
static char		 body_x[SIZE_MAX_BODY];

static void
sconn_end(int ep, struct sconn *c)
{
	char	 line[128];
	int	 n;

	n = snprintf(line, sizeof(line), "conn reqs=%lu auth=%lu other=%lu "
	    "bad=%lu\n", c->reqs, c->auth, c->other, c->bad);
	if (c->hs && write(1, line, (size_t)n) != n)
		perror("bench_endpoints: write");
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	SSL_free(c->ssl);
	close(c->fd);
	free(c->out);
	free(c);
}

/* Answers the first request in c->in if it is whole. 1: one answered,
 * 0: wait for more, -1: a bad request. */
static int
sconn_request(struct sconn *c)
{
	const char	*p = c->in, *he, *v, *sp;
	size_t		 hl, vl, need, size = 64, tl;
	unsigned long	 clen = 0;
	int		 n;

	he = memmem(p, c->inlen, "\r\n\r\n", 4);
	if (he == NULL)
		return c->inlen == IN_MAX ? -1 : 0;
	hl = (size_t)(he - p) + 4;
	if ((v = header(p, he + 2, "content-length", &vl)) != NULL)
		clen = strtoul(v, NULL, 10);
	if (clen > IN_MAX - hl)
		return -1;
	need = hl + clen;
	if (c->inlen < need)
		return 0;
	c->reqs++;
	if ((v = header(p, he + 2, "authorization", &vl)) != NULL) {
		if (srv_auth != NULL && vl == strlen(srv_auth) &&
		    memcmp(v, srv_auth, vl) == 0)
			c->auth++;
		else
			c->other++;
	}
	if ((v = header(p, he + 2, "connection", &vl)) != NULL &&
	    vl == 5 && strncasecmp(v, "close", 5) == 0)
		c->close_after = 1;
	sp = memchr(p, ' ', hl);
	tl = sp != NULL ? strcspn(sp + 1, " ?\r") : 0;
	if (sp == NULL || !((sp - p == 4 && memcmp(p, "POST", 4) == 0 &&
	    tl == 20 && memcmp(sp + 1, "/v1/chat/completions", 20) == 0) ||
	    (sp - p == 3 && memcmp(p, "GET", 3) == 0 && tl == 10 &&
	    memcmp(sp + 1, "/v1/models", 10) == 0)))
		c->bad++;
	if (sp != NULL && sp[1 + tl] == '?' &&
	    strncmp(sp + 2 + tl, "size=", 5) == 0) {
		size = strtoul(sp + 7 + tl, NULL, 10);
		if (size > SIZE_MAX_BODY)
			size = SIZE_MAX_BODY;
	}
	if (c->outlen + size + 256 > c->outcap) {
		c->outcap = c->outlen + size + 256;
		if ((c->out = realloc(c->out, c->outcap)) == NULL)
			fatal("realloc");
	}
	n = snprintf(c->out + c->outlen, 256, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
	    size, c->close_after ? "Connection: close\r\n" : "");
	c->outlen += (size_t)n;
	memcpy(c->out + c->outlen, body_x, size);
	c->outlen += size;
	memmove(c->in, c->in + need, c->inlen - need);
	c->inlen -= need;
	return 1;
}

static void
sconn_arm(int ep, struct sconn *c, int out)
{
	struct epoll_event	 ev = { .events = EPOLLIN, .data.ptr = c };

	if (out == c->armed)
		return;
	if (out)
		ev.events |= EPOLLOUT;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	c->armed = out;
}

/* Works on c until OpenSSL wants the socket. */
static void
sconn_serve(int ep, struct sconn *c)
{
	int	 n, r, e;

	for (;;) {
		if (!c->hs) {
			if ((r = SSL_accept(c->ssl)) != 1) {
				e = SSL_get_error(c->ssl, r);
				if (e != SSL_ERROR_WANT_READ &&
				    e != SSL_ERROR_WANT_WRITE)
					goto end;
				sconn_arm(ep, c, e == SSL_ERROR_WANT_WRITE);
				return;
			}
			c->hs = 1;
		}
		while (c->outoff < c->outlen) {
			n = SSL_write(c->ssl, c->out + c->outoff,
			    (int)(c->outlen - c->outoff));
			if (n > 0) {
				c->outoff += (size_t)n;
				continue;
			}
			e = SSL_get_error(c->ssl, n);
			if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
				goto end;
			sconn_arm(ep, c, 1);
			return;
		}
		c->outoff = c->outlen = 0;
		sconn_arm(ep, c, 0);
		if (c->close_after)
			goto end;
		while ((r = sconn_request(c)) == 1 && !c->close_after)
			;
		if (r == -1)
			goto end;
		if (c->outlen > 0)
			continue;
		n = SSL_read(c->ssl, c->in + c->inlen, (int)(IN_MAX - c->inlen));
		if (n > 0) {
			c->inlen += (size_t)n;
			continue;
		}
		e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ)
			return;
		goto end;
	}
end:
	ERR_clear_error();
	sconn_end(ep, c);
}

static void *
srv_loop(void *arg)
{
	struct epoll_event	 evs[64], ev = { .events = EPOLLIN };
	struct sconn		*c;
	int			 ep, ls, fd, n, one = 1;

	(void)arg;
	if ((ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(ls, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ls, (struct sockaddr *)&srv_sa, sizeof(srv_sa)) == -1 ||
	    listen(ls, 1024) == -1 || (ep = epoll_create1(0)) == -1)
		fatal("listen");
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		for (int i = 0; i < n; i++) {
			if ((c = evs[i].data.ptr) != NULL) {
				sconn_serve(ep, c);
				continue;
			}
			while ((fd = accept4(ls, NULL, NULL,
			    SOCK_NONBLOCK)) != -1) {
				if ((c = calloc(1, sizeof(*c))) == NULL ||
				    (c->ssl = SSL_new(srv_ctx)) == NULL)
					fatal("accept");
				c->fd = fd;
				nodelay(fd);
				SSL_set_fd(c->ssl, fd);
				SSL_set_accept_state(c->ssl);
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				sconn_serve(ep, c);
			}
		}
	}
	return NULL;
}

static int
cmd_server(int argc, char **argv)
{
	const char	*cert = NULL, *key = NULL, *addr = NULL;
	int		 threads = 2, o, port = 0;
	pthread_t	 t;

	while ((o = getopt(argc, argv, "a:p:c:k:t:A:")) != -1)
		switch (o) {
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 't': threads = atoi(optarg); break;
		case 'A': srv_auth = optarg; break;
		default: return 2;
		}
	if (addr == NULL || cert == NULL || key == NULL || port <= 0 ||
	    threads < 1 || threads > 64)
		return 2;
	srv_sa.sin_family = AF_INET;
	srv_sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &srv_sa.sin_addr) != 1)
		return 2;
	memset(body_x, 'x', sizeof(body_x));
	if ((srv_ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate_chain_file(srv_ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(srv_ctx, key, SSL_FILETYPE_PEM) != 1)
		fatal("server certificate");
	SSL_CTX_set_mode(srv_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	for (int i = 1; i < threads; i++)
		if (pthread_create(&t, NULL, srv_loop, NULL) != 0)
			fatal("pthread_create");
	usleep(100000);
	printf("ready\n");
	fflush(stdout);
	srv_loop(NULL);
	return 0;
}

/* ---- the clients ---- */

struct client {
	SSL_CTX			*ctx;
	struct sockaddr_in	 sa;
	const char		*sni, *auth;
	int			 port, newconn;
	unsigned long		 size;
	int			 stop;
	pthread_barrier_t	 go;
	pthread_mutex_t		 mu;
	uint64_t		 ok, err, conns, hist[HIST_US + 1];
	double			 sum_us;
};

static SSL *
tls_dial(struct client *cl)
{
	struct timeval	 tv = { .tv_sec = 5 };
	SSL		*s;
	int		 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	nodelay(fd);
	if (connect(fd, (struct sockaddr *)&cl->sa, sizeof(cl->sa)) == -1 ||
	    (s = SSL_new(cl->ctx)) == NULL) {
		close(fd);
		return NULL;
	}
	SSL_set_fd(s, fd);
	SSL_set_tlsext_host_name(s, cl->sni);
	SSL_set1_host(s, cl->sni);
	if (SSL_connect(s) != 1) {
		ERR_print_errors_fp(stderr);
		SSL_free(s);
		close(fd);
		return NULL;
	}
	return s;
}

static void
tls_close(SSL *s)
{
	int	 fd = SSL_get_fd(s);

	SSL_shutdown(s);
	SSL_free(s);
	close(fd);
	ERR_clear_error();
}

/* One request and its whole response. 0: a 200, -1: anything else. */
static int
exchange(struct client *cl, SSL *s, unsigned long i)
{
	static const char	 body[] = "{\"model\":\"m\",\"messages\":"
	    "[{\"role\":\"user\",\"content\":\"hi\"}]}";
	char			 req[1024], size[32] = "", auth[300] = "";
	char			 buf[IN_MAX], *he;
	const char		*v;
	size_t			 len = 0, vl, have, want;
	int			 n;

	if (cl->size != 64)
		snprintf(size, sizeof(size), "?size=%lu", cl->size);
	if (cl->auth != NULL)
		snprintf(auth, sizeof(auth), "Authorization: %s\r\n",
		    cl->auth);
	if (i % 2 == 0)
		n = snprintf(req, sizeof(req), "POST /v1/chat/completions%s "
		    "HTTP/1.1\r\nHost: %s:%d\r\n%sContent-Type: "
		    "application/json\r\nContent-Length: %zu\r\n%s\r\n%s",
		    size, cl->sni, cl->port, auth, sizeof(body) - 1,
		    cl->newconn ? "Connection: close\r\n" : "", body);
	else
		n = snprintf(req, sizeof(req), "GET /v1/models%s HTTP/1.1\r\n"
		    "Host: %s:%d\r\n%s%s\r\n", size, cl->sni, cl->port, auth,
		    cl->newconn ? "Connection: close\r\n" : "");
	if (SSL_write(s, req, n) != n)
		return -1;
	for (;;) {
		if ((n = SSL_read(s, buf + len, (int)(sizeof(buf) - len))) <= 0)
			return -1;
		len += (size_t)n;
		if ((he = memmem(buf, len, "\r\n\r\n", 4)) != NULL)
			break;
		if (len == sizeof(buf))
			return -1;
	}
	if (len < 12 || memcmp(buf + 9, "200", 3) != 0 ||
	    (v = header(buf, he + 2, "content-length", &vl)) == NULL)
		return -1;
	want = strtoul(v, NULL, 10);
	have = len - (size_t)(he + 4 - buf);
	while (have < want) {
		if ((n = SSL_read(s, buf, sizeof(buf))) <= 0)
			return -1;
		have += (size_t)n;
	}
	return have == want ? 0 : -1;
}

static void *
cli_thread(void *arg)
{
	struct client	*cl = arg;
	uint64_t	*hist, ok = 0, err = 0, conns = 0;
	double		 t0, us, sum = 0;
	unsigned long	 i = 0;
	SSL		*s = NULL;

	if ((hist = calloc(HIST_US + 1, sizeof(*hist))) == NULL)
		fatal("calloc");
	if (!cl->newconn && (s = tls_dial(cl)) != NULL)
		conns++;
	pthread_barrier_wait(&cl->go);
	while (!__atomic_load_n(&cl->stop, __ATOMIC_ACQUIRE)) {
		t0 = now();
		if (s == NULL) {
			if ((s = tls_dial(cl)) == NULL) {
				if (++err > 100)
					break;
				usleep(10000);
				continue;
			}
			conns++;
		}
		if (exchange(cl, s, i++) == -1) {
			err++;
			tls_close(s);
			s = NULL;
			continue;
		}
		us = (now() - t0) * 1e6;
		hist[us < HIST_US ? (size_t)us : HIST_US]++;
		sum += us;
		ok++;
		if (cl->newconn) {
			tls_close(s);
			s = NULL;
		}
	}
	if (s != NULL)
		tls_close(s);
	pthread_mutex_lock(&cl->mu);
	for (size_t k = 0; k <= HIST_US; k++)
		cl->hist[k] += hist[k];
	cl->ok += ok;
	cl->err += err;
	cl->conns += conns;
	cl->sum_us += sum;
	pthread_mutex_unlock(&cl->mu);
	free(hist);
	return NULL;
}

static size_t
percentile(const struct client *cl, double p)
{
	uint64_t	 want = (uint64_t)((double)cl->ok * p), seen = 0;

	for (size_t k = 0; k <= HIST_US; k++)
		if ((seen += cl->hist[k]) > want)
			return k;
	return HIST_US;
}

static int
cmd_client(int argc, char **argv)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	static struct client cl;
	pthread_t	 t[MAX_CONNS];
	struct rusage	 ru;
	double		 secs, t0;
	int		 nconn, o;

	if (argc < 7)
		return 2;
	cl.sa.sin_family = AF_INET;
	cl.port = atoi(argv[2]);
	cl.sa.sin_port = htons((uint16_t)cl.port);
	cl.sni = argv[3];
	secs = atof(argv[5]);
	nconn = atoi(argv[6]);
	cl.size = 64;
	if (inet_pton(AF_INET, argv[1], &cl.sa.sin_addr) != 1 || secs <= 0 ||
	    nconn < 1 || nconn > MAX_CONNS)
		return 2;
	optind = 7;
	while ((o = getopt(argc, argv, "s:ng:")) != -1)
		switch (o) {
		case 's': cl.size = strtoul(optarg, NULL, 10); break;
		case 'n': cl.newconn = 1; break;
		case 'g': cl.auth = optarg; break;
		default: return 2;
		}
	if ((cl.ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_load_verify_locations(cl.ctx, argv[4], NULL) != 1)
		fatal("client CA");
	SSL_CTX_set_verify(cl.ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_alpn_protos(cl.ctx, alpn, sizeof(alpn) - 1);
	pthread_mutex_init(&cl.mu, NULL);
	pthread_barrier_init(&cl.go, NULL, (unsigned)nconn + 1);
	for (int i = 0; i < nconn; i++)
		if (pthread_create(&t[i], NULL, cli_thread, &cl) != 0)
			fatal("pthread_create");
	/* every keep-alive connection is up before the clock starts */
	pthread_barrier_wait(&cl.go);
	t0 = now();
	usleep((useconds_t)(secs * 1e6));
	__atomic_store_n(&cl.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < nconn; i++)
		pthread_join(t[i], NULL);
	secs = now() - t0;
	getrusage(RUSAGE_SELF, &ru);
	printf("ok=%llu err=%llu conns=%llu secs=%.3f per_s=%.0f p50_us=%zu "
	    "p99_us=%zu mean_us=%.0f cpu_s=%.2f\n", (unsigned long long)cl.ok,
	    (unsigned long long)cl.err, (unsigned long long)cl.conns, secs,
	    (double)cl.ok / secs, percentile(&cl, 0.5), percentile(&cl, 0.99),
	    cl.ok ? cl.sum_us / (double)cl.ok : 0.0,
	    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	return cl.err == 0 && cl.ok > 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 1) {	/* `make bench`: the whole benchmark */
		execl("/bin/sh", "sh", "bench/endpoints/run.sh", (char *)NULL);
		perror("bench_endpoints: bench/endpoints/run.sh");
		return 2;
	}
	if (argc > 1 && strcmp(argv[1], "server") == 0)
		return cmd_server(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "client") == 0)
		return cmd_client(argc - 1, argv + 1);
	fprintf(stderr, "usage: bench_endpoints server -a ADDR -p PORT -c CERT "
	    "-k KEY [-t N] [-A AUTH]\n"
	    "       bench_endpoints client ADDR PORT SNI CAFILE SECS CONNS "
	    "[-s SIZE] [-n] [-g AUTH]\n");
	return 2;
}
