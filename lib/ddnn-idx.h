/* libddnn: IDX files (the MNIST / Fashion-MNIST container), plain or gzip'd.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include "ddnn-error.h"

G_BEGIN_DECLS

#define DDNN_IDX_MAX_DIMS 4

typedef struct
{
  guint n_dims;
  guint32 dims[DDNN_IDX_MAX_DIMS];
  GBytes *data; /* unsigned bytes, row-major */
} DdnnIdx;

/* Reads an unsigned-byte IDX file; a name ending in .gz is decompressed.
 * The magic, the dimensions and the length are all checked. */
DdnnIdx *ddnn_idx_load (const gchar *path, GError **error);
DdnnIdx *ddnn_idx_parse (GBytes *bytes, GError **error);
void ddnn_idx_free (DdnnIdx *idx);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdnnIdx, ddnn_idx_free)

G_END_DECLS
