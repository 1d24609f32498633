/*
 * isorund.h - inside the daemon: its state, the sandbox table
 * (sandboxes.c) and the HTTP server (http.c). Not a contract of the
 * library; docs/api.md describes the daemon.
 *
 * Threads: libmicrohttpd runs one thread per connection; each calls the
 * sbx_* functions, which serialise on d_lock for the table and never hold
 * it across a runner call or an exec. The main thread waits for signals
 * and expires sandboxes.
 */
#ifndef ISORUND_H
#define ISORUND_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <jansson.h>

#include "../api/api.h"
#include "../common/err.h"
#include "../runner/runner.h"

struct dsb;
struct httpd;

struct isorund {
	struct api_conf		 d_conf;
	struct runner_config	 d_rc;
	const char		**d_guard;	/* split cf_guard */
	size_t			 d_nguard;
	struct runner		*d_runner;
	char			*d_token;	/* TCP bearer token, or NULL */
	char			 d_recdir[512];	/* <run_dir>/isorund */
	int			 d_lockfd;
	pthread_mutex_t		 d_lock;
	pthread_cond_t		 d_cond;	/* a sandbox's last user left */
	TAILQ_HEAD(, dsb)	 d_sandboxes;
	unsigned		 d_count;
	bool			 d_stopping;	/* under d_lock */
	struct httpd		*d_http;
	int64_t			 d_started_ms;
};

/* Log lines on stderr: "isorund: ...". */
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int64_t	now_ms(void);

/* sandboxes.c */

/*
 * Starts the runner (resuming the one this run directory records, and
 * adopting the sandboxes it recorded) and fills the table. Returns 0 or
 * -1 with `err` set; on -1 nothing is left running.
 */
int	sbx_start(struct isorund *d, bool purge_only, struct ir_err *err);

/* Marks the daemon stopping (new requests: 503) and kills the commands of
 * every exec in flight, so that their requests end. */
void	sbx_stopping(struct isorund *d);

/* Keeps (detach) or destroys every sandbox as cf_on_shutdown says, and
 * stops the runner. The HTTP server must be stopped first. */
void	sbx_stop(struct isorund *d);

/* Destroys the sandboxes whose lifetime ended before `now`. */
void	sbx_expire(struct isorund *d, int64_t now);

bool	sbx_is_stopping(struct isorund *d);
unsigned sbx_count(struct isorund *d);
/* 1 if a sandbox `id` is live. */
int	sbx_exists(struct isorund *d, const char *id);

/*
 * The operations behind the routes. Each returns 0 with *out set (a new
 * reference) or -1 with `err` set.
 */
int	sbx_create(struct isorund *d, const struct api_create *req,
	    json_t **out, struct api_error *err);
int	sbx_list(struct isorund *d, json_t **out, struct api_error *err);
int	sbx_get(struct isorund *d, const char *id, json_t **out,
	    struct api_error *err);
int	sbx_destroy(struct isorund *d, const char *id, struct api_error *err);
int	sbx_exec(struct isorund *d, const char *id, const struct api_exec *req,
	    json_t **out, struct api_error *err);
int	sbx_network(struct isorund *d, const char *id,
	    const struct api_network *req, json_t **out,
	    struct api_error *err);
/* Replaces the sandbox's endpoint rules (`eps` borrowed, NULL: none;
 * `text` the array as given, NULL: none). */
int	sbx_endpoints(struct isorund *d, const char *id, struct endpoints *eps,
	    const char *text, json_t **out, struct api_error *err);
int	sbx_profiles(struct isorund *d, json_t **out, struct api_error *err);

/*
 * secrets.c: /v1/secrets in the runner's store. `name` is valid (the route
 * checked it). *created: 1 for a new secret, 0 for a replaced one.
 */
int	sec_put(struct isorund *d, const char *name, const char *val,
	    size_t len, bool *created, struct api_error *err);
int	sec_delete(struct isorund *d, const char *name, struct api_error *err);
int	sec_list(struct isorund *d, json_t **out, struct api_error *err);

/* http.c */

/* Binds the unix socket (and the TCP listener) and starts serving. */
struct httpd	*httpd_start(struct isorund *d, struct ir_err *err);
/* Stops accepting, waits for every connection to end, removes the socket. */
void		 httpd_stop(struct httpd *h);

#endif
