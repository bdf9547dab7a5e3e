/* The one-host pipeline against a like-for-like engine baseline, in one
 * process and one run: samples/s and CPU time.
 *
 * Method.
 * - Baseline: one thread does what the pipeline does, on the same recorded
 *   samples (the data set the videos were made from): the six device
 *   sections, the local fusion of their scores, the exit rule
 *   (ddnn_model_exits, the model's threshold), and the cloud section on
 *   the fused features only for the samples that go on.
 * - Pipeline: pipelines/one-host.sh's, built in this process:
 *     filesrc camV.mkv ! matroskademux ! ddnndevice view=V ! fuse. (x 6)
 *     ddnnaggregate name=fuse ! ddnnexit name=x
 *     x.exit ! fakesink   x.next ! ddnncloud ! fakesink
 *   timed from the set_state (PLAYING) to EOS on the bus; the plugins are
 *   loaded before (one untimed round).
 * - samples/s = N / wall time; CPU = user + system time of the whole
 *   process over the round (getrusage), every thread included.
 * - Each is the median of ROUNDS rounds, baseline and pipeline rounds
 *   taken in turn so that the machine's noise falls on both.
 *
 * usage: bench-pipeline MODEL DATA_DIR VIDEO_DIR N
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/gst.h>
#include <gstddnnframe.h>
#include <ddnn-dataset.h>
#include <ddnn-ops.h>
#include "bench-util.h"
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#define ROUNDS 5

typedef struct
{
  double wall, cpu;
  guint64 answers, exited;
} Round;

static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
      ru.ru_stime.tv_usec / 1e6;
}

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

static Round
baseline (DdnnModel *model, const DdnnDataset *data, guint n)
{
  const DdnnInputSpec *in = ddnn_model_get_input (model);
  guint n_views = ddnn_model_get_n_views (model);
  guint n_classes = ddnn_model_get_n_classes (model);
  DdnnSectionResult devices[DDNN_MAX_VIEWS] = { { 0 } }, cloud = { 0 };
  gsize stride = (gsize) data->width * data->channels;
  float fused[DDNN_MAX_CLASSES], probs[DDNN_MAX_CLASSES], entropy;
  Round r = { 0 };
  double t0 = now_s (), c0 = cpu_seconds ();
  GError *error = NULL;
  guint k, v;

  for (k = 0; k < n; k++) {
    const float *scores[DDNN_MAX_VIEWS];
    DdnnTensor *features[DDNN_MAX_VIEWS];

    for (v = 0; v < n_views; v++) {
      if (!ddnn_section_run_image (ddnn_model_get_device_section (model, v),
              ddnn_dataset_view (data, k, v), in->width, in->height,
              in->channels, stride, &devices[v], &error))
        g_error ("%s", error->message);
      scores[v] = devices[v].scores;
      features[v] = devices[v].features;
    }
    if (!ddnn_model_fuse_scores (
            model, scores, n_views, fused, probs, &entropy, &error))
      g_error ("%s", error->message);
    if (ddnn_model_exits (model, DDNN_TIER_DEVICE, -1, entropy)) {
      r.exited++;
    } else if (!ddnn_section_run_fused (ddnn_model_get_cloud_section (model),
                   features, n_views, &cloud, &error)) {
      g_error ("%s", error->message);
    }
    r.answers++;
  }
  r.wall = now_s () - t0;
  r.cpu = cpu_seconds () - c0;
  for (v = 0; v < n_views; v++)
    ddnn_section_result_clear (&devices[v]);
  ddnn_section_result_clear (&cloud);
  (void) n_classes;
  return r;
}

typedef struct
{
  GMutex lock;
  GCond cond;
  gboolean done;
  gchar *error;
  guint64 answers, exited;
} Watch;

static GstBusSyncReply
on_message (GstBus *bus, GstMessage *msg, gpointer data)
{
  Watch *w = data;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:
      if (gst_message_has_name (msg, "ddnn-result")) {
        const gchar *tier = gst_structure_get_string (
            gst_message_get_structure (msg), "tier");

        g_mutex_lock (&w->lock);
        w->answers++;
        if (g_strcmp0 (tier, "device") == 0)
          w->exited++;
        g_mutex_unlock (&w->lock);
      }
      break;
    case GST_MESSAGE_ERROR: {
      GError *error = NULL;

      gst_message_parse_error (msg, &error, NULL);
      g_mutex_lock (&w->lock);
      w->error = g_strdup (error->message);
      w->done = TRUE;
      g_cond_signal (&w->cond);
      g_mutex_unlock (&w->lock);
      g_error_free (error);
      break;
    }
    case GST_MESSAGE_EOS:
      g_mutex_lock (&w->lock);
      w->done = TRUE;
      g_cond_signal (&w->cond);
      g_mutex_unlock (&w->lock);
      break;
    default:
      break;
  }
  return GST_BUS_DROP;
}

static Round
pipeline (const gchar *model, const gchar *video)
{
  GString *line = g_string_new (NULL);
  GstElement *p;
  GError *error = NULL;
  Watch w = { 0 };
  GstBus *bus;
  Round r = { 0 };
  double t0, c0;
  guint v;

  g_string_append_printf (line,
      "ddnnaggregate name=fuse model=%s ! ddnnexit name=x model=%s "
      "x.exit ! fakesink async=false x.next ! ddnncloud model=%s ! "
      "fakesink async=false ",
      model, model, model);
  for (v = 0; v < 6; v++)
    g_string_append_printf (line,
        "filesrc location=%s/cam%u.mkv ! matroskademux ! ddnndevice "
        "model=%s view=%u ! fuse. ",
        video, v, model, v);
  p = gst_parse_launch (line->str, &error);
  if (!p)
    g_error ("%s", error->message);
  g_string_free (line, TRUE);
  g_mutex_init (&w.lock);
  g_cond_init (&w.cond);
  bus = gst_element_get_bus (p);
  gst_bus_set_sync_handler (bus, on_message, &w, NULL);
  t0 = now_s ();
  c0 = cpu_seconds ();
  gst_element_set_state (p, GST_STATE_PLAYING);
  g_mutex_lock (&w.lock);
  while (!w.done)
    g_cond_wait (&w.cond, &w.lock);
  g_mutex_unlock (&w.lock);
  r.wall = now_s () - t0;
  r.cpu = cpu_seconds () - c0;
  if (w.error)
    g_error ("the pipeline failed: %s", w.error);
  r.answers = w.answers;
  r.exited = w.exited;
  gst_element_set_state (p, GST_STATE_NULL);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_object_unref (bus);
  gst_object_unref (p);
  return r;
}

static int
compare_rounds (const void *a, const void *b)
{
  double x = ((const Round *) a)->wall, y = ((const Round *) b)->wall;

  return x < y ? -1 : x > y;
}

static double
median_cpu (Round *rounds, guint n)
{
  double cpu[ROUNDS];
  guint i;

  for (i = 0; i < n; i++)
    cpu[i] = rounds[i].cpu;
  return bench_median (cpu, n);
}

int
main (int argc, char **argv)
{
  Round base[ROUNDS], pipe[ROUNDS];
  DdnnModel *model;
  DdnnDataset *data;
  GError *error = NULL;
  gchar *test;
  guint n, r;
  double base_rate, pipe_rate, base_cpu, pipe_cpu;

  setvbuf (stdout, NULL, _IOLBF, 0);
  gst_init (&argc, &argv);
  if (argc != 5) {
    g_printerr ("usage: bench-pipeline MODEL DATA_DIR VIDEO_DIR N\n");
    return 2;
  }
  n = (guint) g_ascii_strtoull (argv[4], NULL, 10);
  if (!(model = ddnn_model_load (argv[1], &error)))
    g_error ("%s", error->message);
  test = g_build_filename (argv[2], "test.safetensors", NULL);
  if (!(data = ddnn_dataset_open (test, &error)))
    g_error ("%s", error->message);
  g_free (test);
  if (n == 0 || n > data->n_samples)
    n = data->n_samples;

  /* untimed: the plugins loaded, the caches warm */
  pipeline (argv[1], argv[3]);
  for (r = 0; r < ROUNDS; r++) {
    base[r] = baseline (model, data, n);
    pipe[r] = pipeline (argv[1], argv[3]);
    if (pipe[r].answers != n || pipe[r].exited != base[r].exited)
      g_error ("the pipeline answered %" G_GUINT64_FORMAT
               " samples (%" G_GUINT64_FORMAT
               " at the device exit), the baseline %u (%" G_GUINT64_FORMAT ")",
          pipe[r].answers, pipe[r].exited, n, base[r].exited);
  }
  base_cpu = median_cpu (base, ROUNDS);
  pipe_cpu = median_cpu (pipe, ROUNDS);
  qsort (base, ROUNDS, sizeof (Round), compare_rounds);
  qsort (pipe, ROUNDS, sizeof (Round), compare_rounds);
  base_rate = n / base[ROUNDS / 2].wall;
  pipe_rate = n / pipe[ROUNDS / 2].wall;

  printf ("# one-host pipeline beside a one-thread engine doing the same work "
          "(%u samples, %" G_GUINT64_FORMAT " exit at the device; median of "
          "%d rounds each, taken in turn)\n",
      n, base[0].exited, ROUNDS);
  printf ("%-28s %12s %12s %8s %10s\n", "", "pipeline", "baseline", "ratio",
      "goal");
  printf ("%-28s %12.0f %12.0f %7.2fx %10s\n", "samples/s", pipe_rate,
      base_rate, pipe_rate / base_rate, ">= 1.7x");
  printf ("%-28s %12.3f %12.3f %7.2fx %10s\n", "CPU s (user + system)",
      pipe_cpu, base_cpu, pipe_cpu / base_cpu, "<= 1.15x");
  printf ("%-28s %12.1f %12.1f\n", "CPU us per sample", 1e6 * pipe_cpu / n,
      1e6 * base_cpu / n);
  ddnn_dataset_free (data);
  ddnn_model_unref (model);
  return 0;
}
