/*
 * sbtool - test driver for src/sandbox (tests/net/sandbox_*.sh).
 *
 *   sbtool [-S STATE] [-R RUN] [-I INIT] COMMAND ...
 *
 *   create [-i IMAGE] [-n NETNS] [-d ID] [-h HOST] [-e K=V]... [-r RESOLV]
 *          [-H HOSTS] [-L S] [-w MB]
 *                               create a sandbox, print its id, exit (the
 *                               sandbox stays; -L: with a lifeline, so it
 *                               dies with this process, after -L's sleep)
 *   exec [-t MS] [-m MAX] [-C CWD] [-e K=V]... [-s STDIN | -f FILE]
 *          [-o F] [-E F]
 *          ID (-c SHELL | -- ARGV...)
 *                               run one command in a fresh process (the
 *                               sandbox is opened from its state); prints
 *                               "exit=N signal=N timedout=N out=N
 *                               outtrunc=N outtotal=N err=N errtrunc=N
 *                               pid=N", then the captured stdout; the
 *                               captured stderr goes to stderr (or -o/-E)
 *   run ID -c SHELL             the command gets this process's stdin,
 *                               stdout, stderr; exits with its exit code
 *   stream ID -c SHELL          output through the callback, each chunk
 *                               prefixed "[1]" or "[2]"
 *   sigint ID -c SHELL          forwards SIGINT once the command prints
 *                               "ready"
 *   info ID                     key=value lines
 *   destroy ID                  destroy (from a fresh process)
 *   list                        the ids
 *   twice ID                    destroy, destroy again, exec, open: one
 *                               line per step with the error
 *   concurrent ID N             N execs at once from N threads
 *   parallel N [NETNS]          N threads at once, each: create, exec,
 *                               destroy
 *   timing N [IMAGE]            N x (create, exec true, destroy): ms
 *                               percentiles
 *   reap CMD...                 run CMD as a child subreaper and reap
 *                               the orphans it leaves (bwrap processes
 *                               whose creator exited), so that a test
 *                               leaves no zombies where PID 1 does not
 *                               reap
 *
 * Errors print "error: <message>" and exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

static struct sandbox_paths	 paths;

static void
usage(void)
{
	fprintf(stderr, "usage: sbtool [-S STATE] [-R RUN] [-I INIT] "
	    "create|exec|run|stream|sigint|info|destroy|list|twice|"
	    "concurrent|timing ...\n");
	exit(2);
}

static int
fail(const struct ir_err *e)
{
	printf("error: %s\n", e->msg);
	return 1;
}

static struct sandbox *
open_or_die(const char *id)
{
	struct ir_err	 err;
	struct sandbox	*sb;

	if ((sb = sandbox_open(&paths, id, &err)) == NULL) {
		printf("error: %s\n", err.msg);
		exit(1);
	}
	return sb;
}

static int
write_file(const char *path, const char *buf, size_t len)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fwrite(buf, 1, len, f);
	return fclose(f);
}

static int
cmd_create(int argc, char **argv)
{
	struct sandbox_config	 c;
	struct ir_err		 err;
	struct sandbox		*sb;
	const char		*env[64];
	int			 ch, ne = 0, lifeline = 0;

	sandbox_config_default(&c);
	c.sc_paths = &paths;
	while ((ch = getopt(argc, argv, "i:n:d:h:e:r:H:L:w:")) != -1) {
		switch (ch) {
		case 'i': c.sc_image = optarg; break;
		case 'n': c.sc_netns = optarg; break;
		case 'd': c.sc_id = optarg; break;
		case 'h': c.sc_hostname = optarg; break;
		case 'e':
			if (ne < 63)
				env[ne++] = optarg;
			break;
		case 'r': c.sc_resolv_conf = optarg; break;
		case 'H': c.sc_hosts = optarg; break;
		case 'L': lifeline = atoi(optarg); c.sc_lifeline = true; break;
		case 'w': c.sc_write_mb = (unsigned)atoi(optarg); break;
		default: usage();
		}
	}
	env[ne] = NULL;
	if (ne > 0)
		c.sc_env = env;
	if ((sb = sandbox_create(&c, &err)) == NULL)
		return fail(&err);
	printf("%s\n", sandbox_id(sb));
	fflush(stdout);
	if (lifeline > 0)
		sleep((unsigned)lifeline);
	sandbox_free(sb);
	return 0;
}

static void
print_result(const struct sandbox_exec_result *r)
{
	printf("exit=%d signal=%d timedout=%d out=%zu outtrunc=%d "
	    "outtotal=%llu err=%zu errtrunc=%d pid=%d\n", r->xr_exit_code,
	    r->xr_signal, r->xr_timed_out, r->xr_stdout_len,
	    r->xr_stdout_truncated, (unsigned long long)r->xr_stdout_total,
	    r->xr_stderr_len, r->xr_stderr_truncated, (int)r->xr_pid);
}

static char *
slurp(const char *path, size_t *len)
{
	static char	*buf;
	FILE		*f;
	long		 n;

	if ((f = fopen(path, "r")) == NULL || fseek(f, 0, SEEK_END) == -1 ||
	    (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) == -1) {
		perror(path);
		exit(1);
	}
	free(buf);
	if ((buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(1);
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Parses "[opts] ID (-c SHELL | -- ARGV...)" into the request. */
static const char *
parse_exec(int argc, char **argv, struct sandbox_exec_req *req,
    const char **outf, const char **errf)
{
	static const char *env[64];
	const char	*id;
	int		 ch, ne = 0;

	while ((ch = getopt(argc, argv, "+t:m:C:e:s:f:o:E:")) != -1) {
		switch (ch) {
		case 't': req->er_timeout_ms = (unsigned)atoi(optarg); break;
		case 'm': req->er_output_max = (size_t)atol(optarg); break;
		case 'C': req->er_cwd = optarg; break;
		case 'e':
			if (ne < 63)
				env[ne++] = optarg;
			break;
		case 's':
			req->er_stdin = optarg;
			req->er_stdin_len = strlen(optarg);
			break;
		case 'f':
			req->er_stdin = slurp(optarg, &req->er_stdin_len);
			break;
		case 'o': *outf = optarg; break;
		case 'E': *errf = optarg; break;
		default: usage();
		}
	}
	env[ne] = NULL;
	if (ne > 0)
		req->er_env = env;
	if (optind >= argc)
		usage();
	id = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "-c") == 0 &&
	    optind + 1 < argc)
		req->er_shell = argv[optind + 1];
	else if (optind < argc && strcmp(argv[optind], "--") == 0)
		req->er_argv = (const char *const *)argv + optind + 1;
	else
		usage();
	return id;
}

static int
cmd_exec(int argc, char **argv)
{
	struct sandbox_exec_req		 req;
	struct sandbox_exec_result	 res;
	struct ir_err			 err;
	struct sandbox			*sb;
	const char			*id, *outf = NULL, *errf = NULL;
	int				 rc;

	sandbox_exec_req_init(&req);
	id = parse_exec(argc, argv, &req, &outf, &errf);
	sb = open_or_die(id);
	rc = sandbox_exec(sb, &req, &res, &err);
	if (rc == -1) {
		sandbox_exec_result_free(&res);
		sandbox_free(sb);
		return fail(&err);
	}
	print_result(&res);
	if (outf != NULL)
		write_file(outf, res.xr_stdout, res.xr_stdout_len);
	else
		fwrite(res.xr_stdout, 1, res.xr_stdout_len, stdout);
	if (errf != NULL)
		write_file(errf, res.xr_stderr, res.xr_stderr_len);
	else
		fwrite(res.xr_stderr, 1, res.xr_stderr_len, stderr);
	sandbox_exec_result_free(&res);
	sandbox_free(sb);
	return 0;
}

static int
cmd_run(int argc, char **argv)
{
	struct sandbox_exec_req		 req;
	struct sandbox_exec_result	 res;
	struct ir_err			 err;
	struct sandbox			*sb;
	const char			*id, *outf = NULL, *errf = NULL;
	int				 rc;

	sandbox_exec_req_init(&req);
	id = parse_exec(argc, argv, &req, &outf, &errf);
	req.er_stdin_fd = 0;
	req.er_stdout_fd = 1;
	req.er_stderr_fd = 2;
	sb = open_or_die(id);
	rc = sandbox_exec(sb, &req, &res, &err);
	sandbox_free(sb);
	if (rc == -1) {
		sandbox_exec_result_free(&res);
		fprintf(stderr, "error: %s\n", err.msg);
		return 255;
	}
	rc = res.xr_exit_code;
	sandbox_exec_result_free(&res);
	return rc;
}

static void
on_output(void *arg, int stream, const char *buf, size_t len)
{
	(void)arg;
	printf("[%d]%.*s", stream, (int)len, buf);
	fflush(stdout);
}

static int
cmd_stream(int argc, char **argv)
{
	struct sandbox_exec_req		 req;
	struct sandbox_exec_result	 res;
	struct ir_err			 err;
	struct sandbox			*sb;
	const char			*id, *outf = NULL, *errf = NULL;
	int				 rc;

	sandbox_exec_req_init(&req);
	id = parse_exec(argc, argv, &req, &outf, &errf);
	req.er_output = on_output;
	sb = open_or_die(id);
	rc = sandbox_exec(sb, &req, &res, &err);
	sandbox_free(sb);
	if (rc == -1) {
		sandbox_exec_result_free(&res);
		return fail(&err);
	}
	printf("\n");
	print_result(&res);
	sandbox_exec_result_free(&res);
	return 0;
}

struct sigarg {
	int	 sa_fd;
	int	 sa_sent;
};

/* Sends SIGINT once the command says "ready": no race with its trap. */
static void
sig_on_ready(void *arg, int stream, const char *buf, size_t len)
{
	struct sigarg	*a = arg;
	int		 sig = SIGINT;

	(void)stream;
	if (!a->sa_sent && memmem(buf, len, "ready", 5) != NULL) {
		a->sa_sent = 1;
		(void)!write(a->sa_fd, &sig, sizeof(sig));
	}
}

static int
cmd_sigint(int argc, char **argv)
{
	struct sandbox_exec_req		 req;
	struct sandbox_exec_result	 res;
	struct ir_err			 err;
	struct sandbox			*sb;
	struct sigarg			 a = { -1, 0 };
	const char			*id, *outf = NULL, *errf = NULL;
	int				 p[2], rc;

	sandbox_exec_req_init(&req);
	id = parse_exec(argc, argv, &req, &outf, &errf);
	if (pipe(p) == -1)
		return 1;
	req.er_signal_fd = p[0];
	req.er_output = sig_on_ready;
	req.er_arg = &a;
	a.sa_fd = p[1];
	sb = open_or_die(id);
	rc = sandbox_exec(sb, &req, &res, &err);
	close(p[0]);
	close(p[1]);
	sandbox_free(sb);
	if (rc == -1) {
		sandbox_exec_result_free(&res);
		return fail(&err);
	}
	print_result(&res);
	fwrite(res.xr_stdout, 1, res.xr_stdout_len, stdout);
	sandbox_exec_result_free(&res);
	return 0;
}

static int
cmd_info(const char *id)
{
	struct sandbox_info	 i;
	struct sandbox		*sb = open_or_die(id);

	sandbox_info(sb, &i);
	printf("id=%s\nimage=%s\nnetns=%s\ndir=%s\ninit_pid=%d\n"
	    "bwrap_pid=%d\npidns=%llu\nalive=%d\n", i.si_id, i.si_image,
	    i.si_netns ? i.si_netns : "-", i.si_dir, (int)i.si_init_pid,
	    (int)i.si_bwrap_pid, (unsigned long long)i.si_pidns, i.si_alive);
	sandbox_free(sb);
	return 0;
}

static int
cmd_destroy(const char *id)
{
	struct ir_err	 err;
	struct sandbox	*sb = open_or_die(id);
	int		 rc;

	rc = sandbox_destroy(sb, &err);
	sandbox_free(sb);
	if (rc == -1)
		return fail(&err);
	printf("destroyed\n");
	return 0;
}

static int
cmd_list(void)
{
	struct ir_err	 err;
	char		**ids;
	size_t		 i;

	if ((ids = sandbox_list(&paths, &err)) == NULL)
		return fail(&err);
	for (i = 0; ids[i] != NULL; i++)
		printf("%s\n", ids[i]);
	sandbox_list_free(ids);
	return 0;
}

static int
cmd_twice(const char *id)
{
	struct sandbox_exec_req		 req;
	struct sandbox_exec_result	 res;
	struct ir_err			 err;
	struct sandbox			*sb = open_or_die(id), *again;

	printf("first: %s\n", sandbox_destroy(sb, &err) == 0 ? "ok" :
	    err.msg);
	if (sandbox_destroy(sb, &err) == 0)
		printf("second: ok\n");
	else
		printf("second: %s (errno %d)\n", err.msg, err.code);
	sandbox_exec_req_init(&req);
	req.er_shell = "true";
	printf("exec: %s\n", sandbox_exec(sb, &req, &res, &err) == 0 ? "ok" :
	    err.msg);
	sandbox_exec_result_free(&res);
	if ((again = sandbox_open(&paths, id, &err)) != NULL)
		printf("open: ok\n");
	else
		printf("open: %s (errno %d)\n", err.msg, err.code);
	sandbox_free(again);
	sandbox_free(sb);
	return 0;
}

struct job {
	struct sandbox	*jb_sb;
	int		 jb_n;
	int		 jb_ok;
	char		 jb_why[300];
};

static void *
job_main(void *arg)
{
	struct job			*j = arg;
	struct sandbox_exec_req		 req;
	struct sandbox_exec_result	 res;
	struct ir_err			 err;
	char				 cmd[128], want[64];

	snprintf(cmd, sizeof(cmd), "sleep 0.5; echo job-$N; echo e$N >&2; "
	    "exit $((N %% 7))");
	snprintf(want, sizeof(want), "N=%d", j->jb_n);
	sandbox_exec_req_init(&req);
	req.er_shell = cmd;
	const char *env[] = { want, NULL };
	req.er_env = env;
	if (sandbox_exec(j->jb_sb, &req, &res, &err) == -1) {
		snprintf(j->jb_why, sizeof(j->jb_why), "%s", err.msg);
		sandbox_exec_result_free(&res);
		return NULL;
	}
	snprintf(want, sizeof(want), "job-%d\n", j->jb_n);
	if (strcmp(res.xr_stdout, want) != 0 ||
	    res.xr_exit_code != j->jb_n % 7)
		snprintf(j->jb_why, sizeof(j->jb_why), "job %d: exit %d, "
		    "stdout '%s'", j->jb_n, res.xr_exit_code, res.xr_stdout);
	else
		j->jb_ok = 1;
	sandbox_exec_result_free(&res);
	return NULL;
}

static long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
cmd_concurrent(const char *id, int n)
{
	struct job	 jobs[64];
	pthread_t	 t[64];
	struct sandbox	*sb = open_or_die(id);
	long		 t0 = now_ms();
	int		 i, ok = 0;

	if (n > 64)
		n = 64;
	for (i = 0; i < n; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].jb_sb = sb;
		jobs[i].jb_n = i;
		pthread_create(&t[i], NULL, job_main, &jobs[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		if (jobs[i].jb_ok)
			ok++;
		else
			printf("fail: %s\n", jobs[i].jb_why);
	}
	printf("ok=%d of %d in %ld ms\n", ok, n, now_ms() - t0);
	sandbox_free(sb);
	return 0;
}

struct pjob {
	const char	*pj_netns;
	int		 pj_ok;
	char		 pj_why[600];
};

static void *
pjob_main(void *arg)
{
	struct pjob			*j = arg;
	struct sandbox_config		 c;
	struct sandbox_exec_req		 req;
	struct sandbox_exec_result	 res;
	struct ir_err			 err;
	struct sandbox			*sb;
	char				 want[SB_ID_MAX + 16];

	sandbox_config_default(&c);
	c.sc_paths = &paths;
	c.sc_netns = j->pj_netns;
	if ((sb = sandbox_create(&c, &err)) == NULL) {
		snprintf(j->pj_why, sizeof(j->pj_why), "create: %s", err.msg);
		return NULL;
	}
	sandbox_exec_req_init(&req);
	req.er_shell = "cat /etc/hostname; echo $SBID";
	const char *env[] = { NULL, NULL };
	char kv[SB_ID_MAX + 8];
	snprintf(kv, sizeof(kv), "SBID=%s", sandbox_id(sb));
	env[0] = kv;
	req.er_env = env;
	snprintf(want, sizeof(want), "isorun\n%s\n", sandbox_id(sb));
	if (sandbox_exec(sb, &req, &res, &err) == -1)
		snprintf(j->pj_why, sizeof(j->pj_why), "exec: %s", err.msg);
	else if (strcmp(res.xr_stdout, want) != 0)
		snprintf(j->pj_why, sizeof(j->pj_why), "exec printed '%s'",
		    res.xr_stdout);
	else
		j->pj_ok = 1;
	sandbox_exec_result_free(&res);
	if (sandbox_destroy(sb, &err) == -1) {
		snprintf(j->pj_why, sizeof(j->pj_why), "destroy: %s", err.msg);
		j->pj_ok = 0;
	}
	sandbox_free(sb);
	return NULL;
}

static int
count_fds(void)
{
	char	 path[64];
	int	 fd, n = 0;

	for (fd = 0; fd < 4096; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (access(path, F_OK) == 0)
			n++;
	}
	return n;
}

static int
cmd_parallel(int n, const char *netns)
{
	struct pjob	 jobs[64];
	pthread_t	 t[64];
	int		 i, ok = 0, fds = count_fds();

	if (n > 64)
		n = 64;
	for (i = 0; i < n; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].pj_netns = netns;
		pthread_create(&t[i], NULL, pjob_main, &jobs[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		if (jobs[i].pj_ok)
			ok++;
		else
			printf("fail: %s\n", jobs[i].pj_why);
	}
	if (count_fds() != fds)
		printf("fds: %d before, %d after\n", fds, count_fds());
	printf("ok=%d of %d\n", ok, n);
	return 0;
}

static int
cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static int
cmd_timing(int n, const char *image)
{
	struct sandbox_config		 c;
	struct sandbox_exec_req		 req;
	struct sandbox_exec_result	 res;
	struct ir_err			 err;
	struct sandbox			*sb;
	long				*ce, *de, t0, t1;
	int				 i;

	ce = calloc((size_t)n, sizeof(long));
	de = calloc((size_t)n, sizeof(long));
	for (i = 0; i < n; i++) {
		sandbox_config_default(&c);
		c.sc_paths = &paths;
		c.sc_image = image;
		t0 = now_ms();
		if ((sb = sandbox_create(&c, &err)) == NULL)
			return fail(&err);
		sandbox_exec_req_init(&req);
		req.er_shell = "true";
		if (sandbox_exec(sb, &req, &res, &err) == -1)
			return fail(&err);
		sandbox_exec_result_free(&res);
		t1 = now_ms();
		if (sandbox_destroy(sb, &err) == -1)
			return fail(&err);
		ce[i] = t1 - t0;
		de[i] = now_ms() - t1;
		sandbox_free(sb);
	}
	qsort(ce, (size_t)n, sizeof(long), cmp_long);
	qsort(de, (size_t)n, sizeof(long), cmp_long);
	printf("create+first exec ms: p50=%ld p90=%ld p99=%ld max=%ld\n",
	    ce[n / 2], ce[n * 9 / 10], ce[n * 99 / 100], ce[n - 1]);
	printf("destroy ms: p50=%ld p90=%ld p99=%ld max=%ld\n", de[n / 2],
	    de[n * 9 / 10], de[n * 99 / 100], de[n - 1]);
	free(ce);
	free(de);
	return 0;
}

static volatile sig_atomic_t reap_child;

/* A TERM, INT or HUP for us is for the test we run: it cleans up. */
static void
reap_forward(int sig)
{
	if (reap_child > 0)
		kill(reap_child, sig);
}

static int
cmd_reap(int argc, char **argv)
{
	struct sigaction sa;
	pid_t	 pid, r;
	int	 st, rc = 1, i;

	if (argc < 2)
		usage();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if ((pid = fork()) == -1)
		return 1;
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	reap_child = pid;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = reap_forward;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	for (;;) {
		r = waitpid(-1, &st, 0);
		if (r == pid) {
			rc = WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st);
			break;
		}
		if (r == -1 && errno != EINTR)
			break;
	}
	/* Orphans still alive get a moment to finish dying. */
	for (i = 0; i < 40; i++) {
		while ((r = waitpid(-1, NULL, WNOHANG)) > 0)
			;
		if (r == -1)
			break;
		usleep(50000);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	const char	*cmd;
	int		 ch;

	while ((ch = getopt(argc, argv, "+S:R:I:")) != -1) {
		switch (ch) {
		case 'S': paths.sp_state_dir = optarg; break;
		case 'R': paths.sp_run_dir = optarg; break;
		case 'I': paths.sp_init = optarg; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cmd = argv[0];
	optind = 1;
	if (strcmp(cmd, "create") == 0)
		return cmd_create(argc, argv);
	if (strcmp(cmd, "exec") == 0)
		return cmd_exec(argc, argv);
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc, argv);
	if (strcmp(cmd, "stream") == 0)
		return cmd_stream(argc, argv);
	if (strcmp(cmd, "sigint") == 0)
		return cmd_sigint(argc, argv);
	if (strcmp(cmd, "info") == 0 && argc == 2)
		return cmd_info(argv[1]);
	if (strcmp(cmd, "destroy") == 0 && argc == 2)
		return cmd_destroy(argv[1]);
	if (strcmp(cmd, "list") == 0)
		return cmd_list();
	if (strcmp(cmd, "twice") == 0 && argc == 2)
		return cmd_twice(argv[1]);
	if (strcmp(cmd, "concurrent") == 0 && argc == 3)
		return cmd_concurrent(argv[1], atoi(argv[2]));
	if (strcmp(cmd, "parallel") == 0 && argc >= 2)
		return cmd_parallel(atoi(argv[1]), argc > 2 ? argv[2] : NULL);
	if (strcmp(cmd, "reap") == 0)
		return cmd_reap(argc, argv);
	if (strcmp(cmd, "timing") == 0 && argc >= 2)
		return cmd_timing(atoi(argv[1]), argc > 2 ? argv[2] : NULL);
	usage();
	return 2;
}
