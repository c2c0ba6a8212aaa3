# Shared by slurm-up.sh and slurm-down.sh (sourced): how they recognise their own daemons.
# Expects STATE to be set.

# Whether pid $1 is a live (not zombie: pid 1 of a container may be slow to reap) process named $2.
is_proc() {
    local pid=$1 name=$2 stat
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name" ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

# pid (from pid file $1) of a live process named $2, or failure.
live_pid() {
    local pid
    [[ -s $1 ]] || return 1
    pid=$(tr -dc '0-9' <"$1")
    is_proc "$pid" "$2" || return 1
    echo "$pid"
}

# Our daemon $1's pid: from its pid file in $STATE, else as recorded in $STATE/started (slurmd
# and slurmctld remove their pid files when they begin to shut down, before they have exited).
our_pid() {
    local pid
    if live_pid "$STATE/$1.pid" "$1"; then return 0; fi
    [[ -f $STATE/started ]] || return 1
    pid=$(awk -v n="$1" '$1 == n { print $2 }' "$STATE/started" | tail -n 1)
    is_proc "$pid" "$1" || return 1
    echo "$pid"
}

