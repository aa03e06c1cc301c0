#!/usr/bin/env bash
# Tear down the single-node SLURM cluster started by start_cluster.sh.
#
# Stops slurmd, slurmctld, slurmdbd, mariadbd and munged (SIGTERM via their pid
# files, falling back to the exact process name, SIGKILL after ~10 s). Jobs are
# cancelled first (scancel, while slurmctld is up; waits up to ~10 s) and any
# slurmstepd left afterwards is killed with its processes.
# State (slurmctld state dir, accounting database, munge key) is kept, so
# start_cluster.sh resumes the same cluster. Never fails if nothing is running.
set -uo pipefail

RUNDIR=/run/slurm

log() { echo "slurm: $*"; }

# running_pids <comm>: pids of live (non-zombie) processes named exactly comm.
# (Zombies are skipped: a bare PID 1, as in containers, may reap them late.)
running_pids() {
    ps -eo pid=,stat=,comm= | awk -v c="$1" '$3 == c && $2 !~ /^Z/ {print $1}'
}

# descendants <pid>: all descendant pids of pid.
descendants() {
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do
        echo "$c"
        descendants "$c"
    done
}

# stop_daemon <comm> <pidfile>
stop_daemon() {
    local comm=$1 pidfile=$2 pids="" pid i
    if [ -s "$pidfile" ]; then
        pid=$(cat "$pidfile" 2>/dev/null)
        if [[ "$pid" =~ ^[0-9]+$ ]] && running_pids "$comm" | grep -x "$pid" >/dev/null; then
            pids=$pid
        fi
    fi
    pids=$(echo $pids $(running_pids "$comm") | tr ' ' '\n' | sort -u | tr '\n' ' ')
    if [ -n "${pids// /}" ]; then
        log "stopping $comm ($pids)"
        kill -TERM $pids 2>/dev/null
        for i in $(seq 1 100); do
            [ -n "$(running_pids "$comm")" ] || break
            sleep 0.1
        done
        pids=$(running_pids "$comm")
        if [ -n "$pids" ]; then
            log "$comm still running after 10 s: SIGKILL"
            kill -KILL $pids 2>/dev/null
        fi
    fi
    rm -f "$pidfile"
}

# Cancel every job first while slurmctld is up, so that neither the controller
# state nor accounting keeps a job RUNNING whose processes are gone.
if [ -n "$(running_pids slurmctld)" ] && timeout 5 scontrol ping >/dev/null 2>&1; then
    jobs=$(timeout 5 squeue -h -o %A 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        log "cancelling jobs: $jobs"
        timeout 10 scancel $jobs 2>/dev/null
        for i in $(seq 1 50); do
            [ -z "$(timeout 5 squeue -h -t R,CG,S -o %A 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
fi

stop_daemon slurmd "$RUNDIR/slurmd.pid"

# Job steps outlive slurmd: kill them and whatever they started.
steps=$(running_pids slurmstepd)
if [ -n "$steps" ]; then
    victims=$(for s in $steps; do echo "$s"; descendants "$s"; done | sort -u | tr '\n' ' ')
    log "killing job steps and their processes ($victims)"
    kill -KILL $victims 2>/dev/null
fi

stop_daemon slurmctld "$RUNDIR/slurmctld.pid"
stop_daemon slurmdbd "$RUNDIR/slurmdbd.pid"
stop_daemon mariadbd /run/mysqld/mysqld.pid
stop_daemon munged /run/munge/munged.pid

log "cluster stopped"
exit 0
