/*
 * endpoint.h - endpoint rules and credentials (issue 9, docs/endpoints.md):
 * per-host method/path rules evaluated on each request the proxy reads
 * inside an intercepted TLS connection, and the headers it injects.
 *
 * Pure logic: no I/O, no globals, no locks. A compiled `struct endpoints` is
 * immutable, so any number of threads may evaluate it at once.
 *
 * Semantics, per host:
 *   0. a request target a server could read differently from us
 *      (ep_eval() below) is denied ("ambiguous"), never "no match";
 *   1. the first deny rule (in list order) matching method and path denies;
 *   2. else the first allow rule matching allows;
 *   3. else the host's default: as given, or when not given, "deny" if the
 *      host has any allow rule (an allow-list) and "allow" otherwise (a
 *      deny-list, or credentials only) - the same rule as network policies
 *      (SPEC 2), so one mental model serves both.
 * A method is a token or "*"; methods compare case-insensitively (a server
 * that takes "delete" for DELETE must not slip past a deny). A path is
 * exact ("/v1/models", which also matches "/v1/models/") or a prefix
 * ending in "/\*" ("/v1/admin/\*" matches "/v1/admin", "/v1/admin/" and all
 * below). Deny rules compare paths case-insensitively, allow rules exactly:
 * a case-insensitive server cannot dodge a deny, and an allow never widens.
 */
#ifndef ISORUN_ENDPOINT_H
#define ISORUN_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../policy/policy.h"

#define EP_HOSTS_MAX	256	/* endpoint entries per sandbox */
#define EP_RULES_MAX	256	/* rules per entry */
#define EP_CREDS_MAX	16	/* credential headers per entry */
#define EP_METHOD_MAX	32
#define EP_PATH_MAX	2048	/* a rule's path */
#define EP_TARGET_MAX	8192	/* a request target; longer is denied */
#define EP_HEADER_MAX	64	/* a credential header's name */
#define EP_VALUE_MAX	4096	/* a credential template, and its value */
#define EP_WHY_MAX	256
#define EP_PORT_DEFAULT	443

/* What the API layer fills from JSON; strings are borrowed. */
struct ep_rule_spec {
	const char	*ers_method;	/* token or "*" */
	const char	*ers_path;	/* "/exact" or "/prefix/\*" */
	const char	*ers_action;	/* "allow" or "deny" */
};

/*
 * A credential: a header name and a value template in which
 * "${secret:NAME}" stands for the runner-held secret NAME and "$$" for a
 * literal "$"; any other "$" is an error. With ecs_header NULL, ecs_value
 * is the whole header line "Name: template" (the CLI's and the issue's
 * shape, e.g. "Authorization: Bearer ${secret:openai}").
 */
struct ep_cred_spec {
	const char	*ecs_header;
	const char	*ecs_value;
};

struct ep_host_spec {
	const char			*ehs_host;	/* name, or name:port
							   (default 443) */
	const struct ep_rule_spec	*ehs_rules;
	size_t				 ehs_nrules;
	const char			*ehs_default;	/* "allow", "deny", or
							   NULL (see top) */
	const struct ep_cred_spec	*ehs_creds;
	size_t				 ehs_ncreds;
};

struct endpoints;
struct ep_host;

/*
 * Compiles `n` entries, all or nothing. The first bad field fails the lot
 * with a message naming it, e.g.
 *   "endpoints[1].rules[0].path '/v1/\*x': '*' is only allowed as the last
 *    segment, as in '/v1/\*'".
 * Hosts are DNS names (IDNA converted to punycode, lower case, trailing dot
 * dropped) with an optional port; no wildcards and no IP literals (see
 * docs/endpoints.md). A host:port given twice is an error. Returns NULL on
 * failure. The caller holds one reference: endpoints_hold() takes another
 * (for another thread, e.g. the proxy's), endpoints_free() drops one and
 * frees on the last.
 */
struct endpoints	*endpoints_compile(const struct ep_host_spec *h,
			    size_t n, struct ir_err *err);
struct endpoints	*endpoints_hold(struct endpoints *);	/* returns it */
void			 endpoints_free(struct endpoints *);

/*
 * Create-time consistency: every host must be permitted by the sandbox's
 * network policy (evaluated as a name on its port, without an address,
 * and without the guard list, which holds addresses only). Returns 0, or
 * -1 with a message naming the first host that is not, and why.
 */
int	endpoints_check_policy(const struct endpoints *,
	    const struct policy *p, struct ir_err *err);

size_t			 endpoints_count(const struct endpoints *);
const struct ep_host	*endpoints_get(const struct endpoints *, size_t i);

/*
 * The entry for a connection's name (as on the wire: any bytes, case-
 * insensitive, one trailing dot ignored) and destination port, or NULL:
 * then the connection is not intercepted.
 */
const struct ep_host	*endpoints_lookup(const struct endpoints *,
			    const char *name, size_t len, uint16_t port);

/*
 * Whether some entry has this name on any port. A connection to such a
 * name that is not intercepted (another port, plain HTTP) must be blocked:
 * otherwise it would dodge the rules.
 */
int	endpoints_has_name(const struct endpoints *, const char *name,
	    size_t len);

/* The distinct secret names the credentials use, i from 0; NULL past. */
const char	*endpoints_secret(const struct endpoints *, size_t i);

const char	*ep_host_name(const struct ep_host *);	/* normalised */
uint16_t	 ep_host_port(const struct ep_host *);

enum ep_verdict {
	EP_DENY = 0,
	EP_ALLOW = 1,
};

enum ep_basis {
	EP_BY_RULE,		/* ed_rule decided */
	EP_BY_DEFAULT,		/* no rule matched */
	EP_BY_AMBIGUOUS,	/* the target was refused before matching */
};

struct ep_decision {
	enum ep_verdict	 ed_verdict;
	enum ep_basis	 ed_basis;
	int		 ed_rule;	/* index in the entry's rules, or -1 */
	/* The path matched: query removed, unreserved characters decoded,
	   other escapes in upper case; "" when ambiguous. For the audit. */
	char		 ed_path[EP_TARGET_MAX + 1];
	char		 ed_why[EP_WHY_MAX];	/* one printable line */
};

/*
 * Evaluates one request: its method and request-target as read from the
 * request line (any bytes). The target must be origin-form ("/path?q"), or
 * absolute-form with scheme https whose authority is this entry's host
 * (optionally with its port) and no userinfo. It is ambiguous, so denied, when it holds: a
 * control byte, a space, a non-ASCII byte, '#', '\', ';' or an empty
 * segment ("//") in the path, a "." or ".." segment, a '%' not followed
 * by two hex digits, an escaped '/', '.', '\', '%', ';', NUL, control or
 * non-ASCII byte, or more than EP_TARGET_MAX bytes; also any other form
 * (authority, asterisk) and a method that is not a token. Escaped
 * unreserved characters (letters, digits, '-', '_', '~') are decoded
 * before matching; other escapes stay as they are (hex in upper case) and
 * so never match a rule's literal character.
 */
void	ep_eval(const struct ep_host *, const char *method, size_t mlen,
	    const char *target, size_t tlen, struct ep_decision *out);

/*
 * Whether a request's Host header value (as on the wire) names this entry:
 * its host (any case, one trailing dot) with no port, or with its port.
 * The proxy denies a request whose Host is anything else (domain fronting
 * inside an intercepted connection), as ambiguous.
 */
int	ep_host_header_ok(const struct ep_host *, const char *v, size_t len);

/*
 * The deciding rule as text for the 403 body and the audit event:
 * "deny DELETE /v1/admin/\*", or "default", or "ambiguous".
 */
const char	*ep_decision_rule(const struct ep_host *,
		    const struct ep_decision *);

size_t		 ep_host_nrules(const struct ep_host *);
const char	*ep_rule_text(const struct ep_host *, size_t i);

/*
 * Credentials. ep_cred_header() is the header's name as written; the
 * proxy removes every guest header of that name (ep_host_is_cred_header())
 * and adds ours. ep_cred_render() fills the template: `get` returns a
 * malloc'd secret value (0) or fails (-1, err set, e.g. not set); the
 * value must be a valid header value (no CR, LF, NUL or other control
 * byte but tab) or rendering fails with a message naming the secret, never
 * showing it. *out is malloc'd; release it with ep_cred_wipe().
 */
typedef int	(*ep_secret_get)(void *arg, const char *name, char **val,
		    size_t *len, struct ir_err *err);

size_t		 ep_host_ncreds(const struct ep_host *);
const char	*ep_cred_header(const struct ep_host *, size_t i);
int		 ep_host_is_cred_header(const struct ep_host *,
		    const char *name, size_t len);
int		 ep_cred_render(const struct ep_host *, size_t i,
		    ep_secret_get get, void *arg, char **out, size_t *outlen,
		    struct ir_err *err);
void		 ep_cred_wipe(char *out, size_t len);

/*
 * Normalises a request-target as ep_eval() does. Returns 0 with the path
 * in `path` (size EP_TARGET_MAX + 1), or -1 with why in `why`. `host` and
 * `port` are what an absolute-form authority must equal (host NULL: only
 * origin-form). Exposed for tests and the fuzzer.
 */
int	ep_target_normalize(const char *target, size_t tlen,
	    const char *host, uint16_t port, char *path, char *why,
	    size_t whylen);

#endif
