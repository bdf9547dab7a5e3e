/* libddnn: models, sections and their forward pass.
 *
 * A model is one jointly trained DDNN: a device section per view, an
 * optional edge section and a cloud section.  Each section is a body (layers
 * whose output is the section's features) and an exit classifier (layers
 * that turn the features into class scores).  The topology is JSON; see
 * models/README.md for its fields and the tensor names.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include "ddnn-error.h"
#include "ddnn-ops.h"
#include "ddnn-tensor.h"

G_BEGIN_DECLS

#define DDNN_MODEL_FORMAT "ddnn"
#define DDNN_MODEL_VERSION 1
#define DDNN_MAX_VIEWS 64
#define DDNN_MAX_CLASSES 1024
#define DDNN_MODEL_ID_LENGTH 64 /* hex digits of a SHA-256 */

typedef struct _DdnnModel DdnnModel;
typedef struct _DdnnSection DdnnSection;

typedef enum
{
  DDNN_TIER_DEVICE,
  DDNN_TIER_EDGE,
  DDNN_TIER_CLOUD,
} DdnnTier;

/* How device scores travel to the local fusion ("wire": {"scores": ...}). */
typedef enum
{
  DDNN_SCORES_F32,
  DDNN_SCORES_INT8, /* symmetric, one float16 scale a vector */
} DdnnScoreFormat;

typedef struct
{
  guint channels, height, width;
  /* x = (pixel * scale - mean[c]) / std[c] */
  float scale;
  float mean[4], std[4];
} DdnnInputSpec;

/**
 * DdnnSectionResult:
 * @features: the body's output, shared by reference; BIT when the body ends
 *   in sign, F32 otherwise; shape [C, H, W] or [N]
 * @scores: the exit classifier's logits, one per class
 * @probs: softmax of @scores
 * @entropy: normalized entropy of @probs, in [0, 1]
 * @class_index: argmax of @scores
 *
 * Zero-initialise before the first run; a result can be reused across runs,
 * and ddnn_section_result_clear() frees what it holds.
 */
typedef struct
{
  DdnnTensor *features;
  float *scores;
  float *probs;
  guint n_classes;
  float entropy;
  guint class_index;
} DdnnSectionResult;

typedef struct
{
  guint64 params; /* scalar parameters, one per binary weight */
  guint64 bytes; /* bytes stored: binary weights packed */
  guint64 flops; /* operations per sample, a MAC counting 2 */
  guint64 binary_ops; /* the part of @flops done by XNOR-popcount */
} DdnnSectionCost;

DdnnModel *ddnn_model_load (const gchar *path, GError **error);
DdnnModel *ddnn_model_load_from_bytes (GBytes *bytes, GError **error);
/* A model with freshly initialised weights (seeded, deterministic). */
DdnnModel *ddnn_model_new_from_topology (
    const gchar *topology_json, guint32 seed, GError **error);
GBytes *ddnn_model_serialize (DdnnModel *model, GError **error);
gboolean ddnn_model_save (DdnnModel *model, const gchar *path, GError **error);
/* Writes only the named sections; the model id is kept, so tiers can check
 * they run parts of the same model. */
gboolean ddnn_model_save_sections (DdnnModel *model,
    const gchar *const *section_names, const gchar *path, GError **error);

DdnnModel *ddnn_model_ref (DdnnModel *model);
void ddnn_model_unref (DdnnModel *model);

const gchar *ddnn_model_get_id (const DdnnModel *model);
const gchar *ddnn_model_get_name (const DdnnModel *model);
const gchar *ddnn_model_get_topology (const DdnnModel *model);
guint ddnn_model_get_n_views (const DdnnModel *model);
guint ddnn_model_get_n_classes (const DdnnModel *model);
const gchar *ddnn_model_get_class_name (
    const DdnnModel *model, guint class_index);
const DdnnInputSpec *ddnn_model_get_input (const DdnnModel *model);
DdnnFusion ddnn_model_get_local_fusion (const DdnnModel *model);
DdnnFusion ddnn_model_get_feature_fusion (const DdnnModel *model);
/* Default exit threshold of a tier (device means the fused local exit);
 * negative when the topology sets none. */
double ddnn_model_get_threshold (const DdnnModel *model, DdnnTier tier);
/* The threshold in force at @tier: @threshold when it is 0 or more, else
 * the model's trained one (0, so that nothing exits, when it has none or
 * @model is NULL). */
double ddnn_model_resolve_threshold (
    const DdnnModel *model, DdnnTier tier, double threshold);
/* The exit rule, the one place it lives: whether a sample whose scores at
 * @tier have normalized entropy @entropy is answered there.  It is when
 * the entropy is below the threshold in force
 * (ddnn_model_resolve_threshold: @threshold, or the model's when
 * negative); the cloud, the last tier, answers every sample. */
gboolean ddnn_model_exits (
    const DdnnModel *model, DdnnTier tier, double threshold, double entropy);

guint ddnn_model_get_n_sections (const DdnnModel *model);
DdnnSection *ddnn_model_get_section (const DdnnModel *model, guint index);
DdnnSection *ddnn_model_find_section (
    const DdnnModel *model, const gchar *name);
DdnnSection *ddnn_model_get_device_section (const DdnnModel *model, guint view);
/* The edge section when there is one, else NULL. */
DdnnSection *ddnn_model_get_edge_section (const DdnnModel *model);
DdnnSection *ddnn_model_get_cloud_section (const DdnnModel *model);

const gchar *ddnn_section_get_name (const DdnnSection *section);
DdnnTier ddnn_section_get_tier (const DdnnSection *section);
const gchar *ddnn_tier_name (DdnnTier tier);
/* FALSE when the file this model came from does not hold the section. */
gboolean ddnn_section_is_present (const DdnnSection *section);
/* The view of a device section, -1 for the others. */
gint ddnn_section_get_view (const DdnnSection *section);
void ddnn_section_get_cost (const DdnnSection *section, DdnnSectionCost *cost);
/* The dtype and shape of the features the body outputs. */
/* How many values the section takes as input (its fused input, for an
 * edge or cloud section). */
gsize ddnn_section_get_input_size (const DdnnSection *section);
void ddnn_section_get_features_spec (
    const DdnnSection *section, DdnnDtype *dtype, guint *n_dims, gsize *shape);
/* A description of the layers, one line each. */
gchar *ddnn_section_describe (const DdnnSection *section);

/* Runs a section.  A section keeps its own scratch memory: run one section
 * from one thread at a time. */
gboolean ddnn_section_run (DdnnSection *section, const DdnnTensor *input,
    DdnnSectionResult *result, GError **error);
/* A device section on an 8-bit image of the model's input size, rows
 * @stride bytes apart, @channels interleaved (1 for GRAY8, 3 for RGB). */
gboolean ddnn_section_run_image (DdnnSection *section, const guint8 *pixels,
    guint width, guint height, guint channels, gsize stride,
    DdnnSectionResult *result, GError **error);
/* An edge or cloud section on the features of the tier below, fused by the
 * model's feature fusion.  @features[v] is NULL for a missing view. */
gboolean ddnn_section_run_fused (DdnnSection *section,
    DdnnTensor *const *features, guint n_inputs, DdnnSectionResult *result,
    GError **error);
void ddnn_section_result_clear (DdnnSectionResult *result);

/* What ddnn_section_run_fused() feeds the edge (or the cloud when there is
 * no edge): the views' features fused by the model's feature fusion, as a
 * new tensor (1-bit when every view is present as bits and the fusion is
 * max or concat, else float with zeros for missing views). */
DdnnTensor *ddnn_model_fuse_features (const DdnnModel *model,
    DdnnTensor *const *features, guint n_views, GError **error);
/* The same with another feature fusion than the model's; it must give the
 * upper section's input size (see ddnn_model_check_fusion()). */
DdnnTensor *ddnn_model_fuse_features_as (const DdnnModel *model,
    DdnnFusion mode, DdnnTensor *const *features, guint n_views,
    GError **error);
/* Whether @local_mode gives class scores and @feature_mode gives what the
 * model's edge (or cloud) section takes; the error says why not. */
gboolean ddnn_model_check_fusion (const DdnnModel *model, DdnnFusion local_mode,
    DdnnFusion feature_mode, GError **error);

/* Fuses the device exits' scores by the model's local fusion, as the wire
 * carries them (int8 scores are quantized first); writes the fused scores,
 * their softmax and normalized entropy. */
gboolean ddnn_model_fuse_scores (const DdnnModel *model,
    const float *const *scores, guint n_views, float *fused, float *probs,
    float *entropy, GError **error);
/* The same with another local fusion than the model's (max or avg). */
gboolean ddnn_model_fuse_scores_as (const DdnnModel *model, DdnnFusion mode,
    const float *const *scores, guint n_views, float *fused, float *probs,
    float *entropy, GError **error);

DdnnScoreFormat ddnn_model_get_score_format (const DdnnModel *model);
/* Bytes of one device's scores on the wire. */
gsize ddnn_model_score_bytes (const DdnnModel *model);
/* Rounds @scores to what int8 on the wire keeps, as floats. */
void ddnn_scores_quantize_int8 (
    guint n, const float *scores, float *dequantized);
/* Sets a default exit threshold; it is part of the topology, so the model
 * id changes. */
gboolean ddnn_model_set_threshold (
    DdnnModel *model, DdnnTier tier, double threshold, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdnnModel, ddnn_model_unref)

/* The device template (models/README.md, "device"): @expanded gets the
 * long form of @topology, one device section a view, or NULL when it has no
 * template.  FALSE, with @error, for a template that is not well formed. */
gboolean ddnn_topology_expand (
    const gchar *topology, gchar **expanded, GError **error);

/* The short form of @topology, pretty-printed: the device section most views
 * share becomes the template, and only the views that differ keep their
 * own.  Expanding it gives @topology's long form back, member for member. */
gchar *ddnn_topology_shorten (const gchar *topology, GError **error);

G_END_DECLS
