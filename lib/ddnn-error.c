/* libddnn: error domain and log routing.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-error.h"

G_DEFINE_QUARK (ddnn - error - quark, ddnn_error)

static DdnnLogFunc log_func;
static gpointer log_user_data;
static GMutex log_lock;

void
ddnn_set_log_func (DdnnLogFunc func, gpointer user_data)
{
  g_mutex_lock (&log_lock);
  log_func = func;
  log_user_data = user_data;
  g_mutex_unlock (&log_lock);
}

void
ddnn_log (DdnnLogLevel level, const gchar *format, ...)
{
  /* Errors are reported to callers through GError; the log only tells.
   * MESSAGE rather than WARNING keeps GTest from treating it as fatal. */
  static const GLogLevelFlags glib_levels[] = {
    G_LOG_LEVEL_MESSAGE,
    G_LOG_LEVEL_MESSAGE,
    G_LOG_LEVEL_INFO,
    G_LOG_LEVEL_DEBUG,
  };
  DdnnLogFunc func;
  gpointer user_data;
  gchar *message;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_mutex_lock (&log_lock);
  func = log_func;
  user_data = log_user_data;
  g_mutex_unlock (&log_lock);

  if (func)
    func (level, message, user_data);
  else
    g_log ("ddnn", glib_levels[level], "%s", message);
  g_free (message);
}
