/* SPDX-License-Identifier: Apache-2.0 */
#include "daemon/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int vsm_log_level = VSM_LOG_INFO;

static const char *const names[] = {"error", "warn", "info", "debug"};

int vsm_log_level_parse(const char *s)
{
	for (int i = 0; i <= VSM_LOG_DEBUG; i++)
		if (!strcmp(s, names[i]))
			return i;
	if (!strcmp(s, "warning"))
		return VSM_LOG_WARN;
	return -1;
}

const char *vsm_log_level_name(int level)
{
	return level >= 0 && level <= VSM_LOG_DEBUG ? names[level] : "?";
}

void vsm_log(int level, const char *fmt, ...)
{
	if (level > vsm_log_level)
		return;
	char line[1024];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ vsmd %-5s ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000000, names[level]);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One fputs per line so lines from different threads never interleave. */
	size_t len = strlen(line);
	if (len < sizeof(line) - 1)
		line[len++] = '\n', line[len] = 0;
	else
		line[sizeof(line) - 2] = '\n';
	fputs(line, stderr);
}
