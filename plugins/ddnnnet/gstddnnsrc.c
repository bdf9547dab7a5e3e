/* ddnnsrc: receives DDNN wire frames from ddnnsinks over WebSocket.
 * SPDX-License-Identifier: LGPL-2.1-or-later */

/**
 * SECTION:element-ddnnsrc
 * @title: ddnnsrc
 *
 * A WebSocket server (libsoup-3.0, path `/ddnn`) that takes wire frames from
 * one or many `ddnnsink`s and gives them as `application/x-ddnn` buffers,
 * each with its parsed #GstDdnnMeta.  A source pad appears for each view
 * that a peer sends (`src_N` for camera N, `src_fused` for fused samples),
 * so that a `ddnnaggregate` can take one pad per camera.  A peer that goes
 * away leaves its pad in place: with `ddnnaggregate timeout=...` the
 * aggregator goes on without it.
 *
 * It is a live source: the pipeline does not preroll, starts with no peers
 * and waits for them.  Buffers are timestamped with the running time at
 * which they arrived; the sender's PTS, capture time and sample number are
 * in the meta.
 *
 * Every frame is acknowledged ("ack N" down the link); a frame that comes
 * again after a reconnect is dropped.  Answers that come back up the
 * pipeline (`ddnn-answer` events from `ddnnexit` and `ddnncloud`) are sent
 * to the peers whose sample it was, so the host that asked learns every
 * answer.
 *
 * Features on demand: a `ddnn-features` event coming up the pipeline (from
 * `ddnnexit`, for a sample whose scores came alone) is sent to the peers
 * of that sample as "features N"; their features-only replies go back
 * down, out of band, as `ddnn-features-reply` events on the view's pad.
 *
 * With #GstDdnnSrc:token set, a peer must send `Authorization: Bearer
 * TOKEN`; any other gets HTTP 401 and nothing of it is read.  A peer that
 * sends a malformed or oversized frame is disconnected, with a warning
 * giving the reason; the other peers are not affected.  With
 * #GstDdnnSrc:tls-certificate and #GstDdnnSrc:tls-key the server speaks
 * `wss://`.
 *
 * The port it listens on (#GstDdnnSrc:port 0 takes any free one) can be read
 * from #GstDdnnSrc:bound-port and is posted in a `ddnn-listening` element
 * message with the URI, so that scripts can start on port 0.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m ddnnsrc port=0 token=secret name=in \
 *     in.src_fused ! queue ! ddnncloud model=m.safetensors ! fakesink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnsrc.h"

#include "gstddnnlink.h"
#include "gstddnnnet.h"
#include <gst/net/net.h>
#include <gstddnnframe.h>
#include <gstddnnlinkframe.h>
#include <gstddnnmodel.h>
#include <gstddnnresult.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#ifdef __linux__
#include <linux/tcp.h>
#endif
#ifdef __linux__
#include <linux/sockios.h>
#endif

GST_DEBUG_CATEGORY_STATIC (gst_ddnn_src_debug);

#define GST_CAT_DEFAULT gst_ddnn_src_debug

enum
{
  PROP_0,
  PROP_PORT,
  PROP_ADDRESS,
  PROP_TOKEN,
  PROP_TLS_CERTIFICATE,
  PROP_TLS_KEY,
  PROP_BOUND_PORT,
  PROP_MAX_QUEUE,
  PROP_VIEWS,
  PROP_FUSED_PAD,
  PROP_STATS,
  PROP_MODEL,
  PROP_TOKEN_FILE,
  PROP_MAX_CONNECTIONS,
  PROP_HANDSHAKE_TIMEOUT,
  PROP_IDLE_TIMEOUT,
  PROP_MAX_PEER_QUEUE,
  PROP_CLOCK_PORT,
  PROP_BOUND_CLOCK_PORT,
  PROP_THREADING,
};

typedef enum
{
  GST_DDNN_THREADING_AUTO,
  GST_DDNN_THREADING_NETWORK,
  GST_DDNN_THREADING_PADS,
} GstDdnnThreading;

#define GST_TYPE_DDNN_THREADING (gst_ddnn_threading_get_type ())

static GType
gst_ddnn_threading_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_DDNN_THREADING_AUTO,
        "The network thread where only one pad can exist, else the pads'",
        "auto" },
    { GST_DDNN_THREADING_NETWORK, "The network thread pushes every frame",
        "network" },
    { GST_DDNN_THREADING_PADS, "Each pad's own thread, behind a queue",
        "pads" },
    { 0, NULL, NULL },
  };
  G_STATIC_ASSERT (G_N_ELEMENTS (values) == GST_DDNN_THREADING_PADS + 2);

  if (g_once_init_enter (&type))
    g_once_init_leave (
        &type, g_enum_register_static ("GstDdnnSrcThreading", values));
  return type;
}

#define DEFAULT_PORT 0
#define DEFAULT_ADDRESS "0.0.0.0"
#define DEFAULT_MAX_QUEUE 1024
#define DEFAULT_MAX_CONNECTIONS 256
#define DEFAULT_HANDSHAKE_TIMEOUT (5 * GST_SECOND)
#define DEFAULT_IDLE_TIMEOUT (60 * GST_SECOND)
#define DEFAULT_MAX_PEER_QUEUE (1024 * 1024)
#define DEFAULT_CLOCK_PORT -1
#define DEFAULT_THREADING GST_DDNN_THREADING_AUTO
#define FUSED 64
/* fused samples whose senders are remembered, features requests kept */
#define FUSED_SENDERS_MAX 65536
#define REQUESTED_MAX 65536
/* what is kept about a session or a request after it was last seen */
#define KEEP_GONE_US (120 * G_USEC_PER_SEC)

/* One WebSocket connection, trusted for what it announced and no more. */
typedef struct
{
  GstDdnnSrc *src;
  SoupWebsocketConnection *conn;
  GSocket *socket;
  guint64 id;
  GstDdnnAnnounce announce;
  GstDdnnLinkState link;
  /* acknowledgements: the highest sample to acknowledge, sent once for all
   * the frames that came together */
  guint64 ack_upto;
  GSource *ack_source;
  gchar *name; /* "address:port (peer id, view N)", for messages */
  /* "session/view": its last sample's key in last_sample (one view a
   * connection) */
  gchar *last_key;
  gchar *host;
  /* heartbeats: monotonic µs of the last message each way */
  gint64 last_in, last_out;
  /* bytes handed to libsoup while its socket stayed full */
  guint64 unread;
  /* a peer that does not read: its TCP acknowledgements stop while bytes
   * wait for it */
  guint64 tcp_acked;
  gint64 stalled_since;
  gboolean doomed;
} Peer;

typedef struct
{
  guint64 sample;
  gint64 seen; /* monotonic µs */
} LastSample;

typedef struct
{
  GstPad *pad;
  guint index; /* the view, or FUSED */
  GQueue queue;
  /* frames pushed by the network thread itself, not queued for the task */
  gboolean direct;
  /* a thread is pushing on the pad (the task, or the network thread):
   * the other waits, so that nothing overtakes */
  gboolean busy;
  gboolean failed;
} OutPad;

struct _GstDdnnSrc
{
  GstElement parent;

  /* properties, under the object lock */
  gint port;
  gchar *address;
  gchar *token;
  gchar *cert_file, *key_file;
  gint bound_port;
  guint max_queue;
  guint views;
  gboolean fused_pad;
  gchar *model_path, *token_file;
  guint max_connections;
  guint64 handshake_timeout, idle_timeout, max_peer_queue;
  gint clock_port, bound_clock_port;
  GstDdnnThreading threading;
  guint64 received, duplicates, rejected, overflows, answers, peers_seen;
  guint64 feature_requests, feature_replies, refused, conflicts, slow_peers,
      timeouts, idle;

  /* from start () to stop (), read-only in between */
  DdnnModel *model;
  gchar *active_token;
  GstClock *shared_clock;
  GstNetTimeProvider *time_provider;

  /* the network thread and what only it touches */
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
  SoupServer *server;
  GList *peers;
  GHashTable *peers_by_id; /* guint64 id -> Peer */
  Peer *owners[DDNN_MAX_VIEWS]; /* the connection that holds each view */
  /* without a model: the id of the first peer's, which all others must
   * share */
  gchar pinned_model[17];
  guint64 next_peer_id;
  /* connections not yet upgraded: SoupServerMessage -> gint64 start, µs */
  GHashTable *handshakes;
  GHashTable *fused_senders; /* guint64 sample -> GQueue of peer ids */
  GQueue fused_order;
  GHashTable *log_limits; /* address -> GstDdnnRateLimit */
  GHashTable *last_sample; /* "session/view" -> LastSample */
  GHashTable *requested; /* "session/view/sample" -> gint64 asked at */

  /* the source pads, under lock */
  GMutex lock;
  GCond cond;
  OutPad *pads[FUSED + 1];
  gboolean flushing, eos;
};

static GstStaticPadTemplate view_template = GST_STATIC_PAD_TEMPLATE (
    "src_%u", GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS (GST_DDNN_CAPS));
static GstStaticPadTemplate fused_template = GST_STATIC_PAD_TEMPLATE (
    "src_fused", GST_PAD_SRC, GST_PAD_SOMETIMES,
    GST_STATIC_CAPS (GST_DDNN_CAPS));

G_DEFINE_TYPE (GstDdnnSrc, gst_ddnn_src, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (
    ddnnsrc, "ddnnsrc", GST_RANK_NONE, GST_TYPE_DDNN_SRC);

/* ------------------------------------------------------------------ */
/* source pads                                                         */

/* What a push on @out returned: FALSE where the pad stops (flushing, or
 * an error, posted once). */
static gboolean
flow_ok (GstDdnnSrc *self, OutPad *out, GstFlowReturn ret)
{
  if (ret == GST_FLOW_OK)
    return TRUE;
  if (ret == GST_FLOW_NOT_LINKED) {
    GST_LOG_OBJECT (out->pad, "not linked: the frame is dropped");
    return TRUE;
  }
  GST_DEBUG_OBJECT (out->pad, "stopping: %s", gst_flow_get_name (ret));
  g_mutex_lock (&self->lock);
  if (ret == GST_FLOW_ERROR || ret == GST_FLOW_NOT_NEGOTIATED) {
    if (!out->failed)
      GST_ELEMENT_FLOW_ERROR (self, ret);
    out->failed = TRUE;
  }
  g_mutex_unlock (&self->lock);
  return FALSE;
}

static void
out_pad_loop (gpointer data)
{
  GstPad *pad = data;
  GstDdnnSrc *self = GST_DDNN_SRC (GST_PAD_PARENT (pad));
  OutPad *out = gst_pad_get_element_private (pad);
  GstMiniObject *item;
  GstBuffer *buffer;
  GstFlowReturn ret;

  g_mutex_lock (&self->lock);
  while (!self->flushing &&
      (out->busy || (!self->eos && g_queue_is_empty (&out->queue))))
    g_cond_wait (&self->cond, &self->lock);
  if (self->flushing) {
    g_mutex_unlock (&self->lock);
    gst_pad_pause_task (pad);
    return;
  }
  if (g_queue_is_empty (&out->queue)) {
    /* asked to end (gst-launch -e): what was queued went first */
    g_mutex_unlock (&self->lock);
    gst_pad_push_event (pad, gst_event_new_eos ());
    gst_pad_pause_task (pad);
    return;
  }
  item = g_queue_pop_head (&out->queue);
  out->busy = TRUE;
  g_mutex_unlock (&self->lock);
  if (GST_IS_EVENT (item)) {
    gst_pad_push_event (pad, GST_EVENT_CAST (item));
    ret = GST_FLOW_OK;
  } else {
    buffer = GST_BUFFER_CAST (item);
    ret = gst_pad_push (pad, buffer);
  }
  g_mutex_lock (&self->lock);
  out->busy = FALSE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  if (!flow_ok (self, out, ret))
    gst_pad_pause_task (pad);
}

/* The network thread gives @buffer to @out's peer itself when the pad
 * pushes directly and nothing is queued or being pushed before it;
 * otherwise it is queued for the pad's task.  Takes @buffer. */
static void
out_pad_give (GstDdnnSrc *self, OutPad *out, GstBuffer *buffer)
{
  GstFlowReturn ret;

  g_mutex_lock (&self->lock);
  if (out->direct && !out->busy && !out->failed && !self->flushing &&
      g_queue_is_empty (&out->queue)) {
    out->busy = TRUE;
    g_mutex_unlock (&self->lock);
    ret = gst_pad_push (out->pad, buffer);
    g_mutex_lock (&self->lock);
    out->busy = FALSE;
    g_cond_broadcast (&self->cond);
    g_mutex_unlock (&self->lock);
    flow_ok (self, out, ret);
    return;
  }
  if (g_queue_get_length (&out->queue) >= self->max_queue) {
    /* downstream is not keeping up: the oldest goes */
    gst_mini_object_unref (g_queue_pop_head (&out->queue));
    GST_OBJECT_LOCK (self);
    self->overflows++;
    GST_OBJECT_UNLOCK (self);
    GST_WARNING_OBJECT (self, "queue of %s full: dropped its oldest frame",
        GST_PAD_NAME (out->pad));
  }
  g_queue_push_tail (&out->queue, buffer);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static gboolean gst_ddnn_src_src_event (
    GstPad *pad, GstObject *parent, GstEvent *event);
static gboolean gst_ddnn_src_src_query (
    GstPad *pad, GstObject *parent, GstQuery *query);

/* Whether the network thread pushes frames itself: asked for, or (auto)
 * where the element can have only one pad, so that nothing downstream can
 * wait on one of its pads for a frame of another (an aggregator would
 * deadlock the thread that feeds all of them). */
static gboolean
pushes_directly (GstDdnnSrc *self)
{
  gboolean direct;

  GST_OBJECT_LOCK (self);
  switch (self->threading) {
    case GST_DDNN_THREADING_NETWORK:
      direct = TRUE;
      break;
    case GST_DDNN_THREADING_PADS:
      direct = FALSE;
      break;
    default:
      direct = (self->views == 1 && !self->fused_pad) ||
          (self->views == 0 && self->fused_pad);
      break;
  }
  GST_OBJECT_UNLOCK (self);
  return direct;
}

/* Network thread: the pad of @index, made on its first frame. */
static OutPad *
get_out_pad (GstDdnnSrc *self, guint index)
{
  GstElementClass *klass = GST_ELEMENT_GET_CLASS (self);
  OutPad *out;
  gchar *name;
  GstCaps *caps;
  GstSegment segment;
  gchar *stream_id;

  g_mutex_lock (&self->lock);
  out = self->pads[index];
  g_mutex_unlock (&self->lock);
  if (out)
    return out;

  out = g_new0 (OutPad, 1);
  out->index = index;
  out->direct = pushes_directly (self);
  g_queue_init (&out->queue);
  name = index == FUSED ? g_strdup ("src_fused")
                        : g_strdup_printf ("src_%u", index);
  out->pad = gst_pad_new_from_template (
      gst_element_class_get_pad_template (
          klass, index == FUSED ? "src_fused" : "src_%u"),
      name);
  gst_pad_set_element_private (out->pad, out);
  gst_pad_set_event_function (out->pad, gst_ddnn_src_src_event);
  gst_pad_set_query_function (out->pad, gst_ddnn_src_src_query);
  gst_pad_use_fixed_caps (out->pad);
  gst_pad_set_active (out->pad, TRUE);

  stream_id = gst_pad_create_stream_id (out->pad, GST_ELEMENT (self), name);
  gst_pad_push_event (out->pad, gst_event_new_stream_start (stream_id));
  g_free (stream_id);
  caps = gst_caps_from_string (GST_DDNN_CAPS);
  gst_pad_push_event (out->pad, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_push_event (out->pad, gst_event_new_segment (&segment));

  g_mutex_lock (&self->lock);
  self->pads[index] = out;
  g_mutex_unlock (&self->lock);
  GST_INFO_OBJECT (self, "new pad %s", name);
  gst_element_add_pad (GST_ELEMENT (self), out->pad);
  gst_pad_start_task (out->pad, out_pad_loop, out->pad, NULL);
  g_free (name);
  return out;
}

static void
stop_out_pads (GstDdnnSrc *self)
{
  guint i;

  g_mutex_lock (&self->lock);
  self->flushing = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  for (i = 0; i <= FUSED; i++) {
    OutPad *out = self->pads[i];

    if (!out)
      continue;
    gst_pad_stop_task (out->pad);
    gst_pad_set_active (out->pad, FALSE);
    g_queue_clear_full (&out->queue, (GDestroyNotify) gst_mini_object_unref);
    gst_element_remove_pad (GST_ELEMENT (self), out->pad);
    g_free (out);
    self->pads[i] = NULL;
  }
}

/* ------------------------------------------------------------------ */
/* the network thread                                                  */

/* A line about @host, at most GST_DDNN_NET_LOG_BURST per period: a peer
 * that misbehaves in a loop cannot fill the log.  Posted on the bus as a
 * warning when @post (with GST_ELEMENT_WARNING's domain and code). */
static gboolean
log_allowed (GstDdnnSrc *self, const gchar *host, guint64 *suppressed)
{
  GstDdnnRateLimit *limit = g_hash_table_lookup (self->log_limits, host);
  gint64 now = g_get_monotonic_time ();

  if (!limit) {
    /* bounded: an address flood forgets the oldest windows */
    if (g_hash_table_size (self->log_limits) >= 4096)
      g_hash_table_remove_all (self->log_limits);
    limit = g_new0 (GstDdnnRateLimit, 1);
    g_hash_table_insert (self->log_limits, g_strdup (host), limit);
  }
  return gst_ddnn_rate_limit_allow (limit, now, suppressed);
}

#define PEER_WARNING(self, host, code, text, ...)                              \
  G_STMT_START                                                                 \
  {                                                                            \
    guint64 _held;                                                             \
    if (log_allowed ((self), (host), &_held)) {                                \
      gchar *_m = g_strdup_printf (text, __VA_ARGS__);                         \
      GST_ELEMENT_WARNING ((self), STREAM, code, ("%s", _m),                   \
          ("%" G_GUINT64_FORMAT " more such lines about %s held back", _held,  \
              (host)));                                                        \
      g_free (_m);                                                             \
    }                                                                          \
  }                                                                            \
  G_STMT_END

static void
peer_free (Peer *peer)
{
  if (peer->ack_source) {
    g_source_destroy (peer->ack_source);
    g_clear_pointer (&peer->ack_source, g_source_unref);
  }
  if (peer->conn) {
    g_signal_handlers_disconnect_by_data (peer->conn, peer);
    if (soup_websocket_connection_get_state (peer->conn) ==
        SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (
          peer->conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
    g_object_unref (peer->conn);
  }
  g_clear_object (&peer->socket);
  gst_ddnn_announce_clear (&peer->announce);
  g_free (peer->name);
  g_free (peer->last_key);
  g_free (peer->host);
  g_free (peer);
}

static void
post_peer_message (
    GstDdnnSrc *self, Peer *peer, const gchar *event, const gchar *reason)
{
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("ddnn-peer", "event", G_TYPE_STRING, event, "peer",
              G_TYPE_STRING, peer->announce.peer_id, "address", G_TYPE_STRING,
              peer->host, "view", G_TYPE_INT, peer->announce.view, "reason",
              G_TYPE_STRING, reason ? reason : "", NULL)));
}

static void
drop_peer (GstDdnnSrc *self, Peer *peer, gushort code, const gchar *reason)
{
  GST_INFO_OBJECT (self, "peer %s gone: %s", peer->name, reason);
  self->peers = g_list_remove (self->peers, peer);
  g_hash_table_remove (self->peers_by_id, &peer->id);
  if (peer->announce.view >= 0 && self->owners[peer->announce.view] == peer)
    self->owners[peer->announce.view] = NULL;
  if (code && peer->conn &&
      soup_websocket_connection_get_state (peer->conn) ==
          SOUP_WEBSOCKET_STATE_OPEN) {
    g_signal_handlers_disconnect_by_data (peer->conn, peer);
    soup_websocket_connection_close (peer->conn, code, reason);
  }
  post_peer_message (self, peer, "disconnected", reason);
  peer_free (peer);
}

/* Whether @peer has taken nothing of what waits for it for @limit µs
 * (Linux: the kernel's send queue and TCP_INFO's acknowledged bytes). */
static gboolean
peer_stalled (Peer *peer, gint64 now, gint64 limit)
{
#if defined(SIOCOUTQ) && defined(TCP_INFO)
  struct tcp_info info;
  socklen_t len = sizeof (info);
  int fd, queued = 0;

  if (!peer->socket)
    return FALSE;
  fd = g_socket_get_fd (peer->socket);
  if (ioctl (fd, SIOCOUTQ, &queued) != 0 ||
      getsockopt (fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
    return FALSE;
  if (queued <= 0 || info.tcpi_bytes_acked != peer->tcp_acked) {
    peer->tcp_acked = info.tcpi_bytes_acked;
    peer->stalled_since = 0;
    return FALSE;
  }
  if (!peer->stalled_since)
    peer->stalled_since = now;
  return now - peer->stalled_since > limit;
#else
  return FALSE;
#endif
}

/* A peer that does not read would never take a closing handshake either:
 * its connection is cut at once, and all that waited for it freed. */
static void
cut_off (GstDdnnSrc *self, Peer *peer)
{
  if (peer->socket)
    g_socket_shutdown (peer->socket, TRUE, TRUE, NULL);
  if (peer->conn)
    g_io_stream_close (
        soup_websocket_connection_get_io_stream (peer->conn), NULL, NULL);
  drop_peer (self, peer, 0, "it does not read what it is sent");
}

static gboolean
reap_doomed (gpointer data)
{
  GstDdnnSrc *self = data;
  GList *l, *next;

  for (l = self->peers; l; l = next) {
    Peer *peer = l->data;

    next = l->next;
    if (peer->doomed)
      cut_off (self, peer);
  }
  return G_SOURCE_REMOVE;
}

/* Sends @text to @peer unless it is going; a peer that leaves more than
 * max-peer-queue bytes unread (its socket stays full) is disconnected:
 * libsoup would otherwise keep all of it in memory. */
static void
peer_send (GstDdnnSrc *self, Peer *peer, const gchar *text)
{
  gsize size = strlen (text);

  if (peer->doomed ||
      soup_websocket_connection_get_state (peer->conn) !=
          SOUP_WEBSOCKET_STATE_OPEN)
    return;
  if (peer->socket) {
    guint64 limit, queued = 0;
    gboolean writable = g_socket_condition_check (peer->socket, G_IO_OUT);

    GST_OBJECT_LOCK (self);
    limit = self->max_peer_queue;
    GST_OBJECT_UNLOCK (self);
    /* what the peer has not taken: what libsoup holds (handed to it while
     * the socket was full) and what the kernel holds */
    if (writable)
      peer->unread = 0;
    else
      peer->unread += size + 2;
#ifdef SIOCOUTQ
    {
      int in_kernel = 0;

      if (ioctl (g_socket_get_fd (peer->socket), SIOCOUTQ, &in_kernel) == 0 &&
          in_kernel > 0)
        queued = in_kernel;
    }
#endif
    if (peer->unread + queued > limit) {
      GST_OBJECT_LOCK (self);
      self->slow_peers++;
      GST_OBJECT_UNLOCK (self);
      PEER_WARNING (self, peer->host, FAILED,
          "Disconnected peer %s: it left more than %" G_GUINT64_FORMAT
          " bytes unread",
          peer->name, limit);
      peer->doomed = TRUE;
      /* dropped from the main loop, not here where callers still use it */
      {
        GSource *reap = g_idle_source_new ();

        g_source_set_callback (reap, reap_doomed, self, NULL);
        g_source_attach (reap, self->context);
        g_source_unref (reap);
      }
      return;
    }
  }
  soup_websocket_connection_send_text (peer->conn, text);
  peer->last_out = g_get_monotonic_time ();
}

static gboolean
send_acks (gpointer data)
{
  Peer *peer = data;
  gchar ack[32];

  g_clear_pointer (&peer->ack_source, g_source_unref);
  g_snprintf (ack, sizeof (ack), "ack %" G_GUINT64_FORMAT, peer->ack_upto);
  peer_send (peer->src, peer, ack);
  return G_SOURCE_REMOVE;
}

/* Every frame that arrives whole is acknowledged, kept or not: once the
 * frames that came together are handled, one cumulative "ack N" goes for
 * all of them. */
static void
send_ack (GstDdnnSrc *self, Peer *peer, guint64 sample)
{
  peer->ack_upto = MAX (peer->ack_upto, sample);
  if (peer->ack_source)
    return;
  peer->ack_source = g_idle_source_new ();
  g_source_set_priority (peer->ack_source, G_PRIORITY_DEFAULT);
  g_source_set_callback (peer->ack_source, send_acks, peer, NULL);
  g_source_attach (peer->ack_source, self->context);
}

/* Fused samples: which connections sent sample N, oldest first, so that
 * its answer goes back to them alone.  Bounded: the oldest are forgotten
 * (their answers then have nowhere to go). */
static void
remember_fused_sender (GstDdnnSrc *self, Peer *peer, guint64 sample)
{
  GQueue *senders = g_hash_table_lookup (self->fused_senders, &sample);
  guint64 *key;

  if (!senders) {
    senders = g_queue_new ();
    key = g_memdup2 (&sample, sizeof (sample));
    g_hash_table_insert (self->fused_senders, key, senders);
  }
  g_queue_push_tail (senders, GSIZE_TO_POINTER ((gsize) peer->id));
  g_queue_push_tail (&self->fused_order, g_memdup2 (&sample, sizeof (sample)));
  while (g_queue_get_length (&self->fused_order) > FUSED_SENDERS_MAX) {
    guint64 *old = g_queue_pop_head (&self->fused_order);
    GQueue *q = g_hash_table_lookup (self->fused_senders, old);

    if (q) {
      g_queue_pop_head (q);
      if (g_queue_is_empty (q))
        g_hash_table_remove (self->fused_senders, old);
    }
    g_free (old);
  }
}

/* The connection that sent fused sample @sample first and has not had its
 * answer yet, or NULL. */
static Peer *
take_fused_sender (GstDdnnSrc *self, guint64 sample)
{
  GQueue *senders = g_hash_table_lookup (self->fused_senders, &sample);
  guint64 id;

  if (!senders)
    return NULL;
  id = GPOINTER_TO_SIZE (g_queue_pop_head (senders));
  if (g_queue_is_empty (senders))
    g_hash_table_remove (self->fused_senders, &sample);
  return g_hash_table_lookup (self->peers_by_id, &id);
}

/* Checks and gives on one frame (the file frame a link frame stood for;
 * taken); FALSE (with the reason) if the peer is to be disconnected. */
static gboolean
handle_frame (GstDdnnSrc *self, Peer *peer, GBytes *bytes, GError **error)
{
  GstDdnnFrame frame;
  GstBuffer *buffer;
  OutPad *out;
  guint index;
  gchar *key;
  LastSample *last;
  GstClockTime now;

  /* checked against what its connection announced: nothing a peer sends
   * can be a stream error downstream */
  if (!(buffer = gst_ddnn_buffer_new_from_frame (bytes, &frame, error)))
    return FALSE;
  if (!gst_ddnn_announce_check_frame (&peer->announce, &frame, error)) {
    gst_buffer_unref (buffer);
    return FALSE;
  }
  index = frame.view < 0 ? FUSED : (guint) frame.view;

  if (frame.features_only) {
    /* a reply to a request for features: it goes, out of band, to the
     * element that holds the sample (ddnnexit) */
    key = g_strdup_printf ("%s/%u/%" G_GUINT64_FORMAT, peer->announce.session,
        index, frame.sample);
    GST_LOG_OBJECT (self,
        "features of sample %" G_GUINT64_FORMAT " view %u from %s",
        frame.sample, index, peer->name);
    if (g_hash_table_remove (self->requested, key)) {
      out = get_out_pad (self, index);
      GST_OBJECT_LOCK (self);
      self->feature_replies++;
      GST_OBJECT_UNLOCK (self);
      gst_pad_push_event (out->pad,
          gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM_OOB,
              gst_structure_new (GST_DDNN_FEATURES_REPLY, "sample",
                  G_TYPE_UINT64, frame.sample, "view", G_TYPE_INT, frame.view,
                  "frame", GST_TYPE_BUFFER, buffer, NULL)));
    } else {
      GST_DEBUG_OBJECT (self,
          "features %s were not asked for (or came before): dropped", key);
      GST_OBJECT_LOCK (self);
      self->duplicates++;
      GST_OBJECT_UNLOCK (self);
    }
    g_free (key);
    gst_buffer_unref (buffer);
    send_ack (self, peer, frame.sample);
    return TRUE;
  }

  /* a frame resent after a reconnect of its session is acknowledged and
   * dropped */
  if (!peer->last_key)
    peer->last_key = g_strdup_printf ("%s/%u", peer->announce.session, index);
  key = peer->last_key;
  last = g_hash_table_lookup (self->last_sample, key);
  if (last && frame.sample <= last->sample) {
    gst_buffer_unref (buffer);
    last->seen = g_get_monotonic_time ();
    GST_OBJECT_LOCK (self);
    self->duplicates++;
    GST_OBJECT_UNLOCK (self);
    send_ack (self, peer, frame.sample);
    return TRUE;
  }
  if (!last) {
    last = g_new (LastSample, 1);
    g_hash_table_insert (self->last_sample, g_strdup (key), last);
  }
  last->sample = frame.sample;
  last->seen = g_get_monotonic_time ();

  now = gst_element_get_current_running_time (GST_ELEMENT (self));
  GST_BUFFER_PTS (buffer) = now;
  if (index == FUSED)
    remember_fused_sender (self, peer, frame.sample);

  out = get_out_pad (self, index);
  GST_OBJECT_LOCK (self);
  self->received++;
  GST_OBJECT_UNLOCK (self);
  send_ack (self, peer, frame.sample);
  /* last: pushed here, the frame may come back as an answer at once */
  out_pad_give (self, out, buffer);
  return TRUE;
}

static void
on_peer_message (
    SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer data)
{
  Peer *peer = data;
  GstDdnnSrc *self = peer->src;
  GError *error = NULL;

  if (peer->doomed)
    return;
  peer->last_in = g_get_monotonic_time ();
  if (type == SOUP_WEBSOCKET_DATA_TEXT && g_bytes_get_size (message) == 4 &&
      memcmp (g_bytes_get_data (message, NULL), "beat", 4) == 0)
    return;
  if (type != SOUP_WEBSOCKET_DATA_BINARY) {
    g_set_error (&error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
        "a text message where frames are expected");
  } else {
    /* the link frames of the message, one after another: each becomes
     * the file frame it stands for, every byte checked before anything
     * is read */
    gsize size, used = 0;
    const guint8 *bytes = g_bytes_get_data (message, &size);

    while (used < size) {
      gsize n = 0;
      GBytes *file = gst_ddnn_link_frame_decode (
          &peer->link, bytes + used, size - used, &n, &error);

      if (!file || !handle_frame (self, peer, file, &error))
        break;
      used += n;
      /* a frame pushed here may have ended the peer (its answer could
       * not be sent) */
      if (peer->doomed)
        return;
    }
    if (!error)
      return;
  }
  GST_OBJECT_LOCK (self);
  self->rejected++;
  GST_OBJECT_UNLOCK (self);
  PEER_WARNING (self, peer->host, DECODE,
      "Disconnected peer %s: it broke the link's rules (%s)", peer->name,
      error->message);
  drop_peer (self, peer, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, error->message);
  g_error_free (error);
}

static void
on_peer_closed (SoupWebsocketConnection *conn, gpointer data)
{
  Peer *peer = data;
  GstDdnnSrc *self = peer->src;
  gushort code = soup_websocket_connection_get_close_code (conn);
  gchar *reason = g_strdup_printf ("closed (code %u%s%s)", code,
      soup_websocket_connection_get_close_data (conn) ? ": " : "",
      soup_websocket_connection_get_close_data (conn)
          ? soup_websocket_connection_get_close_data (conn)
          : "");

  if (code == SOUP_WEBSOCKET_CLOSE_TOO_BIG) {
    GST_OBJECT_LOCK (self);
    self->rejected++;
    GST_OBJECT_UNLOCK (self);
    PEER_WARNING (self, peer->host, DECODE,
        "Disconnected peer %s: it sent a message of more than %d bytes",
        peer->name, GST_DDNN_NET_MAX_MESSAGE);
  }
  drop_peer (self, peer, 0, reason);
  g_free (reason);
}

static void
on_peer_error (SoupWebsocketConnection *conn, GError *error, gpointer data)
{
  Peer *peer = data;

  GST_INFO_OBJECT (peer->src, "peer %s: %s", peer->name, error->message);
}

static gchar *
remote_host (SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);

  if (!remote || !G_IS_INET_SOCKET_ADDRESS (remote))
    return g_strdup ("?");
  return g_inet_address_to_string (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
}

static gboolean
token_ok (GstDdnnSrc *self, SoupServerMessage *msg)
{
  const gchar *auth = soup_message_headers_get_one (
      soup_server_message_get_request_headers (msg), "Authorization");

  /* self->token is set at start and read-only while running */
  if (!self->active_token)
    return TRUE;
  return auth && g_str_has_prefix (auth, "Bearer ") &&
      gst_ddnn_token_equal (auth + 7, self->active_token);
}

/* Refuses @msg before the upgrade; the connection is closed after the
 * answer, so that a refused client holds nothing here. */
static void
refuse (
    GstDdnnSrc *self, SoupServerMessage *msg, guint status, const gchar *reason)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  gchar *host = remote_host (msg);

  GST_OBJECT_LOCK (self);
  self->refused++;
  GST_OBJECT_UNLOCK (self);
  PEER_WARNING (self, host, FAILED, "Refused %s: %s", host, reason);
  g_free (host);
  soup_server_message_set_status (msg, status, reason);
  soup_message_headers_replace (headers, "Connection", "close");
  if (status == SOUP_STATUS_UNAUTHORIZED)
    soup_message_headers_replace (headers, "WWW-Authenticate", "Bearer");
}

/* Whether @announce may connect now; FALSE with the status and reason. */
static gboolean
announce_ok (GstDdnnSrc *self, const GstDdnnAnnounce *announce, guint *status,
    gchar **reason)
{
  GError *error = NULL;
  guint views;
  gboolean fused_pad;

  GST_OBJECT_LOCK (self);
  views = self->views;
  fused_pad = self->fused_pad;
  GST_OBJECT_UNLOCK (self);
  *status = SOUP_STATUS_CONFLICT;
  if (announce->protocol != GST_DDNN_NET_PROTOCOL) {
    *reason = g_strdup_printf ("link protocol %u, but this server speaks %d",
        announce->protocol, GST_DDNN_NET_PROTOCOL);
    return FALSE;
  }
  if (self->model &&
      !gst_ddnn_announce_fits_model (announce, self->model, &error)) {
    *reason = g_strdup (error->message);
    g_error_free (error);
    return FALSE;
  }
  if (!self->model && self->pinned_model[0] &&
      strcmp (self->pinned_model, announce->model_id) != 0) {
    *reason = g_strdup_printf ("model %s, but this server serves model %s "
                               "(that of its first peer)",
        announce->model_id, self->pinned_model);
    return FALSE;
  }
  if ((views || fused_pad) &&
      (announce->view < 0 ? !fused_pad : (guint) announce->view >= views)) {
    gchar *what = gst_ddnn_announce_describe (announce);

    *reason = g_strdup_printf ("%s, but this server takes %s%s%s", what,
        views ? "views 0 to " : "",
        views ? g_strdup_printf ("%u", views - 1) : "",
        fused_pad ? (views ? " and fused samples" : "fused samples") : "");
    g_free (what);
    return FALSE;
  }
  if (announce->view >= 0 && self->owners[announce->view] &&
      strcmp (self->owners[announce->view]->announce.session,
          announce->session) != 0) {
    *reason = g_strdup_printf ("view %d is held by another camera (%s)",
        announce->view, self->owners[announce->view]->name);
    GST_OBJECT_LOCK (self);
    self->conflicts++;
    GST_OBJECT_UNLOCK (self);
    return FALSE;
  }
  return TRUE;
}

/* Before the upgrade: the token, then the announcement. */
static void
on_early (SoupServer *server, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer data)
{
  GstDdnnSrc *self = data;
  GstDdnnAnnounce announce;
  GError *error = NULL;
  guint status;
  gchar *reason = NULL;

  if (!token_ok (self, msg)) {
    refuse (self, msg, SOUP_STATUS_UNAUTHORIZED, "wrong or missing token");
    return;
  }
  if (!gst_ddnn_announce_read (
          &announce, soup_server_message_get_request_headers (msg), &error)) {
    reason = g_strdup_printf ("bad announcement: %s", error->message);
    refuse (self, msg, SOUP_STATUS_BAD_REQUEST, reason);
    g_free (reason);
    g_error_free (error);
    return;
  }
  if (!announce_ok (self, &announce, &status, &reason)) {
    refuse (self, msg, status, reason);
    g_free (reason);
  }
  gst_ddnn_announce_clear (&announce);
}

static void
forget_handshake (gpointer data, GObject *gone)
{
  GstDdnnSrc *self = data;

  g_hash_table_remove (self->handshakes, gone);
}

static void
stop_watching_handshake (GstDdnnSrc *self, SoupServerMessage *msg)
{
  if (g_hash_table_remove (self->handshakes, msg))
    g_object_weak_unref (G_OBJECT (msg), forget_handshake, self);
}

/* Every new connection (and each request on it) starts here: beyond
 * max-connections it is closed at once; otherwise it has
 * handshake-timeout to become a WebSocket. */
static void
on_request_started (SoupServer *server, SoupServerMessage *msg, gpointer data)
{
  GstDdnnSrc *self = data;
  guint max;
  GSocket *socket = soup_server_message_get_socket (msg);

  GST_OBJECT_LOCK (self);
  max = self->max_connections;
  GST_OBJECT_UNLOCK (self);
  if (g_hash_table_size (self->handshakes) + g_list_length (self->peers) >=
      max) {
    gchar *host = remote_host (msg);

    GST_OBJECT_LOCK (self);
    self->refused++;
    GST_OBJECT_UNLOCK (self);
    PEER_WARNING (self, host, FAILED,
        "Refused a connection from %s: already %u connections "
        "(max-connections)",
        host, max);
    g_free (host);
    if (socket)
      g_socket_shutdown (socket, TRUE, TRUE, NULL);
    return;
  }
  g_hash_table_insert (self->handshakes, msg,
      g_memdup2 (&(gint64){ g_get_monotonic_time () }, sizeof (gint64)));
  g_object_weak_ref (G_OBJECT (msg), forget_handshake, self);
}

static void
on_websocket (SoupServer *server, SoupServerMessage *msg, const char *path,
    SoupWebsocketConnection *conn, gpointer data)
{
  GstDdnnSrc *self = data;
  Peer *peer, *old;
  GError *error = NULL;
  guint status;
  gchar *reason = NULL, *what;
  GSocket *socket = soup_server_message_get_socket (msg);

  stop_watching_handshake (self, msg);
  peer = g_new0 (Peer, 1);
  peer->src = self;
  peer->conn = g_object_ref (conn);
  peer->host = remote_host (msg);
  /* the early handler has checked all this already; this is a second
   * guard, since the state may have changed in between */
  if (!token_ok (self, msg) ||
      !gst_ddnn_announce_read (&peer->announce,
          soup_server_message_get_request_headers (msg), &error) ||
      !announce_ok (self, &peer->announce, &status, &reason)) {
    soup_websocket_connection_close (conn,
        SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, reason ? reason : "refused");
    g_clear_error (&error);
    g_free (reason);
    peer_free (peer);
    return;
  }
  peer->id = ++self->next_peer_id;
  gst_ddnn_link_state_init (&peer->link, peer->announce.model_id,
      peer->announce.view, peer->announce.n_classes, peer->announce.int8_scores,
      peer->announce.has_features, peer->announce.features_dtype,
      peer->announce.n_dims, peer->announce.shape);
  peer->socket = socket ? g_object_ref (socket) : NULL;
  what = gst_ddnn_announce_describe (&peer->announce);
  {
    GSocketAddress *remote = soup_server_message_get_remote_address (msg);

    peer->name = g_strdup_printf ("%s:%u (%s, %s)", peer->host,
        remote && G_IS_INET_SOCKET_ADDRESS (remote)
            ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote))
            : 0,
        peer->announce.peer_id, what);
  }
  g_free (what);
  if (!self->model && !self->pinned_model[0])
    g_strlcpy (self->pinned_model, peer->announce.model_id,
        sizeof (self->pinned_model));
  /* the same session reconnecting takes its view over from the old link */
  if (peer->announce.view >= 0 && (old = self->owners[peer->announce.view]))
    drop_peer (self, old, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
        "replaced by a new connection of the same session");
  if (peer->announce.view >= 0) {
    OutPad *out = get_out_pad (self, peer->announce.view);

    self->owners[peer->announce.view] = peer;
    /* in order with its frames: an aggregator waits for this camera's
     * first frame rather than leaving it out */
    g_mutex_lock (&self->lock);
    g_queue_push_tail (&out->queue,
        gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
            gst_structure_new (GST_DDNN_CAMERA_CONNECTED, "view", G_TYPE_INT,
                peer->announce.view, NULL)));
    g_cond_broadcast (&self->cond);
    g_mutex_unlock (&self->lock);
  }

  soup_websocket_connection_set_max_incoming_payload_size (
      conn, GST_DDNN_NET_MAX_MESSAGE);
  soup_websocket_connection_set_keepalive_interval (conn, 0);
  g_signal_connect (conn, "message", G_CALLBACK (on_peer_message), peer);
  g_signal_connect (conn, "closed", G_CALLBACK (on_peer_closed), peer);
  g_signal_connect (conn, "error", G_CALLBACK (on_peer_error), peer);
  peer->last_in = peer->last_out = g_get_monotonic_time ();
  self->peers = g_list_prepend (self->peers, peer);
  g_hash_table_insert (self->peers_by_id, &peer->id, peer);
  GST_OBJECT_LOCK (self);
  self->peers_seen++;
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "peer %s connected", peer->name);
  post_peer_message (self, peer, "connected", NULL);
}

typedef struct
{
  GstDdnnSrc *self;
  GstStructure *result;
  guint index; /* the pad it came up on */
} Answer;

/* The connection an answer or a request on pad @index is for: the owner
 * of that view if it took part, or for fused samples the connection that
 * sent it. */
static Peer *
asker (GstDdnnSrc *self, Answer *a, guint64 sample, gboolean take)
{
  guint64 views = 0;

  gst_structure_get_uint64 (a->result, "views", &views);
  if (a->index == FUSED)
    return take ? take_fused_sender (self, sample) : NULL;
  if (views && !(views & (G_GUINT64_CONSTANT (1) << a->index)))
    return NULL;
  return self->owners[a->index];
}

/* Network thread: asks the camera of a view for the features of its
 * sample. */
static gboolean
send_request (gpointer data)
{
  Answer *a = data;
  GstDdnnSrc *self = a->self;
  guint64 sample = 0;
  gchar text[48];
  Peer *peer;

  gst_structure_get_uint64 (a->result, "sample", &sample);
  if (!(peer = asker (self, a, sample, FALSE)))
    return G_SOURCE_REMOVE;
  GST_LOG_OBJECT (self,
      "asking %s for the features of sample %" G_GUINT64_FORMAT, peer->name,
      sample);
  if (g_hash_table_size (self->requested) >= REQUESTED_MAX)
    g_hash_table_remove_all (self->requested);
  g_hash_table_insert (self->requested,
      g_strdup_printf (
          "%s/%u/%" G_GUINT64_FORMAT, peer->announce.session, a->index, sample),
      g_memdup2 (&(gint64){ g_get_monotonic_time () }, sizeof (gint64)));
  g_snprintf (text, sizeof (text), "features %" G_GUINT64_FORMAT, sample);
  peer_send (self, peer, text);
  return G_SOURCE_REMOVE;
}

/* Network thread: sends an answer to the connection whose sample it was,
 * and to no other. */
static gboolean
send_answer (gpointer data)
{
  Answer *a = data;
  GstDdnnSrc *self = a->self;
  guint64 sample = 0;
  gchar *json, *text;
  Peer *peer;

  gst_structure_get_uint64 (a->result, "sample", &sample);
  if (!(peer = asker (self, a, sample, TRUE)))
    return G_SOURCE_REMOVE;
  gst_structure_set_name (a->result, GST_DDNN_RESULT_NAME);
  gst_structure_remove_field (a->result, "view");
  json = gst_ddnn_result_to_json (a->result);
  g_strchomp (json);
  text = g_strconcat ("answer ", json, NULL);
  peer_send (self, peer, text);
  GST_OBJECT_LOCK (self);
  self->answers++;
  GST_OBJECT_UNLOCK (self);
  g_free (text);
  g_free (json);
  return G_SOURCE_REMOVE;
}

static void
answer_free (gpointer data)
{
  Answer *a = data;

  gst_structure_free (a->result);
  gst_object_unref (a->self);
  g_free (a);
}

static gboolean
gst_ddnn_src_src_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstDdnnSrc *self = GST_DDNN_SRC (parent);
  const GstStructure *result = gst_ddnn_answer_event_get_result (event);
  gboolean request = GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_UPSTREAM &&
      gst_event_has_name (event, GST_DDNN_FEATURES_REQUEST);

  if (request)
    result = gst_event_get_structure (event);
  if (result) {
    OutPad *out = gst_pad_get_element_private (pad);
    Answer *a;

    a = g_new0 (Answer, 1);
    a->self = gst_object_ref (self);
    a->result = gst_structure_copy (result);
    a->index = out->index;
    if (request) {
      GST_OBJECT_LOCK (self);
      self->feature_requests++;
      GST_OBJECT_UNLOCK (self);
    }
    if (self->context)
      g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT,
          request ? send_request : send_answer, a, answer_free);
    else
      answer_free (a);
    gst_event_unref (event);
    return TRUE;
  }
  return gst_pad_event_default (pad, parent, event);
}

static gboolean
gst_ddnn_src_src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_CUSTOM &&
      gst_query_get_structure (query) &&
      gst_structure_has_name (
          gst_query_get_structure (query), GST_DDNN_ANSWERS_QUERY))
    return TRUE; /* answers go back to the peers */
  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    /* live: what arrives is timestamped on arrival */
    gst_query_set_latency (query, TRUE, 0, GST_CLOCK_TIME_NONE);
    return TRUE;
  }
  return gst_pad_query_default (pad, parent, query);
}

static gboolean
expired (gpointer key, gpointer value, gpointer data)
{
  return *(gint64 *) value < *(gint64 *) data;
}

static gboolean
last_sample_expired (gpointer key, gpointer value, gpointer data)
{
  return ((LastSample *) value)->seen < *(gint64 *) data;
}

/* Network thread, twice a second: a beat to idle peers; a peer silent for
 * three of its own beats (or idle-timeout, if it announced none) is taken
 * for gone (a partition does not close TCP for minutes), which a live
 * aggregator then goes on without; a connection that has not become a
 * WebSocket within handshake-timeout is closed; what is kept about peers
 * long gone is forgotten. */
static gboolean
on_heartbeat (gpointer data)
{
  GstDdnnSrc *self = data;
  gint64 now = g_get_monotonic_time (), idle_us, handshake_us, before;
  GList *l, *next, *stale = NULL;
  GHashTableIter iter;
  gpointer key, value;

  GST_OBJECT_LOCK (self);
  idle_us = self->idle_timeout / 1000;
  handshake_us = self->handshake_timeout / 1000;
  GST_OBJECT_UNLOCK (self);
  for (l = self->peers; l; l = next) {
    Peer *peer = l->data;
    gint64 dead = peer->announce.heartbeat_ms
        ? (gint64) GST_DDNN_NET_DEAD_BEATS * peer->announce.heartbeat_ms * 1000
        : idle_us;

    next = l->next;
    if (!peer->doomed &&
        peer_stalled (peer, now, dead ? dead : 10 * G_USEC_PER_SEC)) {
      GST_OBJECT_LOCK (self);
      self->slow_peers++;
      GST_OBJECT_UNLOCK (self);
      PEER_WARNING (self, peer->host, FAILED,
          "Disconnected peer %s: it has read nothing of what it was sent for "
          "%" G_GINT64_FORMAT " s",
          peer->name, (now - peer->stalled_since) / G_USEC_PER_SEC);
      cut_off (self, peer);
      continue;
    }
    if (dead && now - peer->last_in > dead) {
      GST_OBJECT_LOCK (self);
      self->idle++;
      GST_OBJECT_UNLOCK (self);
      drop_peer (self, peer, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
          peer->announce.heartbeat_ms ? "no heartbeat" : "idle");
    } else if (now - peer->last_out > GST_DDNN_NET_SERVER_BEAT_MS * 1000) {
      peer_send (self, peer, "beat");
    }
  }

  g_hash_table_iter_init (&iter, self->handshakes);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (handshake_us && now - *(gint64 *) value > handshake_us)
      stale = g_list_prepend (stale, key);
  for (l = stale; l; l = l->next) {
    SoupServerMessage *msg = l->data;
    GSocket *socket = soup_server_message_get_socket (msg);
    gchar *host = remote_host (msg);

    GST_OBJECT_LOCK (self);
    self->timeouts++;
    GST_OBJECT_UNLOCK (self);
    PEER_WARNING (self, host, FAILED,
        "Closed a connection from %s: no handshake within %" G_GINT64_FORMAT
        " ms",
        host, handshake_us / 1000);
    g_free (host);
    stop_watching_handshake (self, msg);
    if (socket)
      g_socket_shutdown (socket, TRUE, TRUE, NULL);
  }
  g_list_free (stale);

  before = now - KEEP_GONE_US;
  g_hash_table_foreach_remove (self->last_sample, last_sample_expired, &before);
  g_hash_table_foreach_remove (self->requested, expired, &before);
  return G_SOURCE_CONTINUE;
}

static gpointer
network_thread (gpointer data)
{
  GstDdnnSrc *self = data;
  GSource *beat = g_timeout_source_new (GST_DDNN_NET_SERVER_BEAT_MS);

  g_main_context_push_thread_default (self->context);
  g_source_set_callback (beat, on_heartbeat, self, NULL);
  g_source_attach (beat, self->context);
  g_main_loop_run (self->loop);
  g_source_destroy (beat);
  g_source_unref (beat);
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

typedef struct
{
  GstDdnnSrc *self;
  GError *error;
  gboolean done;
  GMutex lock;
  GCond cond;
} StartData;

static gboolean
start_server (gpointer data)
{
  StartData *sd = data;
  GstDdnnSrc *self = sd->self;
  gchar *address, *cert, *key;
  gint port, clock_port;
  GTlsCertificate *certificate = NULL;
  GSocketAddress *where = NULL;
  GSList *uris;
  gchar *uri = NULL;

  GST_OBJECT_LOCK (self);
  address = g_strdup (self->address);
  cert = g_strdup (self->cert_file);
  key = g_strdup (self->key_file);
  port = self->port;
  GST_OBJECT_UNLOCK (self);

  if ((cert != NULL) != (key != NULL)) {
    g_set_error (&sd->error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "TLS needs both tls-certificate and tls-key");
    goto done;
  }
  if (cert &&
      !(certificate = g_tls_certificate_new_from_files (cert, key, &sd->error)))
    goto done;
  self->server = soup_server_new ("tls-certificate", certificate, NULL);
  g_signal_connect (
      self->server, "request-started", G_CALLBACK (on_request_started), self);
  soup_server_add_early_handler (
      self->server, GST_DDNN_NET_PATH, on_early, self, NULL);
  soup_server_add_websocket_handler (
      self->server, GST_DDNN_NET_PATH, NULL, NULL, on_websocket, self, NULL);
  where = g_inet_socket_address_new_from_string (address, port);
  if (!where) {
    g_set_error (&sd->error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
        "'%s' is not an IP address", address);
    goto done;
  }
  if (!soup_server_listen (self->server, where,
          certificate ? SOUP_SERVER_LISTEN_HTTPS : 0, &sd->error))
    goto done;
  uris = soup_server_get_uris (self->server);
  if (uris) {
    GUri *u = uris->data;

    GST_OBJECT_LOCK (self);
    self->bound_port = g_uri_get_port (u);
    GST_OBJECT_UNLOCK (self);
    uri = g_strdup_printf ("%s://%s:%d%s", certificate ? "wss" : "ws", address,
        g_uri_get_port (u), GST_DDNN_NET_PATH);
  }
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  GST_OBJECT_LOCK (self);
  clock_port = self->clock_port;
  GST_OBJECT_UNLOCK (self);
  if (clock_port >= 0) {
    /* the shared clock: this host's wall clock, served to the cameras'
     * hosts (GstNetClientClock), so that their capture times compare */
    self->shared_clock = g_object_new (GST_TYPE_SYSTEM_CLOCK, "clock-type",
        GST_CLOCK_TYPE_REALTIME, "name", "ddnn-shared-clock", NULL);
    gst_object_ref_sink (self->shared_clock);
    self->time_provider = gst_net_time_provider_new (
        self->shared_clock, address, clock_port);
    if (!self->time_provider) {
      g_set_error (&sd->error, G_IO_ERROR, G_IO_ERROR_FAILED,
          "cannot serve the clock on UDP %s:%d", address, clock_port);
      goto done;
    }
    g_object_get (self->time_provider, "port", &clock_port, NULL);
    GST_OBJECT_LOCK (self);
    self->bound_clock_port = clock_port;
    GST_OBJECT_UNLOCK (self);
  }

done:
  if (!sd->error) {
    GST_INFO_OBJECT (self, "listening on %s", uri);
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self),
            gst_structure_new ("ddnn-listening", "port", G_TYPE_INT,
                self->bound_port, "uri", G_TYPE_STRING, uri, "clock-port",
                G_TYPE_INT, self->bound_clock_port, NULL)));
  }
  g_free (uri);
  g_clear_object (&where);
  g_clear_object (&certificate);
  g_free (address);
  g_free (cert);
  g_free (key);
  g_mutex_lock (&sd->lock);
  sd->done = TRUE;
  g_cond_signal (&sd->cond);
  g_mutex_unlock (&sd->lock);
  return G_SOURCE_REMOVE;
}

static gboolean
gst_ddnn_src_start (GstDdnnSrc *self)
{
  StartData sd = { self, NULL, FALSE };
  g_autofree gchar *model = NULL, *token_file = NULL, *token = NULL;

  GST_OBJECT_LOCK (self);
  model = g_strdup (self->model_path);
  token_file = g_strdup (self->token_file);
  token = g_strdup (self->token);
  GST_OBJECT_UNLOCK (self);
  if (model &&
      !(self->model = gst_ddnn_element_load_model (GST_ELEMENT (self), model)))
    return FALSE;
  if (!gst_ddnn_token_resolve (
          GST_ELEMENT (self), token, token_file, &self->active_token))
    return FALSE;
  self->pinned_model[0] = '\0';
  memset (self->owners, 0, sizeof (self->owners));
  self->peers_by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  self->handshakes = g_hash_table_new_full (
      g_direct_hash, g_direct_equal, NULL, g_free);
  self->fused_senders = g_hash_table_new_full (
      g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) g_queue_free);
  g_queue_init (&self->fused_order);
  self->log_limits = g_hash_table_new_full (
      g_str_hash, g_str_equal, g_free, g_free);
  self->flushing = FALSE;
  self->eos = FALSE;
  self->last_sample = g_hash_table_new_full (
      g_str_hash, g_str_equal, g_free, g_free);
  self->requested = g_hash_table_new_full (
      g_str_hash, g_str_equal, g_free, NULL);
  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);
  self->thread = g_thread_new ("ddnnsrc", network_thread, self);
  g_mutex_init (&sd.lock);
  g_cond_init (&sd.cond);
  g_main_context_invoke (self->context, start_server, &sd);
  g_mutex_lock (&sd.lock);
  while (!sd.done)
    g_cond_wait (&sd.cond, &sd.lock);
  g_mutex_unlock (&sd.lock);
  g_mutex_clear (&sd.lock);
  g_cond_clear (&sd.cond);
  if (sd.error) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Cannot listen on %s port %d", self->address, self->port),
        ("%s", sd.error->message));
    g_error_free (sd.error);
    return FALSE;
  }
  return TRUE;
}

static gboolean
stop_server (gpointer data)
{
  GstDdnnSrc *self = data;
  GHashTableIter iter;
  gpointer msg;

  g_hash_table_iter_init (&iter, self->handshakes);
  while (g_hash_table_iter_next (&iter, &msg, NULL)) {
    g_object_weak_unref (msg, forget_handshake, self);
    g_hash_table_iter_remove (&iter);
  }
  while (self->peers)
    drop_peer (self, self->peers->data, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
        "the server stops");
  if (self->server) {
    soup_server_disconnect (self->server);
    g_clear_object (&self->server);
  }
  g_main_loop_quit (self->loop);
  return G_SOURCE_REMOVE;
}

static void
gst_ddnn_src_stop (GstDdnnSrc *self)
{
  if (self->thread) {
    g_main_context_invoke (self->context, stop_server, self);
    g_thread_join (self->thread);
    self->thread = NULL;
  }
  /* answers still on their way have nowhere to go */
  if (self->context)
    while (g_main_context_iteration (self->context, FALSE))
      ;
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->last_sample, g_hash_table_unref);
  g_clear_pointer (&self->requested, g_hash_table_unref);
  g_clear_pointer (&self->peers_by_id, g_hash_table_unref);
  g_clear_pointer (&self->handshakes, g_hash_table_unref);
  g_clear_pointer (&self->fused_senders, g_hash_table_unref);
  g_queue_clear_full (&self->fused_order, g_free);
  g_clear_pointer (&self->log_limits, g_hash_table_unref);
  g_clear_object (&self->time_provider);
  g_clear_object (&self->shared_clock);
  g_clear_pointer (&self->model, ddnn_model_unref);
  g_clear_pointer (&self->active_token, g_free);
  stop_out_pads (self);
  GST_OBJECT_LOCK (self);
  self->bound_port = 0;
  self->bound_clock_port = -1;
  GST_OBJECT_UNLOCK (self);
}

/* EOS sent to the element (gst-launch -e, an application ending the
 * stream) leaves on every pad once the frames queued there are out. */
static gboolean
gst_ddnn_src_send_event (GstElement *element, GstEvent *event)
{
  GstDdnnSrc *self = GST_DDNN_SRC (element);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    /* what the peers did, for scripts that read the bus */
    gst_ddnn_post_stats (element);
    g_mutex_lock (&self->lock);
    self->eos = TRUE;
    g_cond_broadcast (&self->cond);
    g_mutex_unlock (&self->lock);
    gst_event_unref (event);
    return TRUE;
  }
  return GST_ELEMENT_CLASS (gst_ddnn_src_parent_class)
      ->send_event (element, event);
}

static GstStateChangeReturn
gst_ddnn_src_change_state (GstElement *element, GstStateChange transition)
{
  GstDdnnSrc *self = GST_DDNN_SRC (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    GST_OBJECT_LOCK (self);
    self->received = self->duplicates = self->rejected = 0;
    self->overflows = self->answers = self->peers_seen = 0;
    self->feature_requests = self->feature_replies = 0;
    self->refused = self->conflicts = self->slow_peers = 0;
    self->timeouts = self->idle = 0;
    GST_OBJECT_UNLOCK (self);
    if (!gst_ddnn_src_start (self)) {
      gst_ddnn_src_stop (self);
      return GST_STATE_CHANGE_FAILURE;
    }
    /* pads asked for up front exist from the start, so that an end of
     * stream reaches every branch even if a camera never came */
    {
      guint v, views;
      gboolean fused;

      GST_OBJECT_LOCK (self);
      views = self->views;
      fused = self->fused_pad;
      GST_OBJECT_UNLOCK (self);
      for (v = 0; v < views; v++)
        get_out_pad (self, v);
      if (fused)
        get_out_pad (self, FUSED);
    }
  }
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    /* wake the pads' tasks, which wait for frames holding their stream
     * locks, before the pads are deactivated */
    g_mutex_lock (&self->lock);
    self->flushing = TRUE;
    g_cond_broadcast (&self->cond);
    g_mutex_unlock (&self->lock);
  }
  ret = GST_ELEMENT_CLASS (gst_ddnn_src_parent_class)
            ->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;
  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      /* live: nothing to preroll */
      ret = GST_STATE_CHANGE_NO_PREROLL;
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      gst_ddnn_src_stop (self);
      break;
    default:
      break;
  }
  return ret;
}

/* ------------------------------------------------------------------ */

static void
gst_ddnn_src_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstDdnnSrc *self = GST_DDNN_SRC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_PORT:
      self->port = g_value_get_int (value);
      break;
    case PROP_ADDRESS:
      g_free (self->address);
      self->address = g_value_dup_string (value);
      if (!self->address)
        self->address = g_strdup (DEFAULT_ADDRESS);
      break;
    case PROP_TOKEN:
      g_free (self->token);
      self->token = g_value_dup_string (value);
      break;
    case PROP_TLS_CERTIFICATE:
      g_free (self->cert_file);
      self->cert_file = g_value_dup_string (value);
      break;
    case PROP_TLS_KEY:
      g_free (self->key_file);
      self->key_file = g_value_dup_string (value);
      break;
    case PROP_MAX_QUEUE:
      self->max_queue = g_value_get_uint (value);
      break;
    case PROP_VIEWS:
      self->views = g_value_get_uint (value);
      break;
    case PROP_FUSED_PAD:
      self->fused_pad = g_value_get_boolean (value);
      break;
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_TOKEN_FILE:
      g_free (self->token_file);
      self->token_file = g_value_dup_string (value);
      break;
    case PROP_MAX_CONNECTIONS:
      self->max_connections = g_value_get_uint (value);
      break;
    case PROP_HANDSHAKE_TIMEOUT:
      self->handshake_timeout = g_value_get_uint64 (value);
      break;
    case PROP_IDLE_TIMEOUT:
      self->idle_timeout = g_value_get_uint64 (value);
      break;
    case PROP_MAX_PEER_QUEUE:
      self->max_peer_queue = g_value_get_uint64 (value);
      break;
    case PROP_CLOCK_PORT:
      self->clock_port = g_value_get_int (value);
      break;
    case PROP_THREADING:
      self->threading = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_src_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstDdnnSrc *self = GST_DDNN_SRC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_PORT:
      g_value_set_int (value, self->port);
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_TOKEN:
      g_value_set_string (value, self->token);
      break;
    case PROP_TLS_CERTIFICATE:
      g_value_set_string (value, self->cert_file);
      break;
    case PROP_TLS_KEY:
      g_value_set_string (value, self->key_file);
      break;
    case PROP_BOUND_PORT:
      g_value_set_int (value, self->bound_port);
      break;
    case PROP_MAX_QUEUE:
      g_value_set_uint (value, self->max_queue);
      break;
    case PROP_VIEWS:
      g_value_set_uint (value, self->views);
      break;
    case PROP_FUSED_PAD:
      g_value_set_boolean (value, self->fused_pad);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_TOKEN_FILE:
      g_value_set_string (value, self->token_file);
      break;
    case PROP_MAX_CONNECTIONS:
      g_value_set_uint (value, self->max_connections);
      break;
    case PROP_HANDSHAKE_TIMEOUT:
      g_value_set_uint64 (value, self->handshake_timeout);
      break;
    case PROP_IDLE_TIMEOUT:
      g_value_set_uint64 (value, self->idle_timeout);
      break;
    case PROP_MAX_PEER_QUEUE:
      g_value_set_uint64 (value, self->max_peer_queue);
      break;
    case PROP_CLOCK_PORT:
      g_value_set_int (value, self->clock_port);
      break;
    case PROP_BOUND_CLOCK_PORT:
      g_value_set_int (value, self->bound_clock_port);
      break;
    case PROP_THREADING:
      g_value_set_enum (value, self->threading);
      break;
    case PROP_STATS:
      g_value_take_boxed (value,
          gst_structure_new ("ddnn-src-stats", "received", G_TYPE_UINT64,
              self->received, "duplicates", G_TYPE_UINT64, self->duplicates,
              "rejected", G_TYPE_UINT64, self->rejected, "overflows",
              G_TYPE_UINT64, self->overflows, "answers", G_TYPE_UINT64,
              self->answers, "peers", G_TYPE_UINT64, self->peers_seen,
              "feature-requests", G_TYPE_UINT64, self->feature_requests,
              "feature-replies", G_TYPE_UINT64, self->feature_replies,
              "refused", G_TYPE_UINT64, self->refused, "conflicts",
              G_TYPE_UINT64, self->conflicts, "slow-peers", G_TYPE_UINT64,
              self->slow_peers, "handshake-timeouts", G_TYPE_UINT64,
              self->timeouts, "idle", G_TYPE_UINT64, self->idle, NULL));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_src_finalize (GObject *object)
{
  GstDdnnSrc *self = GST_DDNN_SRC (object);

  g_free (self->address);
  g_free (self->token);
  g_free (self->cert_file);
  g_free (self->key_file);
  g_free (self->model_path);
  g_free (self->token_file);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (gst_ddnn_src_parent_class)->finalize (object);
}

static void
gst_ddnn_src_class_init (GstDdnnSrcClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->set_property = gst_ddnn_src_set_property;
  gobject_class->get_property = gst_ddnn_src_get_property;
  gobject_class->finalize = gst_ddnn_src_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_ddnn_src_change_state);
  element_class->send_event = GST_DEBUG_FUNCPTR (gst_ddnn_src_send_event);

  /**
   * GstDdnnSrc:port:
   *
   * The TCP port to listen on.  0 takes any free one: read it from
   * #GstDdnnSrc:bound-port or the `ddnn-listening` element message.  Range
   * 0 to 65535.  Default: 0.
   */
  g_object_class_install_property (gobject_class, PROP_PORT,
      g_param_spec_int ("port", "Port",
          "TCP port to listen on (0 = any free one; see bound-port)", 0, 65535,
          DEFAULT_PORT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSrc:address:
   *
   * The IP address to listen on: `0.0.0.0` for every IPv4 interface,
   * `127.0.0.1` for this host only.  Default: 0.0.0.0.
   */
  g_object_class_install_property (gobject_class, PROP_ADDRESS,
      g_param_spec_string ("address", "Address",
          "IP address to listen on (0.0.0.0 = all IPv4, 127.0.0.1 = this "
          "host only)",
          DEFAULT_ADDRESS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSrc:token:
   *
   * The shared secret every peer must send as `Authorization: Bearer
   * TOKEN`; a peer without it gets 401 and nothing of it is read.  It shows
   * in a process list: prefer #GstDdnnSrc:token-file or the `DDNN_TOKEN`
   * environment variable (used when neither is set).  Default: none (any
   * peer may connect).
   */
  g_object_class_install_property (gobject_class, PROP_TOKEN,
      g_param_spec_string ("token", "Token",
          "Peers must send 'Authorization: Bearer TOKEN' (visible in a "
          "process list: prefer token-file, or the DDNN_TOKEN environment "
          "variable, used when neither is set; none of them = anyone)",
          NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSrc:tls-certificate:
   *
   * A PEM certificate file: with #GstDdnnSrc:tls-key, the server speaks
   * `wss://`.  Default: none (plain `ws://`).
   */
  g_object_class_install_property (gobject_class, PROP_TLS_CERTIFICATE,
      g_param_spec_string ("tls-certificate", "TLS certificate",
          "PEM certificate file: serve wss:// (needs tls-key)", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSrc:tls-key:
   *
   * The PEM private key of #GstDdnnSrc:tls-certificate.  Default: none.
   */
  g_object_class_install_property (gobject_class, PROP_TLS_KEY,
      g_param_spec_string ("tls-key", "TLS key",
          "PEM private key file of tls-certificate", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSrc:bound-port:
   *
   * The TCP port listened on, read-only: known from READY to PAUSED on
   * (useful with #GstDdnnSrc:port 0).  0 before.
   */
  g_object_class_install_property (gobject_class, PROP_BOUND_PORT,
      g_param_spec_int ("bound-port", "Bound port",
          "The port listened on (0 until READY to PAUSED)", 0, 65535, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * GstDdnnSrc:max-queue:
   *
   * With #GstDdnnSrc:threading `pads`: how many frames a pad holds while
   * its branch is busy; beyond, the oldest is dropped and counted
   * (#GstDdnnSrc:stats `overflows`).  Range 1 to 2^32 - 1 frames.  Default:
   * 1024.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_QUEUE,
      g_param_spec_uint ("max-queue", "Max queue",
          "Frames held a pad while downstream is busy; beyond, the oldest is "
          "dropped and counted",
          1, G_MAXUINT, DEFAULT_MAX_QUEUE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSrc:views:
   *
   * Make the pads `src_0` to `src_(N-1)` at the start, rather than each on
   * its camera's first frame, so that every branch sees the end of the
   * stream even if a camera never comes.  When set (or with
   * #GstDdnnSrc:fused-pad), a peer announcing a view outside them is
   * refused.  Range 0 to 64.  Default: 0 (pads come with their cameras).
   */
  g_object_class_install_property (gobject_class, PROP_VIEWS,
      g_param_spec_uint ("views", "Views",
          "Make the pads src_0 .. src_(N-1) at the start rather than on each "
          "camera's first frame, so that every branch sees the end of the "
          "stream even if a camera never comes",
          0, 64, 0,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSrc:fused-pad:
   *
   * Make the pad `src_fused` at the start, rather than on the first fused
   * frame (a cloud behind an edge).  Default: FALSE.
   */
  g_object_class_install_property (gobject_class, PROP_FUSED_PAD,
      g_param_spec_boolean ("fused-pad", "Fused pad",
          "Make the pad src_fused at the start rather than on the first fused "
          "frame",
          FALSE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSrc:stats:
   *
   * What the peers did since the element started, read-only: `received`,
   * `duplicates` (frames resent after a reconnect and dropped), `rejected`
   * (peers disconnected for a bad frame), `overflows`, `answers`, `peers`
   * (connections taken), `feature-requests`, `feature-replies`, `refused`
   * (connections refused: token, announcement, max-connections),
   * `conflicts` (a view held by another session), `slow-peers`,
   * `handshake-timeouts`, `idle` (links dropped for silence).  Also posted
   * as an element message at EOS.
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "received, duplicates (resent frames dropped), rejected (peers "
          "disconnected for a bad frame), overflows, answers, peers, "
          "feature-requests, feature-replies, refused (connections refused: "
          "token, announcement, max-connections), conflicts (a view held by "
          "another camera), slow-peers (disconnected for not reading), "
          "handshake-timeouts, idle (links dropped as silent)",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * GstDdnnSrc:model:
   *
   * The model served.  Each connection's announcement is checked against it
   * (model id, view, classes, score encoding, feature shape) before the
   * upgrade, so that no peer can send what the tier behind cannot take.
   * Unset: the first peer's model id is pinned, and all others must share
   * it.
   */
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "DDNN model file (.safetensors) the peers must run; unset = the "
          "first peer's model id, checked for the others",
          NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSrc:token-file:
   *
   * A file whose first line is the token (instead of #GstDdnnSrc:token, so
   * that it never shows in a process list).  Read at READY to PAUSED.
   */
  g_object_class_install_property (gobject_class, PROP_TOKEN_FILE,
      g_param_spec_string ("token-file", "Token file",
          "File whose first line is the token peers must send (overrides "
          "token)",
          NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSrc:max-connections:
   *
   * How many connections are held at once, handshakes included; beyond,
   * a new one is closed at once and counted (#GstDdnnSrc:stats `refused`).
   * Range 1 to 65535.  Default: 256.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_CONNECTIONS,
      g_param_spec_uint ("max-connections", "Max connections",
          "Connections held at once, handshakes included; beyond, a new one "
          "is closed at once and counted (stats: refused)",
          1, 65535, DEFAULT_MAX_CONNECTIONS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSrc:handshake-timeout:
   *
   * How long a new connection has to complete its WebSocket handshake, in
   * nanoseconds, before it is closed (and counted as
   * `handshake-timeouts`).  0: no limit.  Default: 5 s.
   */
  g_object_class_install_property (gobject_class, PROP_HANDSHAKE_TIMEOUT,
      g_param_spec_uint64 ("handshake-timeout", "Handshake timeout",
          "Nanoseconds a new connection has to become a WebSocket before it "
          "is closed (0 = no limit)",
          0, G_MAXUINT64, DEFAULT_HANDSHAKE_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSrc:idle-timeout:
   *
   * How long a peer that announced no heartbeat may stay silent, in
   * nanoseconds, before its link is dropped (and counted as `idle`).  A
   * peer that announced a heartbeat is dropped after three of its own beats
   * instead.  0: no limit.  Default: 60 s.
   */
  g_object_class_install_property (gobject_class, PROP_IDLE_TIMEOUT,
      g_param_spec_uint64 ("idle-timeout", "Idle timeout",
          "Nanoseconds a peer that announced no heartbeat may stay silent "
          "before its link is dropped (0 = no limit); a peer with a "
          "heartbeat is dropped after three of its beats",
          0, G_MAXUINT64, DEFAULT_IDLE_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSrc:max-peer-queue:
   *
   * How many bytes (acknowledgements, answers, requests) a peer may leave
   * unread, in the kernel's socket buffer and in libsoup's queue; beyond,
   * it is disconnected and counted (#GstDdnnSrc:stats `slow-peers`), so
   * that a peer that never reads cannot fill this host's memory.  Range
   * 1024 to 2^64 - 1 bytes.  Default: 1 MiB.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_PEER_QUEUE,
      g_param_spec_uint64 ("max-peer-queue", "Max peer queue",
          "Bytes (acks, answers) a peer may leave unread, in the kernel's "
          "socket buffer and in libsoup's queue; beyond, it is disconnected "
          "and counted (stats: slow-peers)",
          1024, G_MAXUINT64, DEFAULT_MAX_PEER_QUEUE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSrc:clock-port:
   *
   * Serves the shared clock (this host's wall clock, through a
   * GstNetTimeProvider) on this UDP port, so that cameras on other hosts
   * can stamp capture times that compare (ddnnsink clock=net).  -1: no
   * clock is served; 0: any free port (see #GstDdnnSrc:bound-clock-port and
   * the `ddnn-listening` message).
   */
  g_object_class_install_property (gobject_class, PROP_CLOCK_PORT,
      g_param_spec_int ("clock-port", "Clock port",
          "Serve the shared clock (this host's wall clock) on this UDP port "
          "for ddnnsink clock=net (-1 = none, 0 = any free port)",
          -1, 65535, DEFAULT_CLOCK_PORT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnSrc:bound-clock-port:
   *
   * The UDP port the shared clock is served on, read-only, from READY to
   * PAUSED on (useful with #GstDdnnSrc:clock-port 0).  -1 when no clock is
   * served.
   */
  g_object_class_install_property (gobject_class, PROP_BOUND_CLOCK_PORT,
      g_param_spec_int ("bound-clock-port", "Bound clock port",
          "The UDP port the clock is served on (-1 when none)", -1, 65535, -1,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * GstDdnnSrc:threading:
   *
   * Which thread pushes the frames.  `pads`: each source pad has its own
   * thread and a queue of up to #GstDdnnSrc:max-queue frames (the oldest
   * dropped and counted beyond); a slow branch does not hold up the
   * network.  `network`: the network thread pushes each frame itself, so
   * that an answer made downstream goes back on the same thread with no
   * hand-off (the lowest round trip); a busy downstream then holds up this
   * element's network, and TCP pushes back on the peers.  Only for
   * branches that never wait for another pad of this element (not one
   * `ddnnaggregate` over several of its pads, which would wait forever).
   * `auto` (the default): `network` where the element can have one pad
   * only (#GstDdnnSrc:views=1 and no fused pad, or only the fused pad),
   * `pads` otherwise.
   */
  g_object_class_install_property (gobject_class, PROP_THREADING,
      g_param_spec_enum ("threading", "Threading",
          "Which thread pushes the frames: the pads' own (pads), the network "
          "thread (network: the lowest round trip, for branches that never "
          "wait for another pad of this element), or network where only one "
          "pad can exist (auto)",
          GST_TYPE_DDNN_THREADING, DEFAULT_THREADING,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  gst_type_mark_as_plugin_api (GST_TYPE_DDNN_THREADING, 0);

  gst_element_class_add_static_pad_template (element_class, &view_template);
  gst_element_class_add_static_pad_template (element_class, &fused_template);
  gst_element_class_set_static_metadata (element_class, "DDNN network source",
      "Source/Network",
      "WebSocket server receiving DDNN wire frames from ddnnsinks, a pad per "
      "camera view (src_N) or for fused samples (src_fused); answers go back "
      "to the peers; example: ddnnsrc port=0 token=t name=in  in.src_fused "
      "! queue ! ddnncloud model=m.safetensors ! fakesink",
      "ddnn-gst developers");
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI,
      PACKAGE_ORIGIN "/blob/main/README.md#element-reference");

  GST_DEBUG_CATEGORY_INIT (
      gst_ddnn_src_debug, "ddnnsrc", 0, "DDNN network source");
}

static void
gst_ddnn_src_init (GstDdnnSrc *self)
{
  self->port = DEFAULT_PORT;
  self->address = g_strdup (DEFAULT_ADDRESS);
  self->max_queue = DEFAULT_MAX_QUEUE;
  self->max_connections = DEFAULT_MAX_CONNECTIONS;
  self->handshake_timeout = DEFAULT_HANDSHAKE_TIMEOUT;
  self->idle_timeout = DEFAULT_IDLE_TIMEOUT;
  self->max_peer_queue = DEFAULT_MAX_PEER_QUEUE;
  self->clock_port = DEFAULT_CLOCK_PORT;
  self->threading = DEFAULT_THREADING;
  self->bound_clock_port = -1;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SOURCE);
}
