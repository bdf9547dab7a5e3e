"""ddnn_torch: ddnn model files from Python.

This first part reads and writes the model file itself (a safetensors file
whose metadata holds the topology, the section digests and the model id),
byte for byte as libddnn does, with nothing beyond the standard library and
numpy.  See models/README.md for the format and the rules a reader follows.

SPDX-License-Identifier: LGPL-2.1-or-later"""

from .modelfile import ModelFile, read_safetensors, write_safetensors  # noqa: F401

try:
    from .network import DdnnNetwork  # noqa: F401
except ImportError:  # no torch: the model file alone still works
    pass
