/* log: leveled messages to stderr, one line each. */
#include <stdio.h>
#include <time.h>

#include "base.h"

static enum log_level current_level = LOG_INFO;

static const char *const level_names[] = {"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", ""};

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (level < current_level || level >= LOG_NONE)
		return;
	n = snprintf(line, sizeof(line), "%s %s: ", level_names[level], module);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One fputs per line so concurrent writers do not interleave within a line. */
	fprintf(stderr, "%s\n", line);
}
