/* senddtmf: digits sent into a call: SendDTMF() to the caller, and Dial's D(called:calling) to
 * both sides once the callee answers; one digit at a time, 'w' a half-second pause. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "call_int.h"

#define LOG_MODULE "call"

struct call_dtmf {
	struct loop_timer tmr;
	char to_b[PBX_DIGITS_MAX + 1]; /* toward the callee */
	char to_a[PBX_DIGITS_MAX + 1]; /* toward the caller */
	size_t ib, ia;
	uint32_t duration_ms, gap_ms;
	bool rerun; /* SendDTMF: the dialplan goes on when the digits are out */
};

static bool valid(const char *s)
{
	for (; *s; s++) {
		if (!strchr("0123456789*#ABCDabcdwW", *s))
			return false;
	}
	return true;
}

enum step_result { STEP_DONE, STEP_SENT, STEP_PAUSE };

/* One digit (or pause) of a side. */
static enum step_result side_step(struct call_leg *leg, const char *s, size_t *i,
				  uint32_t duration_ms)
{
	char d = s[*i];

	if (!d)
		return STEP_DONE;
	if (d == 'w' || d == 'W') {
		(*i)++;
		return STEP_PAUSE;
	}
	if (!leg || !leg->ml) {
		*i = strlen(s); /* nobody to send to */
		return STEP_DONE;
	}
	switch (media_leg_send_dtmf(leg->ml, (char)toupper((unsigned char)d), duration_ms)) {
	case EBUSY:
		return STEP_SENT; /* the previous one is still going out: next tick */
	case 0:
		(*i)++;
		return STEP_SENT;
	default:
		log_notice("%s: cannot send DTMF '%c'", leg->name, d);
		(*i)++;
		return STEP_SENT;
	}
}

static void tick_h(void *arg)
{
	struct call *c = arg;
	struct call_dtmf *x = c->dtmf;
	enum step_result rb = side_step(c->b, x->to_b, &x->ib, x->duration_ms);
	enum step_result ra = side_step(c->a, x->to_a, &x->ia, x->duration_ms);

	if (rb != STEP_DONE || ra != STEP_DONE) {
		uint32_t next = x->duration_ms + x->gap_ms;

		/* 'w' is half a second, as in Asterisk. */
		if ((rb == STEP_PAUSE || ra == STEP_PAUSE) && next < 500)
			next = 500;
		loop_timer_start(c->eng->loop, &x->tmr, next, tick_h, c);
		return;
	}
	{
		bool rerun = x->rerun;

		call_dtmf_free(c);
		if (rerun)
			call_run(c);
	}
}

int call_dtmf_prepare(struct call *c, const char *to_b, const char *to_a, uint32_t duration_ms,
		      uint32_t gap_ms, bool rerun)
{
	struct call_dtmf *x;

	call_dtmf_free(c);
	if ((to_b && !valid(to_b)) || (to_a && !valid(to_a)))
		return EINVAL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return ENOMEM;
	str_copy(x->to_b, sizeof(x->to_b), to_b ? to_b : "");
	str_copy(x->to_a, sizeof(x->to_a), to_a ? to_a : "");
	x->duration_ms = duration_ms ? duration_ms : 100;
	x->gap_ms = gap_ms ? gap_ms : 150;
	x->rerun = rerun;
	c->dtmf = x;
	return 0;
}

void call_dtmf_start(struct call *c)
{
	/* One step's time first: the media of a leg just answered is set up on the relay
	 * thread in the meantime, so the first digit is not cut. */
	if (c->dtmf)
		loop_timer_start(c->eng->loop, &c->dtmf->tmr,
				 c->dtmf->duration_ms + c->dtmf->gap_ms, tick_h, c);
}

void call_dtmf_free(struct call *c)
{
	if (!c->dtmf)
		return;
	loop_timer_cancel(&c->dtmf->tmr);
	free(c->dtmf);
	c->dtmf = NULL;
}
