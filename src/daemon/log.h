/* SPDX-License-Identifier: Apache-2.0 */
/* Logging to stderr (journald picks it up). Never pass key material here. */
#ifndef VSM_LOG_H
#define VSM_LOG_H

enum vsm_log_level { VSM_LOG_ERROR, VSM_LOG_WARN, VSM_LOG_INFO, VSM_LOG_DEBUG };

extern int vsm_log_level;

int vsm_log_level_parse(const char *s);
const char *vsm_log_level_name(int level);
void vsm_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)  vsm_log(VSM_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) vsm_log(VSM_LOG_WARN, __VA_ARGS__)
#define log_info(...) vsm_log(VSM_LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (vsm_log_level >= VSM_LOG_DEBUG)                                                \
			vsm_log(VSM_LOG_DEBUG, __VA_ARGS__);                                       \
	} while (0)

#endif
