/* libFuzzer target: arbitrary bytes into the model loader.  Any input must
 * give either a model or a GError, never a crash, a leak or a hang.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ddnn.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (GBytes) bytes = g_bytes_new_static (data, size);
  GError *error = NULL;
  DdnnModel *model = ddnn_model_load_from_bytes (bytes, &error);

  if (model) {
    /* a model that loads must also run and serialise */
    DdnnSection *device = ddnn_model_get_device_section (model, 0);
    const DdnnInputSpec *in = ddnn_model_get_input (model);
    gsize n = (gsize) in->width * in->height * in->channels;
    guint8 *pixels = g_malloc0 (n);
    DdnnSectionResult result = { 0 };
    GBytes *again;

    if (ddnn_section_is_present (device))
      ddnn_section_run_image (device, pixels, in->width, in->height,
          in->channels, (gsize) in->width * in->channels, &result, NULL);
    ddnn_section_result_clear (&result);
    g_free (pixels);
    again = ddnn_model_serialize (model, NULL);
    g_bytes_unref (again);
    ddnn_model_unref (model);
  } else {
    g_assert (error != NULL);
    g_error_free (error);
  }
  return 0;
}
