/*
 * conf.c - isorund's configuration: defaults, one table of keys, the file
 * parser and the checks. The daemon maps each key to a flag as well.
 */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../audit/audit.h"

enum ck_type {
	CK_PATH,	/* absolute path */
	CK_OPATH,	/* absolute path, or "" for none */
	CK_STR,		/* any text without control characters */
	CK_NAME,	/* runner name: [A-Za-z0-9_-], 1 to 32 */
	CK_UINT,
	CK_MODE,	/* octal file mode */
	CK_LISTEN,	/* "" or ADDR:PORT, [ADDR6]:PORT */
	CK_SHUTDOWN,	/* keep | destroy */
	CK_DURATION,	/* 7d, 12h, ... (seconds kept) */
};

struct ck {
	struct api_conf_key	 k;
	enum ck_type		 type;
	size_t			 off;
	unsigned		 min, max;	/* CK_UINT */
};

#define F(f)	offsetof(struct api_conf, f)
static const struct ck keys[] = {
	{ { "socket", "PATH", "the API's unix socket" }, CK_PATH,
	    F(cf_socket), 0, 0 },
	{ { "socket_mode", "MODE", "its file mode, octal" }, CK_MODE,
	    F(cf_socket_mode), 0, 0777 },
	{ { "socket_group", "GROUP", "its group, when that group exists (\"\": "
	    "root's)" }, CK_STR, F(cf_socket_group), 0, 0 },
	{ { "listen", "ADDR:PORT", "also serve on TCP (needs token_file); "
	    "\"\": no TCP" }, CK_LISTEN, F(cf_listen), 0, 0 },
	{ { "token_file", "PATH", "the bearer token TCP clients must send "
	    "(not readable by others)" }, CK_PATH, F(cf_token_file), 0, 0 },
	{ { "name", "NAME", "the runner's name: namespaces are NAME-gw and "
	    "NAME-sbN" }, CK_NAME, F(cf_name), 0, 0 },
	{ { "pool4", "CIDR", "IPv4 addresses of sandboxes, a /30 each" },
	    CK_STR, F(cf_pool4), 0, 0 },
	{ { "pool6", "CIDR", "IPv6 addresses of sandboxes, a /64 each" },
	    CK_STR, F(cf_pool6), 0, 0 },
	{ { "max_sandboxes", "N", "sandboxes at once (also capped by the "
	    "pools)" }, CK_UINT, F(cf_max_sandboxes), 1, 65536 },
	{ { "conn_rate", "N", "new TCP connections (and datagrams for new UDP "
	    "flows) per second and sandbox; above it the gateway refuses them, "
	    "counted in the audit trail (0: no limit)" }, CK_UINT,
	    F(cf_conn_rate), 0, 1000000 },
	{ { "conn_burst", "N", "how many more a sandbox may open at once above "
	    "conn_rate" }, CK_UINT, F(cf_conn_burst), 0, 1000000 },
	{ { "dns_servers", "ADDRS", "upstream resolvers, comma-separated "
	    "(\"\": the host's /etc/resolv.conf)" }, CK_STR,
	    F(cf_dns_servers), 0, 0 },
	{ { "sandbox_pids_max", "N", "processes and threads a sandbox may "
	    "have at once (a fork bomb stays inside; 0: no limit)" }, CK_UINT,
	    F(cf_sandbox_pids_max), 0, 4194304 },
	{ { "sandbox_memory_mb", "MIB", "memory a sandbox may use, its "
	    "writable layer included; over it the kernel kills inside the "
	    "sandbox (0: no limit)" }, CK_UINT, F(cf_sandbox_memory_mb), 0,
	    1u << 24 },
	{ { "dns_rate", "N", "DNS queries per second and sandbox; above it "
	    "the DNS view answers REFUSED at once, counted in the audit trail "
	    "(0: no limit)" }, CK_UINT, F(cf_dns_rate), 0, 1000000 },
	{ { "dns_burst", "N", "how many more a sandbox may ask at once above "
	    "dns_rate" }, CK_UINT, F(cf_dns_burst), 0, 1000000 },
	{ { "dns_cache_bytes", "N", "bytes of upstream DNS answers kept per "
	    "sandbox, answered again within their TTL (0: none kept)" },
	    CK_UINT, F(cf_dns_cache_bytes), 0, 64u << 20 },
	{ { "guard", "CIDRS", "more prefixes no sandbox may reach, "
	    "comma-separated" }, CK_STR, F(cf_guard), 0, 0 },
	{ { "state_dir", "PATH", "imported images" }, CK_PATH,
	    F(cf_state_dir), 0, 0 },
	{ { "run_dir", "PATH", "sandboxes' state and the daemon's records" },
	    CK_PATH, F(cf_run_dir), 0, 0 },
	{ { "profiles_dir", "PATH", "operator network profiles (*.json)" },
	    CK_PATH, F(cf_profiles_dir), 0, 0 },
	{ { "audit_db", "PATH", "the audit store (SQLite); \"\": events as "
	    "JSON lines on stderr" }, CK_OPATH, F(cf_audit_db), 0, 0 },
	{ { "audit_retention", "DURATION", "keep audit events this long "
	    "(7d, 12h)" }, CK_DURATION, F(cf_audit_max_age_s), 0, 0 },
	{ { "max_body_bytes", "N", "largest request body" }, CK_UINT,
	    F(cf_max_body_bytes), 1024, 1u << 30 },
	{ { "max_connections", "N", "API connections at once" }, CK_UINT,
	    F(cf_max_connections), 1, 65536 },
	{ { "exec_timeout_ms", "MS", "an exec's timeout when the request "
	    "gives none, and the most it may ask" }, CK_UINT,
	    F(cf_exec_timeout_ms), 1, 4000000000u },
	{ { "output_max_bytes", "N", "captured output per stream of an exec; "
	    "the rest is dropped" }, CK_UINT, F(cf_output_max_bytes), 1,
	    1u << 30 },
	{ { "sandbox_timeout_ms", "MS", "a sandbox's lifetime when the create "
	    "gives none (0: unlimited)" }, CK_UINT, F(cf_sandbox_timeout_ms),
	    0, 4000000000u },
	{ { "on_shutdown", "keep|destroy", "on SIGTERM: keep sandboxes for the "
	    "next start, or destroy everything" }, CK_SHUTDOWN,
	    F(cf_on_shutdown), 0, 0 },
	{ { "init", "PATH", "the sandbox init program (\"\": isorun-init "
	    "beside isorund, then the libexec dirs)" }, CK_OPATH,
	    F(cf_init), 0, 0 },
	{ { "ca_file", "PATH", "PEM certificates every sandbox trusts besides "
	    "the host's (\"\": none)" }, CK_OPATH, F(cf_ca_file), 0, 0 },
	{ { "image_aliases", "NAME=IMAGE,...", "image names the API accepts "
	    "for other images (\"\": none)" }, CK_STR, F(cf_image_aliases),
	    0, 0 },
	{ { "sandbox_env", "K=V,...", "environment of every sandbox; a "
	    "create's env wins (\"\": none)" }, CK_STR, F(cf_sandbox_env),
	    0, 0 },
};
#undef F
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

const struct api_conf_key *
api_conf_keys(size_t *n)
{
	static struct api_conf_key out[NKEYS];
	size_t	 i;

	for (i = 0; i < NKEYS; i++)
		out[i] = keys[i].k;
	*n = NKEYS;
	return out;
}

static char **
str_field(struct api_conf *c, const struct ck *k)
{
	return (char **)((char *)c + k->off);
}

static unsigned *
uint_field(struct api_conf *c, const struct ck *k)
{
	return (unsigned *)((char *)c + k->off);
}

void
api_conf_default(struct api_conf *c)
{
	static const char *const defs[][2] = {
		{ "socket", API_SOCKET },
		{ "socket_mode", "0660" },
		{ "socket_group", "isorun" },
		{ "listen", "" },
		{ "token_file", "/etc/isorun/token" },
		{ "name", "isorun" },
		{ "pool4", "100.64.0.0/16" },
		{ "pool6", "2001:db8:4952::/48" },
		{ "max_sandboxes", "1024" },
		{ "conn_rate", "5000" },
		{ "conn_burst", "5000" },
		{ "dns_cache_bytes", "131072" },
		{ "dns_rate", "2000" },
		{ "dns_burst", "4000" },
		{ "sandbox_pids_max", "4096" },
		{ "sandbox_memory_mb", "0" },
		{ "dns_servers", "" },
		{ "guard", "" },
		{ "state_dir", "/var/lib/isorun" },
		{ "run_dir", "/run/isorun" },
		{ "profiles_dir", "/etc/isorun/profiles.d" },
		{ "audit_db", AUDIT_DB_PATH },
		{ "audit_retention", "7d" },
		{ "max_body_bytes", "1048576" },
		{ "max_connections", "512" },
		{ "exec_timeout_ms", "3600000" },
		{ "output_max_bytes", "1048576" },
		{ "sandbox_timeout_ms", "0" },
		{ "on_shutdown", "keep" },
		{ "init", "" },
		{ "ca_file", "" },
		{ "image_aliases", "" },
		{ "sandbox_env", "" },
	};
	size_t	 i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if (api_conf_set(c, defs[i][0], defs[i][1], NULL) == -1)
			abort();	/* a default that fails its own check */
}

void
api_conf_free(struct api_conf *c)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].type != CK_UINT && keys[i].type != CK_MODE &&
		    keys[i].type != CK_SHUTDOWN && keys[i].type != CK_DURATION) {
			free(*str_field(c, &keys[i]));
			*str_field(c, &keys[i]) = NULL;
		}
}

static const struct ck *
key_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].k.ck_name, name) == 0)
			return &keys[i];
	return NULL;
}

/* "ADDR:PORT" or "[ADDR6]:PORT" with a numeric address and port 1-65535. */
static int
listen_ok(const char *v)
{
	char		 host[INET6_ADDRSTRLEN + 2];
	unsigned char	 a[16];
	const char	*colon;
	char		*end;
	unsigned long	 port;
	size_t		 n;

	if (v[0] == '[') {
		if ((colon = strstr(v, "]:")) == NULL)
			return 0;
		n = (size_t)(colon - v - 1);
		if (n >= sizeof(host))
			return 0;
		memcpy(host, v + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, a) != 1)
			return 0;
		colon++;
	} else {
		if ((colon = strrchr(v, ':')) == NULL)
			return 0;
		n = (size_t)(colon - v);
		if (n >= sizeof(host))
			return 0;
		memcpy(host, v, n);
		host[n] = '\0';
		if (inet_pton(AF_INET, host, a) != 1)
			return 0;
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	return colon[1] >= '0' && colon[1] <= '9' && *end == '\0' &&
	    errno == 0 && port >= 1 && port <= 65535;
}

static int
value_check(const struct ck *k, const char *v, struct ir_err *err)
{
	size_t	 i, n = strlen(v);

	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < ' ' || v[i] == 0x7f)
			return err_set(err, 0, "contains a control character");
	switch (k->type) {
	case CK_PATH:
		if (v[0] != '/')
			return err_set(err, 0, "want an absolute path");
		break;
	case CK_OPATH:
		if (v[0] != '\0' && v[0] != '/')
			return err_set(err, 0, "want an absolute path, or \"\" "
			    "for none");
		break;
	case CK_NAME:
		if (n == 0 || n > 32 || strspn(v, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
			return err_set(err, 0, "want 1 to 32 of [A-Za-z0-9_-]");
		break;
	case CK_LISTEN:
		if (n > 0 && !listen_ok(v))
			return err_set(err, 0, "want ADDR:PORT or [ADDR6]:PORT "
			    "with a numeric address (127.0.0.1:8420), or \"\"");
		break;
	case CK_STR:
		if (n > 4096)
			return err_set(err, 0, "longer than 4096 bytes");
		break;
	default:
		break;
	}
	return 0;
}

int
api_conf_set(struct api_conf *c, const char *key, const char *value,
    struct ir_err *err)
{
	const struct ck	*k;
	struct ir_err	 e;
	char		 q[300], *end, *s;
	unsigned long long v;
	uint64_t	 ns;

	if ((k = key_find(key)) == NULL) {
		str_quote(key, strlen(key), 64, q, sizeof(q));
		return err_set(err, 0, "unknown key %s", q);
	}
	str_quote(value, strlen(value), 128, q, sizeof(q));
	if (value_check(k, value, &e) == -1)
		return err_set(err, 0, "key '%s' %s: %s", key, q, e.msg);
	switch (k->type) {
	case CK_UINT:
	case CK_MODE:
		errno = 0;
		v = strtoull(value, &end, k->type == CK_MODE ? 8 : 10);
		if (value[0] < '0' || value[0] > '9' || *end != '\0' ||
		    errno != 0 || v < k->min || v > k->max)
			return err_set(err, 0, "key '%s' %s: want %s from %u "
			    "to %u", key, q, k->type == CK_MODE ? "an octal "
			    "mode" : "an integer", k->min, k->max);
		*uint_field(c, k) = (unsigned)v;
		return 0;
	case CK_SHUTDOWN:
		if (strcmp(value, "keep") == 0)
			c->cf_on_shutdown = API_SHUTDOWN_KEEP;
		else if (strcmp(value, "destroy") == 0)
			c->cf_on_shutdown = API_SHUTDOWN_DESTROY;
		else
			return err_set(err, 0, "key '%s' %s: want keep or "
			    "destroy", key, q);
		return 0;
	case CK_DURATION:
		if (audit_parse_duration(value, &ns, &e) == -1 ||
		    ns / 1000000000 == 0 || ns / 1000000000 > 0xffffffffu)
			return err_set(err, 0, "key '%s' %s: want a duration "
			    "such as 7d or 12h", key, q);
		*uint_field(c, k) = (unsigned)(ns / 1000000000);
		return 0;
	default:
		if ((s = strdup(value)) == NULL)
			return err_set(err, ENOMEM, "out of memory");
		free(*str_field(c, k));
		*str_field(c, k) = s;
		return 0;
	}
}

static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int
api_conf_parse(struct api_conf *c, const char *text, size_t len,
    const char *origin, struct ir_err *err)
{
	char		 seen[NKEYS], *buf, *line, *next, *eq, *k, *v;
	const struct ck	*ck;
	struct ir_err	 e;
	int		 lineno = 0, rc = -1;
	size_t		 vl;

	if (memchr(text, '\0', len) != NULL)
		return err_set(err, 0, "%s: contains a NUL byte", origin);
	if ((buf = malloc(len + 1)) == NULL)
		return err_set(err, ENOMEM, "%s: out of memory", origin);
	memcpy(buf, text, len);
	buf[len] = '\0';
	memset(seen, 0, sizeof(seen));
	for (line = buf; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if ((eq = strchr(line, '=')) == NULL) {
			err_set(err, 0, "%s:%d: want KEY = VALUE", origin,
			    lineno);
			goto out;
		}
		*eq = '\0';
		k = trim(line);
		v = trim(eq + 1);
		vl = strlen(v);
		if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
			v[vl - 1] = '\0';
			v++;
		}
		if ((ck = key_find(k)) != NULL && seen[ck - keys]) {
			err_set(err, 0, "%s:%d: key '%s' given twice", origin,
			    lineno, k);
			goto out;
		}
		if (api_conf_set(c, k, v, &e) == -1) {
			err_set(err, e.code, "%s:%d: %s", origin, lineno, e.msg);
			goto out;
		}
		seen[ck - keys] = 1;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

int
api_conf_check(const struct api_conf *c, struct ir_err *err)
{
	if (c->cf_listen[0] != '\0' && c->cf_token_file[0] == '\0')
		return err_set(err, 0, "listen %s needs token_file: TCP clients "
		    "must present a bearer token", c->cf_listen);
	if (strcmp(c->cf_socket, c->cf_run_dir) == 0)
		return err_set(err, 0, "socket %s: is the run_dir", c->cf_socket);
	return 0;
}

int
api_conf_format(const struct api_conf *c, char *buf, size_t len)
{
	struct api_conf	*cc = (struct api_conf *)c;
	const struct ck	*k;
	const char	*s;
	size_t		 i, used = 0, room;
	unsigned	 v;
	char		*p;
	int		 n;

	for (i = 0; i < NKEYS; i++) {
		k = &keys[i];
		p = buf != NULL && used < len ? buf + used : NULL;
		room = p != NULL ? len - used : 0;
		switch (k->type) {
		case CK_UINT:
			n = snprintf(p, room, "%s = %u\n", k->k.ck_name,
			    *uint_field(cc, k));
			break;
		case CK_MODE:
			n = snprintf(p, room, "%s = %04o\n", k->k.ck_name,
			    *uint_field(cc, k));
			break;
		case CK_SHUTDOWN:
			n = snprintf(p, room, "%s = %s\n", k->k.ck_name,
			    c->cf_on_shutdown == API_SHUTDOWN_KEEP ? "keep" :
			    "destroy");
			break;
		case CK_DURATION:
			v = *uint_field(cc, k);
			n = v % 86400 == 0 ? snprintf(p, room, "%s = %ud\n",
			    k->k.ck_name, v / 86400) : v % 3600 == 0 ?
			    snprintf(p, room, "%s = %uh\n", k->k.ck_name,
			    v / 3600) : snprintf(p, room, "%s = %us\n",
			    k->k.ck_name, v);
			break;
		default:
			s = *str_field(cc, k);
			n = snprintf(p, room, s[0] ? "%s = %s\n" :
			    "%s = \"%s\"\n", k->k.ck_name, s);
			break;
		}
		if (n < 0)
			return -1;
		used += (size_t)n;
	}
	return (int)used;
}
