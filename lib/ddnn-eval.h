/* libddnn: one sample through every tier, as a deployment would run it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ddnn-dataset.h"
#include "ddnn-model.h"

G_BEGIN_DECLS

typedef struct
{
  guint64 view_mask; /* the views that took part */
  guint n_views;
  guint device_class[DDNN_MAX_VIEWS];
  guint local_class;
  float local_entropy;
  gboolean has_edge;
  guint edge_class;
  float edge_entropy;
  guint cloud_class;
  float cloud_entropy;
  /* the answer at the thresholds given */
  DdnnTier tier;
  guint answer;
  /* bytes the devices send by the paper's cost model: 4 C bytes of
   * float scores from each device, plus its features when the sample does
   * not exit locally */
  gsize device_bytes;
  /* features the cloud section receives for the sample: the edge's when
   * there is an edge, else the devices'; 0 when it does not reach the
   * cloud */
  gsize cloud_bytes;
} DdnnSampleResult;

typedef struct _DdnnRunner DdnnRunner;

/* Holds the per-section results a sample needs; one runner per thread. */
DdnnRunner *ddnn_runner_new (DdnnModel *model);
void ddnn_runner_free (DdnnRunner *runner);

/* Runs sample @views (NULL for a camera that is missing) through the
 * devices, the local exit, the edge (if any) and the cloud.  The cloud runs
 * whatever the exit decision, so that its answer is known for any
 * threshold; @result->tier and answer follow the thresholds given. */
gboolean ddnn_runner_run (DdnnRunner *runner, const guint8 *const *views,
    gsize stride, double local_threshold, double edge_threshold,
    DdnnSampleResult *result, GError **error);

/* What the last ddnn_runner_run() computed, valid until the next: the
 * device section of @view, the edge's (NULL without an edge section), the
 * cloud's, and the fused local scores. */
const DdnnSectionResult *ddnn_runner_get_device (
    const DdnnRunner *runner, guint view);
const DdnnSectionResult *ddnn_runner_get_edge (const DdnnRunner *runner);
const DdnnSectionResult *ddnn_runner_get_cloud (const DdnnRunner *runner);
const float *ddnn_runner_get_local_scores (const DdnnRunner *runner);

/* The decision for other thresholds, from a result already computed. */
void ddnn_sample_result_decide (const DdnnModel *model,
    DdnnSampleResult *result, double local_threshold, double edge_threshold);

/* Bytes a device sends: scores only, or scores and features. */
gsize ddnn_model_device_bytes (const DdnnModel *model, gboolean with_features);

/* The default thresholds, chosen on samples [first, first + count) of
 * @data held out of training, never on the test split: the local threshold
 * under which @local_fraction of them exit locally, and, when
 * @edge_fraction > 0 (models with an edge section only), the edge threshold
 * under which @edge_fraction of them (of all, not of those that go on) exit
 * at the edge. @edge_threshold is left alone when @edge_fraction is 0. */
gboolean ddnn_choose_thresholds (DdnnModel *model, const DdnnDataset *data,
    guint first, guint count, double local_fraction, double edge_fraction,
    double *local_threshold, double *edge_threshold, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdnnRunner, ddnn_runner_free)

G_END_DECLS
