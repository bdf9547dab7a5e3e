/* The ddnn plugin: the DDNN tier elements.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnaggregate.h"
#include "gstddnncloud.h"
#include "gstddnndevice.h"
#include "gstddnnexit.h"
#include "gstddnnparse.h"
#include "gstddnnreplay.h"

#include <ddnn-blas.h>

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ok = FALSE;

  /* The elements run one sample at a time on the pipeline's own threads
   * (a camera's each, the aggregator's): that is the parallelism.  An
   * OpenBLAS thread pool beside them only spins (sched_yield) waiting for
   * work too small to split, so each BLAS call runs on its caller's thread,
   * unless OPENBLAS_NUM_THREADS says otherwise. */
  if (!g_getenv ("OPENBLAS_NUM_THREADS"))
    ddnn_blas_set_threads (1);

  ok |= GST_ELEMENT_REGISTER (ddnndevice, plugin);
  ok |= GST_ELEMENT_REGISTER (ddnnexit, plugin);
  ok |= GST_ELEMENT_REGISTER (ddnnaggregate, plugin);
  ok |= GST_ELEMENT_REGISTER (ddnncloud, plugin);
  ok |= GST_ELEMENT_REGISTER (ddnnparse, plugin);
  ok |= GST_ELEMENT_REGISTER (ddnnreplay, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, ddnn,
    "Distributed deep neural network tiers", plugin_init, PACKAGE_VERSION,
    "LGPL", "ddnn-gst", PACKAGE_ORIGIN)
