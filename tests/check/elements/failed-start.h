/* What the tier elements' tests share: a start that fails halfway (the
 * results file opened, then a model that is not there) frees what it made,
 * ten PAUSED <-> NULL cycles in a row (the *-failed-start-valgrind tests run
 * it under valgrind).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>

static void
check_failed_start (const gchar *factory)
{
  g_autofree gchar *dir = g_dir_make_tmp ("failed-start-XXXXXX", NULL);
  g_autofree gchar *results = g_build_filename (dir, "r.jsonl", NULL);
  GstElement *e = gst_element_factory_make (factory, NULL);
  GstBus *bus = gst_bus_new ();
  guint k;

  g_object_set (
      e, "model", "/nonexistent/m.safetensors", "results", results, NULL);
  gst_element_set_bus (e, bus);
  for (k = 0; k < 10; k++) {
    fail_unless_equals_int (
        gst_element_set_state (e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
    fail_unless_equals_int (
        gst_element_set_state (e, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  }
  gst_bus_set_flushing (bus, TRUE);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  g_unlink (results);
  g_rmdir (dir);
}
