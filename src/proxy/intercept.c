/*
 * intercept.c - TLS interception of hosts with endpoint rules
 * (docs/endpoints.md): the guest's TLS ends here with a leaf from the
 * runner's CA, each request is checked by the endpoint rules and gets its
 * credentials, and goes on over TLS to the real server, verified.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "proxy_int.h"

int
proxy_intercept_setup(struct proxy *px, struct tlsca *ca, struct secrets *sec,
    const char *upstream_ca_file, struct ir_err *err)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	SSL_CTX	*ctx;

	if (px->px_upctx != NULL)
		return err_set(err, EALREADY, "proxy: interception is already "
		    "set up");
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return err_set(err, ENOMEM, "proxy: SSL_CTX_new failed");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1 ||
	    (upstream_ca_file != NULL &&
	    SSL_CTX_load_verify_locations(ctx, upstream_ca_file, NULL) != 1)) {
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return err_set(err, EINVAL, "proxy: cannot load the upstream "
		    "trust store%s%s", upstream_ca_file ? " " : "",
		    upstream_ca_file ? upstream_ca_file : "");
	}
	SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	px->px_ca = ca;
	px->px_secrets = sec;
	px->px_upctx = ctx;
	return 0;
}
