/*
 * launch.c - building a sandbox's root and starting bwrap with the init.
 *
 * The runner forks one child. The child joins the sandbox's network
 * namespace (or makes an empty one with loopback up), unshares a mount
 * namespace of its own (slave of the runner's, so host unmounts such as
 * `ip netns del` still reach it) and makes the guest's user namespace. It
 * mounts a tmpfs on <dir>/mnt and builds the root there out of overlays
 * whose lower layers are idmapped to that user namespace and whose upper
 * layers live on the tmpfs, mounts a sysfs that shows the sandbox's own
 * interfaces, binds the init there, writes /etc/resolv.conf, /etc/hosts and
 * /etc/hostname, becomes the guest's host uid and execs bwrap, which joins
 * the user namespace. Nothing is mounted in the runner's namespace: when
 * the sandbox's last process exits, the namespace and every mount in it
 * go, so a crashed runner leaks no mounts and destroy has none to undo.
 *
 * The runner may be multi-threaded, so the child only makes system calls:
 * every path, option string and argument is prepared here before fork(),
 * as a list of operations (struct mop) the child runs in order. The first
 * failing operation is reported to the parent through a close-on-exec pipe
 * with its index, so the message names the step and the path.
 *
 * bwrap stays the runner's child (destroy reaps it); the init does not
 * depend on the runner: it lives until destroy kills it, unless a lifeline
 * pipe was asked for.
 */
#include "sb_int.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <jansson.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

#define LAUNCH_TIMEOUT_MS	10000

/* Descriptors of the bwrap process (see proto.h for the init's). */
#define FD_SECCOMP	6
#define FD_INFO		7
#define FD_ERRPIPE	8
#define FD_USERNS	9
#define NFDS		10

enum mop_kind {
	MO_MOUNT,	/* mount(arg, path, arg, flags, opts) */
	MO_MKDIR,	/* mkdir path, then chown/chmod to uid/gid/mode */
	MO_SYMLINK,	/* symlink arg at path */
	MO_WHITEOUT,	/* overlayfs whiteout (char 0:0) at path */
	MO_ROOT,	/* path is the root the *AT operations resolve in */
	MO_DIRAT,	/* make sure path (one name) exists in the root */
	MO_FILEAT,	/* write arg (len bytes) as path/opts in the root */
	MO_IDMAP,	/* arg, idmapped to the sandbox's users, on path */
	MO_BINDFILE,	/* arg bound read-only on a new file at path */
};

struct mop {
	enum mop_kind	 mo_kind;
	char		*mo_path;
	char		*mo_arg;
	char		*mo_opts;
	unsigned long	 mo_flags;
	size_t		 mo_len;
	mode_t		 mo_mode;
	uid_t		 mo_uid;
	gid_t		 mo_gid;
};

struct plan {
	uid_t		 pl_base;	/* host uid of the guest's uid 0 */
	struct mop	*pl_ops;
	size_t		 pl_n;
	size_t		 pl_cap;
	int		 pl_nomem;
	char		**pl_argv;	/* bwrap's */
	size_t		 pl_argc;
	size_t		 pl_argcap;
};

/* What the child reports when an operation fails. */
struct child_err {
	int	 ce_op;		/* index into pl_ops, or a CE_ step */
	int	 ce_errno;
};
#define CE_NETNS	(-1)
#define CE_UNSHARE	(-2)
#define CE_SLAVE	(-3)
#define CE_FDS		(-4)
#define CE_EXEC		(-5)
#define CE_LOOPBACK	(-6)
#define CE_USERNS	(-7)
#define CE_SETUID	(-8)
#define CE_CGROUP	(-9)

static char *
xstrdup(struct plan *pl, const char *s)
{
	char	*d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		pl->pl_nomem = 1;
	return d;
}

static void
op_add(struct plan *pl, enum mop_kind kind, const char *path,
    const char *arg, const char *opts, unsigned long flags, mode_t mode)
{
	struct mop	*m, *n;

	if (pl->pl_n == pl->pl_cap) {
		pl->pl_cap = pl->pl_cap ? pl->pl_cap * 2 : 32;
		n = realloc(pl->pl_ops, pl->pl_cap * sizeof(*n));
		if (n == NULL) {
			pl->pl_nomem = 1;
			pl->pl_cap = pl->pl_n;
			return;
		}
		pl->pl_ops = n;
	}
	m = &pl->pl_ops[pl->pl_n++];
	memset(m, 0, sizeof(*m));
	m->mo_kind = kind;
	m->mo_path = xstrdup(pl, path);
	m->mo_arg = xstrdup(pl, arg);
	m->mo_opts = xstrdup(pl, opts);
	m->mo_flags = flags;
	m->mo_mode = mode;
	if (arg != NULL)
		m->mo_len = strlen(arg);
}

/* A host id as the guest sees it, through the idmapped lower layers. */
static uid_t
shift(const struct plan *pl, unsigned id)
{
	return id < SB_UID_COUNT ? pl->pl_base + id : pl->pl_base + 65534;
}

/* mkdir with an owner given as the guest sees it (shifted here). */
static void
op_mkdir(struct plan *pl, const char *path, mode_t mode, uid_t uid,
    gid_t gid)
{
	op_add(pl, MO_MKDIR, path, NULL, NULL, 0, mode);
	if (pl->pl_n > 0) {
		pl->pl_ops[pl->pl_n - 1].mo_uid = shift(pl, uid);
		pl->pl_ops[pl->pl_n - 1].mo_gid = shift(pl, gid);
	}
}

/* mkdir owned by the runner (real root): what the guest must not touch. */
static void
op_mkdir_host(struct plan *pl, const char *path)
{
	op_add(pl, MO_MKDIR, path, NULL, NULL, 0, 0700);
}

static void
arg_add(struct plan *pl, const char *a)
{
	char	**n;

	if (pl->pl_argc + 2 > pl->pl_argcap) {
		pl->pl_argcap = pl->pl_argcap ? pl->pl_argcap * 2 : 64;
		n = realloc(pl->pl_argv, pl->pl_argcap * sizeof(*n));
		if (n == NULL) {
			pl->pl_nomem = 1;
			pl->pl_argcap = pl->pl_argc;
			return;
		}
		pl->pl_argv = n;
	}
	pl->pl_argv[pl->pl_argc++] = xstrdup(pl, a);
	pl->pl_argv[pl->pl_argc] = NULL;
}

static void
plan_free(struct plan *pl)
{
	size_t	 i;

	for (i = 0; i < pl->pl_n; i++) {
		free(pl->pl_ops[i].mo_path);
		free(pl->pl_ops[i].mo_arg);
		free(pl->pl_ops[i].mo_opts);
	}
	free(pl->pl_ops);
	for (i = 0; i < pl->pl_argc; i++)
		free(pl->pl_argv[i]);
	free(pl->pl_argv);
}

static char *
fmt(struct plan *pl, const char *f, ...) __attribute__((format(printf, 2, 3)));

static char *
fmt(struct plan *pl, const char *f, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, f);
	n = vasprintf(&s, f, ap);
	va_end(ap);
	if (n == -1) {
		pl->pl_nomem = 1;
		return NULL;
	}
	return s;
}

/*
 * What of the host's /etc a sandbox does not see: anything an unprivileged
 * host user could not read (shadow, private keys, VPN and database
 * credentials, whatever the host holds: a rule, not a list), and the
 * runner's own configuration. Hidden by whiteouts in the upper layer.
 */
#define HIDE_MAX_ENTRIES	20000
#define HIDE_MAX_DEPTH		16

static const char *const hidden_etc[] = { "isorun" };

struct hide {
	struct plan	*hd_pl;
	const char	*hd_upper;	/* the /etc overlay's upper layer */
	size_t		 hd_seen;
};

static void
hide_entry(struct hide *h, const char *rel)
{
	struct stat	 st;
	const char	*s;
	char		*dir, *p;

	/* Parents in the upper layer take the lower's owner and mode: a
	 * merged directory shows the upper one's attributes. */
	for (s = strchr(rel, '/'); s != NULL; s = strchr(s + 1, '/')) {
		dir = fmt(h->hd_pl, "/etc/%.*s", (int)(s - rel), rel);
		if (dir != NULL && lstat(dir, &st) == 0 &&
		    S_ISDIR(st.st_mode)) {
			p = fmt(h->hd_pl, "%s/%.*s", h->hd_upper,
			    (int)(s - rel), rel);
			op_mkdir(h->hd_pl, p, st.st_mode & 07777, st.st_uid,
			    st.st_gid);
			free(p);
		}
		free(dir);
	}
	p = fmt(h->hd_pl, "%s/%s", h->hd_upper, rel);
	op_add(h->hd_pl, MO_WHITEOUT, p, NULL, NULL, 0, 0);
	free(p);
}

/* Walks /etc/<rel> (a directory others may read and search). */
static int
hide_walk(struct hide *h, int dfd, const char *rel, int depth)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		*sub;
	int		 fd, rc = 0;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (++h->hd_seen > HIDE_MAX_ENTRIES) {
			errno = E2BIG;
			rc = -1;
			break;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || S_ISLNK(st.st_mode))
			continue;
		if ((sub = rel[0] ? fmt(h->hd_pl, "%s/%s", rel, de->d_name) :
		    strdup(de->d_name)) == NULL) {
			errno = ENOMEM;
			rc = -1;
			break;
		}
		if (!(st.st_mode & S_IROTH) || (S_ISDIR(st.st_mode) &&
		    !(st.st_mode & S_IXOTH)))
			hide_entry(h, sub);
		else if (S_ISDIR(st.st_mode) && depth < HIDE_MAX_DEPTH &&
		    (fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) != -1)
			rc = hide_walk(h, fd, sub, depth + 1);
		free(sub);
	}
	closedir(d);
	return rc;
}

static int
plan_hidden(struct plan *pl, const char *upper, struct ir_err *err)
{
	struct hide	 h = { pl, upper, 0 };
	struct stat	 st;
	char		 path[64];
	size_t		 i;
	int		 fd;

	for (i = 0; i < sizeof(hidden_etc) / sizeof(hidden_etc[0]); i++) {
		snprintf(path, sizeof(path), "/etc/%s", hidden_etc[i]);
		if (lstat(path, &st) == 0)
			hide_entry(&h, hidden_etc[i]);
	}
	if ((fd = open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    hide_walk(&h, fd, "", 0) == -1)
		return err_set(err, errno, "host image: walk /etc: %s%s",
		    strerror(errno), errno == E2BIG ? " (over 20000 entries)" :
		    "");
	return 0;
}

/*
 * An overlay on `target`: `lower` seen through an idmapped mount (host uid
 * N shows as the guest's N), the upper layer on the tmpfs. The upper
 * directory's attributes are the merged root's, so it takes the lower's.
 */
static void
plan_overlay(struct plan *pl, const char *rt, const char *target,
    const char *lower, const char *tag, const struct stat *lst,
    struct ir_err *err)
{
	char	*o, *u, *w, *lo, *opts;

	o = fmt(pl, "%s/ovl/%s", rt, tag);
	u = fmt(pl, "%s/ovl/%s/u", rt, tag);
	w = fmt(pl, "%s/ovl/%s/w", rt, tag);
	lo = fmt(pl, "%s/ovl/%s/l", rt, tag);
	op_mkdir_host(pl, o);
	op_mkdir_host(pl, w);
	op_mkdir_host(pl, lo);
	op_add(pl, MO_IDMAP, lo, lower, NULL, 0, 0);
	op_mkdir(pl, u, lst->st_mode & 07777, lst->st_uid, lst->st_gid);
	if (strcmp(tag, "etc") == 0 && u != NULL &&
	    plan_hidden(pl, u, err) == -1)
		pl->pl_nomem = -1;
	op_mkdir(pl, target, 0755, 0, 0);
	opts = fmt(pl, "lowerdir=%s,upperdir=%s,workdir=%s", lo, u, w);
	op_add(pl, MO_MOUNT, target, "overlay", opts, MS_NOSUID | MS_NODEV,
	    0);
	free(o);
	free(u);
	free(w);
	free(lo);
	free(opts);
}

static const struct {
	const char	*sk_path;
	mode_t		 sk_mode;
} skeleton[] = {
	{ "tmp", 01777 }, { "root", 0700 }, { "home", 0755 },
	{ "run", 0755 }, { "run/lock", 01777 }, { "var", 0755 },
	{ "var/tmp", 01777 }, { "var/cache", 0755 }, { "var/lib", 0755 },
	{ "var/log", 0755 }, { "mnt", 0755 }, { "srv", 0755 },
	{ "dev", 0755 }, { "proc", 0555 }, { "sys", 0555 },
};

/* The host image: overlays of the host's system directories on a tmpfs. */
static void
plan_host(struct plan *pl, const char *rt, const char *root,
    struct ir_err *err)
{
	static const char *const top[] = {
		"usr", "etc", "opt", "bin", "sbin", "lib", "lib32", "lib64",
		"libx32",
	};
	struct stat	 st;
	char		*p, *host, lnk[256];
	ssize_t		 n;
	size_t		 i;

	p = fmt(pl, "%s/ovl", rt);
	op_mkdir_host(pl, p);
	free(p);
	for (i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
		host = fmt(pl, "/%s", top[i]);
		p = fmt(pl, "%s/%s", root, top[i]);
		if (host != NULL && lstat(host, &st) == 0) {
			if (S_ISLNK(st.st_mode) &&
			    (n = readlink(host, lnk, sizeof(lnk) - 1)) > 0) {
				lnk[n] = '\0';
				op_add(pl, MO_SYMLINK, p, lnk, NULL, 0, 0);
			} else if (S_ISDIR(st.st_mode))
				plan_overlay(pl, rt, p, host, top[i], &st,
				    err);
		}
		free(host);
		free(p);
	}
	for (i = 0; i < sizeof(skeleton) / sizeof(skeleton[0]); i++) {
		p = fmt(pl, "%s/%s", root, skeleton[i].sk_path);
		op_mkdir(pl, p, skeleton[i].sk_mode, 0, 0);
		free(p);
	}
	p = fmt(pl, "%s/var/run", root);
	op_add(pl, MO_SYMLINK, p, "/run", NULL, 0, 0);
	free(p);
	p = fmt(pl, "%s/var/lock", root);
	op_add(pl, MO_SYMLINK, p, "/run/lock", NULL, 0, 0);
	free(p);
}

/* A rootfs directory or an imported image: one overlay. */
static void
plan_image(struct plan *pl, const char *rt, const char *root,
    const char *lower, struct ir_err *err)
{
	struct stat	 st;
	char		*p;

	if (stat(lower, &st) == -1 || !S_ISDIR(st.st_mode)) {
		err_set(err, errno ? errno : ENOTDIR, "image root %s: %s",
		    lower, strerror(errno ? errno : ENOTDIR));
		pl->pl_nomem = -1;
		return;
	}
	p = fmt(pl, "%s/ovl", rt);
	op_mkdir_host(pl, p);
	free(p);
	plan_overlay(pl, rt, root, lower, "img", &st, err);
	op_add(pl, MO_ROOT, root, NULL, NULL, 0, 0);
	op_add(pl, MO_DIRAT, "tmp", NULL, NULL, 0, 01777);
}

static void
plan_files(struct plan *pl, const char *root, const struct launch *l)
{
	op_add(pl, MO_ROOT, root, NULL, NULL, 0, 0);
	op_add(pl, MO_DIRAT, "etc", NULL, NULL, 0, 0755);
	op_add(pl, MO_FILEAT, "etc", l->la_resolv, "resolv.conf", 0, 0644);
	op_add(pl, MO_FILEAT, "etc", l->la_hosts, "hosts", 0, 0644);
	op_add(pl, MO_FILEAT, "etc", l->la_hostname_line, "hostname", 0,
	    0644);
	/* sandbox_create() checked the paths: /etc/a/b/name. */
	for (size_t i = 0; i < l->la_nfiles; i++) {
		char	*dir = fmt(pl, "%s", l->la_files[i].sf_path + 1);
		char	*q, *next, *name;

		if (dir == NULL)
			return;
		name = strrchr(dir, '/');
		*name++ = '\0';
		/* "etc" exists; make each deeper one: "etc/a", "etc/a/b". */
		for (q = dir + 3; *q == '/'; q = next) {
			if ((next = strchr(q + 1, '/')) != NULL)
				*next = '\0';
			op_add(pl, MO_DIRAT, dir, NULL, NULL, 0, 0755);
			if (next == NULL)
				break;
			*next = '/';
		}
		op_add(pl, MO_FILEAT, dir, l->la_files[i].sf_content, name, 0,
		    0644);
		free(dir);
	}
}

/* Capabilities the guest keeps, inside its own user namespace only. */
static const char *const caps_kept[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_SETFCAP",
	"CAP_SYS_CHROOT",
};

static void
plan_bwrap(struct plan *pl, const struct launch *l, const char *root,
    const char *sys, const char *init)
{
	size_t	 i;
	char	 n[16];

	arg_add(pl, l->la_paths->bwrap);
	arg_add(pl, "--userns");
	snprintf(n, sizeof(n), "%d", FD_USERNS);
	arg_add(pl, n);
	arg_add(pl, "--unshare-pid");
	arg_add(pl, "--unshare-ipc");
	arg_add(pl, "--unshare-uts");
	arg_add(pl, "--uid");
	arg_add(pl, "0");
	arg_add(pl, "--gid");
	arg_add(pl, "0");
	arg_add(pl, "--hostname");
	arg_add(pl, l->la_hostname);
	arg_add(pl, "--as-pid-1");
	arg_add(pl, "--new-session");
	arg_add(pl, "--cap-drop");
	arg_add(pl, "ALL");
	for (i = 0; i < sizeof(caps_kept) / sizeof(caps_kept[0]); i++) {
		arg_add(pl, "--cap-add");
		arg_add(pl, caps_kept[i]);
	}
	arg_add(pl, "--bind");
	arg_add(pl, root);
	arg_add(pl, "/");
	arg_add(pl, "--proc");
	arg_add(pl, "/proc");
	arg_add(pl, "--dev");
	arg_add(pl, "/dev");
	arg_add(pl, "--ro-bind");
	arg_add(pl, sys);
	arg_add(pl, "/sys");
	arg_add(pl, "--ro-bind");
	arg_add(pl, init);
	arg_add(pl, SBP_INIT_PATH);
	arg_add(pl, "--clearenv");
	arg_add(pl, "--chdir");
	arg_add(pl, "/");
	arg_add(pl, "--seccomp");
	snprintf(n, sizeof(n), "%d", FD_SECCOMP);
	arg_add(pl, n);
	arg_add(pl, "--info-fd");
	snprintf(n, sizeof(n), "%d", FD_INFO);
	arg_add(pl, n);
	arg_add(pl, "--");
	arg_add(pl, SBP_INIT_PATH);
}

/* Only system calls from here to execve(): see the comment on top. */

static char *
utoa(unsigned v, char *end)
{
	*--end = '\0';
	do
		*--end = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return end;
}

static int
write_all(int fd, const char *s, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(fd, s, n)) <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
proc_write(pid_t pid, const char *file, const char *s)
{
	char	 path[64], num[16];
	size_t	 n;
	int	 fd, rc;

	memcpy(path, "/proc/", 6);
	n = 6;
	for (const char *p = utoa((unsigned)pid, num + sizeof(num)); *p; p++)
		path[n++] = *p;
	path[n++] = '/';
	while (*file && n < sizeof(path) - 1)
		path[n++] = *file++;
	path[n] = '\0';
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	rc = write_all(fd, s, strlen(s));
	close(fd);
	return rc;
}

/*
 * The guest's user namespace: its 0..SB_UID_COUNT-1 are host uids from
 * `base` on, never the host's root, whom the kernel trusts by uid in
 * places no capability guards (sysctl files such as core_pattern). A
 * helper process creates it and caps the user namespaces it may create at
 * zero; we write its maps and keep an fd to it for bwrap --userns.
 */
/*
 * Becomes uid/gid `base` keeping CAP_SYS_ADMIN, so that the user
 * namespace created next is owned by `base` (bwrap, run as `base`, may
 * then join it) even where unprivileged user namespaces are disabled.
 */
static int
become_owner(uid_t base)
{
	struct __user_cap_header_struct	 hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct	 d[2];

	if (prctl(PR_SET_KEEPCAPS, 1) == -1 || setgroups(0, NULL) == -1 ||
	    setresgid(base, base, base) == -1 ||
	    setresuid(base, base, base) == -1)
		return -1;
	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = 1u << CAP_SYS_ADMIN;
	return (int)syscall(SYS_capset, &hdr, d);
}

static int
make_userns(uid_t base, const char *map, int *out)
{
	char	 c, num[16], path[64];
	int	 s1[2], s2[2], fd = -1, st, e = 0;
	pid_t	 h;

	if (pipe2(s1, O_CLOEXEC) == -1)
		return errno;
	if (pipe2(s2, O_CLOEXEC) == -1) {
		e = errno;
		close(s1[0]);
		close(s1[1]);
		return e;
	}
	if ((h = fork()) == -1) {
		e = errno;
		goto out;
	}
	if (h == 0) {
		if (become_owner(base) == -1 || unshare(CLONE_NEWUSER) == -1 ||
		    write(s1[1], "u", 1) != 1 || read(s2[0], &c, 1) != 1)
			_exit(1);
		/* The limit belongs to this namespace: none inside it. */
		if ((fd = open("/proc/sys/user/max_user_namespaces",
		    O_WRONLY | O_CLOEXEC)) == -1 || write(fd, "0", 1) != 1)
			_exit(2);
		_exit(0);
	}
	close(s1[1]);
	s1[1] = -1;
	close(s2[0]);
	s2[0] = -1;
	if (read(s1[0], &c, 1) != 1)
		e = EPERM;
	else if (proc_write(h, "uid_map", map) == -1 ||
	    proc_write(h, "gid_map", map) == -1)
		e = errno;
	else {
		memcpy(path, "/proc/", 6);
		strcpy(path + 6, utoa((unsigned)h, num + sizeof(num)));
		strcat(path, "/ns/user");
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			e = errno;
	}
	if (write(s2[1], e ? "x" : "g", 1) != 1 && e == 0)
		e = EPIPE;
	while (waitpid(h, &st, 0) == -1 && errno == EINTR)
		;
	if (e == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		e = EPERM;
	if (e != 0 && fd != -1) {
		close(fd);
		fd = -1;
	}
	*out = fd;
out:
	if (s1[0] != -1)
		close(s1[0]);
	if (s1[1] != -1)
		close(s1[1]);
	if (s2[0] != -1)
		close(s2[0]);
	if (s2[1] != -1)
		close(s2[1]);
	return e;
}

static int
loopback_up(void)
{
	struct ifreq	 ifr;
	int		 s, rc = 0;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1)
		rc = errno;
	else {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1)
			rc = errno;
	}
	close(s);
	return rc;
}

static int
child_ops(const struct plan *pl, int usernsfd, int *at)
{
	struct mount_attr	 ma;
	const struct mop	*m;
	size_t			 i, off;
	ssize_t			 n;
	int			 rootfd = -1, pfd, fd, e;

	for (i = 0; i < pl->pl_n; i++) {
		m = &pl->pl_ops[i];
		*at = (int)i;
		switch (m->mo_kind) {
		case MO_MOUNT:
			if (mount(m->mo_arg, m->mo_path, m->mo_arg,
			    m->mo_flags, m->mo_opts) == -1)
				return errno;
			break;
		case MO_MKDIR:
			if (mkdir(m->mo_path, m->mo_mode) == -1 &&
			    errno != EEXIST)
				return errno;
			if (lchown(m->mo_path, m->mo_uid, m->mo_gid) == -1 ||
			    chmod(m->mo_path, m->mo_mode) == -1)
				return errno;
			break;
		case MO_SYMLINK:
			if (symlink(m->mo_arg, m->mo_path) == -1)
				return errno;
			break;
		case MO_WHITEOUT:
			if (mknod(m->mo_path, S_IFCHR | 0, makedev(0, 0)) == -1)
				return errno;
			break;
		case MO_ROOT:
			if (rootfd != -1)
				close(rootfd);
			rootfd = open(m->mo_path, O_PATH | O_DIRECTORY |
			    O_CLOEXEC);
			if (rootfd == -1)
				return errno;
			break;
		case MO_DIRAT:
			fd = sb_openat_in_root(rootfd, m->mo_path, O_PATH |
			    O_DIRECTORY, 0);
			if (fd != -1) {
				close(fd);
				break;
			}
			if (errno != ENOENT)
				return errno;
			if (mkdirat(rootfd, m->mo_path, m->mo_mode) == -1 &&
			    errno != EEXIST)
				return errno;
			if (fchownat(rootfd, m->mo_path, pl->pl_base,
			    pl->pl_base, AT_SYMLINK_NOFOLLOW) == -1 ||
			    fchmodat(rootfd, m->mo_path, m->mo_mode, 0) == -1)
				return errno;
			break;
		case MO_FILEAT:
			pfd = sb_openat_in_root(rootfd, m->mo_path, O_PATH |
			    O_DIRECTORY, 0);
			if (pfd == -1)
				return errno;
			if (unlinkat(pfd, m->mo_opts, 0) == -1 &&
			    errno != ENOENT) {
				close(pfd);
				return errno;
			}
			fd = openat(pfd, m->mo_opts, O_WRONLY | O_CREAT |
			    O_EXCL | O_NOFOLLOW | O_CLOEXEC, m->mo_mode);
			close(pfd);
			if (fd == -1)
				return errno;
			if (fchown(fd, pl->pl_base, pl->pl_base) == -1) {
				e = errno;
				close(fd);
				return e;
			}
			for (off = 0; off < m->mo_len; off += (size_t)n)
				if ((n = write(fd, m->mo_arg + off,
				    m->mo_len - off)) <= 0) {
					close(fd);
					return n == 0 ? EIO : errno;
				}
			close(fd);
			break;
		case MO_BINDFILE:
			if ((fd = open(m->mo_path, O_WRONLY | O_CREAT | O_EXCL |
			    O_CLOEXEC, 0755)) == -1)
				return errno;
			close(fd);
			if (mount(m->mo_arg, m->mo_path, NULL, MS_BIND, NULL) ==
			    -1 || mount(NULL, m->mo_path, NULL, MS_REMOUNT |
			    MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) == -1)
				return errno;
			break;
		case MO_IDMAP:
			fd = open_tree(AT_FDCWD, m->mo_arg, OPEN_TREE_CLONE |
			    OPEN_TREE_CLOEXEC);
			if (fd == -1)
				return errno;
			memset(&ma, 0, sizeof(ma));
			ma.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY |
			    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
			ma.userns_fd = (uint64_t)usernsfd;
			if (mount_setattr(fd, "", AT_EMPTY_PATH, &ma,
			    sizeof(ma)) == -1 || move_mount(fd, "", AT_FDCWD,
			    m->mo_path, MOVE_MOUNT_F_EMPTY_PATH) == -1) {
				e = errno;
				close(fd);
				return e;
			}
			close(fd);
			break;
		}
	}
	if (rootfd != -1)
		close(rootfd);
	return 0;
}

struct child_fds {
	int	 cf_src[NFDS];	/* index = target descriptor; -1: closed */
};

static void __attribute__((noreturn))
child_fail(int errfd, int op, int e)
{
	struct child_err ce = { op, e };

	(void)!write(errfd, &ce, sizeof(ce));
	_exit(1);
}

static void __attribute__((noreturn))
child_main(const struct plan *pl, const struct launch *l, struct child_fds *f)
{
	static char *const envp[] = { NULL };
	sigset_t	 none;
	int		 tmp[NFDS], i, at = 0, e, usernsfd = -1;
	int		 errfd = f->cf_src[FD_ERRPIPE];

	/* A daemon's blocked or ignored signals must not reach bwrap. */
	for (i = 1; i < NSIG; i++)
		signal(i, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	umask(0);
	/* First: every process of the sandbox starts in its cgroup. */
	for (size_t k = 0; k < l->la_ncgroup_fds; k++)
		if (write(l->la_cgroup_fds[k], "0", 1) != 1)
			child_fail(errfd, CE_CGROUP, errno);
	/* The network namespace first: the sysfs mounted below shows the
	 * interfaces of the namespace its mounter is in. */
	if (l->la_netns_fd != -1) {
		if (setns(l->la_netns_fd, CLONE_NEWNET) == -1)
			child_fail(errfd, CE_NETNS, errno);
	} else {
		if (unshare(CLONE_NEWNET) == -1)
			child_fail(errfd, CE_NETNS, errno);
		if ((e = loopback_up()) != 0)
			child_fail(errfd, CE_LOOPBACK, e);
	}
	if (unshare(CLONE_NEWNS) == -1)
		child_fail(errfd, CE_UNSHARE, errno);
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == -1)
		child_fail(errfd, CE_SLAVE, errno);
	/* Our copy of other namespaces' names would pin them. */
	umount2("/run/netns", MNT_DETACH);
	if ((e = make_userns(l->la_uid_base, l->la_uid_map, &usernsfd)) != 0)
		child_fail(errfd, CE_USERNS, e);
	if ((e = child_ops(pl, usernsfd, &at)) != 0)
		child_fail(errfd, at, e);
	f->cf_src[FD_USERNS] = usernsfd;

	/*
	 * Move every descriptor bwrap gets to its number; close the rest. The
	 * copies go above the targets (not above 100: a process may not have
	 * that many descriptors, tests/faults/fds.sh).
	 */
	for (i = 0; i < NFDS; i++) {
		tmp[i] = -1;
		if (f->cf_src[i] != -1 &&
		    (tmp[i] = fcntl(f->cf_src[i], F_DUPFD_CLOEXEC, NFDS)) == -1)
			child_fail(errfd, CE_FDS, errno);
	}
	errfd = tmp[FD_ERRPIPE];
	for (i = 0; i < NFDS; i++) {
		if (tmp[i] == -1)
			close(i);
		else if (dup2(tmp[i], i) == -1)
			child_fail(errfd, CE_FDS, errno);
	}
	errfd = FD_ERRPIPE;
	if (fcntl(FD_ERRPIPE, F_SETFD, FD_CLOEXEC) == -1 ||
	    close_range(NFDS, ~0U, 0) == -1)
		child_fail(errfd, CE_FDS, errno);
	/* bwrap runs as the guest's host uid: it owns the user namespace,
	 * and is nobody outside it. */
	if (setgroups(0, NULL) == -1 ||
	    setresgid(l->la_uid_base, l->la_uid_base, l->la_uid_base) == -1 ||
	    setresuid(l->la_uid_base, l->la_uid_base, l->la_uid_base) == -1)
		child_fail(errfd, CE_SETUID, errno);
	umask(022);
	execve(pl->pl_argv[0], pl->pl_argv, envp);
	child_fail(errfd, CE_EXEC, errno);
}

static void
child_err_msg(const struct plan *pl, const struct child_err *ce,
    struct ir_err *err)
{
	const struct mop	*m;
	const char		*what = NULL;
	const char		*s = strerror(ce->ce_errno);

	switch (ce->ce_op) {
	case CE_NETNS:
		err_set(err, ce->ce_errno, "join network namespace: %s", s);
		return;
	case CE_UNSHARE:
		err_set(err, ce->ce_errno, "unshare mount namespace: %s", s);
		return;
	case CE_SLAVE:
		err_set(err, ce->ce_errno, "make mounts slave: %s", s);
		return;
	case CE_FDS:
		err_set(err, ce->ce_errno, "arrange descriptors: %s", s);
		return;
	case CE_EXEC:
		err_set(err, ce->ce_errno, "exec %s: %s", pl->pl_argv[0], s);
		return;
	case CE_LOOPBACK:
		err_set(err, ce->ce_errno, "bring up loopback: %s", s);
		return;
	case CE_USERNS:
		err_set(err, ce->ce_errno, "make the user namespace: %s", s);
		return;
	case CE_SETUID:
		err_set(err, ce->ce_errno, "become the sandbox's uid: %s", s);
		return;
	case CE_CGROUP:
		err_set(err, ce->ce_errno, "join the sandbox's cgroup: %s", s);
		return;
	}
	if (ce->ce_op < 0 || (size_t)ce->ce_op >= pl->pl_n) {
		err_set(err, EPROTO, "launch failed at an unknown step");
		return;
	}
	m = &pl->pl_ops[ce->ce_op];
	switch (m->mo_kind) {
	case MO_MOUNT:
		err_set(err, ce->ce_errno, "mount %s on %s (%s): %s", m->mo_arg,
		    m->mo_path, m->mo_opts ? m->mo_opts : "", s);
		return;
	case MO_MKDIR:
		what = "mkdir";
		break;
	case MO_SYMLINK:
		what = "symlink";
		break;
	case MO_WHITEOUT:
		what = "hide";
		break;
	case MO_ROOT:
		what = "open root";
		break;
	case MO_DIRAT:
		err_set(err, ce->ce_errno, "image root: /%s: %s", m->mo_path,
		    s);
		return;
	case MO_FILEAT:
		err_set(err, ce->ce_errno, "write /%s/%s in the image root: %s",
		    m->mo_path, m->mo_opts, s);
		return;
	case MO_BINDFILE:
		err_set(err, ce->ce_errno, "bind %s on %s: %s", m->mo_arg,
		    m->mo_path, s);
		return;
	case MO_IDMAP:
		err_set(err, ce->ce_errno, "idmapped mount of %s on %s: %s (needs "
		    "Linux 5.19 or later and a file system with idmapped "
		    "mounts: ext4, xfs, btrfs, tmpfs)", m->mo_arg, m->mo_path, s);
		return;
	}
	err_set(err, ce->ce_errno, "%s %s: %s", what, m->mo_path, s);
}

static long
ms_left(const struct timespec *deadline)
{
	struct timespec	 now;
	long		 ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms;
}

/* Reads from `fd` until `done` says so, EOF, or the deadline. */
static ssize_t
read_until(int fd, char *buf, size_t cap, const struct timespec *deadline,
    int (*done)(const char *, size_t))
{
	struct pollfd	 p = { fd, POLLIN, 0 };
	size_t		 len = 0;
	ssize_t		 n;
	int		 r;

	while (len < cap) {
		r = poll(&p, 1, (int)ms_left(deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? -2 : -1;
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (done(buf, len))
			break;
	}
	return (ssize_t)len;
}

static int
info_done(const char *buf, size_t len)
{
	json_t	*j;

	if ((j = json_loadb(buf, len, 0, NULL)) == NULL)
		return 0;
	json_decref(j);
	return 1;
}

static int
ready_done(const char *buf, size_t len)
{
	(void)buf;
	return len >= 1;
}

/* The tail of bwrap's and the init's stderr, for a launch error. */
static void
log_tail(const struct launch *l, char *out, size_t len)
{
	char		 path[4096], buf[600];
	ssize_t		 n;
	off_t		 end;
	int		 fd;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/log", l->la_dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	end = lseek(fd, 0, SEEK_END);
	if (end > (off_t)sizeof(buf) - 1)
		lseek(fd, end - (off_t)sizeof(buf) + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	str_quote(buf, (size_t)n, sizeof(buf), out, len);
}

static void
kill_wait(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
}

int
sb_launch(struct launch *l, struct ir_err *err)
{
	struct plan		 pl;
	struct child_fds	 f;
	struct child_err	 ce;
	struct timespec		 deadline;
	char			*rt = NULL, *root = NULL, *opts = NULL;
	char			*sys = NULL, *init = NULL;
	char			 info[2048], tail[700];
	int			 ep[2] = { -1, -1 }, ip[2] = { -1, -1 };
	int			 rp[2] = { -1, -1 }, lp[2] = { -1, -1 };
	int			 scfd = -1, nullfd = -1, i;
	ssize_t			 n;
	pid_t			 pid = -1;
	json_t			*j = NULL;

	memset(&pl, 0, sizeof(pl));
	pl.pl_base = l->la_uid_base;
	l->la_bwrap_pid = l->la_init_pid = -1;
	l->la_lifeline_fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += LAUNCH_TIMEOUT_MS / 1000;

	rt = fmt(&pl, "%s/mnt", l->la_dir);
	root = fmt(&pl, "%s/mnt/root", l->la_dir);
	opts = fmt(&pl, "size=%um,mode=0755", l->la_write_mb);
	op_add(&pl, MO_MOUNT, rt, "tmpfs", opts, MS_NOSUID | MS_NODEV, 0);
	if (l->la_img->ir_kind == IMG_HOST) {
		op_mkdir(&pl, root, 0755, 0, 0);	/* the guest's / */
		plan_host(&pl, rt, root, err);
	} else
		plan_image(&pl, rt, root, l->la_img->ir_rootfs, err);
	if (pl.pl_nomem == -1)
		goto fail;
	sys = fmt(&pl, "%s/mnt/sys", l->la_dir);
	op_add(&pl, MO_MKDIR, sys, NULL, NULL, 0, 0555);
	op_add(&pl, MO_MOUNT, sys, "sysfs", NULL, MS_RDONLY | MS_NOSUID |
	    MS_NODEV | MS_NOEXEC, 0);
	/* bwrap, no longer root, reads its sources here, not on the host. */
	init = fmt(&pl, "%s/mnt/init", l->la_dir);
	op_add(&pl, MO_BINDFILE, init, l->la_paths->init, NULL, 0, 0);
	plan_files(&pl, root, l);
	plan_bwrap(&pl, l, root, sys, init);
	if (pl.pl_nomem || rt == NULL || root == NULL || sys == NULL ||
	    init == NULL) {
		err_set(err, ENOMEM, "out of memory");
		goto fail;
	}

	if ((scfd = sb_seccomp_fd(err)) == -1)
		goto fail;
	if (pipe2(ep, O_CLOEXEC) == -1 || pipe2(ip, O_CLOEXEC) == -1 ||
	    pipe2(rp, O_CLOEXEC) == -1 ||
	    (l->la_lifeline && pipe2(lp, O_CLOEXEC) == -1) ||
	    (nullfd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		err_set(err, errno, "launch: %s", strerror(errno));
		goto fail;
	}
	for (i = 0; i < NFDS; i++)
		f.cf_src[i] = -1;
	f.cf_src[0] = nullfd;
	f.cf_src[1] = nullfd;
	f.cf_src[2] = l->la_log_fd;
	f.cf_src[SBP_FD_LISTEN] = l->la_listen_fd;
	f.cf_src[SBP_FD_READY] = rp[1];
	f.cf_src[SBP_FD_LIFELINE] = lp[0];
	f.cf_src[FD_SECCOMP] = scfd;
	f.cf_src[FD_INFO] = ip[1];
	f.cf_src[FD_ERRPIPE] = ep[1];

	if ((pid = fork()) == -1) {
		err_set(err, errno, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		child_main(&pl, l, &f);
	l->la_bwrap_pid = pid;
	close(ep[1]);
	close(ip[1]);
	close(rp[1]);
	ep[1] = ip[1] = rp[1] = -1;
	if (lp[0] != -1) {
		close(lp[0]);
		lp[0] = -1;
	}

	/* EOF when bwrap is exec'd; a record when a step failed. */
	n = read_until(ep[0], (char *)&ce, sizeof(ce), &deadline, ready_done);
	if (n > 0) {
		if (n == (ssize_t)sizeof(ce) ||
		    read_until(ep[0], (char *)&ce + n, sizeof(ce) - (size_t)n,
		    &deadline, ready_done) > 0)
			child_err_msg(&pl, &ce, err);
		else
			err_set(err, EPROTO, "launch: short report");
		goto fail;
	}
	n = read_until(ip[0], info, sizeof(info) - 1, &deadline, info_done);
	if (n > 0 && (j = json_loadb(info, (size_t)n, 0, NULL)) != NULL) {
		l->la_init_pid = (pid_t)json_integer_value(json_object_get(j,
		    "child-pid"));
		l->la_pidns = (uint64_t)json_integer_value(json_object_get(j,
		    "pid-namespace"));
		json_decref(j);
	}
	if (l->la_init_pid <= 0) {
		kill_wait(pid);
		pid = -1;
		log_tail(l, tail, sizeof(tail));
		err_set(err, 0, "bwrap failed: %s", tail[0] ? tail :
		    "(no message)");
		goto fail;
	}
	n = read_until(rp[0], info, 1, &deadline, ready_done);
	if (n != 1 || info[0] != 'R') {
		kill(l->la_init_pid, SIGKILL);
		kill_wait(pid);
		pid = -1;
		log_tail(l, tail, sizeof(tail));
		err_set(err, n == -2 ? ETIMEDOUT : 0, "the sandbox init did "
		    "not start%s: %s", n == -2 ? " in time" : "",
		    tail[0] ? tail : "(no message)");
		goto fail;
	}
	l->la_lifeline_fd = lp[1];
	lp[1] = -1;
	plan_free(&pl);
	free(rt);
	free(root);
	free(opts);
	free(sys);
	free(init);
	close(ep[0]);
	close(ip[0]);
	close(rp[0]);
	close(scfd);
	close(nullfd);
	return 0;
fail:
	if (pid > 0) {
		if (l->la_init_pid > 0)
			kill(l->la_init_pid, SIGKILL);
		kill_wait(pid);
	}
	l->la_bwrap_pid = l->la_init_pid = -1;
	plan_free(&pl);
	free(rt);
	free(root);
	free(opts);
	free(sys);
	free(init);
	for (i = 0; i < 2; i++) {
		if (ep[i] != -1)
			close(ep[i]);
		if (ip[i] != -1)
			close(ip[i]);
		if (rp[i] != -1)
			close(rp[i]);
		if (lp[i] != -1)
			close(lp[i]);
	}
	if (scfd != -1)
		close(scfd);
	if (nullfd != -1)
		close(nullfd);
	return -1;
}
