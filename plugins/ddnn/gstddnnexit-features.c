/* ddnnexit, features on demand: a sample whose scores came alone waits
 * here for its cameras' features, which are fused and sent on when they
 * have come, or when its time runs out on the element's clock (a thread of
 * its own keeps the deadlines, so a live stream that pauses is answered on
 * time).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnexit-private.h"

#include <gstddnnframe.h>
#include <gstddnnmodel.h>

GST_DEBUG_CATEGORY_EXTERN (gst_ddnn_exit_debug);
#define GST_CAT_DEFAULT gst_ddnn_exit_debug

void
gst_ddnn_exit_awaiting_free (Awaiting *a)
{
  guint v;

  gst_clear_buffer (&a->buffer);
  for (v = 0; v < DDNN_MAX_VIEWS; v++)
    g_clear_pointer (&a->features[v], ddnn_tensor_unref);
  g_free (a);
}

/* A sample whose features have come (all, or those that came in time)
 * goes on; one without any is answered here, marked degraded. */
static GstFlowReturn
finish_awaiting (GstDdnnExit *self, Awaiting *a)
{
  GstBuffer *buffer = g_steal_pointer (&a->buffer);
  GstDdnnMeta *meta = gst_buffer_get_ddnn_meta (buffer);
  guint n_views = ddnn_model_get_n_views (self->model);
  GError *error = NULL;
  DdnnTensor *fused;

  if (!a->got) {
    GST_DEBUG_OBJECT (self,
        "no features for sample %" G_GUINT64_FORMAT
        " in time: answered here, degraded",
        meta->sample);
    meta->exit = GST_DDNN_EXIT_DEGRADED;
    if (self->adapt)
      gst_ddnn_adapt_lost (self->adapt, meta->sample);
    gst_ddnn_post_result (GST_ELEMENT (self), gst_ddnn_exit_answer_pad (self),
        buffer, meta, gst_ddnn_model_label (self->model, meta), self->site_used,
        self->results);
    gst_ddnn_exit_awaiting_free (a);
    return gst_ddnn_exit_push_to (self, self->exitpad, buffer);
  }
  fused = ddnn_model_fuse_features (self->model, a->features, n_views, &error);
  gst_ddnn_exit_awaiting_free (a);
  if (!fused || !(gst_ddnn_meta_set_features (meta, fused), TRUE) ||
      !gst_ddnn_buffer_set_frame (buffer, meta,
          ddnn_model_get_score_format (self->model) == DDNN_SCORES_INT8, TRUE,
          &error)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Cannot use the features of sample %" G_GUINT64_FORMAT, meta->sample),
        ("%s", error->message));
    g_clear_error (&error);
    if (fused)
      ddnn_tensor_unref (fused);
    gst_buffer_unref (buffer);
    return GST_FLOW_ERROR;
  }
  ddnn_tensor_unref (fused);
  return gst_ddnn_exit_push_to (self, self->nextpad, buffer);
}

/* The clock deadlines are kept on: the pipeline's once there is one, else
 * the system clock (whose time the pipeline's usually is). */
static GstClock *
deadline_clock (GstDdnnExit *self)
{
  GstClock *clock;

  GST_OBJECT_LOCK (self);
  clock = GST_ELEMENT_CLOCK (self) ? gst_object_ref (GST_ELEMENT_CLOCK (self))
                                   : NULL;
  GST_OBJECT_UNLOCK (self);
  return clock ? clock : gst_system_clock_obtain ();
}

GstClockTime
gst_ddnn_exit_deadline_now (GstDdnnExit *self)
{
  GstClock *clock = deadline_clock (self);
  GstClockTime now = gst_clock_get_time (clock);

  gst_object_unref (clock);
  return now;
}

/* Sends on the samples whose features all came, and finishes those whose
 * time is up (all with @all).  The caller holds the sink pad's stream
 * lock. */
void
gst_ddnn_exit_expire_awaiting (GstDdnnExit *self, gboolean all)
{
  GstClockTime now;
  GList *due = NULL, *l;
  GHashTableIter iter;
  gpointer value;

  g_mutex_lock (&self->lock);
  while (!g_queue_is_empty (&self->ready))
    due = g_list_prepend (due, g_queue_pop_head (&self->ready));
  /* the clock is read only when a sample waits (not for every buffer) */
  if (self->awaiting && g_hash_table_size (self->awaiting) > 0) {
    now = gst_ddnn_exit_deadline_now (self);
    g_hash_table_iter_init (&iter, self->awaiting);
    while (g_hash_table_iter_next (&iter, NULL, &value)) {
      Awaiting *a = value;

      if (all || a->deadline <= now) {
        due = g_list_prepend (due, a);
        g_hash_table_iter_steal (&iter);
      }
    }
  }
  /* an EOS may be waiting for the samples to be gone */
  if (due)
    g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  due = g_list_reverse (due);
  for (l = due; l; l = l->next)
    finish_awaiting (self, l->data);
  g_list_free (due);
}

/* A camera's features for a waiting sample (out of band, from the thread
 * that received them). */
void
gst_ddnn_exit_features_reply (GstDdnnExit *self, const GstStructure *s)
{
  guint64 sample = 0;
  gint view = -1;
  GstBuffer *frame_buffer = NULL;
  GstDdnnMeta *reply;
  Awaiting *a = NULL;
  DdnnTensor *features = NULL;
  GError *error = NULL;

  if (!gst_structure_get (s, "sample", G_TYPE_UINT64, &sample, "view",
          G_TYPE_INT, &view, "frame", GST_TYPE_BUFFER, &frame_buffer, NULL) ||
      view < 0 || view >= DDNN_MAX_VIEWS) {
    GST_WARNING_OBJECT (self, "ignored a malformed features reply");
    gst_clear_buffer (&frame_buffer);
    return;
  }
  /* the meta ddnnsrc parsed the frame into, or the frame parsed now */
  if (!gst_buffer_get_ddnn_meta (frame_buffer))
    frame_buffer = gst_buffer_make_writable (frame_buffer);
  reply = gst_ddnn_buffer_ensure_meta (frame_buffer, &error);
  if (reply && reply->features)
    features = ddnn_tensor_ref (reply->features);
  gst_buffer_unref (frame_buffer);
  if (!features) {
    GST_WARNING_OBJECT (self,
        "ignored features of sample %" G_GUINT64_FORMAT ": %s", sample,
        error ? error->message : "none in the frame");
    g_clear_error (&error);
    return;
  }

  g_mutex_lock (&self->lock);
  if (self->awaiting)
    a = g_hash_table_lookup (self->awaiting, &sample);
  if (a && (a->views & (G_GUINT64_CONSTANT (1) << view)) &&
      !a->features[view]) {
    a->features[view] = features;
    features = NULL;
    a->got |= G_GUINT64_CONSTANT (1) << view;
    /* all came: the timer thread (or the streaming thread, whichever
     * comes first) sends it on; this thread is another element's */
    if (a->got == a->views) {
      g_hash_table_steal (self->awaiting, &sample);
      g_queue_push_tail (&self->ready, a);
      /* the timer may be waiting on the clock for a later deadline */
      if (self->timer_id)
        gst_clock_id_unschedule (self->timer_id);
    }
  }
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  if (features) {
    GST_DEBUG_OBJECT (self,
        "features of sample %" G_GUINT64_FORMAT
        " view %d came when nothing waited for them",
        sample, view);
    ddnn_tensor_unref (features);
  }
}

/* The timer thread: waits on the element's clock for the earliest
 * deadline of the samples waiting for features, and finishes them then,
 * whether buffers come or not. */
gpointer
gst_ddnn_exit_timer_loop (gpointer data)
{
  GstDdnnExit *self = data;

  g_mutex_lock (&self->lock);
  while (self->timer_running) {
    GstClockTime earliest = GST_CLOCK_TIME_NONE;
    GHashTableIter iter;
    gpointer value;
    GstClock *clock;
    GstClockID id;

    if (!g_queue_is_empty (&self->ready)) {
      /* features came for a whole sample: on with it now */
      g_mutex_unlock (&self->lock);
      GST_PAD_STREAM_LOCK (self->sinkpad);
      gst_ddnn_exit_expire_awaiting (self, FALSE);
      GST_PAD_STREAM_UNLOCK (self->sinkpad);
      g_mutex_lock (&self->lock);
      continue;
    }
    if (self->awaiting) {
      g_hash_table_iter_init (&iter, self->awaiting);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        earliest = MIN (earliest, ((Awaiting *) value)->deadline);
    }
    if (!GST_CLOCK_TIME_IS_VALID (earliest)) {
      g_cond_wait (&self->cond, &self->lock);
      continue;
    }
    g_mutex_unlock (&self->lock);
    clock = deadline_clock (self);
    id = gst_clock_new_single_shot_id (clock, earliest);
    gst_object_unref (clock);
    g_mutex_lock (&self->lock);
    if (!self->timer_running) {
      gst_clock_id_unref (id);
      break;
    }
    if (!g_queue_is_empty (&self->ready)) {
      /* a sample became whole meanwhile */
      gst_clock_id_unref (id);
      continue;
    }
    self->timer_id = id;
    g_mutex_unlock (&self->lock);
    gst_clock_id_wait (id, NULL);
    g_mutex_lock (&self->lock);
    self->timer_id = NULL;
    gst_clock_id_unref (id);
    if (!self->timer_running)
      break;
    g_mutex_unlock (&self->lock);
    GST_PAD_STREAM_LOCK (self->sinkpad);
    gst_ddnn_exit_expire_awaiting (self, FALSE);
    GST_PAD_STREAM_UNLOCK (self->sinkpad);
    g_mutex_lock (&self->lock);
  }
  g_mutex_unlock (&self->lock);
  return NULL;
}

void
gst_ddnn_exit_timer_stop (GstDdnnExit *self)
{
  GThread *thread;

  g_mutex_lock (&self->lock);
  self->timer_running = FALSE;
  if (self->timer_id)
    gst_clock_id_unschedule (self->timer_id);
  g_cond_broadcast (&self->cond);
  thread = g_steal_pointer (&self->timer);
  g_mutex_unlock (&self->lock);
  if (thread)
    g_thread_join (thread);
}
