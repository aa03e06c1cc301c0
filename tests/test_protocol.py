"""The seed protocol, one transition at a time, in-process (the races with real processes are in
test_fencing.py, test_windows.py, test_crash.py and test_concurrency.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alfred.protocol import attempts, flags
from alfred.protocol.layout import COMPLETED, CRASH, OPENED, UNHATCHED, is_seed_flag
from alfred.protocol.reset import reset, roll_forward
from alfred.protocol.seed_state import (
    HOSTNAME,
    MIN_STALE_S,
    SeedState,
    SeedStatus,
    check_stale_after,
    lease_s,
    pid_start_time,
    read_flag_info,
    seed_state,
    stale_threshold,
)
from alfred.utils.config import save_dict_to_json
from alfred.utils.directory_tree import DirectoryTree
from alfred.utils.preemption import latest_checkpoint

CLEANER = {"token": "c0ffee00c0ffee00", "host": HOSTNAME, "pid": os.getpid()}


@pytest.fixture
def seed_tree(tmp_path) -> DirectoryTree:
    """A prepared seed folder: config.json, config_unique.json, UNHATCHED (as prepare makes it)."""
    tree = DirectoryTree.from_parts(tmp_path / "storage", "Se1_nogit_a_b_grid_x", 1, 1)
    tree.seed_dir.mkdir(parents=True)
    save_dict_to_json({"lr": 0.1, "seed": 1}, tree.config_path)
    save_dict_to_json({"lr": 0.1, "seed": 1}, tree.config_unique_path)
    tree.flag_path(UNHATCHED).touch()
    return tree


def flags_in(tree) -> list[str]:
    """Every flag in a seed folder: exactly one at every instant."""
    return sorted(n for n in os.listdir(tree.seed_dir) if is_seed_flag(n))


def kind_of(tree) -> str:
    (flag,) = flags_in(tree)
    return flag.split(".")[0] if flag != CRASH else CRASH


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()  # exited and reaped: the pid names no process now
    return p.pid


def claim(tree, worker="w0", **kwargs) -> flags.Claim:
    c = flags.claim(tree, worker_id=worker, heartbeat_s=5.0, tree_type=DirectoryTree, **kwargs)
    assert c is not None
    return c


# Claim, run folder, complete -------------------------------------------------------------------

def test_claim_succeeds_once_and_gets_its_own_folder(seed_tree):
    c = claim(seed_tree, extra={"job": "42"})
    assert flags_in(seed_tree) == [f"OPENED.{c.token}"]
    info = read_flag_info(c.path)
    assert info["host"] == HOSTNAME and info["pid"] == os.getpid() and info["token"] == c.token
    assert info["worker_id"] == "w0" and info["heartbeat_s"] == 5.0 and info["job"] == "42" and info["attempt"] == 1
    assert info["stale_after_s"] == max(5 * 5.0, MIN_STALE_S)  # the threshold the holder keeps to
    assert {"boot_id", "pid_ns", "pid_start"} <= set(info)  # the pid can be judged only in its own PID space
    # main writes into its own files only, named by its token: nothing under the plain names yet
    assert c.tree.run_token == c.token and c.tree.recorders_dir == seed_tree.seed_dir / f"recorders.{c.token}"
    assert c.tree.recorders_dir.is_dir() and c.tree.incrementals_dir.is_dir()
    assert c.tree.log_path == seed_tree.seed_dir / f"logger.out.{c.token}"
    assert not (seed_tree.seed_dir / "recorders").exists()
    assert flags.claim(seed_tree, worker_id="w1", heartbeat_s=5.0) is None
    assert read_flag_info(c.path)["worker_id"] == "w0"


def test_complete_publishes_the_run_files_under_the_plain_names(seed_tree):
    c = claim(seed_tree)
    (c.tree.recorders_dir / "train.jsonl").write_text('{"step": 0}\n')
    (c.tree.incrementals_dir / "ckpt.pt").write_bytes(b"ckpt")
    c.tree.log_path.write_text("a line\n")
    assert flags.heartbeat(c) is True
    assert flags.complete(c) is True
    assert flags_in(seed_tree) == [COMPLETED]
    assert (seed_tree.recorders_dir / "train.jsonl").read_text() == '{"step": 0}\n'
    assert (seed_tree.incrementals_dir / "ckpt.pt").read_bytes() == b"ckpt"
    assert seed_tree.log_path.read_text() == "a line\n"
    assert sorted(os.listdir(seed_tree.seed_dir)) == sorted(["COMPLETED", "config.json", "config_unique.json",
                                                             "recorders", "incrementals", "logger.out"])
    info = read_flag_info(seed_tree.flag_path(COMPLETED))
    assert info["token"] == c.token and "end_time" in info and info["duration_s"] >= 0
    assert flags.complete(c) is False and flags.heartbeat(c) is False  # only once
    assert seed_state(seed_tree).state is SeedState.COMPLETED


def test_flag_files_are_json_lines_written_in_place(seed_tree):
    """The claim's file gets one line by one write into the file the claim renamed (same inode:
    no temp file replaced it); the end line is appended to it before it becomes COMPLETED."""
    inode = os.stat(seed_tree.flag_path(UNHATCHED)).st_ino
    c = claim(seed_tree)
    assert os.stat(c.path).st_ino == inode and len(Path(c.path).read_text().splitlines()) == 1
    flags.complete(c)
    lines = seed_tree.flag_path(COMPLETED).read_text().splitlines()
    assert os.stat(seed_tree.flag_path(COMPLETED)).st_ino == inode
    assert len(lines) == 2 and json.loads(lines[0])["token"] == c.token and "duration_s" in json.loads(lines[1])


@pytest.mark.parametrize("text, expected", [
    ('{"a": 1, "b": 2}\n{"b": 3, "c": 4}\n', {"a": 1, "b": 3, "c": 4}),  # later lines add keys
    ('{\n "a": 1,\n "b": [1, 2]\n}\n', {"a": 1, "b": [1, 2]}),  # one indented object (older layout)
    ('{"a": 1}\n{"end_t', {"a": 1}),  # a line cut short is skipped
    ("", {}),  # mid-claim: the rename happened, the line not yet
    ("[1, 2]\n", {}),
])
def test_read_flag_info(tmp_path, text, expected):
    path = tmp_path / "OPENED"
    path.write_text(text)
    assert read_flag_info(path) == expected
    assert read_flag_info(tmp_path / "missing") == {}


def test_a_holder_that_died_while_publishing_is_completed_not_reset(seed_tree):
    c = claim(seed_tree)
    (c.tree.recorders_dir / "r.jsonl").write_text("{}\n")
    # what a holder killed between the deciding rename and the end of its publication leaves
    os.rename(c.path, seed_tree.seed_dir / f"COMPLETING.{c.token}")
    os.rename(c.tree.recorders_dir, seed_tree.recorders_dir)  # published one file, then died
    status = SeedStatus(SeedState.INTERRUPTED, "pid dead", c.info, f"COMPLETING.{c.token}")
    assert roll_forward(seed_tree.seed_dir, status) is True
    assert flags_in(seed_tree) == [COMPLETED] and (seed_tree.recorders_dir / "r.jsonl").exists()
    assert seed_tree.incrementals_dir.is_dir() and not c.tree.incrementals_dir.exists()
    assert roll_forward(seed_tree.seed_dir, status) is True  # twice (holder and cleaner): the same result


# Crash ----------------------------------------------------------------------------------------

def test_crash_records_exception_traceback_and_where_the_run_files_are(seed_tree):
    c = claim(seed_tree)

    def train():
        raise RuntimeError("boom lr=0.1")

    try:
        train()
    except RuntimeError as e:
        assert flags.crash(c, e) is True
    assert flags_in(seed_tree) == [CRASH]
    text = seed_tree.flag_path(CRASH).read_text()
    assert text.splitlines()[0] == "exception: RuntimeError: boom lr=0.1"
    assert "Traceback (most recent call last)" in text and "in train" in text
    assert f"host: {HOSTNAME}" in text and "attempt: 1" in text and c.tree.recorders_dir.name in text
    assert flags.complete(c) is False  # a crashed claim cannot complete too
    assert seed_state(seed_tree).state is SeedState.CRASHED


def test_crash_with_a_message(seed_tree):
    c = claim(seed_tree)
    assert flags.crash(c, message="worker killed by signal 9\ndetails") is True
    text = seed_tree.flag_path(CRASH).read_text()
    assert text.splitlines()[0] == "exception: worker killed by signal 9" and "details" in text


# Release --------------------------------------------------------------------------------------

def test_a_release_decides_last_and_the_next_claim_resumes_from_the_run_folder(seed_tree):
    c = claim(seed_tree)
    (c.tree.incrementals_dir / "ckpt_1.pt").write_bytes(b"ckpt")
    (c.tree.recorders_dir / "train.jsonl").write_text('{"step": 0}\n')
    assert flags.release(c, "preempted (SIGUSR2)") is True
    assert flags_in(seed_tree) == [UNHATCHED] and seed_tree.flag_path(UNHATCHED).read_bytes() == b""
    record = seed_tree.attempts_dir / "1"
    assert json.loads((record / OPENED).read_text())["token"] == c.token
    assert json.loads((record / "RELEASED").read_text())["released"] == "preempted (SIGUSR2)"
    assert (record / f"incrementals.{c.token}" / "ckpt_1.pt").read_bytes() == b"ckpt"
    assert flags.complete(c) is False  # the claim is over
    again = claim(seed_tree, "w1")
    assert again.info["attempt"] == 2 and again.token != c.token
    assert latest_checkpoint(again.tree) == again.tree.incrementals_dir / "ckpt_1.pt"  # resumed
    assert (again.tree.recorders_dir / "train.jsonl").read_text() == '{"step": 0}\n'
    assert not (record / f"incrementals.{c.token}").exists()


def test_releases_without_a_new_checkpoint_are_counted(seed_tree):
    counts = []
    for i in range(4):
        c = claim(seed_tree, f"w{i}")
        if i == 2:  # this attempt saved a checkpoint before it was preempted
            (c.tree.incrementals_dir / f"ckpt_{i}.pt").write_bytes(b"x")
        assert flags.release(c, "preempted (SIGUSR2)")
        counts.append(attempts.releases_without_progress(seed_tree.seed_dir))
    assert counts == [1, 2, 0, 1]
    c = claim(seed_tree, "w4")
    flags.crash(c, message="boom")
    assert reset(seed_tree.seed_dir, seed_state(seed_tree), cleaner=CLEANER)
    assert attempts.releases_without_progress(seed_tree.seed_dir) == 0  # the last attempt failed: not a release


# Reset ----------------------------------------------------------------------------------------

def test_reset_of_a_crash_records_it_and_the_next_run_starts_afresh(seed_tree):
    config_before = seed_tree.config_path.read_text()
    c = claim(seed_tree)
    c.tree.log_path.write_text("log of attempt 1\n")
    (c.tree.incrementals_dir / "ckpt.pt").write_bytes(b"ckpt")
    flags.crash(c, message="boom")
    assert reset(seed_tree.seed_dir, seed_state(seed_tree), cleaner=CLEANER) is True
    record = seed_tree.attempts_dir / "1"
    assert (record / CRASH).read_text().startswith("exception: boom")
    assert json.loads((record / "RESET").read_text())["cleaner"]["token"] == CLEANER["token"]
    assert (record / f"logger.out.{c.token}").read_text() == "log of attempt 1\n"
    assert sorted(os.listdir(seed_tree.seed_dir)) == sorted(["attempts", "config.json", "config_unique.json",
                                                             UNHATCHED])
    assert seed_tree.config_path.read_text() == config_before
    again = claim(seed_tree, "w1")  # a crash is not resumed from
    assert again.info["attempt"] == 2 and latest_checkpoint(again.tree) is None
    flags.crash(again, message="boom again")
    assert reset(seed_tree.seed_dir, seed_state(seed_tree), cleaner=CLEANER) is True
    assert (seed_tree.attempts_dir / "2" / CRASH).read_text().startswith("exception: boom again")


def test_reset_of_an_interrupted_run_keeps_its_checkpoints_for_the_next_claim(seed_tree):
    """A run killed by SIGKILL, the OOM killer or a lost node: its checkpoints are not hidden."""
    c = claim(seed_tree)
    (c.tree.incrementals_dir / "ckpt_7.pt").write_bytes(b"seven")
    status = SeedStatus(SeedState.INTERRUPTED, "no heartbeat", c.info, f"OPENED.{c.token}")
    assert reset(seed_tree.seed_dir, status, cleaner=CLEANER) is True
    assert json.loads((seed_tree.attempts_dir / "1" / OPENED).read_text())["token"] == c.token
    assert flags_in(seed_tree) == [UNHATCHED] and seed_tree.flag_path(UNHATCHED).read_bytes() == b""
    again = claim(seed_tree, "w1")
    assert latest_checkpoint(again.tree).read_bytes() == b"seven"


@pytest.mark.parametrize("state", ["completed", "unhatched", "running"])
def test_reset_refuses_other_states(seed_tree, state):
    if state != "unhatched":
        c = claim(seed_tree)
        if state == "completed":
            flags.complete(c)
    before = sorted(os.listdir(seed_tree.seed_dir))
    status = seed_state(seed_tree)
    assert status.state.value.lower() == state
    with pytest.raises(ValueError, match=status.state.value):
        reset(seed_tree.seed_dir, status, cleaner=CLEANER)
    assert sorted(os.listdir(seed_tree.seed_dir)) == before  # nothing moved


def test_reset_with_a_stale_status_does_nothing(seed_tree):
    c = claim(seed_tree)
    flags.crash(c, message="boom")
    stale = seed_state(seed_tree)
    assert reset(seed_tree.seed_dir, stale, cleaner=CLEANER) is True
    claim(seed_tree, "w1")  # someone reset it already and a worker took it: the old status must not act
    assert reset(seed_tree.seed_dir, stale, cleaner=CLEANER) is False
    assert kind_of(seed_tree) == OPENED and sorted(os.listdir(seed_tree.attempts_dir)) == ["1"]


def test_a_reset_left_half_done_by_a_dead_cleaner_is_finished_once(seed_tree):
    c = claim(seed_tree)
    (c.tree.incrementals_dir / "ckpt.pt").write_bytes(b"c")
    dead = "dead0000dead0000"
    os.rename(c.path, seed_tree.seed_dir / f"RESETTING.{dead}")  # decided, then the cleaner died
    status = seed_state(seed_tree)
    assert status.state is SeedState.INTERRUPTED and status.flag == f"RESETTING.{dead}"
    assert reset(seed_tree.seed_dir, status, cleaner=CLEANER) is True
    assert flags_in(seed_tree) == [UNHATCHED]
    assert json.loads((seed_tree.attempts_dir / "1" / OPENED).read_text())["token"] == c.token
    assert latest_checkpoint(claim(seed_tree, "w1").tree).read_bytes() == b"c"


# A claim is an identity -------------------------------------------------------------------------

def test_a_lost_claim_can_touch_nothing_of_the_next_claim(seed_tree):
    """A's seed is reset while A is stopped, B claims it: whatever A does next fails and leaves
    B's flag and B's folder as they were."""
    a = claim(seed_tree, "A")
    reset(seed_tree.seed_dir, SeedStatus(SeedState.INTERRUPTED, "no heartbeat", a.info, f"OPENED.{a.token}"),
          cleaner=CLEANER)
    b = claim(seed_tree, "B")
    past = time.time() - 100
    os.utime(b.path, (past, past))
    b_files = lambda: sorted(str(p) for d in (b.tree.recorders_dir, b.tree.incrementals_dir) for p in d.rglob("*"))  # noqa
    before = os.stat(b.path), Path(b.path).read_bytes(), b_files()
    assert flags.owns(a) is False and flags.heartbeat(a) is False
    assert flags.complete(a) is False and flags.crash(a, message="A") is False and flags.release(a, "A") is False
    assert not a.tree.recorders_dir.exists()  # the paths A knows lead nowhere B writes
    with pytest.raises(FileNotFoundError):
        (a.tree.recorders_dir / "late.jsonl").write_text("A was here\n")
    assert kind_of(seed_tree) == OPENED
    after = os.stat(b.path)
    assert (after.st_ino, after.st_mtime, Path(b.path).read_bytes()) == (before[0].st_ino, past, before[1])
    assert b_files() == before[2]
    assert flags.complete(b) is True and read_flag_info(seed_tree.flag_path(COMPLETED))["worker_id"] == "B"


def test_whatever_a_stray_unhatched_holds_neither_blocks_nor_hijacks_a_claim(seed_tree):
    seed_tree.flag_path(UNHATCHED).write_text('{"token": "stale", "pid": 1, "host": "elsewhere"}\nnot json\n')
    c = claim(seed_tree)
    assert Path(c.path).read_text().count("\n") == 1  # only this claim's line
    assert read_flag_info(c.path)["token"] == c.token and seed_state(seed_tree).state is SeedState.RUNNING
    assert flags.complete(c) is True


def test_facts_of_an_earlier_claim_are_not_taken_for_this_one(seed_tree):
    """Between the claim's rename and its first write, the file holds what UNHATCHED held: a
    previous claim's facts (a dead pid) must not make the new claim look dead."""
    seed_tree.flag_path(UNHATCHED).unlink()
    (seed_tree.seed_dir / "OPENED.0123456789abcdef").write_text(json.dumps(
        {"host": HOSTNAME, "pid": _dead_pid(), "token": "fedcba9876543210"}) + "\n")
    status = seed_state(seed_tree)
    assert status.state is SeedState.RUNNING and status.info == {}


# Liveness ---------------------------------------------------------------------------------------

def _write_opened(tree, **info) -> Path:
    tree.flag_path(UNHATCHED).unlink(missing_ok=True)
    path = tree.flag_path(f"OPENED.{info.get('token', 'a1')}")
    path.write_text(json.dumps(info))
    return path


def test_read_status_each_state(seed_tree):
    assert seed_state(seed_tree).state is SeedState.UNHATCHED
    c = claim(seed_tree)
    status = seed_state(seed_tree)
    assert status.state is SeedState.RUNNING and status.info["token"] == c.token
    flags.complete(c)
    assert seed_state(seed_tree).state is SeedState.COMPLETED
    seed_tree.flag_path(COMPLETED).unlink()
    status = seed_state(seed_tree)
    assert status.state is SeedState.INTERRUPTED and "no FLAG-file" in status.reason
    seed_tree.flag_path(CRASH).write_text("exception: x\n")
    assert seed_state(seed_tree).state is SeedState.CRASHED
    assert seed_state(seed_tree.experiment_dir / "seed99").state is SeedState.INTERRUPTED


def test_another_hosts_claim_is_judged_by_its_heartbeat_on_the_filesystems_clock(seed_tree):
    path = _write_opened(seed_tree, host="some-other-node", pid=os.getpid(), heartbeat_s=30.0, token="a1")
    assert seed_state(seed_tree).state is SeedState.RUNNING
    past = time.time() - 1000
    os.utime(path, (past, past))
    status = seed_state(seed_tree)  # its pid equals a live pid here: that does not make it alive
    assert status.state is SeedState.INTERRUPTED and "no heartbeat" in status.reason
    assert 990 < status.age_s < 1100


def test_a_heartbeat_from_the_future_is_running_and_says_the_clocks_disagree(seed_tree):
    path = _write_opened(seed_tree, host="some-other-node", pid=1, heartbeat_s=30.0, token="a1")
    ahead = time.time() + 600
    os.utime(path, (ahead, ahead))
    status = seed_state(seed_tree)
    assert status.state is SeedState.RUNNING and "clocks disagree" in status.reason and status.age_s < -500


def test_the_threshold_a_claim_records_is_never_undercut(seed_tree):
    _write_opened(seed_tree, host="some-other-node", pid=1, heartbeat_s=1.0, token="a1", stale_after_s=300.0)
    now = time.time()
    assert seed_state(seed_tree, now=now + 200, stale_after_s=10).state is SeedState.RUNNING
    assert seed_state(seed_tree, now=now + 320).state is SeedState.INTERRUPTED
    assert seed_state(seed_tree, now=now + 320, stale_after_s=600).state is SeedState.RUNNING  # may wait longer
    assert stale_threshold({"heartbeat_s": 1.0}) == MIN_STALE_S  # an older alfred's claim: the old default
    assert stale_threshold({"heartbeat_s": 1.0}, 20.0) == 20.0


def test_stale_thresholds_have_a_floor_and_leave_the_holder_time_to_stop():
    assert check_stale_after(1) and check_stale_after(-3) and check_stale_after(float("nan"))
    assert check_stale_after(10) is None and check_stale_after(None) is None
    assert "3 heartbeats" in check_stale_after(20, heartbeat_s=10)
    assert lease_s(150, 30) == 90 and lease_s(10, 0.3) == 7.5
    assert 0.3 < lease_s(10, 0.3) < 10


def test_a_pid_is_judged_only_in_its_own_pid_namespace_and_boot(seed_tree):
    dead = _dead_pid()
    _write_opened(seed_tree, host=HOSTNAME, pid=dead, heartbeat_s=30.0, token="a1")
    assert seed_state(seed_tree).state is SeedState.INTERRUPTED  # an older alfred's facts: host alone
    for other in ({"pid_ns": 1}, {"boot_id": "another-boot"}):  # same host name, another PID space
        _write_opened(seed_tree, host=HOSTNAME, pid=dead, heartbeat_s=30.0, token="a1", **other)
        status = seed_state(seed_tree)
        assert status.state is SeedState.RUNNING and "heartbeat" in status.reason, other


def test_this_hosts_live_and_reused_pids(seed_tree):
    path = _write_opened(seed_tree, host=HOSTNAME, pid=os.getpid(), pid_start=pid_start_time(os.getpid()),
                         heartbeat_s=30.0, token="a1")
    past = time.time() - 10_000
    os.utime(path, (past, past))
    assert seed_state(seed_tree).state is SeedState.RUNNING  # alive wins over an old heartbeat
    if os.path.isdir("/proc/self"):
        _write_opened(seed_tree, host=HOSTNAME, pid=os.getpid(), pid_start="1", heartbeat_s=30.0, token="a1")
        assert seed_state(seed_tree).state is SeedState.INTERRUPTED
