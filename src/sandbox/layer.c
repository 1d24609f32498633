/*
 * layer.c - unpacking a tar archive (an image layer, or the outer
 * docker-archive / OCI layout tarball) into a directory, confined to it.
 *
 * Every name is normalised and refused if absolute or holding "..". Each
 * entry's parent is opened with openat2(RESOLVE_BENEATH): a symlink on the
 * way may point anywhere inside the root, but one that leads out (absolute,
 * or too many "..") fails the open, and the whole import with it. The final
 * component is never followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW, *at calls
 * on the parent descriptor), so an archive cannot write through a symlink
 * it planted. Hard link targets are resolved the same way.
 *
 * Layer whiteouts (OCI image spec, "Representing Changes") apply to the
 * layers below only, so a layer is read twice: first its whiteouts are
 * applied, then its other entries. Device nodes are skipped (bwrap gives the
 * sandbox its own /dev); setuid and setgid bits are dropped.
 */
#include "sb_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WH_PREFIX	".wh."
#define WH_OPAQUE	".wh..wh..opq"

struct lctx {
	int		 lc_root;
	int		 lc_layer;
	const char	*lc_what;
	uint64_t	*lc_size;
	struct ir_err	*lc_err;
};

static int
entry_err(struct lctx *c, const char *name, int code, const char *why)
{
	char	 q[300];

	str_quote(name, strlen(name), 200, q, sizeof(q));
	return err_set(c->lc_err, code, "%s: entry %s: %s", c->lc_what, q,
	    why);
}

static int
link_err(struct lctx *c, const char *name, const char *target,
    const char *why)
{
	char	 q[300], msg[400];

	str_quote(target, strlen(target), 200, q, sizeof(q));
	snprintf(msg, sizeof(msg), "hard link target %s: %s", q, why);
	return entry_err(c, name, 0, msg);
}

static const char *
resolve_why(int e)
{
	if (e == EXDEV || e == ELOOP)
		return "path leaves the image root through a symlink";
	if (e == ENOTDIR)
		return "a parent is not a directory";
	return strerror(e);
}

static struct archive *
ar_open(int fd, struct lctx *c)
{
	struct archive	*a;

	if ((a = archive_read_new()) == NULL) {
		err_set(c->lc_err, ENOMEM, "out of memory");
		return NULL;
	}
	/* Built-in decompressors only: never an external program. */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		err_set(c->lc_err, 0, "%s: not a tar archive (%s)", c->lc_what,
		    archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/*
 * The directory `rel` (normalised, "" for the root) beneath the root,
 * created with 0755 where missing when `create`. Returns an fd, or -1 with
 * errno.
 */
static int
open_dir(struct lctx *c, const char *rel, int create, int flags)
{
	char	 buf[PATH_MAX], *p;
	int	 fd, pfd, e;

	if (rel[0] == '\0')
		return sb_openat_beneath(c->lc_root, ".", flags | O_DIRECTORY,
		    0);
	fd = sb_openat_beneath(c->lc_root, rel, flags | O_DIRECTORY, 0);
	if (fd != -1 || errno != ENOENT || !create)
		return fd;
	if (snprintf(buf, sizeof(buf), "%s", rel) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Create the missing components one by one, each beneath the root. */
	for (p = buf;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char	 save = *p;
		char	*slash;
		const char *base;

		*p = '\0';
		fd = sb_openat_beneath(c->lc_root, buf, O_PATH | O_DIRECTORY,
		    0);
		if (fd == -1 && errno == ENOENT) {
			slash = strrchr(buf, '/');
			if (slash != NULL) {
				*slash = '\0';
				pfd = sb_openat_beneath(c->lc_root, buf,
				    O_PATH | O_DIRECTORY, 0);
				*slash = '/';
				base = slash + 1;
			} else {
				pfd = sb_openat_beneath(c->lc_root, ".",
				    O_PATH | O_DIRECTORY, 0);
				base = buf;
			}
			if (pfd == -1)
				return -1;
			if (mkdirat(pfd, base, 0755) == -1 && errno != EEXIST) {
				e = errno;
				close(pfd);
				errno = e;
				return -1;
			}
			close(pfd);
			fd = sb_openat_beneath(c->lc_root, buf, O_PATH |
			    O_DIRECTORY, 0);
		}
		if (fd == -1)
			return -1;
		close(fd);
		if (save == '\0')
			break;
		*p = save;
	}
	return sb_openat_beneath(c->lc_root, rel, flags | O_DIRECTORY, 0);
}

static void
split(char *norm, char **parent, char **base)
{
	char	*s = strrchr(norm, '/');

	if (s == NULL) {
		*parent = norm + strlen(norm);	/* "" */
		*base = norm;
	} else {
		*s = '\0';
		*parent = norm;
		*base = s + 1;
	}
}

/* Whiteouts of one entry (first pass). */
static int
whiteout(struct lctx *c, const char *name, char *norm)
{
	char	*parent, *base;
	int	 fd, rc;

	split(norm, &parent, &base);
	if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) != 0)
		return 0;
	if (strcmp(base, WH_OPAQUE) == 0) {
		if ((fd = open_dir(c, parent, 0, O_RDONLY)) == -1)
			return errno == ENOENT ? 0 :
			    entry_err(c, name, 0, resolve_why(errno));
		rc = sb_empty_dir(fd);
		close(fd);
		if (rc == -1)
			return entry_err(c, name, errno, strerror(errno));
		return 0;
	}
	base += strlen(WH_PREFIX);
	if (base[0] == '\0' || strcmp(base, ".") == 0 ||
	    strcmp(base, "..") == 0)
		return entry_err(c, name, 0, "whiteout of nothing");
	if ((fd = open_dir(c, parent, 0, O_PATH)) == -1)
		return errno == ENOENT ? 0 :
		    entry_err(c, name, 0, resolve_why(errno));
	rc = sb_rm_rf_at(fd, base);
	close(fd);
	if (rc == -1)
		return entry_err(c, name, errno, strerror(errno));
	return 0;
}

/* Makes room for a new `base` in `pfd`; keeps an existing directory when
 * `keep_dir`. Returns 1 if a directory was kept. */
static int
make_room(int pfd, const char *base, int keep_dir)
{
	struct stat	 st;

	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (S_ISDIR(st.st_mode)) {
		if (keep_dir)
			return 1;
		return sb_rm_rf_at(pfd, base);
	}
	return unlinkat(pfd, base, 0);
}

static int
write_data(struct archive *a, int fd)
{
	const void	*buf;
	size_t		 len;
	la_int64_t	 off, end = 0;
	ssize_t		 n;
	int		 r;

	while ((r = archive_read_data_block(a, &buf, &len, &off)) ==
	    ARCHIVE_OK) {
		while (len > 0) {
			n = pwrite(fd, buf, len, off);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				return -1;
			buf = (const char *)buf + n;
			len -= (size_t)n;
			off += n;
		}
		if (off > end)
			end = off;
	}
	if (r != ARCHIVE_EOF) {
		errno = EIO;
		return -1;
	}
	/* Sparse files end in a hole. */
	return ftruncate(fd, end) == -1 ? -1 : 0;
}

static void
set_times(int pfd, const char *base, struct archive_entry *e)
{
	struct timespec	 ts[2];

	ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(e);
	ts[0].tv_nsec = ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
}

static int
put_entry(struct lctx *c, struct archive *a, struct archive_entry *e,
    const char *name, char *norm)
{
	char		 tnorm[PATH_MAX], *parent, *base;
	const char	*target, *why;
	mode_t		 mode = archive_entry_perm(e) & 01777;
	uid_t		 uid = (uid_t)archive_entry_uid(e);
	gid_t		 gid = (gid_t)archive_entry_gid(e);
	int		 pfd, fd = -1, tfd, kept, rc = -1, e2;
	struct stat	 st;

	if (norm[0] == '\0')
		return 0;	/* the root itself keeps its own attributes */
	split(norm, &parent, &base);
	if ((pfd = open_dir(c, parent, 1, O_PATH)) == -1)
		return entry_err(c, name, 0, resolve_why(errno));
	if ((target = archive_entry_hardlink(e)) != NULL) {
		if (img_path_norm(target, tnorm, sizeof(tnorm), &why) == -1) {
			link_err(c, name, target, why);
			goto out;
		}
		tfd = sb_openat_beneath(c->lc_root, tnorm, O_PATH | O_NOFOLLOW,
		    0);
		if (tfd == -1) {
			link_err(c, name, target, errno == ENOENT ?
			    "no such file (yet)" : resolve_why(errno));
			goto out;
		}
		if (fstat(tfd, &st) == -1 || S_ISDIR(st.st_mode)) {
			close(tfd);
			entry_err(c, name, 0, "hard link to a directory");
			goto out;
		}
		if (make_room(pfd, base, 0) == -1 ||
		    linkat(tfd, "", pfd, base, AT_EMPTY_PATH) == -1) {
			e2 = errno;
			close(tfd);
			entry_err(c, name, e2, strerror(e2));
			goto out;
		}
		close(tfd);
		rc = 0;
		goto out;
	}
	switch (archive_entry_filetype(e)) {
	case AE_IFDIR:
		if ((kept = make_room(pfd, base, 1)) == -1 ||
		    (!kept && mkdirat(pfd, base, 0700) == -1))
			break;
		if ((fd = openat(pfd, base, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1 ||
		    fchown(fd, uid, gid) == -1 || fchmod(fd, mode) == -1)
			break;
		rc = 0;
		break;
	case AE_IFREG:
		if (make_room(pfd, base, 0) == -1)
			break;
		if ((fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1 ||
		    write_data(a, fd) == -1 || fchown(fd, uid, gid) == -1 ||
		    fchmod(fd, mode) == -1)
			break;
		if (c->lc_size != NULL)
			*c->lc_size += (uint64_t)archive_entry_size(e);
		set_times(pfd, base, e);
		rc = 0;
		break;
	case AE_IFLNK:
		if ((target = archive_entry_symlink(e)) == NULL ||
		    target[0] == '\0') {
			errno = EINVAL;
			break;
		}
		if (make_room(pfd, base, 0) == -1 ||
		    symlinkat(target, pfd, base) == -1 ||
		    fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) == -1)
			break;
		set_times(pfd, base, e);
		rc = 0;
		break;
	case AE_IFIFO:
		if (!c->lc_layer) {
			rc = 0;
			break;
		}
		if (make_room(pfd, base, 0) == -1 ||
		    mknodat(pfd, base, S_IFIFO | mode, 0) == -1 ||
		    fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) == -1)
			break;
		rc = 0;
		break;
	default:
		rc = 0;		/* devices and sockets: skipped */
		break;
	}
	if (rc == -1)
		entry_err(c, name, errno, strerror(errno));
out:
	if (fd != -1)
		close(fd);
	close(pfd);
	return rc;
}

static int
pass(struct lctx *c, int fd, int whiteouts)
{
	struct archive		*a;
	struct archive_entry	*e;
	char			 norm[PATH_MAX], *copy, *parent, *base;
	const char		*name, *why;
	int			 r, rc = 0;

	if (lseek(fd, 0, SEEK_SET) == -1)
		return err_set(c->lc_err, errno, "%s: %s", c->lc_what,
		    strerror(errno));
	if ((a = ar_open(fd, c)) == NULL)
		return -1;
	while (rc == 0 && (r = archive_read_next_header(a, &e)) ==
	    ARCHIVE_OK) {
		if ((name = archive_entry_pathname(e)) == NULL) {
			rc = err_set(c->lc_err, 0, "%s: an entry has no "
			    "usable name", c->lc_what);
			break;
		}
		if (img_path_norm(name, norm, sizeof(norm), &why) == -1) {
			rc = entry_err(c, name, 0, why);
			break;
		}
		if (!c->lc_layer) {
			rc = put_entry(c, a, e, name, norm);
			continue;
		}
		if ((copy = strdup(norm)) == NULL) {
			rc = err_set(c->lc_err, ENOMEM, "out of memory");
			break;
		}
		split(copy, &parent, &base);
		if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0) {
			if (whiteouts)
				rc = whiteout(c, name, norm);
		} else if (!whiteouts)
			rc = put_entry(c, a, e, name, norm);
		free(copy);
	}
	if (rc == 0 && r != ARCHIVE_EOF)
		rc = err_set(c->lc_err, 0, "%s: %s", c->lc_what,
		    archive_error_string(a) ? archive_error_string(a) :
		    "damaged archive");
	archive_read_free(a);
	return rc;
}

int
layer_apply(int rootfd, int fd, int layer, const char *what,
    uint64_t *size, struct ir_err *err)
{
	struct lctx	 c = { rootfd, layer, what, size, err };

	if (layer && pass(&c, fd, 1) == -1)
		return -1;
	return pass(&c, fd, 0);
}
