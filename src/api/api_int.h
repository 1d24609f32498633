/*
 * api_int.h - shared inside src/api only.
 */
#ifndef ISORUN_API_INT_H
#define ISORUN_API_INT_H

#include <jansson.h>

#include "api.h"

/*
 * A create's `endpoints` member: compiled into *eps (NULL for an empty
 * array) and kept as compact JSON text in *text (NULL when *eps is).
 */
int	api_endpoints_member(const json_t *v, struct endpoints **eps,
	    char **text, struct api_error *err);

/* "an object", "a string", ... for messages; "nothing" for NULL. */
const char	*api_json_type(const json_t *v);

#endif
