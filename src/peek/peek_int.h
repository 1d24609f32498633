/*
 * peek_int.h - what the parsers of src/peek share. Not a contract.
 */
#ifndef ISORUN_PEEK_INT_H
#define ISORUN_PEEK_INT_H

#include <stddef.h>
#include <stdint.h>

#define PEEK_QMAX	32	/* guest bytes quoted in a reason */

/* RFC 9110 tchar. */
int		 peek_tchar(uint8_t c);

/* n guest bytes quoted for a reason (str_quote, PEEK_QMAX); returns out. */
const char	*peek_quote(char *out, size_t outlen, const uint8_t *s,
		    size_t n);

#endif
