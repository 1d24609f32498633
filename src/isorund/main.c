/*
 * main.c - isorund: configuration (file, then flags), the token, signals,
 * and the order of start and stop.
 *
 * Start: audit store, runner (resume and adopt, or fresh), API. Stop (on
 * SIGTERM or SIGINT): refuse new requests and end the execs in flight,
 * stop the API, then keep or destroy the sandboxes (on_shutdown), close
 * the audit store. While no isorund runs, kept sandboxes have no network.
 */
#include "isorund.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../audit/audit.h"

#define TOKEN_MIN	16
#define TOKEN_MAX	4096

enum {
	OPT_CONFIG = 1000, OPT_CHECK, OPT_PURGE, OPT_ROUTES, OPT_HELP,
	OPT_VERSION, OPT_DNS_SERVER, OPT_KEY	/* OPT_KEY + key index */
};

static void
vlog(const char *fmt, va_list ap)
{
	char		 line[2048];
	int		 n;

	n = snprintf(line, sizeof(line), "isorund: ");
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* no stderr: nowhere to say it */
	}
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
usage(FILE *f)
{
	const struct api_conf_key	*k;
	struct api_conf			 c;
	size_t				 i, n;
	char				 flag[64], def[160], *buf;
	int				 len;

	fprintf(f, "usage: isorund [--config FILE] [--check] [--purge] "
	    "[--KEY VALUE]...\n\n"
	    "The isorun runner: sandboxes, their network enforcer, DNS view "
	    "and audit trail,\nand the REST API (docs/api.md). Runs in the "
	    "foreground, logs to stderr.\n\n"
	    "  --config FILE   configuration file (default %s; a missing "
	    "default is fine)\n"
	    "  --check, -n     check the configuration, print it and exit\n"
	    "  --purge         destroy what a runner of this name left "
	    "(sandboxes,\n"
	    "                  namespaces, records) and exit\n"
	    "  --routes        print the API's routes and exit\n"
	    "  --version       print the API version and exit\n\n"
	    "Every key of the configuration file is also a flag, which wins "
	    "over the file:\n", API_CONF_PATH);
	api_conf_default(&c);
	len = api_conf_format(&c, NULL, 0);
	buf = len > 0 ? malloc((size_t)len + 1) : NULL;
	if (buf != NULL)
		api_conf_format(&c, buf, (size_t)len + 1);
	k = api_conf_keys(&n);
	for (i = 0; i < n; i++) {
		const char	*p, *e;

		snprintf(flag, sizeof(flag), "--%s %s", k[i].ck_name,
		    k[i].ck_arg);
		for (p = flag; *p != '\0'; p++)
			if (*p == '_')
				flag[p - flag] = '-';
		def[0] = '\0';
		if (buf != NULL && (p = strstr(buf, k[i].ck_name)) != NULL &&
		    (p == buf || p[-1] == '\n') &&
		    strncmp(p + strlen(k[i].ck_name), " = ", 3) == 0) {
			p += strlen(k[i].ck_name) + 3;
			e = strchr(p, '\n');
			snprintf(def, sizeof(def), " [%.*s]", (int)(e - p), p);
		}
		fprintf(f, "  %-28s %s%s\n", flag, k[i].ck_doc, def);
	}
	fprintf(f, "  %-28s the same as --dns-servers\n", "--dns-server ADDRS");
	free(buf);
	api_conf_free(&c);
}

static int
read_file(const char *path, char **out, size_t *len, size_t max,
    struct ir_err *err)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(err, errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > max) {
		close(fd);
		return err_set(err, EINVAL, "%s: want a regular file of at "
		    "most %zu bytes", path, max);
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return err_set(err, ENOMEM, "out of memory");
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return err_set(err, EIO, "%s: short read", path);
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	return 0;
}

/* The bearer token: a file nobody else can read, one printable line. */
static int
token_load(struct isorund *d, struct ir_err *err)
{
	const char	*path = d->d_conf.cf_token_file;
	struct stat	 st;
	size_t		 len, i;
	char		*t;

	if (read_file(path, &t, &len, TOKEN_MAX + 2, err) == -1) {
		err_prefix(err, "listen %s needs token_file", d->d_conf.cf_listen);
		return -1;
	}
	while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r'))
		t[--len] = '\0';
	for (i = 0; i < len; i++)
		if (t[i] <= ' ' || t[i] >= 0x7f)
			break;
	if (stat(path, &st) == 0 && (st.st_mode & 0077) != 0) {
		free(t);
		return err_set(err, EPERM, "token_file %s: mode %04o lets "
		    "others read it: chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
	}
	if (len < TOKEN_MIN || len > TOKEN_MAX || i != len) {
		free(t);
		return err_set(err, EINVAL, "token_file %s: want one line of %d "
		    "to %d printable characters without spaces", path,
		    TOKEN_MIN, TOKEN_MAX);
	}
	d->d_token = t;
	return 0;
}

static void
runner_config(struct isorund *d)
{
	struct api_conf	*c = &d->d_conf;
	char		*p, *s;

	runner_config_default(&d->d_rc);
	d->d_rc.rc_gw.gc_name = c->cf_name;
	d->d_rc.rc_gw.gc_pool4 = c->cf_pool4;
	d->d_rc.rc_gw.gc_pool6 = c->cf_pool6;
	d->d_rc.rc_gw.gc_max_sandboxes = c->cf_max_sandboxes;
	d->d_rc.rc_gw.gc_conn_rate = c->cf_conn_rate;
	d->d_rc.rc_gw.gc_conn_burst = c->cf_conn_burst;
	d->d_rc.rc_dns.dc_answers_max = c->cf_dns_cache_bytes;
	d->d_rc.rc_dns.dc_sb_qps = c->cf_dns_rate;
	d->d_rc.rc_dns.dc_sb_burst = c->cf_dns_burst;
	d->d_rc.rc_limits.sl_pids_max = c->cf_sandbox_pids_max;
	d->d_rc.rc_limits.sl_memory_max = (uint64_t)c->cf_sandbox_memory_mb <<
	    20;
	d->d_rc.rc_dns.dc_servers = c->cf_dns_servers[0] ? c->cf_dns_servers :
	    NULL;
	d->d_rc.rc_paths.sp_state_dir = c->cf_state_dir;
	d->d_rc.rc_paths.sp_run_dir = c->cf_run_dir;
	d->d_rc.rc_paths.sp_init = c->cf_init[0] ? c->cf_init : NULL;
	d->d_rc.rc_ca_file = c->cf_ca_file[0] ? c->cf_ca_file : NULL;
	/* The guard list splits in place: cf_guard becomes its first item. */
	for (s = c->cf_guard; s != NULL && *s != '\0'; s = p) {
		if ((p = strchr(s, ',')) != NULL)
			*p++ = '\0';
		while (*s == ' ')
			s++;
		if (*s == '\0')
			continue;
		d->d_guard = realloc(d->d_guard, (d->d_nguard + 1) *
		    sizeof(*d->d_guard));
		if (d->d_guard == NULL) {
			d->d_nguard = 0;
			break;
		}
		d->d_guard[d->d_nguard++] = s;
		if (p == NULL)
			break;
	}
	d->d_rc.rc_guard = d->d_guard;
	d->d_rc.rc_nguard = d->d_nguard;
}

struct args {
	const char	*config;
	bool		 config_given;
	bool		 check, purge, routes;
};

/* Parses the flags twice: once for --config, once to apply the keys. */
static int
parse_args(int argc, char **argv, struct isorund *d, struct args *a)
{
	const struct api_conf_key	*k;
	struct option			*opts;
	struct ir_err			 err;
	size_t				 nk, i, j;
	char				**names, *text;
	size_t				 len;
	int				 o, pass, rc = -1;

	k = api_conf_keys(&nk);
	opts = calloc(nk + 10, sizeof(*opts));
	names = calloc(nk, sizeof(*names));
	if (opts == NULL || names == NULL)
		goto out;
	for (i = 0; i < nk; i++) {
		if ((names[i] = strdup(k[i].ck_name)) == NULL)
			goto out;
		for (j = 0; names[i][j] != '\0'; j++)
			if (names[i][j] == '_')
				names[i][j] = '-';
		opts[i] = (struct option){ names[i], required_argument, NULL,
		    OPT_KEY + (int)i };
	}
	opts[i++] = (struct option){ "config", required_argument, NULL,
	    OPT_CONFIG };
	opts[i++] = (struct option){ "check", no_argument, NULL, OPT_CHECK };
	opts[i++] = (struct option){ "purge", no_argument, NULL, OPT_PURGE };
	opts[i++] = (struct option){ "routes", no_argument, NULL, OPT_ROUTES };
	opts[i++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	opts[i++] = (struct option){ "version", no_argument, NULL,
	    OPT_VERSION };
	opts[i++] = (struct option){ "dns-server", required_argument, NULL,
	    OPT_DNS_SERVER };

	a->config = API_CONF_PATH;
	opterr = 0;
	for (pass = 0; pass < 2; pass++) {
		optind = 1;
		while ((o = getopt_long(argc, argv, ":nhc:", opts, NULL)) !=
		    -1) {
			if (o == ':' || o == '?') {
				fprintf(stderr, "isorund: %s: %s\nRun "
				    "'isorund --help' for the options.\n",
				    argv[optind - 1], o == ':' ?
				    "needs an argument" : "unknown option");
				rc = 2;
				goto out;
			}
			if (o == OPT_HELP || o == 'h') {
				usage(stdout);
				rc = 1;
				goto out;
			}
			if (o == OPT_VERSION) {
				printf("isorund API v%s\n", API_VERSION);
				rc = 1;
				goto out;
			}
			if (pass == 0) {
				if (o == OPT_CONFIG || o == 'c') {
					a->config = optarg;
					a->config_given = true;
				}
				continue;
			}
			if (o == OPT_CHECK || o == 'n')
				a->check = true;
			else if (o == OPT_PURGE)
				a->purge = true;
			else if (o == OPT_ROUTES)
				a->routes = true;
			else if (o >= OPT_KEY || o == OPT_DNS_SERVER) {
				if (api_conf_set(&d->d_conf, o == OPT_DNS_SERVER ?
				    "dns_servers" : k[o - OPT_KEY].ck_name,
				    optarg, &err) == -1) {
					fprintf(stderr, "isorund: --%s: %s\n",
					    o == OPT_DNS_SERVER ? "dns-server" :
					    names[o - OPT_KEY], err.msg);
					rc = 2;
					goto out;
				}
			}
		}
		if (optind < argc) {
			fprintf(stderr, "isorund: unexpected argument '%s'\n",
			    argv[optind]);
			rc = 2;
			goto out;
		}
		if (pass > 0)
			break;
		/* Between the passes: the file, which the flags override. */
		if (read_file(a->config, &text, &len, 1 << 20, &err) == -1) {
			if (err.code == ENOENT && !a->config_given)
				continue;
			fprintf(stderr, "isorund: config %s\n", err.msg);
			rc = 2;
			goto out;
		}
		if (api_conf_parse(&d->d_conf, text, len, a->config, &err) ==
		    -1) {
			fprintf(stderr, "isorund: %s\n", err.msg);
			free(text);
			rc = 2;
			goto out;
		}
		free(text);
	}
	if (api_conf_check(&d->d_conf, &err) == -1) {
		fprintf(stderr, "isorund: %s\n", err.msg);
		rc = 2;
		goto out;
	}
	rc = 0;
out:
	for (i = 0; names != NULL && i < nk; i++)
		free(names[i]);
	free(names);
	free(opts);
	return rc;
}

static void
print_config(const struct api_conf *c)
{
	char	*buf;
	int	 n = api_conf_format(c, NULL, 0);

	if (n < 0 || (buf = malloc((size_t)n + 1)) == NULL)
		return;
	api_conf_format(c, buf, (size_t)n + 1);
	fputs(buf, stdout);
	free(buf);
}

static void
print_routes(void)
{
	const struct api_route_def	*rd;
	int				 i;

	for (i = 0; i < API_NROUTES; i++) {
		rd = api_route_def((enum api_route)i);
		printf("%s %s\n", rd->rd_method, rd->rd_path);
	}
}

/* Waits for SIGTERM/SIGINT, expiring sandboxes meanwhile. */
static void
serve(struct isorund *d, const sigset_t *set)
{
	struct timespec	 ts = { 0, 250 * 1000000 };
	siginfo_t	 si;
	int		 sig;

	for (;;) {
		sig = sigtimedwait(set, &si, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" :
			    "SIGINT");
			return;
		}
		if (sig == SIGHUP)
			log_info("SIGHUP: nothing to reload (profiles are read "
			    "on every request)");
		sbx_expire(d, now_ms());
	}
}

int
main(int argc, char **argv)
{
	struct isorund		 d;
	struct args		 a;
	struct audit_config	 ac;
	struct ir_err		 err;
	sigset_t		 set;
	int			 rc;

	memset(&d, 0, sizeof(d));
	memset(&a, 0, sizeof(a));
	d.d_lockfd = -1;
	api_conf_default(&d.d_conf);
	if ((rc = parse_args(argc, argv, &d, &a)) != 0) {
		api_conf_free(&d.d_conf);
		return rc == 1 ? 0 : rc;
	}
	if (a.routes) {
		print_routes();
		api_conf_free(&d.d_conf);
		return 0;
	}
	rc = 1;
	if (d.d_conf.cf_listen[0] != '\0' && token_load(&d, &err) == -1) {
		log_warnx("%s; not starting", err.msg);
		goto out_conf;
	}
	if (a.check) {
		print_config(&d.d_conf);
		rc = 0;
		goto out_conf;
	}
	if (geteuid() != 0) {
		log_warnx("needs root (network namespaces, nftables, "
		    "bubblewrap)");
		goto out_conf;
	}
	runner_config(&d);
	/* Files are made with explicit modes; this is for what is not. */
	umask(022);

	/* Signals go to the main thread only: block them before threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!a.purge && d.d_conf.cf_audit_db[0] != '\0') {
		memset(&ac, 0, sizeof(ac));
		ac.ac_max_age_s = d.d_conf.cf_audit_max_age_s;
		if (audit_store_open(d.d_conf.cf_audit_db, &ac, &err) == -1) {
			log_warnx("audit store: %s; not starting", err.msg);
			goto out_conf;
		}
	}
	d.d_started_ms = now_ms();
	if (sbx_start(&d, a.purge, &err) == -1) {
		log_warnx("%s; not starting", err.msg);
		goto out_audit;
	}
	if (a.purge) {
		rc = 0;
		goto out_audit;
	}
	if ((d.d_http = httpd_start(&d, &err)) == NULL) {
		log_warnx("%s; not starting", err.msg);
		sbx_stopping(&d);
		sbx_stop(&d);
		goto out_audit;
	}
	log_info("ready: runner %s, %u sandboxes", d.d_conf.cf_name,
	    sbx_count(&d));
	serve(&d, &set);
	sbx_stopping(&d);
	httpd_stop(d.d_http);
	sbx_stop(&d);
	rc = 0;
out_audit:
	audit_store_close();
out_conf:
	free(d.d_token);
	free(d.d_guard);
	api_conf_free(&d.d_conf);
	return rc;
}
