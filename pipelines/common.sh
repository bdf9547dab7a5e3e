# Sourced by the pipeline scripts and by those that start ddnn servers
# (three-hosts.sh, the demo, tests/robustness.sh).
#
# Tokens never go on a command line, where any user's `ps` shows them:
# the scripts take a file (-k FILE, passed as token-file=FILE) or the
# environment variable DDNN_TOKEN, which ddnnsink and ddnnsrc read when
# given neither token nor token-file.

# port_of LOG: waits (up to 10 s) for the "ddnn-listening" line that a
# ddnnsrc under gst-launch-1.0 -m prints into LOG, and prints its port;
# fails if none comes.
port_of() {
  _i=0
  while ! grep -q 'ddnn-listening' "$1" 2>/dev/null; do
    _i=$((_i + 1))
    [ $_i -lt 200 ] || { echo "no server started: see $1" >&2; return 1; }
    sleep 0.05
  done
  sed -n 's/.*ddnn-listening, port=(int)\([0-9]*\).*/\1/p' "$1" | head -n 1
}

# clock_port_of LOG: the same for the UDP port of the shared clock.
clock_port_of() {
  port_of "$1" >/dev/null || return 1
  sed -n 's/.*ddnn-listening.*clock-port=(int)\([0-9-]*\).*/\1/p' "$1" | head -n 1
}

# link_bytes LOG FIELD: the sum of FIELD (bytes, payload-bytes, ...) over
# the ddnn-sink-stats messages that gst-launch-1.0 -m printed into LOG.
link_bytes() {
  grep 'ddnn-sink-stats' "$1" 2>/dev/null |
    sed -n "s/.*[ ,]$2=(guint64)\([0-9]*\).*/\1/p" |
    awk '{ total += $1 } END { print total + 0 }'
}

# answers FILE: one line per answer in FILE (ddnnexit's, ddnncloud's or
# ddnnsink's JSON lines), tab-separated: sample, class, tier (", degraded"
# appended when it was) and class name. A line still being written is
# skipped.
answers() {
  jq -rR 'fromjson? | [.sample, .class,
    .tier + (if .degraded then ", degraded" else "" end), .label] | @tsv' "$1"
}

# token_check FILE: fails with a message unless FILE (when given) is a
# readable file.
token_check() {
  [ -z "$1" ] || [ -r "$1" ] || { echo "cannot read the token file $1" >&2; exit 2; }
}
