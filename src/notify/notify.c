/* notify: [notify] read and checked, and the bodies of the notifications in each format. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "notify_int.h"

static const char *const vars[] = {"event", "call_id", "time",	 "number",
				   "name",  "reason",  "called", "duration"};

const char *notify_type_name(enum notify_type t)
{
	switch (t) {
	case NOTIFY_RINGING:
		return "ringing";
	case NOTIFY_ANSWERED:
		return "answered";
	case NOTIFY_MISSED:
		return "missed";
	case NOTIFY_VOICEMAIL:
		return "voicemail";
	case NOTIFY_REJECTED:
		return "rejected";
	}
	return "?";
}

void notify_cfg_free(struct notify_cfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nurls; i++)
		free(c->urls[i]);
	free(c->tmpl);
	free(c->ctype);
	free(c);
}

/* Every ${...} of a template should be one of vars: others are reported and expand to nothing. */
static void tmpl_check(const struct conf_var *v, struct conf_diags *diags)
{
	const char *p = v->value;

	while ((p = strstr(p, "${"))) {
		const char *e = strchr(p + 2, '}');
		bool known = false;

		if (!e) {
			conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
				      "[notify] template: '${' without '}' (sent as written)");
			return;
		}
		for (size_t i = 0; i < ARRAY_SIZE(vars); i++) {
			if (strlen(vars[i]) == (size_t)(e - p - 2) &&
			    !strncmp(p + 2, vars[i], (size_t)(e - p - 2)))
				known = true;
		}
		if (!known)
			conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
				      "[notify] template: unknown variable ${%.*s} expands to "
				      "nothing (known: event, call_id, time, number, name, reason, "
				      "called, duration)",
				      (int)MIN((size_t)(e - p - 2), 40), p + 2);
		p = e + 1;
	}
}

/* A number key: a bad value is reported and the default kept. */
static void u32_or_default(const struct conf_var *v, uint32_t min, uint32_t max, uint32_t *out,
			   struct conf_diags *diags)
{
	struct conf_diags tmp = {0};

	if (conf_var_u32(v, "notify", min, max, out, &tmp) && tmp.count)
		conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
			      "%s; the default %u is kept", tmp.items[0].message, *out);
	conf_diags_reset(&tmp);
}

/* Notifications are never worth a PBX that does not start: every problem of [notify] is a
 * warning with its file:line, and what is usable is used (docs/SCREENING.md). */
int notify_cfg_load(struct notify_cfg **cp, const struct conf *mikakaconf, struct conf_diags *diags)
{
	const struct conf_section *sec =
	    mikakaconf ? conf_section_find(mikakaconf, "notify") : NULL;
	const struct conf_var *tv = NULL, *fv = NULL;
	struct notify_cfg *c;

	*cp = NULL;
	if (!sec)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	c->events = NOTIFY_RINGING | NOTIFY_ANSWERED | NOTIFY_MISSED | NOTIFY_VOICEMAIL;
	c->timeout_s = 5;
	c->retries = 2;
	for (const struct conf_var *v = sec->vars; v; v = v->next) {
		const char *k = v->name;

		if (!strcasecmp(k, "url")) {
			if (strncasecmp(v->value, "http://", 7) &&
			    strncasecmp(v->value, "https://", 8)) {
				conf_diag_add(
				    diags, CONF_WARNING, v->origin.file, v->origin.line,
				    "[notify] url: '%s' is not an http:// or https:// URL; "
				    "skipped",
				    v->value);
			} else if (c->nurls == NOTIFY_URLS_MAX) {
				conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
					      "[notify] url: at most %d URLs; skipped",
					      NOTIFY_URLS_MAX);
			} else if (!(c->urls[c->nurls++] = strdup(v->value))) {
				goto nomem;
			}
		} else if (!strcasecmp(k, "events")) {
			char *copy = strdup(v->value), *save = NULL;

			if (!copy)
				goto nomem;
			c->events = 0;
			for (char *t = strtok_r(copy, ", \t", &save); t;
			     t = strtok_r(NULL, ", \t", &save)) {
				unsigned bit = 0;

				for (unsigned b = NOTIFY_RINGING; b <= NOTIFY_REJECTED; b <<= 1) {
					if (!strcasecmp(t, notify_type_name((enum notify_type)b)))
						bit = b;
				}
				if (!bit)
					conf_diag_add(
					    diags, CONF_WARNING, v->origin.file, v->origin.line,
					    "[notify] events: '%s' is not ringing, answered, "
					    "missed, voicemail or rejected; ignored",
					    t);
				c->events |= bit;
			}
			free(copy);
		} else if (!strcasecmp(k, "format")) {
			static const char *const names[] = {"json", "ntfy", "slack", "discord",
							    "template"};
			size_t i;

			for (i = 0; i < ARRAY_SIZE(names) && strcasecmp(v->value, names[i]); i++)
				;
			if (i == ARRAY_SIZE(names)) {
				conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
					      "[notify] format: '%s' is not json, ntfy, slack, "
					      "discord or template; json is used",
					      v->value);
				c->format = NOTIFY_FMT_JSON;
			} else {
				c->format = (enum notify_format)i;
				fv = v;
			}
		} else if (!strcasecmp(k, "template")) {
			tmpl_check(v, diags);
			free(c->tmpl);
			if (!(c->tmpl = strdup(v->value)))
				goto nomem;
			tv = v;
		} else if (!strcasecmp(k, "content_type")) {
			free(c->ctype);
			if (!(c->ctype = strdup(v->value)))
				goto nomem;
		} else if (!strcasecmp(k, "timeout")) {
			u32_or_default(v, 1, 120, &c->timeout_s, diags);
		} else if (!strcasecmp(k, "retries")) {
			u32_or_default(v, 0, 10, &c->retries, diags);
		} else {
			conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
				      "[notify] unknown key '%s' ignored", k);
		}
	}
	if (c->format == NOTIFY_FMT_TEMPLATE && !c->tmpl) {
		conf_diag_add(diags, CONF_WARNING, fv->origin.file, fv->origin.line,
			      "[notify] format = template needs a template = line; json is used");
		c->format = NOTIFY_FMT_JSON;
	}
	if (tv && c->format != NOTIFY_FMT_TEMPLATE)
		conf_diag_add(diags, CONF_WARNING, tv->origin.file, tv->origin.line,
			      "[notify] template is used only with format = template; ignored");
	if (!c->nurls)
		conf_diag_add(diags, CONF_WARNING, sec->origin.file, sec->origin.line,
			      "[notify] has no usable url: nothing will be sent");
	*cp = c;
	return 0;

nomem:
	notify_cfg_free(c);
	return ENOMEM;
}

/* A JSON string's contents (without the quotes). */
static void json_str(struct mbuf *mb, const char *s)
{
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			mbuf_printf(mb, "\\%c", ch);
		else if (ch < 0x20)
			mbuf_printf(mb, "\\u%04x", ch);
		else
			mbuf_write(mb, s, 1);
	}
}

static void iso_time(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "%lld", (long long)ms);
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* "Call from 0901234567 (Taro) to 0312345678: ringing" for the chat formats. */
static void text_line(const struct notify_event *ev, struct mbuf *mb, bool json)
{
	const char *who = ev->number && ev->number[0] ? ev->number : or_empty(ev->reason);
	struct mbuf t;

	mbuf_init(&t);
	mbuf_printf(&t, "%s call from %s", notify_type_name(ev->type), who);
	if (ev->name && ev->name[0])
		mbuf_printf(&t, " (%s)", ev->name);
	if (ev->called && ev->called[0])
		mbuf_printf(&t, " to %s", ev->called);
	if (ev->type == NOTIFY_VOICEMAIL)
		mbuf_printf(&t, ", message of %u s", ev->duration);
	mbuf_write(&t, "", 1);
	if (json)
		json_str(mb, (const char *)t.buf);
	else
		mbuf_write_str(mb, (const char *)t.buf);
	mbuf_reset(&t);
}

static void var_value(const struct notify_event *ev, const char *name, size_t n, struct mbuf *mb,
		      bool json)
{
	char buf[64];
	const char *v = "";

#define IS(s) (strlen(s) == n && !strncmp(name, s, n))
	if (IS("event"))
		v = notify_type_name(ev->type);
	else if (IS("call_id"))
		v = or_empty(ev->call_id);
	else if (IS("time"))
		iso_time(ev->time_ms, buf, sizeof(buf)), v = buf;
	else if (IS("number"))
		v = or_empty(ev->number);
	else if (IS("name"))
		v = or_empty(ev->name);
	else if (IS("reason"))
		v = or_empty(ev->reason);
	else if (IS("called"))
		v = or_empty(ev->called);
	else if (IS("duration"))
		snprintf(buf, sizeof(buf), "%u", ev->duration), v = buf;
#undef IS
	if (json)
		json_str(mb, v);
	else
		mbuf_write_str(mb, v);
}

int notify_format(const struct notify_cfg *c, const struct notify_event *ev, struct mbuf *body,
		  const char **ctype, struct mbuf *hdrs)
{
	char when[40];
	int err = 0;

	iso_time(ev->time_ms, when, sizeof(when));
	switch (c->format) {
	case NOTIFY_FMT_JSON:
		*ctype = "application/json";
		err |= mbuf_printf(body, "{\"event\":\"%s\",\"call_id\":\"",
				   notify_type_name(ev->type));
		json_str(body, or_empty(ev->call_id));
		err |= mbuf_printf(body, "\",\"time\":\"%s\",\"time_ms\":%lld,\"number\":\"", when,
				   (long long)ev->time_ms);
		json_str(body, or_empty(ev->number));
		err |= mbuf_write_str(body, "\",\"name\":\"");
		json_str(body, or_empty(ev->name));
		err |= mbuf_write_str(body, "\",\"reason\":\"");
		json_str(body, or_empty(ev->reason));
		err |= mbuf_write_str(body, "\",\"called\":\"");
		json_str(body, or_empty(ev->called));
		err |= mbuf_write_str(body, "\"");
		if (ev->type == NOTIFY_VOICEMAIL)
			err |= mbuf_printf(body, ",\"duration\":%u", ev->duration);
		err |= mbuf_write_str(body, "}");
		break;
	case NOTIFY_FMT_NTFY:
		/* ntfy.sh: the message is the body; title and tags are headers. */
		*ctype = "text/plain; charset=utf-8";
		text_line(ev, body, false);
		if (hdrs)
			err |= mbuf_printf(hdrs, "Title: mikaka: %s\nTags: telephone_receiver\n",
					   notify_type_name(ev->type));
		break;
	case NOTIFY_FMT_SLACK:
		*ctype = "application/json";
		err |= mbuf_write_str(body, "{\"text\":\"");
		text_line(ev, body, true);
		err |= mbuf_write_str(body, "\"}");
		break;
	case NOTIFY_FMT_DISCORD:
		*ctype = "application/json";
		err |= mbuf_write_str(body, "{\"content\":\"");
		text_line(ev, body, true);
		err |= mbuf_write_str(body, "\"}");
		break;
	case NOTIFY_FMT_TEMPLATE: {
		const char *p = c->tmpl;
		/* A JSON template gets its values JSON-escaped. */
		bool json = c->tmpl[strspn(c->tmpl, " \t")] == '{' ||
			    c->tmpl[strspn(c->tmpl, " \t")] == '[';

		*ctype = c->ctype ? c->ctype
			 : json	  ? "application/json"
				  : "text/plain; charset=utf-8";
		while (*p) {
			const char *d = strstr(p, "${"), *e;

			if (!d || !(e = strchr(d, '}'))) {
				err |= mbuf_write_str(body, p);
				break;
			}
			err |= mbuf_write(body, p, (size_t)(d - p));
			var_value(ev, d + 2, (size_t)(e - d - 2), body, json);
			p = e + 1;
		}
		break;
	}
	}
	return err ? ENOMEM : 0;
}
