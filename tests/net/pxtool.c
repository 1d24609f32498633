/*
 * pxtool - test driver for src/proxy (tests/net/proxy_*.sh, bench/proxy).
 *
 *   pxtool run NAME [-t THREADS] [-f FIRST_BYTE_MS] [-p PEEK_MS]
 *          [-m MAX_CONNS] [-i IDLE_MS] [-r CONN_RATE]
 *          [-E STATE_DIR [-U UPSTREAM_CA]]
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
 *   ep ID HOST[:PORT] [default=allow|deny] [rule=METHOD,PATH,ACTION]...
 *      [cred=HEADER=TEMPLATE]...       -> "ep ID"  (the sandbox's one
 *                                         endpoint entry; %20 in a
 *                                         template is a space)
 *   secret NAME VALUE                  -> "secret NAME"
 *   quit
 *
 * -r sets the gateway's per-sandbox limit of new connections per second
 * (gc_conn_rate; 0: none; default GW_CONN_RATE): bench/proxy measures the
 * proxy's own connection rate with none.
 *
 * -E turns on the interception of endpoint hosts: the CA is STATE_DIR/ca,
 * the secrets STATE_DIR/secrets; upstream servers are verified against the
 * host's store plus UPSTREAM_CA.
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

#include "endpoint/endpoint.h"
#include "gateway/gateway.h"
#include "policy/policy.h"
#include "proxy/proxy.h"
#include "runner/guard.h"
#include "secrets/secrets.h"
#include "tlsca/tlsca.h"

#define MAX_SB		64
#define MAX_DNS		256

struct sbx {
	char			 id[32];
	struct gw_sandbox	*sb;
	unsigned		 slot;
	struct policy		*pol;
};

struct dnsent {
	unsigned	 slot;
	struct sockaddr_storage addr;
	char		 name[256];
};

static struct sbx	 sbs[MAX_SB];
static struct secrets	*secs;
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

/* "%20" to " ", in place. */
static void
unescape(char *t)
{
	char	*o = t;

	for (; *t != '\0'; t++) {
		if (strncmp(t, "%20", 3) == 0) {
			*o++ = ' ';
			t += 2;
		} else
			*o++ = *t;
	}
	*o = '\0';
}

static void
cmd_ep(struct proxy *px, struct sbx *s, char **w, int n)
{
	struct ep_rule_spec	 rules[32];
	struct ep_cred_spec	 creds[8];
	struct ep_host_spec	 hs;
	struct endpoints	*eps;
	struct ir_err		 err;
	char			*save, *eq;

	memset(&hs, 0, sizeof(hs));
	hs.ehs_host = w[0];
	hs.ehs_rules = rules;
	hs.ehs_creds = creds;
	for (int i = 1; i < n; i++) {
		if (strncmp(w[i], "default=", 8) == 0)
			hs.ehs_default = w[i] + 8;
		else if (strncmp(w[i], "rule=", 5) == 0 && hs.ehs_nrules < 32) {
			rules[hs.ehs_nrules].ers_method = strtok_r(w[i] + 5,
			    ",", &save);
			rules[hs.ehs_nrules].ers_path = strtok_r(NULL, ",",
			    &save);
			rules[hs.ehs_nrules].ers_action = strtok_r(NULL, ",",
			    &save);
			if (rules[hs.ehs_nrules].ers_action == NULL) {
				printf("error rule=METHOD,PATH,ACTION\n");
				return;
			}
			hs.ehs_nrules++;
		} else if (strncmp(w[i], "cred=", 5) == 0 &&
		    (eq = strchr(w[i] + 5, '=')) != NULL && hs.ehs_ncreds < 8) {
			*eq = '\0';
			unescape(eq + 1);
			creds[hs.ehs_ncreds].ecs_header = w[i] + 5;
			creds[hs.ehs_ncreds].ecs_value = eq + 1;
			hs.ehs_ncreds++;
		} else {
			printf("error '%s': want default=, rule= or cred=\n",
			    w[i]);
			return;
		}
	}
	if ((eps = endpoints_compile(&hs, 1, &err)) == NULL ||
	    endpoints_check_policy(eps, s->pol, &err) == -1 ||
	    proxy_sandbox_set(px, s->slot, s->id, s->pol, eps, &err) == -1)
		printf("error %s\n", err.msg);
	else
		printf("ep %s\n", s->id);
	endpoints_free(eps);
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
		s->pol = pol;
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
		policy_free(s->pol);
		s->pol = pol;
	} else if (strcmp(w[0], "del") == 0 && n == 2) {
		if ((s = sbx_find(w[1])) == NULL) {
			printf("error no sandbox %s\n", w[1]);
			return;
		}
		proxy_sandbox_clear(px, s->slot);
		policy_free(s->pol);
		s->pol = NULL;
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
	} else if (strcmp(w[0], "ep") == 0 && n >= 3) {
		if ((s = sbx_find(w[1])) == NULL) {
			printf("error no sandbox %s\n", w[1]);
			return;
		}
		cmd_ep(px, s, w + 2, n - 2);
	} else if (strcmp(w[0], "secret") == 0 && n == 3) {
		if (secs == NULL || secrets_set(secs, w[1], w[2], strlen(w[2]),
		    &err) == -1)
			printf("error %s\n", secs ? err.msg : "no -E");
		else
			printf("secret %s\n", w[1]);
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
	struct tlsca		*ca = NULL;
	char			 line[4096], path[4096];
	const char		*state = NULL, *upca = NULL;
	int			 ch, rate = -1;

	proxy_config_default(&pc);
	while ((ch = getopt(argc, argv, "t:f:p:m:i:r:E:U:")) != -1) {
		switch (ch) {
		case 'E': state = optarg; break;
		case 'U': upca = optarg; break;
		case 't': pc.pc_threads = (unsigned)atoi(optarg); break;
		case 'f': pc.pc_first_byte_ms = (unsigned)atoi(optarg); break;
		case 'p': pc.pc_peek_ms = (unsigned)atoi(optarg); break;
		case 'm': pc.pc_max_conns = (unsigned)atoi(optarg); break;
		case 'i': pc.pc_idle_ms = (unsigned)atoi(optarg); break;
		case 'r': rate = atoi(optarg); break;
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
	if (rate >= 0)
		gc.gc_conn_rate = (unsigned)rate;
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
	if (state != NULL) {
		snprintf(path, sizeof(path), "%s/ca", state);
		if ((ca = tlsca_open(path, gc.gc_name, 0, &err)) == NULL)
			goto fail;
		snprintf(path, sizeof(path), "%s/secrets", state);
		if ((secs = secrets_open(path, &err)) == NULL ||
		    proxy_intercept_setup(px, ca, secs, upca, &err) == -1)
			goto fail;
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
	for (int i = 0; i < MAX_SB; i++)
		policy_free(sbs[i].pol);
	secrets_close(secs);
	tlsca_free(ca);
	gateway_destroy(gw);
	pol_guard_free(guard);
	printf("bye\n");
	return 0;
fail:
	printf("error %s\n", err.msg);
	proxy_stop(px);
	secrets_close(secs);
	tlsca_free(ca);
	gateway_destroy(gw);
	pol_guard_free(guard);
	return 1;
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
	    "[-m N] [-i MS] [-r RATE] | purge NAME\n");
	return 2;
}
