#!/bin/sh
# `meson install` into a temporary prefix (DESTDIR) gives both plugins, both
# libraries with their headers and pkg-config files, the ddnn tool, and the
# shipped models and pipeline scripts under share/ddnn-gst: gst-inspect-1.0
# finds every element in the installed plugins, the example compiles against
# the installed pkg-config files and runs, the installed tool loads a model,
# and the installed one-host.sh runs with the installed tool, plugins and
# model, from outside the source tree.
#
# usage: test_install.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

meson install -C "$build" --destdir "$tmp" --no-rebuild --quiet >/dev/null ||
  fail "meson install"
pc=$(find "$tmp" -name gstreamer-ddnn-1.0.pc | head -n 1)
[ -n "$pc" ] || fail "no gstreamer-ddnn-1.0.pc installed"
[ -f "$(dirname "$pc")/ddnn.pc" ] || fail "no ddnn.pc installed"
libdir=$(dirname "$(dirname "$pc")")
plugins=$libdir/gstreamer-1.0
for f in "$plugins/libgstddnn.so" "$plugins/libgstddnnnet.so"; do
  [ -f "$f" ] || fail "$f not installed"
done
tool=$(find "$tmp" -path '*/bin/ddnn' | head -n 1)
[ -x "$tool" ] || fail "the ddnn tool is not installed"

export LD_LIBRARY_PATH=$libdir
export GST_PLUGIN_SYSTEM_PATH_1_0="$(pkg-config --variable=pluginsdir gstreamer-1.0)"
export GST_PLUGIN_PATH_1_0=$plugins
export GST_REGISTRY_1_0=$tmp/registry.bin
for e in ddnndevice ddnnaggregate ddnnexit ddnncloud ddnnparse ddnnsink ddnnsrc; do
  gst-inspect-1.0 "$e" >/dev/null 2>&1 || fail "gst-inspect-1.0 does not find $e"
  gst-inspect-1.0 "$e" | grep -q "$plugins" || fail "$e does not come from the installed plugin"
done

# the .pc files name the prefix they were configured for; moved under DESTDIR
# they are read with that prefix moved too
mkdir "$tmp/pc"
for f in "$(dirname "$pc")"/*.pc; do
  prefix=$(sed -n 's/^prefix=//p' "$f")
  sed "s|^prefix=.*|prefix=$tmp$prefix|" "$f" > "$tmp/pc/$(basename "$f")"
done
flags=$(PKG_CONFIG_PATH=$tmp/pc pkg-config --cflags --libs gstreamer-ddnn-1.0) ||
  fail "pkg-config gstreamer-ddnn-1.0"
# shellcheck disable=SC2086
cc -o "$tmp/camera-app" "$src/examples/camera-app.c" $flags ||
  fail "the example does not build against the installed files"
"$tmp/camera-app" --help | grep -q -- --server || fail "the example does not run"
"$tool" inspect "$src/models/fmv6-binary.safetensors" | grep -q fmv6-binary ||
  fail "the installed tool does not load the shipped model"
share=$(find "$tmp" -type d -path '*/share/ddnn-gst' | head -n 1)
[ -n "$share" ] || fail "nothing installed under share/ddnn-gst"
for f in models/fmv6-binary.safetensors models/fmv6-edge.safetensors pipelines/one-host.sh \
    pipelines/edge.sh pipelines/where.sh; do
  [ -f "$share/$f" ] || fail "$f not installed under $share"
done
out=$(cd "$tmp" && env -u BUILD PATH="$(dirname "$tool"):$PATH" XDG_CACHE_HOME="$tmp/cache" \
  "$share/pipelines/one-host.sh" -n 30 2>&1) || fail "the installed one-host.sh failed: $out"
echo "$out" | grep -q "^30 samples" || fail "the installed one-host.sh answered: $out"
echo "installed: 2 plugins (7 elements), libddnn and libgstddnn-1.0 with headers and"
echo "pkg-config files, the ddnn tool, the models and pipeline scripts; the example built"
echo "against them and ran, and the installed one-host.sh answered 30 samples"
