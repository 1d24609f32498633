/*
 * cmd_audit.c - `isorun audit`: query and follow the audit trail.
 */
#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../audit/audit.h"

static const struct option opts[] = {
	{ "since",	required_argument,	NULL, 's' },
	{ "verdict",	required_argument,	NULL, 'v' },
	{ "limit",	required_argument,	NULL, 'n' },
	{ "follow",	no_argument,		NULL, 'f' },
	{ "json",	no_argument,		NULL, 'j' },
	{ "db",		required_argument,	NULL, 'd' },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL,		0,			NULL, 0 },
};

struct out {
	int	 json;
	int	 follow;
	int	 header;	/* printed */
};

void
cmd_audit_usage(FILE *f)
{
	fprintf(f, "usage: isorun audit [SANDBOX] [--since DURATION] "
	    "[--verdict blocked|allowed]\n"
	    "                    [--limit N] [--follow] [--json] [--db PATH]\n"
	    "\n"
	    "Shows the audit trail: every connection, flow and DNS query the "
	    "runner\n"
	    "decided, and every request denied by endpoint rules, oldest "
	    "first.\n"
	    "Sandboxes that were destroyed stay in it until retention removes "
	    "them.\n"
	    "\n"
	    "  SANDBOX            only this sandbox's events\n"
	    "  --since DURATION   only events of the last DURATION: 90s, 10m, "
	    "2h, 7d, 1h30m\n"
	    "  --verdict V        only blocked or only allowed events\n"
	    "  --limit N          only the last N events (before following)\n"
	    "  --follow           then print new events as they are recorded\n"
	    "  --json             one JSON object per line (see "
	    "docs/audit.md)\n"
	    "  --db PATH          the audit database (default %s)\n"
	    "\n"
	    "A row that stands for several events (a flood the runner "
	    "summarized, or\n"
	    "attempts counted together) shows \"[N events]\" before its "
	    "reason; in JSON\n"
	    "it has \"count\" (and \"last_ns\" for summaries). A request "
	    "shows its method\n"
	    "and path before its reason; the close of an intercepted "
	    "connection the\n"
	    "number of requests allowed on it.\n", AUDIT_DB_PATH);
}

/* `s` (n bytes) with control and non-ASCII bytes as \xNN; "-" if none. */
static const char *
safe(const char *s, size_t n, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t		 i, o = 0;

	if (s == NULL || n == 0)
		return "-";
	for (i = 0; i < n && o + 5 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '\\') {
			buf[o++] = '\\';
			if (c == '\\') {
				buf[o++] = '\\';
				continue;
			}
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		} else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

static const char *
safe_str(const char *s, char *buf, size_t len)
{
	return safe(s, s != NULL ? strlen(s) : 0, buf, len);
}

static void
fmt_time(uint64_t ns, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 t = (time_t)(ns / 1000000000u);
	char		 d[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(buf, len, "%llu", (unsigned long long)ns);
	else
		snprintf(buf, len, "%s.%03uZ", d,
		    (unsigned)(ns / 1000000u % 1000));
}

static void
fmt_dst(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char	 a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
	} else
		snprintf(buf, len, "-");
}

static int
print_json(const struct audit_event *ev)
{
	char	 small[4096], *p = small;
	int	 n;

	n = audit_format_json(ev, small, sizeof(small));
	if (n >= (int)sizeof(small)) {
		if ((p = malloc((size_t)n + 1)) == NULL)
			return -1;
		audit_format_json(ev, p, (size_t)n + 1);
	}
	fputs(p, stdout);
	fputc('\n', stdout);
	if (p != small)
		free(p);
	return 0;
}

#define TABLE_FMT "%-23s  %-16s  %-5s  %-26s  %-24s  %-7s  %-16s  %s%s%s%s\n"

static void
print_row(struct out *o, const struct audit_event *ev)
{
	char	 t[48], dst[64], sb[200], name[1100], rule[4200], rs[4200];
	char	 cnt[40], meth[160], path[4200], req[4400], tail[64];

	if (!o->header) {
		printf(TABLE_FMT, "TIME", "SANDBOX", "PROTO", "DESTINATION",
		    "NAME", "VERDICT", "RULE", "", "", "REASON", "");
		o->header = 1;
	}
	fmt_time(ev->ae_time_ns, t, sizeof(t));
	fmt_dst(&ev->ae_dst, dst, sizeof(dst));
	cnt[0] = '\0';
	if (ev->ae_last_ns != 0 || ev->ae_count > 1)
		snprintf(cnt, sizeof(cnt), "[%llu events] ",
		    (unsigned long long)(ev->ae_count > 1 ? ev->ae_count : 1));
	req[0] = tail[0] = '\0';
	if (ev->ae_kind == AUDIT_REQUEST)
		snprintf(req, sizeof(req), "%s %s: ",
		    safe(ev->ae_method, ev->ae_methodlen, meth, sizeof(meth)),
		    safe(ev->ae_path, ev->ae_pathlen, path, sizeof(path)));
	if (ev->ae_kind == AUDIT_CLOSE && ev->ae_intercepted)
		snprintf(tail, sizeof(tail), " [intercepted, %llu requests]",
		    (unsigned long long)ev->ae_requests);
	printf(TABLE_FMT, t, safe_str(ev->ae_sandbox, sb, sizeof(sb)),
	    audit_proto_name(ev->ae_proto), dst,
	    safe(ev->ae_name, ev->ae_namelen, name, sizeof(name)),
	    ev->ae_allowed ? "allowed" : "blocked",
	    safe_str(ev->ae_rule, rule, sizeof(rule)), cnt, req,
	    safe_str(ev->ae_reason, rs, sizeof(rs)), tail);
}

static int
on_row(void *arg, const struct audit_row *r)
{
	struct out	*o = arg;

	if (r != NULL) {
		if (o->json) {
			if (print_json(&r->ar_ev) == -1)
				return 1;
		} else
			print_row(o, &r->ar_ev);
		if (!o->follow)
			return ferror(stdout) ? 1 : 0;
	}
	/* Following: each row is seen at once; a closed pipe ends it. */
	return fflush(stdout) == EOF || ferror(stdout) ? 1 : 0;
}

static int
parse_limit(const char *s, unsigned *out)
{
	char		*end;
	unsigned long	 v;
	char		 q[80];

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v == 0 ||
	    v > 100000000) {
		str_quote(s, strlen(s), 32, q, sizeof(q));
		return cli_usage_error("audit", "audit: --limit %s: must be a "
		    "whole number from 1 to 100000000", q);
	}
	*out = (unsigned)v;
	return CLI_OK;
}

static int
parse_args(int argc, char **argv, struct audit_filter *f, struct out *o,
    const char **db)
{
	struct ir_err	 err;
	uint64_t	 ns;
	char		 q[80];
	int		 c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:v:n:fjd:h", opts, NULL)) !=
	    -1) {
		switch (c) {
		case 's':
			if (audit_parse_duration(optarg, &ns, &err) == -1)
				return cli_usage_error("audit", "audit: --since "
				    "%s", err.msg);
			f->af_since_ns = ns;
			break;
		case 'v':
			if (strcmp(optarg, "blocked") == 0)
				f->af_verdict = 0;
			else if (strcmp(optarg, "allowed") == 0)
				f->af_verdict = 1;
			else {
				str_quote(optarg, strlen(optarg), 32, q,
				    sizeof(q));
				return cli_usage_error("audit", "audit: "
				    "--verdict %s: must be blocked or allowed",
				    q);
			}
			break;
		case 'n':
			if (parse_limit(optarg, &f->af_limit) != CLI_OK)
				return CLI_USAGE;
			break;
		case 'f':
			o->follow = 1;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'd':
			if (*optarg == '\0')
				return cli_usage_error("audit", "audit: --db: "
				    "empty path");
			*db = optarg;
			break;
		case 'h':
			cmd_audit_usage(stdout);
			return -1;
		default:
			return cli_getopt_error("audit", c, optopt,
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		f->af_sandbox = argv[optind++];
	if (optind < argc) {
		str_quote(argv[optind], strlen(argv[optind]), 32, q, sizeof(q));
		return cli_usage_error("audit", "audit: unexpected argument "
		    "%s: give one SANDBOX at most", q);
	}
	if (f->af_sandbox != NULL && *f->af_sandbox == '\0')
		return cli_usage_error("audit", "audit: SANDBOX is empty");
	return CLI_OK;
}

int
cmd_audit(int argc, char **argv)
{
	struct audit_filter	 f;
	struct out		 o;
	struct audit_db		*d;
	struct ir_err		 err;
	struct timespec		 ts;
	const char		*db = AUDIT_DB_PATH;
	uint64_t		 now;
	int			 rc;

	memset(&f, 0, sizeof(f));
	memset(&o, 0, sizeof(o));
	f.af_verdict = -1;
	if ((rc = parse_args(argc, argv, &f, &o, &db)) != CLI_OK)
		return rc == -1 ? CLI_OK : rc;
	if (f.af_since_ns != 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		f.af_since_ns = f.af_since_ns < now ? now - f.af_since_ns : 1;
	}
	if ((d = audit_db_open(db, &err)) == NULL) {
		if (err.code == ENOENT)
			cli_warnx("%s (nothing recorded yet? --db names "
			    "another database)", err.msg);
		else
			cli_warnx("%s", err.msg);
		return err.code == EINVAL ? CLI_USAGE : CLI_FAIL;
	}
	if (o.follow)
		rc = audit_follow(d, &f, on_row, &o, &err);
	else
		rc = audit_query(d, &f, on_row, &o, &err);
	audit_db_close(d);
	if (rc == -1) {
		cli_warnx("%s", err.msg);
		return CLI_FAIL;
	}
	return CLI_OK;
}
