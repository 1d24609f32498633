/*
 * cmd_policy.c - `isorun policy check`: evaluates targets against a policy
 * given as a profile or as rules, exactly as a sandbox would.
 */
#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <idn2.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../policy/policy.h"
#include "../profiles/profiles.h"
#include "../runner/guard.h"

#define QLEN	300	/* a str_quote()d argument, 64 bytes of it shown */

static const struct option opts[] = {
	{ "profile",		required_argument,	NULL, 'p' },
	{ "network-profile",	required_argument,	NULL, 'p' },
	{ "allow",		required_argument,	NULL, 'a' },
	{ "deny",		required_argument,	NULL, 'd' },
	{ "network",		required_argument,	NULL, 'n' },
	{ "guard",		required_argument,	NULL, 'g' },
	{ "profiles-dir",	required_argument,	NULL, 'D' },
	{ "json",		no_argument,		NULL, 'j' },
	{ "endpoints",		required_argument,	NULL, 'E' },
	{ "request",		required_argument,	NULL, 'r' },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL,			0,			NULL, 0 },
};

/* A growable array of borrowed strings. */
struct strv {
	const char	**v;
	size_t		  n;
};

struct target {
	const char		*text;		/* as given */
	char			*name;		/* NULL: no name */
	struct pol_name		 pname;
	struct pol_target	 t;
};

struct check {
	const char		*profile;
	const char		*profiles_dir;
	json_t			*network;	/* --network, owns its strings */
	int			 have_network;	/* --network, --allow or --deny */
	int			 json;
	struct strv		 allow, deny, guard;
	const char		*endpoints;	/* --endpoints FILE */
	struct strv		 req;		/* --request */

	struct policy		*pol;
	struct pol_guard	*gd;
	char			 source[QLEN + 32];	/* for the summary */
	struct target		*tg;
	size_t			 ntg;
};

void
cmd_policy_usage(FILE *f)
{
	fprintf(f, "usage: isorun policy check [--profile P | --allow R... "
	    "--deny R... --network JSON]\n"
	    "                          [--guard CIDR]... [--profiles-dir DIR] "
	    "[--json] TARGET...\n"
	    "                          [--endpoints FILE.json --request "
	    "'METHOD URL'...]\n"
	    "\n"
	    "Evaluates each TARGET against an egress policy as a sandbox "
	    "would, and prints\n"
	    "the verdict, the rule that decided (or 'default', or 'guard') and "
	    "why.\n"
	    "\n"
	    "  --profile P, --network-profile P\n"
	    "                       the policy of profile P (see 'isorun "
	    "profiles')\n"
	    "  --allow R, --deny R  a rule; repeat for more\n"
	    "  --network JSON       rules as {\"allow\": [...], \"deny\": "
	    "[...]}\n"
	    "  --guard CIDR         a guard prefix; replaces the defaults "
	    "(127.0.0.0/8, ::1,\n"
	    "                       169.254.0.0/16, fe80::/10, 0.0.0.0/8, :: "
	    "and this host's\n"
	    "                       addresses)\n"
	    "  --profiles-dir DIR   read profile files from DIR (default %s)\n"
	    "  --json               print a JSON array of {target, verdict, "
	    "rule, reason}\n"
	    "  --endpoints FILE     endpoint rules (a JSON array, as for "
	    "'isorun create')\n"
	    "  --request 'METHOD URL'\n"
	    "                       a request to decide as an intercepting "
	    "runner would:\n"
	    "                       allowed, denied (endpoint rules) or "
	    "blocked (network\n"
	    "                       policy); TARGETs are then optional\n"
	    "\n"
	    "A profile and rules are mutually exclusive; neither means the "
	    "profile\n"
	    "'unrestricted'. TARGET is a name, an address, or name@address, "
	    "each with an\n"
	    "optional :port: example.com, 10.0.0.1:5432, example.com@"
	    "93.184.215.14:443,\n"
	    "[2001:db8::1]:443, example.com@[2001:db8::1]:443.\n"
	    "\n"
	    "Exit status: 0 when the policy is valid, whatever the verdicts; 2 "
	    "for a bad\n"
	    "policy, profile, target or usage.\n", PROFILES_DIR);
}

static int
strv_add(struct strv *sv, const char *s)
{
	const char	**v;

	if ((v = reallocarray(sv->v, sv->n + 1, sizeof(*v))) == NULL)
		return -1;
	v[sv->n++] = s;
	sv->v = v;
	return 0;
}

static void
check_free(struct check *c)
{
	size_t	 i;

	for (i = 0; i < c->ntg; i++)
		free(c->tg[i].name);
	free(c->tg);
	free(c->allow.v);
	free(c->deny.v);
	free(c->guard.v);
	free(c->req.v);
	json_decref(c->network);
	policy_free(c->pol);
	pol_guard_free(c->gd);
}

/* Appends --network's lists; the strings stay owned by c->network. */
static int
network_parse(struct check *c, const char *arg, struct ir_err *err)
{
	json_error_t	 jerr;
	json_t		*v, *e;
	const char	*key;
	struct strv	*sv;
	size_t		 i;
	char		 q[QLEN];

	if (c->network != NULL)
		return err_set(err, 0, "--network given twice");
	if ((c->network = json_loads(arg, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL)
		return err_set(err, 0, "--network: invalid JSON at column %d: "
		    "%s", jerr.column, jerr.text);
	if (!json_is_object(c->network))
		return err_set(err, 0, "--network must be an object "
		    "{\"allow\": [...], \"deny\": [...]}");
	json_object_foreach(c->network, key, v) {
		if (strcmp(key, "allow") == 0)
			sv = &c->allow;
		else if (strcmp(key, "deny") == 0)
			sv = &c->deny;
		else {
			str_quote(key, strlen(key), 64, q, sizeof(q));
			return err_set(err, 0, "--network: unknown key %s (the "
			    "keys are allow and deny)", q);
		}
		if (!json_is_array(v))
			return err_set(err, 0, "--network: %s must be an array "
			    "of strings", key);
		json_array_foreach(v, i, e) {
			if (!json_is_string(e))
				return err_set(err, 0, "--network: %s[%zu] "
				    "must be a string", key, i);
			if (strv_add(sv, json_string_value(e)) == -1)
				return err_set(err, ENOMEM, "out of memory");
		}
	}
	return 0;
}

int
cli_port_parse(const char *s, uint16_t *port)
{
	unsigned long	 v = 0;
	const char	*p;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/*
 * A name as a guest would send it: printable ASCII; other text goes
 * through IDNA like the rules do, so "bücher.example" can be checked.
 */
static int
name_set(struct target *tg, const char *s, struct ir_err *err)
{
	const unsigned char	*p;
	char			*ascii = NULL;
	int			 rc, plain = 1;

	if (*s == '\0')
		return err_set(err, 0, "the name is empty");
	if (strspn(s, "0123456789.") == strlen(s))
		return err_set(err, 0, "not a valid IPv4 address");
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p <= ' ' || *p == 0x7f)
			return err_set(err, 0, "the name must not contain "
			    "spaces or control characters");
		if (*p == ':')
			return err_set(err, 0, "the name must not contain ':'; "
			    "a port goes after the address (name@addr:port)");
		if (*p >= 0x80)
			plain = 0;
	}
	if (plain) {
		if ((tg->name = strdup(s)) == NULL)
			return err_set(err, ENOMEM, "out of memory");
	} else {
		rc = idn2_to_ascii_8z(s, &ascii, IDN2_NFC_INPUT |
		    IDN2_NONTRANSITIONAL);
		if (rc != IDN2_OK)
			return err_set(err, 0, "cannot convert the name to "
			    "punycode: %s", idn2_strerror(rc));
		tg->name = ascii;
	}
	tg->pname.s = tg->name;
	tg->pname.len = strlen(tg->name);
	tg->t.names = &tg->pname;
	tg->t.nnames = 1;
	return 0;
}

/*
 * TARGET: name | addr | name@addr, then an optional :port. An IPv6
 * address takes a port only in brackets; a bare one has no port.
 */
static int
target_parse(struct target *tg, const char *text, struct ir_err *err)
{
	char	*s, *at, *rest, *addr, *colon, *end;
	int	 rc = -1;

	memset(tg, 0, sizeof(*tg));
	tg->text = text;
	if ((s = strdup(text)) == NULL)
		return err_set(err, ENOMEM, "out of memory");
	if ((at = strchr(s, '@')) != NULL) {
		*at = '\0';
		rest = at + 1;
		if (*s == '\0') {
			err_set(err, 0, "no name before '@'");
			goto done;
		}
		if (*rest == '\0') {
			err_set(err, 0, "no address after '@'");
			goto done;
		}
	} else
		rest = s;

	addr = rest;
	if (*rest == '[') {
		if ((end = strchr(rest, ']')) == NULL) {
			err_set(err, 0, "'[' without ']'");
			goto done;
		}
		*end = '\0';
		addr = rest + 1;
		if (end[1] == ':') {
			if (cli_port_parse(end + 2, &tg->t.port) == -1)
				goto badport;
		} else if (end[1] != '\0') {
			err_set(err, 0, "unexpected text after ']'");
			goto done;
		}
		if (pol_target_set_addr(&tg->t, addr) == -1 ||
		    tg->t.family != 6) {
			err_set(err, 0, "not a valid IPv6 address in brackets");
			goto done;
		}
	} else {
		if ((colon = strchr(rest, ':')) != NULL &&
		    strchr(colon + 1, ':') == NULL) {
			*colon = '\0';
			if (cli_port_parse(colon + 1, &tg->t.port) == -1)
				goto badport;
		}
		if (pol_target_set_addr(&tg->t, addr) == -1) {
			tg->t.family = 0;
			if (at != NULL) {
				err_set(err, 0, "not a valid IP address after "
				    "'@'");
				goto done;
			}
			if (strchr(addr, ':') != NULL) {
				err_set(err, 0, "not a valid IPv6 address");
				goto done;
			}
			if (name_set(tg, addr, err) == -1)
				goto done;
		}
	}
	if (at != NULL && name_set(tg, s, err) == -1)
		goto done;
	rc = 0;
	goto done;
badport:
	err_set(err, 0, "the port must be a number from 1 to 65535");
done:
	free(s);
	return rc;
}

/* Returns a CLI exit code; CLI_OK when c->gd is set. */
static int
guard_build(struct check *c)
{
	struct ir_err		 err;
	struct gateway_config	 gc;

	if (c->guard.n == 0) {
		/* What a runner with the default configuration guards. */
		gateway_config_default(&gc);
		if ((c->gd = runner_guard(&gc, NULL, 0, &err)) == NULL) {
			cli_warnx("%s", err.msg);
			return CLI_FAIL;
		}
		return CLI_OK;
	}
	if ((c->gd = pol_guard_compile(c->guard.v, c->guard.n, &err)) ==
	    NULL) {
		cli_warnx("--guard: %s", err.msg);
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* Returns a CLI exit code; CLI_OK when c->pol is set. */
static int
policy_build(struct check *c)
{
	struct cli_policy_src	 src = {
		.ps_profile = c->profile,
		.ps_allow = c->allow.v, .ps_nallow = c->allow.n,
		.ps_deny = c->deny.v, .ps_ndeny = c->deny.n,
		.ps_have_network = c->have_network,
		.ps_profiles_dir = c->profiles_dir,
	};

	return cli_policy_make(&src, &c->pol, c->source, sizeof(c->source),
	    NULL);
}

/*
 * The reason, plus what the target left out: without an address, address
 * rules and the guard list were not checked; without a name, one could
 * still change the verdict.
 */
static void
reason(const struct check *c, const struct target *tg,
    const struct pol_decision *d, char *buf, size_t len)
{
	size_t	 n;

	policy_explain(c->pol, &tg->t, d, buf, len);
	n = strlen(buf);
	/* policy_explain() already says it for a blocked name. */
	if (tg->t.family == 0 && d->verdict == POL_PERMITTED)
		snprintf(buf + n, len - n, "; no address given, so only name "
		    "rules were checked");
	else if (tg->t.nnames == 0 && d->name_matters)
		snprintf(buf + n, len - n, "; a name (SNI, Host or DNS) could "
		    "change this");
}

static int
print_json(struct check *c)
{
	struct pol_decision	 d;
	json_t			*a, *o;
	size_t			 i;
	char			 buf[1024];
	int			 rc;

	if ((a = json_array()) == NULL)
		return cli_json_print(NULL);
	if (c->req.n > 0 && (rc = cli_policy_requests(c->pol, c->endpoints,
	    c->req.v, c->req.n, a)) != CLI_OK) {
		json_decref(a);
		return rc;
	}
	for (i = 0; i < c->ntg; i++) {
		policy_eval(c->pol, c->gd, &c->tg[i].t, &d);
		reason(c, &c->tg[i], &d, buf, sizeof(buf));
		o = json_pack("{s:s, s:s, s:s, s:s}",
		    "target", c->tg[i].text,
		    "verdict", pol_verdict_name(d.verdict),
		    "rule", pol_decision_rule(&d),
		    "reason", buf);
		if (json_array_append_new(a, o) == -1) {
			json_decref(a);
			return cli_json_print(NULL);
		}
	}
	return cli_json_print(a);
}

/* The requests' table, from cli_policy_requests()'s objects. */
static void
print_requests(json_t *a)
{
	json_t	*o;
	size_t	 i;
	int	 w = 7, n;

	json_array_foreach(a, i, o)
		if ((n = (int)strlen(json_string_value(json_object_get(o,
		    "request")))) > w)
			w = n;
	printf("\n%-*s  %-8s  %s\n", w, "REQUEST", "VERDICT", "RULE  REASON");
	json_array_foreach(a, i, o)
		printf("%-*s  %-8s  %s  %s\n", w,
		    json_string_value(json_object_get(o, "request")),
		    json_string_value(json_object_get(o, "verdict")),
		    json_string_value(json_object_get(o, "rule")),
		    json_string_value(json_object_get(o, "reason")));
}

static int
print_table(struct check *c)
{
	struct pol_decision	 d;
	json_t			*ra = NULL;
	size_t			 i;
	int			 wt = 6, wr = 4, n, rc;
	char			 buf[1024];

	/* Bad endpoint rules or requests fail before anything is printed. */
	if (c->req.n > 0 && ((ra = json_array()) == NULL ||
	    (rc = cli_policy_requests(c->pol, c->endpoints, c->req.v,
	    c->req.n, ra)) != CLI_OK)) {
		json_decref(ra);
		return ra == NULL ? CLI_FAIL : rc;
	}
	printf("policy: %s, %s (rules: %zu allow, %zu deny); guard: %s\n",
	    c->source, pol_mode_name(policy_mode(c->pol)),
	    policy_nrules(c->pol, POL_ALLOW), policy_nrules(c->pol, POL_DENY),
	    c->guard.n ? "--guard prefixes" : "defaults, this host's "
	    "addresses and the sandbox pools");
	for (i = 0; i < c->ntg; i++) {
		policy_eval(c->pol, c->gd, &c->tg[i].t, &d);
		if ((n = (int)strlen(c->tg[i].text)) > wt)
			wt = n;
		if ((n = (int)strlen(pol_decision_rule(&d))) > wr)
			wr = n;
	}
	if (c->ntg > 0)
		printf("%-*s  %-9s  %-*s  %s\n", wt, "TARGET", "VERDICT", wr,
		    "RULE", "REASON");
	for (i = 0; i < c->ntg; i++) {
		policy_eval(c->pol, c->gd, &c->tg[i].t, &d);
		reason(c, &c->tg[i], &d, buf, sizeof(buf));
		printf("%-*s  %-9s  %-*s  %s\n", wt, c->tg[i].text,
		    pol_verdict_name(d.verdict), wr, pol_decision_rule(&d),
		    buf);
	}
	if (ra != NULL)
		print_requests(ra);
	json_decref(ra);
	return CLI_OK;
}

static int
check_opts(struct check *c, int argc, char **argv)
{
	struct ir_err	 err;
	int		 o;

	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":p:a:d:n:g:D:jhE:r:", opts,
	    NULL)) != -1) {
		switch (o) {
		case 'E':
			c->endpoints = optarg;
			break;
		case 'r':
			if (strv_add(&c->req, optarg) == -1)
				goto nomem;
			break;
		case 'p':
			if (c->profile != NULL)
				return cli_usage_error("policy", "policy check: "
				    "one profile only");
			c->profile = optarg;
			break;
		case 'a':
		case 'd':
			c->have_network = 1;
			if (strv_add(o == 'a' ? &c->allow : &c->deny,
			    optarg) == -1)
				goto nomem;
			break;
		case 'n':
			c->have_network = 1;
			if (network_parse(c, optarg, &err) == -1) {
				cli_warnx("%s", err.msg);
				return err.code == ENOMEM ? CLI_FAIL :
				    CLI_USAGE;
			}
			break;
		case 'g':
			if (strv_add(&c->guard, optarg) == -1)
				goto nomem;
			break;
		case 'D':
			c->profiles_dir = optarg;
			break;
		case 'j':
			c->json = 1;
			break;
		case 'h':
			cmd_policy_usage(stdout);
			return -1;
		default:
			return cli_getopt_error("policy", o, optopt,
			    argv[optind - 1]);
		}
	}
	if (c->profile != NULL && c->have_network) {
		cli_warnx("networkProfile and network are mutually exclusive "
		    "(--profile with --allow, --deny or --network)");
		return CLI_USAGE;
	}
	if ((c->req.n > 0) != (c->endpoints != NULL))
		return cli_usage_error("policy", "policy check: --request and "
		    "--endpoints go together");
	if (optind == argc && c->req.n == 0)
		return cli_usage_error("policy", "policy check: no TARGET "
		    "given");
	return CLI_OK;
nomem:
	cli_warnx("out of memory");
	return CLI_FAIL;
}

static int
policy_check(int argc, char **argv)
{
	struct check	 c;
	struct ir_err	 err;
	char		 q[QLEN];
	int		 rc;

	memset(&c, 0, sizeof(c));
	if ((rc = check_opts(&c, argc, argv)) != CLI_OK) {
		rc = rc == -1 ? CLI_OK : rc;
		goto done;
	}
	if ((rc = policy_build(&c)) != CLI_OK ||
	    (rc = guard_build(&c)) != CLI_OK)
		goto done;
	if ((c.tg = calloc((size_t)(argc - optind), sizeof(*c.tg))) == NULL) {
		cli_warnx("out of memory");
		rc = CLI_FAIL;
		goto done;
	}
	for (; optind < argc; optind++, c.ntg++) {
		if (target_parse(&c.tg[c.ntg], argv[optind], &err) == -1) {
			free(c.tg[c.ntg].name);
			str_quote(argv[optind], strlen(argv[optind]), 64, q,
			    sizeof(q));
			cli_warnx("target %s: %s", q, err.msg);
			rc = err.code == ENOMEM ? CLI_FAIL : CLI_USAGE;
			goto done;
		}
	}
	rc = c.json ? print_json(&c) : print_table(&c);
done:
	check_free(&c);
	return rc;
}

int
cmd_policy(int argc, char **argv)
{
	char	 q[QLEN];

	if (argc < 2)
		return cli_usage_error("policy", "policy: which subcommand? "
		    "(check)");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cmd_policy_usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "check") == 0)
		return policy_check(argc - 1, argv + 1);
	str_quote(argv[1], strlen(argv[1]), 64, q, sizeof(q));
	return cli_usage_error("policy", "policy: unknown subcommand %s (the "
	    "subcommands are: check)", q);
}
