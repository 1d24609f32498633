/*
 * client.c - HTTP/1.1 over a unix socket or TCP, one request per
 * connection.
 */
#include "client.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

void
api_target_free(struct api_target *t)
{
	free(t->at_socket);
	free(t->at_host);
	free(t->at_port);
	free(t->at_token);
	memset(t, 0, sizeof(*t));
}

static int
url_parse(struct api_target *t, const char *url, const char *what,
    struct ir_err *err)
{
	const char	*h, *p, *end;
	char		 q[300];
	size_t		 hl;

	str_quote(url, strlen(url), 128, q, sizeof(q));
	if (strncmp(url, "http://", 7) != 0)
		return err_set(err, 0, "%s %s: want http://HOST:PORT (https "
		    "is not supported: put a TLS proxy in front)", what, q);
	h = url + 7;
	end = h + strcspn(h, "/");
	if (*end == '/' && end[1] != '\0')
		return err_set(err, 0, "%s %s: want no path after HOST:PORT",
		    what, q);
	if (*h == '[') {
		if ((p = memchr(h, ']', (size_t)(end - h))) == NULL ||
		    p[1] != ':')
			goto bad;
		hl = (size_t)(p - h - 1);
		h++;
		p += 2;
	} else {
		if ((p = memchr(h, ':', (size_t)(end - h))) == NULL)
			goto bad;
		hl = (size_t)(p - h);
		p++;
	}
	if (hl == 0 || p >= end || strspn(p, "0123456789") !=
	    (size_t)(end - p))
		goto bad;
	if ((t->at_host = strndup(h, hl)) == NULL ||
	    (t->at_port = strndup(p, (size_t)(end - p))) == NULL)
		return err_set(err, ENOMEM, "out of memory");
	snprintf(t->at_desc, sizeof(t->at_desc), "%s", url);
	return 0;
bad:
	return err_set(err, 0, "%s %s: want http://HOST:PORT", what, q);
}

int
api_target_env(struct api_target *t, const char *socket, const char *url,
    struct ir_err *err)
{
	const char	*s, *key;

	memset(t, 0, sizeof(*t));
	if (socket == NULL && url == NULL &&
	    (s = getenv("ISORUN_SOCKET")) != NULL && *s != '\0')
		socket = s;
	if (socket == NULL && url == NULL &&
	    (s = getenv("ISORUN_URL")) != NULL && *s != '\0') {
		if (url_parse(t, s, "$ISORUN_URL", err) == -1)
			goto fail;
	} else if (socket == NULL && url != NULL) {
		if (url_parse(t, url, "--url", err) == -1)
			goto fail;
	} else {
		if (socket == NULL)
			socket = API_SOCKET;
		if ((t->at_socket = strdup(socket)) == NULL) {
			err_set(err, ENOMEM, "out of memory");
			goto fail;
		}
		snprintf(t->at_desc, sizeof(t->at_desc), "isorund at %s",
		    socket);
		return 0;
	}
	if ((key = getenv("ISORUN_API_KEY")) != NULL && *key != '\0' &&
	    (t->at_token = strdup(key)) == NULL) {
		err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	return 0;
fail:
	api_target_free(t);
	return -1;
}

static int
target_connect(const struct api_target *t, struct ir_err *err)
{
	struct sockaddr_un	 sun;
	struct addrinfo		 hints, *res, *ai;
	int			 fd = -1, rc, e = 0;

	if (t->at_socket != NULL) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(t->at_socket) >= sizeof(sun.sun_path))
			return err_set(err, ENAMETOOLONG, "socket %s: path too "
			    "long", t->at_socket);
		memcpy(sun.sun_path, t->at_socket, strlen(t->at_socket));
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
		    -1)
			return err_set(err, errno, "socket: %s",
			    strerror(errno));
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			e = errno;
			close(fd);
			return err_set(err, e, "cannot reach %s: %s%s",
			    t->at_desc, strerror(e), e == ENOENT ||
			    e == ECONNREFUSED ? " (is isorund running? "
			    "--socket or $ISORUN_SOCKET name another)" : "");
		}
		return fd;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(t->at_host, t->at_port, &hints, &res)) != 0)
		return err_set(err, 0, "%s: %s", t->at_desc, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) == -1) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return err_set(err, e, "cannot reach isorund at %s: %s",
		    t->at_desc, strerror(e));
	return fd;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void
api_resp_free(struct api_resp *r)
{
	free(r->rs_body);
	memset(r, 0, sizeof(*r));
}

/* The value of header `name` in the head [h, end), or NULL; *n its length. */
static const char *
header(const char *h, const char *end, const char *name, size_t *n)
{
	size_t		 nl = strlen(name);
	const char	*line, *eol, *v;

	for (line = h; line < end; line = eol + 1) {
		if ((eol = memchr(line, '\n', (size_t)(end - line))) == NULL)
			eol = end;
		if ((size_t)(eol - line) > nl &&
		    strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			v = line + nl + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			*n = (size_t)(eol - v);
			while (*n > 0 && (v[*n - 1] == '\r' ||
			    v[*n - 1] == ' '))
				(*n)--;
			return v;
		}
	}
	return NULL;
}

/* Decodes a chunked body [p, end) into a new buffer. */
static int
dechunk(const char *p, const char *end, char **out, size_t *outlen,
    struct ir_err *err)
{
	char		*b = NULL, *nb, *x;
	size_t		 len = 0;
	unsigned long	 n;

	for (;;) {
		errno = 0;
		n = strtoul(p, &x, 16);
		if (x == p || errno != 0 || x >= end)
			goto bad;
		if ((x = memchr(x, '\n', (size_t)(end - x))) == NULL)
			goto bad;
		p = x + 1;
		if (n == 0)
			break;
		if (n > (size_t)(end - p) || len + n > API_RESP_MAX)
			goto bad;
		if ((nb = realloc(b, len + n + 1)) == NULL) {
			free(b);
			return err_set(err, ENOMEM, "out of memory");
		}
		b = nb;
		memcpy(b + len, p, n);
		len += n;
		p += n;
		if (p < end && *p == '\r')
			p++;
		if (p >= end || *p++ != '\n')
			goto bad;
	}
	if (b == NULL && (b = malloc(1)) == NULL)
		return err_set(err, ENOMEM, "out of memory");
	b[len] = '\0';
	*out = b;
	*outlen = len;
	return 0;
bad:
	free(b);
	return err_set(err, EPROTO, "malformed chunked body");
}

int
api_resp_parse(const char *buf, size_t len, struct api_resp *r,
    struct ir_err *err)
{
	const char	*end, *body, *v;
	unsigned	 status;
	size_t		 n, blen;
	char		 num[32], *x;
	unsigned long long cl;

	memset(r, 0, sizeof(*r));
	/* `buf` is not NUL-terminated: no sscanf, three digits by hand. */
	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' ||
	    buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9')
		return err_set(err, EPROTO, "not an HTTP/1.x response");
	status = (unsigned)(buf[9] - '0') * 100 + (unsigned)(buf[10] - '0') *
	    10 + (unsigned)(buf[11] - '0');
	if ((end = memmem(buf, len, "\r\n\r\n", 4)) != NULL)
		body = end + 4;
	else if ((end = memmem(buf, len, "\n\n", 2)) != NULL)
		body = end + 2;
	else
		return err_set(err, EPROTO, "truncated response head");
	blen = len - (size_t)(body - buf);
	r->rs_status = status;
	if ((v = header(buf, end, "Content-Type", &n)) != NULL)
		snprintf(r->rs_ctype, sizeof(r->rs_ctype), "%.*s", (int)n, v);
	if ((v = header(buf, end, "Transfer-Encoding", &n)) != NULL &&
	    n == 7 && strncasecmp(v, "chunked", 7) == 0)
		return dechunk(body, buf + len, &r->rs_body, &r->rs_len, err);
	if ((v = header(buf, end, "Content-Length", &n)) != NULL) {
		snprintf(num, sizeof(num), "%.*s", (int)n, v);
		errno = 0;
		cl = strtoull(num, &x, 10);
		if (num[0] < '0' || num[0] > '9' || *x != '\0' || errno != 0)
			return err_set(err, EPROTO, "bad Content-Length");
		if (cl > blen)
			return err_set(err, EPROTO, "response body cut short "
			    "(%zu of %llu bytes)", blen, cl);
		blen = (size_t)cl;
	}
	if ((r->rs_body = malloc(blen + 1)) == NULL)
		return err_set(err, ENOMEM, "out of memory");
	memcpy(r->rs_body, body, blen);
	r->rs_body[blen] = '\0';
	r->rs_len = blen;
	return 0;
}

int
api_call(const struct api_target *t, const char *method, const char *path,
    const char *body, size_t len, struct api_resp *r, struct ir_err *err)
{
	return api_call_body(t, method, path, "application/json", body, len,
	    r, err);
}

int
api_call_body(const struct api_target *t, const char *method,
    const char *path, const char *ctype, const char *body, size_t len,
    struct api_resp *r, struct ir_err *err)
{
	char		*head = NULL, *buf = NULL, *nb;
	size_t		 cap = 0, used = 0;
	ssize_t		 n;
	int		 fd, hl, rc = -1;

	memset(r, 0, sizeof(*r));
	if ((fd = target_connect(t, err)) == -1)
		return -1;
	hl = asprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: isorun/" API_VERSION "\r\nAccept: application/json\r\n"
	    "Connection: close\r\n%s%s%s%s%s%s%zu\r\n\r\n", method, path,
	    t->at_socket ? "localhost" : t->at_host,
	    t->at_token ? "Authorization: Bearer " : "",
	    t->at_token ? t->at_token : "", t->at_token ? "\r\n" : "",
	    body ? "Content-Type: " : "", body ? ctype : "",
	    body ? "\r\nContent-Length: " : "Content-Length: ", body ? len : 0);
	if (hl == -1) {
		head = NULL;
		err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	if (write_all(fd, head, (size_t)hl) == -1 ||
	    (body != NULL && write_all(fd, body, len) == -1)) {
		/* The server may have answered already (413): read it. */
		if (errno != EPIPE && errno != ECONNRESET) {
			err_set(err, errno, "%s: send: %s", t->at_desc,
			    strerror(errno));
			goto out;
		}
	}
	for (;;) {
		if (used + 65536 + 1 > cap) {
			if (cap >= API_RESP_MAX) {
				err_set(err, EFBIG, "%s: response over %u "
				    "bytes", t->at_desc, API_RESP_MAX);
				goto out;
			}
			cap = cap ? cap * 2 : 65536 * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			buf = nb;
		}
		if ((n = read(fd, buf + used, cap - used - 1)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNRESET && used > 0)
				break;
			err_set(err, errno, "%s: read: %s", t->at_desc,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (used == 0) {
		err_set(err, EPROTO, "%s closed the connection without an "
		    "answer", t->at_desc);
		goto out;
	}
	if (api_resp_parse(buf, used, r, err) == -1) {
		err_prefix(err, "%s", t->at_desc);
		goto out;
	}
	rc = 0;
out:
	free(head);
	free(buf);
	close(fd);
	return rc;
}

void
api_resp_error(const struct api_resp *r, struct api_error *out)
{
	json_t		*j, *e;
	const char	*code = NULL, *msg = NULL;
	enum api_code	 c;

	j = r->rs_body ? json_loadb(r->rs_body, r->rs_len, 0, NULL) : NULL;
	if ((e = json_object_get(j, "error")) != NULL) {
		code = json_string_value(json_object_get(e, "code"));
		msg = json_string_value(json_object_get(e, "message"));
	}
	c = api_code_from_name(code);
	if (c == API_NCODES)
		c = r->rs_status >= 500 ? API_INTERNAL : API_INVALID_ARGUMENT;
	if (msg != NULL && msg[0] != '\0')
		api_error_set(out, c, "%s", msg);
	else
		api_error_set(out, c, "HTTP status %u without an error body",
		    r->rs_status);
	json_decref(j);
}
