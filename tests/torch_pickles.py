"""Pickles of torch tensors and jax arrays built opcode by opcode, without torch or jax: what
``pickle.dump`` of a tape holding them writes (checked against real torch in
tests/test_recorder_tensors.py, where torch is installed)."""
from __future__ import annotations

import pickle
import struct

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
STORAGE_CLASSES = {np.dtype("float32"): "FloatStorage", np.dtype("float64"): "DoubleStorage",
                   np.dtype("int64"): "LongStorage", np.dtype("int32"): "IntStorage", np.dtype("bool"): "BoolStorage",
                   np.dtype("float16"): "HalfStorage", np.dtype("uint8"): "ByteStorage"}


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _text(s: str) -> bytes:
    data = s.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _bytes(data: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(data)) + data  # BINBYTES (protocol 3)


def _int(n: int) -> bytes:
    return b"J" + struct.pack("<i", n)


def _tuple(items: list[bytes]) -> bytes:
    return b"(" + b"".join(items) + b"t"


def storage_bytes(values: np.ndarray, location: str = "cpu", module: str = "torch") -> bytes:
    """torch's legacy serialization of a storage holding ``values`` (what torch.storage._load_from_bytes reads)."""
    values = np.ascontiguousarray(values).reshape(-1)
    head = b"".join(pickle.dumps(x, protocol=2) for x in (
        LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True,
                             "type_sizes": {"short": 2, "int": 4, "long": 4}}))
    key = "94638480470880"
    pid = _tuple([_text("storage"), _global(module, STORAGE_CLASSES[values.dtype]), _text(key), _text(location),
                  _int(values.size), b"N"])
    obj = b"\x80\x02" + pid + b"Q."  # BINPERSID
    return head + obj + pickle.dumps([key], protocol=2) + struct.pack("<q", values.size) + values.tobytes()


def tensor_opcodes(values, *, stride=None, offset: int = 0, size=None, location: str = "cpu",
                   storage: np.ndarray | None = None) -> bytes:
    """Opcodes rebuilding one tensor: torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, {})."""
    values = np.asarray(values)
    storage = values.reshape(-1) if storage is None else storage
    size = values.shape if size is None else size
    if stride is None:
        stride = tuple(int(np.prod(size[i + 1:])) for i in range(len(size)))
    load = _global("torch.storage", "_load_from_bytes") + _bytes(storage_bytes(storage, location)) + b"\x85R"
    args = [load, _int(offset), _tuple([_int(n) for n in size]), _tuple([_int(s) for s in stride]), b"\x89",
            _global("collections", "OrderedDict") + b")R"]
    return _global("torch._utils", "_rebuild_tensor_v2") + _tuple(args) + b"R"


def jax_array_opcodes(values: np.ndarray) -> bytes:
    """Opcodes rebuilding a jax Array as jax >= 0.4 pickles it: _reconstruct_array(fun, args, state, aval_state),
    fun and args being numpy's own reduction of the value."""
    fun, args, state = np.asarray(values).__reduce__()
    parts = [pickle.dumps(x, protocol=3)[2:-1] for x in (fun, args, state)]  # BINPUT indices: fragments stay apart
    return _global("jax._src.array", "_reconstruct_array") + b"(" + b"".join(parts) + b"NtR"


def tape_pickle(tape: dict[str, list[bytes | object]]) -> bytes:
    """A pickled ``{metric: [values]}``; a value given as bytes is taken as opcodes (a tensor), others pickled."""
    out = b"\x80\x03}("
    for key, values in tape.items():
        out += _text(key) + b"]("
        for v in values:
            out += v if isinstance(v, bytes) else pickle.dumps(v, protocol=3)[2:-1]
        out += b"e"
    return out + b"u."
