/* libddnn: the one place that calls BLAS.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-blas.h"

#include <cblas.h>

void
ddnn_sgemm (gboolean trans_a, gboolean trans_b, gint m, gint n, gint k,
    float alpha, const float *a, gint lda, const float *b, gint ldb, float beta,
    float *c, gint ldc)
{
  if (m <= 0 || n <= 0)
    return;
  if (k <= 0) {
    gint i, j;

    /* BLAS leaves C alone for k == 0 only when beta == 1; be explicit. */
    for (i = 0; i < m; i++)
      for (j = 0; j < n; j++)
        c[(gsize) i * ldc + j] *= beta;
    return;
  }
  /* a matrix-vector product is a different kernel, faster for n == 1 */
  if (n == 1 && !trans_b) {
    cblas_sgemv (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
        trans_a ? k : m, trans_a ? m : k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
      trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta,
      c, ldc);
}

void
ddnn_blas_set_threads (gint n_threads)
{
  openblas_set_num_threads (MAX (n_threads, 1));
}

gint
ddnn_blas_get_threads (void)
{
  return openblas_get_num_threads ();
}

const gchar *
ddnn_blas_core_name (void)
{
  return openblas_get_corename ();
}
