/*
 * runner.c - the gateway, the proxy, the DNS view and the sandboxes, wired.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "../common/file.h"
#include "guard.h"
#include "runner.h"

struct runner_sandbox {
	LIST_ENTRY(runner_sandbox) rs_link;
	struct gw_sandbox	*rs_net;
	struct gw_sandbox_info	 rs_info;
	struct sandbox		*rs_box;
	struct endpoints	*rs_eps;	/* NULL: none */
	struct policy		*rs_pol;	/* in force */
	bool			 rs_ca;		/* created with endpoints: it
						   trusts the runner's CA */
	char			 rs_id[SB_ID_MAX + 1];
};

/* Frees what `s` holds (not its network or processes) and `s`. */
static void
rs_free(struct runner_sandbox *s)
{
	sandbox_free(s->rs_box);
	endpoints_free(s->rs_eps);
	policy_free(s->rs_pol);
	free(s);
}

struct runner {
	pthread_mutex_t		 r_lock;
	struct gateway		*r_gw;
	struct pol_guard	*r_guard;
	struct dnsview		*r_dns;
	struct proxy		*r_px;
	struct sandbox_paths	 r_paths;
	struct sandbox_limits	 r_limits;
	char			*r_bundle;	/* NULL: the image's own */
	struct secrets		*r_secrets;	/* NULL: no state dir */
	struct tlsca		*r_ca;
	char			*r_ep_bundle;	/* r_bundle (or the host's)
						   and the CA, for sandboxes
						   with endpoints */
	LIST_HEAD(, runner_sandbox) r_sandboxes;
};

static const char *const ca_env[] = {
	"SSL_CERT_FILE=" RUNNER_CA_BUNDLE,
	"REQUESTS_CA_BUNDLE=" RUNNER_CA_BUNDLE,
	"CURL_CA_BUNDLE=" RUNNER_CA_BUNDLE,
	"PIP_CERT=" RUNNER_CA_BUNDLE,
	"GIT_SSL_CAINFO=" RUNNER_CA_BUNDLE,
	"NODE_EXTRA_CA_CERTS=" RUNNER_CA_BUNDLE,
};
#define NCA_ENV	(sizeof(ca_env) / sizeof(ca_env[0]))

/* A whole text file; NULL with err set (a NUL byte: not a text file). */
static char *
slurp(const char *path, size_t max, struct ir_err *err)
{
	char	*buf;
	size_t	 n;

	if ((buf = ir_read_file(path, max, &n, err)) != NULL &&
	    memchr(buf, '\0', n) != NULL) {
		free(buf);
		err_set(err, EINVAL, "%s: not a text file", path);
		return NULL;
	}
	return buf;
}

/* `a`, a newline, then `b`; NULL when out of memory. */
static char *
pem_join(const char *a, const char *b)
{
	size_t	 al = strlen(a), bl = strlen(b);
	char	*out;

	if ((out = malloc(al + bl + 2)) == NULL)
		return NULL;
	memcpy(out, a, al);
	out[al] = '\n';
	memcpy(out + al + 1, b, bl + 1);
	return out;
}

/* The host's bundle; "" for a host without one (then only ours). */
static char *
host_bundle(void)
{
	struct ir_err	 e;
	char		*host;

	if ((host = slurp(RUNNER_CA_BUNDLE, 16 << 20, &e)) == NULL)
		host = strdup("");
	return host;
}

/* The host's CA bundle with the runner's extra certificates after it. */
static int
bundle_make(struct runner *r, const char *ca_file, struct ir_err *err)
{
	char	*host, *extra;

	if ((extra = slurp(ca_file, 1 << 20, err)) == NULL)
		return -1;
	if (strstr(extra, "-----BEGIN CERTIFICATE-----") == NULL) {
		free(extra);
		return err_set(err, 0, "CA file %s: no PEM certificate in it",
		    ca_file);
	}
	host = host_bundle();
	if (host == NULL || (r->r_bundle = pem_join(host, extra)) == NULL) {
		free(host);
		free(extra);
		return err_set(err, ENOMEM, "CA bundle: out of memory");
	}
	free(host);
	free(extra);
	return 0;
}

/*
 * The secrets store and the CA in the state dir, for the interception of
 * endpoint hosts (docs/endpoints.md). Opened by every runner with a state
 * dir, so that a sandbox with endpoints never waits for a CA to be made.
 */
static int
intercept_open(struct runner *r, const struct runner_config *c,
    struct ir_err *err)
{
	const char	*sd = c->rc_paths.sp_state_dir;
	const char	*name = c->rc_gw.gc_name ? c->rc_gw.gc_name : "isorun";
	char		 path[4096];
	char		*host = NULL;

	if (mkdir(sd, 0755) == -1 && errno != EEXIST)
		return err_set(err, errno, "state directory %s: %s", sd,
		    strerror(errno));
	if (snprintf(path, sizeof(path), "%s/secrets", sd) >=
	    (int)sizeof(path))
		return err_set(err, ENAMETOOLONG, "state directory %s: path "
		    "too long", sd);
	if ((r->r_secrets = secrets_open(path, err)) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/ca", sd);
	if ((r->r_ca = tlsca_open(path, name, 0, err)) == NULL)
		return -1;
	if (r->r_bundle == NULL && (host = host_bundle()) == NULL)
		return err_set(err, ENOMEM, "CA bundle: out of memory");
	r->r_ep_bundle = pem_join(r->r_bundle ? r->r_bundle : host,
	    tlsca_pem(r->r_ca));
	free(host);
	if (r->r_ep_bundle == NULL)
		return err_set(err, ENOMEM, "CA bundle: out of memory");
	return 0;
}

static void
intercept_close(struct runner *r)
{
	free(r->r_ep_bundle);
	tlsca_free(r->r_ca);
	secrets_close(r->r_secrets);
}

void
runner_config_default(struct runner_config *c)
{
	memset(c, 0, sizeof(*c));
	gateway_config_default(&c->rc_gw);
	proxy_config_default(&c->rc_px);
	dnsview_config_default(&c->rc_dns);
	c->rc_limits.sl_pids_max = SB_PIDS_MAX;
}

/* The proxy asks the DNS view (proxy.h's hooks). */
static size_t
hook_names(void *arg, unsigned slot, const struct sockaddr *dst,
    struct pol_name *names, size_t max, char *buf, size_t buflen)
{
	return dnsview_names(arg, slot, dst, names, max, buf, buflen);
}

static int
hook_maps(void *arg, unsigned slot, const char *name, size_t len,
    const struct sockaddr *dst)
{
	return dnsview_maps(arg, slot, name, len, dst);
}

static size_t
hook_addrs(void *arg, unsigned slot, const char *name, size_t len,
    struct sockaddr_storage *out, size_t max)
{
	return dnsview_addrs(arg, slot, name, len, out, max);
}

static void
hook_hold(void *arg, unsigned slot, const struct sockaddr *dst)
{
	dnsview_hold(arg, slot, dst);
}

static void
hook_release(void *arg, unsigned slot, const struct sockaddr *dst)
{
	dnsview_release(arg, slot, dst);
}

/*
 * Each proxied connection holds two descriptors: the common soft limit of
 * 1024 would cap a runner at about 500 connections. Raise it to the hard
 * limit, as far as the process may.
 */
static void
nofile_raise(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* runner_start(), or with `adopt` runner_resume(). */
static struct runner *
runner_open(const struct runner_config *c, int adopt, struct ir_err *err)
{
	struct runner		*r;
	struct proxy_hooks	 hooks;
	struct dnsview_config	 dc = c->rc_dns;
	uint16_t		 dport;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		err_set(err, ENOMEM, "runner: out of memory");
		return NULL;
	}
	pthread_mutex_init(&r->r_lock, NULL);
	LIST_INIT(&r->r_sandboxes);
	r->r_paths = c->rc_paths;
	r->r_limits = c->rc_limits;
	nofile_raise();
	if (c->rc_ca_file != NULL && bundle_make(r, c->rc_ca_file, err) == -1)
		goto fail;
	if (c->rc_paths.sp_state_dir != NULL &&
	    intercept_open(r, c, err) == -1)
		goto fail;
	if ((r->r_gw = adopt ? gateway_adopt(&c->rc_gw, err) :
	    gateway_create(&c->rc_gw, err)) == NULL)
		goto fail;
	if ((r->r_guard = runner_guard(&c->rc_gw, c->rc_guard, c->rc_nguard,
	    err)) == NULL)
		goto fail;
	gateway_ports(r->r_gw, NULL, NULL, &dport);
	dc.dc_port = dport;
	if ((r->r_dns = dnsview_start(r->r_gw, &dc, r->r_guard, err)) == NULL)
		goto fail;
	hooks.ph_arg = r->r_dns;
	hooks.ph_names = hook_names;
	hooks.ph_maps = hook_maps;
	hooks.ph_addrs = hook_addrs;
	hooks.ph_hold = hook_hold;
	hooks.ph_release = hook_release;
	if ((r->r_px = proxy_start(r->r_gw, &c->rc_px, &hooks, r->r_guard,
	    err)) == NULL)
		goto fail;
	if (r->r_ca != NULL && proxy_intercept_setup(r->r_px, r->r_ca,
	    r->r_secrets, c->rc_ca_file, err) == -1)
		goto fail;
	return r;
fail:
	if (adopt)
		runner_detach(r);
	else
		runner_stop(r);
	return NULL;
}

struct runner *
runner_start(const struct runner_config *c, struct ir_err *err)
{
	return runner_open(c, 0, err);
}

/* /etc/resolv.conf inside: the gateway, which answers on any address. */
static void
resolv_conf(const struct gw_sandbox_info *si, char *buf, size_t len)
{
	char	 a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET, &si->si_gw4, a4, sizeof(a4));
	inet_ntop(AF_INET6, &si->si_gw6, a6, sizeof(a6));
	snprintf(buf, len, "# isorun: every DNS query is answered by the "
	    "runner, whatever server it is sent to\nnameserver %s\n"
	    "nameserver %s\noptions timeout:2 attempts:2\n", a4, a6);
}

/*
 * A sandbox's endpoints against its policy and the secrets store: every
 * host permitted, every secret set. Input errors have code 0 (the
 * request's fault, not the runner's).
 */
static int
eps_check(struct runner *r, const struct endpoints *eps,
    const struct policy *pol, struct ir_err *err)
{
	const char	*name;
	size_t		 i;
	int		 rc;

	if (eps == NULL)
		return 0;
	if (r->r_ca == NULL)
		return err_set(err, 0, "endpoints: this runner has no state "
		    "directory, hence no CA to intercept TLS with and no "
		    "secrets");
	if (endpoints_check_policy(eps, pol, err) == -1) {
		err->code = 0;
		return -1;
	}
	for (i = 0; (name = endpoints_secret(eps, i)) != NULL; i++) {
		if ((rc = secrets_exists(r->r_secrets, name, err)) == -1)
			return -1;
		if (rc == 0)
			return err_set(err, 0, "endpoints: secret '%s' is not "
			    "set; set it with 'isorun secret set %s'", name,
			    name);
	}
	return 0;
}

/* An empty list is none: such a sandbox need not trust the CA. */
static struct endpoints *
eps_or_null(struct endpoints *eps)
{
	return eps != NULL && endpoints_count(eps) > 0 ? eps : NULL;
}

static void
sandbox_unwire(struct runner *r, struct runner_sandbox *s)
{
	proxy_sandbox_clear(r->r_px, s->rs_info.si_slot);
	dnsview_sandbox_clear(r->r_dns, s->rs_info.si_slot);
}

struct runner_sandbox *
runner_sandbox_create(struct runner *r, const struct runner_sandbox_spec *sp,
    struct ir_err *err)
{
	struct runner_sandbox	*s;
	struct sandbox_config	 sc;
	struct ir_err		 e2;
	char			 netns[GW_NETNS_MAX + sizeof(GW_NETNS_DIR) + 1];
	char			 resolv[512];
	const char		*id;
	uint8_t			 rnd[6];
	const char		**env = NULL;
	const char		*pem;
	struct sandbox_file	 bundle;
	struct endpoints	*eps = eps_or_null(sp->rs_endpoints);

	if (sp->rs_policy == NULL) {
		err_set(err, EINVAL, "sandbox: no policy");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		err_set(err, ENOMEM, "sandbox: out of memory");
		return NULL;
	}
	pthread_mutex_lock(&r->r_lock);
	if (eps_check(r, eps, sp->rs_policy, err) == -1)
		goto fail;
	s->rs_eps = endpoints_hold(eps);
	s->rs_ca = eps != NULL;
	s->rs_pol = policy_hold(sp->rs_policy);
	if ((s->rs_net = gateway_sandbox_add(r->r_gw, err)) == NULL)
		goto fail;
	gateway_sandbox_info(s->rs_net, &s->rs_info);
	if (sp->rs_id != NULL)
		snprintf(s->rs_id, sizeof(s->rs_id), "%s", sp->rs_id);
	else if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		err_set(err, errno, "sandbox id: getrandom: %s",
		    strerror(errno));
		goto fail_net;
	} else
		snprintf(s->rs_id, sizeof(s->rs_id), "sb-%02x%02x%02x%02x%02x"
		    "%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	/* The policy holds before the first process of the sandbox runs. */
	id = s->rs_id;
	if (dnsview_sandbox_set(r->r_dns, s->rs_info.si_slot, id,
	    sp->rs_policy, sp->rs_dns_flags, err) == -1 ||
	    proxy_sandbox_set(r->r_px, s->rs_info.si_slot, id, sp->rs_policy,
	    s->rs_eps, err) == -1)
		goto fail_net;
	snprintf(netns, sizeof(netns), "%s/%s", GW_NETNS_DIR,
	    s->rs_info.si_netns);
	resolv_conf(&s->rs_info, resolv, sizeof(resolv));
	sandbox_config_default(&sc);
	sc.sc_paths = &r->r_paths;
	sc.sc_limits = r->r_limits;
	sc.sc_id = s->rs_id;
	sc.sc_image = sp->rs_image;
	sc.sc_netns = netns;
	pem = s->rs_eps != NULL ? r->r_ep_bundle : r->r_bundle;
	if (pem != NULL) {
		size_t	 n = 0;

		while (sp->rs_env != NULL && sp->rs_env[n] != NULL)
			n++;
		if ((env = calloc(NCA_ENV + n + 1, sizeof(*env))) == NULL) {
			err_set(err, ENOMEM, "sandbox: out of memory");
			goto fail_net;
		}
		memcpy(env, ca_env, sizeof(ca_env));
		for (size_t i = 0; i < n; i++)
			env[NCA_ENV + i] = sp->rs_env[i];
		bundle.sf_path = RUNNER_CA_BUNDLE;
		bundle.sf_content = pem;
		sc.sc_files = &bundle;
		sc.sc_nfiles = 1;
		sc.sc_env = env;
	} else
		sc.sc_env = sp->rs_env;
	sc.sc_resolv_conf = resolv;
	sc.sc_lifeline = sp->rs_lifeline;
	s->rs_box = sandbox_create(&sc, err);
	free(env);
	env = NULL;
	if (s->rs_box == NULL)
		goto fail_net;
	LIST_INSERT_HEAD(&r->r_sandboxes, s, rs_link);
	pthread_mutex_unlock(&r->r_lock);
	return s;
fail_net:
	free(env);
	sandbox_unwire(r, s);
	gateway_sandbox_remove(r->r_gw, s->rs_net, &e2);
fail:
	pthread_mutex_unlock(&r->r_lock);
	rs_free(s);
	return NULL;
}

int
runner_sandbox_set_policy(struct runner *r, struct runner_sandbox *s,
    struct policy *pol, unsigned dns_flags, struct ir_err *err)
{
	int	 rc = 0;

	pthread_mutex_lock(&r->r_lock);
	/* Endpoint rules only narrow the policy: it must keep their hosts. */
	if (s->rs_eps != NULL && endpoints_check_policy(s->rs_eps, pol,
	    err) == -1) {
		err->code = 0;
		rc = -1;
	}
	if (rc == 0)
		rc = dnsview_sandbox_set(r->r_dns, s->rs_info.si_slot,
		    s->rs_id, pol, dns_flags, err);
	if (rc == 0)
		rc = proxy_sandbox_set(r->r_px, s->rs_info.si_slot, s->rs_id,
		    pol, s->rs_eps, err);
	if (rc == 0) {
		policy_free(s->rs_pol);
		s->rs_pol = policy_hold(pol);
	}
	pthread_mutex_unlock(&r->r_lock);
	return rc;
}

int
runner_sandbox_set_endpoints(struct runner *r, struct runner_sandbox *s,
    struct endpoints *eps, struct ir_err *err)
{
	struct endpoints	*old;
	int			 rc = -1;

	eps = eps_or_null(eps);
	pthread_mutex_lock(&r->r_lock);
	if (eps != NULL && !s->rs_ca)
		err_set(err, 0, "sandbox %s was created without endpoints, so "
		    "it does not trust the runner's CA: create it with "
		    "endpoints (an empty list is not enough)", s->rs_id);
	else if (eps_check(r, eps, s->rs_pol, err) == 0 &&
	    proxy_sandbox_set(r->r_px, s->rs_info.si_slot, s->rs_id,
	    s->rs_pol, eps, err) == 0) {
		old = s->rs_eps;
		s->rs_eps = endpoints_hold(eps);
		endpoints_free(old);
		rc = 0;
	}
	pthread_mutex_unlock(&r->r_lock);
	return rc;
}

static int
sandbox_teardown(struct runner *r, struct runner_sandbox *s,
    struct ir_err *err)
{
	struct ir_err	 e2;
	int		 rc = 0;

	sandbox_unwire(r, s);
	if (gateway_sandbox_remove(r->r_gw, s->rs_net, &e2) == -1) {
		*err = e2;
		rc = -1;
	}
	if (sandbox_destroy(s->rs_box, &e2) == -1 && rc == 0) {
		*err = e2;
		rc = -1;
	}
	LIST_REMOVE(s, rs_link);
	rs_free(s);
	return rc;
}

int
runner_sandbox_destroy(struct runner *r, struct runner_sandbox *s,
    struct ir_err *err)
{
	int	 rc;

	pthread_mutex_lock(&r->r_lock);
	rc = sandbox_teardown(r, s, err);
	pthread_mutex_unlock(&r->r_lock);
	return rc;
}

void
runner_stop(struct runner *r)
{
	struct runner_sandbox	*s;
	struct ir_err		 e;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->r_lock);
	while ((s = LIST_FIRST(&r->r_sandboxes)) != NULL)
		sandbox_teardown(r, s, &e);
	pthread_mutex_unlock(&r->r_lock);
	proxy_stop(r->r_px);
	dnsview_stop(r->r_dns);
	intercept_close(r);
	if (r->r_gw != NULL)
		gateway_destroy(r->r_gw);
	pol_guard_free(r->r_guard);
	free(r->r_bundle);
	pthread_mutex_destroy(&r->r_lock);
	free(r);
}

struct sandbox *
runner_sandbox_box(struct runner_sandbox *s)
{
	return s->rs_box;
}

const char *
runner_sandbox_id(const struct runner_sandbox *s)
{
	return s->rs_id;
}

void
runner_sandbox_net(const struct runner_sandbox *s, struct gw_sandbox_info *out)
{
	*out = s->rs_info;
}

/*
 * Daemon restarts (runner.h): detach, resume, adopt, purge; and destroy in
 * two steps for callers with execs in flight.
 */

void
runner_detach(struct runner *r)
{
	struct runner_sandbox	*s;

	if (r == NULL)
		return;
	/* The listeners close first: from here on sandboxes are refused. */
	proxy_stop(r->r_px);
	dnsview_stop(r->r_dns);
	pthread_mutex_lock(&r->r_lock);
	while ((s = LIST_FIRST(&r->r_sandboxes)) != NULL) {
		LIST_REMOVE(s, rs_link);
		rs_free(s);
	}
	pthread_mutex_unlock(&r->r_lock);
	intercept_close(r);
	gateway_release(r->r_gw);
	pol_guard_free(r->r_guard);
	free(r->r_bundle);
	pthread_mutex_destroy(&r->r_lock);
	free(r);
}

struct runner *
runner_resume(const struct runner_config *c, struct ir_err *err)
{
	return runner_open(c, 1, err);
}

static struct runner_sandbox *
sandbox_find(struct runner *r, const char *id)
{
	struct runner_sandbox	*s;

	LIST_FOREACH(s, &r->r_sandboxes, rs_link)
		if (strcmp(s->rs_id, id) == 0)
			return s;
	return NULL;
}

/* "/run/netns/<name>-sb<slot>" for this runner's gateway. */
static void
slot_netns(struct runner *r, unsigned slot, char *buf, size_t len)
{
	const char	*gw = gateway_netns(r->r_gw);

	snprintf(buf, len, "%s/%.*s-sb%u", GW_NETNS_DIR,
	    (int)(strlen(gw) - 3), gw, slot);
}

struct runner_sandbox *
runner_sandbox_adopt(struct runner *r, const char *id, unsigned slot,
    struct policy *pol, struct endpoints *eps, bool trusts_ca,
    unsigned dns_flags, struct ir_err *err)
{
	struct runner_sandbox	*s;
	struct sandbox_info	 si;
	char			 want[GW_NETNS_MAX + sizeof(GW_NETNS_DIR) + 16];

	if (pol == NULL) {
		err_set(err, EINVAL, "sandbox %s: no policy", id);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		err_set(err, ENOMEM, "sandbox: out of memory");
		return NULL;
	}
	snprintf(s->rs_id, sizeof(s->rs_id), "%s", id);
	pthread_mutex_lock(&r->r_lock);
	if (sandbox_find(r, id) != NULL) {
		err_set(err, EEXIST, "sandbox %s: adopted already", id);
		goto fail;
	}
	if ((s->rs_box = sandbox_open(&r->r_paths, id, err)) == NULL)
		goto fail;
	sandbox_info(s->rs_box, &si);
	slot_netns(r, slot, want, sizeof(want));
	if (!si.si_alive) {
		err_set(err, ESRCH, "sandbox %s: its init is gone", id);
		goto fail;
	}
	if (si.si_netns == NULL || strcmp(si.si_netns, want) != 0) {
		err_set(err, EINVAL, "sandbox %s: it is in network namespace "
		    "%s, not %s (slot %u)", id, si.si_netns ? si.si_netns :
		    "(its own)", want, slot);
		goto fail;
	}
	/* Its secrets may have gone since: requests then get a 502. */
	eps = eps_or_null(eps);
	s->rs_ca = trusts_ca || eps != NULL;
	if (eps != NULL && r->r_ca == NULL) {
		err_set(err, 0, "sandbox %s: it has endpoints but this runner "
		    "has no state directory (no CA)", id);
		goto fail;
	}
	if (eps != NULL && endpoints_check_policy(eps, pol, err) == -1)
		goto fail;
	s->rs_eps = endpoints_hold(eps);
	s->rs_pol = policy_hold(pol);
	/* The policy holds before the gateway lets its packets through. */
	if (dnsview_sandbox_set(r->r_dns, slot, s->rs_id, pol, dns_flags,
	    err) == -1 ||
	    proxy_sandbox_set(r->r_px, slot, s->rs_id, pol, s->rs_eps,
	    err) == -1)
		goto fail_wire;
	if ((s->rs_net = gateway_sandbox_adopt(r->r_gw, slot, err)) == NULL)
		goto fail_wire;
	gateway_sandbox_info(s->rs_net, &s->rs_info);
	LIST_INSERT_HEAD(&r->r_sandboxes, s, rs_link);
	pthread_mutex_unlock(&r->r_lock);
	return s;
fail_wire:
	proxy_sandbox_clear(r->r_px, slot);
	dnsview_sandbox_clear(r->r_dns, slot);
fail:
	pthread_mutex_unlock(&r->r_lock);
	rs_free(s);
	return NULL;
}

/* A sandbox of this runner's gateway: "/run/netns/<name>-sb<digits>". */
static int
ours(struct runner *r, const char *netns)
{
	char		 pre[GW_NETNS_MAX + sizeof(GW_NETNS_DIR) + 16];
	size_t		 n;

	if (netns == NULL)
		return 0;
	slot_netns(r, 0, pre, sizeof(pre));
	n = strlen(pre) - 1;		/* without the "0" */
	if (strncmp(netns, pre, n) != 0 || netns[n] == '\0')
		return 0;
	return strspn(netns + n, "0123456789") == strlen(netns + n);
}

int
runner_purge_unadopted(struct runner *r, struct ir_err *err)
{
	struct sandbox		*sb;
	struct sandbox_info	 si;
	struct ir_err		 e;
	char			**ids;
	size_t			 i;
	int			 rc = 0;

	pthread_mutex_lock(&r->r_lock);
	if ((ids = sandbox_list(&r->r_paths, err)) == NULL) {
		pthread_mutex_unlock(&r->r_lock);
		return -1;
	}
	for (i = 0; ids[i] != NULL; i++) {
		if (sandbox_find(r, ids[i]) != NULL ||
		    (sb = sandbox_open(&r->r_paths, ids[i], &e)) == NULL)
			continue;
		sandbox_info(sb, &si);
		if (ours(r, si.si_netns) && sandbox_destroy(sb, &e) == -1 &&
		    rc == 0) {
			*(err != NULL ? err : &e) = e;
			rc = -1;
		}
		sandbox_free(sb);
	}
	sandbox_list_free(ids);
	if (gateway_purge_unused(r->r_gw, &e) == -1 && rc == 0) {
		*(err != NULL ? err : &e) = e;
		rc = -1;
	}
	pthread_mutex_unlock(&r->r_lock);
	return rc;
}

int
runner_sandbox_remove(struct runner *r, struct runner_sandbox *s,
    struct ir_err *err)
{
	struct ir_err	 e2;
	int		 rc = 0;

	pthread_mutex_lock(&r->r_lock);
	sandbox_unwire(r, s);
	if (gateway_sandbox_remove(r->r_gw, s->rs_net, &e2) == -1) {
		*(err != NULL ? err : &e2) = e2;
		rc = -1;
	}
	s->rs_net = NULL;
	if (sandbox_destroy(s->rs_box, &e2) == -1 && rc == 0) {
		*(err != NULL ? err : &e2) = e2;
		rc = -1;
	}
	LIST_REMOVE(s, rs_link);
	pthread_mutex_unlock(&r->r_lock);
	return rc;
}

void
runner_sandbox_free(struct runner_sandbox *s)
{
	if (s == NULL)
		return;
	rs_free(s);
}

void
runner_proxy_stats(struct runner *r, struct proxy_stats *out)
{
	proxy_stats(r->r_px, out);
}

struct secrets *
runner_secrets(struct runner *r)
{
	return r->r_secrets;
}
