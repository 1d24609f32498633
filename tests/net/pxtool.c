/*
 * pxtool - test driver for src/proxy (tests/net/proxy_*.sh, bench/proxy).
 *
 *   pxtool run NAME [-t THREADS] [-f FIRST_BYTE_MS] [-p PEEK_MS]
 *          [-m MAX_CONNS] [-i IDLE_MS]
 *
 * Plays the runner: stays in the caller's network namespace (the test's
 * "host"), creates the gateway NAME and the proxy, and reads commands on
 * stdin, answering each with one line on stdout:
 *
 *   add ID [allow=R,R..] [deny=R,R..]  -> "added ID slot=N netns=NS a4=.. a6=.."
 *   set ID [allow=..] [deny=..]        -> "set ID"        (live change)
 *   del ID                             -> "deleted ID"
 *   dns ID ADDR NAME...                -> "dns ID"        (see below)
 *   stats                              -> "stats accepted=.. permitted=.. ..."
 *   quit
 *
 * Errors answer "error MESSAGE". Audit events go to stderr as JSON lines.
 *
 * `dns` records that sandbox ID's lookups resolved NAME... to ADDR: the
 * proxy's DNS hooks are answered from this table until the DNS view
 * (src/dns) is wired in here; it stands for the resolver, not for the proxy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "gateway/gateway.h"
#include "policy/policy.h"
#include "proxy/proxy.h"
#include "runner/guard.h"

#define MAX_SB		64
#define MAX_DNS		256

struct sbx {
	char			 id[32];
	struct gw_sandbox	*sb;
	unsigned		 slot;
};

struct dnsent {
	unsigned	 slot;
	struct sockaddr_storage addr;
	char		 name[256];
};

static struct sbx	 sbs[MAX_SB];
static struct dnsent	 dns[MAX_DNS];
static unsigned		 ndns;
static pthread_mutex_t	 dns_lock = PTHREAD_MUTEX_INITIALIZER;

static int
same_addr(const struct sockaddr *a, const struct sockaddr_storage *b)
{
	if (a->sa_family != b->ss_family)
		return 0;
	if (a->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)(const void *)a)->
		    sin_addr, &((const struct sockaddr_in *)(const void *)b)->
		    sin_addr, 4) == 0;
	return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->
	    sin6_addr, &((const struct sockaddr_in6 *)(const void *)b)->
	    sin6_addr, 16) == 0;
}

static size_t
hook_names(void *arg, unsigned slot, const struct sockaddr *dst,
    struct pol_name *names, size_t max, char *buf, size_t buflen)
{
	size_t	 n = 0, used = 0, len;

	(void)arg;
	pthread_mutex_lock(&dns_lock);
	for (unsigned i = 0; i < ndns && n < max; i++) {
		if (dns[i].slot != slot || !same_addr(dst, &dns[i].addr))
			continue;
		len = strlen(dns[i].name);
		if (used + len > buflen)
			break;
		memcpy(buf + used, dns[i].name, len);
		names[n].s = buf + used;
		names[n].len = len;
		used += len;
		n++;
	}
	pthread_mutex_unlock(&dns_lock);
	return n;
}

static int
hook_maps(void *arg, unsigned slot, const char *name, size_t len,
    const struct sockaddr *dst)
{
	int	 found = 0;

	(void)arg;
	pthread_mutex_lock(&dns_lock);
	for (unsigned i = 0; i < ndns && !found; i++)
		found = dns[i].slot == slot && same_addr(dst, &dns[i].addr) &&
		    strlen(dns[i].name) == len &&
		    strncasecmp(dns[i].name, name, len) == 0;
	pthread_mutex_unlock(&dns_lock);
	return found;
}

static size_t
hook_addrs(void *arg, unsigned slot, const char *name, size_t len,
    struct sockaddr_storage *out, size_t max)
{
	size_t	 n = 0;

	(void)arg;
	pthread_mutex_lock(&dns_lock);
	for (unsigned i = 0; i < ndns && n < max; i++)
		if (dns[i].slot == slot && strlen(dns[i].name) == len &&
		    strncasecmp(dns[i].name, name, len) == 0)
			out[n++] = dns[i].addr;
	pthread_mutex_unlock(&dns_lock);
	return n;
}

static struct sbx *
sbx_find(const char *id)
{
	for (int i = 0; i < MAX_SB; i++)
		if (sbs[i].sb != NULL && strcmp(sbs[i].id, id) == 0)
			return &sbs[i];
	return NULL;
}

/* "allow=a,b" "deny=c" words into a policy. */
static struct policy *
parse_policy(char **words, int n, struct ir_err *err)
{
	const char	*allow[64], *deny[64];
	size_t		 na = 0, nd = 0;
	char		*w, *tok, *save;

	for (int i = 0; i < n; i++) {
		w = words[i];
		if (strncmp(w, "allow=", 6) == 0) {
			for (tok = strtok_r(w + 6, ",", &save); tok != NULL &&
			    na < 64; tok = strtok_r(NULL, ",", &save))
				allow[na++] = tok;
		} else if (strncmp(w, "deny=", 5) == 0) {
			for (tok = strtok_r(w + 5, ",", &save); tok != NULL &&
			    nd < 64; tok = strtok_r(NULL, ",", &save))
				deny[nd++] = tok;
		} else {
			err_set(err, EINVAL, "'%s': want allow=... or deny=...",
			    w);
			return NULL;
		}
	}
	return policy_compile(allow, na, deny, nd, err);
}

static void
command(struct gateway *gw, struct proxy *px, char *line)
{
	char			*w[80];
	int			 n = 0;
	struct ir_err		 err;
	struct policy		*pol;
	struct sbx		*s;
	struct gw_sandbox_info	 si;
	char			 a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];
	struct proxy_stats	 st;

	for (char *t = strtok(line, " \t\n"); t != NULL && n < 80;
	    t = strtok(NULL, " \t\n"))
		w[n++] = t;
	if (n == 0)
		return;
	if (strcmp(w[0], "add") == 0 && n >= 2) {
		if (sbx_find(w[1]) != NULL) {
			printf("error %s exists\n", w[1]);
			return;
		}
		for (s = sbs; s < sbs + MAX_SB && s->sb != NULL; s++)
			;
		if (s == sbs + MAX_SB) {
			printf("error too many sandboxes\n");
			return;
		}
		if ((pol = parse_policy(w + 2, n - 2, &err)) == NULL) {
			printf("error %s\n", err.msg);
			return;
		}
		if ((s->sb = gateway_sandbox_add(gw, &err)) == NULL) {
			printf("error %s\n", err.msg);
			policy_free(pol);
			return;
		}
		gateway_sandbox_info(s->sb, &si);
		s->slot = si.si_slot;
		snprintf(s->id, sizeof(s->id), "%s", w[1]);
		if (proxy_sandbox_set(px, s->slot, s->id, pol, NULL, &err) == -1)
			printf("error %s\n", err.msg);
		else
			printf("added %s slot=%u netns=%s a4=%s a6=%s\n", s->id,
			    s->slot, si.si_netns, inet_ntop(AF_INET,
			    &si.si_addr4, a4, sizeof(a4)), inet_ntop(AF_INET6,
			    &si.si_addr6, a6, sizeof(a6)));
		policy_free(pol);
	} else if (strcmp(w[0], "set") == 0 && n >= 2) {
		if ((s = sbx_find(w[1])) == NULL) {
			printf("error no sandbox %s\n", w[1]);
			return;
		}
		if ((pol = parse_policy(w + 2, n - 2, &err)) == NULL) {
			printf("error %s\n", err.msg);
			return;
		}
		if (proxy_sandbox_set(px, s->slot, s->id, pol, NULL, &err) == -1)
			printf("error %s\n", err.msg);
		else
			printf("set %s\n", s->id);
		policy_free(pol);
	} else if (strcmp(w[0], "del") == 0 && n == 2) {
		if ((s = sbx_find(w[1])) == NULL) {
			printf("error no sandbox %s\n", w[1]);
			return;
		}
		proxy_sandbox_clear(px, s->slot);
		if (gateway_sandbox_remove(gw, s->sb, &err) == -1)
			printf("error %s\n", err.msg);
		else
			printf("deleted %s\n", s->id);
		s->sb = NULL;
	} else if (strcmp(w[0], "dns") == 0 && n >= 4) {
		struct sockaddr_storage	 ss;

		if ((s = sbx_find(w[1])) == NULL) {
			printf("error no sandbox %s\n", w[1]);
			return;
		}
		memset(&ss, 0, sizeof(ss));
		if (inet_pton(AF_INET, w[2], &((struct sockaddr_in *)&ss)->
		    sin_addr) == 1)
			ss.ss_family = AF_INET;
		else if (inet_pton(AF_INET6, w[2], &((struct sockaddr_in6 *)
		    &ss)->sin6_addr) == 1)
			ss.ss_family = AF_INET6;
		else {
			printf("error '%s' is not an address\n", w[2]);
			return;
		}
		pthread_mutex_lock(&dns_lock);
		for (int i = 3; i < n && ndns < MAX_DNS; i++) {
			dns[ndns].slot = s->slot;
			dns[ndns].addr = ss;
			snprintf(dns[ndns].name, sizeof(dns[ndns].name), "%s",
			    w[i]);
			ndns++;
		}
		pthread_mutex_unlock(&dns_lock);
		printf("dns %s\n", s->id);
	} else if (strcmp(w[0], "stats") == 0) {
		proxy_stats(px, &st);
		printf("stats accepted=%llu permitted=%llu blocked=%llu "
		    "active=%llu udp_flows=%llu udp_blocked=%llu\n",
		    (unsigned long long)st.ps_accepted,
		    (unsigned long long)st.ps_permitted,
		    (unsigned long long)st.ps_blocked,
		    (unsigned long long)st.ps_active,
		    (unsigned long long)st.ps_udp_flows,
		    (unsigned long long)st.ps_udp_blocked);
	} else
		printf("error unknown command '%s'\n", w[0]);
}

static int
cmd_run(int argc, char **argv)
{
	struct gateway_config	 gc;
	struct proxy_config	 pc;
	struct proxy_hooks	 hooks = { .ph_names = hook_names,
				    .ph_maps = hook_maps,
				    .ph_addrs = hook_addrs };
	struct gateway		*gw;
	struct pol_guard	*guard;
	struct proxy		*px;
	struct ir_err		 err;
	struct rlimit		 rl;
	char			 line[4096];
	int			 ch;

	proxy_config_default(&pc);
	while ((ch = getopt(argc, argv, "t:f:p:m:i:")) != -1) {
		switch (ch) {
		case 't': pc.pc_threads = (unsigned)atoi(optarg); break;
		case 'f': pc.pc_first_byte_ms = (unsigned)atoi(optarg); break;
		case 'p': pc.pc_peek_ms = (unsigned)atoi(optarg); break;
		case 'm': pc.pc_max_conns = (unsigned)atoi(optarg); break;
		case 'i': pc.pc_idle_ms = (unsigned)atoi(optarg); break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1)
		return 2;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 200000) {
		rl.rlim_cur = rl.rlim_max < 200000 ? rl.rlim_max : 200000;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	gateway_config_default(&gc);
	gc.gc_name = argv[optind];
	gc.gc_max_sandboxes = MAX_SB;
	if ((gw = gateway_create(&gc, &err)) == NULL) {
		printf("error %s\n", err.msg);
		return 1;
	}
	if ((guard = runner_guard(&gc, NULL, 0, &err)) == NULL ||
	    (px = proxy_start(gw, &pc, &hooks, guard, &err)) == NULL) {
		printf("error %s\n", err.msg);
		pol_guard_free(guard);
		gateway_destroy(gw);
		return 1;
	}
	printf("ready %s\n", gateway_netns(gw));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (strncmp(line, "quit", 4) == 0)
			break;
		command(gw, px, line);
		fflush(stdout);
	}
	proxy_stop(px);
	gateway_destroy(gw);
	pol_guard_free(guard);
	printf("bye\n");
	return 0;
}

int
main(int argc, char **argv)
{
	struct ir_err	 err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 3 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (argc == 3 && strcmp(argv[1], "purge") == 0) {
		if (gateway_purge(argv[2], &err) == -1) {
			fprintf(stderr, "pxtool: %s\n", err.msg);
			return 1;
		}
		return 0;
	}
	fprintf(stderr, "usage: pxtool run NAME [-t N] [-f MS] [-p MS] "
	    "[-m N] [-i MS] | purge NAME\n");
	return 2;
}
