/* What the benchmarks share: the monotonic clock and medians.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <stdlib.h>
#include <time.h>

static inline int
bench_compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* Sorts @values and gives the middle one. */
static inline double
bench_median (double *values, guint n)
{
  qsort (values, n, sizeof (double), bench_compare_doubles);
  return values[n / 2];
}

static inline double
bench_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}
