#include "tlsca.h"

#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../common/file.h"
#include "../peek/peek.h"

#define PEM_MAX		(64 * 1024)
#define HOST_MAX	253

struct leaf {
	char		*lf_host;
	SSL_CTX		*lf_ctx;
	time_t		 lf_born;
	struct leaf	*lf_hnext;		/* hash chain */
	struct leaf	*lf_prev, *lf_next;	/* LRU, head most recent */
};

struct tlsca {
	EVP_PKEY	*ca_key;
	X509		*ca_cert;
	char		*ca_pem;
	pthread_mutex_t	 ca_lock;
	struct leaf	**ca_tab;
	size_t		 ca_tabsz;		/* a power of two */
	struct leaf	*ca_head, *ca_tail;
	size_t		 ca_n, ca_max;
	size_t		 ca_minted;
};

/* The first OpenSSL error queued, as text; the queue is cleared. */
static const char *
ossl_why(char *buf, size_t len)
{
	unsigned long	 e = ERR_get_error();

	if (e == 0)
		snprintf(buf, len, "OpenSSL failed");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

static int
ossl_err(struct ir_err *err, const char *what)
{
	char	 b[256];

	return err_set(err, EIO, "%s: %s", what, ossl_why(b, sizeof(b)));
}

static int
serial_set(X509 *x)
{
	BIGNUM	*bn = BN_new();
	int	 rc = -1;

	/* 127 random bits: positive, at most 16 octets, unpredictable. */
	if (bn != NULL && BN_rand(bn, 127, BN_RAND_TOP_ANY,
	    BN_RAND_BOTTOM_ANY) == 1 && !BN_is_zero(bn) &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		rc = 0;
	BN_free(bn);
	return rc;
}

static int
ext_add(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;
	int		 rc;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	rc = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

static X509 *
ca_make(EVP_PKEY *key, const char *name)
{
	X509		*x = X509_new();
	X509_NAME	*n;
	char		 cn[128];

	snprintf(cn, sizeof(cn), "isorun runner CA %s", name);
	if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    serial_set(x) == -1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), TLSCA_CA_DAYS, 0,
	    NULL) == NULL)
		goto fail;
	n = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)"isorun", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, n) != 1 || X509_set_pubkey(x, key) != 1)
		goto fail;
	if (ext_add(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")
	    == -1 || ext_add(x, x, NID_key_usage, "critical,keyCertSign,cRLSign")
	    == -1 || ext_add(x, x, NID_subject_key_identifier, "hash") == -1 ||
	    ext_add(x, x, NID_authority_key_identifier, "keyid:always") == -1)
		goto fail;
	if (X509_sign(x, key, EVP_sha256()) == 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

/* Writes `len` bytes to dir/file with `mode`: temp, fsync, rename. */
static int
file_put(const char *dir, const char *file, const char *buf, size_t len,
    mode_t mode, struct ir_err *err)
{
	char	 tmp[4096], path[4096];
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd, dfd, e;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, file);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1)
		return err_set(err, errno, "%s: %s", tmp, strerror(errno));
	if (fchmod(fd, mode) == -1)
		goto fail;
	while (off < len) {
		if ((n = write(fd, buf + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return err_set(err, e, "%s: %s", path, strerror(e));
}

static char *
pem_of(int (*wr)(BIO *, const void *), const void *obj, size_t *len)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*data, *out = NULL;
	long	 n;

	if (b == NULL)
		return NULL;
	if (wr(b, obj) == 1 && (n = BIO_get_mem_data(b, &data)) > 0 &&
	    (out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
		*len = (size_t)n;
		OPENSSL_cleanse(data, (size_t)n);
	}
	BIO_free(b);
	return out;
}

static int
wr_cert(BIO *b, const void *x)
{
	return PEM_write_bio_X509(b, (X509 *)(uintptr_t)x);
}

static int
wr_key(BIO *b, const void *k)
{
	return PEM_write_bio_PrivateKey(b, (EVP_PKEY *)(uintptr_t)k, NULL,
	    NULL, 0, NULL, NULL);
}

static int
ca_create(struct tlsca *ca, const char *dir, const char *name,
    struct ir_err *err)
{
	char	*kp = NULL, *cp = NULL;
	size_t	 kl = 0, cl = 0;
	int	 rc = -1;

	if ((ca->ca_key = EVP_EC_gen("P-256")) == NULL)
		return ossl_err(err, "CA key");
	if ((ca->ca_cert = ca_make(ca->ca_key, name)) == NULL)
		return ossl_err(err, "CA certificate");
	if ((kp = pem_of(wr_key, ca->ca_key, &kl)) == NULL ||
	    (cp = pem_of(wr_cert, ca->ca_cert, &cl)) == NULL) {
		ossl_err(err, "CA PEM");
		goto out;
	}
	/* The key first: a certificate is never there without it. */
	if (file_put(dir, TLSCA_KEY_FILE, kp, kl, 0600, err) == -1 ||
	    file_put(dir, TLSCA_CERT_FILE, cp, cl, 0644, err) == -1)
		goto out;
	rc = 0;
out:
	if (kp != NULL) {
		OPENSSL_cleanse(kp, kl);
		free(kp);
	}
	free(cp);
	return rc;
}

static int
no_pass(char *buf, int size, int rw, void *u)
{
	(void)buf;
	(void)size;
	(void)rw;
	(void)u;
	return -1;
}

static int
ca_load(struct tlsca *ca, const char *kpath, const char *cpath,
    struct ir_err *err)
{
	struct stat	 sb;
	char		*kp = NULL, *cp = NULL, b[256];
	size_t		 kl = 0, cl = 0;
	BIO		*bio;
	int		 rc = -1;

	if (stat(kpath, &sb) == -1)
		return err_set(err, errno, "%s: %s", kpath, strerror(errno));
	if (sb.st_mode & 077)
		return err_set(err, EPERM, "%s: mode %04o lets group or others "
		    "read the CA key; it must be 0600", kpath,
		    (unsigned)(sb.st_mode & 07777));
	if ((kp = ir_read_file(kpath, PEM_MAX, &kl, err)) == NULL ||
	    (cp = ir_read_file(cpath, PEM_MAX, &cl, err)) == NULL)
		goto out;
	if ((bio = BIO_new_mem_buf(kp, (int)kl)) == NULL)
		goto out;
	ca->ca_key = PEM_read_bio_PrivateKey(bio, NULL, no_pass, NULL);
	BIO_free(bio);
	if (ca->ca_key == NULL) {
		err_set(err, EINVAL, "%s: not a PEM private key (%s)", kpath,
		    ossl_why(b, sizeof(b)));
		goto out;
	}
	if ((bio = BIO_new_mem_buf(cp, (int)cl)) == NULL)
		goto out;
	ca->ca_cert = PEM_read_bio_X509(bio, NULL, no_pass, NULL);
	BIO_free(bio);
	if (ca->ca_cert == NULL) {
		err_set(err, EINVAL, "%s: not a PEM certificate (%s)", cpath,
		    ossl_why(b, sizeof(b)));
		goto out;
	}
	if (X509_check_private_key(ca->ca_cert, ca->ca_key) != 1) {
		ERR_clear_error();
		err_set(err, EINVAL, "%s does not match the key in %s: remove "
		    "both to make a new CA", cpath, kpath);
		goto out;
	}
	if (X509_check_ca(ca->ca_cert) < 1) {
		err_set(err, EINVAL, "%s: not a CA certificate", cpath);
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(ca->ca_cert)) <= 0) {
		err_set(err, EINVAL, "%s: the CA certificate has expired: "
		    "remove it and %s to make a new CA", cpath, kpath);
		goto out;
	}
	rc = 0;
out:
	if (kp != NULL) {
		OPENSSL_cleanse(kp, kl);
		free(kp);
	}
	free(cp);
	return rc;
}

struct tlsca *
tlsca_open(const char *dir, const char *name, size_t cache_max,
    struct ir_err *err)
{
	struct tlsca	*ca;
	char		 kpath[4096], cpath[4096];
	size_t		 len;
	int		 hk, hc;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		err_set(err, errno, "CA directory %s: %s", dir,
		    strerror(errno));
		return NULL;
	}
	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		err_set(err, ENOMEM, "CA: out of memory");
		return NULL;
	}
	pthread_mutex_init(&ca->ca_lock, NULL);
	ca->ca_max = cache_max ? cache_max : TLSCA_CACHE_DEFAULT;
	for (ca->ca_tabsz = 16; ca->ca_tabsz < ca->ca_max * 2; )
		ca->ca_tabsz *= 2;
	if ((ca->ca_tab = calloc(ca->ca_tabsz, sizeof(*ca->ca_tab))) == NULL) {
		err_set(err, ENOMEM, "CA: out of memory");
		goto fail;
	}
	snprintf(kpath, sizeof(kpath), "%s/%s", dir, TLSCA_KEY_FILE);
	snprintf(cpath, sizeof(cpath), "%s/%s", dir, TLSCA_CERT_FILE);
	hk = access(kpath, F_OK) == 0;
	hc = access(cpath, F_OK) == 0;
	if (hk != hc) {
		err_set(err, ENOENT, "%s is there but %s is not: remove it to "
		    "make a new CA", hk ? kpath : cpath, hk ? cpath : kpath);
		goto fail;
	}
	if ((hk ? ca_load(ca, kpath, cpath, err) :
	    ca_create(ca, dir, name, err)) == -1)
		goto fail;
	if ((ca->ca_pem = pem_of(wr_cert, ca->ca_cert, &len)) == NULL) {
		ossl_err(err, "CA PEM");
		goto fail;
	}
	return ca;
fail:
	tlsca_free(ca);
	return NULL;
}

static void
leaf_free(struct leaf *l)
{
	SSL_CTX_free(l->lf_ctx);
	free(l->lf_host);
	free(l);
}

void
tlsca_free(struct tlsca *ca)
{
	struct leaf	*l, *next;

	if (ca == NULL)
		return;
	for (l = ca->ca_head; l != NULL; l = next) {
		next = l->lf_next;
		leaf_free(l);
	}
	free(ca->ca_tab);
	EVP_PKEY_free(ca->ca_key);
	X509_free(ca->ca_cert);
	free(ca->ca_pem);
	pthread_mutex_destroy(&ca->ca_lock);
	free(ca);
}

const char *
tlsca_pem(const struct tlsca *ca)
{
	return ca->ca_pem;
}

X509 *
tlsca_cert(const struct tlsca *ca)
{
	return ca->ca_cert;
}

static int
alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "\x08http/1.1";
	unsigned char		  *o;

	(void)s;
	(void)arg;
	/* We speak HTTP/1.1 to the guest only: a client that cannot gets
	   no_application_protocol rather than bytes it would misread. */
	if (SSL_select_next_proto(&o, outlen, h11, sizeof(h11) - 1, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = o;
	return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *
leaf_make(struct tlsca *ca, const char *host, int ip)
{
	EVP_PKEY	*key = EVP_EC_gen("P-256");
	X509		*x = X509_new();
	SSL_CTX		*ctx = NULL;
	char		 san[HOST_MAX + 8];

	if (key == NULL || x == NULL || X509_set_version(x, X509_VERSION_3)
	    != 1 || serial_set(x) == -1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), TLSCA_LEAF_DAYS, 0,
	    NULL) == NULL ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca->ca_cert)) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		goto fail;
	if (strlen(host) <= 64 && X509_NAME_add_entry_by_txt(
	    X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)host, -1, -1, 0) != 1)
		goto fail;
	snprintf(san, sizeof(san), "%s:%s", ip ? "IP" : "DNS", host);
	if (ext_add(x, ca->ca_cert, NID_subject_alt_name, san) == -1 ||
	    ext_add(x, ca->ca_cert, NID_basic_constraints, "critical,CA:FALSE")
	    == -1 || ext_add(x, ca->ca_cert, NID_key_usage,
	    "critical,digitalSignature") == -1 ||
	    ext_add(x, ca->ca_cert, NID_ext_key_usage, "serverAuth") == -1 ||
	    ext_add(x, ca->ca_cert, NID_subject_key_identifier, "hash") == -1 ||
	    ext_add(x, ca->ca_cert, NID_authority_key_identifier,
	    "keyid:always") == -1)
		goto fail;
	if (X509_sign(x, ca->ca_key, EVP_sha256()) == 0)
		goto fail;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	X509_free(x);
	EVP_PKEY_free(key);
	return NULL;
}

/*
 * Normalises `host` into `out` (size HOST_MAX + 1): an IP literal in its
 * canonical text (*ip = 1), or a host name in lower case without a
 * trailing dot. Returns -1 with err set when it is neither.
 */
static int
host_norm(const char *host, char *out, int *ip, struct ir_err *err)
{
	char		 q[300], why[PEEK_WHY_MAX], tmp[64];
	unsigned char	 a[16];
	size_t		 len = strlen(host), nl, i;

	str_quote(host, len, 256, q, sizeof(q));
	*ip = 1;
	if (inet_pton(AF_INET, host, a) == 1)
		return inet_ntop(AF_INET, a, out, HOST_MAX + 1) ? 0 : -1;
	if (len >= 2 && len < sizeof(tmp) && host[0] == '[' &&
	    host[len - 1] == ']') {
		memcpy(tmp, host + 1, len - 2);
		tmp[len - 2] = '\0';
		host = tmp;
	}
	if (inet_pton(AF_INET6, host, a) == 1)
		return inet_ntop(AF_INET6, a, out, HOST_MAX + 1) ? 0 : -1;
	*ip = 0;
	if (len == 0 || peek_host_check(host, len, &nl, "host", why,
	    sizeof(why)) != PEEK_HOST_NAME)
		return err_set(err, EINVAL, "leaf certificate for %s: not a "
		    "host name or IP address", q);
	for (i = 0; i < nl; i++)
		out[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ?
		    host[i] + 32 : host[i]);
	out[nl] = '\0';
	return 0;
}

static size_t
hash_of(const char *s, size_t mask)
{
	uint64_t	 h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)(h & mask);
}

/* With the lock held. */
static struct leaf *
cache_find(struct tlsca *ca, const char *host, struct leaf ***slot)
{
	struct leaf	**pp = &ca->ca_tab[hash_of(host, ca->ca_tabsz - 1)];

	for (; *pp != NULL; pp = &(*pp)->lf_hnext)
		if (strcmp((*pp)->lf_host, host) == 0)
			break;
	*slot = pp;
	return *pp;
}

static void
lru_unlink(struct tlsca *ca, struct leaf *l)
{
	if (l->lf_prev)
		l->lf_prev->lf_next = l->lf_next;
	else
		ca->ca_head = l->lf_next;
	if (l->lf_next)
		l->lf_next->lf_prev = l->lf_prev;
	else
		ca->ca_tail = l->lf_prev;
	l->lf_prev = l->lf_next = NULL;
}

static void
lru_push(struct tlsca *ca, struct leaf *l)
{
	l->lf_prev = NULL;
	l->lf_next = ca->ca_head;
	if (ca->ca_head)
		ca->ca_head->lf_prev = l;
	ca->ca_head = l;
	if (ca->ca_tail == NULL)
		ca->ca_tail = l;
}

/* With the lock held: drops `l` from the table and the list. */
static void
cache_drop(struct tlsca *ca, struct leaf *l)
{
	struct leaf	**pp;

	cache_find(ca, l->lf_host, &pp);
	*pp = l->lf_hnext;
	lru_unlink(ca, l);
	ca->ca_n--;
	leaf_free(l);
}

SSL_CTX *
tlsca_leaf(struct tlsca *ca, const char *host, struct ir_err *err)
{
	char		 norm[HOST_MAX + 1];
	struct leaf	*l, **slot, *nl;
	SSL_CTX		*ctx;
	time_t		 now = time(NULL);
	int		 ip;

	if (host_norm(host, norm, &ip, err) == -1)
		return NULL;
	pthread_mutex_lock(&ca->ca_lock);
	if ((l = cache_find(ca, norm, &slot)) != NULL) {
		if (now - l->lf_born < TLSCA_LEAF_RENEW_S) {
			lru_unlink(ca, l);
			lru_push(ca, l);
			SSL_CTX_up_ref(l->lf_ctx);
			ctx = l->lf_ctx;
			pthread_mutex_unlock(&ca->ca_lock);
			return ctx;
		}
		cache_drop(ca, l);
	}
	pthread_mutex_unlock(&ca->ca_lock);

	if ((ctx = leaf_make(ca, norm, ip)) == NULL) {
		ossl_err(err, "leaf certificate");
		err_prefix(err, "'%s'", norm);
		return NULL;
	}
	if ((nl = calloc(1, sizeof(*nl))) == NULL ||
	    (nl->lf_host = strdup(norm)) == NULL) {
		free(nl);
		SSL_CTX_free(ctx);
		err_set(err, ENOMEM, "leaf certificate for '%s': out of "
		    "memory", norm);
		return NULL;
	}
	nl->lf_ctx = ctx;
	nl->lf_born = now;
	pthread_mutex_lock(&ca->ca_lock);
	ca->ca_minted++;
	if ((l = cache_find(ca, norm, &slot)) != NULL) {
		/* Another thread minted it meanwhile: one ctx per host. */
		leaf_free(nl);
		lru_unlink(ca, l);
		lru_push(ca, l);
		nl = l;
	} else {
		*slot = nl;
		lru_push(ca, nl);
		if (++ca->ca_n > ca->ca_max)
			cache_drop(ca, ca->ca_tail);
	}
	SSL_CTX_up_ref(nl->lf_ctx);
	ctx = nl->lf_ctx;
	pthread_mutex_unlock(&ca->ca_lock);
	return ctx;
}

size_t
tlsca_cached(struct tlsca *ca)
{
	size_t	 n;

	pthread_mutex_lock(&ca->ca_lock);
	n = ca->ca_n;
	pthread_mutex_unlock(&ca->ca_lock);
	return n;
}

size_t
tlsca_minted(struct tlsca *ca)
{
	size_t	 n;

	pthread_mutex_lock(&ca->ca_lock);
	n = ca->ca_minted;
	pthread_mutex_unlock(&ca->ca_lock);
	return n;
}
