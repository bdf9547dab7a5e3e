/* GstDdnnMeta: what a DDNN tier knows about one sample, riding on its buffer.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include <ddnn.h>

G_BEGIN_DECLS

#define GST_DDNN_META_API_TYPE (gst_ddnn_meta_api_get_type ())
#define GST_DDNN_META_INFO (gst_ddnn_meta_get_info ())

/**
 * GstDdnnExitDecision:
 * @GST_DDNN_EXIT_NONE: no exit decision was made yet
 * @GST_DDNN_EXIT_LOCAL: the sample was answered at the tier in the meta
 * @GST_DDNN_EXIT_NEXT: the sample goes on to the next tier
 * @GST_DDNN_EXIT_DEGRADED: the next tier could not answer in time, so this
 *   tier gave its own best answer
 * @GST_DDNN_EXIT_AUDIT: answered locally already; sent on only so that the
 *   next tier's answer teaches an adaptive exit (the next tier answers it
 *   back upstream, flagged audit, and publishes nothing)
 */
typedef enum
{
  GST_DDNN_EXIT_NONE,
  GST_DDNN_EXIT_LOCAL,
  GST_DDNN_EXIT_NEXT,
  GST_DDNN_EXIT_DEGRADED,
  GST_DDNN_EXIT_AUDIT,
} GstDdnnExitDecision;

typedef struct _GstDdnnMeta GstDdnnMeta;

/**
 * GstDdnnMeta:
 * @sample: the sample number, the same on every camera's frame of it
 * @pts: the sender's presentation time
 * @capture_time: when the frame was captured, if known
 * @view: the camera that made it, or -1 once views are fused
 * @view_mask: the views that took part (bit v for view v)
 * @model_id: the model's id (SHA-256, hex); tiers refuse other models'
 * @n_classes: the number of class scores
 * @scores: (array length=n_classes): class scores (logits)
 * @entropy: normalized entropy of softmax(@scores), in [0, 1]
 * @tier: the tier that produced @scores
 * @exit: the exit decision
 * @features: (nullable): the features, shared by reference across copies
 *
 * The meta carries no tags: it describes the sample, not the pixels, so
 * elements that transform the video keep it.
 */
struct _GstDdnnMeta
{
  GstMeta meta;

  guint64 sample;
  GstClockTime pts;
  GstClockTime capture_time;
  gint view;
  guint64 view_mask;
  gchar model_id[DDNN_MODEL_ID_LENGTH + 1];
  guint n_classes;
  float *scores;
  float entropy;
  DdnnTier tier;
  GstDdnnExitDecision exit;
  DdnnTensor *features;
};

GType gst_ddnn_meta_api_get_type (void);
const GstMetaInfo *gst_ddnn_meta_get_info (void);

/* Adds a meta with @n_classes zeroed scores; @model_id is copied. */
GstDdnnMeta *gst_buffer_add_ddnn_meta (
    GstBuffer *buffer, const gchar *model_id, guint n_classes);

#define gst_buffer_get_ddnn_meta(b)                                            \
  ((GstDdnnMeta *) gst_buffer_get_meta ((b), GST_DDNN_META_API_TYPE))

/* Whether the meta comes from the model whose full id is @model_id; a meta
 * parsed from a frame holds the first 16 hex digits only. */
gboolean gst_ddnn_meta_has_model (
    const GstDdnnMeta *meta, const gchar *model_id);

/**
 * gst_ddnn_meta_set_features: (skip)
 *
 * Takes a reference to @features (which may be NULL) and drops the old.
 */
void gst_ddnn_meta_set_features (GstDdnnMeta *meta, DdnnTensor *features);

/* For bindings (GObject introspection: GstDdnn-1.0, e.g. from Python); C
 * code reads the fields. */
GstDdnnMeta *gst_ddnn_buffer_get_meta (GstBuffer *buffer);
const float *gst_ddnn_meta_get_scores (const GstDdnnMeta *meta, guint *n);
guint gst_ddnn_meta_get_class (const GstDdnnMeta *meta);
const gchar *gst_ddnn_meta_get_tier_name (const GstDdnnMeta *meta);
const gchar *gst_ddnn_meta_get_model_id (const GstDdnnMeta *meta);
GBytes *gst_ddnn_meta_get_features (const GstDdnnMeta *meta);
const gchar *gst_ddnn_meta_get_features_dtype (const GstDdnnMeta *meta);
float *gst_ddnn_meta_get_features_as_floats (const GstDdnnMeta *meta, gsize *n);

G_END_DECLS
