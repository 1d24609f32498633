/*
 * isorun-init - PID 1 of a sandbox (src/sandbox, docs/sandbox.md).
 *
 * bwrap starts it with a listening unix socket (SBP_FD_LISTEN) the runner
 * created outside, a pipe to say "ready" on, and optionally a lifeline pipe
 * whose EOF means the runner is gone. For every connection it forks a
 * supervisor that reads one exec request (proto.h), starts the command in a
 * new session, and reports how it ended. The supervisor is a child
 * subreaper, so on a timeout or a cancel every process the command left
 * behind is its child and is killed; when the command simply exits, its
 * background processes are left alone and pass to this init, which reaps
 * them.
 *
 * It is a static program with no dependency on the library: it runs inside
 * imported images, bind-mounted read-only at SBP_INIT_PATH. It is not
 * dumpable, so the guest (root in the same user namespace, without
 * CAP_SYS_PTRACE) cannot ptrace it or take its descriptors; the listening
 * socket exists only as that descriptor, never as a path the guest sees.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../proto.h"

#define DEFAULT_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void logx(const char *, ...) __attribute__((format(printf, 1, 2)));

static void
logx(const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;
	int	 n;

	n = snprintf(buf, sizeof(buf), "isorun-init[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	dprintf(2, "%s\n", buf);
}

static uint64_t
now_usec(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int
read_full(int fd, void *buf, size_t len)
{
	char	*p = buf;
	ssize_t	 n;

	while (len > 0) {
		n = read(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
send_ev(int conn, struct sbp_ev *ev)
{
	const char	*p = (const char *)ev;
	size_t		 len = sizeof(*ev);
	ssize_t		 n;

	while (len > 0) {
		n = send(conn, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void __attribute__((noreturn, format(printf, 3, 4)))
fail_req(int conn, int code, const char *fmt, ...)
{
	struct sbp_ev	 ev;
	va_list		 ap;

	memset(&ev, 0, sizeof(ev));
	ev.ev_type = SBP_EV_ERROR;
	ev.ev_errno = code;
	va_start(ap, fmt);
	vsnprintf(ev.ev_msg, sizeof(ev.ev_msg), fmt, ap);
	va_end(ap);
	send_ev(conn, &ev);
	_exit(1);
}

/* The parent pid from /proc/PID/stat (the comm may hold spaces and ')'). */
static pid_t
ppid_of(const char *pid)
{
	char	 path[64], buf[512], *p;
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == '\0' ||
	    p[3] != ' ')
		return -1;
	return (pid_t)strtol(p + 4, NULL, 10);
}

static int
kill_children(pid_t self)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (ppid_of(de->d_name) == self) {
			kill((pid_t)strtol(de->d_name, NULL, 10), SIGKILL);
			n++;
		}
	}
	closedir(d);
	return n;
}

/*
 * Kills the command and everything it started. As a subreaper we inherit
 * every orphan of the tree; a process's children are reparented to us
 * before waitpid() reports it, so "no child left" means no descendant left.
 * A process with SIGKILL pending cannot fork any more.
 */
static void
kill_tree(pid_t child, int *status, int *reaped)
{
	pid_t	 self = getpid(), r;
	int	 st;

	kill(-child, SIGKILL);
	kill(child, SIGKILL);
	for (;;) {
		kill_children(self);
		r = waitpid(-1, &st, __WALL);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (r == child) {
			*status = st;
			*reaped = 1;
		}
	}
}

static void __attribute__((noreturn))
run_command(char **argv, char **envp)
{
	const char	*path = NULL, *p, *e;
	char		 buf[4096];
	int		 i, seen_eacces = 0, code;
	size_t		 dl, nl;

	if (strchr(argv[0], '/') != NULL) {
		execve(argv[0], argv, envp);
		code = errno;
		goto fail;
	}
	for (i = 0; envp[i] != NULL; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			path = envp[i] + 5;
	if (path == NULL)
		path = DEFAULT_PATH;
	nl = strlen(argv[0]);
	code = ENOENT;
	for (p = path;; p = e + 1) {
		e = strchrnul(p, ':');
		dl = (size_t)(e - p);
		if (dl == 0)
			snprintf(buf, sizeof(buf), "%s", argv[0]);
		else if (dl + 1 + nl < sizeof(buf))
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)dl, p,
			    argv[0]);
		else
			buf[0] = '\0';
		if (buf[0] != '\0') {
			execve(buf, argv, envp);
			if (errno == EACCES)
				seen_eacces = 1;
			else if (errno != ENOENT && errno != ENOTDIR)
				code = errno;
		}
		if (*e == '\0')
			break;
	}
	if (seen_eacces && code == ENOENT)
		code = EACCES;
fail:
	dprintf(2, "isorun: cannot run '%s': %s\n", argv[0], strerror(code));
	_exit(code == ENOENT ? 127 : 126);
}

struct req {
	struct sbp_req	 rq;
	int		 fds[3];	/* stdin (-1: /dev/null), stdout, stderr */
	char		*body;
	char		*cwd;
	char		**argv;
	char		**envp;
};

static void
read_req(int conn, struct req *r)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(3 * sizeof(int))];
	} cm;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*c;
	ssize_t		 n;
	size_t		 nfd = 0, want, i, k, nstr;
	char		*p;

	r->fds[0] = r->fds[1] = r->fds[2] = -1;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &r->rq;
	iov.iov_len = sizeof(r->rq);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	do
		n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		_exit(1);
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (nfd < 3)
				r->fds[nfd] = fd;
			else
				close(fd);
			nfd++;
		}
	}
	if ((size_t)n < sizeof(r->rq) &&
	    read_full(conn, (char *)&r->rq + n, sizeof(r->rq) - (size_t)n))
		_exit(1);
	if (msg.msg_flags & MSG_CTRUNC)
		fail_req(conn, EPROTO, "request descriptors truncated");
	if (r->rq.rq_magic != SBP_MAGIC)
		fail_req(conn, EPROTO, "bad request magic");
	want = (r->rq.rq_flags & SBP_F_NOSTDIN) ? 2 : 3;
	if (nfd != want)
		fail_req(conn, EPROTO, "request carries %zu descriptors, "
		    "want %zu", nfd, want);
	if (want == 2) {
		r->fds[2] = r->fds[1];
		r->fds[1] = r->fds[0];
		r->fds[0] = -1;
	}
	if (r->rq.rq_len == 0 || r->rq.rq_len > SBP_BODY_MAX ||
	    r->rq.rq_argc == 0 || r->rq.rq_argc > SBP_ARGS_MAX ||
	    r->rq.rq_envc > SBP_ARGS_MAX - r->rq.rq_argc)
		fail_req(conn, EPROTO, "bad request sizes");
	if ((r->body = malloc(r->rq.rq_len)) == NULL)
		fail_req(conn, ENOMEM, "out of memory");
	if (read_full(conn, r->body, r->rq.rq_len) == -1)
		_exit(1);
	if (r->body[r->rq.rq_len - 1] != '\0')
		fail_req(conn, EPROTO, "request body not terminated");
	nstr = 1 + (size_t)r->rq.rq_argc + r->rq.rq_envc;
	r->argv = calloc(r->rq.rq_argc + 1, sizeof(char *));
	r->envp = calloc(r->rq.rq_envc + 1, sizeof(char *));
	if (r->argv == NULL || r->envp == NULL)
		fail_req(conn, ENOMEM, "out of memory");
	p = r->body;
	for (i = 0; i < nstr; i++) {
		if (p >= r->body + r->rq.rq_len)
			fail_req(conn, EPROTO, "request body too short");
		if (i == 0)
			r->cwd = p;
		else if (i <= r->rq.rq_argc)
			r->argv[i - 1] = p;
		else
			r->envp[i - 1 - r->rq.rq_argc] = p;
		p += strlen(p) + 1;
	}
	if (p != r->body + r->rq.rq_len)
		fail_req(conn, EPROTO, "request body too long");
	if (r->argv[0][0] == '\0')
		fail_req(conn, EINVAL, "empty command name");
}

static void __attribute__((noreturn))
start_child(struct req *r, int errfd)
{
	sigset_t	 none;
	int		 s, fd, e;

	setsid();
	for (s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	umask(022);
	if (r->fds[0] == -1 && (fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, 0);
		close(fd);
	} else if (r->fds[0] != -1)
		dup2(r->fds[0], 0);
	dup2(r->fds[1], 1);
	dup2(r->fds[2], 2);
	/* Nothing of ours may reach the guest; errfd closes on exec. */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	if (r->rq.rq_flags & SBP_F_CWD) {
		if (chdir(r->cwd) == -1) {
			e = errno;
			(void)!write(errfd, &e, sizeof(e));
			_exit(126);
		}
	} else if (chdir("/root") == -1 && chdir("/") == -1) {
		e = errno;
		(void)!write(errfd, &e, sizeof(e));
		_exit(126);
	}
	run_command(r->argv, r->envp);
}

static void __attribute__((noreturn))
supervise(int conn)
{
	struct sbp_ev	 ev;
	struct sbp_ctl	 ct;
	struct req	 r;
	struct pollfd	 pfd[2];
	sigset_t	 chld;
	uint64_t	 t0, deadline = 0, now;
	pid_t		 child;
	int		 ep[2], e, st = 0, reaped = 0, timed_out = 0, sfd, tmo, i;
	ssize_t		 n;

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	memset(&r, 0, sizeof(r));
	read_req(conn, &r);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if ((sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		fail_req(conn, errno, "signalfd: %s", strerror(errno));
	if (pipe2(ep, O_CLOEXEC) == -1)
		fail_req(conn, errno, "pipe: %s", strerror(errno));
	t0 = now_usec();
	if ((child = fork()) == -1)
		fail_req(conn, errno, "fork: %s", strerror(errno));
	if (child == 0) {
		close(ep[0]);
		start_child(&r, ep[1]);
	}
	close(ep[1]);
	for (i = 0; i < 3; i++)
		if (r.fds[i] != -1)
			close(r.fds[i]);
	if (read(ep[0], &e, sizeof(e)) == (ssize_t)sizeof(e)) {
		waitpid(child, NULL, 0);
		fail_req(conn, e, "cwd '%.150s': %s", r.cwd, strerror(e));
	}
	close(ep[0]);

	memset(&ev, 0, sizeof(ev));
	ev.ev_type = SBP_EV_STARTED;
	ev.ev_pid = child;
	send_ev(conn, &ev);

	if (r.rq.rq_timeout_ms > 0)
		deadline = t0 + (uint64_t)r.rq.rq_timeout_ms * 1000;
	for (;;) {
		tmo = -1;
		if (deadline) {
			now = now_usec();
			if (now >= deadline) {
				kill_tree(child, &st, &reaped);
				timed_out = 1;
				break;
			}
			tmo = (int)((deadline - now + 999) / 1000);
		}
		pfd[0].fd = sfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = conn;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, tmo) == -1 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) > 0)
				;
			if (waitpid(child, &st, WNOHANG) == child) {
				reaped = 1;
				break;
			}
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(conn, &ct, sizeof(ct));
			if (n == -1 && errno == EINTR)
				continue;
			if (n != (ssize_t)sizeof(ct)) {
				/* The runner cancelled or went away. */
				kill_tree(child, &st, &reaped);
				_exit(0);
			}
			if (ct.ct_type == SBP_CTL_SIGNAL && ct.ct_arg > 0 &&
			    ct.ct_arg < NSIG && kill(-child, ct.ct_arg) == -1)
				kill(child, ct.ct_arg);
		}
	}
	if (!reaped)
		waitpid(child, &st, 0);
	memset(&ev, 0, sizeof(ev));
	ev.ev_type = SBP_EV_EXITED;
	ev.ev_pid = child;
	ev.ev_status = st;
	ev.ev_flags = timed_out ? SBP_EVF_TIMEDOUT : 0;
	ev.ev_usec = now_usec() - t0;
	send_ev(conn, &ev);
	_exit(0);
}

int
main(void)
{
	struct pollfd	 pfd[3];
	sigset_t	 chld;
	pid_t		 pid;
	int		 sfd, conn, lifeline, np;

	close_range(SBP_FD_LIFELINE + 1, ~0U, 0);
	prctl(PR_SET_DUMPABLE, 0);
	if (fcntl(SBP_FD_LISTEN, F_SETFD, FD_CLOEXEC) == -1) {
		logx("no listening socket on fd %d", SBP_FD_LISTEN);
		return 1;
	}
	lifeline = fcntl(SBP_FD_LIFELINE, F_SETFD, FD_CLOEXEC) == -1 ? -1 :
	    SBP_FD_LIFELINE;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) == -1) {
		logx("signalfd: %s", strerror(errno));
		return 1;
	}
	if (write(SBP_FD_READY, "R", 1) != 1) {
		logx("ready pipe: %s", strerror(errno));
		return 1;
	}
	close(SBP_FD_READY);

	for (;;) {
		pfd[0].fd = SBP_FD_LISTEN;
		pfd[0].events = POLLIN;
		pfd[1].fd = sfd;
		pfd[1].events = POLLIN;
		pfd[2].fd = lifeline;
		pfd[2].events = POLLIN;
		np = lifeline == -1 ? 2 : 3;
		if (poll(pfd, (nfds_t)np, -1) == -1) {
			if (errno == EINTR)
				continue;
			logx("poll: %s", strerror(errno));
			return 1;
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) > 0)
				;
			while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
				;
		}
		if (np == 3 && (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			char c;

			if (read(lifeline, &c, 1) <= 0)
				return 0;	/* the kernel kills the rest */
		}
		if (pfd[0].revents & POLLIN) {
			conn = accept4(SBP_FD_LISTEN, NULL, NULL, SOCK_CLOEXEC);
			if (conn == -1)
				continue;
			if ((pid = fork()) == 0) {
				close(SBP_FD_LISTEN);
				close(sfd);
				if (lifeline != -1)
					close(lifeline);
				signal(SIGPIPE, SIG_DFL);
				supervise(conn);
			}
			if (pid == -1)
				logx("fork: %s", strerror(errno));
			close(conn);
		}
	}
}
