/*
 * client.h - a small HTTP/1.1 client of isorund's API, over its unix
 * socket or TCP (with a bearer token), for the CLI and the tests.
 *
 * One request per connection (Connection: close); the whole response is
 * read. Where to connect: api_target_env() applies the CLI's rules: an
 * explicit socket, else an explicit URL, else $ISORUN_SOCKET, else
 * $ISORUN_URL (with $ISORUN_API_KEY), else the default socket.
 */
#ifndef ISORUN_API_CLIENT_H
#define ISORUN_API_CLIENT_H

#include <stddef.h>

#include "../common/err.h"
#include "api.h"

#define API_RESP_MAX	(256u * 1024 * 1024)	/* bytes of one response */

struct api_target {
	char	*at_socket;	/* unix socket path, or NULL */
	char	*at_host;	/* TCP: host (name or address) ... */
	char	*at_port;	/* ... and port */
	char	*at_token;	/* bearer token, or NULL */
	char	 at_desc[320];	/* "unix socket /run/..", for messages */
};

/*
 * Fills `t` by the rules above from `socket` and `url` (either may be
 * NULL; url is http://HOST:PORT with an optional trailing '/'). The
 * message names the variable or option at fault.
 */
int	api_target_env(struct api_target *t, const char *socket,
	    const char *url, struct ir_err *err);
void	api_target_free(struct api_target *t);

struct api_resp {
	unsigned	 rs_status;
	char		 rs_ctype[128];	/* Content-Type, "" if none */
	char		*rs_body;	/* NUL-terminated (not counted) */
	size_t		 rs_len;
};

/*
 * Sends one request (body may be NULL; a body is sent as
 * application/json) and reads the response. Returns 0 when a response
 * came, whatever its status; -1 when none did (connect, I/O, a malformed
 * response), the message naming the target.
 */
int	api_call(const struct api_target *t, const char *method,
	    const char *path, const char *body, size_t len,
	    struct api_resp *r, struct ir_err *err);
/* As api_call(), with a body of type `ctype` (a secret's raw value). */
int	api_call_body(const struct api_target *t, const char *method,
	    const char *path, const char *ctype, const char *body, size_t len,
	    struct api_resp *r, struct ir_err *err);
void	api_resp_free(struct api_resp *r);

/*
 * Parses the `len` bytes of a whole HTTP/1.x response (chunked or not)
 * into `r`. Pure. Returns 0 or -1 with the reason.
 */
int	api_resp_parse(const char *buf, size_t len, struct api_resp *r,
	    struct ir_err *err);

/*
 * The API error a response carries ({"error":{"code","message"}}); for a
 * body without one, a message made from the status.
 */
void	api_resp_error(const struct api_resp *r, struct api_error *out);

#endif
