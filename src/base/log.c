/* log: leveled messages to stderr, one line each. When stderr is the systemd journal's stream
 * ($JOURNAL_STREAM names its device:inode), each line starts with an sd-daemon priority prefix
 * ("<3>" error ... "<7>" debug) so the journal stores the priority. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base.h"

static enum log_level current_level = LOG_INFO;

static const char *const level_names[] = {"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", ""};
/* syslog priorities: debug 7, info 6, notice 5, warning 4, err 3 */
static const char *const level_prefix[] = {"<7>", "<6>", "<5>", "<4>", "<3>", ""};
static int journal = -1; /* -1: not looked at yet */

/* True when stderr is the stream $JOURNAL_STREAM describes (not merely inherited by a child whose
 * stderr was redirected elsewhere). */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat sb;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &sb) < 0)
		return false;
	return (unsigned long long)sb.st_dev == dev && (unsigned long long)sb.st_ino == ino;
}

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

const char *log_journal_prefix(enum log_level level)
{
	if (journal < 0)
		journal = stderr_is_journal();
	return journal && level < LOG_NONE ? level_prefix[level] : "";
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (level < current_level || level >= LOG_NONE)
		return;
	n = snprintf(line, sizeof(line), "%s%s %s: ", log_journal_prefix(level),
		     level_names[level], module);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One fputs per line so concurrent writers do not interleave within a line. */
	fprintf(stderr, "%s\n", line);
}
