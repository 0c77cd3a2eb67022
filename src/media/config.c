/* media config: defaults and Asterisk's rtp.conf [general] keys (rtpstart, rtpend, strictrtp,
 * probation) plus rtptimeout/rtpholdtimeout. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "media_int.h"

void media_config_init(struct media_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	/* The carrier wants even ports in 49152-65535 (NGN-NOTES §2.4); this range satisfies every
	 * peer, unlike Asterisk's 10000-20000 default. */
	cfg->rtpstart = 49152;
	cfg->rtpend = 65535;
	cfg->strictrtp = MEDIA_STRICT_YES;
	cfg->probation = 4;
}

static int get_u32(const struct conf_var *v, uint32_t min, uint32_t max, uint32_t *out,
		   struct conf_diags *diags)
{
	struct pl pl = pl_from_str(v->value);
	uint32_t x;

	if (pl_u32(&pl, &x) || x < min || x > max) {
		conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
			      "%s: '%s' is not a number in %u..%u", v->name, v->value, min, max);
		return EINVAL;
	}
	*out = x;
	return 0;
}

static bool truthy(const char *s)
{
	return !strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcasecmp(s, "y") ||
	       !strcasecmp(s, "t") || !strcasecmp(s, "1") || !strcasecmp(s, "on");
}

static bool falsy(const char *s)
{
	return !strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcasecmp(s, "n") ||
	       !strcasecmp(s, "f") || !strcasecmp(s, "0") || !strcasecmp(s, "off");
}

int media_config_load(struct media_config *cfg, const struct conf *rtpconf,
		      struct conf_diags *diags)
{
	const struct conf_section *sec;
	struct media_config c;
	int err = 0;

	media_config_init(&c);
	sec = rtpconf ? conf_section_find(rtpconf, "general") : NULL;
	for (const struct conf_var *v = sec ? sec->vars : NULL; v; v = v->next) {
		uint32_t x;
		if (!strcasecmp(v->name, "rtpstart")) {
			if (get_u32(v, 1024, 65534, &x, diags))
				err = EINVAL;
			else
				c.rtpstart = (uint16_t)x;
		} else if (!strcasecmp(v->name, "rtpend")) {
			if (get_u32(v, 1025, 65535, &x, diags))
				err = EINVAL;
			else
				c.rtpend = (uint16_t)x;
		} else if (!strcasecmp(v->name, "strictrtp")) {
			if (!strcasecmp(v->value, "seqno"))
				c.strictrtp = MEDIA_STRICT_SEQNO;
			else if (truthy(v->value))
				c.strictrtp = MEDIA_STRICT_YES;
			else if (falsy(v->value))
				c.strictrtp = MEDIA_STRICT_NO;
			else {
				conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
					      "strictrtp: '%s' is not yes, no or seqno", v->value);
				err = EINVAL;
			}
		} else if (!strcasecmp(v->name, "probation")) {
			if (get_u32(v, 0, 100, &x, diags))
				err = EINVAL;
			else
				c.probation = x;
		} else if (!strcasecmp(v->name, "rtptimeout")) {
			if (get_u32(v, 0, 86400, &x, diags))
				err = EINVAL;
			else
				c.rtptimeout = x;
		} else if (!strcasecmp(v->name, "rtpholdtimeout")) {
			if (get_u32(v, 0, 86400, &x, diags))
				err = EINVAL;
			else
				c.rtpholdtimeout = x;
		} else {
			conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
				      "rtp.conf: '%s' is not implemented (ignored)", v->name);
		}
	}
	/* rtpstart is rounded up to even (RTP on even ports, RFC 3550 §11). */
	if (c.rtpstart & 1)
		c.rtpstart++;
	if ((uint32_t)c.rtpend < (uint32_t)c.rtpstart + 1) {
		conf_diag_add(
		    diags, CONF_ERROR, sec ? sec->origin.file : NULL, sec ? sec->origin.line : 0,
		    "rtp.conf: rtpend (%u) must be above rtpstart (%u)", c.rtpend, c.rtpstart);
		media_config_init(&c);
		err = EINVAL;
	}
	if (c.rtpholdtimeout && c.rtptimeout && c.rtpholdtimeout < c.rtptimeout)
		c.rtpholdtimeout = c.rtptimeout; /* Asterisk's rule: hold waits at least as long */
	*cfg = c;
	return err;
}
