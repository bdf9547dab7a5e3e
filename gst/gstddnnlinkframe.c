/* The link frame (gstddnnlinkframe.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnlinkframe.h"

#include "gstddnnbytes.h"

#include <string.h>

/* link frame flags */
#define LINK_EXIT_MASK 0x03
#define LINK_TIER_SHIFT 2
#define LINK_FEATURES_ONLY 0x10
#define LINK_FEATURES 0x20
#define LINK_PTS 0x40
#define LINK_CAPTURE 0x80
/* "features only" without features: a frame in step (gstddnnlinkframe.h) */
#define LINK_IN_STEP_MASK (LINK_FEATURES_ONLY | LINK_FEATURES)
#define LINK_IN_STEP LINK_FEATURES_ONLY

/* file frame flags and fields (gstddnnframe.h) */
#define FILE_INT8 0x04
#define FILE_PTS 0x08
#define FILE_CAPTURE 0x10
#define FILE_FEATURES_ONLY 0x20
#define FILE_VIEW_FUSED 255

void
gst_ddnn_link_state_init (GstDdnnLinkState *state, const gchar *model_id,
    gint view, guint n_classes, gboolean int8_scores, gboolean has_features,
    DdnnDtype features_dtype, guint n_dims, const gsize *shape)
{
  guint d;

  memset (state, 0, sizeof (*state));
  g_strlcpy (state->model_id, model_id, sizeof (state->model_id));
  state->view = view;
  state->n_classes = n_classes;
  state->int8_scores = int8_scores;
  state->has_features = has_features;
  state->features_dtype = features_dtype;
  state->n_dims = MIN (n_dims, 3);
  for (d = 0; d < state->n_dims; d++)
    state->shape[d] = shape[d];
}

static guint8 *
put_varint (guint8 *p, guint64 v)
{
  while (v >= 0x80) {
    *p++ = (guint8) (v | 0x80);
    v >>= 7;
  }
  *p++ = (guint8) v;
  return p;
}

static guint64
zigzag (gint64 v)
{
  return ((guint64) v << 1) ^ (guint64) (v >> 63);
}

static gint64
unzigzag (guint64 v)
{
  return (gint64) (v >> 1) ^ -(gint64) (v & 1);
}

/* Reads a varint of at most 10 bytes; FALSE if it runs past @end or is
 * longer. */
static gboolean
get_varint (const guint8 **p, const guint8 *end, guint64 *v)
{
  guint shift = 0;

  *v = 0;
  while (*p < end && shift < 64) {
    guint8 b = *(*p)++;

    *v |= (guint64) (b & 0x7f) << shift;
    if (!(b & 0x80))
      return shift < 63 || b <= 1;
    shift += 7;
  }
  return FALSE;
}

/* A time as the difference from the prediction previous + last step. */
static guint8 *
put_time (guint8 *p, GstClockTime t, GstClockTime *prev, GstClockTime *step,
    gboolean *have)
{
  GstClockTime predicted = *have ? *prev + *step : 0;

  p = put_varint (p, zigzag ((gint64) (t - predicted)));
  *step = *have ? t - *prev : 0;
  *prev = t;
  *have = TRUE;
  return p;
}

static gboolean
get_time (const guint8 **p, const guint8 *end, GstClockTime *t,
    GstClockTime *prev, GstClockTime *step, gboolean *have)
{
  GstClockTime predicted = *have ? *prev + *step : 0;
  guint64 v;

  if (!get_varint (p, end, &v))
    return FALSE;
  *t = predicted + (guint64) unzigzag (v);
  *step = *have ? *t - *prev : 0;
  *prev = *t;
  *have = TRUE;
  return GST_CLOCK_TIME_IS_VALID (*t);
}

static gsize
features_size (const GstDdnnLinkState *state, DdnnDtype dtype)
{
  gsize elements = 0, bytes = 0;

  if (!ddnn_tensor_bytes_for (
          dtype, state->n_dims, state->shape, &elements, &bytes, NULL) ||
      elements > GST_DDNN_FRAME_MAX_FEATURES)
    return 0;
  return bytes;
}

static gsize
scores_size (const GstDdnnLinkState *state)
{
  return state->int8_scores ? state->n_classes + 2
                            : 4 * (gsize) state->n_classes;
}

GBytes *
gst_ddnn_link_frame_encode (
    GstDdnnLinkState *state, const GstDdnnFrame *frame, GError **error)
{
  guint8 *out, *p;
  guint8 flags = frame->exit & LINK_EXIT_MASK;
  gsize size;
  guint d;
  gboolean same_shape = frame->n_dims == state->n_dims;

  for (d = 0; same_shape && d < frame->n_dims; d++)
    same_shape = frame->shape[d] == state->shape[d];
  if (strcmp (frame->model_id, state->model_id) != 0 ||
      frame->view != state->view || frame->n_classes != state->n_classes ||
      (!frame->features_only && frame->int8_scores != state->int8_scores) ||
      (frame->has_features &&
          (!state->has_features || !same_shape ||
              (state->view >= 0 &&
                  frame->features_dtype != state->features_dtype)))) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
        "sample %" G_GUINT64_FORMAT " is not what the link's handshake "
        "announced (model %s, view %d, %u classes)",
        frame->sample, state->model_id, state->view, state->n_classes);
    return NULL;
  }
  flags |= (guint8) (frame->tier & 3) << LINK_TIER_SHIFT;
  if (frame->features_only)
    flags |= LINK_FEATURES_ONLY;
  if (frame->has_features)
    flags |= LINK_FEATURES;
  /* a reply to a request for features needs no times */
  if (!frame->features_only && GST_CLOCK_TIME_IS_VALID (frame->pts))
    flags |= LINK_PTS;
  if (!frame->features_only && GST_CLOCK_TIME_IS_VALID (frame->capture_time))
    flags |= LINK_CAPTURE;

  size = GST_DDNN_LINK_MAX_HEADER + frame->scores_size + frame->features_size;
  p = out = g_malloc (size);
  /* the regular case, a camera's next sample at its usual pace, goes with
   * no numbers at all */
  if (!frame->features_only && !frame->has_features &&
      frame->sample == state->sample + 1 &&
      (!(flags & LINK_PTS) ||
          (state->have_pts && frame->pts == state->pts + state->pts_step)) &&
      (!(flags & LINK_CAPTURE) ||
          (state->have_capture &&
              frame->capture_time == state->capture + state->capture_step))) {
    *p++ = flags | LINK_IN_STEP;
    state->sample = frame->sample;
    if (state->view < 0)
      p = put_varint (p, frame->view_mask);
    if (flags & LINK_PTS)
      state->pts = frame->pts;
    if (flags & LINK_CAPTURE)
      state->capture = frame->capture_time;
    memcpy (p, frame->scores, frame->scores_size);
    p += frame->scores_size;
    return g_bytes_new_take (g_realloc (out, p - out), p - out);
  }
  *p++ = flags;
  p = put_varint (p, zigzag ((gint64) (frame->sample - state->sample)));
  if (!frame->features_only)
    state->sample = frame->sample;
  if (state->view < 0)
    p = put_varint (p, frame->view_mask);
  if (state->view < 0 && frame->has_features)
    *p++ = (guint8) frame->features_dtype;
  if (flags & LINK_PTS)
    p = put_time (
        p, frame->pts, &state->pts, &state->pts_step, &state->have_pts);
  if (flags & LINK_CAPTURE)
    p = put_time (p, frame->capture_time, &state->capture, &state->capture_step,
        &state->have_capture);
  memcpy (p, frame->scores, frame->scores_size);
  p += frame->scores_size;
  if (frame->has_features)
    memcpy (p, frame->features, frame->features_size);
  p += frame->features_size;
  return g_bytes_new_take (g_realloc (out, p - out), p - out);
}

GBytes *
gst_ddnn_link_frame_decode (GstDdnnLinkState *state, const guint8 *data,
    gsize size, gsize *consumed, GError **error)
{
  const guint8 *p = data, *end = data + size;
  guint8 flags, *out;
  guint64 sample_delta, view_mask, sample;
  GstClockTime pts = GST_CLOCK_TIME_NONE, capture = GST_CLOCK_TIME_NONE;
  DdnnDtype dtype = state->features_dtype;
  gboolean features_only, has_features, in_step;
  gsize s_size, f_size, total, i;
  guint32 crc;
  GstDdnnFrame frame;
  float scores[DDNN_MAX_CLASSES], probs[DDNN_MAX_CLASSES], entropy;

  if (size < 1)
    goto truncated;
  flags = *p++;
  in_step = (flags & LINK_IN_STEP_MASK) == LINK_IN_STEP;
  features_only = !in_step && (flags & LINK_FEATURES_ONLY) != 0;
  has_features = (flags & LINK_FEATURES) != 0;
  if (((flags >> LINK_TIER_SHIFT) & 3) > DDNN_TIER_CLOUD) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "link frame with tier %u", (flags >> LINK_TIER_SHIFT) & 3);
    return NULL;
  }
  if (has_features && !state->has_features) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "features on a link that announced none");
    return NULL;
  }
  if (features_only && (flags & (LINK_PTS | LINK_CAPTURE))) {
    g_set_error (
        error, DDNN_ERROR, DDNN_ERROR_CORRUPT, "a features reply with times");
    return NULL;
  }
  if (in_step &&
      (((flags & LINK_PTS) && !state->have_pts) ||
          ((flags & LINK_CAPTURE) && !state->have_capture))) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "a frame in step before any time to step from");
    return NULL;
  }
  if (in_step) {
    sample = state->sample + 1;
  } else {
    if (!get_varint (&p, end, &sample_delta))
      goto truncated;
    sample = state->sample + (guint64) unzigzag (sample_delta);
  }
  if (state->view < 0) {
    if (!get_varint (&p, end, &view_mask))
      goto truncated;
  } else {
    view_mask = G_GUINT64_CONSTANT (1) << state->view;
  }
  if (state->view < 0 && has_features) {
    if (p >= end)
      goto truncated;
    dtype = *p++;
    if (dtype != DDNN_DTYPE_F32 && dtype != DDNN_DTYPE_BIT) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "fused features of dtype %u", dtype);
      return NULL;
    }
  }
  /* the times move the state only once the whole frame is known good */
  {
    GstDdnnLinkState next = *state;

    if (in_step) {
      /* the times are the predicted ones; the steps stay */
      if (flags & LINK_PTS)
        pts = next.pts = next.pts + next.pts_step;
      if (flags & LINK_CAPTURE)
        capture = next.capture = next.capture + next.capture_step;
      if (((flags & LINK_PTS) && !GST_CLOCK_TIME_IS_VALID (pts)) ||
          ((flags & LINK_CAPTURE) && !GST_CLOCK_TIME_IS_VALID (capture))) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
            "a frame in step to no valid time");
        return NULL;
      }
    } else {
      if ((flags & LINK_PTS) &&
          !get_time (&p, end, &pts, &next.pts, &next.pts_step, &next.have_pts))
        goto truncated;
      if ((flags & LINK_CAPTURE) &&
          !get_time (&p, end, &capture, &next.capture, &next.capture_step,
              &next.have_capture))
        goto truncated;
    }
    s_size = features_only ? 0 : scores_size (state);
    f_size = has_features ? features_size (state, dtype) : 0;
    if (has_features && f_size == 0) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE, "features of no size");
      return NULL;
    }
    if ((gsize) (end - p) < s_size + f_size ||
        (!consumed && (gsize) (end - p) != s_size + f_size)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TRUNCATED,
          "link frame of sample %" G_GUINT64_FORMAT " holds %" G_GSIZE_FORMAT
          " bytes of scores and features, the handshake says %" G_GSIZE_FORMAT,
          sample, (gsize) (end - p), s_size + f_size);
      return NULL;
    }
    if (!features_only)
      next.sample = sample;
    else
      next.sample = state->sample;
    *state = next;
    if (consumed)
      *consumed = (gsize) (p - data) + s_size + f_size;
  }

  /* the file frame, then its entropy from its own scores */
  total = GST_DDNN_FRAME_HEADER_SIZE + s_size + f_size;
  out = g_malloc0 (total);
  out[0] = 'D';
  out[1] = 'N';
  out[2] = GST_DDNN_FRAME_VERSION;
  out[3] = (flags & LINK_EXIT_MASK) |
      (features_only ? FILE_FEATURES_ONLY
                     : (state->int8_scores ? FILE_INT8 : 0)) |
      (GST_CLOCK_TIME_IS_VALID (pts) ? FILE_PTS : 0) |
      (GST_CLOCK_TIME_IS_VALID (capture) ? FILE_CAPTURE : 0);
  out[4] = (flags >> LINK_TIER_SHIFT) & 3;
  out[5] = state->view >= 0 ? (guint8) state->view : FILE_VIEW_FUSED;
  out[6] = has_features ? (guint8) (dtype + 1) : 0;
  out[7] = has_features ? (guint8) state->n_dims : 0;
  write_u64 (out + 8, sample);
  write_u64 (out + 16, GST_CLOCK_TIME_IS_VALID (pts) ? pts : 0);
  write_u64 (out + 24, GST_CLOCK_TIME_IS_VALID (capture) ? capture : 0);
  write_u64 (out + 32, view_mask);
  for (i = 0; i < 8; i++) {
    gchar hex[3] = { state->model_id[2 * i], state->model_id[2 * i + 1], 0 };

    out[40 + i] = (guint8) g_ascii_strtoull (hex, NULL, 16);
  }
  write_u16 (out + 52, (guint16) state->n_classes);
  for (i = 0; has_features && i < state->n_dims; i++)
    write_u16 (out + 54 + 2 * i, (guint16) state->shape[i]);
  memcpy (out + GST_DDNN_FRAME_HEADER_SIZE, p, s_size + f_size);
  if (!features_only) {
    GstDdnnFrame scored;

    /* the scores are read back as a file frame's are (the checksum is
     * not there yet, so the frame is parsed with a placeholder) */
    memset (&scored, 0, sizeof (scored));
    scored.int8_scores = state->int8_scores;
    scored.n_classes = state->n_classes;
    scored.scores = out + GST_DDNN_FRAME_HEADER_SIZE;
    gst_ddnn_frame_get_scores (&scored, scores);
    ddnn_softmax (state->n_classes, scores, probs);
    entropy = ddnn_normalized_entropy (state->n_classes, probs);
    memcpy (&crc, &entropy, 4);
    write_u32 (out + 48, crc);
  }
  crc = gst_ddnn_crc32 (0, out, 60);
  crc = gst_ddnn_crc32 (crc, out + GST_DDNN_FRAME_HEADER_SIZE,
      total - GST_DDNN_FRAME_HEADER_SIZE);
  write_u32 (out + 60, crc);
  /* whatever came in, what goes on is a frame the file parser accepts */
  if (!gst_ddnn_frame_parse (out, total, &frame, error)) {
    g_free (out);
    return NULL;
  }
  return g_bytes_new_take (out, total);

truncated:
  g_set_error (error, DDNN_ERROR, DDNN_ERROR_TRUNCATED,
      "link frame of %" G_GSIZE_FORMAT " bytes ends inside its header", size);
  return NULL;
}
