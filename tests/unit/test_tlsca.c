/*
 * test_tlsca.c - src/tlsca: the CA made at first open and loaded again,
 * its files and their errors (corrupt, mismatched, half there, loose
 * mode), leaves verified by OpenSSL against the CA (and not against
 * another), their SAN, EKU and validity, the LRU cache, concurrent
 * callers, and real TLS handshakes in memory with ALPN.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tlsca/tlsca.h"
#include "t.h"

static char	 base[64];

static void
dir_of(char *buf, size_t len, const char *sub)
{
	snprintf(buf, len, "%s/%s", base, sub);
}

static int
copy_file(const char *from, const char *to)
{
	char	 buf[65536];
	ssize_t	 n;
	int	 in, out, rc = -1;

	if ((in = open(from, O_RDONLY)) == -1)
		return -1;
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1) {
		if ((n = read(in, buf, sizeof(buf))) > 0 &&
		    write(out, buf, (size_t)n) == n)
			rc = 0;
		close(out);
	}
	close(in);
	return rc;
}

static void
put(const char *path, const char *s)
{
	int	 fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd != -1) {
		if (write(fd, s, strlen(s)) < 0)
			perror(path);
		close(fd);
	}
}

/* X509_verify_cert of `leaf` against `ca` only, for TLS server `host`. */
static int
verify(X509 *ca, X509 *leaf, const char *host, int *why)
{
	X509_STORE	*st = X509_STORE_new();
	X509_STORE_CTX	*ctx = X509_STORE_CTX_new();
	int		 rc;

	X509_STORE_add_cert(st, ca);
	X509_STORE_CTX_init(ctx, st, leaf, NULL);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	if (host != NULL)
		X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx),
		    host, 0);
	rc = X509_verify_cert(ctx);
	*why = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return rc;
}

static void
test_ca(void)
{
	char		 d[128], d2[128], p[192];
	struct tlsca	*ca, *ca2;
	struct ir_err	 err = { 0 };
	struct stat	 sb;
	char		*pem1;
	X509		*c;
	X509_NAME	*n;
	char		 cn[128];
	BASIC_CONSTRAINTS *bc;

	dir_of(d, sizeof(d), "ca");
	ca = tlsca_open(d, "r1", 0, &err);
	if (ca == NULL) {
		T_CHECK(0, "open: %s", err.msg);
		return;
	}
	T_CHECK(stat(d, &sb) == 0 && (sb.st_mode & 0777) == 0700, "dir 0700");
	snprintf(p, sizeof(p), "%s/ca.key", d);
	T_CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600,
	    "key 0600: %o", (unsigned)sb.st_mode);
	snprintf(p, sizeof(p), "%s/ca.crt", d);
	T_CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0644, "cert 0644");
	pem1 = strdup(tlsca_pem(ca));
	T_CHECK(strncmp(pem1, "-----BEGIN CERTIFICATE-----\n", 28) == 0,
	    "PEM");
	c = tlsca_cert(ca);
	n = X509_get_subject_name(c);
	X509_NAME_get_text_by_NID(n, NID_commonName, cn, sizeof(cn));
	T_STREQ(cn, "isorun runner CA r1");
	T_CHECK(X509_check_ca(c) >= 1, "a CA");
	bc = X509_get_ext_d2i(c, NID_basic_constraints, NULL, NULL);
	T_CHECK(bc != NULL && bc->ca, "basicConstraints CA:TRUE");
	BASIC_CONSTRAINTS_free(bc);
	T_CHECK(X509_get_ext_by_NID(c, NID_basic_constraints, -1) >= 0 &&
	    X509_EXTENSION_get_critical(X509_get_ext(c,
	    X509_get_ext_by_NID(c, NID_basic_constraints, -1))), "critical");
	T_CHECK((X509_get_key_usage(c) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) ==
	    (KU_KEY_CERT_SIGN | KU_CRL_SIGN) && !(X509_get_key_usage(c) &
	    KU_DIGITAL_SIGNATURE), "keyUsage %lx",
	    (unsigned long)X509_get_key_usage(c));
	T_CHECK(X509_cmp_time(X509_get0_notAfter(c),
	    &(time_t){ time(NULL) + 9L * 365 * 86400 }) > 0, "10 years");
	T_CHECK(EVP_PKEY_get_bits(X509_get0_pubkey(c)) == 256 &&
	    EVP_PKEY_get_base_id(X509_get0_pubkey(c)) == EVP_PKEY_EC, "P-256");
	tlsca_free(ca);

	ca = tlsca_open(d, "other-name", 0, &err);
	T_CHECK(ca != NULL && strcmp(tlsca_pem(ca), pem1) == 0,
	    "reopen loads the same CA: %s", err.msg);
	tlsca_free(ca);

	/* Another CA, for mismatches. */
	dir_of(d2, sizeof(d2), "ca2");
	ca2 = tlsca_open(d2, "r2", 0, &err);
	T_CHECK(ca2 != NULL && strcmp(tlsca_pem(ca2), pem1) != 0,
	    "a second CA differs");
	tlsca_free(ca2);
	free(pem1);
}

static void
test_ca_bad(void)
{
	char		 d[128], d2[128], k[192], c[192], k2[192], c2[192];
	struct tlsca	*ca;
	struct ir_err	 err = { 0 };

	dir_of(d, sizeof(d), "bad");
	dir_of(d2, sizeof(d2), "ca2");
	snprintf(k, sizeof(k), "%s/ca.key", d);
	snprintf(c, sizeof(c), "%s/ca.crt", d);
	snprintf(k2, sizeof(k2), "%s/ca.key", d2);
	snprintf(c2, sizeof(c2), "%s/ca.crt", d2);
	ca = tlsca_open(d, "b", 0, &err);
	tlsca_free(ca);

	/* The key of ca2 with the certificate of bad. */
	copy_file(k2, k);
	ca = tlsca_open(d, "b", 0, &err);
	T_CHECK(ca == NULL && strstr(err.msg, c) && strstr(err.msg, k) &&
	    strstr(err.msg, "does not match"), "mismatch: %s", err.msg);
	tlsca_free(ca);

	put(c, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END "
	    "CERTIFICATE-----\n");
	ca = tlsca_open(d, "b", 0, &err);
	T_CHECK(ca == NULL && strstr(err.msg, c) &&
	    strstr(err.msg, "not a PEM certificate"), "corrupt cert: %s",
	    err.msg);
	tlsca_free(ca);

	put(k, "garbage\n");
	ca = tlsca_open(d, "b", 0, &err);
	T_CHECK(ca == NULL && strstr(err.msg, k) &&
	    strstr(err.msg, "not a PEM private key"), "corrupt key: %s",
	    err.msg);
	tlsca_free(ca);

	copy_file(k2, k);
	chmod(k, 0640);
	ca = tlsca_open(d, "b", 0, &err);
	T_CHECK(ca == NULL && err.code == EPERM && strstr(err.msg, k) &&
	    strstr(err.msg, "0640"), "loose key mode: %s", err.msg);
	tlsca_free(ca);
	chmod(k, 0600);

	copy_file(c2, c);
	ca = tlsca_open(d, "b", 0, &err);
	T_CHECK(ca != NULL, "a consistent pair loads: %s", err.msg);
	tlsca_free(ca);

	unlink(c);
	ca = tlsca_open(d, "b", 0, &err);
	T_CHECK(ca == NULL && strstr(err.msg, k) && strstr(err.msg, c) &&
	    strstr(err.msg, "is there but"), "cert missing: %s", err.msg);
	tlsca_free(ca);
	unlink(k);
	copy_file(c2, c);
	ca = tlsca_open(d, "b", 0, &err);
	T_CHECK(ca == NULL && strstr(err.msg, "is there but"),
	    "key missing: %s", err.msg);
	tlsca_free(ca);

	/* A leaf-like certificate (not a CA) with its own key. */
	dir_of(d, sizeof(d), "none/deeper");
	ca = tlsca_open(d, "b", 0, &err);
	T_CHECK(ca == NULL && err.code == ENOENT && strstr(err.msg, d),
	    "no parent: %s", err.msg);
	tlsca_free(ca);
}

static X509 *
leaf_cert(SSL_CTX *ctx)
{
	return SSL_CTX_get0_certificate(ctx);
}

static void
test_leaf(void)
{
	char		 d[128], d2[128];
	struct tlsca	*ca, *ca2;
	struct ir_err	 err = { 0 };
	SSL_CTX		*ctx, *ctx2, *ip4, *ip6;
	X509		*x;
	GENERAL_NAMES	*gens;
	GENERAL_NAME	*g;
	int		 why;
	const ASN1_INTEGER *ser;
	BIGNUM		*bn;

	dir_of(d, sizeof(d), "ca");
	dir_of(d2, sizeof(d2), "ca2");
	ca = tlsca_open(d, "r1", 0, &err);
	ca2 = tlsca_open(d2, "r2", 0, &err);
	if (ca == NULL || ca2 == NULL) {
		T_CHECK(0, "open: %s", err.msg);
		goto out;
	}
	ctx = tlsca_leaf(ca, "API.OpenAI.com.", &err);
	if (ctx == NULL) {
		T_CHECK(0, "leaf: %s", err.msg);
		goto out;
	}
	x = leaf_cert(ctx);
	T_CHECK(verify(tlsca_cert(ca), x, "api.openai.com", &why) == 1,
	    "verifies against its CA: %s", X509_verify_cert_error_string(why));
	T_CHECK(verify(tlsca_cert(ca2), x, "api.openai.com", &why) != 1 &&
	    why == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
	    "not against another CA: %d", why);
	T_CHECK(verify(tlsca_cert(ca), x, "evil.example", &why) != 1 &&
	    why == X509_V_ERR_HOSTNAME_MISMATCH, "not for another host");
	T_CHECK(verify(tlsca_cert(ca), x, "x.api.openai.com", &why) != 1,
	    "not for a subdomain");
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	T_CHECK(gens != NULL && sk_GENERAL_NAME_num(gens) == 1, "one SAN");
	if (gens != NULL && sk_GENERAL_NAME_num(gens) == 1) {
		g = sk_GENERAL_NAME_value(gens, 0);
		T_CHECK(g->type == GEN_DNS && strcmp((const char *)
		    ASN1_STRING_get0_data(g->d.dNSName), "api.openai.com") ==
		    0, "SAN DNS:api.openai.com");
	}
	GENERAL_NAMES_free(gens);
	T_CHECK((X509_get_extension_flags(x) & EXFLAG_XKUSAGE) &&
	    X509_get_extended_key_usage(x) == XKU_SSL_SERVER, "EKU serverAuth "
	    "only: %x", X509_get_extended_key_usage(x));
	T_CHECK(X509_check_ca(x) == 0, "a leaf is no CA");
	T_CHECK(X509_cmp_time(X509_get0_notBefore(x),
	    &(time_t){ time(NULL) - 3500 }) < 0 &&
	    X509_cmp_time(X509_get0_notBefore(x),
	    &(time_t){ time(NULL) - 3700 }) > 0, "backdated an hour");
	T_CHECK(X509_cmp_time(X509_get0_notAfter(x),
	    &(time_t){ time(NULL) + 3 * 86400 }) > 0 &&
	    X509_cmp_time(X509_get0_notAfter(x),
	    &(time_t){ time(NULL) + 5 * 86400 }) < 0, "a few days");
	ser = X509_get0_serialNumber(x);
	bn = ASN1_INTEGER_to_BN(ser, NULL);
	T_CHECK(bn != NULL && !BN_is_negative(bn) && BN_num_bits(bn) > 64 &&
	    BN_num_bits(bn) <= 127, "random positive serial: %d bits",
	    bn ? BN_num_bits(bn) : -1);
	BN_free(bn);

	/* The same host, however written, is the same ctx. */
	ctx2 = tlsca_leaf(ca, "api.openai.com", &err);
	T_CHECK(ctx2 == ctx && tlsca_minted(ca) == 1, "cached");
	SSL_CTX_free(ctx2);

	ip4 = tlsca_leaf(ca, "203.0.113.7", &err);
	T_CHECK(ip4 != NULL, "IPv4: %s", err.msg);
	if (ip4 != NULL) {
		gens = X509_get_ext_d2i(leaf_cert(ip4), NID_subject_alt_name,
		    NULL, NULL);
		g = gens ? sk_GENERAL_NAME_value(gens, 0) : NULL;
		T_CHECK(g != NULL && g->type == GEN_IPADD &&
		    ASN1_STRING_length(g->d.iPAddress) == 4 &&
		    memcmp(ASN1_STRING_get0_data(g->d.iPAddress),
		    "\xcb\x00\x71\x07", 4) == 0, "SAN IP:203.0.113.7");
		GENERAL_NAMES_free(gens);
		T_CHECK(X509_check_ip_asc(leaf_cert(ip4), "203.0.113.7", 0) ==
		    1, "check_ip");
		SSL_CTX_free(ip4);
	}
	ip6 = tlsca_leaf(ca, "[2001:DB8::1]", &err);
	T_CHECK(ip6 != NULL && X509_check_ip_asc(leaf_cert(ip6),
	    "2001:db8::1", 0) == 1, "IPv6 in brackets: %s", err.msg);
	ctx2 = tlsca_leaf(ca, "2001:db8:0::1", &err);
	T_CHECK(ctx2 == ip6, "IPv6 canonical form cached");
	SSL_CTX_free(ctx2);
	SSL_CTX_free(ip6);

	{
		static const char *bad[] = { "", "a b", "x_y..com", "1.2.3",
		    "a..b", "caf\xc3\xa9.com", "x:443", "[1.2.3.4]",
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaa.com" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			err.msg[0] = '\0';
			T_CHECK(tlsca_leaf(ca, bad[i], &err) == NULL &&
			    err.code == EINVAL && strstr(err.msg,
			    "not a host name or IP address"), "bad %zu: %s", i,
			    err.msg);
		}
	}
	SSL_CTX_free(ctx);
out:
	tlsca_free(ca);
	tlsca_free(ca2);
}

static void
test_cache(void)
{
	char		 d[128];
	struct tlsca	*ca;
	struct ir_err	 err = { 0 };
	SSL_CTX		*a, *b, *c, *a2, *b2;

	dir_of(d, sizeof(d), "ca");
	if ((ca = tlsca_open(d, "r1", 2, &err)) == NULL) {
		T_CHECK(0, "%s", err.msg);
		return;
	}
	a = tlsca_leaf(ca, "a.test", &err);
	b = tlsca_leaf(ca, "b.test", &err);
	a2 = tlsca_leaf(ca, "a.test", &err);	/* a is the most recent */
	T_CHECK(a2 == a && tlsca_cached(ca) == 2 && tlsca_minted(ca) == 2,
	    "hit");
	SSL_CTX_free(a2);
	c = tlsca_leaf(ca, "c.test", &err);	/* evicts b */
	T_CHECK(tlsca_cached(ca) == 2 && tlsca_minted(ca) == 3, "bounded");
	a2 = tlsca_leaf(ca, "a.test", &err);
	T_CHECK(a2 == a && tlsca_minted(ca) == 3, "a stayed (LRU)");
	SSL_CTX_free(a2);
	b2 = tlsca_leaf(ca, "b.test", &err);
	T_CHECK(b2 != NULL && b2 != b && tlsca_minted(ca) == 4,
	    "b was evicted and is minted again");
	/* The evicted ctx is still ours to use and free. */
	T_CHECK(SSL_CTX_get0_certificate(b) != NULL, "evicted ctx alive");
	SSL_CTX_free(a);
	SSL_CTX_free(b);
	SSL_CTX_free(b2);
	SSL_CTX_free(c);
	tlsca_free(ca);
}

struct thr {
	struct tlsca	*t_ca;
	SSL_CTX		*t_got[4];
	int		 t_fail;
};

static void *
thr_main(void *arg)
{
	struct thr	*t = arg;
	static const char *hosts[4] = { "h0.test", "h1.test", "h2.test",
	    "h3.test" };

	for (int round = 0; round < 20; round++)
		for (int i = 0; i < 4; i++) {
			SSL_CTX *c = tlsca_leaf(t->t_ca, hosts[i], NULL);

			if (c == NULL)
				t->t_fail++;
			else if (t->t_got[i] == NULL)
				t->t_got[i] = c;
			else {
				if (c != t->t_got[i])
					t->t_fail++;
				SSL_CTX_free(c);
			}
		}
	return NULL;
}

static void
test_threads(void)
{
	char		 d[128];
	struct tlsca	*ca;
	struct ir_err	 err = { 0 };
	struct thr	 t[4];
	pthread_t	 th[4];
	int		 i, j;

	dir_of(d, sizeof(d), "ca");
	if ((ca = tlsca_open(d, "r1", 0, &err)) == NULL) {
		T_CHECK(0, "%s", err.msg);
		return;
	}
	memset(t, 0, sizeof(t));
	for (i = 0; i < 4; i++) {
		t[i].t_ca = ca;
		pthread_create(&th[i], NULL, thr_main, &t[i]);
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 4; i++) {
		T_CHECK(t[i].t_fail == 0, "thread %d: %d failures", i,
		    t[i].t_fail);
		for (j = 0; j < 4; j++)
			T_CHECK(t[i].t_got[j] == t[0].t_got[j], "one ctx per "
			    "host across threads");
	}
	T_CHECK(tlsca_cached(ca) == 4, "4 cached");
	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++)
			SSL_CTX_free(t[i].t_got[j]);
	tlsca_free(ca);
}

/*
 * One handshake in memory: a client trusting only `trust`, checking
 * `want_host`, offering `alpn`, against the leaf ctx. Returns 1 when it
 * succeeded and data went through; *verr gets the client's verify result.
 */
static int
handshake(SSL_CTX *leaf, X509 *trust, const char *want_host,
    const unsigned char *alpn, unsigned alpnlen, char *proto, long *verr)
{
	SSL_CTX		*cctx = SSL_CTX_new(TLS_client_method());
	SSL		*c, *s;
	BIO		*cb, *sb;
	const unsigned char *sel;
	unsigned	 sellen;
	int		 cdone = 0, sdone = 0, i, rc, ok = 0;
	char		 buf[64];

	proto[0] = '\0';
	X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), trust);
	SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
	c = SSL_new(cctx);	/* after set_verify: an SSL copies it */
	s = SSL_new(leaf);
	BIO_new_bio_pair(&cb, 0, &sb, 0);
	SSL_set_bio(c, cb, cb);
	SSL_set_bio(s, sb, sb);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	SSL_set_tlsext_host_name(c, want_host);
	SSL_set1_host(c, want_host);
	if (alpn != NULL)
		SSL_set_alpn_protos(c, alpn, alpnlen);
	for (i = 0; i < 100 && !(cdone && sdone); i++) {
		if (!cdone) {
			rc = SSL_do_handshake(c);
			if (rc == 1)
				cdone = 1;
			else if (SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
				break;
		}
		if (!sdone) {
			rc = SSL_do_handshake(s);
			if (rc == 1)
				sdone = 1;
			else if (SSL_get_error(s, rc) != SSL_ERROR_WANT_READ)
				break;
		}
	}
	*verr = SSL_get_verify_result(c);
	if (cdone && sdone) {
		SSL_get0_alpn_selected(c, &sel, &sellen);
		snprintf(proto, 32, "%.*s", (int)sellen, sel);
		if (SSL_write(c, "GET / HTTP/1.1\r\n", 16) == 16 &&
		    SSL_read(s, buf, sizeof(buf)) == 16 &&
		    memcmp(buf, "GET / HTTP/1.1\r\n", 16) == 0)
			ok = 1;
	}
	ERR_clear_error();
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	return ok;
}

static void
test_handshake(void)
{
	static const unsigned char both[] = "\x02h2\x08http/1.1";
	static const unsigned char h2[] = "\x02h2";
	char		 d[128], d2[128], proto[32];
	struct tlsca	*ca, *ca2;
	struct ir_err	 err = { 0 };
	SSL_CTX		*leaf;
	long		 verr;
	int		 rc;

	dir_of(d, sizeof(d), "ca");
	dir_of(d2, sizeof(d2), "ca2");
	ca = tlsca_open(d, "r1", 0, &err);
	ca2 = tlsca_open(d2, "r2", 0, &err);
	if (ca == NULL || ca2 == NULL ||
	    (leaf = tlsca_leaf(ca, "api.openai.com", &err)) == NULL) {
		T_CHECK(0, "setup: %s", err.msg);
		tlsca_free(ca);
		tlsca_free(ca2);
		return;
	}
	T_CHECK(handshake(leaf, tlsca_cert(ca), "api.openai.com", both,
	    sizeof(both) - 1, proto, &verr) == 1 && verr == X509_V_OK &&
	    strcmp(proto, "http/1.1") == 0, "h2 and http/1.1 offered: "
	    "http/1.1 chosen ('%s', verify %ld)", proto, verr);
	T_CHECK(handshake(leaf, tlsca_cert(ca), "api.openai.com", NULL, 0,
	    proto, &verr) == 1 && proto[0] == '\0', "no ALPN: fine");
	T_CHECK(handshake(leaf, tlsca_cert(ca), "api.openai.com", h2,
	    sizeof(h2) - 1, proto, &verr) == 0, "h2 only: refused");
	rc = handshake(leaf, tlsca_cert(ca), "other.example", both,
	    sizeof(both) - 1, proto, &verr);
	T_CHECK(rc == 0 &&
	    verr == X509_V_ERR_HOSTNAME_MISMATCH, "another hostname: %d %ld",
	    rc, verr);
	T_CHECK(handshake(leaf, tlsca_cert(ca2), "api.openai.com", both,
	    sizeof(both) - 1, proto, &verr) == 0 &&
	    verr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
	    "a client trusting another CA: %ld", verr);
	SSL_CTX_free(leaf);
	tlsca_free(ca);
	tlsca_free(ca2);
}

int
main(void)
{
	char	 cmd[128];

	snprintf(base, sizeof(base), "/tmp/isorun-test-tlsca.XXXXXX");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	T_RUN(test_ca(), "tlsca: a CA made at first open, loaded again");
	T_RUN(test_ca_bad(), "tlsca: corrupt, mismatched, half-there CA files");
	T_RUN(test_leaf(), "tlsca: leaves verify against the CA only; SAN, "
	    "EKU, validity, serial");
	T_RUN(test_cache(), "tlsca: the leaf cache is an LRU and bounded");
	T_RUN(test_threads(), "tlsca: concurrent callers share one ctx per "
	    "host");
	T_RUN(test_handshake(), "tlsca: TLS handshakes in memory, ALPN "
	    "http/1.1, hostname checked");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", base);
	return t_done();
}
