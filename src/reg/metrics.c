/* reg/metrics.c: the registrar's Prometheus metrics (text format 0.0.4; the web console's
 * /metrics puts them together with the others, docs/WEB.md). */
#include <errno.h>
#include <string.h>

#include "reg_int.h"

/* A label value with \, " and newline escaped as the format asks. */
static int label(struct mbuf *out, const char *s)
{
	int err = 0;

	for (; *s && !err; s++) {
		if (*s == '\\' || *s == '"')
			err = mbuf_printf(out, "\\%c", *s);
		else if (*s == '\n')
			err = mbuf_write_str(out, "\\n");
		else
			err = mbuf_write(out, s, 1);
	}
	return err;
}

int reg_metrics(struct reg *reg, struct mbuf *out)
{
	int err = 0;

	err |= mbuf_write_str(out, "# HELP mikaka_registrations Current bindings (contacts) of a "
				   "peer, by the transport they registered over.\n"
				   "# TYPE mikaka_registrations gauge\n");
	for (size_t b = 0; reg->aors.buckets && b < reg->aors.nbuckets; b++) {
		LIST_FOREACH(&reg->aors.buckets[b], le)
		{
			const struct reg_aor *aor = le->data;
			unsigned n[SIP_TP_WSS + 1] = {0};

			for (const struct le *cle = aor->contacts.head; cle; cle = cle->next) {
				const struct reg_contact *c = cle->data;

				if ((unsigned)c->tp <= SIP_TP_WSS)
					n[c->tp]++;
			}
			for (unsigned tp = 0; tp <= SIP_TP_WSS; tp++) {
				if (!n[tp])
					continue;
				err |= mbuf_write_str(out, "mikaka_registrations{peer=\"");
				err |= label(out, aor->name);
				err |=
				    mbuf_printf(out, "\",transport=\"%s\"} %u\n",
						sip_transport_name((enum sip_transport)tp), n[tp]);
			}
		}
	}
	err |= mbuf_printf(out,
			   "# HELP mikaka_register_requests_total REGISTER requests from phones by "
			   "result (challenged: answered 401 for credentials).\n"
			   "# TYPE mikaka_register_requests_total counter\n"
			   "mikaka_register_requests_total{result=\"ok\"} %llu\n"
			   "mikaka_register_requests_total{result=\"challenged\"} %llu\n"
			   "mikaka_register_requests_total{result=\"failed\"} %llu\n"
			   "# HELP mikaka_auth_bans_total Addresses banned for failed SIP "
			   "authentication.\n"
			   "# TYPE mikaka_auth_bans_total counter\n"
			   "mikaka_auth_bans_total %llu\n"
			   "# HELP mikaka_auth_banned_dropped_total Requests from banned addresses "
			   "dropped.\n"
			   "# TYPE mikaka_auth_banned_dropped_total counter\n"
			   "mikaka_auth_banned_dropped_total %llu\n",
			   (unsigned long long)reg->n_ok, (unsigned long long)reg->n_challenged,
			   (unsigned long long)reg->n_failed,
			   (unsigned long long)reg->bans.banned_total,
			   (unsigned long long)reg->n_banned_drop);
	err |= mbuf_write_str(out, "# HELP mikaka_line_registered Outbound registration (the line, "
				   "trunks) is registered now (1) or not (0).\n"
				   "# TYPE mikaka_line_registered gauge\n");
	LIST_FOREACH(&reg->outs, le)
	{
		const struct reg_out *o = le->data;

		err |= mbuf_write_str(out, "mikaka_line_registered{user=\"");
		err |= label(out, o->user);
		err |= mbuf_write_str(out, "\",domain=\"");
		err |= label(out, o->domain);
		err |= mbuf_printf(out, "\"} %d\n", o->state == REG_OUT_REGISTERED);
	}
	err |= mbuf_write_str(out, "# HELP mikaka_line_registered_time_seconds Unix time of the "
				   "last successful outbound registration.\n"
				   "# TYPE mikaka_line_registered_time_seconds gauge\n");
	LIST_FOREACH(&reg->outs, le)
	{
		const struct reg_out *o = le->data;

		err |= mbuf_write_str(out, "mikaka_line_registered_time_seconds{user=\"");
		err |= label(out, o->user);
		err |= mbuf_write_str(out, "\",domain=\"");
		err |= label(out, o->domain);
		err |= mbuf_printf(out, "\"} %lld\n", (long long)o->regtime);
	}
	err |= mbuf_write_str(out, "# HELP mikaka_line_registered_change_time_seconds Unix time "
				   "the outbound registration last became registered or stopped "
				   "being registered (0: never).\n"
				   "# TYPE mikaka_line_registered_change_time_seconds gauge\n");
	LIST_FOREACH(&reg->outs, le)
	{
		const struct reg_out *o = le->data;

		err |= mbuf_write_str(out, "mikaka_line_registered_change_time_seconds{user=\"");
		err |= label(out, o->user);
		err |= mbuf_write_str(out, "\",domain=\"");
		err |= label(out, o->domain);
		err |= mbuf_printf(out, "\"} %lld\n", (long long)o->changed);
	}
	err |= mbuf_printf(out,
			   "# HELP mikaka_auth_failures_total Failed digest authentications by "
			   "request (REGISTER from phones; other: INVITE and the rest).\n"
			   "# TYPE mikaka_auth_failures_total counter\n"
			   "mikaka_auth_failures_total{request=\"REGISTER\"} %llu\n"
			   "mikaka_auth_failures_total{request=\"other\"} %llu\n",
			   (unsigned long long)reg->n_failed, (unsigned long long)reg->n_auth_failed);
	return err ? ENOMEM : 0;
}

static int json(struct mbuf *out, const char *s)
{
	return mbuf_write_json(out, s, strlen(s));
}

int reg_status_json(struct reg *reg, struct mbuf *out)
{
	char a[SA_STRLEN];
	bool first = true;
	int err = mbuf_write_str(out, "\"line\":[");

	LIST_FOREACH(&reg->outs, le)
	{
		const struct reg_out *o = le->data;

		err |= mbuf_write_str(out, first ? "{\"user\":" : ",{\"user\":");
		err |= json(out, o->user);
		err |= mbuf_write_str(out, ",\"domain\":");
		err |= json(out, o->domain);
		err |= mbuf_write_str(out, ",\"server\":");
		err |= json(out, o->cr ? o->cr->host : o->host);
		err |= mbuf_write_str(out, ",\"state\":");
		err |= json(out, reg_out_state_name(o->state));
		err |=
		    mbuf_printf(out, ",\"registered\":%s,\"registered_at\":%lld,\"discovered\":%s}",
				o->state == REG_OUT_REGISTERED ? "true" : "false",
				(long long)o->regtime, o->line ? "true" : "false");
		first = false;
	}
	err |= mbuf_write_str(out, "],\"phones\":[");
	first = true;
	for (size_t b = 0; reg->aors.buckets && b < reg->aors.nbuckets; b++) {
		LIST_FOREACH(&reg->aors.buckets[b], le)
		{
			const struct reg_aor *aor = le->data;

			for (const struct le *cle = aor->contacts.head; cle; cle = cle->next) {
				const struct reg_contact *c = cle->data;

				err |= mbuf_write_str(out, first ? "{\"peer\":" : ",{\"peer\":");
				err |= json(out, aor->name);
				err |= mbuf_write_str(out, ",\"contact\":");
				err |= json(out, c->uri);
				err |= mbuf_write_str(out, ",\"transport\":");
				err |= json(out, sip_transport_name(c->tp));
				err |= mbuf_write_str(out, ",\"source\":");
				err |= json(out, sa_fmt(&c->source, a, sizeof(a)));
				err |= mbuf_write_str(out, ",\"user_agent\":");
				err |= json(out, c->user_agent ? c->user_agent : "");
				err |= mbuf_printf(out,
						   ",\"expires\":%lld,\"registered_at\":%lld,"
						   "\"rtt_ms\":%d}",
						   (long long)c->expires,
						   (long long)c->registered_at, c->lastms);
				first = false;
			}
		}
	}
	err |= mbuf_write_str(out, "]");
	return err ? ENOMEM : 0;
}
