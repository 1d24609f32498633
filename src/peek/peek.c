/*
 * peek.c - classifying a connection's first bytes, the host name check both
 * parsers share, and the replies sent when a peek ends in "blocked".
 */
#include <stdio.h>
#include <string.h>

#include "../common/err.h"
#include "peek.h"
#include "peek_int.h"

int
peek_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

const char *
peek_quote(char *out, size_t outlen, const uint8_t *s, size_t n)
{
	str_quote((const char *)s, n, PEEK_QMAX, out, outlen);
	return out;
}

enum peek_rc
peek_classify(const uint8_t *buf, size_t len)
{
	size_t	 i;

	if (len == 0)
		return PEEK_MORE;
	if (buf[0] == 0x16)
		return PEEK_TLS;
	if (buf[0] & 0x80) {
		/*
		 * SSLv2 record header (2-byte length, high bit set),
		 * CLIENT-HELLO (1), version major 3: handed to the TLS
		 * parser so that it is refused by name.
		 */
		if (len < 4)
			return PEEK_MORE;
		return buf[2] == 1 && buf[3] == 3 ? PEEK_TLS : PEEK_OTHER;
	}
	for (i = 0; i < len && i <= PEEK_METHOD_MAX; i++) {
		if (buf[i] == ' ')
			return i > 0 ? PEEK_HTTP : PEEK_OTHER;
		if (!peek_tchar(buf[i]))
			return PEEK_OTHER;
	}
	return i > PEEK_METHOD_MAX ? PEEK_OTHER : PEEK_MORE;
}

/* Strict dotted quad: four decimal parts 0-255, no leading zeros. */
static int
is_ipv4(const char *s, size_t n)
{
	size_t	 i, parts = 0, digits = 0;
	unsigned v = 0;

	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (digits == 0 || v > 255 ||
			    (digits > 1 && s[i - digits] == '0'))
				return 0;
			parts++;
			digits = 0;
			v = 0;
		} else if (s[i] >= '0' && s[i] <= '9') {
			if (++digits > 3)
				return 0;
			v = v * 10 + (unsigned)(s[i] - '0');
		} else
			return 0;
	}
	return parts == 4;
}

enum peek_host
peek_host_check(const char *name, size_t len, size_t *namelen,
    const char *what, char *why, size_t whylen)
{
	char	 q[140];
	size_t	 i, n = len, label = 0;
	int	 digits = 1;

	str_quote(name, len, 32, q, sizeof(q));
	if (len == 0) {
		snprintf(why, whylen, "%s is empty", what);
		return PEEK_HOST_BAD;
	}
	if (memchr(name, ':', len) != NULL) {
		snprintf(why, whylen, "%s %s has ':': an IP literal or a "
		    "port, not a name", what, q);
		return PEEK_HOST_BAD;
	}
	if (name[n - 1] == '.')
		n--;
	if (n > PEEK_NAME_MAX) {
		snprintf(why, whylen, "%s %s is %zu bytes long, over %d", what,
		    q, n, PEEK_NAME_MAX);
		return PEEK_HOST_BAD;
	}
	for (i = 0; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)name[i] : '.';

		if (c == '.') {
			if (label == 0) {
				snprintf(why, whylen, "%s %s has an empty label",
				    what, q);
				return PEEK_HOST_BAD;
			}
			if (label > 63) {
				snprintf(why, whylen, "%s %s has a label of %zu "
				    "bytes, over 63", what, q, label);
				return PEEK_HOST_BAD;
			}
			if (i < n)
				digits = 1;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_')) {
			snprintf(why, whylen, "%s %s has byte 0x%02x, which "
			    "cannot be in a host name", what, q, c);
			return PEEK_HOST_BAD;
		}
		if (c < '0' || c > '9')
			digits = 0;
		label++;
	}
	*namelen = n;
	if (!digits)
		return PEEK_HOST_NAME;
	if (is_ipv4(name, n))
		return PEEK_HOST_IPV4;
	snprintf(why, whylen, "%s %s ends in a numeric label: neither a name "
	    "nor a dotted-quad address", what, q);
	return PEEK_HOST_BAD;
}

static const uint8_t tls_alert[TLS_ALERT_LEN] = {
	0x15,		/* alert record */
	0x03, 0x03,	/* version */
	0x00, 0x02,	/* length */
	0x02,		/* fatal */
	0x31,		/* access_denied (49) */
};

const uint8_t *
tls_alert_access_denied(void)
{
	return tls_alert;
}

/* Copies s without control bytes, at most max of them. */
static void
echo_clean(char *out, const char *s, size_t max)
{
	size_t	 o = 0;

	for (; s != NULL && *s != '\0' && o < max; s++)
		if ((unsigned char)*s >= 0x20 && *s != 0x7f)
			out[o++] = *s;
	out[o] = '\0';
}

int
http_forbidden(char *buf, size_t len, const char *host, const char *rule)
{
	char	 h[256], r[1101], body[1400];
	int	 nb, n;

	echo_clean(h, host, sizeof(h) - 1);
	echo_clean(r, rule, sizeof(r) - 1);
	nb = snprintf(body, sizeof(body), "isorun: blocked %s (rule %s)\n",
	    h, r);
	if (nb < 0 || (size_t)nb >= sizeof(body))
		return -1;
	n = snprintf(buf, len, "HTTP/1.1 403 Forbidden\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: %d\r\n"
	    "Connection: close\r\n"
	    "\r\n"
	    "%s", nb, body);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return n;
}
