"""Reading recorder pickles without running code: builtin values, numpy, torch and jax arrays.

A pickle names the functions it calls to rebuild its objects; :class:`TapeUnpickler` resolves
only an allow-list of them, and each torch or jax name to a small function of this module that
rebuilds the value with numpy alone. So a recorder holding scalar ``torch.Tensor``\\ s (what a
training loop writes when it forgets ``.item()``) reads back as numbers, whether or not torch
is installed, and neither torch nor the pickle gets to run anything:

- ``torch._utils._rebuild_tensor`` / ``_v2`` / ``_v3`` and ``_rebuild_parameter`` (and
  ``_rebuild_from_type_v2`` around them): a numpy array of the tensor's values, a numpy scalar
  for a 0-d tensor (``np.float32(1.5)`` for ``torch.tensor(1.5)``), on whatever device it was;
- ``torch.storage._load_from_bytes``: the bytes hold torch's legacy serialization (three small
  pickles, the storage's pickle, its keys, then each storage's raw values); they are parsed
  here by the same allow-list, never by ``torch.load``;
- ``jax._src.array._reconstruct_array``: the numpy array jax pickles inside its arrays.

Anything else raises :class:`UnsafePickleError` naming the global the pickle asked for, before
anything is called, and saying how to allow it: list the folder in the environment variable
``ALFRED_TRUSTED_PICKLE_DIRS`` (folders separated by ``os.pathsep``), a setting of the user,
never of a storage dir (storage dirs are often shared: a pickle in one is not your own data).
"""
from __future__ import annotations

import io
import os
import pickle
import struct
from pathlib import Path
from typing import Any, BinaryIO

from alfred.errors import AlfredError

__all__ = ["TRUST_ENV", "TapeUnpickler", "UnsafePickleError", "is_trusted", "load_tape_pickle"]

TRUST_ENV = "ALFRED_TRUSTED_PICKLE_DIRS"

# What pickle.dump of builtin values and numpy arrays/scalars refers to (protocols 0-5;
# numpy 1.x names its modules numpy.core, numpy 2.x numpy._core).
_PLAIN = frozenset({
    *(("builtins", n) for n in ("dict", "list", "tuple", "set", "frozenset", "int", "float", "complex", "bool",
                                "str", "bytes", "bytearray")),
    ("_codecs", "encode"),  # bytes in protocols 0-2
    ("collections", "OrderedDict"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),  # arrays in protocol 5
})
_RENAMED = {"__builtin__": "builtins", "numpy.core.multiarray": "numpy._core.multiarray",
            "numpy.core.numeric": "numpy._core.numeric"}

# torch's storage classes and dtypes (as pickles name them) -> numpy dtype ("bfloat16": converted)
_STORAGE_DTYPES = {"Float": "<f4", "Double": "<f8", "Half": "<f2", "BFloat16": "bfloat16", "Long": "<i8",
                   "Int": "<i4", "Short": "<i2", "Char": "i1", "Byte": "u1", "Bool": "?", "ComplexFloat": "<c8",
                   "ComplexDouble": "<c16", "Untyped": "u1"}
_TORCH_DTYPES = {"float32": "<f4", "float": "<f4", "float64": "<f8", "double": "<f8", "float16": "<f2",
                 "half": "<f2", "bfloat16": "bfloat16", "int64": "<i8", "long": "<i8", "int32": "<i4", "int": "<i4",
                 "int16": "<i2", "short": "<i2", "int8": "i1", "uint8": "u1", "bool": "?", "complex64": "<c8",
                 "complex128": "<c16", "uint16": "<u2", "uint32": "<u4", "uint64": "<u8"}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch's legacy serialization format
_LEGACY_PROTOCOL = 1001


class UnsafePickleError(AlfredError):
    """A pickle asked for a class or function outside the allowed ones; nothing was called."""

    def __init__(self, module: str, name: str, path: str | os.PathLike | None = None):
        self.wanted = f"{module}.{name}"
        self.path = path
        folder = os.path.dirname(os.path.abspath(path)) if path is not None else "<folder>"
        super().__init__(
            f"the pickle asks for {self.wanted}, which a recorder may not hold: unpickling it could run code "
            "(allowed: builtin values, numpy, torch and jax arrays and scalars); nothing was run. If you trust "
            f"the files there, allow them with: export {TRUST_ENV}={folder} (several folders: separated by "
            f"{os.pathsep!r}); or record plain numbers (e.g. .item()), or save the recorder as .jsonl or .csv")


def _trusted_dirs() -> list[Path]:
    return [Path(p).resolve() for p in os.environ.get(TRUST_ENV, "").split(os.pathsep) if p.strip()]


def is_trusted(path: str | os.PathLike) -> bool:
    """Whether ``path`` lies in a folder the user listed in ``ALFRED_TRUSTED_PICKLE_DIRS``."""
    dirs = _trusted_dirs()
    if not dirs:
        return False
    resolved = Path(path).resolve()
    return any(resolved == d or d in resolved.parents for d in dirs)


def _np_dtype(code: str):
    import numpy as np

    return np.dtype("<u2") if code == "bfloat16" else np.dtype(code)


def _decode(raw, code: str):
    """The values of a storage's raw bytes as a 1-D numpy array (bfloat16 widened to float32)."""
    import numpy as np

    values = np.frombuffer(raw, dtype=_np_dtype(code))
    if code == "bfloat16":  # numpy has no bfloat16: its bits are the upper half of a float32's
        values = (values.astype(np.uint32) << 16).view(np.float32)
    return values


class _StorageType:
    def __init__(self, code: str):
        self.code = code


class _TorchDtype:
    def __init__(self, code: str):
        self.code = code


class _Storage:
    """A torch storage read back: its raw bytes and the dtype they hold."""

    def __init__(self, raw: bytes, code: str):
        self.raw, self.code = raw, code

    def values(self, code: str | None = None):
        return _decode(self.raw, code or self.code)


def _rebuild_tensor(storage: _Storage, storage_offset: int, size, stride, dtype: _TorchDtype | None = None):
    """The tensor's values: numpy scalar for a 0-d tensor, else an array (indices bounds-checked)."""
    import numpy as np

    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("a torch tensor without a storage")
    values = storage.values(dtype.code if isinstance(dtype, _TorchDtype) else None)
    index = np.asarray(int(storage_offset), dtype=np.int64)
    for n, s in zip(size, stride):
        index = index[..., None] + np.arange(int(n), dtype=np.int64) * int(s)
    if index.size and (index.min() < 0 or index.max() >= values.size):
        raise pickle.UnpicklingError("a torch tensor reaching outside its storage")
    out = values[index]
    return out[()] if out.ndim == 0 else out


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None):
    return _rebuild_tensor(storage, storage_offset, size, stride, dtype)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    return data


def _rebuild_from_type_v2(func, new_type, args, state):
    return func(*args)  # func went through find_class: one of the rebuilders above


def _reconstruct_jax_array(fun, args, arr_state, aval_state):
    value = fun(*args)  # numpy's _reconstruct, resolved by find_class
    value.__setstate__(arr_state)
    return value


def _load_from_bytes(data: bytes) -> _Storage:
    """A storage in torch's legacy format (what ``pickle.dump`` of a tensor embeds), parsed with no torch."""
    f = io.BytesIO(data)
    if TapeUnpickler(f).load() != _LEGACY_MAGIC or TapeUnpickler(f).load() != _LEGACY_PROTOCOL:
        raise pickle.UnpicklingError("torch storage bytes in an unknown format")
    sys_info = TapeUnpickler(f).load()
    if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
        raise pickle.UnpicklingError("a big-endian torch storage")
    wanted: list[tuple] = []

    def persistent_load(pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"unknown torch persistent id {pid!r:.80}")
        wanted.append(pid)
        return pid

    inner = TapeUnpickler(f)
    inner.persistent_load = persistent_load
    inner.load()
    keys = TapeUnpickler(f).load()
    raw = {}
    codes = {str(pid[2]): pid[1].code for pid in wanted}
    for key in keys:
        (numel,) = struct.unpack("<q", f.read(8))
        nbytes = numel * _np_dtype(codes.get(str(key), "u1")).itemsize
        raw[str(key)] = f.read(nbytes)
        if len(raw[str(key)]) != nbytes:
            raise pickle.UnpicklingError("truncated torch storage")
    if not wanted:
        raise pickle.UnpicklingError("torch storage bytes without a storage")
    _, storage_type, key, _location, _numel, *view = wanted[0]
    data = raw[str(key)]
    if view and view[0]:  # a view of another storage (torch < 1.0): (view key, offset, size)
        _, offset, size = view[0]
        width = _np_dtype(storage_type.code).itemsize
        data = raw[str(key)][offset * width:(offset + size) * width]
    return _Storage(data, storage_type.code)


_TORCH_FUNCTIONS = {
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._utils", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,
    ("torch", "Tensor"): None, ("torch.nn.parameter", "Parameter"): None,  # types for _rebuild_from_type_v2
    ("jax._src.array", "_reconstruct_array"): _reconstruct_jax_array,
}


def _torch_name(module: str, name: str) -> Any:
    """The stand-in for a torch/jax global, or KeyError."""
    if (module, name) in _TORCH_FUNCTIONS:
        return _TORCH_FUNCTIONS[(module, name)]
    if module in ("torch", "torch.cuda", "torch.storage") and name.endswith("Storage") \
            and name[:-len("Storage")] in _STORAGE_DTYPES:
        return _StorageType(_STORAGE_DTYPES[name[:-len("Storage")]])
    if module == "torch" and name in _TORCH_DTYPES:
        return _TorchDtype(_TORCH_DTYPES[name])
    raise KeyError(name)


class TapeUnpickler(pickle.Unpickler):
    """Unpickles the allowed values only (module doc); ``path`` names the file in errors and is
    checked against ``ALFRED_TRUSTED_PICKLE_DIRS``, whose files may ask for anything."""

    def __init__(self, file: BinaryIO, *, path: str | os.PathLike | None = None, trusted: bool = False):
        super().__init__(file)
        self.path = path
        self.trusted = trusted

    def find_class(self, module: str, name: str) -> Any:
        # Every callable and class a pickle can use comes through here (GLOBAL, STACK_GLOBAL,
        # INST, and the copyreg extension codes): refusing here refuses before any call.
        wanted = (_RENAMED.get(module, module), name)
        if wanted in _PLAIN:
            if wanted[0].startswith("numpy._core."):
                import numpy

                if not hasattr(numpy, "_core"):  # numpy 1.x
                    wanted = ("numpy.core." + wanted[0][len("numpy._core."):], name)
            return super().find_class(*wanted)
        if module.split(".")[0] in ("torch", "jax"):
            try:
                return _torch_name(module, name)
            except KeyError:
                pass
        if self.trusted:
            return super().find_class(module, name)
        raise UnsafePickleError(module, name, self.path)


def load_tape_pickle(file: BinaryIO, *, path: str | os.PathLike | None = None, trusted: bool = False) -> Any:
    """Unpickle ``file`` allowing only the values of the module doc. ``path`` (the file's) names it
    in errors; a path in a folder of ``ALFRED_TRUSTED_PICKLE_DIRS``, or ``trusted=True``, allows
    any global (running whatever code the file names)."""
    trusted = trusted or (path is not None and is_trusted(path))
    return TapeUnpickler(file, path=path, trusted=trusted).load()
