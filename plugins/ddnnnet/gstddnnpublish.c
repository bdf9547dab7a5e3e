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

#include <errno.h>
#include <glib-unix.h>
#include <gstddnnresult.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_MOSQUITTO
#include <mosquitto.h>
#endif

GST_DEBUG_CATEGORY_STATIC (gst_ddnn_publish_debug);
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
/* seconds between MQTT keep-alive pings */
#define KEEPALIVE 30
/* the longest wait between two attempts to reach the broker */
#define BACKOFF_MAX_MS 2000

typedef struct
{
  guint64 seq;
  gchar *json;
  gint mid;
} Record;

struct _GstDdnnPublish
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  GstDdnnPublishMethod method;
  gchar *location, *address, *topic, *client_id, *username, *password,
      *password_file, *ca_file, *cert_file, *key_file;
  guint qos, max_queue;
  guint64 flush_timeout;

  /* the settings taken at READY to PAUSED */
  GstDdnnPublishMethod running_method;
  GstDdnnResultWriter *writer;
  gchar *host, *running_topic, *running_client_id;
  gint port, running_qos;
  gchar *running_username, *running_password;
  gchar *running_ca, *running_cert, *running_key;
  guint running_max_queue;

  /* under lock: the queue and the figures */
  GMutex lock;
  GCond cond;
  GQueue waiting;
  GHashTable *in_flight; /* mid -> Record */
  guint64 next_seq;
  guint sending; /* taken off waiting, inside mosquitto_publish */
  guint64 published, dropped, connects, failed_connects;
  gboolean connected, running, warned_full;

  /* the MQTT thread's own */
  GThread *thread;
  gint wake[2];
#ifdef HAVE_MOSQUITTO
  struct mosquitto *mosq;
  gboolean lost;
#endif
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

static void
record_free (Record *r)
{
  g_free (r->json);
  g_free (r);
}

/* ------------------------------------------------------------------ */
/* the queue                                                           */

/* Wakes the MQTT thread (a byte on its pipe; a full pipe is awake). */
static void
wake_thread (GstDdnnPublish *self)
{
  if (self->wake[1] >= 0 && write (self->wake[1], "", 1) < 0 && errno != EAGAIN)
    GST_DEBUG_OBJECT (
        self, "cannot wake the MQTT thread: %s", g_strerror (errno));
}

/* Under lock: how many records are kept (waiting or unacknowledged). */
static guint
queued (GstDdnnPublish *self)
{
  return self->waiting.length + self->sending +
      g_hash_table_size (self->in_flight);
}

/* Queues @json (taken) for the MQTT thread; a full queue drops its oldest
 * waiting record (or this one, if every kept record is on the wire). */
static void
enqueue (GstDdnnPublish *self, gchar *json)
{
  Record *r = g_new0 (Record, 1);
  gboolean warn = FALSE;
  guint64 dropped;

  r->json = json;
  g_mutex_lock (&self->lock);
  r->seq = self->next_seq++;
  if (queued (self) >= self->running_max_queue) {
    Record *old = g_queue_pop_head (&self->waiting);

    record_free (old ? old : r);
    self->dropped++;
    warn = !self->warned_full;
    self->warned_full = TRUE;
    if (!old)
      r = NULL;
  }
  if (r)
    g_queue_push_tail (&self->waiting, r);
  dropped = self->dropped;
  g_mutex_unlock (&self->lock);
  if (warn)
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("The answer queue is full (%u records): dropping the oldest",
            self->running_max_queue),
        ("the broker at %s:%d has not taken them; %" G_GUINT64_FORMAT
         " dropped so far (stats has the count)",
            self->host, self->port, dropped));
  wake_thread (self);
}

/* Publishes one record (a ddnn-result structure). */
static void
publish (GstDdnnPublish *self, const GstStructure *result)
{
  GError *error = NULL;

  if (self->running_method == GST_DDNN_PUBLISH_FILE) {
    gboolean ok;

    g_mutex_lock (&self->lock);
    ok = self->writer &&
        gst_ddnn_result_writer_write (self->writer, result, &error);
    if (ok)
      self->published++;
    else
      self->dropped++;
    g_mutex_unlock (&self->lock);
    if (!ok && error) {
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE, ("Cannot write an answer"),
          ("%s", error->message));
      g_error_free (error);
    }
    return;
  }
  enqueue (self, g_strchomp (gst_ddnn_result_to_json (result)));
}

/* Waits up to the flush timeout for every kept record to be taken; gives
 * up the rest, counted as dropped (and says so). */
static void
flush_queue (GstDdnnPublish *self)
{
  gint64 deadline;
  guint left;
  guint64 timeout;

  GST_OBJECT_LOCK (self);
  timeout = self->flush_timeout;
  GST_OBJECT_UNLOCK (self);
  deadline = g_get_monotonic_time () + (gint64) (timeout / GST_USECOND);
  g_mutex_lock (&self->lock);
  while (self->running && queued (self) > 0 &&
      g_cond_wait_until (&self->cond, &self->lock, deadline))
    ;
  /* what is left is given up, and counted */
  left = queued (self);
  self->dropped += left;
  g_queue_clear_full (&self->waiting, (GDestroyNotify) record_free);
  g_hash_table_remove_all (self->in_flight);
  g_mutex_unlock (&self->lock);
  if (left)
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("%u answers were not taken by the broker at %s:%d in time", left,
            self->host, self->port),
        ("flush-timeout is %.1f s; they count as dropped",
            (double) timeout / GST_SECOND));
}

/* ------------------------------------------------------------------ */
/* the MQTT thread                                                     */

#ifdef HAVE_MOSQUITTO
static void
on_connect (struct mosquitto *mosq, void *data, int rc)
{
  GstDdnnPublish *self = data;

  if (rc != 0) {
    gboolean first;

    g_mutex_lock (&self->lock);
    first = self->failed_connects++ == 0;
    g_mutex_unlock (&self->lock);
    if (first)
      GST_ELEMENT_WARNING (self, RESOURCE, OPEN_WRITE,
          ("The broker at %s:%d refused the connection", self->host,
              self->port),
          ("%s; trying again", mosquitto_connack_string (rc)));
    self->lost = TRUE;
    return;
  }
  GST_INFO_OBJECT (self, "connected to %s:%d", self->host, self->port);
  g_mutex_lock (&self->lock);
  self->connected = TRUE;
  self->connects++;
  self->warned_full = FALSE;
  g_mutex_unlock (&self->lock);
}

static void
on_disconnect (struct mosquitto *mosq, void *data, int rc)
{
  GstDdnnPublish *self = data;

  self->lost = TRUE;
}

static void
on_publish (struct mosquitto *mosq, void *data, int mid)
{
  GstDdnnPublish *self = data;

  g_mutex_lock (&self->lock);
  if (g_hash_table_remove (self->in_flight, GINT_TO_POINTER (mid)))
    self->published++;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static gint
by_seq (gconstpointer a, gconstpointer b, gpointer unused)
{
  const Record *x = a, *y = b;

  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The connection is gone: what the broker did not acknowledge goes back to
 * the head of the queue, in order, for the next connection. */
static void
drop_connection (GstDdnnPublish *self)
{
  GHashTableIter it;
  gpointer value;
  GList *back = NULL, *l;

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&it, self->in_flight);
  while (g_hash_table_iter_next (&it, NULL, &value)) {
    back = g_list_prepend (back, value);
    g_hash_table_iter_steal (&it);
  }
  back = g_list_sort_with_data (back, by_seq, NULL);
  for (l = g_list_last (back); l; l = l->prev)
    g_queue_push_head (&self->waiting, l->data);
  if (self->connected)
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("Lost the broker at %s:%d", self->host, self->port),
        ("%u answers kept for the next connection", queued (self)));
  self->connected = FALSE;
  g_mutex_unlock (&self->lock);
  g_list_free (back);
  if (self->mosq) {
    mosquitto_destroy (self->mosq);
    self->mosq = NULL;
  }
}

/* A new client with the element's settings, or NULL (and a warning). */
static struct mosquitto *
new_client (GstDdnnPublish *self)
{
  struct mosquitto *mosq = mosquitto_new (self->running_client_id, TRUE, self);
  gint rc = MOSQ_ERR_SUCCESS;

  if (!mosq) {
    GST_ELEMENT_WARNING (self, RESOURCE, FAILED, ("Cannot make an MQTT client"),
        ("%s", g_strerror (errno)));
    return NULL;
  }
  mosquitto_connect_callback_set (mosq, on_connect);
  mosquitto_disconnect_callback_set (mosq, on_disconnect);
  mosquitto_publish_callback_set (mosq, on_publish);
  if (self->running_username)
    rc = mosquitto_username_pw_set (
        mosq, self->running_username, self->running_password);
  if (rc == MOSQ_ERR_SUCCESS && self->running_ca)
    rc = mosquitto_tls_set (mosq, self->running_ca, NULL, self->running_cert,
        self->running_key, NULL);
  if (rc != MOSQ_ERR_SUCCESS) {
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("Cannot set up the MQTT client"), ("%s", mosquitto_strerror (rc)));
    mosquitto_destroy (mosq);
    return NULL;
  }
  return mosq;
}

/* Hands waiting records to the client, which writes them out at once.
 * The lock is not held across mosquitto_publish: with QoS 0 the client
 * calls on_publish from inside it. */
static void
hand_over (GstDdnnPublish *self)
{
  g_mutex_lock (&self->lock);
  while (self->connected && self->waiting.length && !self->lost) {
    Record *r = g_queue_pop_head (&self->waiting);
    gint rc;

    self->sending++;
    g_mutex_unlock (&self->lock);
    rc = mosquitto_publish (self->mosq, &r->mid, self->running_topic,
        (gint) strlen (r->json), r->json, self->running_qos, false);
    g_mutex_lock (&self->lock);
    self->sending--;
    if (rc != MOSQ_ERR_SUCCESS) {
      g_queue_push_head (&self->waiting, r);
      GST_DEBUG_OBJECT (self, "publish: %s", mosquitto_strerror (rc));
      self->lost = TRUE;
      break;
    }
    if (self->running_qos == 0) {
      /* no acknowledgement comes: written is taken */
      record_free (r);
      self->published++;
    } else {
      /* its acknowledgement is read on this thread, after this */
      g_hash_table_insert (self->in_flight, GINT_TO_POINTER (r->mid), r);
    }
  }
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

/* Sleeps @ms unless the element stops first. */
static void
pause_for (GstDdnnPublish *self, guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;

  g_mutex_lock (&self->lock);
  while (self->running && g_cond_wait_until (&self->cond, &self->lock, until))
    ;
  g_mutex_unlock (&self->lock);
}

static gpointer
mqtt_loop (gpointer data)
{
  GstDdnnPublish *self = data;
  guint backoff = 50;
  gboolean running = TRUE;

  while (running) {
    struct pollfd fds[2];
    gint rc;

    if (!self->mosq) {
      self->lost = FALSE;
      if (!(self->mosq = new_client (self))) {
        pause_for (self, BACKOFF_MAX_MS);
        goto next;
      }
      rc = mosquitto_connect (self->mosq, self->host, self->port, KEEPALIVE);
      if (rc != MOSQ_ERR_SUCCESS) {
        g_mutex_lock (&self->lock);
        if (self->failed_connects++ == 0)
          GST_ELEMENT_WARNING (self, RESOURCE, OPEN_WRITE,
              ("Cannot reach the MQTT broker at %s:%d", self->host, self->port),
              ("%s; trying again",
                  rc == MOSQ_ERR_ERRNO ? g_strerror (errno)
                                       : mosquitto_strerror (rc)));
        g_mutex_unlock (&self->lock);
        drop_connection (self);
        pause_for (self, backoff);
        backoff = MIN (backoff * 2, BACKOFF_MAX_MS);
        goto next;
      }
    }
    hand_over (self);
    fds[0].fd = mosquitto_socket (self->mosq);
    fds[0].events = POLLIN | (mosquitto_want_write (self->mosq) ? POLLOUT : 0);
    fds[1].fd = self->wake[0];
    fds[1].events = POLLIN;
    fds[0].revents = fds[1].revents = 0;
    if (poll (fds, 2, 1000) < 0 && errno != EINTR)
      self->lost = TRUE;
    if (fds[1].revents & POLLIN) {
      gchar drain[64];

      while (read (self->wake[0], drain, sizeof (drain)) > 0)
        ;
    }
    rc = MOSQ_ERR_SUCCESS;
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
      rc = mosquitto_loop_read (self->mosq, 16);
    if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write (self->mosq))
      rc = mosquitto_loop_write (self->mosq, 16);
    if (rc == MOSQ_ERR_SUCCESS)
      rc = mosquitto_loop_misc (self->mosq);
    if (rc != MOSQ_ERR_SUCCESS || self->lost) {
      GST_DEBUG_OBJECT (self, "connection lost: %s", mosquitto_strerror (rc));
      drop_connection (self);
      pause_for (self, backoff);
      backoff = MIN (backoff * 2, BACKOFF_MAX_MS);
    } else if (self->connected) {
      backoff = 50;
    }
  next:
    g_mutex_lock (&self->lock);
    running = self->running;
    g_mutex_unlock (&self->lock);
  }
  if (self->mosq) {
    mosquitto_disconnect (self->mosq);
    mosquitto_destroy (self->mosq);
    self->mosq = NULL;
  }
  return NULL;
}
#endif

/* ------------------------------------------------------------------ */
/* start and stop                                                      */

#ifdef HAVE_MOSQUITTO
static gboolean
parse_address (GstDdnnPublish *self, const gchar *address)
{
  const gchar *colon = strrchr (address, ':');
  guint64 port = 1883;

  if (colon &&
      !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Bad MQTT address '%s'", address),
        ("give HOST or HOST:PORT, the port from 1 to 65535"));
    return FALSE;
  }
  self->host = colon ? g_strndup (address, colon - address)
                     : g_strdup (address);
  self->port = (gint) port;
  if (!*self->host) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Bad MQTT address '%s'", address), ("no host"));
    return FALSE;
  }
  return TRUE;
}

static gboolean
read_password_file (GstDdnnPublish *self, const gchar *path)
{
  GError *error = NULL;
  gchar *text;

  if (!g_file_get_contents (path, &text, NULL, &error)) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Cannot read the password file %s", path), ("%s", error->message));
    g_error_free (error);
    return FALSE;
  }
  g_free (self->running_password);
  self->running_password = g_strdup (g_strchomp (text));
  g_free (text);
  return TRUE;
}
#endif

/* The settings taken at start (also after a start that failed, which
 * GstBaseTransform does not follow with stop). */
static void
clear_running (GstDdnnPublish *self)
{
  g_clear_pointer (&self->host, g_free);
  g_clear_pointer (&self->running_topic, g_free);
  g_clear_pointer (&self->running_client_id, g_free);
  g_clear_pointer (&self->running_username, g_free);
  g_clear_pointer (&self->running_password, g_free);
  g_clear_pointer (&self->running_ca, g_free);
  g_clear_pointer (&self->running_cert, g_free);
  g_clear_pointer (&self->running_key, g_free);
}

static gboolean
gst_ddnn_publish_start (GstBaseTransform *trans)
{
  GstDdnnPublish *self = GST_DDNN_PUBLISH (trans);
  g_autofree gchar *location = NULL, *address = NULL, *password_file = NULL;

  clear_running (self);
  GST_OBJECT_LOCK (self);
  self->running_method = self->method;
  location = g_strdup (self->location);
  address = g_strdup (self->address);
  password_file = g_strdup (self->password_file);
  self->running_topic = g_strdup (self->topic);
  self->running_qos = (gint) self->qos;
  self->running_client_id = self->client_id
      ? g_strdup (self->client_id)
      : g_strdup_printf ("ddnn-%s-%d-%s", g_get_host_name (), (gint) getpid (),
            GST_OBJECT_NAME (self));
  self->running_username = g_strdup (self->username);
  self->running_password = g_strdup (self->password);
  self->running_ca = g_strdup (self->ca_file);
  self->running_cert = g_strdup (self->cert_file);
  self->running_key = g_strdup (self->key_file);
  self->running_max_queue = self->max_queue;
  GST_OBJECT_UNLOCK (self);

  self->published = self->dropped = self->connects = 0;
  self->failed_connects = self->next_seq = 0;
  self->connected = self->warned_full = FALSE;

  if (self->running_method == GST_DDNN_PUBLISH_FILE) {
    if (!location) {
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("No file to publish to"),
          ("method=file needs location=FILE (JSON lines are appended)"));
      return FALSE;
    }
    self->writer = gst_ddnn_element_open_results (GST_ELEMENT (self), location);
    return self->writer != NULL;
  }
#ifdef HAVE_MOSQUITTO
  if (!parse_address (self, address))
    return FALSE;
  if (!self->running_topic || !*self->running_topic ||
      strpbrk (self->running_topic, "+#")) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Bad MQTT topic '%s'", GST_STR_NULL (self->running_topic)),
        ("a topic to publish on is not empty and has no wildcard (+ #)"));
    return FALSE;
  }
  if (password_file && !read_password_file (self, password_file))
    return FALSE;
  if ((self->running_cert != NULL) != (self->running_key != NULL)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("A client certificate needs its key"),
        ("set both tls-cert-file and tls-key-file, or neither"));
    return FALSE;
  }
  if (self->running_cert && !self->running_ca) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("A client certificate needs TLS"),
        ("set tls-ca-file to the broker's CA as well"));
    return FALSE;
  }
  if (!g_unix_open_pipe (self->wake, FD_CLOEXEC, NULL) ||
      !g_unix_set_fd_nonblocking (self->wake[0], TRUE, NULL) ||
      !g_unix_set_fd_nonblocking (self->wake[1], TRUE, NULL)) {
    GST_ELEMENT_ERROR (self, RESOURCE, FAILED, ("Cannot make a pipe"),
        ("%s", g_strerror (errno)));
    return FALSE;
  }
  self->running = TRUE;
  self->thread = g_thread_new ("ddnnpublish-mqtt", mqtt_loop, self);
  return TRUE;
#else
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("This ddnnpublish was built without MQTT"),
      ("rebuild with libmosquitto-dev installed, or use method=file"));
  return FALSE;
#endif
}

static gboolean
gst_ddnn_publish_stop (GstBaseTransform *trans)
{
  GstDdnnPublish *self = GST_DDNN_PUBLISH (trans);
  guint left;

  if (self->thread) {
    flush_queue (self);
    g_mutex_lock (&self->lock);
    self->running = FALSE;
    g_cond_broadcast (&self->cond);
    g_mutex_unlock (&self->lock);
    wake_thread (self);
    g_thread_join (self->thread);
    self->thread = NULL;
  }
  g_mutex_lock (&self->lock);
  left = queued (self);
  self->dropped += left;
  g_queue_clear_full (&self->waiting, (GDestroyNotify) record_free);
  g_hash_table_remove_all (self->in_flight);
  g_mutex_unlock (&self->lock);
  if (left)
    GST_INFO_OBJECT (self, "%u answers dropped at stop", left);
  g_clear_pointer (&self->writer, gst_ddnn_result_writer_close);
  for (guint i = 0; i < 2; i++) {
    if (self->wake[i] >= 0)
      close (self->wake[i]);
    self->wake[i] = -1;
  }
  clear_running (self);
  return TRUE;
}

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
    if (self->thread)
      flush_queue (self);
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
  GstStructure *s;

  g_mutex_lock (&self->lock);
  s = gst_structure_new ("ddnn-publish-stats", "published", G_TYPE_UINT64,
      self->published, "dropped", G_TYPE_UINT64, self->dropped, "queued",
      G_TYPE_UINT, self->in_flight ? queued (self) : 0, "connected",
      G_TYPE_BOOLEAN, self->connected, "connects", G_TYPE_UINT64,
      self->connects, "failed-connects", G_TYPE_UINT64, self->failed_connects,
      NULL);
  g_mutex_unlock (&self->lock);
  return s;
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
  clear_running (self);
  g_hash_table_unref (self->in_flight);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
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
  self->wake[0] = self->wake[1] = -1;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->waiting);
  self->in_flight = g_hash_table_new_full (
      g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) record_free);
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
#ifdef HAVE_MOSQUITTO
  mosquitto_lib_init ();
#endif
}
