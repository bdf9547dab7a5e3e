#!/bin/sh
# The Debian packages: `dpkg-buildpackage -us -uc -b` on a copy of the source
# builds libddnn0, libddnn-dev, gstreamer1.0-ddnn and ddnn-tools; they are
# unpacked with `dpkg -x` into an empty folder used as a root (a
# container-free, chroot-like prefix: the packages' files at their paths,
# no maintainer scripts run, nothing on the machine touched), and from there
# gst-inspect-1.0 finds every element in the packaged plugins, the camera
# example builds against the packaged -dev files through pkg-config, the
# packaged tool loads the packaged model, and the typelib is in place.
#
# usage: test_deb.sh SOURCE_DIR
set -eu
src=$1
for tool in dpkg-buildpackage dh fakeroot; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "SKIP: $tool is missing (Debian's dpkg-dev, debhelper, fakeroot)"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir "$tmp/ddnn-gst" "$tmp/root"
if [ -d "$src/.git" ]; then
  git -C "$src" ls-files -z | (cd "$src" && xargs -0 tar -cf -) | tar -xf - -C "$tmp/ddnn-gst"
else
  tar -C "$src" --exclude='./build*' --exclude='./obj-*' -cf - . | tar -xf - -C "$tmp/ddnn-gst"
fi
(cd "$tmp/ddnn-gst" && dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1) ||
  { tail -30 "$tmp/build.log"; fail "dpkg-buildpackage"; }
for p in libddnn0 libddnn-dev gstreamer1.0-ddnn ddnn-tools; do
  deb=$(ls "$tmp"/${p}_*.deb 2>/dev/null | head -n 1)
  [ -n "$deb" ] || fail "no $p package was built"
  dpkg -x "$deb" "$tmp/root"
done

arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
lib=$tmp/root/usr/lib/$arch
export LD_LIBRARY_PATH=$lib
export GST_PLUGIN_SYSTEM_PATH_1_0="$(pkg-config --variable=pluginsdir gstreamer-1.0)"
export GST_PLUGIN_PATH_1_0=$lib/gstreamer-1.0
export GST_REGISTRY_1_0=$tmp/registry.bin
for e in ddnndevice ddnnaggregate ddnnexit ddnncloud ddnnparse ddnnreplay ddnnsink ddnnsrc ddnnpublish; do
  gst-inspect-1.0 "$e" 2>/dev/null | grep -q "$lib/gstreamer-1.0" ||
    fail "gst-inspect-1.0 does not find $e in the packaged plugins"
done
# the .pc files say prefix=/usr; read from the unpacked root, it moves there
mkdir "$tmp/pc"
for f in "$lib"/pkgconfig/*.pc; do
  sed "s|^prefix=.*|prefix=$tmp/root/usr|" "$f" > "$tmp/pc/$(basename "$f")"
done
flags=$(PKG_CONFIG_PATH=$tmp/pc pkg-config --cflags --libs gstreamer-ddnn-1.0) ||
  fail "pkg-config does not find gstreamer-ddnn-1.0 in the -dev package"
# shellcheck disable=SC2086
cc -o "$tmp/camera-app" "$src/examples/camera-app.c" $flags ||
  fail "camera-app does not build against the packaged -dev files"
"$tmp/camera-app" --help | grep -q -- --server || fail "camera-app does not run"
"$tmp/root/usr/bin/ddnn" inspect "$tmp/root/usr/share/ddnn-gst/models/fmv6-edge.safetensors" |
  grep -q fmv6-edge || fail "the packaged tool does not load the packaged model"
[ -f "$lib/girepository-1.0/GstDdnn-1.0.typelib" ] || fail "no typelib in libddnn0"
echo "ok: 4 packages built, unpacked into an empty root; 9 elements found, camera-app"
echo "built against libddnn-dev, the packaged tool loaded the packaged model"
