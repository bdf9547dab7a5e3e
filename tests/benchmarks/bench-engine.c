/* Batch-1 latency of the engine's sections, set beside the sgemm rate of the
 * same machine measured in the same run.
 *
 * Method: each section runs WARMUP times, then RUNS times, each run timed
 * on its own with the monotonic clock; the median is reported.  OpenBLAS
 * runs on one thread (batch-1 inference on a device is single-threaded), and
 * the sgemm rate is measured on one thread too: the median of 50 products of
 * 512x512 matrices, and of the device convolution's own product shape.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ddnn.h>
#include "bench-util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WARMUP 200

static guint runs = 5000;

/* GFLOP/s of one-thread sgemm, m x k times k x n, median of @reps. */
static double
sgemm_rate (gint m, gint n, gint k, guint reps)
{
  float *a = ddnn_aligned_alloc0 ((gsize) m * k * 4);
  float *b = ddnn_aligned_alloc0 ((gsize) k * n * 4);
  float *c = ddnn_aligned_alloc0 ((gsize) m * n * 4);
  double *t = g_new (double, reps);
  double flops = 2.0 * m * n * k, med;
  guint i;

  for (i = 0; i < (guint) (m * k); i++)
    a[i] = (i % 7) * 0.1f;
  for (i = 0; i < (guint) (k * n); i++)
    b[i] = (i % 5) * 0.1f;
  for (i = 0; i < 10; i++)
    ddnn_sgemm (FALSE, FALSE, m, n, k, 1, a, k, b, n, 0, c, n);
  for (i = 0; i < reps; i++) {
    double t0 = bench_now_ns ();

    ddnn_sgemm (FALSE, FALSE, m, n, k, 1, a, k, b, n, 0, c, n);
    t[i] = bench_now_ns () - t0;
  }
  med = bench_median (t, reps);
  ddnn_aligned_free (a);
  ddnn_aligned_free (b);
  ddnn_aligned_free (c);
  g_free (t);
  return flops / med;
}

static gchar *
device_topology (gboolean binary, guint filters)
{
  const gchar *b = binary ? "true" : "false";

  return g_strdup_printf (
      "{\"name\": \"bench-%s\", \"input\": {\"channels\": 1,"
      " \"height\": 32, \"width\": 32}, \"classes\": [\"0\", \"1\", \"2\", "
      "\"3\","
      " \"4\", \"5\", \"6\", \"7\", \"8\", \"9\"], \"views\": 1, \"sections\": "
      "["
      "{\"name\": \"device0\", \"tier\": \"device\", \"view\": 0, \"body\": ["
      "{\"type\": \"conv2d\", \"out\": %u, \"kernel\": 3, \"pad\": 1,"
      " \"binary\": %s}, {\"type\": \"maxpool\", \"kernel\": 3, \"stride\": 2,"
      " \"pad\": 1}, {\"type\": \"batchnorm\"}, {\"type\": \"%s\"}],"
      " \"exit\": [{\"type\": \"linear\", \"out\": 10, \"binary\": %s},"
      " {\"type\": \"batchnorm\"}]},"
      "{\"name\": \"cloud\", \"tier\": \"cloud\", \"body\": [], \"exit\": ["
      "{\"type\": \"linear\", \"out\": 10}]}]}",
      binary ? "binary" : "float", filters, b, binary ? "sign" : "relu", b);
}

typedef struct
{
  const gchar *key;
  const gchar *name;
  double median_us;
  guint64 flops;
} Timing;

static Timing
time_device (const gchar *name, gboolean binary)
{
  g_autofree gchar *topology = device_topology (binary, 8);
  g_autoptr (DdnnModel)
      model = ddnn_model_new_from_topology (topology, 1, NULL);
  DdnnSection *s = ddnn_model_get_device_section (model, 0);
  DdnnSectionResult r = { 0 };
  double *t = g_new (double, runs);
  guint8 pixels[1024];
  DdnnSectionCost cost;
  Timing timing;
  guint i;

  for (i = 0; i < sizeof (pixels); i++)
    pixels[i] = (i * 97) & 0xff;
  for (i = 0; i < WARMUP; i++)
    ddnn_section_run_image (s, pixels, 32, 32, 1, 32, &r, NULL);
  for (i = 0; i < runs; i++) {
    double t0 = bench_now_ns ();

    ddnn_section_run_image (s, pixels, 32, 32, 1, 32, &r, NULL);
    t[i] = bench_now_ns () - t0;
  }
  ddnn_section_get_cost (s, &cost);
  timing.key = binary ? "device-binary" : "device-float";
  timing.name = name;
  timing.median_us = bench_median (t, runs) / 1000.0;
  timing.flops = cost.flops;
  ddnn_section_result_clear (&r);
  g_free (t);
  return timing;
}

static Timing
time_cloud (const gchar *arch_path)
{
  g_autofree gchar *topology = NULL;
  g_autoptr (DdnnModel) model = NULL;
  DdnnSection *cloud;
  DdnnSectionResult dev[DDNN_MAX_VIEWS], r = { 0 };
  DdnnTensor *features[DDNN_MAX_VIEWS];
  double *t = g_new (double, runs);
  guint8 pixels[1024];
  DdnnSectionCost cost;
  Timing timing;
  guint i, v, n_views;

  if (!g_file_get_contents (arch_path, &topology, NULL, NULL)) {
    g_printerr ("cannot read %s\n", arch_path);
    exit (1);
  }
  model = ddnn_model_new_from_topology (topology, 1, NULL);
  n_views = ddnn_model_get_n_views (model);
  cloud = ddnn_model_get_cloud_section (model);
  memset (dev, 0, sizeof (dev));
  for (i = 0; i < sizeof (pixels); i++)
    pixels[i] = (i * 31) & 0xff;
  for (v = 0; v < n_views; v++) {
    ddnn_section_run_image (ddnn_model_get_device_section (model, v), pixels,
        32, 32, 1, 32, &dev[v], NULL);
    features[v] = dev[v].features;
  }
  for (i = 0; i < WARMUP; i++)
    ddnn_section_run_fused (cloud, features, n_views, &r, NULL);
  for (i = 0; i < runs; i++) {
    double t0 = bench_now_ns ();

    ddnn_section_run_fused (cloud, features, n_views, &r, NULL);
    t[i] = bench_now_ns () - t0;
  }
  ddnn_section_get_cost (cloud, &cost);
  timing.key = "cloud";
  timing.name = "cloud, 6 fused views (fmv6-paper)";
  timing.median_us = bench_median (t, runs) / 1000.0;
  timing.flops = cost.flops;
  for (v = 0; v < n_views; v++)
    ddnn_section_result_clear (&dev[v]);
  ddnn_section_result_clear (&r);
  g_free (t);
  return timing;
}

int
main (int argc, char **argv)
{
  const gchar *arch = argc > 1 ? argv[1] : "models/fmv6-paper.json";
  double peak, conv_shape;
  Timing rows[3];
  guint i;

  if (argc > 2)
    runs = MAX (1000, atoi (argv[2]));
  ddnn_blas_set_threads (1);
  peak = sgemm_rate (512, 512, 512, 50);
  conv_shape = sgemm_rate (8, 1024, 9, 2000);
  rows[0] = time_device ("device, f=8, float", FALSE);
  rows[1] = time_device ("device, f=8, binary", TRUE);
  rows[2] = time_cloud (arch);

  printf ("# engine, batch 1, 1 thread, OpenBLAS core %s; median of %u runs\n",
      ddnn_blas_core_name (), runs);
  printf ("sgemm 512x512x512:          %7.1f GFLOP/s\n", peak);
  printf ("sgemm 8x1024x9 (conv shape): %6.1f GFLOP/s\n", conv_shape);
  printf ("%-36s %10s %10s %9s %14s\n", "section", "median us", "FLOPs",
      "GFLOP/s", "x FLOPs@peak");
  for (i = 0; i < G_N_ELEMENTS (rows); i++) {
    double ideal_us = rows[i].flops / peak / 1000.0;

    printf ("%-36s %10.2f %10" G_GUINT64_FORMAT " %9.2f %14.2f\n", rows[i].name,
        rows[i].median_us, rows[i].flops,
        rows[i].flops / rows[i].median_us / 1000.0,
        rows[i].median_us / ideal_us);
  }
  printf ("float device: %.2fx the time its FLOPs take at the 512^3 sgemm rate "
          "(target <= 2x)\n",
      rows[0].median_us / (rows[0].flops / peak / 1000.0));
  printf ("binary device vs float device: %.2fx the time (target < 1)\n",
      rows[1].median_us / rows[0].median_us);
  /* for build-aux/bench.sh */
  for (i = 0; i < G_N_ELEMENTS (rows); i++)
    printf ("@%s %.3f\n", rows[i].key, rows[i].median_us);
  return 0;
}
