#!/usr/bin/env bash
# Create or update the Slurm account of one platform user.
#
# Usage: deployment/slurm/account.sh ensure ACCOUNT [MAX_RUNNING] [MAX_SUBMITTED]
#
# Platform users are not Unix users: the web platform submits every job as the one Unix
# user SERVICE_USER, with `sbatch --account=ACCOUNT`. Each platform user gets an account
# of its own (u_<platform user id>) under PLATFORM_ACCOUNT, with fairshare=1 and the
# association limits MaxJobs=MAX_RUNNING (more jobs stay PENDING with reason
# AssocMaxJobsLimit) and MaxSubmitJobs=MAX_SUBMITTED (sbatch rejects more with
# AssocMaxSubmitJobLimit). The limits are set on the account and on its association with
# SERVICE_USER, and they count per account, so one account at its limit does not hold
# back the others. -1 removes a limit.
#
# Safe to run again and concurrently: it changes only what differs. It needs the right to
# change slurmdbd: root, SlurmUser or a user with AdminLevel Operator (cluster.sh up gives
# SERVICE_USER that level). Exit status: 0 done, 1 failed, 2 invalid arguments.
set -euo pipefail

# shellcheck source=deployment/slurm/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
Usage: $(basename "$0") ensure ACCOUNT [MAX_RUNNING] [MAX_SUBMITTED]

Create the Slurm account ACCOUNT under the parent account from the settings file, or
update it, and associate the service user with it. MAX_RUNNING is the number of jobs
that may run at once and MAX_SUBMITTED the number that may be pending or running
(defaults from deployment/slurm/env/\$SLURM_ENV.env); -1 means no limit.
Prints one line: ACCOUNT created|updated|unchanged MaxJobs=N MaxSubmitJobs=N.
EOF
}

usage_error() {
    printf 'error: %s\n\n' "$1" >&2
    usage >&2
    exit 2
}

# sacctmgr shows a limit that is not set as an empty field.
limit_display() {
    if [[ "$1" == -1 ]]; then
        printf '\n'
    else
        printf '%s\n' "$1"
    fi
}

# Print the associations of ACCOUNT as User|ParentName|Fairshare|MaxJobs|MaxSubmit lines.
# The account's own association has an empty User.
show_associations() {
    local cluster="$1" account="$2"
    sacctmgr_query show associations where cluster="$cluster" account="$account" \
        format=User,ParentName,Fairshare,MaxJobs,MaxSubmit
}

ensure_account() {
    local account="$1" max_running="$2" max_submitted="$3"
    local cluster
    cluster="$(installed_cluster_name)"
    [[ -n "$cluster" ]] || die "ClusterName is missing in $SLURM_CONF_FILE: run deployment/slurm/cluster.sh up"

    local expected_limits
    expected_limits="1|$(limit_display "$max_running")|$(limit_display "$max_submitted")"
    local limits=(fairshare=1 maxjobs="$max_running" maxsubmitjobs="$max_submitted")

    local rows account_row user_row result=unchanged
    rows="$(show_associations "$cluster" "$account")" \
        || die "sacctmgr could not list the associations of account $account: check slurmdbd with deployment/slurm/cluster.sh status"
    account_row="$(grep '^|' <<<"$rows" || true)"

    if [[ -z "$account_row" ]]; then
        # Another caller may create the same account at the same moment, so a failed add
        # is an error only when the account is still missing afterwards.
        if sacctmgr_run add account "$account" cluster="$cluster" parent="$PLATFORM_ACCOUNT" \
            description="Platform user account" organization="$PLATFORM_ACCOUNT" \
            "${limits[@]}" >/dev/null; then
            result=created
        else
            rows="$(show_associations "$cluster" "$account")" || true
            grep -q '^|' <<<"$rows" || die "sacctmgr could not add account $account under $PLATFORM_ACCOUNT in cluster $cluster"
        fi
    else
        local parent="${account_row#|}"
        parent="${parent%%|*}"
        if [[ "$parent" != "$PLATFORM_ACCOUNT" ]]; then
            die "account $account exists under parent account '$parent', not $PLATFORM_ACCOUNT: move or remove it with sacctmgr"
        fi
        if [[ "${account_row#|"$parent"|}" != "$expected_limits" ]]; then
            sacctmgr_run modify account where name="$account" cluster="$cluster" set "${limits[@]}" >/dev/null \
                || die "sacctmgr could not update the limits of account $account"
            result=updated
        fi
    fi

    user_row="$(awk -F'|' -v user="$SERVICE_USER" '$1 == user' <<<"$rows")"
    if [[ -z "$user_row" ]]; then
        if sacctmgr_run add user "$SERVICE_USER" account="$account" cluster="$cluster" \
            "${limits[@]}" >/dev/null; then
            [[ "$result" == created ]] || result=updated
        else
            rows="$(show_associations "$cluster" "$account")" || true
            [[ -n "$(awk -F'|' -v user="$SERVICE_USER" '$1 == user' <<<"$rows")" ]] \
                || die "sacctmgr could not associate user $SERVICE_USER with account $account"
        fi
    elif [[ "${user_row#"$SERVICE_USER"||}" != "$expected_limits" ]]; then
        sacctmgr_run modify user where name="$SERVICE_USER" account="$account" cluster="$cluster" \
            set "${limits[@]}" >/dev/null \
            || die "sacctmgr could not update the limits of user $SERVICE_USER in account $account"
        [[ "$result" == created ]] || result=updated
    fi

    printf '%s %s MaxJobs=%s MaxSubmitJobs=%s\n' "$account" "$result" "$max_running" "$max_submitted"
}

main() {
    local command="${1:-}"
    case "$command" in
        ensure)
            (($# >= 2 && $# <= 4)) || usage_error "ensure takes ACCOUNT and up to two limits"
            load_env
            local account="$2"
            local max_running="${3:-$DEFAULT_MAX_RUNNING_JOBS}"
            local max_submitted="${4:-$DEFAULT_MAX_SUBMITTED_JOBS}"
            # sacctmgr lowercases account names, so only lowercase names round-trip.
            [[ "$account" =~ ^[a-z0-9_][a-z0-9_-]{0,63}$ ]] \
                || usage_error "account name '$account' is invalid: use 1-64 lowercase letters, digits, '_' and '-'"
            [[ "$account" != "$PLATFORM_ACCOUNT" && "$account" != root ]] \
                || usage_error "account name '$account' is reserved"
            [[ "$max_running" =~ ^(-1|[0-9]+)$ ]] \
                || usage_error "MAX_RUNNING '$max_running' is invalid: expected a whole number or -1"
            [[ "$max_submitted" =~ ^(-1|[0-9]+)$ ]] \
                || usage_error "MAX_SUBMITTED '$max_submitted' is invalid: expected a whole number or -1"
            # Drop leading zeros: sacctmgr shows 010 as 10, and the comparison must match.
            [[ "$max_running" == -1 ]] || max_running=$((10#$max_running))
            [[ "$max_submitted" == -1 ]] || max_submitted=$((10#$max_submitted))
            ensure_account "$account" "$max_running" "$max_submitted"
            ;;
        help | -h | --help)
            usage
            ;;
        *)
            usage_error "unknown command '$command'"
            ;;
    esac
}

main "$@"
