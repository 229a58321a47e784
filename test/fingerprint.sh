#!/usr/bin/env bash
# Fresh install equals upgrade: installs the current version of naboom fresh
# in one database, and every earlier version followed by ALTER EXTENSION
# naboom UPDATE in others, and compares their schema fingerprints
# (test/fingerprint.sql: every member object of the extension, its
# definition, settings, ACLs, comments, and the seed rows).  Any difference
# is printed.  Output is TAP.  Needs a running cluster (PGHOST, PGPORT,
# PGUSER as pg_virtualenv sets them) with naboom and PostGIS installed.
#
#   bash test/fingerprint.sh          # or: make installcheck-fingerprint
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sharedir=$(${PG_CONFIG:-pg_config} --sharedir)/extension
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$here/../naboom.control")
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
psql="psql -X -q -v ON_ERROR_STOP=1"

# every version with an install script other than the current one is the
# start of an upgrade path: 0.1.0 (the start of the chain) and, once they
# exist, any other frozen install scripts
starts=$(ls "$sharedir" | sed -n 's/^naboom--\([0-9.]*\)\.sql$/\1/p' | grep -vx "$current" | sort -V)
# and every released version reached along the chain from 0.1.0
chain=$(ls "$sharedir" | sed -n 's/^naboom--\([0-9.]*\)--\([0-9.]*\)\.sql$/\1/p' | sort -uV)
versions=$(printf '%s\n%s\n' "$starts" "$chain" | grep -v '^$' | sort -uV)
n=$(printf '%s\n' "$versions" | wc -l)
echo "1..$((1 + 2 * n))"

install() { # install DB SQL...
	local db=$1; shift
	$psql -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" &&
	$psql -d "$db" -c "SET client_min_messages = warning" "$@"
}

t=1
if install naboom_fp_fresh -c "CREATE EXTENSION naboom VERSION '$current' CASCADE" >"$work/fresh.log" 2>&1 &&
   psql -XAtq -v ON_ERROR_STOP=1 -d naboom_fp_fresh -f "$here/fingerprint.sql" >"$work/fresh.fp" 2>>"$work/fresh.log"; then
	echo "ok $t - fresh install of $current ($(wc -l <"$work/fresh.fp") fingerprint lines)"
else
	failed=1; echo "not ok $t - fresh install of $current"; sed 's/^/# /' "$work/fresh.log"
fi

for v in $versions; do
	db="naboom_fp_$(echo "$v" | tr . _)"
	t=$((t + 1))
	if install "$db" -c "CREATE EXTENSION postgis" -c "CREATE EXTENSION naboom VERSION '$v'" \
			-c "ALTER EXTENSION naboom UPDATE TO '$current'" >"$work/$v.log" 2>&1 &&
	   psql -XAtq -v ON_ERROR_STOP=1 -d "$db" -f "$here/fingerprint.sql" >"$work/$v.fp" 2>>"$work/$v.log"; then
		echo "ok $t - $v then ALTER EXTENSION naboom UPDATE TO '$current'"
	else
		failed=1; echo "not ok $t - $v then ALTER EXTENSION naboom UPDATE TO '$current'"; sed 's/^/# /' "$work/$v.log"
	fi
	t=$((t + 1))
	: >"$work/$v.diff"
	if [ -s "$work/$v.fp" ] && [ -s "$work/fresh.fp" ] && diff -u "$work/fresh.fp" "$work/$v.fp" >"$work/$v.diff"; then
		echo "ok $t - upgraded from $v equals a fresh install of $current"
	else
		failed=1; echo "not ok $t - upgraded from $v differs from a fresh install of $current (- fresh, + upgraded)"
		head -n 200 "$work/$v.diff" | sed 's/^/# /'
	fi
	$psql -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
done
$psql -d postgres -c "DROP DATABASE IF EXISTS naboom_fp_fresh" >/dev/null 2>&1
exit $failed
