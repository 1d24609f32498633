/*
 * intercept.c - TLS interception of hosts with endpoint rules
 * (docs/endpoints.md): the guest's TLS ends here with a leaf from the
 * runner's CA, each request is checked by the endpoint rules and gets its
 * credentials, and goes on over TLS to the real server, verified.
 *
 * Both TLS sides run on memory BIOs: the loop moves ciphertext between
 * them and the sockets, so OpenSSL never touches a socket and everything
 * stays non-blocking. One pass (mitm_pump) does all it can on both sides
 * until nothing moves; every event on either socket runs it.
 *
 * Requests are sequential: the next request head is read only once the
 * previous response has ended (pipelined requests wait in TLS), so a 403
 * is always in its place in the stream, and a body is never read as a
 * head or a head as a body (src/peek/http1.h frames both strictly).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../peek/http1.h"
#include "proxy_int.h"

#define MITM_TLS_IN_MAX	 (64 * 1024)	/* ciphertext read, not decrypted */
#define MITM_OUT_MAX	 (256 * 1024)	/* ciphertext waiting to be sent */
#define MITM_OUTBUF	 16384
#define MITM_IN_MAX	 (H1_HEAD_MAX + 16384) /* plaintext read, per side */
#define MITM_DISCARD_MAX (1u << 20)	/* a denied request's body, read and
					   dropped; longer: the connection
					   is closed */
#define MITM_WHY_MAX	 512
#define MITM_SESS_MAX	 64		/* upstream sessions kept per loop */

enum up_state { UP_CONNECT, UP_HANDSHAKE, UP_READY, UP_FAILED };
enum rq_state { RQ_HEAD, RQ_BODY, RQ_WAIT, RQ_TUNNEL };
enum rs_state { RS_IDLE, RS_HEAD, RS_BODY, RS_TUNNEL };

struct mitm_side {
	SSL		*ms_ssl;
	BIO		*ms_rbio, *ms_wbio;	/* owned by ms_ssl */
	uint8_t		*ms_out;		/* ciphertext being sent */
	size_t		 ms_outlen, ms_outoff;
	uint8_t		*ms_in;			/* plaintext read */
	size_t		 ms_inlen;
	int		 ms_hs;			/* handshake done */
	int		 ms_tcp_eof;		/* the socket read EOF */
	int		 ms_reset;		/* upstream: it was reset; what
						   came before goes on first */
	int		 ms_drained;		/* recv() said EAGAIN: no use
						   trying again before epoll
						   says it is readable */
	int		 ms_eof;		/* no more plaintext */
};

struct mitm {
	struct mitm_side	 m_s[2];	/* [0] guest, [1] upstream */
	const struct ep_host	*m_host;	/* in c_eps */
	enum up_state		 m_up;
	char			 m_upwhy[MITM_WHY_MAX];
	/* the request side: guest to upstream */
	enum rq_state		 m_rq;
	int			 m_deny;	/* discarding a denied body */
	enum h1_body		 m_rqbody;
	uint64_t		 m_rqleft, m_discarded;
	struct h1_chunked	 m_rqch;
	int			 m_upgrade;	/* the request asked for one */
	int			 m_body_done, m_resp_done;
	/* the response side: upstream to guest */
	enum rs_state		 m_rs;
	enum h1_body		 m_rsbody;
	uint64_t		 m_rsleft;
	struct h1_chunked	 m_rsch;
	int			 m_head_req;
	int			 m_close;	/* end after this exchange */
	int			 m_closing;	/* ending: flush, then close */
	uint64_t		 m_requests;	/* allowed, sent upstream */
	struct h1_head		 m_h, m_rh;
	struct ep_decision	 m_d;
};

/*
 * Upstream TLS sessions, per loop (no lock: a session is stored by the
 * callback of a handshake the loop drives, and taken by the loop), so that
 * a new intercepted connection resumes instead of parsing and verifying
 * the server's chain again. Keyed by host and port; a resumption with a
 * server that does not know the ticket is a full, verified handshake.
 */
struct mitm_sess {
	struct {
		char		 host[256];
		uint16_t	 port;
		SSL_SESSION	*sess;
		uint64_t	 used;
	}		 ms_e[MITM_SESS_MAX];
	uint64_t	 ms_clock;
};

static int		 conn_idx = -1;	/* SSL ex_data: the struct conn */
static pthread_once_t	 conn_idx_once = PTHREAD_ONCE_INIT;

static void
conn_idx_init(void)
{
	conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static int
sess_find(struct mitm_sess *sc, const char *host, uint16_t port)
{
	for (int i = 0; i < MITM_SESS_MAX; i++)
		if (sc->ms_e[i].sess != NULL && sc->ms_e[i].port == port &&
		    strcmp(sc->ms_e[i].host, host) == 0)
			return i;
	return -1;
}

/* SSL_CTX_sess_set_new_cb: keeps the newest session of a host. */
static int
sess_new(SSL *ssl, SSL_SESSION *sess)
{
	struct conn		*c = SSL_get_ex_data(ssl, conn_idx);
	struct mitm_sess	*sc;
	const char		*host;
	uint16_t		 port;
	int			 i, old = 0;

	if (c == NULL || c->c_mitm == NULL || (sc = c->c_lp->lp_sess) ==
	    NULL || !SSL_SESSION_is_resumable(sess))
		return 0;
	host = ep_host_name(c->c_mitm->m_host);
	port = ep_host_port(c->c_mitm->m_host);
	if ((i = sess_find(sc, host, port)) == -1)
		for (i = 0; i < MITM_SESS_MAX; i++) {
			if (sc->ms_e[i].sess == NULL)
				break;
			if (sc->ms_e[i].used < sc->ms_e[old].used)
				old = i;
		}
	if (i == MITM_SESS_MAX)
		i = old;
	SSL_SESSION_free(sc->ms_e[i].sess);
	snprintf(sc->ms_e[i].host, sizeof(sc->ms_e[i].host), "%s", host);
	sc->ms_e[i].port = port;
	sc->ms_e[i].sess = sess;
	sc->ms_e[i].used = ++sc->ms_clock;
	return 1;	/* the reference is ours */
}

void
mitm_loop_fini(struct loop *lp)
{
	if (lp->lp_sess == NULL)
		return;
	for (int i = 0; i < MITM_SESS_MAX; i++)
		SSL_SESSION_free(lp->lp_sess->ms_e[i].sess);
	free(lp->lp_sess);
	lp->lp_sess = NULL;
}

int
proxy_intercept_setup(struct proxy *px, struct tlsca *ca, struct secrets *sec,
    const char *upstream_ca_file, struct ir_err *err)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	SSL_CTX	*ctx;

	if (px->px_upctx != NULL)
		return err_set(err, EALREADY, "proxy: interception is already "
		    "set up");
	if (ca == NULL || sec == NULL)
		return err_set(err, EINVAL, "proxy: interception needs a CA "
		    "and a secrets store");
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return err_set(err, ENOMEM, "proxy: SSL_CTX_new failed");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1 ||
	    (upstream_ca_file != NULL &&
	    SSL_CTX_load_verify_locations(ctx, upstream_ca_file, NULL) != 1)) {
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return err_set(err, EINVAL, "proxy: cannot load the upstream "
		    "trust store%s%s", upstream_ca_file ? " " : "",
		    upstream_ca_file ? upstream_ca_file : "");
	}
	SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
	pthread_once(&conn_idx_once, conn_idx_init);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, sess_new);
	px->px_ca = ca;
	px->px_secrets = sec;
	px->px_upctx = ctx;
	return 0;
}

uint64_t
mitm_requests(const struct mitm *m)
{
	return m->m_requests;
}

void
mitm_free(struct mitm *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < 2; i++) {
		SSL_free(m->m_s[i].ms_ssl);
		free(m->m_s[i].ms_out);
		free(m->m_s[i].ms_in);
	}
	free(m);
}

static int
side_init(struct mitm_side *s, SSL_CTX *ctx)
{
	if ((s->ms_ssl = SSL_new(ctx)) == NULL ||
	    (s->ms_rbio = BIO_new(BIO_s_mem())) == NULL) {
		ERR_clear_error();
		return -1;
	}
	if ((s->ms_wbio = BIO_new(BIO_s_mem())) == NULL) {
		BIO_free(s->ms_rbio);
		s->ms_rbio = NULL;
		ERR_clear_error();
		return -1;
	}
	BIO_set_mem_eof_return(s->ms_rbio, -1);
	SSL_set_bio(s->ms_ssl, s->ms_rbio, s->ms_wbio);
	/* A peer that closes without close_notify just ends its stream. */
	SSL_set_options(s->ms_ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	return 0;
}

static void	side_write(struct conn *, int, const void *, size_t);

/*
 * Writes a whole response of the runner's own to the guest: `status`, a
 * JSON body {"error": code, "host", [method, path, rule,] "reason"}.
 * `close`: the connection ends after it.
 */
static void
reply(struct conn *c, int status, const char *text, const char *code,
    const char *method, size_t mlen, const char *path, const char *rule,
    const char *reason, int close)
{
	struct mitm	*m = c->c_mitm;
	json_t		*o;
	char		*body = NULL, head[256];
	size_t		 blen = 0;
	int		 hl;

	/* Every value is ASCII here (a method token, a normalised path,
	   rule and reason texts); one that were not would be left out. */
	if ((o = json_pack("{s:s, s:s}", "error", code, "host",
	    ep_host_name(m->m_host))) != NULL) {
		if (method != NULL)
			json_object_set_new(o, "method",
			    json_stringn(method, mlen));
		if (path != NULL)
			json_object_set_new(o, "path", json_string(path));
		if (rule != NULL)
			json_object_set_new(o, "rule", json_string(rule));
		json_object_set_new(o, "reason", json_string(reason));
		body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
		    JSON_ENSURE_ASCII);
		json_decref(o);
	}
	if (body != NULL)
		blen = strlen(body);
	hl = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n%s\r\n", status, text, blen + 1,
	    close ? "Connection: close\r\n" : "");
	side_write(c, 0, head, (size_t)hl);
	side_write(c, 0, body, blen);
	side_write(c, 0, "\n", 1);
	free(body);
	if (close)
		m->m_closing = 1;
}

static void
audit_request(struct conn *c, const char *method, size_t mlen,
    const char *path, const char *rule, const char *reason)
{
	struct audit_event	 ev;
	char			 id[PX_ID_MAX];

	px_audit_init(c->c_lp->lp_px, c->c_slot, AUDIT_REQUEST, AUDIT_TCP,
	    &c->c_src, &c->c_dst, id, &ev);
	ev.ae_name = c->c_name;
	ev.ae_namelen = c->c_namelen;
	ev.ae_name_source = c->c_namesrc;
	ev.ae_allowed = 0;
	ev.ae_rule = rule;
	ev.ae_reason = reason;
	ev.ae_method = method;
	ev.ae_methodlen = mlen;
	ev.ae_path = path;
	ev.ae_pathlen = path != NULL ? strlen(path) : 0;
	ev.ae_intercepted = 1;
	audit_emit(&ev);
}

/* Ciphertext waiting for side `s`'s socket. */
static size_t
out_pending(const struct mitm_side *s)
{
	if (s->ms_ssl == NULL)
		return 0;
	return (size_t)BIO_ctrl_pending(s->ms_wbio) + s->ms_outlen -
	    s->ms_outoff;
}

/* Drops n bytes from the front of side i's plaintext. */
static void
in_consume(struct mitm_side *s, size_t n)
{
	memmove(s->ms_in, s->ms_in + n, s->ms_inlen - n);
	s->ms_inlen -= n;
}

/* Sends what side `s` has to send. 1: moved, 0: nothing, -1: failed. */
static int
side_flush(struct mitm_side *s, int fd)
{
	ssize_t	 n;
	int	 moved = 0, r;

	if (fd == -1 || s->ms_ssl == NULL)
		return 0;
	for (;;) {
		if (s->ms_outoff == s->ms_outlen) {
			r = BIO_read(s->ms_wbio, s->ms_out, MITM_OUTBUF);
			if (r <= 0)
				return moved;
			s->ms_outlen = (size_t)r;
			s->ms_outoff = 0;
		}
		n = send(fd, s->ms_out + s->ms_outoff,
		    s->ms_outlen - s->ms_outoff, MSG_NOSIGNAL);
		if (n > 0) {
			s->ms_outoff += (size_t)n;
			moved = 1;
			continue;
		}
		if (n == -1 && errno == EAGAIN)
			return moved;
		return -1;
	}
}

/* Reads ciphertext from the socket. 1: moved, 0: nothing, -1: reset. */
static int
side_recv(struct mitm_side *s, int fd)
{
	uint8_t	 buf[16384];
	ssize_t	 n;
	int	 moved = 0;

	if (fd == -1 || s->ms_tcp_eof || s->ms_drained)
		return 0;
	while ((size_t)BIO_ctrl_pending(s->ms_rbio) < MITM_TLS_IN_MAX) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0) {
			BIO_write(s->ms_rbio, buf, (int)n);
			moved = 1;
			continue;
		}
		if (n == 0) {
			s->ms_tcp_eof = 1;
			/* OpenSSL now sees the end of the stream. */
			BIO_set_mem_eof_return(s->ms_rbio, 0);
			return 1;
		}
		if (errno == EAGAIN) {
			s->ms_drained = 1;
			return moved;
		}
		return -1;
	}
	return moved;
}

/* Plaintext from side `s`. 1: moved, 0: nothing, -1: a TLS error. */
static int
side_read(struct mitm_side *s)
{
	int	 n, e, moved = 0;

	while (!s->ms_eof && s->ms_inlen < MITM_IN_MAX) {
		n = SSL_read(s->ms_ssl, s->ms_in + s->ms_inlen,
		    (int)(MITM_IN_MAX - s->ms_inlen));
		if (n > 0) {
			s->ms_inlen += (size_t)n;
			moved = 1;
			continue;
		}
		e = SSL_get_error(s->ms_ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return moved;
		ERR_clear_error();
		if (e == SSL_ERROR_ZERO_RETURN) {
			s->ms_eof = 1;
			return 1;
		}
		return -1;
	}
	return moved;
}

/* Plaintext to side `s`, if its ciphertext queue has room. */
static int
side_room(const struct mitm_side *s)
{
	return out_pending(s) < MITM_OUT_MAX;
}

static void
side_write(struct conn *c, int i, const void *buf, size_t len)
{
	if (len > 0)
		SSL_write(c->c_mitm->m_s[i].ms_ssl, buf, (int)len);
	c->c_bytes[i == 1 ? 0 : 1] += len;
}

/* The reason a verification failed, as OpenSSL words it. */
static void
up_failed(struct mitm *m, const char *what)
{
	long	 v = SSL_get_verify_result(m->m_s[1].ms_ssl);
	unsigned long e = ERR_peek_last_error();
	char	 buf[256];

	if (v != X509_V_OK)
		snprintf(m->m_upwhy, sizeof(m->m_upwhy), "%s: certificate "
		    "verify failed: %s", what,
		    X509_verify_cert_error_string(v));
	else if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(m->m_upwhy, sizeof(m->m_upwhy), "%s: %s", what, buf);
	} else
		snprintf(m->m_upwhy, sizeof(m->m_upwhy), "%s: the server "
		    "closed the connection", what);
	ERR_clear_error();
	m->m_up = UP_FAILED;
}

static int
up_start(struct conn *c)
{
	struct mitm	*m = c->c_mitm;
	SSL		*ssl;
	int		 i;

	if (side_init(&m->m_s[1], c->c_lp->lp_px->px_upctx) == -1)
		return -1;
	ssl = m->m_s[1].ms_ssl;
	SSL_set_connect_state(ssl);
	if (SSL_set_tlsext_host_name(ssl, ep_host_name(m->m_host)) != 1 ||
	    SSL_set1_host(ssl, ep_host_name(m->m_host)) != 1 ||
	    SSL_set_ex_data(ssl, conn_idx, c) != 1) {
		ERR_clear_error();
		return -1;
	}
	if (c->c_lp->lp_sess == NULL)
		c->c_lp->lp_sess = calloc(1, sizeof(*c->c_lp->lp_sess));
	if (c->c_lp->lp_sess != NULL && (i = sess_find(c->c_lp->lp_sess,
	    ep_host_name(m->m_host), ep_host_port(m->m_host))) != -1) {
		SSL_SESSION	*sess = c->c_lp->lp_sess->ms_e[i].sess;

		SSL_set_session(ssl, sess);
		/* A TLS 1.3 ticket is for one use (the server sends new ones,
		   which sess_new() keeps); a TLS 1.2 session stays. */
		if (SSL_SESSION_get_protocol_version(sess) == TLS1_3_VERSION) {
			SSL_SESSION_free(sess);
			c->c_lp->lp_sess->ms_e[i].sess = NULL;
		}
	}
	m->m_up = UP_HANDSHAKE;
	return 0;
}

/* Drives the handshakes. 1: moved, 0: nothing, -1: the guest's failed. */
static int
handshakes(struct conn *c, char *why, size_t wlen)
{
	struct mitm	*m = c->c_mitm;
	int		 r, e, moved = 0;

	if (!m->m_s[0].ms_hs) {
		r = SSL_do_handshake(m->m_s[0].ms_ssl);
		if (r == 1) {
			m->m_s[0].ms_hs = 1;
			moved = 1;
		} else {
			e = SSL_get_error(m->m_s[0].ms_ssl, r);
			if (e != SSL_ERROR_WANT_READ &&
			    e != SSL_ERROR_WANT_WRITE) {
				unsigned long le = ERR_peek_last_error();
				char	 buf[200] = "the guest closed";

				if (le != 0)
					ERR_error_string_n(le, buf,
					    sizeof(buf));
				ERR_clear_error();
				snprintf(why, wlen, "the guest's TLS "
				    "handshake failed: %s", buf);
				return -1;
			}
		}
	}
	if (m->m_up == UP_HANDSHAKE) {
		r = SSL_do_handshake(m->m_s[1].ms_ssl);
		if (r == 1) {
			m->m_s[1].ms_hs = 1;
			m->m_up = UP_READY;
			moved = 1;
		} else {
			e = SSL_get_error(m->m_s[1].ms_ssl, r);
			if (e != SSL_ERROR_WANT_READ &&
			    e != SSL_ERROR_WANT_WRITE) {
				up_failed(m, "upstream TLS");
				moved = 1;
			}
		}
	}
	return moved;
}

static int
is_head(const uint8_t *m, size_t len)
{
	return len == 4 && memcmp(m, "HEAD", 4) == 0;
}

static int
secret_get(void *arg, const char *name, char **val, size_t *len,
    struct ir_err *err)
{
	return secrets_get(arg, name, val, len, err);
}

/* The allowed request's head, with the credentials, to upstream. */
static int
forward_head(struct conn *c, const uint8_t *in, char *why, size_t wlen)
{
	struct mitm		*m = c->c_mitm;
	const struct ep_host	*h = m->m_host;
	struct proxy		*px = c->c_lp->lp_px;
	struct ir_err		 err;
	const uint8_t		*eol;
	char			*out, *val;
	size_t			 cap, o, vlen, n;

	/* Each field is rebuilt as "name: value": one byte more than a
	   field sent without the space. */
	cap = m->m_h.hd_used + m->m_h.hd_nfields + ep_host_ncreds(h) *
	    (EP_HEADER_MAX + EP_VALUE_MAX + 4) + 4;
	if ((out = malloc(cap)) == NULL) {
		snprintf(why, wlen, "out of memory");
		return -1;
	}
	eol = memchr(in, '\n', m->m_h.hd_used);
	o = (size_t)(eol - in) + 1;
	memcpy(out, in, o);
	for (unsigned i = 0; i < m->m_h.hd_nfields; i++) {
		const struct h1_field *f = &m->m_h.hd_fields[i];

		if (ep_host_is_cred_header(h, (const char *)in +
		    f->hf_name_off, f->hf_name_len))
			continue;	/* the guest's own is never sent */
		memcpy(out + o, in + f->hf_name_off, f->hf_name_len);
		o += f->hf_name_len;
		memcpy(out + o, ": ", 2);
		o += 2;
		memcpy(out + o, in + f->hf_value_off, f->hf_value_len);
		o += f->hf_value_len;
		memcpy(out + o, "\r\n", 2);
		o += 2;
	}
	for (size_t i = 0; i < ep_host_ncreds(h); i++) {
		if (ep_cred_render(h, i, secret_get, px->px_secrets, &val,
		    &vlen, &err) == -1) {
			explicit_bzero(out, o);
			free(out);
			snprintf(why, wlen, "%s", err.msg);
			return -1;
		}
		n = strlen(ep_cred_header(h, i));
		if (o + n + vlen + 4 > cap) {
			ep_cred_wipe(val, vlen);
			explicit_bzero(out, o);
			free(out);
			snprintf(why, wlen, "credential '%s': too long",
			    ep_cred_header(h, i));
			return -1;
		}
		memcpy(out + o, ep_cred_header(h, i), n);
		o += n;
		memcpy(out + o, ": ", 2);
		o += 2;
		memcpy(out + o, val, vlen);
		o += vlen;
		memcpy(out + o, "\r\n", 2);
		o += 2;
		ep_cred_wipe(val, vlen);
	}
	memcpy(out + o, "\r\n", 2);
	o += 2;
	side_write(c, 1, out, o);
	explicit_bzero(out, o);
	free(out);
	return 0;
}

/* The exchange is over when both the request and its response are. */
static void
exchange_next(struct mitm *m)
{
	if (!m->m_body_done || !m->m_resp_done)
		return;
	m->m_rq = RQ_HEAD;
	m->m_rs = RS_IDLE;
	m->m_body_done = m->m_resp_done = 0;
	h1_request_init(&m->m_h);
	if (m->m_close)
		m->m_closing = 1;
}

/* Overrides the decision: denied before matching, `fmt` says why. */
static void __attribute__((format(printf, 2, 3)))
deny_ambiguous(struct mitm *m, const char *fmt, ...)
{
	va_list	 ap;

	m->m_d.ed_verdict = EP_DENY;
	m->m_d.ed_basis = EP_BY_AMBIGUOUS;
	m->m_d.ed_rule = -1;
	va_start(ap, fmt);
	vsnprintf(m->m_d.ed_why, sizeof(m->m_d.ed_why), fmt, ap);
	va_end(ap);
	for (char *p = m->m_d.ed_why; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
}

/* A request head is complete: decide it. 1: moved, 0: wait, -1: close. */
static int
request_head(struct conn *c)
{
	struct mitm		*m = c->c_mitm;
	struct mitm_side	*g = &m->m_s[0];
	const struct ep_host	*h = m->m_host;
	const uint8_t		*in = g->ms_in, *hv, *uv = NULL;
	const char		*method, *rule;
	size_t			 mlen, hvlen, uvlen = 0;
	char			 why[MITM_WHY_MAX];
	int			 big;

	method = (const char *)in + m->m_h.hd_method_off;
	mlen = m->m_h.hd_method_len;
	hv = h1_field_get(&m->m_h, in, "host", &hvlen);
	ep_eval(h, method, mlen, (const char *)in + m->m_h.hd_target_off,
	    m->m_h.hd_target_len, &m->m_d);
	if (hv == NULL)
		deny_ambiguous(m, "the request has no Host header");
	else if (!ep_host_header_ok(h, (const char *)hv, hvlen))
		deny_ambiguous(m, "Host '%.*s' is not %s, the connection's "
		    "name", (int)(hvlen > 64 ? 64 : hvlen), hv,
		    ep_host_name(h));
	else if (m->m_h.hd_upgrade && ((uv = h1_field_get(&m->m_h, in,
	    "upgrade", &uvlen)) == NULL || uvlen != 9 ||
	    strncasecmp((const char *)uv, "websocket", 9) != 0))
		/* After a 101 the stream is relayed unread: another protocol
		   (h2c) would carry requests no rule ever sees. */
		deny_ambiguous(m, "Upgrade '%.*s': only websocket may follow "
		    "a checked request", (int)(uvlen > 32 ? 32 : uvlen),
		    uv != NULL ? (const char *)uv : "");
	if (m->m_d.ed_verdict == EP_DENY) {
		rule = ep_decision_rule(h, &m->m_d);
		audit_request(c, method, mlen, m->m_d.ed_path, rule,
		    m->m_d.ed_why);
		big = m->m_h.hd_body == H1_BODY_LENGTH &&
		    m->m_h.hd_length > MITM_DISCARD_MAX;
		reply(c, 403, "Forbidden", "endpoint_denied", method, mlen,
		    m->m_d.ed_path, rule, m->m_d.ed_why, big ||
		    m->m_h.hd_close || m->m_h.hd_continue);
		m->m_deny = 1;
		m->m_rqbody = m->m_h.hd_body;
		m->m_rqleft = m->m_h.hd_length;
		m->m_discarded = 0;
		h1_chunked_init(&m->m_rqch);
		in_consume(g, m->m_h.hd_used);
		m->m_rq = m->m_rqbody == H1_BODY_NONE || (m->m_rqbody ==
		    H1_BODY_LENGTH && m->m_rqleft == 0) ? RQ_HEAD : RQ_BODY;
		h1_request_init(&m->m_h);
		return 1;
	}
	if (m->m_up == UP_CONNECT || m->m_up == UP_HANDSHAKE)
		return 0;
	if (m->m_up == UP_FAILED) {
		audit_request(c, method, mlen, m->m_d.ed_path,
		    "upstream-unverified", m->m_upwhy);
		reply(c, 502, "Bad Gateway", "upstream_failed", method, mlen,
		    m->m_d.ed_path, NULL, m->m_upwhy, 1);
		return 1;
	}
	if (!side_room(&m->m_s[1]))
		return 0;
	if (forward_head(c, in, why, sizeof(why)) == -1) {
		audit_request(c, method, mlen, m->m_d.ed_path, "credentials",
		    why);
		reply(c, 502, "Bad Gateway", "credentials_failed", method,
		    mlen, m->m_d.ed_path, NULL, why, 1);
		return 1;
	}
	m->m_requests++;
	m->m_deny = 0;
	m->m_upgrade = m->m_h.hd_upgrade;
	m->m_close = m->m_close || m->m_h.hd_close;
	m->m_head_req = is_head((const uint8_t *)method, mlen);
	m->m_rqbody = m->m_h.hd_body;
	m->m_rqleft = m->m_h.hd_length;
	h1_chunked_init(&m->m_rqch);
	in_consume(g, m->m_h.hd_used);
	m->m_rs = RS_HEAD;
	m->m_resp_done = 0;
	h1_response_init(&m->m_rh, m->m_head_req);
	if (m->m_rqbody == H1_BODY_NONE ||
	    (m->m_rqbody == H1_BODY_LENGTH && m->m_rqleft == 0)) {
		m->m_body_done = 1;
		m->m_rq = RQ_WAIT;
	} else
		m->m_rq = RQ_BODY;
	return 1;
}

/*
 * How many of `len` bytes at `p` belong to the body being read (`kind`,
 * `left`, `ch`); *done when it ends there. -1: a bad chunked body.
 */
static ssize_t
body_span(enum h1_body kind, uint64_t *left, struct h1_chunked *ch,
    const uint8_t *p, size_t len, int eof, int *done)
{
	size_t		 used = 0;
	enum peek_rc	 rc;

	*done = 0;
	switch (kind) {
	case H1_BODY_NONE:
		*done = 1;
		return 0;
	case H1_BODY_LENGTH:
		used = len < *left ? len : (size_t)*left;
		*left -= used;
		*done = *left == 0;
		return (ssize_t)used;
	case H1_BODY_CHUNKED:
		rc = h1_chunked_feed(ch, p, len, &used);
		if (rc == PEEK_BAD)
			return -1;
		*done = rc == PEEK_DONE;
		return (ssize_t)used;
	case H1_BODY_CLOSE:
		*done = eof && len == 0;
		return (ssize_t)len;
	}
	return -1;
}

/* Guest to upstream. 1: moved, 0: nothing, -1: close (why set). */
static int
request_step(struct conn *c, char *why, size_t wlen)
{
	struct mitm		*m = c->c_mitm;
	struct mitm_side	*g = &m->m_s[0];
	enum peek_rc		 rc;
	ssize_t			 n;
	int			 done;

	switch (m->m_rq) {
	case RQ_HEAD:
		if (g->ms_inlen == 0 || m->m_closing)
			return 0;
		rc = h1_feed(&m->m_h, g->ms_in, g->ms_inlen);
		if (rc == PEEK_MORE)
			return 0;
		if (rc == PEEK_BAD) {
			snprintf(why, wlen, "bad request head: %s",
			    m->m_h.hd_why);
			audit_request(c, NULL, 0, NULL, "malformed", why);
			reply(c, 400, "Bad Request", "bad_request", NULL, 0,
			    NULL, NULL, why, 1);
			return 1;
		}
		return request_head(c);
	case RQ_BODY:
		if (g->ms_inlen == 0 || (!m->m_deny && !side_room(&m->m_s[1])))
			return 0;
		n = body_span(m->m_rqbody, &m->m_rqleft, &m->m_rqch,
		    g->ms_in, g->ms_inlen, 0, &done);
		if (n < 0) {
			snprintf(why, wlen, "bad chunked request body: %s",
			    m->m_rqch.hc_why);
			return -1;
		}
		if (m->m_deny) {
			m->m_discarded += (uint64_t)n;
			if (m->m_discarded > MITM_DISCARD_MAX) {
				snprintf(why, wlen, "a denied request's body "
				    "over %u bytes", MITM_DISCARD_MAX);
				m->m_closing = 1;
				return 1;
			}
		} else
			side_write(c, 1, g->ms_in, (size_t)n);
		in_consume(g, (size_t)n);
		if (done) {
			if (m->m_deny) {
				m->m_deny = 0;
				m->m_rq = RQ_HEAD;
			} else {
				m->m_body_done = 1;
				m->m_rq = RQ_WAIT;
				exchange_next(m);
			}
		}
		return n > 0 || done;
	case RQ_WAIT:
		return 0;
	case RQ_TUNNEL:
		if (g->ms_inlen == 0 || !side_room(&m->m_s[1]))
			return 0;
		side_write(c, 1, g->ms_in, g->ms_inlen);
		g->ms_inlen = 0;
		return 1;
	}
	return 0;
}

/* Upstream to guest. 1: moved, 0: nothing, -1: close (why set). */
static int
response_step(struct conn *c, char *why, size_t wlen)
{
	struct mitm		*m = c->c_mitm;
	struct mitm_side	*u = &m->m_s[1];
	enum peek_rc		 rc;
	ssize_t			 n;
	int			 done;

	if (!side_room(&m->m_s[0]))
		return 0;
	switch (m->m_rs) {
	case RS_IDLE:
		if (u->ms_inlen == 0)
			return 0;
		/* Bytes nobody asked for (a 408 before the server closes):
		   passed on, and the connection ends with them. */
		side_write(c, 0, u->ms_in, u->ms_inlen);
		u->ms_inlen = 0;
		m->m_close = m->m_closing = 1;
		return 1;
	case RS_HEAD:
		if (u->ms_inlen == 0)
			return 0;
		rc = h1_feed(&m->m_rh, u->ms_in, u->ms_inlen);
		if (rc == PEEK_MORE)
			return 0;
		if (rc == PEEK_BAD) {
			snprintf(why, wlen, "bad response head from upstream: "
			    "%s", m->m_rh.hd_why);
			reply(c, 502, "Bad Gateway", "bad_response", NULL, 0,
			    NULL, NULL, why, 1);
			return 1;
		}
		side_write(c, 0, u->ms_in, m->m_rh.hd_used);
		in_consume(u, m->m_rh.hd_used);
		if (m->m_rh.hd_status == 101) {
			if (!m->m_upgrade) {
				snprintf(why, wlen, "upstream switched "
				    "protocols unasked");
				return -1;
			}
			m->m_rs = RS_TUNNEL;
			m->m_rq = RQ_TUNNEL;
			return 1;
		}
		if (m->m_rh.hd_status < 200) {
			h1_response_init(&m->m_rh, m->m_head_req);
			return 1;
		}
		m->m_close = m->m_close || m->m_rh.hd_close;
		m->m_rsbody = m->m_rh.hd_body;
		m->m_rsleft = m->m_rh.hd_length;
		if (m->m_rsbody == H1_BODY_CLOSE)
			m->m_close = 1;
		h1_chunked_init(&m->m_rsch);
		if (m->m_rsbody == H1_BODY_NONE ||
		    (m->m_rsbody == H1_BODY_LENGTH && m->m_rsleft == 0)) {
			m->m_resp_done = 1;
			exchange_next(m);
		} else
			m->m_rs = RS_BODY;
		return 1;
	case RS_BODY:
		n = body_span(m->m_rsbody, &m->m_rsleft, &m->m_rsch, u->ms_in,
		    u->ms_inlen, u->ms_eof, &done);
		if (n < 0) {
			snprintf(why, wlen, "bad chunked response body: %s",
			    m->m_rsch.hc_why);
			return -1;
		}
		side_write(c, 0, u->ms_in, (size_t)n);
		in_consume(u, (size_t)n);
		if (done) {
			m->m_resp_done = 1;
			exchange_next(m);
		}
		return n > 0 || done;
	case RS_TUNNEL:
		if (u->ms_inlen == 0)
			return 0;
		side_write(c, 0, u->ms_in, u->ms_inlen);
		u->ms_inlen = 0;
		return 1;
	}
	return 0;
}

/*
 * Both sides: socket to TLS, handshakes, plaintext through the request
 * and response machines, TLS to socket, until nothing moves. Then decides
 * whether the connection is over.
 */
static void
mitm_pump(struct loop *lp, struct conn *c)
{
	struct mitm		*m = c->c_mitm;
	struct mitm_side	*g = &m->m_s[0], *u = &m->m_s[1];
	char			 why[MITM_WHY_MAX] = "closed";
	int			 r, progress, moved = 0, rst = 1;

	do {
		progress = 0;
		if ((r = side_recv(g, c->c_fd[0])) == -1) {
			snprintf(why, sizeof(why), "reset by the sandbox");
			goto close;
		}
		progress |= r;
		if (m->m_up >= UP_HANDSHAKE && m->m_up != UP_FAILED) {
			if ((r = side_recv(u, c->c_fd[1])) == -1) {
				/* Like an end of stream, so that what it sent
				   before is decrypted and passed on; then the
				   reset (below). */
				u->ms_reset = u->ms_tcp_eof = 1;
				BIO_set_mem_eof_return(u->ms_rbio, 0);
				r = 1;
			}
			progress |= r;
		}
		if ((r = handshakes(c, why, sizeof(why))) == -1)
			goto close;
		progress |= r;
		if (m->m_up == UP_FAILED && c->c_fd[1] != -1) {
			epoll_ctl(lp->lp_epfd, EPOLL_CTL_DEL, c->c_fd[1], NULL);
			close(c->c_fd[1]);
			c->c_fd[1] = -1;
		}
		if (g->ms_hs && (m->m_rq != RQ_WAIT) && !m->m_closing) {
			if ((r = side_read(g)) == -1) {
				snprintf(why, sizeof(why), "TLS error from the "
				    "sandbox");
				goto close;
			}
			progress |= r;
		}
		if (m->m_up == UP_READY) {
			if ((r = side_read(u)) == -1) {
				snprintf(why, sizeof(why), "TLS error from "
				    "upstream");
				goto close;
			}
			progress |= r;
		}
		if (g->ms_hs) {
			if ((r = request_step(c, why, sizeof(why))) == -1)
				goto close;
			progress |= r;
			if ((r = response_step(c, why, sizeof(why))) == -1)
				goto close;
			progress |= r;
		}
		/* Send once the steps are done: a head and its body, or a
		   response's pieces, leave in one send, not one each. */
		if (!progress) {
			if ((r = side_flush(g, c->c_fd[0])) == -1) {
				snprintf(why, sizeof(why), "reset by the "
				    "sandbox");
				goto close;
			}
			progress |= r;
			if ((r = side_flush(u, c->c_fd[1])) == -1) {
				/* Reset: what it sent before is still read
				   to its end and passed on, then the reset
				   (below). */
				r = !u->ms_reset;
				u->ms_reset = 1;
			}
			progress |= r;
		}
		moved |= progress;
	} while (progress);

	if (u->ms_reset && u->ms_tcp_eof) {
		if (out_pending(g) > 0)
			return;		/* the guest's next writable event */
		if (tcp_linger(lp, c, c->c_fd[0]))
			return;
		snprintf(why, sizeof(why), "reset by upstream");
		goto close;
	}
	/* Upstream ended: at a message boundary that is the end of the
	   connection; in the middle of a response it is a failure. */
	if (u->ms_eof && u->ms_inlen == 0 && !m->m_closing) {
		if (m->m_rs == RS_IDLE || m->m_rs == RS_TUNNEL ||
		    (m->m_rs == RS_BODY && m->m_rsbody == H1_BODY_CLOSE &&
		    m->m_resp_done))
			m->m_closing = 1;
		else if (m->m_rs == RS_BODY && m->m_rsbody == H1_BODY_CLOSE) {
			m->m_resp_done = 1;
			m->m_closing = 1;
		} else {
			snprintf(why, sizeof(why), "upstream closed in the "
			    "middle of a response");
			goto close;
		}
	}
	/* The guest ended: done once what it asked for is answered. */
	if (g->ms_eof && g->ms_inlen == 0 && !m->m_closing &&
	    (m->m_rq == RQ_HEAD || m->m_rq == RQ_TUNNEL))
		m->m_closing = 1;
	if (g->ms_tcp_eof && !g->ms_eof && !g->ms_hs) {
		snprintf(why, sizeof(why), "the sandbox closed during the "
		    "TLS handshake");
		goto close;
	}
	if (m->m_closing && out_pending(g) == 0 &&
	    (c->c_fd[1] == -1 || out_pending(u) == 0)) {
		SSL_shutdown(g->ms_ssl);
		if (u->ms_ssl != NULL && m->m_up == UP_READY)
			SSL_shutdown(u->ms_ssl);
		(void)side_flush(g, c->c_fd[0]);
		(void)side_flush(u, c->c_fd[1]);
		rst = 0;
		goto close;
	}
	if (moved)
		px_timer_set(lp, c, m->m_up == UP_CONNECT ? TL_CONNECT :
		    TL_IDLE);
	return;
close:
	ERR_clear_error();
	tcp_conn_free(lp, c, rst, why);
}

void
mitm_start(struct loop *lp, struct conn *c, const struct ep_host *h)
{
	struct proxy	*px = lp->lp_px;
	struct mitm	*m;
	struct ir_err	 err;
	SSL_CTX		*leaf;

	c->c_state = CS_MITM;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		tcp_conn_free(lp, c, 1, "interception: out of memory");
		return;
	}
	c->c_mitm = m;
	m->m_host = h;
	h1_request_init(&m->m_h);
	for (int i = 0; i < 2; i++)
		if ((m->m_s[i].ms_out = malloc(MITM_OUTBUF)) == NULL ||
		    (m->m_s[i].ms_in = malloc(MITM_IN_MAX)) == NULL) {
			tcp_conn_free(lp, c, 1, "interception: out of memory");
			return;
		}
	if ((leaf = tlsca_leaf(px->px_ca, ep_host_name(h), &err)) == NULL) {
		tcp_conn_free(lp, c, 1, err.msg);
		return;
	}
	if (side_init(&m->m_s[0], leaf) == -1) {
		SSL_CTX_free(leaf);
		tcp_conn_free(lp, c, 1, "interception: out of memory");
		return;
	}
	SSL_CTX_free(leaf);
	SSL_set_accept_state(m->m_s[0].ms_ssl);
	/* The ClientHello the peek read is the start of the guest's TLS. */
	BIO_write(m->m_s[0].ms_rbio, c->c_buf, (int)c->c_len);
	free(c->c_buf);
	c->c_buf = NULL;
	c->c_len = c->c_cap = c->c_off = 0;
	m->m_up = UP_CONNECT;
	if (tcp_upstream_open(lp, c) == -1)
		return;
	mitm_pump(lp, c);
}

void
mitm_rehost(struct mitm *m, const struct ep_host *h)
{
	m->m_host = h;
}

void
mitm_event(struct loop *lp, struct conn *c, int side, uint32_t events)
{
	struct mitm	*m = c->c_mitm;
	int		 e = 0;
	socklen_t	 len = sizeof(e);

	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
		m->m_s[side].ms_drained = 0;
	if (side == 1 && m->m_up == UP_CONNECT &&
	    (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		if (getsockopt(c->c_fd[1], SOL_SOCKET, SO_ERROR, &e,
		    &len) == -1)
			e = errno;
		if (e == 0 && up_start(c) == -1) {
			tcp_conn_free(lp, c, 1, "interception: out of memory");
			return;
		}
		if (e != 0) {
			snprintf(m->m_upwhy, sizeof(m->m_upwhy), "upstream "
			    "connect: %s", strerror(e));
			m->m_up = UP_FAILED;
		}
	}
	mitm_pump(lp, c);
}

void
mitm_timeout(struct loop *lp, struct conn *c)
{
	struct mitm	*m = c->c_mitm;
	char		 why[128];

	if (m->m_up == UP_CONNECT) {
		snprintf(m->m_upwhy, sizeof(m->m_upwhy), "upstream connect: "
		    "no answer in %u ms", lp->lp_timers[TL_CONNECT].tl_ms);
		m->m_up = UP_FAILED;
		px_timer_set(lp, c, TL_IDLE);
		mitm_pump(lp, c);
		return;
	}
	snprintf(why, sizeof(why), "idle for %u ms",
	    lp->lp_timers[TL_IDLE].tl_ms);
	tcp_conn_free(lp, c, 1, why);
}
