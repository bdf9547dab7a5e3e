/* The MQTT client of ddnnpublish: a queue of records and a thread that
 * keeps them going to a broker (libmosquitto).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnmqtt.h"

#include <errno.h>
#include <glib-unix.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_MOSQUITTO
#include <mosquitto.h>
#endif

GST_DEBUG_CATEGORY_EXTERN (gst_ddnn_publish_debug);
#define GST_CAT_DEFAULT gst_ddnn_publish_debug

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

static void
record_free (Record *r)
{
  g_free (r->json);
  g_free (r);
}

struct _GstDdnnMqtt
{
  /* warnings and errors are this element's */
  GstElement *element;

  /* the settings, as they were at start */
  gchar *host, *topic, *client_id, *username, *password, *ca, *cert, *key;
  gint port, qos;
  guint max_queue;

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

/* Wakes the MQTT thread (a byte on its pipe; a full pipe is awake). */
static void
wake_thread (GstDdnnMqtt *self)
{
  if (self->wake[1] >= 0 && write (self->wake[1], "", 1) < 0 && errno != EAGAIN)
    GST_DEBUG_OBJECT (
        self->element, "cannot wake the MQTT thread: %s", g_strerror (errno));
}

/* Under lock: how many records are kept (waiting or unacknowledged). */
static guint
queued (GstDdnnMqtt *self)
{
  return self->waiting.length + self->sending +
      g_hash_table_size (self->in_flight);
}

/* A full queue drops its oldest waiting record (or this one, if every
 * kept record is on the wire). */
void
gst_ddnn_mqtt_publish (GstDdnnMqtt *self, gchar *json)
{
  Record *r = g_new0 (Record, 1);
  gboolean warn = FALSE;
  guint64 dropped;

  r->json = json;
  g_mutex_lock (&self->lock);
  r->seq = self->next_seq++;
  if (queued (self) >= self->max_queue) {
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
    GST_ELEMENT_WARNING (self->element, RESOURCE, WRITE,
        ("The answer queue is full (%u records): dropping the oldest",
            self->max_queue),
        ("the broker at %s:%d has not taken them; %" G_GUINT64_FORMAT
         " dropped so far (stats has the count)",
            self->host, self->port, dropped));
  wake_thread (self);
}

void
gst_ddnn_mqtt_flush (GstDdnnMqtt *self, guint64 timeout)
{
  gint64 deadline;
  guint left;

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
    GST_ELEMENT_WARNING (self->element, RESOURCE, WRITE,
        ("%u answers were not taken by the broker at %s:%d in time", left,
            self->host, self->port),
        ("flush-timeout is %.1f s; they count as dropped",
            (double) timeout / GST_SECOND));
}

#ifdef HAVE_MOSQUITTO
static void
on_connect (struct mosquitto *mosq, void *data, int rc)
{
  GstDdnnMqtt *self = data;

  if (rc != 0) {
    gboolean first;

    g_mutex_lock (&self->lock);
    first = self->failed_connects++ == 0;
    g_mutex_unlock (&self->lock);
    if (first)
      GST_ELEMENT_WARNING (self->element, RESOURCE, OPEN_WRITE,
          ("The broker at %s:%d refused the connection", self->host,
              self->port),
          ("%s; trying again", mosquitto_connack_string (rc)));
    self->lost = TRUE;
    return;
  }
  GST_INFO_OBJECT (self->element, "connected to %s:%d", self->host, self->port);
  g_mutex_lock (&self->lock);
  self->connected = TRUE;
  self->connects++;
  self->warned_full = FALSE;
  g_mutex_unlock (&self->lock);
}

static void
on_disconnect (struct mosquitto *mosq, void *data, int rc)
{
  GstDdnnMqtt *self = data;

  self->lost = TRUE;
}

static void
on_publish (struct mosquitto *mosq, void *data, int mid)
{
  GstDdnnMqtt *self = data;

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
drop_connection (GstDdnnMqtt *self)
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
    GST_ELEMENT_WARNING (self->element, RESOURCE, WRITE,
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
new_client (GstDdnnMqtt *self)
{
  struct mosquitto *mosq = mosquitto_new (self->client_id, TRUE, self);
  gint rc = MOSQ_ERR_SUCCESS;

  if (!mosq) {
    GST_ELEMENT_WARNING (self->element, RESOURCE, FAILED,
        ("Cannot make an MQTT client"), ("%s", g_strerror (errno)));
    return NULL;
  }
  mosquitto_connect_callback_set (mosq, on_connect);
  mosquitto_disconnect_callback_set (mosq, on_disconnect);
  mosquitto_publish_callback_set (mosq, on_publish);
  if (self->username)
    rc = mosquitto_username_pw_set (mosq, self->username, self->password);
  if (rc == MOSQ_ERR_SUCCESS && self->ca)
    rc = mosquitto_tls_set (mosq, self->ca, NULL, self->cert, self->key, NULL);
  if (rc != MOSQ_ERR_SUCCESS) {
    GST_ELEMENT_WARNING (self->element, RESOURCE, SETTINGS,
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
hand_over (GstDdnnMqtt *self)
{
  g_mutex_lock (&self->lock);
  while (self->connected && self->waiting.length && !self->lost) {
    Record *r = g_queue_pop_head (&self->waiting);
    gint rc;

    self->sending++;
    g_mutex_unlock (&self->lock);
    rc = mosquitto_publish (self->mosq, &r->mid, self->topic,
        (gint) strlen (r->json), r->json, self->qos, false);
    g_mutex_lock (&self->lock);
    self->sending--;
    if (rc != MOSQ_ERR_SUCCESS) {
      g_queue_push_head (&self->waiting, r);
      GST_DEBUG_OBJECT (self->element, "publish: %s", mosquitto_strerror (rc));
      self->lost = TRUE;
      break;
    }
    if (self->qos == 0) {
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
pause_for (GstDdnnMqtt *self, guint ms)
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
  GstDdnnMqtt *self = data;
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
          GST_ELEMENT_WARNING (self->element, RESOURCE, OPEN_WRITE,
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
      GST_DEBUG_OBJECT (
          self->element, "connection lost: %s", mosquitto_strerror (rc));
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

#ifdef HAVE_MOSQUITTO
static gboolean
parse_address (GstDdnnMqtt *self, const gchar *address)
{
  const gchar *colon = strrchr (address, ':');
  guint64 port = 1883;

  if (colon &&
      !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL)) {
    GST_ELEMENT_ERROR (self->element, RESOURCE, SETTINGS,
        ("Bad MQTT address '%s'", address),
        ("give HOST or HOST:PORT, the port from 1 to 65535"));
    return FALSE;
  }
  self->host = colon ? g_strndup (address, colon - address)
                     : g_strdup (address);
  self->port = (gint) port;
  if (!*self->host) {
    GST_ELEMENT_ERROR (self->element, RESOURCE, SETTINGS,
        ("Bad MQTT address '%s'", address), ("no host"));
    return FALSE;
  }
  return TRUE;
}

static gboolean
read_password_file (GstDdnnMqtt *self, const gchar *path)
{
  GError *error = NULL;
  gchar *text;

  if (!g_file_get_contents (path, &text, NULL, &error)) {
    GST_ELEMENT_ERROR (self->element, RESOURCE, OPEN_READ,
        ("Cannot read the password file %s", path), ("%s", error->message));
    g_error_free (error);
    return FALSE;
  }
  g_free (self->password);
  self->password = g_strdup (g_strchomp (text));
  g_free (text);
  return TRUE;
}
#endif

static void
gst_ddnn_mqtt_free (GstDdnnMqtt *self)
{
  for (guint i = 0; i < 2; i++)
    if (self->wake[i] >= 0)
      close (self->wake[i]);
  g_queue_clear_full (&self->waiting, (GDestroyNotify) record_free);
  g_hash_table_unref (self->in_flight);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self->host);
  g_free (self->topic);
  g_free (self->client_id);
  g_free (self->username);
  g_free (self->password);
  g_free (self->ca);
  g_free (self->cert);
  g_free (self->key);
  g_free (self);
}

GstDdnnMqtt *
gst_ddnn_mqtt_start (GstElement *element, const GstDdnnMqttSettings *settings)
{
#ifdef HAVE_MOSQUITTO
  static gsize initialized = 0;
  GstDdnnMqtt *self = g_new0 (GstDdnnMqtt, 1);

  if (g_once_init_enter (&initialized)) {
    mosquitto_lib_init ();
    g_once_init_leave (&initialized, 1);
  }
  self->element = element;
  self->wake[0] = self->wake[1] = -1;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->waiting);
  self->in_flight = g_hash_table_new_full (
      g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) record_free);
  self->topic = g_strdup (settings->topic);
  self->qos = (gint) settings->qos;
  self->client_id = g_strdup (settings->client_id);
  self->username = g_strdup (settings->username);
  self->password = g_strdup (settings->password);
  self->ca = g_strdup (settings->ca_file);
  self->cert = g_strdup (settings->cert_file);
  self->key = g_strdup (settings->key_file);
  self->max_queue = settings->max_queue;

  if (!parse_address (self, settings->address))
    goto fail;
  if (!self->topic || !*self->topic || strpbrk (self->topic, "+#")) {
    GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS,
        ("Bad MQTT topic '%s'", GST_STR_NULL (self->topic)),
        ("a topic to publish on is not empty and has no wildcard (+ #)"));
    goto fail;
  }
  if (settings->password_file &&
      !read_password_file (self, settings->password_file))
    goto fail;
  if ((self->cert != NULL) != (self->key != NULL)) {
    GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS,
        ("A client certificate needs its key"),
        ("set both tls-cert-file and tls-key-file, or neither"));
    goto fail;
  }
  if (self->cert && !self->ca) {
    GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS,
        ("A client certificate needs TLS"),
        ("set tls-ca-file to the broker's CA as well"));
    goto fail;
  }
  if (!g_unix_open_pipe (self->wake, FD_CLOEXEC, NULL) ||
      !g_unix_set_fd_nonblocking (self->wake[0], TRUE, NULL) ||
      !g_unix_set_fd_nonblocking (self->wake[1], TRUE, NULL)) {
    GST_ELEMENT_ERROR (element, RESOURCE, FAILED, ("Cannot make a pipe"),
        ("%s", g_strerror (errno)));
    goto fail;
  }
  self->running = TRUE;
  self->thread = g_thread_new ("ddnnpublish-mqtt", mqtt_loop, self);
  return self;

fail:
  gst_ddnn_mqtt_free (self);
  return NULL;
#else
  GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS,
      ("This ddnnpublish was built without MQTT"),
      ("rebuild with libmosquitto-dev installed, or use method=file"));
  return NULL;
#endif
}

void
gst_ddnn_mqtt_stop (
    GstDdnnMqtt *self, guint64 flush_timeout, GstDdnnMqttStats *last)
{
  gst_ddnn_mqtt_flush (self, flush_timeout);
  g_mutex_lock (&self->lock);
  self->running = FALSE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  wake_thread (self);
  g_thread_join (self->thread);
  gst_ddnn_mqtt_get_stats (self, last);
  gst_ddnn_mqtt_free (self);
}

void
gst_ddnn_mqtt_get_stats (GstDdnnMqtt *self, GstDdnnMqttStats *stats)
{
  g_mutex_lock (&self->lock);
  stats->published = self->published;
  stats->dropped = self->dropped;
  stats->queued = queued (self);
  stats->connected = self->connected;
  stats->connects = self->connects;
  stats->failed_connects = self->failed_connects;
  g_mutex_unlock (&self->lock);
}
