/* libddnn: joint training of all exits of a DDNN.
 *
 * The loss is the weighted sum, over exits, of softmax cross-entropy: each
 * device's own exit on its view label (views that do not see the object,
 * and dropped views, are left out), the fused local exit, the edge exit if
 * any, and the cloud exit on the sample label.  Adam, mini-batches, batch
 * norm with batch statistics, binary weights clipped to [-1, 1] and trained
 * through the straight-through estimator.  A run is deterministic for a
 * seed and a thread count.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ddnn-dataset.h"
#include "ddnn-model.h"

G_BEGIN_DECLS

typedef struct
{
  guint epochs;
  guint batch_size;
  float learning_rate;
  guint32 seed;
  guint threads; /* the cameras' sections run on this many threads */
  /* Chance that a camera is left out of a training sample, as if it had
   * failed: it teaches the fusion to do without any one view. */
  float view_drop;
  /* weights of the device exits (each), the local, edge and cloud exits */
  float device_weight, local_weight, edge_weight, cloud_weight;
  /* share of held-out samples that should exit locally (0: not set) */
  double exit_target;
  /* share of held-out samples (of all) that should exit at the edge, for
   * models with an edge section (0: not set) */
  double edge_target;
} DdnnTrainOptions;

typedef struct
{
  guint epoch, epochs;
  guint batch, n_batches;
  guint samples;
  double loss; /* mean over the batches so far */
  double local_accuracy; /* on the training batches so far */
  double cloud_accuracy;
  double samples_per_second;
  double seconds;
} DdnnTrainProgress;

typedef void (*DdnnTrainProgressFunc) (
    const DdnnTrainProgress *progress, gpointer user_data);

typedef struct _DdnnTrainer DdnnTrainer;

/* Defaults (epochs 10, batch 64, lr 1e-3, seed 1, 1 thread, no view drop,
 * all exit weights 1), then whatever the topology's "training" object sets:
 * epochs, batch, lr, view_drop, exit_weights {device, local, edge, cloud}. */
gboolean ddnn_train_options_from_model (
    const DdnnModel *model, DdnnTrainOptions *options, GError **error);

/* Trains the model's own parameters; its weights are replaced by the
 * trainer's fresh, seeded initialisation. */
DdnnTrainer *ddnn_trainer_new (
    DdnnModel *model, const DdnnTrainOptions *options, GError **error);
gboolean ddnn_trainer_run_epoch (DdnnTrainer *trainer, const DdnnDataset *data,
    guint epoch, DdnnTrainProgressFunc progress, gpointer user_data,
    DdnnTrainProgress *summary, GError **error);
/* Writes the trained parameters into the model (binary weights as their
 * signs) and refreshes its digests and id. */
gboolean ddnn_trainer_export (DdnnTrainer *trainer, GError **error);
void ddnn_trainer_free (DdnnTrainer *trainer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdnnTrainer, ddnn_trainer_free)

G_END_DECLS
