#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, from Debian's packages (slurm-wlm, munge), for trying the job-array
# scripts and for the tests (Elmo.Tests/Scale/SlurmTests). Everything it writes lives in one folder; every daemon it
# starts is stopped by its pid.
#
#   local-cluster.sh start DIR   writes DIR/slurm.conf and a munge key, starts munged, slurmctld and slurmd, waits
#                                until the node is idle; then: export SLURM_CONF=DIR/slurm.conf; sbatch ...
#   local-cluster.sh stop DIR    stops the daemons started in DIR (by the pids in DIR/*.pid)
#
# Needs root (the daemons run as root, munged as user munge) and the packages: apt-get install slurm-wlm munge.
# Ports: SLURM_LOCAL_CTLD_PORT (default 6817) and SLURM_LOCAL_D_PORT (default 6818).
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$(realpath -m "$2")

stop_pid() { # stop_pid NAME PIDFILE: TERM, then KILL after 10 s
  local name=$1 file=$2 pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "local-cluster: $name ($pid) did not stop on SIGTERM; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$file"
}

case "$action" in
  stop)
    stop_pid slurmd "$dir/slurmd.pid"
    stop_pid slurmctld "$dir/slurmctld.pid"
    stop_pid munged "$dir/munge/munged.pid"
    exit 0
    ;;
  start) ;;
  *) usage ;;
esac

[ "$(id -u)" -eq 0 ] || { echo "local-cluster: needs root (slurmd runs jobs as their users; munged runs as user munge)" >&2; exit 1; }
for tool in munged slurmctld slurmd sbatch sinfo; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || { echo "local-cluster: $tool is missing: apt-get install slurm-wlm munge" >&2; exit 1; }
done
id munge >/dev/null 2>&1 || { echo "local-cluster: user munge is missing: apt-get install munge" >&2; exit 1; }
export PATH="$PATH:/usr/sbin"

host=$(hostname -s)
cpus=$(nproc)
ctld_port=${SLURM_LOCAL_CTLD_PORT:-6817}
d_port=${SLURM_LOCAL_D_PORT:-6818}
mkdir -p "$dir"/{state,spool,log,munge}
chmod 755 "$dir"

# munge: a fresh key, the socket and the daemon's files in DIR/munge, owned by munge.
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chown -R munge: "$dir/munge"
chmod 700 "$dir/munge"
chmod 400 "$dir/munge/munge.key"
runuser -u munge -- munged --force \
  --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
# The socket's folder must be reachable by the clients (sbatch, the daemons): root is, and so is everyone with 711.
chmod 711 "$dir/munge"

cat > "$dir/slurm.conf" <<CONF
ClusterName=elmo-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
KillWait=10
MinJobAge=600
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"

slurmctld -c
slurmd -c
# Wait for the node to be idle (a few seconds).
for _ in $(seq 150); do
  if sinfo -h -N -o '%T' 2>/dev/null | grep -qx idle; then
    echo "local-cluster: up ($host, $cpus CPUs); export SLURM_CONF=$dir/slurm.conf"
    exit 0
  fi
  sleep 0.2
done
echo "local-cluster: the node did not become idle; logs in $dir/log" >&2
sinfo -N >&2 || true
exit 1
