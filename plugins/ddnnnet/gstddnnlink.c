/* The link's announcement, tokens and rate-limited logging.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnlink.h"

#include "gstddnnnet.h"
#include <stdlib.h>
#include <string.h>

static const gchar *const dtype_names[] = { "f32", "i8", "bits" };
G_STATIC_ASSERT (G_N_ELEMENTS (dtype_names) == DDNN_DTYPE_BIT + 1);

void
gst_ddnn_announce_from_meta (
    GstDdnnAnnounce *announce, const GstDdnnMeta *meta, gboolean int8_scores)
{
  guint d;

  announce->protocol = GST_DDNN_NET_PROTOCOL;
  g_strlcpy (announce->model_id, meta->model_id, sizeof (announce->model_id));
  announce->view = meta->view;
  announce->n_classes = meta->n_classes;
  announce->int8_scores = int8_scores;
  announce->has_features = meta->features != NULL;
  announce->n_dims = 0;
  if (meta->features) {
    announce->features_dtype = meta->features->dtype;
    announce->n_dims = MIN (meta->features->n_dims, 3);
    for (d = 0; d < announce->n_dims; d++)
      announce->shape[d] = meta->features->shape[d];
  }
}

static gboolean parse_features (GstDdnnAnnounce *announce, const gchar *text);

gboolean
gst_ddnn_announce_from_camera (
    GstDdnnAnnounce *announce, const GstStructure *camera)
{
  const gchar *model = gst_structure_get_string (camera, "model-id");
  const gchar *shape = gst_structure_get_string (camera, "features-shape");
  gint view, dtype;
  guint classes;
  gboolean int8, ok;
  gchar *features;

  if (!model || strlen (model) < 16 || !shape ||
      !gst_structure_get (camera, "view", G_TYPE_INT, &view, "classes",
          G_TYPE_UINT, &classes, "int8", G_TYPE_BOOLEAN, &int8,
          "features-dtype", G_TYPE_INT, &dtype, NULL) ||
      dtype < 0 || dtype > DDNN_DTYPE_BIT)
    return FALSE;
  features = g_strdup_printf ("%s:%s", dtype_names[dtype], shape);
  ok = parse_features (announce, features);
  g_free (features);
  if (!ok)
    return FALSE;
  announce->protocol = GST_DDNN_NET_PROTOCOL;
  g_strlcpy (announce->model_id, model, sizeof (announce->model_id));
  announce->view = view;
  announce->n_classes = classes;
  announce->int8_scores = int8;
  return TRUE;
}

void
gst_ddnn_announce_write (
    const GstDdnnAnnounce *announce, SoupMessageHeaders *headers)
{
  gchar number[32];
  GString *features = g_string_new (NULL);
  guint d;

  g_snprintf (number, sizeof (number), "%u", announce->protocol);
  soup_message_headers_replace (headers, GST_DDNN_NET_PROTOCOL_HEADER, number);
  soup_message_headers_replace (
      headers, GST_DDNN_NET_PEER_HEADER, announce->peer_id);
  soup_message_headers_replace (
      headers, GST_DDNN_NET_SESSION_HEADER, announce->session);
  soup_message_headers_replace (
      headers, GST_DDNN_NET_MODEL_HEADER, announce->model_id);
  if (announce->view < 0)
    g_strlcpy (number, "fused", sizeof (number));
  else
    g_snprintf (number, sizeof (number), "%d", announce->view);
  soup_message_headers_replace (headers, GST_DDNN_NET_VIEW_HEADER, number);
  g_snprintf (number, sizeof (number), "%u", announce->n_classes);
  soup_message_headers_replace (headers, GST_DDNN_NET_CLASSES_HEADER, number);
  soup_message_headers_replace (headers, GST_DDNN_NET_SCORES_HEADER,
      announce->int8_scores ? "int8" : "f32");
  if (!announce->has_features) {
    g_string_assign (features, "none");
  } else {
    g_string_append_printf (
        features, "%s:", dtype_names[announce->features_dtype]);
    for (d = 0; d < announce->n_dims; d++)
      g_string_append_printf (
          features, "%s%" G_GSIZE_FORMAT, d ? "x" : "", announce->shape[d]);
  }
  soup_message_headers_replace (
      headers, GST_DDNN_NET_FEATURES_HEADER, features->str);
  g_string_free (features, TRUE);
  g_snprintf (number, sizeof (number), "%u", announce->heartbeat_ms);
  soup_message_headers_replace (headers, GST_DDNN_NET_HEARTBEAT_HEADER, number);
}

/* A decimal number in [0, max], the whole string. */
static gboolean
parse_number (const gchar *text, guint64 max, guint64 *value)
{
  return text && g_ascii_string_to_unsigned (text, 10, 0, max, value, NULL);
}

/* An id: 1 to 64 characters of [A-Za-z0-9._:-]. */
static gboolean
id_ok (const gchar *id)
{
  gsize n = id ? strlen (id) : 0, i;

  if (n == 0 || n > 64)
    return FALSE;
  for (i = 0; i < n; i++)
    if (!g_ascii_isalnum (id[i]) && !strchr ("._:-", id[i]))
      return FALSE;
  return TRUE;
}

static gboolean
parse_features (GstDdnnAnnounce *announce, const gchar *text)
{
  const gchar *colon;
  gchar **dims;
  guint d, n;
  gboolean ok = TRUE;
  guint64 size, total = 1;

  announce->has_features = FALSE;
  announce->n_dims = 0;
  if (g_strcmp0 (text, "none") == 0)
    return TRUE;
  if (!text || !(colon = strchr (text, ':')))
    return FALSE;
  for (d = 0; d < G_N_ELEMENTS (dtype_names); d++)
    if (strlen (dtype_names[d]) == (gsize) (colon - text) &&
        strncmp (text, dtype_names[d], colon - text) == 0)
      break;
  if (d == G_N_ELEMENTS (dtype_names))
    return FALSE;
  announce->features_dtype = d;
  dims = g_strsplit (colon + 1, "x", 4);
  n = g_strv_length (dims);
  if (n < 1 || n > 3)
    ok = FALSE;
  for (d = 0; ok && d < n; d++) {
    ok = parse_number (dims[d], G_MAXUINT16, &size) && size > 0;
    announce->shape[d] = size;
    total *= size;
  }
  g_strfreev (dims);
  if (!ok || total > GST_DDNN_FRAME_MAX_FEATURES)
    return FALSE;
  announce->n_dims = n;
  announce->has_features = TRUE;
  return TRUE;
}

gboolean
gst_ddnn_announce_read (
    GstDdnnAnnounce *announce, SoupMessageHeaders *headers, GError **error)
{
  const gchar *protocol, *peer, *session, *model, *view, *classes, *scores,
      *features, *beat;
  guint64 value;
  guint i;

  memset (announce, 0, sizeof (*announce));
  protocol = soup_message_headers_get_one (
      headers, GST_DDNN_NET_PROTOCOL_HEADER);
  peer = soup_message_headers_get_one (headers, GST_DDNN_NET_PEER_HEADER);
  session = soup_message_headers_get_one (headers, GST_DDNN_NET_SESSION_HEADER);
  model = soup_message_headers_get_one (headers, GST_DDNN_NET_MODEL_HEADER);
  view = soup_message_headers_get_one (headers, GST_DDNN_NET_VIEW_HEADER);
  classes = soup_message_headers_get_one (headers, GST_DDNN_NET_CLASSES_HEADER);
  scores = soup_message_headers_get_one (headers, GST_DDNN_NET_SCORES_HEADER);
  features = soup_message_headers_get_one (
      headers, GST_DDNN_NET_FEATURES_HEADER);
  beat = soup_message_headers_get_one (headers, GST_DDNN_NET_HEARTBEAT_HEADER);

  if (!parse_number (protocol, G_MAXUINT16, &value)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "no usable " GST_DDNN_NET_PROTOCOL_HEADER " header (an older or "
        "foreign client?)");
    return FALSE;
  }
  announce->protocol = value;
  if (value != GST_DDNN_NET_PROTOCOL)
    return TRUE; /* the caller refuses it, naming both versions */
  if (!id_ok (peer) || !id_ok (session)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "peer and session ids must be 1-64 characters of A-Z a-z 0-9 . _ : -");
    return FALSE;
  }
  if (!model || strlen (model) != 16) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "the model id must be 16 hex digits");
    return FALSE;
  }
  for (i = 0; i < 16; i++)
    if (!g_ascii_isxdigit (model[i])) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "the model id must be 16 hex digits");
      return FALSE;
    }
  if (g_strcmp0 (view, "fused") == 0) {
    announce->view = -1;
  } else if (parse_number (view, DDNN_MAX_VIEWS - 1, &value)) {
    announce->view = value;
  } else {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "the view must be 0-%d or 'fused'", DDNN_MAX_VIEWS - 1);
    return FALSE;
  }
  if (!parse_number (classes, DDNN_MAX_CLASSES, &value) || value == 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "the number of classes must be 1-%d", DDNN_MAX_CLASSES);
    return FALSE;
  }
  announce->n_classes = value;
  if (g_strcmp0 (scores, "f32") != 0 && g_strcmp0 (scores, "int8") != 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "the scores must be 'f32' or 'int8'");
    return FALSE;
  }
  announce->int8_scores = g_strcmp0 (scores, "int8") == 0;
  if (!parse_features (announce, features)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "the features must be 'none' or DTYPE:SHAPE (f32, i8 or bits; one to "
        "three dimensions, such as bits:8x8x8)");
    return FALSE;
  }
  if (!parse_number (beat, 3600 * 1000, &value)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "the heartbeat must be 0-3600000 ms");
    return FALSE;
  }
  announce->heartbeat_ms = value;
  g_strlcpy (announce->model_id, model, sizeof (announce->model_id));
  for (i = 0; i < 16; i++)
    announce->model_id[i] = g_ascii_tolower (announce->model_id[i]);
  announce->peer_id = g_strdup (peer);
  announce->session = g_strdup (session);
  return TRUE;
}

void
gst_ddnn_announce_clear (GstDdnnAnnounce *announce)
{
  g_clear_pointer (&announce->peer_id, g_free);
  g_clear_pointer (&announce->session, g_free);
}

gchar *
gst_ddnn_announce_describe (const GstDdnnAnnounce *announce)
{
  return announce->view < 0 ? g_strdup ("fused samples")
                            : g_strdup_printf ("view %d", announce->view);
}

static gchar *
describe_features (
    gboolean has, DdnnDtype dtype, guint n_dims, const gsize *shape)
{
  GString *s = g_string_new (NULL);
  guint d;

  if (!has)
    return g_string_free (s, FALSE);
  g_string_append_printf (s, "%s:", dtype_names[dtype]);
  for (d = 0; d < n_dims; d++)
    g_string_append_printf (s, "%s%" G_GSIZE_FORMAT, d ? "x" : "", shape[d]);
  return g_string_free (s, FALSE);
}

gboolean
gst_ddnn_announce_fits_model (
    const GstDdnnAnnounce *announce, DdnnModel *model, GError **error)
{
  gchar prefix[17];
  gboolean int8 = ddnn_model_get_score_format (model) == DDNN_SCORES_INT8;

  g_strlcpy (prefix, ddnn_model_get_id (model), sizeof (prefix));
  if (strcmp (prefix, announce->model_id) != 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "model %s, but this server serves model %s", announce->model_id,
        prefix);
    return FALSE;
  }
  if (announce->view >= 0 &&
      (guint) announce->view >= ddnn_model_get_n_views (model)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "view %d, but the model has views 0-%u", announce->view,
        ddnn_model_get_n_views (model) - 1);
    return FALSE;
  }
  if (announce->n_classes != ddnn_model_get_n_classes (model)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "%u classes, but the model has %u", announce->n_classes,
        ddnn_model_get_n_classes (model));
    return FALSE;
  }
  if (announce->view >= 0 && announce->int8_scores != int8) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "%s scores, but the model's wire has %s",
        announce->int8_scores ? "int8" : "f32", int8 ? "int8" : "f32");
    return FALSE;
  }
  if (!announce->has_features)
    return TRUE;
  if (announce->view >= 0) {
    DdnnSection *device = ddnn_model_get_device_section (model, announce->view);
    DdnnDtype dtype;
    guint n_dims, d;
    gsize shape[3];
    gboolean same;

    ddnn_section_get_features_spec (device, &dtype, &n_dims, shape);
    same = dtype == announce->features_dtype && n_dims == announce->n_dims;
    for (d = 0; same && d < n_dims; d++)
      same = shape[d] == announce->shape[d];
    if (!same) {
      gchar *want = describe_features (TRUE, dtype, n_dims, shape);
      gchar *got = describe_features (
          TRUE, announce->features_dtype, announce->n_dims, announce->shape);

      g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
          "features %s, but view %d's section gives %s", got, announce->view,
          want);
      g_free (want);
      g_free (got);
      return FALSE;
    }
  } else {
    /* fused samples go into the edge section, or into the cloud's (from
     * an edge, or straight from the cameras' fusion) */
    gsize values = 1, takes_edge = 0, takes_cloud = 0;
    DdnnSection *edge = ddnn_model_get_edge_section (model);
    DdnnSection *cloud = ddnn_model_get_cloud_section (model);
    guint d;

    for (d = 0; d < announce->n_dims; d++)
      values *= announce->shape[d];
    if (edge)
      takes_edge = ddnn_section_get_input_size (edge);
    if (cloud)
      takes_cloud = ddnn_section_get_input_size (cloud);
    if (announce->features_dtype == DDNN_DTYPE_I8 ||
        (values != takes_edge && values != takes_cloud)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
          "fused features of %" G_GSIZE_FORMAT " values (%s), but the "
          "model's upper sections take %" G_GSIZE_FORMAT
          " (edge) or %" G_GSIZE_FORMAT " (cloud) values of f32 or bits",
          values, dtype_names[announce->features_dtype], takes_edge,
          takes_cloud);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
gst_ddnn_announce_check_frame (
    const GstDdnnAnnounce *announce, const GstDdnnFrame *frame, GError **error)
{
  guint d;

  if (strcmp (frame->model_id, announce->model_id) != 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "a frame of model %s on a connection that announced model %s",
        frame->model_id, announce->model_id);
    return FALSE;
  }
  if (frame->view != announce->view) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "a frame of %s%d on a connection that announced %s%d",
        frame->view < 0 ? "fused view " : "view ", frame->view,
        announce->view < 0 ? "fused view " : "view ", announce->view);
    return FALSE;
  }
  if (frame->n_classes != announce->n_classes) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "a frame of %u classes on a connection that announced %u",
        frame->n_classes, announce->n_classes);
    return FALSE;
  }
  if (!frame->features_only && frame->int8_scores != announce->int8_scores) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "%s scores on a connection that announced %s",
        frame->int8_scores ? "int8" : "f32",
        announce->int8_scores ? "int8" : "f32");
    return FALSE;
  }
  if (frame->has_features) {
    /* fused features are bits when every camera took part, floats when
     * some are missing (their part is zeros): either, of the one shape */
    gboolean same = announce->has_features &&
        (frame->features_dtype == announce->features_dtype ||
            (announce->view < 0 && frame->features_dtype != DDNN_DTYPE_I8 &&
                announce->features_dtype != DDNN_DTYPE_I8)) &&
        frame->n_dims == announce->n_dims;

    for (d = 0; same && d < frame->n_dims; d++)
      same = frame->shape[d] == announce->shape[d];
    if (!same) {
      gchar *got = describe_features (
          TRUE, frame->features_dtype, frame->n_dims, frame->shape);
      gchar *want = describe_features (announce->has_features,
          announce->features_dtype, announce->n_dims, announce->shape);

      g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
          "features %s on a connection that announced %s", got,
          *want ? want : "none");
      g_free (got);
      g_free (want);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
gst_ddnn_token_equal (const gchar *given, const gchar *expected)
{
  gsize n = strlen (expected), m = given ? strlen (given) : 0, i;
  guint diff = n != m;

  /* every byte of the expected token is looked at, whatever was given */
  for (i = 0; i < n; i++)
    diff |= (guint) (guint8) expected[i] ^
        (guint) (guint8) (i < m ? given[i] : 0);
  return given && diff == 0;
}

gchar *
gst_ddnn_token_read_file (const gchar *path, GError **error)
{
  gchar *contents = NULL, *token;
  gsize size;
  gchar *newline;

  if (!g_file_get_contents (path, &contents, &size, error))
    return NULL;
  if ((newline = strchr (contents, '\n')))
    *newline = '\0';
  token = g_strdup (g_strstrip (contents));
  g_free (contents);
  if (!*token) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
        "%s holds no token on its first line", path);
    g_free (token);
    return NULL;
  }
  return token;
}

gboolean
gst_ddnn_token_resolve (GstElement *element, const gchar *token,
    const gchar *token_file, gchar **active)
{
  GError *error = NULL;
  const gchar *env = g_getenv ("DDNN_TOKEN");

  *active = NULL;
  if (token_file) {
    if (!(*active = gst_ddnn_token_read_file (token_file, &error))) {
      GST_ELEMENT_ERROR (element, RESOURCE, OPEN_READ,
          ("Cannot read the token file %s", token_file),
          ("%s", error->message));
      g_error_free (error);
      return FALSE;
    }
  } else if (token && *token) {
    *active = g_strdup (token);
  } else if (env && *env) {
    /* neither property: the environment's, which no process list shows */
    *active = g_strdup (env);
  }
  return TRUE;
}

void
gst_ddnn_post_stats (GstElement *element)
{
  GValue stats = G_VALUE_INIT;

  g_value_init (&stats, GST_TYPE_STRUCTURE);
  g_object_get_property (G_OBJECT (element), "stats", &stats);
  gst_element_post_message (element,
      gst_message_new_element (GST_OBJECT (element),
          gst_structure_copy (gst_value_get_structure (&stats))));
  g_value_unset (&stats);
}

gboolean
gst_ddnn_rate_limit_allow (
    GstDdnnRateLimit *limit, gint64 now_us, guint64 *suppressed)
{
  if (now_us - limit->window_start >= GST_DDNN_NET_LOG_PERIOD) {
    limit->window_start = now_us;
    limit->lines = 0;
  }
  if (limit->lines >= GST_DDNN_NET_LOG_BURST) {
    limit->suppressed++;
    return FALSE;
  }
  limit->lines++;
  *suppressed = limit->suppressed;
  limit->suppressed = 0;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* the shared network thread                                          */

static GMutex net_lock;
static guint net_users;
static GMainContext *net_context;
static GMainLoop *net_loop;
static GThread *net_thread;

static gpointer
net_thread_run (gpointer data)
{
  GMainContext *context = data;
  GMainLoop *loop = net_loop;

  g_main_context_push_thread_default (context);
  g_main_loop_run (loop);
  /* let what was cancelled finish */
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  return NULL;
}

GMainContext *
gst_ddnn_net_thread_ref (void)
{
  GMainContext *context;

  g_mutex_lock (&net_lock);
  if (net_users++ == 0) {
    net_context = g_main_context_new ();
    net_loop = g_main_loop_new (net_context, FALSE);
    net_thread = g_thread_new ("ddnnsink-net", net_thread_run, net_context);
  }
  context = g_main_context_ref (net_context);
  g_mutex_unlock (&net_lock);
  return context;
}

static gboolean
net_thread_quit (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
gst_ddnn_net_thread_unref (void)
{
  GThread *thread = NULL;
  GMainLoop *loop = NULL;
  GMainContext *context = NULL;

  g_mutex_lock (&net_lock);
  g_return_if_fail (net_users > 0);
  if (--net_users == 0) {
    thread = g_steal_pointer (&net_thread);
    loop = g_steal_pointer (&net_loop);
    context = g_steal_pointer (&net_context);
  }
  g_mutex_unlock (&net_lock);
  if (!thread)
    return;
  g_return_if_fail (thread != g_thread_self ());
  g_main_context_invoke (context, net_thread_quit, loop);
  g_thread_join (thread);
  g_main_loop_unref (loop);
  g_main_context_unref (context);
}

typedef struct
{
  GSourceFunc func;
  gpointer data;
  GMutex lock;
  GCond cond;
  gboolean done;
} NetCall;

static gboolean
net_call_run (gpointer data)
{
  NetCall *call = data;

  call->func (call->data);
  g_mutex_lock (&call->lock);
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->lock);
  return G_SOURCE_REMOVE;
}

void
gst_ddnn_net_thread_call (GSourceFunc func, gpointer data)
{
  NetCall call = { func, data };
  GMainContext *context;

  g_mutex_lock (&net_lock);
  context = net_context ? g_main_context_ref (net_context) : NULL;
  g_mutex_unlock (&net_lock);
  g_return_if_fail (context != NULL);
  if (g_main_context_is_owner (context)) {
    func (data);
    g_main_context_unref (context);
    return;
  }
  g_mutex_init (&call.lock);
  g_cond_init (&call.cond);
  g_main_context_invoke (context, net_call_run, &call);
  g_mutex_lock (&call.lock);
  while (!call.done)
    g_cond_wait (&call.cond, &call.lock);
  g_mutex_unlock (&call.lock);
  g_mutex_clear (&call.lock);
  g_cond_clear (&call.cond);
  g_main_context_unref (context);
}
