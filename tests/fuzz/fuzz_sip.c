/* fuzz_sip: libFuzzer target for the SIP message parser (sip_msg_parse as datagram and as stream)
 * and the decoders a stack applies to what it returns (Request-URI, Contact, Via, params). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every byte a pl claims, so ASan sees a pointer outside the message. */
static size_t touch(const struct pl *pl)
{
	size_t sum = 0;

	for (size_t i = 0; pl->p && i < pl->l; i++)
		sum += (unsigned char)pl->p[i];
	return sum;
}

static void check_inside(const struct sip_msg *msg, const struct pl *pl)
{
	if (pl->p && pl->l && (pl->p < msg->raw.p || pl->p + pl->l > msg->raw.p + msg->raw.l))
		abort();
}

static void exercise(const struct sip_msg *msg)
{
	struct sip_hdr_iter it;
	struct sip_uri uri;
	struct sip_addr addr;
	struct sip_via via;
	struct pl v, param;
	struct mbuf mb;
	size_t sum = 0;

	if (msg->err_reason) {
		for (const char *p = msg->err_reason; *p; p++) {
			if (*p < 0x20 || *p > 0x7e)
				abort();
		}
	} else if (msg->is_request &&
		   !(msg->via_ok && msg->from_ok && msg->to_ok && msg->cseq_ok)) {
		abort(); /* a request without error has every key */
	}
	for (size_t i = 0; i < msg->nhdrs; i++) {
		check_inside(msg, &msg->hdrs[i].name);
		check_inside(msg, &msg->hdrs[i].value);
		sum += touch(&msg->hdrs[i].value);
	}
	check_inside(msg, &msg->body);
	sum += touch(&msg->body) + touch(&msg->call_id) + touch(&msg->reason);

	if (msg->is_request && msg->ruri.p && sip_uri_decode(&uri, &msg->ruri) == 0) {
		mbuf_init(&mb);
		(void)sip_unescape(&uri.user, &mb);
		(void)sip_unescape(&uri.host, &mb);
		mbuf_reset(&mb);
		(void)sip_param_get(&uri.params, "transport", &param);
		(void)sip_uri_eq(&uri, &msg->uri);
		sum += touch(&uri.user) + touch(&uri.params) + touch(&uri.headers);
	}
	sip_hdr_iter_init(&it, msg, SIP_HDR_CONTACT, NULL);
	while (sip_hdr_iter_next(&it, &v)) {
		check_inside(msg, &v);
		if (sip_addr_decode(&addr, &v) == 0) {
			(void)sip_param_get(&addr.params, "expires", &param);
			(void)sip_uri_eq(&addr.uri, &msg->to.uri);
			sum += touch(&addr.dname) + touch(&addr.tag);
		}
	}
	sip_hdr_iter_init(&it, msg, SIP_HDR_VIA, NULL);
	while (sip_hdr_iter_next(&it, &v)) {
		if (sip_via_decode(&via, &v) == 0)
			sum += touch(&via.branch) + touch(&via.received) + touch(&via.host);
	}
	sip_hdr_iter_init(&it, msg, SIP_HDR_OTHER, "X-Unknown");
	while (sip_hdr_iter_next(&it, &v))
		sum += touch(&v);
	(void)sip_msg_has_option(msg, SIP_HDR_REQUIRE, "100rel");
	(void)sip_msg_xhdr(msg, "Session-Expires");
	(void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int dg = 0; dg < 2; dg++) {
		struct sip_msg *msg = NULL;
		struct sip_parse_error perr;
		size_t used = 0;
		int err = sip_msg_parse(&msg, data, size, dg == 0, &used, &perr);

		if (err) {
			if (msg || !perr.reason)
				abort();
			continue;
		}
		if (!msg || used == 0 || used > size)
			abort();
		exercise(msg);
		mem_deref(msg);
	}
	return 0;
}
