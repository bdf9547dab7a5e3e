/* libddnn: how the hot loops are compiled.  Not installed.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The hot kernels are built for three x86-64 levels and the loader picks
 * the best one the processor has (AVX2 + FMA, then SSE4.2 + POPCNT, then
 * the baseline), so one binary serves any x86-64 camera or server.  GCC
 * only: clang 14 does not export a cloned function under its own name from
 * a shared library. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DDNN_KERNEL                                                            \
  __attribute__ ((                                                             \
      target_clones ("arch=x86-64-v3", "arch=x86-64-v2", "default")))
#else
#define DDNN_KERNEL
#endif
