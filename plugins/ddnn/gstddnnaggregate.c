/* ddnnaggregate: fuses the cameras' views of each sample.
 * SPDX-License-Identifier: LGPL-2.1-or-later */

/**
 * SECTION:element-ddnnaggregate
 * @title: ddnnaggregate
 *
 * Takes one stream per camera on request pads `sink_%u`, each buffer
 * carrying a #GstDdnnMeta from `ddnndevice`, and gives one
 * `application/x-ddnn` buffer per sample: the views of one sample number
 * are fused, scores by the model's local fusion and features by its feature
 * fusion, into a meta whose view mask says who took part.  A camera whose
 * stream has moved past a sample (it skipped a frame) or has ended is left
 * out of it.  The buffer's payload is the serialized wire frame.
 *
 * This version aligns views by sample number (recorded multi-view video);
 * alignment by running time and the live timeout are still to come.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 ddnnaggregate name=fuse model=m.safetensors ! fakesink \
 *   filesrc location=cam0.mkv ! matroskademux ! ddnndevice model=m.safetensors view=0 ! fuse. \
 *   filesrc location=cam1.mkv ! matroskademux ! ddnndevice model=m.safetensors view=1 ! fuse.
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gstddnnmodel.h>
#include "gstddnnaggregate.h"

#include <gstddnnframe.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_ddnn_aggregate_debug);
#define GST_CAT_DEFAULT gst_ddnn_aggregate_debug

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_STATS,
};

#define DEFAULT_MODEL NULL

struct _GstDdnnAggregate
{
  GstAggregator parent;

  /* properties, under the object lock */
  gchar *model_path;

  /* from start () to stop () */
  DdnnModel *model;
  guint64 missing[DDNN_MAX_VIEWS];
  guint64 samples;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink_%u", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE (
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (GST_DDNN_CAPS));

G_DEFINE_TYPE (GstDdnnAggregate, gst_ddnn_aggregate, GST_TYPE_AGGREGATOR);
GST_ELEMENT_REGISTER_DEFINE (
    ddnnaggregate, "ddnnaggregate", GST_RANK_NONE, GST_TYPE_DDNN_AGGREGATE);

static gboolean
gst_ddnn_aggregate_start (GstAggregator *agg)
{
  GstDdnnAggregate *self = GST_DDNN_AGGREGATE (agg);
  g_autofree gchar *path = NULL;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  GST_OBJECT_UNLOCK (self);
  self->model = gst_ddnn_element_load_model (GST_ELEMENT (self), path);
  if (!self->model)
    return FALSE;
  memset (self->missing, 0, sizeof (self->missing));
  self->samples = 0;
  return TRUE;
}

static gboolean
gst_ddnn_aggregate_stop (GstAggregator *agg)
{
  GstDdnnAggregate *self = GST_DDNN_AGGREGATE (agg);

  g_clear_pointer (&self->model, ddnn_model_unref);
  return TRUE;
}

static GstFlowReturn
gst_ddnn_aggregate_update_src_caps (
    GstAggregator *agg, GstCaps *caps, GstCaps **ret)
{
  *ret = gst_caps_from_string (GST_DDNN_CAPS);
  return GST_FLOW_OK;
}

/* Fuses the views in @views (NULL where missing) into a new buffer. */
static GstBuffer *
fuse (GstDdnnAggregate *self, GstBuffer **views, GError **error)
{
  DdnnModel *model = self->model;
  guint n_views = ddnn_model_get_n_views (model);
  guint n_classes = ddnn_model_get_n_classes (model), v;
  const float *scores[DDNN_MAX_VIEWS];
  DdnnTensor *features[DDNN_MAX_VIEWS];
  float probs[DDNN_MAX_CLASSES];
  GstDdnnMeta *first = NULL, *out;
  GstBuffer *buffer;
  DdnnTensor *fused;

  buffer = gst_buffer_new ();
  out = gst_buffer_add_ddnn_meta (buffer, ddnn_model_get_id (model), n_classes);
  for (v = 0; v < n_views; v++) {
    GstDdnnMeta *m = views[v] ? gst_buffer_get_ddnn_meta (views[v]) : NULL;

    scores[v] = m ? m->scores : NULL;
    features[v] = m ? m->features : NULL;
    if (m) {
      out->view_mask |= G_GUINT64_CONSTANT (1) << v;
      if (!first)
        first = m;
    }
  }
  out->sample = first->sample;
  out->pts = first->pts;
  out->capture_time = first->capture_time;
  out->view = -1;
  out->tier = DDNN_TIER_DEVICE;
  if (!ddnn_model_fuse_scores (
          model, scores, n_views, out->scores, probs, &out->entropy, error) ||
      !(fused = ddnn_model_fuse_features (model, features, n_views, error))) {
    gst_buffer_unref (buffer);
    return NULL;
  }
  gst_ddnn_meta_set_features (out, fused);
  ddnn_tensor_unref (fused);

  /* the payload is the frame, so stock elements can record or carry it */
  if (!gst_ddnn_buffer_set_frame (buffer, out,
          ddnn_model_get_score_format (model) == DDNN_SCORES_INT8, error)) {
    gst_buffer_unref (buffer);
    return NULL;
  }
  GST_BUFFER_PTS (buffer) = out->pts;
  return buffer;
}

static GstFlowReturn
gst_ddnn_aggregate_aggregate (GstAggregator *agg, gboolean timeout)
{
  GstDdnnAggregate *self = GST_DDNN_AGGREGATE (agg);
  guint n_views = ddnn_model_get_n_views (self->model), v;
  GstBuffer *views[DDNN_MAX_VIEWS] = { NULL };
  GstAggregatorPad *pads[DDNN_MAX_VIEWS] = { NULL };
  guint64 sample = G_MAXUINT64;
  gboolean any = FALSE, all_eos = TRUE;
  GstBuffer *out;
  GError *error = NULL;
  GList *l;

  /* the smallest sample number waiting on any pad */
  GST_OBJECT_LOCK (self);
  for (l = GST_ELEMENT (self)->sinkpads; l; l = l->next) {
    GstAggregatorPad *pad = l->data;
    GstBuffer *head = gst_aggregator_pad_peek_buffer (pad);
    GstDdnnMeta *meta;

    if (!gst_aggregator_pad_is_eos (pad))
      all_eos = FALSE;
    if (!head)
      continue;
    meta = gst_buffer_get_ddnn_meta (head);
    if (!meta || meta->view < 0 || (guint) meta->view >= n_views ||
        strcmp (meta->model_id, ddnn_model_get_id (self->model)) != 0) {
      GST_OBJECT_UNLOCK (self);
      if (!meta || meta->view < 0 || (guint) meta->view >= n_views)
        GST_ELEMENT_ERROR (self, STREAM, FORMAT,
            ("A camera's buffer carries no usable DDNN data"),
            ("%s: needs GstDdnnMeta from ddnndevice with a view below %u",
                GST_PAD_NAME (pad), n_views));
      else
        GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
            ("A camera runs another model"),
            ("%s: model %s, but this element has %s", GST_PAD_NAME (pad),
                meta->model_id, ddnn_model_get_id (self->model)));
      gst_buffer_unref (head);
      return GST_FLOW_ERROR;
    }
    sample = MIN (sample, meta->sample);
    gst_buffer_unref (head);
    any = TRUE;
  }
  GST_OBJECT_UNLOCK (self);
  if (!any)
    return all_eos ? GST_FLOW_EOS : GST_FLOW_OK;

  /* take that sample's views; pads ahead of it keep theirs */
  GST_OBJECT_LOCK (self);
  for (l = GST_ELEMENT (self)->sinkpads; l; l = l->next) {
    GstAggregatorPad *pad = l->data;
    GstBuffer *head = gst_aggregator_pad_peek_buffer (pad);
    GstDdnnMeta *meta = head ? gst_buffer_get_ddnn_meta (head) : NULL;

    if (meta && meta->sample == sample && !views[meta->view]) {
      views[meta->view] = head;
      pads[meta->view] = gst_object_ref (pad);
    } else if (head) {
      gst_buffer_unref (head);
    }
  }
  GST_OBJECT_UNLOCK (self);
  for (v = 0; v < n_views; v++) {
    if (pads[v]) {
      gst_aggregator_pad_drop_buffer (pads[v]);
      gst_object_unref (pads[v]);
    }
  }
  /* the counters are read by the stats property, under the object lock */
  GST_OBJECT_LOCK (self);
  for (v = 0; v < n_views; v++)
    if (!pads[v])
      self->missing[v]++;
  self->samples++;
  GST_OBJECT_UNLOCK (self);

  out = fuse (self, views, &error);
  for (v = 0; v < n_views; v++)
    if (views[v])
      gst_buffer_unref (views[v]);
  if (!out) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
        ("Cannot fuse sample %" G_GUINT64_FORMAT, sample),
        ("%s", error->message));
    g_error_free (error);
    return GST_FLOW_ERROR;
  }
  return gst_aggregator_finish_buffer (agg, out);
}

static void
gst_ddnn_aggregate_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstDdnnAggregate *self = GST_DDNN_AGGREGATE (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_aggregate_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstDdnnAggregate *self = GST_DDNN_AGGREGATE (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_STATS: {
      GstStructure *stats = gst_structure_new ("ddnn-aggregate-stats",
          "samples", G_TYPE_UINT64, self->samples, NULL);
      guint v, n = self->model ? ddnn_model_get_n_views (self->model) : 0;

      for (v = 0; v < n; v++) {
        gchar *field = g_strdup_printf ("missing-view-%u", v);

        gst_structure_set (stats, field, G_TYPE_UINT64, self->missing[v], NULL);
        g_free (field);
      }
      g_value_take_boxed (value, stats);
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_aggregate_finalize (GObject *object)
{
  GstDdnnAggregate *self = GST_DDNN_AGGREGATE (object);

  g_free (self->model_path);
  G_OBJECT_CLASS (gst_ddnn_aggregate_parent_class)->finalize (object);
}

static void
gst_ddnn_aggregate_class_init (GstDdnnAggregateClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstAggregatorClass *agg_class = GST_AGGREGATOR_CLASS (klass);

  gobject_class->set_property = gst_ddnn_aggregate_set_property;
  gobject_class->get_property = gst_ddnn_aggregate_get_property;
  gobject_class->finalize = gst_ddnn_aggregate_finalize;

  /**
   * GstDdnnAggregate:model:
   *
   * The model whose fusion modes apply; its id must match the cameras'.
   */
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "DDNN model file (.safetensors) whose fusion applies", DEFAULT_MODEL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstDdnnAggregate:stats:
   *
   * Samples given so far, and per view how many of them it was missing
   * from (fields "samples" and "missing-view-N").
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Samples fused, and how often each view was missing",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template_with_gtype (
      element_class, &sink_template, GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype (
      element_class, &src_template, GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_set_static_metadata (element_class, "DDNN aggregate",
      "Filter/Analyzer",
      "Fuses the cameras' DDNN results of each sample (request pads sink_%u) "
      "into one application/x-ddnn buffer; example: ddnnaggregate name=f "
      "model=m.safetensors ! ddnnexit  cam0 ! ddnndevice view=0 ! f.",
      "ddnn-gst developers");

  agg_class->start = GST_DEBUG_FUNCPTR (gst_ddnn_aggregate_start);
  agg_class->stop = GST_DEBUG_FUNCPTR (gst_ddnn_aggregate_stop);
  agg_class->aggregate = GST_DEBUG_FUNCPTR (gst_ddnn_aggregate_aggregate);
  agg_class->update_src_caps = GST_DEBUG_FUNCPTR (
      gst_ddnn_aggregate_update_src_caps);

  GST_DEBUG_CATEGORY_INIT (
      gst_ddnn_aggregate_debug, "ddnnaggregate", 0, "DDNN aggregate");
}

static void
gst_ddnn_aggregate_init (GstDdnnAggregate *self)
{}
