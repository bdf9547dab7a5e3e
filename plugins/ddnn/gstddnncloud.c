/* ddnncloud: an upper section (edge or cloud) of a DDNN on fused samples.
 * SPDX-License-Identifier: LGPL-2.1-or-later */

/**
 * SECTION:element-ddnncloud
 * @title: ddnncloud
 *
 * Runs the cloud section (or, with `section=edge`, the edge section) of a
 * DDNN on the fused features that `ddnnaggregate` put in each sample's
 * #GstDdnnMeta, replaces the meta's scores and entropy with its own and
 * marks the tier.  The payload of every buffer it sends is the sample's
 * wire frame.
 *
 * The cloud answers every sample: it posts a `ddnn-result` message and the
 * sample leaves on `src`.  The edge has an exit of its own: a sample whose
 * normalized entropy is below #GstDdnnCloud:threshold is answered there
 * (`ddnn-result` with tier "edge", out on `src`); the rest leave on `next`
 * carrying the edge's features, for a `ddnncloud section=cloud`.  The pad
 * that gets nothing for a sample gets a GAP event, and the two pads' flows
 * are combined, as in `ddnnexit`.
 *
 * Buffers that carry no meta (frames read back by `filesrc ! ddnnparse`, or
 * from a socket) are parsed from their payload; a malformed frame is
 * dropped with a warning that gives the reason, and counted in
 * #GstDdnnCloud:rejected.
 *
 * ## Example launch lines
 * |[
 * ... ! ddnnexit name=x  x.exit ! queue ! fakesink \
 *     x.next ! queue ! ddnncloud model=m.safetensors ! fakesink
 * ... ! ddnnexit name=x  x.exit ! queue ! fakesink \
 *     x.next ! queue ! ddnncloud model=m.safetensors section=edge name=e \
 *     e.src ! queue ! fakesink \
 *     e.next ! queue ! ddnncloud model=m.safetensors section=cloud ! fakesink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gstddnnmodel.h>
#include "gstddnnadaptive.h"
#include "gstddnncloud.h"
#include "gstddnnelement.h"

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
  PROP_THRESHOLD,
  PROP_RESULTS,
  PROP_SITE,
  PROP_REJECTED,
  /* then max-accuracy-drop, max-offload, audit-rate, adaptive (an edge's) */
  PROP_ADAPT_FIRST,
};

#define DEFAULT_MODEL NULL
#define DEFAULT_RESULTS NULL
#define DEFAULT_SECTION "cloud"
#define DEFAULT_THRESHOLD -1.0

struct _GstDdnnCloud
{
  GstElement parent;

  GstPad *sinkpad, *srcpad, *nextpad;
  GstFlowCombiner *combiner;

  /* properties, under the object lock */
  gchar *model_path;
  gchar *results_path;
  gchar *site;
  gchar *section_name;
  gdouble threshold;
  guint64 rejected;
  GstDdnnAdaptSettings adapt_settings;

  /* from READY to PAUSED until PAUSED to READY */
  GstDdnnResultWriter *results;
  /* the site property as it was at READY to PAUSED, for the records */
  gchar *site_used;
  DdnnModel *model;
  DdnnSection *section;
  DdnnSectionResult result;
  /* -1 until asked: whether answers go back upstream (a ddnnsrc there) */
  gint answers_up;
  /* an edge's adaptive threshold (set and cleared under the object lock) */
  GstDdnnAdapt *adapt;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (GST_DDNN_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE (
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (GST_DDNN_CAPS));
static GstStaticPadTemplate next_template = GST_STATIC_PAD_TEMPLATE (
    "next", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (GST_DDNN_CAPS));

G_DEFINE_TYPE (GstDdnnCloud, gst_ddnn_cloud, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (
    ddnncloud, "ddnncloud", GST_RANK_NONE, GST_TYPE_DDNN_CLOUD);

static gboolean
gst_ddnn_cloud_start (GstDdnnCloud *self)
{
  g_autofree gchar *path = NULL, *name = NULL, *results = NULL;
  GstDdnnAdapt *adapt;
  gdouble threshold;

  GST_OBJECT_LOCK (self);
  threshold = self->threshold;
  path = g_strdup (self->model_path);
  name = g_strdup (self->section_name);
  results = g_strdup (self->results_path);
  g_free (self->site_used);
  self->site_used = g_strdup (self->site);
  self->rejected = 0;
  GST_OBJECT_UNLOCK (self);
  gst_flow_combiner_reset (self->combiner);
  self->answers_up = -1;
  if (strcmp (name, "edge") != 0 && strcmp (name, "cloud") != 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Unknown section '%s': use edge or cloud", name), (NULL));
    return FALSE;
  }
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
    return FALSE;
  }
  if (!gst_ddnn_adapt_start (GST_ELEMENT (self), &self->adapt_settings,
          ddnn_model_resolve_threshold (self->model, DDNN_TIER_EDGE, threshold),
          0, 0, &adapt))
    return FALSE;
  if (adapt && strcmp (name, "edge") != 0) {
    gst_ddnn_adapt_free (adapt);
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("A target needs an exit: section=edge"),
        ("the cloud answers every sample; give max-accuracy-drop or "
         "max-offload to an edge (section=edge) or to ddnnexit"));
    return FALSE;
  }
  GST_OBJECT_LOCK (self);
  self->adapt = adapt;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static void
gst_ddnn_cloud_stop (GstDdnnCloud *self)
{
  GstDdnnAdapt *adapt;

  ddnn_section_result_clear (&self->result);
  self->section = NULL;
  g_clear_pointer (&self->model, ddnn_model_unref);
  g_clear_pointer (&self->results, gst_ddnn_result_writer_close);
  GST_OBJECT_LOCK (self);
  adapt = g_steal_pointer (&self->adapt);
  GST_OBJECT_UNLOCK (self);
  gst_ddnn_adapt_free (adapt);
}

static GstFlowReturn
gst_ddnn_cloud_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstDdnnCloud *self = GST_DDNN_CLOUD (parent);
  DdnnTier tier = ddnn_section_get_tier (self->section);
  GstDdnnMeta *meta;
  GError *error = NULL;
  gdouble threshold;
  gboolean exits, audit = FALSE;

  buffer = gst_buffer_make_writable (buffer);
  meta = gst_ddnn_element_take_meta (
      GST_ELEMENT (self), buffer, &self->rejected);
  if (!meta)
    return GST_FLOW_OK;
  if (!meta->features) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Sample %" G_GUINT64_FORMAT " carries no features", meta->sample),
        ("ddnncloud needs the fused features that ddnnaggregate (or an "
         "edge) gives"));
    gst_buffer_unref (buffer);
    return GST_FLOW_ERROR;
  }
  if (!gst_ddnn_meta_has_model (meta, ddnn_model_get_id (self->model))) {
    GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
        ("The sample comes from another model"),
        ("sample model %s, this element's model %s", meta->model_id,
            ddnn_model_get_id (self->model)));
    gst_buffer_unref (buffer);
    return GST_FLOW_ERROR;
  }
  if (!ddnn_section_run (
          self->section, meta->features, &self->result, &error)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("The %s section cannot take this sample",
            ddnn_section_get_name (self->section)),
        ("%s", error->message));
    g_error_free (error);
    gst_buffer_unref (buffer);
    return GST_FLOW_ERROR;
  }
  memcpy (meta->scores, self->result.scores,
      MIN (meta->n_classes, self->result.n_classes) * sizeof (float));
  meta->entropy = self->result.entropy;
  meta->tier = tier;
  gst_ddnn_meta_set_features (meta, self->result.features);

  GST_OBJECT_LOCK (self);
  threshold = self->threshold;
  GST_OBJECT_UNLOCK (self);
  if (self->adapt && meta->exit != GST_DDNN_EXIT_AUDIT) {
    DdnnDecision d = gst_ddnn_adapt_decide (self->adapt, meta);

    exits = d != DDNN_DECIDE_NEXT;
    audit = d == DDNN_DECIDE_EXIT_AUDIT;
  } else {
    exits = ddnn_model_exits (self->model, tier, threshold, meta->entropy);
  }
  if (meta->exit == GST_DDNN_EXIT_AUDIT) {
    /* answered below already: the answer only goes back up, to teach the
     * exit that sent it, and the copy ends here (an edge that would not
     * answer it passes it on, still an audit) */
    if (exits) {
      GstStructure *answer = gst_ddnn_result_new (meta,
          ddnn_model_get_class_name (self->model, self->result.class_index),
          self->site_used, -1);

      gst_structure_set_name (answer, GST_DDNN_ANSWER_EVENT);
      gst_structure_set (answer, "audit", G_TYPE_BOOLEAN, TRUE, NULL);
      gst_pad_push_event (self->sinkpad,
          gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM, answer));
      gst_buffer_unref (buffer);
      return GST_FLOW_OK;
    }
  } else {
    meta->exit = exits ? GST_DDNN_EXIT_LOCAL : GST_DDNN_EXIT_NEXT;
  }
  if (exits)
    gst_ddnn_post_result (GST_ELEMENT (self),
        gst_ddnn_answer_pad (self->sinkpad, &self->answers_up), buffer, meta,
        ddnn_model_get_class_name (self->model, self->result.class_index),
        self->site_used, self->results);

  /* the payload follows the meta */
  if (!gst_ddnn_buffer_set_frame (buffer, meta,
          ddnn_model_get_score_format (self->model) == DDNN_SCORES_INT8,
          /* an answer needs no features; a sample going on (or an audit's
           * copy) does */
          !exits || audit, &error)) {
    GST_ELEMENT_ERROR (self, STREAM, ENCODE, ("Cannot write the frame"),
        ("%s", error->message));
    g_error_free (error);
    gst_buffer_unref (buffer);
    return GST_FLOW_ERROR;
  }

  /* an audited edge answer: a copy goes on, to teach the threshold */
  if (audit)
    gst_ddnn_adapt_send_audit (
        self->adapt, buffer, self->nextpad, self->combiner);
  return exits ? gst_ddnn_push_routed (
                     self->combiner, self->srcpad, self->nextpad, buffer)
               : gst_ddnn_push_routed (
                     self->combiner, self->nextpad, self->srcpad, buffer);
}

/* At EOS an adaptive edge posts its figures, as ddnnexit does. */
static gboolean
gst_ddnn_cloud_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstDdnnCloud *self = GST_DDNN_CLOUD (parent);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && self->adapt)
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (
            GST_OBJECT (self), gst_ddnn_adapt_stats (self->adapt)));
  return gst_pad_event_default (pad, parent, event);
}

/* An adaptive edge learns from the cloud's answers coming back up. */
static gboolean
gst_ddnn_cloud_next_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstDdnnCloud *self = GST_DDNN_CLOUD (parent);

  if (gst_ddnn_adapt_next_event (self->adapt, event,
          gst_ddnn_answer_pad (self->sinkpad, &self->answers_up) != NULL))
    return TRUE;
  return gst_pad_event_default (pad, parent, event);
}

static gboolean
gst_ddnn_cloud_next_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstDdnnCloud *self = GST_DDNN_CLOUD (parent);

  return gst_ddnn_adapt_next_query (self->adapt, query) ||
      gst_pad_query_default (pad, parent, query);
}

static GstStateChangeReturn
gst_ddnn_cloud_change_state (GstElement *element, GstStateChange transition)
{
  GstDdnnCloud *self = GST_DDNN_CLOUD (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED &&
      !gst_ddnn_cloud_start (self)) {
    /* what start () made before it failed (the results file) */
    gst_ddnn_cloud_stop (self);
    return GST_STATE_CHANGE_FAILURE;
  }
  ret = GST_ELEMENT_CLASS (gst_ddnn_cloud_parent_class)
            ->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    gst_ddnn_cloud_stop (self);
  return ret;
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
      g_free (self->site);
      g_free (self->site_used);
      self->results_path = g_value_dup_string (value);
      break;
    case PROP_SITE:
      g_free (self->site);
      self->site = g_value_dup_string (value);
      break;
    case PROP_SECTION:
      g_free (self->section_name);
      self->section_name = g_value_dup_string (value);
      if (!self->section_name)
        self->section_name = g_strdup (DEFAULT_SECTION);
      break;
    case PROP_THRESHOLD:
      self->threshold = g_value_get_double (value);
      break;
    default:
      if (!gst_ddnn_adapt_set_property (
              &self->adapt_settings, PROP_ADAPT_FIRST, prop_id, value))
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
    case PROP_SITE:
      g_value_set_string (value, self->site);
      break;
    case PROP_SECTION:
      g_value_set_string (value, self->section_name);
      break;
    case PROP_THRESHOLD:
      g_value_set_double (value, self->threshold);
      break;
    case PROP_REJECTED:
      g_value_set_uint64 (value, self->rejected);
      break;
    default:
      if (!gst_ddnn_adapt_get_property (&self->adapt_settings, self->adapt,
              PROP_ADAPT_FIRST, prop_id, value))
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
  gst_flow_combiner_free (self->combiner);
  G_OBJECT_CLASS (gst_ddnn_cloud_parent_class)->finalize (object);
}

static void
gst_ddnn_cloud_class_init (GstDdnnCloudClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->set_property = gst_ddnn_cloud_set_property;
  gobject_class->get_property = gst_ddnn_cloud_get_property;
  gobject_class->finalize = gst_ddnn_cloud_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_ddnn_cloud_change_state);

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
   * GstDdnnCloud:threshold:
   *
   * The edge's exit: a sample is answered at the edge when the normalized
   * entropy of the edge's scores is below this, else it goes on `next`.
   * -1 takes the model's edge threshold.  The cloud answers everything.
   */
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "Edge only: answer when the normalized entropy is below this, else "
          "send the sample on 'next' (-1 = the model's edge threshold)",
          -1.0, 1.0, DEFAULT_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));

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

  /**
   * GstDdnnCloud:site:
   *
   * The site or source id that this element's answer records carry (the
   * `site` field of ddnn-result messages, results files and ddnnpublish's
   * records); NULL gives the host name.
   */
  g_object_class_install_property (gobject_class, PROP_SITE,
      g_param_spec_string ("site", "Site",
          "Site id in the answer records (NULL: the host name)", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstDdnnCloud:rejected:
   *
   * How many malformed frames were dropped since READY to PAUSED.
   */
  g_object_class_install_property (gobject_class, PROP_REJECTED,
      g_param_spec_uint64 ("rejected", "Rejected",
          "Malformed frames dropped (each with a warning giving the reason)", 0,
          G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /* max-accuracy-drop, max-offload, audit-rate and adaptive: an edge's
   * adaptive threshold (section=edge only; see lib/ddnn-adaptive.h) */
  gst_ddnn_adapt_install_properties (gobject_class, PROP_ADAPT_FIRST, "edge");

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_add_static_pad_template (element_class, &next_template);
  gst_element_class_set_static_metadata (element_class, "DDNN cloud section",
      "Filter/Analyzer",
      "Runs a DDNN's cloud (or edge) section on fused samples and posts its "
      "answers on 'src'; an edge sends the samples it is unsure of on "
      "'next'; example: ddnnexit name=x  x.next ! ddnncloud "
      "model=m.safetensors ! fakesink",
      "ddnn-gst developers");
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI,
      PACKAGE_ORIGIN "/blob/main/README.md#element-reference");

  GST_DEBUG_CATEGORY_INIT (
      gst_ddnn_cloud_debug, "ddnncloud", 0, "DDNN cloud section");
}

static void
gst_ddnn_cloud_init (GstDdnnCloud *self)
{
  self->section_name = g_strdup (DEFAULT_SECTION);
  self->threshold = DEFAULT_THRESHOLD;

  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_event_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_ddnn_cloud_sink_event));
  gst_pad_set_chain_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_ddnn_cloud_chain));
  GST_PAD_SET_PROXY_CAPS (self->sinkpad);
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  GST_PAD_SET_PROXY_CAPS (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
  gst_ddnn_adapt_settings_init (&self->adapt_settings);
  self->nextpad = gst_pad_new_from_static_template (&next_template, "next");
  gst_pad_set_event_function (
      self->nextpad, GST_DEBUG_FUNCPTR (gst_ddnn_cloud_next_event));
  gst_pad_set_query_function (
      self->nextpad, GST_DEBUG_FUNCPTR (gst_ddnn_cloud_next_query));
  GST_PAD_SET_PROXY_CAPS (self->nextpad);
  gst_element_add_pad (GST_ELEMENT (self), self->nextpad);

  self->combiner = gst_flow_combiner_new ();
  gst_flow_combiner_add_pad (self->combiner, self->srcpad);
  gst_flow_combiner_add_pad (self->combiner, self->nextpad);
}
