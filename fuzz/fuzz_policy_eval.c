/*
 * fuzz_policy_eval.c - differential fuzzing of the evaluator. The input is
 * lines: up to 32 rules ("+rule" allow, "-rule" deny), then targets
 * ("@addr port name name..."; names may hold any byte but newline and
 * space). The compiled engine and the naive scan must agree on verdict,
 * basis, rule, name index and name_matters for every target.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXRULES 32
#define MAXNAMES 4

static struct pol_guard *guard;

static void
eval_target(const struct policy *p, char *line)
{
	struct pol_name		 names[MAXNAMES];
	struct pol_target	 t = { 0 };
	struct pol_decision	 a, b;
	char			*tok, *save = NULL, why[256];
	int			 i = 0;

	if ((tok = strtok_r(line, " ", &save)) == NULL)
		return;
	(void)pol_target_set_addr(&t, tok);
	if ((tok = strtok_r(NULL, " ", &save)) != NULL)
		t.port = (uint16_t)strtoul(tok, NULL, 10);
	while (i < MAXNAMES && (tok = strtok_r(NULL, " ", &save)) != NULL) {
		names[i].s = tok;
		names[i].len = strlen(tok);
		/* a NUL inside a name, as a TLS SNI may carry */
		if (names[i].len > 2 && tok[0] == '~')
			tok[1] = '\0';
		i++;
	}
	t.names = names;
	t.nnames = (size_t)i;
	policy_eval(p, guard, &t, &a);
	policy_eval_naive(p, guard, &t, &b);
	assert(a.verdict == b.verdict);
	assert(a.basis == b.basis);
	assert(a.rule == b.rule);
	assert(a.name == b.name);
	assert(a.name_matters == b.name_matters);
	policy_explain(p, &t, &a, why, sizeof(why));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*allow[MAXRULES], *deny[MAXRULES];
	size_t		 na = 0, nd = 0;
	char		*buf, *line, *save = NULL;
	struct policy	*p;

	if (guard == NULL)
		guard = pol_guard_compile(pol_guard_defaults,
		    pol_guard_ndefaults, NULL);
	if (size > 1 << 16 || (buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	/* first pass: rules */
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '+' && na < MAXRULES)
			allow[na++] = line + 1;
		else if (line[0] == '-' && nd < MAXRULES)
			deny[nd++] = line + 1;
		else if (line[0] == '@')
			break;
	}
	p = policy_compile(allow, na, deny, nd, NULL);
	if (p != NULL) {
		for (; line != NULL; line = strtok_r(NULL, "\n", &save))
			if (line[0] == '@')
				eval_target(p, line + 1);
		policy_free(p);
	}
	free(buf);
	return 0;
}
