/*
 * guard.c - the guard list of a runner.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"

struct pol_guard *
runner_guard(const struct gateway_config *gc, const char *const *extra,
    size_t nextra, struct ir_err *err)
{
	struct ifaddrs		*ifs = NULL, *ifa;
	const char		**v = NULL;
	char			(*addrs)[INET6_ADDRSTRLEN] = NULL;
	struct pol_guard	*g = NULL;
	size_t			 n = 0, nif = 0;
	const void		*a;

	if (getifaddrs(&ifs) == -1) {
		err_set(err, errno, "guard list: getifaddrs: %s",
		    strerror(errno));
		return NULL;
	}
	for (ifa = ifs; ifa != NULL; ifa = ifa->ifa_next)
		nif++;
	v = calloc(pol_guard_ndefaults + nif + 2 + nextra, sizeof(*v));
	addrs = calloc(nif + 1, sizeof(*addrs));
	if (v == NULL || addrs == NULL) {
		err_set(err, ENOMEM, "guard list: out of memory");
		goto done;
	}
	for (size_t i = 0; i < pol_guard_ndefaults; i++)
		v[n++] = pol_guard_defaults[i];
	nif = 0;
	for (ifa = ifs; ifa != NULL; ifa = ifa->ifa_next) {
		if (ifa->ifa_addr == NULL)
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET)
			a = &((struct sockaddr_in *)(void *)
			    ifa->ifa_addr)->sin_addr;
		else if (ifa->ifa_addr->sa_family == AF_INET6)
			a = &((struct sockaddr_in6 *)(void *)
			    ifa->ifa_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(ifa->ifa_addr->sa_family, a, addrs[nif],
		    INET6_ADDRSTRLEN) != NULL)
			v[n++] = addrs[nif++];
	}
	if (gc != NULL) {
		v[n++] = gc->gc_pool4;
		v[n++] = gc->gc_pool6;
	}
	for (size_t i = 0; i < nextra; i++)
		v[n++] = extra[i];
	/* Its messages say "guard list" already. */
	g = pol_guard_compile(v, n, err);
done:
	freeifaddrs(ifs);
	free(v);
	free(addrs);
	return g;
}
