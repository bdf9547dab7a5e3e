/* The ddnn wire frame: one sample's meta, serialized.
 *
 * Version 1, little-endian, 64 bytes of framing:
 *
 *   off size field
 *     0  2   magic "DN"
 *     2  1   version (1)
 *     3  1   flags: bits 0-1 exit (GstDdnnExitDecision), bit 2 int8 scores,
 *            bit 3 pts valid, bit 4 capture time valid, bit 5 features
 *            only (a reply to a request for features: no scores in the
 *            payload, features required); others 0
 *     4  1   tier (0 device, 1 edge, 2 cloud)
 *     5  1   view (0-63, or 255 once fused)
 *     6  1   features dtype (0 none, 1 f32, 2 i8, 3 1-bit packed)
 *     7  1   features dimensions (0-3)
 *     8  8   sample number
 *    16  8   pts, ns
 *    24  8   capture time, ns
 *    32  8   view mask
 *    40  8   model id: its first 8 bytes (16 hex digits)
 *    48  4   entropy, float32
 *    52  2   classes C (1-1024)
 *    54  6   features shape, 3 x uint16 (unused dimensions 0)
 *    60  4   CRC-32 (IEEE) of bytes 0-59 and of the payload
 *    64      payload: scores (4 C bytes as float32, or C int8 and a
 *            float16 scale), then the features' bytes
 *
 * Every length follows from the header, so a frame is exactly as long as
 * its header says; gst_ddnn_frame_parse() checks that, every field and the
 * checksum before anything is read.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include "gstddnnmeta.h"

G_BEGIN_DECLS

#define GST_DDNN_FRAME_VERSION 1
#define GST_DDNN_FRAME_HEADER_SIZE 64
#define GST_DDNN_FRAME_MAX_FEATURES (1 << 20)
#define GST_DDNN_CAPS "application/x-ddnn"

typedef struct
{
  guint8 exit;
  gboolean int8_scores;
  gboolean features_only;
  DdnnTier tier;
  gint view; /* -1 once fused */
  DdnnDtype features_dtype;
  gboolean has_features;
  guint n_dims;
  gsize shape[3];
  guint64 sample;
  GstClockTime pts, capture_time;
  guint64 view_mask;
  gchar model_id[17]; /* 16 hex digits */
  float entropy;
  guint n_classes;
  /* the payload, pointing into the parsed bytes */
  const guint8 *scores;
  gsize scores_size;
  const guint8 *features;
  gsize features_size;
} GstDdnnFrame;

/* Validates @data completely, then fills @frame, whose pointers borrow
 * from @data. */
gboolean gst_ddnn_frame_parse (
    const guint8 *data, gsize size, GstDdnnFrame *frame, GError **error);

/* Validates the header at @header (at least its 64 bytes are needed) and
 * gives the size of the whole frame it announces, so that a stream of
 * frames (a file, a socket) can be cut into frames before each is parsed. */
gboolean gst_ddnn_frame_size (
    const guint8 *header, gsize size, gsize *frame_size, GError **error);

/* Decodes the scores of a parsed frame into @scores (n_classes floats). */
void gst_ddnn_frame_get_scores (const GstDdnnFrame *frame, float *scores);

/* Serializes a meta: its scores as float32, or as int8 with @int8_scores,
 * and its features unless @with_features is FALSE. */
GBytes *gst_ddnn_frame_from_meta (const GstDdnnMeta *meta, gboolean int8_scores,
    gboolean with_features, GError **error);

/* The features of @meta alone (flag "features only"): what a device sends
 * when the next tier asks for the features of a sample whose scores it had
 * before. */
GBytes *gst_ddnn_frame_features_only (const GstDdnnMeta *meta, GError **error);

/* Makes @buffer's payload the frame of @meta (replacing what it held), so
 * that stock elements can record or carry the sample; an answer's frame
 * can leave the features out (@with_features FALSE: the meta keeps them). */
gboolean gst_ddnn_buffer_set_frame (GstBuffer *buffer, const GstDdnnMeta *meta,
    gboolean int8_scores, gboolean with_features, GError **error);

/* Adds a GstDdnnMeta made from a parsed frame to @buffer.  Its model_id
 * holds the 16 hex digits the wire carries. */
GstDdnnMeta *gst_ddnn_frame_add_meta (
    const GstDdnnFrame *frame, GstBuffer *buffer, GError **error);

/* The meta of a buffer on an application/x-ddnn link: the one it carries,
 * or else the one parsed from its payload (a frame read by filesrc, carried
 * by a socket...), which is then attached (@buffer must be writable).
 * NULL, with the reason in @error, when the payload is no valid frame. */
GstDdnnMeta *gst_ddnn_buffer_ensure_meta (GstBuffer *buffer, GError **error);

/* What a receiver does with a frame that arrived whole (a WebSocket
 * message): checks it completely, then gives a buffer whose payload is
 * @bytes (taken) and whose meta is parsed from it, and fills @frame.  NULL,
 * with the reason, for anything that is not a valid frame. */
GstBuffer *gst_ddnn_buffer_new_from_frame (
    GBytes *bytes, GstDdnnFrame *frame, GError **error);

guint32 gst_ddnn_crc32 (guint32 crc, const guint8 *data, gsize size);

G_END_DECLS
