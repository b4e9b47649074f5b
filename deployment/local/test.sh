#!/usr/bin/env bash
# `make test`: install, make sure Redis and Chromium are there, run pytest.
# Extra arguments go to pytest, e.g. `bash deployment/local/test.sh -k submit`.
set -euo pipefail
cd "$(dirname "$0")/../.."
source deployment/local/common.sh
trap stop_private_redis EXIT

ensure_chromium() {
    export CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
    [ -x "$CHROMIUM_PATH" ] && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing Chromium from Debian's packages for the browser tests"
        timeout 600 apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null \
            || die "apt-get install chromium failed"
    else
        die "Chromium is missing at $CHROMIUM_PATH; install Debian's chromium package or set CHROMIUM_PATH"
    fi
}

# The Slurm tests run against a real single-node cluster; cluster.sh installs
# and starts it (root needed) and is quick when it already runs.
ensure_slurm() {
    if timeout 20 scontrol ping >/dev/null 2>&1; then
        return
    fi
    [ "$(id -u)" = 0 ] || die "no Slurm cluster answers and starting one needs root; run: sudo deployment/slurm/cluster.sh up (or pass -m 'not slurm')"
    log "starting the single-node Slurm cluster (deployment/slurm/cluster.sh up)"
    timeout 900 bash deployment/slurm/cluster.sh up >"$VAR_DIR/slurm-up.log" 2>&1 \
        || { tail -n 40 "$VAR_DIR/slurm-up.log" >&2; die "starting Slurm failed; see $VAR_DIR/slurm-up.log"; }
}

# The LaTeX compile tests need latexmk and pdflatex; Debian's minimal TeX
# (texlive-latex-base) is enough for them.
ensure_latex() {
    command -v latexmk >/dev/null 2>&1 && command -v pdflatex >/dev/null 2>&1 && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing latexmk and a minimal TeX from Debian's packages for the compile tests"
        timeout 600 apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -qq --no-install-recommends texlive-latex-base latexmk >/dev/null \
            || die "apt-get install texlive-latex-base latexmk failed"
    else
        die "latexmk or pdflatex is missing; install Debian's texlive-latex-base and latexmk"
    fi
}

ensure_venv
# Test keys need no saving between runs.
PRIVATE_REDIS_SAVE="" ensure_redis
ensure_chromium
ensure_latex
ensure_slurm
# Keys of this run live under their own prefix, so a shared Redis is safe.
export REDIS_PREFIX="fairshare-test-$$"

status=0
python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "error: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
