/*
 * util.c - small helpers of the sandbox module: paths, names, environment
 * arrays, confined file operations.
 */
#include "sb_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static char		 init_path[PATH_MAX];
static pthread_once_t	 init_once = PTHREAD_ONCE_INIT;

static int
is_exec(const char *p)
{
	struct stat	 st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(p, X_OK) == 0;
}

/* Beside the running program, or one level up (tests run from tests/). */
static void
init_find(void)
{
	static const char *const fixed[] = {
		"/usr/local/libexec/isorun/isorun-init",
		"/usr/libexec/isorun/isorun-init",
	};
	char		 exe[PATH_MAX], cand[PATH_MAX + 32], *dir;
	const char	*env;
	ssize_t		 n;
	size_t		 i;

	if ((env = getenv("ISORUN_INIT")) != NULL && env[0] != '\0') {
		snprintf(init_path, sizeof(init_path), "%s", env);
		return;
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		dir = dirname(exe);
		snprintf(cand, sizeof(cand), "%s/isorun-init", dir);
		if (is_exec(cand) && strlen(cand) < sizeof(init_path)) {
			memcpy(init_path, cand, strlen(cand) + 1);
			return;
		}
		snprintf(cand, sizeof(cand), "%s/../isorun-init", dir);
		if (is_exec(cand) && realpath(cand, init_path) != NULL)
			return;
	}
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (is_exec(fixed[i])) {
			snprintf(init_path, sizeof(init_path), "%s", fixed[i]);
			return;
		}
	init_path[0] = '\0';
}

int
sb_paths_get(const struct sandbox_paths *in, struct sb_paths *out,
    struct ir_err *err)
{
	out->state_dir = in && in->sp_state_dir ? in->sp_state_dir :
	    SB_STATE_DIR;
	out->run_dir = in && in->sp_run_dir ? in->sp_run_dir : SB_RUN_DIR;
	out->bwrap = in && in->sp_bwrap ? in->sp_bwrap : SB_BWRAP;
	out->uid_base = in && in->sp_uid_base ? in->sp_uid_base : SB_UID_BASE;
	if (out->uid_base % 65536 != 0 ||
	    out->uid_base > 0xffffffffu - SB_UID_COUNT)
		return err_set(err, 0, "uid base %u: want a multiple of 65536 "
		    "below 2^32 - 65536", (unsigned)out->uid_base);
	if (in && in->sp_init)
		out->init = in->sp_init;
	else {
		pthread_once(&init_once, init_find);
		out->init = init_path[0] ? init_path : NULL;
	}
	if (out->state_dir[0] != '/' || out->run_dir[0] != '/')
		return err_set(err, 0, "state and run directories must be "
		    "absolute paths (got '%s', '%s')", out->state_dir,
		    out->run_dir);
	return 0;
}

int
sb_id_check(const char *id, struct ir_err *err)
{
	char		 q[128];
	size_t		 i, n = strlen(id);

	for (i = 0; i < n; i++) {
		char c = id[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '-' || c == '_'))
			continue;
		break;
	}
	if (n > 0 && n <= SB_ID_MAX && i == n)
		return 0;
	str_quote(id, n, 64, q, sizeof(q));
	return err_set(err, 0, "bad sandbox id %s: want 1 to %d of "
	    "[A-Za-z0-9_-], starting with a letter or digit", q, SB_ID_MAX);
}

void
sb_strv_free(char **v)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

size_t
sb_strv_len(char *const *v)
{
	size_t	 n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

char **
sb_env_merge(const char *const *const *layers, size_t n, struct ir_err *err)
{
	char		**o, q[160];
	const char	*e;
	size_t		 total = 0, cnt = 0, i, j, k, klen;

	for (i = 0; i < n; i++)
		for (j = 0; layers[i] != NULL && layers[i][j] != NULL; j++)
			total++;
	if ((o = calloc(total + 1, sizeof(*o))) == NULL) {
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; layers[i] != NULL && layers[i][j] != NULL; j++) {
			e = layers[i][j];
			klen = strcspn(e, "=");
			if (e[klen] != '=' || klen == 0) {
				str_quote(e, strlen(e), 64, q, sizeof(q));
				err_set(err, 0, "environment entry %s: want "
				    "NAME=VALUE", q);
				goto fail;
			}
			for (k = 0; k < cnt; k++)
				if (strncmp(o[k], e, klen + 1) == 0)
					break;
			if (k < cnt)
				free(o[k]);
			if ((o[k] = strdup(e)) == NULL) {
				err_set(err, ENOMEM, "out of memory");
				goto fail;
			}
			if (k == cnt)
				cnt++;
		}
	}
	return o;
fail:
	sb_strv_free(o);
	return NULL;
}

char *
sb_join(const char *a, const char *b)
{
	char	*s;

	if (asprintf(&s, "%s/%s", a, b) == -1)
		return NULL;
	return s;
}

int
sb_empty_dir(int fd)
{
	struct dirent	*de;
	DIR		*d;
	int		 dfd, rc = 0;

	if ((dfd = dup(fd)) == -1)
		return -1;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (sb_rm_rf_at(fd, de->d_name) == -1)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int
sb_rm_rf_at(int dirfd, const char *name)
{
	struct stat	 st, dst;
	int		 fd, rc;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) == -1 && errno != ENOENT ?
		    -1 : 0;
	if (fstat(dirfd, &dst) == 0 && dst.st_dev != st.st_dev) {
		errno = EBUSY;	/* a mount point: never recurse into it */
		return -1;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return -1;
	rc = sb_empty_dir(fd);
	close(fd);
	if (rc == -1)
		return -1;
	return unlinkat(dirfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT ?
	    -1 : 0;
}

int
sb_rm_rf(const char *path, struct ir_err *err)
{
	char	*copy, *base;
	const char *dir;
	int	 fd, rc = 0;

	if ((copy = strdup(path)) == NULL)
		return err_set(err, ENOMEM, "out of memory");
	base = strrchr(copy, '/');
	if (base == NULL || base[1] == '\0') {
		free(copy);
		return err_set(err, EINVAL, "remove %s: not a path below a "
		    "directory", path);
	}
	*base++ = '\0';
	dir = copy[0] ? copy : "/";
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		rc = errno == ENOENT ? 0 : err_set(err, errno, "open %s: %s",
		    dir, strerror(errno));
		free(copy);
		return rc;
	}
	if (sb_rm_rf_at(fd, base) == -1)
		rc = err_set(err, errno, "remove %s: %s", path,
		    strerror(errno));
	close(fd);
	free(copy);
	return rc;
}

int
sb_mkdirs(const char *path, mode_t mode, struct ir_err *err)
{
	char	 buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return err_set(err, ENAMETOOLONG, "%s: path too long", path);
	for (p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST)
			return err_set(err, errno, "mkdir %s: %s", buf,
			    strerror(errno));
		if (c == '\0')
			break;
		*p = c;
	}
	return 0;
}

int
sb_proc_stat(pid_t pid, struct sb_proc *out)
{
	char		 path[64], buf[1024], *p, *sp;
	ssize_t		 n;
	int		 fd, field;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (pid <= 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The name (field 2) may hold anything, ')' included. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == '\0')
		return -1;
	out->pr_state = p[2];
	for (field = 2; field < 22; field++) {
		if ((sp = strchr(p, ' ')) == NULL)
			return -1;
		p = sp + 1;
		if (field == 3)
			out->pr_ppid = (pid_t)strtol(p, NULL, 10);
	}
	out->pr_start = strtoull(p, NULL, 10);
	return 0;
}

uint64_t
sb_proc_start(pid_t pid)
{
	struct sb_proc	 pr;

	if (sb_proc_stat(pid, &pr) == -1 || pr.pr_state == 'Z' ||
	    pr.pr_state == 'X')
		return 0;
	return pr.pr_start;
}

static int
openat2_res(int dirfd, const char *path, int flags, mode_t mode,
    uint64_t resolve)
{
	struct open_how	 how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)flags | O_CLOEXEC;
	if (flags & O_CREAT)
		how.mode = mode;
	how.resolve = resolve | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

int
sb_openat_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
	return openat2_res(dirfd, path, flags, mode, RESOLVE_BENEATH);
}

int
sb_openat_in_root(int dirfd, const char *path, int flags, mode_t mode)
{
	return openat2_res(dirfd, path, flags, mode, RESOLVE_IN_ROOT);
}

int
sb_write_file(const char *path, const void *buf, size_t len,
    struct ir_err *err)
{
	char		 tmp[PATH_MAX];
	const char	*p = buf;
	ssize_t		 n;
	int		 fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return err_set(err, ENAMETOOLONG, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return err_set(err, errno, "create %s: %s", tmp,
		    strerror(errno));
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			err_set(err, errno, "write %s: %s", tmp,
			    strerror(errno));
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) == -1) {
		fd = -1;
		err_set(err, errno, "write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		err_set(err, errno, "rename %s: %s", tmp, strerror(errno));
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

