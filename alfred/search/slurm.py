"""Launch workers as SLURM jobs (``launch_schedule --slurm``), with submitit.

One job array of ``--slurm_n_jobs`` identical tasks; each task is one worker
(``alfred.search.worker.run_worker``) on the same storage dirs, which must be on a filesystem every
node shares. Workers coordinate only through the seeds' FLAG-files, exactly as local worker
processes do: a search can mix SLURM jobs and local launches, jobs can be added at any time
(launch again), and each seed runs once.

``launch_schedule --slurm`` returns as soon as the array is submitted (fire-and-forget): it
prints the job ids and each task's log file. Follow the search with ``alfred.status`` /
``ls seed*/`` and ``squeue``.

Preemption and time limits (see alfred.utils.preemption and docs/slurm.md):

- the jobs ask SLURM for SIGUSR2 ``--slurm_signal_delay_s`` seconds before their time limit
  (submitit's ``--signal=USR2@<s>``); SIGUSR1 is treated the same. The run in progress gets
  ``Preempted`` raised in its main (checkpoint into ``incrementals/`` and re-raise), the seed
  goes back to UNHATCHED with its files (``attempts/<n>/RELEASED``) and the job requeues itself
  (``scontrol requeue``): the requeued task resumes the search, so it finishes without you;
- SIGTERM (scancel, or SLURM ending the job itself): same, without requeueing;
- SIGKILL, a node that dies: the seed stays OPENED; ``launch_schedule --run_clean_interrupted``
  (or clean_interrupted) resets it once its heartbeat is stale.

submitit is imported only when jobs are submitted or run, never at import time.
"""
from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from alfred.protocol.layout import SLURM_LOGS
from alfred.utils.config import add_bool_flag, non_negative_int, positive_int

log = logging.getLogger(__name__)

__all__ = ["SlurmOptions", "SubmittedJob", "add_slurm_args", "options_from_args", "submit", "job_main",
           "DEFAULT_LOG_FOLDER"]

DEFAULT_LOG_FOLDER = SLURM_LOGS  # under the root dir of the (first) storage dir
REQUEUE_SIGNALS = ("SIGUSR1", "SIGUSR2")  # "preempted / time limit close": release and requeue
DEFAULT_MAX_JOBS = 100  # default --slurm_n_jobs: min(UNHATCHED seeds + adaptive runs left, this)


@dataclass
class SlurmOptions:
    partition: str | None = None
    time_min: int = 60
    cpus_per_job: int = 1
    gpus_per_job: int = 0
    mem_gb: float | None = None
    array_parallelism: int | None = None
    n_jobs: int | None = None  # default: min(UNHATCHED seeds, DEFAULT_MAX_JOBS)
    extra: dict = field(default_factory=dict)  # other sbatch options, e.g. {"qos": "high"}
    folder: Path | None = None  # job logs; default: <root dir>/slurm_logs
    signal_delay_s: int = 120
    job_name: str = "alfred"


@dataclass
class SubmittedJob:
    job_id: str  # "<array job id>_<task>"
    stdout: Path
    stderr: Path


def add_slurm_args(parser: argparse.ArgumentParser) -> None:
    """launch_schedule's SLURM options (all start with --slurm)."""
    g = parser.add_argument_group("SLURM (with --slurm; see docs/slurm.md)")
    add_bool_flag(g, "--slurm",
                  help="submit a SLURM job array of workers and return at once, instead of running workers here")
    g.add_argument("--slurm_partition", default=None, help="partition (default: the cluster's default)")
    g.add_argument("--slurm_time_min", type=positive_int, default=60,
                   help="time limit of each job in minutes (default: 60); a job near its limit releases its run "
                        "and requeues itself")
    g.add_argument("--slurm_cpus_per_job", type=positive_int, default=1, help="CPUs per job (default: 1)")
    g.add_argument("--slurm_gpus_per_job", type=non_negative_int, default=0, help="GPUs per job (default: 0)")
    g.add_argument("--slurm_mem_gb", type=float, default=None, help="memory per job in GB (default: the cluster's)")
    g.add_argument("--slurm_n_jobs", type=positive_int, default=None,
                   help=f"number of jobs (array tasks), one worker each (default: the number of UNHATCHED seeds, plus "
                        "the runs an adaptive search may still propose, "
                        f"at most {DEFAULT_MAX_JOBS})")
    g.add_argument("--slurm_array_parallelism", type=positive_int, default=None,
                   help="at most this many jobs of the array run at once (default: no limit)")
    g.add_argument("--slurm_signal_delay_s", type=positive_int, default=120,
                   help="SLURM sends SIGUSR2 this many seconds before the time limit, to checkpoint and requeue "
                        "(default: 120)")
    g.add_argument("--slurm_extra", action="append", default=[], metavar="KEY=VALUE",
                   help="another sbatch option, repeatable: --slurm_extra qos=high --slurm_extra "
                        "constraint=a100 --slurm_extra exclusive (KEY alone for a flag)")
    g.add_argument("--slurm_folder", type=Path, default=None,
                   help=f"folder for job scripts and logs (default: <root dir>/{DEFAULT_LOG_FOLDER}); it must be on "
                        "a filesystem the compute nodes share")


def parse_extra(items: list[str]) -> dict:
    """``["qos=high", "exclusive"]`` -> ``{"qos": "high", "exclusive": True}`` (leading dashes dropped)."""
    from alfred.utils.misc import AlfredError

    extra: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().lstrip("-").replace("-", "_")
        if not key:
            raise AlfredError(f"--slurm_extra {item!r}: expected KEY=VALUE or KEY")
        extra[key] = value if sep else True
    return extra


def options_from_args(args: argparse.Namespace) -> SlurmOptions:
    return SlurmOptions(partition=args.slurm_partition, time_min=args.slurm_time_min,
                        cpus_per_job=args.slurm_cpus_per_job, gpus_per_job=args.slurm_gpus_per_job,
                        mem_gb=args.slurm_mem_gb, array_parallelism=args.slurm_array_parallelism,
                        n_jobs=args.slurm_n_jobs, extra=parse_extra(args.slurm_extra), folder=args.slurm_folder,
                        signal_delay_s=args.slurm_signal_delay_s)


def count_unhatched(storage_dirs: list[Path]) -> int:
    from alfred.protocol.listing import iter_seed_dirs
    from alfred.protocol.seed_state import SeedState, seed_state

    return sum(seed_state(seed_dir).state is SeedState.UNHATCHED
               for d in storage_dirs for _, _, seed_dir in iter_seed_dirs(d))


def count_runs_left(storage_dirs: list[Path]) -> int:
    """UNHATCHED seeds, and for an adaptive search the runs of the experiments its workers may still
    propose (max_experiments less those made, times the seeds per experiment; with a max_steps budget
    alone, at most max_steps // min_resource runs): what sizes the job array."""
    from alfred.adaptive.spec import load_spec
    from alfred.protocol.layout import StorageDir
    from alfred.protocol.listing import list_experiment_dirs
    from alfred.utils.config import read_json_or_empty

    n = count_unhatched(storage_dirs)
    for d in storage_dirs:
        spec = load_spec(d)
        if spec is None:
            continue
        n_seeds = len(read_json_or_empty(StorageDir(d).prepare_info).get("seeds") or [1])
        if spec.max_experiments is not None:
            n += max(spec.max_experiments - len(list_experiment_dirs(d)), 0) * n_seeds
        else:
            n += spec.max_steps // spec.min_resource
    return n


def submit(storage_dirs: list[Path], options: SlurmOptions, worker_kwargs: dict) -> list[SubmittedJob]:
    """Submit one job array whose tasks each run ``job_main``; returns at once.

    ``worker_kwargs`` go to ``run_worker`` (heartbeat_s, log_level, over_tasks, project_dir,
    max_attempts). Paths are made absolute: jobs may start in another folder.
    """
    import submitit

    storage_dirs = [Path(d).resolve() for d in storage_dirs]
    folder = Path(options.folder or storage_dirs[0].parent / DEFAULT_LOG_FOLDER).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    n_jobs = options.n_jobs or min(max(count_runs_left(storage_dirs), 1), DEFAULT_MAX_JOBS)
    executor = submitit.SlurmExecutor(folder=folder, max_num_timeout=0)
    params: dict = dict(job_name=options.job_name, time=options.time_min, cpus_per_task=options.cpus_per_job,
                        signal_delay_s=options.signal_delay_s, ntasks_per_node=1, nodes=1,
                        array_parallelism=options.array_parallelism or n_jobs)
    if options.partition:
        params["partition"] = options.partition
    if options.gpus_per_job:
        params["gpus_per_node"] = options.gpus_per_job
    if options.mem_gb is not None:
        params["mem"] = options.mem_gb
    if options.extra:
        params["additional_parameters"] = dict(options.extra)
    executor.update_parameters(**params)
    kwargs = {**worker_kwargs, "project_dir": str(Path(worker_kwargs.get("project_dir", ".")).resolve())}
    jobs = executor.map_array(job_main, [storage_dirs] * n_jobs, [kwargs] * n_jobs)
    return [SubmittedJob(job_id=str(j.job_id), stdout=j.paths.stdout, stderr=j.paths.stderr) for j in jobs]


def job_main(storage_dirs: list[Path], worker_kwargs: dict) -> dict:
    """What each SLURM task runs: one worker over the storage dirs, with preemption handling.

    Returns the worker's report (as a dict, stored by submitit in the job folder).
    """
    from dataclasses import asdict

    from alfred.protocol.fencing import install_handlers
    from alfred.search.worker import run_worker

    alfred_log = logging.getLogger("alfred")  # submitit logs through its own logger: leave the root alone
    if not alfred_log.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
        alfred_log.addHandler(handler)
        alfred_log.setLevel(worker_kwargs.get("log_level", logging.INFO))
    install_handlers(("SIGUSR1", "SIGUSR2", "SIGTERM"))  # replaces submitit's own handlers
    env = os.environ
    job_id = env.get("SLURM_JOB_ID", "?")
    task = (f"{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}" if "SLURM_ARRAY_JOB_ID" in env
            else job_id)
    restarts = int(env.get("SLURM_RESTART_COUNT", "0") or 0)
    worker_id = f"slurm-{task}" + (f".r{restarts}" if restarts else "")
    claim_info = dict(worker_kwargs.pop("claim_info", None) or {})
    if "SLURM_JOB_ID" in env and "SLURM_JOB_START_TIME" not in env:  # which incarnation of the job claims
        from alfred.protocol.slurm_jobs import job_start_time

        started = job_start_time(job_id)
        if started is not None:
            claim_info["slurm_job_start_time"] = started
    auto_summary = worker_kwargs.pop("auto_summary", False)
    summary_overrides = worker_kwargs.pop("summary_overrides", None)
    try:
        import submitit

        claim_info.setdefault("slurm_log", str(submitit.JobEnvironment().paths.stdout))
    except Exception:  # run outside submitit (tests, a hand-written sbatch script)
        pass
    log.info("alfred worker %s (job %s, restart %d) on %s", worker_id, job_id, restarts, env.get("HOSTNAME", "?"))
    report = run_worker([Path(d) for d in storage_dirs], worker_id=worker_id, claim_info=claim_info,
                        **worker_kwargs)
    log.info("worker %s done: %d completed, %d stopped or paused at a rung, %d crashed, %d lost%s", worker_id,
             report.completed, report.stopped_at_rung, len(report.crashed), len(report.lost),
             f", stopped by {report.preempted}" if report.preempted else "")
    if report.error:  # e.g. main.py failed to import: fail the job, so sacct and the log show it
        raise RuntimeError(f"worker {worker_id} could not start: {report.error}")
    if report.preempted in REQUEUE_SIGNALS and "SLURM_JOB_ID" in env:
        requeue(job_id)
    elif not report.preempted and auto_summary:  # the job that finds every seed done summarises, once
        try:
            from alfred.results.auto_summary import summarize_finished

            summarize_finished([Path(d) for d in storage_dirs], overrides=summary_overrides,
                               log=lambda line: log.info("%s", line))
        except Exception as e:  # the runs are recorded: a summary problem is only reported
            log.warning("summary skipped: %s: %s", type(e).__name__, e)
    return asdict(report)


def requeue(job_id: str) -> bool:
    """``scontrol requeue <job_id>``: the job goes back to the queue and starts again later."""
    try:
        result = subprocess.run(["scontrol", "requeue", job_id], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        log.error("could not requeue job %s: %s; its released seeds wait for another worker", job_id, e)
        return False
    if result.returncode != 0:
        log.error("scontrol requeue %s failed: %s; its released seeds wait for another worker", job_id,
                  (result.stderr or result.stdout).strip())
        return False
    log.info("requeued job %s: it will resume the search when SLURM starts it again", job_id)
    return True


def run_slurm_launch(args: argparse.Namespace, storage_dirs: list[Path], worker_kwargs: dict) -> int:
    """launch_schedule --slurm: submit, print the job ids and logs, return 0 (fire-and-forget)."""
    from alfred.utils.misc import AlfredError

    if args.gpus or args.runs_per_gpu:
        raise AlfredError("--gpus/--runs_per_gpu pack workers on this machine's GPUs; with --slurm, ask for "
                          "--slurm_gpus_per_job (SLURM sets CUDA_VISIBLE_DEVICES in each job)")
    options = options_from_args(args)
    if options.signal_delay_s >= options.time_min * 60 // 2:
        raise AlfredError(f"--slurm_signal_delay_s {options.signal_delay_s} must be under half the time limit "
                          f"(--slurm_time_min {options.time_min} = {options.time_min * 60} s): a signal that comes "
                          "before the worker is up kills the job")
    if shutil_which("sbatch") is None:
        raise AlfredError("--slurm: no sbatch on this machine's PATH; launch from a SLURM login node")
    try:
        import submitit  # noqa: F401
    except ImportError:
        raise AlfredError("--slurm needs submitit: pip install submitit") from None
    if args.n_processes > 1 or args.n_experiments_per_proc or args.use_pbar:
        print("note: --n_processes, --n_experiments_per_proc and --use_pbar apply to local launches; with --slurm "
              "each job is one worker (use --slurm_n_jobs)", flush=True)
    n_unhatched = count_runs_left(storage_dirs)
    if n_unhatched == 0:
        print("--slurm: no UNHATCHED seed (nor adaptive budget left) in the storage dir(s): nothing submitted "
              "(interrupted seeds? add --run_clean_interrupted)", flush=True)
        return 0
    if options.n_jobs is None:
        options.n_jobs = min(n_unhatched, DEFAULT_MAX_JOBS)
    folder = Path(options.folder or Path(storage_dirs[0]).resolve().parent / DEFAULT_LOG_FOLDER).resolve()
    options.folder = folder
    if str(folder).startswith(("/tmp/", "/var/tmp/", "/dev/shm/")):
        print(f"warning: --slurm_folder {folder} looks node-local; job logs and the submitted pickles must be on "
              "a filesystem the compute nodes share", flush=True)
    jobs = submit(storage_dirs, options, worker_kwargs)
    array_id = jobs[0].job_id.split("_")[0] if jobs else "?"
    kind = "job array" if len(jobs) > 1 else "job"  # submitit submits a single job as a plain job
    print(f"submitted SLURM {kind} {array_id}: {len(jobs)} job(s), one worker each, on "
          f"{len(storage_dirs)} storage dir(s)", flush=True)
    print(f"job logs in {folder} (must be on the filesystem the compute nodes share)", flush=True)
    for job in jobs:
        print(f"  job {job.job_id}: log {job.stdout}", flush=True)
    print(f"follow it with: squeue -j {array_id}; cancel it with: scancel {array_id}", flush=True)
    return 0


def shutil_which(name: str) -> str | None:
    import shutil

    return shutil.which(name)
