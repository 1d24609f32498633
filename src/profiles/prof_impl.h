/*
 * prof_impl.h - what profile.c and catalog.c share; not part of the API.
 */
#ifndef ISORUN_PROF_IMPL_H
#define ISORUN_PROF_IMPL_H

#include <stddef.h>

/* True if `s` is a valid profile name: 1-64 of [a-z0-9-], alnum first. */
int	prof_name_valid(const char *s);

/*
 * Writes `s` (a path or an origin) for a message: as it is when every byte
 * is printable ASCII without quotes, else str_quote()d.
 */
void	prof_show(const char *s, char *out, size_t len);

#endif
