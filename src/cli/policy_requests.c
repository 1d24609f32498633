/*
 * policy_requests.c - `isorun policy check --endpoints FILE --request
 * 'METHOD URL'`: decides requests offline exactly as the proxy would on an
 * intercepted connection (docs/endpoints.md), with the same messages.
 */
#include "cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api.h"
#include "../endpoint/endpoint.h"
#include "../policy/policy.h"

#define RQ_WHY_MAX	(EP_WHY_MAX + 256)

struct rq_result {
	const char	*verdict;	/* "allowed", "denied", "blocked" */
	char		 rule[EP_PATH_MAX + 64];
	char		 why[RQ_WHY_MAX];
	char		 path[EP_TARGET_MAX + 1];
};

/*
 * Splits "METHOD SCHEME://HOST[:PORT]/TARGET": the method and target point
 * into `buf` (a copy the caller owns), the host is copied to `host`.
 * Returns 0, or -1 with why in `r`.
 */
static int
rq_split(char *buf, char **method, int *https, char host[256],
    uint16_t *port, char **target, struct rq_result *r)
{
	char	*url, *p, *colon;
	size_t	 hl;

	if ((url = strchr(buf, ' ')) == NULL) {
		snprintf(r->why, sizeof(r->why), "want 'METHOD URL', as in "
		    "'POST https://api.example.com/v1/x'");
		return -1;
	}
	*url++ = '\0';
	*method = buf;
	*https = strncmp(url, "https://", 8) == 0;
	if (!*https && strncmp(url, "http://", 7) != 0) {
		snprintf(r->why, sizeof(r->why), "the URL must start with "
		    "https:// or http://");
		return -1;
	}
	*port = *https ? 443 : 80;
	p = url + (*https ? 8 : 7);
	if ((*target = strchr(p, '/')) == NULL) {
		snprintf(r->why, sizeof(r->why), "the URL has no path (want "
		    "https://HOST/PATH)");
		return -1;
	}
	if ((hl = (size_t)(*target - p)) == 0 || hl > 255) {
		snprintf(r->why, sizeof(r->why), "the URL's host is empty or "
		    "longer than 255 bytes");
		return -1;
	}
	memcpy(host, p, hl);
	host[hl] = '\0';
	if ((colon = strrchr(host, ':')) != NULL) {
		*colon = '\0';
		if (cli_port_parse(colon + 1, port) == -1) {
			snprintf(r->why, sizeof(r->why), "bad port '%.16s'",
			    colon + 1);
			return -1;
		}
	}
	return 0;
}

/* One request's verdict: the network policy first, then the rules. */
static int
rq_decide(const struct policy *pol, const struct endpoints *eps,
    const char *text, struct rq_result *r)
{
	struct pol_target	 t;
	struct pol_decision	 d;
	struct pol_name		 nm;
	struct ep_decision	*ed;
	const struct ep_host	*h;
	char			*buf, *method, *target, host[256];
	uint16_t		 port;
	int			 https;

	memset(r, 0, sizeof(*r));
	r->verdict = "blocked";
	if ((buf = strdup(text)) == NULL ||
	    (ed = calloc(1, sizeof(*ed))) == NULL) {
		free(buf);
		return -1;
	}
	if (rq_split(buf, &method, &https, host, &port, &target, r) == -1) {
		r->verdict = NULL;
		goto done;
	}
	memset(&t, 0, sizeof(t));
	nm.s = host;
	nm.len = strlen(host);
	t.names = &nm;
	t.nnames = 1;
	t.port = port;
	policy_eval(pol, NULL, &t, &d);
	if (d.verdict != POL_PERMITTED) {
		snprintf(r->rule, sizeof(r->rule), "%s", pol_decision_rule(&d));
		policy_explain(pol, &t, &d, r->why, sizeof(r->why));
		goto done;
	}
	h = endpoints_lookup(eps, host, strlen(host), port);
	if (h == NULL || !https) {
		if (endpoints_has_name(eps, host, strlen(host))) {
			snprintf(r->rule, sizeof(r->rule), "endpoint");
			snprintf(r->why, sizeof(r->why), "%s has endpoint "
			    "rules: only https to its endpoint port is "
			    "allowed (this is %s to port %u)", host,
			    https ? "https" : "http", port);
			goto done;
		}
		r->verdict = "allowed";
		snprintf(r->rule, sizeof(r->rule), "%s", pol_decision_rule(&d));
		snprintf(r->why, sizeof(r->why), "%s has no endpoint rules: "
		    "the network policy permits it and the request is not "
		    "intercepted", host);
		goto done;
	}
	ep_eval(h, method, strlen(method), target, strlen(target), ed);
	r->verdict = ed->ed_verdict == EP_ALLOW ? "allowed" : "denied";
	snprintf(r->rule, sizeof(r->rule), "%s", ep_decision_rule(h, ed));
	snprintf(r->why, sizeof(r->why), "%s", ed->ed_why);
	snprintf(r->path, sizeof(r->path), "%s", ed->ed_path);
done:
	free(ed);
	free(buf);
	return 0;
}

int
cli_policy_requests(const struct policy *pol, const char *file,
    const char *const *reqs, size_t n, json_t *out)
{
	struct api_error	 ae;
	struct endpoints	*eps = NULL;
	struct ir_err		 err;
	struct rq_result	 r;
	char			*text;
	size_t			 len, i;
	int			 rc = CLI_USAGE;

	if ((text = cli_endpoints_load("policy", file, &len)) == NULL)
		return CLI_USAGE;
	if (api_endpoints_compile(text, len, &eps, &ae) == -1) {
		cli_warnx("policy: --endpoints %s: %s", file, ae.ap_msg);
		goto done;
	}
	if (endpoints_check_policy(eps, pol, &err) == -1) {
		cli_warnx("policy: --endpoints %s: %s", file, err.msg);
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (rq_decide(pol, eps, reqs[i], &r) == -1) {
			cli_warnx("out of memory");
			rc = CLI_FAIL;
			goto done;
		}
		if (r.verdict == NULL) {
			cli_warnx("policy: --request '%.128s': %s", reqs[i],
			    r.why);
			goto done;
		}
		if (json_array_append_new(out, json_pack("{s:s, s:s, "
		    "s:s, s:s, s:s}", "request", reqs[i], "verdict",
		    r.verdict, "rule", r.rule, "path", r.path, "reason",
		    r.why)) == -1) {
			cli_warnx("out of memory");
			rc = CLI_FAIL;
			goto done;
		}
	}
	rc = CLI_OK;
done:
	endpoints_free(eps);
	free(text);
	return rc;
}
