#!/usr/bin/env bash
# Install, start, stop and remove a single-node Slurm cluster (munged, MariaDB, slurmdbd,
# slurmctld, slurmd) on one Debian 12 machine, for development and CI. It needs root and
# works without systemd: it starts each daemon itself and tracks it by its pid file.
#
# Usage: deployment/slurm/cluster.sh up|stop|status|purge|help   (details: `help`)
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true

# shellcheck source=deployment/slurm/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(munge slurm-wlm slurmctld slurmd slurm-client slurmdbd mariadb-server redis-tools)

CONF_DIR=/etc/slurm
PUSH_DIR="$CONF_DIR/push"
SLURMDBD_CONF_FILE="$CONF_DIR/slurmdbd.conf"
MARIADB_CONF_FILE=/etc/mysql/mariadb-slurmdbd.cnf
LOG_DIR=/var/log/slurm
RUN_DIR=/run/slurm
STATE_DIR=/var/lib/slurm
MUNGE_PID_FILE=/run/munge/munged.pid
MUNGE_LOG_FILE=/var/log/munge/munged.log

# Database settings. A MariaDB that already runs on DB_HOST:DB_PORT is reused. Otherwise
# cluster.sh starts one on DB_DATADIR, and `stop` stops only that one, because only it
# writes DB_PID_FILE. DB_ROOT_PASSWORD is the root password of a reused server (default
# empty).
DB_HOST="${DB_HOST:-127.0.0.1}"
DB_PORT="${DB_PORT:-3306}"
DB_NAME="${DB_NAME:-slurm_acct_db}"
DB_USER="${DB_USER:-slurm}"
DB_ROOT_PASSWORD="${DB_ROOT_PASSWORD:-}"
DB_SOCKET="${DB_SOCKET:-/run/mysqld/mysqld.sock}"
DB_DATADIR="${DB_DATADIR:-/var/lib/mysql}"
DB_PID_FILE=/run/mysqld/slurmdbd-mariadbd.pid
DB_PASSWORD=""

# Names the templates may use, each between two at signs.
TEMPLATE_KEYS=(
    CLUSTER_NAME NODE_NAME NODE_CPUS NODE_REAL_MEMORY_MB DEF_MEM_PER_CPU_MB KILL_WAIT_S
    MIN_JOB_AGE_S PRIORITY_DECAY_HALF_LIFE SLURM_DEBUG_LEVEL STATE_DIR RUN_DIR LOG_DIR
    DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD DB_SOCKET DB_PID_FILE DB_DATADIR
)

usage() {
    cat <<EOF
Usage: $(basename "$0") COMMAND

Commands:
  up      Install the Debian packages if missing, write the configuration, start
          munged, MariaDB (or reuse a running one), slurmdbd, slurmctld and slurmd,
          and create the cluster, the parent account and the service user. Does nothing
          for parts that already run with the current configuration.
  stop    Cancel all jobs (unless KEEP_JOBS=1), then stop slurmd, slurmctld, slurmdbd,
          munged and the MariaDB that 'up' started. A reused MariaDB keeps running.
  status  Show each daemon and whether it answers. Exit status 0 when all are usable.
  purge   Stop everything and delete the accounting database, slurmctld and slurmd
          state, the generated configuration and the logs. Packages, the munge key,
          the service user and its home directory stay.
  help    Show this text.

Environment:
  SLURM_ENV=dev|ci   settings file deployment/slurm/env/\$SLURM_ENV.env (default dev).
                     Any key of that file can be overridden from the environment.
  KEEP_JOBS=1        'stop' leaves jobs alone (their processes outlive slurmd).
  DB_HOST, DB_PORT   MariaDB address (default 127.0.0.1:3306).
  DB_ROOT_PASSWORD   root password of a reused MariaDB (default empty).
  DB_NAME, DB_USER   accounting database and its user (default slurm_acct_db, slurm).
  DB_DATADIR, DB_SOCKET  data directory and socket of a MariaDB that 'up' starts.

Logs: $LOG_DIR/{slurmctld,slurmd,slurmdbd,mariadb}.log and $LOG_DIR/munged.log
(a link to $MUNGE_LOG_FILE, because munged refuses a log directory owned by slurm).
EOF
}

# ---------------------------------------------------------------------------------------
# Processes

# Print the PID stored in a pid file, or nothing.
read_pid_file() {
    local pid_file="$1" pid=""
    [[ -r "$pid_file" ]] && read -r pid < "$pid_file" 2>/dev/null || true
    [[ "$pid" =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
    return 0
}

# Succeed when PID runs the program NAME and is not a zombie. A killed daemon stays a
# zombie until PID 1 reaps it, and `kill -0` succeeds on a zombie, so read /proc instead.
pid_alive() {
    local pid="$1" name="$2" stat comm state
    [[ -n "$pid" ]] || return 1
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
    comm="${stat#*(}"
    comm="${comm%)*}"
    state="${stat##*) }"
    state="${state%% *}"
    [[ "$comm" == "$name" && "$state" != "Z" ]]
}

# Print the PID of the daemon NAME from its pid file if it is alive, else nothing.
daemon_pid() {
    local name="$1" pid_file="$2" pid
    pid="$(read_pid_file "$pid_file")"
    if pid_alive "$pid" "$name"; then
        printf '%s\n' "$pid"
    fi
    return 0
}

# Repeat CHECK... every 0.2 s until it succeeds. Fail after TIMEOUT seconds, or as soon as
# the daemon NAME (tracked by PID_FILE) has exited, showing the end of LOG_FILE.
wait_until_ready() {
    local name="$1" pid_file="$2" log_file="$3" timeout_s="$4"
    shift 4
    local deadline=$((SECONDS + timeout_s))
    while true; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if [[ -z "$(daemon_pid "$name" "$pid_file")" ]]; then
            # Give a daemon that is still forking a moment to write its pid file.
            sleep 0.5
            if [[ -z "$(daemon_pid "$name" "$pid_file")" ]] && ! "$@" >/dev/null 2>&1; then
                startup_failed "$name exited during startup" "$log_file"
            fi
        fi
        if ((SECONDS >= deadline)); then
            startup_failed "$name did not become ready within ${timeout_s} s (check: $*)" "$log_file"
        fi
        sleep 0.2
    done
}

startup_failed() {
    local message="$1" log_file="$2"
    printf 'error: %s. Log file: %s. Its last lines:\n' "$message" "$log_file" >&2
    tail -n 20 "$log_file" 2>/dev/null | sed 's/^/    /' >&2 || true
    exit 1
}

# Send SIGTERM to the daemon NAME and wait for it to exit, then SIGKILL after TIMEOUT seconds.
stop_daemon() {
    local name="$1" pid_file="$2" timeout_s="${3:-30}" pid deadline
    pid="$(daemon_pid "$name" "$pid_file")"
    if [[ -z "$pid" ]]; then
        rm -f "$pid_file"
        return 0
    fi
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + timeout_s))
    while pid_alive "$pid" "$name"; do
        if ((SECONDS >= deadline)); then
            log "$name (pid $pid) did not exit within ${timeout_s} s of SIGTERM: sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.1
    done
    rm -f "$pid_file"
}

# Succeed when CONFIG changed after the daemon NAME last started (or it never started
# from this script), so a failed run cannot leave a daemon on an outdated configuration.
config_newer_than_daemon() {
    local name="$1" config="$2" stamp="$RUN_DIR/$1.started"
    [[ ! -e "$stamp" || "$config" -nt "$stamp" ]]
}

mark_daemon_started() {
    touch "$RUN_DIR/$1.started"
}

# ---------------------------------------------------------------------------------------
# Packages, users, directories and configuration files

install_packages() {
    local missing=() package
    for package in "${PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done
    ((${#missing[@]} == 0)) && return 0

    log "installing ${missing[*]}"
    # Keep the packages' maintainer scripts from starting the daemons: this script starts
    # them itself. Add a policy-rc.d only if the machine has none, and remove it after.
    local policy_file=/usr/sbin/policy-rc.d created_policy=0
    if [[ ! -e "$policy_file" ]]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy_file"
        chmod 0755 "$policy_file"
        created_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    local status=0 apt_log
    apt_log="$(mktemp)"
    timeout 300 apt-get update -q >"$apt_log" 2>&1 || status=$?
    if ((status == 0)); then
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends \
            "${PACKAGES[@]}" >>"$apt_log" 2>&1 || status=$?
    fi
    if ((created_policy)); then
        rm -f "$policy_file"
        trap - EXIT
    fi
    if ((status != 0)); then
        tail -n 20 "$apt_log" | sed 's/^/    /' >&2
        rm -f "$apt_log"
        die "apt-get failed with status $status while installing ${missing[*]} (its last lines are above)"
    fi
    rm -f "$apt_log"
}

# slurmd, munged and MariaDB look up the machine's own host name, so it must resolve.
ensure_hostname_resolves() {
    local host_name
    host_name="$(uname -n)"
    host_name="${host_name%%.*}"
    if ! timeout 5 getent hosts "$host_name" >/dev/null; then
        log "host name $host_name does not resolve: adding it to /etc/hosts as 127.0.0.1"
        printf '127.0.0.1 %s\n' "$host_name" >> /etc/hosts
    fi
}

ensure_service_user() {
    if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
        log "creating system user $SERVICE_USER (home $SERVICE_USER_HOME)"
        useradd --system --user-group --home-dir "$SERVICE_USER_HOME" --create-home \
            --shell /usr/sbin/nologin --comment "Slurm job submission for the web platform" \
            "$SERVICE_USER"
    fi
    if [[ ! -d "$SERVICE_USER_HOME" ]]; then
        install -d -o "$SERVICE_USER" -g "$SERVICE_USER" -m 0750 "$SERVICE_USER_HOME"
    fi
}

# Create a file owned by OWNER if it does not exist, so a daemon that drops privileges can
# still write it.
ensure_file() {
    local path="$1" owner="$2" mode="$3"
    if [[ ! -e "$path" ]]; then
        install -o "$owner" -g "$owner" -m "$mode" /dev/null "$path"
    fi
}

# /run is a tmpfs on most machines, so its directories are created before every start.
ensure_directories() {
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o mysql -g mysql -m 0755 /run/mysqld
    install -d -o slurm -g slurm -m 0755 "$RUN_DIR" "$LOG_DIR" \
        "$STATE_DIR/slurmctld" "$STATE_DIR/slurmctld/$CLUSTER_NAME"
    install -d -o root -g root -m 0755 "$STATE_DIR/slurmd" "$STATE_DIR/slurmd/$CLUSTER_NAME"

    ensure_file "$LOG_DIR/slurmctld.log" slurm 0640
    ensure_file "$LOG_DIR/slurmdbd.log" slurm 0640
    ensure_file "$LOG_DIR/slurmd.log" root 0640
    ln -sfn "$MUNGE_LOG_FILE" "$LOG_DIR/munged.log"
}

# Print TEMPLATE with every key of TEMPLATE_KEYS between at signs replaced by its value.
render_template() {
    local template="$1" text name
    text="$(< "$template")"
    for name in "${TEMPLATE_KEYS[@]}"; do
        text="${text//"@$name@"/"${!name}"}"
    done
    if [[ "$text" =~ @[A-Z][A-Z0-9_]*@ ]]; then
        die "$template: no value for placeholder ${BASH_REMATCH[0]}"
    fi
    printf '%s\n' "$text"
}

# Write TEMPLATE rendered to DEST with OWNER and MODE, unless DEST already has that text
# (so its modification time shows when the configuration last changed).
install_config() {
    local template="$1" dest="$2" owner="$3" mode="$4" rendered
    rendered="$(mktemp)"
    render_template "$template" > "$rendered"
    if [[ -f "$dest" ]] && cmp -s "$rendered" "$dest"; then
        rm -f "$rendered"
    else
        install -o "$owner" -g "$owner" -m "$mode" "$rendered" "$dest"
        rm -f "$rendered"
        log "wrote $dest"
    fi
    chown "$owner:$owner" "$dest"
    chmod "$mode" "$dest"
}

# Install the job event hook that slurm.conf names (PrologSlurmctld, jobcomp/script).
# It runs as SlurmUser, so it and its directory belong to root and only root may change
# them. Its Redis settings are written later by the web platform (setup_slurm_push);
# until then the hook does nothing.
install_push_hook() {
    install -d -o root -g root -m 0755 "$PUSH_DIR"
    local source="$SLURM_DEPLOY_DIR/hooks/slurm-push-event" dest="$PUSH_DIR/slurm-push-event"
    if [[ ! -f "$dest" ]] || ! cmp -s "$source" "$dest"; then
        install -o root -g root -m 0755 "$source" "$dest"
        log "installed $dest"
    fi
    ensure_file "$LOG_DIR/push-hook.log" slurm 0640
}

# Keep the database password of an earlier run, so the running slurmdbd and the grants in
# MariaDB stay valid; make a new random one on the first run.
load_db_password() {
    if [[ -r "$SLURMDBD_CONF_FILE" ]]; then
        DB_PASSWORD="$(sed -n 's/^StoragePass=//p' "$SLURMDBD_CONF_FILE" | head -n 1)"
    fi
    if [[ -z "$DB_PASSWORD" ]]; then
        DB_PASSWORD="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    fi
}

validate_settings() {
    [[ "$CLUSTER_NAME" =~ ^[a-z][a-z0-9_-]{0,39}$ ]] \
        || die "CLUSTER_NAME='$CLUSTER_NAME' is invalid: use lowercase letters, digits, '_' and '-'"
    [[ "$NODE_NAME" =~ ^[A-Za-z][A-Za-z0-9-]{0,62}$ ]] \
        || die "NODE_NAME='$NODE_NAME' is invalid: use letters, digits and '-'"
    [[ "$DB_NAME" =~ ^[A-Za-z0-9_]+$ ]] || die "DB_NAME='$DB_NAME' is invalid: use letters, digits and '_'"
    [[ "$DB_USER" =~ ^[A-Za-z0-9_]+$ ]] || die "DB_USER='$DB_USER' is invalid: use letters, digits and '_'"
    [[ "$DB_HOST" =~ ^[A-Za-z0-9.:-]+$ ]] || die "DB_HOST='$DB_HOST' is invalid: expected a host name or IP address"
    [[ "$SERVICE_USER" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] \
        || die "SERVICE_USER='$SERVICE_USER' is invalid: expected a Unix user name"
    [[ "$PLATFORM_ACCOUNT" =~ ^[a-z0-9_-]{1,64}$ ]] \
        || die "PLATFORM_ACCOUNT='$PLATFORM_ACCOUNT' is invalid: use lowercase letters, digits, '_' and '-'"
    [[ "$SERVICE_USER_ADMIN_LEVEL" =~ ^(None|Operator|Administrator)$ ]] \
        || die "SERVICE_USER_ADMIN_LEVEL='$SERVICE_USER_ADMIN_LEVEL' is invalid: expected None, Operator or Administrator"
    local name
    for name in NODE_CPUS NODE_REAL_MEMORY_MB DEF_MEM_PER_CPU_MB KILL_WAIT_S MIN_JOB_AGE_S \
        DEFAULT_MAX_RUNNING_JOBS DEFAULT_MAX_SUBMITTED_JOBS START_TIMEOUT_S DB_PORT; do
        [[ "${!name}" =~ ^[0-9]+$ ]] || die "$name='${!name}' is invalid: expected a whole number"
    done
}

# ---------------------------------------------------------------------------------------
# Daemons

munge_works() {
    timeout 5 munge -n 2>/dev/null | timeout 5 unmunge >/dev/null 2>&1
}

start_munged() {
    if [[ -n "$(daemon_pid munged "$MUNGE_PID_FILE")" ]] && munge_works; then
        return 0
    fi
    if [[ ! -s /etc/munge/munge.key ]]; then
        log "creating the munge key /etc/munge/munge.key"
        timeout 30 runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key
    fi
    log "starting munged"
    # munged must not run as root; it forks and writes its pid file itself.
    timeout 30 runuser -u munge -- munged --pid-file="$MUNGE_PID_FILE" </dev/null >/dev/null 2>>"$LOG_DIR/munged.start.log" \
        || startup_failed "munged failed to start" "$LOG_DIR/munged.start.log"
    wait_until_ready munged "$MUNGE_PID_FILE" "$MUNGE_LOG_FILE" "$START_TIMEOUT_S" munge_works
}

# Succeed when a MariaDB server answers on DB_HOST:DB_PORT, whether or not it lets root
# log in from there. `mysqladmin ping` succeeds when the password is wrong, but fails when
# the server rejects the host (a fresh data directory has root@localhost only).
db_reachable() {
    local output
    if output="$(timeout 5 mysqladmin --protocol=TCP -h "$DB_HOST" -P "$DB_PORT" -u root \
        --connect-timeout=3 ping 2>&1)"; then
        return 0
    fi
    [[ "$output" == *"is not allowed to connect"* ]]
}

# Run SQL from standard input as the MariaDB root user of the server on DB_HOST:DB_PORT:
# over TCP with DB_ROOT_PASSWORD first, then over DB_SOCKET, because Debian's
# root@localhost uses unix_socket authentication. The socket is used only when its server
# listens on DB_PORT, so SQL never reaches a different server on the same machine.
db_admin() {
    local sql tcp_args=(--protocol=TCP -h "$DB_HOST" -P "$DB_PORT" -u root --batch)
    sql="$(cat)"
    if [[ -n "$DB_ROOT_PASSWORD" ]]; then
        if printf '%s\n' "$sql" | MYSQL_PWD="$DB_ROOT_PASSWORD" timeout 30 mysql "${tcp_args[@]}" 2>/dev/null; then
            return 0
        fi
    elif printf '%s\n' "$sql" | timeout 30 mysql "${tcp_args[@]}" 2>/dev/null; then
        return 0
    fi

    local socket_args=(--protocol=SOCKET -S "$DB_SOCKET" -u root --batch)
    if [[ -S "$DB_SOCKET" ]] \
        && [[ "$(timeout 10 mysql "${socket_args[@]}" -N -e 'SELECT @@port' 2>/dev/null)" == "$DB_PORT" ]]; then
        printf '%s\n' "$sql" | timeout 30 mysql "${socket_args[@]}"
        return
    fi
    log "MariaDB on $DB_HOST:$DB_PORT rejected root over TCP, and $DB_SOCKET is not its socket"
    return 1
}

start_mariadb() {
    install_config "$SLURM_DEPLOY_DIR/templates/mariadb.cnf.in" "$MARIADB_CONF_FILE" root 0644
    if db_reachable; then
        if [[ -z "$(daemon_pid mariadbd "$DB_PID_FILE")" ]]; then
            log "reusing the MariaDB server that answers on $DB_HOST:$DB_PORT"
        fi
        return 0
    fi
    if [[ -z "$(daemon_pid mariadbd "$DB_PID_FILE")" ]]; then
        ensure_file "$LOG_DIR/mariadb.log" mysql 0640
        if [[ ! -d "$DB_DATADIR/mysql" ]]; then
            log "initialising the MariaDB data directory $DB_DATADIR"
            timeout 120 mariadb-install-db --defaults-file="$MARIADB_CONF_FILE" --user=mysql \
                --datadir="$DB_DATADIR" >>"$LOG_DIR/mariadb.log" 2>&1 \
                || startup_failed "mariadb-install-db failed" "$LOG_DIR/mariadb.log"
        fi
        log "starting mariadbd on $DB_HOST:$DB_PORT"
        # mariadbd has no daemon mode: detach it into its own session.
        setsid /usr/sbin/mariadbd --defaults-file="$MARIADB_CONF_FILE" \
            </dev/null >>"$LOG_DIR/mariadb.log" 2>&1 &
    fi
    wait_until_ready mariadbd "$DB_PID_FILE" "$LOG_DIR/mariadb.log" "$START_TIMEOUT_S" db_reachable
}

# Create the accounting database and its user, with the password from slurmdbd.conf.
ensure_database() {
    local user_host
    {
        printf 'CREATE DATABASE IF NOT EXISTS `%s`;\n' "$DB_NAME"
        for user_host in localhost 127.0.0.1; do
            printf "CREATE USER IF NOT EXISTS '%s'@'%s' IDENTIFIED BY '%s';\n" "$DB_USER" "$user_host" "$DB_PASSWORD"
            printf "ALTER USER '%s'@'%s' IDENTIFIED BY '%s';\n" "$DB_USER" "$user_host" "$DB_PASSWORD"
            printf "GRANT ALL ON \`%s\`.* TO '%s'@'%s';\n" "$DB_NAME" "$DB_USER" "$user_host"
        done
    } | db_admin >/dev/null || die "could not create database $DB_NAME and user $DB_USER in MariaDB on $DB_HOST:$DB_PORT: \
set DB_ROOT_PASSWORD if root has a password there"
}

slurmdbd_works() {
    sacctmgr_query show cluster format=Cluster
}

start_slurmdbd() {
    local pid
    pid="$(daemon_pid slurmdbd "$RUN_DIR/slurmdbd.pid")"
    if [[ -n "$pid" ]] && config_newer_than_daemon slurmdbd "$SLURMDBD_CONF_FILE"; then
        log "slurmdbd.conf changed since slurmdbd started: restarting slurmdbd"
        stop_daemon slurmdbd "$RUN_DIR/slurmdbd.pid"
        pid=""
    fi
    if [[ -z "$pid" ]]; then
        ensure_database
        log "starting slurmdbd"
        timeout 30 slurmdbd </dev/null >/dev/null 2>>"$LOG_DIR/slurmdbd.log" \
            || startup_failed "slurmdbd failed to start" "$LOG_DIR/slurmdbd.log"
    fi
    wait_until_ready slurmdbd "$RUN_DIR/slurmdbd.pid" "$LOG_DIR/slurmdbd.log" "$START_TIMEOUT_S" slurmdbd_works
    mark_daemon_started slurmdbd
}

slurmctld_works() {
    timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP'
}

start_slurmctld() {
    local pid
    pid="$(daemon_pid slurmctld "$RUN_DIR/slurmctld.pid")"
    if [[ -n "$pid" ]] && config_newer_than_daemon slurmctld "$SLURM_CONF_FILE"; then
        log "slurm.conf changed since slurmctld started: restarting slurmctld"
        stop_daemon slurmctld "$RUN_DIR/slurmctld.pid"
        pid=""
    fi
    if [[ -z "$pid" ]]; then
        log "starting slurmctld"
        timeout 30 slurmctld </dev/null >/dev/null 2>>"$LOG_DIR/slurmctld.log" \
            || startup_failed "slurmctld failed to start" "$LOG_DIR/slurmctld.log"
    fi
    wait_until_ready slurmctld "$RUN_DIR/slurmctld.pid" "$LOG_DIR/slurmctld.log" "$START_TIMEOUT_S" slurmctld_works
    mark_daemon_started slurmctld
}

# Print the node's state as sinfo shows it, e.g. idle, mixed, down* or drained.
node_state() {
    timeout 5 sinfo -h -N -n "$NODE_NAME" -o %T 2>/dev/null | head -n 1
}

node_usable() {
    [[ "$(node_state)" =~ ^(idle|mixed|allocated|completing)$ ]]
}

start_slurmd() {
    local pid
    pid="$(daemon_pid slurmd "$RUN_DIR/slurmd.pid")"
    if [[ -n "$pid" ]] && config_newer_than_daemon slurmd "$SLURM_CONF_FILE"; then
        log "slurm.conf changed since slurmd started: restarting slurmd"
        stop_daemon slurmd "$RUN_DIR/slurmd.pid"
        pid=""
    fi
    if [[ -z "$pid" ]]; then
        log "starting slurmd as node $NODE_NAME"
        # -N sets the node name, so slurmd does not derive it from the host name.
        timeout 30 slurmd -N "$NODE_NAME" </dev/null >/dev/null 2>>"$LOG_DIR/slurmd.log" \
            || startup_failed "slurmd failed to start" "$LOG_DIR/slurmd.log"
    fi
    if ! (wait_until_ready slurmd "$RUN_DIR/slurmd.pid" "$LOG_DIR/slurmd.log" "$START_TIMEOUT_S" node_usable); then
        printf 'error: node %s is in state "%s". scontrol shows:\n' "$NODE_NAME" "$(node_state)" >&2
        timeout 5 scontrol show node "$NODE_NAME" >&2 || true
        exit 1
    fi
    mark_daemon_started slurmd
}

# ---------------------------------------------------------------------------------------
# Cluster, QOS, parent account and service user in slurmdbd

ensure_accounts() {
    # One query answers most checks, because each sacctmgr call costs about 0.2 s. Rows
    # are User|AdminLevel|Account; a user without an association in this cluster has an
    # empty Account, and every cluster has the association root|...|root.
    local rows
    rows="$(sacctmgr_query show user "$SERVICE_USER,root" withassoc where cluster="$CLUSTER_NAME" \
        format=User,AdminLevel,Account)"

    if ! grep -q '^root|[^|]*|root$' <<<"$rows"; then
        log "adding cluster $CLUSTER_NAME to slurmdbd"
        sacctmgr_run add cluster "$CLUSTER_NAME" >/dev/null
    fi
    if ! grep -q "^[^|]*|[^|]*|$PLATFORM_ACCOUNT\$" <<<"$rows"; then
        log "adding account $PLATFORM_ACCOUNT"
        sacctmgr_run add account "$PLATFORM_ACCOUNT" cluster="$CLUSTER_NAME" \
            description="Parent of the per-user accounts of the web platform" \
            organization="$PLATFORM_ACCOUNT" >/dev/null
    fi
    local user
    for user in "$SERVICE_USER" root; do
        if ! grep -q "^$user|[^|]*|$PLATFORM_ACCOUNT\$" <<<"$rows"; then
            log "associating user $user with account $PLATFORM_ACCOUNT"
            sacctmgr_run add user "$user" account="$PLATFORM_ACCOUNT" cluster="$CLUSTER_NAME" >/dev/null
        fi
    done
    if ! grep -q "^$SERVICE_USER|$SERVICE_USER_ADMIN_LEVEL|" <<<"$rows"; then
        log "setting AdminLevel=$SERVICE_USER_ADMIN_LEVEL for user $SERVICE_USER"
        sacctmgr_run modify user "$SERVICE_USER" set adminlevel="$SERVICE_USER_ADMIN_LEVEL" >/dev/null
    fi

    # A per-user limit on the QOS would override the per-account limits that
    # account.sh sets on associations, so the QOS normal must have none.
    if [[ "$(sacctmgr_query show qos normal format=MaxJobsPU,MaxSubmitPU)" != "|" ]]; then
        log "removing the per-user job limits of QOS normal"
        sacctmgr_run modify qos normal set MaxJobsPerUser=-1 MaxSubmitJobsPerUser=-1 >/dev/null
    fi
}

# ---------------------------------------------------------------------------------------
# Commands

command_up() {
    local started_at=$SECONDS
    install_packages
    ensure_hostname_resolves
    ensure_service_user
    ensure_directories
    install_push_hook
    load_db_password

    install_config "$SLURM_DEPLOY_DIR/templates/slurm.conf.in" "$SLURM_CONF_FILE" root 0644
    install_config "$SLURM_DEPLOY_DIR/templates/slurmdbd.conf.in" "$SLURMDBD_CONF_FILE" slurm 0600

    start_munged
    start_mariadb
    start_slurmdbd
    ensure_accounts
    start_slurmctld
    start_slurmd

    log "cluster $CLUSTER_NAME (SLURM_ENV=$SLURM_ENV) is up after $((SECONDS - started_at)) s: node $NODE_NAME is $(node_state)"
}

cancel_all_jobs() {
    slurmctld_works || return 0
    local job_ids
    job_ids="$(timeout 10 squeue -h -t PENDING,RUNNING,SUSPENDED,CONFIGURING,COMPLETING -o %A 2>/dev/null | sort -u)" || return 0
    [[ -n "$job_ids" ]] || return 0
    log "cancelling $(wc -l <<<"$job_ids") jobs (KEEP_JOBS=1 keeps them)"
    # shellcheck disable=SC2086  # one argument per job ID
    timeout 10 scancel $job_ids 2>/dev/null || true
    local deadline=$((SECONDS + KILL_WAIT_S + 15))
    while [[ -n "$(timeout 10 squeue -h -t RUNNING,COMPLETING,CONFIGURING -o %A 2>/dev/null)" ]]; do
        if ((SECONDS >= deadline)); then
            log "jobs still running after scancel; stopping the daemons anyway"
            break
        fi
        sleep 0.5
    done
}

stop_slurm_daemons() {
    if [[ "${KEEP_JOBS:-0}" != 1 ]]; then
        cancel_all_jobs
    fi
    stop_daemon slurmd "$RUN_DIR/slurmd.pid"
    stop_daemon slurmctld "$RUN_DIR/slurmctld.pid"
    stop_daemon slurmdbd "$RUN_DIR/slurmdbd.pid"
}

stop_support_daemons() {
    stop_daemon mariadbd "$DB_PID_FILE" 60
    stop_daemon munged "$MUNGE_PID_FILE"
}

command_stop() {
    local started_at=$SECONDS
    stop_slurm_daemons
    stop_support_daemons
    log "stopped after $((SECONDS - started_at)) s"
}

print_status_line() {
    printf '%-10s %-9s %-8s %s\n' "$@"
}

command_status() {
    local healthy=1 name pid_file pid check state
    print_status_line DAEMON PID STATE CHECK
    for entry in "munged:$MUNGE_PID_FILE:munge_works" \
                 "mariadbd:$DB_PID_FILE:db_reachable" \
                 "slurmdbd:$RUN_DIR/slurmdbd.pid:slurmdbd_works" \
                 "slurmctld:$RUN_DIR/slurmctld.pid:slurmctld_works" \
                 "slurmd:$RUN_DIR/slurmd.pid:node_usable"; do
        IFS=: read -r name pid_file check <<<"$entry"
        pid="$(daemon_pid "$name" "$pid_file")"
        if [[ -n "$pid" ]]; then
            state=running
        elif [[ "$name" == mariadbd ]] && db_reachable; then
            pid="-"
            state=reused
        else
            pid="-"
            state=stopped
        fi
        if "$check" >/dev/null 2>&1; then
            print_status_line "$name" "$pid" "$state" "ok ($check)"
        else
            print_status_line "$name" "$pid" "$state" "FAILED ($check)"
            healthy=0
        fi
    done
    printf '\ncluster %s (SLURM_ENV=%s), node %s: %s\n' "$CLUSTER_NAME" "$SLURM_ENV" "$NODE_NAME" "$(node_state || true)"
    ((healthy))
}

command_purge() {
    stop_slurm_daemons
    load_db_password
    if [[ -n "$(daemon_pid mariadbd "$DB_PID_FILE")" ]] || db_reachable || [[ -d "$DB_DATADIR/mysql" ]]; then
        ensure_directories
        start_mariadb
        log "dropping database $DB_NAME and user $DB_USER"
        printf 'DROP DATABASE IF EXISTS `%s`;\nDROP USER IF EXISTS '\''%s'\''@'\''localhost'\'', '\''%s'\''@'\''127.0.0.1'\'';\n' \
            "$DB_NAME" "$DB_USER" "$DB_USER" | db_admin >/dev/null \
            || log "could not drop database $DB_NAME in MariaDB on $DB_HOST:$DB_PORT; it stays"
    fi
    stop_support_daemons
    log "removing configuration, state and logs"
    rm -f "$SLURM_CONF_FILE" "$SLURMDBD_CONF_FILE" "$MARIADB_CONF_FILE"
    rm -rf "${STATE_DIR:?}/slurmctld/"* "${STATE_DIR:?}/slurmd/"* "${RUN_DIR:?}"
    find "$LOG_DIR" -mindepth 1 -delete
    log "purged"
}

main() {
    local command="${1:-help}"
    case "$command" in
        up | stop | status | purge)
            require_root
            load_env
            validate_settings
            "command_$command"
            ;;
        help | -h | --help)
            usage
            ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
}

main "$@"
