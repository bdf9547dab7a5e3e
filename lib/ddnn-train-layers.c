/* libddnn: the trainer's layers, batched, forward and backward.
 *
 * Everything is float during training.  A binary layer keeps latent float
 * weights, multiplies by their signs, and passes gradients straight through
 * to the latent weights (clipped to [-1, 1] after each step); sign passes
 * gradients where |x| <= 1 (the straight-through estimator).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-train-private.h"
#include "ddnn-kernel.h"
#include "ddnn-blas.h"
#include "ddnn-tensor.h"

#include <math.h>
#include <string.h>

static float *
alloc_floats (gsize n)
{
  return ddnn_aligned_alloc0 (MAX (n, 1) * sizeof (float));
}

static void
param_init (DdnnTrainParam *p, gsize n, gboolean clip)
{
  p->n = n;
  p->clip = clip;
  p->value = alloc_floats (n);
  p->grad = alloc_floats (n);
  p->m = alloc_floats (n);
  p->v = alloc_floats (n);
}

static void
param_clear (DdnnTrainParam *p)
{
  g_clear_pointer (&p->value, ddnn_aligned_free);
  g_clear_pointer (&p->grad, ddnn_aligned_free);
  g_clear_pointer (&p->m, ddnn_aligned_free);
  g_clear_pointer (&p->v, ddnn_aligned_free);
}

/* The rows' training state: weights drawn uniformly in +/- sqrt (6 /
 * (fan in + fan out)), the buffers each pass keeps for the backward. */
void
ddnn_train_weights_new (DdnnTrainLayer *l, GRand *rand)
{
  const DdnnLayer *spec = l->spec;
  gsize fan_in = spec->type == DDNN_LAYER_CONV2D
      ? ddnn_conv_patch_size (&spec->conv)
      : spec->in_c;
  gsize n = (gsize) spec->out * fan_in, i;
  double limit = sqrt (6.0 / (double) (fan_in + spec->out));

  param_init (&l->weight, n, spec->binary);
  for (i = 0; i < n; i++)
    l->weight.value[i] = (float) g_rand_double_range (rand, -limit, limit);
  l->weight_eff = alloc_floats (n);
  if (spec->has_bias)
    param_init (&l->bias, spec->out, FALSE);
  if (spec->type == DDNN_LAYER_CONV2D) {
    gsize p = ddnn_conv_out_pixels (&spec->conv);

    /* one patch matrix a group, kept for the backward pass */
    l->col = alloc_floats (fan_in * p * l->max_batch * spec->groups);
    l->big = alloc_floats ((gsize) spec->out * p * l->max_batch);
  }
}

void
ddnn_train_maxpool_new (DdnnTrainLayer *l, GRand *rand)
{
  l->argmax = ddnn_aligned_alloc0 (l->max_batch * l->out_size * 4);
}

void
ddnn_train_batchnorm_new (DdnnTrainLayer *l, GRand *rand)
{
  guint c, channels = l->spec->in_c;

  param_init (&l->gamma, channels, FALSE);
  param_init (&l->beta, channels, FALSE);
  l->running_mean = alloc_floats (channels);
  l->running_var = alloc_floats (channels);
  for (c = 0; c < channels; c++) {
    l->gamma.value[c] = 1.0f;
    l->running_var[c] = 1.0f;
  }
  l->xhat = alloc_floats (l->max_batch * l->in_size);
  l->inv_std = alloc_floats (channels);
}

DdnnTrainLayer *
ddnn_train_layer_new (const DdnnLayer *spec, guint max_batch, GRand *rand)
{
  DdnnTrainLayer *l = g_new0 (DdnnTrainLayer, 1);

  l->spec = spec;
  l->max_batch = max_batch;
  l->in_size = (gsize) spec->in_c * spec->in_h * spec->in_w;
  l->out_size = (gsize) spec->out_c * spec->out_h * spec->out_w;
  l->out = alloc_floats (max_batch * l->out_size);
  l->dx = alloc_floats (max_batch * l->in_size);
  if (ddnn_layer_classes[spec->type].train_new)
    ddnn_layer_classes[spec->type].train_new (l, rand);
  return l;
}

void
ddnn_train_layer_free (DdnnTrainLayer *l)
{
  if (!l)
    return;
  param_clear (&l->weight);
  param_clear (&l->bias);
  param_clear (&l->gamma);
  param_clear (&l->beta);
  ddnn_aligned_free (l->running_mean);
  ddnn_aligned_free (l->running_var);
  ddnn_aligned_free (l->weight_eff);
  ddnn_aligned_free (l->out);
  ddnn_aligned_free (l->dx);
  ddnn_aligned_free (l->col);
  ddnn_aligned_free (l->big);
  ddnn_aligned_free (l->argmax);
  ddnn_aligned_free (l->xhat);
  ddnn_aligned_free (l->inv_std);
  g_free (l);
}

static void
update_weight_eff (DdnnTrainLayer *l)
{
  gsize i;

  if (l->spec->binary)
    for (i = 0; i < l->weight.n; i++)
      l->weight_eff[i] = l->weight.value[i] >= 0.0f ? 1.0f : -1.0f;
  else
    memcpy (l->weight_eff, l->weight.value, l->weight.n * sizeof (float));
}

/* The output columns [lo, hi) whose input column ox * stride + kx - pad
 * falls inside the input. */
static void
valid_columns (const DdnnConvShape *s, guint kx, guint *lo, guint *hi)
{
  gint first = (gint) s->pad - (gint) kx;
  gint last = (gint) s->in_width - 1 + (gint) s->pad - (gint) kx;

  *lo = first <= 0 ? 0 : (guint) ((first + s->stride - 1) / s->stride);
  *hi = last < 0 ? 0 : MIN ((guint) (last / s->stride) + 1, s->out_width);
  if (*lo > *hi)
    *lo = *hi;
}

/* col2im: the adjoint of ddnn_im2col, accumulating into @dx. */
DDNN_KERNEL static void
col2im (const DdnnConvShape *s, const float *col, gsize col_stride, float *dx)
{
  guint c, ky, kx, oy, ox, lo, hi;

  memset (dx, 0, (gsize) s->in_channels * s->in_height * s->in_width * 4);
  for (c = 0; c < s->in_channels; c++) {
    float *plane = dx + (gsize) c * s->in_height * s->in_width;

    for (ky = 0; ky < s->kernel_h; ky++)
      for (kx = 0; kx < s->kernel_w; kx++) {
        const float *row = col +
            (((gsize) c * s->kernel_h + ky) * s->kernel_w + kx) * col_stride;

        valid_columns (s, kx, &lo, &hi);
        for (oy = 0; oy < s->out_height; oy++) {
          gint iy = (gint) (oy * s->stride + ky) - (gint) s->pad;
          const float *src = row + (gsize) oy * s->out_width;
          float *dst;

          if (iy < 0 || iy >= (gint) s->in_height)
            continue;
          dst = plane + (gsize) iy * s->in_width + kx - s->pad;
          if (s->stride == 1)
            for (ox = lo; ox < hi; ox++)
              dst[ox] += src[ox];
          else
            for (ox = lo; ox < hi; ox++)
              dst[ox * s->stride] += src[ox];
        }
      }
  }
}

/* im2col of one sample into columns [n * P, (n + 1) * P) of a K x (N P)
 * matrix. */
DDNN_KERNEL static void
im2col_strided (
    const DdnnConvShape *s, const float *x, float *col, gsize col_stride)
{
  guint c, ky, kx, oy, ox, lo, hi;

  for (c = 0; c < s->in_channels; c++) {
    const float *plane = x + (gsize) c * s->in_height * s->in_width;

    for (ky = 0; ky < s->kernel_h; ky++)
      for (kx = 0; kx < s->kernel_w; kx++) {
        float *row = col +
            (((gsize) c * s->kernel_h + ky) * s->kernel_w + kx) * col_stride;

        valid_columns (s, kx, &lo, &hi);
        for (oy = 0; oy < s->out_height; oy++) {
          gint iy = (gint) (oy * s->stride + ky) - (gint) s->pad;
          float *out = row + (gsize) oy * s->out_width;
          const float *src;

          if (iy < 0 || iy >= (gint) s->in_height) {
            memset (out, 0, s->out_width * sizeof (float));
            continue;
          }
          src = plane + (gsize) iy * s->in_width + kx - s->pad;
          for (ox = 0; ox < lo; ox++)
            out[ox] = 0.0f;
          if (s->stride == 1)
            memcpy (out + lo, src + lo, (hi - lo) * sizeof (float));
          else
            for (ox = lo; ox < hi; ox++)
              out[ox] = src[ox * s->stride];
          for (ox = hi; ox < s->out_width; ox++)
            out[ox] = 0.0f;
        }
      }
  }
}

/* A convolution runs group by group: @s is one group's shape, group g
 * reads input channels [g Cin/G, (g + 1) Cin/G), writes output channels
 * [g Cout/G, (g + 1) Cout/G) and has rows [g Cout/G, (g + 1) Cout/G) of the
 * weights; its patch matrix is col + g K N P. */
void
ddnn_train_conv_forward (
    DdnnTrainLayer *l, guint n, const float *x, G_GNUC_UNUSED gboolean training)
{
  const DdnnConvShape *s = &l->spec->conv;
  gsize p = ddnn_conv_out_pixels (s), k = ddnn_conv_patch_size (s);
  gsize stride = (gsize) n * p, og = s->out_channels;
  gsize in_step = (gsize) s->in_channels * s->in_height * s->in_width;
  guint i, o, g;

  update_weight_eff (l);
  for (g = 0; g < l->spec->groups; g++) {
    float *col = l->col + g * k * stride;

    for (i = 0; i < n; i++)
      im2col_strided (s, x + i * l->in_size + g * in_step, col + i * p, stride);
    ddnn_sgemm (FALSE, FALSE, og, stride, k, 1.0f, l->weight_eff + g * og * k,
        k, col, stride, 0.0f, l->big + g * og * stride, stride);
  }
  for (i = 0; i < n; i++)
    for (o = 0; o < l->spec->out; o++) {
      float *dst = l->out + i * l->out_size + o * p;
      const float *src = l->big + o * stride + i * p;
      float b = l->spec->has_bias ? l->bias.value[o] : 0.0f;
      gsize j;

      for (j = 0; j < p; j++)
        dst[j] = src[j] + b;
    }
}

void
ddnn_train_conv_backward (
    DdnnTrainLayer *l, guint n, const float *dy, gboolean want_dx)
{
  const DdnnConvShape *s = &l->spec->conv;
  gsize p = ddnn_conv_out_pixels (s), k = ddnn_conv_patch_size (s);
  gsize stride = (gsize) n * p, og = s->out_channels;
  gsize in_step = (gsize) s->in_channels * s->in_height * s->in_width;
  guint i, o, g;

  /* dy to [Cout][N P] */
  for (i = 0; i < n; i++)
    for (o = 0; o < l->spec->out; o++)
      memcpy (l->big + o * stride + i * p, dy + i * l->out_size + o * p,
          p * sizeof (float));
  for (g = 0; g < l->spec->groups; g++)
    ddnn_sgemm (FALSE, TRUE, og, k, stride, 1.0f, l->big + g * og * stride,
        stride, l->col + g * k * stride, stride, 0.0f,
        l->weight.grad + g * og * k, k);
  if (l->spec->has_bias)
    for (o = 0; o < l->spec->out; o++) {
      const float *row = l->big + o * stride;
      double sum = 0.0;
      gsize j;

      for (j = 0; j < stride; j++)
        sum += row[j];
      l->bias.grad[o] = (float) sum;
    }
  if (!want_dx)
    return;
  /* dcol = W^T dy, reusing col */
  for (g = 0; g < l->spec->groups; g++) {
    float *col = l->col + g * k * stride;

    ddnn_sgemm (TRUE, FALSE, k, stride, og, 1.0f, l->weight_eff + g * og * k, k,
        l->big + g * og * stride, stride, 0.0f, col, stride);
    for (i = 0; i < n; i++)
      col2im (s, col + i * p, stride, l->dx + i * l->in_size + g * in_step);
  }
}

void
ddnn_train_linear_forward (
    DdnnTrainLayer *l, guint n, const float *x, G_GNUC_UNUSED gboolean training)
{
  guint i, o;

  update_weight_eff (l);
  /* out [N][out] = x [N][in] W^T */
  ddnn_sgemm (FALSE, TRUE, n, l->spec->out, l->spec->in_c, 1.0f, x,
      l->spec->in_c, l->weight_eff, l->spec->in_c, 0.0f, l->out, l->spec->out);
  if (l->spec->has_bias)
    for (i = 0; i < n; i++)
      for (o = 0; o < l->spec->out; o++)
        l->out[i * l->spec->out + o] += l->bias.value[o];
}

void
ddnn_train_linear_backward (
    DdnnTrainLayer *l, guint n, const float *dy, gboolean want_dx)
{
  guint i, o;

  /* dW [out][in] = dy^T x */
  ddnn_sgemm (TRUE, FALSE, l->spec->out, l->spec->in_c, n, 1.0f, dy,
      l->spec->out, l->x, l->spec->in_c, 0.0f, l->weight.grad, l->spec->in_c);
  if (l->spec->has_bias)
    for (o = 0; o < l->spec->out; o++) {
      double sum = 0.0;

      for (i = 0; i < n; i++)
        sum += dy[i * l->spec->out + o];
      l->bias.grad[o] = (float) sum;
    }
  if (want_dx)
    ddnn_sgemm (FALSE, FALSE, n, l->spec->in_c, l->spec->out, 1.0f, dy,
        l->spec->out, l->weight_eff, l->spec->in_c, 0.0f, l->dx, l->spec->in_c);
}

/* Max pooling over one plane: the window's first largest value (row-major
 * scan, strict >) and where it was, for the backward pass. */
DDNN_KERNEL static void
max_pool_plane (
    const DdnnLayer *sp, const float *plane, float *out, guint32 *argmax)
{
  guint oy, ox;

  for (oy = 0; oy < sp->out_h; oy++) {
    gint y0 = (gint) (oy * sp->stride) - (gint) sp->pad;
    gint y_lo = MAX (y0, 0),
         y_hi = MIN (y0 + (gint) sp->kernel, (gint) sp->in_h);

    for (ox = 0; ox < sp->out_w; ox++) {
      gint x0 = (gint) (ox * sp->stride) - (gint) sp->pad;
      gint x_lo = MAX (x0, 0),
           x_hi = MIN (x0 + (gint) sp->kernel, (gint) sp->in_w);
      float best = -INFINITY;
      guint32 best_index = 0;
      gint y, xx;

      for (y = y_lo; y < y_hi; y++) {
        const float *row = plane + (gsize) y * sp->in_w;

        for (xx = x_lo; xx < x_hi; xx++)
          if (row[xx] > best) {
            best = row[xx];
            best_index = (guint32) (y * sp->in_w + xx);
          }
      }
      out[oy * sp->out_w + ox] = best;
      argmax[oy * sp->out_w + ox] = best_index;
    }
  }
}

DDNN_KERNEL static void
avg_pool_plane (const DdnnLayer *sp, const float *plane, float *out)
{
  guint oy, ox;

  for (oy = 0; oy < sp->out_h; oy++) {
    gint y0 = (gint) (oy * sp->stride) - (gint) sp->pad;
    gint y_lo = MAX (y0, 0),
         y_hi = MIN (y0 + (gint) sp->kernel, (gint) sp->in_h);

    for (ox = 0; ox < sp->out_w; ox++) {
      gint x0 = (gint) (ox * sp->stride) - (gint) sp->pad;
      gint x_lo = MAX (x0, 0),
           x_hi = MIN (x0 + (gint) sp->kernel, (gint) sp->in_w);
      float sum = 0.0f;
      gint y, xx;

      for (y = y_lo; y < y_hi; y++)
        for (xx = x_lo; xx < x_hi; xx++)
          sum += plane[(gsize) y * sp->in_w + xx];
      out[oy * sp->out_w + ox] = sum / (float) ((y_hi - y_lo) * (x_hi - x_lo));
    }
  }
}

/* max or average pooling, as the layer says */
void
ddnn_train_pool_forward (
    DdnnTrainLayer *l, guint n, const float *x, G_GNUC_UNUSED gboolean training)
{
  gboolean is_max = l->spec->type == DDNN_LAYER_MAXPOOL;
  const DdnnLayer *sp = l->spec;
  gsize in_plane = (gsize) sp->in_h * sp->in_w;
  gsize out_plane = (gsize) sp->out_h * sp->out_w;
  guint i, c;

  for (i = 0; i < n; i++)
    for (c = 0; c < sp->in_c; c++) {
      const float *plane = x + i * l->in_size + c * in_plane;
      gsize at = i * l->out_size + c * out_plane;

      if (is_max)
        max_pool_plane (sp, plane, l->out + at, l->argmax + at);
      else
        avg_pool_plane (sp, plane, l->out + at);
    }
}

DDNN_KERNEL void
ddnn_train_pool_backward (
    DdnnTrainLayer *l, guint n, const float *dy, gboolean want_dx)
{
  gboolean is_max = l->spec->type == DDNN_LAYER_MAXPOOL;
  const DdnnLayer *sp = l->spec;
  guint i, c, oy, ox;

  /* pooling has no parameters: nothing to do unless dx is wanted */
  if (!want_dx)
    return;
  memset (l->dx, 0, (gsize) n * l->in_size * sizeof (float));
  for (i = 0; i < n; i++)
    for (c = 0; c < sp->in_c; c++) {
      float *plane = l->dx + i * l->in_size + (gsize) c * sp->in_h * sp->in_w;
      gsize obase = i * l->out_size + (gsize) c * sp->out_h * sp->out_w;

      for (oy = 0; oy < sp->out_h; oy++)
        for (ox = 0; ox < sp->out_w; ox++) {
          gsize at = obase + (gsize) oy * sp->out_w + ox;

          if (is_max) {
            plane[l->argmax[at]] += dy[at];
          } else {
            gint y0 = (gint) (oy * sp->stride) - (gint) sp->pad;
            gint x0 = (gint) (ox * sp->stride) - (gint) sp->pad;
            gint y_lo = MAX (y0, 0),
                 y_hi = MIN (y0 + (gint) sp->kernel, (gint) sp->in_h);
            gint x_lo = MAX (x0, 0),
                 x_hi = MIN (x0 + (gint) sp->kernel, (gint) sp->in_w);
            float share = dy[at] / (float) ((y_hi - y_lo) * (x_hi - x_lo));
            gint y, xx;

            for (y = y_lo; y < y_hi; y++)
              for (xx = x_lo; xx < x_hi; xx++)
                plane[(gsize) y * sp->in_w + xx] += share;
          }
        }
    }
}

#define BN_MOMENTUM 0.1f

DDNN_KERNEL void
ddnn_train_batchnorm_forward (
    DdnnTrainLayer *l, guint n, const float *x, gboolean training)
{
  guint channels = l->spec->in_c, c, i;
  gsize spatial = l->in_size / channels, j;
  double count = (double) n * spatial;

  for (c = 0; c < channels; c++) {
    float mean, inv_std, g = l->gamma.value[c], b = l->beta.value[c];

    if (training) {
      double sum = 0.0, sq = 0.0, var;

      for (i = 0; i < n; i++) {
        const float *p = x + i * l->in_size + c * spatial;

        for (j = 0; j < spatial; j++)
          sum += p[j];
      }
      mean = (float) (sum / count);
      for (i = 0; i < n; i++) {
        const float *p = x + i * l->in_size + c * spatial;

        for (j = 0; j < spatial; j++)
          sq += (p[j] - mean) * (double) (p[j] - mean);
      }
      var = sq / count;
      inv_std = (float) (1.0 / sqrt (var + l->spec->eps));
      l->running_mean[c] = (1 - BN_MOMENTUM) * l->running_mean[c] +
          BN_MOMENTUM * mean;
      l->running_var[c] = (1 - BN_MOMENTUM) * l->running_var[c] +
          BN_MOMENTUM * (float) (count > 1 ? sq / (count - 1) : var);
    } else {
      mean = l->running_mean[c];
      inv_std = 1.0f / sqrtf (l->running_var[c] + l->spec->eps);
    }
    l->inv_std[c] = inv_std;
    for (i = 0; i < n; i++) {
      const float *p = x + i * l->in_size + c * spatial;
      float *h = l->xhat + i * l->in_size + c * spatial;
      float *o = l->out + i * l->out_size + c * spatial;

      for (j = 0; j < spatial; j++) {
        h[j] = (p[j] - mean) * inv_std;
        o[j] = h[j] * g + b;
      }
    }
  }
}

/* Batch norm's backward in training mode:
 * dx = gamma inv_std / M (M dy - sum dy - xhat sum (dy xhat)) */
DDNN_KERNEL void
ddnn_train_batchnorm_backward (
    DdnnTrainLayer *l, guint n, const float *dy, gboolean want_dx)
{
  guint channels = l->spec->in_c, c, i;
  gsize spatial = l->in_size / channels, j;
  double count = (double) n * spatial;

  for (c = 0; c < channels; c++) {
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    float k;

    for (i = 0; i < n; i++) {
      const float *d = dy + i * l->out_size + c * spatial;
      const float *h = l->xhat + i * l->in_size + c * spatial;

      for (j = 0; j < spatial; j++) {
        sum_dy += d[j];
        sum_dy_xhat += d[j] * (double) h[j];
      }
    }
    l->beta.grad[c] = (float) sum_dy;
    l->gamma.grad[c] = (float) sum_dy_xhat;
    if (!want_dx)
      continue;
    k = l->gamma.value[c] * l->inv_std[c] / (float) count;
    for (i = 0; i < n; i++) {
      const float *d = dy + i * l->out_size + c * spatial;
      const float *h = l->xhat + i * l->in_size + c * spatial;
      float *o = l->dx + i * l->in_size + c * spatial;

      for (j = 0; j < spatial; j++)
        o[j] = k *
            ((float) count * d[j] - (float) sum_dy -
                h[j] * (float) sum_dy_xhat);
    }
  }
}

/* The rows of the layer table (conv, linear, pooling and batch norm are
 * above, by their own names). */

DDNN_KERNEL void
ddnn_train_sign_forward (
    DdnnTrainLayer *l, guint n, const float *x, gboolean training)
{
  gsize total = (gsize) n * l->out_size, i;
  float *out = l->out;

  for (i = 0; i < total; i++)
    out[i] = x[i] >= 0.0f ? 1.0f : -1.0f;
}

DDNN_KERNEL void
ddnn_train_sign_backward (
    DdnnTrainLayer *l, guint n, const float *dy, gboolean want_dx)
{
  gsize total = (gsize) n * l->in_size, i;
  const float *x = l->x;
  float *dx = l->dx;

  if (!want_dx)
    return;
  /* straight through where |x| <= 1 */
  for (i = 0; i < total; i++)
    dx[i] = fabsf (x[i]) <= 1.0f ? dy[i] : 0.0f;
}

DDNN_KERNEL void
ddnn_train_relu_forward (
    DdnnTrainLayer *l, guint n, const float *x, gboolean training)
{
  gsize total = (gsize) n * l->out_size, i;
  float *out = l->out;

  for (i = 0; i < total; i++)
    out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

DDNN_KERNEL void
ddnn_train_relu_backward (
    DdnnTrainLayer *l, guint n, const float *dy, gboolean want_dx)
{
  gsize total = (gsize) n * l->in_size, i;
  const float *x = l->x;
  float *dx = l->dx;

  if (!want_dx)
    return;
  for (i = 0; i < total; i++)
    dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

void
ddnn_train_layer_forward (
    DdnnTrainLayer *l, guint n, const float *x, gboolean training)
{
  g_return_if_fail (n <= l->max_batch);
  l->x = x;
  ddnn_layer_classes[l->spec->type].train_forward (l, n, x, training);
}

void
ddnn_train_layer_backward (
    DdnnTrainLayer *l, guint n, const float *dy, gboolean want_dx)
{
  ddnn_layer_classes[l->spec->type].train_backward (l, n, dy, want_dx);
}
