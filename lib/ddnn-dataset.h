/* libddnn: multi-view data sets, and the FMV-6 builder.
 *
 * A data set split is one safetensors file with three U8 tensors:
 *   images       [samples, views, height, width, channels]
 *   labels       [samples]          the sample's class
 *   view_labels  [samples, views]   the class a camera sees, or 255 when the
 *                                   object is not in its view
 * and __metadata__ keys "format" = "ddnn-dataset", "version" = "1",
 * "classes" (a JSON array of names) and "source" (free text).  A data set
 * folder holds train.safetensors and test.safetensors.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include "ddnn-error.h"

G_BEGIN_DECLS

#define DDNN_LABEL_ABSENT 255
#define DDNN_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef struct
{
  guint n_samples, n_views, height, width, channels;
  const guint8 *images;
  const guint8 *labels;
  const guint8 *view_labels;
  gchar **class_names; /* NULL-terminated */
  guint n_classes;

  /*< private >*/
  GMappedFile *file;
  gpointer st;
  guint8
      *remapped; /* labels and view labels after ddnn_dataset_match_classes */
} DdnnDataset;

DdnnDataset *ddnn_dataset_open (const gchar *path, GError **error);
void ddnn_dataset_free (DdnnDataset *dataset);

static inline const guint8 *
ddnn_dataset_view (const DdnnDataset *d, guint sample, guint view)
{
  return d->images +
      (((gsize) sample * d->n_views + view) * d->height * d->width *
          d->channels);
}

/* Checks that the data set's classes are @class_names (@n_classes of them),
 * by name and in order, so that label k means the same class to both.  When
 * they are the same names in another order and @remap is set, the labels
 * (and view labels) are rewritten to @class_names' order, in memory.  Any
 * other difference is an error that names both lists. */
gboolean ddnn_dataset_match_classes (DdnnDataset *dataset,
    const gchar *const *class_names, guint n_classes, gboolean remap,
    GError **error);

/* Writes a split: @images holds @n_samples x @n_views views. */
gboolean ddnn_dataset_write (const gchar *path, guint n_samples, guint n_views,
    guint height, guint width, guint channels, const guint8 *images,
    const guint8 *labels, const guint8 *view_labels,
    const gchar *const *class_names, const gchar *source, GError **error);

typedef void (*DdnnProgressFunc) (
    const gchar *what, guint done, guint total, gpointer user_data);

/* FMV-6 (see docs/design.md, "Data sets"): six 32x32 GRAY8 cameras over each
 * Fashion-MNIST item.  Deterministic for @seed; sample k of a split is the
 * same whatever @limit, which keeps only the first @limit samples of each
 * split (0: all).  Writes DIR/train.safetensors and DIR/test.safetensors. */
gboolean ddnn_fmv_build (const gchar *mnist_dir, const gchar *out_dir,
    guint32 seed, guint limit, DdnnProgressFunc progress, gpointer user_data,
    GError **error);

/* Renders one FMV-6 sample: @object is a 28x28 item, @views receives six
 * 32x32 images and @view_labels which of them see it. */
void ddnn_fmv_render (const guint8 *object, guint label, guint32 seed,
    guint split, guint index, guint8 *views, guint8 *view_labels);

/* Conditions that change part-way through a recorded stream: from sample
 * @start on, severity rises linearly from 0 to 1 at the last sample.
 *   noise      every camera: Gaussian noise up to sigma 96 grey levels
 *   contrast   one camera (chosen by @seed): its contrast collapses to 5 %
 *   occlusion  every camera: a band of background grows to 60 % of the
 *              height, at a row each camera draws from @seed */
typedef enum
{
  DDNN_DRIFT_NONE,
  DDNN_DRIFT_NOISE,
  DDNN_DRIFT_CONTRAST,
  DDNN_DRIFT_OCCLUSION,
} DdnnDrift;

gboolean ddnn_drift_parse (const gchar *name, DdnnDrift *drift, GError **error);
/* Applies @drift in place to @images (@n_samples x @n_views views);
 * deterministic for @seed. */
void ddnn_dataset_drift (guint8 *images, guint n_samples, guint n_views,
    guint height, guint width, guint channels, DdnnDrift drift, guint start,
    guint32 seed);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdnnDataset, ddnn_dataset_free)

G_END_DECLS
