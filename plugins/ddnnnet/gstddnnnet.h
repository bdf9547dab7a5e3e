/* ddnnnet: what ddnnsink and ddnnsrc agree on.
 *
 * The link is one WebSocket (libsoup-3.0) from a ddnnsink (client) to a
 * ddnnsrc (server) at path /ddnn.  The client's upgrade request carries
 * "Authorization: Bearer TOKEN" (a server with a token answers 401 to any
 * other) and "X-Ddnn-Peer: ID", a stable id of the sending element, so that
 * frames resent after a reconnect are recognised.
 *
 * Up (client to server): binary messages, each exactly one wire frame
 * (gstddnnframe.h), checked by gst_ddnn_frame_parse() before anything else.
 * A sender's frames have rising sample numbers.
 *
 * Down (server to client): text messages,
 *   "ack N"        every frame with sample number <= N has arrived;
 *   "answer JSON"  an answer for one of the client's samples, a ddnn-result
 *                  JSON line (gstddnnresult.h);
 *   "features N"   the client is asked for the features of sample N.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#define GST_DDNN_NET_PATH "/ddnn"
#define GST_DDNN_NET_PEER_HEADER "X-Ddnn-Peer"
/* the largest message either side accepts */
#define GST_DDNN_NET_MAX_MESSAGE                                               \
  (GST_DDNN_FRAME_HEADER_SIZE + 4 * 1024 + 4 * GST_DDNN_FRAME_MAX_FEATURES)
