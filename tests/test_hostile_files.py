"""A shared storage dir holds what anyone with write access put there: symbolic links, FIFOs,
devices, huge files, and the disk may be full. Every reader and every script must then say one
line and go on (or stop), never hang, never follow a link out of the storage dir, never leave
anything half-made. Real processes, real special files (os.mkfifo, os.symlink, os.mknod) and a
real full filesystem (a small tmpfs, mounted here: the tests run as root in CI)."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, TEST_MAIN, grid_schedule, snapshot

from alfred.protocol.layout import CLEAN_LOCK, SUMMARY_ONGOING
from alfred.protocol.listing import list_storage_dirs

HANG_S = 20.0  # a script that has not ended by then waits on a FIFO (each ends in 1-3 s here)
LIST = ["--from_file", "schedules/list_searches_x.txt"]
SCRIPTS_WITH_STORAGE_NAME = ["launch_schedule", "clean_interrupted", "status", "benchmark", "report",
                             "make_plot_arrays", "copy_config", "create_retrainbest", "sync_wandb", "anonymize_config",
                             "update_config_unique"]


# ----------------------------------------------------------------------------- helpers
def run_alfred(cwd: Path, module: str, *args: str, timeout: float = HANG_S) -> subprocess.CompletedProcess:
    """``python -m alfred.<module> args`` in ``cwd``, in its own process group: killed whole
    (workers too), failing the test, if it has not ended after ``timeout`` seconds: it hangs."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("ALFRED_TEST_LOG", None)
    proc = subprocess.Popen([sys.executable, "-m", f"alfred.{module}", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"python -m alfred.{module} {' '.join(args)} hung (still running after {timeout:.0f} s)")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


class Search:
    """A copy of a small search (2 experiments x 2 seeds) in its own project folder."""

    def __init__(self, path: Path):
        self.path = path
        (self.storage,) = list_storage_dirs(path / "storage")
        self.seed = self.storage / "experiment1" / "seed1"

    def run(self, module: str, *args: str, timeout: float = HANG_S) -> subprocess.CompletedProcess:
        return run_alfred(self.path, module, *args, timeout=timeout)

    def flag(self, name: str) -> Path:
        """A file of the search's first seed."""
        return self.seed / name


def _project(folder: Path, variations: dict, seeds: tuple[int, ...]) -> Path:
    (folder / "schedules").mkdir(parents=True)
    (folder / "main.py").write_text(TEST_MAIN)
    (folder / "schedules" / "grid_schedule_x.py").write_text(grid_schedule(variations, seeds=seeds))
    return folder


def _build(folder: Path, *, launched: bool) -> Path:
    _project(folder, {"lr": [0.1, 0.2]}, (1, 2))
    for argv in (["prepare_schedule", "--schedule_file", "schedules/grid_schedule_x.py", "--yes"],
                 ["launch_schedule", *LIST, "--no_summary", "--log_level", "WARNING"] if launched else None):
        if argv:
            out = run_alfred(folder, *argv, timeout=120)
            assert out.returncode == 0, out.stdout + out.stderr
    return folder


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("templates")
    return {"prepared": _build(base / "prepared", launched=False), "finished": _build(base / "finished", launched=True)}


def copy_project(template: Path, to: Path) -> Search:
    shutil.copytree(template, to, symlinks=True)
    list_file = to / LIST[1]  # it records where its storage dirs are: here now
    list_file.write_text(list_file.read_text().replace(str(template.resolve()), str(to.resolve())))
    return Search(to)


@pytest.fixture
def prepared(templates, tmp_path) -> Search:
    """Every seed UNHATCHED."""
    return copy_project(templates["prepared"], tmp_path / "project")


@pytest.fixture
def finished(templates, tmp_path) -> Search:
    """Every seed COMPLETED, no summary yet."""
    return copy_project(templates["finished"], tmp_path / "project")


def fifo(path: Path) -> Path:
    if path.exists() or path.is_symlink():
        path.unlink()
    os.mkfifo(path)
    return path


class Hung(BaseException):
    """Raised by SIGALRM in ``ends_within``: a BaseException, so that no ``except OSError`` or
    ``except Exception`` of the code under test takes it for a read error and goes on."""


@contextlib.contextmanager
def ends_within(seconds: int):
    """Fail, instead of waiting forever, when the block has not ended after ``seconds``: SIGALRM's
    handler raises, which ends even an open(2) blocked on a FIFO (PEP 475 retries only when the
    handler returns)."""
    def hung(signum, frame):
        raise Hung(f"still running after {seconds} s: blocked (on a FIFO?)")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    except Hung as e:
        pytest.fail(str(e))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def one_line_about(text: str, *words: str) -> str:
    """The one line of ``text`` holding every word (AssertionError if none or several)."""
    lines = [line for line in text.splitlines() if all(w in line for w in words)]
    assert len(lines) == 1, f"expected one line with {words} in:\n{text}"
    return lines[0]


# ----------------------------------------------------------------------------- 8: FIFOs and devices
def test_a_fifo_as_config_json_crashes_its_seed_in_one_line_and_the_launch_goes_on(prepared):
    fifo(prepared.flag("config.json"))
    out = prepared.run("launch_schedule", *LIST, "--no_summary")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "3 run(s) completed, 1 crashed" in out.stdout
    one_line_about(out.stdout, "CRASH", "experiment1_seed1", "config.json is a FIFO (named pipe)")


def test_a_device_as_config_json_is_named_as_one(prepared):
    config = prepared.flag("config.json")
    config.unlink()
    os.mknod(config, stat.S_IFCHR | 0o644, os.makedev(1, 3))  # what /dev/null is
    out = prepared.run("launch_schedule", *LIST, "--no_summary")
    assert out.returncode == 1 and "3 run(s) completed, 1 crashed" in out.stdout, out.stdout + out.stderr
    one_line_about(out.stdout, "CRASH", "config.json is a character device")


def test_a_fifo_as_logger_out_is_not_waited_on_and_the_run_completes(prepared):
    """A run logs into its own logger.out.<token>: a FIFO planted as logger.out is never opened,
    and is replaced by the run's log when the run completes."""
    fifo(prepared.flag("logger.out"))
    out = prepared.run("launch_schedule", *LIST, "--no_summary")
    assert out.returncode == 0 and "4 run(s) completed" in out.stdout, out.stdout + out.stderr
    assert stat.S_ISREG(os.lstat(prepared.flag("logger.out")).st_mode)


def test_a_fifo_as_a_claim_file_hangs_no_script(finished):
    """An OPENED.<token> that is a FIFO: a claim without facts, judged by its age like any."""
    finished.flag("COMPLETED").unlink()
    fifo(finished.flag("OPENED.0123456789abcdef"))
    out = finished.run("status", *LIST, "--json")
    (status,) = json.loads(out.stdout)["storage_dirs"]
    assert (status["interrupted"], status["completed"]) == (1, 3)  # no claim alfred made: nobody's heartbeat
    for module, args in (("clean_interrupted", ["--yes"]), ("benchmark", []), ("report", []),
                         ("make_plot_arrays", []), ("launch_schedule", ["--log_level", "WARNING"])):
        out = finished.run(module, *LIST, *args)
        assert "Traceback" not in out.stderr, f"{module}: {out.stderr}"


def test_a_fifo_as_completed_hangs_neither_status_nor_the_report(finished):
    fifo(finished.flag("COMPLETED"))
    out = finished.run("status", *LIST)
    assert out.returncode == 0 and "100%" in out.stdout, out.stdout + out.stderr
    out = finished.run("report", *LIST)
    assert out.returncode == 0, out.stderr
    out = finished.run("launch_schedule", *LIST, "--log_level", "WARNING")
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_fifo_as_crash_txt_is_named_by_status_crashes(finished):
    finished.flag("COMPLETED").unlink()
    fifo(finished.flag("CRASH.txt"))
    out = finished.run("status", *LIST, "--crashes")
    assert out.returncode == 0, out.stderr
    one_line_about(out.stdout, "CRASH", "experiment1_seed1", "CRASH.txt is a FIFO (named pipe), not a regular file")
    assert finished.run("report", *LIST).returncode == 0


def test_a_fifo_as_a_recorder_is_one_line_of_the_load_report(finished):
    recorder = finished.flag("recorders") / "train_recorder.pkl"
    fifo(recorder)
    for module in ("benchmark", "make_plot_arrays"):
        out = finished.run(module, *LIST, "--y_metric", "score", "--x_metric", "step")
        assert out.returncode == 0, f"{module}: {out.stdout}{out.stderr}"
    out = finished.run("benchmark", *LIST, "--y_metric", "score", "--re_run_if_exists")
    one_line_about(out.stdout, "unreadable", "train_recorder.pkl is a FIFO (named pipe)")
    out = finished.run("launch_schedule", *LIST, "--y_metric", "score")  # the automatic summary reads it too
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_fifo_as_config_unique_hangs_no_reader_of_results(finished):
    fifo(finished.flag("config_unique.json"))
    for module in ("benchmark", "make_plot_arrays", "report"):
        out = finished.run(module, *LIST, "--y_metric", "score") if module != "report" else finished.run(module, *LIST)
        assert out.returncode == 0, f"{module}: {out.stdout}{out.stderr}"


@pytest.mark.parametrize("lock", [SUMMARY_ONGOING, CLEAN_LOCK])
def test_a_fifo_as_a_lock_hangs_neither_clean_nor_the_automatic_summary(finished, lock):
    finished.flag("COMPLETED").unlink()
    finished.flag("CRASH.txt").write_text("exception: RuntimeError: boom\n")
    fifo(finished.storage / lock)
    out = finished.run("clean_interrupted", *LIST, "--clean_crashes", "--yes")
    if lock == CLEAN_LOCK:  # a lock that cannot be read, and is fresh: held by someone alive
        assert out.returncode == 1 and "another clean_interrupted holds" in out.stderr, out.stdout + out.stderr
    else:
        assert out.returncode == 0 and "reset 1 seed(s)" in out.stdout, out.stdout + out.stderr
    out = finished.run("launch_schedule", *LIST, "--y_metric", "score", "--log_level", "WARNING")
    assert out.returncode == 0 and "Traceback" not in out.stdout + out.stderr, out.stdout + out.stderr


def test_flag_lock_and_json_readers_refuse_special_files_and_links(tmp_path):
    from alfred.protocol.fsio import read_json_or_empty
    from alfred.protocol.locks import owner_is_dead, read_lock
    from alfred.protocol.seed_state import read_flag_info
    from alfred.utils.config import load_dict_from_json
    from alfred.utils.misc import AlfredError

    outside = tmp_path / "outside.json"
    outside.write_text('{"host": "h", "pid": 1, "token": "t"}\n')
    for name, make in (("fifo", os.mkfifo), ("link", lambda p: os.symlink(outside, p))):
        path = tmp_path / name
        make(path)
        with ends_within(5):
            assert read_flag_info(path) == {} and read_lock(path) == {} and read_json_or_empty(path) == {}
            owner_is_dead(path, stale_after_s=3600.0)  # ends, whatever it decides
            with pytest.raises(AlfredError, match="not a regular file"):
                load_dict_from_json(path)


# ----------------------------------------------------------------------------- 7: symbolic links
def test_a_seed_folder_linked_outside_is_never_run_and_is_named_everywhere(prepared, tmp_path):
    outside = tmp_path / "outside"
    shutil.copytree(prepared.seed, outside)
    shutil.rmtree(prepared.seed)
    prepared.seed.symlink_to(outside)
    before = snapshot(outside)
    words = ("experiment1/seed1 is a symbolic link to", "not a folder: skipped")
    out = prepared.run("status", *LIST)
    assert "      3          3" in out.stdout
    one_line_about(out.stdout, *words)
    out = prepared.run("launch_schedule", *LIST, "--y_metric", "score")
    assert out.returncode == 0 and "3 run(s) completed" in out.stdout, out.stdout + out.stderr
    assert all(w in out.stdout.splitlines()[0] for w in words)  # said first by the launch,
    one_line_about(out.stdout, "unreadable", *words)  # and by the automatic summary's load report
    out = prepared.run("clean_interrupted", *LIST, "--yes")
    one_line_about(out.stdout, *words)
    out = prepared.run("benchmark", *LIST, "--y_metric", "score", "--re_run_if_exists")
    one_line_about(out.stdout, "unreadable", *words)
    assert snapshot(outside) == before  # nothing ran there, nothing was written there


def test_an_experiment_folder_linked_outside_is_skipped(prepared, tmp_path):
    experiment = prepared.storage / "experiment2"
    outside = tmp_path / "outside"
    shutil.copytree(experiment, outside)
    shutil.rmtree(experiment)
    experiment.symlink_to(outside)
    before = snapshot(outside)
    out = prepared.run("launch_schedule", *LIST, "--no_summary")
    assert out.returncode == 0 and "2 run(s) completed" in out.stdout, out.stdout + out.stderr
    one_line_about(out.stdout, "experiment2 is a symbolic link to", "skipped")
    out = prepared.run("status", *LIST, "--json")
    (status,) = json.loads(out.stdout)["storage_dirs"]
    assert status["total"] == 2 and len(status["refused"]) == 1
    assert snapshot(outside) == before


def test_a_storage_dir_linked_into_the_root_is_refused(prepared, tmp_path):
    outside = tmp_path / "elsewhere"
    shutil.move(prepared.storage, outside)
    prepared.storage.symlink_to(outside)
    before = snapshot(outside)
    for module in ("launch_schedule", "status", "clean_interrupted", "benchmark"):
        out = prepared.run(module, *LIST)
        assert out.returncode == 2, f"{module}: {out.stdout}{out.stderr}"
        assert out.stderr.strip().splitlines() == [one_line_about(out.stderr, "is a symbolic link to", "not followed")]
    out = prepared.run("status")  # the whole root: the link is named, on stderr, and skipped
    assert out.returncode == 0 and "no storage dir" in out.stdout
    one_line_about(out.stderr, prepared.storage.name, "is a symbolic link to", "skipped")
    assert snapshot(outside) == before


def test_an_attempts_folder_linked_outside_keeps_clean_from_resetting_its_seed(finished, tmp_path):
    import socket

    outside = tmp_path / "outside"
    outside.mkdir()
    finished.flag("COMPLETED").unlink()  # a claim whose process is gone: interrupted
    dead = {"host": socket.gethostname(), "pid": os.getpid(), "pid_start": "not this process's start"}
    finished.flag("OPENED.0123456789abcdef").write_text(json.dumps(dead) + "\n")
    finished.flag("attempts").symlink_to(outside)
    out = finished.run("clean_interrupted", *LIST, "--yes")
    one_line_about(out.stdout, "seed1/attempts is a symbolic link to", "its seed is not reset")
    assert list(outside.iterdir()) == [] and finished.flag("OPENED.0123456789abcdef").is_file()
    out = finished.run("launch_schedule", *LIST, "--run_clean_interrupted", "--no_summary")
    one_line_about(out.stdout + out.stderr, "attempts is a symbolic link to", "its seed is not reset")
    assert list(outside.iterdir()) == []


def test_a_logger_out_linked_outside_gets_nothing_appended(prepared, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("mine\n")
    prepared.flag("logger.out").symlink_to(victim)
    out = prepared.run("launch_schedule", *LIST, "--no_summary")
    assert out.returncode == 0 and "4 run(s) completed" in out.stdout, out.stdout + out.stderr
    assert victim.read_text() == "mine\n"  # the run logged into its own file, which then replaced the link
    assert not os.path.islink(prepared.flag("logger.out"))


def test_a_config_or_a_recorder_linked_outside_is_not_read(prepared, tmp_path):
    outside = tmp_path / "config.json"
    shutil.copy(prepared.flag("config.json"), outside)
    prepared.flag("config.json").unlink()
    prepared.flag("config.json").symlink_to(outside)
    out = prepared.run("launch_schedule", *LIST, "--no_summary")
    assert "3 run(s) completed, 1 crashed" in out.stdout, out.stdout + out.stderr
    one_line_about(out.stdout, "CRASH", "config.json is a symbolic link to")
    recorder = prepared.storage / "experiment2" / "seed2" / "recorders" / "train_recorder.pkl"
    shutil.move(recorder, tmp_path / "r.pkl")
    recorder.symlink_to(tmp_path / "r.pkl")
    out = prepared.run("benchmark", *LIST, "--y_metric", "score")
    one_line_about(out.stdout, "unreadable", "train_recorder.pkl is a symbolic link to")


def test_copy_config_copies_no_linked_file_into_the_new_search(finished, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the copy\n")
    variations = finished.storage / "variations.json"
    variations.unlink()
    variations.symlink_to(secret)
    out = finished.run("copy_config", "--storage_name", finished.storage.name, "--new_task", "taskB", "--yes")
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        one_line_about(out.stderr, "variations.json is a symbolic link to", "not followed")]
    assert list_storage_dirs(finished.path / "storage") == [finished.storage]
    assert not [p for p in (finished.path / "storage").iterdir() if p.name.startswith(".S")]
    assert [p.name for p in (finished.path / "storage" / ".alfred_ids").iterdir()] == ["Se1"]  # its id went back


def test_a_recorder_streamed_to_a_link_or_a_fifo_is_refused_at_once(tmp_path):
    from alfred.protocol.fsio import RefusedFile
    from alfred.utils.recorder import Recorder

    victim = tmp_path / "victim.jsonl"
    victim.write_text("mine\n")
    (tmp_path / "link.jsonl").symlink_to(victim)
    os.mkfifo(tmp_path / "fifo.jsonl")
    for name in ("link.jsonl", "fifo.jsonl"):
        with ends_within(5), pytest.raises(RefusedFile, match="not a regular file"):
            Recorder(["step"], stream_to=tmp_path / name)
        with ends_within(5), pytest.raises(RefusedFile, match="not a regular file"):
            Recorder.load(tmp_path / name)
    assert victim.read_text() == "mine\n"


# ----------------------------------------------------------------------------- 10: size bounds
def test_a_huge_recorder_is_refused_by_its_size_in_one_line(finished):
    recorder = finished.flag("recorders") / "train_recorder.pkl"
    with open(recorder, "r+b") as f:
        f.truncate(3 << 30)  # 3 GiB, sparse: nothing is written to the disk
    out = finished.run("benchmark", *LIST, "--y_metric", "score")
    assert out.returncode == 0, out.stdout + out.stderr
    one_line_about(out.stdout, "unreadable", "train_recorder.pkl is 3 GiB, over the 512 MiB limit for recorder files",
                   "raise alfred.defaults.MAX_RECORDER_BYTES")


def test_the_recorder_limit_is_read_where_used(finished, monkeypatch):
    import alfred.defaults
    from alfred.results.loading import LoadReport, load_curves

    monkeypatch.setattr(alfred.defaults, "MAX_RECORDER_BYTES", 10)
    report = LoadReport()
    assert load_curves(finished.storage, y_metric="score", report=report) == {}
    assert len(report.unreadable) == 4 and "over the 10 bytes limit" in report.unreadable[0]
    monkeypatch.setattr(alfred.defaults, "MAX_RECORDER_BYTES", 1 << 20)
    report = LoadReport()
    assert len(load_curves(finished.storage, y_metric="score", report=report)) == 2 and report.loaded == 4


def test_a_huge_config_crashes_its_seed_in_one_line(prepared):
    with open(prepared.flag("config.json"), "r+b") as f:
        f.truncate(2 << 20)
    out = prepared.run("launch_schedule", *LIST, "--no_summary")
    assert "3 run(s) completed, 1 crashed" in out.stdout, out.stdout + out.stderr
    one_line_about(out.stdout, "CRASH", "config.json is 2 MiB, over the 1 MiB limit for configs",
                   "alfred.defaults.MAX_CONFIG_BYTES")


@pytest.mark.parametrize("case", ["seeds", "values"])
def test_max_experiments_counts_seeds_and_comes_before_any_value_check(prepared, case):
    """10^7 seeds, or 10^7 values of which two are NaN and two repeat: the size is refused first,
    from the lists' lengths (the value checks of 10^7 values once took 92 s)."""
    text = {"seeds": "SEEDS = range(10**7)\nVARIATIONS = {'lr': [0.1, float('nan'), 0.1]}\n",
            "values": "SEEDS = [1, 2]\nVARIATIONS = {'lr': [float('nan')] * 2 + list(range(10**7))}\n"}[case]
    schedule = prepared.path / "schedules" / "grid_schedule_big.py"
    schedule.write_text("from main import get_run_args\nALG_NAMES = ['a']\nTASK_NAMES = ['t']\n" + text)
    before = snapshot(prepared.path / "storage")
    out = prepared.run("prepare_schedule", "--schedule_file", str(schedule), "--yes", timeout=60)
    runs = {"seeds": "30,000,000", "values": "20,000,004"}[case]
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    one_line_about(out.stderr, f"{runs} runs per storage dir", "more than --max_experiments 100,000")
    assert snapshot(prepared.path / "storage") == before


# ----------------------------------------------------------------------------- 12: --storage_name
@pytest.mark.parametrize("name", ["..", ".", "<absolute path of the storage dir>", "a/b"])
@pytest.mark.parametrize("script", SCRIPTS_WITH_STORAGE_NAME)
def test_storage_name_must_be_a_folder_name(finished, script, name, capsys, monkeypatch):
    import importlib

    monkeypatch.chdir(finished.path)
    name = str(finished.storage.resolve()) if name.startswith("<") else name
    before = snapshot(finished.path)
    extra = ["--new_task", "t"] if script == "copy_config" else []
    code = importlib.import_module(f"alfred.{script}").main(["--storage_name", name, *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [one_line_about(err, f"storage name {name!r}", "not a folder name")]
    assert snapshot(finished.path) == before


def test_a_list_file_naming_a_path_is_refused(finished):
    (finished.path / "schedules" / "list_bad.txt").write_text("..\n")
    out = finished.run("launch_schedule", "--from_file", "schedules/list_bad.txt")
    assert out.returncode == 2
    one_line_about(out.stderr, "storage name '..' in list file", "not a folder name")


# ----------------------------------------------------------------------------- 9: a full disk
@pytest.fixture
def small_disk(tmp_path) -> Path:
    """A real tmpfs of 512 KiB and 64 inodes, unmounted at the end. Mounting needs root (or
    CAP_SYS_ADMIN): CI runs as root and sets ALFRED_TEST_REQUIRE_TMPFS=1, so it never skips there."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,nr_inodes=64", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        why = f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount failed'}): run as root"
        if os.environ.get("ALFRED_TEST_REQUIRE_TMPFS"):
            pytest.fail(why)
        pytest.skip(why)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk: Path, *, inodes: bool = True, blocks: bool = True) -> None:
    """Use up the disk's blocks (one growing file), then its inodes (empty files)."""
    if blocks:
        fd = os.open(disk / "filler_blocks", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC
        finally:
            os.close(fd)
    k = 0
    while inodes:
        try:
            (disk / f"filler{k}").touch()
            k += 1
        except OSError as e:
            assert e.errno == errno.ENOSPC
            break


def assert_full_disk_line(out: subprocess.CompletedProcess, code: int = 1) -> None:
    assert out.returncode == code, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == [one_line_about(out.stderr, "error: no space left on the device",
                                                              "free some space")]


@pytest.mark.parametrize("what", ["inodes", "blocks"])
def test_prepare_on_a_full_disk_leaves_nothing(prepared, small_disk, what):
    root = small_disk / "storage"
    (root / ".alfred_ids").mkdir(parents=True)  # a root used before (its id registry is not the search's)
    fill(small_disk, inodes=what == "inodes", blocks=what == "blocks")
    before = snapshot(small_disk)
    out = prepared.run("prepare_schedule", "--schedule_file", "schedules/grid_schedule_x.py", "--desc", "full",
                       "--root_dir", str(root), "--yes")
    assert_full_disk_line(out)
    assert snapshot(small_disk) == before  # no storage dir, no temp folder, no id taken


def test_prepare_whose_list_file_cannot_be_written_takes_its_storage_dirs_back(small_disk, tmp_path):
    project = _project(small_disk / "project", {"lr": [0.1]}, (1,))
    fill(small_disk)
    root = tmp_path / "roomy_root"  # the search fits here; its list file, in the full project, does not
    out = run_alfred(project, "prepare_schedule", "--schedule_file", "schedules/grid_schedule_x.py",
                     "--root_dir", str(root), "--yes")
    assert_full_disk_line(out)
    assert list_storage_dirs(root) == [] and not any(p.name.startswith(".S") for p in root.iterdir())
    assert list((root / ".alfred_ids").iterdir()) == []


def test_clean_benchmark_and_the_automatic_summary_on_a_full_disk_say_so_in_one_line(templates, small_disk):
    search = copy_project(templates["finished"], small_disk / "project")
    project = search.path
    search.flag("COMPLETED").unlink()
    search.flag("CRASH.txt").write_text("exception: RuntimeError: boom\n")
    fill(small_disk, blocks=False)
    states = {p.relative_to(project).as_posix() for p in project.rglob("*")
              if p.name in ("COMPLETED", "CRASH.txt", "UNHATCHED")}
    assert_full_disk_line(search.run("clean_interrupted", *LIST, "--clean_crashes", "--yes"))
    assert_full_disk_line(search.run("benchmark", *LIST, "--y_metric", "score"))
    assert_full_disk_line(search.run("make_plot_arrays", *LIST, "--y_metric", "score"))
    out = search.run("launch_schedule", *LIST, "--y_metric", "score")
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    assert out.stdout.strip().splitlines()[-1].startswith("automatic summary failed: no space left on the device")
    assert {p.relative_to(project).as_posix() for p in project.rglob("*")
            if p.name in ("COMPLETED", "CRASH.txt", "UNHATCHED")} == states  # no seed changed
    assert not (search.storage / "summary").exists() and not list(search.storage.glob(".summary*"))


def test_the_small_disk_is_really_full(small_disk):
    """The fixture's disk: the tests above see a real ENOSPC, not a pretend one."""
    fill(small_disk)
    with pytest.raises(OSError) as e:
        (small_disk / "one_more").mkdir()
    assert e.value.errno == errno.ENOSPC and os.statvfs(small_disk).f_favail == 0
