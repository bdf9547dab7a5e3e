/* libddnn: error domain.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DDNN_ERROR (ddnn_error_quark ())

/**
 * DdnnError:
 * @DDNN_ERROR_INVALID_ARGUMENT: a caller passed a value the function cannot take
 * @DDNN_ERROR_SHAPE: tensor shapes or types do not fit together
 * @DDNN_ERROR_IO: a file could not be read or written
 * @DDNN_ERROR_TRUNCATED: a file or buffer ends before the data it announces
 * @DDNN_ERROR_CORRUPT: a header, offset or value is malformed or out of range
 * @DDNN_ERROR_VERSION: the data has a format version this library does not know
 * @DDNN_ERROR_MISSING: a tensor or field the topology requires is absent
 * @DDNN_ERROR_TOPOLOGY: the model topology is inconsistent
 * @DDNN_ERROR_NO_MEMORY: an allocation of the requested size failed
 */
typedef enum
{
  DDNN_ERROR_INVALID_ARGUMENT,
  DDNN_ERROR_SHAPE,
  DDNN_ERROR_IO,
  DDNN_ERROR_TRUNCATED,
  DDNN_ERROR_CORRUPT,
  DDNN_ERROR_VERSION,
  DDNN_ERROR_MISSING,
  DDNN_ERROR_TOPOLOGY,
  DDNN_ERROR_NO_MEMORY,
} DdnnError;

GQuark ddnn_error_quark (void);

G_END_DECLS
