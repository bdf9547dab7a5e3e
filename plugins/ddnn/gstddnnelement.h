/* What ddnnexit and ddnncloud share: taking a sample's meta (parsing a
 * frame, rejecting a malformed one), routing a sample to one of two pads,
 * and finding out whether answers go back upstream.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstflowcombiner.h>
#include <gstddnnmeta.h>

G_BEGIN_DECLS

/* The meta of @buffer (writable), parsed from its payload if need be.  A
 * malformed frame is dropped with a warning giving the reason and counted
 * in @rejected (under the element's object lock): NULL, @buffer unreffed. */
GstDdnnMeta *gst_ddnn_element_take_meta (
    GstElement *element, GstBuffer *buffer, guint64 *rejected);

/* Pushes @buffer on @out, with a GAP for its time on @idle so that nothing
 * downstream of it waits, and combines the two pads' flows. */
GstFlowReturn gst_ddnn_push_routed (
    GstFlowCombiner *combiner, GstPad *out, GstPad *idle, GstBuffer *buffer);

/* @sinkpad if something upstream takes answers back (a ddnnsrc), else
 * NULL; asked once, the answer kept in @cache (-1 until asked). */
GstPad *gst_ddnn_answer_pad (GstPad *sinkpad, gint *cache);

G_END_DECLS
