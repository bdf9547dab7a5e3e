#!/usr/bin/python3
"""The version floor, checked: no call, type or constant of GStreamer newer
than 1.20 and none of libsoup newer than 3.0 in ddnn-gst's C sources,
according to the "version" (since) attributes of the installed
introspection data (/usr/share/gir-1.0).  GLib's floor (2.72) is enforced by
the compiler instead (GLIB_VERSION_MAX_ALLOWED in meson.build).

usage: check_api_floor.py SOURCE_DIR"""
import glob
import os
import re
import sys
import xml.etree.ElementTree as ET

C_NS = "{http://www.gtk.org/introspection/c/1.0}"
FLOORS = {"Gst": (1, 20), "Soup": (3, 0)}


def main():
    src = sys.argv[1]
    files = [f for pattern in ("gst/*.[ch]", "plugins/*/*.[ch]", "tools/ddnn/*.[ch]",
                               "examples/*.c", "tests/check/*/*.[ch]", "tests/benchmarks/*.c")
             for f in glob.glob(os.path.join(src, pattern))]
    used = {}
    for f in files:
        for name in set(re.findall(r"\b((?:gst|soup|GST|SOUP|Gst|Soup)[A-Za-z0-9_]+)\b",
                                   open(f).read())):
            used.setdefault(name, os.path.relpath(f, src))
    girs = [g for prefix in FLOORS for g in glob.glob(f"/usr/share/gir-1.0/{prefix}*.gir")]
    if not girs:
        print("SKIP: no GStreamer or libsoup introspection data in /usr/share/gir-1.0")
        sys.exit(77)
    too_new = []
    for gir in girs:
        floor = FLOORS["Soup" if os.path.basename(gir).startswith("Soup") else "Gst"]
        for el in ET.parse(gir).getroot().iter():
            name = el.get(C_NS + "identifier") or el.get(C_NS + "type")
            version = el.get("version")
            if name in used and version:
                since = tuple(int(x) for x in version.split(".")[:2])
                if since > floor:
                    too_new.append(f"{name} (since {version}, in {used[name]})")
    if too_new:
        print("FAIL: newer than the floor:\n  " + "\n  ".join(sorted(set(too_new))))
        sys.exit(1)
    print(f"ok: {len(used)} GStreamer and libsoup names, none newer than GStreamer 1.20 "
          f"or libsoup 3.0 ({len(girs)} introspection files)")


if __name__ == "__main__":
    main()
