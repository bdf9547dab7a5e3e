/* libddnn: forward kernels of the layers.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-ops.h"
#include "ddnn-blas.h"

#include <math.h>
#include <string.h>

#include "ddnn-kernel.h"

guint
ddnn_pool_out_size (guint in, guint kernel, guint stride, guint pad)
{
  guint64 span = (guint64) in + 2 * (guint64) pad;

  if (in == 0 || kernel == 0 || stride == 0 || span < kernel)
    return 0;
  return (guint) ((span - kernel) / stride + 1);
}

gboolean
ddnn_conv_shape_init (DdnnConvShape *s, guint in_channels, guint in_height,
    guint in_width, guint out_channels, guint kernel_h, guint kernel_w,
    guint stride, guint pad, GError **error)
{
  s->in_channels = in_channels;
  s->in_height = in_height;
  s->in_width = in_width;
  s->out_channels = out_channels;
  s->kernel_h = kernel_h;
  s->kernel_w = kernel_w;
  s->stride = stride;
  s->pad = pad;
  s->out_height = ddnn_pool_out_size (in_height, kernel_h, stride, pad);
  s->out_width = ddnn_pool_out_size (in_width, kernel_w, stride, pad);
  if (in_channels == 0 || out_channels == 0 || s->out_height == 0 ||
      s->out_width == 0 || pad >= MAX (kernel_h, kernel_w)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "convolution %ux%u stride %u pad %u does not fit a %ux%ux%u input "
        "with %u filters",
        kernel_h, kernel_w, stride, pad, in_channels, in_height, in_width,
        out_channels);
    return FALSE;
  }
  return TRUE;
}

DDNN_KERNEL void
ddnn_im2col (const DdnnConvShape *s, const float *input, float *col)
{
  gsize p_count = ddnn_conv_out_pixels (s);
  guint c, ky, kx, oy, ox;

  for (c = 0; c < s->in_channels; c++) {
    const float *plane = input + (gsize) c * s->in_height * s->in_width;

    for (ky = 0; ky < s->kernel_h; ky++) {
      for (kx = 0; kx < s->kernel_w; kx++) {
        float *row = col +
            (((gsize) c * s->kernel_h + ky) * s->kernel_w + kx) * p_count;

        for (oy = 0; oy < s->out_height; oy++) {
          gint iy = (gint) (oy * s->stride + ky) - (gint) s->pad;
          float *out = row + (gsize) oy * s->out_width;

          if (iy < 0 || iy >= (gint) s->in_height) {
            memset (out, 0, s->out_width * sizeof (float));
            continue;
          }
          for (ox = 0; ox < s->out_width; ox++) {
            gint ix = (gint) (ox * s->stride + kx) - (gint) s->pad;

            out[ox] = (ix < 0 || ix >= (gint) s->in_width)
                ? 0.0f
                : plane[(gsize) iy * s->in_width + ix];
          }
        }
      }
    }
  }
}

static void
add_channel_bias (
    guint channels, gsize spatial, const float *bias, float *output)
{
  guint c;
  gsize i;

  if (!bias)
    return;
  for (c = 0; c < channels; c++) {
    float *plane = output + c * spatial;

    for (i = 0; i < spatial; i++)
      plane[i] += bias[c];
  }
}

/* Direct convolution at stride 1.  The input is copied once into a padded
 * plane; the output is first computed "wide", one value for every column of
 * the padded plane, so that each kernel tap is a single long contiguous
 * multiply-add over the whole plane; the columns past the real output are
 * then dropped.  For few input channels this beats im2col + sgemm, which
 * would spend more moving data than computing. */
DDNN_KERNEL static void
conv2d_direct (const DdnnConvShape *s, const float *input, const float *weight,
    const float *bias, float *padded, float *output)
{
  guint pw = s->in_width + 2 * s->pad, ph = s->in_height + 2 * s->pad;
  guint oh = s->out_height, ow = s->out_width;
  guint taps = s->kernel_h * s->kernel_w;
  /* the wide output: oh rows of pw, minus the tail no tap can reach */
  gsize n_wide = (gsize) (oh - 1) * pw + ow;
  float *wide = padded + (gsize) s->in_channels * ph * pw;
  gsize offsets[DDNN_CONV_MAX_TAPS];
  guint c, y, o, t;
  gsize i;

  memset (padded, 0, (gsize) s->in_channels * ph * pw * sizeof (float));
  for (c = 0; c < s->in_channels; c++)
    for (y = 0; y < s->in_height; y++)
      memcpy (padded + ((gsize) c * ph + y + s->pad) * pw + s->pad,
          input + ((gsize) c * s->in_height + y) * s->in_width,
          s->in_width * sizeof (float));
  for (t = 0; t < taps; t++)
    offsets[t] = (gsize) (t / s->kernel_w) * pw + t % s->kernel_w;

  for (o = 0; o < s->out_channels; o++) {
    float *restrict acc = wide;
    float b = bias ? bias[o] : 0.0f;

    for (i = 0; i < n_wide; i++)
      acc[i] = b;
    for (c = 0; c < s->in_channels; c++) {
      const float *w = weight + ((gsize) o * s->in_channels + c) * taps;
      const float *plane = padded + (gsize) c * ph * pw;

      if (taps == 9) {
        const float *restrict p0 = plane + offsets[0],
                              *restrict p1 = plane + offsets[1],
                              *restrict p2 = plane + offsets[2],
                              *restrict p3 = plane + offsets[3],
                              *restrict p4 = plane + offsets[4],
                              *restrict p5 = plane + offsets[5],
                              *restrict p6 = plane + offsets[6],
                              *restrict p7 = plane + offsets[7],
                              *restrict p8 = plane + offsets[8];

        for (i = 0; i < n_wide; i++)
          acc[i] += w[0] * p0[i] + w[1] * p1[i] + w[2] * p2[i] + w[3] * p3[i] +
              w[4] * p4[i] + w[5] * p5[i] + w[6] * p6[i] + w[7] * p7[i] +
              w[8] * p8[i];
      } else {
        for (t = 0; t < taps; t++) {
          const float *restrict src = plane + offsets[t];
          float wv = w[t];

          for (i = 0; i < n_wide; i++)
            acc[i] += wv * src[i];
        }
      }
    }
    for (y = 0; y < oh; y++)
      memcpy (output + ((gsize) o * oh + y) * ow, wide + (gsize) y * pw,
          ow * sizeof (float));
  }
}

gsize
ddnn_conv2d_scratch_size (const DdnnConvShape *s)
{
  gsize col = ddnn_conv_patch_size (s) * ddnn_conv_out_pixels (s);
  gsize pw = s->in_width + 2 * s->pad;
  /* the padded planes, then one wide output plane */
  gsize padded = (gsize) s->in_channels * (s->in_height + 2 * s->pad) * pw +
      (gsize) s->out_height * pw;

  return MAX (col, padded);
}

void
ddnn_conv2d_f32 (const DdnnConvShape *s, const float *input,
    const float *weight, const float *bias, float *col, float *output)
{
  gsize k = ddnn_conv_patch_size (s);
  gsize p = ddnn_conv_out_pixels (s);
  const float *patches = input;

  if (s->stride == 1 && k <= 32 &&
      s->kernel_h * s->kernel_w <= DDNN_CONV_MAX_TAPS &&
      !(s->kernel_h == 1 && s->kernel_w == 1 && s->pad == 0)) {
    conv2d_direct (s, input, weight, bias, col, output);
    return;
  }

  if (!(s->kernel_h == 1 && s->kernel_w == 1 && s->stride == 1 &&
          s->pad == 0)) {
    ddnn_im2col (s, input, col);
    patches = col;
  }
  ddnn_sgemm (FALSE, FALSE, s->out_channels, p, k, 1.0f, weight, k, patches, p,
      0.0f, output, p);
  add_channel_bias (s->out_channels, p, bias, output);
}

DDNN_KERNEL void
ddnn_bits_chw_to_hwc (
    const guint8 *bits, guint channels, guint height, guint width, guint64 *hwc)
{
  guint wpp = ddnn_binary_words_per_pixel (channels);
  gsize pixels = (gsize) height * width;
  gsize pixel, c;

  memset (hwc, 0, pixels * wpp * sizeof (guint64));
  for (c = 0; c < channels; c++) {
    gsize base = c * pixels;
    guint64 mask = G_GUINT64_CONSTANT (1) << (c % 64);
    guint64 *word = hwc + c / 64;

    for (pixel = 0; pixel < pixels; pixel++) {
      gsize bit = base + pixel;

      if ((bits[bit >> 3] >> (bit & 7)) & 1)
        word[pixel * wpp] |= mask;
    }
  }
}

void
ddnn_binary_conv_pack_weights (
    const DdnnConvShape *s, const guint8 *weight_bits, guint64 *packed)
{
  gsize k = ddnn_conv_patch_size (s);
  gsize row_bytes = (k + 7) / 8;
  guint taps = s->kernel_h * s->kernel_w;
  guint wpp = ddnn_binary_words_per_pixel (s->in_channels);
  guint o, c, t;

  memset (packed, 0, (gsize) s->out_channels * taps * wpp * sizeof (guint64));
  for (o = 0; o < s->out_channels; o++) {
    const guint8 *row = weight_bits + o * row_bytes;
    guint64 *filter = packed + (gsize) o * taps * wpp;

    for (c = 0; c < s->in_channels; c++) {
      for (t = 0; t < taps; t++) {
        gsize bit = (gsize) c * taps + t;

        if ((row[bit >> 3] >> (bit & 7)) & 1)
          filter[t * wpp + c / 64] |= G_GUINT64_CONSTANT (1) << (c % 64);
      }
    }
  }
}

DDNN_KERNEL void
ddnn_binary_conv2d (const DdnnConvShape *s, const guint64 *input_hwc,
    const guint64 *packed_weights, const float *bias, float *output)
{
  guint wpp = ddnn_binary_words_per_pixel (s->in_channels);
  guint taps = s->kernel_h * s->kernel_w;
  gsize p_count = ddnn_conv_out_pixels (s);
  guint oy, ox, o, ky, kx, j;

  for (oy = 0; oy < s->out_height; oy++) {
    for (ox = 0; ox < s->out_width; ox++) {
      const guint64 *tap_input[64];
      guint tap_index[64];
      guint n_valid = 0;
      gboolean small = taps <= 64;

      /* Kernels of up to 8x8 gather the valid taps once per pixel. */
      if (small) {
        for (ky = 0; ky < s->kernel_h; ky++) {
          gint iy = (gint) (oy * s->stride + ky) - (gint) s->pad;

          if (iy < 0 || iy >= (gint) s->in_height)
            continue;
          for (kx = 0; kx < s->kernel_w; kx++) {
            gint ix = (gint) (ox * s->stride + kx) - (gint) s->pad;

            if (ix < 0 || ix >= (gint) s->in_width)
              continue;
            tap_input[n_valid] = input_hwc +
                ((gsize) iy * s->in_width + ix) * wpp;
            tap_index[n_valid] = ky * s->kernel_w + kx;
            n_valid++;
          }
        }
      }

      if (small && wpp == 1 && n_valid == taps) {
        /* an interior pixel, one word a pixel: the common case */
        guint64 x[64];
        guint t;

        for (t = 0; t < taps; t++)
          x[t] = *tap_input[t];
        for (o = 0; o < s->out_channels; o++) {
          const guint64 *filter = packed_weights + (gsize) o * taps;
          gint64 differ = 0;

          for (t = 0; t < taps; t++)
            differ += __builtin_popcountll (x[t] ^ filter[t]);
          output[o * p_count + (gsize) oy * s->out_width + ox] =
              (float) ((gint64) taps * s->in_channels - 2 * differ) +
              (bias ? bias[o] : 0.0f);
        }
        continue;
      }

      for (o = 0; o < s->out_channels; o++) {
        const guint64 *filter = packed_weights + (gsize) o * taps * wpp;
        gint64 differ = 0, n_bits = 0;

        if (small) {
          guint t;

          for (t = 0; t < n_valid; t++) {
            const guint64 *w = filter + tap_index[t] * wpp;

            for (j = 0; j < wpp; j++)
              differ += __builtin_popcountll (tap_input[t][j] ^ w[j]);
          }
          n_bits = (gint64) n_valid * s->in_channels;
        } else {
          for (ky = 0; ky < s->kernel_h; ky++) {
            gint iy = (gint) (oy * s->stride + ky) - (gint) s->pad;

            if (iy < 0 || iy >= (gint) s->in_height)
              continue;
            for (kx = 0; kx < s->kernel_w; kx++) {
              gint ix = (gint) (ox * s->stride + kx) - (gint) s->pad;
              const guint64 *in, *w;

              if (ix < 0 || ix >= (gint) s->in_width)
                continue;
              in = input_hwc + ((gsize) iy * s->in_width + ix) * wpp;
              w = filter + (ky * s->kernel_w + kx) * wpp;
              for (j = 0; j < wpp; j++)
                differ += __builtin_popcountll (in[j] ^ w[j]);
              n_bits += s->in_channels;
            }
          }
        }
        /* agree - differ = n_bits - 2 differ */
        output[o * p_count + (gsize) oy * s->out_width + ox] = (float) (n_bits -
                                                                   2 * differ) +
            (bias ? bias[o] : 0.0f);
      }
    }
  }
}

/* Max over each window, in two passes per output row: the element-wise max
 * of the window's input rows (contiguous, so it vectorises), then the
 * max along that row for each output column. */
DDNN_KERNEL void
ddnn_max_pool2d (guint channels, guint height, guint width, guint kernel,
    guint stride, guint pad, const float *input, float *output)
{
  guint oh = ddnn_pool_out_size (height, kernel, stride, pad);
  guint ow = ddnn_pool_out_size (width, kernel, stride, pad);
  float row[DDNN_POOL_MAX_WIDTH];
  guint c, oy, ox;
  gint x;

  g_return_if_fail (width <= DDNN_POOL_MAX_WIDTH);
  if (kernel == 3 && stride == 2 && pad == 1 && width % 2 == 0 &&
      height % 2 == 0) {
    /* the ConvP block's pooling: window rows 2y-1 .. 2y+1, columns alike */
    for (c = 0; c < channels; c++) {
      const float *plane = input + (gsize) c * height * width;
      float *out = output + (gsize) c * oh * ow;

      for (oy = 0; oy < oh; oy++) {
        const float *r1 = plane + (gsize) (2 * oy) * width;
        const float *r2 = r1 + width;
        const float *r0 = oy ? r1 - width : r1;
        float *dst = out + (gsize) oy * ow;

        for (x = 0; x < (gint) width; x++) {
          float m = r0[x] > r1[x] ? r0[x] : r1[x];

          row[x] = m > r2[x] ? m : r2[x];
        }
        dst[0] = row[0] > row[1] ? row[0] : row[1];
        for (ox = 1; ox < ow; ox++) {
          float m = row[2 * ox - 1] > row[2 * ox] ? row[2 * ox - 1]
                                                  : row[2 * ox];

          dst[ox] = m > row[2 * ox + 1] ? m : row[2 * ox + 1];
        }
      }
    }
    return;
  }
  for (c = 0; c < channels; c++) {
    const float *plane = input + (gsize) c * height * width;
    float *out = output + (gsize) c * oh * ow;

    for (oy = 0; oy < oh; oy++) {
      gint y0 = (gint) (oy * stride) - (gint) pad;
      gint y_lo = MAX (y0, 0), y_hi = MIN (y0 + (gint) kernel, (gint) height);
      gint y;

      memcpy (row, plane + (gsize) y_lo * width, width * sizeof (float));
      for (y = y_lo + 1; y < y_hi; y++) {
        const float *src = plane + (gsize) y * width;

        for (x = 0; x < (gint) width; x++)
          row[x] = src[x] > row[x] ? src[x] : row[x];
      }
      for (ox = 0; ox < ow; ox++) {
        gint x0 = (gint) (ox * stride) - (gint) pad;
        gint x_lo = MAX (x0, 0), x_hi = MIN (x0 + (gint) kernel, (gint) width);
        float best = row[x_lo];

        for (x = x_lo + 1; x < x_hi; x++)
          best = row[x] > best ? row[x] : best;
        out[(gsize) oy * ow + ox] = best;
      }
    }
  }
}

DDNN_KERNEL void
ddnn_avg_pool2d (guint channels, guint height, guint width, guint kernel,
    guint stride, guint pad, const float *input, float *output)
{
  guint oh = ddnn_pool_out_size (height, kernel, stride, pad);
  guint ow = ddnn_pool_out_size (width, kernel, stride, pad);
  guint c, oy, ox;

  for (c = 0; c < channels; c++) {
    const float *plane = input + (gsize) c * height * width;
    float *out = output + (gsize) c * oh * ow;

    for (oy = 0; oy < oh; oy++) {
      gint y0 = (gint) (oy * stride) - (gint) pad;
      gint y_lo = MAX (y0, 0), y_hi = MIN (y0 + (gint) kernel, (gint) height);

      for (ox = 0; ox < ow; ox++) {
        gint x0 = (gint) (ox * stride) - (gint) pad;
        gint x_lo = MAX (x0, 0), x_hi = MIN (x0 + (gint) kernel, (gint) width);
        float sum = 0.0f;
        gint y, x;

        for (y = y_lo; y < y_hi; y++)
          for (x = x_lo; x < x_hi; x++)
            sum += plane[(gsize) y * width + x];
        out[(gsize) oy * ow + ox] = sum /
            (float) ((y_hi - y_lo) * (x_hi - x_lo));
      }
    }
  }
}

void
ddnn_batch_norm_fold (guint channels, const float *gamma, const float *beta,
    const float *mean, const float *var, float eps, float *scale, float *shift)
{
  guint c;

  for (c = 0; c < channels; c++) {
    scale[c] = gamma[c] / sqrtf (var[c] + eps);
    shift[c] = beta[c] - mean[c] * scale[c];
  }
}

DDNN_KERNEL void
ddnn_channel_affine (guint channels, gsize spatial, const float *scale,
    const float *shift, float *data)
{
  guint c;
  gsize i;

  for (c = 0; c < channels; c++) {
    float *plane = data + c * spatial;
    float a = scale[c], b = shift[c];

    for (i = 0; i < spatial; i++)
      plane[i] = plane[i] * a + b;
  }
}

DDNN_KERNEL void
ddnn_channel_affine_relu (guint channels, gsize spatial, const float *scale,
    const float *shift, float *data)
{
  guint c;
  gsize i;

  for (c = 0; c < channels; c++) {
    float *plane = data + c * spatial;
    float a = scale[c], b = shift[c];

    for (i = 0; i < spatial; i++) {
      float y = plane[i] * a + b;

      plane[i] = y > 0.0f ? y : 0.0f;
    }
  }
}

DDNN_KERNEL void
ddnn_channel_affine_sign_bits (guint channels, gsize spatial,
    const float *scale, const float *shift, const float *input, guint8 *bits)
{
  gsize total = channels * spatial;
  guint c;
  gsize i;

  if (spatial % 8 == 0) {
    /* whole bytes per channel: eight comparisons make one byte */
    for (c = 0; c < channels; c++) {
      const float *plane = input + c * spatial;
      guint8 *out = bits + c * spatial / 8;
      float a = scale[c], b = shift[c];

      for (i = 0; i < spatial / 8; i++) {
        const float *v = plane + i * 8;
        guint8 byte = 0;
        guint k;

        for (k = 0; k < 8; k++)
          byte |= (guint8) ((v[k] * a + b >= 0.0f) << k);
        out[i] = byte;
      }
    }
    return;
  }
  memset (bits, 0, (total + 7) / 8);
  for (c = 0; c < channels; c++) {
    const float *plane = input + c * spatial;
    gsize base = c * spatial;
    float a = scale[c], b = shift[c];

    for (i = 0; i < spatial; i++) {
      gsize bit = base + i;

      if (plane[i] * a + b >= 0.0f)
        bits[bit >> 3] |= (guint8) (1u << (bit & 7));
    }
  }
}

void
ddnn_sign (gsize n, const float *input, float *output)
{
  gsize i;

  for (i = 0; i < n; i++)
    output[i] = input[i] >= 0.0f ? 1.0f : -1.0f;
}

DDNN_KERNEL void
ddnn_relu (gsize n, float *data)
{
  gsize i;

  for (i = 0; i < n; i++)
    data[i] = data[i] > 0.0f ? data[i] : 0.0f;
}

void
ddnn_linear_f32 (guint in_features, guint out_features, const float *input,
    const float *weight, const float *bias, float *output)
{
  if (bias)
    memcpy (output, bias, out_features * sizeof (float));
  ddnn_sgemm (FALSE, FALSE, out_features, 1, in_features, 1.0f, weight,
      in_features, input, 1, bias ? 1.0f : 0.0f, output, 1);
}

DDNN_KERNEL void
ddnn_binary_linear (guint in_features, guint out_features, const guint64 *input,
    const guint64 *weight, const float *bias, float *output)
{
  guint words = ddnn_binary_row_words (in_features);
  guint o, j;

  for (o = 0; o < out_features; o++) {
    const guint64 *row = weight + (gsize) o * words;
    gint64 differ = 0;

    /* A popcount does not care about byte order, so packed little-endian
     * bytes can be read as host words. */
    for (j = 0; j < words; j++)
      differ += __builtin_popcountll (input[j] ^ row[j]);
    output[o] = (float) ((gint64) in_features - 2 * differ) +
        (bias ? bias[o] : 0.0f);
  }
}

void
ddnn_softmax (guint n, const float *logits, float *probs)
{
  float top = -INFINITY, sum = 0.0f;
  guint i;

  for (i = 0; i < n; i++)
    top = MAX (top, logits[i]);
  for (i = 0; i < n; i++) {
    probs[i] = expf (logits[i] - top);
    sum += probs[i];
  }
  for (i = 0; i < n; i++)
    probs[i] /= sum;
}

float
ddnn_normalized_entropy (guint n, const float *probs)
{
  double h = 0.0;
  guint i;

  if (n < 2)
    return 0.0f;
  for (i = 0; i < n; i++)
    if (probs[i] > 0.0f)
      h -= probs[i] * log (probs[i]);
  h /= log (n);
  return (float) CLAMP (h, 0.0, 1.0);
}

guint
ddnn_argmax (guint n, const float *values)
{
  guint i, best = 0;

  for (i = 1; i < n; i++)
    if (values[i] > values[best])
      best = i;
  return best;
}

gboolean
ddnn_fuse_f32 (DdnnFusion mode, guint n_views, const float *const *views,
    gsize n, float *output, GError **error)
{
  guint v, present = 0;
  gsize i;

  for (v = 0; v < n_views; v++)
    present += views[v] != NULL;
  if (present == 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
        "cannot fuse: none of the %u views is present", n_views);
    return FALSE;
  }

  switch (mode) {
    case DDNN_FUSION_CONCAT:
      for (v = 0; v < n_views; v++) {
        if (views[v])
          memcpy (output + v * n, views[v], n * sizeof (float));
        else
          memset (output + v * n, 0, n * sizeof (float));
      }
      return TRUE;
    case DDNN_FUSION_MAX:
      for (i = 0; i < n; i++)
        output[i] = -INFINITY;
      for (v = 0; v < n_views; v++)
        if (views[v])
          for (i = 0; i < n; i++)
            output[i] = MAX (output[i], views[v][i]);
      return TRUE;
    case DDNN_FUSION_AVG:
      memset (output, 0, n * sizeof (float));
      for (v = 0; v < n_views; v++)
        if (views[v])
          for (i = 0; i < n; i++)
            output[i] += views[v][i];
      for (i = 0; i < n; i++)
        output[i] /= (float) present;
      return TRUE;
  }
  g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
      "unknown fusion mode %d", (int) mode);
  return FALSE;
}

gboolean
ddnn_fuse_bits (DdnnFusion mode, guint n_views, const guint8 *const *views,
    gsize n_bits, guint8 *output, GError **error)
{
  gsize n_bytes = (n_bits + 7) / 8;
  guint v;
  gsize i;

  for (v = 0; v < n_views; v++) {
    if (!views[v]) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
          "view %u is missing: bits cannot stand for an absent view, fuse "
          "as float instead",
          v);
      return FALSE;
    }
  }

  switch (mode) {
    case DDNN_FUSION_MAX:
      memset (output, 0, n_bytes);
      for (v = 0; v < n_views; v++)
        for (i = 0; i < n_bytes; i++)
          output[i] |= views[v][i];
      return TRUE;
    case DDNN_FUSION_CONCAT:
      if (n_bits % 8 == 0) {
        for (v = 0; v < n_views; v++)
          memcpy (output + v * n_bytes, views[v], n_bytes);
      } else {
        memset (output, 0, (n_views * n_bits + 7) / 8);
        for (v = 0; v < n_views; v++)
          for (i = 0; i < n_bits; i++) {
            gsize dst = v * n_bits + i;

            if ((views[v][i >> 3] >> (i & 7)) & 1)
              output[dst >> 3] |= (guint8) (1u << (dst & 7));
          }
      }
      return TRUE;
    case DDNN_FUSION_AVG:
      break;
  }
  g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
      "fusion mode %s is not defined on bits", ddnn_fusion_name (mode));
  return FALSE;
}

const gchar *
ddnn_fusion_name (DdnnFusion mode)
{
  switch (mode) {
    case DDNN_FUSION_MAX:
      return "max";
    case DDNN_FUSION_AVG:
      return "avg";
    case DDNN_FUSION_CONCAT:
      return "concat";
  }
  return "unknown";
}

gboolean
ddnn_fusion_from_name (const gchar *name, DdnnFusion *mode)
{
  if (g_strcmp0 (name, "max") == 0)
    *mode = DDNN_FUSION_MAX;
  else if (g_strcmp0 (name, "avg") == 0)
    *mode = DDNN_FUSION_AVG;
  else if (g_strcmp0 (name, "concat") == 0)
    *mode = DDNN_FUSION_CONCAT;
  else
    return FALSE;
  return TRUE;
}
