/* call pickup: a phone answers a call ringing at another one: the pickup extension (features.conf
 * pickupexten, sip.conf callgroup/pickupgroup), Pickup() and PickupChan(), and an INVITE with
 * Replaces naming the early dialog of a ringing leg (RFC 3891 §3). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "call_int.h"
#include "cfg.h"
#include "peer.h"

#define LOG_MODULE "call"

#define PICKUP_REASON "SIP;cause=200;text=\"Call completed elsewhere\""

bool call_leg_ringing(const struct call_leg *leg)
{
	const struct call *c = leg->call;

	return c && leg->uac && leg->ct && !leg->cancelled && !leg->is_line &&
	       (leg->state == LEG_CALLING || leg->state == LEG_EARLY) && c->state == CALL_DIALING &&
	       c->dial_open && !c->answered && c->a && c->a->st && !c->a->pend_st;
}

bool call_eng_peer_ringing(const struct call_eng *eng, const char *peer, struct call_ringing *r)
{
	if (!eng || !peer || !r)
		return false;
	LIST_FOREACH (&eng->calls, le) {
		const struct call *c = le->data;

		for (struct le *l2 = c->legs.head; l2; l2 = l2->next) {
			const struct call_leg *leg = l2->data;

			if (strcasecmp(leg->peer, peer) || !leg->rtag || !call_leg_ringing(leg))
				continue;
			r->call_id = leg->call_id;
			r->local_tag = leg->rtag;
			r->remote_tag = leg->ltag;
			r->caller_num = c->cid_num;
			r->caller_name = c->cid_name;
			return true;
		}
	}
	return false;
}

static const struct peer *leg_peer(const struct call *c, const struct call_leg *leg)
{
	return c->cfg && c->cfg->peers ? peer_find(c->cfg->peers, leg->peer) : NULL;
}

/* Whether the picker (the caller of pc) may take ringing leg r by its groups. Group pickup
 * needs them to meet (Asterisk's rule); a directed pickup by Replaces also passes when neither
 * phone has any group. */
static bool groups_allow(const struct call *pc, const struct call_leg *r, bool directed)
{
	const struct peer *picker = leg_peer(pc, pc->a), *ringing = leg_peer(r->call, r);

	if (!picker)
		return false;
	if (directed && !picker->pickupgroup && !picker->namedpickupgroup &&
	    (!ringing || (!ringing->callgroup && !ringing->namedcallgroup)))
		return true;
	return peer_groups_match(picker, ringing);
}

/* Joins the caller of pc (the picker, unanswered) with the caller of r's call, which stops
 * ringing: its forks get CANCEL as when another fork answers, both callers get 200, and pc is
 * over (its leg now belongs to the other call; pc writes no record). */
static int pickup_do(struct call *pc, struct call_leg *r)
{
	struct call *c = r->call;
	struct call_leg *a = c->a, *p = pc->a;
	char *asdp = NULL, *psdp = NULL;
	int err;

	if (!a || !a->st || !p || !p->st || p->pend_st || c == pc)
		return EINVAL;
	/* Media first: when the picker and the caller have no codec in common nothing has changed
	 * yet (the call keeps ringing, the picker is refused). */
	if (c->eng->media && a->ml && p->ml) {
		err = call_media_pickup(a, p, &asdp, &psdp);
		if (err) {
			free(asdp);
			free(psdp);
			log_notice("%s: no common media with %s (%s): %s not picked up", p->name,
				   a->name, strerror(err), r->name);
			return err;
		}
	}
	log_info("%s: picks up %s (the call from %s)", p->name, r->name, a->name);
	/* The ringing phones stop (their early media was unbridged by the new bridge). */
	c->dial_open = false;
	loop_timer_cancel(&c->tmr);
	call_cancel_pending(c, NULL, PICKUP_REASON);
	/* The picker's leg moves into the call it took (whatever its own call did on it locally
	 * ends first: that call only reaches its legs through pc->a). */
	call_lm_hangup(pc);
	sip_strans_set_cancel_handler(p->st, NULL, NULL);
	list_unlink(&p->le_call);
	pc->a = NULL;
	pc->picked = true;
	p->call = c;
	list_append(&c->legs, &p->le_call, p);
	/* Without the relay each side gets the other's offer as it is (both are audio). */
	call_a_reply(p, &p->st, 200, psdp ? psdp : a->sdp_remote);
	call_leg_set_state(p, LEG_CONFIRMED);
	call_se_timer_start(p);
	snprintf(pc->lastapp, sizeof(pc->lastapp), "Pickup");
	call_answer_caller(c, p, asdp ? asdp : p->sdp_remote);
	free(asdp);
	free(psdp);
	call_hangup(pc, 16);
	return 0;
}

/* The oldest ringing leg that `match` accepts (calls are kept in arrival order). A pickup scans
 * the calls once; nothing is kept per ringing call. */
typedef bool(pickup_match_h)(struct call *pc, struct call *c, struct call_leg *r, const void *arg);

static struct call_leg *pickup_find(struct call *pc, pickup_match_h *match, const void *arg)
{
	LIST_FOREACH (&pc->eng->calls, le) {
		struct call *c = le->data;

		if (c == pc || c->state != CALL_DIALING || !c->dial_open || c->answered)
			continue;
		for (struct le *l2 = c->legs.head; l2; l2 = l2->next) {
			struct call_leg *r = l2->data;

			if (call_leg_ringing(r) && match(pc, c, r, arg))
				return r;
		}
	}
	return NULL;
}

static bool match_group(struct call *pc, struct call *c, struct call_leg *r, const void *arg)
{
	(void)c;
	(void)arg;
	return groups_allow(pc, r, false);
}

static void pickup_fail(struct call *pc, const char *why)
{
	log_notice("%s: pickup failed: %s", pc->a ? pc->a->name : "call", why);
	snprintf(pc->lastapp, sizeof(pc->lastapp), "Pickup");
	pc->dialled = true; /* not the dialplan's refusal (call_hangup's toll-fraud notice) */
	call_hangup(pc, 21);
}

void call_pickup_group(struct call *pc)
{
	struct call_leg *r = pickup_find(pc, match_group, NULL);

	snprintf(pc->lastapp, sizeof(pc->lastapp), "Pickup");
	if (!r) {
		pickup_fail(pc, "no call ringing in its pickup groups");
		return;
	}
	if (pickup_do(pc, r) && pc->state != CALL_ENDING)
		pickup_fail(pc, "the call could not be taken");
}

void call_pickup_replaces(struct call *pc, struct call_leg *r)
{
	snprintf(pc->lastapp, sizeof(pc->lastapp), "Pickup");
	if (!call_leg_ringing(r) || r->call == pc) {
		pickup_fail(pc, "the dialog named by Replaces no longer rings");
		return;
	}
	if (!groups_allow(pc, r, true)) {
		pickup_fail(pc, "Replaces: its pickup groups do not meet the ringing phone's");
		return;
	}
	if (pickup_do(pc, r) && pc->state != CALL_ENDING)
		pickup_fail(pc, "the call could not be taken");
}

/* PickupChan: a channel name, whole or (p) as a prefix ending at the name's '-' (SIP/80
 * does not take SIP/801-00000003). */
struct pk_chan {
	const char *name;
	bool partial;
};

static bool match_chan(struct call *pc, struct call *c, struct call_leg *r, const void *arg)
{
	const struct pk_chan *t = arg;
	size_t n = strlen(t->name);

	(void)pc;
	(void)c;
	if (!n || strncasecmp(r->name, t->name, n))
		return false;
	return !r->name[n] || (t->partial && (r->name[n] == '-' || t->name[n - 1] == '-'));
}

/* Pickup: ext@context where Dial() runs (the current place of the ringing call's dialplan);
 * mark@PICKUPMARK: the ringing call's PICKUPMARK; a bare ext (context: the picker's) also
 * matches a ringing phone of that name. */
struct pk_target {
	char exten[64];
	char context[80];
	bool any_context;
};

static bool match_exten(struct call *pc, struct call *c, struct call_leg *r, const void *arg)
{
	const struct pk_target *t = arg;

	(void)pc;
	if (!strcmp(t->context, "PICKUPMARK")) {
		const char *mark = pbx_chan_get_var(c->chan, "PICKUPMARK");

		return mark && !strcmp(mark, t->exten);
	}
	if (!strcmp(pbx_chan_exten(c->chan), t->exten) &&
	    !strcasecmp(pbx_chan_context(c->chan), t->context))
		return true;
	return t->any_context && !strcasecmp(r->peer, t->exten);
}

bool call_pickup_app(struct call *pc, const struct pbx_action *act)
{
	char buf[256], *save = NULL;
	struct call_leg *r = NULL;

	snprintf(buf, sizeof(buf), "%s", act->pickup.targets ? act->pickup.targets : "");
	snprintf(pc->lastapp, sizeof(pc->lastapp), "%s",
		 act->pickup.chan ? "PickupChan" : "Pickup");
	snprintf(pc->lastdata, sizeof(pc->lastdata), "%s", buf);
	if (!pc->a || !pc->a->st || pc->a->pend_st || pc->answered) {
		/* Taking a call to an answered phone would need a new offer: not done. */
		log_notice("%s: %s: the caller is answered already; the dialplan goes on",
			   pc->a ? pc->a->name : "call", pc->lastapp);
		return false;
	}
	if (!act->pickup.chan && !buf[0]) {
		r = pickup_find(pc, match_group, NULL);
	} else {
		for (char *t = strtok_r(buf, "&", &save); t && !r; t = strtok_r(NULL, "&", &save)) {
			while (*t == ' ')
				t++;
			if (!*t)
				continue;
			if (act->pickup.chan) {
				struct pk_chan ch = {t, act->pickup.partial};

				r = pickup_find(pc, match_chan, &ch);
			} else {
				struct pk_target tg = {.any_context = true};
				char *at = strchr(t, '@');

				if (at) {
					*at = '\0';
					snprintf(tg.context, sizeof(tg.context), "%s", at + 1);
					tg.any_context = false;
				} else {
					snprintf(tg.context, sizeof(tg.context), "%s",
						 pbx_chan_context(pc->chan));
				}
				snprintf(tg.exten, sizeof(tg.exten), "%s", t);
				r = pickup_find(pc, match_exten, &tg);
			}
		}
	}
	if (!r) {
		log_notice("%s: %s(%s): no call ringing there; the dialplan goes on", pc->a->name,
			   pc->lastapp, pc->lastdata);
		return false;
	}
	return pickup_do(pc, r) == 0 || pc->state == CALL_ENDING;
}
