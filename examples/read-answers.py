#!/usr/bin/python3
"""Reads ddnn-gst's answers and GstDdnnMeta from Python, in a pad probe.

Runs recorded cameras through the one-host DDNN (ddnndevice per camera →
ddnnaggregate → ddnnexit → ddnncloud) and, on every answer that leaves
ddnnexit's `exit` pad or ddnncloud, reads the buffer's GstDdnnMeta through
GObject introspection (GstDdnn-1.0): the sample, the tier, the scores and
the class they give, the entropy, the cameras that took part and the
features.  Prints one JSON line per answer.

usage: read-answers.py MODEL VIDEO_DIR
  VIDEO_DIR holds cam0.mkv ... camN.mkv (`ddnn dataset fmv --video DIR`).

With an uninstalled build, point GStreamer and GObject introspection at it:
  GST_PLUGIN_PATH=build/plugins/ddnn GI_TYPELIB_PATH=build/gst \\
  LD_LIBRARY_PATH=build/gst:build/lib examples/read-answers.py \\
  models/fmv6-binary.safetensors build/fmv6-500/video"""
import json
import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstDdnn", "1.0")
from gi.repository import GLib, Gst, GstDdnn  # noqa: E402


def on_answer(pad, info):
    meta = GstDdnn.buffer_get_meta(info.get_buffer())
    if meta is None:
        return Gst.PadProbeReturn.OK
    features = meta.get_features_as_floats()
    print(json.dumps({
        "sample": meta.sample,
        "tier": meta.get_tier_name(),
        "class": meta.get_class(),
        "scores": [round(s, 4) for s in meta.get_scores()],
        "entropy": round(meta.entropy, 6),
        "views": [v for v in range(64) if meta.view_mask >> v & 1],
        "features": {"dtype": meta.get_features_dtype(), "values": len(features or [])},
    }), flush=True)
    return Gst.PadProbeReturn.OK


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    model, videos = sys.argv[1], sys.argv[2]
    # a reader that stops early (`| head`) ends us quietly, as any filter
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    Gst.init(None)
    cams = sorted(f for f in os.listdir(videos) if f.startswith("cam") and f.endswith(".mkv"))
    description = (f"ddnnaggregate name=fuse model={model} ! ddnnexit name=exit model={model} "
                   f"exit.exit ! fakesink name=local async=false "
                   f"exit.next ! ddnncloud name=cloud model={model} ! fakesink async=false")
    for v, cam in enumerate(cams):
        description += (f" filesrc location={os.path.join(videos, cam)} ! matroskademux ! "
                        f"ddnndevice model={model} view={v} ! fuse.")
    pipeline = Gst.parse_launch(description)
    for name, pad in (("exit", "exit"), ("cloud", "src")):
        element = pipeline.get_by_name(name)
        element.get_static_pad(pad).add_probe(Gst.PadProbeType.BUFFER, on_answer)
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if msg.type == Gst.MessageType.ERROR:
        error, debug = msg.parse_error()
        sys.exit(f"read-answers: {error.message} ({debug})")


if __name__ == "__main__":
    main()
