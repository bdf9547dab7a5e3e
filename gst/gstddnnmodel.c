/* Loading a model from an element, with the error a user should see.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnmodel.h"

DdnnModel *
gst_ddnn_element_load_model (GstElement *element, const gchar *path)
{
  GError *error = NULL;
  DdnnModel *model;

  if (!path) {
    GST_ELEMENT_ERROR (element, RESOURCE, NOT_FOUND, ("No model file given"),
        ("set the 'model' property to a .safetensors file"));
    return NULL;
  }
  model = ddnn_model_load (path, &error);
  if (!model) {
    GST_ELEMENT_ERROR (element, RESOURCE, OPEN_READ,
        ("Cannot load the model %s", path), ("%s", error->message));
    g_error_free (error);
  }
  return model;
}

const gchar *
gst_ddnn_model_label (const DdnnModel *model, const GstDdnnMeta *meta)
{
  if (!model || meta->n_classes != ddnn_model_get_n_classes (model))
    return NULL;
  return ddnn_model_get_class_name (
      model, ddnn_argmax (meta->n_classes, meta->scores));
}
