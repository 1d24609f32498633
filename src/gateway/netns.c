/*
 * netns.c - named network namespaces, and running code inside one.
 *
 * A network namespace is per thread, so work inside one is done on a
 * short-lived thread that calls setns() (or unshare()) and then exits: the
 * caller's threads never change namespace, and there is nothing to switch
 * back if something fails halfway. Sockets, including netlink sockets,
 * belong to the namespace they were created in for their whole life, which
 * is what lets the runner hold sockets of the gateway from the host side.
 */
#include "gw_int.h"
#include "gateway.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

struct nsjob {
	int		 nj_nsfd;	/* -1: unshare() a new namespace */
	const char	*nj_path;	/* unshare: bind-mount it here */
	int		(*nj_fn)(void *);
	void		*nj_arg;
	struct ir_err	*nj_err;
	int		 nj_ret;
};

static void *
nsjob_main(void *arg)
{
	struct nsjob	*j = arg;

	j->nj_ret = -1;
	if (j->nj_nsfd >= 0) {
		if (setns(j->nj_nsfd, CLONE_NEWNET) == -1) {
			err_set(j->nj_err, errno, "setns into network "
			    "namespace: %s", strerror(errno));
			return NULL;
		}
	} else {
		/* Never fall through to fn in the caller's namespace. */
		if (unshare(CLONE_NEWNET) == -1) {
			err_set(j->nj_err, errno, "unshare network namespace: "
			    "%s", strerror(errno));
			return NULL;
		}
		if (mount("/proc/thread-self/ns/net", j->nj_path, "none",
		    MS_BIND, NULL) == -1) {
			err_set(j->nj_err, errno, "bind-mount namespace on "
			    "%s: %s", j->nj_path, strerror(errno));
			return NULL;
		}
	}
	j->nj_ret = j->nj_fn != NULL ? j->nj_fn(j->nj_arg) : 0;
	return NULL;
}

static int
nsjob_run(struct nsjob *j)
{
	pthread_t	 t;
	int		 rc;

	if ((rc = pthread_create(&t, NULL, nsjob_main, j)) != 0)
		return err_set(j->nj_err, rc, "pthread_create: %s",
		    strerror(rc));
	if ((rc = pthread_join(t, NULL)) != 0)
		return err_set(j->nj_err, rc, "pthread_join: %s", strerror(rc));
	return j->nj_ret;
}

int
netns_run(int nsfd, int (*fn)(void *), void *arg, struct ir_err *err)
{
	struct nsjob	 j = { nsfd, NULL, fn, arg, err, -1 };

	if (nsfd < 0)
		return err_set(err, EBADF, "netns_run: no namespace");
	return nsjob_run(&j);
}

/*
 * Makes /run/netns a shared mount point, as iproute2 does, so that the
 * namespace mounts propagate to other mount namespaces (a sandbox's mount
 * namespace must not pin a deleted gateway).
 */
static int
netns_dir(struct ir_err *err)
{
	int	 bound = 0;

	if (mkdir(GW_NETNS_DIR, 0755) == -1 && errno != EEXIST)
		return err_set(err, errno, "mkdir %s: %s", GW_NETNS_DIR,
		    strerror(errno));
	while (mount("", GW_NETNS_DIR, "none", MS_SHARED | MS_REC,
	    NULL) == -1) {
		if (errno != EINVAL || bound)
			return err_set(err, errno, "make %s a shared mount: %s",
			    GW_NETNS_DIR, strerror(errno));
		if (mount(GW_NETNS_DIR, GW_NETNS_DIR, "none", MS_BIND | MS_REC,
		    NULL) == -1)
			return err_set(err, errno, "bind-mount %s on itself: "
			    "%s", GW_NETNS_DIR, strerror(errno));
		bound = 1;
	}
	return 0;
}

static int
netns_path(const char *name, char *buf, size_t len, struct ir_err *err)
{
	int	 n;

	if (name[0] == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return err_set(err, EINVAL, "bad namespace name '%s'", name);
	n = snprintf(buf, len, "%s/%s", GW_NETNS_DIR, name);
	if (n < 0 || (size_t)n >= len)
		return err_set(err, ENAMETOOLONG, "namespace name too long");
	return 0;
}

int
netns_add(const char *name, int (*init)(void *), void *arg,
    struct ir_err *err)
{
	struct nsjob	 j;
	char		 path[256];
	int		 fd;

	if (netns_path(name, path, sizeof(path), err) == -1 ||
	    netns_dir(err) == -1)
		return -1;
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd == -1)
		return err_set(err, errno, "create %s: %s", path,
		    strerror(errno));
	close(fd);
	j = (struct nsjob){ -1, path, init, arg, err, -1 };
	if (nsjob_run(&j) == -1)
		goto fail;
	return 0;
fail:
	/* Either mounted or not: MNT_DETACH of an unmounted file is EINVAL. */
	umount2(path, MNT_DETACH);
	unlink(path);
	err_prefix(err, "network namespace %s", name);
	return -1;
}

int
netns_open(const char *name, struct ir_err *err)
{
	char	 path[256];
	int	 fd;

	if (netns_path(name, path, sizeof(path), err) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(err, errno, "open %s: %s", path,
		    strerror(errno));
	return fd;
}

int
netns_del(const char *name, struct ir_err *err)
{
	char	 path[256];

	if (netns_path(name, path, sizeof(path), err) == -1)
		return -1;
	if (umount2(path, MNT_DETACH) == -1 && errno != EINVAL &&
	    errno != ENOENT)
		return err_set(err, errno, "unmount %s: %s", path,
		    strerror(errno));
	if (unlink(path) == -1 && errno != ENOENT)
		return err_set(err, errno, "unlink %s: %s", path,
		    strerror(errno));
	return 0;
}

int
sysctl_set(const char *key, const char *val, struct ir_err *err)
{
	char	 path[256], got[64];
	size_t	 n = strlen(val);
	ssize_t	 r;
	int	 fd;

	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1)
		return err_set(err, errno, "sysctl %s: %s", key,
		    strerror(errno));
	if (write(fd, val, n) != (ssize_t)n) {
		err_set(err, errno, "sysctl %s=%s: %s", key, val,
		    strerror(errno));
		goto fail;
	}
	if ((r = pread(fd, got, sizeof(got) - 1, 0)) <= 0) {
		err_set(err, errno, "sysctl %s: read back: %s", key,
		    strerror(errno));
		goto fail;
	}
	got[r] = '\0';
	got[strcspn(got, "\n")] = '\0';
	if (strcmp(got, val) != 0) {
		err_set(err, EIO, "sysctl %s=%s did not stick (reads %s)", key,
		    val, got);
		goto fail;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}
