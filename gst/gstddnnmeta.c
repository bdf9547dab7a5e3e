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
