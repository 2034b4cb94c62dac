"""Minimal safetensors writer/reader (format: u64 LE header length, JSON header, raw little-endian data).
BF16 tensors are written from their bit patterns (safetensors_io.BF16) and read back as float32."""
import json
import struct

import numpy as np

_DT = {np.dtype("float32"): "F32", np.dtype("int64"): "I64", np.dtype("float64"): "F64", np.dtype("int32"): "I32"}
_NP = {v: k for k, v in _DT.items()}


class BF16:
    """A bfloat16 tensor for save(): bits = its uint16 bit patterns (numpy has no bfloat16)."""

    def __init__(self, bits):
        self.bits = np.ascontiguousarray(bits, dtype=np.uint16)


def bf16_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def save(path, tensors, metadata=None):
    """tensors: dict name -> numpy array (C-contiguous). Names are written sorted, data 8-byte aligned."""
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        if isinstance(tensors[name], BF16):
            a, dt = tensors[name].bits, "BF16"
        else:
            a = np.ascontiguousarray(tensors[name])
            dt = _DT[a.dtype]
        b = a.tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        s, e = info["data_offsets"]
        if info["dtype"] == "BF16":  # read as float32 (exact)
            out[name] = bf16_to_f32(np.frombuffer(data[s:e], dtype=np.uint16)).reshape(info["shape"]).copy()
        else:
            out[name] = np.frombuffer(data[s:e], dtype=_NP[info["dtype"]]).reshape(info["shape"]).copy()
    return out
