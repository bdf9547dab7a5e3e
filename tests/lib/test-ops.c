/* Unit tests of the layer kernels against values worked out by hand, and
 * of the binary kernels against the float ones on +/-1 values.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ddnn.h>
#include <math.h>
#include <string.h>

#define assert_close(a, b) g_assert_cmpfloat_with_epsilon ((a), (b), 1e-5)

static void
test_conv_hand (void)
{
  /* 3x3 input 1..9, 2x2 kernel [1 2; 3 4], bias 1:
   * (0,0) = 1*1 + 2*2 + 3*4 + 4*5 + 1 = 38, and so on. */
  const float input[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
  const float weight[4] = { 1, 2, 3, 4 };
  const float bias[1] = { 1 };
  const float expected[4] = { 38, 48, 68, 78 };
  float col[16], out[4];
  DdnnConvShape s;
  guint i;

  g_assert_true (ddnn_conv_shape_init (&s, 1, 3, 3, 1, 2, 2, 1, 0, NULL));
  g_assert_cmpuint (s.out_height, ==, 2);
  g_assert_cmpuint (s.out_width, ==, 2);
  ddnn_conv2d_f32 (&s, input, weight, bias, col, out);
  for (i = 0; i < 4; i++)
    assert_close (out[i], expected[i]);
}

static void
test_conv_pad_stride (void)
{
  /* 3x3 ones kernel, pad 1, stride 2 on 1..9: window sums of the corners,
   * 1+2+4+5 = 12, 2+3+5+6 = 16, 4+5+7+8 = 24, 5+6+8+9 = 28. */
  const float input[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
  float weight[9], col[9 * 4], out[4];
  const float expected[4] = { 12, 16, 24, 28 };
  DdnnConvShape s;
  guint i;

  for (i = 0; i < 9; i++)
    weight[i] = 1;
  g_assert_true (ddnn_conv_shape_init (&s, 1, 3, 3, 1, 3, 3, 2, 1, NULL));
  g_assert_cmpuint (s.out_height, ==, 2);
  ddnn_conv2d_f32 (&s, input, weight, NULL, col, out);
  for (i = 0; i < 4; i++)
    assert_close (out[i], expected[i]);
}

static void
test_conv_two_channels (void)
{
  /* 2 channels of 2x2, 2 filters of 1x1: a per-pixel matrix product.
   * filter 0 = [1, 10], filter 1 = [-1, 0.5] */
  const float input[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  const float weight[4] = { 1, 10, -1, 0.5f };
  const float expected[8] = { 51, 62, 73, 84, 1.5f, 1, 0.5f, 0 };
  float out[8];
  DdnnConvShape s;
  guint i;

  g_assert_true (ddnn_conv_shape_init (&s, 2, 2, 2, 2, 1, 1, 1, 0, NULL));
  ddnn_conv2d_f32 (&s, input, weight, NULL, NULL, out);
  for (i = 0; i < 8; i++)
    assert_close (out[i], expected[i]);
}

static void
test_conv_bad_shape (void)
{
  GError *error = NULL;
  DdnnConvShape s;

  g_assert_false (ddnn_conv_shape_init (&s, 1, 2, 2, 1, 5, 5, 1, 0, &error));
  g_assert_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_false (ddnn_conv_shape_init (&s, 1, 8, 8, 1, 3, 3, 0, 0, &error));
  g_assert_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE);
  g_clear_error (&error);
}

static void
test_pools (void)
{
  /* 4x4 input 1..16, 3x3 windows, stride 2, pad 1. */
  float input[16], out[4];
  const float max_expected[4] = { 6, 8, 14, 16 };
  /* averages over the cells inside the input:
   * (1+2+5+6)/4, (2+3+4+6+7+8)/6, (5+6+9+10+13+14)/6, (6+7+8+10+11+12+14+15+16)/9 */
  const float avg_expected[4] = { 3.5f, 5, 9.5f, 11 };
  guint i;

  for (i = 0; i < 16; i++)
    input[i] = i + 1;
  g_assert_cmpuint (ddnn_pool_out_size (4, 3, 2, 1), ==, 2);
  g_assert_cmpuint (ddnn_pool_out_size (32, 3, 2, 1), ==, 16);
  g_assert_cmpuint (ddnn_pool_out_size (16, 3, 1, 1), ==, 16);
  ddnn_max_pool2d (1, 4, 4, 3, 2, 1, input, out);
  for (i = 0; i < 4; i++)
    assert_close (out[i], max_expected[i]);
  ddnn_avg_pool2d (1, 4, 4, 3, 2, 1, input, out);
  for (i = 0; i < 4; i++)
    assert_close (out[i], avg_expected[i]);
}

static void
test_max_pool_negative (void)
{
  /* Padding must not win over negative values. */
  const float input[4] = { -5, -3, -4, -2 };
  float out[4];
  guint i;

  ddnn_max_pool2d (1, 2, 2, 3, 1, 1, input, out);
  for (i = 0; i < 4; i++)
    assert_close (out[i], -2);
}

static void
test_batch_norm (void)
{
  /* gamma 2, beta 1, mean 3, var 4, eps 0: y = (x - 3) / 2 * 2 + 1 = x - 2 */
  const float gamma[2] = { 2, 1 }, beta[2] = { 1, 0 }, mean[2] = { 3, 0 },
              var[2] = { 4, 0.25f };
  float scale[2], shift[2];
  float data[4] = { 5, 0, 1, -1 };
  guint8 bits[1];

  ddnn_batch_norm_fold (2, gamma, beta, mean, var, 0.0f, scale, shift);
  assert_close (scale[0], 1);
  assert_close (shift[0], -2);
  assert_close (scale[1], 2);
  assert_close (shift[1], 0);

  /* channel 1 is x * 2 */
  ddnn_channel_affine_sign_bits (2, 2, scale, shift, data, bits);
  /* 5-2 = 3 (+), 0-2 = -2 (-), 1*2 = 2 (+), -1*2 = -2 (-) */
  g_assert_cmphex (bits[0], ==, 0x5);
  ddnn_channel_affine (2, 2, scale, shift, data);
  assert_close (data[0], 3);
  assert_close (data[1], -2);
  assert_close (data[2], 2);
  assert_close (data[3], -2);
}

static void
test_sign_relu (void)
{
  const float input[4] = { -0.5f, 0, 2, -0.0f };
  float out[4], relu[4] = { -1, 0, 3, -2 };

  ddnn_sign (4, input, out);
  assert_close (out[0], -1);
  assert_close (out[1], 1);
  assert_close (out[2], 1);
  ddnn_relu (4, relu);
  assert_close (relu[0], 0);
  assert_close (relu[2], 3);
  assert_close (relu[3], 0);
}

static void
test_linear (void)
{
  /* [[1 2] [3 4] [5 6]] [1 -1] + [0.5 0 0] = [-0.5 -1 -1] */
  const float weight[6] = { 1, 2, 3, 4, 5, 6 };
  const float input[2] = { 1, -1 }, bias[3] = { 0.5f, 0, 0 };
  float out[3];

  ddnn_linear_f32 (2, 3, input, weight, bias, out);
  assert_close (out[0], -0.5f);
  assert_close (out[1], -1);
  assert_close (out[2], -1);
  ddnn_linear_f32 (2, 3, input, weight, NULL, out);
  assert_close (out[0], -1);
}

static void
test_bits (void)
{
  /* + - - + + + - - | + : bits 0, 3, 4, 5 -> 0x39, then 0x01 */
  const float values[9] = { 1, -1, -2, 0, 3, 1, -1, -1, 5 };
  guint8 bits[2];
  float back[9];
  guint i;

  ddnn_bits_pack (values, 9, bits);
  g_assert_cmphex (bits[0], ==, 0x39);
  g_assert_cmphex (bits[1], ==, 0x01);
  ddnn_bits_unpack (bits, 9, back);
  for (i = 0; i < 9; i++)
    assert_close (back[i], values[i] >= 0 ? 1 : -1);
}

static void
random_pm1 (GRand *rand, float *values, gsize n)
{
  gsize i;

  for (i = 0; i < n; i++)
    values[i] = g_rand_boolean (rand) ? 1.0f : -1.0f;
}

/* Binary convolution by XNOR-popcount equals float convolution of the same
 * +/-1 values, padding included, for one and several words per pixel. */
static void
check_binary_conv (GRand *rand, guint cin, guint h, guint w, guint cout,
    guint k, guint stride, guint pad)
{
  DdnnConvShape s;
  gsize in_n = (gsize) cin * h * w, kk, out_n;
  float *input, *weight, *col, *expect, *got;
  guint8 *in_bits, *w_bits;
  guint64 *hwc, *packed;
  gsize row_bytes, o, i;

  g_assert_true (
      ddnn_conv_shape_init (&s, cin, h, w, cout, k, k, stride, pad, NULL));
  kk = ddnn_conv_patch_size (&s);
  out_n = (gsize) cout * ddnn_conv_out_pixels (&s);
  row_bytes = (kk + 7) / 8;
  input = g_new (float, in_n);
  weight = g_new (float, cout *kk);
  col = g_new (float, kk *ddnn_conv_out_pixels (&s));
  expect = g_new (float, out_n);
  got = g_new (float, out_n);
  in_bits = g_new0 (guint8, (in_n + 7) / 8);
  w_bits = g_new0 (guint8, cout * row_bytes);
  hwc = g_new0 (guint64, (gsize) h * w * ddnn_binary_words_per_pixel (cin));
  packed = g_new0 (guint64, cout * k * k * ddnn_binary_words_per_pixel (cin));

  random_pm1 (rand, input, in_n);
  random_pm1 (rand, weight, cout * kk);
  ddnn_bits_pack (input, in_n, in_bits);
  for (o = 0; o < cout; o++)
    ddnn_bits_pack (weight + o * kk, kk, w_bits + o * row_bytes);

  ddnn_conv2d_f32 (&s, input, weight, NULL, col, expect);
  ddnn_bits_chw_to_hwc (in_bits, cin, h, w, hwc);
  ddnn_binary_conv_pack_weights (&s, w_bits, packed);
  ddnn_binary_conv2d (&s, hwc, packed, NULL, got);
  for (i = 0; i < out_n; i++)
    g_assert_cmpfloat (got[i], ==, expect[i]);

  g_free (input);
  g_free (weight);
  g_free (col);
  g_free (expect);
  g_free (got);
  g_free (in_bits);
  g_free (w_bits);
  g_free (hwc);
  g_free (packed);
}

static void
test_binary_conv_equals_float (void)
{
  GRand *rand = g_rand_new_with_seed (7);

  check_binary_conv (rand, 1, 5, 5, 2, 3, 1, 1);
  check_binary_conv (rand, 4, 16, 16, 16, 3, 1, 1);
  check_binary_conv (rand, 3, 9, 7, 5, 3, 2, 1);
  check_binary_conv (rand, 70, 6, 6, 3, 3, 1, 1); /* two words a pixel */
  check_binary_conv (rand, 24, 16, 16, 16, 3, 1, 1); /* the paper's cloud */
  check_binary_conv (rand, 2, 10, 10, 3, 9, 1, 4); /* 81 taps */
  g_rand_free (rand);
}

static void
test_binary_conv_hand (void)
{
  /* One channel 2x2 input [+ -; - +], 3x3 kernel all +1, pad 1: each
   * output sums the input cells in its window: every window holds all four
   * cells here, so each output is 0; with kernel [+ at centre only], the
   * output is the input itself. */
  const float in[4] = { 1, -1, -1, 1 };
  guint8 in_bits[1], w_bits[2];
  float centre[9] = { -1, -1, -1, -1, 1, -1, -1, -1, -1 };
  guint64 hwc[4], packed[9];
  float out[4];
  DdnnConvShape s;

  g_assert_true (ddnn_conv_shape_init (&s, 1, 2, 2, 1, 3, 3, 1, 1, NULL));
  ddnn_bits_pack (in, 4, in_bits);
  ddnn_bits_chw_to_hwc (in_bits, 1, 2, 2, hwc);
  /* all +1: sum over the window = 0 everywhere */
  w_bits[0] = 0xff;
  w_bits[1] = 0x01;
  ddnn_binary_conv_pack_weights (&s, w_bits, packed);
  ddnn_binary_conv2d (&s, hwc, packed, NULL, out);
  assert_close (out[0], 0);
  assert_close (out[3], 0);
  /* centre +1, the rest -1: (0,0) sees in(0,0) at the centre (+1 * +1) and
   * in(0,1), in(1,0), in(1,1) at -1 weights: 1 + 1 + 1 - 1 = 2 */
  ddnn_bits_pack (centre, 9, w_bits);
  ddnn_binary_conv_pack_weights (&s, w_bits, packed);
  ddnn_binary_conv2d (&s, hwc, packed, NULL, out);
  assert_close (out[0], 2);
  /* (0,1): centre in(0,1) = -1 -> -1; others in(0,0) = +1 -> -1,
   * in(1,0) = -1 -> +1, in(1,1) = +1 -> -1: total -2 */
  assert_close (out[1], -2);
}

static void
test_binary_linear_equals_float (void)
{
  GRand *rand = g_rand_new_with_seed (11);
  const guint sizes[] = { 1, 7, 64, 100, 1024, 1537 };
  guint s;

  for (s = 0; s < G_N_ELEMENTS (sizes); s++) {
    guint in = sizes[s], out = 10, words = ddnn_binary_row_words (in), o;
    float *x = g_new (float, in), *w = g_new (float, out *in);
    guint64 *xb = g_new0 (guint64, words), *wb = g_new0 (guint64, out * words);
    float expect[10], got[10], bias[10];

    random_pm1 (rand, x, in);
    random_pm1 (rand, w, out * in);
    for (o = 0; o < out; o++) {
      bias[o] = o * 0.25f;
      ddnn_bits_pack (w + o * in, in, (guint8 *) (wb + o * words));
    }
    ddnn_bits_pack (x, in, (guint8 *) xb);
    ddnn_linear_f32 (in, out, x, w, bias, expect);
    ddnn_binary_linear (in, out, xb, wb, bias, got);
    for (o = 0; o < out; o++)
      g_assert_cmpfloat (got[o], ==, expect[o]);
    g_free (x);
    g_free (w);
    g_free (xb);
    g_free (wb);
  }
  g_rand_free (rand);
}

static void
test_softmax_entropy (void)
{
  const float uniform[4] = { 0.25f, 0.25f, 0.25f, 0.25f };
  const float one_hot[4] = { 0, 1, 0, 0 };
  const float half[4] = { 0.5f, 0.5f, 0, 0 };
  const float logits[2] = { 0, logf (3) };
  const float big[3] = { 1000, 0, -1000 };
  float p[3];

  assert_close (ddnn_normalized_entropy (4, uniform), 1);
  assert_close (ddnn_normalized_entropy (4, one_hot), 0);
  /* log 2 / log 4 */
  assert_close (ddnn_normalized_entropy (4, half), 0.5f);
  ddnn_softmax (2, logits, p);
  assert_close (p[0], 0.25f);
  assert_close (p[1], 0.75f);
  /* no overflow on large logits */
  ddnn_softmax (3, big, p);
  assert_close (p[0], 1);
  assert_close (p[2], 0);
  g_assert_cmpuint (ddnn_argmax (3, big), ==, 0);
}

static void
test_fusion_f32 (void)
{
  const float a[3] = { 1, -2, 3 }, b[3] = { 0, 5, -1 }, c[3] = { 2, 2, 2 };
  const float *views[3] = { a, b, c };
  const float *missing[3] = { a, NULL, c };
  const float *none[2] = { NULL, NULL };
  GError *error = NULL;
  float out[9];

  g_assert_true (ddnn_fuse_f32 (DDNN_FUSION_MAX, 3, views, 3, out, NULL));
  assert_close (out[0], 2);
  assert_close (out[1], 5);
  assert_close (out[2], 3);
  g_assert_true (ddnn_fuse_f32 (DDNN_FUSION_AVG, 3, views, 3, out, NULL));
  assert_close (out[0], 1);
  assert_close (out[1], 5.0f / 3);
  assert_close (out[2], 4.0f / 3);
  g_assert_true (ddnn_fuse_f32 (DDNN_FUSION_CONCAT, 3, views, 3, out, NULL));
  assert_close (out[3], 0);
  assert_close (out[4], 5);
  assert_close (out[8], 2);

  /* a missing view: max and avg over the others, zeros in concat */
  g_assert_true (ddnn_fuse_f32 (DDNN_FUSION_MAX, 3, missing, 3, out, NULL));
  assert_close (out[1], 2);
  g_assert_true (ddnn_fuse_f32 (DDNN_FUSION_AVG, 3, missing, 3, out, NULL));
  assert_close (out[0], 1.5f);
  assert_close (out[1], 0);
  g_assert_true (ddnn_fuse_f32 (DDNN_FUSION_CONCAT, 3, missing, 3, out, NULL));
  assert_close (out[3], 0);
  assert_close (out[4], 0);
  assert_close (out[6], 2);

  g_assert_false (ddnn_fuse_f32 (DDNN_FUSION_MAX, 2, none, 3, out, &error));
  g_assert_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

static void
test_fusion_bits (void)
{
  /* 5 bits a view: a = 10110, b = 01100 (bit 0 first) */
  const guint8 a[1] = { 0x0d }, b[1] = { 0x06 };
  const guint8 *views[2] = { a, b };
  const guint8 *missing[2] = { a, NULL };
  GError *error = NULL;
  guint8 out[2];

  g_assert_true (ddnn_fuse_bits (DDNN_FUSION_MAX, 2, views, 5, out, NULL));
  g_assert_cmphex (out[0], ==, 0x0f);
  /* concat: bits 0-4 from a, 5-9 from b: 0x0d | 0x06 << 5 = 0xcd, 0x00 */
  g_assert_true (ddnn_fuse_bits (DDNN_FUSION_CONCAT, 2, views, 5, out, NULL));
  g_assert_cmphex (out[0], ==, 0xcd);
  g_assert_cmphex (out[1], ==, 0x00);
  g_assert_false (ddnn_fuse_bits (DDNN_FUSION_AVG, 2, views, 5, out, &error));
  g_clear_error (&error);
  g_assert_false (ddnn_fuse_bits (DDNN_FUSION_MAX, 2, missing, 5, out, &error));
  g_clear_error (&error);
}

static void
test_tensor (void)
{
  const gsize shape[3] = { 2, 3, 4 };
  const gsize huge[2] = { G_GUINT64_CONSTANT (1) << 31, 4 };
  GError *error = NULL;
  DdnnTensor *t, *bits, *back;
  float data[24];
  guint i;

  t = ddnn_tensor_new (DDNN_DTYPE_F32, 3, shape, NULL);
  g_assert_cmpuint (t->n_elements, ==, 24);
  g_assert_cmpuint (t->n_bytes, ==, 96);
  g_assert_cmpuint ((guintptr) t->data % 64, ==, 0);
  for (i = 0; i < 24; i++)
    ddnn_tensor_f32 (t)[i] = (i % 3) - 1.0f;
  bits = ddnn_tensor_to_bits (t, NULL);
  g_assert_cmpuint (bits->n_bytes, ==, 3);
  back = ddnn_tensor_to_f32 (bits, NULL);
  for (i = 0; i < 24; i++)
    assert_close (ddnn_tensor_f32 (back)[i], i % 3 == 0 ? -1 : 1);
  ddnn_tensor_unref (back);
  ddnn_tensor_unref (bits);
  ddnn_tensor_unref (t);

  t = ddnn_tensor_new_wrapped (
      DDNN_DTYPE_F32, 3, shape, data, sizeof (data), NULL, NULL, NULL);
  g_assert_true (t->data == data);
  g_assert_true (ddnn_tensor_ref (t) == t);
  ddnn_tensor_unref (t);
  ddnn_tensor_unref (t);

  g_assert_null (ddnn_tensor_new_wrapped (
      DDNN_DTYPE_F32, 3, shape, data, 95, NULL, NULL, &error));
  g_assert_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_null (ddnn_tensor_new (DDNN_DTYPE_F32, 2, huge, &error));
  g_assert_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ddnn_blas_set_threads (1);
  g_test_add_func ("/ops/conv/hand", test_conv_hand);
  g_test_add_func ("/ops/conv/pad-stride", test_conv_pad_stride);
  g_test_add_func ("/ops/conv/two-channels", test_conv_two_channels);
  g_test_add_func ("/ops/conv/bad-shape", test_conv_bad_shape);
  g_test_add_func ("/ops/pool/hand", test_pools);
  g_test_add_func ("/ops/pool/max-negative", test_max_pool_negative);
  g_test_add_func ("/ops/batch-norm", test_batch_norm);
  g_test_add_func ("/ops/sign-relu", test_sign_relu);
  g_test_add_func ("/ops/linear", test_linear);
  g_test_add_func ("/ops/bits", test_bits);
  g_test_add_func ("/ops/binary/conv-hand", test_binary_conv_hand);
  g_test_add_func (
      "/ops/binary/conv-equals-float", test_binary_conv_equals_float);
  g_test_add_func (
      "/ops/binary/linear-equals-float", test_binary_linear_equals_float);
  g_test_add_func ("/ops/softmax-entropy", test_softmax_entropy);
  g_test_add_func ("/ops/fusion/f32", test_fusion_f32);
  g_test_add_func ("/ops/fusion/bits", test_fusion_bits);
  g_test_add_func ("/ops/tensor", test_tensor);
  return g_test_run ();
}
