/*
 * err.h - errors as values.
 *
 * A function that can fail takes a caller-owned `struct ir_err *` and, on
 * failure, writes one message that names the input and says why. The edge
 * (CLI, API) reports it once. Callers may pass NULL when they only need the
 * return code.
 */
#ifndef ISORUN_ERR_H
#define ISORUN_ERR_H

#include <stddef.h>

#define IR_ERR_MAX 512

struct ir_err {
	int	 code;		/* errno, or 0 for a plain input error */
	char	 msg[IR_ERR_MAX];
};

/* Sets the message (printf-style); returns -1 so callers can `return err_set(...)`. */
int	err_set(struct ir_err *, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Puts "<context>: " in front of the current message. */
void	err_prefix(struct ir_err *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Writes `s` (length `len`) into `out` as a printable, single-quoted string:
 * control and non-ASCII bytes become \xNN, quotes and backslashes are escaped,
 * and anything past `max` input bytes becomes "...". Always NUL-terminates.
 * Use it for every guest- or user-supplied string that goes into a message.
 */
void	str_quote(const char *s, size_t len, size_t max, char *out, size_t outlen);

#endif
