# Sourced first by every pipeline script, with $here set to the folder above
# pipelines/: where the ddnn tool is, and where generated data, logs and
# results go ($build).
#
# In a source tree: its build/ (or $BUILD), with the tool and the plugins
# built there.  Installed (DATADIR/ddnn-gst/pipelines, beside
# DATADIR/ddnn-gst/models): the ddnn on PATH, the plugins GStreamer finds,
# and a work folder in the user's cache, or $BUILD.
if [ -n "${BUILD:-}" ] || [ -d "$here/build/tools" ]; then
  build=${BUILD:-$here/build}
  ddnn=$build/tools/ddnn
else
  build=${XDG_CACHE_HOME:-$HOME/.cache}/ddnn-gst
  ddnn=$(command -v ddnn || echo ddnn)
  mkdir -p "$build"
fi
