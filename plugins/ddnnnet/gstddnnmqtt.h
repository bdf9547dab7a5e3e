/* The MQTT client of ddnnpublish: a bounded queue of records and a thread
 * of its own that connects to a broker (libmosquitto), reconnects with a
 * growing backoff, and keeps each record until the broker has taken it
 * (QoS 1 and 2: acknowledged; QoS 0: written).  A full queue drops its
 * oldest waiting record, warns once an outage, and counts it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct _GstDdnnMqtt GstDdnnMqtt;

/* The element's settings (copied at start). */
typedef struct
{
  const gchar *address; /* HOST or HOST:PORT (1883) */
  const gchar *topic, *client_id, *username, *password, *password_file;
  const gchar *ca_file, *cert_file, *key_file;
  guint qos, max_queue;
} GstDdnnMqttSettings;

typedef struct
{
  guint64 published, dropped, connects, failed_connects;
  guint queued;
  gboolean connected;
} GstDdnnMqttStats;

/* Checks @settings and starts the client's thread; NULL, after an element
 * error on @element naming the problem, when a setting is wrong (or the
 * build has no libmosquitto).  Warnings about the broker are @element's. */
GstDdnnMqtt *gst_ddnn_mqtt_start (
    GstElement *element, const GstDdnnMqttSettings *settings);
/* Queues @json (taken) as one message. */
void gst_ddnn_mqtt_publish (GstDdnnMqtt *mqtt, gchar *json);
/* Waits up to @timeout (ns) for every kept record to be taken; gives up the
 * rest, counted as dropped, with a warning. */
void gst_ddnn_mqtt_flush (GstDdnnMqtt *mqtt, guint64 timeout);
void gst_ddnn_mqtt_get_stats (GstDdnnMqtt *mqtt, GstDdnnMqttStats *stats);
/* Flushes (up to @flush_timeout), stops the thread, fills @last with the
 * final figures and frees @mqtt. */
void gst_ddnn_mqtt_stop (
    GstDdnnMqtt *mqtt, guint64 flush_timeout, GstDdnnMqttStats *last);

G_END_DECLS
