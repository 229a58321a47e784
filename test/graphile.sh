#!/usr/bin/env bash
# test/graphile.sh: naboom behind a real PostGraphile 4, over HTTP and a
# WebSocket.
#
#   bash test/graphile.sh        (make installcheck-graphile; scripts/test.sh)
#
# Needs a running cluster with naboom installed (PGHOST/PGPORT/PGUSER/
# PGPASSWORD as pg_virtualenv sets them, the user a superuser; TCP on
# 127.0.0.1 with password authentication), and node and npm (Debian's
# nodejs and npm: scripts/setup-debian.sh installs them).  It
#   1. installs tools/postgraphile's packages from its package-lock.json with
#      `npm ci` into tools/postgraphile/node_modules (gitignored), with the
#      npm cache in NABOOM_NPM_CACHE (default ~/.cache/naboom-npm), and skips
#      that when node_modules was installed from the same lock file;
#   2. makes the database naboom_graphile afresh (CREATE EXTENSION naboom
#      CASCADE) and the gateway's login role, an authenticator as the README
#      describes, named graphile_authenticator so that a real deployment's
#      `authenticator` in the same cluster is never touched (NOINHERIT, a
#      fresh random password, granted naboom_anon, naboom_user and
#      naboom_service; naboom.trusted_proxies = 1 for it in that database,
#      as behind one proxy);
#   3. starts tools/postgraphile/server.js on 127.0.0.1 on a free port as
#      graphile_authenticator, waits until it serves (the schema is built before it
#      listens, so a schema PostGraphile cannot build fails here);
#   4. runs test/graphile.js against it (TAP: the plan first, then one
#      "ok N" / "not ok N" per check);
# and on exit, also on SIGTERM/SIGINT, stops the server and drops the
# database and the role.  When something
# fails, the server's log is printed as "#" lines.  When the set-up fails
# it prints "1..1" and one "not ok" saying what failed, with its output.
#
# Environment: NABOOM_NPM_CACHE (npm's cache), NABOOM_GRAPHILE_DB (default
# naboom_graphile), NODE (default node), NPM (default npm).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PGL="$ROOT/tools/postgraphile"
DB="${NABOOM_GRAPHILE_DB:-naboom_graphile}"
NODE="${NODE:-node}"
NPM="${NPM:-npm}"
CACHE="${NABOOM_NPM_CACHE:-${HOME:-/root}/.cache/naboom-npm}"

unset PGOPTIONS PGDATABASE PGAPPNAME
W="$(mktemp -d)"
SPID=""
MADE=""             # set once the database and role may exist

cleanup() {
    if [ -n "$SPID" ]; then
        kill "$SPID" 2>/dev/null
        for _ in $(seq 30); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$SPID" 2>/dev/null
        wait "$SPID" 2>/dev/null
    fi
    if [ -n "$MADE" ]; then
        timeout -k 2 30 psql -X -q -d postgres -v db="$DB" >/dev/null 2>&1 <<'SQL'
DROP DATABASE IF EXISTS :"db" WITH (FORCE);
DROP ROLE IF EXISTS graphile_authenticator;
SQL
    fi
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

setup_failed() { # setup_failed WHAT FILE...
    echo "1..1"
    echo "not ok 1 - setup: $1"
    shift
    cat "$@" 2>/dev/null | tail -n 60 | sed 's/^/#   /'
    exit 1
}

# ---------------------------------------------------------------- 1. npm ci
command -v "$NODE" >/dev/null && command -v "$NPM" >/dev/null ||
    setup_failed "node and npm are installed (Debian: apt-get install nodejs npm; scripts/setup-debian.sh does)"
LOCK_SUM="$(sha256sum "$PGL/package-lock.json" | cut -d' ' -f1)"
STAMP="$PGL/node_modules/.naboom-lock-sha256"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$LOCK_SUM" ]; then
    start=$SECONDS
    if ! (cd "$PGL" && timeout -k 5 300 "$NPM" ci --prefer-offline --no-audit --no-fund \
            --loglevel=error --cache "$CACHE") >"$W/npm.log" 2>&1; then
        setup_failed "npm ci in tools/postgraphile (from package-lock.json)" "$W/npm.log"
    fi
    echo "$LOCK_SUM" >"$STAMP"
    echo "# npm ci: $((SECONDS - start)) s"
fi

# ---------------------------------------------------------------- 2. database
MADE=1
PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
if ! timeout -k 5 120 psql -X -q -v ON_ERROR_STOP=1 -d postgres -v db="$DB" -v pw="$PASSWORD" >"$W/setup.log" 2>&1 <<'SQL'; then
SET client_min_messages = warning;
DROP DATABASE IF EXISTS :"db" WITH (FORCE);
CREATE DATABASE :"db";
SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'graphile_authenticator') AS missing \gset
\if :missing
CREATE ROLE graphile_authenticator LOGIN NOINHERIT;
\endif
ALTER ROLE graphile_authenticator LOGIN NOINHERIT PASSWORD :'pw';
\c :"db"
SET client_min_messages = warning;
CREATE EXTENSION naboom CASCADE;
GRANT naboom_anon, naboom_user, naboom_service TO graphile_authenticator;
ALTER ROLE graphile_authenticator IN DATABASE :"db" SET naboom.trusted_proxies = 1;
SQL
    setup_failed "database $DB with naboom, role graphile_authenticator" "$W/setup.log"
fi

# ---------------------------------------------------------------- 3. server
SECRET="$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
DATABASE_URL="postgres://graphile_authenticator:$PASSWORD@127.0.0.1:${PGPORT:-5432}/$DB" \
JWT_SECRET="$SECRET" HOST=127.0.0.1 PORT=0 \
    "$NODE" "$PGL/server.js" >"$W/server.log" 2>&1 &
SPID=$!
URL=""
for _ in $(seq 600); do  # 60 s
    URL="$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$W/server.log" | head -1)"
    [ -n "$URL" ] && break
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.1
done
[ -n "$URL" ] || setup_failed "PostGraphile (tools/postgraphile/server.js) serves within 60 s" "$W/server.log"

# ---------------------------------------------------------------- 4. tests
GRAPHILE_URL="$URL" JWT_SECRET="$SECRET" NABOOM_GRAPHILE_DB="$DB" \
    timeout -k 5 150 "$NODE" "$ROOT/test/graphile.js"
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "# test/graphile.js exited $rc; the server's log:"
    sed 's/^/#   /' "$W/server.log"
fi
exit "$rc"
