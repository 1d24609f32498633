/*
 * cgroup.c - the cgroups of a sandbox: cpu, so that a sandbox's processes
 * together get one sandbox's share of the CPU, however many they are (a
 * flood from one sandbox must not slow another's traffic, issue 7); pids
 * and memory, so that a fork bomb or a runaway allocation stays inside
 * its sandbox (sandbox_limits).
 *
 * Layout (docs/sandbox.md, "CPU, processes, memory"): <root>/isorun/<leaf>
 * in each hierarchy, where <leaf> is the name of the sandbox's network
 * namespace ("isorun-sb3", unique per runner and slot) or its id when it
 * has none. cgroup v2 has one hierarchy, so one leaf with every file; v1
 * one per controller (/sys/fs/cgroup/cpu, /pids, /memory). Every leaf gets
 * the same cpu weight (v1 cpu.shares 1024, v2 cpu.weight 100), pids.max
 * and the memory limit (v1 memory.limit_in_bytes, v2 memory.max) when the
 * limits ask for them; "isorun" holds no process.
 *
 * The hierarchies are found once per process: $ISORUN_CGROUP_ROOT if set
 * (v1: the cpu hierarchy only), else cgroup v2 at /sys/fs/cgroup when its
 * cpu controller is there, else v1's. A controller that cannot be used
 * (missing, read-only) is left out with one line on stderr: fairness or a
 * limit is lost, network isolation is not (it never depended on cgroups).
 *
 * The child that becomes bwrap moves itself in (writes "0" to each leaf's
 * cgroup.procs) before anything else, so every process of the sandbox
 * starts inside. The leaves are kept in the state file (one string, ':'
 * between them, the cpu one first); destroy removes them once the
 * processes are gone.
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
#define CG_V1		"/sys/fs/cgroup"
#define CG_V2		"/sys/fs/cgroup"
#define CG_RMDIR_MS	1000

enum cg_kind { CG_V1_KIND, CG_V2_KIND };
enum { CGC_CPU, CGC_PIDS, CGC_MEM, CGC_N };
static const char *const cgc_name[CGC_N] = { "cpu", "pids", "memory" };

static pthread_once_t	 cg_once = PTHREAD_ONCE_INIT;
static enum cg_kind	 cg_kind;
/* Per controller: <root>/isorun where its leaves go ("": not usable);
 * on v2 the same directory for all. */
static char		 cg_base[CGC_N][PATH_MAX];
static char		 cg_why[CGC_N][PATH_MAX + 128];	/* "": usable */
static int		 cg_warned[CGC_N];

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
cg_none(int c, const char *where, const char *what)
{
	cg_base[c][0] = '\0';
	snprintf(cg_why[c], sizeof(cg_why[c]), "%s: %s", where, what);
}

/* v2: `root`'s children get controller c's files only if it enables
 * them, and so must <root>/isorun for the leaves. */
static void
cg_v2_enable(int c, const char *root)
{
	char	 plus[16];

	snprintf(plus, sizeof(plus), "+%s", cgc_name[c]);
	if (!cg_has(root, "cgroup.controllers", cgc_name[c]))
		return cg_none(c, root, "no such controller");
	if (!cg_has(root, "cgroup.subtree_control", cgc_name[c]) &&
	    cg_write(root, "cgroup.subtree_control", plus) == -1)
		return cg_none(c, root, "cannot enable the controller for its "
		    "children");
	snprintf(cg_base[c], sizeof(cg_base[c]), "%s/" CG_BASE, root);
	if (mkdir(cg_base[c], 0755) == -1 && errno != EEXIST)
		return cg_none(c, cg_base[c], strerror(errno));
	if (!cg_has(cg_base[c], "cgroup.subtree_control", cgc_name[c]) &&
	    cg_write(cg_base[c], "cgroup.subtree_control", plus) == -1)
		return cg_none(c, cg_base[c], strerror(errno));
}

/* v1: each controller is a hierarchy of its own; `knob` proves it. */
static void
cg_v1_find(int c, const char *root, const char *knob)
{
	if (!cg_exists(root, knob))
		return cg_none(c, root, access(root, F_OK) == -1 ?
		    strerror(errno) : "not a cgroup hierarchy with this "
		    "controller");
	if ((size_t)snprintf(cg_base[c], sizeof(cg_base[c]), "%s/" CG_BASE,
	    root) >= sizeof(cg_base[c]))
		return cg_none(c, root, strerror(ENAMETOOLONG));
	if (mkdir(cg_base[c], 0755) == -1 && errno != EEXIST)
		return cg_none(c, cg_base[c], strerror(errno));
}

static void
cg_detect(void)
{
	const char	*root = getenv("ISORUN_CGROUP_ROOT");
	char		 r[PATH_MAX];
	int		 own = root != NULL && *root != '\0';

	if (!own)
		root = cg_exists(CG_V2, "cgroup.controllers") &&
		    cg_has(CG_V2, "cgroup.controllers", "cpu") ? CG_V2 :
		    CG_V1 "/cpu";
	if (cg_exists(root, "cgroup.controllers")) {
		cg_kind = CG_V2_KIND;
		for (int c = 0; c < CGC_N; c++)
			cg_v2_enable(c, root);
		return;
	}
	cg_kind = CG_V1_KIND;
	cg_v1_find(CGC_CPU, root, "cpu.shares");
	/* $ISORUN_CGROUP_ROOT names the cpu hierarchy only. */
	for (int c = CGC_PIDS; c < CGC_N; c++) {
		if (own) {
			cg_none(c, root, "ISORUN_CGROUP_ROOT names the cpu "
			    "hierarchy only");
			continue;
		}
		snprintf(r, sizeof(r), CG_V1 "/%s", cgc_name[c]);
		cg_v1_find(c, r, c == CGC_PIDS ? "cgroup.procs" :
		    "memory.limit_in_bytes");
	}
}

static void
cg_warn(int c, const char *what)
{
	if (!__atomic_exchange_n(&cg_warned[c], 1, __ATOMIC_RELAXED))
		fprintf(stderr, "isorun: sandbox cgroups: %s: %s\n", cg_why[c],
		    what);
}

/* Appends `dir` to the ':'-separated list *path. */
static int
cg_path_add(char **path, const char *dir)
{
	size_t	 n = *path != NULL ? strlen(*path) + 1 : 0;
	char	*p;

	if ((p = realloc(*path, n + strlen(dir) + 1)) == NULL)
		return -1;
	if (n > 0)
		p[n - 1] = ':';
	memcpy(p + n, dir, strlen(dir) + 1);
	*path = p;
	return 0;
}

/* One leaf: made (or left by a runner that died making it), limits
 * written, cgroup.procs opened and appended to fds. */
static int
cg_leaf(const char *base, const char *leaf, const char *const files[][2],
    int fds[SB_CG_MAX], size_t *nfds, char **path, struct ir_err *err)
{
	char	 dir[PATH_MAX], procs[PATH_MAX + 16];
	int	 made = 0, fd;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", base, leaf) >=
	    sizeof(dir))
		return err_set(err, ENAMETOOLONG, "cgroup %s/%s: name too "
		    "long", base, leaf);
	if (mkdir(dir, 0755) == 0)
		made = 1;
	else if (errno != EEXIST)
		return err_set(err, errno, "mkdir cgroup %s: %s", dir,
		    strerror(errno));
	for (size_t i = 0; files[i][0] != NULL; i++)
		if (cg_write(dir, files[i][0], files[i][1]) == -1) {
			err_set(err, errno, "cgroup %s: write %s %s: %s", dir,
			    files[i][0], files[i][1], strerror(errno));
			goto fail;
		}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	if ((fd = open(procs, O_WRONLY | O_CLOEXEC)) == -1) {
		err_set(err, errno, "open %s: %s", procs, strerror(errno));
		goto fail;
	}
	if (cg_path_add(path, dir) == -1) {
		close(fd);
		err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	fds[(*nfds)++] = fd;
	return 0;
fail:
	if (made)
		sb_cgroup_remove(dir);
	return -1;
}

int
sb_cgroup_open(const char *leaf, const struct sandbox_limits *lim,
    int fds[SB_CG_MAX], size_t *nfds, char **path, struct ir_err *err)
{
	const char	*files[CGC_N][CGC_N + 1][2];
	char		 pids[24], mem[24];
	size_t		 nf[CGC_N] = { 0 };
	int		 one = -1;	/* v2: the controller whose leaf */
	int		 want[CGC_N] = { 1, lim->sl_pids_max > 0,
			    lim->sl_memory_max > 0 };

	*nfds = 0;
	*path = NULL;
	pthread_once(&cg_once, cg_detect);
	snprintf(pids, sizeof(pids), "%u", lim->sl_pids_max);
	snprintf(mem, sizeof(mem), "%llu",
	    (unsigned long long)lim->sl_memory_max);
	for (int c = 0; c < CGC_N; c++) {
		if (!want[c])
			continue;
		if (cg_base[c][0] == '\0') {
			cg_warn(c, c == CGC_CPU ? "sandboxes run without "
			    "per-sandbox CPU fairness" : c == CGC_PIDS ?
			    "sandboxes run without a limit on their processes" :
			    "sandboxes run without a memory limit");
			want[c] = 0;
		}
	}
	/* The files of each leaf: on v2 one leaf takes them all, under the
	   base of the first controller wanted (every usable one's is the
	   same directory there). */
	for (int c = 0; c < CGC_N && one == -1; c++)
		if (want[c] && cg_kind == CG_V2_KIND)
			one = c;
	for (int c = 0; c < CGC_N; c++) {
		int	 at = one != -1 ? one : c;

		if (!want[c])
			continue;
		if (c == CGC_CPU) {
			files[at][nf[at]][0] = cg_kind == CG_V1_KIND ?
			    "cpu.shares" : "cpu.weight";
			files[at][nf[at]++][1] = cg_kind == CG_V1_KIND ?
			    "1024" : "100";
		} else if (c == CGC_PIDS) {
			files[at][nf[at]][0] = "pids.max";
			files[at][nf[at]++][1] = pids;
		} else {
			files[at][nf[at]][0] = cg_kind == CG_V1_KIND ?
			    "memory.limit_in_bytes" : "memory.max";
			files[at][nf[at]++][1] = mem;
		}
	}
	for (int c = 0; c < CGC_N; c++) {
		files[c][nf[c]][0] = files[c][nf[c]][1] = NULL;
		if (nf[c] == 0)
			continue;
		if (cg_leaf(cg_base[c], leaf, (const char *const (*)[2])
		    files[c], fds, nfds, path, err) == -1)
			goto fail;
	}
	return 0;
fail:
	for (size_t i = 0; i < *nfds; i++)
		close(fds[i]);
	*nfds = 0;
	sb_cgroup_remove(*path);
	free(*path);
	*path = NULL;
	return -1;
}

/* One leaf, once its processes are gone. */
static int
cg_rmdir(const char *dir)
{
	struct timespec	 ts = { 0, 5 * 1000 * 1000 };

	/* A v2 cgroup stays busy for a moment after its last process was
	 * reaped (the exit is not yet accounted). */
	for (int i = 0; i < CG_RMDIR_MS / 5; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -1;
		nanosleep(&ts, NULL);
	}
	return -1;
}

int
sb_cgroup_remove(const char *path)
{
	char		 dir[PATH_MAX];
	const char	*p, *end;
	int		 rc = 0, e = 0;

	for (p = path; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) >= sizeof(dir))
			continue;
		memcpy(dir, p, (size_t)(end - p));
		dir[end - p] = '\0';
		if (cg_rmdir(dir) == -1 && rc == 0) {
			rc = -1;
			e = errno;
		}
	}
	errno = e;
	return rc;
}
