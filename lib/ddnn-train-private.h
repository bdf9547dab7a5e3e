/* libddnn: the trainer's layers, batched, with their backward passes.
 * Exposed to the engine's tests (gradient checks); not installed.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ddnn-model-private.h"

G_BEGIN_DECLS

typedef struct
{
  float *value; /* latent value (float, even for binary) */
  float *grad;
  float *m, *v; /* Adam moments */
  gsize n;
  gboolean clip; /* binary weights: clip to [-1, 1] */
} DdnnTrainParam;

struct _DdnnTrainLayer
{
  const DdnnLayer *spec; /* shapes and hyper-parameters */
  gsize in_size, out_size; /* values per sample */
  guint max_batch;

  DdnnTrainParam weight, bias, gamma, beta;
  float *running_mean, *running_var;
  float *weight_eff; /* what the forward pass multiplies by */

  float *out; /* [batch][out_size] */
  float *dx; /* [batch][in_size] */
  const float *x; /* the input of the last forward pass */

  /* caches for backward */
  float *col; /* conv: [K][batch * P] */
  float *big; /* conv: [Cout][batch * P] */
  guint32 *argmax; /* max pool */
  float *xhat, *inv_std; /* batch norm */
};

DdnnTrainLayer *ddnn_train_layer_new (
    const DdnnLayer *spec, guint max_batch, GRand *rand);
void ddnn_train_layer_free (DdnnTrainLayer *layer);
/* Runs @n samples of @x through the layer into layer->out.  In training
 * mode batch norm uses (and updates the running values from) batch
 * statistics. */
void ddnn_train_layer_forward (
    DdnnTrainLayer *layer, guint n, const float *x, gboolean training);
/* From dL/dout, sets the parameter gradients and, when @want_dx,
 * layer->dx = dL/dx.  Needs the forward pass of the same batch. */
void ddnn_train_layer_backward (
    DdnnTrainLayer *layer, guint n, const float *dy, gboolean want_dx);

/* The rows of the layer table (ddnn-layer.c) for training: a forward pass
 * into l->out and a backward pass into the gradients and l->dx. */
#define DDNN_TRAIN_LAYER_DECLARE(name)                                         \
  void ddnn_train_##name##_forward (                                           \
      DdnnTrainLayer *l, guint n, const float *x, gboolean training);          \
  void ddnn_train_##name##_backward (                                          \
      DdnnTrainLayer *l, guint n, const float *dy, gboolean want_dx)
/* training state of a layer type, made once (NULL in a row: none) */
void ddnn_train_weights_new (DdnnTrainLayer *l, GRand *rand);
void ddnn_train_maxpool_new (DdnnTrainLayer *l, GRand *rand);
void ddnn_train_batchnorm_new (DdnnTrainLayer *l, GRand *rand);
DDNN_TRAIN_LAYER_DECLARE (conv);
DDNN_TRAIN_LAYER_DECLARE (linear);
DDNN_TRAIN_LAYER_DECLARE (pool); /* max and average, by the layer type */
DDNN_TRAIN_LAYER_DECLARE (batchnorm);
DDNN_TRAIN_LAYER_DECLARE (sign);
DDNN_TRAIN_LAYER_DECLARE (relu);

G_END_DECLS
