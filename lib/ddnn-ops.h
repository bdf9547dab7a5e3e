/* libddnn: forward kernels of the layers, one sample at a time.
 *
 * Activations are stored channel-major (C x H x W).  Float weights of a
 * convolution are [out_channels][in_channels * kernel_h * kernel_w] with the
 * inner index ordered (channel, row, column), the order im2col produces.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include "ddnn-error.h"

G_BEGIN_DECLS

typedef struct
{
  guint in_channels, in_height, in_width;
  guint out_channels, kernel_h, kernel_w, stride, pad;
  guint out_height, out_width;
} DdnnConvShape;

typedef enum
{
  DDNN_FUSION_MAX,
  DDNN_FUSION_AVG,
  DDNN_FUSION_CONCAT,
} DdnnFusion;

/* floor((in + 2 pad - kernel) / stride) + 1, or 0 when the window does not
 * fit or an argument is 0. */
guint ddnn_pool_out_size (guint in, guint kernel, guint stride, guint pad);

gboolean ddnn_conv_shape_init (DdnnConvShape *shape, guint in_channels,
    guint in_height, guint in_width, guint out_channels, guint kernel_h,
    guint kernel_w, guint stride, guint pad, GError **error);

static inline gsize
ddnn_conv_patch_size (const DdnnConvShape *s)
{
  return (gsize) s->in_channels * s->kernel_h * s->kernel_w;
}

static inline gsize
ddnn_conv_out_pixels (const DdnnConvShape *s)
{
  return (gsize) s->out_height * s->out_width;
}

/* Float convolution: im2col into @col (patch_size x out_pixels floats), then
 * one sgemm.  @bias may be NULL.  A 1x1, stride-1, unpadded convolution skips
 * im2col and may pass @col NULL; a stride-1 convolution with a small
 * patch runs directly, without sgemm. */
void ddnn_im2col (const DdnnConvShape *s, const float *input, float *col);
#define DDNN_CONV_MAX_TAPS 256

/* Floats of @col that ddnn_conv2d_f32() needs. */
gsize ddnn_conv2d_scratch_size (const DdnnConvShape *s);
void ddnn_conv2d_f32 (const DdnnConvShape *s, const float *input,
    const float *weight, const float *bias, float *col, float *output);

/* Binary convolution by XNOR-popcount.  Inputs and weights are +/-1, stored
 * as bits (1 = +1).  Zero padding contributes nothing, as it does in the
 * float convolution of the same +/-1 values.
 *
 * The input is re-laid out per pixel: ddnn_binary_words_per_pixel() 64-bit
 * words hold the channels of one pixel.  Weights are re-laid out the same
 * way, per filter and kernel tap. */
static inline guint
ddnn_binary_words_per_pixel (guint channels)
{
  return (channels + 63) / 64;
}

void ddnn_bits_chw_to_hwc (const guint8 *bits, guint channels, guint height,
    guint width, guint64 *hwc);
void ddnn_binary_conv_pack_weights (
    const DdnnConvShape *s, const guint8 *weight_bits, guint64 *packed);
void ddnn_binary_conv2d (const DdnnConvShape *s, const guint64 *input_hwc,
    const guint64 *packed_weights, const float *bias, float *output);

#define DDNN_POOL_MAX_WIDTH 4096

/* Inputs may be at most DDNN_POOL_MAX_WIDTH wide. */
void ddnn_max_pool2d (guint channels, guint height, guint width, guint kernel,
    guint stride, guint pad, const float *input, float *output);
/* Average over the window's cells that lie inside the input (padding is not
 * counted). */
void ddnn_avg_pool2d (guint channels, guint height, guint width, guint kernel,
    guint stride, guint pad, const float *input, float *output);

/* Batch norm in inference form: y = x * scale + shift per channel, with
 * scale = gamma / sqrt(var + eps) and shift = beta - mean * scale. */
void ddnn_batch_norm_fold (guint channels, const float *gamma,
    const float *beta, const float *mean, const float *var, float eps,
    float *scale, float *shift);
void ddnn_channel_affine (guint channels, gsize spatial, const float *scale,
    const float *shift, float *data);
/* Batch norm followed by ReLU, in place. */
void ddnn_channel_affine_relu (guint channels, gsize spatial,
    const float *scale, const float *shift, float *data);
/* Batch norm followed by sign, straight to packed bits (canonical order). */
void ddnn_channel_affine_sign_bits (guint channels, gsize spatial,
    const float *scale, const float *shift, const float *input, guint8 *bits);

/* sign(x) is +1 for x >= 0 and -1 otherwise. */
void ddnn_sign (gsize n, const float *input, float *output);
void ddnn_relu (gsize n, float *data);

/* output[o] = sum_i weight[o][i] * input[i] + bias[o]; @bias may be NULL. */
void ddnn_linear_f32 (guint in_features, guint out_features, const float *input,
    const float *weight, const float *bias, float *output);
/* Binary linear on packed bits.  @input and each weight row are
 * ddnn_binary_row_words() little-endian 64-bit words with unused bits 0. */
static inline guint
ddnn_binary_row_words (guint n_bits)
{
  return (n_bits + 63) / 64;
}

void ddnn_binary_linear (guint in_features, guint out_features,
    const guint64 *input, const guint64 *weight, const float *bias,
    float *output);

/* Numerically stable softmax. */
void ddnn_softmax (guint n, const float *logits, float *probs);
/* eta = -sum p_i log p_i / log n, in [0, 1]; 0 log 0 is taken as 0. */
float ddnn_normalized_entropy (guint n, const float *probs);
guint ddnn_argmax (guint n, const float *values);

/* Fusion of views.  @views[v] is NULL for a view that is missing.  max and
 * avg take the present views only; concat places view v at v * @n and fills
 * a missing view with zeros.  Fails when no view is present. */
gboolean ddnn_fuse_f32 (DdnnFusion mode, guint n_views,
    const float *const *views, gsize n, float *output, GError **error);
/* The same on packed +/-1 bits: max is OR, concat appends bit strings.  avg
 * and missing views are not representable in bits: use ddnn_fuse_f32. */
gboolean ddnn_fuse_bits (DdnnFusion mode, guint n_views,
    const guint8 *const *views, gsize n_bits, guint8 *output, GError **error);

const gchar *ddnn_fusion_name (DdnnFusion mode);
gboolean ddnn_fusion_from_name (const gchar *name, DdnnFusion *mode);

G_END_DECLS
