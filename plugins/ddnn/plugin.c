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

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ok = FALSE;

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
    "LGPL", "ddnn-gst", "https://localhost/ddnn-gst")
