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

#include "guard.h"
#include "runner.h"

struct runner_sandbox {
	LIST_ENTRY(runner_sandbox) rs_link;
	struct gw_sandbox	*rs_net;
	struct gw_sandbox_info	 rs_info;
	struct sandbox		*rs_box;
	char			 rs_id[SB_ID_MAX + 1];
};

struct runner {
	pthread_mutex_t		 r_lock;
	struct gateway		*r_gw;
	struct pol_guard	*r_guard;
	struct dnsview		*r_dns;
	struct proxy		*r_px;
	struct sandbox_paths	 r_paths;
	LIST_HEAD(, runner_sandbox) r_sandboxes;
};

void
runner_config_default(struct runner_config *c)
{
	memset(c, 0, sizeof(*c));
	gateway_config_default(&c->rc_gw);
	proxy_config_default(&c->rc_px);
	dnsview_config_default(&c->rc_dns);
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

struct runner *
runner_start(const struct runner_config *c, struct ir_err *err)
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
	if ((r->r_gw = gateway_create(&c->rc_gw, err)) == NULL)
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
	hooks.ph_hold = hook_hold;
	hooks.ph_release = hook_release;
	if ((r->r_px = proxy_start(r->r_gw, &c->rc_px, &hooks, r->r_guard,
	    err)) == NULL)
		goto fail;
	return r;
fail:
	runner_stop(r);
	return NULL;
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

	if (sp->rs_policy == NULL) {
		err_set(err, EINVAL, "sandbox: no policy");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		err_set(err, ENOMEM, "sandbox: out of memory");
		return NULL;
	}
	pthread_mutex_lock(&r->r_lock);
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
	    err) == -1)
		goto fail_net;
	snprintf(netns, sizeof(netns), "%s/%s", GW_NETNS_DIR,
	    s->rs_info.si_netns);
	resolv_conf(&s->rs_info, resolv, sizeof(resolv));
	sandbox_config_default(&sc);
	sc.sc_paths = &r->r_paths;
	sc.sc_id = s->rs_id;
	sc.sc_image = sp->rs_image;
	sc.sc_netns = netns;
	sc.sc_env = sp->rs_env;
	sc.sc_resolv_conf = resolv;
	sc.sc_lifeline = sp->rs_lifeline;
	if ((s->rs_box = sandbox_create(&sc, err)) == NULL)
		goto fail_net;
	LIST_INSERT_HEAD(&r->r_sandboxes, s, rs_link);
	pthread_mutex_unlock(&r->r_lock);
	return s;
fail_net:
	sandbox_unwire(r, s);
	gateway_sandbox_remove(r->r_gw, s->rs_net, &e2);
fail:
	pthread_mutex_unlock(&r->r_lock);
	free(s);
	return NULL;
}

int
runner_sandbox_set_policy(struct runner *r, struct runner_sandbox *s,
    struct policy *pol, unsigned dns_flags, struct ir_err *err)
{
	int	 rc;

	pthread_mutex_lock(&r->r_lock);
	rc = dnsview_sandbox_set(r->r_dns, s->rs_info.si_slot, s->rs_id, pol,
	    dns_flags, err);
	if (rc == 0)
		rc = proxy_sandbox_set(r->r_px, s->rs_info.si_slot, s->rs_id,
		    pol, err);
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
	sandbox_free(s->rs_box);
	LIST_REMOVE(s, rs_link);
	free(s);
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
	if (r->r_gw != NULL)
		gateway_destroy(r->r_gw);
	pol_guard_free(r->r_guard);
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
