#include "secrets.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TMP_PREFIX	".tmp."

struct secrets {
	int	 sc_dfd;
	char	*sc_dir;
};

static atomic_uint	 tmp_seq;

static int
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

int
secrets_name_check(const char *name, struct ir_err *err)
{
	char	 q[SECRET_NAME_MAX * 4 + 16];
	size_t	 i, len;

	if (name == NULL || *name == '\0')
		return err_set(err, EINVAL, "secret name: empty");
	len = strlen(name);
	str_quote(name, len, SECRET_NAME_MAX + 1, q, sizeof(q));
	if (len > SECRET_NAME_MAX)
		return err_set(err, EINVAL, "secret name %s: longer than %d "
		    "characters", q, SECRET_NAME_MAX);
	for (i = 0; i < len; i++)
		if (!name_char(name[i]))
			return err_set(err, EINVAL, "secret name %s: only "
			    "letters, digits, '_', '.' and '-' are allowed",
			    q);
	if (name[0] == '.' || name[0] == '-')
		return err_set(err, EINVAL, "secret name %s: must start with "
		    "a letter, a digit or '_'", q);
	return 0;
}

static void
sweep_tmp(int dfd)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd;

	if ((fd = dup(dfd)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0)
			unlinkat(dfd, de->d_name, 0);
	closedir(d);
}

struct secrets *
secrets_open(const char *dir, struct ir_err *err)
{
	struct secrets	*s;
	struct stat	 sb;
	int		 dfd;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		err_set(err, errno, "secrets directory %s: %s", dir,
		    strerror(errno));
		return NULL;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1) {
		err_set(err, errno, "secrets directory %s: %s", dir,
		    errno == ELOOP || errno == ENOTDIR ? "not a directory "
		    "(a symlink is refused)" : strerror(errno));
		return NULL;
	}
	if (fstat(dfd, &sb) == -1) {
		err_set(err, errno, "secrets directory %s: %s", dir,
		    strerror(errno));
		goto fail;
	}
	if (sb.st_uid != geteuid()) {
		err_set(err, EPERM, "secrets directory %s: owned by uid %u, "
		    "not %u; refusing it", dir, (unsigned)sb.st_uid,
		    (unsigned)geteuid());
		goto fail;
	}
	if (sb.st_mode & 077) {
		err_set(err, EPERM, "secrets directory %s: mode %04o lets "
		    "its group or others in; it must be 0700 (chmod 700 %s)",
		    dir, (unsigned)(sb.st_mode & 07777), dir);
		goto fail;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->sc_dir = strdup(dir)) == NULL) {
		free(s);
		err_set(err, ENOMEM, "secrets directory %s: out of memory",
		    dir);
		goto fail;
	}
	s->sc_dfd = dfd;
	sweep_tmp(dfd);
	return s;
fail:
	close(dfd);
	return NULL;
}

void
secrets_close(struct secrets *s)
{
	if (s == NULL)
		return;
	close(s->sc_dfd);
	free(s->sc_dir);
	free(s);
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
secrets_set(struct secrets *s, const char *name, const void *val,
    size_t len, struct ir_err *err)
{
	char	 tmp[SECRET_NAME_MAX + 64];
	int	 fd, e;

	if (secrets_name_check(name, err) == -1)
		return -1;
	if (len == 0)
		return err_set(err, EINVAL, "secret '%s': the value is empty",
		    name);
	if (len > SECRET_VALUE_MAX)
		return err_set(err, EFBIG, "secret '%s': the value is %zu "
		    "bytes, more than %d", name, len, SECRET_VALUE_MAX);
	if (memchr(val, '\0', len) != NULL)
		return err_set(err, EINVAL, "secret '%s': the value contains "
		    "a NUL byte", name);
	snprintf(tmp, sizeof(tmp), TMP_PREFIX "%s.%ld.%u", name,
	    (long)getpid(), atomic_fetch_add(&tmp_seq, 1));
	fd = openat(s->sc_dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return err_set(err, errno, "secret '%s': creating %s/%s: %s",
		    name, s->sc_dir, tmp, strerror(errno));
	if (write_all(fd, val, len) == -1 || fsync(fd) == -1) {
		e = errno;
		close(fd);
		unlinkat(s->sc_dfd, tmp, 0);
		return err_set(err, e, "secret '%s': writing %s/%s: %s", name,
		    s->sc_dir, tmp, strerror(e));
	}
	if (close(fd) == -1 || renameat(s->sc_dfd, tmp, s->sc_dfd, name) ==
	    -1) {
		e = errno;
		unlinkat(s->sc_dfd, tmp, 0);
		return err_set(err, e, "secret '%s': storing in %s: %s", name,
		    s->sc_dir, strerror(e));
	}
	if (fsync(s->sc_dfd) == -1)
		return err_set(err, errno, "secret '%s': syncing %s: %s", name,
		    s->sc_dir, strerror(errno));
	return 0;
}

int
secrets_get(struct secrets *s, const char *name, char **val, size_t *len,
    struct ir_err *err)
{
	struct stat	 sb;
	char		*buf = NULL;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd, e;

	*val = NULL;
	*len = 0;
	if (secrets_name_check(name, err) == -1)
		return -1;
	fd = openat(s->sc_dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			return err_set(err, ENOENT, "secret '%s' is not set",
			    name);
		return err_set(err, errno, "secret '%s': reading %s/%s: %s",
		    name, s->sc_dir, name, errno == ELOOP ? "a symlink" :
		    strerror(errno));
	}
	if (fstat(fd, &sb) == -1) {
		e = errno;
		goto fail;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size < 1 ||
	    sb.st_size > SECRET_VALUE_MAX) {
		close(fd);
		return err_set(err, EINVAL, "secret '%s': %s/%s is not a "
		    "regular file of 1 to %d bytes", name, s->sc_dir, name,
		    SECRET_VALUE_MAX);
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		e = ENOMEM;
		goto fail;
	}
	while (got < (size_t)sb.st_size) {
		n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			e = errno;
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*val = buf;
	*len = got;
	return 0;
fail:
	close(fd);
	secrets_wipe(buf, got);
	return err_set(err, e, "secret '%s': reading %s/%s: %s", name,
	    s->sc_dir, name, strerror(e));
}

void
secrets_wipe(char *val, size_t len)
{
	if (val == NULL)
		return;
	explicit_bzero(val, len);
	free(val);
}

int
secrets_exists(struct secrets *s, const char *name, struct ir_err *err)
{
	struct stat	 sb;

	if (secrets_name_check(name, err) == -1)
		return -1;
	if (fstatat(s->sc_dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 0;
		return err_set(err, errno, "secret '%s': %s/%s: %s", name,
		    s->sc_dir, name, strerror(errno));
	}
	if (!S_ISREG(sb.st_mode))
		return err_set(err, EINVAL, "secret '%s': %s/%s is not a "
		    "regular file", name, s->sc_dir, name);
	return 1;
}

int
secrets_delete(struct secrets *s, const char *name, struct ir_err *err)
{
	if (secrets_name_check(name, err) == -1)
		return -1;
	if (unlinkat(s->sc_dfd, name, 0) == -1) {
		if (errno == ENOENT)
			return err_set(err, ENOENT, "secret '%s' is not set",
			    name);
		return err_set(err, errno, "secret '%s': removing %s/%s: %s",
		    name, s->sc_dir, name, strerror(errno));
	}
	if (fsync(s->sc_dfd) == -1)
		return err_set(err, errno, "secret '%s': syncing %s: %s", name,
		    s->sc_dir, strerror(errno));
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
secrets_list(struct secrets *s, char ***names, size_t *n,
    struct ir_err *err)
{
	DIR		*d;
	struct dirent	*de;
	char		**v = NULL, **nv;
	size_t		 cnt = 0, cap = 0;
	int		 fd;

	*names = NULL;
	*n = 0;
	if ((fd = openat(s->sc_dfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return err_set(err, errno, "secrets directory %s: %s",
		    s->sc_dir, strerror(errno));
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return err_set(err, errno, "secrets directory %s: %s",
		    s->sc_dir, strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		if (secrets_name_check(de->d_name, NULL) == -1)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				goto nomem;
			v = nv;
		}
		if ((v[cnt] = strdup(de->d_name)) == NULL)
			goto nomem;
		cnt++;
	}
	closedir(d);
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), name_cmp);
	*names = v;
	*n = cnt;
	return 0;
nomem:
	closedir(d);
	secrets_names_free(v, cnt);
	return err_set(err, ENOMEM, "secrets directory %s: out of memory",
	    s->sc_dir);
}

void
secrets_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
