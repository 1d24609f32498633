/*
 * secrets.c - the daemon's /v1/secrets: set, list, delete in the runner's
 * store (runner_secrets()). No answer and no log line ever holds a value.
 */
#include "isorund.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../secrets/secrets.h"

/* Orders set against delete, so that 201 and 204 tell the truth. */
static pthread_mutex_t	 sec_lock = PTHREAD_MUTEX_INITIALIZER;

static struct secrets *
store(struct isorund *d, struct api_error *err)
{
	struct secrets	*s = runner_secrets(d->d_runner);

	if (s == NULL)
		api_error_set(err, API_NOT_IMPLEMENTED, "this runner has no "
		    "secrets store (no state_dir)");
	return s;
}

static enum api_code
sec_code(const struct ir_err *e)
{
	switch (e->code) {
	case EINVAL:
	case EFBIG:	return API_INVALID_ARGUMENT;
	case ENOENT:	return API_NOT_FOUND;
	default:	return API_INTERNAL;
	}
}

int
sec_put(struct isorund *d, const char *name, const char *val, size_t len,
    bool *created, struct api_error *err)
{
	struct secrets	*s;
	struct ir_err	 e;
	int		 had;

	if ((s = store(d, err)) == NULL)
		return -1;
	pthread_mutex_lock(&sec_lock);
	if ((had = secrets_exists(s, name, &e)) == -1 ||
	    secrets_set(s, name, val, len, &e) == -1) {
		pthread_mutex_unlock(&sec_lock);
		return api_error_set(err, sec_code(&e), "%s", e.msg);
	}
	pthread_mutex_unlock(&sec_lock);
	*created = had == 0;
	log_info("secret %s set (%s)", name, had ? "replaced" : "new");
	return 0;
}

int
sec_delete(struct isorund *d, const char *name, struct api_error *err)
{
	struct secrets	*s;
	struct ir_err	 e;
	int		 rc;

	if ((s = store(d, err)) == NULL)
		return -1;
	pthread_mutex_lock(&sec_lock);
	rc = secrets_delete(s, name, &e);
	pthread_mutex_unlock(&sec_lock);
	if (rc == -1)
		return api_error_set(err, sec_code(&e), "%s%s", e.msg,
		    e.code == ENOENT ? " (GET /v1/secrets lists them)" : "");
	log_info("secret %s removed", name);
	return 0;
}

int
sec_list(struct isorund *d, json_t **out, struct api_error *err)
{
	struct secrets	*s;
	struct ir_err	 e;
	json_t		*a;
	char		**names;
	size_t		 i, n;

	if ((s = store(d, err)) == NULL)
		return -1;
	if (secrets_list(s, &names, &n, &e) == -1)
		return api_error_set(err, API_INTERNAL, "%s", e.msg);
	a = json_array();
	for (i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_pack("{s:s}", "name",
		    names[i])) == -1) {
			json_decref(a);
			a = NULL;
		}
	secrets_names_free(names, n);
	if (a == NULL || (*out = json_pack("{s:o}", "secrets", a)) == NULL)
		return api_error_set(err, API_INTERNAL, "out of memory");
	return 0;
}
