/* server: opens the listening sockets and answers what no other module handles yet: OPTIONS,
 * and the RFC 3261 §8.2 checks every UAS makes (501, 416, 420, 483, 481, 404). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "server.h"

#define LOG_MODULE "server"

const char server_allow[] = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, UPDATE, INFO, "
			    "REFER, NOTIFY";

/* Option tags this server implements; a Require naming any other gets 420 (RFC 3261 §8.2.2.3).
 * Empty until the modules that implement them (100rel, timer, replaces) exist. */
static const char *const supported_options[] = {NULL};

struct server {
	struct loop *loop;
	struct sip_stack *stack;
	struct server_settings set;
	char server_hdr[160];
};

static bool method_allowed(enum sip_method m)
{
	switch (m) {
	case SIP_METHOD_INVITE:
	case SIP_METHOD_ACK:
	case SIP_METHOD_CANCEL:
	case SIP_METHOD_BYE:
	case SIP_METHOD_OPTIONS:
	case SIP_METHOD_REGISTER:
	case SIP_METHOD_PRACK:
	case SIP_METHOD_UPDATE:
	case SIP_METHOD_INFO:
	case SIP_METHOD_REFER:
	case SIP_METHOD_NOTIFY:
		return true;
	default:
		return false;
	}
}

static bool option_supported(const struct pl *tag)
{
	for (size_t i = 0; supported_options[i]; i++) {
		if (pl_caseeq_str(tag, supported_options[i]))
			return true;
	}
	return false;
}

/* Collects the Require tags we do not support into mb as "a, b"; returns how many. */
static size_t unsupported_requires(const struct sip_msg *msg, struct mbuf *mb)
{
	struct sip_hdr_iter it;
	struct pl tag;
	size_t n = 0;

	sip_hdr_iter_init(&it, msg, SIP_HDR_REQUIRE, NULL);
	while (sip_hdr_iter_next(&it, &tag)) {
		if (!tag.l || option_supported(&tag))
			continue;
		if (n)
			mbuf_write_str(mb, ", ");
		mbuf_write_pl(mb, &tag);
		n++;
	}
	return n;
}

static void reply(struct server *srv, struct sip_strans *st, uint16_t code, const char *reason,
		  const char *extra)
{
	struct mbuf hdrs;
	int err;

	mbuf_init(&hdrs);
	err = mbuf_printf(&hdrs, "%s%s", srv->server_hdr, extra ? extra : "");
	if (!err)
		err = sip_strans_reply(st, code, reason, (const char *)hdrs.buf, NULL, NULL);
	if (err)
		log_warn("could not send %u %s: %s", code, reason, strerror(err));
	mbuf_reset(&hdrs);
}

static void request_handler(struct sip_stack *stack, struct sip_strans *st,
			    const struct sip_msg *msg, void *arg)
{
	struct server *srv = arg;
	struct mbuf mb;
	char line[256];

	(void)stack;
	if (!st) /* an ACK outside any transaction: nothing to answer */
		return;

	/* RFC 3261 §8.2.1: method inspection first. */
	if (!method_allowed(msg->mid)) {
		snprintf(line, sizeof(line), "Allow: %s\r\n", server_allow);
		reply(srv, st, 501, "Not Implemented", line);
		return;
	}
	/* §8.2.2.1: a Request-URI scheme we cannot handle. */
	if (!msg->uri_ok || (msg->uri.scheme != SIP_URI_SIP && msg->uri.scheme != SIP_URI_SIPS &&
			     msg->uri.scheme != SIP_URI_TEL)) {
		reply(srv, st, 416, "Unsupported URI Scheme", NULL);
		return;
	}
	/* §8.2.2.3: Require. */
	mbuf_init(&mb);
	if (msg->mid != SIP_METHOD_CANCEL && unsupported_requires(msg, &mb)) {
		struct mbuf hdr;

		mbuf_init(&hdr);
		mbuf_printf(&hdr, "Unsupported: %.*s\r\n", (int)mb.end, (const char *)mb.buf);
		mbuf_write(&hdr, "", 1);
		reply(srv, st, 420, "Bad Extension", (const char *)hdr.buf);
		mbuf_reset(&hdr);
		mbuf_reset(&mb);
		return;
	}
	mbuf_reset(&mb);

	if (msg->mid == SIP_METHOD_OPTIONS) {
		/* An endpoint answers OPTIONS even with Max-Forwards 0 (RFC 4475 §3.3.14). */
		snprintf(line, sizeof(line),
			 "Allow: %s\r\nAccept: application/sdp\r\nAccept-Encoding: identity\r\n"
			 "Accept-Language: en\r\nSupported: \r\n",
			 server_allow);
		reply(srv, st, 200, "OK", line);
		return;
	}
	if (msg->max_forwards == 0) {
		reply(srv, st, 483, "Too Many Hops", NULL);
		return;
	}
	if (msg->to_ok && pl_isset(&msg->to.tag)) {
		reply(srv, st, 481, "Call/Transaction Does Not Exist", NULL);
		return;
	}
	reply(srv, st, 404, "Not Found", NULL);
}

int server_alloc(struct server **srvp, struct loop *loop, const struct server_settings *set)
{
	struct sip_stack_config cfg;
	struct server *srv;
	char buf[SA_STRLEN];
	int err;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return ENOMEM;
	srv->loop = loop;
	srv->set = *set;
	snprintf(srv->server_hdr, sizeof(srv->server_hdr), "Server: %s\r\n", set->useragent);

	memset(&cfg, 0, sizeof(cfg));
	cfg.t1 = set->t1;
	cfg.t2 = set->t2;
	cfg.t4 = set->t4;
	cfg.allow = server_allow;
	err = sip_stack_alloc(&srv->stack, loop, &cfg, request_handler, srv);
	if (err)
		goto fail;

	for (size_t i = 0; i < set->nlisten; i++) {
		const struct server_listen *l = &set->listen[i];

		err = sip_transp_listen(sip_stack_transp(srv->stack), l->tp, &l->addr, set->tos_sip);
		if (err) {
			log_error("cannot listen on %s %s: %s", sip_transport_name(l->tp),
				  sa_fmt(&l->addr, buf, sizeof(buf)), strerror(err));
			goto fail;
		}
		log_notice("listening on %s %s", sip_transport_name(l->tp),
			   sa_fmt(&l->addr, buf, sizeof(buf)));
	}
	*srvp = srv;
	return 0;

fail:
	server_free(srv);
	return err;
}

void server_free(struct server *srv)
{
	if (!srv)
		return;
	if (srv->stack)
		sip_stack_free(srv->stack);
	free(srv);
}

struct sip_stack *server_stack(struct server *srv)
{
	return srv->stack;
}
