/*
 * tlsca.h - the runner's own certificate authority, for the TLS
 * interception of hosts with endpoint rules (docs/endpoints.md).
 *
 * The CA (an EC P-256 key and a self-signed certificate, 10 years) is made
 * at first use in a directory of the runner's state dir and loaded on later
 * starts; sandboxes trust it through their CA bundle. Leaf certificates
 * are minted per host on demand and kept in a bounded LRU cache, each as
 * an SSL_CTX ready for the guest side of an intercepted connection: TLS
 * 1.2 or 1.3, ALPN "http/1.1" only.
 *
 * Thread-safe: the cache has a lock; a leaf is minted outside it.
 */
#ifndef ISORUN_TLSCA_H
#define ISORUN_TLSCA_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "../common/err.h"

#define TLSCA_KEY_FILE		"ca.key"	/* 0600 */
#define TLSCA_CERT_FILE		"ca.crt"	/* 0644 */
#define TLSCA_CACHE_DEFAULT	1024
#define TLSCA_CA_DAYS		3650
#define TLSCA_LEAF_DAYS		4	/* from an hour ago */
#define TLSCA_LEAF_RENEW_S	(2 * 86400)	/* minted again past this age */

struct tlsca;

/*
 * Opens the CA in `dir` (its last component created 0700 when missing).
 * With neither file there, makes a new CA whose subject is CN "isorun
 * runner CA <name>" and writes it (key 0600, each file atomically). With
 * both, loads and checks them: a file that does not parse, a key that does
 * not match the certificate, a certificate that is not a CA or has
 * expired, a key file readable by group or others, or one file without the
 * other, is an error naming the file and what to do. `cache_max` bounds the
 * leaf cache (0: TLSCA_CACHE_DEFAULT).
 */
struct tlsca	*tlsca_open(const char *dir, const char *name,
		    size_t cache_max, struct ir_err *err);
void		 tlsca_free(struct tlsca *);

/* The CA certificate as PEM, NUL-terminated, owned by the CA. */
const char	*tlsca_pem(const struct tlsca *);

/* The CA certificate itself (for tests and verification); borrowed. */
X509		*tlsca_cert(const struct tlsca *);

/*
 * A server SSL_CTX presenting a leaf for `host`: a DNS name (any case, one
 * trailing dot ignored) or an IPv4/IPv6 literal, which becomes the SAN
 * DNS:host or IP:host; EKU serverAuth; key EC P-256; a random positive
 * serial of 127 bits. The caller owns one reference (SSL_CTX_free() when
 * done); the cache may drop its own at any time. The same host gets the
 * same SSL_CTX while it stays cached and younger than TLSCA_LEAF_RENEW_S.
 * Returns NULL with `err` set for a host that is neither (quoted) or when
 * OpenSSL fails.
 */
SSL_CTX		*tlsca_leaf(struct tlsca *, const char *host,
		    struct ir_err *err);

/* Leaves cached now, and leaves minted since open (for tests, metrics). */
size_t		 tlsca_cached(struct tlsca *);
size_t		 tlsca_minted(struct tlsca *);

#endif
