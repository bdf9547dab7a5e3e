"""Topologies as libddnn writes them.

libddnn stores a model's topology as compact JSON printed by json-glib:
members in order, no spaces, integers as integers, and every other number
to 17 significant digits ("%.17g": 0.452 prints as 0.45200000000000001).
`dumps` prints the same; `parse` keeps member order and the difference
between 1 and 1.0 (json-glib keeps it too).

SPDX-License-Identifier: LGPL-2.1-or-later"""
import json
import math
from collections import OrderedDict

import numpy as np


def parse(text):
    return json.loads(text, object_pairs_hook=OrderedDict)


def _number(x):
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if not math.isfinite(x):
        raise ValueError("JSON has no infinities or NaN")
    return "%.17g" % x


def dumps(value):
    """Compact JSON as json-glib prints it."""
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + dumps(v)
                              for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    return _number(value)


def set_threshold(text, tier, threshold):
    """The topology @text with its "local" or "edge" threshold set, rounded
    to three decimals as libddnn does (ddnn_model_set_threshold)."""
    if tier not in ("local", "edge") or not 0.0 <= threshold <= 1.0:
        raise ValueError("a local or edge threshold from 0 to 1")
    topo = parse(text)
    topo.setdefault("thresholds", OrderedDict())
    # C's round() is half away from zero; thresholds are not negative
    topo["thresholds"][tier] = math.floor(threshold * 1000.0 + 0.5) / 1000.0
    return dumps(topo)


def threshold_for(entropies, need):
    """The threshold under which at least @need of @entropies fall, as
    libddnn chooses it (threshold_for in lib/ddnn-eval.c): the need-th
    smallest (a float32), plus 1e-7, rounded up to three decimals, at
    most 1."""
    e = sorted(float(np.float32(x)) for x in entropies)
    need = min(max(need, 1), len(e))
    # (float + double in C: the sum is a double)
    t = math.ceil((e[need - 1] + 1e-7) * 1000.0) / 1000.0
    return min(t, 1.0)
