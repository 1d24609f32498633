/*
 * policy.c - compile rule lists and evaluate connections against them.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

struct policy {
	struct pol_rule	*rules[2];	/* [POL_DENY], [POL_ALLOW] */
	size_t		 nrules[2];
	struct atrie	 v4, v6;
	struct ntab	 names;
	rref		 any[2];	/* "*" without a port, per list */
	struct pport	*anyports;	/* "*:PORT", sorted */
	uint32_t	 nanyports;
	int		 catchall;	/* a catch-all deny was given */
	int		 name_rules[2];	/* any HOST/WILD rule, per list */
	unsigned	 refs;		/* policy_hold() / policy_free() */
};

struct pol_guard {
	struct pol_rule	*rules;
	size_t		 nrules;
	struct atrie	 v4, v6;
};

/*
 * 0.0.0.0/8 and :: too: a connection to 0.0.0.0 (or ::) made from the
 * runner's namespace reaches the runner host itself, as loopback does.
 */
const char *const pol_guard_defaults[] = {
	"127.0.0.0/8", "::1", "169.254.0.0/16", "fe80::/10", "0.0.0.0/8",
	"::/128",
};
const size_t pol_guard_ndefaults =
    sizeof(pol_guard_defaults) / sizeof(pol_guard_defaults[0]);

static u128
addr_key(uint8_t family, const uint8_t *a)
{
	uint64_t	 hi, lo;
	uint32_t	 v4;

	if (family == 4) {
		memcpy(&v4, a, 4);
		return (u128)be32toh(v4) << 96;
	}
	memcpy(&hi, a, 8);
	memcpy(&lo, a + 8, 8);
	return ((u128)be64toh(hi) << 64) | be64toh(lo);
}

static int
parse_list(const char *const *texts, size_t n, enum pol_list list,
    struct pol_rule **out, struct ir_err *err)
{
	struct pol_rule	*r;
	size_t		 i;

	*out = NULL;
	if (n == 0)
		return 0;
	if ((r = calloc(n, sizeof(*r))) == NULL)
		return err_set(err, errno, "out of memory");
	for (i = 0; i < n; i++) {
		if (pol_rule_parse(texts[i], list, (uint32_t)i, &r[i],
		    err) == -1) {
			/* "deny[2] '*foo.com': why" */
			if (err != NULL) {
				char why[IR_ERR_MAX];

				memcpy(why, err->msg, sizeof(why));
				err_set(err, err->code, "%s[%zu] %s",
				    list == POL_DENY ? "deny" : "allow", i,
				    why);
			}
			while (i-- > 0)
				pol_rule_clear(&r[i]);
			free(r);
			return -1;
		}
	}
	*out = r;
	return 0;
}

static void
free_rules(struct pol_rule *r, size_t n)
{
	size_t	 i;

	for (i = 0; i < n && r != NULL; i++)
		pol_rule_clear(&r[i]);
	free(r);
}

static int
add_anyport(struct policy *p, uint16_t port, enum pol_list list, rref ref)
{
	struct pport	*pp;
	uint32_t	 i;

	for (i = 0; i < p->nanyports; i++)
		if (p->anyports[i].port == port)
			break;
	if (i == p->nanyports) {
		pp = realloc(p->anyports, (i + 1) * sizeof(*pp));
		if (pp == NULL)
			return -1;
		p->anyports = pp;
		/* keep sorted by port: insertion */
		while (i > 0 && p->anyports[i - 1].port > port) {
			p->anyports[i] = p->anyports[i - 1];
			i--;
		}
		memset(&p->anyports[i], 0, sizeof(p->anyports[i]));
		p->anyports[i].port = port;
		p->nanyports++;
	}
	if (p->anyports[i].r[list] == 0)
		p->anyports[i].r[list] = ref;
	return 0;
}

static int
policy_index(struct policy *p, enum pol_list list)
{
	const struct pol_rule	*r;
	size_t			 i;
	rref			 ref;
	int			 rc = 0;

	for (i = 0; i < p->nrules[list] && rc == 0; i++) {
		r = &p->rules[list][i];
		ref = (rref)(i + 1);
		switch (r->kind) {
		case POL_ADDR:
			if (list == POL_DENY && pol_rule_is_catchall(r)) {
				p->catchall = 1;
				break;
			}
			rc = atrie_add(r->family == 4 ? &p->v4 : &p->v6,
			    addr_key(r->family, r->addr),
			    r->plen, r->port, list,
			    ref);
			break;
		case POL_HOST:
		case POL_WILD:
			p->name_rules[list] = 1;
			rc = ntab_add(&p->names, r->name,
			    (r->kind == POL_HOST ? NK_EXACT_DENY : NK_WILD_DENY)
			    + (int)list, r->port, ref);
			break;
		case POL_ANY:
			if (r->port != 0)
				rc = add_anyport(p, r->port, list, ref);
			else if (list == POL_DENY)
				p->catchall = 1;
			else if (p->any[list] == 0)
				p->any[list] = ref;
			break;
		}
	}
	return rc;
}

void
policy_free(struct policy *p)
{
	if (p == NULL ||
	    __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	free_rules(p->rules[POL_DENY], p->nrules[POL_DENY]);
	free_rules(p->rules[POL_ALLOW], p->nrules[POL_ALLOW]);
	atrie_free(&p->v4);
	atrie_free(&p->v6);
	ntab_free(&p->names);
	free(p->anyports);
	free(p);
}

struct policy *
policy_compile(const char *const *allow, size_t nallow,
    const char *const *deny, size_t ndeny, struct ir_err *err)
{
	struct policy	*p;

	if (nallow > POL_RULES_MAX || ndeny > POL_RULES_MAX - nallow) {
		err_set(err, E2BIG, "%zu rules: a policy has at most %d",
		    nallow + ndeny, POL_RULES_MAX);
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		err_set(err, errno, "out of memory");
		return NULL;
	}
	p->refs = 1;
	if (parse_list(deny, ndeny, POL_DENY, &p->rules[POL_DENY], err) == -1)
		goto fail_parse;
	p->nrules[POL_DENY] = ndeny;
	if (parse_list(allow, nallow, POL_ALLOW, &p->rules[POL_ALLOW],
	    err) == -1)
		goto fail_parse;
	p->nrules[POL_ALLOW] = nallow;
	if (atrie_init(&p->v4, 32) == -1 || atrie_init(&p->v6, 128) == -1 ||
	    ntab_init(&p->names) == -1 ||
	    policy_index(p, POL_DENY) == -1 ||
	    policy_index(p, POL_ALLOW) == -1 ||
	    atrie_finish(&p->v4) == -1 || atrie_finish(&p->v6) == -1 ||
	    ntab_finish(&p->names) == -1) {
		err_set(err, ENOMEM, "out of memory compiling the policy");
		policy_free(p);
		return NULL;
	}
	return p;
fail_parse:
	policy_free(p);
	return NULL;
}

struct policy *
policy_hold(struct policy *p)
{
	if (p != NULL)
		__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
	return p;
}

enum pol_mode
policy_mode(const struct policy *p)
{
	if (p == NULL)
		return POL_MODE_ALLOW_ALL;
	if (p->nrules[POL_ALLOW] > 0)
		return POL_MODE_ALLOW_LIST;
	if (p->catchall)
		return POL_MODE_DENY_ALL;
	if (p->nrules[POL_DENY] > 0)
		return POL_MODE_DENY_LIST;
	return POL_MODE_ALLOW_ALL;
}

const char *
pol_mode_name(enum pol_mode m)
{
	switch (m) {
	case POL_MODE_ALLOW_ALL:
		return "allow-all";
	case POL_MODE_DENY_LIST:
		return "deny-list";
	case POL_MODE_ALLOW_LIST:
		return "allow-list";
	case POL_MODE_DENY_ALL:
		return "deny-all";
	}
	return "?";
}

int
policy_default_blocks(const struct policy *p)
{
	return p != NULL && (p->nrules[POL_ALLOW] > 0 || p->catchall);
}

size_t
policy_nrules(const struct policy *p, enum pol_list list)
{
	return p == NULL ? 0 : p->nrules[list];
}

const struct pol_rule *
policy_rule(const struct policy *p, enum pol_list list, size_t i)
{
	if (p == NULL || i >= p->nrules[list])
		return NULL;
	return &p->rules[list][i];
}

struct pol_guard *
pol_guard_compile(const char *const *cidrs, size_t n, struct ir_err *err)
{
	struct pol_guard	*g;
	const struct pol_rule	*r;
	size_t			 i;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		err_set(err, errno, "out of memory");
		return NULL;
	}
	if (parse_list(cidrs, n, POL_DENY, &g->rules, err) == -1) {
		err_prefix(err, "guard list");
		free(g);
		return NULL;
	}
	g->nrules = n;
	if (atrie_init(&g->v4, 32) == -1 || atrie_init(&g->v6, 128) == -1)
		goto nomem;
	for (i = 0; i < n; i++) {
		r = &g->rules[i];
		if (r->kind != POL_ADDR || r->port != 0) {
			char q[300];

			str_quote(r->text, strlen(r->text), 80, q, sizeof(q));
			err_set(err, EINVAL, "guard list[%zu] %s: only address "
			    "prefixes without a port can be guarded", i, q);
			pol_guard_free(g);
			return NULL;
		}
		if (atrie_add(r->family == 4 ? &g->v4 : &g->v6,
		    addr_key(r->family, r->addr), r->plen, 0, POL_DENY,
		    (rref)(i + 1)) == -1)
			goto nomem;
	}
	if (atrie_finish(&g->v4) == -1 || atrie_finish(&g->v6) == -1)
		goto nomem;
	return g;
nomem:
	err_set(err, ENOMEM, "out of memory compiling the guard list");
	pol_guard_free(g);
	return NULL;
}

void
pol_guard_free(struct pol_guard *g)
{
	if (g == NULL)
		return;
	free_rules(g->rules, g->nrules);
	atrie_free(&g->v4);
	atrie_free(&g->v6);
	free(g);
}

/*
 * The target as the evaluators see it: an IPv4-mapped IPv6 address becomes
 * IPv4.
 */
struct tgt {
	uint8_t		 family;
	uint8_t		 addr[16];
	u128		 key;
};

static void
tgt_init(struct tgt *x, const struct pol_target *t)
{
	x->family = t->family;
	memcpy(x->addr, t->addr, 16);
	if (t->family == 6 && memcmp(t->addr,
	    "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		x->family = 4;
		memmove(x->addr, t->addr + 12, 4);
		memset(x->addr + 4, 0, 12);
	}
	x->key = (x->family == 4 || x->family == 6) ?
	    addr_key(x->family, x->addr) : 0;
}

static void
decide(struct pol_decision *d, enum pol_verdict v, enum pol_basis b,
    const struct pol_rule *r, int name)
{
	d->verdict = v;
	d->basis = b;
	d->rule = r;
	d->name = name;
}

/*
 * Whether some name could change a decision taken on the address alone
 * (SPEC 2: decide at once when it cannot, so server-first protocols work).
 */
static int
name_could_matter(const struct policy *p, const struct pol_decision *d)
{
	if (p == NULL || d->basis == POL_BY_GUARD)
		return 0;
	if (d->verdict == POL_BLOCKED && d->basis == POL_BY_RULE)
		return 0;
	if (d->verdict == POL_PERMITTED)
		return p->name_rules[POL_DENY];
	return p->name_rules[POL_ALLOW];
}

/* The address as a lookup key; IPv4-mapped IPv6 is IPv4. */
struct akey {
	int		 family;	/* 4, 6, or 0: none */
	uint32_t	 k4;		/* host order */
	u128		 k6;
};

static inline void
akey_init(struct akey *k, const struct pol_target *t)
{
	uint64_t	 hi, lo;
	uint32_t	 v4;

	k->family = 0;
	k->k4 = 0;
	k->k6 = 0;
	if (t->family == 4) {
		memcpy(&v4, t->addr, 4);
		k->k4 = be32toh(v4);
		k->family = 4;
	} else if (t->family == 6) {
		memcpy(&hi, t->addr, 8);
		memcpy(&lo, t->addr + 8, 8);
		hi = be64toh(hi);
		lo = be64toh(lo);
		if (hi == 0 && lo >> 32 == 0xffff) {
			k->k4 = (uint32_t)lo;
			k->family = 4;
		} else {
			k->k6 = (u128)hi << 64 | lo;
			k->family = 6;
		}
	}
}

static inline void
akey_lookup(const struct atrie *v4, const struct atrie *v6,
    const struct akey *k, uint16_t port, rref best[2])
{
	if (k->family == 4)
		atrie_lookup4(v4, k->k4, port, best);
	else if (k->family == 6)
		atrie_lookup(v6, k->k6, port, best);
	else
		best[0] = best[1] = 0;
}

void
policy_eval(const struct policy *p, const struct pol_guard *g,
    const struct pol_target *t, struct pol_decision *d)
{
	rref			 a[2] = { 0, 0 }, nb[2], gb[2], nallow = 0;
	const struct pport	*pp = NULL;
	struct akey		 k;
	size_t			 i;
	int			 fallow = -1;

	akey_init(&k, t);
	if (p != NULL) {
		akey_lookup(&p->v4, &p->v6, &k, t->port, a);
		if (a[POL_DENY] != 0) {
			decide(d, POL_BLOCKED, POL_BY_RULE,
			    &p->rules[POL_DENY][a[POL_DENY] - 1], -1);
			goto out;
		}
		/* the first name with a deny rule decides; remember the
		 * first with an allow rule */
		for (i = 0; i < t->nnames && p->names.ne != 0; i++) {
			ntab_lookup(&p->names, t->names[i].s, t->names[i].len,
			    t->port, nb);
			if (nb[POL_DENY] != 0) {
				decide(d, POL_BLOCKED, POL_BY_RULE,
				    &p->rules[POL_DENY][nb[POL_DENY] - 1],
				    (int)i);
				goto out;
			}
			if (nb[POL_ALLOW] != 0 && fallow < 0) {
				fallow = (int)i;
				nallow = nb[POL_ALLOW];
			}
		}
		if (t->port != 0 && p->nanyports != 0)
			pp = pport_find(p->anyports, p->nanyports, t->port);
		if (pp != NULL && pp->r[POL_DENY] != 0) {
			decide(d, POL_BLOCKED, POL_BY_RULE,
			    &p->rules[POL_DENY][pp->r[POL_DENY] - 1], -1);
			goto out;
		}
	}
	if (g != NULL) {
		akey_lookup(&g->v4, &g->v6, &k, 0, gb);
		if (gb[POL_DENY] != 0) {
			decide(d, POL_BLOCKED, POL_BY_GUARD,
			    &g->rules[gb[POL_DENY] - 1], -1);
			goto out;
		}
	}
	if (p == NULL)
		decide(d, POL_PERMITTED, POL_BY_DEFAULT, NULL, -1);
	else if (a[POL_ALLOW] != 0)
		decide(d, POL_PERMITTED, POL_BY_RULE,
		    &p->rules[POL_ALLOW][a[POL_ALLOW] - 1], -1);
	else if (fallow >= 0)
		decide(d, POL_PERMITTED, POL_BY_RULE,
		    &p->rules[POL_ALLOW][nallow - 1], fallow);
	else if (pp != NULL && pp->r[POL_ALLOW] != 0)
		decide(d, POL_PERMITTED, POL_BY_RULE,
		    &p->rules[POL_ALLOW][pp->r[POL_ALLOW] - 1], -1);
	else if (p->any[POL_ALLOW] != 0)
		decide(d, POL_PERMITTED, POL_BY_RULE,
		    &p->rules[POL_ALLOW][p->any[POL_ALLOW] - 1], -1);
	else
		decide(d, policy_default_blocks(p) ? POL_BLOCKED :
		    POL_PERMITTED, POL_BY_DEFAULT, NULL, -1);
out:
	d->name_matters = t->nnames == 0 ? name_could_matter(p, d) : 0;
}

/* ---- the reference: every rule, in order ---- */

static int
naive_addr_match(const struct pol_rule *r, const struct tgt *x)
{
	uint8_t	 a[16];

	if (r->kind != POL_ADDR || r->family != x->family)
		return 0;
	memcpy(a, x->addr, 16);
	if (r->plen == 0)
		return 1;
	for (unsigned i = 0, left = r->plen; left > 0; i++) {
		unsigned m = left >= 8 ? 0xff : (0xff00 >> left) & 0xff;

		if ((a[i] & m) != r->addr[i])
			return 0;
		left = left >= 8 ? left - 8 : 0;
	}
	return 1;
}

/* 0: no match; else a rank where higher is more specific. */
static int
naive_name_rank(const struct pol_rule *r, const struct pol_name *n)
{
	size_t	 len = n->len, rl;

	if (r->kind != POL_HOST && r->kind != POL_WILD)
		return 0;
	if (len > 0 && n->s[len - 1] == '.')
		len--;
	rl = strlen(r->name);
	if (r->kind == POL_HOST)
		return len == rl && strncasecmp(n->s, r->name, rl) == 0 &&
		    memchr(n->s, '\0', len) == NULL ? 1000 : 0;
	if (len < rl + 2 || n->s[len - rl - 1] != '.' ||
	    strncasecmp(n->s + len - rl, r->name, rl) != 0 ||
	    memchr(n->s + len - rl, '\0', rl) != NULL)
		return 0;
	return 1 + (int)rl;
}

static int
port_ok(const struct pol_rule *r, uint16_t port)
{
	return r->port == 0 || (port != 0 && r->port == port);
}

/* Is (rank a, rule a) more specific than (rank b, rule b)? */
static int
naive_better(int ra, const struct pol_rule *a, int rb,
    const struct pol_rule *b)
{
	if (b == NULL)
		return 1;
	if (ra != rb)
		return ra > rb;
	if ((a->port != 0) != (b->port != 0))
		return a->port != 0;
	return a->index < b->index;
}

/* The most specific rule of `list` matching the address, or one name, or
 * "*:port", following the order in policy.h. */
static const struct pol_rule *
naive_step(const struct policy *p, enum pol_list list, const struct tgt *x,
    const struct pol_target *t, int *name)
{
	const struct pol_rule	*best = NULL, *r;
	int			 brank = 0, rank;
	size_t			 i, k;

	*name = -1;
	for (i = 0; i < p->nrules[list]; i++) {
		r = &p->rules[list][i];
		if (list == POL_DENY && pol_rule_is_catchall(r))
			continue;
		if (!port_ok(r, t->port) || !naive_addr_match(r, x))
			continue;
		rank = r->plen;
		if (naive_better(rank, r, brank, best)) {
			best = r;
			brank = rank;
		}
	}
	if (best != NULL)
		return best;
	for (k = 0; k < t->nnames; k++) {
		for (i = 0; i < p->nrules[list]; i++) {
			r = &p->rules[list][i];
			if (!port_ok(r, t->port))
				continue;
			rank = naive_name_rank(r, &t->names[k]);
			if (rank != 0 && naive_better(rank, r, brank, best)) {
				best = r;
				brank = rank;
			}
		}
		if (best != NULL) {
			*name = (int)k;
			return best;
		}
	}
	for (i = 0; i < p->nrules[list]; i++) {
		r = &p->rules[list][i];
		if (r->kind != POL_ANY || !port_ok(r, t->port))
			continue;
		if (list == POL_DENY && r->port == 0)
			continue;
		if (naive_better(0, r, 0, best))
			best = r;
	}
	return best;
}

void
policy_eval_naive(const struct policy *p, const struct pol_guard *g,
    const struct pol_target *t, struct pol_decision *d)
{
	const struct pol_rule	*r;
	struct tgt		 x;
	size_t			 i;
	int			 name;

	tgt_init(&x, t);
	d->name_matters = 0;
	if (p != NULL && (r = naive_step(p, POL_DENY, &x, t, &name)) != NULL) {
		decide(d, POL_BLOCKED, POL_BY_RULE, r, name);
		goto out;
	}
	if (g != NULL) {
		const struct pol_rule *best = NULL;

		for (i = 0; i < g->nrules; i++) {
			r = &g->rules[i];
			if (naive_addr_match(r, &x) &&
			    (best == NULL || r->plen > best->plen))
				best = r;
		}
		if (best != NULL) {
			decide(d, POL_BLOCKED, POL_BY_GUARD, best, -1);
			goto out;
		}
	}
	if (p != NULL && (r = naive_step(p, POL_ALLOW, &x, t, &name)) != NULL) {
		decide(d, POL_PERMITTED, POL_BY_RULE, r, name);
		goto out;
	}
	decide(d, policy_default_blocks(p) ? POL_BLOCKED : POL_PERMITTED,
	    POL_BY_DEFAULT, NULL, -1);
out:
	if (t->nnames == 0)
		d->name_matters = name_could_matter(p, d);
}

/* ---- reporting ---- */

const char *
pol_verdict_name(enum pol_verdict v)
{
	return v == POL_PERMITTED ? "permitted" : "blocked";
}

const char *
pol_decision_rule(const struct pol_decision *d)
{
	switch (d->basis) {
	case POL_BY_RULE:
		return d->rule->text;
	case POL_BY_GUARD:
		return "guard";
	case POL_BY_DEFAULT:
		break;
	}
	return "default";
}

static void
target_addr_str(const struct pol_target *t, char *buf, size_t len)
{
	struct tgt x;

	tgt_init(&x, t);
	if (x.family == 4 || x.family == 6)
		inet_ntop(x.family == 4 ? AF_INET : AF_INET6, x.addr, buf,
		    (socklen_t)len);
	else
		snprintf(buf, len, "(none)");
}

int
policy_explain(const struct policy *p, const struct pol_target *t,
    const struct pol_decision *d, char *buf, size_t len)
{
	char		 a[INET6_ADDRSTRLEN], q[300], port[16] = "";
	const char	*list;

	target_addr_str(t, a, sizeof(a));
	if (t->port != 0)
		snprintf(port, sizeof(port), " port %u", t->port);
	switch (d->basis) {
	case POL_BY_GUARD:
		return snprintf(buf, len, "destination %s is in the guard "
		    "list (%s): no sandbox may reach it", a, d->rule->text);
	case POL_BY_RULE:
		list = d->rule->list == POL_DENY ? "deny" : "allow";
		if (d->name >= 0) {
			const struct pol_name *n = &t->names[d->name];

			str_quote(n->s, n->len, 80, q, sizeof(q));
			return snprintf(buf, len, "name %s%s matches %s rule "
			    "'%s'", q, port, list, d->rule->text);
		}
		if (d->rule->kind == POL_ANY)
			return snprintf(buf, len, "every destination%s matches "
			    "%s rule '%s'", port, list, d->rule->text);
		return snprintf(buf, len, "destination %s%s matches %s rule "
		    "'%s'", a, port, list, d->rule->text);
	case POL_BY_DEFAULT:
		break;
	}
	if (d->verdict == POL_PERMITTED)
		return snprintf(buf, len, "no rule matches; the default is "
		    "permitted (%s policy)", pol_mode_name(policy_mode(p)));
	if (policy_mode(p) == POL_MODE_DENY_ALL)
		return snprintf(buf, len, "the policy blocks every destination "
		    "(deny-all policy)");
	return snprintf(buf, len, "no allow rule matches%s; the default is "
	    "blocked (allow-list policy)",
	    t->family == 0 ? " the name (no address given)" :
	    t->nnames == 0 ? " the address" : "");
}

int
pol_target_set_addr(struct pol_target *t, const char *s)
{
	char	 buf[INET6_ADDRSTRLEN + 2];
	size_t	 n = strlen(s);

	memset(t->addr, 0, sizeof(t->addr));
	t->family = 0;
	if (inet_pton(AF_INET, s, t->addr) == 1) {
		t->family = 4;
		return 0;
	}
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
		s = buf;
	}
	if (inet_pton(AF_INET6, s, t->addr) == 1) {
		t->family = 6;
		return 0;
	}
	memset(t->addr, 0, sizeof(t->addr));
	return -1;
}
