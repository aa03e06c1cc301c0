"""Run every UNHATCHED seed of some storage dirs with N worker processes.

Several launches (on one machine or many nodes sharing the filesystem) may run at once on
the same storage dirs: each seed is claimed by exactly one worker. Exit code 0 when every
run completed, 1 when a seed crashed, a worker died or an automatic summary failed (the last
line says which; the results flags below choose the summaries' metrics), 2 for bad input, 128 + the signal
number when the launch was stopped by SIGTERM or SIGHUP (``kill``, a closed terminal): its
workers then send their running seeds back to UNHATCHED, files kept, and exit.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import time

from alfred.protocol.layout import COMPLETED, CRASH, UNHATCHED, SeedDir
from alfred.protocol.listing import refused_entries
from alfred.protocol.seed_state import check_stale_after
from alfred.results.settings import add_results_args, overrides_from
from alfred.search.launch import check_hashes, launch, resolve_processes
from alfred.search.slurm import add_slurm_args
from alfred.utils.config import add_bool_flag, add_stale_after_arg, parse_log_level, positive_float, positive_int
from alfred.utils.misc import AlfredError, call_with_flags, cli_main, full_disk_message, is_full_disk
from alfred.utils.schedule import check_user_main_file
from alfred.utils.selection import add_selection_args, select_storage_dirs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.launch_schedule", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser)
    add_bool_flag(parser, "--over_tasks",
                  help="the storage dirs are one search over several tasks: run experiment k of every storage dir "
                       "before experiment k+1 of any")
    parser.add_argument("--n_processes", type=positive_int, default=None,
                        help="number of worker processes on this machine (default: 1, in this process; "
                             "with --gpus: len(gpus) x runs_per_gpu)")
    parser.add_argument("--n_experiments_per_proc", type=positive_int, default=None,
                        help="a worker process exits after this many runs and a fresh one replaces it "
                             "(frees memory the training code leaks; default: no limit)")
    add_bool_flag(parser, "--use_pbar", help="give main() a tqdm progress bar (one line per worker process)")
    add_bool_flag(parser, "--check_hash",
                  help="refuse to launch if a tracked git repo is not at the commit the search was prepared with")
    add_bool_flag(parser, "--run_clean_interrupted",
                  help="first send interrupted seeds back to UNHATCHED (as clean_interrupted would)")
    parser.add_argument("--heartbeat_s", type=positive_float, default=30.0,
                        help="seconds between heartbeats a run writes to its OPENED flag (default: 30)")
    add_stale_after_arg(parser, launch=True)
    parser.add_argument("--log_level", type=parse_log_level, default=logging.INFO,
                        help="DEBUG, INFO, WARNING, ERROR (default: INFO)")
    add_bool_flag(parser, "--no_summary",
                  help="do not summarise the storage dirs whose seeds are all done (by default the first launcher "
                       "to finish writes each one's plots/ and summary/, once, with the results flags below)")
    parser.add_argument("--max_attempts", type=positive_int, default=5,
                        help="a seed that failed (crashed or was interrupted, then reset) this many times is "
                             "marked CRASH instead of run again; its attempts stay in attempts/<n>/ "
                             "(default: 5; released attempts, e.g. preemptions, do not count)")
    parser.add_argument("--max_releases", type=positive_int, default=20,
                        help="a seed released (preempted, time limit) this many times in a row without saving a new "
                             "checkpoint in incrementals/ is marked CRASH instead of run again: it would never "
                             "finish (default: 20)")
    parser.add_argument("--gpus", type=_gpu_list, default=None, metavar="0,1,...",
                        help="GPU ids of this machine: each worker process sees one of them as its only GPU "
                             "(CUDA_VISIBLE_DEVICES), --runs_per_gpu workers per GPU")
    parser.add_argument("--runs_per_gpu", type=positive_int, default=None,
                        help="with --gpus: worker processes sharing each GPU (default: 1)")
    add_slurm_args(parser)
    add_results_args(parser)
    return parser


def _gpu_list(text: str) -> list[str]:
    gpus = [g.strip() for g in text.split(",") if g.strip()]
    if not gpus or len(set(gpus)) != len(gpus):
        raise argparse.ArgumentTypeError(f"expected distinct GPU ids separated by commas, e.g. 0,1,3; got {text!r}")
    return gpus


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if (why := check_stale_after(args.stale_after_s, args.heartbeat_s)) is not None:
        raise AlfredError(why)
    storage_dirs = select_storage_dirs(args.from_file, args.storage_name, args.root_dir)
    check_user_main_file(".")
    if args.check_hash:
        check_hashes(storage_dirs)
    if args.run_clean_interrupted:
        from alfred.search.clean import clean, format_counts

        for r in clean(storage_dirs):
            print(f"clean_interrupted: {format_counts(r)} -> reset {r.reset}"
                  + (" (skipped: another clean holds the lock)" if r.skipped_busy else ""))
            for line in r.refused:  # links, FIFOs, ... where folders belong: no worker or cleaner follows them
                print(f"  {line}", flush=True)
    else:
        for line in (line for d in storage_dirs for line in refused_entries(d)):
            print(line, flush=True)
    args.n_processes = resolve_processes(args.n_processes, args.gpus, args.runs_per_gpu)
    if args.slurm:  # submit a job array of workers and return (alfred/search/slurm.py)
        from alfred.search.slurm import run_slurm_launch

        return run_slurm_launch(args, storage_dirs, dict(heartbeat_s=args.heartbeat_s, stale_after_s=args.stale_after_s,
                                                          log_level=args.log_level,
                                                          over_tasks=args.over_tasks, max_attempts=args.max_attempts,
                                                          max_releases=args.max_releases,
                                                          auto_summary=not args.no_summary,
                                                          summary_overrides=overrides_from(args)))
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stdout)
    print(f"launching {len(storage_dirs)} storage dir(s) with {args.n_processes} worker process(es)", flush=True)
    start = time.time()
    report = launch(storage_dirs, n_processes=args.n_processes, n_experiments_per_proc=args.n_experiments_per_proc,
                    use_pbar=args.use_pbar, heartbeat_s=args.heartbeat_s, stale_after_s=args.stale_after_s,
                    log_level=args.log_level,
                    over_tasks=args.over_tasks, max_attempts=args.max_attempts, max_releases=args.max_releases,
                    gpus=args.gpus,
                    runs_per_gpu=args.runs_per_gpu or 1)
    idle = report.ok and report.completed == 0 and report.stopped_at_rung == 0
    if idle:  # every seed was done (or taken) before this launch: say where things stand
        print(nothing_to_run(storage_dirs, args.from_file))
    else:
        rungs = f"{report.stopped_at_rung} stopped or paused at a rung, " if report.stopped_at_rung else ""
        print(f"done in {time.time() - start:.1f} s: {report.completed} run(s) completed, {rungs}"
              f"{len(report.crashed)} crashed, {len(report.died)} worker(s) died")
    for path in report.crashed:
        print(f"  crashed: {SeedDir(path).flag_path(CRASH)}")
    for line in report.died:
        print(f"  {line}")
    for line in report.failed:
        print(f"  stopped: {line}")
    for path in report.lost:
        print(f"  reset by clean_interrupted while running (not recorded): {path}")
    if report.stopped_by:
        print(f"stopped by {report.stopped_by}: running seeds were sent back to UNHATCHED with their files; "
              "launch again to go on")
        return 128 + signal.Signals[report.stopped_by].value
    if args.no_summary:
        return 0 if report.ok else 1
    from alfred.results.auto_summary import failed_summaries_line, summarize_finished

    try:
        summaries = summarize_finished(storage_dirs, overrides=overrides_from(args),
                                       log=lambda line: print(line, flush=True))
    except Exception as e:  # the runs are done and recorded: the summary problem is reported, and exits 1
        why = full_disk_message(e) if is_full_disk(e) else f"{type(e).__name__}: {e}"
        print(f"automatic summary failed: {why}", flush=True)
        return 1
    failed = failed_summaries_line(summaries, from_file=args.from_file)
    if failed:
        print(failed, flush=True)  # the last line: the launch exits 1
        return 1
    return 0 if report.ok else 1


def nothing_to_run(storage_dirs: list, from_file=None) -> str:
    """``nothing to run: all 18 seeds COMPLETED`` (or what the seeds are, when not all completed)."""
    from alfred.search.status import storage_status

    statuses = [storage_status(d) for d in storage_dirs]
    total = sum(s.total for s in statuses)
    counts = {COMPLETED: sum(s.completed for s in statuses), "crashed": sum(s.crashed for s in statuses),
              "running in another launch": sum(s.running for s in statuses),
              "interrupted": sum(s.interrupted for s in statuses), UNHATCHED: sum(s.unhatched for s in statuses)}
    if counts[COMPLETED] == total:
        return f"nothing to run: all {total} seeds {COMPLETED}"
    where = f"--from_file {from_file}" if from_file else "--storage_names " + " ".join(
        getattr(d, "name", str(d)) for d in storage_dirs)
    line = "nothing to run: " + ", ".join(f"{n} {what}" for what, n in counts.items() if n) + f" of {total} seeds"
    if counts["crashed"] or counts["interrupted"]:
        line += f"; python -m alfred.clean_interrupted {where} --clean_crashes sends them back to UNHATCHED"
    return line


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


def launch_schedule(from_file=None, storage_name=None, n_processes=None, n_experiments_per_proc=None, use_pbar=False,
                    check_hash=False, run_clean_interrupted=False, root_dir=None, log_level=None, **flags) -> int:
    """Python entry point, 0.2's call form ``launch_schedule(from_file, storage_name, n_processes,
    n_experiments_per_proc, use_pbar, check_hash, run_clean_interrupted, root_dir, log_level)``
    (``n_experiments_per_proc=np.inf``: no limit); other flags as keywords. Returns the exit code,
    raises AlfredError on bad input."""
    if isinstance(n_experiments_per_proc, float) and n_experiments_per_proc == float("inf"):
        n_experiments_per_proc = None
    if isinstance(log_level, int) and not isinstance(log_level, bool):
        log_level = logging.getLevelName(log_level)
    return call_with_flags(run, build_parser(), {
        "from_file": from_file, "storage_name": storage_name, "n_processes": n_processes,
        "n_experiments_per_proc": n_experiments_per_proc, "use_pbar": use_pbar, "check_hash": check_hash,
        "run_clean_interrupted": run_clean_interrupted, "root_dir": root_dir, "log_level": log_level, **flags})


# 0.2 names ----------------------------------------------------------------------------------

def get_launch_schedule_args() -> argparse.Namespace:
    """0.2: the command line's flags (``sys.argv``), parsed."""
    return build_parser().parse_args()


if __name__ == "__main__":
    sys.exit(main())
