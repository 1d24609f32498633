#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
err_set(struct ir_err *e, int code, const char *fmt, ...)
{
	va_list	 ap;

	if (e == NULL)
		return -1;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void
err_prefix(struct ir_err *e, const char *fmt, ...)
{
	char	 pre[IR_ERR_MAX], old[IR_ERR_MAX];
	va_list	 ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%s: %s", pre, old);
}

void
str_quote(const char *s, size_t len, size_t max, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t		 i, o = 0;

	if (outlen == 0)
		return;
	/* room for: closing quote, "...", NUL */
#define ROOM(n) (o + (n) + 5 <= outlen)
	if (ROOM(1))
		out[o++] = '\'';
	for (i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\'' || c == '\\') {
			if (!ROOM(2))
				break;
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			if (!ROOM(4))
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			if (!ROOM(1))
				break;
			out[o++] = (char)c;
		}
	}
#undef ROOM
	if (i < len && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	if (o + 1 < outlen)
		out[o++] = '\'';
	out[o] = '\0';
}
