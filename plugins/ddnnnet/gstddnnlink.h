/* What a link's client announces when it connects, and what a server
 * holds it to; shared by ddnnsink and ddnnsrc.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gstddnnframe.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* The announcement: what every frame of the connection will be.  The
 * client sends it once, as headers of its upgrade request
 * (gstddnnnet.h); the server refuses the connection when it does not fit
 * (another model, a view held by another camera...) and then checks every
 * frame against it. */
typedef struct
{
  guint protocol;
  gchar *peer_id;
  /* one start of the sending element: frames resent after a reconnect of
   * the same session are recognised, a restarted camera is a new session */
  gchar *session;
  gchar model_id[17]; /* its first 16 hex digits, as frames carry it */
  gint view; /* -1: fused samples */
  guint n_classes;
  gboolean int8_scores;
  gboolean has_features;
  DdnnDtype features_dtype;
  guint n_dims;
  gsize shape[3];
  /* ms between the client's beats on an idle link; 0 = it sends none */
  guint heartbeat_ms;
} GstDdnnAnnounce;

/* What the client will send, from the first sample's meta. */
void gst_ddnn_announce_from_meta (
    GstDdnnAnnounce *announce, const GstDdnnMeta *meta, gboolean int8_scores);
/* The same from a camera's GST_DDNN_CAMERA_EVENT, before its first
 * sample; FALSE if the event is not a usable one. */
gboolean gst_ddnn_announce_from_camera (
    GstDdnnAnnounce *announce, const GstStructure *camera);
void gst_ddnn_announce_write (
    const GstDdnnAnnounce *announce, SoupMessageHeaders *headers);
/* Reads and checks the headers; FALSE, with the reason, when any is
 * missing or malformed. */
gboolean gst_ddnn_announce_read (
    GstDdnnAnnounce *announce, SoupMessageHeaders *headers, GError **error);
void gst_ddnn_announce_clear (GstDdnnAnnounce *announce);
/* "view 3" or "fused samples", for messages. */
gchar *gst_ddnn_announce_describe (const GstDdnnAnnounce *announce);

/* Whether the announcement fits @model: its id, a view it has, its number
 * of classes and score encoding, and the features its sections give (a
 * camera's) or take (fused samples).  FALSE names both values. */
gboolean gst_ddnn_announce_fits_model (
    const GstDdnnAnnounce *announce, DdnnModel *model, GError **error);
/* Whether a parsed frame is what the connection announced. */
gboolean gst_ddnn_announce_check_frame (
    const GstDdnnAnnounce *announce, const GstDdnnFrame *frame, GError **error);

/* Compares two tokens in a time that does not depend on where they first
 * differ. */
gboolean gst_ddnn_token_equal (const gchar *given, const gchar *expected);
/* The token in @path: its first line, without surrounding blanks.  An
 * unreadable or empty file is an error that names it. */
gchar *gst_ddnn_token_read_file (const gchar *path, GError **error);

/* The token an element uses: from @token_file if set (read now; a file
 * that cannot be read is a RESOURCE error posted from @element, and
 * FALSE), else @token, else the environment variable DDNN_TOKEN, else none
 * (@active set to NULL). */
gboolean gst_ddnn_token_resolve (GstElement *element, const gchar *token,
    const gchar *token_file, gchar **active);

/* Posts @element's "stats" property as an element message, for scripts
 * that read the bus (gst-launch-1.0 -m). */
void gst_ddnn_post_stats (GstElement *element);

/* At most GST_DDNN_NET_LOG_BURST lines per GST_DDNN_NET_LOG_PERIOD about
 * one peer or address; the rest are counted and reported with the next
 * line that goes out. */
typedef struct
{
  gint64 window_start;
  guint lines;
  guint64 suppressed;
} GstDdnnRateLimit;

/* Whether a line may go out now; if so, @suppressed is set to the number
 * held back since the last one (and reset). */
gboolean gst_ddnn_rate_limit_allow (
    GstDdnnRateLimit *limit, gint64 now_us, guint64 *suppressed);

/* The network thread the ddnnsinks of a process share: one thread and
 * main context for all their connections, so that frames for several
 * links are sent in one wake-up and the senders do not each need a thread
 * of their own.  Started by the first gst_ddnn_net_thread_ref () and
 * stopped by the last unref (which must not run on the thread itself). */
GMainContext *gst_ddnn_net_thread_ref (void);
void gst_ddnn_net_thread_unref (void);

/* Runs @func (@data) on the shared thread and waits for it: what it makes
 * (sessions, sources, connections) belongs to the thread's context. */
void gst_ddnn_net_thread_call (GSourceFunc func, gpointer data);

G_END_DECLS
