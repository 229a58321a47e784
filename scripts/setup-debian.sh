#!/usr/bin/env bash
# Install everything naboom needs on Debian 12 (PostgreSQL 15), then build and
# install the extension, and build tools/naboom-listen (the event stream
# client scripts/test.sh uses; not installed).  Idempotent; works from any
# working directory.
#
#   bash scripts/setup-debian.sh
#
# Environment:
#   NABOOM_FORCE_APT=1   run apt-get update/install even if every package is
#                        already installed (by default apt is skipped then).
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(
    postgresql-common                       # pg_virtualenv, pg_createcluster
    "postgresql-${PG_MAJOR}"
    "postgresql-client-${PG_MAJOR}"         # psql, pg_isolation_regress, isolationtester
    "postgresql-server-dev-${PG_MAJOR}"     # PGXS, pg_regress, server headers
    "postgresql-${PG_MAJOR}-postgis-3"
    "postgresql-${PG_MAJOR}-postgis-3-scripts"
    "postgresql-${PG_MAJOR}-cron"
    "postgresql-${PG_MAJOR}-pgtap"
    libtap-parser-sourcehandler-pgtap-perl  # pg_prove
    libipc-run-perl
    libdbd-pg-perl                          # test/postgrest.sh: the PostgREST replay
    libpq-dev
    make
    gcc
)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -gt 0 ] || [ "${NABOOM_FORCE_APT:-0}" = 1 ]; then
    if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
        echo "ERROR: missing packages: ${missing[*]}" >&2
        echo "Run as root:" >&2
        echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
        exit 1
    fi
    log "installing packages: ${missing[*]:-${PACKAGES[*]}}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
else
    log "all ${#PACKAGES[@]} packages already installed"
fi

# node and npm for test/graphile.sh (PostGraphile 4): Debian's nodejs and npm,
# unless both commands are there already (NodeSource's nodejs bundles npm and
# conflicts with Debian's npm package, so the packages are not checked)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "installing nodejs and npm"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
fi

[ -x "$PG_CONFIG" ] || die "pg_config not found at $PG_CONFIG"

cd "$NABOOM_ROOT"
log "building naboom in $NABOOM_ROOT"
make -s PG_CONFIG="$PG_CONFIG"

log "installing naboom"
# stdout is the list of installed files: drop it; errors (stderr) stay visible.
if [ -w "$("$PG_CONFIG" --sharedir)/extension" ]; then
    make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
else
    as_root make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
fi

log "building tools/naboom-listen"
make -s -C "$NABOOM_ROOT/tools" PG_CONFIG="$PG_CONFIG"
log "setup done"
