/* ddnnsink: sends each sample's DDNN meta to a ddnnsrc over WebSocket.
 * SPDX-License-Identifier: LGPL-2.1-or-later */

/**
 * SECTION:element-ddnnsink
 * @title: ddnnsink
 *
 * The client end of a DDNN link: for each buffer it sends the
 * #GstDdnnMeta as one wire frame to the `ddnnsrc` at
 * #GstDdnnSink:location (`ws://HOST:PORT/ddnn` or `wss://...`), never the
 * video.  On an `application/x-ddnn` link the payload (already the frame)
 * is sent as it is.
 *
 * Delivery: frames are numbered by sample and acknowledged; the sink keeps
 * the unacknowledged ones (at most #GstDdnnSink:max-queue; beyond, it
 * blocks or drops the oldest, by #GstDdnnSink:queue-policy, and counts),
 * reconnects with a doubling backoff when the link breaks and sends them
 * again; the source drops what it has already.  #GstDdnnSink:stats gives
 * sent, acked, resent, dropped, bytes and the round trip.
 *
 * Features on demand (#GstDdnnSink:features-on-demand): each frame carries
 * the scores alone, and the features of the last #GstDdnnSink:ring-size
 * samples are kept; when the next tier cannot answer a sample from the
 * fused scores it asks ("features N") and only then are they sent, as a
 * features-only frame.
 *
 * Answers come home: the next tier's answers for the samples sent come
 * back on the link and are posted here as `ddnn-result` element messages
 * (and written to #GstDdnnSink:results), and go on upstream as
 * `ddnn-answer` events, so a tier that got its samples from a `ddnnsrc`
 * returns them to its own peers.  When no answer comes within
 * #GstDdnnSink:timeout, this tier gives its own best answer (the scores it
 * sent), marked `degraded`.  Each sample gets exactly one answer; one that
 * comes after its degraded answer is dropped.  At EOS the sink waits for
 * the answers still due (at most the timeout).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m filesrc location=cam0.mkv ! matroskademux ! \
 *     ddnndevice model=m.safetensors view=0 ! \
 *     ddnnsink location=ws://edge:9000/ddnn token=secret model=m.safetensors
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnsink.h"

#include "gstddnnlink.h"
#include "gstddnnnet.h"
#include <gst/net/net.h>
#include <gstddnnframe.h>
#include <gstddnnlinkframe.h>
#include <gstddnnmodel.h>
#include <gstddnnresult.h>
#include <libsoup/soup.h>
#include <stdlib.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_ddnn_sink_debug);
#define GST_CAT_DEFAULT gst_ddnn_sink_debug

typedef enum
{
  GST_DDNN_QUEUE_BLOCK,
  GST_DDNN_QUEUE_DROP_OLDEST,
} GstDdnnQueuePolicy;

#define GST_TYPE_DDNN_QUEUE_POLICY (gst_ddnn_queue_policy_get_type ())
static GType gst_ddnn_queue_policy_get_type (void);

/* Where capture times come from (see GstDdnnSink:clock). */
typedef enum
{
  GST_DDNN_CLOCK_PIPELINE,
  GST_DDNN_CLOCK_REALTIME,
  GST_DDNN_CLOCK_NET,
  GST_DDNN_CLOCK_PTP,
} GstDdnnClockSource;

#define GST_TYPE_DDNN_CLOCK_SOURCE (gst_ddnn_clock_source_get_type ())
static GType gst_ddnn_clock_source_get_type (void);

/* What went wrong with the last attempt to connect, so that a failure is
 * posted once, not at every retry. */
typedef enum
{
  LINK_OK,
  LINK_UNREACHABLE,
  LINK_TLS,
  LINK_REFUSED,
} LinkFailure;

enum
{
  PROP_0,
  PROP_LOCATION,
  PROP_TOKEN,
  PROP_TLS_CA_FILE,
  PROP_MODEL,
  PROP_MAX_QUEUE,
  PROP_QUEUE_POLICY,
  PROP_BACKOFF_MAX,
  PROP_TIMEOUT,
  PROP_RESULTS,
  PROP_SITE,
  PROP_PEER_ID,
  PROP_FEATURES_ON_DEMAND,
  PROP_RING_SIZE,
  PROP_HEARTBEAT,
  PROP_STATS,
  PROP_TOKEN_FILE,
  PROP_CLOCK,
  PROP_CLOCK_ADDRESS,
  PROP_CLOCK_PORT,
  PROP_PTP_DOMAIN,
  PROP_CLOCK_TIMEOUT,
};

#define DEFAULT_CLOCK GST_DDNN_CLOCK_PIPELINE
#define DEFAULT_CLOCK_ADDRESS "127.0.0.1"
#define DEFAULT_CLOCK_PORT 0
#define DEFAULT_PTP_DOMAIN 0
#define DEFAULT_CLOCK_TIMEOUT (10 * GST_SECOND)

#define DEFAULT_HEARTBEAT GST_SECOND

#define DEFAULT_RING_SIZE 1024

#define DEFAULT_MAX_QUEUE 4096
#define DEFAULT_QUEUE_POLICY GST_DDNN_QUEUE_BLOCK
#define DEFAULT_BACKOFF_MAX (2 * GST_SECOND)
#define DEFAULT_TIMEOUT (2 * GST_SECOND)
#define BACKOFF_MIN_MS 50
/* link frames sent together go in messages of up to this many bytes */
#define BATCH_MAX (16 * 1024)

typedef struct
{
  GBytes *frame;
  guint64 sample;
  gint64 sent_at; /* monotonic µs, 0 until sent on this connection */
  gboolean ever_sent;
} Item;

typedef struct
{
  guint64 sample;
  gint64 deadline; /* monotonic µs */
  /* the sample's frame, from which this tier's own answer is made if none
   * comes in time (only then: most samples are answered) */
  GBytes *frame;
  /* when it was captured, on this pipeline's clock */
  GstClockTime capture;
} Pending;

struct _GstDdnnSink
{
  GstBaseSink parent;

  /* properties, under the object lock */
  gchar *location, *token, *ca_file, *model_path, *results_path, *peer_id,
      *site;
  guint max_queue;
  GstDdnnQueuePolicy policy;
  guint64 backoff_max;
  guint64 timeout;
  gboolean on_demand;
  guint ring_size;
  guint64 heartbeat;
  gchar *token_file;
  GstDdnnClockSource clock_source;
  gchar *clock_address;
  gint clock_port;
  guint ptp_domain;
  guint64 clock_timeout;

  /* from start () to stop () */
  DdnnModel *model;
  gchar *active_token;
  GTlsDatabase *tls_db;
  GstClock *clock;
  /* network thread */
  SoupMessage *connect_msg;
  LinkFailure failure;
  guint failure_status;
  GstDdnnResultWriter *results;
  /* the site property as it was at READY to PAUSED, for the records */
  gchar *site_used;
  GMainContext *context;
  SoupSession *session;
  SoupWebsocketConnection *conn; /* network thread */
  GCancellable *cancel;
  guint backoff;
  GSource *retry, *timer;
  /* wakes the network thread to send what the streaming thread queued */
  GSource *sender;
  gboolean connecting;
  /* heartbeats, network thread: monotonic µs of the last message each way */
  gint64 last_in, last_out;

  /* shared with the streaming thread, under lock */
  GMutex lock;
  GCond cond;
  GQueue items; /* Item *, unacknowledged, in the order they go */
  /* the first of the items not sent on this connection (they are the tail
   * of the queue), or NULL */
  GList *unsent;
  GQueue pending; /* Pending *, in deadline order */
  GHashTable *pending_by_sample;
  gboolean flushing, send_scheduled;
  /* answers taken off pending and not yet posted */
  guint giving;
  /* features on demand: sample -> features-only frame, oldest first */
  GHashTable *ring;
  GQueue ring_order;
  /* what every frame will be, from the first sample; the link is opened
   * once it is known */
  GstDdnnAnnounce announce;
  gboolean announced;
  /* the open connection's link frame state */
  GstDdnnLinkState link;
  guint64 sent, acked, resent, dropped, bytes, payload, answered, degraded,
      late, features_sent, features_missed, wire_up, wire_down, acks, messages;
  gdouble rtt_us;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

G_DEFINE_TYPE (GstDdnnSink, gst_ddnn_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE (
    ddnnsink, "ddnnsink", GST_RANK_NONE, GST_TYPE_DDNN_SINK);

static GType
gst_ddnn_queue_policy_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_DDNN_QUEUE_BLOCK, "Wait for room (back-pressure)", "block" },
    { GST_DDNN_QUEUE_DROP_OLDEST, "Drop the oldest unacknowledged frame",
        "drop-oldest" },
    { 0, NULL, NULL },
  };
  G_STATIC_ASSERT (G_N_ELEMENTS (values) == GST_DDNN_QUEUE_DROP_OLDEST + 2);

  if (g_once_init_enter (&type))
    g_once_init_leave (
        &type, g_enum_register_static ("GstDdnnQueuePolicy", values));
  return type;
}

static GType
gst_ddnn_clock_source_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_DDNN_CLOCK_PIPELINE, "The pipeline's own clock (one host)",
        "pipeline" },
    { GST_DDNN_CLOCK_REALTIME,
        "This host's wall clock (hosts kept in step by NTP or chrony)",
        "realtime" },
    { GST_DDNN_CLOCK_NET,
        "A network clock served by ddnnsrc clock-port=... "
        "(GstNetClientClock)",
        "net" },
    { GST_DDNN_CLOCK_PTP, "A PTP clock (IEEE 1588) of ptp-domain", "ptp" },
    { 0, NULL, NULL },
  };
  G_STATIC_ASSERT (G_N_ELEMENTS (values) == GST_DDNN_CLOCK_PTP + 2);

  if (g_once_init_enter (&type))
    g_once_init_leave (
        &type, g_enum_register_static ("GstDdnnClockSource", values));
  return type;
}

/* Network thread: sends unless the link is closing (libsoup refuses
 * sends on a connection that is not open). */
static gboolean
link_send (SoupWebsocketConnection *conn, const guint8 *binary, gsize size,
    const gchar *text)
{
  if (!conn ||
      soup_websocket_connection_get_state (conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return FALSE;
  if (binary)
    soup_websocket_connection_send_binary (conn, binary, size);
  else
    soup_websocket_connection_send_text (conn, text);
  return TRUE;
}

static void
post_link_message (GstDdnnSink *self, const gchar *event, const gchar *reason)
{
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("ddnn-link", "event", G_TYPE_STRING, event,
              "location", G_TYPE_STRING, self->location, "reason",
              G_TYPE_STRING, reason ? reason : "", NULL)));
}

static void
item_free (Item *item)
{
  g_bytes_unref (item->frame);
  g_free (item);
}

static void
pending_free (Pending *p)
{
  g_bytes_unref (p->frame);
  g_free (p);
}

/* ------------------------------------------------------------------ */
/* answers                                                             */

/* Posts @result (taken) as the answer of a sample taken off the pending
 * ones, and sends it upstream; only then does an EOS waiting for the
 * answers see it given, so the answer's message comes before the EOS's. */
static void
give_answer (GstDdnnSink *self, GstStructure *result)
{
  gst_ddnn_answer (
      GST_ELEMENT (self), GST_BASE_SINK_PAD (self), result, self->results);
  g_mutex_lock (&self->lock);
  self->giving--;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

/* Under lock: takes the pending answer of @sample, if any. */
static Pending *
take_pending (GstDdnnSink *self, guint64 sample)
{
  Pending *p = g_hash_table_lookup (self->pending_by_sample, &sample);

  if (!p)
    return NULL;
  g_hash_table_remove (self->pending_by_sample, &sample);
  g_queue_remove (&self->pending, p);
  self->giving++;
  return p;
}

static void lose_connection (GstDdnnSink *self, const gchar *why);

/* This tier's own answer for a sample the next did not answer in time,
 * marked degraded. */
static GstStructure *
own_answer (GstDdnnSink *self, Pending *p)
{
  GstDdnnFrame frame;
  GstBuffer *buffer = gst_ddnn_buffer_new_from_frame (
      g_bytes_ref (p->frame), &frame, NULL);
  GstDdnnMeta *meta = buffer ? gst_buffer_get_ddnn_meta (buffer) : NULL;
  GstStructure *own;

  /* the frame was made here and checked: it parses */
  g_return_val_if_fail (meta != NULL, NULL);
  own = gst_ddnn_result_new (meta, gst_ddnn_model_label (self->model, meta),
      self->site_used,
      gst_ddnn_element_latency_ms (GST_ELEMENT (self), p->capture));
  gst_structure_set (own, "degraded", G_TYPE_BOOLEAN, TRUE, NULL);
  gst_buffer_unref (buffer);
  return own;
}

/* Network thread: degraded answers for what is overdue. */
/* The timer wakes the network thread when something falls due (the
 * oldest answer's deadline, a heartbeat to send, the server's to check)
 * and not otherwise.  Its ready time may be moved earlier from any
 * thread. */
static gboolean
timer_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  return callback (data);
}

static GSourceFuncs timer_funcs = { NULL, NULL, timer_dispatch, NULL };

/* Any thread, holding the lock: wake the timer at @when (monotonic µs) if
 * that is earlier than it would wake. */
static void
timer_wake_at (GstDdnnSink *self, gint64 when)
{
  GSource *timer = self->timer;
  gint64 ready;

  if (!timer)
    return;
  ready = g_source_get_ready_time (timer);
  if (ready < 0 || when < ready)
    g_source_set_ready_time (timer, when);
}

/* Network thread: the timer's next wake, from what is due. */
static void
timer_schedule (GstDdnnSink *self)
{
  gint64 next = G_MAXINT64;
  gint64 heartbeat = (gint64) self->announce.heartbeat_ms * 1000;

  if (heartbeat && self->conn)
    next = MIN (self->last_out + (gint64) heartbeat,
        self->last_in + 3 * (gint64) heartbeat);
  /* under the lock that the streaming thread holds to wake it sooner */
  g_mutex_lock (&self->lock);
  if (!g_queue_is_empty (&self->pending))
    next = MIN (
        next, ((Pending *) g_queue_peek_head (&self->pending))->deadline);
  g_source_set_ready_time (self->timer, next == G_MAXINT64 ? -1 : next);
  g_mutex_unlock (&self->lock);
}

static gboolean
on_timer (gpointer data)
{
  GstDdnnSink *self = data;
  gint64 now = g_get_monotonic_time ();
  GList *due = NULL, *l;
  /* the beat announced (whole ms), which the server holds this end to */
  gint64 heartbeat = (gint64) self->announce.heartbeat_ms * 1000;

  /* heartbeats: a beat when idle, and a link silent for three beats is
   * taken for dead (a partition does not close TCP for minutes) */
  if (heartbeat && self->conn) {
    if (now - self->last_in >= 3 * (gint64) heartbeat) {
      lose_connection (self, "no heartbeat from the server");
    } else if (now - self->last_out >= (gint64) heartbeat) {
      if (link_send (self->conn, NULL, 0, "beat")) {
        g_mutex_lock (&self->lock);
        self->wire_up += GST_DDNN_NET_CLIENT_FRAMING (4) + 4;
        g_mutex_unlock (&self->lock);
      }
      self->last_out = now;
    }
  }

  g_mutex_lock (&self->lock);
  while (!g_queue_is_empty (&self->pending)) {
    Pending *p = g_queue_peek_head (&self->pending);

    if (p->deadline > now)
      break;
    due = g_list_prepend (due, take_pending (self, p->sample));
    self->degraded++;
  }
  g_mutex_unlock (&self->lock);
  due = g_list_reverse (due);
  for (l = due; l; l = l->next) {
    Pending *p = l->data;

    GST_DEBUG_OBJECT (self,
        "no answer for sample %" G_GUINT64_FORMAT " in time: degraded",
        p->sample);
    give_answer (self, own_answer (self, p));
    pending_free (p);
  }
  g_list_free (due);
  timer_schedule (self);
  return G_SOURCE_CONTINUE;
}

static void
handle_answer (GstDdnnSink *self, const gchar *json)
{
  GError *error = NULL;
  GstStructure *result = gst_ddnn_result_from_json (json, &error);
  guint64 sample = 0;
  gdouble latency;
  Pending *p;

  if (!result) {
    GST_WARNING_OBJECT (self, "ignored a malformed answer: %s", error->message);
    g_error_free (error);
    return;
  }
  gst_structure_get_uint64 (result, "sample", &sample);
  g_mutex_lock (&self->lock);
  p = take_pending (self, sample);
  if (p)
    self->answered++;
  else
    self->late++;
  g_mutex_unlock (&self->lock);
  if (!p) {
    GST_DEBUG_OBJECT (self,
        "answer for sample %" G_GUINT64_FORMAT
        " after its degraded one, or not ours: dropped",
        sample);
    gst_structure_free (result);
    return;
  }
  /* the latency as this host sees it: from its camera's capture to the
   * answer's coming home, both on this pipeline's clock */
  latency = gst_ddnn_element_latency_ms (GST_ELEMENT (self), p->capture);
  if (latency >= 0)
    gst_structure_set (result, "latency_ms", G_TYPE_DOUBLE, latency, NULL);
  pending_free (p);
  give_answer (self, result);
}

/* ------------------------------------------------------------------ */
/* the network thread                                                  */

static void connect_now (GstDdnnSink *self);

/* Network thread: sends what has not gone on this connection yet. */
/* Network thread, under the lock: one message of the link frames in
 * @batch, emptied. */
static void
send_batch (GstDdnnSink *self, GByteArray *batch)
{
  gsize wire;

  if (!batch->len)
    return;
  wire = GST_DDNN_NET_CLIENT_FRAMING (batch->len) + batch->len;
  self->bytes += wire;
  self->wire_up += wire;
  self->messages++;
  link_send (self->conn, batch->data, batch->len, NULL);
  g_byte_array_set_size (batch, 0);
}

static gboolean
send_queued (gpointer data)
{
  GstDdnnSink *self = data;
  GByteArray *batch;
  GList *l;

  g_mutex_lock (&self->lock);
  self->send_scheduled = FALSE;
  if (self->sender)
    g_source_set_ready_time (self->sender, -1);
  if (!self->conn ||
      soup_websocket_connection_get_state (self->conn) !=
          SOUP_WEBSOCKET_STATE_OPEN) {
    g_mutex_unlock (&self->lock);
    return G_SOURCE_REMOVE;
  }
  batch = g_byte_array_new ();
  for (l = self->unsent; l; l = l->next) {
    Item *item = l->data;
    gsize size;
    gconstpointer bytes;
    GstDdnnFrame frame;
    GBytes *link;
    GError *error = NULL;

    if (item->sent_at)
      continue;
    /* the file frame goes as a link frame: what the handshake fixed, and
     * the checksum, stay out */
    bytes = g_bytes_get_data (item->frame, &size);
    if (!gst_ddnn_frame_parse (bytes, size, &frame, &error) ||
        !(link = gst_ddnn_link_frame_encode (&self->link, &frame, &error))) {
      GST_WARNING_OBJECT (self, "not sent: %s", error->message);
      g_clear_error (&error);
      item->sent_at = g_get_monotonic_time ();
      continue;
    }
    bytes = g_bytes_get_data (link, &size);
    /* the frames ready now go together, in messages of up to BATCH_MAX */
    if (batch->len && batch->len + size > BATCH_MAX)
      send_batch (self, batch);
    g_byte_array_append (batch, bytes, size);
    g_bytes_unref (link);
    item->sent_at = g_get_monotonic_time ();
    if (item->ever_sent)
      self->resent++;
    item->ever_sent = TRUE;
    self->sent++;
    self->payload += frame.scores_size + frame.features_size;
    self->last_out = item->sent_at;
  }
  send_batch (self, batch);
  g_byte_array_unref (batch);
  self->unsent = NULL;
  g_mutex_unlock (&self->lock);
  return G_SOURCE_REMOVE;
}

/* The sender source's callback: it stays, woken again by the next frame. */
static gboolean
send_queued_again (gpointer data)
{
  send_queued (data);
  return G_SOURCE_CONTINUE;
}

static void
on_message (
    SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer data)
{
  GstDdnnSink *self = data;
  gsize size;
  const gchar *text = g_bytes_get_data (message, &size);
  gchar *line;

  self->last_in = g_get_monotonic_time ();
  g_mutex_lock (&self->lock);
  self->wire_down += GST_DDNN_NET_SERVER_FRAMING (size) + size;
  g_mutex_unlock (&self->lock);
  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    GST_WARNING_OBJECT (self, "ignored a binary message from the server");
    return;
  }
  if (size == 4 && memcmp (text, "beat", 4) == 0)
    return;
  line = g_strndup (text, size);
  if (g_str_has_prefix (line, "ack ")) {
    gchar *end;
    guint64 upto = g_ascii_strtoull (line + 4, &end, 10);
    gint64 now = g_get_monotonic_time ();

    g_mutex_lock (&self->lock);
    self->acks++;
    while (!g_queue_is_empty (&self->items)) {
      Item *item = g_queue_peek_head (&self->items);

      /* not what was not sent yet (a features reply queued behind a later
       * sample) */
      if (item->sample > upto || self->items.head == self->unsent)
        break;
      g_queue_pop_head (&self->items);
      if (item->sent_at) {
        gdouble rtt = now - item->sent_at;

        self->rtt_us = self->acked ? 0.9 * self->rtt_us + 0.1 * rtt : rtt;
      }
      self->acked++;
      item_free (item);
    }
    g_cond_broadcast (&self->cond);
    g_mutex_unlock (&self->lock);
  } else if (g_str_has_prefix (line, "answer ")) {
    handle_answer (self, line + 7);
  } else if (g_str_has_prefix (line, "features ")) {
    guint64 sample = g_ascii_strtoull (line + 9, NULL, 10);
    GBytes *frame;

    g_mutex_lock (&self->lock);
    frame = self->ring ? g_hash_table_lookup (self->ring, &sample) : NULL;
    if (frame) {
      Item *item = g_new0 (Item, 1);

      item->frame = g_bytes_ref (frame);
      item->sample = sample;
      g_queue_push_tail (&self->items, item);
      if (!self->unsent)
        self->unsent = self->items.tail;
      self->features_sent++;
    } else {
      self->features_missed++;
    }
    g_mutex_unlock (&self->lock);
    if (frame)
      send_queued (self);
    else
      GST_WARNING_OBJECT (self,
          "asked for the features of sample %" G_GUINT64_FORMAT
          ", which are no longer kept (ring-size)",
          sample);
  } else {
    GST_WARNING_OBJECT (self, "ignored an unknown message: %.40s", line);
  }
  g_free (line);
}

static gboolean
retry_connect (gpointer data)
{
  GstDdnnSink *self = data;

  g_source_unref (self->retry);
  self->retry = NULL;
  connect_now (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (GstDdnnSink *self)
{
  guint backoff_max;

  if (self->retry || g_cancellable_is_cancelled (self->cancel))
    return;
  GST_OBJECT_LOCK (self);
  backoff_max = (guint) MAX (1, self->backoff_max / GST_MSECOND);
  GST_OBJECT_UNLOCK (self);
  self->backoff = self->backoff ? MIN (self->backoff * 2, backoff_max)
                                : MIN (BACKOFF_MIN_MS, backoff_max);
  GST_INFO_OBJECT (self, "reconnecting in %u ms", self->backoff);
  self->retry = g_timeout_source_new (self->backoff);
  g_source_set_callback (self->retry, retry_connect, self, NULL);
  g_source_attach (self->retry, self->context);
}

/* Network thread: the link is gone; what was not acknowledged goes again
 * on the next one. */
static void
lose_connection (GstDdnnSink *self, const gchar *why)
{
  SoupWebsocketConnection *conn;
  GList *l;

  g_mutex_lock (&self->lock);
  conn = g_steal_pointer (&self->conn);
  for (l = self->items.head; l; l = l->next)
    ((Item *) l->data)->sent_at = 0;
  self->unsent = self->items.head;
  g_mutex_unlock (&self->lock);
  if (conn) {
    g_signal_handlers_disconnect_by_data (conn, self);
    if (soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (
          conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "no heartbeat");
    g_object_unref (conn);
    GST_ELEMENT_WARNING (self, RESOURCE, READ,
        ("Link to %s lost: %s", self->location, why),
        ("unacknowledged frames will be sent again after a reconnect"));
    post_link_message (self, "disconnected", why);
  }
  schedule_reconnect (self);
}

static void
on_closed (SoupWebsocketConnection *conn, gpointer data)
{
  GstDdnnSink *self = data;
  gchar *why = g_strdup_printf ("closed, code %u%s%s",
      soup_websocket_connection_get_close_code (conn),
      soup_websocket_connection_get_close_data (conn) ? ": " : "",
      soup_websocket_connection_get_close_data (conn)
          ? soup_websocket_connection_get_close_data (conn)
          : "");

  lose_connection (self, why);
  g_free (why);
}

/* Network thread: says why the link could not be made, on the bus, from
 * libsoup's status and GIO's error codes; once for each new reason, not at
 * every retry. */
static void
connect_failed (GstDdnnSink *self, GError *error)
{
  guint status = self->connect_msg ? soup_message_get_status (self->connect_msg)
                                   : 0;
  LinkFailure failure;

  if (status == SOUP_STATUS_UNAUTHORIZED || (status >= 400 && status < 600))
    failure = LINK_REFUSED;
  else if (error->domain == G_TLS_ERROR ||
      (self->connect_msg &&
          soup_message_get_tls_peer_certificate_errors (self->connect_msg)))
    failure = LINK_TLS;
  else
    failure = LINK_UNREACHABLE;
  GST_INFO_OBJECT (self, "cannot connect to %s: %s (status %u)", self->location,
      error->message, status);
  if (failure == self->failure && status == self->failure_status)
    return;
  self->failure = failure;
  self->failure_status = status;
  switch (failure) {
    case LINK_REFUSED:
      if (status == SOUP_STATUS_UNAUTHORIZED)
        GST_ELEMENT_WARNING (self, RESOURCE, NOT_AUTHORIZED,
            ("The server at %s refused the token", self->location),
            ("HTTP %u", status));
      else
        GST_ELEMENT_WARNING (self, RESOURCE, NOT_AUTHORIZED,
            ("The server at %s refused the link: %s", self->location,
                soup_message_get_reason_phrase (self->connect_msg)),
            ("HTTP %u", status));
      break;
    case LINK_TLS:
      GST_ELEMENT_WARNING (self, RESOURCE, OPEN_READ_WRITE,
          ("TLS with %s failed: %s", self->location, error->message),
          ("certificate errors 0x%x; is tls-ca-file the server's CA?",
              self->connect_msg ? soup_message_get_tls_peer_certificate_errors (
                                      self->connect_msg)
                                : 0));
      break;
    default:
      GST_ELEMENT_WARNING (self, RESOURCE, OPEN_READ_WRITE,
          ("Cannot reach %s: %s", self->location, error->message),
          ("retrying with backoff up to backoff-max"));
      break;
  }
  post_link_message (self, "failed", error->message);
}

static void
add_header_bytes (const char *name, const char *value, gpointer data)
{
  *(gsize *) data += strlen (name) + strlen (value) + 4;
}

static gsize
headers_bytes (SoupMessageHeaders *headers)
{
  gsize n = 0;

  soup_message_headers_foreach (headers, add_header_bytes, &n);
  return n;
}

/* What a connection attempt needs when it ends: the element (kept alive
 * by it: the network thread is shared and may outlive the element's run)
 * and the run's cancellable. */
typedef struct
{
  GstDdnnSink *self;
  GCancellable *cancel;
} Attempt;

static void connected (
    GstDdnnSink *self, SoupWebsocketConnection *conn, GError *error);

static void
on_connected (GObject *source, GAsyncResult *res, gpointer data)
{
  Attempt *attempt = data;
  GError *error = NULL;
  SoupWebsocketConnection *conn = soup_session_websocket_connect_finish (
      SOUP_SESSION (source), res, &error);

  if (g_cancellable_is_cancelled (attempt->cancel)) {
    /* the element stopped (and may have started again) meanwhile */
    if (conn) {
      soup_websocket_connection_close (
          conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      g_object_unref (conn);
    }
    g_clear_error (&error);
  } else {
    connected (attempt->self, conn, error);
  }
  gst_object_unref (attempt->self);
  g_object_unref (attempt->cancel);
  g_free (attempt);
}

static void
connected (GstDdnnSink *self, SoupWebsocketConnection *conn, GError *error)
{
  gsize handshake_up, handshake_down;

  self->connecting = FALSE;
  if (!conn) {
    if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      connect_failed (self, error);
      schedule_reconnect (self);
    }
    g_clear_object (&self->connect_msg);
    g_error_free (error);
    return;
  }
  /* the handshake as it crossed the wire: request and response, their
   * lines and headers */
  handshake_up = headers_bytes (
                     soup_message_get_request_headers (self->connect_msg)) +
      strlen ("GET  HTTP/1.1\r\n\r\n") +
      strlen (g_uri_get_path (soup_message_get_uri (self->connect_msg)));
  handshake_down = headers_bytes (
                       soup_message_get_response_headers (self->connect_msg)) +
      strlen ("HTTP/1.1 101 Switching Protocols\r\n\r\n");
  g_clear_object (&self->connect_msg);
  self->failure = LINK_OK;
  self->failure_status = 0;
  GST_INFO_OBJECT (self, "connected to %s", self->location);
  post_link_message (self, "connected", NULL);
  self->backoff = 0;
  self->last_in = self->last_out = g_get_monotonic_time ();
  soup_websocket_connection_set_max_incoming_payload_size (
      conn, GST_DDNN_NET_MAX_TEXT);
  soup_websocket_connection_set_keepalive_interval (conn, 0);
  g_signal_connect (conn, "message", G_CALLBACK (on_message), self);
  g_signal_connect (conn, "closed", G_CALLBACK (on_closed), self);
  g_mutex_lock (&self->lock);
  self->conn = conn;
  /* a new connection starts its link frames afresh */
  gst_ddnn_link_state_init (&self->link, self->announce.model_id,
      self->announce.view, self->announce.n_classes, self->announce.int8_scores,
      self->announce.has_features, self->announce.features_dtype,
      self->announce.n_dims, self->announce.shape);
  self->wire_up += handshake_up;
  self->wire_down += handshake_down;
  g_mutex_unlock (&self->lock);
  timer_schedule (self);
  send_queued (self);
}

static void
connect_now (GstDdnnSink *self)
{
  SoupMessage *msg;
  gchar *auth;
  gboolean announced;

  g_mutex_lock (&self->lock);
  announced = self->announced;
  g_mutex_unlock (&self->lock);
  /* the link is opened once the first sample says what it carries */
  if (!announced || self->connecting || self->conn ||
      g_cancellable_is_cancelled (self->cancel))
    return;
  msg = soup_message_new ("GET", self->location);
  if (!msg) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("Bad location '%s'", self->location),
        ("use ws://HOST:PORT/ddnn or wss://HOST:PORT/ddnn"));
    return;
  }
  if (self->active_token) {
    auth = g_strconcat ("Bearer ", self->active_token, NULL);
    soup_message_headers_replace (
        soup_message_get_request_headers (msg), "Authorization", auth);
    g_free (auth);
  }
  g_mutex_lock (&self->lock);
  gst_ddnn_announce_write (
      &self->announce, soup_message_get_request_headers (msg));
  g_mutex_unlock (&self->lock);
  self->connecting = TRUE;
  g_clear_object (&self->connect_msg);
  self->connect_msg = g_object_ref (msg);
  {
    Attempt *attempt = g_new (Attempt, 1);

    attempt->self = gst_object_ref (self);
    attempt->cancel = g_object_ref (self->cancel);
    soup_session_websocket_connect_async (self->session, msg, NULL, NULL,
        G_PRIORITY_DEFAULT, self->cancel, on_connected, attempt);
  }
  g_object_unref (msg);
}

static gboolean
start_link (gpointer data)
{
  connect_now (data);
  return G_SOURCE_REMOVE;
}

/* Network thread: what the element's run needs there. */
static gboolean
start_network (gpointer data)
{
  GstDdnnSink *self = data;

  self->session = soup_session_new ();
  if (self->tls_db)
    soup_session_set_tls_database (self->session, self->tls_db);
  connect_now (self);
  return G_SOURCE_REMOVE;
}

static gboolean
stop_network (gpointer data)
{
  GstDdnnSink *self = data;

  g_cancellable_cancel (self->cancel);
  if (self->retry) {
    g_source_destroy (self->retry);
    g_clear_pointer (&self->retry, g_source_unref);
  }
  if (self->timer)
    g_source_destroy (self->timer);
  if (self->sender)
    g_source_destroy (self->sender);
  g_mutex_lock (&self->lock);
  if (self->conn) {
    g_signal_handlers_disconnect_by_data (self->conn, self);
    if (soup_websocket_connection_get_state (self->conn) ==
        SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (
          self->conn, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    g_clear_object (&self->conn);
  }
  g_mutex_unlock (&self->lock);
  g_clear_object (&self->session);
  g_clear_object (&self->connect_msg);
  self->connecting = FALSE;
  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------ */
/* GstBaseSink                                                         */

/* The clock capture times are stamped on (GstDdnnSink:clock), made and in
 * step before the pipeline picks it at PAUSED to PLAYING. */
static gboolean
start_clock (GstDdnnSink *self, GstDdnnClockSource source, const gchar *address,
    gint port, guint domain, guint64 timeout)
{
  switch (source) {
    case GST_DDNN_CLOCK_PIPELINE:
      return TRUE;
    case GST_DDNN_CLOCK_REALTIME:
      self->clock = g_object_new (GST_TYPE_SYSTEM_CLOCK, "clock-type",
          GST_CLOCK_TYPE_REALTIME, "name", "ddnn-realtime-clock", NULL);
      gst_object_ref_sink (self->clock);
      return TRUE;
    case GST_DDNN_CLOCK_NET:
      if (port <= 0) {
        GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
            ("clock=net needs clock-port (the edge's ddnnsrc clock-port)"),
            (NULL));
        return FALSE;
      }
      self->clock = gst_net_client_clock_new (
          "ddnn-net-clock", address, port, 0);
      break;
    case GST_DDNN_CLOCK_PTP:
      if (!gst_ptp_is_initialized () &&
          !gst_ptp_init (GST_PTP_CLOCK_ID_NONE, NULL)) {
        GST_ELEMENT_ERROR (self, RESOURCE, FAILED, ("Cannot start PTP"),
            ("gst_ptp_init failed: is gst-ptp-helper installed, with the "
             "rights to bind ports 319 and 320?"));
        return FALSE;
      }
      self->clock = gst_ptp_clock_new ("ddnn-ptp-clock", domain);
      break;
  }
  if (!self->clock) {
    GST_ELEMENT_ERROR (
        self, RESOURCE, FAILED, ("Cannot make the clock"), (NULL));
    return FALSE;
  }
  GST_INFO_OBJECT (self, "waiting for the shared clock to be in step");
  if (!gst_clock_wait_for_sync (self->clock, timeout)) {
    if (source == GST_DDNN_CLOCK_NET)
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
          ("No answer from the time server at %s:%d within %.1f s", address,
              port, timeout / 1e9),
          ("start the edge with ddnnsrc clock-port=%d", port));
    else
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
          ("No PTP master in domain %u within %.1f s", domain, timeout / 1e9),
          ("is a PTP master (ptp4l, a switch) running on this network?"));
    gst_clear_object (&self->clock);
    return FALSE;
  }
  return TRUE;
}

static GstClock *
gst_ddnn_sink_provide_clock (GstElement *element)
{
  GstDdnnSink *self = GST_DDNN_SINK (element);
  GstClock *clock;

  GST_OBJECT_LOCK (self);
  clock = self->clock ? gst_object_ref (self->clock) : NULL;
  GST_OBJECT_UNLOCK (self);
  return clock;
}

static gboolean
gst_ddnn_sink_start (GstBaseSink *sink)
{
  GstDdnnSink *self = GST_DDNN_SINK (sink);
  g_autofree gchar *model = NULL, *results = NULL;
  GUri *uri;

  g_autofree gchar *token_file = NULL, *ca_file = NULL, *clock_address = NULL;
  g_autofree gchar *token = NULL;
  GstDdnnClockSource clock_source;
  gint clock_port;
  guint ptp_domain;
  guint64 clock_timeout, heartbeat;
  GError *error = NULL;

  GST_OBJECT_LOCK (self);
  model = g_strdup (self->model_path);
  results = g_strdup (self->results_path);
  g_free (self->site_used);
  self->site_used = g_strdup (self->site);
  token_file = g_strdup (self->token_file);
  ca_file = g_strdup (self->ca_file);
  clock_address = g_strdup (self->clock_address);
  clock_source = self->clock_source;
  clock_port = self->clock_port;
  ptp_domain = self->ptp_domain;
  clock_timeout = self->clock_timeout;
  heartbeat = self->heartbeat;
  token = g_strdup (self->token);
  GST_OBJECT_UNLOCK (self);
  if (!self->location ||
      !(uri = g_uri_parse (self->location, G_URI_FLAGS_NONE, NULL))) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No usable location '%s'", self->location ? self->location : ""),
        ("use ws://HOST:PORT/ddnn or wss://HOST:PORT/ddnn"));
    return FALSE;
  }
  if (strcmp (g_uri_get_scheme (uri), "ws") != 0 &&
      strcmp (g_uri_get_scheme (uri), "wss") != 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("Location '%s' is not ws:// or wss://", self->location), (NULL));
    g_uri_unref (uri);
    return FALSE;
  }
  g_uri_unref (uri);
  if (model &&
      !(self->model = gst_ddnn_element_load_model (GST_ELEMENT (self), model)))
    return FALSE;
  if (results &&
      !(self->results = gst_ddnn_element_open_results (
            GST_ELEMENT (self), results)))
    return FALSE;
  if (!gst_ddnn_token_resolve (
          GST_ELEMENT (self), token, token_file, &self->active_token))
    return FALSE;
  /* a CA file that cannot be used fails here, not later in the network
   * thread where the pipeline would only hang */
  if (ca_file && !g_path_is_absolute (ca_file)) {
    /* GIO takes an anchor file by its absolute path only */
    gchar *absolute = g_canonicalize_filename (ca_file, NULL);

    g_free (ca_file);
    ca_file = absolute;
  }
  if (ca_file && !(self->tls_db = g_tls_file_database_new (ca_file, &error))) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Cannot use the TLS CA file %s", ca_file), ("%s", error->message));
    g_error_free (error);
    return FALSE;
  }
  if (!start_clock (self, clock_source, clock_address, clock_port, ptp_domain,
          clock_timeout))
    return FALSE;
  if (!self->peer_id)
    self->peer_id = g_strdup_printf (
        "%08x%08x", g_random_int (), g_random_int ());
  memset (&self->announce, 0, sizeof (self->announce));
  self->announce.peer_id = g_strdup (self->peer_id);
  self->announce.session = g_strdup_printf (
      "%08x%08x", g_random_int (), g_random_int ());
  /* whole ms on the wire; a beat shorter than 1 ms is 1 ms */
  self->announce.heartbeat_ms = heartbeat
      ? (guint) MAX (1, heartbeat / GST_MSECOND)
      : 0;
  self->announced = FALSE;
  self->failure = LINK_OK;
  self->failure_status = 0;

  g_mutex_lock (&self->lock);
  self->flushing = FALSE;
  self->sent = self->acked = self->resent = self->dropped = self->bytes = 0;
  self->messages = 0;
  self->answered = self->degraded = self->late = 0;
  self->giving = 0;
  self->rtt_us = 0;
  self->pending_by_sample = g_hash_table_new (g_int64_hash, g_int64_equal);
  self->ring = g_hash_table_new_full (
      g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) g_bytes_unref);
  g_queue_init (&self->ring_order);
  self->payload = self->features_sent = self->features_missed = 0;
  self->wire_up = self->wire_down = self->acks = 0;
  g_mutex_unlock (&self->lock);
  self->backoff = 0;
  self->cancel = g_cancellable_new ();
  /* one network thread for all the ddnnsinks of the process */
  self->context = gst_ddnn_net_thread_ref ();
  /* made here, so that the streaming thread can wake it from the first
   * frame on */
  self->timer = g_source_new (&timer_funcs, sizeof (GSource));
  g_source_set_callback (self->timer, on_timer, self, NULL);
  g_source_set_ready_time (self->timer, -1);
  g_source_attach (self->timer, self->context);
  self->sender = g_source_new (&timer_funcs, sizeof (GSource));
  g_source_set_callback (self->sender, send_queued_again, self, NULL);
  g_source_set_ready_time (self->sender, -1);
  g_source_attach (self->sender, self->context);
  gst_ddnn_net_thread_call (start_network, self);
  return TRUE;
}

static gboolean
gst_ddnn_sink_stop (GstBaseSink *sink)
{
  GstDdnnSink *self = GST_DDNN_SINK (sink);
  guint64 left;

  if (self->context) {
    gst_ddnn_net_thread_call (stop_network, self);
    g_source_destroy (self->timer);
    g_clear_pointer (&self->timer, g_source_unref);
    g_source_destroy (self->sender);
    g_clear_pointer (&self->sender, g_source_unref);
    g_clear_pointer (&self->context, g_main_context_unref);
    gst_ddnn_net_thread_unref ();
  }
  g_clear_object (&self->cancel);
  g_mutex_lock (&self->lock);
  left = g_queue_get_length (&self->pending);
  g_queue_clear_full (&self->items, (GDestroyNotify) item_free);
  self->unsent = NULL;
  g_queue_clear_full (&self->pending, (GDestroyNotify) pending_free);
  g_clear_pointer (&self->pending_by_sample, g_hash_table_unref);
  g_queue_clear (&self->ring_order);
  g_clear_pointer (&self->ring, g_hash_table_unref);
  g_mutex_unlock (&self->lock);
  if (left)
    GST_INFO_OBJECT (
        self, "%" G_GUINT64_FORMAT " answers were still due", left);
  g_clear_pointer (&self->model, ddnn_model_unref);
  g_clear_pointer (&self->results, gst_ddnn_result_writer_close);
  g_clear_pointer (&self->active_token, g_free);
  g_clear_object (&self->tls_db);
  gst_clear_object (&self->clock);
  gst_ddnn_announce_clear (&self->announce);
  return TRUE;
}

static gboolean
gst_ddnn_sink_unlock (GstBaseSink *sink)
{
  GstDdnnSink *self = GST_DDNN_SINK (sink);

  g_mutex_lock (&self->lock);
  self->flushing = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_ddnn_sink_unlock_stop (GstBaseSink *sink)
{
  GstDdnnSink *self = GST_DDNN_SINK (sink);

  g_mutex_lock (&self->lock);
  self->flushing = FALSE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static GstFlowReturn
gst_ddnn_sink_render (GstBaseSink *sink, GstBuffer *buffer)
{
  GstDdnnSink *self = GST_DDNN_SINK (sink);
  GstDdnnMeta *meta = gst_buffer_get_ddnn_meta (buffer);
  GstBuffer *parsed = NULL;
  GError *error = NULL;
  GBytes *frame;
  Item *item;
  Pending *p;
  guint64 timeout;
  gboolean on_demand;
  GBytes *features_frame = NULL;

  if (!meta) {
    /* a bare frame: parse it, which checks it too */
    parsed = gst_buffer_copy (buffer);
    if (!(meta = gst_ddnn_buffer_ensure_meta (parsed, &error))) {
      GST_ELEMENT_WARNING (self, STREAM, DECODE,
          ("Not sent: a buffer without DDNN data"), ("%s", error->message));
      g_error_free (error);
      gst_buffer_unref (parsed);
      return GST_FLOW_OK;
    }
  }
  if (self->model &&
      !gst_ddnn_meta_has_model (meta, ddnn_model_get_id (self->model))) {
    GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
        ("The sample comes from another model"),
        ("sample model %s, this element's model %s", meta->model_id,
            ddnn_model_get_id (self->model)));
    gst_clear_buffer (&parsed);
    return GST_FLOW_ERROR;
  }
  if (meta->exit == GST_DDNN_EXIT_AUDIT) {
    /* an adaptive exit's audit copy: the link carries no audit flag, and
     * the far tier would answer it as a sample of its own.  It stays here,
     * and the exit hears at once that no answer will come (a degraded
     * answer, flagged audit, that goes no further than the exit) */
    GstStructure *none = gst_ddnn_result_new (meta, NULL, self->site_used, -1);

    GST_LOG_OBJECT (
        self, "audit of sample %" G_GUINT64_FORMAT " not sent", meta->sample);
    gst_structure_set_name (none, GST_DDNN_ANSWER_EVENT);
    gst_structure_set (none, "degraded", G_TYPE_BOOLEAN, TRUE, "audit",
        G_TYPE_BOOLEAN, TRUE, NULL);
    gst_pad_push_event (GST_BASE_SINK_PAD (self),
        gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM, none));
    gst_clear_buffer (&parsed);
    return GST_FLOW_OK;
  }
  GST_OBJECT_LOCK (self);
  on_demand = self->on_demand && meta->features;
  GST_OBJECT_UNLOCK (self);
  frame = gst_ddnn_frame_from_meta (meta,
      self->model &&
          ddnn_model_get_score_format (self->model) == DDNN_SCORES_INT8,
      !on_demand, &error);
  if (frame && on_demand &&
      !(features_frame = gst_ddnn_frame_features_only (meta, &error)))
    g_clear_pointer (&frame, g_bytes_unref);
  if (!frame) {
    GST_ELEMENT_ERROR (self, STREAM, ENCODE, ("Cannot write the frame"),
        ("%s", error->message));
    g_error_free (error);
    gst_clear_buffer (&parsed);
    return GST_FLOW_ERROR;
  }
  item = g_new0 (Item, 1);
  item->frame = frame;
  item->sample = meta->sample;

  /* this tier's own answer, in case the next does not answer in time */
  GST_OBJECT_LOCK (self);
  timeout = self->timeout;
  GST_OBJECT_UNLOCK (self);
  p = g_new0 (Pending, 1);
  p->sample = meta->sample;
  p->frame = g_bytes_ref (frame);
  p->capture = meta->capture_time;
  p->deadline = timeout ? g_get_monotonic_time () + (gint64) (timeout / 1000)
                        : G_MAXINT64;
  gst_clear_buffer (&parsed);
  g_mutex_lock (&self->lock);
  if (!self->announced) {
    gst_ddnn_announce_from_meta (&self->announce, meta,
        self->model &&
            ddnn_model_get_score_format (self->model) == DDNN_SCORES_INT8);
    self->announced = TRUE;
    g_main_context_invoke (self->context, start_link, self);
  } else if (meta->view != self->announce.view ||
      strncmp (meta->model_id, self->announce.model_id, 16) != 0) {
    g_mutex_unlock (&self->lock);
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("A link carries one camera's samples (or fused ones) of one model"),
        ("view %d of model %.16s after view %d of model %s", meta->view,
            meta->model_id, self->announce.view, self->announce.model_id));
    item_free (item);
    pending_free (p);
    if (features_frame)
      g_bytes_unref (features_frame);
    return GST_FLOW_ERROR;
  }
  while (
      g_queue_get_length (&self->items) >= self->max_queue && !self->flushing) {
    if (self->policy == GST_DDNN_QUEUE_DROP_OLDEST) {
      Item *old;

      if (self->unsent == self->items.head)
        self->unsent = self->unsent->next;
      old = g_queue_pop_head (&self->items);

      GST_DEBUG_OBJECT (
          self, "queue full: dropped sample %" G_GUINT64_FORMAT, old->sample);
      item_free (old);
      self->dropped++;
      break;
    }
    g_cond_wait (&self->cond, &self->lock);
  }
  if (self->flushing) {
    g_mutex_unlock (&self->lock);
    item_free (item);
    pending_free (p);
    if (features_frame)
      g_bytes_unref (features_frame);
    return GST_FLOW_FLUSHING;
  }
  g_queue_push_tail (&self->items, item);
  if (!self->unsent)
    self->unsent = self->items.tail;
  if (features_frame) {
    /* kept until asked for, or until ring-size newer samples came */
    guint64 *key = g_memdup2 (&item->sample, sizeof (guint64));

    g_hash_table_replace (self->ring, key, features_frame);
    g_queue_push_tail (&self->ring_order, key);
    while (g_queue_get_length (&self->ring_order) > self->ring_size)
      g_hash_table_remove (self->ring, g_queue_pop_head (&self->ring_order));
  }
  if (!g_hash_table_contains (self->pending_by_sample, &p->sample)) {
    g_hash_table_insert (self->pending_by_sample, &p->sample, p);
    g_queue_push_tail (&self->pending, p);
    /* the oldest answer's deadline wakes the network thread */
    if (g_queue_get_length (&self->pending) == 1 && p->deadline != G_MAXINT64)
      timer_wake_at (self, p->deadline);
  } else {
    pending_free (p);
  }
  if (!self->send_scheduled) {
    self->send_scheduled = TRUE;
    g_source_set_ready_time (self->sender, 0);
  }
  g_mutex_unlock (&self->lock);
  return GST_FLOW_OK;
}

static gboolean
gst_ddnn_sink_event (GstBaseSink *sink, GstEvent *event)
{
  GstDdnnSink *self = GST_DDNN_SINK (sink);

  if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM_STICKY &&
      gst_event_has_name (event, GST_DDNN_CAMERA_EVENT)) {
    /* a camera says what it will send: the link opens now, so that it is
     * up (and announced) before the first frame */
    g_mutex_lock (&self->lock);
    if (!self->announced &&
        gst_ddnn_announce_from_camera (
            &self->announce, gst_event_get_structure (event))) {
      self->announced = TRUE;
      g_main_context_invoke (self->context, start_link, self);
    }
    g_mutex_unlock (&self->lock);
  }

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    guint64 timeout;
    gint64 until;

    /* the answers still due come (or are given degraded) first */
    GST_OBJECT_LOCK (self);
    timeout = self->timeout ? self->timeout : 10 * GST_SECOND;
    GST_OBJECT_UNLOCK (self);
    until = g_get_monotonic_time () + timeout / 1000 + G_USEC_PER_SEC;
    g_mutex_lock (&self->lock);
    while ((!g_queue_is_empty (&self->pending) || self->giving) &&
        !self->flushing && g_cond_wait_until (&self->cond, &self->lock, until))
      ;
    if (!g_queue_is_empty (&self->pending))
      GST_WARNING_OBJECT (self, "EOS with %u answers still due",
          g_queue_get_length (&self->pending));
    g_mutex_unlock (&self->lock);
    /* what crossed the link, for scripts that read the bus */
    gst_ddnn_post_stats (GST_ELEMENT (self));
  }
  return GST_BASE_SINK_CLASS (gst_ddnn_sink_parent_class)->event (sink, event);
}

/* ------------------------------------------------------------------ */

static void
gst_ddnn_sink_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstDdnnSink *self = GST_DDNN_SINK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_free (self->location);
      self->location = g_value_dup_string (value);
      break;
    case PROP_TOKEN:
      g_free (self->token);
      self->token = g_value_dup_string (value);
      break;
    case PROP_TLS_CA_FILE:
      g_free (self->ca_file);
      self->ca_file = g_value_dup_string (value);
      break;
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_MAX_QUEUE:
      self->max_queue = g_value_get_uint (value);
      break;
    case PROP_QUEUE_POLICY:
      self->policy = g_value_get_enum (value);
      break;
    case PROP_BACKOFF_MAX:
      self->backoff_max = g_value_get_uint64 (value);
      break;
    case PROP_TIMEOUT:
      self->timeout = g_value_get_uint64 (value);
      break;
    case PROP_RESULTS:
      g_free (self->results_path);
      g_free (self->site);
      g_free (self->site_used);
      self->results_path = g_value_dup_string (value);
      break;
    case PROP_SITE:
      g_free (self->site);
      self->site = g_value_dup_string (value);
      break;
    case PROP_PEER_ID:
      g_free (self->peer_id);
      self->peer_id = g_value_dup_string (value);
      break;
    case PROP_FEATURES_ON_DEMAND:
      self->on_demand = g_value_get_boolean (value);
      break;
    case PROP_RING_SIZE:
      self->ring_size = g_value_get_uint (value);
      break;
    case PROP_HEARTBEAT:
      self->heartbeat = g_value_get_uint64 (value);
      break;
    case PROP_TOKEN_FILE:
      g_free (self->token_file);
      self->token_file = g_value_dup_string (value);
      break;
    case PROP_CLOCK:
      self->clock_source = g_value_get_enum (value);
      if (self->clock_source == GST_DDNN_CLOCK_PIPELINE)
        GST_OBJECT_FLAG_UNSET (self, GST_ELEMENT_FLAG_PROVIDE_CLOCK);
      else
        GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_PROVIDE_CLOCK);
      break;
    case PROP_CLOCK_ADDRESS:
      g_free (self->clock_address);
      self->clock_address = g_value_dup_string (value);
      break;
    case PROP_CLOCK_PORT:
      self->clock_port = g_value_get_int (value);
      break;
    case PROP_PTP_DOMAIN:
      self->ptp_domain = g_value_get_uint (value);
      break;
    case PROP_CLOCK_TIMEOUT:
      self->clock_timeout = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_sink_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstDdnnSink *self = GST_DDNN_SINK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string (value, self->location);
      break;
    case PROP_TOKEN:
      g_value_set_string (value, self->token);
      break;
    case PROP_TLS_CA_FILE:
      g_value_set_string (value, self->ca_file);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_MAX_QUEUE:
      g_value_set_uint (value, self->max_queue);
      break;
    case PROP_QUEUE_POLICY:
      g_value_set_enum (value, self->policy);
      break;
    case PROP_BACKOFF_MAX:
      g_value_set_uint64 (value, self->backoff_max);
      break;
    case PROP_TIMEOUT:
      g_value_set_uint64 (value, self->timeout);
      break;
    case PROP_RESULTS:
      g_value_set_string (value, self->results_path);
      break;
    case PROP_SITE:
      g_value_set_string (value, self->site);
      break;
    case PROP_PEER_ID:
      g_value_set_string (value, self->peer_id);
      break;
    case PROP_FEATURES_ON_DEMAND:
      g_value_set_boolean (value, self->on_demand);
      break;
    case PROP_RING_SIZE:
      g_value_set_uint (value, self->ring_size);
      break;
    case PROP_HEARTBEAT:
      g_value_set_uint64 (value, self->heartbeat);
      break;
    case PROP_TOKEN_FILE:
      g_value_set_string (value, self->token_file);
      break;
    case PROP_CLOCK:
      g_value_set_enum (value, self->clock_source);
      break;
    case PROP_CLOCK_ADDRESS:
      g_value_set_string (value, self->clock_address);
      break;
    case PROP_CLOCK_PORT:
      g_value_set_int (value, self->clock_port);
      break;
    case PROP_PTP_DOMAIN:
      g_value_set_uint (value, self->ptp_domain);
      break;
    case PROP_CLOCK_TIMEOUT:
      g_value_set_uint64 (value, self->clock_timeout);
      break;
    case PROP_STATS:
      GST_OBJECT_UNLOCK (self);
      g_mutex_lock (&self->lock);
      g_value_take_boxed (value,
          gst_structure_new ("ddnn-sink-stats", "sent", G_TYPE_UINT64,
              self->sent, "acked", G_TYPE_UINT64, self->acked, "resent",
              G_TYPE_UINT64, self->resent, "dropped", G_TYPE_UINT64,
              self->dropped, "bytes", G_TYPE_UINT64, self->bytes,
              "payload-bytes", G_TYPE_UINT64, self->payload, "features-sent",
              G_TYPE_UINT64, self->features_sent, "features-missed",
              G_TYPE_UINT64, self->features_missed, "rtt", G_TYPE_DOUBLE,
              self->rtt_us, "answered", G_TYPE_UINT64, self->answered,
              "degraded", G_TYPE_UINT64, self->degraded, "late", G_TYPE_UINT64,
              self->late, "wire-up", G_TYPE_UINT64, self->wire_up, "wire-down",
              G_TYPE_UINT64, self->wire_down, "acks", G_TYPE_UINT64, self->acks,
              "messages", G_TYPE_UINT64, self->messages, NULL));
      g_mutex_unlock (&self->lock);
      return;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_sink_finalize (GObject *object)
{
  GstDdnnSink *self = GST_DDNN_SINK (object);

  g_free (self->location);
  g_free (self->token);
  g_free (self->ca_file);
  g_free (self->model_path);
  g_free (self->results_path);
  g_free (self->peer_id);
  g_free (self->token_file);
  g_free (self->clock_address);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (gst_ddnn_sink_parent_class)->finalize (object);
}

static void
gst_ddnn_sink_class_init (GstDdnnSinkClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *sink_class = GST_BASE_SINK_CLASS (klass);

  gobject_class->set_property = gst_ddnn_sink_set_property;
  gobject_class->get_property = gst_ddnn_sink_get_property;
  gobject_class->finalize = gst_ddnn_sink_finalize;

  /**
   * GstDdnnSink:location:
   *
   * The `ddnnsrc` to send to: `ws://HOST:PORT/ddnn`, or `wss://HOST:PORT/ddnn`
   * for TLS.  Required.  Default: none.
   */
  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "The ddnnsrc to send to: ws://HOST:PORT/ddnn or wss://HOST:PORT/ddnn",
          NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:token:
   *
   * The shared secret, sent as `Authorization: Bearer TOKEN` in the
   * handshake.  It shows in a process list: prefer #GstDdnnSink:token-file or
   * the `DDNN_TOKEN` environment variable (used when neither is set).
   * Default: none.
   */
  g_object_class_install_property (gobject_class, PROP_TOKEN,
      g_param_spec_string ("token", "Token",
          "Sent as 'Authorization: Bearer TOKEN' (visible in a process list: "
          "prefer token-file, or the DDNN_TOKEN environment variable, used "
          "when neither is set)",
          NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:tls-ca-file:
   *
   * A PEM file of the certificate authorities trusted for `wss://`, made
   * absolute at start.  Default: none (the system's authorities).
   */
  g_object_class_install_property (gobject_class, PROP_TLS_CA_FILE,
      g_param_spec_string ("tls-ca-file", "TLS CA file",
          "PEM file of the certificate authorities trusted for wss:// (unset "
          "= the system's)",
          NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:model:
   *
   * The model file (`.safetensors`).  With it the sink sends int8 scores
   * where the model's wire section says so, names classes in its own
   * (degraded) answers, and refuses samples of any other model.  Default:
   * none (scores go as float32).
   */
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Optional: the model, for its wire format (int8 scores) and class "
          "names; samples of other models are refused",
          NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:max-queue:
   *
   * How many frames are kept until the server acknowledges them, to be
   * sent again after a reconnect; at that many, #GstDdnnSink:queue-policy
   * applies.  Range 1 to 2^32 - 1 frames.  Default: 4096.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_QUEUE,
      g_param_spec_uint ("max-queue", "Max queue",
          "Unacknowledged frames kept for resending", 1, G_MAXUINT,
          DEFAULT_MAX_QUEUE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:queue-policy:
   *
   * What happens when #GstDdnnSink:max-queue frames wait for their
   * acknowledgement: `block` (the default) holds the streaming thread until
   * one is acknowledged; `drop-oldest` drops the oldest and counts it in
   * #GstDdnnSink:stats (`dropped`).
   */
  g_object_class_install_property (gobject_class, PROP_QUEUE_POLICY,
      g_param_spec_enum ("queue-policy", "Queue policy",
          "When max-queue frames are unacknowledged: block, or drop the "
          "oldest (counted in stats)",
          GST_TYPE_DDNN_QUEUE_POLICY, DEFAULT_QUEUE_POLICY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:backoff-max:
   *
   * The longest wait between reconnection attempts, in nanoseconds; the
   * wait starts at 50 ms and doubles after each failed attempt.  Range 1 ms
   * to 600 s.  Default: 2 s.
   */
  g_object_class_install_property (gobject_class, PROP_BACKOFF_MAX,
      g_param_spec_uint64 ("backoff-max", "Backoff max",
          "Longest wait (ns) between reconnection attempts; the wait starts "
          "at 50 ms and doubles",
          GST_MSECOND, 600 * GST_SECOND, DEFAULT_BACKOFF_MAX,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:timeout:
   *
   * How long the next tier has to answer a sample, in nanoseconds, counted
   * from the sample's arrival here; then this tier gives its own answer,
   * marked `degraded`.  0 waits forever.  Default: 2 s.
   */
  g_object_class_install_property (gobject_class, PROP_TIMEOUT,
      g_param_spec_uint64 ("timeout", "Timeout",
          "How long (ns) the next tier has to answer a sample before this "
          "tier gives its own answer, marked degraded (0 = wait forever)",
          0, G_MAXUINT64, DEFAULT_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:results:
   *
   * A file to which each answer that comes home is appended as one JSON
   * line (answers are also posted as `ddnn-result` element messages).
   * Default: none.
   */
  g_object_class_install_property (gobject_class, PROP_RESULTS,
      g_param_spec_string ("results", "Results",
          "Append each answer that comes home as a JSON line to this file",
          NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:peer-id:
   *
   * This sender's id (1 to 64 of `A-Za-z0-9._:-`), which the server uses to
   * recognise this camera across restarts.  Default: none (a random one).
   */
  g_object_class_install_property (gobject_class, PROP_PEER_ID,
      g_param_spec_string ("peer-id", "Peer id",
          "This sender's id, by which the server recognises frames it "
          "resends (unset = random)",
          NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:features-on-demand:
   *
   * Send each sample's scores alone and keep its features here (the
   * last #GstDdnnSink:ring-size samples') until the next tier asks for them:
   * fewer bytes on the link when most samples exit early.  Default: FALSE
   * (features go with the scores).
   */
  g_object_class_install_property (gobject_class, PROP_FEATURES_ON_DEMAND,
      g_param_spec_boolean ("features-on-demand", "Features on demand",
          "Send the scores alone and keep the features until the next tier "
          "asks for them (FALSE: features go with the scores)",
          FALSE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:ring-size:
   *
   * With #GstDdnnSink:features-on-demand: how many recent samples'
   * features are kept for the next tier to ask for.  Range 1 to 2^32 - 1
   * samples.  Default: 1024.
   */
  g_object_class_install_property (gobject_class, PROP_RING_SIZE,
      g_param_spec_uint ("ring-size", "Ring size",
          "Features on demand: how many recent samples' features are kept", 1,
          G_MAXUINT, DEFAULT_RING_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:heartbeat:
   *
   * The beat on an idle link, in nanoseconds (announced in whole
   * milliseconds; a beat under 1 ms is 1 ms).  A beat is sent only when
   * nothing else was sent for that long, and a link on which nothing came
   * for three beats is taken for dead and reconnected.  The server holds
   * this sink to the same beat.  0 sends none, and the server then applies
   * its #GstDdnnSrc:idle-timeout.  Range 0 to 600 s.  Default: 1 s.
   */
  g_object_class_install_property (gobject_class, PROP_HEARTBEAT,
      g_param_spec_uint64 ("heartbeat", "Heartbeat",
          "Beat interval (ns, sent in whole ms) on an idle link; a link "
          "silent for three beats is dropped and reconnected (0 = no "
          "heartbeats)",
          0, 600 * GST_SECOND, DEFAULT_HEARTBEAT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:token-file:
   *
   * A file whose first line is the token (instead of #GstDdnnSink:token, so
   * that it never shows in a process list).  Read at READY to PAUSED.
   */
  g_object_class_install_property (gobject_class, PROP_TOKEN_FILE,
      g_param_spec_string ("token-file", "Token file",
          "File whose first line is the token to send (overrides token)", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:clock:
   *
   * The clock this element gives the pipeline, so that capture times
   * (ddnndevice stamps each frame's) compare across hosts: cameras on
   * separate hosts that share a clock can be aligned by capture time at
   * the edge (ddnnaggregate align=capture-time).  `net` follows the clock
   * an edge serves (ddnnsrc clock-port) at #GstDdnnSink:clock-address and
   * #GstDdnnSink:clock-port; `ptp` follows the PTP master of
   * #GstDdnnSink:ptp-domain; `realtime` is the host's wall clock, for
   * hosts kept in step by NTP or chrony.  The element waits up to
   * #GstDdnnSink:clock-timeout for the clock to be in step at READY to
   * PAUSED, and fails there if it is not.
   */
  g_object_class_install_property (gobject_class, PROP_CLOCK,
      g_param_spec_enum ("clock", "Clock",
          "The clock given to the pipeline, for capture times that compare "
          "across hosts",
          GST_TYPE_DDNN_CLOCK_SOURCE, DEFAULT_CLOCK,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:clock-address:
   *
   * With #GstDdnnSink:clock `net`: the host of the time server (a
   * `ddnnsrc` with #GstDdnnSrc:clock-port).  Default: 127.0.0.1.
   */
  g_object_class_install_property (gobject_class, PROP_CLOCK_ADDRESS,
      g_param_spec_string ("clock-address", "Clock address",
          "Address of the time server for clock=net (the edge)",
          DEFAULT_CLOCK_ADDRESS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:clock-port:
   *
   * With #GstDdnnSink:clock `net`: the UDP port of the time server.  Range
   * 0 to 65535.  Default: 0 (must be set for `net`).
   */
  g_object_class_install_property (gobject_class, PROP_CLOCK_PORT,
      g_param_spec_int ("clock-port", "Clock port",
          "UDP port of the time server for clock=net", 0, 65535,
          DEFAULT_CLOCK_PORT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:ptp-domain:
   *
   * With #GstDdnnSink:clock `ptp`: the PTP (IEEE 1588) domain.  Range 0 to
   * 255.  Default: 0.
   */
  g_object_class_install_property (gobject_class, PROP_PTP_DOMAIN,
      g_param_spec_uint ("ptp-domain", "PTP domain", "PTP domain for clock=ptp",
          0, 255, DEFAULT_PTP_DOMAIN,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:clock-timeout:
   *
   * How long to wait at start for the shared clock (`net` or `ptp`) to be
   * in step, in nanoseconds, before the element fails with an error.  0
   * does not wait.  Default: 10 s.
   */
  g_object_class_install_property (gobject_class, PROP_CLOCK_TIMEOUT,
      g_param_spec_uint64 ("clock-timeout", "Clock timeout",
          "Nanoseconds to wait for the shared clock to be in step before "
          "failing",
          0, G_MAXUINT64, DEFAULT_CLOCK_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSink:stats:
   *
   * What crossed the link since the element started, read-only: `sent`,
   * `acked`, `resent`, `dropped` (frames); `bytes` (whole frames on the
   * wire) and `payload-bytes` (their scores and features); `features-sent`,
   * `features-missed` (features asked for and gone from the ring); `rtt`
   * (µs, smoothed); `answered`, `degraded`, `late` (answers); `wire-up`,
   * `wire-down` (every byte each way: WebSocket and frame headers,
   * handshake, heartbeats, acks, answers); `acks` (acknowledgement
   * messages); `messages` (WebSocket messages of link frames: the frames
   * ready at once go in one).  Also posted as an element message at EOS.
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "sent, acked, resent, dropped, bytes (whole frames), payload-bytes "
          "(scores and features), features-sent, features-missed, rtt (us, "
          "smoothed), answered, degraded, late, wire-up, wire-down (every "
          "byte each way), acks, messages",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  /**
   * GstDdnnSink:site:
   *
   * The site or source id that this element's answer records carry (the
   * `site` field of ddnn-result messages, results files and ddnnpublish's
   * records); NULL gives the host name.
   */
  g_object_class_install_property (gobject_class, PROP_SITE,
      g_param_spec_string ("site", "Site",
          "Site id in the answer records (NULL: the host name)", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class, "DDNN network sink",
      "Sink/Network",
      "Sends each sample's DDNN meta (never the video) to a ddnnsrc over "
      "WebSocket and posts the answers that come back; example: ddnndevice "
      "model=m.safetensors view=0 ! ddnnsink location=ws://edge:9000/ddnn "
      "token=t",
      "ddnn-gst developers");
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI,
      PACKAGE_ORIGIN "/blob/main/README.md#element-reference");

  sink_class->start = GST_DEBUG_FUNCPTR (gst_ddnn_sink_start);
  sink_class->stop = GST_DEBUG_FUNCPTR (gst_ddnn_sink_stop);
  sink_class->unlock = GST_DEBUG_FUNCPTR (gst_ddnn_sink_unlock);
  sink_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_ddnn_sink_unlock_stop);
  sink_class->render = GST_DEBUG_FUNCPTR (gst_ddnn_sink_render);
  sink_class->event = GST_DEBUG_FUNCPTR (gst_ddnn_sink_event);

  gst_type_mark_as_plugin_api (GST_TYPE_DDNN_QUEUE_POLICY, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_DDNN_CLOCK_SOURCE, 0);
  element_class->provide_clock = GST_DEBUG_FUNCPTR (
      gst_ddnn_sink_provide_clock);
  GST_DEBUG_CATEGORY_INIT (
      gst_ddnn_sink_debug, "ddnnsink", 0, "DDNN network sink");
}

static void
gst_ddnn_sink_init (GstDdnnSink *self)
{
  self->max_queue = DEFAULT_MAX_QUEUE;
  self->policy = DEFAULT_QUEUE_POLICY;
  self->backoff_max = DEFAULT_BACKOFF_MAX;
  self->timeout = DEFAULT_TIMEOUT;
  self->ring_size = DEFAULT_RING_SIZE;
  self->heartbeat = DEFAULT_HEARTBEAT;
  self->clock_source = DEFAULT_CLOCK;
  self->clock_address = g_strdup (DEFAULT_CLOCK_ADDRESS);
  self->clock_port = DEFAULT_CLOCK_PORT;
  self->ptp_domain = DEFAULT_PTP_DOMAIN;
  self->clock_timeout = DEFAULT_CLOCK_TIMEOUT;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->items);
  g_queue_init (&self->pending);
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
}
