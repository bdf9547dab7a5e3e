/* ddnnpublish: sends each answer that passes it to a file or an MQTT broker.
 * SPDX-License-Identifier: LGPL-2.1-or-later */

/**
 * SECTION:element-ddnnpublish
 * @title: ddnnpublish
 *
 * Publishes the answer records of a DDNN (the fields of the ddnn-result
 * message, see gstddnnresult.h) as they pass, and lets everything through
 * untouched.  It takes them from where answers are:
 *
 * - downstream of an exit (ddnnexit's `exit` pad, ddnncloud's `src`): the
 *   record rides on the answered buffer;
 * - upstream of an answering element (before ddnnsink on a camera host,
 *   or before ddnnexit): the answers that come back up the pipeline as
 *   `ddnn-answer` events.  ddnnpublish asks for them, so they come even
 *   where nothing else wants answers back.
 *
 * With method=file each record is appended to #GstDdnnPublish:location as
 * a JSON line, the same line a `results` file holds.  With method=mqtt
 * each record is one MQTT message on #GstDdnnPublish:topic (the JSON line
 * without its newline), sent by a thread of the element's own: it
 * connects, reconnects with a growing backoff when the broker goes away,
 * and keeps the records not yet acknowledged (QoS 1 and 2) or not yet
 * sent in a queue of at most #GstDdnnPublish:max-queue records.  When the
 * queue is full the oldest record waiting is dropped, counted in
 * #GstDdnnPublish:stats and warned about.  At EOS, and when stopping, the
 * element waits up to #GstDdnnPublish:flush-timeout for the queue to
 * empty; what is still in it then is counted as dropped.  At EOS it posts
 * its figures as a `ddnn-publish-stats` element message.
 *
 * Delivery is at least once: a record whose acknowledgement was lost with
 * the connection is sent again, so a reader keys records by site, model
 * and sample.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 ... ! ddnnexit name=x model=m.safetensors
 *     x.exit ! ddnnpublish method=mqtt address=broker:1883 topic=site/answers ! fakesink
 *     x.next ! ddnncloud model=m.safetensors ! ddnnpublish method=mqtt
 *       address=broker:1883 topic=site/answers ! fakesink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnpublish.h"

#include "gstddnnmqtt.h"

#include <gstddnnresult.h>
#include <string.h>
#include <unistd.h>

/* (shared with gstddnnmqtt.c) */
GST_DEBUG_CATEGORY (gst_ddnn_publish_debug);
#define GST_CAT_DEFAULT gst_ddnn_publish_debug

enum
{
  PROP_0,
  PROP_METHOD,
  PROP_LOCATION,
  PROP_ADDRESS,
  PROP_TOPIC,
  PROP_QOS,
  PROP_CLIENT_ID,
  PROP_USERNAME,
  PROP_PASSWORD,
  PROP_PASSWORD_FILE,
  PROP_TLS_CA_FILE,
  PROP_TLS_CERT_FILE,
  PROP_TLS_KEY_FILE,
  PROP_MAX_QUEUE,
  PROP_FLUSH_TIMEOUT,
  PROP_STATS,
};

#define DEFAULT_METHOD GST_DDNN_PUBLISH_FILE
#define DEFAULT_ADDRESS "localhost:1883"
#define DEFAULT_TOPIC "ddnn/answers"
#define DEFAULT_QOS 1
#define DEFAULT_MAX_QUEUE 10000
#define DEFAULT_FLUSH_TIMEOUT (5 * GST_SECOND)

struct _GstDdnnPublish
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  GstDdnnPublishMethod method;
  gchar *location, *address, *topic, *client_id, *username, *password,
      *password_file, *ca_file, *cert_file, *key_file;
  guint qos, max_queue;
  guint64 flush_timeout;

  /* from READY to PAUSED: the file (method=file) or the client (mqtt) */
  GstDdnnResultWriter *writer;
  GstDdnnMqtt *mqtt;
  /* under lock: the file's figures, or the client's last ones */
  GMutex lock;
  GstDdnnMqttStats figures;
};

G_DEFINE_TYPE (GstDdnnPublish, gst_ddnn_publish, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (
    ddnnpublish, "ddnnpublish", GST_RANK_NONE, GST_TYPE_DDNN_PUBLISH);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE (
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

#define GST_TYPE_DDNN_PUBLISH_METHOD (gst_ddnn_publish_method_get_type ())
static GType
gst_ddnn_publish_method_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_DDNN_PUBLISH_FILE, "JSON lines appended to a file (location)",
        "file" },
    { GST_DDNN_PUBLISH_MQTT, "MQTT messages to a broker (address, topic)",
        "mqtt" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstDdnnPublishMethod", values);

    g_once_init_leave (&type, t);
  }
  return type;
}
/* Publishes one record (a ddnn-result structure). */
static void
publish (GstDdnnPublish *self, const GstStructure *result)
{
  GError *error = NULL;
  gboolean ok;

  if (self->mqtt) {
    gst_ddnn_mqtt_publish (
        self->mqtt, g_strchomp (gst_ddnn_result_to_json (result)));
    return;
  }
  g_mutex_lock (&self->lock);
  ok = self->writer &&
      gst_ddnn_result_writer_write (self->writer, result, &error);
  if (ok)
    self->figures.published++;
  else
    self->figures.dropped++;
  g_mutex_unlock (&self->lock);
  if (!ok && error) {
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE, ("Cannot write an answer"),
        ("%s", error->message));
    g_error_free (error);
  }
}

/* ------------------------------------------------------------------ */
/* start and stop                                                      */

static gboolean
gst_ddnn_publish_start (GstBaseTransform *trans)
{
  GstDdnnPublish *self = GST_DDNN_PUBLISH (trans);
  g_autofree gchar *location = NULL, *client_id = NULL, *address = NULL;
  g_autofree gchar *topic = NULL, *username = NULL, *password = NULL;
  g_autofree gchar *password_file = NULL, *ca_file = NULL, *cert_file = NULL;
  g_autofree gchar *key_file = NULL;
  GstDdnnMqttSettings s;

  g_mutex_lock (&self->lock);
  memset (&self->figures, 0, sizeof (self->figures));
  g_mutex_unlock (&self->lock);
  GST_OBJECT_LOCK (self);
  if (self->method == GST_DDNN_PUBLISH_FILE) {
    location = g_strdup (self->location);
    GST_OBJECT_UNLOCK (self);
    if (!location) {
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("No file to publish to"),
          ("method=file needs location=FILE (JSON lines are appended)"));
      return FALSE;
    }
    self->writer = gst_ddnn_element_open_results (GST_ELEMENT (self), location);
    return self->writer != NULL;
  }
  client_id = self->client_id
      ? g_strdup (self->client_id)
      : g_strdup_printf ("ddnn-%s-%d-%s", g_get_host_name (), (gint) getpid (),
            GST_OBJECT_NAME (self));
  address = g_strdup (self->address);
  topic = g_strdup (self->topic);
  username = g_strdup (self->username);
  password = g_strdup (self->password);
  password_file = g_strdup (self->password_file);
  ca_file = g_strdup (self->ca_file);
  cert_file = g_strdup (self->cert_file);
  key_file = g_strdup (self->key_file);
  s = (GstDdnnMqttSettings){ .address = address,
    .topic = topic,
    .client_id = client_id,
    .username = username,
    .password = password,
    .password_file = password_file,
    .ca_file = ca_file,
    .cert_file = cert_file,
    .key_file = key_file,
    .qos = self->qos,
    .max_queue = self->max_queue };
  GST_OBJECT_UNLOCK (self);
  /* (not under the object lock: a bad setting is an element error) */
  self->mqtt = gst_ddnn_mqtt_start (GST_ELEMENT (self), &s);
  return self->mqtt != NULL;
}

static gboolean
gst_ddnn_publish_stop (GstBaseTransform *trans)
{
  GstDdnnPublish *self = GST_DDNN_PUBLISH (trans);
  GstDdnnMqttStats last;
  guint64 timeout;

  if (self->mqtt) {
    GST_OBJECT_LOCK (self);
    timeout = self->flush_timeout;
    GST_OBJECT_UNLOCK (self);
    gst_ddnn_mqtt_stop (g_steal_pointer (&self->mqtt), timeout, &last);
    g_mutex_lock (&self->lock);
    self->figures = last;
    g_mutex_unlock (&self->lock);
  }
  g_clear_pointer (&self->writer, gst_ddnn_result_writer_close);
  return TRUE;
}

/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* answers in                                                          */

static GstFlowReturn
gst_ddnn_publish_transform_ip (GstBaseTransform *trans, GstBuffer *buffer)
{
  const GstStructure *result = gst_buffer_get_ddnn_result (buffer);

  if (result)
    publish (GST_DDNN_PUBLISH (trans), result);
  return GST_FLOW_OK;
}

static gboolean
gst_ddnn_publish_src_event (GstBaseTransform *trans, GstEvent *event)
{
  const GstStructure *result = gst_ddnn_answer_event_get_result (event);

  if (result)
    publish (GST_DDNN_PUBLISH (trans), result);
  return GST_BASE_TRANSFORM_CLASS (gst_ddnn_publish_parent_class)
      ->src_event (trans, event);
}

static GstStructure *stats (GstDdnnPublish *self);

/* At EOS the queue is given its time, and the figures are posted (an
 * element message named ddnn-publish-stats) before the EOS goes on. */
static gboolean
gst_ddnn_publish_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstDdnnPublish *self = GST_DDNN_PUBLISH (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    if (self->mqtt) {
      guint64 timeout;

      GST_OBJECT_LOCK (self);
      timeout = self->flush_timeout;
      GST_OBJECT_UNLOCK (self);
      gst_ddnn_mqtt_flush (self->mqtt, timeout);
    }
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), stats (self)));
  }
  return GST_BASE_TRANSFORM_CLASS (gst_ddnn_publish_parent_class)
      ->sink_event (trans, event);
}

static gboolean
gst_ddnn_publish_query (
    GstBaseTransform *trans, GstPadDirection direction, GstQuery *query)
{
  const GstStructure *s;

  /* answering elements downstream send their answers up through here */
  if (direction == GST_PAD_SRC && GST_QUERY_TYPE (query) == GST_QUERY_CUSTOM &&
      (s = gst_query_get_structure (query)) &&
      gst_structure_has_name (s, GST_DDNN_ANSWERS_QUERY))
    return TRUE;
  return GST_BASE_TRANSFORM_CLASS (gst_ddnn_publish_parent_class)
      ->query (trans, direction, query);
}

/* ------------------------------------------------------------------ */
/* properties                                                          */

static GstStructure *
stats (GstDdnnPublish *self)
{
  GstDdnnMqttStats f;

  /* (the client's figures while it runs; after, its last ones) */
  if (self->mqtt) {
    gst_ddnn_mqtt_get_stats (self->mqtt, &f);
  } else {
    g_mutex_lock (&self->lock);
    f = self->figures;
    g_mutex_unlock (&self->lock);
  }
  return gst_structure_new ("ddnn-publish-stats", "published", G_TYPE_UINT64,
      f.published, "dropped", G_TYPE_UINT64, f.dropped, "queued", G_TYPE_UINT,
      f.queued, "connected", G_TYPE_BOOLEAN, f.connected, "connects",
      G_TYPE_UINT64, f.connects, "failed-connects", G_TYPE_UINT64,
      f.failed_connects, NULL);
}

static void
set_string (gchar **field, const GValue *value)
{
  g_free (*field);
  *field = g_value_dup_string (value);
}

static void
gst_ddnn_publish_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstDdnnPublish *self = GST_DDNN_PUBLISH (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_METHOD:
      self->method = g_value_get_enum (value);
      break;
    case PROP_LOCATION:
      set_string (&self->location, value);
      break;
    case PROP_ADDRESS:
      set_string (&self->address, value);
      break;
    case PROP_TOPIC:
      set_string (&self->topic, value);
      break;
    case PROP_QOS:
      self->qos = g_value_get_uint (value);
      break;
    case PROP_CLIENT_ID:
      set_string (&self->client_id, value);
      break;
    case PROP_USERNAME:
      set_string (&self->username, value);
      break;
    case PROP_PASSWORD:
      set_string (&self->password, value);
      break;
    case PROP_PASSWORD_FILE:
      set_string (&self->password_file, value);
      break;
    case PROP_TLS_CA_FILE:
      set_string (&self->ca_file, value);
      break;
    case PROP_TLS_CERT_FILE:
      set_string (&self->cert_file, value);
      break;
    case PROP_TLS_KEY_FILE:
      set_string (&self->key_file, value);
      break;
    case PROP_MAX_QUEUE:
      self->max_queue = g_value_get_uint (value);
      break;
    case PROP_FLUSH_TIMEOUT:
      self->flush_timeout = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_publish_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstDdnnPublish *self = GST_DDNN_PUBLISH (object);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, stats (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_METHOD:
      g_value_set_enum (value, self->method);
      break;
    case PROP_LOCATION:
      g_value_set_string (value, self->location);
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_TOPIC:
      g_value_set_string (value, self->topic);
      break;
    case PROP_QOS:
      g_value_set_uint (value, self->qos);
      break;
    case PROP_CLIENT_ID:
      g_value_set_string (value, self->client_id);
      break;
    case PROP_USERNAME:
      g_value_set_string (value, self->username);
      break;
    case PROP_PASSWORD_FILE:
      g_value_set_string (value, self->password_file);
      break;
    case PROP_TLS_CA_FILE:
      g_value_set_string (value, self->ca_file);
      break;
    case PROP_TLS_CERT_FILE:
      g_value_set_string (value, self->cert_file);
      break;
    case PROP_TLS_KEY_FILE:
      g_value_set_string (value, self->key_file);
      break;
    case PROP_MAX_QUEUE:
      g_value_set_uint (value, self->max_queue);
      break;
    case PROP_FLUSH_TIMEOUT:
      g_value_set_uint64 (value, self->flush_timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_publish_finalize (GObject *object)
{
  GstDdnnPublish *self = GST_DDNN_PUBLISH (object);

  g_free (self->location);
  g_free (self->address);
  g_free (self->topic);
  g_free (self->client_id);
  g_free (self->username);
  g_free (self->password);
  g_free (self->password_file);
  g_free (self->ca_file);
  g_free (self->cert_file);
  g_free (self->key_file);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (gst_ddnn_publish_parent_class)->finalize (object);
}

static void
gst_ddnn_publish_init (GstDdnnPublish *self)
{
  self->method = DEFAULT_METHOD;
  self->address = g_strdup (DEFAULT_ADDRESS);
  self->topic = g_strdup (DEFAULT_TOPIC);
  self->qos = DEFAULT_QOS;
  self->max_queue = DEFAULT_MAX_QUEUE;
  self->flush_timeout = DEFAULT_FLUSH_TIMEOUT;
  g_mutex_init (&self->lock);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}

#define STRING_PROP(id, name, nick, blurb)                                     \
  g_object_class_install_property (gobject_class, id,                          \
      g_param_spec_string (name, nick, blurb, NULL,                            \
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |                         \
              GST_PARAM_MUTABLE_READY))

static void
gst_ddnn_publish_class_init (GstDdnnPublishClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = gst_ddnn_publish_set_property;
  gobject_class->get_property = gst_ddnn_publish_get_property;
  gobject_class->finalize = gst_ddnn_publish_finalize;

  trans_class->start = GST_DEBUG_FUNCPTR (gst_ddnn_publish_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_ddnn_publish_stop);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_ddnn_publish_transform_ip);
  trans_class->transform_ip_on_passthrough = TRUE;
  trans_class->src_event = GST_DEBUG_FUNCPTR (gst_ddnn_publish_src_event);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_ddnn_publish_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_ddnn_publish_query);

  /**
   * GstDdnnPublish:method:
   *
   * Where the records go: a file of JSON lines, or an MQTT broker.
   */
  g_object_class_install_property (gobject_class, PROP_METHOD,
      g_param_spec_enum ("method", "Method", "Where the answer records go",
          GST_TYPE_DDNN_PUBLISH_METHOD, DEFAULT_METHOD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  STRING_PROP (PROP_LOCATION, "location", "Location",
      "method=file: the file the JSON lines are appended to");
  /**
   * GstDdnnPublish:address:
   *
   * method=mqtt: the broker, as HOST or HOST:PORT (port 1883 by default;
   * a TLS listener usually has 8883).
   */
  g_object_class_install_property (gobject_class, PROP_ADDRESS,
      g_param_spec_string ("address", "Address",
          "method=mqtt: the broker, HOST[:PORT]", DEFAULT_ADDRESS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_TOPIC,
      g_param_spec_string ("topic", "Topic",
          "method=mqtt: the topic each record is published on", DEFAULT_TOPIC,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnPublish:qos:
   *
   * method=mqtt: the MQTT quality of service.  0 sends each record once,
   * unacknowledged; 1 and 2 keep it until the broker acknowledges it, and
   * send it again after a reconnection.
   */
  g_object_class_install_property (gobject_class, PROP_QOS,
      g_param_spec_uint ("qos", "QoS", "method=mqtt: quality of service", 0, 2,
          DEFAULT_QOS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  STRING_PROP (PROP_CLIENT_ID, "client-id", "Client id",
      "method=mqtt: the MQTT client id (NULL: ddnn-HOST-PID-NAME)");
  STRING_PROP (PROP_USERNAME, "username", "User name",
      "method=mqtt: the user name to log in with (NULL: none)");
  /**
   * GstDdnnPublish:password:
   *
   * method=mqtt: the password for #GstDdnnPublish:username.  It cannot be
   * read back; on a command line, where any user's `ps` shows it, give
   * #GstDdnnPublish:password-file instead.
   */
  g_object_class_install_property (gobject_class, PROP_PASSWORD,
      g_param_spec_string ("password", "Password",
          "method=mqtt: the password (write only; prefer password-file)", NULL,
          G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  STRING_PROP (PROP_PASSWORD_FILE, "password-file", "Password file",
      "method=mqtt: a file holding the password (its first line)");
  /**
   * GstDdnnPublish:tls-ca-file:
   *
   * method=mqtt: connect over TLS, checking the broker's certificate
   * against this CA file (PEM).
   */
  STRING_PROP (PROP_TLS_CA_FILE, "tls-ca-file", "TLS CA file",
      "method=mqtt: use TLS, trusting this CA file (PEM)");
  STRING_PROP (PROP_TLS_CERT_FILE, "tls-cert-file", "TLS certificate file",
      "method=mqtt: a client certificate (PEM), with tls-key-file");
  STRING_PROP (PROP_TLS_KEY_FILE, "tls-key-file", "TLS key file",
      "method=mqtt: the client certificate's key (PEM, unencrypted)");
  /**
   * GstDdnnPublish:max-queue:
   *
   * method=mqtt: how many records are kept while the broker has not taken
   * them (not yet sent, or sent and not acknowledged); beyond it the
   * oldest waiting record is dropped and counted.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_QUEUE,
      g_param_spec_uint ("max-queue", "Max queue",
          "method=mqtt: records kept while the broker has not taken them", 1,
          G_MAXINT, DEFAULT_MAX_QUEUE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnPublish:flush-timeout:
   *
   * method=mqtt: how long (ns) EOS and stopping wait for the queue to be
   * taken by the broker; what is left then counts as dropped.
   */
  g_object_class_install_property (gobject_class, PROP_FLUSH_TIMEOUT,
      g_param_spec_uint64 ("flush-timeout", "Flush timeout",
          "method=mqtt: how long (ns) EOS waits for the queue to empty", 0,
          G_MAXUINT64, DEFAULT_FLUSH_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnPublish:stats:
   *
   * published (records the file or broker took), dropped (lost to a full
   * queue, a failed write, or a flush timeout), queued (kept now),
   * connected, connects (connections made; more than one means
   * reconnections) and failed-connects.
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "published, dropped, queued, connected, connects, failed-connects",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "DDNN answer publisher",
      "Filter/Network",
      "Publishes each DDNN answer that passes it (on an exit's buffers, or "
      "coming back up as answer events) to a JSON-lines file or an MQTT "
      "broker, and lets everything through; example: ddnnexit name=x "
      "x.exit ! ddnnpublish method=mqtt address=broker:1883 ! fakesink",
      "ddnn-gst developers");
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI,
      PACKAGE_ORIGIN "/blob/main/README.md#element-reference");
  gst_type_mark_as_plugin_api (GST_TYPE_DDNN_PUBLISH_METHOD, 0);

  GST_DEBUG_CATEGORY_INIT (
      gst_ddnn_publish_debug, "ddnnpublish", 0, "DDNN answer publisher");
}
