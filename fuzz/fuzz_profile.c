/*
 * fuzz_profile.c - profile_parse() on arbitrary bytes (operator profile
 * files). Checks: no crash, leak or UB; a success yields at least one
 * profile whose rules compile; a failure has a message.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

#include "profiles/profiles.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile	**v = NULL;
	struct policy	 *p;
	struct ir_err	  err = { 0 };
	size_t		  n = 0, i;

	if (profile_parse((const char *)data, size, "fuzz.json", &v, &n, NULL,
	    &err) == 0) {
		assert(n >= 1);
		for (i = 0; i < n; i++) {
			p = profile_compile(v[i], &err);
			assert(p != NULL);
			policy_free(p);
		}
		profile_freev(v, n);
	} else
		assert(err.msg[0] != '\0');
	return 0;
}
