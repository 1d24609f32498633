#include "endpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../secrets/secrets.h"

#define RENDER_MAX	(SECRET_VALUE_MAX * 2)

struct ep_rule {
	enum ep_verdict	 er_action;
	char		*er_method;	/* NULL: any */
	char		*er_path;	/* exact path, or the prefix without
					   its "/\*" ("" for "/\*") */
	size_t		 er_pathlen;
	int		 er_prefix;
	char		*er_text;	/* "deny DELETE /v1/admin/\*" */
};

struct ep_part {
	int		 ep_secret;	/* ep_text is a secret's name */
	char		*ep_text;
	size_t		 ep_len;
};

struct ep_cred {
	char		*ec_header;
	struct ep_part	*ec_parts;
	size_t		 ec_nparts;
};

struct ep_host {
	char		*eh_name;
	uint16_t	 eh_port;
	enum ep_verdict	 eh_default;
	struct ep_rule	*eh_rules;
	size_t		 eh_nrules;
	struct ep_cred	*eh_creds;
	size_t		 eh_ncreds;
};

struct endpoints {
	struct ep_host	*e_hosts;
	size_t		 e_n;
	char		**e_secrets;
	size_t		 e_nsecrets;
	unsigned	 e_refs;	/* atomic; endpoints_hold() */
};

/* Headers that frame or route a request: injecting one would let the
   runner's bytes change what the server reads as the request. */
static const char *const cred_forbidden[] = {
	"host", "content-length", "transfer-encoding", "connection",
	"keep-alive", "proxy-connection", "te", "trailer", "upgrade",
	"expect",
};

static int
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '~';
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
quote(const char *s, char *out, size_t outlen)
{
	str_quote(s, strlen(s), 128, out, outlen);
}

static void
rule_clear(struct ep_rule *r)
{
	free(r->er_method);
	free(r->er_path);
	free(r->er_text);
}

static void
cred_clear(struct ep_cred *c)
{
	for (size_t i = 0; i < c->ec_nparts; i++)
		free(c->ec_parts[i].ep_text);
	free(c->ec_parts);
	free(c->ec_header);
}

static void
host_clear(struct ep_host *h)
{
	size_t	 i;

	for (i = 0; i < h->eh_nrules; i++)
		rule_clear(&h->eh_rules[i]);
	for (i = 0; i < h->eh_ncreds; i++)
		cred_clear(&h->eh_creds[i]);
	free(h->eh_rules);
	free(h->eh_creds);
	free(h->eh_name);
}

void
endpoints_free(struct endpoints *e)
{
	size_t	 i;

	if (e == NULL ||
	    __atomic_sub_fetch(&e->e_refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (i = 0; i < e->e_n; i++)
		host_clear(&e->e_hosts[i]);
	for (i = 0; i < e->e_nsecrets; i++)
		free(e->e_secrets[i]);
	free(e->e_secrets);
	free(e->e_hosts);
	free(e);
}

struct endpoints *
endpoints_hold(struct endpoints *e)
{
	if (e != NULL)
		__atomic_add_fetch(&e->e_refs, 1, __ATOMIC_RELAXED);
	return e;
}

static int
nomem(struct ir_err *err, const char *what)
{
	return err_set(err, ENOMEM, "%s: out of memory", what);
}

/* `where` names the field ("endpoints[1].rules[0].method"). */
static int
method_parse(const char *m, struct ep_rule *r, const char *where,
    struct ir_err *err)
{
	char	 q[600];
	size_t	 i, len;

	if (m == NULL || *m == '\0')
		return err_set(err, EINVAL, "%s: missing", where);
	quote(m, q, sizeof(q));
	if (strcmp(m, "*") == 0)
		return 0;
	len = strlen(m);
	if (len > EP_METHOD_MAX)
		return err_set(err, EINVAL, "%s %s: longer than %d bytes",
		    where, q, EP_METHOD_MAX);
	for (i = 0; i < len; i++) {
		if (!is_tchar((unsigned char)m[i]))
			return err_set(err, EINVAL, "%s %s: not an HTTP "
			    "method (a token such as POST, or '*')", where, q);
		if (m[i] == '*')
			return err_set(err, EINVAL, "%s %s: '*' stands alone, "
			    "for any method", where, q);
	}
	if ((r->er_method = strdup(m)) == NULL)
		return nomem(err, where);
	return 0;
}

static const char *
path_char_why(unsigned char c)
{
	if (c == '%')
		return "write the character itself, not its escape: paths "
		    "are decoded before matching";
	if (c == '?')
		return "the query is not matched: remove it and what follows";
	if (c == '#')
		return "a fragment is never sent to a server";
	if (c == ';')
		return "';' starts path parameters, which servers read "
		    "differently: requests with it are refused";
	if (c == '\\')
		return "some servers read '\\' as '/': requests with it are "
		    "refused";
	return "only printable ASCII other than space, '%', '?', '#', ';' "
	    "and '\\' is allowed";
}

static int
path_parse(const char *p, struct ep_rule *r, const char *where,
    struct ir_err *err)
{
	char		 q[600];
	const char	*seg, *end;
	size_t		 len, n;

	if (p == NULL || *p == '\0')
		return err_set(err, EINVAL, "%s: missing", where);
	quote(p, q, sizeof(q));
	len = strlen(p);
	if (p[0] != '/')
		return err_set(err, EINVAL, "%s %s: must start with '/'",
		    where, q);
	if (len > EP_PATH_MAX)
		return err_set(err, EINVAL, "%s %s: longer than %d bytes",
		    where, q, EP_PATH_MAX);
	if (len >= 2 && strcmp(p + len - 2, "/*") == 0) {
		r->er_prefix = 1;
		n = len - 2;
	} else
		n = len;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '*')
			return err_set(err, EINVAL, "%s %s: '*' is only "
			    "allowed as the last segment, as in '/v1/*'",
			    where, q);
		if (c <= 0x20 || c >= 0x7f || strchr("%?#;\\", c) != NULL)
			return err_set(err, EINVAL, "%s %s: %s", where, q,
			    path_char_why(c));
	}
	/* Segments between slashes, over p[0..n). */
	for (seg = p + 1, end = p + n; seg <= end; ) {
		const char *slash = memchr(seg, '/', (size_t)(end - seg));
		size_t	    sl = (size_t)((slash ? slash : end) - seg);

		if ((sl == 1 && seg[0] == '.') ||
		    (sl == 2 && seg[0] == '.' && seg[1] == '.'))
			return err_set(err, EINVAL, "%s %s: a '.' or '..' "
			    "segment never matches: requests with one are "
			    "refused", where, q);
		if (sl == 0 && slash != NULL)
			return err_set(err, EINVAL, "%s %s: an empty segment "
			    "('//') never matches: requests with one are "
			    "refused", where, q);
		if (sl == 0 && r->er_prefix && n > 0)
			return err_set(err, EINVAL, "%s %s: an empty segment "
			    "('//') never matches: requests with one are "
			    "refused", where, q);
		if (slash == NULL)
			break;
		seg = slash + 1;
	}
	if ((r->er_path = strndup(p, n)) == NULL)
		return nomem(err, where);
	r->er_pathlen = n;
	return 0;
}

static int
rule_parse(const struct ep_rule_spec *s, size_t hi, size_t ri,
    struct ep_rule *r, struct ir_err *err)
{
	char	 where[96], q[600];

	snprintf(where, sizeof(where), "endpoints[%zu].rules[%zu].action",
	    hi, ri);
	if (s->ers_action == NULL || *s->ers_action == '\0')
		return err_set(err, EINVAL, "%s: missing", where);
	if (strcmp(s->ers_action, "allow") == 0)
		r->er_action = EP_ALLOW;
	else if (strcmp(s->ers_action, "deny") == 0)
		r->er_action = EP_DENY;
	else {
		quote(s->ers_action, q, sizeof(q));
		return err_set(err, EINVAL, "%s %s: must be \"allow\" or "
		    "\"deny\"", where, q);
	}
	snprintf(where, sizeof(where), "endpoints[%zu].rules[%zu].method",
	    hi, ri);
	if (method_parse(s->ers_method, r, where, err) == -1)
		return -1;
	snprintf(where, sizeof(where), "endpoints[%zu].rules[%zu].path",
	    hi, ri);
	if (path_parse(s->ers_path, r, where, err) == -1)
		return -1;
	if (asprintf(&r->er_text, "%s %s %s", s->ers_action, s->ers_method,
	    s->ers_path) == -1) {
		r->er_text = NULL;
		return nomem(err, where);
	}
	return 0;
}

static int
part_add(struct ep_cred *c, int secret, const char *s, size_t len)
{
	struct ep_part	*np;

	if (len == 0)
		return 0;
	if (!secret && c->ec_nparts > 0 &&
	    !c->ec_parts[c->ec_nparts - 1].ep_secret) {
		struct ep_part	*last = &c->ec_parts[c->ec_nparts - 1];
		char		*t = realloc(last->ep_text, last->ep_len +
				    len + 1);

		if (t == NULL)
			return -1;
		memcpy(t + last->ep_len, s, len);
		last->ep_len += len;
		t[last->ep_len] = '\0';
		last->ep_text = t;
		return 0;
	}
	np = reallocarray(c->ec_parts, c->ec_nparts + 1, sizeof(*np));
	if (np == NULL)
		return -1;
	c->ec_parts = np;
	np = &c->ec_parts[c->ec_nparts];
	if ((np->ep_text = strndup(s, len)) == NULL)
		return -1;
	np->ep_secret = secret;
	np->ep_len = len;
	c->ec_nparts++;
	return 0;
}

static int
template_parse(const char *v, struct ep_cred *c, const char *where,
    struct ir_err *err)
{
	char		 q[600], name[SECRET_NAME_MAX + 8];
	struct ir_err	 sub;
	const char	*p, *close;
	size_t		 len = strlen(v);

	quote(v, q, sizeof(q));
	if (len == 0)
		return err_set(err, EINVAL, "%s: the value is empty", where);
	if (len > EP_VALUE_MAX)
		return err_set(err, EINVAL, "%s %s: longer than %d bytes",
		    where, q, EP_VALUE_MAX);
	for (p = v; *p; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return err_set(err, EINVAL, "%s %s: a header value "
			    "cannot hold a line break or control byte", where,
			    q);
	for (p = v; *p; ) {
		const char *dollar = strchr(p, '$');

		if (dollar == NULL) {
			if (part_add(c, 0, p, strlen(p)) == -1)
				return nomem(err, where);
			break;
		}
		if (part_add(c, 0, p, (size_t)(dollar - p)) == -1)
			return nomem(err, where);
		if (dollar[1] == '$') {
			if (part_add(c, 0, "$", 1) == -1)
				return nomem(err, where);
			p = dollar + 2;
			continue;
		}
		if (strncmp(dollar, "${secret:", 9) != 0)
			return err_set(err, EINVAL, "%s %s: '$' starts "
			    "${secret:NAME}, or '$$' for a '$'", where, q);
		if ((close = strchr(dollar + 9, '}')) == NULL)
			return err_set(err, EINVAL, "%s %s: '${secret:' "
			    "without its '}'", where, q);
		if ((size_t)(close - dollar - 9) > SECRET_NAME_MAX) {
			return err_set(err, EINVAL, "%s %s: a secret name is "
			    "at most %d characters", where, q,
			    SECRET_NAME_MAX);
		}
		memcpy(name, dollar + 9, (size_t)(close - dollar - 9));
		name[close - dollar - 9] = '\0';
		if (secrets_name_check(name, &sub) == -1)
			return err_set(err, EINVAL, "%s %s: %s", where, q,
			    sub.msg);
		if (part_add(c, 1, name, strlen(name)) == -1)
			return nomem(err, where);
		p = close + 1;
	}
	return 0;
}

static int
header_check(const char *h, size_t len, const char *where, struct ir_err *err)
{
	char	 q[600];
	size_t	 i;

	str_quote(h, len, 128, q, sizeof(q));
	if (len == 0)
		return err_set(err, EINVAL, "%s: missing", where);
	if (len > EP_HEADER_MAX)
		return err_set(err, EINVAL, "%s %s: longer than %d bytes",
		    where, q, EP_HEADER_MAX);
	for (i = 0; i < len; i++)
		if (!is_tchar((unsigned char)h[i]))
			return err_set(err, EINVAL, "%s %s: not a header name "
			    "(letters, digits and !#$%%&'*+-.^_`|~)", where,
			    q);
	for (i = 0; i < sizeof(cred_forbidden) / sizeof(cred_forbidden[0]);
	    i++)
		if (strlen(cred_forbidden[i]) == len &&
		    strncasecmp(h, cred_forbidden[i], len) == 0)
			return err_set(err, EINVAL, "%s %s: frames or routes "
			    "the request, so it cannot be a credential", where,
			    q);
	return 0;
}

static int
cred_parse(const struct ep_cred_spec *s, size_t hi, size_t ci,
    struct ep_cred *c, struct ir_err *err)
{
	char		 where[96], q[600];
	const char	*hdr = s->ecs_header, *val = s->ecs_value, *colon;
	size_t		 hlen;

	if (hdr != NULL) {
		snprintf(where, sizeof(where),
		    "endpoints[%zu].credentials[%zu].header", hi, ci);
		hlen = strlen(hdr);
	} else {
		snprintf(where, sizeof(where), "endpoints[%zu].credentials[%zu]",
		    hi, ci);
		if (val == NULL || *val == '\0')
			return err_set(err, EINVAL, "%s: missing", where);
		if ((colon = strchr(val, ':')) == NULL) {
			quote(val, q, sizeof(q));
			return err_set(err, EINVAL, "%s %s: not "
			    "'Header: value'", where, q);
		}
		hdr = val;
		hlen = (size_t)(colon - val);
		for (val = colon + 1; *val == ' ' || *val == '\t'; val++)
			;
	}
	if (header_check(hdr, hlen, where, err) == -1)
		return -1;
	if ((c->ec_header = strndup(hdr, hlen)) == NULL)
		return nomem(err, where);
	snprintf(where, sizeof(where), "endpoints[%zu].credentials[%zu].value",
	    hi, ci);
	if (val == NULL)
		return err_set(err, EINVAL, "%s: missing", where);
	return template_parse(val, c, where, err);
}

static int
secret_note(struct endpoints *e, const char *name)
{
	char	**nv;

	for (size_t i = 0; i < e->e_nsecrets; i++)
		if (strcmp(e->e_secrets[i], name) == 0)
			return 0;
	nv = reallocarray(e->e_secrets, e->e_nsecrets + 1, sizeof(*nv));
	if (nv == NULL)
		return -1;
	e->e_secrets = nv;
	if ((nv[e->e_nsecrets] = strdup(name)) == NULL)
		return -1;
	e->e_nsecrets++;
	return 0;
}

static int
host_parse(const struct ep_host_spec *s, size_t hi, struct ep_host *h,
    struct ir_err *err)
{
	struct pol_rule	 r;
	struct ir_err	 sub;
	char		 q[600];
	int		 any_allow = 0;
	size_t		 i, j;

	if (s->ehs_host == NULL || *s->ehs_host == '\0')
		return err_set(err, EINVAL, "endpoints[%zu].host: missing", hi);
	quote(s->ehs_host, q, sizeof(q));
	if (pol_rule_parse(s->ehs_host, POL_ALLOW, 0, &r, &sub) == -1)
		return err_set(err, EINVAL, "endpoints[%zu].host %s", hi,
		    sub.msg);
	if (r.kind != POL_HOST) {
		pol_rule_clear(&r);
		return err_set(err, EINVAL, "endpoints[%zu].host %s: %s", hi,
		    q, r.kind == POL_ADDR ? "an IP address; endpoint rules "
		    "need the host name the guest's TLS client asks for" :
		    "wildcards are not supported: name each host, since its "
		    "credentials must go to that host only");
	}
	h->eh_name = r.name;
	r.name = NULL;
	h->eh_port = r.port ? r.port : EP_PORT_DEFAULT;
	pol_rule_clear(&r);

	if (s->ehs_nrules > EP_RULES_MAX)
		return err_set(err, EINVAL, "endpoints[%zu].rules: %zu rules, "
		    "more than %d", hi, s->ehs_nrules, EP_RULES_MAX);
	if (s->ehs_nrules > 0 &&
	    (h->eh_rules = calloc(s->ehs_nrules, sizeof(*h->eh_rules))) == NULL)
		return nomem(err, "endpoints");
	for (i = 0; i < s->ehs_nrules; i++) {
		h->eh_nrules++;
		if (rule_parse(&s->ehs_rules[i], hi, i, &h->eh_rules[i],
		    err) == -1)
			return -1;
		any_allow |= h->eh_rules[i].er_action == EP_ALLOW;
	}
	if (s->ehs_default == NULL || *s->ehs_default == '\0')
		h->eh_default = any_allow ? EP_DENY : EP_ALLOW;
	else if (strcmp(s->ehs_default, "allow") == 0)
		h->eh_default = EP_ALLOW;
	else if (strcmp(s->ehs_default, "deny") == 0)
		h->eh_default = EP_DENY;
	else {
		quote(s->ehs_default, q, sizeof(q));
		return err_set(err, EINVAL, "endpoints[%zu].default %s: must "
		    "be \"allow\" or \"deny\"", hi, q);
	}

	if (s->ehs_ncreds > EP_CREDS_MAX)
		return err_set(err, EINVAL, "endpoints[%zu].credentials: %zu, "
		    "more than %d", hi, s->ehs_ncreds, EP_CREDS_MAX);
	if (s->ehs_ncreds > 0 &&
	    (h->eh_creds = calloc(s->ehs_ncreds, sizeof(*h->eh_creds))) == NULL)
		return nomem(err, "endpoints");
	for (i = 0; i < s->ehs_ncreds; i++) {
		h->eh_ncreds++;
		if (cred_parse(&s->ehs_creds[i], hi, i, &h->eh_creds[i],
		    err) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcasecmp(h->eh_creds[j].ec_header,
			    h->eh_creds[i].ec_header) == 0) {
				quote(h->eh_creds[i].ec_header, q, sizeof(q));
				return err_set(err, EINVAL, "endpoints[%zu]."
				    "credentials[%zu].header %s: given twice "
				    "(credentials[%zu])", hi, i, q, j);
			}
	}
	return 0;
}

struct endpoints *
endpoints_compile(const struct ep_host_spec *hs, size_t n, struct ir_err *err)
{
	struct endpoints	*e;
	struct ep_host		*h;
	size_t			 i, j, k;

	if (n > EP_HOSTS_MAX) {
		err_set(err, EINVAL, "endpoints: %zu entries, more than %d", n,
		    EP_HOSTS_MAX);
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (n > 0 && (e->e_hosts = calloc(n, sizeof(*e->e_hosts))) == NULL)) {
		free(e);
		nomem(err, "endpoints");
		return NULL;
	}
	e->e_refs = 1;
	for (i = 0; i < n; i++) {
		h = &e->e_hosts[i];
		e->e_n++;
		if (host_parse(&hs[i], i, h, err) == -1)
			goto fail;
		for (j = 0; j < i; j++)
			if (e->e_hosts[j].eh_port == h->eh_port &&
			    strcmp(e->e_hosts[j].eh_name, h->eh_name) == 0) {
				err_set(err, EINVAL, "endpoints[%zu].host '%s': "
				    "port %u already has an entry "
				    "(endpoints[%zu])", i, h->eh_name,
				    h->eh_port, j);
				goto fail;
			}
		for (j = 0; j < h->eh_ncreds; j++)
			for (k = 0; k < h->eh_creds[j].ec_nparts; k++)
				if (h->eh_creds[j].ec_parts[k].ep_secret &&
				    secret_note(e,
				    h->eh_creds[j].ec_parts[k].ep_text) == -1) {
					nomem(err, "endpoints");
					goto fail;
				}
	}
	return e;
fail:
	endpoints_free(e);
	return NULL;
}

int
endpoints_check_policy(const struct endpoints *e, const struct policy *p,
    struct ir_err *err)
{
	struct pol_target	 t;
	struct pol_decision	 d;
	struct pol_name		 nm;
	char			 why[400];

	for (size_t i = 0; i < e->e_n; i++) {
		memset(&t, 0, sizeof(t));
		nm.s = e->e_hosts[i].eh_name;
		nm.len = strlen(nm.s);
		t.port = e->e_hosts[i].eh_port;
		t.names = &nm;
		t.nnames = 1;
		policy_eval(p, NULL, &t, &d);
		if (d.verdict == POL_PERMITTED)
			continue;
		policy_explain(p, &t, &d, why, sizeof(why));
		return err_set(err, EINVAL, "endpoints[%zu].host '%s' port %u: "
		    "the network policy blocks it (%s); endpoint rules only "
		    "narrow what the policy permits", i,
		    e->e_hosts[i].eh_name, e->e_hosts[i].eh_port, why);
	}
	return 0;
}

size_t
endpoints_count(const struct endpoints *e)
{
	return e->e_n;
}

const struct ep_host *
endpoints_get(const struct endpoints *e, size_t i)
{
	return i < e->e_n ? &e->e_hosts[i] : NULL;
}

static int
name_eq(const char *norm, const char *name, size_t len)
{
	if (len > 0 && name[len - 1] == '.')
		len--;
	return strlen(norm) == len && strncasecmp(norm, name, len) == 0 &&
	    memchr(name, '\0', len) == NULL;
}

const struct ep_host *
endpoints_lookup(const struct endpoints *e, const char *name, size_t len,
    uint16_t port)
{
	for (size_t i = 0; i < e->e_n; i++)
		if (e->e_hosts[i].eh_port == port &&
		    name_eq(e->e_hosts[i].eh_name, name, len))
			return &e->e_hosts[i];
	return NULL;
}

int
endpoints_has_name(const struct endpoints *e, const char *name, size_t len)
{
	for (size_t i = 0; i < e->e_n; i++)
		if (name_eq(e->e_hosts[i].eh_name, name, len))
			return 1;
	return 0;
}

const char *
endpoints_secret(const struct endpoints *e, size_t i)
{
	return i < e->e_nsecrets ? e->e_secrets[i] : NULL;
}

const char *
ep_host_name(const struct ep_host *h)
{
	return h->eh_name;
}

uint16_t
ep_host_port(const struct ep_host *h)
{
	return h->eh_port;
}

size_t
ep_host_nrules(const struct ep_host *h)
{
	return h->eh_nrules;
}

const char *
ep_rule_text(const struct ep_host *h, size_t i)
{
	return i < h->eh_nrules ? h->eh_rules[i].er_text : NULL;
}

/* Whether authority a[0..len) names host:port ("host" means the scheme's
   default port, `defport`). */
static int
authority_ok(const char *a, size_t len, const char *host, uint16_t port,
    unsigned defport)
{
	const char	*colon = memchr(a, ':', len);
	size_t		 hl = colon ? (size_t)(colon - a) : len;
	unsigned	 pv = 0;

	if (colon != NULL) {
		const char *d = colon + 1;

		if (d == a + len || a + len - d > 5)
			return 0;
		for (; d < a + len; d++) {
			if (*d < '0' || *d > '9')
				return 0;
			pv = pv * 10 + (unsigned)(*d - '0');
		}
	} else
		pv = defport;
	return pv == port && name_eq(host, a, hl);
}

int
ep_host_header_ok(const struct ep_host *h, const char *v, size_t len)
{
	if (memchr(v, '@', len) != NULL)
		return 0;
	return authority_ok(v, len, h->eh_name, h->eh_port, h->eh_port);
}

#define AMBIGUOUS(...) do {						\
	snprintf(why, whylen, __VA_ARGS__);				\
	path[0] = '\0';							\
	return -1;							\
} while (0)

int
ep_target_normalize(const char *t, size_t tlen, const char *host,
    uint16_t port, char *path, char *why, size_t whylen)
{
	static const char hex[] = "0123456789ABCDEF";
	const char	*p, *end, *seg;
	size_t		 i, o = 0, alen, slen;
	unsigned	 defport;

	if (tlen == 0)
		AMBIGUOUS("an empty target");
	if (tlen > EP_TARGET_MAX)
		AMBIGUOUS("longer than %d bytes", EP_TARGET_MAX);
	for (i = 0; i < tlen; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c <= 0x20 || c >= 0x7f)
			AMBIGUOUS("a control, space or non-ASCII byte");
		if (c == '#')
			AMBIGUOUS("a '#'");
	}
	end = t + tlen;
	if (tlen > 8 && strncasecmp(t, "https://", 8) == 0)
		slen = 8, defport = 443;
	else
		slen = 0, defport = 0;
	if (t[0] == '/')
		p = t;
	else if (host != NULL && tlen > 7 && strncasecmp(t, "http://", 7) == 0)
		AMBIGUOUS("an absolute-form target with scheme http inside TLS");
	else if (host != NULL && slen > 0) {
		const char *a = t + slen;

		for (p = a; p < end && *p != '/' && *p != '?'; p++)
			;
		alen = (size_t)(p - a);
		if (memchr(a, '@', alen) != NULL)
			AMBIGUOUS("userinfo in the authority");
		if (!authority_ok(a, alen, host, port, defport))
			AMBIGUOUS("an absolute-form target for another host "
			    "or port");
		if (p == end || *p == '?') {
			memcpy(path, "/", 2);
			return 0;
		}
	} else
		AMBIGUOUS("not origin-form (the target must start with "
		    "'/')");
	for (; p < end && *p != '?'; p++) {
		unsigned char c = (unsigned char)*p;
		int	 hi, lo, v;

		if (c == '\\')
			AMBIGUOUS("a '\\' in the path");
		if (c == ';')
			AMBIGUOUS("a ';' in the path");
		if (c != '%') {
			path[o++] = (char)c;
			continue;
		}
		if (end - p < 3 || (hi = hexval((unsigned char)p[1])) < 0 ||
		    (lo = hexval((unsigned char)p[2])) < 0)
			AMBIGUOUS("a '%%' not followed by two hex digits");
		v = hi * 16 + lo;
		if (is_unreserved((unsigned char)v))
			path[o++] = (char)v;
		else if (v < 0x20 || v >= 0x7f || strchr("/.\\%;", v) != NULL)
			AMBIGUOUS("an escaped '/', '.', '\\', '%%', ';', "
			    "control or non-ASCII byte (%%%c%c)", hex[hi],
			    hex[lo]);
		else {
			path[o++] = '%';
			path[o++] = hex[hi];
			path[o++] = hex[lo];
		}
		p += 2;
	}
	path[o] = '\0';
	for (seg = path + 1; ; ) {
		const char *slash = strchr(seg, '/');
		size_t	    sl = slash ? (size_t)(slash - seg) : strlen(seg);

		if ((sl == 1 && seg[0] == '.') ||
		    (sl == 2 && seg[0] == '.' && seg[1] == '.'))
			AMBIGUOUS("a '.' or '..' segment");
		if (sl == 0 && slash != NULL)
			AMBIGUOUS("an empty segment ('//')");
		if (slash == NULL)
			break;
		seg = slash + 1;
	}
	return 0;
}

#undef AMBIGUOUS

static int
path_match(const struct ep_rule *r, const char *path, size_t len)
{
	int	(*cmp)(const char *, const char *, size_t) =
		    r->er_action == EP_DENY ? strncasecmp : strncmp;
	size_t	 n = r->er_pathlen;

	if (len < n || cmp(path, r->er_path, n) != 0)
		return 0;
	if (len == n)
		return 1;
	if (path[n] != '/')
		return 0;
	/* A prefix takes all below; an exact path also its trailing '/'. */
	return r->er_prefix || (len == n + 1 && n > 0 &&
	    r->er_path[n - 1] != '/');
}

static int
rule_match(const struct ep_rule *r, const char *m, size_t mlen,
    const char *path, size_t plen)
{
	if (r->er_method != NULL && (strlen(r->er_method) != mlen ||
	    strncasecmp(r->er_method, m, mlen) != 0))
		return 0;
	return path_match(r, path, plen);
}

void
ep_eval(const struct ep_host *h, const char *m, size_t mlen,
    const char *t, size_t tlen, struct ep_decision *d)
{
	char	 qm[EP_METHOD_MAX * 4 + 8], qp[200], sub[EP_WHY_MAX];
	size_t	 i, plen;
	int	 pass;

	d->ed_verdict = EP_DENY;
	d->ed_basis = EP_BY_AMBIGUOUS;
	d->ed_rule = -1;
	d->ed_path[0] = '\0';
	str_quote(m, mlen, EP_METHOD_MAX, qm, sizeof(qm));
	for (i = 0; i < mlen && i <= EP_METHOD_MAX; i++)
		if (!is_tchar((unsigned char)m[i]))
			break;
	if (mlen == 0 || mlen > EP_METHOD_MAX || i < mlen) {
		snprintf(d->ed_why, sizeof(d->ed_why), "method %s is not an "
		    "HTTP method token", qm);
		return;
	}
	if (ep_target_normalize(t, tlen, h->eh_name, h->eh_port, d->ed_path,
	    sub, sizeof(sub)) == -1) {
		str_quote(t, tlen, 96, qp, sizeof(qp));
		snprintf(d->ed_why, sizeof(d->ed_why), "ambiguous target %s: "
		    "%s", qp, sub);
		return;
	}
	plen = strlen(d->ed_path);
	str_quote(d->ed_path, plen, 96, qp, sizeof(qp));
	for (pass = 0; pass < 2; pass++) {
		enum ep_verdict want = pass == 0 ? EP_DENY : EP_ALLOW;

		for (i = 0; i < h->eh_nrules; i++) {
			const struct ep_rule *r = &h->eh_rules[i];

			if (r->er_action != want ||
			    !rule_match(r, m, mlen, d->ed_path, plen))
				continue;
			d->ed_verdict = want;
			d->ed_basis = EP_BY_RULE;
			d->ed_rule = (int)i;
			snprintf(d->ed_why, sizeof(d->ed_why), "%.*s %s matches "
			    "%s rule '%s'", (int)mlen, m, qp, want == EP_DENY ?
			    "deny" : "allow", r->er_text);
			return;
		}
	}
	d->ed_verdict = h->eh_default;
	d->ed_basis = EP_BY_DEFAULT;
	snprintf(d->ed_why, sizeof(d->ed_why), "no rule matches %.*s %s; the "
	    "default for %s is %s", (int)mlen, m, qp, h->eh_name,
	    h->eh_default == EP_ALLOW ? "allow" : "deny");
}

const char *
ep_decision_rule(const struct ep_host *h, const struct ep_decision *d)
{
	if (d->ed_basis == EP_BY_RULE && d->ed_rule >= 0 &&
	    (size_t)d->ed_rule < h->eh_nrules)
		return h->eh_rules[d->ed_rule].er_text;
	return d->ed_basis == EP_BY_DEFAULT ? "default" : "ambiguous";
}

size_t
ep_host_ncreds(const struct ep_host *h)
{
	return h->eh_ncreds;
}

const char *
ep_cred_header(const struct ep_host *h, size_t i)
{
	return i < h->eh_ncreds ? h->eh_creds[i].ec_header : NULL;
}

int
ep_host_is_cred_header(const struct ep_host *h, const char *name, size_t len)
{
	for (size_t i = 0; i < h->eh_ncreds; i++)
		if (strlen(h->eh_creds[i].ec_header) == len &&
		    strncasecmp(h->eh_creds[i].ec_header, name, len) == 0)
			return 1;
	return 0;
}

void
ep_cred_wipe(char *out, size_t len)
{
	if (out == NULL)
		return;
	explicit_bzero(out, len);
	free(out);
}

int
ep_cred_render(const struct ep_host *h, size_t i, ep_secret_get get,
    void *arg, char **out, size_t *outlen, struct ir_err *err)
{
	const struct ep_cred	*c;
	char			*buf, *v = NULL, *nb;
	size_t			 len = 0, cap = 0, vlen = 0, j, k;

	*out = NULL;
	*outlen = 0;
	if (i >= h->eh_ncreds)
		return err_set(err, EINVAL, "%s: no credential %zu",
		    h->eh_name, i);
	c = &h->eh_creds[i];
	if ((buf = malloc(EP_VALUE_MAX + 1)) == NULL)
		return nomem(err, c->ec_header);
	cap = EP_VALUE_MAX + 1;
	for (j = 0; j < c->ec_nparts; j++) {
		const struct ep_part *pt = &c->ec_parts[j];
		const char	     *src = pt->ep_text;
		size_t		      n = pt->ep_len;

		if (pt->ep_secret) {
			if (get(arg, pt->ep_text, &v, &vlen, err) == -1) {
				err_prefix(err, "credential '%s' for %s",
				    c->ec_header, h->eh_name);
				goto fail;
			}
			for (k = 0; k < vlen; k++)
				if (((unsigned char)v[k] < 0x20 &&
				    v[k] != '\t') || v[k] == 0x7f)
					break;
			if (k < vlen || vlen == 0) {
				err_set(err, EINVAL, "credential '%s' for %s: "
				    "secret '%s' %s, so it cannot go into a "
				    "header", c->ec_header, h->eh_name,
				    pt->ep_text, vlen == 0 ? "is empty" :
				    "holds a line break or control byte");
				goto fail;
			}
			src = v;
			n = vlen;
		}
		if (len + n + 1 > RENDER_MAX) {
			err_set(err, EFBIG, "credential '%s' for %s: longer "
			    "than %d bytes", c->ec_header, h->eh_name,
			    RENDER_MAX);
			goto fail;
		}
		if (len + n + 1 > cap) {
			if ((nb = malloc(len + n + 1)) == NULL) {
				nomem(err, c->ec_header);
				goto fail;
			}
			memcpy(nb, buf, len);
			explicit_bzero(buf, cap);
			free(buf);
			buf = nb;
			cap = len + n + 1;
		}
		memcpy(buf + len, src, n);
		len += n;
		if (v != NULL) {
			ep_cred_wipe(v, vlen);
			v = NULL;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
fail:
	ep_cred_wipe(v, vlen);
	ep_cred_wipe(buf, cap);
	return -1;
}
