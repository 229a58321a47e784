# shellcheck shell=bash
# Shared helpers for scripts/*.sh.  Source it; do not execute it.
#
# Sets NABOOM_ROOT (the repository root, found from this file's own location so
# the scripts work from any working directory) and PG_MAJOR.

# shellcheck disable=SC2034  # used by the scripts that source this file
NABOOM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PG_MAJOR="${PG_MAJOR:-15}"
PG_BINDIR="/usr/lib/postgresql/${PG_MAJOR}/bin"
export PG_CONFIG="${PG_CONFIG:-${PG_BINDIR}/pg_config}"

log()  { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly when we are root, through sudo otherwise.
# Returns 127 (with a message) when neither is possible.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -- "$@"
    else
        printf 'ERROR: need root for: %s\n' "$*" >&2
        printf '       run it as root (no sudo found), then re-run this script.\n' >&2
        return 127
    fi
}
