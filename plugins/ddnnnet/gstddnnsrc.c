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

#include "gstddnnnet.h"
#include <gstddnnframe.h>
#include <gstddnnresult.h>
#include <libsoup/soup.h>
#include <string.h>

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
};

#define DEFAULT_PORT 0
#define DEFAULT_ADDRESS "0.0.0.0"
#define DEFAULT_MAX_QUEUE 1024
#define FUSED 64

typedef struct
{
  GstDdnnSrc *src;
  SoupWebsocketConnection *conn;
  gchar *peer_id;
  gchar *name;
  /* the views of the samples it sent (for fused frames, their masks) */
  guint64 views;
  /* heartbeats: monotonic µs of the last message each way */
  gint64 last_in, last_out;
} Peer;

typedef struct
{
  GstPad *pad;
  GQueue queue;
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
  guint64 received, duplicates, rejected, overflows, answers, peers_seen;
  guint64 feature_requests, feature_replies;

  /* the network thread and what only it touches */
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
  SoupServer *server;
  GList *peers;
  GHashTable *last_sample; /* "peer-id/view" -> guint64 * */
  GHashTable *requested; /* "peer-id/view/sample": features asked for */

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

static void
out_pad_loop (gpointer data)
{
  GstPad *pad = data;
  GstDdnnSrc *self = GST_DDNN_SRC (GST_PAD_PARENT (pad));
  OutPad *out = gst_pad_get_element_private (pad);
  GstBuffer *buffer;
  GstFlowReturn ret;

  g_mutex_lock (&self->lock);
  while (!self->flushing && !self->eos && g_queue_is_empty (&out->queue))
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
  buffer = g_queue_pop_head (&out->queue);
  g_mutex_unlock (&self->lock);

  ret = gst_pad_push (pad, buffer);
  if (ret == GST_FLOW_NOT_LINKED) {
    GST_LOG_OBJECT (pad, "not linked: the frame is dropped");
  } else if (ret != GST_FLOW_OK) {
    GST_DEBUG_OBJECT (pad, "pausing: %s", gst_flow_get_name (ret));
    gst_pad_pause_task (pad);
    if (ret == GST_FLOW_ERROR || ret == GST_FLOW_NOT_NEGOTIATED)
      GST_ELEMENT_FLOW_ERROR (self, ret);
  }
}

static gboolean gst_ddnn_src_src_event (
    GstPad *pad, GstObject *parent, GstEvent *event);
static gboolean gst_ddnn_src_src_query (
    GstPad *pad, GstObject *parent, GstQuery *query);

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
    g_queue_clear_full (&out->queue, (GDestroyNotify) gst_buffer_unref);
    gst_element_remove_pad (GST_ELEMENT (self), out->pad);
    g_free (out);
    self->pads[i] = NULL;
  }
}

/* ------------------------------------------------------------------ */
/* the network thread                                                  */

static void
peer_free (Peer *peer)
{
  if (peer->conn) {
    g_signal_handlers_disconnect_by_data (peer->conn, peer);
    if (soup_websocket_connection_get_state (peer->conn) ==
        SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (
          peer->conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
    g_object_unref (peer->conn);
  }
  g_free (peer->peer_id);
  g_free (peer->name);
  g_free (peer);
}

static void
drop_peer (GstDdnnSrc *self, Peer *peer, gushort code, const gchar *reason)
{
  GST_INFO_OBJECT (self, "peer %s gone: %s", peer->name, reason);
  self->peers = g_list_remove (self->peers, peer);
  if (code && peer->conn &&
      soup_websocket_connection_get_state (peer->conn) ==
          SOUP_WEBSOCKET_STATE_OPEN) {
    g_signal_handlers_disconnect_by_data (peer->conn, peer);
    soup_websocket_connection_close (peer->conn, code, reason);
  }
  peer_free (peer);
}

/* Every frame that arrives whole is acknowledged, kept or not. */
static void
send_ack (Peer *peer, guint64 sample)
{
  gchar ack[32];

  g_snprintf (ack, sizeof (ack), "ack %" G_GUINT64_FORMAT, sample);
  soup_websocket_connection_send_text (peer->conn, ack);
}

/* Checks and queues one frame; FALSE (with the reason) if the peer is to be
 * disconnected. */
static gboolean
handle_frame (GstDdnnSrc *self, Peer *peer, GBytes *bytes, GError **error)
{
  GstDdnnFrame frame;
  GstBuffer *buffer;
  OutPad *out;
  guint index;
  gchar *key;
  guint64 *last;
  GstClockTime now;

  /* every byte is checked before anything is read */
  if (!(buffer = gst_ddnn_buffer_new_from_frame (bytes, &frame, error)))
    return FALSE;
  index = frame.view < 0 ? FUSED : (guint) frame.view;

  if (frame.features_only) {
    /* a reply to a request for features: it goes, out of band, to the
     * element that holds the sample (ddnnexit) */
    key = g_strdup_printf (
        "%s/%u/%" G_GUINT64_FORMAT, peer->peer_id, index, frame.sample);
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
          "features %s were not asked for (or came "
          "before): dropped",
          key);
      GST_OBJECT_LOCK (self);
      self->duplicates++;
      GST_OBJECT_UNLOCK (self);
    }
    g_free (key);
    gst_buffer_unref (buffer);
    send_ack (peer, frame.sample);
    return TRUE;
  }

  /* a frame resent after a reconnect is acknowledged and dropped */
  key = g_strdup_printf ("%s/%u", peer->peer_id, index);
  last = g_hash_table_lookup (self->last_sample, key);
  if (last && frame.sample <= *last) {
    g_free (key);
    gst_buffer_unref (buffer);
    GST_OBJECT_LOCK (self);
    self->duplicates++;
    GST_OBJECT_UNLOCK (self);
    send_ack (peer, frame.sample);
    return TRUE;
  }
  if (!last) {
    last = g_new (guint64, 1);
    g_hash_table_insert (self->last_sample, key, last);
  } else {
    g_free (key);
  }
  *last = frame.sample;

  now = gst_element_get_current_running_time (GST_ELEMENT (self));
  GST_BUFFER_PTS (buffer) = now;
  peer->views |= frame.view < 0 ? frame.view_mask
                                : G_GUINT64_CONSTANT (1) << frame.view;

  out = get_out_pad (self, index);
  g_mutex_lock (&self->lock);
  if (g_queue_get_length (&out->queue) >= self->max_queue) {
    /* downstream is not keeping up: the oldest goes */
    gst_buffer_unref (g_queue_pop_head (&out->queue));
    GST_OBJECT_LOCK (self);
    self->overflows++;
    GST_OBJECT_UNLOCK (self);
    GST_WARNING_OBJECT (self, "queue of %s full: dropped its oldest frame",
        GST_PAD_NAME (out->pad));
  }
  g_queue_push_tail (&out->queue, buffer);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  GST_OBJECT_LOCK (self);
  self->received++;
  GST_OBJECT_UNLOCK (self);
  send_ack (peer, frame.sample);
  return TRUE;
}

static void
on_peer_message (
    SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer data)
{
  Peer *peer = data;
  GstDdnnSrc *self = peer->src;
  GError *error = NULL;

  peer->last_in = g_get_monotonic_time ();
  if (type == SOUP_WEBSOCKET_DATA_TEXT && g_bytes_get_size (message) == 4 &&
      memcmp (g_bytes_get_data (message, NULL), "beat", 4) == 0)
    return;
  if (type != SOUP_WEBSOCKET_DATA_BINARY) {
    g_set_error (&error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
        "a text message where frames are expected");
  } else if (handle_frame (self, peer, g_bytes_ref (message), &error)) {
    return;
  }
  GST_OBJECT_LOCK (self);
  self->rejected++;
  GST_OBJECT_UNLOCK (self);
  GST_ELEMENT_WARNING (self, STREAM, DECODE,
      ("Disconnected peer %s: it sent a malformed frame", peer->name),
      ("%s", error->message));
  drop_peer (self, peer, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, error->message);
  g_error_free (error);
}

static void
on_peer_closed (SoupWebsocketConnection *conn, gpointer data)
{
  Peer *peer = data;
  gushort code = soup_websocket_connection_get_close_code (conn);
  gchar *reason = g_strdup_printf ("closed (code %u%s%s)", code,
      soup_websocket_connection_get_close_data (conn) ? ": " : "",
      soup_websocket_connection_get_close_data (conn)
          ? soup_websocket_connection_get_close_data (conn)
          : "");

  if (code == SOUP_WEBSOCKET_CLOSE_TOO_BIG) {
    GstDdnnSrc *self = peer->src;

    GST_OBJECT_LOCK (self);
    self->rejected++;
    GST_OBJECT_UNLOCK (self);
    GST_ELEMENT_WARNING (self, STREAM, DECODE,
        ("Disconnected peer %s: it sent an oversized message", peer->name),
        ("more than %d bytes", GST_DDNN_NET_MAX_MESSAGE));
  }
  drop_peer (peer->src, peer, 0, reason);
  g_free (reason);
}

static void
on_peer_error (SoupWebsocketConnection *conn, GError *error, gpointer data)
{
  Peer *peer = data;

  GST_INFO_OBJECT (peer->src, "peer %s: %s", peer->name, error->message);
}

static gboolean
token_ok (GstDdnnSrc *self, SoupServerMessage *msg)
{
  const gchar *auth = soup_message_headers_get_one (
      soup_server_message_get_request_headers (msg), "Authorization");
  gchar *token;
  gboolean ok;

  GST_OBJECT_LOCK (self);
  token = g_strdup (self->token);
  GST_OBJECT_UNLOCK (self);
  ok = !token || !*token ||
      (auth && g_str_has_prefix (auth, "Bearer ") &&
          strcmp (auth + 7, token) == 0);
  g_free (token);
  return ok;
}

/* Before the upgrade: a peer without the token gets 401. */
static void
on_early (SoupServer *server, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer data)
{
  GstDdnnSrc *self = data;

  if (!token_ok (self, msg)) {
    GInetSocketAddress *remote = G_INET_SOCKET_ADDRESS (
        soup_server_message_get_remote_address (msg));
    gchar *host = remote
        ? g_inet_address_to_string (g_inet_socket_address_get_address (remote))
        : g_strdup ("?");

    GST_WARNING_OBJECT (self, "refused %s: wrong or missing token", host);
    GST_OBJECT_LOCK (self);
    self->rejected++;
    GST_OBJECT_UNLOCK (self);
    g_free (host);
    soup_server_message_set_status (msg, SOUP_STATUS_UNAUTHORIZED, NULL);
    soup_message_headers_replace (
        soup_server_message_get_response_headers (msg), "WWW-Authenticate",
        "Bearer");
  }
}

static void
on_websocket (SoupServer *server, SoupServerMessage *msg, const char *path,
    SoupWebsocketConnection *conn, gpointer data)
{
  GstDdnnSrc *self = data;
  Peer *peer;
  const gchar *id;
  GInetSocketAddress *remote;

  /* the early handler has refused it already; this is a second guard */
  if (!token_ok (self, msg)) {
    soup_websocket_connection_close (
        conn, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION, "unauthorized");
    return;
  }
  peer = g_new0 (Peer, 1);
  peer->src = self;
  peer->conn = g_object_ref (conn);
  id = soup_message_headers_get_one (
      soup_server_message_get_request_headers (msg), GST_DDNN_NET_PEER_HEADER);
  remote = G_INET_SOCKET_ADDRESS (soup_server_message_get_remote_address (msg));
  {
    gchar *host = remote
        ? g_inet_address_to_string (g_inet_socket_address_get_address (remote))
        : g_strdup ("?");

    peer->name = g_strdup_printf ("%s:%u (%s)", host,
        remote ? g_inet_socket_address_get_port (remote) : 0,
        id ? id : "no id");
    g_free (host);
  }
  peer->peer_id = g_strdup (id ? id : peer->name);
  soup_websocket_connection_set_max_incoming_payload_size (
      conn, GST_DDNN_NET_MAX_MESSAGE);
  soup_websocket_connection_set_keepalive_interval (conn, 1);
  g_signal_connect (conn, "message", G_CALLBACK (on_peer_message), peer);
  g_signal_connect (conn, "closed", G_CALLBACK (on_peer_closed), peer);
  g_signal_connect (conn, "error", G_CALLBACK (on_peer_error), peer);
  peer->last_in = peer->last_out = g_get_monotonic_time ();
  self->peers = g_list_prepend (self->peers, peer);
  GST_OBJECT_LOCK (self);
  self->peers_seen++;
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "peer %s connected", peer->name);
}

typedef struct
{
  GstDdnnSrc *self;
  GstStructure *result;
} Answer;

/* Network thread: asks the peers that sent a sample for its features. */
static gboolean
send_request (gpointer data)
{
  Answer *a = data;
  GstDdnnSrc *self = a->self;
  guint64 sample = 0, views = 0;
  gchar text[48];
  GList *l;

  gst_structure_get_uint64 (a->result, "sample", &sample);
  gst_structure_get_uint64 (a->result, "views", &views);
  g_snprintf (text, sizeof (text), "features %" G_GUINT64_FORMAT, sample);
  for (l = self->peers; l; l = l->next) {
    Peer *peer = l->data;
    guint64 asked = peer->views & views;
    guint v;

    if (!asked ||
        soup_websocket_connection_get_state (peer->conn) !=
            SOUP_WEBSOCKET_STATE_OPEN)
      continue;
    GST_LOG_OBJECT (self,
        "asking %s for the features of sample %" G_GUINT64_FORMAT, peer->name,
        sample);
    for (v = 0; v < 64; v++)
      if (asked & (G_GUINT64_CONSTANT (1) << v))
        g_hash_table_add (self->requested,
            g_strdup_printf (
                "%s/%u/%" G_GUINT64_FORMAT, peer->peer_id, v, sample));
    soup_websocket_connection_send_text (peer->conn, text);
  }
  return G_SOURCE_REMOVE;
}

/* Network thread: sends an answer to the peers whose sample it was. */
static gboolean
send_answer (gpointer data)
{
  Answer *a = data;
  GstDdnnSrc *self = a->self;
  guint64 views = 0;
  gchar *json, *text;
  GList *l;

  gst_structure_set_name (a->result, GST_DDNN_RESULT_NAME);
  gst_structure_get_uint64 (a->result, "views", &views);
  json = gst_ddnn_result_to_json (a->result);
  g_strchomp (json);
  text = g_strconcat ("answer ", json, NULL);
  for (l = self->peers; l; l = l->next) {
    Peer *peer = l->data;

    if ((peer->views & views) &&
        soup_websocket_connection_get_state (peer->conn) ==
            SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_send_text (peer->conn, text);
  }
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
    guint64 views = 0;
    Answer *a;

    /* an aggregator hands the answer to every camera's pad: the pad of
     * the first view that took part sends it, once */
    gst_structure_get_uint64 (result, "views", &views);
    if (out != self->pads[FUSED] && views &&
        out != self->pads[g_bit_nth_lsf (views, -1)]) {
      gst_event_unref (event);
      return TRUE;
    }
    a = g_new0 (Answer, 1);
    a->self = gst_object_ref (self);
    a->result = gst_structure_copy (result);
    GST_OBJECT_LOCK (self);
    if (request)
      self->feature_requests++;
    else
      self->answers++;
    GST_OBJECT_UNLOCK (self);
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

/* Network thread, each second: a beat to idle peers; a peer silent for
 * three seconds is taken for gone (a partition does not close TCP for
 * minutes), which a live aggregator then goes on without. */
static gboolean
on_heartbeat (gpointer data)
{
  GstDdnnSrc *self = data;
  gint64 now = g_get_monotonic_time ();
  GList *l, *next;

  for (l = self->peers; l; l = next) {
    Peer *peer = l->data;

    next = l->next;
    if (now - peer->last_in > 3 * G_USEC_PER_SEC) {
      drop_peer (self, peer, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "no heartbeat");
    } else if (now - peer->last_out > G_USEC_PER_SEC / 2 &&
        soup_websocket_connection_get_state (peer->conn) ==
            SOUP_WEBSOCKET_STATE_OPEN) {
      soup_websocket_connection_send_text (peer->conn, "beat");
      peer->last_out = now;
    }
  }
  return G_SOURCE_CONTINUE;
}

static gpointer
network_thread (gpointer data)
{
  GstDdnnSrc *self = data;
  GSource *beat = g_timeout_source_new (500);

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
  gint port;
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

done:
  if (!sd->error) {
    GST_INFO_OBJECT (self, "listening on %s", uri);
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self),
            gst_structure_new ("ddnn-listening", "port", G_TYPE_INT,
                self->bound_port, "uri", G_TYPE_STRING, uri, NULL)));
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
  stop_out_pads (self);
  GST_OBJECT_LOCK (self);
  self->bound_port = 0;
  GST_OBJECT_UNLOCK (self);
}

/* EOS sent to the element (gst-launch -e, an application ending the
 * stream) leaves on every pad once the frames queued there are out. */
static gboolean
gst_ddnn_src_send_event (GstElement *element, GstEvent *event)
{
  GstDdnnSrc *self = GST_DDNN_SRC (element);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
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
    case PROP_STATS:
      g_value_take_boxed (value,
          gst_structure_new ("ddnn-src-stats", "received", G_TYPE_UINT64,
              self->received, "duplicates", G_TYPE_UINT64, self->duplicates,
              "rejected", G_TYPE_UINT64, self->rejected, "overflows",
              G_TYPE_UINT64, self->overflows, "answers", G_TYPE_UINT64,
              self->answers, "peers", G_TYPE_UINT64, self->peers_seen,
              "feature-requests", G_TYPE_UINT64, self->feature_requests,
              "feature-replies", G_TYPE_UINT64, self->feature_replies, NULL));
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

  g_object_class_install_property (gobject_class, PROP_PORT,
      g_param_spec_int ("port", "Port",
          "TCP port to listen on (0 = any free one; see bound-port)", 0, 65535,
          DEFAULT_PORT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_ADDRESS,
      g_param_spec_string ("address", "Address",
          "IP address to listen on (0.0.0.0 = all IPv4, 127.0.0.1 = this "
          "host only)",
          DEFAULT_ADDRESS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_TOKEN,
      g_param_spec_string ("token", "Token",
          "Peers must send 'Authorization: Bearer TOKEN' (unset = anyone)",
          NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_TLS_CERTIFICATE,
      g_param_spec_string ("tls-certificate", "TLS certificate",
          "PEM certificate file: serve wss:// (needs tls-key)", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_TLS_KEY,
      g_param_spec_string ("tls-key", "TLS key",
          "PEM private key file of tls-certificate", NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_BOUND_PORT,
      g_param_spec_int ("bound-port", "Bound port",
          "The port listened on (0 until READY to PAUSED)", 0, 65535, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_MAX_QUEUE,
      g_param_spec_uint ("max-queue", "Max queue",
          "Frames held a pad while downstream is busy; beyond, the oldest is "
          "dropped and counted",
          1, G_MAXUINT, DEFAULT_MAX_QUEUE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_VIEWS,
      g_param_spec_uint ("views", "Views",
          "Make the pads src_0 .. src_(N-1) at the start rather than on each "
          "camera's first frame, so that every branch sees the end of the "
          "stream even if a camera never comes",
          0, 64, 0,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_FUSED_PAD,
      g_param_spec_boolean ("fused-pad", "Fused pad",
          "Make the pad src_fused at the start rather than on the first fused "
          "frame",
          FALSE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "received, duplicates (resent frames dropped), rejected (peers "
          "refused or disconnected), overflows, answers, peers",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &view_template);
  gst_element_class_add_static_pad_template (element_class, &fused_template);
  gst_element_class_set_static_metadata (element_class, "DDNN network source",
      "Source/Network",
      "WebSocket server receiving DDNN wire frames from ddnnsinks, a pad per "
      "camera view (src_N) or for fused samples (src_fused); answers go back "
      "to the peers; example: ddnnsrc port=0 token=t name=in  in.src_fused "
      "! queue ! ddnncloud model=m.safetensors ! fakesink",
      "ddnn-gst developers");

  GST_DEBUG_CATEGORY_INIT (
      gst_ddnn_src_debug, "ddnnsrc", 0, "DDNN network source");
}

static void
gst_ddnn_src_init (GstDdnnSrc *self)
{
  self->port = DEFAULT_PORT;
  self->address = g_strdup (DEFAULT_ADDRESS);
  self->max_queue = DEFAULT_MAX_QUEUE;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SOURCE);
}
