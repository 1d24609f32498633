/*
 * fuzz_api.c - the API's parsers on arbitrary bytes (src/api): request
 * bodies, state records, isorund's configuration, HTTP responses (the
 * CLI's client), audit query parameters, and the UTF-8 cleaning of exec
 * output. The first byte picks the parser. Checks: no crash, leak or UB; a
 * failure has a message; a success keeps each parser's promises.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/api.h"
#include "api/client.h"
#include "endpoint/endpoint.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
network_ok(const struct api_network *n)
{
	struct api_error	 e = { 0 };
	struct policy		*p;

	if (!n->an_set || n->an_profile != NULL)
		return;
	assert(n->an_allow != NULL && n->an_deny != NULL);
	assert(n->an_allow[n->an_nallow] == NULL);
	assert(n->an_deny[n->an_ndeny] == NULL);
	if ((p = api_network_compile(n, &e)) == NULL)
		assert(e.ap_msg[0] != '\0' && strncmp(e.ap_msg, "network.", 8) == 0);
	policy_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*s = (const char *)data + 1;
	size_t			 n = size - 1, len;
	struct api_error	 e = { 0 };
	struct ir_err		 ie = { 0 };
	struct api_create	 cr;
	struct api_exec		 ex;
	struct api_network	 net;
	struct endpoints	*eps;
	struct api_record	 rec;
	struct api_conf		 cf;
	struct api_resp		 rs;
	struct api_audit_query	 aq = { 0 };
	char			*t, *k;
	json_t			*j;

	if (size == 0)
		return 0;
	switch (data[0] % 8) {
	case 0:
		if (api_create_parse(s, n, &cr, &e) == 0) {
			assert(cr.cr_id == NULL ||
			    api_id_check(cr.cr_id, strlen(cr.cr_id), NULL) == 0);
			network_ok(&cr.cr_net);
			api_create_free(&cr);
		} else
			assert(e.ap_msg[0] != '\0' && (e.ap_code ==
			    API_INVALID_JSON || e.ap_code == API_INVALID_ARGUMENT));
		break;
	case 1:
		if (api_exec_parse(s, n, &ex, &e) == 0) {
			assert((ex.ex_shell == NULL) != (ex.ex_argv == NULL));
			assert(ex.ex_cwd == NULL || ex.ex_cwd[0] == '/');
			api_exec_free(&ex);
		} else
			assert(e.ap_msg[0] != '\0');
		break;
	case 2:
		if (api_network_parse(s, n, &net, &e) == 0) {
			assert(net.an_set);
			network_ok(&net);
			api_network_free(&net);
		} else
			assert(e.ap_msg[0] != '\0');
		/* The body of PUT .../endpoints: rules and their text go
		   together; the text is the array as given. */
		if (api_endpoints_parse(s, n, &eps, &t, &e) == 0) {
			assert((eps == NULL) == (t == NULL));
			assert(t == NULL || t[0] == '[');
			endpoints_free(eps);
			free(t);
			t = NULL;
		} else
			assert(e.ap_msg[0] != '\0' && (e.ap_code ==
			    API_INVALID_JSON || e.ap_code == API_INVALID_ARGUMENT ||
			    e.ap_code == API_INTERNAL));
		break;
	case 3:
		if (api_record_parse(s, n, "rec", &rec, &ie) == 0) {
			/* What parses dumps and parses back the same. */
			struct api_record back;

			t = api_record_dump(&rec);
			assert(t != NULL);
			assert(api_record_parse(t, strlen(t), "again", &back,
			    &ie) == 0);
			assert(strcmp(back.rc_id, rec.rc_id) == 0 &&
			    back.rc_slot == rec.rc_slot &&
			    back.rc_nallow == rec.rc_nallow);
			api_record_free(&back);
			free(t);
			api_record_free(&rec);
		} else
			assert(ie.msg[0] != '\0');
		break;
	case 4:
		api_conf_default(&cf);
		if (api_conf_parse(&cf, s, n, "fuzz.conf", &ie) == -1)
			assert(strncmp(ie.msg, "fuzz.conf", 9) == 0);
		api_conf_free(&cf);
		break;
	case 5:
		if (api_resp_parse(s, n, &rs, &ie) == 0) {
			assert(rs.rs_body != NULL && rs.rs_body[rs.rs_len] == '\0');
			assert(rs.rs_status >= 100 && rs.rs_status <= 599);
			api_resp_error(&rs, &e);
			assert(e.ap_msg[0] != '\0');
			api_resp_free(&rs);
		}
		break;
	case 6:
		/* "key=value" or a bare key, as libmicrohttpd hands them. */
		if ((t = strndup(s, n)) == NULL)
			break;
		k = strchr(t, '=');
		if (k != NULL)
			*k++ = '\0';
		aq.aq_verdict = -1;
		if (api_audit_param(&aq, t, k, UINT64_MAX / 2, &e) == -1)
			assert(e.ap_msg[0] != '\0');
		else
			assert(aq.aq_verdict >= -1 && aq.aq_verdict <= 1);
		free(t);
		break;
	default:
		t = api_utf8_clean(s, n, &len);
		assert(t != NULL && strlen(t) == len);
		j = json_stringn(t, len);	/* valid UTF-8, no NUL */
		assert(j != NULL);
		json_decref(j);
		free(t);
		break;
	}
	return 0;
}
