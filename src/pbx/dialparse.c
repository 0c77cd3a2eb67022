/* dialparse: Dial()'s arguments (targets, timeout, options) into a struct pbx_dial. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan_int.h"

#define LOG_MODULE "pbx"

/* ---- Dial() ---------------------------------------------------------------------------------- */

char *chan_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

int pbx_dial_parse(char *args, struct pbx_dial *dial, unsigned *bad)
{
	char *targets = args, *timeout = NULL, *opts = NULL, *c, *save = NULL, *t;
	unsigned nbad = 0;

	memset(dial, 0, sizeof(*dial));
	c = strchr(args, ',');
	if (c) {
		*c = '\0';
		timeout = c + 1;
		c = strchr(timeout, ',');
		if (c) {
			*c = '\0';
			opts = c + 1;
			c = strchr(opts, ',');
			if (c)
				*c = '\0'; /* the URL argument is not used */
		}
	}
	for (t = strtok_r(targets, "&", &save); t; t = strtok_r(NULL, "&", &save)) {
		struct pbx_dial_target *dt;
		char *slash, *rest, *at;

		t = chan_trim(t);
		slash = strchr(t, '/');
		if (!slash || dial->ntargets == PBX_DIAL_TARGETS_MAX) {
			nbad++;
			continue;
		}
		*slash = '\0';
		rest = slash + 1;
		if (strcasecmp(t, "SIP") != 0 || !*rest) {
			nbad++;
			continue;
		}
		dt = &dial->targets[dial->ntargets];
		dt->tech = t;
		dt->number = NULL;
		if ((slash = strchr(rest, '/'))) {
			*slash = '\0';
			dt->peer = rest;
			dt->number = *(slash + 1) ? slash + 1 : NULL;
		} else if ((at = strchr(rest, '@'))) {
			*at = '\0';
			dt->number = *rest ? rest : NULL;
			dt->peer = at + 1;
		} else {
			dt->peer = rest;
		}
		if (!*dt->peer) {
			nbad++;
			continue;
		}
		dial->ntargets++;
	}
	if (timeout) {
		unsigned long v = 0;
		char *end;

		timeout = chan_trim(timeout);
		if (*timeout) {
			v = strtoul(timeout, &end, 10);
			if (*end && *end != '.')
				v = 0;
			dial->timeout_s = v > 86400 ? 86400 : (unsigned)v;
		}
	}
	for (char *o = opts; o && *o; o++) {
		char *close;

		switch (*o) {
		case 't':
			dial->opts |= PBX_DIAL_OPT_t;
			break;
		case 'T':
			dial->opts |= PBX_DIAL_OPT_T;
			break;
		case 'r':
			dial->opts |= PBX_DIAL_OPT_r;
			break;
		case 'm':
			dial->opts |= PBX_DIAL_OPT_m;
			if (o[1] == '(' && (close = strchr(o + 2, ')'))) {
				*close = '\0';
				dial->moh_class = o + 2;
				o = close;
			}
			break;
		case 'D':
			/* D([called][:calling]): digits for each side once the callee answers. */
			if (o[1] == '(' && (close = strchr(o + 2, ')'))) {
				char *colon;

				*close = '\0';
				colon = strchr(o + 2, ':');
				if (colon)
					*colon = '\0';
				dial->dtmf_called = o[2] ? o + 2 : NULL;
				dial->dtmf_calling = colon && colon[1] ? colon + 1 : NULL;
				o = close;
			}
			break;
		case 'g':
			dial->opts |= PBX_DIAL_OPT_g;
			break;
		case 'F':
			/* F(context^exten^priority), or F alone: the next priority, as g. */
			dial->opts |= PBX_DIAL_OPT_g;
			if (o[1] == '(' && (close = strchr(o + 2, ')'))) {
				*close = '\0';
				dial->cont_target = o[2] ? o + 2 : NULL;
				o = close;
			}
			break;
		case 'S':
		case 'L':
			/* S(seconds): hang up that long after the answer; L(ms[:warn[:repeat]]): the
			 * same in milliseconds (its warnings are not played). */
			if (o[1] == '(' && (close = strchr(o + 2, ')'))) {
				double v = strtod(o + 2, NULL);

				if (v > 0 && v <= (*o == 'S' ? 86400.0 : 86400000.0))
					dial->limit_ms =
					    (uint32_t)(*o == 'S' ? v * 1000 + 0.5 : v + 0.5);
				o = close;
			}
			break;
		default:
			/* Options of Asterisk's we do not do; their (args) are skipped. */
			if (o[1] == '(' && (close = strchr(o + 2, ')')))
				o = close;
			break;
		}
	}
	if (bad)
		*bad = nbad;
	return dial->ntargets ? 0 : EINVAL;
}

