/*
 * exec.c - running one command in a sandbox: the runner's side of proto.h.
 *
 * Each exec is its own connection to the init's socket, so execs on one
 * sandbox run side by side and need no lock. The command's stdin, stdout
 * and stderr are pipes whose far ends travel to the init by SCM_RIGHTS
 * (or the caller's own descriptors, for a terminal): output goes from the
 * command straight to us, and the init only reports the start and the end.
 * Everything read from the init is checked before use.
 */
#include "sb_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

#define CHUNK		65536
#define GRACE_MS	10000	/* for the init to report after a deadline */

void
sandbox_exec_req_init(struct sandbox_exec_req *r)
{
	memset(r, 0, sizeof(*r));
	r->er_stdin_fd = r->er_stdout_fd = r->er_stderr_fd = -1;
	r->er_signal_fd = -1;
}

void
sandbox_exec_result_free(struct sandbox_exec_result *res)
{
	free(res->xr_stdout);
	free(res->xr_stderr);
	res->xr_stdout = res->xr_stderr = NULL;
}

struct capture {
	int		 cp_fd;		/* our read end, or -1 */
	int		 cp_stream;	/* 1 or 2 */
	char		*cp_buf;
	size_t		 cp_len;
	size_t		 cp_cap;
	size_t		 cp_max;
	uint64_t	 cp_total;
	bool		 cp_trunc;
};

struct xctx {
	struct sandbox			*x_sb;
	const struct sandbox_exec_req	*x_req;
	struct capture			 x_out, x_err;
	int				 x_conn;
	int				 x_in;		/* our write end */
	const char			*x_in_buf;
	size_t				 x_in_left;
	struct sbp_ev			 x_ev;
	size_t				 x_evlen;
	bool				 x_started;
	bool				 x_exited;
	bool				 x_sigpipe;	/* got EPIPE on stdin */
};

static char *
build_body(const char *cwd, const char *const *argv, char *const *envp,
    size_t *lenp, struct ir_err *err)
{
	size_t	 len = strlen(cwd) + 1, i, n;
	char	*b, *p;

	for (i = 0; argv[i] != NULL; i++)
		len += strlen(argv[i]) + 1;
	for (i = 0; envp[i] != NULL; i++)
		len += strlen(envp[i]) + 1;
	if (len > SBP_BODY_MAX) {
		err_set(err, E2BIG, "command, environment and cwd take %zu "
		    "bytes, more than the %u allowed", len, SBP_BODY_MAX);
		return NULL;
	}
	if ((b = malloc(len)) == NULL) {
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	p = b;
	n = strlen(cwd) + 1;
	memcpy(p, cwd, n);
	p += n;
	for (i = 0; argv[i] != NULL; i++) {
		n = strlen(argv[i]) + 1;
		memcpy(p, argv[i], n);
		p += n;
	}
	for (i = 0; envp[i] != NULL; i++) {
		n = strlen(envp[i]) + 1;
		memcpy(p, envp[i], n);
		p += n;
	}
	*lenp = len;
	return b;
}

static int
connect_init(struct sandbox *sb, struct ir_err *err)
{
	struct sockaddr_un	 sun;
	int			 fd, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sb->sb_sock) >= sizeof(sun.sun_path))
		return err_set(err, ENAMETOOLONG, "%s: path too long",
		    sb->sb_sock);
	memcpy(sun.sun_path, sb->sb_sock, strlen(sb->sb_sock));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return err_set(err, errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	e = errno;
	close(fd);
	if (e == ENOENT)
		return err_set(err, ENOENT, "sandbox '%s' does not exist or "
		    "was destroyed", sb->sb_id);
	if (e == ECONNREFUSED)
		return err_set(err, ESRCH, "sandbox '%s' is not running (its "
		    "init is gone; destroy it)", sb->sb_id);
	return err_set(err, e, "connect to sandbox '%s' (%s): %s", sb->sb_id,
	    sb->sb_sock, strerror(e));
}

static int
send_req(int conn, const struct sbp_req *rq, const int *fds, size_t nfd,
    const char *body, size_t len)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(3 * sizeof(int))];
	} cm;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*c;
	ssize_t		 n;
	size_t		 off;

	memset(&msg, 0, sizeof(msg));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = (void *)rq;
	iov.iov_len = sizeof(*rq);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = CMSG_SPACE(nfd * sizeof(int));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(nfd * sizeof(int));
	memcpy(CMSG_DATA(c), fds, nfd * sizeof(int));
	do
		n = sendmsg(conn, &msg, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	/* A stream socket may take part of the header with the fds. */
	for (off = (size_t)n; off < sizeof(*rq); off += (size_t)n)
		if ((n = send(conn, (const char *)rq + off, sizeof(*rq) - off,
		    MSG_NOSIGNAL)) == -1 && errno != EINTR)
			return -1;
		else if (n == -1)
			n = 0;
	for (off = 0; off < len; off += (size_t)n)
		if ((n = send(conn, body + off, len - off, MSG_NOSIGNAL)) ==
		    -1 && errno != EINTR)
			return -1;
		else if (n == -1)
			n = 0;
	return 0;
}

static void
capture_add(struct xctx *x, struct capture *c, const char *buf, size_t n)
{
	size_t	 room, take, ncap;
	char	*nb;

	c->cp_total += n;
	if (x->x_req->er_output != NULL)
		x->x_req->er_output(x->x_req->er_arg, c->cp_stream, buf, n);
	room = c->cp_max - c->cp_len;
	take = n < room ? n : room;
	if (take < n)
		c->cp_trunc = true;
	if (take == 0)
		return;
	if (c->cp_len + take + 1 > c->cp_cap) {
		ncap = c->cp_cap ? c->cp_cap : 4096;
		while (ncap < c->cp_len + take + 1)
			ncap *= 2;
		if (ncap > c->cp_max + 1)
			ncap = c->cp_max + 1;
		if ((nb = realloc(c->cp_buf, ncap)) == NULL) {
			c->cp_trunc = true;
			return;
		}
		c->cp_buf = nb;
		c->cp_cap = ncap;
	}
	memcpy(c->cp_buf + c->cp_len, buf, take);
	c->cp_len += take;
	c->cp_buf[c->cp_len] = '\0';
}

/*
 * Reads what is there; at most `limit` bytes when limit >= 0. Returns 1 at
 * EOF (the fd is closed), 0 otherwise.
 */
static int
capture_read(struct xctx *x, struct capture *c, long limit)
{
	char	 buf[CHUNK];
	ssize_t	 n;
	size_t	 want;

	for (;;) {
		want = sizeof(buf);
		if (limit >= 0) {
			if (limit == 0)
				return 0;
			if ((size_t)limit < want)
				want = (size_t)limit;
		}
		n = read(c->cp_fd, buf, want);
		if (n > 0 && limit >= 0)
			limit -= n;
		if (n > 0) {
			capture_add(x, c, buf, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		close(c->cp_fd);
		c->cp_fd = -1;
		return 1;
	}
}

static void
drain(struct xctx *x, struct capture *c)
{
	int	 n;

	if (c->cp_fd != -1 && ioctl(c->cp_fd, FIONREAD, &n) == 0 && n > 0)
		capture_read(x, c, n);
}

static void
stdin_write(struct xctx *x)
{
	ssize_t	 n;

	while (x->x_in_left > 0) {
		n = write(x->x_in, x->x_in_buf, x->x_in_left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1) {
			if (errno == EPIPE)
				x->x_sigpipe = true;
			break;	/* the command stopped reading: fine */
		}
		x->x_in_buf += n;
		x->x_in_left -= (size_t)n;
	}
	close(x->x_in);
	x->x_in = -1;
}

/* Returns -1 with err set on a protocol error or an ERROR report. */
static int
conn_read(struct xctx *x, struct sandbox_exec_result *res,
    struct ir_err *err)
{
	struct sbp_ev	*ev = &x->x_ev;
	char		 q[300];
	ssize_t		 n;

	n = read(x->x_conn, (char *)ev + x->x_evlen, sizeof(*ev) - x->x_evlen);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		pthread_mutex_lock(&x->x_sb->sb_lock);
		n = x->x_sb->sb_destroyed;
		pthread_mutex_unlock(&x->x_sb->sb_lock);
		return err_set(err, ECONNRESET, "sandbox '%s' went away while "
		    "the command ran%s", x->x_sb->sb_id, n ? " (destroyed)" :
		    "");
	}
	x->x_evlen += (size_t)n;
	if (x->x_evlen < sizeof(*ev))
		return 0;
	x->x_evlen = 0;
	ev->ev_msg[sizeof(ev->ev_msg) - 1] = '\0';
	switch (ev->ev_type) {
	case SBP_EV_STARTED:
		x->x_started = true;
		res->xr_pid = ev->ev_pid;
		return 0;
	case SBP_EV_EXITED:
		x->x_exited = true;
		res->xr_pid = ev->ev_pid;
		res->xr_duration_us = ev->ev_usec;
		res->xr_timed_out = (ev->ev_flags & SBP_EVF_TIMEDOUT) != 0;
		if (WIFSIGNALED(ev->ev_status)) {
			res->xr_signal = WTERMSIG(ev->ev_status);
			res->xr_exit_code = 128 + res->xr_signal;
		} else
			res->xr_exit_code = WEXITSTATUS(ev->ev_status);
		return 0;
	case SBP_EV_ERROR:
		str_quote(ev->ev_msg, strlen(ev->ev_msg), 200, q, sizeof(q));
		return err_set(err, ev->ev_errno > 0 && ev->ev_errno < 4096 ?
		    ev->ev_errno : EPROTO, "sandbox '%s': the command did not "
		    "start: %s", x->x_sb->sb_id, q);
	}
	return err_set(err, EPROTO, "sandbox '%s': bad report from the init "
	    "(type %u)", x->x_sb->sb_id, ev->ev_type);
}

static void
signal_forward(struct xctx *x)
{
	struct sbp_ctl	 ct;
	int		 sig;

	if (read(x->x_req->er_signal_fd, &sig, sizeof(sig)) !=
	    (ssize_t)sizeof(sig) || sig <= 0 || sig >= NSIG)
		return;
	ct.ct_type = SBP_CTL_SIGNAL;
	ct.ct_arg = sig;
	(void)!send(x->x_conn, &ct, sizeof(ct), MSG_NOSIGNAL);
}

static long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
exec_loop(struct xctx *x, struct sandbox_exec_result *res,
    struct ir_err *err)
{
	struct pollfd	 p[5];
	long		 deadline = 0, left;
	int		 np, r, ic = -1, io = -1, ie = -1, ii = -1, is = -1;

	if (x->x_req->er_timeout_ms > 0)
		deadline = now_ms() + (long)x->x_req->er_timeout_ms + GRACE_MS;
	while (!x->x_exited) {
		np = 0;
		p[np] = (struct pollfd){ x->x_conn, POLLIN, 0 };
		ic = np++;
		io = ie = ii = is = -1;
		if (x->x_out.cp_fd != -1) {
			p[np] = (struct pollfd){ x->x_out.cp_fd, POLLIN, 0 };
			io = np++;
		}
		if (x->x_err.cp_fd != -1) {
			p[np] = (struct pollfd){ x->x_err.cp_fd, POLLIN, 0 };
			ie = np++;
		}
		if (x->x_in != -1) {
			p[np] = (struct pollfd){ x->x_in, POLLOUT, 0 };
			ii = np++;
		}
		if (x->x_req->er_signal_fd >= 0) {
			p[np] = (struct pollfd){ x->x_req->er_signal_fd,
			    POLLIN, 0 };
			is = np++;
		}
		left = -1;
		if (deadline) {
			left = deadline - now_ms();
			if (left <= 0)
				return err_set(err, ETIMEDOUT, "sandbox '%s': "
				    "no report of the command's end %d s after "
				    "its deadline", x->x_sb->sb_id,
				    GRACE_MS / 1000);
		}
		r = poll(p, (nfds_t)np, (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return err_set(err, errno, "poll: %s",
			    strerror(errno));
		if (io != -1 && p[io].revents)
			capture_read(x, &x->x_out, -1);
		if (ie != -1 && p[ie].revents)
			capture_read(x, &x->x_err, -1);
		if (ii != -1 && p[ii].revents)
			stdin_write(x);
		if (is != -1 && (p[is].revents & POLLIN))
			signal_forward(x);
		if (p[ic].revents && conn_read(x, res, err) == -1)
			return -1;
	}
	/* The command is gone, so what it wrote is in the pipes now: take
	 * that much. A background process still writing to them does not
	 * keep us (it gets EPIPE once we close them). */
	drain(x, &x->x_out);
	drain(x, &x->x_err);
	return 0;
}

static int
make_pipe(int p[2], int our_end, struct ir_err *err)
{
	if (pipe2(p, O_CLOEXEC) == -1)
		return err_set(err, errno, "pipe: %s", strerror(errno));
	/* Only our end: the command must see a blocking pipe. */
	if (fcntl(p[our_end], F_SETFL, O_NONBLOCK) == -1) {
		err_set(err, errno, "fcntl: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	return 0;
}

static int
result_finish(struct xctx *x, struct sandbox_exec_result *res)
{
	res->xr_stdout = x->x_out.cp_buf ? x->x_out.cp_buf : strdup("");
	res->xr_stderr = x->x_err.cp_buf ? x->x_err.cp_buf : strdup("");
	x->x_out.cp_buf = x->x_err.cp_buf = NULL;
	res->xr_stdout_len = x->x_out.cp_len;
	res->xr_stderr_len = x->x_err.cp_len;
	res->xr_stdout_truncated = x->x_out.cp_trunc;
	res->xr_stderr_truncated = x->x_err.cp_trunc;
	res->xr_stdout_total = x->x_out.cp_total;
	res->xr_stderr_total = x->x_err.cp_total;
	return res->xr_stdout && res->xr_stderr ? 0 : -1;
}

int
sandbox_exec(struct sandbox *sb, const struct sandbox_exec_req *req,
    struct sandbox_exec_result *res, struct ir_err *err)
{
	const char *const	*layers[2];
	const char		*shargv[4], *const *argv, *cwd;
	struct sbp_req		 rq;
	struct xctx		 x;
	sigset_t		 pipeset, old, pend;
	char			**envp = NULL, *body = NULL;
	size_t			 blen, nfd = 0;
	int			 fds[3], pin[2] = { -1, -1 };
	int			 pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	int			 rc = -1, destroyed, masked = 0, was_pending;

	memset(res, 0, sizeof(*res));
	memset(&x, 0, sizeof(x));
	x.x_sb = sb;
	x.x_req = req;
	x.x_conn = x.x_in = x.x_out.cp_fd = x.x_err.cp_fd = -1;
	x.x_out.cp_stream = 1;
	x.x_err.cp_stream = 2;
	x.x_out.cp_max = x.x_err.cp_max = req->er_output_max ?
	    req->er_output_max : SB_OUTPUT_MAX;

	pthread_mutex_lock(&sb->sb_lock);
	destroyed = sb->sb_destroyed;
	pthread_mutex_unlock(&sb->sb_lock);
	if (destroyed) {
		err_set(err, ENOENT, "sandbox '%s' was destroyed", sb->sb_id);
		goto out;
	}
	if (req->er_shell != NULL) {
		shargv[0] = "/bin/sh";
		shargv[1] = "-c";
		shargv[2] = req->er_shell;
		shargv[3] = NULL;
		argv = shargv;
	} else if (req->er_argv != NULL && req->er_argv[0] != NULL &&
	    req->er_argv[0][0] != '\0')
		argv = req->er_argv;
	else {
		err_set(err, 0, "exec: no command (give argv or a shell "
		    "string)");
		goto out;
	}
	layers[0] = (const char *const *)sb->sb_env;
	layers[1] = req->er_env;
	if ((envp = sb_env_merge(layers, 2, err)) == NULL)
		goto out;
	cwd = req->er_cwd ? req->er_cwd : sb->sb_workdir;
	if ((body = build_body(cwd ? cwd : "", argv, envp, &blen, err)) ==
	    NULL)
		goto out;
	memset(&rq, 0, sizeof(rq));
	rq.rq_magic = SBP_MAGIC;
	rq.rq_len = (uint32_t)blen;
	rq.rq_flags = cwd ? SBP_F_CWD : 0;
	rq.rq_timeout_ms = req->er_timeout_ms;
	rq.rq_argc = (uint32_t)sb_strv_len((char *const *)argv);
	rq.rq_envc = (uint32_t)sb_strv_len(envp);
	if (rq.rq_argc + rq.rq_envc > SBP_ARGS_MAX) {
		err_set(err, E2BIG, "exec: more than %u arguments and "
		    "environment entries", SBP_ARGS_MAX);
		goto out;
	}

	if (req->er_stdin_fd >= 0)
		fds[nfd++] = req->er_stdin_fd;
	else if (req->er_stdin != NULL) {
		if (make_pipe(pin, 1, err) == -1)
			goto out;
		fds[nfd++] = pin[0];
		x.x_in = pin[1];
		pin[1] = -1;
		x.x_in_buf = req->er_stdin;
		x.x_in_left = req->er_stdin_len;
	} else
		rq.rq_flags |= SBP_F_NOSTDIN;
	if (req->er_stdout_fd >= 0)
		fds[nfd++] = req->er_stdout_fd;
	else {
		if (make_pipe(pout, 0, err) == -1)
			goto out;
		fds[nfd++] = pout[1];
		x.x_out.cp_fd = pout[0];
		pout[0] = -1;
	}
	if (req->er_stderr_fd >= 0)
		fds[nfd++] = req->er_stderr_fd;
	else {
		if (make_pipe(perr, 0, err) == -1)
			goto out;
		fds[nfd++] = perr[1];
		x.x_err.cp_fd = perr[0];
		perr[0] = -1;
	}

	if ((x.x_conn = connect_init(sb, err)) == -1)
		goto out;
	if (send_req(x.x_conn, &rq, fds, nfd, body, blen) == -1) {
		err_set(err, errno, "sandbox '%s': send request: %s",
		    sb->sb_id, strerror(errno));
		goto out;
	}
	/* Our copies of the command's ends: EOF must mean the command. */
	if (pin[0] != -1) {
		close(pin[0]);
		pin[0] = -1;
	}
	if (pout[1] != -1) {
		close(pout[1]);
		pout[1] = -1;
	}
	if (perr[1] != -1) {
		close(perr[1]);
		perr[1] = -1;
	}

	/* A command that does not read its stdin must not kill us. */
	sigemptyset(&pipeset);
	sigaddset(&pipeset, SIGPIPE);
	sigpending(&pend);
	was_pending = sigismember(&pend, SIGPIPE);
	if (x.x_in != -1) {
		pthread_sigmask(SIG_BLOCK, &pipeset, &old);
		masked = 1;
		stdin_write(&x);
	}
	rc = exec_loop(&x, res, err);
	if (masked) {
		if (x.x_sigpipe && !was_pending) {
			struct timespec zero = { 0, 0 };

			sigtimedwait(&pipeset, NULL, &zero);
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (rc == 0 && result_finish(&x, res) == -1)
		rc = err_set(err, ENOMEM, "out of memory");
out:
	if (x.x_conn != -1)
		close(x.x_conn);
	if (x.x_in != -1)
		close(x.x_in);
	if (x.x_out.cp_fd != -1)
		close(x.x_out.cp_fd);
	if (x.x_err.cp_fd != -1)
		close(x.x_err.cp_fd);
	free(x.x_out.cp_buf);
	free(x.x_err.cp_buf);
	if (pin[0] != -1)
		close(pin[0]);
	if (pout[1] != -1)
		close(pout[1]);
	if (perr[1] != -1)
		close(perr[1]);
	sb_strv_free(envp);
	free(body);
	return rc;
}
