#!/usr/bin/env bash
# test/tap.sh: the pgTAP files test/sql/*.sql, with pg_prove, in one or both
# passes.   bash test/tap.sh [PASS...]      (make installcheck-tap)
#
#   pass 1: PGOPTIONS="-c search_path=tap,public"
#   pass 2: PGOPTIONS="-c search_path=tap"   (nothing of naboom, PostGIS or
#           public on the path: every name in the files is qualified)
# PASS is 1 or 2; both by default (make installcheck-tap TAP_PASSES=2 for
# one).  Needs a running cluster (PGHOST/PGPORT/PGUSER as pg_virtualenv sets
# them; the user a superuser) with naboom and pgtap installable.
#
# Before each pass the database naboom_tap is dropped and made again with
#   CREATE EXTENSION naboom CASCADE;            -- naboom + postgis
#   CREATE SCHEMA tap; CREATE EXTENSION pgtap SCHEMA tap;
#   GRANT USAGE ON SCHEMA tap TO PUBLIC;        -- so non-superusers can assert
# and the files of the pass run in name order, each with its own pg_prove
# (under timeout, NABOOM_FILE_TIMEOUT seconds, default 600), so that one
# file dying does not hide the others.  Each file is wrapped in BEGIN ...
# ROLLBACK and builds its fixtures with test/include/fixtures.psql.
#
# Output: pg_prove --verbose of each file (TAP: `ok N` / `not ok N` lines),
# framed by lines that scripts/test.sh reads to count:
#   # pgtap pass N: search_path=...
#   # pgtap pass N: setup failed                (the database could not be made)
#   # pgtap pass N: file F exit RC              (after each file)
# Exit status 0 iff every file of every pass exited 0.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT" || exit 1
TAP_DB="${NABOOM_TAP_DB:-naboom_tap}"
FILE_TIMEOUT="${NABOOM_FILE_TIMEOUT:-600}"
unset PGOPTIONS PGDATABASE

setup_tap_db() {
    psql -X -q -v ON_ERROR_STOP=1 -d postgres \
        -c "DROP DATABASE IF EXISTS $TAP_DB" -c "CREATE DATABASE $TAP_DB" &&
    psql -X -q -v ON_ERROR_STOP=1 -d "$TAP_DB" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION naboom CASCADE;
CREATE SCHEMA tap;
CREATE EXTENSION pgtap SCHEMA tap;
GRANT USAGE ON SCHEMA tap TO PUBLIC;
SQL
}

if ! command -v pg_prove >/dev/null 2>&1; then
    echo "# pgtap: pg_prove not found"
    exit 1
fi

passes=("$@")
[ "${#passes[@]}" -gt 0 ] || passes=(1 2)
status=0
for pass in "${passes[@]}"; do
    case "$pass" in
        1) sp="tap,public" ;;
        2) sp="tap" ;;
        *) echo "# pgtap: unknown pass '$pass' (1 or 2)"; status=1; continue ;;
    esac
    echo "# pgtap pass $pass: search_path=$sp, database $TAP_DB"
    if ! setup_tap_db 2>&1; then
        echo "# pgtap pass $pass: setup failed"
        status=1
        continue
    fi
    for f in test/sql/*.sql; do
        [ -e "$f" ] || continue
        PGOPTIONS="-c search_path=$sp" timeout -k 10 "$FILE_TIMEOUT" \
            pg_prove --norc --nocolor --verbose --merge -d "$TAP_DB" "$f" 2>&1
        rc=$?
        [ "$rc" -eq 124 ] && echo "# $f: timed out after ${FILE_TIMEOUT}s"
        echo "# pgtap pass $pass: file $f exit $rc"
        [ "$rc" -eq 0 ] || status=1
    done
done
exit "$status"
