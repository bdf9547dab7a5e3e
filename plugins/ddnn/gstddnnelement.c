/* What ddnnexit and ddnncloud share.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnelement.h"

#include <gstddnnframe.h>
#include <gstddnnresult.h>

GstDdnnMeta *
gst_ddnn_element_take_meta (
    GstElement *element, GstBuffer *buffer, guint64 *rejected)
{
  GError *error = NULL;
  GstDdnnMeta *meta = gst_ddnn_buffer_ensure_meta (buffer, &error);

  if (meta)
    return meta;
  GST_ELEMENT_WARNING (element, STREAM, DECODE, ("Rejected a malformed frame"),
      ("%s", error->message));
  g_error_free (error);
  GST_OBJECT_LOCK (element);
  (*rejected)++;
  GST_OBJECT_UNLOCK (element);
  gst_buffer_unref (buffer);
  return NULL;
}

GstFlowReturn
gst_ddnn_push_routed (
    GstFlowCombiner *combiner, GstPad *out, GstPad *idle, GstBuffer *buffer)
{
  GstFlowReturn ret;

  if (GST_BUFFER_PTS_IS_VALID (buffer))
    gst_pad_push_event (idle,
        gst_event_new_gap (
            GST_BUFFER_PTS (buffer), GST_BUFFER_DURATION (buffer)));
  ret = gst_pad_push (out, buffer);
  return gst_flow_combiner_update_pad_flow (combiner, out, ret);
}

GstPad *
gst_ddnn_answer_pad (GstPad *sinkpad, gint *cache)
{
  if (*cache < 0)
    *cache = gst_ddnn_answers_wanted (sinkpad);
  return *cache ? sinkpad : NULL;
}
