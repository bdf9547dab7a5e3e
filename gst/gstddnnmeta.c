/* GstDdnnMeta: what a DDNN tier knows about one sample, riding on its buffer.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnmeta.h"

#include <string.h>

GType
gst_ddnn_meta_api_get_type (void)
{
  static GType type = 0;
  /* no tags: the meta describes the sample, not the pixels */
  static const gchar *tags[] = { NULL };

  if (g_once_init_enter (&type)) {
    GType api = gst_meta_api_type_register ("GstDdnnMetaAPI", tags);

    g_once_init_leave (&type, api);
  }
  return type;
}

static gboolean
gst_ddnn_meta_init (GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  GstDdnnMeta *m = (GstDdnnMeta *) meta;

  m->sample = 0;
  m->pts = GST_CLOCK_TIME_NONE;
  m->capture_time = GST_CLOCK_TIME_NONE;
  m->view = -1;
  m->view_mask = 0;
  m->model_id[0] = '\0';
  m->n_classes = 0;
  m->scores = NULL;
  m->entropy = 1.0f;
  m->tier = DDNN_TIER_DEVICE;
  m->exit = GST_DDNN_EXIT_NONE;
  m->features = NULL;
  return TRUE;
}

static void
gst_ddnn_meta_free (GstMeta *meta, GstBuffer *buffer)
{
  GstDdnnMeta *m = (GstDdnnMeta *) meta;

  g_clear_pointer (&m->scores, g_free);
  g_clear_pointer (&m->features, ddnn_tensor_unref);
}

static gboolean
gst_ddnn_meta_transform (GstBuffer *dest, GstMeta *meta, GstBuffer *buffer,
    GQuark type, gpointer data)
{
  GstDdnnMeta *src = (GstDdnnMeta *) meta, *dst;

  /* every transform keeps the meta whole: it does not depend on the
   * buffer's memory */
  dst = gst_buffer_add_ddnn_meta (dest, src->model_id, src->n_classes);
  if (!dst)
    return FALSE;
  dst->sample = src->sample;
  dst->pts = src->pts;
  dst->capture_time = src->capture_time;
  dst->view = src->view;
  dst->view_mask = src->view_mask;
  if (src->n_classes)
    memcpy (dst->scores, src->scores, src->n_classes * sizeof (float));
  dst->entropy = src->entropy;
  dst->tier = src->tier;
  dst->exit = src->exit;
  gst_ddnn_meta_set_features (dst, src->features);
  return TRUE;
}

const GstMetaInfo *
gst_ddnn_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) &info)) {
    const GstMetaInfo *registered = gst_meta_register (GST_DDNN_META_API_TYPE,
        "GstDdnnMeta", sizeof (GstDdnnMeta), gst_ddnn_meta_init,
        gst_ddnn_meta_free, gst_ddnn_meta_transform);

    g_once_init_leave ((GstMetaInfo **) &info, (GstMetaInfo *) registered);
  }
  return info;
}

GstDdnnMeta *
gst_buffer_add_ddnn_meta (
    GstBuffer *buffer, const gchar *model_id, guint n_classes)
{
  GstDdnnMeta *meta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (n_classes <= DDNN_MAX_CLASSES, NULL);

  meta = (GstDdnnMeta *) gst_buffer_add_meta (buffer, GST_DDNN_META_INFO, NULL);
  if (!meta)
    return NULL;
  g_strlcpy (meta->model_id, model_id ? model_id : "", sizeof (meta->model_id));
  meta->n_classes = n_classes;
  meta->scores = n_classes ? g_new0 (float, n_classes) : NULL;
  return meta;
}

void
gst_ddnn_meta_set_features (GstDdnnMeta *meta, DdnnTensor *features)
{
  DdnnTensor *old = meta->features;

  meta->features = features ? ddnn_tensor_ref (features) : NULL;
  ddnn_tensor_unref (old);
}

gboolean
gst_ddnn_meta_has_model (const GstDdnnMeta *meta, const gchar *model_id)
{
  gsize n = strlen (meta->model_id);

  return n >= 16 && strncmp (meta->model_id, model_id, n) == 0 &&
      (model_id[n] == '\0' || n < DDNN_MODEL_ID_LENGTH);
}

/**
 * gst_ddnn_buffer_get_meta:
 * @buffer: a buffer
 *
 * Returns: (nullable) (transfer none): the #GstDdnnMeta on @buffer, or
 *   %NULL when it has none
 */
GstDdnnMeta *
gst_ddnn_buffer_get_meta (GstBuffer *buffer)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  return gst_buffer_get_ddnn_meta (buffer);
}

/**
 * gst_ddnn_meta_get_scores:
 * @meta: a #GstDdnnMeta
 * @n: (out): the number of classes
 *
 * Returns: (array length=n) (transfer none): the class scores (logits)
 */
const float *
gst_ddnn_meta_get_scores (const GstDdnnMeta *meta, guint *n)
{
  *n = meta->n_classes;
  return meta->scores;
}

/**
 * gst_ddnn_meta_get_class:
 * @meta: a #GstDdnnMeta
 *
 * Returns: the index of the highest score: the class the tier answers
 */
guint
gst_ddnn_meta_get_class (const GstDdnnMeta *meta)
{
  return meta->n_classes ? ddnn_argmax (meta->n_classes, meta->scores) : 0;
}

/**
 * gst_ddnn_meta_get_tier_name:
 * @meta: a #GstDdnnMeta
 *
 * Returns: (transfer none): the tier that made the scores: "device", "edge"
 *   or "cloud"
 */
const gchar *
gst_ddnn_meta_get_tier_name (const GstDdnnMeta *meta)
{
  return ddnn_tier_name (meta->tier);
}

/**
 * gst_ddnn_meta_get_model_id:
 * @meta: a #GstDdnnMeta
 *
 * Returns: (transfer none): the model's id (hex; from a parsed frame, its
 *   first 16 digits)
 */
const gchar *
gst_ddnn_meta_get_model_id (const GstDdnnMeta *meta)
{
  return meta->model_id;
}

/**
 * gst_ddnn_meta_get_features:
 * @meta: a #GstDdnnMeta
 *
 * Returns: (nullable) (transfer full): the features' bytes as they are held
 *   (see gst_ddnn_meta_get_features_dtype()), or %NULL without features
 */
GBytes *
gst_ddnn_meta_get_features (const GstDdnnMeta *meta)
{
  if (!meta->features)
    return NULL;
  return g_bytes_new (meta->features->data, meta->features->n_bytes);
}

/**
 * gst_ddnn_meta_get_features_dtype:
 * @meta: a #GstDdnnMeta
 *
 * Returns: (nullable) (transfer none): "f32", "i8" or "bit" (one bit a
 *   value, least significant first, 1 for +1), or %NULL without features
 */
const gchar *
gst_ddnn_meta_get_features_dtype (const GstDdnnMeta *meta)
{
  return meta->features ? ddnn_dtype_name (meta->features->dtype) : NULL;
}

/**
 * gst_ddnn_meta_get_features_as_floats:
 * @meta: a #GstDdnnMeta
 * @n: (out): how many values
 *
 * Returns: (array length=n) (transfer full) (nullable): the features as
 *   floats (1-bit features as +1 and -1), or %NULL without features
 */
float *
gst_ddnn_meta_get_features_as_floats (const GstDdnnMeta *meta, gsize *n)
{
  const DdnnTensor *t = meta->features;
  float *out;
  gsize i;

  *n = 0;
  if (!t)
    return NULL;
  out = g_new (float, MAX (t->n_elements, 1));
  switch (t->dtype) {
    case DDNN_DTYPE_F32:
      memcpy (out, t->data, t->n_elements * sizeof (float));
      break;
    case DDNN_DTYPE_BIT:
      ddnn_bits_unpack (t->data, t->n_elements, out);
      break;
    default:
      for (i = 0; i < t->n_elements; i++)
        out[i] = ((const gint8 *) t->data)[i];
      break;
  }
  *n = t->n_elements;
  return out;
}
