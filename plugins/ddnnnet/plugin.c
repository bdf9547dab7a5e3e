/* The ddnnnet plugin: DDNN tiers linked across hosts over WebSocket.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnpublish.h"
#include "gstddnnsink.h"
#include "gstddnnsrc.h"

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ok = FALSE;

  ok |= GST_ELEMENT_REGISTER (ddnnsink, plugin);
  ok |= GST_ELEMENT_REGISTER (ddnnsrc, plugin);
  ok |= GST_ELEMENT_REGISTER (ddnnpublish, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, ddnnnet,
    "DDNN tiers across hosts (WebSocket) and answers out (MQTT)", plugin_init,
    PACKAGE_VERSION, "LGPL", "ddnn-gst", PACKAGE_ORIGIN)
