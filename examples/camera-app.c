/* camera-app: one camera of a DDNN in a C application.
 *
 * It runs the camera's device section on its frames (ddnndevice), sends the
 * results, never the frames, to the edge (ddnnsink), and prints every
 * answer that comes back for its samples: from the edge, the cloud, or, when
 * they do not answer in time, its own, marked degraded.
 *
 *   camera-app --server ws://EDGE:9000/ddnn --token SECRET \
 *              --model fmv6-binary.safetensors --view 0 [--source SOURCE]
 *
 * SOURCE is a video file, "camera" (v4l2src), "test" (videotestsrc), or
 * "auto" (the default: the camera at /dev/video0 if there is one, else the
 * test source).  Frames are converted and scaled to what the model takes.
 *
 * Build it with the project, or out of tree against an installed ddnn-gst:
 *   cc camera-app.c -o camera-app \
 *     $(pkg-config --cflags --libs gstreamer-ddnn-1.0)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib-unix.h>
#include <gstddnnresult.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct
{
  GMainLoop *loop;
  guint answers, degraded;
  int status;
} App;

static gboolean
on_message (GstBus *bus, GstMessage *msg, gpointer data)
{
  App *app = data;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT: {
      const GstStructure *s = gst_message_get_structure (msg);
      guint64 sample = 0;
      gdouble confidence = 0;
      gboolean degraded = FALSE;

      if (!gst_structure_has_name (s, GST_DDNN_RESULT_NAME))
        break;
      gst_structure_get (s, "sample", G_TYPE_UINT64, &sample, "confidence",
          G_TYPE_DOUBLE, &confidence, "degraded", G_TYPE_BOOLEAN, &degraded,
          NULL);
      printf ("sample %" G_GUINT64_FORMAT ": %s (%s%s, confidence %.2f)\n",
          sample, gst_structure_get_string (s, "label"),
          gst_structure_get_string (s, "tier"), degraded ? ", degraded" : "",
          confidence);
      app->answers++;
      app->degraded += degraded;
      break;
    }
    case GST_MESSAGE_WARNING:
    case GST_MESSAGE_ERROR: {
      GError *error = NULL;
      gchar *debug = NULL;

      if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
        gst_message_parse_error (msg, &error, &debug);
      else
        gst_message_parse_warning (msg, &error, &debug);
      fprintf (stderr, "camera-app: %s: %s (%s)\n",
          GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR ? "error" : "warning",
          error->message, debug ? debug : "");
      if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
        app->status = 1;
        g_main_loop_quit (app->loop);
      }
      g_error_free (error);
      g_free (debug);
      break;
    }
    case GST_MESSAGE_EOS:
      g_main_loop_quit (app->loop);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_interrupt (gpointer data)
{
  App *app = data;

  g_main_loop_quit (app->loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  gchar *server = NULL, *token = NULL, *model_path = NULL, *source = NULL;
  gchar *results = NULL;
  gint view = 0, frames = 100;
  gboolean on_demand = FALSE;
  GOptionEntry entries[] = {
    { "server", 's', 0, G_OPTION_ARG_STRING, &server,
        "The edge's ddnnsrc: ws://HOST:PORT/ddnn or wss://...", "URL" },
    { "token", 't', 0, G_OPTION_ARG_STRING, &token,
        "The token the edge expects", "TOKEN" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path,
        "The DDNN model (whole, or exported with this camera's section)",
        "MODEL" },
    { "view", 'v', 0, G_OPTION_ARG_INT, &view, "This camera's view (default 0)",
        "N" },
    { "source", 'i', 0, G_OPTION_ARG_STRING, &source,
        "A video file, camera, test or auto (default)", "SOURCE" },
    { "frames", 'n', 0, G_OPTION_ARG_INT, &frames,
        "Frames to take from a camera or the test source (default 100; -1 = "
        "until interrupted)",
        "N" },
    { "results", 'o', 0, G_OPTION_ARG_FILENAME, &results,
        "Also append every answer to this file as a JSON line", "FILE" },
    { "features-on-demand", 'f', 0, G_OPTION_ARG_NONE, &on_demand,
        "Send scores alone; features only when the edge asks", NULL },
    { NULL },
  };
  GOptionContext *context = g_option_context_new (
      "- one camera of a distributed DNN: runs its section, sends the "
      "results to the edge, prints the answers");
  GError *error = NULL;
  DdnnModel *model;
  const DdnnInputSpec *input;
  GstElement *pipeline;
  GstBus *bus;
  gchar *src_desc, *launch;
  App app = { NULL, 0, 0, 0 };

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    fprintf (stderr, "camera-app: %s\n", error->message);
    return 2;
  }
  g_option_context_free (context);
  if (!server || !model_path) {
    fprintf (
        stderr, "camera-app: --server and --model are needed (see --help)\n");
    return 2;
  }

  /* the model says what the frames must become */
  model = ddnn_model_load (model_path, &error);
  if (!model) {
    fprintf (stderr, "camera-app: %s\n", error->message);
    return 1;
  }
  input = ddnn_model_get_input (model);

  if (!source || g_str_equal (source, "auto"))
    source = g_strdup (
        g_file_test ("/dev/video0", G_FILE_TEST_EXISTS) ? "camera" : "test");
  if (g_str_equal (source, "camera"))
    src_desc = g_strdup_printf ("v4l2src num-buffers=%d", frames);
  else if (g_str_equal (source, "test"))
    src_desc = g_strdup_printf (
        "videotestsrc num-buffers=%d pattern=ball is-live=true", frames);
  else {
    gchar *uri = gst_filename_to_uri (source, &error);

    if (!uri) {
      fprintf (stderr, "camera-app: %s\n", error->message);
      return 1;
    }
    src_desc = g_strdup_printf ("uridecodebin uri=\"%s\"", uri);
    g_free (uri);
  }
  launch = g_strdup_printf (
      "%s ! videoconvert ! videoscale ! "
      "video/x-raw,format=%s,width=%u,height=%u ! "
      "ddnndevice model=\"%s\" view=%d ! "
      "ddnnsink name=link location=\"%s\" model=\"%s\" features-on-demand=%s",
      src_desc, input->channels == 3 ? "RGB" : "GRAY8", input->width,
      input->height, model_path, view, server, model_path,
      on_demand ? "true" : "false");
  pipeline = gst_parse_launch (launch, &error);
  g_free (launch);
  g_free (src_desc);
  if (!pipeline) {
    fprintf (stderr,
        "camera-app: %s (are the ddnn plugins on "
        "GST_PLUGIN_PATH?)\n",
        error->message);
    return 1;
  }
  {
    GstElement *link = gst_bin_get_by_name (GST_BIN (pipeline), "link");

    if (token)
      g_object_set (link, "token", token, NULL);
    if (results)
      g_object_set (link, "results", results, NULL);
    gst_object_unref (link);
  }

  app.loop = g_main_loop_new (NULL, FALSE);
  bus = gst_element_get_bus (pipeline);
  gst_bus_add_watch (bus, on_message, &app);
  g_unix_signal_add (SIGINT, on_interrupt, &app);
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    fprintf (stderr, "camera-app: the pipeline does not start\n");
    app.status = 1;
  } else {
    g_main_loop_run (app.loop);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  fprintf (stderr, "camera-app: %u answers (%u degraded)\n", app.answers,
      app.degraded);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_main_loop_unref (app.loop);
  ddnn_model_unref (model);
  g_free (server);
  g_free (token);
  g_free (model_path);
  g_free (source);
  g_free (results);
  return app.status;
}
