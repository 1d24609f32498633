/*
 * audit.c - audit events: the JSON form and the dispatch to a sink, the
 * store (store.c) or stderr.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit_int.h"

static audit_sink_fn	*sink_fn;
static void		*sink_arg;

void
audit_set_sink(audit_sink_fn *fn, void *arg)
{
	sink_fn = fn;
	sink_arg = arg;
}

const char *
audit_kind_name(enum audit_kind k)
{
	switch (k) {
	case AUDIT_CONNECT:	return "connect";
	case AUDIT_CLOSE:	return "close";
	case AUDIT_DNS:		return "dns";
	case AUDIT_REQUEST:	return "request";
	}
	return "?";
}

const char *
audit_proto_name(enum audit_proto p)
{
	switch (p) {
	case AUDIT_TCP:		return "tcp";
	case AUDIT_UDP:		return "udp";
	case AUDIT_ICMP:	return "icmp";
	case AUDIT_DNS_PROTO:	return "dns";
	}
	return "?";
}

const char *
audit_name_source_name(enum audit_name_source s)
{
	switch (s) {
	case AUDIT_NAME_NONE:	return "none";
	case AUDIT_NAME_SNI:	return "sni";
	case AUDIT_NAME_HOST:	return "host";
	case AUDIT_NAME_DNS:	return "dns";
	}
	return "?";
}

/* A bounded appender: keeps counting what it would need past the end. */
struct jbuf {
	char	*p;
	size_t	 len, n;
};

static void
jb_putc(struct jbuf *b, char c)
{
	if (b->n + 1 < b->len)
		b->p[b->n] = c;
	b->n++;
}

static void
jb_printf(struct jbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
jb_printf(struct jbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	 tmp[128];
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	for (int i = 0; i < n && i < (int)sizeof(tmp) - 1; i++)
		jb_putc(b, tmp[i]);
}

/* A JSON string; bytes outside printable ASCII become \u00XX. */
static void
jb_str(struct jbuf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	jb_putc(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			jb_putc(b, '\\');
			jb_putc(b, (char)c);
		} else if (c < 0x20 || c > 0x7e) {
			jb_printf(b, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else
			jb_putc(b, (char)c);
	}
	jb_putc(b, '"');
}

static void
jb_key_str(struct jbuf *b, const char *key, const char *s)
{
	jb_printf(b, ",\"%s\":", key);
	if (s == NULL)
		jb_printf(b, "null");
	else
		jb_str(b, s, strlen(s));
}

static void
jb_key_len(struct jbuf *b, const char *key, const char *s, size_t len)
{
	jb_printf(b, ",\"%s\":", key);
	if (s == NULL)
		jb_printf(b, "null");
	else
		jb_str(b, s, len);
}

static void
jb_addr(struct jbuf *b, const char *akey, const char *pkey,
    const struct sockaddr_storage *ss)
{
	char	 a[INET6_ADDRSTRLEN];
	unsigned port = 0;

	a[0] = '\0';
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		port = ntohs(sin6->sin6_port);
	}
	if (a[0] == '\0') {
		jb_printf(b, ",\"%s\":null,\"%s\":null", akey, pkey);
		return;
	}
	jb_key_str(b, akey, a);
	jb_printf(b, ",\"%s\":%u", pkey, port);
}

int
audit_format_json(const struct audit_event *ev, char *buf, size_t len)
{
	struct jbuf	 b = { buf, len, 0 };
	uint64_t	 t = ev->ae_time_ns;

	if (t == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	jb_printf(&b, "{\"time_ns\":%llu", (unsigned long long)t);
	jb_key_str(&b, "sandbox", ev->ae_sandbox ? ev->ae_sandbox : "");
	jb_key_str(&b, "event", audit_kind_name(ev->ae_kind));
	jb_key_str(&b, "proto", audit_proto_name(ev->ae_proto));
	jb_addr(&b, "src", "sport", &ev->ae_src);
	jb_addr(&b, "dst", "dport", &ev->ae_dst);
	jb_key_len(&b, "name", ev->ae_name, ev->ae_namelen);
	jb_key_str(&b, "name_source", audit_name_source_name(ev->ae_name_source));
	jb_key_str(&b, "verdict", ev->ae_allowed ? "allowed" : "blocked");
	jb_key_str(&b, "rule", ev->ae_rule);
	jb_key_str(&b, "reason", ev->ae_reason);
	if (ev->ae_kind == AUDIT_REQUEST) {
		jb_key_len(&b, "method", ev->ae_method, ev->ae_methodlen);
		jb_key_len(&b, "path", ev->ae_path, ev->ae_pathlen <
		    AUDIT_PATH_MAX ? ev->ae_pathlen : AUDIT_PATH_MAX);
	}
	if (ev->ae_kind == AUDIT_CLOSE)
		jb_printf(&b, ",\"bytes_up\":%llu,\"bytes_down\":%llu,"
		    "\"duration_ms\":%llu",
		    (unsigned long long)ev->ae_bytes_up,
		    (unsigned long long)ev->ae_bytes_down,
		    (unsigned long long)ev->ae_duration_ms);
	if (ev->ae_kind == AUDIT_CLOSE && ev->ae_intercepted)
		jb_printf(&b, ",\"requests\":%llu,\"intercepted\":true",
		    (unsigned long long)ev->ae_requests);
	if (ev->ae_kind == AUDIT_DNS) {
		jb_key_str(&b, "qname", ev->ae_qname);
		jb_printf(&b, ",\"qtype\":%u", ev->ae_qtype);
		jb_key_str(&b, "rcode", ev->ae_rcode);
	}
	if (ev->ae_last_ns != 0 || ev->ae_count > 1)
		jb_printf(&b, ",\"count\":%llu", (unsigned long long)
		    (ev->ae_count > 1 ? ev->ae_count : 1));
	if (ev->ae_last_ns != 0)
		jb_printf(&b, ",\"last_ns\":%llu",
		    (unsigned long long)ev->ae_last_ns);
	jb_putc(&b, '}');
	if (len > 0)
		buf[b.n < len ? b.n : len - 1] = '\0';
	return (int)b.n;
}

void
audit_emit(const struct audit_event *ev)
{
	char	 small[2048], *line = small;
	int	 n;

	metrics_count(ev);
	if (sink_fn != NULL) {
		sink_fn(sink_arg, ev);
		return;
	}
	if (store_push(ev))
		return;
	n = audit_format_json(ev, small, sizeof(small) - 1);
	/* A long path or name escaped: a whole line, never a cut one. */
	if (n > (int)sizeof(small) - 2) {
		if ((line = malloc((size_t)n + 2)) != NULL)
			audit_format_json(ev, line, (size_t)n + 1);
		else {
			line = small;
			n = (int)sizeof(small) - 2;
		}
	}
	line[n] = '\n';
	/* One write(2) per line, so lines of concurrent threads never mix. */
	if (write(STDERR_FILENO, line, (size_t)n + 1) < 0) {
		/* stderr gone: nothing better to do with the event here */
	}
	if (line != small)
		free(line);
}
