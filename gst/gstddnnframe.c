/* The ddnn wire frame.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnframe.h"

#include "gstddnnbytes.h"

#include <math.h>
#include <string.h>

#define MAGIC_0 'D'
#define MAGIC_1 'N'
#define FLAG_EXIT_MASK 0x03
#define FLAG_INT8 0x04
#define FLAG_PTS 0x08
#define FLAG_CAPTURE 0x10
#define FLAG_FEATURES_ONLY 0x20
#define FLAGS_KNOWN 0x3f
#define VIEW_FUSED 255

/* crc_table[k][b]: the CRC of byte b followed by k zero bytes, so that
 * eight bytes are folded in per step ("slicing by 8") */
static guint32 crc_table[8][256];

static gpointer
crc_table_init (gpointer data)
{
  guint32 i, j;

  for (i = 0; i < 256; i++) {
    guint32 c = i;

    for (j = 0; j < 8; j++)
      c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[0][i] = c;
  }
  for (i = 0; i < 256; i++)
    for (j = 1; j < 8; j++)
      crc_table[j][i] = crc_table[0][crc_table[j - 1][i] & 0xff] ^
          (crc_table[j - 1][i] >> 8);
  return NULL;
}

/* CRC-32 as zlib computes it: start with 0, chain by passing the result. */
guint32
gst_ddnn_crc32 (guint32 crc, const guint8 *data, gsize size)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, crc_table_init, NULL);
  crc = ~crc;
  for (; size >= 8; size -= 8, data += 8) {
    guint32 lo = crc ^
        (data[0] | (guint32) data[1] << 8 | (guint32) data[2] << 16 |
            (guint32) data[3] << 24);
    guint32 hi = data[4] | (guint32) data[5] << 8 | (guint32) data[6] << 16 |
        (guint32) data[7] << 24;

    crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
        crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
        crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
        crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
  }
  for (; size > 0; size--, data++)
    crc = crc_table[0][(crc ^ *data) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static float
float_from_bits (guint32 bits)
{
  float f;

  memcpy (&f, &bits, 4);
  return f;
}

static guint32
bits_from_float (float f)
{
  guint32 bits;

  memcpy (&bits, &f, 4);
  return bits;
}

/* IEEE binary16, for the int8 scores' scale (normal, positive numbers). */
static guint16
half_from_float (float f)
{
  int exp;
  float mant = frexpf (f, &exp); /* f = mant 2^exp, mant in [0.5, 1) */
  gint e = exp - 1 + 15;
  guint32 m;

  if (!(f > 0.0f))
    return 0;
  if (e <= 0)
    return 0x0400; /* the smallest normal: scales never get here */
  if (e >= 31)
    return 0x7bff;
  m = (guint32) lroundf ((mant * 2.0f - 1.0f) * 1024.0f);
  if (m == 1024) {
    m = 0;
    e++;
  }
  if (e >= 31) /* rounded up past the largest: 65504, never infinity */
    return 0x7bff;
  return (guint16) (e << 10 | m);
}

static float
float_from_half (guint16 h)
{
  gint e = (h >> 10) & 0x1f;
  guint m = h & 0x3ff;

  if (e == 0)
    return ldexpf ((float) m, -24);
  if (e == 31)
    return NAN;
  return ldexpf (1.0f + m / 1024.0f, e - 15);
}

static gsize
scores_size (guint n_classes, gboolean int8_scores)
{
  return int8_scores ? n_classes + 2 : 4 * (gsize) n_classes;
}

/* Validates the 64-byte header at @data (@size bytes available) and fills
 * the fields of @frame that it gives, and the whole frame's size. */
static gboolean
parse_header (const guint8 *data, gsize size, GstDdnnFrame *frame,
    gsize *expected, GError **error)
{
  guint8 flags, dtype;
  guint i;
  gsize n_elements = 1, feature_bytes = 0;

  memset (frame, 0, sizeof (*frame));
  if (size < GST_DDNN_FRAME_HEADER_SIZE) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TRUNCATED,
        "frame of %" G_GSIZE_FORMAT " bytes is shorter than its %d-byte "
        "header",
        size, GST_DDNN_FRAME_HEADER_SIZE);
    return FALSE;
  }
  if (data[0] != MAGIC_0 || data[1] != MAGIC_1) {
    g_set_error (
        error, DDNN_ERROR, DDNN_ERROR_CORRUPT, "not a ddnn frame (bad magic)");
    return FALSE;
  }
  if (data[2] != GST_DDNN_FRAME_VERSION) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_VERSION,
        "frame version %u, this reader knows %d", data[2],
        GST_DDNN_FRAME_VERSION);
    return FALSE;
  }
  flags = data[3];
  if (flags & ~FLAGS_KNOWN) {
    g_set_error (
        error, DDNN_ERROR, DDNN_ERROR_CORRUPT, "unknown flags 0x%02x", flags);
    return FALSE;
  }
  if (data[4] > DDNN_TIER_CLOUD ||
      (data[5] >= DDNN_MAX_VIEWS && data[5] != VIEW_FUSED)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "tier %u or view %u out of range", data[4], data[5]);
    return FALSE;
  }
  dtype = data[6];
  frame->n_dims = data[7];
  if (dtype > 3 || frame->n_dims > 3 || (dtype == 0) != (frame->n_dims == 0)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "features dtype %u with %u dimensions", dtype, frame->n_dims);
    return FALSE;
  }
  frame->n_classes = read_u16 (data + 52);
  if (frame->n_classes < 1 || frame->n_classes > DDNN_MAX_CLASSES) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "%u classes; 1 to %d are allowed", frame->n_classes, DDNN_MAX_CLASSES);
    return FALSE;
  }
  for (i = 0; i < 3; i++) {
    frame->shape[i] = read_u16 (data + 54 + 2 * i);
    if ((i < frame->n_dims) != (frame->shape[i] != 0)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "features shape does not match its %u dimensions", frame->n_dims);
      return FALSE;
    }
    if (i < frame->n_dims)
      n_elements *= frame->shape[i];
  }
  if (dtype) {
    if (n_elements > GST_DDNN_FRAME_MAX_FEATURES) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "%" G_GSIZE_FORMAT " feature values, at most %d", n_elements,
          GST_DDNN_FRAME_MAX_FEATURES);
      return FALSE;
    }
    frame->has_features = TRUE;
    frame->features_dtype = dtype - 1;
    ddnn_tensor_bytes_for (frame->features_dtype, frame->n_dims, frame->shape,
        NULL, &feature_bytes, NULL);
  }
  frame->int8_scores = (flags & FLAG_INT8) != 0;
  frame->features_only = (flags & FLAG_FEATURES_ONLY) != 0;
  if (frame->features_only && (!dtype || frame->int8_scores)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "a features-only frame without features, or with int8 scores");
    return FALSE;
  }
  frame->scores_size = frame->features_only
      ? 0
      : scores_size (frame->n_classes, frame->int8_scores);
  *expected = GST_DDNN_FRAME_HEADER_SIZE + frame->scores_size + feature_bytes;
  return TRUE;
}

gboolean
gst_ddnn_frame_size (
    const guint8 *header, gsize size, gsize *frame_size, GError **error)
{
  GstDdnnFrame frame;

  return parse_header (header, size, &frame, frame_size, error);
}

gboolean
gst_ddnn_frame_parse (
    const guint8 *data, gsize size, GstDdnnFrame *frame, GError **error)
{
  gsize expected, feature_bytes;
  guint8 flags;
  guint32 crc;
  guint i;

  if (!parse_header (data, size, frame, &expected, error))
    return FALSE;
  flags = data[3];
  feature_bytes = expected - GST_DDNN_FRAME_HEADER_SIZE - frame->scores_size;
  if (size != expected) {
    g_set_error (error, DDNN_ERROR,
        size < expected ? DDNN_ERROR_TRUNCATED : DDNN_ERROR_CORRUPT,
        "frame of %" G_GSIZE_FORMAT
        " bytes; its header announces %" G_GSIZE_FORMAT,
        size, expected);
    return FALSE;
  }
  crc = gst_ddnn_crc32 (0, data, 60);
  crc = gst_ddnn_crc32 (crc, data + GST_DDNN_FRAME_HEADER_SIZE,
      size - GST_DDNN_FRAME_HEADER_SIZE);
  if (crc != read_u32 (data + 60)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "checksum mismatch (0x%08x, the frame says 0x%08x)", crc,
        read_u32 (data + 60));
    return FALSE;
  }
  frame->entropy = float_from_bits (read_u32 (data + 48));
  if (!(frame->entropy >= 0.0f && frame->entropy <= 1.0f)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "entropy %g is outside [0, 1]", frame->entropy);
    return FALSE;
  }
  frame->scores = data + GST_DDNN_FRAME_HEADER_SIZE;
  if (frame->features_only) {
    /* no scores to check */
  } else if (frame->int8_scores) {
    float scale = float_from_half (read_u16 (frame->scores + frame->n_classes));

    if (!(scale > 0.0f) || !isfinite (scale)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "int8 scores with scale %g", scale);
      return FALSE;
    }
  } else {
    for (i = 0; i < frame->n_classes; i++)
      if (!isfinite (float_from_bits (read_u32 (frame->scores + 4 * i)))) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
            "score %u is not a finite number", i);
        return FALSE;
      }
  }

  frame->exit = flags & FLAG_EXIT_MASK;
  frame->tier = data[4];
  frame->view = data[5] == VIEW_FUSED ? -1 : data[5];
  frame->sample = read_u64 (data + 8);
  frame->pts = flags & FLAG_PTS ? read_u64 (data + 16) : GST_CLOCK_TIME_NONE;
  frame->capture_time = flags & FLAG_CAPTURE ? read_u64 (data + 24)
                                             : GST_CLOCK_TIME_NONE;
  frame->view_mask = read_u64 (data + 32);
  /* every frame that crosses a link is parsed: no printf here */
  for (i = 0; i < 8; i++) {
    static const gchar hex[] = "0123456789abcdef";

    frame->model_id[2 * i] = hex[data[40 + i] >> 4];
    frame->model_id[2 * i + 1] = hex[data[40 + i] & 15];
  }
  frame->model_id[16] = '\0';
  frame->features = feature_bytes ? frame->scores + frame->scores_size : NULL;
  frame->features_size = feature_bytes;
  return TRUE;
}

void
gst_ddnn_frame_get_scores (const GstDdnnFrame *frame, float *scores)
{
  guint i;

  if (frame->features_only) {
    memset (scores, 0, frame->n_classes * sizeof (float));
  } else if (frame->int8_scores) {
    float scale = float_from_half (read_u16 (frame->scores + frame->n_classes));

    for (i = 0; i < frame->n_classes; i++)
      scores[i] = (gint8) frame->scores[i] * scale;
  } else {
    for (i = 0; i < frame->n_classes; i++)
      scores[i] = float_from_bits (read_u32 (frame->scores + 4 * i));
  }
}

static GBytes *serialize (const GstDdnnMeta *meta, gboolean int8_scores,
    gboolean with_scores, gboolean with_features, GError **error);

GBytes *
gst_ddnn_frame_from_meta (const GstDdnnMeta *meta, gboolean int8_scores,
    gboolean with_features, GError **error)
{
  return serialize (meta, int8_scores, TRUE, with_features, error);
}

GBytes *
gst_ddnn_frame_features_only (const GstDdnnMeta *meta, GError **error)
{
  if (!meta->features) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
        "sample %" G_GUINT64_FORMAT " has no features to send", meta->sample);
    return NULL;
  }
  return serialize (meta, FALSE, FALSE, TRUE, error);
}

static GBytes *
serialize (const GstDdnnMeta *meta, gboolean int8_scores, gboolean with_scores,
    gboolean with_features, GError **error)
{
  const DdnnTensor *f = with_features ? meta->features : NULL;
  gsize s_size, f_size = f ? f->n_bytes : 0, size, i;
  guint8 *out, flags = meta->exit & FLAG_EXIT_MASK;
  guint32 crc;

  if (meta->n_classes < 1 || meta->n_classes > DDNN_MAX_CLASSES) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
        "a frame needs 1 to %d class scores", DDNN_MAX_CLASSES);
    return NULL;
  }
  if (f && (f->n_dims > 3 || f->n_elements > GST_DDNN_FRAME_MAX_FEATURES)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
        "features of %u dimensions and %" G_GSIZE_FORMAT " values do not fit "
        "a frame",
        f->n_dims, f->n_elements);
    return NULL;
  }
  for (i = 0; f && i < f->n_dims; i++)
    if (f->shape[i] == 0 || f->shape[i] > G_MAXUINT16) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
          "feature dimension %" G_GSIZE_FORMAT " does not fit a frame",
          f->shape[i]);
      return NULL;
    }
  s_size = with_scores ? scores_size (meta->n_classes, int8_scores) : 0;
  size = GST_DDNN_FRAME_HEADER_SIZE + s_size + f_size;
  out = g_malloc0 (size);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = GST_DDNN_FRAME_VERSION;
  if (!with_scores)
    flags |= FLAG_FEATURES_ONLY;
  else if (int8_scores)
    flags |= FLAG_INT8;
  if (GST_CLOCK_TIME_IS_VALID (meta->pts)) {
    flags |= FLAG_PTS;
    write_u64 (out + 16, meta->pts);
  }
  if (GST_CLOCK_TIME_IS_VALID (meta->capture_time)) {
    flags |= FLAG_CAPTURE;
    write_u64 (out + 24, meta->capture_time);
  }
  out[3] = flags;
  out[4] = (guint8) meta->tier;
  out[5] = meta->view >= 0 ? (guint8) meta->view : VIEW_FUSED;
  out[6] = f ? (guint8) (f->dtype + 1) : 0;
  out[7] = f ? (guint8) f->n_dims : 0;
  write_u64 (out + 8, meta->sample);
  write_u64 (out + 32, meta->view_mask);
  for (i = 0; i < 8; i++) {
    gchar hex[3] = { meta->model_id[2 * i], meta->model_id[2 * i + 1], 0 };

    out[40 + i] = (guint8) g_ascii_strtoull (hex, NULL, 16);
  }
  write_u32 (out + 48, bits_from_float (CLAMP (meta->entropy, 0.0f, 1.0f)));
  write_u16 (out + 52, (guint16) meta->n_classes);
  for (i = 0; f && i < f->n_dims; i++)
    write_u16 (out + 54 + 2 * i, (guint16) f->shape[i]);

  if (!with_scores) {
    /* a features reply: the scores went before */
  } else if (int8_scores) {
    float deq[DDNN_MAX_CLASSES], scale = 0.0f;

    /* the same rounding the engine's local fusion uses */
    ddnn_scores_quantize_int8 (meta->n_classes, meta->scores, deq);
    for (i = 0; i < meta->n_classes; i++)
      scale = MAX (scale, fabsf (meta->scores[i]));
    scale = float_from_half (half_from_float (scale > 0 ? scale / 127.0f : 1));
    for (i = 0; i < meta->n_classes; i++)
      out[GST_DDNN_FRAME_HEADER_SIZE + i] = (guint8) (gint8) CLAMP (
          lroundf (deq[i] / scale), -127, 127);
    write_u16 (out + GST_DDNN_FRAME_HEADER_SIZE + meta->n_classes,
        half_from_float (scale));
  } else {
    for (i = 0; i < meta->n_classes; i++)
      write_u32 (out + GST_DDNN_FRAME_HEADER_SIZE + 4 * i,
          bits_from_float (meta->scores[i]));
  }
  if (f_size)
    memcpy (out + GST_DDNN_FRAME_HEADER_SIZE + s_size, f->data, f_size);
  crc = gst_ddnn_crc32 (0, out, 60);
  crc = gst_ddnn_crc32 (
      crc, out + GST_DDNN_FRAME_HEADER_SIZE, size - GST_DDNN_FRAME_HEADER_SIZE);
  write_u32 (out + 60, crc);
  return g_bytes_new_take (out, size);
}

gboolean
gst_ddnn_buffer_set_frame (GstBuffer *buffer, const GstDdnnMeta *meta,
    gboolean int8_scores, gboolean with_features, GError **error)
{
  GBytes *frame = gst_ddnn_frame_from_meta (
      meta, int8_scores, with_features, error);
  gconstpointer data;
  gsize size;

  if (!frame)
    return FALSE;
  data = g_bytes_get_data (frame, &size);
  gst_buffer_remove_all_memory (buffer);
  gst_buffer_append_memory (buffer,
      gst_memory_new_wrapped (GST_MEMORY_FLAG_READONLY, (gpointer) data, size,
          0, size, frame, (GDestroyNotify) g_bytes_unref));
  return TRUE;
}

GstBuffer *
gst_ddnn_buffer_new_from_frame (
    GBytes *bytes, GstDdnnFrame *frame, GError **error)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  GstBuffer *buffer;

  if (!gst_ddnn_frame_parse (data, size, frame, error)) {
    g_bytes_unref (bytes);
    return NULL;
  }
  buffer = gst_buffer_new_wrapped_bytes (bytes);
  g_bytes_unref (bytes);
  if (!gst_ddnn_frame_add_meta (frame, buffer, error)) {
    gst_buffer_unref (buffer);
    return NULL;
  }
  return buffer;
}

GstDdnnMeta *
gst_ddnn_buffer_ensure_meta (GstBuffer *buffer, GError **error)
{
  GstDdnnMeta *meta = gst_buffer_get_ddnn_meta (buffer);
  GstDdnnFrame frame;
  GstMapInfo map;

  if (meta)
    return meta;
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ)) {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
        "cannot read the buffer");
    return NULL;
  }
  if (gst_ddnn_frame_parse (map.data, map.size, &frame, error))
    meta = gst_ddnn_frame_add_meta (&frame, buffer, error);
  gst_buffer_unmap (buffer, &map);
  return meta;
}

GstDdnnMeta *
gst_ddnn_frame_add_meta (
    const GstDdnnFrame *frame, GstBuffer *buffer, GError **error)
{
  GstDdnnMeta *meta;

  meta = gst_buffer_add_ddnn_meta (buffer, frame->model_id, frame->n_classes);
  if (!meta)
    return NULL;
  meta->sample = frame->sample;
  meta->pts = frame->pts;
  meta->capture_time = frame->capture_time;
  meta->view = frame->view;
  meta->view_mask = frame->view_mask;
  meta->entropy = frame->entropy;
  meta->tier = frame->tier;
  meta->exit = frame->exit;
  gst_ddnn_frame_get_scores (frame, meta->scores);
  if (frame->has_features) {
    DdnnTensor *t = ddnn_tensor_new (
        frame->features_dtype, frame->n_dims, frame->shape, error);

    if (!t) {
      gst_buffer_remove_meta (buffer, (GstMeta *) meta);
      return NULL;
    }
    memcpy (t->data, frame->features, frame->features_size);
    gst_ddnn_meta_set_features (meta, t);
    ddnn_tensor_unref (t);
  }
  return meta;
}
