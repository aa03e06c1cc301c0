"""Recorders holding torch tensors and jax arrays read back as numbers, without torch and without
running code; ALFRED_TRUSTED_PICKLE_DIRS for anything else; every refusal names the global and
how to allow it.

The pickles are built opcode by opcode (tests/torch_pickles.py) so that these tests run
without torch; where torch is installed (CI installs it), real torch pickles are read too, in a
process where importing torch is blocked, and the hand-built ones are checked against torch.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO
from test_compat_scripts import fake_search
from torch_pickles import jax_array_opcodes, storage_bytes, tape_pickle, tensor_opcodes

from alfred.results.loading import LoadReport, load_curves
from alfred.results.settings import resolve_settings
from alfred.utils.misc import AlfredError
from alfred.utils.recorder import Recorder
from alfred.utils.safe_pickle import TRUST_ENV, UnsafePickleError, load_tape_pickle

NO_TORCH = "import sys; sys.modules['torch'] = None; sys.modules['jax'] = None\n"  # import torch now fails


def read_without_torch(path) -> dict:
    """The tape of ``path`` read by alfred in a fresh process that cannot import torch or jax."""
    code = NO_TORCH + ("from alfred.utils.recorder import Recorder\nimport json, sys\n"
                       "tape = Recorder.init_from_pickle_file(sys.argv[1]).tape\n"
                       "plain = lambda v: getattr(v, 'tolist', lambda: v)()\n"
                       "print(json.dumps({k: [plain(v) for v in vs] for k, vs in tape.items()}))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_hand_built_tensor_pickles_read_as_numpy_values_without_torch(tmp_path):
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    tape = {
        "loss": [tensor_opcodes(np.float32(1.5)), tensor_opcodes(np.float64(-2.25)), None],
        "step": [tensor_opcodes(np.int64(7)), 8, tensor_opcodes(np.int32(9))],
        "grid": [tensor_opcodes(base), tensor_opcodes(base.T, stride=(1, 4), storage=base.reshape(-1)),
                 tensor_opcodes(base[1], offset=4, size=(4,), stride=(1,), storage=base.reshape(-1))],
        "other": [tensor_opcodes(np.bool_(True)), tensor_opcodes(np.float16(0.5), location="cuda:0"),
                  jax_array_opcodes(np.array([1.0, 2.0]))],
    }
    path = tmp_path / "train_recorder.pkl"
    path.write_bytes(tape_pickle(tape))
    got = read_without_torch(path)
    assert got["loss"] == [1.5, -2.25, None] and got["step"] == [7, 8, 9]
    assert got["grid"] == [base.tolist(), base.T.tolist(), base[1].tolist()]
    assert got["other"] == [True, 0.5, [1.0, 2.0]]
    loaded = Recorder.init_from_pickle_file(filename=path).tape  # 0.2's keyword
    assert isinstance(loaded["loss"][0], np.float32) and loaded["loss"][0].item() == 1.5  # .item() still works
    assert loaded["grid"][1].shape == (4, 3)


def test_a_tensor_reaching_outside_its_storage_is_refused_not_read(tmp_path):
    bad = tensor_opcodes(np.zeros(2, dtype=np.float32), size=(3,), stride=(1000,))
    with pytest.raises(pickle.UnpicklingError, match="outside its storage"):
        load_tape_pickle(io.BytesIO(tape_pickle({"x": [bad]})))
    truncated = storage_bytes(np.arange(4, dtype=np.float64))[:-8]
    with pytest.raises(pickle.UnpicklingError, match="truncated"):
        from alfred.utils.safe_pickle import _load_from_bytes

        _load_from_bytes(truncated)


def test_summaries_read_tensor_recorders(tmp_path):
    """A search whose recorders hold scalar tensors is summarised like any other (no seed unreadable)."""
    storage = fake_search(tmp_path, "Ab1_nogit_a_t_grid_x", {"episode": [0, 1, 2], "eval_return": [1.0, 2.0, 3.0]})
    for seed, recorder in enumerate(sorted(storage.glob("experiment1/seed*/recorders/train_recorder.pkl")), 1):
        recorder.write_bytes(tape_pickle({"episode": [tensor_opcodes(np.int64(e)) for e in range(3)],
                                          "eval_return": [tensor_opcodes(np.float32(v + seed)) for v in (1, 2, 3)]}))
    report = LoadReport()
    (curves,) = load_curves(storage, y_metric="eval_return", x_metric="episode", report=report).values()
    assert report.unreadable == [] and report.loaded == 2
    np.testing.assert_array_equal(curves.y, [[2, 3, 4], [3, 4, 5]])
    np.testing.assert_array_equal(curves.x, [0, 1, 2])
    assert resolve_settings(storage).y_metric == "eval_return"


def test_unreadable_recorders_say_why_instead_of_no_recorder(tmp_path):
    storage = fake_search(tmp_path, "Ab1_nogit_a_t_grid_x", {"episode": [0, 1], "eval_return": [1.0, 2.0]})
    for recorder in storage.glob("experiment1/seed*/recorders/train_recorder.pkl"):
        recorder.write_bytes(pickle.dumps({"episode": [0], "eval_return": [1.0], "when": __import__("datetime").date(
            2021, 1, 1)}))
    with pytest.raises(AlfredError) as e:
        resolve_settings(storage)
    message = str(e.value)
    assert "could be read" in message and "asks for datetime.date" in message and "no recorder" not in message
    assert f"export {TRUST_ENV}=" in message and "nothing was run" in message


def test_a_folder_the_user_trusts_may_hold_any_pickle(tmp_path, monkeypatch):
    import datetime

    trusted, other = tmp_path / "mine", tmp_path / "shared"
    for folder in (trusted, other):
        (folder / "seed1").mkdir(parents=True)
        with open(folder / "seed1" / "train_recorder.pkl", "wb") as f:
            pickle.dump({"day": [datetime.date(2021, 1, 1)]}, f)
    with pytest.raises(UnsafePickleError) as e:
        Recorder.init_from_pickle_file(trusted / "seed1" / "train_recorder.pkl")
    assert e.value.wanted == "datetime.date"
    assert f"export {TRUST_ENV}={trusted / 'seed1'}" in str(e.value)
    monkeypatch.setenv(TRUST_ENV, os.pathsep.join([str(tmp_path / "elsewhere"), str(trusted)]))
    assert Recorder.init_from_pickle_file(trusted / "seed1" / "train_recorder.pkl").tape == {
        "day": [datetime.date(2021, 1, 1)]}
    with pytest.raises(UnsafePickleError):  # a folder beside it is not trusted
        Recorder.init_from_pickle_file(other / "seed1" / "train_recorder.pkl")
    monkeypatch.setenv(TRUST_ENV, str(tmp_path / "mine-not"))  # a name that merely starts the same is not it
    with pytest.raises(UnsafePickleError):
        Recorder.init_from_pickle_file(trusted / "seed1" / "train_recorder.pkl")


# ---------------------------------------------------------------------------- with the real torch
# CI installs torch (.ci/run); elsewhere these skip, saying so.

def test_real_torch_tensors_read_without_torch(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed (CI installs torch==2.13.0, the CPU build)")
    w = torch.ones(3, requires_grad=True)
    loss = (w * 2.0).sum()  # in the autograd graph: a deep copy would fail, the recorder detaches it
    recorder = Recorder(["loss", "q", "weights", "flags", "bf16", "step"])
    recorder.write_to_tape({"loss": loss, "q": torch.tensor([[1.0, 2.0], [3.0, 4.0]]).t(), "step": 0})
    recorder.write_to_tape({"weights": torch.nn.Parameter(torch.arange(4.0)), "flags": torch.tensor([True, False]),
                            "bf16": torch.tensor(1.25, dtype=torch.bfloat16), "step": torch.tensor(1)})
    recorder.write_to_tape({"loss": torch.tensor(2.5, dtype=torch.float64), "q": torch.arange(10)[2:8:3],
                            "step": torch.tensor(2, dtype=torch.int32)})
    path = tmp_path / "train_recorder.pkl"
    recorder.save(path)
    got = read_without_torch(path)
    assert got == {"loss": [6.0, None, 2.5], "q": [[[1.0, 3.0], [2.0, 4.0]], None, [2, 5]],
                   "weights": [None, [0.0, 1.0, 2.0, 3.0], None], "flags": [None, [True, False], None],
                   "bf16": [None, 1.25, None], "step": [0, 1, 2]}
    for protocol in (0, 2, 4, pickle.HIGHEST_PROTOCOL):  # every protocol torch users pickle with
        data = pickle.dumps({"x": [torch.tensor(0.75), torch.tensor([1, 2], dtype=torch.int16)]}, protocol=protocol)
        loaded = load_tape_pickle(io.BytesIO(data))
        assert loaded["x"][0] == np.float32(0.75) and loaded["x"][1].tolist() == [1, 2]


def test_hand_built_pickles_are_what_torch_writes():
    torch = pytest.importorskip("torch", reason="torch is not installed (CI installs torch==2.13.0, the CPU build)")
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    data = tape_pickle({"a": [tensor_opcodes(base.T, stride=(1, 4), storage=base.reshape(-1)),
                              tensor_opcodes(np.int64(3))]})
    real = pickle.loads(data)  # torch's own unpickling of the hand-built bytes
    assert torch.equal(real["a"][0], torch.tensor(base.T)) and real["a"][1].item() == 3 and real["a"][1].dim() == 0
