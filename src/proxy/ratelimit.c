/*
 * ratelimit.c - the audit side of the gateway's rate limits.
 *
 * Above a sandbox's rate of new connections (gateway_config.gc_conn_rate)
 * the gateway's ruleset resets SYNs, and rejects datagrams meant for the
 * UDP relay's listener, before any socket sees them: a flood costs the
 * kernel a reset, not the proxy an accept, a decision and an audit row per
 * attempt. Those attempts are counted per sandbox by nft counters; once a
 * second loop 0 reads them (px_rl_poll) and turns each sandbox's increase
 * into one audit event that stands for all of them (ae_count), so that no
 * refused attempt is lost from the audit trail (SPEC 5: "a flood is
 * aggregated, never silently dropped").
 *
 * A counter lives from gateway_sandbox_add() to gateway_sandbox_remove().
 * proxy_sandbox_clear() reads it one last time (px_rl_clear_begin) while the
 * sandbox's id is still known; what the counter gains between that read
 * and the removal of its set elements (the sandbox is being destroyed) is
 * still reported, by the next poll, with the sandbox id "" (as the proxy
 * reports attempts from a slot it knows no sandbox for).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"
#include "ratelimit.h"

#define RL_POLL_MS	1000

struct rl_slot {
	uint64_t	 rs_last[2];	/* counter values reported; [tcp, udp] */
	int		 rs_known;	/* rs_last holds a counter's value */
	int		 rs_cleared;	/* its sandbox was cleared since */
};

struct px_ratelimit {
	pthread_mutex_t	 rl_lock;	/* one reader of the counters at a
					   time: loop 0's poll, a clear */
	struct rl_slot	*rl_slots;	/* [px_nslots] */
	struct gw_refused *rl_now;	/* [px_nslots], the last read */
	unsigned	 rl_rate;
	uint64_t	 rl_next;	/* ms: loop 0's next poll */
	uint64_t	 rl_warned;	/* ms: the last stderr line */
};

struct px_ratelimit *
px_rl_new(struct proxy *px, struct ir_err *err)
{
	struct px_ratelimit	*rl;

	if ((rl = calloc(1, sizeof(*rl))) == NULL ||
	    (rl->rl_slots = calloc(px->px_nslots, sizeof(*rl->rl_slots))) ==
	    NULL ||
	    (rl->rl_now = calloc(px->px_nslots, sizeof(*rl->rl_now))) ==
	    NULL) {
		if (rl != NULL)
			free(rl->rl_slots);
		free(rl);
		err_set(err, ENOMEM, "proxy: rate limits: out of memory");
		return NULL;
	}
	pthread_mutex_init(&rl->rl_lock, NULL);
	gateway_conn_limit(px->px_gw, &rl->rl_rate, NULL);
	return rl;
}

void
px_rl_free(struct px_ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->rl_lock);
	free(rl->rl_slots);
	free(rl->rl_now);
	free(rl);
}

int
px_rl_wait_ms(const struct px_ratelimit *rl, uint64_t now)
{
	if (rl == NULL || rl->rl_rate == 0)
		return -1;
	return rl->rl_next <= now ? 0 : (int)(rl->rl_next - now);
}

static void
rl_emit(struct proxy *px, struct px_ratelimit *rl, unsigned slot,
    const char *id, int udp, uint64_t n)
{
	struct audit_event	 ev;
	struct gw_sandbox_info	 si;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ev.ae_src;
	char			 reason[200];

	memset(&ev, 0, sizeof(ev));
	ev.ae_sandbox = id;
	ev.ae_kind = AUDIT_CONNECT;
	ev.ae_proto = udp ? AUDIT_UDP : AUDIT_TCP;
	if (gateway_slot_info(px->px_gw, slot, &si) == 0) {
		sin->sin_family = AF_INET;
		sin->sin_addr = si.si_addr4;
	}
	ev.ae_allowed = 0;
	ev.ae_rule = "rate-limit";
	snprintf(reason, sizeof(reason), udp ? "%" PRIu64 " datagrams for "
	    "new UDP flows over the sandbox's limit of %u/s refused by the "
	    "gateway" : "%" PRIu64 " connection attempts over the sandbox's "
	    "limit of %u/s refused by the gateway", n, rl->rl_rate);
	ev.ae_reason = reason;
	ev.ae_count = n;
	audit_emit(&ev);
}

/*
 * Reports what the counters of `slot` gained since the last report, for the
 * sandbox named in the slot now. A counter that went away, or is found
 * smaller, or is read after the sandbox it belonged to was cleared and
 * another one set, is a new one (a slot is reused only after its counters
 * were removed and made again): it counts from 0.
 */
static void
rl_slot(struct proxy *px, struct px_ratelimit *rl, unsigned slot)
{
	struct px_sandbox	*sb = &px->px_sb[slot];
	struct rl_slot		*rs = &rl->rl_slots[slot];
	const struct gw_refused	*now = &rl->rl_now[slot];
	char			 id[PX_ID_MAX];
	uint64_t		 v[2] = { now->gr_tcp, now->gr_udp };
	int			 i;

	if (v[0] == GW_REFUSED_NONE && v[1] == GW_REFUSED_NONE) {
		rs->rs_known = rs->rs_cleared = 0;
		return;
	}
	pthread_mutex_lock(&sb->ps_lock);
	memcpy(id, sb->ps_id, PX_ID_MAX);
	pthread_mutex_unlock(&sb->ps_lock);
	if (rs->rs_cleared && id[0] != '\0')
		rs->rs_known = rs->rs_cleared = 0;
	for (i = 0; i < 2; i++) {
		uint64_t	 base = rs->rs_known ? rs->rs_last[i] : 0;

		if (v[i] == GW_REFUSED_NONE)
			continue;
		if (v[i] < base)
			base = 0;
		if (v[i] > base)
			rl_emit(px, rl, slot, id, i, v[i] - base);
		rs->rs_last[i] = v[i];
	}
	rs->rs_known = 1;
}

/* Reads every counter; the caller holds rl_lock. */
static int
rl_read(struct proxy *px, struct px_ratelimit *rl, uint64_t now)
{
	struct ir_err	 err;

	if (gateway_refused(px->px_gw, rl->rl_now, &err) == 0)
		return 0;
	if (rl->rl_warned == 0 || now >= rl->rl_warned + PX_WARN_MS) {
		rl->rl_warned = now;
		fprintf(stderr, "proxy: rate limits: %s (retrying every "
		    "second)\n", err.msg);
	}
	return -1;
}

void
px_rl_poll(struct proxy *px, uint64_t now)
{
	struct px_ratelimit	*rl = px->px_rl;

	if (rl == NULL || rl->rl_rate == 0 || now < rl->rl_next)
		return;
	rl->rl_next = now + RL_POLL_MS;
	pthread_mutex_lock(&rl->rl_lock);
	if (rl_read(px, rl, now) == 0)
		for (unsigned i = 0; i < px->px_nslots; i++)
			rl_slot(px, rl, i);
	pthread_mutex_unlock(&rl->rl_lock);
}

/*
 * proxy_sandbox_clear(): the last report of the slot's sandbox, under its
 * id. The caller clears the id between px_rl_clear_begin() and
 * px_rl_clear_end(), so that no poll sees the id after this report.
 */
void
px_rl_clear_begin(struct proxy *px, unsigned slot)
{
	struct px_ratelimit	*rl = px->px_rl;

	if (rl == NULL || rl->rl_rate == 0)
		return;
	pthread_mutex_lock(&rl->rl_lock);
	/* The other slots keep their increase for the next poll. */
	if (rl_read(px, rl, px_now_ms()) == 0)
		rl_slot(px, rl, slot);
	rl->rl_slots[slot].rs_cleared = 1;
}

void
px_rl_clear_end(struct proxy *px)
{
	struct px_ratelimit	*rl = px->px_rl;

	if (rl == NULL || rl->rl_rate == 0)
		return;
	pthread_mutex_unlock(&rl->rl_lock);
}
