#!/bin/sh
# Installs the Debian packages of build-aux/debian-packages.txt that are
# missing.  With "bench", the [bench] ones too.  Does nothing (and needs no
# network) when everything is there.
set -eu
list="$(dirname "$0")/debian-packages.txt"
want_bench=${1:-}

missing=""
while read -r pkg tag; do
  case "$pkg" in ''|'#'*) continue ;; esac
  if [ "$tag" = "[bench]" ] && [ "$want_bench" != bench ]; then
    continue
  fi
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  case "$status" in
    *"ok installed") ;;
    *) missing="$missing $pkg" ;;
  esac
done < "$list"

[ -z "$missing" ] && exit 0

echo "installing:$missing"
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to install:$missing" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing
