/* libddnn: the safetensors container (JSON header + raw little-endian data).
 *
 * Layout: an unsigned 64-bit little-endian header length N, N bytes of UTF-8
 * JSON, then the data.  The JSON maps each tensor name to {dtype, shape,
 * data_offsets: [begin, end]} relative to the start of the data, and may hold
 * "__metadata__", a map of strings to strings.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include "ddnn-error.h"
#include "ddnn-tensor.h"

G_BEGIN_DECLS

/* The safetensors reference implementation refuses headers above 100 MB. */
#define DDNN_SAFETENSORS_MAX_HEADER (100 * 1000 * 1000)
/* JSON nesting deeper than this is refused before it is parsed. */
#define DDNN_JSON_MAX_DEPTH 64

typedef enum
{
  DDNN_ST_F32,
  DDNN_ST_U8,
  DDNN_ST_I8,
} DdnnStDtype;

typedef struct
{
  gchar *name;
  DdnnStDtype dtype;
  guint n_dims;
  gsize shape[DDNN_TENSOR_MAX_DIMS];
  gsize begin, end; /* offsets into the data section */
  const guint8 *data; /* points into the container's bytes */
} DdnnStTensor;

typedef struct
{
  GBytes *bytes;
  GPtrArray *tensors; /* DdnnStTensor*, in file order */
  GHashTable *metadata; /* gchar* -> gchar* */
} DdnnSafetensors;

const gchar *ddnn_st_dtype_name (DdnnStDtype dtype);
gsize ddnn_st_dtype_size (DdnnStDtype dtype);

/* Validates the whole container before anything is read from it: header
 * length, JSON, every dtype, shape and offset, overlap and coverage. */
DdnnSafetensors *ddnn_safetensors_parse (GBytes *bytes, GError **error);
void ddnn_safetensors_free (DdnnSafetensors *st);
const DdnnStTensor *ddnn_safetensors_find (
    const DdnnSafetensors *st, const gchar *name);

/* Writing: tensors are laid out in the order added, back to back. */
typedef struct _DdnnStWriter DdnnStWriter;

DdnnStWriter *ddnn_st_writer_new (void);
void ddnn_st_writer_add (DdnnStWriter *writer, const gchar *name,
    DdnnStDtype dtype, guint n_dims, const gsize *shape, gconstpointer data,
    gsize n_bytes);
void ddnn_st_writer_set_metadata (
    DdnnStWriter *writer, const gchar *key, const gchar *value);
GBytes *ddnn_st_writer_finish (DdnnStWriter *writer);
/* For data too large to hold twice: announce each tensor with
 * ddnn_st_writer_reserve() instead of adding it, take the header with
 * ddnn_st_writer_finish_header(), then write the tensors' bytes after it in
 * the order announced. */
void ddnn_st_writer_reserve (DdnnStWriter *writer, const gchar *name,
    DdnnStDtype dtype, guint n_dims, const gsize *shape, gsize n_bytes);
GBytes *ddnn_st_writer_finish_header (DdnnStWriter *writer);
void ddnn_st_writer_free (DdnnStWriter *writer);

/* Refuses text whose brackets nest deeper than @max_depth (outside
 * strings), so that no recursive parser meets hostile nesting. */
gboolean ddnn_json_check_depth (
    const gchar *text, gsize length, guint max_depth, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdnnSafetensors, ddnn_safetensors_free)

G_END_DECLS
