/*
 * fuzz_rule.c - pol_rule_parse() on arbitrary bytes. Checks: no crash, no
 * leak; an accepted rule is well-formed and its stored name parses again to
 * itself; a rejected rule's message is one printable line.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*text;
	struct pol_rule	 r, r2;
	struct ir_err	 err = { 0 };
	size_t		 i;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (pol_rule_parse(text, POL_DENY, 0, &r, &err) == 0) {
		assert(r.text != NULL && strcmp(r.text, text) == 0);
		if (r.kind == POL_HOST || r.kind == POL_WILD) {
			assert(r.name != NULL && strlen(r.name) <= POL_NAME_MAX);
			for (i = 0; r.name[i]; i++)
				assert(r.name[i] > 0x20 && r.name[i] < 0x7f &&
				    !(r.name[i] >= 'A' && r.name[i] <= 'Z'));
			assert(pol_rule_parse(r.name, POL_DENY, 0, &r2,
			    NULL) == 0);
			assert(r2.kind == POL_HOST &&
			    strcmp(r2.name, r.name) == 0);
			pol_rule_clear(&r2);
		} else if (r.kind == POL_ADDR)
			assert(r.plen <= (r.family == 4 ? 32 : 128));
		pol_rule_clear(&r);
	} else {
		assert(err.msg[0] != '\0');
		for (i = 0; err.msg[i]; i++)
			assert((unsigned char)err.msg[i] >= 0x20 &&
			    (unsigned char)err.msg[i] < 0x7f);
	}
	free(text);
	return 0;
}
