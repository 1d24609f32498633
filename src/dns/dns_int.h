/*
 * dns_int.h - the DNS view's pure parts: message parser and writer
 * (dnsmsg.c), the policy questions a query and an answer ask (answer.c),
 * and the per-sandbox name cache (cache.c). No I/O, no locks, no globals:
 * the unit tests and the fuzzer link them directly; view.c is the only
 * other user.
 */
#ifndef ISORUN_DNS_INT_H
#define ISORUN_DNS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../policy/policy.h"

#define DNS_HDR_LEN	12
#define DNS_NAME_MAX	255	/* wire form, root label included */
#define DNS_LABEL_MAX	63
#define DNS_TEXT_MAX	1024	/* escaped text of the longest name, NUL */
#define DNS_MSG_MAX	65535
#define DNS_RR_MAX	512	/* records kept from one message */
#define DNS_UDP_MIN	512	/* a UDP answer without EDNS */
#define DNS_EDNS_SIZE	1232	/* the UDP size we announce, both ways */
#define DNS_CHAIN_MAX	16	/* names in a CNAME chain, the query's first */
#define DNS_MAPS_MAX	64	/* addresses kept from one answer */
#define DNS_STRIP_MAX	8	/* stripped addresses reported per answer */

/* Header flags (second 16-bit word). */
#define DNS_F_QR	0x8000
#define DNS_F_OPMASK	0x7800
#define DNS_F_AA	0x0400
#define DNS_F_TC	0x0200
#define DNS_F_RD	0x0100
#define DNS_F_RA	0x0080
#define DNS_F_AD	0x0020
#define DNS_F_CD	0x0010
#define DNS_F_RCMASK	0x000f
#define DNS_OPCODE(f)	(((f) >> 11) & 0xf)

enum dns_rcode {
	DNS_NOERROR = 0,
	DNS_FORMERR = 1,
	DNS_SERVFAIL = 2,
	DNS_NXDOMAIN = 3,
	DNS_NOTIMP = 4,
	DNS_REFUSED = 5,
	DNS_BADVERS = 16,	/* extended: needs an OPT record */
};

enum dns_type {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_SRV = 33,
	DNS_T_DNAME = 39,
	DNS_T_OPT = 41,
	DNS_T_TKEY = 249,
	DNS_T_TSIG = 250,
	DNS_T_IXFR = 251,
	DNS_T_AXFR = 252,
	DNS_T_MAILB = 253,
	DNS_T_MAILA = 254,
	DNS_T_ANY = 255,
};
#define DNS_C_IN	1

/* "NOERROR", "NXDOMAIN", ...; "RCODE<n>" for others (static buffer-free). */
const char	*dns_rcode_name(int rcode);

/* An uncompressed name in wire form: labels, then the root (0). */
struct dns_name {
	uint8_t		 n_len;			/* bytes in n_wire, >= 1 */
	uint8_t		 n_wire[DNS_NAME_MAX];
};

/*
 * Reads the (possibly compressed) name at *off in msg[0..len). Every
 * compression pointer must point strictly before itself and past the
 * header, so reading always ends; labels are at most 63 bytes, the whole
 * name at most 255; label types 0x40 and 0x80 are invalid. On success fills
 * `out`, moves *off past the name as it sits at *off (the first pointer
 * ends it) and returns 0; returns -1 with a static reason in *why.
 */
int	dns_name_read(const uint8_t *msg, size_t len, size_t *off,
	    struct dns_name *out, const char **why);

/*
 * The name as text for policy and cache: lower-case ASCII, labels joined
 * by '.', no trailing dot (the root is ""), and every byte that is not a
 * printable ASCII other than '.' and '\' written \DDD, so text maps back to
 * one name. Returns the length (always < DNS_TEXT_MAX).
 */
size_t	dns_name_text(const struct dns_name *n, char *buf, size_t len);

/* Case-insensitive equality of wire names. */
int	dns_name_eq(const struct dns_name *a, const struct dns_name *b);

/* One resource record of a parsed message; offsets into the message. */
struct dns_rr {
	uint16_t	 r_nameoff;	/* owner name (may be compressed) */
	uint16_t	 r_type;
	uint16_t	 r_class;
	uint16_t	 r_rdlen;
	uint16_t	 r_rdoff;
	uint8_t		 r_section;	/* 1 answer, 2 authority, 3 additional */
	uint32_t	 r_ttl;
};

struct dns_msg {
	const uint8_t	*m_buf;
	size_t		 m_len;
	uint16_t	 m_id;
	uint16_t	 m_flags;
	uint16_t	 m_count[4];	/* qd, an, ns, ar as the header says */
	int		 m_hasq;	/* qd == 1 and the question parsed */
	struct dns_name	 m_qname;
	uint16_t	 m_qtype, m_qclass;
	int		 m_edns;	/* an OPT record was there */
	uint16_t	 m_edns_size;	/* its UDP payload size */
	uint8_t		 m_edns_ercode;	/* extended rcode, upper 8 bits */
	uint8_t		 m_edns_version;
	uint16_t	 m_edns_flags;	/* DO, Z */
	size_t		 m_nrr;		/* an + ns + ar, OPT included */
	struct dns_rr	 m_rr[DNS_RR_MAX];	/* last: not cleared */
};

/*
 * Parses a whole message: header, at most one question, every record
 * (names in the RDATA of types that carry names are checked too; A and
 * AAAA of class IN must be 4 and 16 bytes; at most one OPT, owned by the
 * root, in the additional section). Counts must match the bytes exactly:
 * a record missing or a byte left over is an error.
 * Returns:
 *   0		parsed
 *   -1		shorter than a header: nothing can be answered
 *   -2		header readable, the rest invalid (*why says why)
 */
int	dns_msg_parse(const uint8_t *buf, size_t len, struct dns_msg *m,
	    const char **why);

/* Reads the owner name of `rr`. Cannot fail on a parsed message. */
void	dns_rr_name(const struct dns_msg *m, const struct dns_rr *rr,
	    struct dns_name *out);

/*
 * A guest's query, as the view keeps it while the upstream answers: what
 * the reply needs (id, flags, the question as the guest spelled it, its
 * EDNS) and nothing else.
 */
struct dns_query {
	uint16_t	 q_id;
	uint16_t	 q_flags;	/* the guest's; RD and CD are echoed */
	int		 q_hasq;
	struct dns_name	 q_name;
	uint16_t	 q_type, q_class;
	int		 q_edns;
	uint16_t	 q_udpmax;	/* largest UDP reply the guest takes */
};

/*
 * Checks a guest's bytes and fills `q`. Returns:
 *   0		a well-formed standard query of class IN with one question:
 *		forward or decide it
 *   -1		drop it (shorter than a header, or a response)
 *   rcode	answer with this rcode (FORMERR, NOTIMP, REFUSED, BADVERS);
 *		`q` holds what the error reply can echo; *why says why
 */
int	dns_query_parse(const uint8_t *buf, size_t len, struct dns_query *q,
	    struct dns_msg *scratch, const char **why);

/*
 * Writes the upstream query for `q`: a fresh id, RD set, the question in
 * lower case, an OPT record announcing DNS_EDNS_SIZE. Returns its length,
 * or 0 if `cap` is too small.
 */
size_t	dns_query_build(const struct dns_query *q, uint16_t id, uint8_t *buf,
	    size_t cap);

/*
 * Writes a reply with `rcode` and no records: header (the guest's id, RD,
 * CD), the question when `q` has one, and an OPT when the guest sent one.
 * Returns its length, or 0 if `cap` is too small.
 */
size_t	dns_reply_error(const struct dns_query *q, int rcode, uint8_t *buf,
	    size_t cap);

/* The message writer, with name compression. */
#define DNS_WR_NAMES	64
struct dns_wr {
	uint8_t		*w_buf;
	size_t		 w_cap, w_len;
	int		 w_full;		/* something did not fit */
	unsigned	 w_nnames;
	uint16_t	 w_off[DNS_WR_NAMES];	/* label starts written */
	uint16_t	 w_rest[DNS_WR_NAMES];	/* wire length from there */
};

void	dns_wr_init(struct dns_wr *w, uint8_t *buf, size_t cap);
void	dns_wr_u16(struct dns_wr *w, uint16_t v);
void	dns_wr_u32(struct dns_wr *w, uint32_t v);
void	dns_wr_bytes(struct dns_wr *w, const void *p, size_t n);
/* Writes `n`, compressed against earlier names when `compress`. */
void	dns_wr_name(struct dns_wr *w, const struct dns_name *n, int compress);
/* Copies record `rr` of `m`, names in its RDATA rewritten (compressed only
 * for the RFC 1035 types, as RFC 3597 asks). */
void	dns_wr_rr(struct dns_wr *w, const struct dns_msg *m,
	    const struct dns_rr *rr);
void	dns_wr_opt(struct dns_wr *w, uint16_t udpsize, uint8_t ercode);
/* Sets the counts of the header at the start of the buffer. */
void	dns_wr_counts(struct dns_wr *w, uint16_t qd, uint16_t an, uint16_t ns,
	    uint16_t ar);

/*
 * A sandbox's policy as the DNS view asks it. A name or an answer address
 * is asked "could a connection be permitted on some port?": port 0 (no
 * port rule matches), then each port of an allow rule that can match a
 * name (`host:P`, `*.suffix:P`, `*:P`), so `github.com:22` alone makes
 * github.com resolvable. dns_pol_init() takes a reference to `p`.
 */
struct dns_pol {
	struct policy	*dp_policy;
	uint16_t	*dp_ports;
	size_t		 dp_nports;
};

int	dns_pol_init(struct dns_pol *dp, struct policy *p, struct ir_err *err);
void	dns_pol_clear(struct dns_pol *dp);

/*
 * May `name` (text, as dns_name_text writes it) be sent upstream?
 * Returns 1 (forward) or 0, and the decision that says why (for 0, the
 * port-0 one: a deny rule, or the default of an allow-list policy).
 * The guard is not asked: it holds addresses only.
 */
int	dns_pol_name(const struct dns_pol *dp, const char *name, size_t len,
	    struct pol_decision *d);

/*
 * Is an answer address with these names permitted on some port? Returns
 * 1, or 0 with the blocking decision (a deny rule, the guard, or a
 * default no port can change).
 */
int	dns_pol_addr(const struct dns_pol *dp, const struct pol_guard *g,
	    const struct pol_target *t, struct pol_decision *d);

/* An address the answer gave for the query's name, to be cached. */
struct dns_map {
	uint8_t		 mp_family;	/* 4 or 6 */
	uint8_t		 mp_addr[16];
	uint32_t	 mp_ttl;
};

/* An address taken out of the answer, for the audit trail. */
struct dns_strip {
	uint8_t			 st_family;
	uint8_t			 st_addr[16];
	struct pol_decision	 st_d;
};

/*
 * What dns_answer_filter() made of an upstream answer. The chain names
 * (text) live in a_text; a_names[0] is the query's name.
 */
struct dns_answer {
	int		 a_rcode;
	size_t		 a_nnames;
	struct pol_name	 a_names[DNS_CHAIN_MAX];
	char		 a_text[DNS_CHAIN_MAX * DNS_TEXT_MAX];
	size_t		 a_nmaps;
	struct dns_map	 a_maps[DNS_MAPS_MAX];
	size_t		 a_nstrip;		/* reported, <= DNS_STRIP_MAX */
	size_t		 a_stripped;		/* all taken out */
	struct dns_strip a_strip[DNS_STRIP_MAX];
	int		 a_truncated;		/* sent with TC, records left
						   out for the guest's size */
};

/*
 * Turns the upstream answer `ab` to the query `q` into the reply for the
 * guest, in `out` (at most `maxlen` bytes: the guest's UDP size, or 65535
 * on TCP):
 *   - the answer must be a response to q's question (case-insensitive),
 *     else -1 (the caller answers SERVFAIL);
 *   - rcodes other than NOERROR and NXDOMAIN come back without records;
 *   - in the answer section, only records owned by the CNAME chain that
 *     starts at q's name stay; A and AAAA among them stay only if
 *     dns_pol_addr() permits the address with every chain name, and only
 *     the first DNS_MAPS_MAX of them (every kept address is in a_maps);
 *   - the authority section is kept but for addresses; the additional
 *     section is dropped (no glue the policy did not see); OPT is ours;
 *   - AA and AD are cleared, RA set, RD and CD echoed;
 *   - a reply larger than maxlen is sent with TC and no records.
 * Returns the reply's length (> 0) or -1.
 */
int	dns_answer_filter(const struct dns_query *q, const uint8_t *ab,
	    size_t alen, const struct dns_pol *dp, const struct pol_guard *g,
	    uint8_t *out, size_t maxlen, struct dns_answer *res,
	    struct dns_msg *scratch);

/* The same for an answer kept `age_s` seconds: every TTL is lowered by
 * that much (not below 0) in the reply and in res->a_maps. The kept bytes
 * are not changed: a compression pointer may point into a TTL. */
int	dns_answer_filter_aged(const struct dns_query *q, const uint8_t *ab,
	    size_t alen, uint32_t age_s, const struct dns_pol *dp,
	    const struct pol_guard *g, uint8_t *out, size_t maxlen,
	    struct dns_answer *res, struct dns_msg *scratch);

/*
 * Writes the answer's addresses into a sandbox's cache: each address with
 * every chain name (the name asked ends up first), kept for the record's
 * TTL raised to `floor_s` and capped at `max_s`. Returns the number of
 * pairs that could not be cached (all slots held).
 */
struct dcache;
size_t	dns_answer_cache(const struct dns_answer *ans, struct dcache *c,
	    uint64_t now, unsigned floor_s, unsigned max_s);

/*
 * The name cache of one sandbox: address -> names its lookups returned,
 * name -> addresses. A (address, name) pair is a link with an expiry; a
 * link is visible until it expires or, past that, while its address is
 * held. At most `max` links; when full, the least recently written link of
 * an unheld address is evicted. Time is the caller's (milliseconds,
 * monotonic). Not locked: the caller serializes.
 */
struct dcache;

struct dcache	*dcache_new(size_t max, uint64_t seed);
void		 dcache_free(struct dcache *c);

/* Adds or refreshes (address, name), name compared case-insensitively
 * without trailing dot. Returns 0, or -1 if every slot is held (ENOSPC)
 * or out of memory. */
int	dcache_put(struct dcache *c, uint64_t now, uint8_t family,
	    const uint8_t *addr, const char *name, size_t len,
	    uint64_t expires);

/* The visible names of an address, most recently written first: fills
 * at most `max`, bytes in buf (NUL-terminated each). Returns the count. */
size_t	dcache_names(struct dcache *c, uint64_t now, uint8_t family,
	    const uint8_t *addr, struct pol_name *names, size_t max,
	    char *buf, size_t buflen);

/* 1 if (address, name) is visible. */
int	dcache_maps(struct dcache *c, uint64_t now, uint8_t family,
	    const uint8_t *addr, const char *name, size_t len);

/* The visible addresses of a name: fills at most `max`. Returns count. */
struct dcache_addr {
	uint8_t		 family;
	uint8_t		 addr[16];
};
size_t	dcache_addrs(struct dcache *c, uint64_t now, const char *name,
	    size_t len, struct dcache_addr *out, size_t max);

/* A connection starts / stops using the address. Holds nest. */
int	dcache_hold(struct dcache *c, uint8_t family, const uint8_t *addr);
void	dcache_release(struct dcache *c, uint8_t family, const uint8_t *addr);

/* Drops every link `keep` says no to (a live policy change). */
typedef int dcache_keep_fn(void *arg, uint8_t family, const uint8_t *addr,
    const char *name, size_t len);
void	dcache_filter(struct dcache *c, dcache_keep_fn *keep, void *arg);

/* Frees expired links of unheld addresses from the oldest end. */
void	dcache_expire(struct dcache *c, uint64_t now);

size_t	dcache_count(const struct dcache *c);	/* links */

/* A hash of `p` keyed with `seed` (a guest choosing names cannot aim them
 * at one bucket without knowing it). */
uint32_t	dns_hash(uint64_t seed, const uint8_t *p, size_t len);

/*
 * The answer cache of one sandbox (acache.c): upstream answers as they
 * came, by (name, type), for a question asked again. Each use must go
 * through dns_answer_filter() again, with the policy of the moment. At
 * most `max_bytes` in all (0: nothing is kept), least recently used
 * evicted first. Time in milliseconds, monotonic. Not locked.
 */
#define AC_MSG_MAX	4096	/* larger answers are not kept */
#define AC_RR_MAX	64	/* nor answers with more records */
struct acache;

struct acache	*acache_new(size_t max_bytes, unsigned ttl_max_s,
		    uint64_t seed);
void		 acache_free(struct acache *c);

/*
 * Keeps the upstream's answer `m` (parsed, and accepted by
 * dns_answer_filter for its question) until its TTL runs out: the
 * smallest TTL of its answer and authority records, capped at ttl_max_s.
 * A negative answer (NXDOMAIN, or no record of the type asked) is kept
 * only with an SOA, and no longer than its MINIMUM (RFC 2308). Never kept:
 * TC set, rcodes other than NOERROR and NXDOMAIN, a TTL of 0, over
 * AC_MSG_MAX bytes or AC_RR_MAX records. Replaces an entry for the same
 * question. Returns 1 kept, 0 not cacheable, -1 out of memory.
 */
int	acache_put(struct acache *c, uint64_t now, const struct dns_msg *m);

/*
 * Copies the answer kept for (qname any case, qtype) into out, as it came,
 * and sets *age_s to the seconds it has been kept (for
 * dns_answer_filter_aged). Returns its length, or 0: none (or expired,
 * which drops it; or larger than cap).
 */
size_t	acache_get(struct acache *c, uint64_t now, const struct dns_name *qname,
	    uint16_t qtype, uint8_t *out, size_t cap, uint32_t *age_s);

size_t	acache_bytes(const struct acache *c);
size_t	acache_count(const struct acache *c);

#endif
