/* The ddnn command: what its commands share.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"

#include <ddnn.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

G_BEGIN_DECLS

/* Prints "ddnn: MESSAGE", frees @error and returns exit status 1. */
int ddnn_cli_fail (GError *error);

/* Parses a command's options; prints --help and usage errors itself.
 * Returns -1 when the caller should go on, else the exit status. */
int ddnn_cli_parse_options (const gchar *command, const gchar *args,
    const gchar *summary, const gchar *description, GOptionEntry *entries,
    int *argc, char ***argv);

/* ddnn_dataset_match_classes() against @model's classes. */
gboolean ddnn_cli_match_classes (
    DdnnDataset *data, DdnnModel *model, gboolean remap, GError **error);

/* The --remap option's help. */
#define DDNN_CLI_REMAP_HELP                                                    \
  "When the data set names the model's classes in another order, map its "     \
  "labels onto the model's order by name (without it, that is an error)"

/* Prints @builder's value as one line of JSON on stdout. */
void ddnn_cli_print_json (JsonBuilder *builder);

/* JSON output through json-glib's builder.  A number is rounded first to
 * @digits decimals, or, when @digits is negative, to -@digits significant
 * digits (-9 keeps a float exactly), so that it holds the value it means
 * (json-glib prints every double with 17 digits).  One that is not finite
 * (NaN, infinity) is written as null, and its name goes into @nulls, which
 * ddnn_cli_json_end_nulls() turns into a "null_reasons" member saying why.
 * A NULL @name adds an array element. */
void ddnn_cli_json_number (JsonBuilder *b, GHashTable *nulls, const gchar *name,
    double value, gint digits);
void ddnn_cli_json_floats (JsonBuilder *b, GHashTable *nulls, const gchar *name,
    const float *values, guint n);
void ddnn_cli_json_uint (JsonBuilder *b, const gchar *name, guint64 value);
void ddnn_cli_json_string (
    JsonBuilder *b, const gchar *name, const gchar *value);
/* Adds "null_reasons" (name -> why) when a number was written as null, and
 * frees @nulls. */
void ddnn_cli_json_end_nulls (JsonBuilder *b, GHashTable *nulls);
GHashTable *ddnn_cli_json_nulls_new (void);

/* decode.c: pictures and videos through stock GStreamer elements, in
 * process.  A decoder takes one camera's pictures, all of one format, each
 * coming back as width x height x @channels bytes (GRAY8 or RGB) at its own
 * size; a video comes back as @n_frames frames scaled to width x height. */
typedef struct _DdnnDecoder DdnnDecoder;
DdnnDecoder *ddnn_decoder_new (guint channels, GError **error);
gboolean ddnn_decoder_picture (DdnnDecoder *d, const gchar *path,
    guint8 **pixels, guint *width, guint *height, GError **error);
void ddnn_decoder_free (DdnnDecoder *d);
GBytes *ddnn_decode_video (const gchar *path, guint channels, guint width,
    guint height, guint *n_frames, GError **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdnnDecoder, ddnn_decoder_free)

/* eval-adaptive.c: the adaptive exit (@params) replayed over the @n
 * samples of @results (from sample @first of @data) in order, beside the
 * fixed @threshold, in windows of @window_size; prints a table (or JSON),
 * writes the figure to @svg_path and each sample's decision (CSV) to
 * @decisions_path when given; sample k comes at k / @fps seconds. */
gboolean ddnn_eval_adaptive (DdnnModel *model, const DdnnDataset *data,
    guint first, guint n, DdnnSampleResult *results, double threshold,
    double edge_threshold, const DdnnAdaptiveParams *params, guint window_size,
    gboolean json, const gchar *svg_path, const gchar *decisions_path,
    double fps, GError **error);

/* The commands, one file each. */
int cmd_arch (int argc, char **argv);
int cmd_dataset (int argc, char **argv);
int cmd_dataset_fmv (int argc, char **argv);
int cmd_dataset_import (int argc, char **argv);
int cmd_inspect (int argc, char **argv);
int cmd_init (int argc, char **argv);
int cmd_export (int argc, char **argv);
int cmd_train (int argc, char **argv);
int cmd_eval (int argc, char **argv);
int cmd_run (int argc, char **argv);

G_END_DECLS
