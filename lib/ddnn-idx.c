/* libddnn: IDX files.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-idx.h"

#include <gio/gio.h>
#include <string.h>

/* Fashion-MNIST's largest file is 47 MB; this leaves room for larger sets
 * while refusing a gzip bomb. */
#define IDX_MAX_BYTES (G_GUINT64_CONSTANT (1) << 32)

void
ddnn_idx_free (DdnnIdx *idx)
{
  if (!idx)
    return;
  g_clear_pointer (&idx->data, g_bytes_unref);
  g_free (idx);
}

DdnnIdx *
ddnn_idx_parse (GBytes *bytes, GError **error)
{
  g_autoptr (DdnnIdx) idx = g_new0 (DdnnIdx, 1);
  gsize size, offset;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  guint64 count = 1;
  guint i;

  if (size < 4 || data[0] != 0 || data[1] != 0) {
    g_set_error (
        error, DDNN_ERROR, DDNN_ERROR_CORRUPT, "not an IDX file (bad magic)");
    return NULL;
  }
  if (data[2] != 0x08) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "IDX element type 0x%02x is not unsigned byte (0x08)", data[2]);
    return NULL;
  }
  idx->n_dims = data[3];
  if (idx->n_dims == 0 || idx->n_dims > DDNN_IDX_MAX_DIMS) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "IDX file has %u dimensions; 1 to %d are supported", idx->n_dims,
        DDNN_IDX_MAX_DIMS);
    return NULL;
  }
  offset = 4 + 4 * (gsize) idx->n_dims;
  if (size < offset) {
    g_set_error (
        error, DDNN_ERROR, DDNN_ERROR_TRUNCATED, "truncated IDX header");
    return NULL;
  }
  for (i = 0; i < idx->n_dims; i++) {
    guint32 be;

    memcpy (&be, data + 4 + 4 * i, 4);
    idx->dims[i] = GUINT32_FROM_BE (be);
    count *= idx->dims[i];
    if (count > IDX_MAX_BYTES) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "IDX dimensions announce more than 4 GiB");
      return NULL;
    }
  }
  if (size - offset != count) {
    g_set_error (error, DDNN_ERROR,
        size - offset < count ? DDNN_ERROR_TRUNCATED : DDNN_ERROR_CORRUPT,
        "IDX dimensions announce %" G_GUINT64_FORMAT
        " bytes but %" G_GSIZE_FORMAT " follow",
        count, size - offset);
    return NULL;
  }
  idx->data = g_bytes_new_from_bytes (bytes, offset, count);
  return g_steal_pointer (&idx);
}

DdnnIdx *
ddnn_idx_load (const gchar *path, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GInputStream) raw = NULL;
  g_autoptr (GInputStream) stream = NULL;
  g_autoptr (GOutputStream) sink = NULL;
  g_autoptr (GBytes) bytes = NULL;
  GError *local = NULL;
  DdnnIdx *idx;

  raw = G_INPUT_STREAM (g_file_read (file, NULL, &local));
  if (!raw)
    goto io_error;
  if (g_str_has_suffix (path, ".gz")) {
    g_autoptr (GZlibDecompressor)
        gunzip = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);

    stream = g_converter_input_stream_new (raw, G_CONVERTER (gunzip));
  } else {
    stream = g_object_ref (raw);
  }
  sink = g_memory_output_stream_new_resizable ();
  if (g_output_stream_splice (sink, stream,
          G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE |
              G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
          NULL, &local) < 0)
    goto io_error;
  bytes = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (sink));
  idx = ddnn_idx_parse (bytes, error);
  if (!idx)
    g_prefix_error (error, "%s: ", path);
  return idx;

io_error:
  g_set_error (
      error, DDNN_ERROR, DDNN_ERROR_IO, "%s: %s", path, local->message);
  g_error_free (local);
  return NULL;
}
