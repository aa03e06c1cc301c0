"""What SLURM says about the job a seed's claim names: asked before any heartbeat is trusted.

A claim made inside a SLURM job records the job's id and its start time (alfred.protocol.flags).
While SLURM lists that job, started at that time, as PENDING, RUNNING, SUSPENDED, ... its seed
is running, however old its heartbeat (a suspended job writes none). A job requeued under the
same id has another start time: the claim's run ended with the earlier one. Once SLURM says it
ended, seed_state waits two more heartbeats before it calls the seed interrupted (a node SLURM
gave up on may still be writing). SLURM is asked only when it can answer for sure: squeue is
on PATH, the job is this user's (other users' jobs may be hidden, PrivateData) and of this
cluster. Otherwise the heartbeat decides, as without SLURM.

One ``squeue`` lists every job, cached for a few seconds, so ``status`` of 100,000 seeds asks
SLURM once; a job it does not list is looked up by itself (``squeue -t all -j``, then
``sacct``) to tell a job that ended from one that cannot be seen.
"""
from __future__ import annotations

import getpass
import shutil
import subprocess
import time

__all__ = ["job_verdict", "job_start_time", "forget", "ENDED_STATES"]

# Job states after which no process of the job runs any more (squeue / sacct names).
ENDED_STATES = frozenset("BOOT_FAIL CANCELLED COMPLETED DEADLINE FAILED NODE_FAIL OUT_OF_MEMORY PREEMPTED REVOKED "
                         "TIMEOUT".split())
# States of a job that waits to (re)start: a claim made while it ran belongs to an ended run.
WAITING_STATES = frozenset("PENDING REQUEUED REQUEUE_FED REQUEUE_HOLD CONFIGURING".split())
CACHE_S = 5.0
TIMEOUT_S = 20.0

_listed: tuple[float, dict[str, str]] | None = None  # (when, {job id: state})
_cluster: list[str | None] = []  # this machine's cluster name, read once


def _run(args: list[str]) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _all_jobs(now: float) -> dict[str, str] | None:
    global _listed
    if _listed is not None and now - _listed[0] < CACHE_S:
        return _listed[1]
    out = _run(["squeue", "-h", "-o", "%A %T %S"])
    if out is None or out.returncode != 0:
        return None
    jobs = {f[0]: " ".join(f[1:3]) for line in out.stdout.splitlines() if len(f := line.split()) >= 2}
    _listed = (now, jobs)
    return jobs


def _cluster_name() -> str | None:
    if not _cluster:
        out = _run(["scontrol", "show", "config"])
        name = None
        for line in (out.stdout.splitlines() if out is not None and out.returncode == 0 else ()):
            key, _, value = line.partition("=")
            if key.strip() == "ClusterName":
                name = value.strip()
        _cluster.append(name)
    return _cluster[0]


def _one_job(job_id: str) -> str | None:
    """The state of a job squeue's listing lacks: ended (which way), or None if unknown."""
    out = _run(["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T"])
    if out is not None and out.returncode == 0 and out.stdout.strip():
        return out.stdout.split()[0]
    out = _run(["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "State"])
    if out is not None and out.returncode == 0 and out.stdout.strip():
        return out.stdout.split()[0]  # e.g. "CANCELLED by 0" -> CANCELLED
    return None


def job_verdict(info: dict, now: float | None = None) -> tuple[bool, str] | None:
    """``(alive, state)`` of the SLURM job a claim's facts name, or None when SLURM cannot tell.

    ``alive`` is False when SLURM says the job ended (COMPLETED, CANCELLED, FAILED, TIMEOUT,
    NODE_FAIL, OUT_OF_MEMORY, ...) or when the job was requeued and started again after the
    claim's run; PENDING, RUNNING, SUSPENDED, REQUEUED, COMPLETING and the other states of a job
    still in SLURM's hands count as alive.
    """
    job_id = info.get("slurm_job_id")
    if not job_id or shutil.which("squeue") is None:
        return None
    try:
        if info.get("user") != getpass.getuser():
            return None
    except Exception:
        return None
    cluster = info.get("slurm_cluster_name")
    if cluster and _cluster_name() not in (None, cluster):
        return None
    jobs = _all_jobs(time.time() if now is None else now)
    if jobs is None:
        return None
    listed = jobs.get(str(job_id)) or _one_job(str(job_id))
    if listed is None:
        return None
    state, _, started = listed.partition(" ")
    state = state.rstrip("+")
    if state not in ENDED_STATES and info.get("slurm_job_start_time"):
        if state in WAITING_STATES:
            return False, f"{state} (requeued: the run of this claim ended)"
        if not _same_start(info.get("slurm_job_start_time"), started):
            return False, f"{state} again (requeued: started at {started}, after the run of this claim)"
    return state not in ENDED_STATES, state


def _same_start(recorded, listed: str) -> bool:
    """Whether squeue's start time (%S, local ISO time) is the job start a claim recorded (epoch s).
    True when either is unknown (an older claim, a pending job)."""
    try:
        recorded = float(recorded)
        listed_epoch = time.mktime(time.strptime(listed, "%Y-%m-%dT%H:%M:%S"))
    except (TypeError, ValueError, OverflowError):
        return True
    return abs(listed_epoch - recorded) < 2.0


def job_start_time(job_id: str) -> float | None:
    """When the running incarnation of ``job_id`` started (epoch s), as SLURM says; None if unknown.

    Asked once per worker process inside a job (SLURM_JOB_START_TIME exists only since 23.02):
    each claim records it, so a requeued job, which keeps its id, is told apart from the run
    that made the claim.
    """
    out = _run(["squeue", "-h", "-j", str(job_id), "-o", "%S"])
    if out is None or out.returncode != 0 or not out.stdout.strip():
        return None
    try:
        return time.mktime(time.strptime(out.stdout.split()[0], "%Y-%m-%dT%H:%M:%S"))
    except (ValueError, OverflowError):
        return None


def forget() -> None:
    """Drop the cached listing (for a caller that just changed a job, e.g. tests)."""
    global _listed
    _listed = None
