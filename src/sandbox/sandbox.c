/*
 * sandbox.c - a sandbox's life: create, open again from its state file,
 * destroy.
 *
 * <run>/sandboxes/<id>/ holds state.json (written once the init is ready),
 * ctl.sock (the init's listening socket), log (bwrap's and the init's
 * stderr) and mnt/ (an empty directory on the host; the sandbox's private
 * mount namespace has its tmpfs there). Processes are recorded with their
 * /proc start time, so a recycled pid is never taken for the sandbox's.
 */
#include "sb_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STATE_MAX	(1u << 20)
#define KILL_WAIT_MS	5000

static const char *const env_defaults[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root", "USER=root", "LOGNAME=root", "LANG=C.UTF-8", NULL,
};

/* The host image's /usr is a throw-away copy: let pip write to it. */
static const char *const env_host[] = {
	"PIP_BREAK_SYSTEM_PACKAGES=1", NULL,
};

void
sandbox_config_default(struct sandbox_config *c)
{
	memset(c, 0, sizeof(*c));
	c->sc_image = "host";
	c->sc_hostname = "isorun";
	c->sc_write_mb = SB_WRITE_MB;
	c->sc_limits.sl_pids_max = SB_PIDS_MAX;
}

const char *
sandbox_id(const struct sandbox *sb)
{
	return sb->sb_id;
}

static struct sandbox *
sb_new(const char *id)
{
	struct sandbox	*sb;

	if ((sb = calloc(1, sizeof(*sb))) == NULL)
		return NULL;
	pthread_mutex_init(&sb->sb_lock, NULL);
	snprintf(sb->sb_id, sizeof(sb->sb_id), "%s", id);
	sb->sb_lifeline = -1;
	sb->sb_init_pid = sb->sb_bwrap_pid = -1;
	return sb;
}

void
sandbox_free(struct sandbox *sb)
{
	if (sb == NULL)
		return;
	if (sb->sb_lifeline != -1)
		close(sb->sb_lifeline);
	free(sb->sb_dir);
	free(sb->sb_sock);
	free(sb->sb_image);
	free(sb->sb_netns);
	free(sb->sb_workdir);
	free(sb->sb_cgroup);
	sb_strv_free(sb->sb_env);
	pthread_mutex_destroy(&sb->sb_lock);
	free(sb);
}

static int
hostname_check(const char *h, struct ir_err *err)
{
	char	 q[128];
	size_t	 i, n = strlen(h);

	for (i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
		    (h[i] >= 'A' && h[i] <= 'Z') ||
		    (h[i] >= '0' && h[i] <= '9') ||
		    (i > 0 && (h[i] == '-' || h[i] == '.'))))
			break;
	if (n > 0 && n <= 63 && i == n)
		return 0;
	str_quote(h, n, 64, q, sizeof(q));
	return err_set(err, 0, "bad hostname %s: want 1 to 63 of "
	    "[A-Za-z0-9.-]", q);
}

/* overlayfs options cannot carry these in a path. */
static int
overlay_path_check(const char *what, const char *p, struct ir_err *err)
{
	if (strpbrk(p, ",:\\\n") == NULL)
		return 0;
	return err_set(err, 0, "%s '%s' contains ',', ':', '\\' or a newline, "
	    "which overlayfs mount options cannot carry", what, p);
}

static int
netns_open_check(const char *path, struct ir_err *err)
{
	int	 fd, t;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(err, errno, "network namespace %s: %s", path,
		    strerror(errno));
	if ((t = ioctl(fd, NS_GET_NSTYPE)) != CLONE_NEWNET) {
		close(fd);
		return err_set(err, EINVAL, "%s is not a network namespace",
		    path);
	}
	return fd;
}

/*
 * bwrap runs as the sandbox's host uid and finds its sources under
 * <run>/sandboxes/<id>/mnt: every directory on the way must let others
 * search it (o+x; they still cannot list it, and what is inside is 0600).
 */
static int
searchable_check(const char *dir, struct ir_err *err)
{
	struct stat	 st;
	char		 buf[4096], *p;

	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return err_set(err, ENAMETOOLONG, "%s: too long", dir);
	for (p = buf + strlen(buf);; ) {
		if (stat(buf[0] ? buf : "/", &st) == -1)
			return err_set(err, errno, "%s: %s", buf,
			    strerror(errno));
		if (!(st.st_mode & S_IXOTH))
			return err_set(err, EACCES, "run directory: %s is not "
			    "searchable by others (chmod o+x %s): bwrap runs "
			    "as the sandbox's own uid", buf[0] ? buf : "/",
			    buf[0] ? buf : "/");
		if ((p = strrchr(buf, '/')) == NULL || buf[0] == '\0')
			break;
		*p = '\0';
	}
	return 0;
}

/* The run directory and its sandboxes/ are ours: let others search them. */
static int
make_searchable(const char *dir, struct ir_err *err)
{
	struct stat	 st;

	if (stat(dir, &st) == -1)
		return err_set(err, errno, "%s: %s", dir, strerror(errno));
	if ((st.st_mode & S_IXOTH) || !S_ISDIR(st.st_mode))
		return 0;
	if (chmod(dir, (st.st_mode & 07777) | S_IXOTH) == -1)
		return err_set(err, errno, "chmod o+x %s: %s", dir,
		    strerror(errno));
	return 0;
}

static int
listen_at(const char *path, struct ir_err *err)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return err_set(err, ENAMETOOLONG, "control socket path %s is "
		    "longer than %zu bytes: use a shorter run directory",
		    path, sizeof(sun.sun_path) - 1);
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return err_set(err, errno, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0600) == -1 || listen(fd, 128) == -1) {
		err_set(err, errno, "listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static char *
default_hosts(const char *hostname)
{
	char	*s;

	if (asprintf(&s, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
	    "ip6-loopback\n127.0.1.1\t%s\n", hostname) == -1)
		return NULL;
	return s;
}

static json_t *
strv_json(char *const *v)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; a != NULL && v != NULL && v[i] != NULL; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int
state_write(const struct sandbox *sb, bool lifeline, struct ir_err *err)
{
	json_t	*j;
	char	*s, *path;
	int	 rc;

	j = json_pack("{s:i, s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:b, s:o}", "version", 1, "id", sb->sb_id,
	    "image", sb->sb_image,
	    "netns", sb->sb_netns ? json_string(sb->sb_netns) : json_null(),
	    "workdir", sb->sb_workdir ? json_string(sb->sb_workdir) :
	    json_null(),
	    "env", strv_json(sb->sb_env),
	    "init_pid", (json_int_t)sb->sb_init_pid,
	    "init_start", (json_int_t)sb->sb_init_start,
	    "pidns", (json_int_t)sb->sb_pidns,
	    "bwrap_pid", (json_int_t)sb->sb_bwrap_pid,
	    "bwrap_start", (json_int_t)sb->sb_bwrap_start,
	    "created", (json_int_t)sb->sb_created, "lifeline", lifeline,
	    "cgroup", sb->sb_cgroup ? json_string(sb->sb_cgroup) :
	    json_null());
	if (j == NULL || (s = json_dumps(j, JSON_INDENT(1))) == NULL) {
		json_decref(j);
		return err_set(err, ENOMEM, "out of memory");
	}
	json_decref(j);
	if ((path = sb_join(sb->sb_dir, "state.json")) == NULL) {
		free(s);
		return err_set(err, ENOMEM, "out of memory");
	}
	rc = sb_write_file(path, s, strlen(s), err);
	free(path);
	free(s);
	return rc;
}

static char *
dup_or_null(json_t *v)
{
	return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

static int
state_read(struct sandbox *sb, struct ir_err *err)
{
	json_error_t	 je;
	json_t		*j, *env, *v;
	char		*path, *buf;
	size_t		 len, i, n;

	if ((path = sb_join(sb->sb_dir, "state.json")) == NULL)
		return err_set(err, ENOMEM, "out of memory");
	buf = ir_read_file(path, STATE_MAX, &len, err);
	if (buf == NULL) {
		free(path);
		return -1;
	}
	j = json_loadb(buf, len, 0, &je);
	free(buf);
	if (j == NULL || !json_is_object(j) ||
	    json_integer_value(json_object_get(j, "version")) != 1) {
		json_decref(j);
		err_set(err, EINVAL, "%s: not a sandbox state file (%s)", path,
		    je.text);
		free(path);
		return -1;
	}
	free(path);
	sb->sb_image = dup_or_null(json_object_get(j, "image"));
	sb->sb_netns = dup_or_null(json_object_get(j, "netns"));
	sb->sb_workdir = dup_or_null(json_object_get(j, "workdir"));
	sb->sb_cgroup = dup_or_null(json_object_get(j, "cgroup"));
	env = json_object_get(j, "env");
	n = json_array_size(env);
	if ((sb->sb_env = calloc(n + 1, sizeof(char *))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		v = json_array_get(env, i);
		if (!json_is_string(v) ||
		    (sb->sb_env[i] = strdup(json_string_value(v))) == NULL)
			goto nomem;
	}
	sb->sb_init_pid = (pid_t)json_integer_value(json_object_get(j,
	    "init_pid"));
	sb->sb_init_start = (uint64_t)json_integer_value(json_object_get(j,
	    "init_start"));
	sb->sb_pidns = (uint64_t)json_integer_value(json_object_get(j,
	    "pidns"));
	sb->sb_bwrap_pid = (pid_t)json_integer_value(json_object_get(j,
	    "bwrap_pid"));
	sb->sb_bwrap_start = (uint64_t)json_integer_value(json_object_get(j,
	    "bwrap_start"));
	sb->sb_created = (int64_t)json_integer_value(json_object_get(j,
	    "created"));
	json_decref(j);
	if (sb->sb_image == NULL)
		return err_set(err, EINVAL, "sandbox %s: state has no image",
		    sb->sb_id);
	return 0;
nomem:
	json_decref(j);
	return err_set(err, ENOMEM, "out of memory");
}

static int
sb_dirs(struct sandbox *sb, const struct sb_paths *p, struct ir_err *err)
{
	if (asprintf(&sb->sb_dir, "%s/sandboxes/%s", p->run_dir,
	    sb->sb_id) == -1) {
		sb->sb_dir = NULL;
		return err_set(err, ENOMEM, "out of memory");
	}
	if ((sb->sb_sock = sb_join(sb->sb_dir, "ctl.sock")) == NULL)
		return err_set(err, ENOMEM, "out of memory");
	return 0;
}

static int
random_id(char *buf, size_t len)
{
	unsigned char	 r[6];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	snprintf(buf, len, "sb-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
	    r[3], r[4], r[5]);
	return 0;
}

/* "/etc/<c>/.../<c>", each component [A-Za-z0-9._-], not "." or "..". */
static int
file_path_check(const char *path, struct ir_err *err)
{
	const char	*s, *e;
	size_t		 n;

	if (strncmp(path, "/etc/", 5) != 0 || strlen(path) > 256)
		return err_set(err, 0, "sandbox file '%.64s': want an absolute "
		    "path under /etc/ of at most 256 bytes", path);
	for (s = path + 5; ; s = e + 1) {
		e = strchr(s, '/');
		n = e != NULL ? (size_t)(e - s) : strlen(s);
		if (n == 0 || (n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.') ||
		    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789._-") < n)
			return err_set(err, 0, "sandbox file '%s': each part "
			    "must be letters, digits, '.', '_' or '-' (not "
			    "empty, '.' or '..')", path);
		if (e == NULL)
			return 0;
	}
}

static int
create_check(const struct sandbox_config *c, const struct sb_paths *p,
    struct ir_err *err)
{
	for (size_t i = 0; i < c->sc_nfiles; i++)
		if (file_path_check(c->sc_files[i].sf_path, err) == -1)
			return -1;
	if (hostname_check(c->sc_hostname ? c->sc_hostname : "isorun",
	    err) == -1 || overlay_path_check("run directory", p->run_dir,
	    err) == -1)
		return -1;
	if (p->init == NULL)
		return err_set(err, ENOENT, "the sandbox init program "
		    "(isorun-init) was not found: build it (make), install it "
		    "in /usr/local/libexec/isorun/, or set ISORUN_INIT");
	if (access(p->init, X_OK) == -1)
		return err_set(err, errno, "sandbox init %s: %s", p->init,
		    strerror(errno));
	if (access(p->bwrap, X_OK) == -1)
		return err_set(err, errno, "bubblewrap %s: %s (install the "
		    "bubblewrap package)", p->bwrap, strerror(errno));
	return 0;
}

struct sandbox *
sandbox_create(const struct sandbox_config *c, struct ir_err *err)
{
	const char *const	*layers[4];
	struct sb_paths		 p;
	struct img_ref		 img;
	struct launch		 l;
	struct sandbox		*sb = NULL;
	char			 idbuf[SB_ID_MAX + 1], *sbroot = NULL;
	char			*hosts = NULL, *path = NULL, *hline = NULL;
	char			 map[64], cgleaf[NAME_MAX + 1], rnd[24];
	const char		*hostname, *leaf;
	int			 netfd = -1, lfd = -1, logfd = -1, made = 0;
	int			 cgfds[SB_CG_MAX];
	size_t			 ncgfds = 0;

	memset(&img, 0, sizeof(img));
	memset(&l, 0, sizeof(l));
	if (sb_paths_get(c->sc_paths, &p, err) == -1 ||
	    create_check(c, &p, err) == -1)
		return NULL;
	hostname = c->sc_hostname ? c->sc_hostname : "isorun";
	if (c->sc_id == NULL) {
		if (random_id(idbuf, sizeof(idbuf)) == -1) {
			err_set(err, errno, "getrandom: %s", strerror(errno));
			return NULL;
		}
	} else if (sb_id_check(c->sc_id, err) == -1)
		return NULL;
	else
		snprintf(idbuf, sizeof(idbuf), "%s", c->sc_id);
	if (img_resolve(&p, c->sc_image, &img, err) == -1)
		return NULL;
	if (img.ir_rootfs != NULL &&
	    overlay_path_check("image root", img.ir_rootfs, err) == -1)
		goto fail;
	if ((sb = sb_new(idbuf)) == NULL || sb_dirs(sb, &p, err) == -1)
		goto nomem;
	layers[0] = env_defaults;
	layers[1] = img.ir_kind == IMG_HOST ? env_host :
	    (const char *const *)img.ir_env;
	layers[2] = c->sc_env;
	if ((sb->sb_env = sb_env_merge(layers, 3, err)) == NULL)
		goto fail;
	if ((sb->sb_image = strdup(c->sc_image ? c->sc_image : "host")) ==
	    NULL || (c->sc_netns && (sb->sb_netns = strdup(c->sc_netns)) ==
	    NULL) || (img.ir_workdir && (sb->sb_workdir =
	    strdup(img.ir_workdir)) == NULL))
		goto nomem;
	if (c->sc_netns && (netfd = netns_open_check(c->sc_netns, err)) == -1)
		goto fail;

	if (asprintf(&sbroot, "%s/sandboxes", p.run_dir) == -1) {
		sbroot = NULL;
		goto nomem;
	}
	if (sb_mkdirs(sbroot, 0711, err) == -1 ||
	    make_searchable(p.run_dir, err) == -1 ||
	    make_searchable(sbroot, err) == -1 ||
	    searchable_check(sbroot, err) == -1)
		goto fail;
	if (mkdir(sb->sb_dir, 0711) == -1) {
		if (errno == EEXIST)
			err_set(err, EEXIST, "sandbox '%s' already exists (%s)",
			    sb->sb_id, sb->sb_dir);
		else
			err_set(err, errno, "mkdir %s: %s", sb->sb_dir,
			    strerror(errno));
		goto fail;
	}
	made = 1;
	if ((path = sb_join(sb->sb_dir, "mnt")) == NULL)
		goto nomem;
	if (mkdir(path, 0755) == -1) {
		err_set(err, errno, "mkdir %s: %s", path, strerror(errno));
		goto fail;
	}
	free(path);
	if ((path = sb_join(sb->sb_dir, "log")) == NULL)
		goto nomem;
	if ((logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600)) == -1) {
		err_set(err, errno, "create %s: %s", path, strerror(errno));
		goto fail;
	}
	if ((lfd = listen_at(sb->sb_sock, err)) == -1)
		goto fail;
	if (c->sc_hosts == NULL && (hosts = default_hosts(hostname)) == NULL)
		goto nomem;
	if (asprintf(&hline, "%s\n", hostname) == -1) {
		hline = NULL;
		goto nomem;
	}

	l.la_paths = &p;
	l.la_id = sb->sb_id;
	l.la_dir = sb->sb_dir;
	l.la_hostname = hostname;
	l.la_hostname_line = hline;
	l.la_img = &img;
	l.la_netns_fd = netfd;
	l.la_listen_fd = lfd;
	l.la_log_fd = logfd;
	l.la_resolv = c->sc_resolv_conf ? c->sc_resolv_conf :
	    "# isorun: no resolver was given for this sandbox\n";
	l.la_hosts = c->sc_hosts ? c->sc_hosts : hosts;
	l.la_files = c->sc_files;
	l.la_nfiles = c->sc_nfiles;
	l.la_write_mb = c->sc_write_mb ? c->sc_write_mb : SB_WRITE_MB;
	l.la_uid_base = p.uid_base;
	snprintf(map, sizeof(map), "0 %u %u\n", (unsigned)p.uid_base,
	    SB_UID_COUNT);
	l.la_uid_map = map;
	l.la_lifeline = c->sc_lifeline;
	/* The id is only unique in this run_dir: the network namespace's
	 * name (the runner's and the slot's) makes it unique, else chance. */
	leaf = c->sc_netns ? strrchr(c->sc_netns, '/') : NULL;
	if (leaf != NULL && leaf[1] != '\0')
		snprintf(cgleaf, sizeof(cgleaf), "%s.%s", leaf + 1, sb->sb_id);
	else if (random_id(rnd, sizeof(rnd)) == 0)
		snprintf(cgleaf, sizeof(cgleaf), "%s-%s", sb->sb_id, rnd + 3);
	else
		snprintf(cgleaf, sizeof(cgleaf), "%s", sb->sb_id);
	if (sb_cgroup_open(cgleaf, &c->sc_limits, cgfds, &ncgfds,
	    &sb->sb_cgroup, err) == -1)
		goto fail;
	l.la_cgroup_fds = cgfds;
	l.la_ncgroup_fds = ncgfds;
	if (sb_launch(&l, err) == -1)
		goto fail;
	while (ncgfds > 0)
		close(cgfds[--ncgfds]);
	sb->sb_init_pid = l.la_init_pid;
	sb->sb_init_start = sb_proc_start(l.la_init_pid);
	sb->sb_pidns = l.la_pidns;
	sb->sb_bwrap_pid = l.la_bwrap_pid;
	sb->sb_bwrap_start = sb_proc_start(l.la_bwrap_pid);
	sb->sb_lifeline = l.la_lifeline_fd;
	sb->sb_created = (int64_t)time(NULL);
	if (sb->sb_init_start == 0 || sb->sb_bwrap_start == 0) {
		err_set(err, ESRCH, "sandbox %s: the init exited at once",
		    sb->sb_id);
		sandbox_destroy(sb, NULL);
		made = 0;
		goto fail;
	}
	if (state_write(sb, c->sc_lifeline, err) == -1) {
		sandbox_destroy(sb, NULL);
		made = 0;
		goto fail;
	}
	close(lfd);
	close(logfd);
	if (netfd != -1)
		close(netfd);
	free(path);
	free(hosts);
	free(hline);
	free(sbroot);
	img_ref_free(&img);
	return sb;
nomem:
	err_set(err, ENOMEM, "out of memory");
fail:
	while (ncgfds > 0)
		close(cgfds[--ncgfds]);
	/* The launch's failure killed and reaped what it started. */
	if (made && sb->sb_cgroup != NULL)
		sb_cgroup_remove(sb->sb_cgroup);
	if (lfd != -1)
		close(lfd);
	if (logfd != -1)
		close(logfd);
	if (netfd != -1)
		close(netfd);
	if (made)
		sb_rm_rf(sb->sb_dir, NULL);
	free(path);
	free(hosts);
	free(hline);
	free(sbroot);
	img_ref_free(&img);
	sandbox_free(sb);
	return NULL;
}

struct sandbox *
sandbox_open(const struct sandbox_paths *sp, const char *id,
    struct ir_err *err)
{
	struct sb_paths	 p;
	struct sandbox	*sb;
	struct stat	 st;

	if (sb_paths_get(sp, &p, err) == -1 || sb_id_check(id, err) == -1)
		return NULL;
	if ((sb = sb_new(id)) == NULL) {
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	if (sb_dirs(sb, &p, err) == -1)
		goto fail;
	if (stat(sb->sb_dir, &st) == -1) {
		if (errno == ENOENT)
			err_set(err, ENOENT, "no sandbox '%s' (nothing at %s)",
			    id, sb->sb_dir);
		else
			err_set(err, errno, "%s: %s", sb->sb_dir,
			    strerror(errno));
		goto fail;
	}
	if (state_read(sb, err) == -1) {
		if (err != NULL && err->code == ENOENT)
			err_set(err, ENOENT, "sandbox '%s' has no state file "
			    "(its creation did not finish)", id);
		goto fail;
	}
	return sb;
fail:
	sandbox_free(sb);
	return NULL;
}

static bool
init_alive(const struct sandbox *sb)
{
	char		 path[64];
	struct stat	 st;

	if (sb->sb_init_pid <= 0 ||
	    sb_proc_start(sb->sb_init_pid) != sb->sb_init_start)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)sb->sb_init_pid);
	return stat(path, &st) == 0 && (uint64_t)st.st_ino == sb->sb_pidns;
}

bool
sandbox_alive(struct sandbox *sb)
{
	bool	 alive;

	pthread_mutex_lock(&sb->sb_lock);
	alive = !sb->sb_destroyed && init_alive(sb);
	pthread_mutex_unlock(&sb->sb_lock);
	return alive;
}

void
sandbox_info(struct sandbox *sb, struct sandbox_info *out)
{
	memset(out, 0, sizeof(*out));
	out->si_id = sb->sb_id;
	out->si_image = sb->sb_image;
	out->si_netns = sb->sb_netns;
	out->si_dir = sb->sb_dir;
	out->si_init_pid = sb->sb_init_pid;
	out->si_bwrap_pid = sb->sb_bwrap_pid;
	out->si_pidns = sb->sb_pidns;
	out->si_created = sb->sb_created;
	pthread_mutex_lock(&sb->sb_lock);
	out->si_destroyed = sb->sb_destroyed;
	out->si_alive = !sb->sb_destroyed && init_alive(sb);
	pthread_mutex_unlock(&sb->sb_lock);
}

/*
 * Kills `pid` if it still is the process that started at `start`, and
 * waits up to `ms` for it to be gone. A pidfd pins the process, so the
 * signal cannot reach a successor that took the pid meanwhile.
 */
static int
kill_verified(pid_t pid, uint64_t start, int sig, int ms)
{
	struct pollfd	 p;
	int		 fd, r;

	if (pid <= 0 || start == 0)
		return 0;
	if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1)
		return errno == ESRCH ? 0 : -1;
	if (sb_proc_start(pid) != start) {
		close(fd);
		return 0;
	}
	if (sig != 0 && syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) ==
	    -1 && errno != ESRCH) {
		close(fd);
		return -1;
	}
	p.fd = fd;
	p.events = POLLIN;
	do
		r = poll(&p, 1, ms);
	while (r == -1 && errno == EINTR);
	close(fd);
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return 0;
}

/* bwrap is the creating process's child: reap it there. */
static void
reap_bwrap(const struct sandbox *sb)
{
	struct sb_proc	 pr;

	if (sb_proc_stat(sb->sb_bwrap_pid, &pr) == 0 &&
	    pr.pr_start == sb->sb_bwrap_start && pr.pr_ppid == getpid())
		while (waitpid(sb->sb_bwrap_pid, NULL, 0) == -1 &&
		    errno == EINTR)
			;
}

int
sandbox_destroy(struct sandbox *sb, struct ir_err *err)
{
	struct stat	 st;
	int		 rc = 0;

	pthread_mutex_lock(&sb->sb_lock);
	if (sb->sb_destroyed || (lstat(sb->sb_dir, &st) == -1 &&
	    errno == ENOENT)) {
		sb->sb_destroyed = true;
		pthread_mutex_unlock(&sb->sb_lock);
		return err_set(err, ENOENT, "sandbox '%s' was already "
		    "destroyed", sb->sb_id);
	}
	/* The init is PID 1 of the sandbox: the kernel kills the rest of the
	 * namespace, and the pidfd fires only once they are all gone. */
	if (kill_verified(sb->sb_init_pid, sb->sb_init_start, SIGKILL,
	    KILL_WAIT_MS) == -1)
		rc = err_set(err, errno, "sandbox %s: kill init %d: %s",
		    sb->sb_id, (int)sb->sb_init_pid, strerror(errno));
	/* bwrap exits with it; its exit frees the private mount namespace. */
	if (kill_verified(sb->sb_bwrap_pid, sb->sb_bwrap_start, 0,
	    KILL_WAIT_MS) == -1 && kill_verified(sb->sb_bwrap_pid,
	    sb->sb_bwrap_start, SIGKILL, KILL_WAIT_MS) == -1 && rc == 0)
		rc = err_set(err, errno, "sandbox %s: bwrap %d: %s",
		    sb->sb_id, (int)sb->sb_bwrap_pid, strerror(errno));
	reap_bwrap(sb);
	if (sb->sb_lifeline != -1) {
		close(sb->sb_lifeline);
		sb->sb_lifeline = -1;
	}
	if (sb_cgroup_remove(sb->sb_cgroup) == -1 && rc == 0)
		rc = err_set(err, errno, "sandbox %s: remove cgroup %s: %s",
		    sb->sb_id, sb->sb_cgroup, strerror(errno));
	if (sb_rm_rf(sb->sb_dir, rc == 0 ? err : NULL) == -1)
		rc = -1;
	sb->sb_destroyed = true;
	pthread_mutex_unlock(&sb->sb_lock);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
sandbox_list(const struct sandbox_paths *sp, struct ir_err *err)
{
	struct sb_paths	 p;
	struct dirent	*de;
	DIR		*d;
	char		*path, **v, **nv;
	size_t		 n = 0, cap = 8;

	if (sb_paths_get(sp, &p, err) == -1)
		return NULL;
	if (asprintf(&path, "%s/sandboxes", p.run_dir) == -1) {
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	if ((v = calloc(cap, sizeof(*v))) == NULL) {
		free(path);
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	if ((d = opendir(path)) == NULL) {
		if (errno != ENOENT) {
			err_set(err, errno, "%s: %s", path, strerror(errno));
			free(v);
			v = NULL;
		}
		free(path);
		return v;
	}
	while ((de = readdir(d)) != NULL) {
		if (sb_id_check(de->d_name, NULL) == -1)
			continue;
		if (n + 2 > cap) {
			if ((nv = reallocarray(v, cap * 2, sizeof(*v))) ==
			    NULL)
				goto nomem;
			v = nv;
			cap *= 2;
		}
		if ((v[n] = strdup(de->d_name)) == NULL)
			goto nomem;
		v[++n] = NULL;
	}
	closedir(d);
	free(path);
	qsort(v, n, sizeof(*v), cmp_str);
	return v;
nomem:
	closedir(d);
	free(path);
	sb_strv_free(v);
	err_set(err, ENOMEM, "out of memory");
	return NULL;
}

void
sandbox_list_free(char **ids)
{
	sb_strv_free(ids);
}
