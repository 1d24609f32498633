/*
 * bench_sandbox.c - what a sandbox costs (issue 5, "Speed"): create until
 * the first exec has returned, destroy, and host memory of many idle
 * sandboxes. Needs root.
 *
 * Variants, run in turn in every round so that the neighbours of the
 * shared machine hit them alike:
 *   bwrap    reference: bwrap alone with the same namespaces (own user,
 *            pid, ipc, uts, net), host root read-only, running true; the
 *            floor of any bubblewrap-based design
 *   sandbox  sandbox_create() with the host image and a new empty network
 *            namespace, then sandbox_exec(true)
 *   gw       gateway_sandbox_add() (namespace, veth, nft set elements) and
 *            sandbox_create() joined to it
 *   runner   runner_sandbox_create(): gateway slot, DNS view and proxy
 *            policy, resolv.conf, sandbox; what `isorun create` costs
 * Each round: create, exec true (the first exec), exec true again (exec
 * alone), destroy. Then, for the sandbox and runner variants, M sandboxes
 * created and left idle at once: host memory (see mem_report()), then all
 * destroyed.
 *
 * Targets (exit 1 if one is missed, for every variant but bwrap): create
 * -> first exec p50 <= 25 ms and p99 <= 60 ms, destroy p99 <= 20 ms; M
 * idle sandboxes within 2 GiB * M / 200 of host memory (the largest of
 * three estimates: see fill()).
 *
 * Usage: bench_sandbox [-n ROUNDS] [-m IDLE] [-v VARIANT,...] [-I INIT]
 *	[-r | -R]
 * The rounds run twice: as scheduled, then at SCHED_FIFO 1 (inherited by
 * bwrap, the init and the commands), which shows what a create costs when
 * it gets the CPU, without the neighbours of a shared machine; the targets
 * are judged on the second. -r: only at SCHED_FIFO (BENCH_RT=1), -R: only
 * as scheduled (BENCH_RT=0). The idle sandboxes are made in the last.
 * Defaults: 100 rounds, 200 idle, every variant, the init from
 * $ISORUN_INIT, else $ISORUN_BUILD/isorun-init, else build/rel/isorun-init.
 *
 * The work runs in a child in a network namespace of its own (nothing can
 * leave it); sandboxes have a lifeline to it. The parent, a child
 * subreaper, reaps whatever is orphaned, removes the gateway namespaces
 * and the temp directory whatever the child did, and kills it after
 * BENCH_TIMEOUT seconds (170).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gateway/gateway.h"
#include "policy/policy.h"
#include "runner/runner.h"
#include "sandbox/sandbox.h"

enum { V_BWRAP, V_SANDBOX, V_GW, V_RUNNER, NVAR };
static const char *const var_name[NVAR] = { "bwrap", "sandbox", "gw",
	"runner" };

enum { S_CREATE, S_FIRST, S_CREATE_FIRST, S_EXEC, S_DESTROY, S_NET_ADD,
	S_NET_REMOVE, S_CPU, NSER };
static const char *const ser_name[NSER] = { "create", "first exec",
	"create -> first exec", "second exec", "destroy",
	"of create: gateway_sandbox_add", "of destroy: gateway_sandbox_remove",
	"CPU time of the whole round" };

#define TARGET_P50_MS	25.0
#define TARGET_P99_MS	60.0
#define TARGET_DESTROY_MS 20.0
#define TARGET_MEM_KB	(2.0 * 1024 * 1024)	/* for 200 sandboxes */

struct series {
	double		*s_v;		/* ms */
	size_t		 s_n, s_cap;
};

/* One sandbox of any variant. */
struct box {
	int			 b_var;
	double			 b_net_ms;	/* gw: add, then remove */
	struct sandbox		*b_sb;
	struct gw_sandbox	*b_gs;
	struct runner_sandbox	*b_rs;
};

struct meminfo {
	long		 m_avail, m_free, m_shmem, m_slab, m_sunreclaim,
			 m_kstack, m_ptables, m_anon;
};

static struct sandbox_paths	 paths;
static struct gateway		*gw;
static struct runner		*run;
static struct policy		*pol;
static char			 tmpdir[64];
static char			 gwname[GW_NAME_MAX], rname[GW_NAME_MAX];
/* Phases: as scheduled (0), then at SCHED_FIFO 1 (1). */
static struct series		 ser[2][NVAR][NSER];
static int			 phase;
static struct series		 fill_create[NVAR], fill_destroy[NVAR];
static int			 want[NVAR];
static int			 failed;
static int			 rt = -1;	/* -1 both, 0, 1 */
static volatile sig_atomic_t	 stop;

static void	 fail(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));

static void
fail(const char *fmt, ...)
{
	va_list	 ap;

	fputs("bench_sandbox: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failed = 1;
}

/* CPU time (user + system) of this process and of its reaped children:
 * bwrap is reaped at destroy, with the init and the guest's processes. */
static double
cpu_ms(void)
{
	struct rusage	 a, b;

	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec +
	    b.ru_utime.tv_sec + b.ru_stime.tv_sec) * 1e3 +
	    (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec +
	    b.ru_utime.tv_usec + b.ru_stime.tv_usec) / 1e3;
}

static double
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
ser_add(struct series *s, double v)
{
	double	*nv;

	if (s->s_n == s->s_cap) {
		s->s_cap = s->s_cap ? s->s_cap * 2 : 128;
		if ((nv = realloc(s->s_v, s->s_cap * sizeof(*nv))) == NULL) {
			perror("realloc");
			exit(2);
		}
		s->s_v = nv;
	}
	s->s_v[s->s_n++] = v;
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least p% of them at or below. */
static double
ser_pct(struct series *s, double p)
{
	size_t	 i;

	if (s->s_n == 0)
		return 0;
	qsort(s->s_v, s->s_n, sizeof(double), cmp_double);
	i = (size_t)(p / 100 * (double)s->s_n + 0.999999);
	return s->s_v[i > 0 ? i - 1 : 0];
}

static void
ser_print(const char *var, const char *what, struct series *s)
{
	if (s->s_n == 0)
		return;
	printf("| %s | %s | %zu | %.1f | %.1f | %.1f | %.1f | %.1f |\n", var,
	    what, s->s_n, ser_pct(s, 0), ser_pct(s, 50), ser_pct(s, 90),
	    ser_pct(s, 99), ser_pct(s, 100));
}

/* ---- the variants ---- */

static int
exec_true(struct box *b)
{
	static const char *const argv[] = { "true", NULL };
	struct sandbox_exec_req		 req;
	struct sandbox_exec_result	 res;
	struct ir_err			 err;
	struct sandbox			*sb;
	int				 rc = 0;

	sb = b->b_var == V_RUNNER ? runner_sandbox_box(b->b_rs) : b->b_sb;
	sandbox_exec_req_init(&req);
	req.er_argv = argv;
	req.er_timeout_ms = 10000;
	if (sandbox_exec(sb, &req, &res, &err) == -1) {
		fail("exec true: %s", err.msg);
		rc = -1;
	} else if (res.xr_exit_code != 0) {
		fail("exec true: exit code %d: %s", res.xr_exit_code,
		    res.xr_stderr);
		rc = -1;
	}
	sandbox_exec_result_free(&res);
	return rc;
}

static int
box_create(struct box *b, int var)
{
	struct sandbox_config		 c;
	struct runner_sandbox_spec	 rs;
	struct gw_sandbox_info		 si;
	struct ir_err			 err, e2;
	char				 netns[GW_NETNS_MAX + 16], a[64];
	char				 resolv[128];

	memset(b, 0, sizeof(*b));
	b->b_var = var;
	if (var == V_RUNNER) {
		memset(&rs, 0, sizeof(rs));
		rs.rs_policy = pol;
		rs.rs_lifeline = true;
		if ((b->b_rs = runner_sandbox_create(run, &rs, &err)) == NULL) {
			fail("runner_sandbox_create: %s", err.msg);
			return -1;
		}
		return 0;
	}
	sandbox_config_default(&c);
	c.sc_paths = &paths;
	c.sc_lifeline = true;
	if (var == V_GW) {
		b->b_net_ms = now_ms();
		if ((b->b_gs = gateway_sandbox_add(gw, &err)) == NULL) {
			fail("gateway_sandbox_add: %s", err.msg);
			return -1;
		}
		b->b_net_ms = now_ms() - b->b_net_ms;
		gateway_sandbox_info(b->b_gs, &si);
		snprintf(netns, sizeof(netns), "%s/%s", GW_NETNS_DIR,
		    si.si_netns);
		inet_ntop(AF_INET, &si.si_gw4, a, sizeof(a));
		snprintf(resolv, sizeof(resolv), "nameserver %s\n", a);
		c.sc_netns = netns;
		c.sc_resolv_conf = resolv;
	}
	if ((b->b_sb = sandbox_create(&c, &err)) == NULL) {
		fail("sandbox_create (%s): %s", var_name[var], err.msg);
		if (b->b_gs != NULL)
			gateway_sandbox_remove(gw, b->b_gs, &e2);
		b->b_gs = NULL;
		return -1;
	}
	return 0;
}

static int
box_destroy(struct box *b)
{
	struct ir_err	 err;
	int		 rc = 0;

	if (b->b_rs != NULL) {
		if (runner_sandbox_destroy(run, b->b_rs, &err) == -1) {
			fail("runner_sandbox_destroy: %s", err.msg);
			rc = -1;
		}
		b->b_rs = NULL;
		return rc;
	}
	/* The runner's order: the network goes first. */
	if (b->b_gs != NULL) {
		b->b_net_ms = now_ms();
		if (gateway_sandbox_remove(gw, b->b_gs, &err) == -1) {
			fail("gateway_sandbox_remove: %s", err.msg);
			rc = -1;
		}
		b->b_net_ms = now_ms() - b->b_net_ms;
	}
	b->b_gs = NULL;
	if (b->b_sb != NULL) {
		if (sandbox_destroy(b->b_sb, &err) == -1) {
			fail("sandbox_destroy: %s", err.msg);
			rc = -1;
		}
		sandbox_free(b->b_sb);
		b->b_sb = NULL;
	}
	return rc;
}

/* bwrap alone: the same namespaces as a sandbox, true as its program. */
static int
bwrap_once(double *ms)
{
	static const char *const argv[] = { "bwrap", "--unshare-user",
		"--unshare-pid", "--unshare-ipc", "--unshare-uts",
		"--unshare-net", "--ro-bind", "/", "/", "--proc", "/proc",
		"--dev", "/dev", "--as-pid-1", "--new-session", "--", "/bin/true",
		NULL };
	extern char	**environ;
	double		 t0;
	pid_t		 pid;
	int		 st, e;

	t0 = now_ms();
	if ((e = posix_spawn(&pid, SB_BWRAP, NULL, NULL,
	    (char *const *)(uintptr_t)argv, environ)) !=
	    0) {
		fail("%s: %s", SB_BWRAP, strerror(e));
		return -1;
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			fail("waitpid bwrap: %s", strerror(errno));
			return -1;
		}
	*ms = now_ms() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fail("bwrap reference run failed (status %#x)", st);
		return -1;
	}
	return 0;
}

static int
round_once(int var)
{
	struct box	 b;
	double		 t0, t1, t2, t3, t4, c0;
	int		 rc = 0;

	c0 = cpu_ms();
	if (var == V_BWRAP) {
		if (bwrap_once(&t0) == -1)
			return -1;
		ser_add(&ser[phase][var][S_CREATE_FIRST], t0);
		ser_add(&ser[phase][var][S_CPU], cpu_ms() - c0);
		return 0;
	}
	t0 = now_ms();
	if (box_create(&b, var) == -1)
		return -1;
	t1 = now_ms();
	if (var == V_GW)
		ser_add(&ser[phase][var][S_NET_ADD], b.b_net_ms);
	if (exec_true(&b) == -1)
		rc = -1;
	t2 = now_ms();
	if (rc == 0 && exec_true(&b) == -1)
		rc = -1;
	t3 = now_ms();
	if (box_destroy(&b) == -1)
		rc = -1;
	t4 = now_ms();
	if (rc == 0) {
		ser_add(&ser[phase][var][S_CREATE], t1 - t0);
		ser_add(&ser[phase][var][S_FIRST], t2 - t1);
		ser_add(&ser[phase][var][S_CREATE_FIRST], t2 - t0);
		ser_add(&ser[phase][var][S_EXEC], t3 - t2);
		ser_add(&ser[phase][var][S_DESTROY], t4 - t3);
		if (var == V_GW)
			ser_add(&ser[phase][var][S_NET_REMOVE], b.b_net_ms);
		ser_add(&ser[phase][var][S_CPU], cpu_ms() - c0);
	}
	return rc;
}

/* ---- memory ---- */

static void
mem_read(struct meminfo *m)
{
	static const struct {
		const char	*k;
		size_t		 off;
	} f[] = {
		{ "MemAvailable:", offsetof(struct meminfo, m_avail) },
		{ "MemFree:", offsetof(struct meminfo, m_free) },
		{ "Shmem:", offsetof(struct meminfo, m_shmem) },
		{ "Slab:", offsetof(struct meminfo, m_slab) },
		{ "SUnreclaim:", offsetof(struct meminfo, m_sunreclaim) },
		{ "KernelStack:", offsetof(struct meminfo, m_kstack) },
		{ "PageTables:", offsetof(struct meminfo, m_ptables) },
		{ "AnonPages:", offsetof(struct meminfo, m_anon) },
	};
	char	 line[256];
	FILE	*fp;
	size_t	 i;
	long	 v;

	memset(m, 0, sizeof(*m));
	if ((fp = fopen("/proc/meminfo", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL)
		for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			if (strncmp(line, f[i].k, strlen(f[i].k)) == 0 &&
			    sscanf(line + strlen(f[i].k), "%ld", &v) == 1)
				*(long *)((char *)m + f[i].off) = v;
	fclose(fp);
}

static int
cmp_long(const void *a, const void *b)
{
	long	 x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

/* The median of 5 readings 200 ms apart, field by field (kB). */
static void
mem_sample(struct meminfo *out)
{
	struct meminfo	 r[5];
	long		 v[5];
	size_t		 i, f;

	for (i = 0; i < 5; i++) {
		if (i > 0)
			usleep(200000);
		mem_read(&r[i]);
	}
	for (f = 0; f < sizeof(*out) / sizeof(long); f++) {
		for (i = 0; i < 5; i++)
			v[i] = ((long *)&r[i])[f];
		qsort(v, 5, sizeof(long), cmp_long);
		((long *)out)[f] = v[2];
	}
}

static long
pss_of(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*fp;
	long	 v = 0;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "Pss:", 4) == 0) {
			sscanf(line + 4, "%ld", &v);
			break;
		}
	fclose(fp);
	return v;
}

static long
rss_self(void)
{
	char	 line[256];
	FILE	*fp;
	long	 v = 0;

	if ((fp = fopen("/proc/self/status", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			sscanf(line + 6, "%ld", &v);
	fclose(fp);
	return v;
}

/*
 * PSS of every process of the sandboxes: each one's bwrap (outside its PID
 * namespace) and every process whose PID namespace is the sandbox's.
 */
static void
pss_boxes(struct box *bs, size_t n, long *pss, long *nproc)
{
	struct sandbox_info	 si;
	struct dirent		*de;
	DIR			*d;
	uint64_t		*ns;
	char			 path[64], link[64];
	unsigned long long	 ino;
	size_t			 i;
	ssize_t			 k;
	pid_t			 pid;

	*pss = 0;
	*nproc = 0;
	if ((ns = calloc(n, sizeof(*ns))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		sandbox_info(bs[i].b_var == V_RUNNER ?
		    runner_sandbox_box(bs[i].b_rs) : bs[i].b_sb, &si);
		ns[i] = si.si_pidns;
		*pss += pss_of(si.si_bwrap_pid);
		(*nproc)++;
	}
	if ((d = opendir("/proc")) == NULL) {
		free(ns);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if ((pid = atoi(de->d_name)) <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
		if ((k = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[k] = '\0';
		if (sscanf(link, "pid:[%llu]", &ino) != 1)
			continue;
		for (i = 0; i < n; i++)
			if (ns[i] == ino) {
				*pss += pss_of(pid);
				(*nproc)++;
				break;
			}
	}
	closedir(d);
	free(ns);
}

/*
 * M sandboxes at once, each after its first exec, then idle. Host memory,
 * three ways (no cgroup of our own to read): the drop of MemAvailable
 * (medians of 5 readings) against before, and against the mean of before
 * and after destroying them (neighbours allocate and free meanwhile); and
 * the sum of its parts: the PSS of the sandboxes' processes (each bwrap
 * and everything in its PID namespace), the runner's RSS growth, and the
 * growth of the kernel's unreclaimable slab (namespaces, mounts, inodes,
 * sockets, veths), kernel stacks, page tables and Shmem (the tmpfs upper
 * layers). The kernel counters are system-wide too, but move little with
 * the neighbours' work.
 */
static int
fill(int var, size_t m)
{
	struct meminfo	 m0, m1, m2;
	struct box	*bs;
	double		 t0;
	long		 pss = 0, nproc = 0, rss0, rss1 = 0, drop, drop2, parts;
	size_t		 i, n = 0;
	int		 rc = 0;

	if ((bs = calloc(m, sizeof(*bs))) == NULL)
		return -1;
	mem_sample(&m0);
	rss0 = rss_self();
	for (i = 0; i < m && !stop; i++) {
		t0 = now_ms();
		if (box_create(&bs[n], var) == -1) {
			rc = -1;
			break;
		}
		n++;
		if (exec_true(&bs[n - 1]) == -1) {
			rc = -1;
			break;
		}
		ser_add(&fill_create[var], now_ms() - t0);
	}
	if (rc == 0 && !stop) {
		sleep(1);
		mem_sample(&m1);
		rss1 = rss_self();
		pss_boxes(bs, n, &pss, &nproc);
	}
	while (n > 0) {
		t0 = now_ms();
		if (box_destroy(&bs[--n]) == -1)
			rc = -1;
		else
			ser_add(&fill_destroy[var], now_ms() - t0);
	}
	free(bs);
	if (rc != 0 || stop)
		return rc;
	n = fill_create[var].s_n;
	sleep(1);
	mem_sample(&m2);
	/* Neighbours allocate and free meanwhile: the baseline is also
	 * taken as the mean of before and after, and the larger drop counts. */
	drop = m0.m_avail - m1.m_avail;
	drop2 = (m0.m_avail + m2.m_avail) / 2 - m1.m_avail;
	parts = pss + (rss1 - rss0) + (m1.m_sunreclaim - m0.m_sunreclaim) +
	    (m1.m_kstack - m0.m_kstack) + (m1.m_ptables - m0.m_ptables) +
	    (m1.m_shmem - m0.m_shmem);
	printf("\n%s: %zu idle sandboxes (%ld processes)\n\n",
	    var_name[var], n, nproc);
	printf("| measure | total | per sandbox |\n|---|---:|---:|\n");
#define ROW(label, kb) printf("| %s | %.1f MiB | %.0f kB |\n", label, \
	    (double)(kb) / 1024, (double)(kb) / (double)n)
	ROW("MemAvailable drop (against before)", drop);
	ROW("MemAvailable drop (against the mean of before and after)",
	    drop2);
	ROW("sum of the parts below", parts);
	ROW("- PSS of the sandboxes' processes", pss);
	ROW("- runner process RSS growth", rss1 - rss0);
	ROW("- unreclaimable slab growth", m1.m_sunreclaim - m0.m_sunreclaim);
	ROW("- kernel stacks growth", m1.m_kstack - m0.m_kstack);
	ROW("- page tables growth", m1.m_ptables - m0.m_ptables);
	ROW("- Shmem (tmpfs) growth", m1.m_shmem - m0.m_shmem);
	ROW("reclaimable slab growth (not counted)",
	    (m1.m_slab - m1.m_sunreclaim) - (m0.m_slab - m0.m_sunreclaim));
#undef ROW
	printf("\nafter destroying them all: MemAvailable %+.1f MiB against "
	    "before\n", (double)(m2.m_avail - m0.m_avail) / 1024);
	printf("mem %s n=%zu avail_drop_kb=%ld avail_drop_mean_kb=%ld "
	    "parts_kb=%ld pss_kb=%ld\n", var_name[var], n, drop, drop2,
	    parts, pss);
	/* The largest of the three estimates counts. */
	if (drop2 > drop)
		drop = drop2;
	if (parts > drop)
		drop = parts;
	if ((double)drop > TARGET_MEM_KB * (double)n / 200) {
		printf("target missed: %zu idle %s sandboxes take %.0f MiB > "
		    "%.0f MiB\n", n, var_name[var], (double)drop / 1024,
		    TARGET_MEM_KB * (double)n / 200 / 1024);
		rc = 1;
	}
	return rc;
}

/* ---- set-up, the child's main, the supervisor ---- */

static int
setup(void)
{
	static const char *const allow[] = { "pypi.org",
		"*.pythonhosted.org", "github.com:22", "192.0.2.0/24" };
	static const char *const deny[] = { "blocked.test" };
	struct gateway_config	 gc;
	struct runner_config	 rc;
	struct ir_err		 err;

	if (unshare(CLONE_NEWNET) == -1) {
		fail("unshare(CLONE_NEWNET): %s", strerror(errno));
		return -1;
	}
	if (want[V_GW]) {
		gateway_config_default(&gc);
		gc.gc_name = gwname;
		if ((gw = gateway_create(&gc, &err)) == NULL) {
			fail("gateway_create: %s", err.msg);
			return -1;
		}
	}
	if (want[V_RUNNER]) {
		if ((pol = policy_compile(allow, 4, deny, 1, &err)) == NULL) {
			fail("policy: %s", err.msg);
			return -1;
		}
		runner_config_default(&rc);
		rc.rc_gw.gc_name = rname;
		rc.rc_dns.dc_servers = "192.0.2.53";	/* never asked */
		rc.rc_paths = paths;
		if ((run = runner_start(&rc, &err)) == NULL) {
			fail("runner_start: %s", err.msg);
			return -1;
		}
	}
	return 0;
}

static void
teardown(void)
{
	if (run != NULL)
		runner_stop(run);
	if (gw != NULL)
		gateway_destroy(gw);
	policy_free(pol);
}

static int
set_rt(int on)
{
	struct sched_param	 sp;

	sp.sched_priority = on ? 1 : 0;
	if (sched_setscheduler(0, on ? SCHED_FIFO : SCHED_OTHER, &sp) ==
	    -1) {
		fail("sched_setscheduler: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int
verdict(struct series (*sr)[NSER])
{
	int	 v, miss = 0;
	double	 p50, p99, d99;

	printf("\n| target | variant | result | met? |\n|---|---|---|---|\n");
	for (v = V_SANDBOX; v < NVAR; v++) {
		if (!want[v] || sr[v][S_CREATE_FIRST].s_n == 0)
			continue;
		p50 = ser_pct(&sr[v][S_CREATE_FIRST], 50);
		p99 = ser_pct(&sr[v][S_CREATE_FIRST], 99);
		d99 = ser_pct(&sr[v][S_DESTROY], 99);
		printf("| create -> first exec p50 <= %.0f ms | %s | %.1f ms "
		    "| %s |\n", TARGET_P50_MS, var_name[v], p50,
		    p50 <= TARGET_P50_MS ? "yes" : "**no**");
		printf("| create -> first exec p99 <= %.0f ms | %s | %.1f ms "
		    "| %s |\n", TARGET_P99_MS, var_name[v], p99,
		    p99 <= TARGET_P99_MS ? "yes" : "**no**");
		printf("| destroy p99 <= %.0f ms | %s | %.1f ms | %s |\n",
		    TARGET_DESTROY_MS, var_name[v], d99,
		    d99 <= TARGET_DESTROY_MS ? "yes" : "**no**");
		if (p50 > TARGET_P50_MS || p99 > TARGET_P99_MS ||
		    d99 > TARGET_DESTROY_MS)
			miss = 1;
	}
	return miss;
}

/* ROUNDS rounds of every variant in turn, in the current phase. */
static void
rounds_run(int rounds)
{
	double	 t0 = now_ms();
	int	 r, k, v;

	/* Warm the caches (page cache, dentries, the seccomp filter). */
	for (v = 0; v < NVAR && !failed; v++) {
		if (want[v])
			round_once(v);
		for (k = 0; k < NSER; k++)
			ser[phase][v][k].s_n = 0;
	}
	for (r = 0; r < rounds && !stop && !failed; r++)
		for (k = 0; k < NVAR && !failed; k++) {
			v = (r + k) % NVAR;	/* each goes first in turn */
			if (want[v])
				round_once(v);
		}
	if (failed || stop)
		return;
	printf("\n%s: %d rounds, %.1f s; times in ms\n\n", phase ?
	    "At SCHED_FIFO 1" : "As scheduled", rounds,
	    (now_ms() - t0) / 1000);
	printf("| variant | step | n | min | p50 | p90 | p99 | max |\n"
	    "|---|---|---:|---:|---:|---:|---:|---:|\n");
	for (v = 0; v < NVAR; v++)
		for (k = 0; k < NSER; k++)
			ser_print(var_name[v], ser_name[k], &ser[phase][v][k]);
}

static int
bench(int rounds, size_t idle)
{
	double	 t0 = now_ms();
	int	 r, v, rc = 0, miss = 0;

	if (setup() == -1) {
		teardown();
		return 2;
	}
	if (rt != 1) {
		phase = 0;
		rounds_run(rounds);
	}
	if (rt != 0 && !failed && !stop && set_rt(1) == 0) {
		phase = 1;
		rounds_run(rounds);
	}
	if (!failed && !stop) {
		printf("\nTargets, judged on the %s rounds:\n", phase ?
		    "SCHED_FIFO" : "as scheduled");
		miss = verdict(ser[phase]);
	}
	for (v = V_SANDBOX; v < NVAR && idle > 0 && !failed && !stop; v++) {
		if (v == V_GW || !want[v])
			continue;
		if ((r = fill(v, idle)) == -1)
			break;
		if (r == 1)
			miss = 1;
		printf("\n| variant | step, up to %zu alive | n | min | p50 | "
		    "p90 | p99 | max |\n|---|---|---:|---:|---:|---:|---:|"
		    "---:|\n", idle);
		ser_print(var_name[v], "create -> first exec",
		    &fill_create[v]);
		ser_print(var_name[v], "destroy", &fill_destroy[v]);
	}
	teardown();
	if (failed || stop)
		rc = 2;
	else
		rc = miss;
	printf("\ntotal %.1f s; %s\n", (now_ms() - t0) / 1000, rc == 0 ?
	    "every target met" : rc == 1 ? "a target is missed" : "error");
	return rc;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_sandbox [-n ROUNDS] [-m IDLE] "
	    "[-v bwrap,sandbox,gw,runner] [-I INIT] [-r | -R]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct sigaction	 sa;
	struct ir_err		 err;
	char			 initbuf[4096], state[96], rdir[96], *v, *tok;
	const char		*init = NULL, *b;
	int			 ch, rounds = 100, st, rc, i, timeout = 170;
	size_t			 idle = 200;
	pid_t			 pid, w;

	while ((ch = getopt(argc, argv, "n:m:v:I:rR")) != -1) {
		switch (ch) {
		case 'r': rt = 1; break;
		case 'R': rt = 0; break;
		case 'n': rounds = atoi(optarg); break;
		case 'm': idle = (size_t)atol(optarg); break;
		case 'I': init = optarg; break;
		case 'v':
			for (tok = strtok(optarg, ","); tok != NULL;
			    tok = strtok(NULL, ",")) {
				for (i = 0; i < NVAR; i++)
					if (strcmp(tok, var_name[i]) == 0)
						break;
				if (i == NVAR) {
					fprintf(stderr, "bench_sandbox: "
					    "unknown variant '%s'\n", tok);
					usage();
				}
				want[i] = 1;
			}
			break;
		default: usage();
		}
	}
	if (optind != argc || rounds < 0)
		usage();
	for (i = 0, ch = 0; i < NVAR; i++)
		ch |= want[i];
	if (!ch)
		for (i = 0; i < NVAR; i++)
			want[i] = 1;
	if (geteuid() != 0) {
		fprintf(stderr, "bench/sandbox: needs root; skipped\n");
		return 0;
	}
	if ((v = getenv("BENCH_RT")) != NULL && (strcmp(v, "0") == 0 ||
	    strcmp(v, "1") == 0))
		rt = atoi(v);
	if ((v = getenv("BENCH_TIMEOUT")) != NULL && atoi(v) > 0)
		timeout = atoi(v);
	if (init == NULL && (init = getenv("ISORUN_INIT")) == NULL) {
		b = getenv("ISORUN_BUILD");
		snprintf(initbuf, sizeof(initbuf), "%s/isorun-init",
		    b != NULL ? b : "build/rel");
		init = initbuf;
	}
	if (access(init, X_OK) == -1) {
		fprintf(stderr, "bench_sandbox: %s: %s (make, or set "
		    "ISORUN_INIT)\n", init, strerror(errno));
		return 2;
	}
	if (access(SB_BWRAP, X_OK) == -1) {
		fprintf(stderr, "bench_sandbox: %s: %s\n", SB_BWRAP,
		    strerror(errno));
		return 2;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/irt-bsb.XXXXXX");
	if (mkdtemp(tmpdir) == NULL || chmod(tmpdir, 0711) == -1) {
		perror("bench_sandbox: mkdtemp");
		return 2;
	}
	snprintf(state, sizeof(state), "%s/state", tmpdir);
	snprintf(rdir, sizeof(rdir), "%s/run", tmpdir);
	paths.sp_state_dir = state;
	paths.sp_run_dir = rdir;
	paths.sp_init = init;
	snprintf(gwname, sizeof(gwname), "irt-%d-g", (int)getpid());
	snprintf(rname, sizeof(rname), "irt-%d-r", (int)getpid());
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("bench/sandbox: init %s, image host, %d rounds, %zu idle\n",
	    init, rounds, idle);

	/* The supervisor: reaps orphans, cleans up whatever happens. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((pid = fork()) == -1) {
		perror("bench_sandbox: fork");
		rc = 2;
		goto clean;
	}
	if (pid == 0) {
		alarm((unsigned)timeout);
		_exit(bench(rounds, idle));
	}
	/* Past its own deadline, TERM (it cleans up), then KILL. */
	alarm((unsigned)timeout + 20);
	rc = 2;
	for (i = 0;;) {
		w = waitpid(-1, &st, 0);
		if (w == pid) {
			rc = WIFEXITED(st) ? WEXITSTATUS(st) : 2;
			if (!WIFEXITED(st))
				fprintf(stderr, "bench_sandbox: the bench "
				    "process died (status %#x)\n", st);
			break;
		}
		if (w == -1 && errno == EINTR && stop) {
			stop = 0;
			fprintf(stderr, "bench_sandbox: stopping\n");
			kill(pid, i++ == 0 ? SIGTERM : SIGKILL);
			alarm(10);
		} else if (w == -1 && errno != EINTR)
			break;
	}
	/* What its lifelines took down. */
	alarm(10);
	while (!stop && (waitpid(-1, &st, 0) > 0 || errno == EINTR))
		;
	alarm(0);
clean:
	if (gateway_purge(gwname, &err) == -1 ||
	    gateway_purge(rname, &err) == -1) {
		fprintf(stderr, "bench_sandbox: %s\n", err.msg);
		rc = 2;
	}
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	if (access(tmpdir, F_OK) == 0) {
		fprintf(stderr, "bench_sandbox: %s is left\n", tmpdir);
		rc = 2;
	}
	return rc;
}
