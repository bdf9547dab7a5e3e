/* ddnncloud: an upper section (edge or cloud) of a DDNN on fused samples.
 * SPDX-License-Identifier: LGPL-2.1-or-later */

/**
 * SECTION:element-ddnncloud
 * @title: ddnncloud
 *
 * Runs the cloud section (or, with `section=edge`, the edge section) of a
 * DDNN on the fused features that `ddnnaggregate` put in each sample's
 * #GstDdnnMeta, replaces the meta's scores and entropy with its own, marks
 * the tier that answered, posts a `ddnn-result` message and sends the
 * sample on as an `application/x-ddnn` buffer whose payload is the frame.
 *
 * This version answers every sample it gets (the edge's own exit is still
 * to come).
 *
 * ## Example launch line
 * |[
 * ... ! ddnnexit name=x  x.next ! ddnncloud model=m.safetensors ! fakesink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gstddnnmodel.h>
#include "gstddnncloud.h"

#include <gstddnnframe.h>
#include <gstddnnresult.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_ddnn_cloud_debug);
#define GST_CAT_DEFAULT gst_ddnn_cloud_debug

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_SECTION,
  PROP_RESULTS,
};

#define DEFAULT_MODEL NULL
#define DEFAULT_RESULTS NULL
#define DEFAULT_SECTION "cloud"

struct _GstDdnnCloud
{
  GstBaseTransform parent;

  gchar *model_path;
  gchar *results_path;
  GstDdnnResultWriter *results;
  gchar *section_name;

  DdnnModel *model;
  DdnnSection *section;
  DdnnSectionResult result;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (GST_DDNN_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE (
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (GST_DDNN_CAPS));

G_DEFINE_TYPE (GstDdnnCloud, gst_ddnn_cloud, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (
    ddnncloud, "ddnncloud", GST_RANK_NONE, GST_TYPE_DDNN_CLOUD);

static gboolean
gst_ddnn_cloud_start (GstBaseTransform *trans)
{
  GstDdnnCloud *self = GST_DDNN_CLOUD (trans);
  g_autofree gchar *path = NULL, *name = NULL;

  g_autofree gchar *results = NULL;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  name = g_strdup (self->section_name);
  results = g_strdup (self->results_path);
  GST_OBJECT_UNLOCK (self);
  if (results &&
      !(self->results = gst_ddnn_element_open_results (
            GST_ELEMENT (self), results)))
    return FALSE;
  self->model = gst_ddnn_element_load_model (GST_ELEMENT (self), path);
  if (!self->model)
    return FALSE;
  self->section = strcmp (name, "edge") == 0
      ? ddnn_model_get_edge_section (self->model)
      : ddnn_model_get_cloud_section (self->model);
  if (!self->section || !ddnn_section_is_present (self->section)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("The model %s has no %s section", path, name), (NULL));
    g_clear_pointer (&self->model, ddnn_model_unref);
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_ddnn_cloud_stop (GstBaseTransform *trans)
{
  GstDdnnCloud *self = GST_DDNN_CLOUD (trans);

  ddnn_section_result_clear (&self->result);
  self->section = NULL;
  g_clear_pointer (&self->model, ddnn_model_unref);
  g_clear_pointer (&self->results, gst_ddnn_result_writer_close);
  return TRUE;
}

static GstFlowReturn
gst_ddnn_cloud_transform_ip (GstBaseTransform *trans, GstBuffer *buffer)
{
  GstDdnnCloud *self = GST_DDNN_CLOUD (trans);
  GstDdnnMeta *meta = gst_buffer_get_ddnn_meta (buffer);
  GError *error = NULL;

  if (!meta || !meta->features) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("A sample carries no fused features"),
        ("ddnncloud needs GstDdnnMeta with features from ddnnaggregate"));
    return GST_FLOW_ERROR;
  }
  if (strcmp (meta->model_id, ddnn_model_get_id (self->model)) != 0) {
    GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
        ("The sample comes from another model"),
        ("sample model %s, this element's model %s", meta->model_id,
            ddnn_model_get_id (self->model)));
    return GST_FLOW_ERROR;
  }
  if (!ddnn_section_run (
          self->section, meta->features, &self->result, &error)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("The %s section cannot take this sample",
            ddnn_section_get_name (self->section)),
        ("%s", error->message));
    g_error_free (error);
    return GST_FLOW_ERROR;
  }
  memcpy (meta->scores, self->result.scores,
      MIN (meta->n_classes, self->result.n_classes) * sizeof (float));
  meta->entropy = self->result.entropy;
  meta->tier = ddnn_section_get_tier (self->section);
  meta->exit = GST_DDNN_EXIT_LOCAL;
  gst_ddnn_meta_set_features (meta, self->result.features);
  gst_ddnn_post_result (GST_ELEMENT (self), meta,
      ddnn_model_get_class_name (self->model, self->result.class_index),
      self->results);

  /* the payload follows the meta */
  if (!gst_ddnn_buffer_set_frame (buffer, meta,
          ddnn_model_get_score_format (self->model) == DDNN_SCORES_INT8,
          &error)) {
    GST_ELEMENT_ERROR (self, STREAM, ENCODE, ("Cannot write the frame"),
        ("%s", error->message));
    g_error_free (error);
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

static void
gst_ddnn_cloud_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstDdnnCloud *self = GST_DDNN_CLOUD (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_RESULTS:
      g_free (self->results_path);
      self->results_path = g_value_dup_string (value);
      break;
    case PROP_SECTION:
      g_free (self->section_name);
      self->section_name = g_value_dup_string (value);
      if (!self->section_name)
        self->section_name = g_strdup (DEFAULT_SECTION);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_cloud_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstDdnnCloud *self = GST_DDNN_CLOUD (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_RESULTS:
      g_value_set_string (value, self->results_path);
      break;
    case PROP_SECTION:
      g_value_set_string (value, self->section_name);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_cloud_finalize (GObject *object)
{
  GstDdnnCloud *self = GST_DDNN_CLOUD (object);

  g_free (self->model_path);
  g_free (self->results_path);
  g_free (self->section_name);
  G_OBJECT_CLASS (gst_ddnn_cloud_parent_class)->finalize (object);
}

static void
gst_ddnn_cloud_class_init (GstDdnnCloudClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = gst_ddnn_cloud_set_property;
  gobject_class->get_property = gst_ddnn_cloud_get_property;
  gobject_class->finalize = gst_ddnn_cloud_finalize;

  /**
   * GstDdnnCloud:model:
   *
   * The model file, whole or exported with the section that runs here.
   */
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "DDNN model file (.safetensors) holding the section to run",
          DEFAULT_MODEL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnCloud:section:
   *
   * Which upper section runs: "cloud" or "edge".
   */
  g_object_class_install_property (gobject_class, PROP_SECTION,
      g_param_spec_string ("section", "Section",
          "The upper section to run: cloud or edge", DEFAULT_SECTION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstDdnnCloud:results:
   *
   * A file that each answer is appended to as one JSON line (the fields of
   * the ddnn-result message).  Several elements may share it.
   */
  g_object_class_install_property (gobject_class, PROP_RESULTS,
      g_param_spec_string ("results", "Results",
          "Append each answer as a JSON line to this file", DEFAULT_RESULTS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "DDNN cloud section",
      "Filter/Analyzer",
      "Runs a DDNN's cloud (or edge) section on fused samples and posts its "
      "answers; example: ddnnexit name=x  x.next ! ddnncloud "
      "model=m.safetensors ! fakesink",
      "ddnn-gst developers");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_ddnn_cloud_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_ddnn_cloud_stop);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_ddnn_cloud_transform_ip);

  GST_DEBUG_CATEGORY_INIT (
      gst_ddnn_cloud_debug, "ddnncloud", 0, "DDNN cloud section");
}

static void
gst_ddnn_cloud_init (GstDdnnCloud *self)
{
  self->section_name = g_strdup (DEFAULT_SECTION);
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}
