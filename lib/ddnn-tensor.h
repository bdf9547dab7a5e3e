/* libddnn: tensors.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include "ddnn-error.h"

G_BEGIN_DECLS

#define DDNN_TENSOR_MAX_DIMS 5
/* No tensor in a DDNN section comes close; the bound keeps sizes read from
 * files and packets far from overflow. */
#define DDNN_TENSOR_MAX_ELEMENTS (G_GUINT64_CONSTANT (1) << 31)

/**
 * DdnnDtype:
 * @DDNN_DTYPE_F32: IEEE float32, native byte order in memory
 * @DDNN_DTYPE_I8: signed 8-bit integer
 * @DDNN_DTYPE_BIT: one bit per element, packed in row-major element order,
 *   least significant bit first; bit 1 is +1 and bit 0 is -1.  The buffer
 *   holds ceil(n_elements / 8) bytes and unused high bits of the last byte
 *   are zero.
 */
typedef enum
{
  DDNN_DTYPE_F32,
  DDNN_DTYPE_I8,
  DDNN_DTYPE_BIT,
} DdnnDtype;

typedef struct _DdnnTensor DdnnTensor;

/**
 * DdnnTensor:
 *
 * A reference-counted n-dimensional array.  Its memory is either owned
 * (allocated by libddnn, 64-byte aligned) or borrowed from the caller, who
 * gives a destroy notify that runs when the last reference goes.
 */
struct _DdnnTensor
{
  DdnnDtype dtype;
  guint n_dims;
  gsize shape[DDNN_TENSOR_MAX_DIMS];
  gsize n_elements;
  gsize n_bytes;
  gpointer data;

  /*< private >*/
  gint ref_count;
  GDestroyNotify notify;
  gpointer notify_data;
};

const gchar *ddnn_dtype_name (DdnnDtype dtype);
gboolean ddnn_tensor_bytes_for (DdnnDtype dtype, guint n_dims,
    const gsize *shape, gsize *n_elements, gsize *n_bytes, GError **error);

DdnnTensor *ddnn_tensor_new (
    DdnnDtype dtype, guint n_dims, const gsize *shape, GError **error);
DdnnTensor *ddnn_tensor_new_wrapped (DdnnDtype dtype, guint n_dims,
    const gsize *shape, gpointer data, gsize n_bytes, GDestroyNotify notify,
    gpointer notify_data, GError **error);
DdnnTensor *ddnn_tensor_ref (DdnnTensor *tensor);
void ddnn_tensor_unref (DdnnTensor *tensor);
DdnnTensor *ddnn_tensor_copy (const DdnnTensor *tensor);
gboolean ddnn_tensor_same_shape (const DdnnTensor *a, const DdnnTensor *b);
gchar *ddnn_tensor_shape_to_string (const DdnnTensor *tensor);

static inline float *
ddnn_tensor_f32 (const DdnnTensor *tensor)
{
  return (float *) tensor->data;
}

static inline guint8 *
ddnn_tensor_u8 (const DdnnTensor *tensor)
{
  return (guint8 *) tensor->data;
}

/* Converting between float and packed bits.  Packing maps x >= 0 to +1
 * (bit 1) and x < 0 to -1 (bit 0), as sign() does. */
void ddnn_bits_pack (const float *values, gsize n, guint8 *bits);
void ddnn_bits_unpack (const guint8 *bits, gsize n, float *values);
DdnnTensor *ddnn_tensor_to_f32 (const DdnnTensor *tensor, GError **error);
DdnnTensor *ddnn_tensor_to_bits (const DdnnTensor *tensor, GError **error);

gpointer ddnn_aligned_alloc0 (gsize n_bytes);
void ddnn_aligned_free (gpointer memory);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdnnTensor, ddnn_tensor_unref)

G_END_DECLS
