"""Adaptive searches on the tools' side: the schedule, prepare, proposals under the PROPOSE lock
(real processes racing and killed), status, summaries, the report and retrain-best."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import experiment_paths, seed_paths, wait_for

from alfred.adaptive.spec import SPEC_FILE, load_spec, parse_spec
from alfred.protocol.layout import COMPLETED, CONFIG, UNHATCHED
from alfred.protocol.listing import iter_seed_dirs, list_experiment_dirs

HEADER = textwrap.dedent("""
    from main import get_run_args
    ALG_NAMES = ['algA']
    TASK_NAMES = ['taskA']
    """)
SPACE = {"lr": {"type": "float", "low": 1e-3, "high": 1.0, "log": True},
         "width": {"type": "int", "low": 1, "high": 64}}


def adaptive_schedule(**settings) -> str:
    adaptive = {"search_space": SPACE, "metric": "score", "direction": "max", "eta": 3, "min_resource": 1,
                "max_resource": 9, "max_experiments": 6, "resource_key": "sleep_s", **settings}
    return HEADER + f"ADAPTIVE = {adaptive!r}\n"


def prepared(project, **settings) -> Path:
    schedule = project.write_schedule("adaptive_schedule_ada.py", adaptive_schedule(**settings))
    assert project.prepare(schedule) == 0
    (storage_dir,) = project.storage_dirs()
    return storage_dir


def configs(storage_dir: Path) -> list[dict]:
    return [json.loads((Path(p) / CONFIG).read_text()) for _, _, p in iter_seed_dirs(storage_dir)]


# The schedule and prepare ---------------------------------------------------------------------

def test_prepare_random_sampler_makes_every_configuration_at_once(project):
    storage_dir = prepared(project, seed=7)
    spec = load_spec(storage_dir)
    assert spec == parse_spec(json.loads((storage_dir / SPEC_FILE).read_text()))
    assert spec.max_experiments == 6 and spec.seed == 7
    assert len(experiment_paths(storage_dir)) == 6
    found = configs(storage_dir)
    assert [c["seed"] for c in found] == [1] * 6  # SEEDS defaults to [1]
    for config in found:
        assert 1e-3 <= config["lr"] <= 1.0 and 1 <= config["width"] <= 64 and isinstance(config["width"], int)
        assert config["sleep_s"] == 9  # resource_key = max_resource
        assert config["desc"] == "adaptive_ada"
    assert len({(c["lr"], c["width"]) for c in found}) == 6
    for _, _, seed_dir in iter_seed_dirs(storage_dir):
        assert (Path(seed_dir) / UNHATCHED).exists()
    # seeded by the spec's seed: the same stream again, another one for another seed
    again = prepared_again(project, "again", seed=7)
    other = prepared_again(project, "other", seed=8)
    assert [c["lr"] for c in configs(again)] == [c["lr"] for c in found]
    assert [c["lr"] for c in configs(other)] != [c["lr"] for c in found]


def prepared_again(project, desc: str, **settings) -> Path:
    schedule = project.write_schedule("adaptive_schedule_ada.py", adaptive_schedule(**settings))
    before = set(project.storage_dirs())
    assert project.prepare(schedule, "--desc", desc) == 0
    (new,) = set(project.storage_dirs()) - before
    return new


def test_prepare_model_sampler_makes_none_and_keeps_what_proposals_need(project):
    storage_dir = prepared(project, sampler="tpe", max_steps=100, max_experiments=None, seed=3)
    assert experiment_paths(storage_dir) == []
    assert load_spec(storage_dir).sampler == "tpe"
    info = json.loads((storage_dir / "prepare_info.json").read_text())
    assert info["kind"] == "adaptive" and info["config_desc"] == "adaptive_ada"
    assert info["run_defaults"]["width"] == 8 and info["seeds"] == [1]
    assert info["results"] == {"y_metric": "score", "lower_is_better": False}  # what main reports, which way


ADAPTIVE_BAD = [
    ("unknown_name", {"search_space": {"lrr": {"type": "float", "low": 0.1, "high": 1.0}}},
     ["ADAPTIVE's search_space names 'lrr'", "get_run_args does not define", "valid: crash, lr, sleep_s, width"]),
    ("reserved_name", {"search_space": {"seed": {"type": "int", "low": 1, "high": 3}}},
     ["must not set 'seed'"]),
    ("float_range_for_an_int_option", {"search_space": {"width": {"type": "float", "low": 0.5, "high": 4.0}}},
     ["'width'", "type=int"]),
    ("resource_key_unknown", {"resource_key": "epochs"}, ["resource_key names 'epochs'"]),
    ("bad_eta", {"eta": 1}, ["ADAPTIVE: eta must be an integer >= 2"]),
    ("no_budget", {"max_experiments": None}, ["give a budget"]),
    ("too_many_runs", {"max_experiments": 10**7}, ["10,000,000 runs", "--max_experiments"]),
]


@pytest.mark.parametrize("settings, words", [(s, w) for _, s, w in ADAPTIVE_BAD], ids=[i for i, _, _ in ADAPTIVE_BAD])
def test_a_bad_adaptive_schedule_is_one_line_exit_2_nothing_written(project, settings, words):
    schedule = project.write_schedule("adaptive_schedule_bad.py", adaptive_schedule(**settings))
    out = project.run_module("alfred.prepare_schedule", "--schedule_file", str(schedule), "--yes")
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in out.stderr, out.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert not (project.path / "storage").exists() or project.storage_dirs() == []


def test_an_adaptive_search_is_not_added_to(project):
    storage_dir = prepared(project)
    schedule = project.schedules / "adaptive_schedule_ada.py"
    from alfred.prepare_schedule import main

    assert main(["--schedule_file", str(schedule), "--yes", "--add_to_folder", str(storage_dir)]) == 2
    assert len(experiment_paths(storage_dir)) == 6


# Proposals -------------------------------------------------------------------------------------

PROPOSER = textwrap.dedent("""
    import json, sys
    from alfred.adaptive.spec import load_spec
    from alfred.search.proposals import propose_one
    storage_dir = sys.argv[1]
    made = []
    while (path := propose_one(storage_dir, load_spec(storage_dir))) is not None:
        made.append(path.parent.name)  # the first seed folder of the new experiment
    print(json.dumps(made))
    """)


def run_proposers(project, storage_dir: Path, n: int, env: dict | None = None) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", PROPOSER, str(storage_dir)], cwd=project.path,
                             env=env or project.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(n)]


def test_two_processes_proposing_at_once_get_different_experiments_within_the_budget(project):
    storage_dir = prepared(project, sampler="tpe", max_experiments=8, seed=1)
    procs = run_proposers(project, storage_dir, 2)
    made = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        made.append(json.loads(out))
    assert sorted(made[0] + made[1]) == sorted(f"experiment{n}" for n in range(1, 9))  # each once, none lost
    assert len(experiment_paths(storage_dir)) == 8
    assert not [n for n in os.listdir(storage_dir) if n.startswith(".experiment")]  # no temporary folder left
    for experiment_dir in experiment_paths(storage_dir):
        (seed_dir,) = seed_paths(experiment_dir)
        config = json.loads((seed_dir / CONFIG).read_text())
        notes = json.loads((experiment_dir / "proposal.json").read_text())
        assert notes["params"] == {"lr": config["lr"], "width": config["width"]}
        assert (seed_dir / UNHATCHED).exists() and config["sleep_s"] == 9
    from alfred.search.proposals import propose_one

    assert propose_one(storage_dir, load_spec(storage_dir)) is None  # the budget is spent


def test_a_proposer_killed_mid_way_leaves_nothing_a_worker_would_run(project, tmp_path):
    storage_dir = prepared(project, sampler="tpe", max_experiments=3, seed=1)
    stalled = tmp_path / "stalled"
    env = {**project.env(), "ALFRED_STALL_AT": f"proposal-built:{stalled}"}
    (proc,) = run_proposers(project, storage_dir, 1, env)
    try:
        wait_for(lambda: stalled.exists() and stalled.read_text(), 120, "the proposer to stop before its rename")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    hidden = [n for n in os.listdir(storage_dir) if n.startswith(".experiment1.")]
    assert len(hidden) == 1 and (storage_dir / hidden[0] / "seed1" / UNHATCHED).exists()  # it was built, not renamed
    assert list_experiment_dirs(storage_dir) == [] and list(iter_seed_dirs(storage_dir)) == []
    out = project.run_module("alfred.launch_schedule", "--from_file", "schedules/list_searches_ada.txt",
                             "--no_summary")  # workers that propose (when they do) take the dead holder's lock over
    assert out.returncode == 0, out.stderr
    assert not [c for c in project.calls() if "/.experiment" in c]  # nothing of the hidden folder ran
    from alfred.search.proposals import propose_one

    while propose_one(storage_dir, load_spec(storage_dir), wait_s=60) is not None:
        pass
    assert [p.name for p in experiment_paths(storage_dir)] == ["experiment1", "experiment2", "experiment3"]
    assert not [n for n in os.listdir(storage_dir) if n.startswith(".experiment")]  # the dead one's removed


def write_record(storage_dir: Path, trial: str, step: int, value: float, *, bracket: int = 0) -> None:
    """A rung record as workers write it: the record, and its alias with the value in its name."""
    rung = storage_dir / "rungs" / f"bracket{bracket}" / f"step{step}"
    rung.mkdir(parents=True, exist_ok=True)
    (rung / trial).write_text(repr(value))
    os.link(rung / trial, rung / f"{trial}={value!r}")


def finish(seed_dir: Path, flag: str = COMPLETED) -> None:
    os.rename(seed_dir / UNHATCHED, seed_dir / flag)


def test_trials_from_the_storage_dir_and_the_step_budget(project):
    from alfred.search.proposals import load_trials, propose_one

    storage_dir = prepared(project, max_experiments=3, seed=2)
    spec = load_spec(storage_dir)
    e1, e2, e3 = (seed_paths(e)[0] for e in experiment_paths(storage_dir))
    for step, value in ((1, 0.2), (3, 0.5), (9, 0.9)):
        write_record(storage_dir, "experiment1-seed1", step, value)
    finish(e1)
    write_record(storage_dir, "experiment2-seed1", 1, 0.1)
    finish(e2, "CRASH.txt")  # ended without a final value: pruned for the sampler
    write_record(storage_dir, "experiment3-seed1", 1, 0.3)
    (storage_dir / "rungs" / "bracket0" / "step1" / "experiment3-seed1=0.3").unlink()  # a record without alias
    trials, steps = load_trials(storage_dir, spec)
    assert [t.state for t in trials] == ["complete", "pruned", "running"]
    assert trials[0].value == 0.9 and dict(trials[0].intermediate) == {1: 0.2, 3: 0.5}
    assert dict(trials[1].intermediate) == {1: 0.1} and trials[1].value is None
    assert dict(trials[2].intermediate) == {1: 0.3}
    assert steps == 9 + 1 + 1
    assert trials[0].params == {k: json.loads((e1 / CONFIG).read_text())[k] for k in SPACE}
    # max_steps: proposals stop once the recorded steps reach it
    spent = parse_spec({**spec.to_dict(), "max_experiments": None, "max_steps": 11})
    assert propose_one(storage_dir, spent) is None
    more = parse_spec({**spec.to_dict(), "max_experiments": None, "max_steps": 12})
    assert propose_one(storage_dir, more) == storage_dir / "experiment4" / "seed1"


# Status ----------------------------------------------------------------------------------------

def decide(storage_dir: Path, trial: str, step: int, decision: str) -> None:
    (storage_dir / "rungs" / "bracket0" / f"step{step}" / f"{trial}.decision").write_text(decision)


def staged_search(project) -> Path:
    """6 configurations (stop mode, rungs 1 and 3, final at 9): all 6 recorded at step 1, where 4 were
    stopped and 2 went on; both recorded at 3, one stopped, one went on and finished at 9 (0.95)."""
    storage_dir = prepared(project, seed=5)
    values = [0.1, 0.2, 0.3, 0.4, 0.6, 0.7]
    for n, value in enumerate(values, start=1):
        write_record(storage_dir, f"experiment{n}-seed1", 1, value)
        decide(storage_dir, f"experiment{n}-seed1", 1, "continue" if n >= 5 else "stop")
    for n, value in ((5, 0.65), (6, 0.8)):
        write_record(storage_dir, f"experiment{n}-seed1", 3, value)
        decide(storage_dir, f"experiment{n}-seed1", 3, "continue" if n == 6 else "stop")
    write_record(storage_dir, "experiment6-seed1", 9, 0.95)
    return storage_dir


def test_status_shows_the_rungs_and_the_budget(project):
    storage_dir = staged_search(project)
    out = project.run_module("alfred.status", "--storage_name", storage_dir.name)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "adaptive search (stop mode, eta 3, sampler random, max score): 6/6 experiments; rungs:" in text
    table = {line.split()[0]: line.split() for line in text.splitlines()
             if line.strip() and line.split()[0].isdigit()}
    assert table["1"][1:] == ["6", "4", "2", "0.7"]  # reached, stopped, continued, best
    assert table["3"][1:] == ["2", "1", "1", "0.8"]
    assert table["9"][1:] == ["(final)", "1", "0", "0", "0.95"]
    header = next(line for line in text.splitlines() if "UNHATCHED" in line).lower()
    assert "pruned" in header and "paused" in header  # the protocol's branch names them PRUNED, PAUSED
    data = json.loads(project.run_module("alfred.status", "--storage_name", storage_dir.name, "--json").stdout)
    adaptive = data["storage_dirs"][0]["adaptive"]
    assert adaptive["steps"] == 4 * 1 + 3 + 9 and adaptive["experiments"] == 6
    assert [(r["step"], r["reached"], r["stopped"]) for r in adaptive["rungs"]] == [(1, 6, 4), (3, 2, 1), (9, 1, 0)]


def test_status_of_a_grid_search_has_no_adaptive_part(project):
    from conftest import grid_schedule

    schedule = project.write_schedule("grid_schedule_g.py", grid_schedule({"lr": [0.1, 0.2]}))
    assert project.prepare(schedule) == 0
    (storage_dir,) = project.storage_dirs()
    out = project.run_module("alfred.status", "--storage_name", storage_dir.name)
    assert out.returncode == 0 and "adaptive" not in out.stdout and "pruned" not in out.stdout, out.stdout


# Summaries, retrain-best, --slurm sizing -------------------------------------------------------

def run_search(project, storage_dir: Path) -> None:
    """Every seed run by real workers (the test main records score = lr * width and never reports)."""
    out = project.run_module("alfred.launch_schedule", "--storage_name", storage_dir.name, "--no_summary",
                             "--n_processes", "2")
    assert out.returncode == 0, out.stderr
    assert len(project.calls()) == len(experiment_paths(storage_dir))


def test_the_summary_ranks_among_the_runs_that_reached_the_highest_rung_and_says_so(project):
    from alfred.create_retrainbest import main as retrain_main
    from alfred.results.summary import summarize_search

    storage_dir = prepared(project, sampler="random", seed=11, resource_key=None)
    run_search(project, storage_dir)
    score = {n: c["lr"] * c["width"] for n, c in enumerate(configs(storage_dir), start=1)}
    worst_two = sorted(score, key=score.get)[:2]  # they reach the end; the better ones were "stopped"
    for n in score:
        write_record(storage_dir, f"experiment{n}-seed1", 1, score[n])
        if n in worst_two:
            write_record(storage_dir, f"experiment{n}-seed1", 3, score[n])
            write_record(storage_dir, f"experiment{n}-seed1", 9, score[n])
    summary = summarize_search(storage_dir, y_metric="score", performance_metric="score", n_resamples=50)
    assert sorted(r["experiment"] for r in summary["ranking"]) == sorted(worst_two)
    assert summary["best_experiment"] == max(worst_two, key=score.get) != max(score, key=score.get)
    assert summary["adaptive"]["ranked_at_step"] == 9 and summary["adaptive"]["n_reached"] == 2
    text = (storage_dir / "summary" / "summary.txt").read_text()
    assert "ranked among the 2 of 6 experiments that reached step 9 (max_resource)" in text
    rungs = (storage_dir / "summary" / "rungs.txt").read_text()
    assert "6/6 experiments" in rungs and "9 (final)" in rungs
    # retrain-best: the best of the ranked ones, on new seeds, a plain search (no adaptive.json), full budget
    schedule = project.schedules / "adaptive_schedule_ada.py"
    schedule.write_text(adaptive_schedule(seed=11))  # the retrain reads adaptive.json, not this file
    assert retrain_main(["--storage_name", storage_dir.name, "--n_retrain_seeds", "3", "--yes",
                         "--performance_metric", "score"]) == 0
    (retrain,) = set(project.storage_dirs()) - {storage_dir}
    assert not (retrain / SPEC_FILE).exists()
    best = json.loads((storage_dir / f"experiment{summary['best_experiment']}" / "seed1" / CONFIG).read_text())
    seeds = seed_paths(retrain / "experiment1")
    assert [s.name for s in seeds] == ["seed2", "seed3", "seed4"]
    config = json.loads((seeds[0] / CONFIG).read_text())
    assert (config["lr"], config["width"]) == (best["lr"], best["width"])
    assert config["sleep_s"] == best["sleep_s"] == 0.0  # no resource_key: nothing changed, nor multiplied


def test_retrain_of_an_adaptive_search_sets_the_resource_key_to_max_resource(project):
    from alfred.results.retrain import plan_retrain

    storage_dir = prepared(project, seed=3)
    config = json.loads((experiment_paths(storage_dir)[0] / "seed1" / CONFIG).read_text())
    for path in (experiment_paths(storage_dir)[0] / "seed1").glob("config*.json"):  # as if edited to a lower budget
        path.write_text(json.dumps({**json.loads(path.read_text()), "sleep_s": 1}))
    plan = plan_retrain(storage_dir, 1, n_seeds=2, factor=2.0, budget_params=None)
    assert plan.config["sleep_s"] == plan.unique["sleep_s"] == 9 and plan.budget_params == []
    assert plan.config["lr"] == config["lr"] and plan.seeds == [2, 3]


def test_slurm_job_count_counts_the_experiments_an_adaptive_search_may_still_propose(project):
    from alfred.search.slurm import count_runs_left

    random_dir = prepared(project, seed=3)  # 6 UNHATCHED seeds, nothing left to propose
    tpe_dir = prepared_again(project, "tpe", sampler="tpe", max_experiments=20)
    steps_dir = prepared_again(project, "steps", sampler="tpe", max_experiments=None, max_steps=50)
    assert count_runs_left([random_dir]) == 6
    assert count_runs_left([tpe_dir]) == 20
    assert count_runs_left([steps_dir]) == 50  # max_steps // min_resource
    from alfred.search.proposals import propose_one

    propose_one(tpe_dir, load_spec(tpe_dir))
    assert count_runs_left([tpe_dir]) == 20  # 1 UNHATCHED + 19 to propose


def test_the_report_shows_the_rungs_table(project):
    storage_dir = staged_search(project)
    out = project.run_module("alfred.report", "--storage_name", storage_dir.name)
    assert out.returncode == 0, out.stderr
    html = (storage_dir / "report.html").read_text()
    assert "<h3>Rungs</h3>" in html and '<span class="kind">adaptive</span>' in html
    assert "6 of 6 experiments spent" in html
    rows = html.split("<h3>Rungs</h3>", 1)[1].split("</tbody>", 1)[0]
    assert '<td class="num">1</td><td class="num">6</td><td class="num">4</td><td class="num">2</td>' in rows
    assert '<td class="num">9 (final)</td><td class="num">1</td>' in rows
