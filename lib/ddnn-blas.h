/* libddnn: the one place that calls BLAS.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Row-major C = alpha * op(A) * op(B) + beta * C, with op(A) m x k and
 * op(B) k x n.  Every matrix product in libddnn goes through here, so the
 * kernel can be swapped or profiled in one place. */
void ddnn_sgemm (gboolean trans_a, gboolean trans_b, gint m, gint n, gint k,
    float alpha, const float *a, gint lda, const float *b, gint ldb, float beta,
    float *c, gint ldc);

void ddnn_blas_set_threads (gint n_threads);
gint ddnn_blas_get_threads (void);
const gchar *ddnn_blas_core_name (void);

G_END_DECLS
