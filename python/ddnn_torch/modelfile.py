"""The ddnn model file: a safetensors file written as libddnn writes it.

- The header is compact JSON (no spaces, members in insertion order, UTF-8
  kept as is), padded with spaces so the data starts 8-byte aligned.
- Tensors come in the canonical order: section by section as the topology
  lists them, each section's parameters in layer order.
- __metadata__ holds, in this order: format ("ddnn"), ddnn_version ("1"),
  model_id, sections (the present ones, comma-separated), section_digests
  (compact JSON, every section of the topology) and topology (compact JSON).
- A section's digest is SHA-256 over its tensors in canonical order, each as
  its name, a NUL byte, then its stored bytes.
- The model id is SHA-256 over the topology string and a NUL, then each
  section of the topology (present or not) as its name, a NUL, its digest
  (64 hex digits) and a NUL.

SPDX-License-Identifier: LGPL-2.1-or-later"""
import hashlib
import json
import struct
from collections import OrderedDict

import numpy as np

DTYPES = {"U8": np.uint8, "I8": np.int8, "F16": np.float16, "F32": np.float32,
          "I32": np.int32, "I64": np.int64, "F64": np.float64}


def _compact(value):
    """JSON as libddnn's writer (json-glib) prints it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def read_safetensors(data):
    """(tensors, metadata) of a safetensors file's bytes: tensors an ordered
    dict name -> (dtype, shape, bytes), metadata an ordered dict of strings."""
    if len(data) < 8:
        raise ValueError("not a safetensors file: shorter than its header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"header of {n} bytes in a file of {len(data)}")
    header = json.loads(data[8:8 + n].decode("utf-8"), object_pairs_hook=OrderedDict)
    metadata = header.pop("__metadata__", OrderedDict())
    body = data[8 + n:]
    tensors = OrderedDict()
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        if not 0 <= begin <= end <= len(body):
            raise ValueError(f"{name}: data offsets {begin}..{end} outside the data")
        tensors[name] = (entry["dtype"], list(entry["shape"]), bytes(body[begin:end]))
    return tensors, metadata


def write_safetensors(tensors, metadata):
    """The bytes of a safetensors file, tensors in the order given."""
    header = OrderedDict()
    data = bytearray()
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = OrderedDict([("dtype", dtype), ("shape", list(shape)),
                                    ("data_offsets", [len(data), len(data) + len(raw)])])
        data += raw
    if metadata:
        header["__metadata__"] = OrderedDict(metadata)
    text = _compact(header).encode("utf-8")
    padded = (len(text) + 7) & ~7
    return struct.pack("<Q", padded) + text + b" " * (padded - len(text)) + bytes(data)


class ModelFile:
    """A model file's topology, its sections, their digests and tensors."""

    def __init__(self, topology, tensors, digests=None):
        # the topology string is kept as written: the model id hashes it
        self.topology_text = topology if isinstance(topology, str) else _compact(topology)
        self.topology = json.loads(self.topology_text, object_pairs_hook=OrderedDict)
        self.tensors = OrderedDict(tensors)
        self.section_names = [s["name"] for s in self.topology["sections"]]
        self.digests = OrderedDict(digests or {})
        for name in self.section_names:
            if self.present(name):
                self.digests[name] = self.section_digest(name)
            elif name not in self.digests:
                raise ValueError(f"section {name} has neither tensors nor a digest")

    @classmethod
    def load(cls, path):
        with open(path, "rb") as f:
            return cls.from_bytes(f.read())

    @classmethod
    def from_bytes(cls, data):
        tensors, meta = read_safetensors(data)
        for key in ("format", "model_id", "section_digests", "topology"):
            if key not in meta:
                raise ValueError(f"not a ddnn model: __metadata__ has no {key}")
        if meta["format"] != "ddnn":
            raise ValueError(f"not a ddnn model: format {meta['format']!r}")
        model = cls(meta["topology"], tensors,
                    json.loads(meta["section_digests"], object_pairs_hook=OrderedDict))
        if model.model_id != meta["model_id"]:
            raise ValueError(f"model id {meta['model_id']} does not match its contents "
                             f"({model.model_id})")
        return model

    def section_tensors(self, section):
        prefix = section + "."
        return [(n, t) for n, t in self.tensors.items() if n.startswith(prefix)]

    def present(self, section):
        return bool(self.section_tensors(section))

    def section_digest(self, section):
        h = hashlib.sha256()
        for name, (_, _, raw) in self.section_tensors(section):
            h.update(name.encode() + b"\0")
            h.update(raw)
        return h.hexdigest()

    @property
    def model_id(self):
        h = hashlib.sha256(self.topology_text.encode() + b"\0")
        for name in self.section_names:
            h.update(name.encode() + b"\0" + self.digests[name].encode() + b"\0")
        return h.hexdigest()

    def array(self, name):
        """A tensor as a numpy array of its stored dtype and shape."""
        dtype, shape, raw = self.tensors[name]
        return np.frombuffer(raw, dtype=DTYPES[dtype]).reshape(shape)

    def to_bytes(self, sections=None):
        """The file, with every section or only those named."""
        keep = [s for s in self.section_names
                if self.present(s) and (sections is None or s in sections)]
        tensors = OrderedDict((n, t) for s in keep for n, t in self.section_tensors(s))
        meta = OrderedDict([("format", "ddnn"), ("ddnn_version", "1"),
                            ("model_id", self.model_id), ("sections", ",".join(keep)),
                            ("section_digests", _compact(self.digests)),
                            ("topology", self.topology_text)])
        return write_safetensors(tensors, meta)

    def save(self, path, sections=None):
        with open(path, "wb") as f:
            f.write(self.to_bytes(sections))
