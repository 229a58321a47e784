#!/usr/bin/env bash
# test/postgrest.sh: naboom behind PostgREST 12, replayed (issue 15, part 2).
#
#   bash test/postgrest.sh          (make installcheck-postgrest; scripts/test.sh)
#
# Needs a running cluster with naboom installed (PGHOST/PGPORT/PGUSER/
# PGPASSWORD as pg_virtualenv sets them, the user a superuser) and Perl's
# DBD::Pg (Debian libdbd-pg-perl, in scripts/setup-debian.sh).  It makes,
# as the README's "Behind PostgREST" section says to:
#   * a fresh database naboom_postgrest with CREATE EXTENSION naboom CASCADE
#     (dropped first if an earlier run left it, and on exit);
#   * the role authenticator, LOGIN NOINHERIT with a random password,
#     granted naboom_anon, naboom_user and naboom_service (made if missing,
#     dropped on exit when this run made it);
# then runs test/postgrest.pl connected as authenticator over TCP: every
# request as PostgREST 12 runs it (test/postgrest_replay.pm), a whole story
# and the mistakes a user can make, and every naboom_api function (listed
# from pg_proc) called with its method.
#
# Output is TAP (also in test/results/postgrest.out).  About 5 s.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DB=naboom_postgrest
unset PGOPTIONS PGDATABASE PGAPPNAME
mkdir -p "$ROOT/test/results" && exec > >(tee "$ROOT/test/results/postgrest.out")

if ! perl -MDBD::Pg -e 1 2>/dev/null; then
    echo "1..1"
    echo "not ok 1 - Perl DBD::Pg is missing (apt-get install libdbd-pg-perl; scripts/setup-debian.sh installs it)"
    exit 1
fi

MADE_ROLE=0
cleanup() {
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    [ "$MADE_ROLE" = 1 ] && psql -X -q -d postgres -c "DROP ROLE IF EXISTS authenticator" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 143' TERM INT

PASSWORD="pgrst-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
if [ "$(psql -X -Atq -d postgres -c "SELECT count(*) FROM pg_roles WHERE rolname = 'authenticator'")" = 0 ]; then
    MADE_ROLE=1
fi
setup_log="$(mktemp)"
if ! { psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL &&
DROP DATABASE IF EXISTS $DB WITH (FORCE);
CREATE DATABASE $DB;
SQL
       psql -X -q -v ON_ERROR_STOP=1 -d "$DB" <<SQL; } >"$setup_log" 2>&1
CREATE EXTENSION naboom CASCADE;
DO \$\$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'authenticator') THEN
		CREATE ROLE authenticator LOGIN NOINHERIT;
	END IF;
END
\$\$;
ALTER ROLE authenticator LOGIN NOINHERIT PASSWORD '$PASSWORD';
GRANT naboom_anon, naboom_user, naboom_service TO authenticator;
SQL
then
    echo "1..1"
    echo "not ok 1 - could not make database $DB with naboom and the authenticator role"
    sed 's/^/#   /' "$setup_log"
    rm -f "$setup_log"
    exit 1
fi
rm -f "$setup_log"

NABOOM_PGRST_DSN="dbi:Pg:dbname=$DB;host=${PGHOST:-localhost};port=${PGPORT:-5432}" \
NABOOM_PGRST_USER=authenticator NABOOM_PGRST_PASSWORD="$PASSWORD" \
    perl "$ROOT/test/postgrest.pl"
