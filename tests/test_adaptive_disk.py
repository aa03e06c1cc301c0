"""Adaptive search on disk: rung records, PRUNED / PAUSED, promotions, with real worker processes."""
from __future__ import annotations

import collections
import json
import multiprocessing
import os
import signal
from pathlib import Path

import pytest

from alfred.adaptive.spec import SPEC_FILE, load_spec, parse_spec, trial_id
from alfred.protocol import flags, rung_records
from alfred.protocol.layout import rung_dir
from alfred.protocol.seed_state import SeedState, seed_state
from alfred.utils.directory_tree import DirectoryTree
from tests.conftest import grid_schedule, seed_trees, wait_for

# A main with a toy learning curve: value(step) = lr * step / (step + 3) (direction "max"), reported
# every step; a checkpoint (the step) saved in incrementals_dir every step, read back on resume.
# Every start writes "start <trial> <step>" to $ALFRED_TEST_LOG, a resume "resume <trial> <step>".
ADAPTIVE_MAIN = '''
import argparse, os, time
from alfred.utils import Preempted, latest_checkpoint

def get_run_args(overwritten_cmd_line=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--alg_name", default="algA")
    parser.add_argument("--task_name", default="taskA")
    parser.add_argument("--desc", default="")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--sleep_s", type=float, default=0.0)
    parser.add_argument("--max_steps", type=int, default=27)
    parser.add_argument("--report", type=int, default=1)
    parser.add_argument("--swallow", type=int, default=0)
    argv = None if overwritten_cmd_line is None else overwritten_cmd_line.split()
    return parser.parse_args(argv)

def _log(line):
    fd = os.open(os.environ["ALFRED_TEST_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.write(fd, (line + "\\n").encode())
    os.close(fd)

def _save(dir_tree, step):
    tmp = dir_tree.incrementals_dir / ".ckpt.tmp"
    tmp.write_text(str(step))
    os.replace(tmp, dir_tree.incrementals_dir / "ckpt")

def main(config, dir_tree, logger, pbar):
    trial = dir_tree.experiment_dir.name + "-" + dir_tree.seed_dir.name
    ckpt = latest_checkpoint(dir_tree)
    step = int(ckpt.read_text()) if ckpt is not None else 0
    _log(("resume " if ckpt is not None else "start ") + trial + " " + str(step))
    try:
        while step < config.max_steps:
            step += 1
            time.sleep(config.sleep_s)
            _save(dir_tree, step)
            if config.report:
                dir_tree.report(step, config.lr * step / (step + 3))
    except Preempted:
        _save(dir_tree, step)
        if config.swallow:
            return
        raise
    _log("done " + trial + " " + str(step))
'''


def make_adaptive(project, lrs, *, mode: str, sleep_s: float = 0.0, eta: int = 3, name: str = "ad",
                  variations: dict | None = None, **settings) -> Path:
    """An adaptive storage dir: a grid over ``lrs`` (one seed each) and its adaptive.json (until
    prepare_schedule writes adaptive searches, this is the test's stand-in for it)."""
    (project.path / "main.py").write_text(ADAPTIVE_MAIN)
    schedule = project.write_schedule(f"grid_schedule_{name}.py",
                                      grid_schedule({"lr": list(lrs), "sleep_s": [sleep_s], **(variations or {})},
                                                    seeds=[1]))
    assert project.prepare(schedule) == 0
    (storage_dir,) = [d for d in project.storage_dirs() if d.name.endswith(f"grid_{name}")]
    spec = parse_spec({"search_space": {"lr": {"type": "float", "low": 1e-3, "high": 1.0}}, "metric": "score",
                       "direction": "max", "eta": eta, "min_resource": 1, "max_resource": 27, "mode": mode,
                       "max_experiments": len(lrs), **settings})
    (storage_dir / SPEC_FILE).write_text(json.dumps(spec.to_dict()))
    return storage_dir


_LAUNCHED: list = []  # background launches, killed (with their workers) after each test however it ended


@pytest.fixture(autouse=True)
def _kill_background_launches():
    yield
    while _LAUNCHED:
        launcher = _LAUNCHED.pop()
        try:
            os.killpg(launcher.pid, signal.SIGKILL)  # its stopped or stalled workers too (one session)
        except ProcessLookupError:
            pass
        launcher.wait(timeout=30)


def launch(project, storage_dir: Path, n: int, *extra: str, popen: bool = False):
    args = ("alfred.launch_schedule", "--storage_name", storage_dir.name, "--root_dir", str(storage_dir.parent),
            "--n_processes", str(n), "--heartbeat_s", "0.2", "--no_summary", *extra)
    if popen:
        _LAUNCHED.append(project.popen_module(*args, start_new_session=True))
        return _LAUNCHED[-1]
    result = project.run_module(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def states(storage_dir: Path) -> collections.Counter:
    return collections.Counter(seed_state(t).state for t in seed_trees(storage_dir))


def rung_files(storage_dir: Path) -> dict[tuple[int, int], list[str]]:
    """{(bracket, step): names in the rung folder}."""
    found = {}
    for path in sorted((storage_dir / "rungs").glob("bracket*/step*")):
        found[(int(path.parent.name[7:]), int(path.name[4:]))] = sorted(os.listdir(path))
    return dict(sorted(found.items()))


def check_records_once(storage_dir: Path, *, killed: bool = False) -> dict[tuple[int, int], dict[str, float]]:
    """Every rung: one record per trial, its alias the same file; no leftover temp file unless processes were
    killed (SIGKILL between a temp file and its unlink leaves it; listings skip it); {rung: {trial: value}}."""
    values = {}
    for (b, s), names in rung_files(storage_dir).items():
        folder = Path(rung_dir(storage_dir, b, s))
        assert killed or not [n for n in names if n.startswith(".")], names
        names = [n for n in names if not n.startswith(".")]
        records = [n for n in names if rung_records.TRIAL_RE.fullmatch(n)]
        aliases = collections.Counter(n.partition("=")[0] for n in names if "=" in n)
        assert all(aliases[t] == 1 for t in records) and set(aliases) == set(records), names
        values[(b, s)] = {t: float((folder / t).read_text()) for t in records}
        for t in records:
            assert (folder / f"{t}={values[(b, s)][t]!r}").stat().st_ino == (folder / t).stat().st_ino
    return values


# Rung records, in one process ---------------------------------------------------------------

def test_a_record_is_made_once_and_its_alias_is_repaired(tmp_path):
    assert rung_records.record(tmp_path, 0, 3, "experiment1-seed1", 0.5) == 0.5
    assert rung_records.record(tmp_path, 0, 3, "experiment1-seed1", 0.9) == 0.5  # the first value stays
    folder = Path(rung_dir(tmp_path, 0, 3))
    os.link(folder / "experiment1-seed1", folder / "experiment2-seed1")  # a record whose maker died before its alias
    (folder / "experiment3-seed1=0.1").write_text("0.1")  # a planted alias without record counts for nothing
    (folder / "experiment4-seed1=9.0").write_text("9.0")
    (folder / "experiment4-seed1").write_text("0.2")  # a record with an alias that is another file
    os.symlink("/etc/passwd", folder / "experiment5-seed1")  # a link is never read
    os.link(folder / "experiment1-seed1", folder / "experiment1-seed1=0.9")  # a second alias: the record decides
    (folder / "../evil").write_text("x")
    rung = rung_records.read_rung(tmp_path, 0, 3)
    assert sorted(rung.records) == [("experiment1-seed1", 0.5), ("experiment2-seed1", 0.5),
                                    ("experiment4-seed1", 0.2)]
    assert rung.repaired == 2 and (folder / "experiment2-seed1=0.5").exists()
    assert rung_records.read_rung(tmp_path, 0, 3).repaired == 0
    with pytest.raises(ValueError):
        rung_records.record(tmp_path, 0, 3, "../experiment1-seed1", 1.0)
    assert rung_records.read_rung(tmp_path, 0, 9).records == []  # no folder yet


def test_planted_fifos_and_links_are_refused_without_blocking(tmp_path):
    folder = Path(rung_records.ensure_rung_dir(tmp_path, 0, 1))
    os.mkfifo(folder / "experiment1-seed1")
    with pytest.raises(rung_records.RefusedFile, match="not a value alfred wrote"):
        rung_records.record(tmp_path, 0, 1, "experiment1-seed1", 0.5)  # no writer: a blocking open would hang
    assert rung_records.read_rung(tmp_path, 0, 1).records == []
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "rungs" / "bracket0" / "step3")
    assert rung_records.read_rung(tmp_path, 0, 3).records == []
    with pytest.raises(OSError):
        rung_records.record(tmp_path, 0, 3, "experiment1-seed1", 0.5)
    assert os.listdir(tmp_path / "elsewhere") == []


def test_decisions_and_promotions_are_made_once(tmp_path):
    assert rung_records.decide(tmp_path, 0, 1, "experiment1-seed1", "stop") == "stop"
    assert rung_records.decide(tmp_path, 0, 1, "experiment1-seed1", "continue") == "stop"
    assert rung_records.read_decision(tmp_path, 0, 1, "experiment1-seed1") == "stop"
    assert rung_records.promote(tmp_path, 0, 1, "experiment2-seed1") is True
    assert rung_records.promote(tmp_path, 0, 1, "experiment2-seed1") is False
    assert rung_records.is_promoted(tmp_path, 0, 1, "experiment2-seed1")
    assert rung_records.read_rung(tmp_path, 0, 1).promoted == {"experiment2-seed1"}


def _race(args):
    storage, value = args
    return rung_records.record(storage, 0, 1, "experiment1-seed1", value), \
        rung_records.promote(storage, 0, 1, "experiment1-seed1")


def test_racing_processes_make_one_record_and_one_promotion(tmp_path):
    with multiprocessing.get_context("fork").Pool(8) as pool:
        results = pool.map(_race, [(str(tmp_path), float(i)) for i in range(32)])
    assert len({v for v, _ in results}) == 1 and sum(p for _, p in results) == 1
    assert len(os.listdir(rung_dir(tmp_path, 0, 1))) == 3  # record, alias, marker


def test_a_seed_state_of_each_new_flag_and_an_outcome_finished_by_a_cleaner(tmp_path):
    from alfred.protocol.reset import roll_forward

    seed = tmp_path / "s" / "experiment1" / "seed1"
    seed.mkdir(parents=True)
    (seed / "UNHATCHED").write_text("")
    claim = flags.claim(seed, worker_id="w", heartbeat_s=1.0)
    assert flags.complete(claim, outcome="PAUSED.9")
    assert seed_state(seed).state is SeedState.PAUSED and seed_state(seed).flag == "PAUSED.9"
    os.rename(seed / "PAUSED.9", seed / "UNHATCHED")
    claim = flags.claim(seed, worker_id="w", heartbeat_s=1.0, resume_published=True)
    assert claim.tree.recorders_dir.is_dir() and not (seed / "recorders").exists()  # resumed from the published
    flags.write_into(claim.path, b'{"outcome": "PRUNED"}\n', os.O_APPEND)  # the holder dies after its decision
    os.rename(claim.path, seed / f"COMPLETING.{claim.token}")
    status = seed_state(seed)
    assert roll_forward(seed, status) and seed_state(seed).state is SeedState.PRUNED
    with pytest.raises(ValueError):
        flags.complete(claim, outcome="CRASH.txt")


# Real launches -------------------------------------------------------------------------------

LRS = [0.05, 0.9, 0.3, 0.7, 0.1, 0.5, 0.2, 0.8, 0.4, 0.6, 0.15, 0.35]


def log_lines(project, kind: str) -> collections.Counter:
    return collections.Counter(line.split()[1] for line in project.calls() if line.startswith(kind + " "))


def certainly_before(folder: Path, records: dict[str, float], when: float) -> dict[str, float]:
    """The records of a rung surely linked before a decision whose temp file was written at ``when``:
    written (mtime) a second before. The listing that decided saw at least these."""
    return {t: v for t, v in records.items() if (folder / t).stat().st_mtime + 1.0 < when}


def test_stop_mode_with_three_workers_records_once_and_prunes_only_the_worse(project):
    storage_dir = make_adaptive(project, LRS, mode="stop", sleep_s=0.01)
    out = launch(project, storage_dir, 3).stdout
    final = states(storage_dir)
    assert set(final) <= {SeedState.COMPLETED, SeedState.PRUNED} and final[SeedState.PRUNED] >= 3, final
    assert (f"{final[SeedState.COMPLETED]} run(s) completed, {final[SeedState.PRUNED]} stopped or paused at a rung, "
            "0 crashed") in out, out
    values = check_records_once(storage_dir)
    spec = load_spec(storage_dir)
    for tree in seed_trees(storage_dir):
        trial, state = trial_id(tree.seed_dir), seed_state(tree).state
        reached = [s for (_, s), recs in values.items() if trial in recs]
        decisions = {s: rung_records.read_decision(storage_dir, 0, s, trial) for s in spec.rungs()}
        if state is SeedState.COMPLETED:
            assert reached == [1, 3, 9, 27] and set(decisions.values()) == {"continue"}
            assert (tree.seed_dir / "recorders").is_dir()
            continue
        stop = max(reached)
        assert decisions[stop] == "stop" and all(decisions[s] == "continue" for s in reached if s < stop)
        assert (tree.seed_dir / "incrementals" / "ckpt").read_text() == str(stop)
        folder = Path(rung_dir(storage_dir, 0, stop))
        when = (folder / f"{trial}.decision").stat().st_mtime
        seen = certainly_before(folder, values[(0, stop)], when)
        everything_then = {t: v for t, v in values[(0, stop)].items() if (folder / t).stat().st_mtime <= when}
        better = sum(v > values[(0, stop)][trial] for v in everything_then.values())
        assert better >= max(1, len({**seen, trial: 0}) // spec.eta), (trial, stop)  # it was not in the top 1/eta
    assert set(log_lines(project, "start").values()) == {1} and not log_lines(project, "resume")
    status = project.run_module("alfred.status", "--storage_name", storage_dir.name, "--root_dir",
                                str(storage_dir.parent))
    assert status.returncode == 0, status.stdout + status.stderr
    header, counts = status.stdout.splitlines()[2:4]
    assert header.split()[-2:] == ["PRUNED", "PAUSED"]
    assert counts.split()[-2:] == [str(final[SeedState.PRUNED]), "0"] and counts.split()[0] == str(len(LRS))
    assert "interrupted seed(s)" not in status.stdout and "-----] 100%" in status.stdout


def test_hyperband_brackets_keep_each_trial_in_its_own_bracket(project):
    storage_dir = make_adaptive(project, LRS, mode="stop", hyperband=True, sampler="tpe")  # no proposal: UNHATCHED
    launch(project, storage_dir, 2)
    spec = load_spec(storage_dir)
    assert set(states(storage_dir)) <= {SeedState.COMPLETED, SeedState.PRUNED}
    values = check_records_once(storage_dir)
    for tree in seed_trees(storage_dir):
        trial = trial_id(tree.seed_dir)
        mine = [s for (b, s), recs in values.items() if trial in recs and b == spec.bracket(trial)]
        assert all(trial not in recs for (b, _), recs in values.items() if b != spec.bracket(trial))
        levels = [*spec.rungs(spec.bracket(trial)), spec.max_resource]
        assert mine == levels[:len(mine)] and mine  # its bracket's rungs, in order, up to where it stopped
        assert (seed_state(tree).state is SeedState.COMPLETED) == (mine[-1] == spec.max_resource)
    assert len({b for b, _ in values}) >= 2


def test_a_main_that_swallows_pruned_and_paused_ends_the_same_way(project):
    pruning = make_adaptive(project, LRS[:6], mode="stop", variations={"swallow": [1]}, name="st")
    pausing = make_adaptive(project, LRS[:6], mode="promote", variations={"swallow": [1]}, name="pr")
    launch(project, pruning, 2)
    launch(project, pausing, 2)
    assert set(states(pruning)) == {SeedState.COMPLETED, SeedState.PRUNED}
    assert states(pausing) == {SeedState.PAUSED: 6}
    assert sum(map(len, promotions(pausing).values())) == 2  # 6 records at step 1: 2 promoted, paused at 3


def promotions(storage_dir: Path) -> dict[str, list[int]]:
    found = collections.defaultdict(list)
    for path in (storage_dir / "rungs").glob("bracket0/step*/*.promoted"):
        found[path.name[:-len(".promoted")]].append(int(path.parent.name[4:]))
    return found


def check_promote_search(project, storage_dir: Path, *, killed: bool = False) -> None:
    """The invariants of a finished promote-mode search (with or without faults)."""
    spec = load_spec(storage_dir)
    final = states(storage_dir)
    assert set(final) <= {SeedState.COMPLETED, SeedState.PAUSED}, final
    values = check_records_once(storage_dir, killed=killed)
    promoted = promotions(storage_dir)
    levels = [*spec.rungs(), spec.max_resource]
    for trial, steps in promoted.items():
        for step in steps:  # every promotion was carried out: the trial reached the next level
            assert trial in values[(0, levels[levels.index(step) + 1])], (trial, step)
            folder = Path(rung_dir(storage_dir, 0, step))
            marker = folder / f"{trial}.promoted"
            facts = json.loads(marker.read_text())
            records = values[(0, step)]
            assert facts["n_records"] <= sum((folder / t).stat().st_mtime <= marker.stat().st_mtime for t in records)
            seen = certainly_before(folder, records, marker.stat().st_mtime)
            rank = sum(v > records[trial] for v in seen.values())
            assert rank < facts["n_records"] // spec.eta, (trial, step, facts)  # ASHA-legal when it was made
    for tree in seed_trees(storage_dir):
        status = seed_state(tree)
        if status.state is SeedState.PAUSED:  # paused at its highest record, never promoted out of it
            trial, step = trial_id(tree.seed_dir), int(status.flag.split(".")[1])
            assert step == max(s for (_, s), r in values.items() if trial in r) and step not in promoted[trial]
    return promoted, log_lines(project, "resume")


def test_promote_mode_with_four_workers_promotes_each_record_once(project):
    storage_dir = make_adaptive(project, LRS, mode="promote", sleep_s=0.01)
    launch(project, storage_dir, 4)
    promoted, resumes = check_promote_search(project, storage_dir)
    assert sum(map(len, promoted.values())) >= 4
    # One resume per promotion at most (none when the run read its marker before pausing, and went on)
    assert all(resumes[t] <= len(promoted[t]) for t in resumes) and sum(resumes.values()) >= 1
    assert set(log_lines(project, "start").values()) == {1}
    # 12 configurations, eta 3: 4 promoted to step 3, 1 to step 9, where 1 record promotes nobody
    assert states(storage_dir) == {SeedState.PAUSED: 12}
    assert sorted(len(v) for v in promoted.values() if v) == [1, 1, 1, 2]


def _kill_when(project, storage_dir, launcher, predicate, what):
    wait_for(lambda: predicate() or launcher.poll() is not None, timeout_s=120, what=what)
    if launcher.poll() is None:
        os.killpg(launcher.pid, signal.SIGKILL)
    launcher.wait(timeout=30)


def test_sigkill_clean_and_relaunch_lose_no_record_and_decide_nothing_twice(project):
    storage_dir = make_adaptive(project, LRS, mode="promote", sleep_s=0.03)
    for round_ in (1, 2):
        launcher = launch(project, storage_dir, 4, popen=True)
        _kill_when(project, storage_dir, launcher,
                   lambda: len(list(storage_dir.glob("experiment*/seed*/OPENED.*"))) >= 3
                   and sum(map(len, promotions(storage_dir).values())) >= 2 * round_, "runs in flight")
        # A worker killed between its claim's rename and its facts leaves a claim judged by its age: 10 s here
        wait_for(lambda: all(seed_state(t, stale_after_s=10).state is not SeedState.RUNNING
                             for t in seed_trees(storage_dir)), timeout_s=30, what="every killed claim judged dead")
        clean = project.run_module("alfred.clean_interrupted", "--storage_name", storage_dir.name, "--root_dir",
                                   str(storage_dir.parent), "--stale_after_s", "10", "--yes")
        assert clean.returncode == 0, clean.stdout + clean.stderr
    launch(project, storage_dir, 4)
    promoted, resumes = check_promote_search(project, storage_dir, killed=True)
    reset = [t for t in seed_trees(storage_dir) if (t.attempts_dir / "1" / "RESET").exists()]
    assert reset, "no run was in flight at a kill"
    reread = [t for t in reset if "promoted, continuing" in _text(t.seed_dir / "logger.out")]
    assert reread or not any(promoted.get(trial_id(t.seed_dir)) for t in reset)


def test_stop_mode_killed_cleaned_and_relaunched_rereads_its_decisions(project):
    storage_dir = make_adaptive(project, LRS, mode="stop", sleep_s=0.03)
    launcher = launch(project, storage_dir, 3, popen=True)
    decided_before: dict[str, set[int]] = {}

    def in_flight_with_decisions():
        opened = [p.parent for p in storage_dir.glob("experiment*/seed*/OPENED.*")]
        decided = {trial_id(p): {s for s in (1, 3, 9) if rung_records.read_decision(storage_dir, 0, s, trial_id(p))}
                   for p in opened}
        decided_before.update(decided)
        return sum(1 for d in decided.values() if d) >= 2

    _kill_when(project, storage_dir, launcher, in_flight_with_decisions, "runs in flight past a rung")
    wait_for(lambda: all(seed_state(t, stale_after_s=10).state is not SeedState.RUNNING
                         for t in seed_trees(storage_dir)), timeout_s=30, what="every killed claim judged dead")
    clean = project.run_module("alfred.clean_interrupted", "--storage_name", storage_dir.name, "--root_dir",
                               str(storage_dir.parent), "--stale_after_s", "10", "--yes")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    launch(project, storage_dir, 3)
    assert set(states(storage_dir)) <= {SeedState.COMPLETED, SeedState.PRUNED}
    check_records_once(storage_dir, killed=True)
    reset = [t for t in seed_trees(storage_dir) if (t.attempts_dir / "1" / "RESET").exists()]
    assert reset, "no run was in flight at the kill"
    reread = [t for t in reset if decided_before.get(trial_id(t.seed_dir))]
    assert reread, "no run killed past a rung"
    for tree in reread:  # a run that decided at a rung before the kill re-read that decision after it
        assert "re-read" in _text(tree.seed_dir / "logger.out"), tree.seed_dir


def test_preempted_runs_are_released_and_resume_past_their_promotions(project):
    storage_dir = make_adaptive(project, LRS, mode="promote", sleep_s=0.03)
    launcher = launch(project, storage_dir, 4, popen=True)
    wait_for(lambda: len(list(storage_dir.glob("experiment*/seed*/OPENED.*"))) >= 2
             and sum(map(len, promotions(storage_dir).values())) >= 2, timeout_s=120, what="runs in flight")
    launcher.send_signal(signal.SIGTERM)  # forwarded to the workers: Preempted in main, seeds released
    launcher.communicate(timeout=120)
    released = [t for t in seed_trees(storage_dir) if list(t.attempts_dir.glob("*/RELEASED"))]
    assert released and set(states(storage_dir)) <= {SeedState.UNHATCHED, SeedState.PAUSED}
    saved = [t for t in released if list(t.attempts_dir.glob("*/incrementals.*/ckpt"))]
    assert saved, "no run preempted after its first step"
    launch(project, storage_dir, 4)
    promoted, resumes = check_promote_search(project, storage_dir)
    assert states(storage_dir) == {SeedState.PAUSED: 12}
    assert all(resumes[trial_id(t.seed_dir)] >= 1 for t in saved)  # from the checkpoint saved when preempted


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


@pytest.mark.parametrize("repairer", ["worker", "clean"])
def test_a_promoter_killed_between_its_marker_and_the_rename_is_repaired(project, tmp_path, repairer):
    storage_dir = make_adaptive(project, LRS[:9], mode="promote", sleep_s=0.01)
    stalled = tmp_path / "stalled"
    os.environ["ALFRED_STALL_AT"] = f"between_promotion_and_unpause:{stalled}"  # monkeypatched back below
    try:
        launcher = launch(project, storage_dir, 1, popen=True)
    finally:
        del os.environ["ALFRED_STALL_AT"]
    pid = int(wait_for(lambda: stalled.exists() and stalled.read_text(), timeout_s=120, what="a stalled promoter"))
    (marker,) = [p for p in (storage_dir / "rungs").glob("bracket0/step*/*.promoted")
                 if json.loads(p.read_text())["pid"] == pid]
    trial, step = marker.name[:-len(".promoted")], int(marker.parent.name[4:])
    seed_dir = storage_dir / trial.replace("-", "/")
    assert seed_state(seed_dir).flag == f"PAUSED.{step}"  # the promotion is decided, its seed still paused
    if repairer == "worker":  # the launcher's next worker, or the relaunch's, finds it
        os.kill(pid, signal.SIGKILL)
        launcher.communicate(timeout=240)
    else:
        os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait(timeout=30)
        wait_for(lambda: all(seed_state(t).state is not SeedState.RUNNING for t in seed_trees(storage_dir)), 30)
        clean = project.run_module("alfred.clean_interrupted", "--storage_name", storage_dir.name, "--root_dir",
                                   str(storage_dir.parent), "--yes")
        assert clean.returncode == 0 and "sent back 1 promoted seed(s)" in clean.stdout, clean.stdout + clean.stderr
        assert seed_state(seed_dir).state is SeedState.UNHATCHED and not (seed_dir / "UNHATCHED").read_bytes()
    launch(project, storage_dir, 2)  # whatever the first launch left
    promoted, resumes = check_promote_search(project, storage_dir, killed=True)  # its promotion was carried out
    assert 1 <= resumes[trial] <= len(promoted[trial])


def test_a_run_killed_between_its_record_and_the_alias_is_repaired_and_its_first_value_stays(project, tmp_path):
    storage_dir = make_adaptive(project, LRS[:6], mode="stop", sleep_s=0.01)
    stalled = tmp_path / "stalled"
    os.environ["ALFRED_STALL_AT"] = f"between_record_and_alias:{stalled}"
    try:
        launcher = launch(project, storage_dir, 1, popen=True)
    finally:
        del os.environ["ALFRED_STALL_AT"]
    pid = int(wait_for(lambda: stalled.exists() and stalled.read_text(), timeout_s=120, what="a stalled run"))
    (alone,) = [n for names in rung_files(storage_dir).values() for n in names if rung_records.TRIAL_RE.fullmatch(n)]
    os.killpg(launcher.pid, signal.SIGKILL)  # the run dies holding its claim, its record without alias
    launcher.wait(timeout=30)
    wait_for(lambda: all(seed_state(t).state is not SeedState.RUNNING for t in seed_trees(storage_dir)), 30)
    clean = project.run_module("alfred.clean_interrupted", "--storage_name", storage_dir.name, "--root_dir",
                               str(storage_dir.parent), "--yes")
    assert clean.returncode == 0 and pid, clean.stdout + clean.stderr
    launch(project, storage_dir, 2)
    values = check_records_once(storage_dir, killed=True)  # the alias was linked by whoever listed the rung
    lr = json.loads((storage_dir / alone.replace("-", "/") / "config.json").read_text())["lr"]
    assert values[(0, 1)][alone] == lr * 1 / 4  # the value at step 1, not the resumed run's at step 2
    assert set(states(storage_dir)) <= {SeedState.COMPLETED, SeedState.PRUNED}
    tree = DirectoryTree(storage_dir / alone.replace("-", "/"))
    assert (tree.attempts_dir / "1" / "RESET").exists() and log_lines(project, "resume")[alone] == 1


@pytest.mark.parametrize("report", [0, 1])
def test_a_grid_search_runs_as_today_whether_main_reports_or_not(project, report):
    (project.path / "main.py").write_text(ADAPTIVE_MAIN)
    schedule = project.write_schedule("grid_schedule_plain.py",
                                      grid_schedule({"lr": [0.1, 0.2, 0.3], "report": [report]}, seeds=[1, 2]))
    assert project.prepare(schedule) == 0
    (storage_dir,) = project.storage_dirs()
    launch(project, storage_dir, 2)
    assert states(storage_dir) == {SeedState.COMPLETED: 6}
    assert not (storage_dir / "rungs").exists() and len(log_lines(project, "done")) == 6
