/*
 * util.c - helpers the commands share.
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/file.h"
#include "../dns/dns.h"
#include "../policy/policy.h"
#include "../profiles/profiles.h"

void
cli_warnx(const char *fmt, ...)
{
	va_list	 ap;

	fputs("isorun: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list	 ap;

	fputs("isorun: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun 'isorun help %s' for usage.\n", cmd);
	return CLI_USAGE;
}

int
cli_getopt_error(const char *cmd, int c, int opt, const char *arg)
{
	char	 q[160];

	if (strncmp(arg, "--", 2) != 0 && opt > ' ' && opt < 0x7f)
		snprintf(q, sizeof(q), "'-%c'", opt);
	else
		str_quote(arg, strcspn(arg, "="), 32, q, sizeof(q));
	if (c == ':')
		return cli_usage_error(cmd, "%s: option %s needs an argument",
		    cmd, q);
	return cli_usage_error(cmd, "%s: unknown option %s", cmd, q);
}

const char *
cli_show(const char *s, char *buf, size_t len)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '\'' || *p == '\\')
			break;
	if (*p == '\0')
		return s;
	str_quote(s, strlen(s), 1024, buf, len);
	return buf;
}

struct profiles *
cli_profiles_load(const char *dir)
{
	const struct prof_diag	*d;
	struct profiles		*pc;
	struct ir_err		 err;
	size_t			 i;

	if ((pc = profiles_load(dir, &err)) == NULL) {
		cli_warnx("%s", err.msg);
		return NULL;
	}
	for (i = 0; i < profiles_ndiags(pc); i++) {
		d = profiles_diag(pc, i);
		cli_warnx("%s: %s",
		    d->severity == PROF_ERROR ? "error" : "warning", d->msg);
	}
	return pc;
}

int
cli_policy_make(const struct cli_policy_src *src, struct policy **out,
    char *source, size_t srclen, unsigned *dns_flags)
{
	const struct profile	*p;
	struct profiles		*pc;
	const char		*name = src->ps_profile;
	struct ir_err		 err;
	int			 rc = CLI_USAGE;

	if (dns_flags != NULL)
		*dns_flags = 0;
	if (src->ps_have_network) {
		if ((*out = policy_compile(src->ps_allow, src->ps_nallow,
		    src->ps_deny, src->ps_ndeny, &err)) == NULL) {
			cli_warnx("%s", err.msg);
			return CLI_USAGE;
		}
		snprintf(source, srclen, "rules");
		return CLI_OK;
	}
	if ((pc = cli_profiles_load(src->ps_profiles_dir)) == NULL)
		return CLI_FAIL;
	if (name == NULL)
		name = "unrestricted";	/* SPEC 2: neither means this */
	if ((p = profiles_find(pc, name, &err)) == NULL) {
		if (err.code == ENOENT)
			cli_warnx("%s; 'isorun profiles' lists them", err.msg);
		else
			cli_warnx("%s", err.msg);
	} else if ((*out = profile_compile(p, &err)) == NULL) {
		cli_warnx("%s", err.msg);
	} else {
		snprintf(source, srclen, "profile '%s'%s", profile_name(p),
		    src->ps_profile == NULL ? " (no policy given)" : "");
		/* The locked-down profile refuses names outright (issue 4). */
		if (dns_flags != NULL &&
		    strcmp(profile_name(p), "locked-down") == 0)
			*dns_flags = DNSVIEW_REFUSE;
		rc = CLI_OK;
	}
	profiles_free(pc);
	return rc;
}

int
cli_json_print(struct json_t *v)
{
	int	 rc = CLI_FAIL;

	if (v == NULL)
		cli_warnx("out of memory");
	else if (json_dumpf(v, stdout, JSON_INDENT(2)) == -1)
		cli_warnx("cannot write the JSON output");
	else {
		fputc('\n', stdout);
		rc = CLI_OK;
	}
	json_decref(v);
	return rc;
}

char *
cli_endpoints_load(const char *cmd, const char *file, size_t *len)
{
	struct ir_err	 e;
	json_error_t	 je;
	json_t		*j;
	char		*text;

	if ((text = ir_read_file(file, 1 << 20, len, &e)) == NULL) {
		cli_warnx("%s: --endpoints %s", cmd, e.msg);
		return NULL;
	}
	if ((j = json_loadb(text, *len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL || !json_is_array(j)) {
		if (j == NULL)
			cli_warnx("%s: --endpoints %s:%d:%d: %s", cmd, file,
			    je.line, je.column, je.text);
		else
			cli_warnx("%s: --endpoints %s: want a JSON array of "
			    "{host, rules, default, credentials}", cmd, file);
		json_decref(j);
		free(text);
		return NULL;
	}
	json_decref(j);
	return text;
}

int
cli_set_show(const char *cmd, int *argc, char ***argv, void (*usage)(FILE *),
    int *set)
{
	const char	*sub;

	if (*argc < 2 || strcmp((*argv)[1], "--help") == 0 ||
	    strcmp((*argv)[1], "-h") == 0) {
		usage(*argc < 2 ? stderr : stdout);
		return *argc < 2 ? CLI_USAGE : CLI_OK;
	}
	sub = (*argv)[1];
	if (strcmp(sub, "set") != 0 && strcmp(sub, "show") != 0)
		return cli_usage_error(cmd, "%s: unknown subcommand '%s': want "
		    "set or show", cmd, sub);
	*set = strcmp(sub, "set") == 0;
	(*argc)--;
	(*argv)++;
	return -1;
}
