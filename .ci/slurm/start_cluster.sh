#!/usr/bin/env bash
# Bring up a real single-node SLURM cluster (with accounting) on localhost.
#
# Usage: .ci/slurm/start_cluster.sh [--fresh]
#
#   --fresh   (or SLURM_FRESH=1) wipe the slurmctld state *and* the accounting
#             database before starting (they are always dropped together).
#
# Idempotent: installs what is missing, (re)writes the configs, starts only the
# daemons that are not running (restarting the slurm daemons whose config
# changed), then checks that a trivial batch job runs and shows in sacct.
# Needs root, no systemd, no network beyond the Debian package mirror.
# See README.md next to this script.
set -euo pipefail

T0=$(date +%s)

# ---------------------------------------------------------------- settings
CLUSTER=${SLURM_CLUSTER_NAME:-alfred}
CPUS=${SLURM_CPUS:-8}                  # advertised CPUs (config_overrides)
MEM_MB=${SLURM_MEM_MB:-}               # advertised memory, default below
PARTITION=debug
DB_NAME=slurm_acct_db
DB_USER=slurm
DB_PASS=slurmdb-localhost-only
ETC=/etc/slurm
LOGDIR=/var/log/slurm
RUNDIR=/run/slurm
STATEDIR=/var/lib/slurm/slurmctld
SPOOLDIR=/var/lib/slurm/slurmd
MUNGE_KEY=/etc/munge/munge.key
MUNGE_SOCKET=/run/munge/munge.socket.2
MYSQL_SOCKET=/run/mysqld/mysqld.sock
WAIT_S=${SLURM_START_TIMEOUT:-60}      # budget for each readiness wait
PACKAGES=(slurmctld slurmd slurm-client munge slurmdbd mariadb-server)

FRESH=${SLURM_FRESH:-0}
for arg in "$@"; do
    case "$arg" in
        --fresh) FRESH=1 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "start_cluster.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

log() { echo "slurm: $*"; }

dump_logs() {
    local f
    echo "slurm: ---- daemon log tails ----" >&2
    for f in "$LOGDIR"/munged.log "$LOGDIR"/mariadb.log "$LOGDIR"/slurmdbd.log \
             "$LOGDIR"/slurmctld.log "$LOGDIR"/slurmd.log "$LOGDIR"/healthcheck.out; do
        [ -e "$f" ] || continue
        echo "==== $f (last 30 lines) ====" >&2
        tail -n 30 "$f" >&2 || true
    done
    echo "==== processes ====" >&2
    ps -eo pid,user,comm,args | grep -E 'munged|mariadbd|slurm' | grep -v grep >&2 || true
}

die() {
    echo "slurm: ERROR: $*" >&2
    dump_logs
    exit 1
}

trap 'rc=$?; echo "slurm: ERROR: start_cluster.sh failed at line $LINENO (rc $rc)" >&2; dump_logs; exit $rc' ERR

# wait_for <description> <command...>: retry the command until it succeeds.
wait_for() {
    local what=$1; shift
    local deadline=$(( $(date +%s) + WAIT_S ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || die "timed out after ${WAIT_S}s waiting for $what"
        sleep 0.2
    done
}

# running_pids <comm>: pids of live (non-zombie) processes named exactly comm.
# (Zombies are skipped: a bare PID 1, as in containers, may reap them late.)
running_pids() {
    ps -eo pid=,stat=,comm= | awk -v c="$1" '$3 == c && $2 !~ /^Z/ {print $1}'
}

# alive <comm> <pidfile>: the pid in pidfile is running and is that program.
alive() {
    local comm=$1 pidfile=$2 pid
    [ -s "$pidfile" ] || return 1
    pid=$(cat "$pidfile" 2>/dev/null) || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    running_pids "$comm" | grep -x "$pid" >/dev/null
}

# stop_daemon <comm> <pidfile>: SIGTERM (pid file, else exact name), wait, SIGKILL.
stop_daemon() {
    local comm=$1 pidfile=$2 pids="" i
    if alive "$comm" "$pidfile"; then pids=$(cat "$pidfile"); fi
    pids="$pids $(running_pids "$comm")"
    pids=$(echo $pids | tr ' ' '\n' | sort -u | tr '\n' ' ')
    [ -n "${pids// /}" ] || return 0
    log "stopping $comm ($pids)"
    kill -TERM $pids 2>/dev/null || true
    for i in $(seq 1 100); do
        [ -n "$(running_pids "$comm")" ] || break
        sleep 0.1
    done
    pids=$(running_pids "$comm")
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    rm -f "$pidfile"
}

# ---------------------------------------------------------------- preflight
[ "$(id -u)" -eq 0 ] || { echo "slurm: start_cluster.sh must run as root" >&2; exit 1; }

HOST=$(hostname -s)
[ -n "$HOST" ] || { echo "slurm: empty hostname" >&2; exit 1; }
HOST_ADDR=$(getent ahostsv4 "$HOST" | awk 'NR==1 {print $1}') || HOST_ADDR=""
case "$HOST_ADDR" in
    127.*) ;;
    *) echo "slurm: ERROR: hostname '$HOST' resolves to '${HOST_ADDR:-nothing}', not a" \
            "127.x loopback address; every daemon binds to that address only, so add" \
            "'127.0.1.1 $HOST' (or 127.0.0.1) to /etc/hosts first." >&2
       exit 1 ;;
esac

# ---------------------------------------------------------------- packages
missing=()
for p in "${PACKAGES[@]}"; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || st=""
    [ "$st" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
        apt-get update -q >/dev/null
    fi
    # Keep package scripts from starting services (we start them by hand).
    own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    apt_rc=0
    apt-get install -y -q --no-install-recommends "${missing[@]}" > /tmp/slurm-apt.log 2>&1 || apt_rc=$?
    [ $own_policy -eq 0 ] || rm -f /usr/sbin/policy-rc.d
    if [ $apt_rc -ne 0 ]; then
        tail -n 40 /tmp/slurm-apt.log >&2
        echo "slurm: ERROR: apt-get install failed (full log: /tmp/slurm-apt.log)" >&2
        exit 1
    fi
fi
T_INSTALLED=$(date +%s)
INSTALL_NOTE=""
[ ${#missing[@]} -eq 0 ] || INSTALL_NOTE=" ($((T_INSTALLED - T0)) s of it installing packages)"

# ---------------------------------------------------------------- directories
install -d -m 755 "$ETC" "$LOGDIR" "$RUNDIR" "$STATEDIR" "$SPOOLDIR"
# The package makes /var/log/slurm owned by 'slurm'; munged refuses to log into
# a directory not owned by root or munge (and the daemons run as root anyway).
chown root:root "$LOGDIR"
install -d -m 755 -o munge -g munge /run/munge
install -d -m 700 -o munge -g munge /etc/munge /var/lib/munge
install -d -m 755 -o mysql -g mysql /run/mysqld
for f in munged.log:munge mariadb.log:mysql; do
    touch "$LOGDIR/${f%%:*}"
    chown "${f##*:}:" "$LOGDIR/${f%%:*}"
    chmod 640 "$LOGDIR/${f%%:*}"
done

# ---------------------------------------------------------------- configs
if [ -z "$MEM_MB" ]; then
    MEM_MB=$(awk '/^MemTotal:/ {print int($2/1024)}' /proc/meminfo)
    [ "$MEM_MB" -ge 16384 ] || MEM_MB=16384
fi

# write_conf <path> <mode>  (content on stdin); sets CHANGED=1 if it differs.
write_conf() {
    local path=$1 mode=$2 tmp
    tmp=$(mktemp "$path.XXXXXX")
    cat > "$tmp"
    chown root:root "$tmp"
    chmod "$mode" "$tmp"
    if [ -e "$path" ] && cmp -s "$tmp" "$path"; then
        rm -f "$tmp"; CHANGED=0
    else
        mv -f "$tmp" "$path"; CHANGED=1
    fi
}

write_conf "$ETC/slurm.conf" 644 <<EOF
# Generated by .ci/slurm/start_cluster.sh -- single-node test cluster on $HOST.
ClusterName=$CLUSTER
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job may restart after ~12 s instead of ~2 min.
AuthInfo=socket=$MUNGE_SOCKET,cred_expire=10
# Every daemon binds to the address the hostname resolves to ($HOST_ADDR).
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATEDIR
SlurmdSpoolDir=$SPOOLDIR
SlurmctldPidFile=$RUNDIR/slurmctld.pid
SlurmdPidFile=$RUNDIR/slurmd.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
# Jobs start within ~0.5 s.
SchedulerParameters=batch_sched_delay=0,sched_interval=2,bf_interval=2
PreemptType=preempt/none
JobRequeue=1
ReturnToService=2
# Advertise more CPUs than the machine has so several 1-CPU jobs run at once.
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=$HOST
AccountingStoragePort=6819
JobCompType=jobcomp/none
MailProg=/bin/true
NodeName=$HOST CPUs=$CPUS Boards=1 SocketsPerBoard=1 CoresPerSocket=$CPUS ThreadsPerCore=1 RealMemory=$MEM_MB State=UNKNOWN
PartitionName=$PARTITION Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
SLURM_CONF_CHANGED=$CHANGED

write_conf "$ETC/slurmdbd.conf" 600 <<EOF
# Generated by .ci/slurm/start_cluster.sh -- must stay mode 600, owned by SlurmUser.
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=$HOST
DbdAddr=$HOST
DbdPort=6819
SlurmUser=root
CommunicationParameters=NoInAddrAny
DebugLevel=info
LogFile=$LOGDIR/slurmdbd.log
PidFile=$RUNDIR/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=$DB_USER
StoragePass=$DB_PASS
StorageLoc=$DB_NAME
EOF
DBD_CONF_CHANGED=$CHANGED

# ---------------------------------------------------------------- munge
if [ ! -s "$MUNGE_KEY" ]; then
    log "creating munge key"
    runuser -u munge -- mungekey --create --keyfile="$MUNGE_KEY"
fi
chown munge:munge "$MUNGE_KEY"
chmod 400 "$MUNGE_KEY"
if ! alive munged /run/munge/munged.pid; then
    stop_daemon munged /run/munge/munged.pid   # stray munged without pid file
    rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
    log "starting munged"
    runuser -u munge -- munged --log-file="$LOGDIR/munged.log" \
        </dev/null >>"$LOGDIR/munged.log" 2>&1 || die "munged failed to start"
fi
wait_for "munged" bash -c 'munge -n | unmunge'

# ---------------------------------------------------------------- mariadb
if [ ! -d /var/lib/mysql/mysql ]; then
    log "initialising the mariadb data directory"
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db \
        >>"$LOGDIR/mariadb.log" 2>&1 || die "mariadb-install-db failed"
fi
if ! alive mariadbd /run/mysqld/mysqld.pid; then
    stop_daemon mariadbd /run/mysqld/mysqld.pid
    log "starting mariadbd (unix socket only)"
    setsid mariadbd --user=mysql --skip-networking --socket="$MYSQL_SOCKET" \
        --pid-file=/run/mysqld/mysqld.pid --log-error="$LOGDIR/mariadb.log" \
        --innodb-buffer-pool-size=256M --innodb-lock-wait-timeout=900 \
        </dev/null >>"$LOGDIR/mariadb.log" 2>&1 &
fi
wait_for "mariadbd" mariadb-admin --socket="$MYSQL_SOCKET" ping
sql() { mariadb --socket="$MYSQL_SOCKET" -N -B -e "$1"; }

# ---------------------------------------------------------------- state
# The slurmctld state (job ids, ...) and the accounting database must match:
# wiping one without the other restarts job ids and mixes old and new records.
db_has_cluster=0
if [ -n "$(sql "SHOW TABLES FROM \`$DB_NAME\` LIKE '${CLUSTER}_job_table'" 2>/dev/null)" ]; then
    db_has_cluster=1
fi
state_present=0
if [ -e "$STATEDIR/job_state" ] || [ -e "$STATEDIR/node_state" ]; then
    state_present=1
fi
if [ "$FRESH" != 1 ] && [ $db_has_cluster -ne $state_present ]; then
    log "slurmctld state ($state_present) and accounting database ($db_has_cluster) disagree: recreating both"
    FRESH=1
fi
if [ "$FRESH" = 1 ] || [ $db_has_cluster -eq 0 ]; then
    if [ "$FRESH" = 1 ] || [ $state_present -eq 1 ]; then
        log "wiping slurmctld state and accounting database"
    else
        log "creating a new cluster (no slurmctld state, no accounting database)"
    fi
    stop_daemon slurmd "$RUNDIR/slurmd.pid"
    stop_daemon slurmctld "$RUNDIR/slurmctld.pid"
    stop_daemon slurmdbd "$RUNDIR/slurmdbd.pid"
    find "$STATEDIR" "$SPOOLDIR" -mindepth 1 -delete
    sql "DROP DATABASE IF EXISTS \`$DB_NAME\`"
else
    # Same state: only restart the daemons whose configuration changed.
    if [ "$DBD_CONF_CHANGED" = 1 ] && alive slurmdbd "$RUNDIR/slurmdbd.pid"; then
        log "slurmdbd.conf changed: restarting slurmdbd"
        stop_daemon slurmdbd "$RUNDIR/slurmdbd.pid"
    fi
    if [ "$SLURM_CONF_CHANGED" = 1 ]; then
        if alive slurmctld "$RUNDIR/slurmctld.pid" || alive slurmd "$RUNDIR/slurmd.pid"; then
            log "slurm.conf changed: restarting slurmctld and slurmd"
        fi
        stop_daemon slurmd "$RUNDIR/slurmd.pid"
        stop_daemon slurmctld "$RUNDIR/slurmctld.pid"
    fi
fi

sql "CREATE DATABASE IF NOT EXISTS \`$DB_NAME\`;
     CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
     ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
     GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
     FLUSH PRIVILEGES;" || die "could not set up the accounting database"

# ---------------------------------------------------------------- slurmdbd
if ! alive slurmdbd "$RUNDIR/slurmdbd.pid"; then
    stop_daemon slurmdbd "$RUNDIR/slurmdbd.pid"
    log "starting slurmdbd"
    slurmdbd </dev/null >>"$LOGDIR/slurmdbd.log" 2>&1 || die "slurmdbd failed to start"
fi
wait_for "slurmdbd" sacctmgr -n -P show cluster

if [ -z "$(sacctmgr -n -P show cluster "$CLUSTER" format=cluster)" ]; then
    log "registering cluster '$CLUSTER' in accounting"
    sacctmgr -i add cluster "$CLUSTER" >/dev/null || die "sacctmgr add cluster failed"
fi
if [ -z "$(sacctmgr -n -P show assoc cluster="$CLUSTER" account=root user=root format=user)" ]; then
    sacctmgr -i add account root cluster="$CLUSTER" >/dev/null 2>&1 || true
    sacctmgr -i add user root account=root cluster="$CLUSTER" >/dev/null \
        || die "sacctmgr add user root failed"
fi

# ---------------------------------------------------------------- slurmctld
if ! alive slurmctld "$RUNDIR/slurmctld.pid"; then
    stop_daemon slurmctld "$RUNDIR/slurmctld.pid"
    log "starting slurmctld"
    slurmctld </dev/null >>"$LOGDIR/slurmctld.log" 2>&1 || die "slurmctld failed to start"
fi
wait_for "slurmctld" scontrol ping

# ---------------------------------------------------------------- slurmd
if ! alive slurmd "$RUNDIR/slurmd.pid"; then
    stop_daemon slurmd "$RUNDIR/slurmd.pid"
    log "starting slurmd"
    slurmd </dev/null >>"$LOGDIR/slurmd.log" 2>&1 || die "slurmd failed to start"
fi

node_ready() {
    local state
    state=$(sinfo -h -N -n "$HOST" -o '%T' 2>/dev/null | head -n1) || state=""
    case "$state" in
        idle|mixed|allocated|completing) return 0 ;;
        down*|drain*|drained*|fail*)
            scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
            return 1 ;;
        *) return 1 ;;
    esac
}
deadline=$(( $(date +%s) + WAIT_S ))
until node_ready; do
    [ "$(date +%s)" -lt "$deadline" ] || die "node $HOST not up after ${WAIT_S}s: $(sinfo -h -N -o '%N %T %E' 2>&1)"
    sleep 0.2
done

# ---------------------------------------------------------------- smoke test
# Job ids must keep increasing past what accounting already holds; if not,
# slurmctld lost recent state (e.g. it was SIGKILLed before saving it) and old
# and new records would mix: recreate both, once.
db_max=$(sql "SELECT COALESCE(MAX(id_job), 0) FROM \`$DB_NAME\`.\`${CLUSTER}_job_table\`") \
    || die "cannot read the accounting database"
JOBID=$(sbatch --parsable --job-name=cluster-healthcheck --partition="$PARTITION" \
            --chdir=/tmp --output="$LOGDIR/healthcheck.out" --wrap 'true') \
    || die "sbatch of the health-check job failed"
JOBID=${JOBID%%;*}
if [ "$JOBID" -le "$db_max" ]; then
    [ "${SLURM_START_RETRIED:-0}" = 0 ] \
        || die "job id $JOBID reused (accounting already has ids up to $db_max) even after recreating"
    log "job id $JOBID reused (accounting already has ids up to $db_max): slurmctld state is stale, recreating"
    export SLURM_START_RETRIED=1
    exec bash "$0" --fresh
fi
# Wait until accounting has the complete record: right after a (re)creation
# "sacct -j" first shows a partial record (name "allocation") and time-window
# queries miss the job for ~2 s.
since=$(date -d '-1 hour' +%Y-%m-%dT%H:%M:%S)
deadline=$(( $(date +%s) + WAIT_S ))
while :; do
    st=$(sacct -n -X -P -j "$JOBID" -o State 2>/dev/null | head -n1) || st=""
    case "$st" in
        FAILED*|CANCELLED*|TIMEOUT*|NODE_FAIL*|OUT_OF_ME*|BOOT_FAIL*|DEADLINE*)
            die "health-check job $JOBID ended $st" ;;
    esac
    if [ "$st" = COMPLETED ] && sacct -n -X -P -a -S "$since" -o JobID,JobName,State 2>/dev/null \
            | grep -x "$JOBID|cluster-healthcheck|COMPLETED" >/dev/null; then
        break
    fi
    [ "$(date +%s)" -lt "$deadline" ] \
        || die "health-check job $JOBID not COMPLETED in sacct after ${WAIT_S}s (sacct: '${st}', squeue: $(squeue -h -j "$JOBID" -o '%T %R' 2>&1))"
    sleep 0.2
done

T1=$(date +%s)
log "cluster up on $HOST ($HOST_ADDR) in $((T1 - T0)) s$INSTALL_NOTE:" \
    "cluster=$CLUSTER partition=$PARTITION cpus=$CPUS, health-check job $JOBID COMPLETED"
