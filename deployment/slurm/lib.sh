# Shared helpers for cluster.sh and account.sh, which source this file.
# shellcheck shell=bash

SLURM_DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SLURM_CONF_FILE=/etc/slurm/slurm.conf

# Keys an env file may set. Anything else in the file is rejected, so a typo fails loudly.
ENV_KEYS=(
    CLUSTER_NAME NODE_NAME NODE_CPUS NODE_REAL_MEMORY_MB DEF_MEM_PER_CPU_MB
    KILL_WAIT_S MIN_JOB_AGE_S PRIORITY_DECAY_HALF_LIFE SLURM_DEBUG_LEVEL
    SERVICE_USER SERVICE_USER_HOME SERVICE_USER_ADMIN_LEVEL PLATFORM_ACCOUNT
    DEFAULT_MAX_RUNNING_JOBS DEFAULT_MAX_SUBMITTED_JOBS START_TIMEOUT_S
)

log() {
    printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Load deployment/slurm/env/$SLURM_ENV.env (default dev). The file contains KEY=value
# lines and is parsed, not sourced. A variable already set in the environment wins.
load_env() {
    local env_name="${SLURM_ENV:-dev}"
    local env_file="$SLURM_DEPLOY_DIR/env/$env_name.env"
    if [[ ! "$env_name" =~ ^[a-z0-9_-]+$ ]] || [[ ! -f "$env_file" ]]; then
        die "SLURM_ENV='$env_name' is invalid: expected the name of a file in $SLURM_DEPLOY_DIR/env/ (dev or ci)"
    fi

    local line key value line_number=0
    while IFS= read -r line || [[ -n "$line" ]]; do
        line_number=$((line_number + 1))
        [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
        if [[ ! "$line" =~ ^([A-Z_][A-Z0-9_]*)=(.*)$ ]]; then
            die "$env_file:$line_number: expected KEY=value, got: $line"
        fi
        key="${BASH_REMATCH[1]}"
        value="${BASH_REMATCH[2]}"
        if [[ " ${ENV_KEYS[*]} " != *" $key "* ]]; then
            die "$env_file:$line_number: unknown key $key (known keys: ${ENV_KEYS[*]})"
        fi
        if [[ -z "${!key+set}" ]]; then
            printf -v "$key" '%s' "$value"
        fi
    done < "$env_file"

    for key in "${ENV_KEYS[@]}"; do
        [[ -n "${!key:-}" ]] || die "$key is not set in $env_file or the environment"
    done
    SLURM_ENV="$env_name"
}

require_root() {
    [[ "$(id -u)" -eq 0 ]] || die "$(basename "$0") must run as root"
}

# Print the ClusterName from the installed slurm.conf.
installed_cluster_name() {
    [[ -r "$SLURM_CONF_FILE" ]] || die "$SLURM_CONF_FILE not found: run deployment/slurm/cluster.sh up first"
    sed -n 's/^ClusterName=\([^[:space:]#]*\).*/\1/p' "$SLURM_CONF_FILE" | head -n 1
}

# Run sacctmgr without prompts and with a bound on how long it may wait for slurmdbd.
sacctmgr_run() {
    timeout 30 sacctmgr -i "$@"
}

# Query sacctmgr: no header, '|' between fields.
sacctmgr_query() {
    timeout 30 sacctmgr -n -P "$@"
}
