# Sourced by the device-call scripts (hopper_sweep.sh, engine_check.sh, decode_sweep.sh): one log
# line format and one time-bounded stage. The caller sets `summary` (its log file), `total` (the
# whole script's budget in seconds, against bash's SECONDS) and `log_tag` (its lines' prefix).
log() { echo "[$log_tag +${SECONDS}s] $*" | tee -a "$summary"; }
stage() { # stage NAME LIMIT_S LOG CMD...: CMD under a timeout that never reaches past the budget
    local name=$1 limit=$2 logfile=$3
    shift 3
    [ $((total - SECONDS)) -lt "$limit" ] && limit=$((total - SECONDS))
    if [ "$limit" -le 5 ]; then log "$name: skipped (total budget ${total}s spent)"; return; fi
    log "$name: start (limit ${limit}s)"
    timeout -k 5 "$limit" "$@" >"$logfile" 2>&1
    log "$name: exit $?"
}
