/*
 * sandboxes.c - the daemon's table of sandboxes: create, exec, live
 * policy changes, destroy, lifetimes, and the records that let the next
 * daemon adopt them.
 *
 * Records live in <run_dir>/isorund/: runner.json (the runner's name and
 * pools, which a resumed gateway must share) and sandboxes/<id>.json (an
 * api_record: slot, rules, lifetime), written when a sandbox is created
 * or its policy changes and removed when it is destroyed. A sandbox
 * without a record is not adopted: it is destroyed at the next start.
 *
 * A sandbox in the table is used by requests without d_lock held; each
 * holds a reference (ds_refs). Destroy takes it out of the table first (so
 * no new request finds it), kills it (so execs in flight return), waits
 * for the references to go, then frees it. ds_oplock orders policy changes
 * against destroy, so that a change never reaches a slot a newer sandbox
 * took over.
 */
#include "isorund.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../dns/dns.h"
#include "../endpoint/endpoint.h"
#include "../policy/policy.h"
#include "../profiles/profiles.h"
#include "../sandbox/sandbox.h"

struct dexec {
	LIST_ENTRY(dexec)	 de_link;
	int			 de_sig[2];	/* signals for the command */
};

struct dsb {
	TAILQ_ENTRY(dsb)	 ds_link;
	char			 ds_id[API_ID_MAX + 1];
	struct runner_sandbox	*ds_rs;		/* NULL while created */
	struct api_record	 ds_rec;
	char			 ds_mode[24];	/* pol_mode_name() */
	char			 ds_ip4[INET_ADDRSTRLEN];
	char			 ds_ip6[INET6_ADDRSTRLEN];
	unsigned		 ds_refs;
	bool			 ds_creating;
	bool			 ds_dying;
	pthread_mutex_t		 ds_oplock;
	LIST_HEAD(, dexec)	 ds_execs;
};

/* A resolved network request: the policy and what the record keeps. */
struct netsel {
	struct policy	*ns_pol;
	char		*ns_profile;
	char		**ns_allow;
	size_t		 ns_nallow;
	char		**ns_deny;
	size_t		 ns_ndeny;
	unsigned	 ns_dns_flags;
};

static struct dsb *
dsb_new(const char *id)
{
	struct dsb	*ds;

	if ((ds = calloc(1, sizeof(*ds))) == NULL)
		return NULL;
	snprintf(ds->ds_id, sizeof(ds->ds_id), "%s", id);
	pthread_mutex_init(&ds->ds_oplock, NULL);
	LIST_INIT(&ds->ds_execs);
	return ds;
}

static void
dsb_free(struct dsb *ds)
{
	api_record_free(&ds->ds_rec);
	pthread_mutex_destroy(&ds->ds_oplock);
	free(ds);
}

/* The live sandbox `id` (not being created or destroyed), or NULL. */
static struct dsb *
dsb_find(struct isorund *d, const char *id)
{
	struct dsb	*ds;

	TAILQ_FOREACH(ds, &d->d_sandboxes, ds_link)
		if (strcmp(ds->ds_id, id) == 0)
			return ds;
	return NULL;
}

static int
not_found(const char *id, struct api_error *err)
{
	return api_error_set(err, API_NOT_FOUND, "no sandbox '%s' (GET "
	    "/v1/sandboxes lists them)", id);
}

static void
strv_free(char **v)
{
	size_t	 i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static char **
strv_dup(const char *const *v, size_t n)
{
	char	**out;
	size_t	  i;

	if ((out = calloc(n + 1, sizeof(*out))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((out[i] = strdup(v[i])) == NULL) {
			strv_free(out);
			return NULL;
		}
	return out;
}

static void
netsel_free(struct netsel *ns)
{
	policy_free(ns->ns_pol);
	free(ns->ns_profile);
	strv_free(ns->ns_allow);
	strv_free(ns->ns_deny);
	memset(ns, 0, sizeof(*ns));
}

/* A profile of the live catalogue, compiled, with its rule texts. */
static int
netsel_profile(struct isorund *d, const char *name, struct netsel *ns,
    struct api_error *err)
{
	const struct profile	*p;
	struct profiles		*pc;
	struct ir_err		 e;
	char			 q[300];
	int			 rc = -1;

	if ((pc = profiles_load(d->d_conf.cf_profiles_dir, &e)) == NULL)
		return api_error_set(err, API_INTERNAL, "network profiles: %s",
		    e.msg);
	str_quote(name, strlen(name), 64, q, sizeof(q));
	if ((p = profiles_find(pc, name, &e)) == NULL) {
		if (e.code == ENOENT)
			api_error_set(err, API_INVALID_ARGUMENT, "networkProfile "
			    "%s: no such profile (GET /v1/network-profiles "
			    "lists them)", q);
		else
			api_error_set(err, API_INVALID_ARGUMENT, "networkProfile "
			    "%s: %s", q, e.msg);
		goto out;
	}
	if ((ns->ns_pol = profile_compile(p, &e)) == NULL) {
		api_error_set(err, API_INTERNAL, "networkProfile %s: %s", q,
		    e.msg);
		goto out;
	}
	if ((ns->ns_profile = strdup(profile_name(p))) == NULL ||
	    (ns->ns_allow = strv_dup(profile_rules(p, POL_ALLOW),
	    profile_nrules(p, POL_ALLOW))) == NULL ||
	    (ns->ns_deny = strv_dup(profile_rules(p, POL_DENY),
	    profile_nrules(p, POL_DENY))) == NULL) {
		api_error_set(err, API_INTERNAL, "out of memory");
		goto out;
	}
	ns->ns_nallow = profile_nrules(p, POL_ALLOW);
	ns->ns_ndeny = profile_nrules(p, POL_DENY);
	/* The locked-down profile refuses names outright (as isorun run). */
	if (strcmp(profile_name(p), "locked-down") == 0)
		ns->ns_dns_flags = DNSVIEW_REFUSE;
	rc = 0;
out:
	profiles_free(pc);
	if (rc == -1)
		netsel_free(ns);
	return rc;
}

static int
netsel_make(struct isorund *d, const struct api_network *n,
    struct netsel *ns, struct api_error *err)
{
	memset(ns, 0, sizeof(*ns));
	if (!n->an_set)
		return netsel_profile(d, "unrestricted", ns, err); /* SPEC 2 */
	if (n->an_profile != NULL)
		return netsel_profile(d, n->an_profile, ns, err);
	if ((ns->ns_pol = api_network_compile(n, err)) == NULL)
		return -1;
	if ((ns->ns_allow = strv_dup((const char *const *)n->an_allow,
	    n->an_nallow)) == NULL ||
	    (ns->ns_deny = strv_dup((const char *const *)n->an_deny,
	    n->an_ndeny)) == NULL) {
		netsel_free(ns);
		return api_error_set(err, API_INTERNAL, "out of memory");
	}
	ns->ns_nallow = n->an_nallow;
	ns->ns_ndeny = n->an_ndeny;
	return 0;
}

/* The record's rules are those of `ns` (borrowed: nothing is freed). */
static void
netsel_put(struct api_record *r, const struct netsel *ns)
{
	r->rc_profile = ns->ns_profile;
	r->rc_allow = ns->ns_allow;
	r->rc_nallow = ns->ns_nallow;
	r->rc_deny = ns->ns_deny;
	r->rc_ndeny = ns->ns_ndeny;
	r->rc_dns_flags = ns->ns_dns_flags;
}

/* Moves the rules of `ns` into the record (the policy stays in ns). */
static void
netsel_to_record(struct netsel *ns, struct api_record *r)
{
	free(r->rc_profile);
	strv_free(r->rc_allow);
	strv_free(r->rc_deny);
	netsel_put(r, ns);
	ns->ns_profile = NULL;
	ns->ns_allow = ns->ns_deny = NULL;
}

/* Records */

static void
rec_path(struct isorund *d, const char *id, const char *suffix, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s/sandboxes/%s.json%s", d->d_recdir, id, suffix);
}

/* Writes `text` to `path` through a temporary file and rename(2). */
static int
file_put(const char *path, const char *text, bool rename_it,
    struct ir_err *err)
{
	char	 tmp[600];
	size_t	 n = strlen(text);
	int	 fd;

	snprintf(tmp, sizeof(tmp), "%s%s", path, rename_it ? ".tmp" : "");
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	    -1)
		return err_set(err, errno, "write %s: %s", tmp, strerror(errno));
	if (write(fd, text, n) != (ssize_t)n || fsync(fd) == -1) {
		err_set(err, errno ? errno : EIO, "write %s: %s", tmp,
		    strerror(errno ? errno : EIO));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename_it && rename(tmp, path) == -1) {
		err_set(err, errno, "rename %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Writes the record as <id>.json, or only <id>.json.tmp when `tmp`. */
static int
rec_write(struct isorund *d, const struct api_record *r, bool tmp,
    struct ir_err *err)
{
	char	 path[600], *text;
	int	 rc;

	if ((text = api_record_dump(r)) == NULL)
		return err_set(err, ENOMEM, "record of %s: out of memory",
		    r->rc_id);
	rec_path(d, r->rc_id, tmp ? ".tmp" : "", path, sizeof(path));
	rc = file_put(path, text, !tmp, err);
	free(text);
	return rc;
}

static void
rec_unlink(struct isorund *d, const char *id)
{
	char	 path[600];

	rec_path(d, id, "", path, sizeof(path));
	if (unlink(path) == -1 && errno != ENOENT)
		log_warnx("remove %s: %s", path, strerror(errno));
	rec_path(d, id, ".tmp", path, sizeof(path));
	unlink(path);
}

/* The sandbox as the API shows it. Called with d_lock held. */
static json_t *
dsb_json(const struct dsb *ds)
{
	const struct api_record	*r = &ds->ds_rec;
	json_t			*allow, *deny, *eps;
	char			 created[40], expires[40];
	size_t			 i;

	allow = json_array();
	deny = json_array();
	/* As given: the templates name secrets, never hold their values. */
	eps = r->rc_endpoints != NULL ? json_loads(r->rc_endpoints, 0, NULL) :
	    json_array();
	for (i = 0; allow != NULL && i < r->rc_nallow; i++)
		json_array_append_new(allow, json_string(r->rc_allow[i]));
	for (i = 0; deny != NULL && i < r->rc_ndeny; i++)
		json_array_append_new(deny, json_string(r->rc_deny[i]));
	api_time_format(r->rc_created_ms, created, sizeof(created));
	api_time_format(r->rc_expires_ms, expires, sizeof(expires));
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:o, s:o}, s:o, s:s, "
	    "s:s, s:s, s:o}",
	    "id", ds->ds_id,
	    "image", r->rc_image,
	    "state", sandbox_alive(runner_sandbox_box(ds->ds_rs)) ?
	    "running" : "exited",
	    "createdAt", created,
	    "expiresAt", r->rc_expires_ms ? json_string(expires) : json_null(),
	    "network", "allow", allow, "deny", deny,
	    "networkProfile", r->rc_profile ? json_string(r->rc_profile) :
	    json_null(),
	    "networkMode", ds->ds_mode,
	    "ipv4", ds->ds_ip4,
	    "ipv6", ds->ds_ip6,
	    "endpoints", eps);
}

static void
dsb_net(struct dsb *ds)
{
	struct gw_sandbox_info	 si;

	runner_sandbox_net(ds->ds_rs, &si);
	ds->ds_rec.rc_slot = si.si_slot;
	inet_ntop(AF_INET, &si.si_addr4, ds->ds_ip4, sizeof(ds->ds_ip4));
	inet_ntop(AF_INET6, &si.si_addr6, ds->ds_ip6, sizeof(ds->ds_ip6));
}

static int
random_id(char *buf, size_t len)
{
	uint8_t	 r[6];

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return -1;
	snprintf(buf, len, "sb-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
	    r[3], r[4], r[5]);
	return 0;
}

/* Reserves an id: a placeholder in the table while the sandbox is made. */
static struct dsb *
reserve(struct isorund *d, const char *want, struct api_error *err)
{
	struct dsb	*ds = NULL;
	char		 id[API_ID_MAX + 1];
	int		 i;

	pthread_mutex_lock(&d->d_lock);
	if (d->d_stopping) {
		api_error_set(err, API_UNAVAILABLE, "isorund is shutting down");
		goto out;
	}
	if (want != NULL) {
		if (dsb_find(d, want) != NULL) {
			api_error_set(err, API_ALREADY_EXISTS, "a sandbox '%s' "
			    "exists already", want);
			goto out;
		}
		snprintf(id, sizeof(id), "%s", want);
	} else {
		for (i = 0; i < 8; i++)
			if (random_id(id, sizeof(id)) == 0 &&
			    dsb_find(d, id) == NULL)
				break;
		if (i == 8) {
			api_error_set(err, API_INTERNAL, "cannot make a "
			    "sandbox id");
			goto out;
		}
	}
	if ((ds = dsb_new(id)) == NULL) {
		api_error_set(err, API_INTERNAL, "out of memory");
		goto out;
	}
	ds->ds_creating = true;
	TAILQ_INSERT_TAIL(&d->d_sandboxes, ds, ds_link);
out:
	pthread_mutex_unlock(&d->d_lock);
	return ds;
}

static void
unreserve(struct isorund *d, struct dsb *ds)
{
	pthread_mutex_lock(&d->d_lock);
	TAILQ_REMOVE(&d->d_sandboxes, ds, ds_link);
	pthread_mutex_unlock(&d->d_lock);
	dsb_free(ds);
}

static enum api_code
create_code(const struct ir_err *e)
{
	switch (e->code) {
	case 0:		return API_INVALID_ARGUMENT;	/* image, ... */
	case EEXIST:	return API_ALREADY_EXISTS;
	case ENOSPC:	return API_UNAVAILABLE;		/* no slot */
	default:	return API_INTERNAL;
	}
}

/* The image a create's name stands for (image_aliases), or the name. */
static const char *
image_alias(const struct isorund *d, const char *name, char *buf, size_t len)
{
	const char	*a, *e, *eq;
	size_t		 n, l;

	if (name == NULL)
		return NULL;
	n = strlen(name);
	for (a = d->d_conf.cf_image_aliases; a != NULL && *a != '\0';
	    a = e != NULL ? e + 1 : NULL) {
		e = strchr(a, ',');
		l = e != NULL ? (size_t)(e - a) : strlen(a);
		eq = memchr(a, '=', l);
		if (eq != NULL && (size_t)(eq - a) == n &&
		    strncmp(a, name, n) == 0) {
			snprintf(buf, len, "%.*s", (int)(l - n - 1), eq + 1);
			return buf;
		}
	}
	return name;
}

static void
env_free(char **env)
{
	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/* sandbox_env's pairs, then the create's (the later wins). */
static char **
env_merge(const struct isorund *d, const char *const *req)
{
	const char	*s = d->d_conf.cf_sandbox_env, *e;
	char		**v;
	size_t		 n = 0, nreq = 0, cap;

	while (req != NULL && req[nreq] != NULL)
		nreq++;
	cap = nreq + 2;
	for (e = s; e != NULL && *e != '\0'; e = strchr(e + 1, ','))
		cap++;
	if ((v = calloc(cap, sizeof(*v))) == NULL)
		return NULL;
	for (; s != NULL && *s != '\0'; s = e != NULL ? e + 1 : NULL) {
		e = strchr(s, ',');
		if ((e != NULL ? e - s : (ptrdiff_t)strlen(s)) == 0)
			continue;
		if ((v[n] = e != NULL ? strndup(s, (size_t)(e - s)) :
		    strdup(s)) == NULL)
			goto nomem;
		n++;
	}
	for (size_t i = 0; i < nreq; i++)
		if ((v[n++] = strdup(req[i])) == NULL)
			goto nomem;
	return v;
nomem:
	env_free(v);
	return NULL;
}

int
sbx_create(struct isorund *d, const struct api_create *req, json_t **out,
    struct api_error *err)
{
	struct runner_sandbox_spec	 spec;
	struct netsel			 ns;
	struct dsb			*ds;
	struct ir_err			 e;
	uint64_t			 life;
	char				 image[256], **env = NULL;

	if (netsel_make(d, &req->cr_net, &ns, err) == -1)
		return -1;
	if ((ds = reserve(d, req->cr_id, err)) == NULL) {
		netsel_free(&ns);
		return -1;
	}
	if ((env = env_merge(d, (const char *const *)req->cr_env)) == NULL) {
		api_error_set(err, API_INTERNAL, "out of memory");
		goto fail;
	}
	memset(&spec, 0, sizeof(spec));
	spec.rs_id = ds->ds_id;
	spec.rs_image = image_alias(d, req->cr_image, image, sizeof(image));
	spec.rs_env = (const char *const *)env;
	spec.rs_policy = ns.ns_pol;
	spec.rs_dns_flags = ns.ns_dns_flags;
	spec.rs_endpoints = req->cr_endpoints;
	ds->ds_rs = runner_sandbox_create(d->d_runner, &spec, &e);
	env_free(env);
	env = NULL;
	if (ds->ds_rs == NULL) {
		api_error_set(err, create_code(&e), "%s", e.msg);
		goto fail;
	}
	dsb_net(ds);
	snprintf(ds->ds_mode, sizeof(ds->ds_mode), "%s",
	    pol_mode_name(policy_mode(ns.ns_pol)));
	netsel_to_record(&ns, &ds->ds_rec);
	life = req->cr_timeout_ms ? req->cr_timeout_ms :
	    d->d_conf.cf_sandbox_timeout_ms;
	if ((ds->ds_rec.rc_id = strdup(ds->ds_id)) == NULL ||
	    (ds->ds_rec.rc_image = strdup(req->cr_image ? req->cr_image :
	    "host")) == NULL || (req->cr_endpoints_json != NULL &&
	    (ds->ds_rec.rc_endpoints = strdup(req->cr_endpoints_json)) ==
	    NULL)) {
		api_error_set(err, API_INTERNAL, "out of memory");
		goto fail_rs;
	}
	ds->ds_rec.rc_created_ms = now_ms();
	ds->ds_rec.rc_expires_ms = life ? ds->ds_rec.rc_created_ms +
	    (int64_t)life : 0;
	/* Without its record the next daemon would not adopt it. */
	if (rec_write(d, &ds->ds_rec, false, &e) == -1) {
		api_error_set(err, API_INTERNAL, "%s", e.msg);
		goto fail_rs;
	}
	netsel_free(&ns);
	pthread_mutex_lock(&d->d_lock);
	ds->ds_creating = false;
	d->d_count++;
	*out = dsb_json(ds);
	/* Under the lock: once it is released a DELETE may free `ds`. */
	log_info("created sandbox %s (slot %u, image %s, %s %s%s)", ds->ds_id,
	    ds->ds_rec.rc_slot, ds->ds_rec.rc_image, ds->ds_rec.rc_profile ?
	    "profile" : "rules", ds->ds_rec.rc_profile ? ds->ds_rec.rc_profile :
	    ds->ds_mode, ds->ds_rec.rc_endpoints ? ", endpoints" : "");
	pthread_mutex_unlock(&d->d_lock);
	if (*out == NULL)
		return api_error_set(err, API_INTERNAL, "out of memory");
	return 0;
fail_rs:
	if (runner_sandbox_destroy(d->d_runner, ds->ds_rs, &e) == -1)
		log_warnx("sandbox %s: %s", ds->ds_id, e.msg);
	rec_unlink(d, ds->ds_id);
fail:
	env_free(env);
	netsel_free(&ns);
	unreserve(d, ds);
	return -1;
}

int
sbx_list(struct isorund *d, json_t **out, struct api_error *err)
{
	struct dsb	*ds;
	json_t		*a;

	if ((a = json_array()) == NULL)
		return api_error_set(err, API_INTERNAL, "out of memory");
	pthread_mutex_lock(&d->d_lock);
	TAILQ_FOREACH(ds, &d->d_sandboxes, ds_link)
		if (!ds->ds_creating && !ds->ds_dying &&
		    json_array_append_new(a, dsb_json(ds)) == -1)
			break;
	pthread_mutex_unlock(&d->d_lock);
	if ((*out = json_pack("{s:o}", "sandboxes", a)) == NULL)
		return api_error_set(err, API_INTERNAL, "out of memory");
	return 0;
}

int
sbx_get(struct isorund *d, const char *id, json_t **out,
    struct api_error *err)
{
	struct dsb	*ds;

	pthread_mutex_lock(&d->d_lock);
	if ((ds = dsb_find(d, id)) == NULL || ds->ds_creating) {
		pthread_mutex_unlock(&d->d_lock);
		return not_found(id, err);
	}
	*out = dsb_json(ds);
	pthread_mutex_unlock(&d->d_lock);
	if (*out == NULL)
		return api_error_set(err, API_INTERNAL, "out of memory");
	return 0;
}

int
sbx_exists(struct isorund *d, const char *id)
{
	struct dsb	*ds;
	int		 rc;

	pthread_mutex_lock(&d->d_lock);
	ds = dsb_find(d, id);
	rc = ds != NULL && !ds->ds_creating;
	pthread_mutex_unlock(&d->d_lock);
	return rc;
}

/* A reference to the live sandbox `id`, or NULL with err set. */
static struct dsb *
dsb_hold(struct isorund *d, const char *id, struct api_error *err)
{
	struct dsb	*ds;

	pthread_mutex_lock(&d->d_lock);
	if (d->d_stopping) {
		pthread_mutex_unlock(&d->d_lock);
		api_error_set(err, API_UNAVAILABLE, "isorund is shutting down");
		return NULL;
	}
	if ((ds = dsb_find(d, id)) == NULL || ds->ds_creating) {
		pthread_mutex_unlock(&d->d_lock);
		not_found(id, err);
		return NULL;
	}
	ds->ds_refs++;
	pthread_mutex_unlock(&d->d_lock);
	return ds;
}

/* Drops a reference; d_lock held. */
static void
dsb_unhold_locked(struct isorund *d, struct dsb *ds)
{
	if (--ds->ds_refs == 0)
		pthread_cond_broadcast(&d->d_cond);
}

/*
 * Destroys a sandbox already taken out of the table (ds_dying set): its
 * network and processes first, then, once no request uses it, its memory.
 */
static int
dsb_destroy(struct isorund *d, struct dsb *ds, struct ir_err *err)
{
	int	 rc;

	pthread_mutex_lock(&ds->ds_oplock);
	rc = runner_sandbox_remove(d->d_runner, ds->ds_rs, err);
	pthread_mutex_unlock(&ds->ds_oplock);
	rec_unlink(d, ds->ds_id);
	pthread_mutex_lock(&d->d_lock);
	while (ds->ds_refs > 0)
		pthread_cond_wait(&d->d_cond, &d->d_lock);
	pthread_mutex_unlock(&d->d_lock);
	runner_sandbox_free(ds->ds_rs);
	dsb_free(ds);
	return rc;
}

/* Takes `ds` out of the table for dsb_destroy(); d_lock held. */
static void
dsb_unlink_locked(struct isorund *d, struct dsb *ds)
{
	struct dexec	*de;
	int		 sig = SIGKILL;

	ds->ds_dying = true;
	TAILQ_REMOVE(&d->d_sandboxes, ds, ds_link);
	d->d_count--;
	/* Its commands die with it anyway; this ends them at once. */
	LIST_FOREACH(de, &ds->ds_execs, de_link)
		if (write(de->de_sig[1], &sig, sizeof(sig)) < 0) {
			/* full: the command is being told already */
		}
}

int
sbx_destroy(struct isorund *d, const char *id, struct api_error *err)
{
	struct dsb	*ds;
	struct ir_err	 e;

	pthread_mutex_lock(&d->d_lock);
	if ((ds = dsb_find(d, id)) == NULL || ds->ds_creating) {
		pthread_mutex_unlock(&d->d_lock);
		return not_found(id, err);
	}
	dsb_unlink_locked(d, ds);
	pthread_mutex_unlock(&d->d_lock);
	if (dsb_destroy(d, ds, &e) == -1) {
		log_warnx("destroy %s: %s", id, e.msg);
		return api_error_set(err, API_INTERNAL, "destroy %s: %s", id,
		    e.msg);
	}
	log_info("destroyed sandbox %s", id);
	return 0;
}

void
sbx_expire(struct isorund *d, int64_t now)
{
	struct dsb	*ds, *next;
	struct ir_err	 e;
	TAILQ_HEAD(, dsb) dead = TAILQ_HEAD_INITIALIZER(dead);

	pthread_mutex_lock(&d->d_lock);
	for (ds = TAILQ_FIRST(&d->d_sandboxes); ds != NULL; ds = next) {
		next = TAILQ_NEXT(ds, ds_link);
		if (ds->ds_creating || ds->ds_rec.rc_expires_ms == 0 ||
		    ds->ds_rec.rc_expires_ms > now)
			continue;
		dsb_unlink_locked(d, ds);
		TAILQ_INSERT_TAIL(&dead, ds, ds_link);
	}
	pthread_mutex_unlock(&d->d_lock);
	while ((ds = TAILQ_FIRST(&dead)) != NULL) {
		TAILQ_REMOVE(&dead, ds, ds_link);
		log_info("sandbox %s reached its lifetime (timeoutMs): "
		    "destroying it", ds->ds_id);
		if (dsb_destroy(d, ds, &e) == -1)
			log_warnx("destroy: %s", e.msg);
	}
}

static json_t *
exec_json(const struct sandbox_exec_result *res)
{
	char	*out, *errs;
	json_t	*j = NULL;
	size_t	 ol, el;

	out = api_utf8_clean(res->xr_stdout ? res->xr_stdout : "",
	    res->xr_stdout_len, &ol);
	errs = api_utf8_clean(res->xr_stderr ? res->xr_stderr : "",
	    res->xr_stderr_len, &el);
	if (out != NULL && errs != NULL)
		j = json_pack("{s:i, s:s%, s:s%, s:b, s:I, s:b, s:b}",
		    "exitCode", res->xr_exit_code,
		    "stdout", out, ol,
		    "stderr", errs, el,
		    "timedOut", res->xr_timed_out,
		    "durationMs", (json_int_t)(res->xr_duration_us / 1000),
		    "stdoutTruncated", res->xr_stdout_truncated,
		    "stderrTruncated", res->xr_stderr_truncated);
	free(out);
	free(errs);
	return j;
}

int
sbx_exec(struct isorund *d, const char *id, const struct api_exec *req,
    json_t **out, struct api_error *err)
{
	struct sandbox_exec_req		 xr;
	struct sandbox_exec_result	 res;
	struct dexec			 de;
	struct dsb			*ds;
	struct ir_err			 e;
	unsigned			 max = d->d_conf.cf_exec_timeout_ms;
	int				 rc;

	if (req->ex_timeout_ms > max)
		return api_error_set(err, API_INVALID_ARGUMENT, "timeoutMs: "
		    "%llu is over this runner's limit of %u ms "
		    "(exec_timeout_ms)", (unsigned long long)req->ex_timeout_ms,
		    max);
	if (pipe2(de.de_sig, O_CLOEXEC | O_NONBLOCK) == -1)
		return api_error_set(err, API_INTERNAL, "pipe: %s",
		    strerror(errno));
	if ((ds = dsb_hold(d, id, err)) == NULL) {
		close(de.de_sig[0]);
		close(de.de_sig[1]);
		return -1;
	}
	pthread_mutex_lock(&d->d_lock);
	LIST_INSERT_HEAD(&ds->ds_execs, &de, de_link);
	pthread_mutex_unlock(&d->d_lock);

	sandbox_exec_req_init(&xr);
	xr.er_argv = (const char *const *)req->ex_argv;
	xr.er_shell = req->ex_shell;
	xr.er_env = (const char *const *)req->ex_env;
	xr.er_cwd = req->ex_cwd;
	xr.er_stdin = req->ex_stdin;
	xr.er_stdin_len = req->ex_stdin_len;
	xr.er_timeout_ms = (unsigned)(req->ex_timeout_ms ? req->ex_timeout_ms :
	    max);
	xr.er_output_max = d->d_conf.cf_output_max_bytes;
	xr.er_signal_fd = de.de_sig[0];
	memset(&res, 0, sizeof(res));
	rc = sandbox_exec(runner_sandbox_box(ds->ds_rs), &xr, &res, &e);

	pthread_mutex_lock(&d->d_lock);
	LIST_REMOVE(&de, de_link);
	if (rc == -1 && ds->ds_dying)
		api_error_set(err, API_CONFLICT, "sandbox '%s' was destroyed "
		    "while the command ran", id);
	else if (rc == -1 && d->d_stopping)
		api_error_set(err, API_UNAVAILABLE, "isorund is shutting down");
	else if (rc == -1 && !sandbox_alive(runner_sandbox_box(ds->ds_rs)))
		api_error_set(err, API_CONFLICT, "sandbox '%s' has exited (its "
		    "init is gone): destroy it", id);
	else if (rc == -1)
		/* The sandbox is fine: the request named what is not there. */
		api_error_set(err, e.code == 0 || e.code == ENOENT ||
		    e.code == ENOTDIR || e.code == EACCES || e.code == E2BIG ?
		    API_INVALID_ARGUMENT : API_INTERNAL, "%s", e.msg);
	dsb_unhold_locked(d, ds);
	pthread_mutex_unlock(&d->d_lock);
	close(de.de_sig[0]);
	close(de.de_sig[1]);
	if (rc == 0 && (*out = exec_json(&res)) == NULL)
		rc = api_error_set(err, API_INTERNAL, "out of memory");
	sandbox_exec_result_free(&res);
	return rc;
}

/*
 * A live change (policy, endpoints): lc_record makes the sandbox's record
 * with the change (a shallow copy of ds_rec with some fields replaced),
 * lc_apply applies it to the runner, lc_update (d_lock held) takes it into
 * ds_rec.
 */
struct live_change {
	const char	*lc_what;	/* for the log: "policy" */
	void		(*lc_record)(struct api_record *, void *);
	int		(*lc_apply)(struct isorund *, struct dsb *, void *,
			    struct ir_err *);
	void		(*lc_update)(struct dsb *, void *);
	void		*lc_arg;
};

/*
 * A live change of sandbox `id`: its new record is written aside, the
 * change applied, then the record put in place, so that a restart at any
 * point brings back one or the other. Code 0 from the runner is the
 * request's fault (400); the old state stays.
 */
static int
live_change(struct isorund *d, const char *id, const struct live_change *lc,
    json_t **out, struct api_error *err)
{
	struct api_record	 nr;
	struct dsb		*ds;
	struct ir_err		 e;
	char			 tmp[600], path[600];
	int			 rc = -1;

	if ((ds = dsb_hold(d, id, err)) == NULL)
		return -1;
	pthread_mutex_lock(&ds->ds_oplock);
	if (ds->ds_dying) {
		not_found(id, err);
		goto out;
	}
	nr = ds->ds_rec;
	lc->lc_record(&nr, lc->lc_arg);
	if (rec_write(d, &nr, true, &e) == -1) {
		api_error_set(err, API_INTERNAL, "%s", e.msg);
		goto out;
	}
	rec_path(d, id, ".tmp", tmp, sizeof(tmp));
	rec_path(d, id, "", path, sizeof(path));
	if (lc->lc_apply(d, ds, lc->lc_arg, &e) == -1) {
		unlink(tmp);
		api_error_set(err, e.code == 0 ? API_INVALID_ARGUMENT :
		    API_INTERNAL, "%s", e.msg);
		goto out;
	}
	if (rename(tmp, path) == -1)
		log_warnx("sandbox %s: rename %s: %s: a restart would bring "
		    "back its previous %s", id, tmp, strerror(errno),
		    lc->lc_what);
	pthread_mutex_lock(&d->d_lock);
	lc->lc_update(ds, lc->lc_arg);
	*out = dsb_json(ds);
	pthread_mutex_unlock(&d->d_lock);
	log_info("sandbox %s: new %s", id, lc->lc_what);
	rc = *out != NULL ? 0 : api_error_set(err, API_INTERNAL,
	    "out of memory");
out:
	pthread_mutex_unlock(&ds->ds_oplock);
	pthread_mutex_lock(&d->d_lock);
	dsb_unhold_locked(d, ds);
	pthread_mutex_unlock(&d->d_lock);
	return rc;
}

static void
net_record(struct api_record *nr, void *arg)
{
	netsel_put(nr, arg);
}

static int
net_apply(struct isorund *d, struct dsb *ds, void *arg, struct ir_err *e)
{
	struct netsel	*ns = arg;

	/* Code 0: the policy would block one of its endpoint hosts. */
	return runner_sandbox_set_policy(d->d_runner, ds->ds_rs, ns->ns_pol,
	    ns->ns_dns_flags, e);
}

static void
net_update(struct dsb *ds, void *arg)
{
	struct netsel	*ns = arg;

	snprintf(ds->ds_mode, sizeof(ds->ds_mode), "%s",
	    pol_mode_name(policy_mode(ns->ns_pol)));
	netsel_to_record(ns, &ds->ds_rec);
}

int
sbx_network(struct isorund *d, const char *id, const struct api_network *req,
    json_t **out, struct api_error *err)
{
	struct live_change	 lc = { "policy", net_record, net_apply,
				    net_update, NULL };
	struct netsel		 ns;
	int			 rc;

	if (netsel_make(d, req, &ns, err) == -1)
		return -1;
	lc.lc_arg = &ns;
	rc = live_change(d, id, &lc, out, err);
	netsel_free(&ns);
	return rc;
}

/*
 * PUT /v1/sandboxes/{id}/endpoints. None left is recorded as "[]" for a
 * sandbox created with endpoints (it still trusts the runner's CA, and a
 * restart must know it: runner_sandbox_adopt), as nothing for one created
 * without (which never will).
 */
struct epsel {
	struct endpoints	*es_eps;	/* NULL: none */
	char			*es_text;	/* the array as given, or "[]" */
	int			 es_none;	/* none given */
};

static void
eps_record(struct api_record *nr, void *arg)
{
	struct epsel	*es = arg;

	if (!es->es_none || nr->rc_endpoints != NULL)
		nr->rc_endpoints = es->es_text;
}

static int
eps_apply(struct isorund *d, struct dsb *ds, void *arg, struct ir_err *e)
{
	return runner_sandbox_set_endpoints(d->d_runner, ds->ds_rs,
	    ((struct epsel *)arg)->es_eps, e);
}

static void
eps_update(struct dsb *ds, void *arg)
{
	struct epsel	*es = arg;

	if (es->es_none && ds->ds_rec.rc_endpoints == NULL)
		return;
	free(ds->ds_rec.rc_endpoints);
	ds->ds_rec.rc_endpoints = es->es_text;
	es->es_text = NULL;
}

int
sbx_endpoints(struct isorund *d, const char *id, struct endpoints *eps,
    const char *text, json_t **out, struct api_error *err)
{
	struct live_change	 lc = { "endpoints", eps_record, eps_apply,
				    eps_update, NULL };
	struct epsel		 es;
	int			 rc;

	es.es_eps = eps;
	es.es_none = text == NULL;
	if ((es.es_text = strdup(text != NULL ? text : "[]")) == NULL)
		return api_error_set(err, API_INTERNAL, "out of memory");
	lc.lc_arg = &es;
	rc = live_change(d, id, &lc, out, err);
	free(es.es_text);
	return rc;
}

/* The same JSON as `isorun profiles --json`. */
int
sbx_profiles(struct isorund *d, json_t **out, struct api_error *err)
{
	const struct prof_diag	*dg;
	struct profiles		*pc;
	struct ir_err		 e;
	json_t			*a;
	size_t			 i;

	if ((pc = profiles_load(d->d_conf.cf_profiles_dir, &e)) == NULL)
		return api_error_set(err, API_INTERNAL, "network profiles: %s",
		    e.msg);
	for (i = 0; i < profiles_ndiags(pc); i++) {
		dg = profiles_diag(pc, i);
		log_warnx("profiles: %s", dg->msg);
	}
	a = profiles_json(pc);
	profiles_free(pc);
	if (a == NULL)
		return api_error_set(err, API_INTERNAL, "out of memory");
	*out = a;
	return 0;
}

bool
sbx_is_stopping(struct isorund *d)
{
	bool	 s;

	pthread_mutex_lock(&d->d_lock);
	s = d->d_stopping;
	pthread_mutex_unlock(&d->d_lock);
	return s;
}

unsigned
sbx_count(struct isorund *d)
{
	unsigned	 n;

	pthread_mutex_lock(&d->d_lock);
	n = d->d_count;
	pthread_mutex_unlock(&d->d_lock);
	return n;
}

void
sbx_stopping(struct isorund *d)
{
	struct dsb	*ds;
	struct dexec	*de;
	int		 sig = SIGKILL;

	pthread_mutex_lock(&d->d_lock);
	d->d_stopping = true;
	TAILQ_FOREACH(ds, &d->d_sandboxes, ds_link)
		LIST_FOREACH(de, &ds->ds_execs, de_link)
			if (write(de->de_sig[1], &sig, sizeof(sig)) < 0) {
				/* full: told already */
			}
	pthread_mutex_unlock(&d->d_lock);
}

/* Start and stop */

static int
mkdir_p(const char *path, mode_t mode, struct ir_err *err)
{
	char	 buf[512], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return err_set(err, ENAMETOOLONG, "%s: path too long", path);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return err_set(err, errno, "mkdir %s: %s", buf,
			    strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		return err_set(err, errno, "mkdir %s: %s", buf, strerror(errno));
	return 0;
}

static int
dirs_and_lock(struct isorund *d, struct ir_err *err)
{
	char	 path[600];

	snprintf(d->d_recdir, sizeof(d->d_recdir), "%s/isorund",
	    d->d_conf.cf_run_dir);
	snprintf(path, sizeof(path), "%s/sandboxes", d->d_recdir);
	if (mkdir_p(d->d_conf.cf_run_dir, 0755, err) == -1 ||
	    mkdir_p(d->d_recdir, 0700, err) == -1 ||
	    mkdir_p(path, 0700, err) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/lock", d->d_recdir);
	if ((d->d_lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) ==
	    -1)
		return err_set(err, errno, "open %s: %s", path, strerror(errno));
	if (flock(d->d_lockfd, LOCK_EX | LOCK_NB) == -1) {
		err_set(err, errno, "another isorund uses run_dir %s (%s is "
		    "locked)", d->d_conf.cf_run_dir, path);
		close(d->d_lockfd);
		d->d_lockfd = -1;
		return -1;
	}
	return 0;
}

/* runner.json: what a resumed gateway must agree with. */
static int
runner_rec_matches(struct isorund *d, bool *exists, struct ir_err *err)
{
	char		 path[600];
	json_t		*j;
	json_error_t	 je;
	const char	*name = NULL, *p4 = NULL, *p6 = NULL;

	*exists = false;
	snprintf(path, sizeof(path), "%s/runner.json", d->d_recdir);
	if ((j = json_load_file(path, 0, &je)) == NULL) {
		if (access(path, F_OK) == -1 && errno == ENOENT)
			return 0;
		return err_set(err, 0, "%s: %s (remove it, or isorund --purge)",
		    path, je.text);
	}
	json_unpack(j, "{s?s, s?s, s?s}", "name", &name, "pool4", &p4,
	    "pool6", &p6);
	if (name == NULL || strcmp(name, d->d_conf.cf_name) != 0) {
		json_decref(j);
		return 0;	/* another name: not ours to resume */
	}
	*exists = true;
	if (p4 == NULL || p6 == NULL || strcmp(p4, d->d_conf.cf_pool4) != 0 ||
	    strcmp(p6, d->d_conf.cf_pool6) != 0) {
		err_set(err, 0, "runner %s was started with pool4 %s and pool6 "
		    "%s; this configuration says %s and %s: its sandboxes' "
		    "addresses depend on them. Restore them, or remove the "
		    "runner's sandboxes with isorund --purge", name,
		    p4 ? p4 : "?", p6 ? p6 : "?", d->d_conf.cf_pool4,
		    d->d_conf.cf_pool6);
		json_decref(j);
		return -1;
	}
	json_decref(j);
	return 0;
}

static int
runner_rec_write(struct isorund *d, struct ir_err *err)
{
	char	 path[600], *text;
	json_t	*j;
	int	 rc;

	snprintf(path, sizeof(path), "%s/runner.json", d->d_recdir);
	j = json_pack("{s:s, s:s, s:s, s:I}", "name", d->d_conf.cf_name,
	    "pool4", d->d_conf.cf_pool4, "pool6", d->d_conf.cf_pool6, "pid",
	    (json_int_t)getpid());
	if (j == NULL || (text = json_dumps(j, JSON_COMPACT)) == NULL) {
		json_decref(j);
		return err_set(err, ENOMEM, "out of memory");
	}
	json_decref(j);
	rc = file_put(path, text, true, err);
	free(text);
	return rc;
}

/* Adopts one recorded sandbox; on failure the record goes. */
static void
adopt_one(struct isorund *d, const char *file)
{
	struct api_record	 rec;
	struct api_error	 ae;
	struct policy		*pol;
	struct endpoints	*eps = NULL;
	struct dsb		*ds, *o;
	struct ir_err		 e;
	char			 path[600], *text = NULL;
	size_t			 len;
	long			 sz;
	FILE			*f;

	snprintf(path, sizeof(path), "%s/sandboxes/%s", d->d_recdir, file);
	if ((f = fopen(path, "re")) == NULL) {
		log_warnx("adopt: %s: %s", path, strerror(errno));
		return;
	}
	/* A record holds at most POL_RULES_MAX rules of POL_RULE_MAX bytes. */
	if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 &&
	    sz < 256L << 20 && fseek(f, 0, SEEK_SET) == 0 &&
	    (text = malloc((size_t)sz + 1)) != NULL)
		len = fread(text, 1, (size_t)sz, f);
	else
		len = 0;
	fclose(f);
	if (text == NULL || api_record_parse(text, len, path, &rec, &e) == -1) {
		log_warnx("adopt: %s; its sandbox will be destroyed",
		    text ? e.msg : "out of memory");
		free(text);
		unlink(path);
		return;
	}
	free(text);
	if (rec.rc_expires_ms != 0 && rec.rc_expires_ms <= now_ms()) {
		log_info("sandbox %s reached its lifetime while isorund was "
		    "down: destroying it", rec.rc_id);
		goto drop;
	}
	if ((pol = policy_compile((const char *const *)rec.rc_allow,
	    rec.rc_nallow, (const char *const *)rec.rc_deny, rec.rc_ndeny,
	    &e)) == NULL) {
		log_warnx("adopt %s: its recorded policy: %s; destroying it",
		    rec.rc_id, e.msg);
		goto drop;
	}
	if (rec.rc_endpoints != NULL && api_endpoints_compile(rec.rc_endpoints,
	    strlen(rec.rc_endpoints), &eps, &ae) == -1) {
		log_warnx("adopt %s: its recorded endpoints: %s; destroying it",
		    rec.rc_id, ae.ap_msg);
		policy_free(pol);
		goto drop;
	}
	if ((ds = dsb_new(rec.rc_id)) == NULL) {
		policy_free(pol);
		endpoints_free(eps);
		goto drop;
	}
	ds->ds_rs = runner_sandbox_adopt(d->d_runner, rec.rc_id, rec.rc_slot,
	    pol, eps, rec.rc_endpoints != NULL, rec.rc_dns_flags, &e);
	snprintf(ds->ds_mode, sizeof(ds->ds_mode), "%s",
	    pol_mode_name(policy_mode(pol)));
	policy_free(pol);
	endpoints_free(eps);
	if (ds->ds_rs == NULL) {
		log_warnx("cannot adopt sandbox %s: %s; destroying it",
		    rec.rc_id, e.msg);
		dsb_free(ds);
		goto drop;
	}
	ds->ds_rec = rec;
	dsb_net(ds);
	/* The table stays oldest first, whatever order readdir gave. */
	TAILQ_FOREACH(o, &d->d_sandboxes, ds_link)
		if (o->ds_rec.rc_created_ms > rec.rc_created_ms)
			break;
	if (o != NULL)
		TAILQ_INSERT_BEFORE(o, ds, ds_link);
	else
		TAILQ_INSERT_TAIL(&d->d_sandboxes, ds, ds_link);
	d->d_count++;
	log_info("adopted sandbox %s (slot %u, %s %s%s)", ds->ds_id,
	    rec.rc_slot, rec.rc_profile ? "profile" : "rules",
	    rec.rc_profile ? rec.rc_profile : ds->ds_mode,
	    rec.rc_endpoints ? ", endpoints" : "");
	return;
drop:
	unlink(path);
	api_record_free(&rec);
}

/* Every record file: adopt (`adopt`) or remove. */
static void
records_scan(struct isorund *d, bool adopt)
{
	char		 dir[600], path[1200];
	struct dirent	*de;
	DIR		*dp;
	size_t		 n;

	snprintf(dir, sizeof(dir), "%s/sandboxes", d->d_recdir);
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		n = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		if (adopt && n > 5 && strcmp(de->d_name + n - 5, ".json") == 0)
			adopt_one(d, de->d_name);
		else {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	}
	closedir(dp);
}

/* "/run/netns/<name>-sb<digits>" */
static bool
ours(const char *name, const char *netns)
{
	size_t	 n = strlen(GW_NETNS_DIR "/"), m = strlen(name);

	if (netns == NULL || strncmp(netns, GW_NETNS_DIR "/", n) != 0 ||
	    strncmp(netns + n, name, m) != 0 ||
	    strncmp(netns + n + m, "-sb", 3) != 0 || netns[n + m + 3] == '\0')
		return false;
	return strspn(netns + n + m + 3, "0123456789") ==
	    strlen(netns + n + m + 3);
}

/* isorund --purge: whatever a runner of this name left, gone. */
static int
purge(struct isorund *d, struct ir_err *err)
{
	struct sandbox_info	 si;
	struct sandbox		*sb;
	struct ir_err		 e;
	char			**ids, path[600];
	size_t			 i, n = 0;

	if ((ids = sandbox_list(&d->d_rc.rc_paths, err)) == NULL)
		return -1;
	for (i = 0; ids[i] != NULL; i++) {
		if ((sb = sandbox_open(&d->d_rc.rc_paths, ids[i], &e)) == NULL)
			continue;
		sandbox_info(sb, &si);
		if (ours(d->d_conf.cf_name, si.si_netns)) {
			if (sandbox_destroy(sb, &e) == -1)
				log_warnx("purge: %s", e.msg);
			else
				n++;
		}
		sandbox_free(sb);
	}
	sandbox_list_free(ids);
	if (gateway_purge(d->d_conf.cf_name, err) == -1)
		return -1;
	records_scan(d, false);
	snprintf(path, sizeof(path), "%s/runner.json", d->d_recdir);
	unlink(path);
	log_info("purged runner %s: %zu sandboxes destroyed, namespaces "
	    "removed", d->d_conf.cf_name, n);
	return 0;
}

int
sbx_start(struct isorund *d, bool purge_only, struct ir_err *err)
{
	struct ir_err	 e;
	bool		 have_rec, adopted = false;

	TAILQ_INIT(&d->d_sandboxes);
	pthread_mutex_init(&d->d_lock, NULL);
	pthread_cond_init(&d->d_cond, NULL);
	if (dirs_and_lock(d, err) == -1)
		return -1;
	if (purge_only)
		return purge(d, err);
	if (runner_rec_matches(d, &have_rec, err) == -1)
		goto fail;
	if (have_rec) {
		d->d_runner = runner_resume(&d->d_rc, &e);
		if (d->d_runner != NULL)
			adopted = true;
		else if (e.code == ENOENT)
			log_info("runner %s: its gateway is gone; starting "
			    "afresh (recorded sandboxes are destroyed)",
			    d->d_conf.cf_name);
		else {
			err_set(err, e.code, "resume runner %s: %s",
			    d->d_conf.cf_name, e.msg);
			goto fail;
		}
	}
	if (d->d_runner == NULL &&
	    (d->d_runner = runner_start(&d->d_rc, &e)) == NULL) {
		if (e.code == EEXIST)
			err_set(err, EEXIST, "%s; run_dir %s has no record of "
			    "it: another runner named %s uses it, or one died "
			    "with its records (isorund --purge removes it)",
			    e.msg, d->d_conf.cf_run_dir, d->d_conf.cf_name);
		else
			err_set(err, e.code, "start runner %s: %s",
			    d->d_conf.cf_name, e.msg);
		goto fail;
	}
	records_scan(d, adopted);
	if (runner_purge_unadopted(d->d_runner, &e) == -1)
		log_warnx("removing what was not adopted: %s", e.msg);
	if (runner_rec_write(d, err) == -1)
		goto fail;
	if (adopted)
		log_info("resumed runner %s with %u sandboxes",
		    d->d_conf.cf_name, d->d_count);
	return 0;
fail:
	/* Adopted or not, nothing is destroyed: the next start tries again. */
	if (d->d_runner != NULL)
		runner_detach(d->d_runner);
	d->d_runner = NULL;
	while (!TAILQ_EMPTY(&d->d_sandboxes)) {
		struct dsb *ds = TAILQ_FIRST(&d->d_sandboxes);

		TAILQ_REMOVE(&d->d_sandboxes, ds, ds_link);
		dsb_free(ds);
	}
	close(d->d_lockfd);
	d->d_lockfd = -1;
	return -1;
}

void
sbx_stop(struct isorund *d)
{
	struct dsb	*ds;
	struct ir_err	 e;
	char		 path[600];
	unsigned	 n = 0;
	bool		 keep = d->d_conf.cf_on_shutdown == API_SHUTDOWN_KEEP;

	pthread_mutex_lock(&d->d_lock);
	while ((ds = TAILQ_FIRST(&d->d_sandboxes)) != NULL) {
		TAILQ_REMOVE(&d->d_sandboxes, ds, ds_link);
		while (ds->ds_refs > 0)
			pthread_cond_wait(&d->d_cond, &d->d_lock);
		if (!keep && ds->ds_rs != NULL) {
			if (runner_sandbox_destroy(d->d_runner, ds->ds_rs,
			    &e) == -1)
				log_warnx("destroy %s: %s", ds->ds_id, e.msg);
			rec_unlink(d, ds->ds_id);
		}
		n++;
		dsb_free(ds);
	}
	d->d_count = 0;
	pthread_mutex_unlock(&d->d_lock);
	if (keep) {
		runner_detach(d->d_runner);
		log_info("stopped; %u sandboxes keep running without network "
		    "until isorund starts again", n);
	} else {
		runner_stop(d->d_runner);
		snprintf(path, sizeof(path), "%s/runner.json", d->d_recdir);
		unlink(path);
		log_info("stopped; %u sandboxes destroyed", n);
	}
	d->d_runner = NULL;
	if (d->d_lockfd != -1)
		close(d->d_lockfd);
	d->d_lockfd = -1;
	pthread_cond_destroy(&d->d_cond);
	pthread_mutex_destroy(&d->d_lock);
}
