/*
 * policy.h - egress policy: parse rules, compile them, evaluate connections.
 *
 * Pure logic: no I/O, no globals, no locks. A compiled `struct policy` is
 * immutable, so any number of threads may evaluate it at once; replacing a
 * sandbox's policy means compiling a new one and swapping the pointer.
 *
 * Semantics are SPEC.md section 2:
 *   1. the destination address, or any of the connection's names, matches a
 *      deny rule                    -> blocked (rule);
 *   1b. the address is in the guard list -> blocked ("guard");
 *   2. it matches an allow rule     -> permitted (rule);
 *   3. otherwise the default: blocked if the policy has any allow rule or a
 *      catch-all deny, permitted otherwise ("default").
 * A catch-all deny (`0.0.0.0/0`, `::/0` or `*`, without a port) never matches
 * in step 1: it only makes the default "blocked", for both address families.
 *
 * When several rules match, the one reported is the most specific: for
 * addresses the longest prefix, then a rule with a port before one without,
 * then the earliest in its list; for names an exact hostname before a
 * wildcard, a longer wildcard suffix before a shorter one, then port, then
 * list order; names are tried in the order given, the address before names,
 * and `*` (any destination) last. policy_eval_naive() is the reference
 * implementation of exactly this order.
 */
#ifndef ISORUN_POLICY_H
#define ISORUN_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

#define POL_NAME_MAX	253	/* DNS name, without the trailing dot */
#define POL_LABEL_MAX	63
#define POL_RULE_MAX	1024	/* longest rule text accepted, in bytes */
#define POL_RULES_MAX	100000	/* rules in one policy (allow + deny) */

enum pol_list {
	POL_DENY = 0,
	POL_ALLOW = 1,
};

enum pol_kind {
	POL_ADDR,	/* IPv4/IPv6 prefix; a literal is a /32 or /128 */
	POL_HOST,	/* exact hostname */
	POL_WILD,	/* "*.suffix": one or more labels in front of suffix */
	POL_ANY,	/* "*": every destination */
};

struct pol_rule {
	enum pol_kind	 kind;
	enum pol_list	 list;
	uint32_t	 index;		/* position in its list, from 0 */
	uint16_t	 port;		/* destination port, 0 = any */
	uint8_t		 family;	/* POL_ADDR: 4 or 6 */
	uint8_t		 plen;		/* POL_ADDR: prefix length */
	uint8_t		 addr[16];	/* POL_ADDR: network, 4 or 16 bytes used */
	char		*name;		/* POL_HOST, POL_WILD: lower-case ASCII
					   (punycode), no trailing dot; for
					   POL_WILD the suffix after "*." */
	char		*text;		/* the rule as the user wrote it */
};

/*
 * Parses one rule. On success fills `out` (the caller frees with
 * pol_rule_clear()) and returns 0. On failure returns -1 and writes to `err`
 * a message that quotes the rule and says why, e.g.
 *   "'*foo.com': '*' must be a whole label, as in '*.foo.com'".
 * `list` and `index` are copied into `out` and are not used otherwise.
 */
int	pol_rule_parse(const char *text, enum pol_list list, uint32_t index,
	    struct pol_rule *out, struct ir_err *err);
void	pol_rule_clear(struct pol_rule *);

/* True for `0.0.0.0/0`, `::/0` and `*` without a port. */
int	pol_rule_is_catchall(const struct pol_rule *);

struct policy;

/*
 * Parses and compiles a policy. All-or-nothing: the first bad rule fails the
 * whole policy with a message like "deny[2] '*foo.com': ...". Returns NULL
 * on failure (err set); the caller frees the result with policy_free().
 * Arrays may be NULL when their count is 0.
 */
struct policy	*policy_compile(const char *const *allow, size_t nallow,
		    const char *const *deny, size_t ndeny, struct ir_err *err);
void		 policy_free(struct policy *);

/*
 * A compiled policy is immutable, so threads share it freely. It is
 * reference counted: policy_hold() takes a reference (and returns `p`),
 * policy_free() drops one and frees the policy with the last. Both are
 * thread-safe, so a live policy change swaps in a new policy while
 * evaluations in flight finish with the old one.
 */
struct policy	*policy_hold(struct policy *p);

/*
 * The guard list: address prefixes blocked for every sandbox whatever its
 * policy (SPEC 2). Only address rules without ports are accepted. It is
 * compiled once per runner and passed to every evaluation.
 */
struct pol_guard;
struct pol_guard	*pol_guard_compile(const char *const *cidrs, size_t n,
			    struct ir_err *err);
void			 pol_guard_free(struct pol_guard *);
/* SPEC 2's fixed part: 127.0.0.0/8, ::1, 169.254.0.0/16, fe80::/10, and
 * 0.0.0.0/8 and :: which mean this host too (the runner adds the host's own
 * addresses). */
extern const char *const pol_guard_defaults[];
extern const size_t	 pol_guard_ndefaults;

enum pol_mode {
	POL_MODE_ALLOW_ALL,	/* no rules: everything permitted */
	POL_MODE_DENY_LIST,	/* default permitted, some deny rules */
	POL_MODE_ALLOW_LIST,	/* default blocked, some allow rules */
	POL_MODE_DENY_ALL,	/* default blocked, no allow rule */
};
enum pol_mode	 policy_mode(const struct policy *);
const char	*pol_mode_name(enum pol_mode);	/* "allow-all", ... */
int		 policy_default_blocks(const struct policy *);
size_t		 policy_nrules(const struct policy *, enum pol_list);
const struct pol_rule *policy_rule(const struct policy *, enum pol_list,
		    size_t index);

/* A name as seen on the wire: not NUL-terminated, any bytes, any length. */
struct pol_name {
	const char	*s;
	size_t		 len;
};

struct pol_target {
	uint8_t			 family;	/* 4, 6, or 0: no address */
	uint8_t			 addr[16];	/* IPv4 in addr[0..3] */
	uint16_t		 port;		/* 0: unknown; port rules
						   then never match */
	const struct pol_name	*names;
	size_t			 nnames;
};

enum pol_verdict {
	POL_BLOCKED = 0,
	POL_PERMITTED = 1,
};

enum pol_basis {
	POL_BY_RULE,		/* `rule` decided */
	POL_BY_GUARD,		/* the guard list */
	POL_BY_DEFAULT,		/* no rule matched */
};

struct pol_decision {
	enum pol_verdict	 verdict;
	enum pol_basis		 basis;
	const struct pol_rule	*rule;		/* the deciding rule (for
						   POL_BY_GUARD the guard
						   prefix), NULL for default;
						   points into the policy or
						   guard */
	int			 name;		/* index of the name that
						   matched, -1 for the address */
	/*
	 * Set when the target carried no names: 1 if some name could still
	 * change this verdict, so a proxy must look for one (SNI, Host, DNS);
	 * 0 if the verdict is final whatever the name.
	 */
	int			 name_matters;
};

/*
 * Evaluates `t` against `p` and `guard` (either may be NULL: no rules, no
 * guard). IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are evaluated as IPv4.
 * Names are matched case-insensitively, one trailing dot ignored; names that
 * are not valid DNS names can still match deny wildcards by their suffix.
 * Cost does not grow with the number of rules.
 */
void	policy_eval(const struct policy *p, const struct pol_guard *guard,
	    const struct pol_target *t, struct pol_decision *out);

/* Same result by scanning every rule in order: the reference for tests,
 * fuzzing and benchmarks. Do not use on the data path. */
void	policy_eval_naive(const struct policy *p, const struct pol_guard *guard,
	    const struct pol_target *t, struct pol_decision *out);

/*
 * Writes a one-line reason for `d` into `buf`, e.g.
 *   "name 'api.openai.com' matches allow rule 'api.openai.com'"
 *   "no allow rule matches; the default is blocked (allow-list policy)".
 * Returns the length snprintf would have written.
 */
int	policy_explain(const struct policy *p, const struct pol_target *t,
	    const struct pol_decision *d, char *buf, size_t len);

/* "permitted" / "blocked"; the rule's text, or "default", or "guard". */
const char	*pol_verdict_name(enum pol_verdict);
const char	*pol_decision_rule(const struct pol_decision *);

/*
 * Parses an address literal (IPv4 dotted quad, or IPv6, optionally in
 * brackets) into `t->family` and `t->addr`. Returns 0, or -1 if `s` is not
 * one (then family is 0: no address).
 */
int	pol_target_set_addr(struct pol_target *t, const char *s);

#endif
