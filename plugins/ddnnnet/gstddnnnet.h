/* ddnnnet: what ddnnsink and ddnnsrc agree on.
 *
 * The link is one WebSocket (libsoup-3.0) from a ddnnsink (client) to a
 * ddnnsrc (server) at path /ddnn.
 *
 * The handshake is the upgrade request.  Its headers announce, once, what
 * every frame of the connection will be (gstddnnlink.h):
 *   Authorization: Bearer TOKEN   (a server with a token answers 401 to any
 *                                  other, and closes the connection)
 *   X-Ddnn-Protocol: 2            the version of this link protocol
 *   X-Ddnn-Peer: ID               a stable id of the sending element
 *   X-Ddnn-Session: ID            one start of it: frames resent after a
 *                                 reconnect of one session are recognised
 *   X-Ddnn-Model: 16 hex digits   the model's id, as frames carry it
 *   X-Ddnn-View: N | fused        the camera it is, or fused samples
 *   X-Ddnn-Classes: C
 *   X-Ddnn-Scores: f32 | int8
 *   X-Ddnn-Features: none | f32:AxBxC | i8:... | bits:...
 *   X-Ddnn-Heartbeat: MS          its beat on an idle link; 0 = none
 * A server refuses an announcement that does not fit it before the upgrade,
 * with a status and a reason phrase that names both values, and closes the
 * connection: 400 (malformed), 409 (another model, protocol, view, classes
 * or features; a view that another camera holds), 503 (too many
 * connections).  A view belongs to one connection at a time; the same
 * session reconnecting takes it over.
 *
 * Up (client to server): binary messages, each exactly one link frame
 * (gstddnnlinkframe.h: what changes from frame to frame; what the
 * handshake fixed stays out), turned back into a file frame and checked
 * (gst_ddnn_frame_parse) and then against the announcement; a frame that
 * breaks either gets the peer disconnected.  A sender's frames have rising
 * sample numbers.  Text "beat" on an idle link.
 *
 * Down (server to client): text messages,
 *   "ack N"        every frame with sample number <= N has arrived
 *                  (cumulative: one for all the frames that came together);
 *   "answer JSON"  an answer for one of the client's samples, a ddnn-result
 *                  JSON line (gstddnnresult.h);
 *   "features N"   the client is asked for the features of sample N;
 *   "beat"         on an idle link.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#define GST_DDNN_NET_PATH "/ddnn"
#define GST_DDNN_NET_PROTOCOL 2
#define GST_DDNN_NET_PEER_HEADER "X-Ddnn-Peer"
#define GST_DDNN_NET_SESSION_HEADER "X-Ddnn-Session"
#define GST_DDNN_NET_PROTOCOL_HEADER "X-Ddnn-Protocol"
#define GST_DDNN_NET_MODEL_HEADER "X-Ddnn-Model"
#define GST_DDNN_NET_VIEW_HEADER "X-Ddnn-View"
#define GST_DDNN_NET_CLASSES_HEADER "X-Ddnn-Classes"
#define GST_DDNN_NET_SCORES_HEADER "X-Ddnn-Scores"
#define GST_DDNN_NET_FEATURES_HEADER "X-Ddnn-Features"
#define GST_DDNN_NET_HEARTBEAT_HEADER "X-Ddnn-Heartbeat"

/* the largest message either side accepts */
#define GST_DDNN_NET_MAX_MESSAGE                                               \
  (GST_DDNN_FRAME_HEADER_SIZE + 4 * 1024 + 4 * GST_DDNN_FRAME_MAX_FEATURES)
/* What the WebSocket's own framing adds to a message of @n bytes: a
 * client's messages are masked (4 bytes), a server's are not. */
#define GST_DDNN_NET_SERVER_FRAMING(n) ((n) < 126 ? 2 : (n) < 65536 ? 4 : 10)
#define GST_DDNN_NET_CLIENT_FRAMING(n) (GST_DDNN_NET_SERVER_FRAMING (n) + 4)

/* the largest text message a client accepts (an answer's JSON line) */
#define GST_DDNN_NET_MAX_TEXT (64 * 1024)

/* A link silent for this many of the peer's beats is taken for dead (a
 * partition does not close TCP for minutes). */
#define GST_DDNN_NET_DEAD_BEATS 3
/* The server beats every this many ms on a link idle that long. */
#define GST_DDNN_NET_SERVER_BEAT_MS 500

/* Log lines about one peer or address: at most this many per period. */
#define GST_DDNN_NET_LOG_BURST 3
#define GST_DDNN_NET_LOG_PERIOD (10 * G_USEC_PER_SEC)
