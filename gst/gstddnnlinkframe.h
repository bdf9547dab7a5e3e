/* The link frame: a file frame's sample as a network link carries it.
 *
 * A connection's handshake (plugins/ddnnnet/gstddnnnet.h) fixes what every
 * frame would repeat: model, view, classes, score encoding, feature dtype
 * and shape.  A link frame then carries only what changes:
 *
 *   u8      flags: bits 0-1 exit, bits 2-3 tier, bit 4 features only (a
 *           reply to a request for features), bit 5 features present,
 *           bit 6 pts present, bit 7 capture time present; bit 4 without
 *           bit 5 marks a frame "in step" (below)
 *   varint  sample number, zigzag delta from the connection's previous
 *           sample (replies do not move it)
 *   varint  view mask (fused connections only)
 *   u8      features dtype (fused connections with features only: fused
 *           features are bits, or floats when cameras were missing)
 *   varint  pts, zigzag difference from the prediction previous + last step
 *   varint  capture time, the same
 *   ...     scores exactly as in a file frame (C int8 and a float16 scale,
 *           or 4 C bytes of float32), unless features only
 *   ...     features, their size fixed by the dtype and the shape
 *
 * A frame in step is a camera's regular case: the next sample (the
 * previous + 1), scores without features, and times (those present) that
 * are exactly the predicted ones.  Its flags are followed by the view mask
 * (fused connections) and the scores alone: no sample number, no times.
 *
 * The entropy is not sent: the receiver computes it from the scores.  TCP
 * (and TLS) protect the bytes, so there is no checksum.  A camera's
 * scores-only frame of 10 int8 classes in step is 13 bytes (19 with the
 * WebSocket's own header) where its file frame is 76.
 *
 * A WebSocket message carries one link frame or several one after
 * another: a sender sends the frames that are ready together in one
 * message.
 *
 * Each side keeps a GstDdnnLinkState per connection (reset when it opens);
 * gst_ddnn_link_frame_encode() and gst_ddnn_link_frame_decode() convert
 * between file frames and link frames, so the rest of ddnn-gst only ever
 * sees file frames.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "gstddnnframe.h"

G_BEGIN_DECLS

/* the largest link frame header: flags, four varints, the dtype byte */
#define GST_DDNN_LINK_MAX_HEADER (1 + 4 * 10 + 1)

typedef struct
{
  /* fixed by the handshake */
  gchar model_id[17];
  gint view; /* -1: fused samples */
  guint n_classes;
  gboolean int8_scores;
  gboolean has_features;
  DdnnDtype features_dtype;
  guint n_dims;
  gsize shape[3];

  /* the running state of one direction of one connection */
  guint64 sample;
  GstClockTime pts, pts_step, capture, capture_step;
  gboolean have_pts, have_capture;
} GstDdnnLinkState;

/* Sets what the handshake fixed and resets the running state. */
void gst_ddnn_link_state_init (GstDdnnLinkState *state, const gchar *model_id,
    gint view, guint n_classes, gboolean int8_scores, gboolean has_features,
    DdnnDtype features_dtype, guint n_dims, const gsize *shape);

/* The link frame of a parsed file frame; FALSE, with the reason, if the
 * frame is not what the handshake fixed. */
GBytes *gst_ddnn_link_frame_encode (
    GstDdnnLinkState *state, const GstDdnnFrame *frame, GError **error);

/* The file frame (with its checksum) of the link frame at @data; NULL,
 * with the reason, for anything that is not a whole, valid link frame of
 * this connection.  Every length is checked before anything is read.
 * With @consumed NULL the frame must fill @size exactly; otherwise it is
 * the first of frames one after another (a link frame's size follows from
 * its flags and the handshake), and @consumed is set to its size. */
GBytes *gst_ddnn_link_frame_decode (GstDdnnLinkState *state, const guint8 *data,
    gsize size, gsize *consumed, GError **error);

G_END_DECLS
