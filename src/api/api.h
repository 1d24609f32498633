/*
 * api.h - the REST API of isorund as data: routes, request bodies and
 * their validation, error codes and HTTP statuses, the JSON of an exec's
 * result, the daemon's per-sandbox state record and its configuration.
 * Everything here is pure (bytes in, values out, no I/O), so that the
 * daemon, the CLI, the unit tests and a fuzzer share one definition.
 * docs/api.md is the prose; api/openapi.json the machine-readable form.
 *
 * Errors: a request that fails validation gets a struct api_error whose
 * code maps to the HTTP status (api_code_status) and whose message names
 * the field and says why: "network.allow[2] '*foo.com': '*' must be a
 * whole label, as in '*.foo.com'".
 */
#ifndef ISORUN_API_H
#define ISORUN_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

#define API_VERSION		"1"
#define API_SOCKET		"/run/isorun/isorun.sock"
#define API_CONF_PATH		"/etc/isorun/isorund.conf"
#define API_BODY_MAX		(1024 * 1024)	/* default request body cap */
#define API_ID_MAX		48		/* = SB_ID_MAX */
#define API_SEG_MAX		64		/* a path's {id} or {name}:
						   API_ID_MAX, SECRET_NAME_MAX */
#define API_ENV_MAX		256		/* variables per request */
#define API_ENV_NAME_MAX	256
#define API_ARGV_MAX		4096
#define API_PATH_MAX		4096		/* image, cwd */
#define API_TIMEOUT_MAX_MS	(31ull * 86400 * 1000)

enum api_code {
	API_OK = 0,
	API_INVALID_JSON,		/* 400 */
	API_INVALID_ARGUMENT,		/* 400 */
	API_UNAUTHENTICATED,		/* 401 */
	API_NOT_FOUND,			/* 404 */
	API_METHOD_NOT_ALLOWED,		/* 405 */
	API_ALREADY_EXISTS,		/* 409 */
	API_CONFLICT,			/* 409 */
	API_PAYLOAD_TOO_LARGE,		/* 413 */
	API_UNSUPPORTED_MEDIA_TYPE,	/* 415 */
	API_INTERNAL,			/* 500 */
	API_NOT_IMPLEMENTED,		/* 501 */
	API_UNAVAILABLE,		/* 503: shutting down, no slot free */
	API_NCODES
};

struct api_error {
	enum api_code	 ap_code;
	char		 ap_msg[IR_ERR_MAX];
};

/* Sets the error (printf-style); returns -1. `e` may be NULL. */
int		 api_error_set(struct api_error *e, enum api_code code,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
unsigned	 api_code_status(enum api_code);	/* 400, 404, ... */
const char	*api_code_name(enum api_code);		/* "not_found" */
/* The code of a name ("not_found"), or API_NCODES if unknown. */
enum api_code	 api_code_from_name(const char *name);
/* {"error":{"code":..,"message":..}} as compact JSON, malloc'd; NULL: ENOMEM */
char		*api_error_body(const struct api_error *e, size_t *len);

/*
 * Routes. api_route() matches a method and a decoded path; `id` receives
 * the {id} or {name} of the path. An id that is not a valid sandbox id
 * cannot name one: API_NOT_FOUND. A {name} (a secret's) that is not a
 * valid name is API_INVALID_ARGUMENT with secrets_name_check()'s message.
 * On a known path with another method it fails with
 * API_METHOD_NOT_ALLOWED and writes the methods it takes into `allow`
 * ("GET, POST") for the Allow header.
 */
enum api_route {
	API_R_HEALTHZ,		/* GET /healthz */
	API_R_METRICS,		/* GET /metrics */
	API_R_PROFILES,		/* GET /v1/network-profiles */
	API_R_CREATE,		/* POST /v1/sandboxes */
	API_R_LIST,		/* GET /v1/sandboxes */
	API_R_GET,		/* GET /v1/sandboxes/{id} */
	API_R_DESTROY,		/* DELETE /v1/sandboxes/{id} */
	API_R_EXEC,		/* POST /v1/sandboxes/{id}/exec */
	API_R_NETWORK,		/* PUT /v1/sandboxes/{id}/network */
	API_R_ENDPOINTS,	/* PUT /v1/sandboxes/{id}/endpoints */
	API_R_AUDIT,		/* GET /v1/sandboxes/{id}/audit */
	API_R_SECRETS,		/* GET /v1/secrets */
	API_R_SECRET_PUT,	/* PUT /v1/secrets/{name} */
	API_R_SECRET_DELETE,	/* DELETE /v1/secrets/{name} */
	API_NROUTES
};

struct api_route_def {
	enum api_route	 rd_route;
	const char	*rd_method;
	const char	*rd_path;	/* "/v1/sandboxes/{id}/exec" */
	bool		 rd_body;	/* takes a body */
	bool		 rd_raw;	/* ... of raw bytes, not JSON */
};

const struct api_route_def *api_route_def(enum api_route);
int	api_route(const char *method, const char *path, enum api_route *route,
	    char id[API_SEG_MAX + 1], char *allow, size_t allowlen,
	    struct api_error *err);

/* 0 if `id` may name a sandbox: 1 to API_ID_MAX of [A-Za-z0-9_-], the
 * first alphanumeric. */
int	api_id_check(const char *id, size_t len, struct api_error *err);

/*
 * A Content-Type a JSON body may have: application/json, with optional
 * parameters (charset=utf-8 only). NULL is not one.
 */
bool	api_content_type_ok(const char *ct);

/*
 * A Content-Type a raw body (a secret's value) may have:
 * application/octet-stream or text/plain, with any parameters.
 */
bool	api_raw_type_ok(const char *ct);

/*
 * The network of a create or of PUT .../network: rules, or a profile
 * name. Both at once is API_INVALID_ARGUMENT ("networkProfile and network
 * are mutually exclusive", SPEC 2). Rules are only shape-checked here;
 * policy_compile() judges them (api_network_compile).
 */
struct api_network {
	bool		  an_set;	/* network or networkProfile given */
	char		 *an_profile;	/* NULL: the rules */
	char		**an_allow;	/* NULL-terminated; never NULL when
					   an_set and no profile */
	size_t		  an_nallow;
	char		**an_deny;
	size_t		  an_ndeny;
};

void	api_network_free(struct api_network *);

/*
 * Compiles the rules of `n` (not a profile) into a policy; the message of
 * a bad rule names it as the request did: "network.deny[0] '*foo.com':
 * ...". Returns NULL with API_INVALID_ARGUMENT.
 */
struct policy;
struct policy	*api_network_compile(const struct api_network *n,
		    struct api_error *err);

/*
 * The `endpoints` option (docs/endpoints.md "The option"): `len` bytes of
 * JSON text holding the array. Its shape is checked here (unknown fields,
 * wrong types: API_INVALID_ARGUMENT naming the field, e.g.
 * "endpoints[0].rules[1].method: want a string, got an integer"), then
 * endpoints_compile() judges the values; its message is passed on as is.
 * An empty array is no endpoints: *out is NULL. On success *out is a new
 * reference (endpoints_free()).
 */
struct endpoints;
int	api_endpoints_compile(const char *json, size_t len,
	    struct endpoints **out, struct api_error *err);

/* POST /v1/sandboxes */
struct api_create {
	char		 *cr_id;	/* NULL: the daemon makes one */
	char		 *cr_image;	/* NULL: "host" */
	struct api_network cr_net;	/* !an_set: profile "unrestricted" */
	char		**cr_env;	/* "K=V", NULL-terminated; may be NULL */
	uint64_t	  cr_timeout_ms; /* lifetime; 0: none */
	struct endpoints *cr_endpoints;	/* compiled; NULL: none */
	char		 *cr_endpoints_json; /* the array as given (compact
					   JSON), for GET and the record;
					   NULL: none */
};

/* POST /v1/sandboxes/{id}/exec */
struct api_exec {
	char		**ex_argv;	/* argv (NULL-terminated), or */
	char		 *ex_shell;	/* a shell command line */
	char		**ex_env;	/* "K=V", NULL-terminated; may be NULL */
	char		 *ex_cwd;	/* absolute; NULL: the image's */
	char		 *ex_stdin;	/* bytes (UTF-8 text), or NULL */
	size_t		  ex_stdin_len;
	uint64_t	  ex_timeout_ms; /* 0: not given */
};

/* GET /v1/sandboxes/{id}/audit?since=&verdict=&limit=&follow= */
struct api_audit_query {
	uint64_t	 aq_since_ns;	/* absolute; 0: all */
	int		 aq_verdict;	/* -1 any, 0 blocked, 1 allowed */
	unsigned	 aq_limit;	/* 0: all */
	bool		 aq_follow;
};

/*
 * Parse and validate a request body of `len` bytes (no NUL needed; len 0
 * is the empty object for create, an error for the others). Unknown
 * fields, wrong types, out-of-range values and duplicate keys are
 * API_INVALID_ARGUMENT naming the field; malformed JSON is
 * API_INVALID_JSON with line and column. On failure nothing is allocated.
 */
int	api_create_parse(const char *body, size_t len, struct api_create *out,
	    struct api_error *err);
void	api_create_free(struct api_create *);
int	api_exec_parse(const char *body, size_t len, struct api_exec *out,
	    struct api_error *err);
void	api_exec_free(struct api_exec *);
int	api_network_parse(const char *body, size_t len, struct api_network *out,
	    struct api_error *err);
/*
 * PUT /v1/sandboxes/{id}/endpoints: {"endpoints": [...]}, the array as for
 * a create (an empty one removes them: *eps and *text NULL). *text is the
 * array as given (compact JSON), for GET and the record.
 */
int	api_endpoints_parse(const char *body, size_t len, struct endpoints **eps,
	    char **text, struct api_error *err);

/*
 * One query parameter of the audit route (`key` and its decoded `value`,
 * NULL for a bare key). `now_ns` turns a relative `since` ("10m") into a
 * time; `since` may also be an RFC 3339 time or Unix nanoseconds.
 */
int	api_audit_param(struct api_audit_query *q, const char *key,
	    const char *value, uint64_t now_ns, struct api_error *err);

/*
 * Copies `len` bytes of command output into a NUL-terminated malloc'd
 * string that is valid UTF-8: each byte of an invalid sequence becomes
 * U+FFFD. Returns NULL when out of memory.
 */
char	*api_utf8_clean(const char *s, size_t len, size_t *outlen);

/* RFC 3339 UTC with milliseconds ("2026-11-22T20:41:55.123Z") of Unix
 * milliseconds `ms`. */
void	api_time_format(int64_t ms, char *buf, size_t len);

/*
 * The daemon's record of one sandbox, kept as a JSON file in its run
 * directory so that a restarted daemon can adopt the sandbox again with
 * the same policy (the rules as they were compiled at create, even when
 * they came from a profile, SPEC 3).
 */
struct api_record {
	char		 *rc_id;
	char		 *rc_image;
	unsigned	  rc_slot;
	char		 *rc_profile;	/* the profile's name, or NULL */
	char		**rc_allow;	/* NULL-terminated, never NULL */
	size_t		  rc_nallow;
	char		**rc_deny;
	size_t		  rc_ndeny;
	unsigned	  rc_dns_flags;
	int64_t		  rc_created_ms;
	int64_t		  rc_expires_ms; /* 0: never */
	char		 *rc_endpoints;	/* the `endpoints` array, as created
					   or last set (compact JSON:
					   templates, never values); NULL:
					   created without; "[]": removed */
};

/* The record as JSON text (malloc'd, NUL-terminated); NULL: ENOMEM. */
char	*api_record_dump(const struct api_record *r);
/* Parses a record; the message names `origin` and the field at fault. */
int	 api_record_parse(const char *text, size_t len, const char *origin,
	    struct api_record *out, struct ir_err *err);
void	 api_record_free(struct api_record *r);

/*
 * isorund's configuration: every key of the file (`key = value` lines,
 * `#` comments) is also a flag (--key-with-dashes VALUE). Defaults are
 * set by api_conf_default(); api_conf_set() validates one value and
 * replaces the previous one. api_conf_keys() lists the keys with their
 * documentation, for --help and docs/api.md.
 */
enum api_shutdown {
	API_SHUTDOWN_KEEP,	/* sandboxes survive for the next start */
	API_SHUTDOWN_DESTROY,	/* everything is removed */
};

struct api_conf {
	char		*cf_socket;
	unsigned	 cf_socket_mode;
	char		*cf_socket_group;
	char		*cf_listen;		/* "" : no TCP listener */
	char		*cf_token_file;
	char		*cf_name;
	char		*cf_pool4;
	char		*cf_pool6;
	unsigned	 cf_max_sandboxes;
	unsigned	 cf_conn_rate;		/* per sandbox; 0: no limit */
	unsigned	 cf_conn_burst;
	char		*cf_dns_servers;	/* "": the host's resolv.conf */
	unsigned	 cf_dns_cache_bytes;	/* kept answers per sandbox */
	unsigned	 cf_dns_rate;		/* queries/s per sandbox; 0: off */
	unsigned	 cf_dns_burst;
	unsigned	 cf_sandbox_pids_max;	/* 0: no limit */
	unsigned	 cf_sandbox_memory_mb;	/* 0: no limit */
	char		*cf_guard;		/* extra guard prefixes, csv */
	char		*cf_state_dir;
	char		*cf_run_dir;
	char		*cf_profiles_dir;
	char		*cf_audit_db;		/* "": no store */
	unsigned	 cf_audit_max_age_s;
	unsigned	 cf_max_body_bytes;
	unsigned	 cf_max_connections;
	unsigned	 cf_exec_timeout_ms;	/* default and cap of an exec */
	unsigned	 cf_output_max_bytes;	/* per stream of an exec */
	unsigned	 cf_sandbox_timeout_ms;	/* default lifetime; 0: none */
	enum api_shutdown cf_on_shutdown;
	char		*cf_init;		/* isorun-init; "": found */
	char		*cf_ca_file;		/* extra CA every sandbox
						   trusts; "": none */
	char		*cf_image_aliases;	/* "NAME=IMAGE,..." */
	char		*cf_sandbox_env;	/* "K=V,..." for every one */
};

struct api_conf_key {
	const char	*ck_name;	/* "socket_mode" */
	const char	*ck_arg;	/* "MODE", for usage */
	const char	*ck_doc;	/* one line */
};

void	api_conf_default(struct api_conf *c);
void	api_conf_free(struct api_conf *c);
/* The keys, in documentation order; *n gets the count. */
const struct api_conf_key *api_conf_keys(size_t *n);
/* Sets one key; the message names the key and says why. */
int	api_conf_set(struct api_conf *c, const char *key, const char *value,
	    struct ir_err *err);
/*
 * Parses a configuration file's `len` bytes; `origin` names it in
 * messages ("/etc/isorun/isorund.conf:7: key 'socket_mode': ..."). Unknown
 * keys and a key given twice are errors. Stops at the first error.
 */
int	api_conf_parse(struct api_conf *c, const char *text, size_t len,
	    const char *origin, struct ir_err *err);
/* Checks what only the whole can tell (listen without token_file). */
int	api_conf_check(const struct api_conf *c, struct ir_err *err);
/* Writes the configuration as a file would have it; returns as snprintf. */
int	api_conf_format(const struct api_conf *c, char *buf, size_t len);

/*
 * Compares a presented bearer token with the expected one in time that
 * does not depend on where they differ. Both NUL-terminated.
 */
bool	api_token_equal(const char *given, const char *want);

#endif
