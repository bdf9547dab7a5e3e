/* libddnn: tensors.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-tensor.h"

#include <stdlib.h>
#include <string.h>

#define DDNN_ALIGNMENT 64

const gchar *
ddnn_dtype_name (DdnnDtype dtype)
{
  switch (dtype) {
    case DDNN_DTYPE_F32:
      return "f32";
    case DDNN_DTYPE_I8:
      return "i8";
    case DDNN_DTYPE_BIT:
      return "bit";
  }
  return "unknown";
}

gpointer
ddnn_aligned_alloc0 (gsize n_bytes)
{
  gpointer memory = NULL;
  gsize rounded = (MAX (n_bytes, 1) + DDNN_ALIGNMENT - 1) &
      ~(gsize) (DDNN_ALIGNMENT - 1);

  if (posix_memalign (&memory, DDNN_ALIGNMENT, rounded) != 0)
    return NULL;
  memset (memory, 0, rounded);
  return memory;
}

void
ddnn_aligned_free (gpointer memory)
{
  free (memory);
}

gboolean
ddnn_tensor_bytes_for (DdnnDtype dtype, guint n_dims, const gsize *shape,
    gsize *n_elements, gsize *n_bytes, GError **error)
{
  guint64 count = 1;
  guint i;

  if (n_dims > DDNN_TENSOR_MAX_DIMS) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "tensor has %u dimensions, at most %d are supported", n_dims,
        DDNN_TENSOR_MAX_DIMS);
    return FALSE;
  }
  for (i = 0; i < n_dims; i++) {
    if (shape[i] > DDNN_TENSOR_MAX_ELEMENTS ||
        (shape[i] != 0 && count > DDNN_TENSOR_MAX_ELEMENTS / shape[i])) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
          "tensor has more than %" G_GUINT64_FORMAT " elements",
          (guint64) DDNN_TENSOR_MAX_ELEMENTS);
      return FALSE;
    }
    count *= shape[i];
  }
  if (n_elements)
    *n_elements = count;
  if (n_bytes) {
    switch (dtype) {
      case DDNN_DTYPE_F32:
        *n_bytes = count * 4;
        break;
      case DDNN_DTYPE_I8:
        *n_bytes = count;
        break;
      case DDNN_DTYPE_BIT:
        *n_bytes = (count + 7) / 8;
        break;
      default:
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
            "unknown dtype %d", (int) dtype);
        return FALSE;
    }
  }
  return TRUE;
}

static DdnnTensor *
tensor_alloc_header (
    DdnnDtype dtype, guint n_dims, const gsize *shape, GError **error)
{
  DdnnTensor *tensor;
  gsize n_elements, n_bytes;

  if (!ddnn_tensor_bytes_for (
          dtype, n_dims, shape, &n_elements, &n_bytes, error))
    return NULL;

  tensor = g_new0 (DdnnTensor, 1);
  tensor->dtype = dtype;
  tensor->n_dims = n_dims;
  memcpy (tensor->shape, shape, n_dims * sizeof (gsize));
  tensor->n_elements = n_elements;
  tensor->n_bytes = n_bytes;
  tensor->ref_count = 1;
  return tensor;
}

/**
 * ddnn_tensor_new:
 *
 * Allocates a zero-filled tensor that owns its memory.
 */
DdnnTensor *
ddnn_tensor_new (
    DdnnDtype dtype, guint n_dims, const gsize *shape, GError **error)
{
  DdnnTensor *tensor = tensor_alloc_header (dtype, n_dims, shape, error);

  if (!tensor)
    return NULL;
  tensor->data = ddnn_aligned_alloc0 (tensor->n_bytes);
  if (!tensor->data) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_NO_MEMORY,
        "cannot allocate %" G_GSIZE_FORMAT " bytes for a tensor",
        tensor->n_bytes);
    g_free (tensor);
    return NULL;
  }
  tensor->notify = ddnn_aligned_free;
  tensor->notify_data = tensor->data;
  return tensor;
}

/**
 * ddnn_tensor_new_wrapped:
 * @data: memory of at least @n_bytes that the tensor borrows
 * @notify: (nullable): called with @notify_data when the last reference goes
 *
 * Wraps memory the caller owns.  Fails when @n_bytes is smaller than the
 * shape needs.
 */
DdnnTensor *
ddnn_tensor_new_wrapped (DdnnDtype dtype, guint n_dims, const gsize *shape,
    gpointer data, gsize n_bytes, GDestroyNotify notify, gpointer notify_data,
    GError **error)
{
  DdnnTensor *tensor = tensor_alloc_header (dtype, n_dims, shape, error);

  if (!tensor)
    return NULL;
  if (n_bytes < tensor->n_bytes) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "%" G_GSIZE_FORMAT
        " bytes given for a tensor that needs %" G_GSIZE_FORMAT,
        n_bytes, tensor->n_bytes);
    g_free (tensor);
    return NULL;
  }
  tensor->data = data;
  tensor->notify = notify;
  tensor->notify_data = notify_data;
  return tensor;
}

DdnnTensor *
ddnn_tensor_ref (DdnnTensor *tensor)
{
  g_return_val_if_fail (tensor != NULL, NULL);
  g_atomic_int_inc (&tensor->ref_count);
  return tensor;
}

void
ddnn_tensor_unref (DdnnTensor *tensor)
{
  if (!tensor)
    return;
  if (g_atomic_int_dec_and_test (&tensor->ref_count)) {
    if (tensor->notify)
      tensor->notify (tensor->notify_data);
    g_free (tensor);
  }
}

DdnnTensor *
ddnn_tensor_copy (const DdnnTensor *tensor)
{
  DdnnTensor *copy;

  copy = ddnn_tensor_new (tensor->dtype, tensor->n_dims, tensor->shape, NULL);
  if (copy)
    memcpy (copy->data, tensor->data, tensor->n_bytes);
  return copy;
}

gboolean
ddnn_tensor_same_shape (const DdnnTensor *a, const DdnnTensor *b)
{
  return a->n_dims == b->n_dims &&
      memcmp (a->shape, b->shape, a->n_dims * sizeof (gsize)) == 0;
}

gchar *
ddnn_tensor_shape_to_string (const DdnnTensor *tensor)
{
  GString *s = g_string_new ("[");
  guint i;

  for (i = 0; i < tensor->n_dims; i++)
    g_string_append_printf (
        s, "%s%" G_GSIZE_FORMAT, i ? ", " : "", tensor->shape[i]);
  g_string_append (s, "]");
  return g_string_free (s, FALSE);
}

void
ddnn_bits_pack (const float *values, gsize n, guint8 *bits)
{
  gsize i, full = n / 8;

  for (i = 0; i < full; i++) {
    const float *v = values + i * 8;
    bits[i] = (guint8) ((v[0] >= 0.0f) | (v[1] >= 0.0f) << 1 |
        (v[2] >= 0.0f) << 2 | (v[3] >= 0.0f) << 3 | (v[4] >= 0.0f) << 4 |
        (v[5] >= 0.0f) << 5 | (v[6] >= 0.0f) << 6 | (v[7] >= 0.0f) << 7);
  }
  if (n % 8) {
    guint8 last = 0;

    for (i = full * 8; i < n; i++)
      last |= (values[i] >= 0.0f) << (i % 8);
    bits[full] = last;
  }
}

void
ddnn_bits_unpack (const guint8 *bits, gsize n, float *values)
{
  gsize i;

  for (i = 0; i < n; i++)
    values[i] = (bits[i / 8] >> (i % 8)) & 1 ? 1.0f : -1.0f;
}

DdnnTensor *
ddnn_tensor_to_f32 (const DdnnTensor *tensor, GError **error)
{
  DdnnTensor *out;
  gsize i;

  out = ddnn_tensor_new (DDNN_DTYPE_F32, tensor->n_dims, tensor->shape, error);
  if (!out)
    return NULL;
  switch (tensor->dtype) {
    case DDNN_DTYPE_F32:
      memcpy (out->data, tensor->data, tensor->n_bytes);
      break;
    case DDNN_DTYPE_I8:
      for (i = 0; i < tensor->n_elements; i++)
        ddnn_tensor_f32 (out)[i] = ((const gint8 *) tensor->data)[i];
      break;
    case DDNN_DTYPE_BIT:
      ddnn_bits_unpack (
          tensor->data, tensor->n_elements, ddnn_tensor_f32 (out));
      break;
  }
  return out;
}

DdnnTensor *
ddnn_tensor_to_bits (const DdnnTensor *tensor, GError **error)
{
  DdnnTensor *out, *as_float = NULL;

  if (tensor->dtype == DDNN_DTYPE_BIT)
    return ddnn_tensor_copy (tensor);
  out = ddnn_tensor_new (DDNN_DTYPE_BIT, tensor->n_dims, tensor->shape, error);
  if (!out)
    return NULL;
  if (tensor->dtype != DDNN_DTYPE_F32) {
    as_float = ddnn_tensor_to_f32 (tensor, error);
    if (!as_float) {
      ddnn_tensor_unref (out);
      return NULL;
    }
    tensor = as_float;
  }
  ddnn_bits_pack (tensor->data, tensor->n_elements, out->data);
  ddnn_tensor_unref (as_float);
  return out;
}
