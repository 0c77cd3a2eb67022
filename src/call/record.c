/* call record: writes a finished call's record (CDR) to the store. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "call_int.h"
#include "media.h"
#include "cfg.h"
#include "peer.h"
#include "screen.h"
#include "store.h"

#define LOG_MODULE "call"

void call_uid(const struct call *c, char *buf, size_t size)
{
	char s[STR_U64_LEN], id[STR_U64_LEN];
	int64_t secs = c->start_ms / 1000;

	str_cat(buf, size, secs < 0 ? "-" : "",
		str_u64(s, secs < 0 ? (uint64_t)0 - (uint64_t)secs : (uint64_t)secs), ".",
		str_u64(id, c->id), NULL);
}

void call_cdr_write(struct call *c)
{
	struct store_cdr r = {0};
	char uid[48];
	struct mbuf media;
	const char *chan = c->a ? c->a->name : c->done_a;
	const char *dchan = "";
	const char *cid_a = c->a ? c->a->call_id : "";
	const char *cid_b = "";

	if (!c->eng->store || c->picked)
		return; /* a pickup's own call: its leg is in the record of the call it took */
	if (c->b) {
		dchan = c->b->name;
		cid_b = c->b->call_id;
	} else if (c->done_b[0]) {
		dchan = c->done_b; /* Dial g/F: the callee that hung up first */
		cid_b = c->done_b_cid;
	} else {
		LIST_FOREACH (&c->legs, le) {
			const struct call_leg *leg = le->data;

			if (leg->uac) {
				dchan = leg->name;
				cid_b = leg->call_id;
			}
		}
	}
	call_uid(c, uid, sizeof(uid));
	mbuf_init(&media);
	mbuf_reserve(&media, 1024); /* the JSON is 400-700 bytes: one allocation */
	/* Pieces, not printf: this runs for every call (docs/BENCHMARKS.md). */
	mbuf_write_str(&media, "{\"hangupcause\":");
	mbuf_write_u64(&media, c->cause);
	mbuf_write_str(&media, ",\"callid\":\"");
	mbuf_write_str(&media, call_str_or(cid_a, ""));
	mbuf_write_str(&media, "\",\"dstcallid\":\"");
	mbuf_write_str(&media, call_str_or(cid_b, ""));
	mbuf_write_str(&media, "\"");
	if (c->from_line) {
		/* screening: who called (phonebook name, reason) and what the rules did */
		mbuf_write_str(&media, ",\"name\":\"");
		for (const char *q = c->cid_name; *q; q++) {
			if (*q == '"' || *q == '\\')
				mbuf_write(&media, "\\", 1);
			mbuf_write(&media, q, 1);
		}
		mbuf_write_str(&media, "\",\"reason\":\"");
		mbuf_write_str(&media, screen_reason_name(c->reason));
		mbuf_write_str(&media, "\"");
		if (c->screen[0]) {
			mbuf_write_str(&media, ",\"screen\":\"");
			mbuf_write_str(&media, c->screen);
			mbuf_write_str(&media, "\"");
		}
	}
	if (c->eng->media && c->a) {
		call_media_account(c->eng, c->a); /* metrics */
		call_media_account(c->eng, c->b);
		mbuf_write_str(&media, ",\"rtp\":");
		call_media_json(c->a, &media);
		mbuf_write_str(&media, ",\"dstrtp\":");
		if (c->b)
			call_media_json(c->b, &media);
		else
			mbuf_write_str(&media, "null");
	}
	mbuf_write(&media, "}", 2);
	r.uniqueid = pl_from_str(uid);
	r.src = pl_from_str(c->src);
	r.dst = pl_from_str(c->dst);
	r.dcontext = pl_from_str(c->dcontext);
	r.clid = pl_from_str(c->clid);
	r.channel = pl_from_str(chan);
	r.dstchannel = pl_from_str(dchan);
	r.lastapp = pl_from_str(c->lastapp);
	r.lastdata = pl_from_str(c->lastdata);
	r.start_ms = c->start_ms;
	r.answer_ms = c->answer_ms;
	r.end_ms = c->end_ms;
	r.duration = (c->end_ms - c->start_ms) / 1000;
	r.billsec = c->answer_ms ? (c->end_ms - c->answer_ms) / 1000 : 0;
	if (c->answer_ms)
		r.disposition = STORE_CDR_ANSWERED;
	else if (c->cause == 17)
		r.disposition = STORE_CDR_BUSY;
	else if (c->cause == 19 || c->cause == 16 || c->cause == 18 || c->cause == 127)
		r.disposition = STORE_CDR_NO_ANSWER;
	else
		r.disposition = STORE_CDR_FAILED;
	if ((unsigned)r.disposition < ARRAY_SIZE(c->eng->n_disp))
		c->eng->n_disp[r.disposition]++;
	r.media = pl_from_str((const char *)media.buf);
	r.hangupcause = c->cause;
	r.callid = pl_from_str(call_str_or(cid_a, ""));
	r.dstcallid = pl_from_str(call_str_or(cid_b, ""));
	if (store_cdr_add(c->eng->store, &r, NULL, NULL))
		log_error("call %s: the call record could not be queued", uid);
	mbuf_reset(&media);
}
