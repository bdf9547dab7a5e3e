/* ddnnexit's insides, shared by gstddnnexit.c (routing, answers, the
 * element) and gstddnnexit-features.c (features on demand: samples
 * waiting for their cameras' features, and the timer that ends the wait).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "gstddnnadaptive.h"
#include "gstddnnexit.h"

#include <gst/base/gstflowcombiner.h>
#include <gstddnnresult.h>

G_BEGIN_DECLS

/* a sample that goes on once its cameras' features have come */
typedef struct
{
  GstBuffer *buffer;
  guint64 views, got;
  DdnnTensor *features[DDNN_MAX_VIEWS];
  GstClockTime deadline; /* on the element's clock */
} Awaiting;

struct _GstDdnnExit
{
  GstElement parent;

  GstPad *sinkpad, *exitpad, *nextpad;
  GstFlowCombiner *combiner;

  /* properties, under the object lock */
  gdouble threshold;
  gchar *model_path;
  gchar *results_path;
  gchar *site;
  GstDdnnResultWriter *results;
  /* the site property as it was at READY to PAUSED, for the records */
  gchar *site_used;

  /* class names, loaded at READY to PAUSED when a model is given */
  DdnnModel *model;
  guint64 exited, went_on, rejected, requested;
  guint64 features_timeout;
  GstDdnnAdaptSettings adapt_settings;
  /* the adaptive threshold, from READY to PAUSED when a target is set
   * (set and cleared under the object lock) */
  GstDdnnAdapt *adapt;

  /* features on demand, under lock: samples waiting for features, and
   * those whose features all came (to be sent on, under the stream lock) */
  GMutex lock;
  GCond cond;
  GHashTable *awaiting;
  GQueue ready;
  /* the deadlines expire on the element's clock, from a thread of their
   * own, so that a live stream that pauses is still answered on time;
   * under lock */
  GThread *timer;
  GstClockID timer_id;
  gboolean timer_running;
  /* the sink caps are application/x-ddnn: payloads are frames */
  gboolean frames;
  /* -1 until asked: whether answers go back upstream (a ddnnsrc there) */
  gint answers_up;
};

/* gstddnnexit.c */
/* Sends @buffer on @out with a GAP on the other pad; combines the flows. */
GstFlowReturn gst_ddnn_exit_push_to (
    GstDdnnExit *self, GstPad *out, GstBuffer *buffer);
/* The pad to send answers up from, if anything upstream takes them. */
GstPad *gst_ddnn_exit_answer_pad (GstDdnnExit *self);

/* gstddnnexit-features.c */
void gst_ddnn_exit_awaiting_free (Awaiting *a);
/* Now, on the clock the deadlines are kept on. */
GstClockTime gst_ddnn_exit_deadline_now (GstDdnnExit *self);
/* Under the stream lock: sends on the samples whose features all came,
 * and finishes those whose time ran out (all of them with @all). */
void gst_ddnn_exit_expire_awaiting (GstDdnnExit *self, gboolean all);
/* A camera's features for a waiting sample (a features reply event). */
void gst_ddnn_exit_features_reply (GstDdnnExit *self, const GstStructure *s);
/* The timer thread, and its end. */
gpointer gst_ddnn_exit_timer_loop (gpointer data);
void gst_ddnn_exit_timer_stop (GstDdnnExit *self);

G_END_DECLS
