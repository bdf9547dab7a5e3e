/* libddnn: joint training of all exits of a DDNN.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-train.h"
#include "ddnn-blas.h"
#include "ddnn-train-private.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

typedef struct
{
  DdnnSection *section;
  GPtrArray *body, *exit; /* DdnnTrainLayer* */
  gsize in_size, feat_size;
  guint n_classes;
  const float *features; /* of the last forward pass */
  const float *scores;
  float *dfeat; /* [batch][feat_size] */
  float *dscores; /* [batch][classes] */
} TrainSection;

struct _DdnnTrainer
{
  DdnnModel *model;
  DdnnTrainOptions options;
  guint n_views, n_classes, batch;
  GPtrArray *devices; /* TrainSection*, by view */
  TrainSection *edge, *cloud;
  float **inputs; /* per view [batch][in_size] */
  gboolean *dropped; /* [batch][views] */
  float *local, *dlocal; /* [batch][classes] */
  guint8 *local_from; /* max fusion: the view that won, [batch][C] */
  float *fused, *dfused; /* [batch][upper in_size] */
  float **dfeat_view; /* per camera, [batch][device features]: its share */
  guint8 *fused_from;
  guint step;
  GRand *rand;
};

gboolean
ddnn_train_options_from_model (
    const DdnnModel *model, DdnnTrainOptions *o, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *root, *training, *weights;

  memset (o, 0, sizeof (*o));
  o->epochs = 10;
  o->batch_size = 64;
  o->learning_rate = 1e-3f;
  o->seed = 1;
  o->threads = 1;
  o->device_weight = o->local_weight = o->edge_weight = o->cloud_weight = 1;

  if (!json_parser_load_from_data (
          parser, ddnn_model_get_topology (model), -1, error))
    return FALSE;
  root = json_node_get_object (json_parser_get_root (parser));
  if (!json_object_has_member (root, "training"))
    return TRUE;
  training = json_object_get_object_member (root, "training");
  if (!training) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "topology: 'training' must be an object");
    return FALSE;
  }
  if (json_object_has_member (training, "epochs"))
    o->epochs = CLAMP (
        json_object_get_int_member (training, "epochs"), 1, 100000);
  if (json_object_has_member (training, "batch"))
    o->batch_size = CLAMP (
        json_object_get_int_member (training, "batch"), 1, 4096);
  if (json_object_has_member (training, "lr"))
    o->learning_rate = json_object_get_double_member (training, "lr");
  if (json_object_has_member (training, "exit_target"))
    o->exit_target = json_object_get_double_member (training, "exit_target");
  if (json_object_has_member (training, "edge_target"))
    o->edge_target = json_object_get_double_member (training, "edge_target");
  if (json_object_has_member (training, "view_drop"))
    o->view_drop = json_object_get_double_member (training, "view_drop");
  weights = json_object_has_member (training, "exit_weights")
      ? json_object_get_object_member (training, "exit_weights")
      : NULL;
  if (weights) {
    if (json_object_has_member (weights, "device"))
      o->device_weight = json_object_get_double_member (weights, "device");
    if (json_object_has_member (weights, "local"))
      o->local_weight = json_object_get_double_member (weights, "local");
    if (json_object_has_member (weights, "edge"))
      o->edge_weight = json_object_get_double_member (weights, "edge");
    if (json_object_has_member (weights, "cloud"))
      o->cloud_weight = json_object_get_double_member (weights, "cloud");
  }
  if (!(o->learning_rate > 0 && o->learning_rate < 1) || !(o->view_drop >= 0) ||
      o->view_drop >= 1) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "topology: training.lr must be in (0, 1) and view_drop in [0, 1)");
    return FALSE;
  }
  return TRUE;
}

static TrainSection *
train_section_new (DdnnSection *s, guint batch, GRand *rand)
{
  TrainSection *ts = g_new0 (TrainSection, 1);
  GPtrArray *lists[2] = { s->body, s->exit };
  guint l, i;

  ts->section = s;
  ts->body = g_ptr_array_new_with_free_func (
      (GDestroyNotify) ddnn_train_layer_free);
  ts->exit = g_ptr_array_new_with_free_func (
      (GDestroyNotify) ddnn_train_layer_free);
  for (l = 0; l < 2; l++)
    for (i = 0; i < lists[l]->len; i++)
      g_ptr_array_add (l ? ts->exit : ts->body,
          ddnn_train_layer_new (g_ptr_array_index (lists[l], i), batch, rand));
  ts->in_size = (gsize) s->in_c * s->in_h * s->in_w;
  ts->feat_size = (gsize) s->feat_c * s->feat_h * s->feat_w;
  ts->n_classes = s->model->class_names->len;
  ts->dfeat = ddnn_aligned_alloc0 ((gsize) batch * ts->feat_size * 4);
  ts->dscores = ddnn_aligned_alloc0 ((gsize) batch * ts->n_classes * 4);
  return ts;
}

static void
train_section_free (TrainSection *ts)
{
  if (!ts)
    return;
  g_ptr_array_unref (ts->body);
  g_ptr_array_unref (ts->exit);
  ddnn_aligned_free (ts->dfeat);
  ddnn_aligned_free (ts->dscores);
  g_free (ts);
}

static const float *
run_forward (GPtrArray *layers, guint n, const float *x, gboolean training)
{
  guint i;

  for (i = 0; i < layers->len; i++) {
    DdnnTrainLayer *l = g_ptr_array_index (layers, i);

    ddnn_train_layer_forward (l, n, x, training);
    x = l->out;
  }
  return x;
}

static void
section_forward (TrainSection *ts, guint n, const float *x, gboolean training)
{
  ts->features = run_forward (ts->body, n, x, training);
  ts->scores = run_forward (ts->exit, n, ts->features, training);
}

/* Back through @layers from dL/dout; returns dL/dinput, or NULL when
 * !@want_dx.  With no layers, dL/dinput is @dy itself. */
static const float *
run_backward (GPtrArray *layers, guint n, const float *dy, gboolean want_dx)
{
  gint i;

  for (i = (gint) layers->len - 1; i >= 0; i--) {
    DdnnTrainLayer *l = g_ptr_array_index (layers, i);
    gboolean need = i > 0 || want_dx;

    ddnn_train_layer_backward (l, n, dy, need);
    if (!need)
      return NULL;
    dy = l->dx;
  }
  return dy;
}

/* Backward through exit then body.  @dfeat_extra (or NULL) is what the tier
 * above sends back for the features. */
static const float *
section_backward (
    TrainSection *ts, guint n, const float *dfeat_extra, gboolean want_dx)
{
  const float *dfeat = run_backward (ts->exit, n, ts->dscores, TRUE);
  gsize i, total = (gsize) n * ts->feat_size;

  for (i = 0; i < total; i++)
    ts->dfeat[i] = dfeat[i] + (dfeat_extra ? dfeat_extra[i] : 0.0f);
  return run_backward (ts->body, n, ts->dfeat, want_dx);
}

DdnnTrainer *
ddnn_trainer_new (
    DdnnModel *model, const DdnnTrainOptions *options, GError **error)
{
  DdnnTrainer *t;
  DdnnSection *edge;
  gsize upper_in;
  guint v;

  if (options->batch_size == 0 || options->threads == 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
        "batch size and threads must be at least 1");
    return NULL;
  }
  if (model->local_fusion == DDNN_FUSION_CONCAT) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "local fusion must be max or avg to train a local exit");
    return NULL;
  }
  for (v = 0; v < model->sections->len; v++)
    if (!ddnn_section_is_present (g_ptr_array_index (model->sections, v))) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_MISSING,
          "training needs every section; this model file is an export");
      return NULL;
    }

  t = g_new0 (DdnnTrainer, 1);
  t->model = ddnn_model_ref (model);
  t->options = *options;
  t->n_views = model->n_views;
  t->n_classes = model->class_names->len;
  t->batch = options->batch_size;
  t->rand = g_rand_new_with_seed (options->seed);
  ddnn_blas_set_threads (1);

  t->devices = g_ptr_array_new_with_free_func (
      (GDestroyNotify) train_section_free);
  t->inputs = g_new0 (float *, t->n_views);
  for (v = 0; v < t->n_views; v++) {
    TrainSection *ts = train_section_new (
        ddnn_model_get_device_section (model, v), t->batch, t->rand);

    g_ptr_array_add (t->devices, ts);
    t->inputs[v] = ddnn_aligned_alloc0 ((gsize) t->batch * ts->in_size * 4);
  }
  edge = ddnn_model_get_edge_section (model);
  if (edge)
    t->edge = train_section_new (edge, t->batch, t->rand);
  t->cloud = train_section_new (
      ddnn_model_get_cloud_section (model), t->batch, t->rand);
  upper_in = edge ? t->edge->in_size : t->cloud->in_size;
  t->fused = ddnn_aligned_alloc0 ((gsize) t->batch * upper_in * 4);
  t->dfused = ddnn_aligned_alloc0 ((gsize) t->batch * upper_in * 4);
  t->dfeat_view = g_new0 (float *, t->n_views);
  for (v = 0; v < t->n_views; v++)
    t->dfeat_view[v] = ddnn_aligned_alloc0 ((gsize) t->batch *
        ((TrainSection *) g_ptr_array_index (t->devices, 0))->feat_size * 4);
  t->fused_from = g_malloc0 ((gsize) t->batch * upper_in);
  t->dropped = g_new0 (gboolean, (gsize) t->batch * t->n_views);
  t->local = g_new0 (float, (gsize) t->batch * t->n_classes);
  t->dlocal = g_new0 (float, (gsize) t->batch * t->n_classes);
  t->local_from = g_malloc0 ((gsize) t->batch * t->n_classes);
  return t;
}

void
ddnn_trainer_free (DdnnTrainer *t)
{
  guint v;

  if (!t)
    return;
  for (v = 0; v < t->n_views; v++)
    ddnn_aligned_free (t->inputs[v]);
  g_free (t->inputs);
  g_ptr_array_unref (t->devices);
  train_section_free (t->edge);
  train_section_free (t->cloud);
  ddnn_aligned_free (t->fused);
  ddnn_aligned_free (t->dfused);
  for (v = 0; t->dfeat_view && v < t->n_views; v++)
    ddnn_aligned_free (t->dfeat_view[v]);
  g_free (t->dfeat_view);
  g_free (t->fused_from);
  g_free (t->dropped);
  g_free (t->local);
  g_free (t->dlocal);
  g_free (t->local_from);
  g_rand_free (t->rand);
  ddnn_model_unref (t->model);
  g_free (t);
}

/* Softmax cross-entropy of one row; writes weight * (p - onehot) into
 * @grad and returns the loss. */
static double
cross_entropy (const float *scores, guint n, guint label, float weight,
    float *grad, gboolean *correct)
{
  float probs[DDNN_MAX_CLASSES];
  guint i;

  ddnn_softmax (n, scores, probs);
  for (i = 0; i < n; i++)
    grad[i] = weight * (probs[i] - (i == label ? 1.0f : 0.0f));
  if (correct)
    *correct = ddnn_argmax (n, scores) == label;
  return -log (MAX (probs[label], 1e-30f));
}

/* Fuses per-view rows (@rows[v] + n * @size) of the views that are not
 * dropped, recording for max which view won. */
static void
fuse_rows (DdnnFusion mode, guint n_views, const float *const *rows,
    const gboolean *dropped, gsize size, float *out, guint8 *from)
{
  guint v, present = 0;
  gsize i;

  switch (mode) {
    case DDNN_FUSION_CONCAT:
      for (v = 0; v < n_views; v++) {
        if (dropped[v])
          memset (out + v * size, 0, size * sizeof (float));
        else
          memcpy (out + v * size, rows[v], size * sizeof (float));
      }
      return;
    case DDNN_FUSION_MAX:
      for (i = 0; i < size; i++)
        out[i] = -INFINITY;
      for (v = 0; v < n_views; v++)
        if (!dropped[v])
          for (i = 0; i < size; i++)
            if (rows[v][i] > out[i]) {
              out[i] = rows[v][i];
              from[i] = (guint8) v;
            }
      return;
    case DDNN_FUSION_AVG:
      memset (out, 0, size * sizeof (float));
      for (v = 0; v < n_views; v++)
        if (!dropped[v]) {
          present++;
          for (i = 0; i < size; i++)
            out[i] += rows[v][i];
        }
      for (i = 0; i < size; i++)
        out[i] /= (float) MAX (present, 1);
      return;
  }
}

/* The adjoint of fuse_rows: adds the share of @dout of view @v to @dv. */
static void
unfuse_rows (DdnnFusion mode, guint n_views, guint v, const gboolean *dropped,
    gsize size, const float *dout, const guint8 *from, float *dv)
{
  guint w, present = 0;
  gsize i;

  if (dropped[v])
    return;
  switch (mode) {
    case DDNN_FUSION_CONCAT:
      for (i = 0; i < size; i++)
        dv[i] += dout[v * size + i];
      return;
    case DDNN_FUSION_MAX:
      for (i = 0; i < size; i++)
        if (from[i] == v)
          dv[i] += dout[i];
      return;
    case DDNN_FUSION_AVG:
      for (w = 0; w < n_views; w++)
        present += !dropped[w];
      for (i = 0; i < size; i++)
        dv[i] += dout[i] / (float) MAX (present, 1);
      return;
  }
}

static void
adam_step (DdnnTrainParam *p, float lr, guint step)
{
  const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
  float c1 = 1.0f - powf (b1, (float) step),
        c2 = 1.0f - powf (b2, (float) step);
  gsize i;

  if (!p->value)
    return;
  for (i = 0; i < p->n; i++) {
    float g = p->grad[i];

    p->m[i] = b1 * p->m[i] + (1 - b1) * g;
    p->v[i] = b2 * p->v[i] + (1 - b2) * g * g;
    p->value[i] -= lr * (p->m[i] / c1) / (sqrtf (p->v[i] / c2) + eps);
    if (p->clip)
      p->value[i] = CLAMP (p->value[i], -1.0f, 1.0f);
  }
}

static void
section_step (TrainSection *ts, float lr, guint step)
{
  GPtrArray *lists[2] = { ts->body, ts->exit };
  guint l, i;

  for (l = 0; l < 2; l++)
    for (i = 0; i < lists[l]->len; i++) {
      DdnnTrainLayer *layer = g_ptr_array_index (lists[l], i);

      adam_step (&layer->weight, lr, step);
      adam_step (&layer->bias, lr, step);
      adam_step (&layer->gamma, lr, step);
      adam_step (&layer->beta, lr, step);
    }
}

static void
load_inputs (
    DdnnTrainer *t, const DdnnDataset *data, const guint *indices, guint n)
{
  const DdnnInputSpec *in = &t->model->input;
  gsize plane = (gsize) in->height * in->width;
  guint i, v, c;
  gsize p;

  for (v = 0; v < t->n_views; v++)
    for (i = 0; i < n; i++) {
      const guint8 *px = ddnn_dataset_view (data, indices[i], v);
      float *x = t->inputs[v] + i * plane * in->channels;

      for (c = 0; c < in->channels; c++) {
        float a = in->scale / in->std[c], b = -in->mean[c] / in->std[c];

        for (p = 0; p < plane; p++)
          x[c * plane + p] = px[p * in->channels + c] * a + b;
      }
    }
}

/* One mini-batch: forward, loss, backward, step.  Returns the loss. */
/* The cameras' sections are independent of each other in both passes: with
 * --threads N they run side by side, camera v on thread v mod N, each with
 * its own buffers, and OpenBLAS stays on one thread (its own threads only
 * slowed these small products down).  Every camera is computed exactly as on
 * one thread, so the model is the same, byte for byte, whatever N. */
typedef enum
{
  CAMERAS_FORWARD,
  CAMERAS_BACKWARD, /* the fused gradients back to each camera, and its step */
} CameraPass;

typedef struct
{
  DdnnTrainer *t;
  guint n, first;
  CameraPass pass;
} CameraJob;

static void
camera_backward (DdnnTrainer *t, guint n, guint v)
{
  TrainSection *d = g_ptr_array_index (t->devices, v);
  TrainSection *upper_first = t->edge ? t->edge : t->cloud;
  guint C = t->n_classes, V = t->n_views, i;
  gsize feat = d->feat_size, fused_size = upper_first->in_size;
  float *extra = t->dfeat_view[v];

  memset (extra, 0, (gsize) n * feat * sizeof (float));
  for (i = 0; i < n; i++) {
    unfuse_rows (t->model->local_fusion, V, v, t->dropped + i * V, C,
        t->dlocal + (gsize) i * C, t->local_from + (gsize) i * C,
        d->dscores + (gsize) i * C);
    unfuse_rows (t->model->feature_fusion, V, v, t->dropped + i * V, feat,
        t->dfused + i * fused_size, t->fused_from + i * fused_size,
        extra + i * feat);
  }
  section_backward (d, n, extra, FALSE);
  section_step (d, t->options.learning_rate, t->step);
}

static gpointer
camera_worker (gpointer data)
{
  CameraJob *job = data;
  DdnnTrainer *t = job->t;
  guint step = MIN (t->options.threads, t->n_views), v;

  for (v = job->first; v < t->n_views; v += step) {
    if (job->pass == CAMERAS_FORWARD)
      section_forward (
          g_ptr_array_index (t->devices, v), job->n, t->inputs[v], TRUE);
    else
      camera_backward (t, job->n, v);
  }
  return NULL;
}

static void
for_each_camera (DdnnTrainer *t, guint n, CameraPass pass)
{
  guint workers = CLAMP (t->options.threads, 1, t->n_views), k;
  CameraJob jobs[DDNN_MAX_VIEWS];
  GThread *threads[DDNN_MAX_VIEWS];

  for (k = 0; k < workers; k++) {
    jobs[k].t = t;
    jobs[k].n = n;
    jobs[k].first = k;
    jobs[k].pass = pass;
    if (k > 0)
      threads[k] = g_thread_new ("ddnn-train", camera_worker, &jobs[k]);
  }
  camera_worker (&jobs[0]);
  for (k = 1; k < workers; k++)
    g_thread_join (threads[k]);
}

static double
train_batch (DdnnTrainer *t, const DdnnDataset *data, const guint *indices,
    guint n, guint *local_correct, guint *cloud_correct)
{
  const DdnnTrainOptions *o = &t->options;
  guint C = t->n_classes, V = t->n_views, i, v;
  TrainSection *upper_first = t->edge ? t->edge : t->cloud;
  gsize feat = ((TrainSection *) g_ptr_array_index (t->devices, 0))->feat_size;
  gsize fused_size = upper_first->in_size;
  guint device_count[DDNN_MAX_VIEWS] = { 0 };
  double loss = 0.0;

  load_inputs (t, data, indices, n);

  /* which cameras are dropped from each sample (at least one stays) */
  for (i = 0; i < n; i++) {
    guint kept = 0;

    for (v = 0; v < V; v++) {
      gboolean drop = o->view_drop > 0 &&
          g_rand_double (t->rand) < o->view_drop;

      t->dropped[i * V + v] = drop;
      kept += !drop;
    }
    if (kept == 0)
      t->dropped[i * V + g_rand_int_range (t->rand, 0, V)] = FALSE;
  }

  for_each_camera (t, n, CAMERAS_FORWARD);

  for (i = 0; i < n; i++) {
    const float *scores[DDNN_MAX_VIEWS], *feats[DDNN_MAX_VIEWS];

    for (v = 0; v < V; v++) {
      TrainSection *d = g_ptr_array_index (t->devices, v);

      scores[v] = d->scores + (gsize) i * C;
      feats[v] = d->features + (gsize) i * feat;
    }
    fuse_rows (t->model->local_fusion, V, scores, t->dropped + i * V, C,
        t->local + (gsize) i * C, t->local_from + (gsize) i * C);
    fuse_rows (t->model->feature_fusion, V, feats, t->dropped + i * V, feat,
        t->fused + i * fused_size, t->fused_from + i * fused_size);
  }
  if (t->edge) {
    section_forward (t->edge, n, t->fused, TRUE);
    section_forward (t->cloud, n, t->edge->features, TRUE);
  } else {
    section_forward (t->cloud, n, t->fused, TRUE);
  }

  /* losses and their gradients at every exit */
  for (v = 0; v < V; v++)
    for (i = 0; i < n; i++) {
      guint8 label = data->view_labels[(gsize) indices[i] * V + v];

      device_count[v] += label != DDNN_LABEL_ABSENT && !t->dropped[i * V + v];
    }
  for (v = 0; v < V; v++) {
    TrainSection *d = g_ptr_array_index (t->devices, v);

    for (i = 0; i < n; i++) {
      guint8 label = data->view_labels[(gsize) indices[i] * V + v];
      float *g = d->dscores + (gsize) i * C;

      if (label == DDNN_LABEL_ABSENT || t->dropped[i * V + v])
        memset (g, 0, C * sizeof (float));
      else
        loss += cross_entropy (d->scores + (gsize) i * C, C, label,
                    o->device_weight / device_count[v], g, NULL) *
            o->device_weight / device_count[v];
    }
  }
  for (i = 0; i < n; i++) {
    guint label = data->labels[indices[i]];
    gboolean right;

    loss += cross_entropy (t->local + (gsize) i * C, C, label,
                o->local_weight / n, t->dlocal + (gsize) i * C, &right) *
        o->local_weight / n;
    *local_correct += right;
    loss += cross_entropy (t->cloud->scores + (gsize) i * C, C, label,
                o->cloud_weight / n, t->cloud->dscores + (gsize) i * C,
                &right) *
        o->cloud_weight / n;
    *cloud_correct += right;
    if (t->edge)
      loss += cross_entropy (t->edge->scores + (gsize) i * C, C, label,
                  o->edge_weight / n, t->edge->dscores + (gsize) i * C, NULL) *
          o->edge_weight / n;
  }

  /* backward: cloud, edge, then every device */
  if (t->edge) {
    const float *d_edge_feat = section_backward (t->cloud, n, NULL, TRUE);
    const float *d_fused = section_backward (t->edge, n, d_edge_feat, TRUE);

    memcpy (t->dfused, d_fused, (gsize) n * fused_size * sizeof (float));
  } else {
    const float *d_fused = section_backward (t->cloud, n, NULL, TRUE);

    memcpy (t->dfused, d_fused, (gsize) n * fused_size * sizeof (float));
  }
  t->step++;
  for_each_camera (t, n, CAMERAS_BACKWARD);
  if (t->edge)
    section_step (t->edge, o->learning_rate, t->step);
  section_step (t->cloud, o->learning_rate, t->step);
  return loss;
}

gboolean
ddnn_trainer_run_epoch (DdnnTrainer *t, const DdnnDataset *data, guint epoch,
    DdnnTrainProgressFunc progress, gpointer user_data,
    DdnnTrainProgress *summary, GError **error)
{
  const DdnnInputSpec *in = &t->model->input;
  DdnnTrainProgress p = { 0 };
  guint *order, i, local_correct = 0, cloud_correct = 0;
  gint64 t0 = g_get_monotonic_time ();
  double loss_sum = 0.0;
  GRand *shuffle;

  if (data->n_views != t->n_views || data->height != in->height ||
      data->width != in->width || data->channels != in->channels ||
      data->n_classes != t->n_classes) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "the data set has %u views of %ux%ux%u and %u classes; the model "
        "takes %u views of %ux%ux%u and %u classes",
        data->n_views, data->width, data->height, data->channels,
        data->n_classes, t->n_views, in->width, in->height, in->channels,
        t->n_classes);
    return FALSE;
  }
  if (data->n_samples == 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
        "the data set is empty");
    return FALSE;
  }

  /* the order of an epoch depends on the seed and the epoch alone */
  order = g_new (guint, data->n_samples);
  for (i = 0; i < data->n_samples; i++)
    order[i] = i;
  shuffle = g_rand_new_with_seed (t->options.seed * 7919u + epoch);
  for (i = data->n_samples - 1; i > 0; i--) {
    guint j = g_rand_int_range (shuffle, 0, i + 1), tmp = order[i];

    order[i] = order[j];
    order[j] = tmp;
  }
  g_rand_free (shuffle);

  p.epoch = epoch;
  p.epochs = t->options.epochs;
  p.n_batches = (data->n_samples + t->batch - 1) / t->batch;
  for (p.batch = 0; p.batch < p.n_batches; p.batch++) {
    guint start = p.batch * t->batch;
    guint n = MIN (t->batch, data->n_samples - start);

    /* a batch of one gives batch norm no statistics: skip a lone tail */
    if (n < 2 && p.batch > 0)
      break;
    loss_sum += train_batch (
        t, data, order + start, n, &local_correct, &cloud_correct);
    p.samples = start + n;
    p.loss = loss_sum / (p.batch + 1);
    p.local_accuracy = (double) local_correct / p.samples;
    p.cloud_accuracy = (double) cloud_correct / p.samples;
    p.seconds = (g_get_monotonic_time () - t0) / 1e6;
    p.samples_per_second = p.samples / MAX (p.seconds, 1e-9);
    if (progress)
      progress (&p, user_data);
  }
  g_free (order);
  if (summary)
    *summary = p;
  return TRUE;
}

static void
export_layer (DdnnTrainLayer *l, DdnnLayer *layer)
{
  DdnnTensor *w = layer->params[DDNN_PARAM_WEIGHT];

  if (l->weight.value) {
    if (layer->binary) {
      gsize rows = w->shape[0], cols = w->shape[1], row_bytes = (cols + 7) / 8;
      gsize r;

      for (r = 0; r < rows; r++)
        ddnn_bits_pack (l->weight.value + r * cols, cols,
            ddnn_tensor_u8 (w) + r * row_bytes);
    } else {
      memcpy (w->data, l->weight.value, l->weight.n * sizeof (float));
    }
  }
  if (l->bias.value)
    memcpy (layer->params[DDNN_PARAM_BIAS]->data, l->bias.value,
        l->bias.n * sizeof (float));
  if (layer->type == DDNN_LAYER_BATCHNORM) {
    gsize bytes = layer->in_c * sizeof (float);

    memcpy (layer->params[DDNN_PARAM_GAMMA]->data, l->gamma.value, bytes);
    memcpy (layer->params[DDNN_PARAM_BETA]->data, l->beta.value, bytes);
    memcpy (
        layer->params[DDNN_PARAM_RUNNING_MEAN]->data, l->running_mean, bytes);
    memcpy (layer->params[DDNN_PARAM_RUNNING_VAR]->data, l->running_var, bytes);
  }
}

static void
export_section (TrainSection *ts)
{
  guint i;

  for (i = 0; i < ts->body->len; i++)
    export_layer (g_ptr_array_index (ts->body, i),
        g_ptr_array_index (ts->section->body, i));
  for (i = 0; i < ts->exit->len; i++)
    export_layer (g_ptr_array_index (ts->exit, i),
        g_ptr_array_index (ts->section->exit, i));
}

gboolean
ddnn_trainer_export (DdnnTrainer *t, GError **error)
{
  guint v;

  for (v = 0; v < t->n_views; v++)
    export_section (g_ptr_array_index (t->devices, v));
  if (t->edge)
    export_section (t->edge);
  export_section (t->cloud);
  return ddnn_model_refresh (t->model, error);
}
