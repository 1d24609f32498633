/*
 * test_profiles.c - the profile parser, the built-ins, and loading a
 * directory of good and bad files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profiles/profiles.h"
#include "t.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const struct good {
	const char	*desc;
	const char	*text;
	size_t		 n;		/* profiles in the file */
	const char	*name;		/* of the last one */
	const char	*mode;
	size_t		 nallow, ndeny;
} good[] = {
	{ "name only", "{\"name\":\"a\"}", 1, "a", "allow-all", 0, 0 },
	{ "empty lists", "{\"name\":\"a\",\"allow\":[],\"deny\":[]}", 1, "a",
	    "allow-all", 0, 0 },
	{ "all fields", "{\"name\":\"x-1\",\"description\":\"d\","
	    "\"mode\":\"allow-list\",\"allow\":[\"pypi.org\"]}", 1, "x-1",
	    "allow-list", 1, 0 },
	{ "deny-all without rules means deny *",
	    "{\"name\":\"z\",\"mode\":\"deny-all\"}", 1, "z", "deny-all", 0, 1 },
	{ "catch-all CIDR is deny-all", "{\"name\":\"z\","
	    "\"deny\":[\"0.0.0.0/0\"]}", 1, "z", "deny-all", 0, 1 },
	{ "deny-list", "{\"name\":\"meta\",\"mode\":\"deny-list\","
	    "\"deny\":[\"169.254.169.254\",\"metadata.google.internal\"]}", 1,
	    "meta", "deny-list", 0, 2 },
	{ "seed's allow-only", "{\"name\":\"s\",\"deny\":[\"0.0.0.0/0\"],"
	    "\"allow\":[\"api.openai.com\",\"pypi.org\"]}", 1, "s",
	    "allow-list", 2, 1 },
	{ "array", "[{\"name\":\"a\"},{\"name\":\"b\","
	    "\"allow\":[\"*.example.com\",\"10.0.0.0/8:5432\"]}]", 2, "b",
	    "allow-list", 2, 0 },
	{ "digit first", "{\"name\":\"0abc\"}", 1, "0abc", "allow-all", 0, 0 },
	{ "64-byte name", "{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaa\"}", 1, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaa", "allow-all", 0, 0 },
	{ "UTF-8 description", "{\"name\":\"u\",\"description\":"
	    "\"caf\xc3\xa9 \\u00e9\"}", 1, "u", "allow-all", 0, 0 },
	{ "whitespace around", "\n  {\"name\" : \"w\"}\n\n", 1, "w",
	    "allow-all", 0, 0 },
};

static const struct bad {
	const char	*desc;
	const char	*text;
	const char	*want;		/* a fragment of the message */
	const char	*field;		/* where->field, NULL: not checked */
	int		 line;		/* where->line, -1: not checked */
} bad[] = {
	{ "empty", "", "t.json:1:0: ", "", 1 },
	{ "trailing comma", "{\"name\":\"a\",}", "t.json:1:", "", 1 },
	{ "error line", "\n\n{\"name\": }", "t.json:3:", "", 3 },
	{ "duplicate key", "{\"name\":\"a\",\"name\":\"b\"}", "duplicate", "",
	    1 },
	{ "bare string", "\"a\"", "t.json:1:", "", 1 },
	{ "number", "42", "t.json:1:", "", 1 },
	{ "trailing garbage", "{\"name\":\"a\"} x", "t.json:1:", "", 1 },
	{ "NUL in string", "{\"name\":\"a\\u0000b\"}", "t.json:1:", "", 1 },
	{ "bad UTF-8", "{\"name\":\"a\",\"description\":\"\xff\"}",
	    "t.json:1:", "", 1 },
	{ "empty array", "[]", "t.json: must be a profile object or a "
	    "non-empty array", "", 0 },
	{ "array of number", "[1]", "t.json: [0] must be a profile object",
	    "[0]", 0 },
	{ "no name", "{}", "t.json: name is missing", "name", 0 },
	{ "no name, other fields", "{\"allow\":[\"a.com\"]}",
	    "t.json: name is missing", "name", 0 },
	{ "name not string", "{\"name\":1}", "t.json: name must be a string",
	    "name", 0 },
	{ "name null", "{\"name\":null}", "name must be a string", "name", 0 },
	{ "name empty", "{\"name\":\"\"}", "t.json: name '': must be 1-64 "
	    "characters", "name", 0 },
	{ "name upper case", "{\"name\":\"Abc\"}", "name 'Abc': must be",
	    "name", 0 },
	{ "name starts with -", "{\"name\":\"-a\"}", "name '-a': must be",
	    "name", 0 },
	{ "name underscore", "{\"name\":\"a_b\"}", "name 'a_b'", "name", 0 },
	{ "name space", "{\"name\":\"a b\"}", "name 'a b'", "name", 0 },
	{ "name control byte", "{\"name\":\"a\\u0001\"}", "name 'a\\x01'",
	    "name", 0 },
	{ "name 65 bytes", "{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaa\"}", "must be 1-64", "name", 0 },
	{ "description not string", "{\"name\":\"a\",\"description\":3}",
	    "t.json: description must be a string", "description", 0 },
	{ "description newline", "{\"name\":\"a\",\"description\":\"x\\ny\"}",
	    "description must not contain control characters", "description",
	    0 },
	{ "mode unknown", "{\"name\":\"a\",\"mode\":\"open\"}",
	    "t.json: mode 'open': must be one of 'allow-all', 'deny-list', "
	    "'allow-list', 'deny-all'", "mode", 0 },
	{ "mode not string", "{\"name\":\"a\",\"mode\":3}",
	    "mode must be a string", "mode", 0 },
	{ "mode allow-list, no rules", "{\"name\":\"a\",\"mode\":\"allow-list\"}",
	    "t.json: mode 'allow-list' does not match the rules, whose mode is "
	    "'allow-all'", "mode", 0 },
	{ "mode deny-list, catch-all", "{\"name\":\"a\",\"mode\":\"deny-list\","
	    "\"deny\":[\"*\"]}", "whose mode is 'deny-all'", "mode", 0 },
	{ "mode allow-all with allow", "{\"name\":\"a\",\"mode\":\"allow-all\","
	    "\"allow\":[\"x.com\"]}", "whose mode is 'allow-list'", "mode", 0 },
	{ "mode deny-all with allow", "{\"name\":\"a\",\"mode\":\"deny-all\","
	    "\"deny\":[\"*\"],\"allow\":[\"x.com\"]}",
	    "whose mode is 'allow-list'", "mode", 0 },
	{ "allow not array", "{\"name\":\"a\",\"allow\":\"x.com\"}",
	    "t.json: allow must be an array of strings", "allow", 0 },
	{ "deny not array", "{\"name\":\"a\",\"deny\":{}}",
	    "t.json: deny must be an array of strings", "deny", 0 },
	{ "allow element not string", "{\"name\":\"a\","
	    "\"allow\":[\"x.com\",3]}", "t.json: allow[1] must be a string",
	    "allow[1]", 0 },
	{ "bad allow rule", "{\"name\":\"a\",\"allow\":[\"x.com\","
	    "\"*foo.com\"]}", "t.json: allow[1] '*foo.com': ", "allow[1]", 0 },
	{ "bad deny rule", "{\"name\":\"a\",\"deny\":[\"10.0.0.1/8\"]}",
	    "t.json: deny[0] '10.0.0.1/8': ", "deny[0]", 0 },
	{ "empty rule", "{\"name\":\"a\",\"allow\":[\"\"]}",
	    "t.json: allow[0] ", "allow[0]", 0 },
	{ "bad port", "{\"name\":\"a\",\"allow\":[\"x.com:0\"]}",
	    "allow[0] 'x.com:0'", "allow[0]", 0 },
	{ "unknown field", "{\"name\":\"a\",\"extra\":1}",
	    "t.json: unknown field 'extra'", "'extra'", 0 },
	{ "field case matters", "{\"Name\":\"a\"}", "unknown field 'Name'",
	    "'Name'", 0 },
	{ "duplicate in array", "[{\"name\":\"a\"},{\"name\":\"a\"}]",
	    "t.json: [1].name 'a' is already defined by [0]", "[1].name", 0 },
	{ "bad rule in array", "[{\"name\":\"a\"},{\"name\":\"b\","
	    "\"allow\":[\"a.*.com\"]}]", "t.json: [1].allow[0] 'a.*.com': ",
	    "[1].allow[0]", 0 },
	{ "bad name in array", "[{\"name\":\"a\"},{\"name\":\"B\"}]",
	    "t.json: [1].name 'B'", "[1].name", 0 },
};

static void
test_good(const struct good *g)
{
	struct profile		**v = NULL;
	struct prof_where	  w;
	struct ir_err		  err;
	const struct profile	 *p;
	struct policy		 *pol;
	size_t			  n = 0;

	memset(&err, 0, sizeof(err));
	T_CHECK(profile_parse(g->text, strlen(g->text), "t.json", &v, &n, &w,
	    &err) == 0, "%s", err.msg);
	if (v == NULL)
		return;
	T_CHECK(n == g->n, "%zu profiles, want %zu", n, g->n);
	p = v[n - 1];
	T_STREQ(profile_name(p), g->name);
	T_STREQ(pol_mode_name(profile_mode(p)), g->mode);
	T_CHECK(profile_nrules(p, POL_ALLOW) == g->nallow, "%zu allow rules",
	    profile_nrules(p, POL_ALLOW));
	T_CHECK(profile_nrules(p, POL_DENY) == g->ndeny, "%zu deny rules",
	    profile_nrules(p, POL_DENY));
	T_STREQ(profile_source(p), "t.json");
	T_CHECK(!profile_is_builtin(p), "a file's profile is built in");
	pol = profile_compile(p, &err);
	T_CHECK(pol != NULL, "%s", err.msg);
	if (pol != NULL)
		T_CHECK(policy_mode(pol) == profile_mode(p), "modes differ");
	policy_free(pol);
	profile_freev(v, n);
}

static void
test_bad(const struct bad *b)
{
	struct profile		**v = (struct profile **)1;
	struct prof_where	  w;
	struct ir_err		  err;
	size_t			  n = 99;

	memset(&err, 0, sizeof(err));
	T_CHECK(profile_parse(b->text, strlen(b->text), "t.json", &v, &n, &w,
	    &err) == -1, "parsed");
	T_CHECK(v == NULL && n == 0, "output not cleared");
	T_CHECK(strstr(err.msg, b->want) != NULL, "message '%s' lacks '%s'",
	    err.msg, b->want);
	T_CHECK(strncmp(err.msg, "t.json", 6) == 0, "message '%s' does not "
	    "name the origin", err.msg);
	if (b->field != NULL)
		T_STREQ(w.field, b->field);
	if (b->line >= 0)
		T_CHECK(w.line == b->line, "line %d, want %d", w.line, b->line);
}

static void
test_oversize(void)
{
	struct profile	**v;
	struct ir_err	  err;
	size_t		  n, len = PROFILE_FILE_MAX + 1;
	char		 *text;

	if ((text = malloc(len)) == NULL)
		return;
	memset(text, ' ', len);
	memcpy(text, "{\"name\":\"a\"}", 12);
	T_CHECK(profile_parse(text, len, "big.json", &v, &n, NULL, &err) == -1,
	    "parsed");
	T_CHECK(strstr(err.msg, "big.json: 1048577 bytes, over the") != NULL,
	    "%s", err.msg);
	T_CHECK(profile_parse(text, len - 1, "big.json", &v, &n, NULL,
	    &err) == 0, "at the limit: %s", err.msg);
	if (n == 1)
		profile_freev(v, n);
	free(text);
}

static void
test_origin_quoted(void)
{
	struct profile	**v;
	struct ir_err	  err;
	size_t		  n;

	T_CHECK(profile_parse("{}", 2, "a\nb.json", &v, &n, NULL, &err) == -1,
	    "parsed");
	T_CHECK(strncmp(err.msg, "'a\\x0ab.json': ", 15) == 0, "%s", err.msg);
}

static void
test_new(void)
{
	static const char *const allow[] = { "x.example" };
	struct profile	*p;
	struct prof_where w;
	struct ir_err	 err;

	p = profile_new("n", NULL, NULL, allow, 1, NULL, 0, NULL, &w, &err);
	T_CHECK(p != NULL, "%s", err.msg);
	if (p == NULL)
		return;
	T_CHECK(profile_is_builtin(p), "NULL source is built in");
	T_STREQ(profile_source(p), "builtin");
	T_STREQ(profile_description(p), "");
	T_STREQ(profile_rules(p, POL_ALLOW)[0], "x.example");
	T_CHECK(profile_rules(p, POL_DENY) == NULL, "empty deny list");
	profile_free(p);
	T_CHECK(profile_new(NULL, NULL, NULL, NULL, 0, NULL, 0, NULL, &w,
	    &err) == NULL, "no name");
	T_STREQ(err.msg, "name is missing");
}

/* SPEC.md section 3, written out again on purpose. */
static const char *const spec_anthropic[] = {
	"api.anthropic.com", "statsig.anthropic.com", "claude.ai",
	"platform.claude.com", "docs.claude.com", "code.claude.com",
};
static const char *const spec_pypi[] = {
	"pypi.org", "www.pypi.org", "files.pythonhosted.org",
	"pythonhosted.org", "pypi.python.org", "test.pypi.org",
};
static const char *const spec_npm[] = {
	"registry.npmjs.org", "npmjs.org", "www.npmjs.org", "npmjs.com",
	"www.npmjs.com", "registry.yarnpkg.com", "yarnpkg.com",
};
static const char *const spec_github[] = {
	"github.com", "www.github.com", "api.github.com", "codeload.github.com",
	"gist.github.com", "raw.githubusercontent.com",
	"objects.githubusercontent.com", "release-assets.githubusercontent.com",
	"avatars.githubusercontent.com", "pkg-npm.githubusercontent.com",
	"npm.pkg.github.com", "ghcr.io",
};
static const char *const spec_crates[] = {
	"crates.io", "www.crates.io", "index.crates.io", "static.crates.io",
	"static.rust-lang.org", "rustup.rs",
};
static const char *const spec_openai[] = { "api.openai.com" };

static int
has_rule(const struct profile *p, enum pol_list l, const char *rule)
{
	size_t	 i;

	for (i = 0; i < profile_nrules(p, l); i++)
		if (strcmp(profile_rules(p, l)[i], rule) == 0)
			return 1;
	return 0;
}

#define HAS_ALL(p, list) do {						\
	size_t i_;							\
	for (i_ = 0; i_ < NELEM(list); i_++)				\
		T_CHECK(has_rule(p, POL_ALLOW, (list)[i_]), "%s lacks %s", \
		    profile_name(p), (list)[i_]);			\
} while (0)

/* Evaluates a name-only target; returns the verdict. */
static enum pol_verdict
verdict(const struct profile *p, const char *name)
{
	struct pol_name		 n = { name, strlen(name) };
	struct pol_target	 t;
	struct pol_decision	 d;
	struct policy		*pol;
	struct ir_err		 err;

	memset(&t, 0, sizeof(t));
	t.names = &n;
	t.nnames = 1;
	if ((pol = profile_compile(p, &err)) == NULL)
		return (enum pol_verdict)-1;
	policy_eval(pol, NULL, &t, &d);
	policy_free(pol);
	return d.verdict;
}

static void
test_builtins(void)
{
	static const char *const order[] = {
		"unrestricted", "locked-down", "claude-code", "openai",
	};
	static const char *const modes[] = {
		"allow-all", "deny-all", "allow-list", "allow-list",
	};
	const struct profile	*p;
	struct profiles		*pc;
	struct ir_err		 err;
	size_t			 i;

	if ((pc = profiles_builtin(&err)) == NULL) {
		T_CHECK(0, "%s", err.msg);
		return;
	}
	T_CHECK(profiles_count(pc) == 4, "%zu built-ins", profiles_count(pc));
	T_CHECK(profiles_ndiags(pc) == 0, "diagnostics");
	for (i = 0; i < NELEM(order) && i < profiles_count(pc); i++) {
		p = profiles_at(pc, i);
		T_STREQ(profile_name(p), order[i]);
		T_STREQ(pol_mode_name(profile_mode(p)), modes[i]);
		T_CHECK(profile_is_builtin(p), "%s not built in", order[i]);
		T_CHECK(*profile_description(p) != '\0', "no description");
	}
	T_CHECK(profiles_at(pc, 4) == NULL, "past the end");

	p = profiles_find(pc, "unrestricted", &err);
	T_CHECK(p && profile_nrules(p, POL_ALLOW) == 0 &&
	    profile_nrules(p, POL_DENY) == 0, "unrestricted has rules");
	T_STREQ(p ? profile_description(p) : NULL,
	    "No filtering, sandbox can reach any host");
	T_CHECK(p && verdict(p, "example.com") == POL_PERMITTED, "unrestricted");

	p = profiles_find(pc, "locked-down", &err);
	T_CHECK(p && profile_nrules(p, POL_ALLOW) == 0 &&
	    profile_nrules(p, POL_DENY) == 1 &&
	    strcmp(profile_rules(p, POL_DENY)[0], "*") == 0,
	    "locked-down is not deny [*]");
	T_STREQ(p ? profile_description(p) : NULL,
	    "Air-gapped, no external network at all");
	T_CHECK(p && verdict(p, "example.com") == POL_BLOCKED, "locked-down");

	p = profiles_find(pc, "claude-code", &err);
	T_CHECK(p != NULL, "%s", err.msg);
	if (p != NULL) {
		HAS_ALL(p, spec_anthropic);
		HAS_ALL(p, spec_pypi);
		HAS_ALL(p, spec_npm);
		HAS_ALL(p, spec_github);
		HAS_ALL(p, spec_crates);
		T_CHECK(profile_nrules(p, POL_ALLOW) == NELEM(spec_anthropic) +
		    NELEM(spec_pypi) + NELEM(spec_npm) + NELEM(spec_github) +
		    NELEM(spec_crates), "claude-code has %zu hosts",
		    profile_nrules(p, POL_ALLOW));
		T_CHECK(profile_nrules(p, POL_DENY) == 0, "deny rules");
		T_CHECK(!has_rule(p, POL_ALLOW, "api.openai.com"), "openai");
		T_STREQ(profile_description(p),
		    "Anthropic API + PyPI + npm + GitHub + crates.io");
		T_CHECK(verdict(p, "pypi.org") == POL_PERMITTED, "pypi.org");
		T_CHECK(verdict(p, "files.pythonhosted.org") == POL_PERMITTED,
		    "files.pythonhosted.org");
		T_CHECK(verdict(p, "objects.githubusercontent.com") ==
		    POL_PERMITTED, "objects.githubusercontent.com");
		T_CHECK(verdict(p, "random-site.com") == POL_BLOCKED,
		    "random-site.com");
	}

	p = profiles_find(pc, "openai", &err);
	T_CHECK(p != NULL, "%s", err.msg);
	if (p != NULL) {
		HAS_ALL(p, spec_openai);
		HAS_ALL(p, spec_pypi);
		HAS_ALL(p, spec_npm);
		HAS_ALL(p, spec_github);
		T_CHECK(profile_nrules(p, POL_ALLOW) == NELEM(spec_openai) +
		    NELEM(spec_pypi) + NELEM(spec_npm) + NELEM(spec_github),
		    "openai has %zu hosts", profile_nrules(p, POL_ALLOW));
		T_CHECK(!has_rule(p, POL_ALLOW, "api.anthropic.com"),
		    "openai has api.anthropic.com");
		T_CHECK(!has_rule(p, POL_ALLOW, "crates.io"), "crates.io");
		T_CHECK(verdict(p, "api.anthropic.com") == POL_BLOCKED,
		    "api.anthropic.com");
		T_STREQ(profile_description(p), "OpenAI API + PyPI + npm + GitHub");
	}

	T_CHECK(profiles_find(pc, "nope", &err) == NULL, "found nope");
	T_STREQ(err.msg, "unknown profile 'nope'");
	profiles_free(pc);
}

/*
 * Directory loading.
 */
static char	 tmpdir[64];

static int
put(const char *name, const char *text, size_t len)
{
	char	 path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	if (fwrite(text, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

#define PUT(name, text)	put(name, text, strlen(text))

static void
rm_rf(const char *dir)
{
	char	 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static const struct prof_diag *
diag_for(const struct profiles *pc, const char *file)
{
	const struct prof_diag	*d;
	size_t			 i;

	for (i = 0; i < profiles_ndiags(pc); i++) {
		d = profiles_diag(pc, i);
		if (strstr(d->path, file) != NULL)
			return d;
	}
	return NULL;
}

static int
setup_dir(void)
{
	char	*big;
	int	 rc = 0;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/isorun-test-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	rc |= PUT("10-good.json", "{\"name\":\"team-a\",\"description\":"
	    "\"Team A\",\"allow\":[\"*.corp.example\",\"pypi.org\"]}");
	rc |= PUT("05-multi.json", "[{\"name\":\"zeta\"},{\"name\":\"alpha\","
	    "\"mode\":\"deny-all\"}]");
	rc |= PUT("20-badjson.json", "{\n  \"name\": \"broken-json\",\n");
	rc |= PUT("30-badrule.json", "{\"name\":\"bad-rule\","
	    "\"allow\":[\"*foo.com\"]}");
	rc |= PUT("40-override.json", "{\"name\":\"claude-code\","
	    "\"description\":\"Tighter\",\"allow\":[\"api.anthropic.com\"]}");
	rc |= PUT("50-dup-a.json", "{\"name\":\"dup\",\"allow\":[\"a.example\"]}");
	rc |= PUT("60-dup-b.json", "{\"name\":\"dup\",\"allow\":[\"b.example\"]}");
	rc |= PUT("90-bad-openai.json", "{\"name\":\"openai\","
	    "\"allow\":[\"a.*.com\"]}");
	rc |= PUT("notes.txt", "not a profile");
	rc |= PUT(".hidden.json", "{");
	if ((big = malloc(PROFILE_FILE_MAX + 2)) == NULL)
		return -1;
	memset(big, ' ', PROFILE_FILE_MAX + 2);
	memcpy(big, "{\"name\":\"big\"}", 14);
	rc |= put("70-big.json", big, PROFILE_FILE_MAX + 2);
	free(big);
	{
		char	 d[128];

		snprintf(d, sizeof(d), "%s/80-dir.json", tmpdir);
		rc |= mkdir(d, 0700);
	}
	return rc ? -1 : 0;
}

static void
test_dir(void)
{
	static const char *const order[] = {
		"unrestricted", "locked-down", "claude-code", "alpha", "dup",
		"team-a", "zeta",
	};
	const struct prof_diag	*d;
	const struct profile	*p;
	struct profiles		*pc;
	struct ir_err		 err;
	size_t			 i, nerr = 0, nwarn = 0;

	if ((pc = profiles_load(tmpdir, &err)) == NULL) {
		T_CHECK(0, "%s", err.msg);
		return;
	}
	T_CHECK(profiles_count(pc) == NELEM(order), "%zu profiles",
	    profiles_count(pc));
	for (i = 0; i < NELEM(order) && i < profiles_count(pc); i++)
		T_STREQ(profile_name(profiles_at(pc, i)), order[i]);

	for (i = 0; i < profiles_ndiags(pc); i++) {
		d = profiles_diag(pc, i);
		if (d->severity == PROF_ERROR)
			nerr++;
		else
			nwarn++;
		T_CHECK(strstr(d->msg, d->path) != NULL, "'%s' lacks the path",
		    d->msg);
	}
	T_CHECK(nerr == 5, "%zu errors", nerr);
	T_CHECK(nwarn == 1, "%zu warnings", nwarn);

	d = diag_for(pc, "20-badjson.json");
	T_CHECK(d && d->severity == PROF_ERROR && d->line == 3,
	    "bad JSON: %s", d ? d->msg : "no diagnostic");
	d = diag_for(pc, "30-badrule.json");
	T_CHECK(d && d->field && strcmp(d->field, "allow[0]") == 0 &&
	    strstr(d->msg, "allow[0] '*foo.com': ") != NULL,
	    "bad rule: %s", d ? d->msg : "no diagnostic");
	d = diag_for(pc, "60-dup-b.json");
	T_CHECK(d && d->severity == PROF_WARNING &&
	    strstr(d->msg, "'dup'") && strstr(d->msg, "50-dup-a.json"),
	    "duplicate: %s", d ? d->msg : "no diagnostic");
	d = diag_for(pc, "70-big.json");
	T_CHECK(d && strstr(d->msg, "over the 1048576-byte limit"),
	    "big: %s", d ? d->msg : "no diagnostic");
	d = diag_for(pc, "80-dir.json");
	T_CHECK(d && strstr(d->msg, "not a regular file"), "dir: %s",
	    d ? d->msg : "no diagnostic");
	T_CHECK(diag_for(pc, "notes.txt") == NULL, "notes.txt read");
	T_CHECK(diag_for(pc, ".hidden.json") == NULL, ".hidden.json read");

	p = profiles_find(pc, "claude-code", &err);
	T_CHECK(p && profile_nrules(p, POL_ALLOW) == 1 &&
	    strcmp(profile_description(p), "Tighter") == 0 &&
	    strstr(profile_source(p), "40-override.json") != NULL,
	    "claude-code not overridden");
	p = profiles_find(pc, "dup", &err);
	T_CHECK(p && strcmp(profile_rules(p, POL_ALLOW)[0], "b.example") == 0,
	    "the later dup does not win");
	p = profiles_find(pc, "alpha", &err);
	T_CHECK(p && profile_mode(p) == POL_MODE_DENY_ALL, "alpha");

	/* A broken file's names fail closed, built-in or not. */
	T_CHECK(profiles_find(pc, "bad-rule", &err) == NULL, "bad-rule found");
	T_CHECK(strstr(err.msg, "profile 'bad-rule' is unavailable: ") &&
	    strstr(err.msg, "30-badrule.json: allow[0] '*foo.com'"),
	    "%s", err.msg);
	T_CHECK(profiles_find(pc, "openai", &err) == NULL,
	    "a broken override fell back to the built-in");
	T_CHECK(strstr(err.msg, "a.*.com") != NULL, "%s", err.msg);
	T_CHECK(profiles_find(pc, "broken-json", &err) == NULL, "broken-json");
	T_CHECK(strstr(err.msg, "unknown profile") != NULL, "%s", err.msg);
	profiles_free(pc);
}

static void
test_reload(void)
{
	struct profiles	*pc;
	struct ir_err	 err;

	if ((pc = profiles_load(tmpdir, &err)) == NULL) {
		T_CHECK(0, "%s", err.msg);
		return;
	}
	T_CHECK(profiles_find(pc, "later", &err) == NULL, "later too soon");
	profiles_free(pc);
	T_CHECK(PUT("95-later.json", "{\"name\":\"later\"}") == 0, "write");
	if ((pc = profiles_load(tmpdir, &err)) == NULL) {
		T_CHECK(0, "%s", err.msg);
		return;
	}
	T_CHECK(profiles_find(pc, "later", &err) != NULL, "%s", err.msg);
	profiles_free(pc);
}

static void
test_dir_missing(void)
{
	struct profiles	*pc;
	struct ir_err	 err;
	char		 path[128];

	snprintf(path, sizeof(path), "%s/nonexistent", tmpdir);
	pc = profiles_load(path, &err);
	T_CHECK(pc != NULL, "%s", err.msg);
	if (pc != NULL) {
		T_CHECK(profiles_count(pc) == 4, "%zu", profiles_count(pc));
		T_CHECK(profiles_ndiags(pc) == 0, "diagnostics");
		profiles_free(pc);
	}
	snprintf(path, sizeof(path), "%s/10-good.json", tmpdir);
	T_CHECK(profiles_load(path, &err) == NULL, "a file as directory");
	T_CHECK(strstr(err.msg, "profiles directory ") != NULL &&
	    strstr(err.msg, "10-good.json") != NULL, "%s", err.msg);
}

int
main(void)
{
	size_t	 i;

	for (i = 0; i < NELEM(good); i++)
		T_RUN(test_good(&good[i]), "profile_parse good: %s",
		    good[i].desc);
	for (i = 0; i < NELEM(bad); i++)
		T_RUN(test_bad(&bad[i]), "profile_parse bad: %s", bad[i].desc);
	T_RUN(test_oversize(), "profile_parse: size limit");
	T_RUN(test_origin_quoted(), "profile_parse: odd origin quoted");
	T_RUN(test_new(), "profile_new");
	T_RUN(test_builtins(), "built-in profiles");
	if (setup_dir() == -1) {
		printf("not ok - profiles directory: setup: %s\n",
		    strerror(errno));
		return 1;
	}
	T_RUN(test_dir(), "profiles_load: good files load despite bad ones");
	T_RUN(test_reload(), "profiles_load: again sees new files");
	T_RUN(test_dir_missing(), "profiles_load: missing directory");
	rm_rf(tmpdir);
	return t_done();
}
