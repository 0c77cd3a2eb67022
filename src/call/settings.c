/* settings: the call engine's switches from mikaka.conf [calls], checked with file:line. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "call_int.h"
#include "conf.h"

/* A call holds two relay legs of two sockets each (its SIP traffic shares the listening
 * sockets): the default global limit is what the open-file limit leaves room for, keeping 256
 * descriptors for everything else and 1024 for TCP connections (tcp_max_connections' default). */
static uint32_t max_calls_for_fds(void)
{
	struct rlimit rl;
	uint64_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return 10000;
	n = rl.rlim_cur > 1280 + 256 ? (rl.rlim_cur - 1280) / 4 : 64;
	return (uint32_t)(n < 64 ? 64 : n > 100000 ? 100000 : n);
}

int call_settings_load(struct call_settings *set, const struct conf *mikakaconf,
		       struct conf_diags *diags)
{
	const struct conf_section *sec;
	const struct conf_var *maxv = NULL;
	int err = 0;

	call_settings_default(set);
	set->max_calls = max_calls_for_fds();
	sec = mikakaconf ? conf_section_find(mikakaconf, "directories") : NULL;
	for (const struct conf_var *v = sec ? sec->vars : NULL; v; v = v->next) {
		char *dst = NULL;

		if (!strcasecmp(v->name, "astdatadir"))
			dst = set->data_dir;
		else if (!strcasecmp(v->name, "astsoundsdir"))
			dst = set->sounds_dir;
		else if (!strcasecmp(v->name, "astmonitordir"))
			dst = set->monitor_dir;
		if (!dst) {
			conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
				      "[directories] unknown key '%s'; ignored", v->name);
			continue;
		}
		if (v->value[0] != '/' || strlen(v->value) >= sizeof(set->data_dir)) {
			conf_diag_add(diags, CONF_ERROR, v->origin.file, v->origin.line,
				      "[directories] %s must be an absolute path (under 256 bytes)",
				      v->name);
			err = EINVAL;
			continue;
		}
		snprintf(dst, sizeof(set->data_dir), "%s", v->value);
	}
	if (set->data_dir[0] && !set->sounds_dir[0])
		snprintf(set->sounds_dir, sizeof(set->sounds_dir), "%.240s/sounds", set->data_dir);
	sec = mikakaconf ? conf_section_find(mikakaconf, "calls") : NULL;
	if (!sec)
		return err ? EINVAL : 0;
	for (const struct conf_var *v = sec->vars; v; v = v->next) {
		const char *k = v->name;

		if (!strcasecmp(k, "maxcalls")) {
			err |= conf_var_u32(v, "calls", 1, 1000000, &set->max_calls, diags);
			maxv = v;
		} else if (!strcasecmp(k, "session_expires"))
			err |= conf_var_u32(v, "calls", 90, 86400, &set->session_expires, diags);
		else if (!strcasecmp(k, "min_se"))
			err |= conf_var_u32(v, "calls", 90, 86400, &set->min_se, diags);
		else if (!strcasecmp(k, "line_session_expires"))
			err |= conf_var_u32(v, "calls", 90, 86400, &set->line_se, diags);
		else if (!strcasecmp(k, "retry_after"))
			err |= conf_var_u32(v, "calls", 1, 3600, &set->retry_after, diags);
		else if (!strcasecmp(k, "100rel"))
			err |= conf_var_bool(v, "calls", &set->rel100, diags);
		else
			conf_diag_add(diags, CONF_WARNING, v->origin.file, v->origin.line,
				      "[calls] unknown key '%s'; ignored", k);
	}
	/* What a deployment needs for the calls it asked for (docs/INSTALL.md, Descriptors). */
	if (!err && maxv && set->max_calls > max_calls_for_fds()) {
		struct rlimit rl;

		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY)
			conf_diag_add(
			    diags, CONF_WARNING, maxv->origin.file, maxv->origin.line,
			    "[calls] maxcalls %u needs about %llu open files (4 relay "
			    "sockets a call, 1280 for the rest) but the limit is %llu: "
			    "about %u calls fit; raise LimitNOFILE= (systemd) or ulimit -n",
			    set->max_calls, 4ull * set->max_calls + 1280,
			    (unsigned long long)rl.rlim_cur, max_calls_for_fds());
	}
	if (!err && set->session_expires < set->min_se) {
		conf_diag_add(diags, CONF_ERROR, sec->origin.file, sec->origin.line,
			      "[calls] session_expires (%u) is below min_se (%u)",
			      set->session_expires, set->min_se);
		err = EINVAL;
	}
	return err ? EINVAL : 0;
}

void call_eng_set_settings(struct call_eng *eng, const struct call_settings *set)
{
	if (eng && set)
		eng->set = *set;
}
