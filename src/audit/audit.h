/*
 * audit.h - one event for every decision the runner takes (SPEC 5).
 *
 * The proxy, the UDP relay and the DNS view describe each decision with a
 * struct audit_event and hand it to audit_emit(). audit_emit() never blocks
 * and may be called from any thread. Where the event goes is the sink: by
 * default one JSON line per event on stderr (the durable store of the audit
 * issue replaces the sink; the event and its JSON form stay).
 *
 * The JSON form (audit_format_json) has these keys, always in this order:
 *   time_ns, sandbox, event, proto, src, sport, dst, dport, name,
 *   name_source, verdict, rule, reason  and, for "close" events,
 *   bytes_up, bytes_down, duration_ms;  for "dns" events, qname, qtype,
 *   rcode.
 * `rule` is the deciding rule's text, "default" or "guard".
 */
#ifndef ISORUN_AUDIT_H
#define ISORUN_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum audit_kind {
	AUDIT_CONNECT = 0,	/* a connection or flow was decided */
	AUDIT_CLOSE,		/* a permitted connection ended */
	AUDIT_DNS,		/* a DNS query was answered */
};

enum audit_proto {
	AUDIT_TCP = 0,
	AUDIT_UDP,
	AUDIT_ICMP,
	AUDIT_DNS_PROTO,	/* "dns" */
};

enum audit_name_source {
	AUDIT_NAME_NONE = 0,
	AUDIT_NAME_SNI,
	AUDIT_NAME_HOST,
	AUDIT_NAME_DNS,
};

struct audit_event {
	uint64_t		 ae_time_ns;	/* CLOCK_REALTIME; 0: now */
	const char		*ae_sandbox;	/* id; NULL: "" */
	enum audit_kind		 ae_kind;
	enum audit_proto	 ae_proto;
	struct sockaddr_storage	 ae_src;	/* AF_UNSPEC: absent */
	struct sockaddr_storage	 ae_dst;
	const char		*ae_name;	/* NULL: none */
	size_t			 ae_namelen;
	enum audit_name_source	 ae_name_source;
	int			 ae_allowed;	/* verdict */
	const char		*ae_rule;	/* rule text, "default", "guard" */
	const char		*ae_reason;	/* one line, human */
	/* AUDIT_CLOSE */
	uint64_t		 ae_bytes_up;	/* sandbox -> upstream */
	uint64_t		 ae_bytes_down;
	uint64_t		 ae_duration_ms;
	/* AUDIT_DNS */
	const char		*ae_qname;
	uint16_t		 ae_qtype;
	const char		*ae_rcode;	/* "NOERROR", "NXDOMAIN", ... */
};

typedef void audit_sink_fn(void *arg, const struct audit_event *ev);

/*
 * Replaces the sink (NULL restores the default stderr JSON lines). Not
 * thread-safe against concurrent audit_emit(): set it before starting the
 * threads that emit.
 */
void	audit_set_sink(audit_sink_fn *fn, void *arg);

/* Hands `ev` to the sink. Never blocks on I/O of its own beyond the sink. */
void	audit_emit(const struct audit_event *ev);

/*
 * Formats `ev` as one JSON object without a newline. Returns the length it
 * needs, as snprintf() does; the output is always NUL-terminated when
 * len > 0 and is truncated at a character boundary of the escaping.
 */
int	audit_format_json(const struct audit_event *ev, char *buf, size_t len);

const char *audit_kind_name(enum audit_kind);
const char *audit_proto_name(enum audit_proto);
const char *audit_name_source_name(enum audit_name_source);

#endif
