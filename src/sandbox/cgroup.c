/*
 * cgroup.c - one CPU cgroup per sandbox, so that a sandbox's processes
 * together get one sandbox's share of the CPU, however many they are (a
 * flood from one sandbox must not slow another's traffic, issue 7).
 *
 * Layout (docs/sandbox.md, "CPU"): under the hierarchy that has the cpu
 * controller, <root>/isorun/<leaf>, where <leaf> is the name of the
 * sandbox's network namespace ("isorun-sb3", unique per runner and slot)
 * or its id when it has none. Every leaf gets the same weight (cgroup v1
 * cpu.shares 1024, v2 cpu.weight 100); "isorun" holds no process.
 *
 * The hierarchy is found once per process: $ISORUN_CGROUP_ROOT if set,
 * else cgroup v2 at /sys/fs/cgroup when its cpu controller is there, else
 * v1's /sys/fs/cgroup/cpu. When none can be used (missing, read-only, no
 * cpu controller), sandboxes run without their own cgroup and one line on
 * stderr says so: fairness is lost, isolation is not (it never depended on
 * cgroups).
 *
 * The child that becomes bwrap moves itself in (writes "0" to the leaf's
 * cgroup.procs) before anything else, so every process of the sandbox
 * starts inside. The path is kept in the state file; destroy removes the
 * leaf once the processes are gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sb_int.h"

#define CG_BASE		"isorun"
#define CG_V1_CPU	"/sys/fs/cgroup/cpu"
#define CG_V2		"/sys/fs/cgroup"
#define CG_RMDIR_MS	1000

enum cg_kind { CG_NONE, CG_V1, CG_V2_KIND };

static pthread_once_t	 cg_once = PTHREAD_ONCE_INIT;
static enum cg_kind	 cg_kind;
static char		 cg_base[PATH_MAX];	/* <root>/isorun */
static char		 cg_why[PATH_MAX + 128];	/* CG_NONE: why */

static int
cg_write(const char *dir, const char *file, const char *val)
{
	char	 path[PATH_MAX];
	int	 fd, e;
	ssize_t	 n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, val, strlen(val));
	e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* 1 if the space-separated list in dir/file has `word`. */
static int
cg_has(const char *dir, const char *file, const char *word)
{
	char	 path[PATH_MAX], buf[512], *w, *save = NULL;
	FILE	*f;
	int	 found = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) != NULL)
		for (w = strtok_r(buf, " \n", &save); w != NULL && !found;
		    w = strtok_r(NULL, " \n", &save))
			found = strcmp(w, word) == 0;
	fclose(f);
	return found;
}

static int
cg_exists(const char *dir, const char *file)
{
	char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

static void
cg_none(const char *root, const char *what)
{
	cg_kind = CG_NONE;
	snprintf(cg_why, sizeof(cg_why), "%s: %s", root, what);
}

static void
cg_detect(void)
{
	const char	*root = getenv("ISORUN_CGROUP_ROOT");
	const char	*why;

	if (root == NULL || *root == '\0')
		root = cg_exists(CG_V2, "cgroup.controllers") &&
		    cg_has(CG_V2, "cgroup.controllers", "cpu") ? CG_V2 :
		    CG_V1_CPU;
	if (cg_exists(root, "cgroup.controllers")) {
		if (!cg_has(root, "cgroup.controllers", "cpu"))
			return cg_none(root, "no cpu controller");
		cg_kind = CG_V2_KIND;
	} else if (cg_exists(root, "cpu.shares"))
		cg_kind = CG_V1;
	else
		return cg_none(root, access(root, F_OK) == -1 ?
		    strerror(errno) : "not a cgroup hierarchy with the cpu "
		    "controller");
	if ((size_t)snprintf(cg_base, sizeof(cg_base), "%s/" CG_BASE, root) >=
	    sizeof(cg_base))
		return cg_none(root, strerror(ENAMETOOLONG));
	/* v2: a child gets the cpu files only if its parent enables them. */
	if (cg_kind == CG_V2_KIND && !cg_has(root, "cgroup.subtree_control",
	    "cpu") && cg_write(root, "cgroup.subtree_control", "+cpu") == -1)
		return cg_none(root, "cannot enable the cpu controller for "
		    "its children");
	if (mkdir(cg_base, 0755) == -1 && errno != EEXIST)
		return cg_none(cg_base, strerror(errno));
	if (cg_kind == CG_V2_KIND && !cg_has(cg_base,
	    "cgroup.subtree_control", "cpu") && cg_write(cg_base,
	    "cgroup.subtree_control", "+cpu") == -1) {
		why = strerror(errno);
		return cg_none(cg_base, why);
	}
}

int
sb_cgroup_open(const char *leaf, int *fd, char **path, struct ir_err *err)
{
	static int	 warned;
	char		 dir[PATH_MAX], procs[PATH_MAX + 16];
	int		 made = 0;

	*fd = -1;
	*path = NULL;
	pthread_once(&cg_once, cg_detect);
	if (cg_kind == CG_NONE) {
		if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
			fprintf(stderr, "isorun: sandbox cgroups: %s: sandboxes "
			    "run without per-sandbox CPU fairness\n", cg_why);
		return 0;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", cg_base, leaf) >=
	    sizeof(dir))
		return err_set(err, ENAMETOOLONG, "cgroup %s/%s: name too "
		    "long", cg_base, leaf);
	/* EEXIST: left by a runner that died while creating this slot. */
	if (mkdir(dir, 0755) == 0)
		made = 1;
	else if (errno != EEXIST)
		return err_set(err, errno, "mkdir cgroup %s: %s", dir,
		    strerror(errno));
	if (cg_write(dir, cg_kind == CG_V1 ? "cpu.shares" : "cpu.weight",
	    cg_kind == CG_V1 ? "1024" : "100") == -1) {
		err_set(err, errno, "cgroup %s: set its cpu weight: %s", dir,
		    strerror(errno));
		goto fail;
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	if ((*fd = open(procs, O_WRONLY | O_CLOEXEC)) == -1) {
		err_set(err, errno, "open %s: %s", procs, strerror(errno));
		goto fail;
	}
	if ((*path = strdup(dir)) == NULL) {
		err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	return 0;
fail:
	if (*fd != -1)
		close(*fd);
	*fd = -1;
	if (made)
		sb_cgroup_remove(dir);
	return -1;
}

int
sb_cgroup_remove(const char *path)
{
	struct timespec	 ts = { 0, 5 * 1000 * 1000 };
	int		 i;

	if (path == NULL)
		return 0;
	/* A v2 cgroup stays busy for a moment after its last process was
	 * reaped (the exit is not yet accounted). */
	for (i = 0; i < CG_RMDIR_MS / 5; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -1;
		nanosleep(&ts, NULL);
	}
	return -1;
}
