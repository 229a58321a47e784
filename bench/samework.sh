#!/usr/bin/env bash
# bench/samework.sh: report_incident and transition_incident beside their
# same-work floors and their bare floors, with auditing on and off (issue 17;
# design.md section 9).  Run by bench/run.sh (SECTIONS=samework) after the
# load, or on its own inside a cluster holding a loaded naboom_bench
# (PGHOST/PGPORT/PGUSER set; bench/load.sql and bench/helpers.sql run).
#
# At MAIN_SUBS subscriptions per community (1000: design scale), each round
# runs, at each client count, adjacent runs of
#   floor_report_work  report_incident  report_incident_noaudit  floor_report
#   floor_transition_work  transition_incident  transition_incident_noaudit
#   floor_transition
# (SECS seconds each, positions made fresh and a CHECKPOINT before each);
# the figures are medians over ROUNDS of each round's ratios, so a burst of
# other load spoils one round, not the figure.  Then, at 1 client, the
# per-alert fit: report_incident and floor_report_work at each count of
# subscriptions in BENCH_SUBSCRIPTIONS (per community, descending: the
# extra ones are deleted, from naboom's table and from the floor's copy,
# between levels), alerts per report counted from the rows the runs wrote.
#
# Environment: CLIENTS ("1 8"), SECS (5), ROUNDS (3), BENCH_SUBSCRIPTIONS
# ("5000 1000 0"; empty: no fit; levels above what was loaded are skipped),
# BENCH_DB (naboom_bench), OUT (bench/out/samework).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
DB="${BENCH_DB:-naboom_bench}"
CLIENTS="${CLIENTS:-1 8}"
SECS="${SECS:-5}"
ROUNDS="${ROUNDS:-3}"
SUBS_LEVELS="${BENCH_SUBSCRIPTIONS-5000 1000 0}"
# the level the same-work comparisons run at (design.md: 10,000 subscriptions)
MAIN_SUBS="${MAIN_SUBS:-1000}"
OUT="${OUT:-$BENCH_DIR/out/samework}"
mkdir -p "$OUT"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }

VARS=(-D members="$(q "SELECT count(*) / 10 FROM naboom.member")"
      -D responders="$(q "SELECT count(*) / 10 FROM naboom.member WHERE role = 'responder'")"
      -D pool="$(q "SELECT count(*) FROM bench.pool")")
for v in $(q "SELECT 'slugs=' || array_agg(t.slug ORDER BY t.community_id)::text,
               'lat0s=' || array_agg(t.lat0 ORDER BY t.community_id)::text,
               'lon0s=' || array_agg(t.lon0 ORDER BY t.community_id)::text,
               (SELECT 'cats=' || array_agg(k.code ORDER BY k.n)::text FROM bench.cat k),
               (SELECT 'prios=' || array_agg(k.prio ORDER BY k.n)::text FROM bench.cat k)
        FROM bench.town t" | tr '|' ' '); do VARS+=(-D "$v"); done
VARS+=(-D catnames="$(q "SELECT array_agg(k.name_en ORDER BY k.n)::text FROM bench.cat k")")

# The cluster's CPU time so far, in clock ticks: the postmaster's own and
# its reaped children's (pgbench's backends exit at the end of a run), plus
# every live child's (checkpointer, WAL writer, naboom's writer).  CPU per
# transaction is what the shared machine's load disturbs least: wall-clock
# figures swing 4x within minutes here, CPU time by a few per cent.
PM_PID=$(head -n 1 "$(q "SELECT setting FROM pg_catalog.pg_settings WHERE name = 'data_directory'")/postmaster.pid" 2>/dev/null || true)
cpu_ticks() {
    [ -n "$PM_PID" ] && [ -r "/proc/$PM_PID/stat" ] || { echo 0; return; }
    { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$PM_PID/stat"
      for k in $(cat "/proc/$PM_PID/task/$PM_PID/children" 2>/dev/null); do
          awk '{ print $14 + $15 }' "/proc/$k/stat" 2>/dev/null
      done; } | awk '{ t += $1 } END { print t + 0 }'
}

# run NAME SCRIPT CLIENTS: one pgbench run; prints "tps p50_ms p95_ms
# cpu_us_per_tx" (the last 0 when the cluster's processes cannot be read)
run() {
    local name=$1 script=$2 c=$3 setting= log="$OUT/log-$1-c$3"
    case "$name" in *_noaudit) setting=naboom.audit ;; esac
    [ -z "$setting" ] || q "ALTER ROLE naboom_bench SET $setting = off"
    psql -X -q -d "$DB" -c 'SET naboom.audit = off' \
        -c "UPDATE naboom.responder_position SET reported_at = now() WHERE position IS NOT NULL" \
        -c "UPDATE bench.floor_position SET reported_at = now() WHERE position IS NOT NULL" -c CHECKPOINT
    rm -rf "$log"; mkdir -p "$log"
    local t0 t1
    sleep 0.2; t0=$(cpu_ticks)
    PGUSER=naboom_bench pgbench -n -M prepared -c "$c" -j "$c" -T "$SECS" -l --log-prefix="$log/tx" \
        "${VARS[@]}" -D clients="$c" -f "$BENCH_DIR/$script" "$DB" >"$OUT/pgbench-$name-c$c.txt" 2>&1 || true
    sleep 0.2   # the backends are reaped
    t1=$(cpu_ticks)
    [ -z "$setting" ] || q "ALTER ROLE naboom_bench RESET $setting"
    if grep -q 'aborted\|^number of failed transactions: [1-9]' "$OUT/pgbench-$name-c$c.txt"; then
        echo "pgbench $name at $c clients failed:" >&2; grep -m 3 -i 'error' "$OUT/pgbench-$name-c$c.txt" >&2 || true
    fi
    local tps
    tps=$(awk '/^tps/ { print $3; exit }' "$OUT/pgbench-$name-c$c.txt")
    cat "$log"/tx* | awk '{ print $3 }' | sort -n | awk -v t="${tps:-0}" -v cpu=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '
        { v[NR] = $1 } END { printf "%s %.2f %.2f %.0f\n", t, v[int(NR * 0.5) + 1] / 1000, v[int(NR * 0.95) + 1] / 1000,
                             NR ? cpu / hz * 1e6 / NR : 0 }'
}
med() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
counts() { # alerts audit_rows: totals so far
    q "SELECT (SELECT count(*) FROM naboom.alert) || ' ' || (SELECT count(*) FROM naboom.audit_log) || ' ' || (SELECT count(*) FROM naboom.incident)"
}

main_rounds() {
: >"$OUT/rows"
echo "== same-work floors: CLIENTS=$CLIENTS, ${SECS}s runs, $ROUNDS rounds (load $(cut -d ' ' -f 1-3 /proc/loadavg))"
for r in $(seq "$ROUNDS"); do
    for c in $CLIENTS; do
        for op in report transition; do
            fw=$(run "floor_${op}_work" "floor_${op}_work.pgbench" "$c")
            b0=$(counts)
            nb=$(run "${op}_incident" "${op}_incident.pgbench" "$c")
            b1=$(counts)
            na=$(run "${op}_incident_noaudit" "${op}_incident.pgbench" "$c")
            fb=$(run "floor_${op}" "floor_${op}.pgbench" "$c")
            # audit rows per transaction of the audited run
            ar=$(awk -v a="$b0" -v b="$b1" -v t="$(awk '/^number of transactions actually processed/ { print $NF }' "$OUT/pgbench-${op}_incident-c$c.txt" | cut -d/ -f1)" \
                'BEGIN { split(a, x, " "); split(b, y, " "); print (t > 0) ? (y[2] - x[2]) / t : 0 }')
            echo "$op $c $r $fw $nb $na $fb $ar" | tee -a "$OUT/rows"
        done
    done
done
# columns: op c round  fw: tps p50 p95 cpu (4-7)  nb: (8-11)  na: (12-15)  fb: (16-19)  audit_rows (20)
for op in report transition; do
    for c in $CLIENTS; do
        awk -v o=$op -v c=$c '$1 == o && $2 == c' "$OUT/rows" >"$OUT/sel"
        sw=$(awk '{ print $8 / $4 }' "$OUT/sel" | med)
        bare=$(awk '{ print $8 / $16 }' "$OUT/sel" | med)
        fwb=$(awk '{ print $4 / $16 }' "$OUT/sel" | med)
        onoff=$(awk '{ print $8 / $12 }' "$OUT/sel" | med)
        # one audit row's cost: the CPU per transaction on minus off, per row
        arow=$(awk '{ print ($20 > 0) ? ($11 - $15) / $20 : 0 }' "$OUT/sel" | med)
        p95=$(awk '{ print $10 }' "$OUT/sel" | med)
        fp95=$(awk '{ print $6 }' "$OUT/sel" | med)
        tps=$(awk '{ print $8 }' "$OUT/sel" | med)
        ftps=$(awk '{ print $4 }' "$OUT/sel" | med)
        rows=$(awk '{ print $20 }' "$OUT/sel" | med)
        cpu=$(awk '{ print $11 }' "$OUT/sel" | med)
        fcpu=$(awk '{ print $7 }' "$OUT/sel" | med)
        bcpu=$(awk '{ print $19 }' "$OUT/sel" | med)
        cr=$(awk '{ print ($11 > 0) ? $7 / $11 : 0 }' "$OUT/sel" | med)
        printf '%-10s c=%s  naboom %6.1f tps, same-work floor %6.1f tps: %.2fx (bare floor: %.2fx; same-work/bare %.2f)  p95 %.1f ms (floor %.1f)\n' \
            "$op" "$c" "$tps" "$ftps" "$sw" "$bare" "$fwb" "$p95" "$fp95"
        printf '%-10s c=%s  CPU per transaction: naboom %.0f us, same-work floor %.0f us (%.2fx), bare floor %.0f us; audit on/off %.2f, an audit row %.0f us CPU (%.2f rows/tx)\n' \
            "$op" "$c" "$cpu" "$fcpu" "$cr" "$bcpu" "$onoff" "$arow" "$rows"
    done
done | tee "$OUT/summary.txt"
echo "   (targets: naboom/same-work >= 0.85 at 1 and 8 clients; report p95 <= 8 ms at 1 client; audit row <= 30 us, on/off >= 0.9)"

}

[ -n "$SUBS_LEVELS" ] || { main_rounds; exit 0; }
echo "== per-alert cost, 1 client, ${SECS}s runs, $ROUNDS rounds per level"
: >"$OUT/fit"
loaded=$(q "SELECT max(n) FROM (SELECT count(*) AS n FROM naboom.subscription GROUP BY community_id) x")
for s in $SUBS_LEVELS; do
    [ "$s" -le "${loaded:-0}" ] || { echo "   $s subscriptions per community: more than loaded ($loaded), skipped"; continue; }
    psql -X -q -d "$DB" -v ON_ERROR_STOP=1 -c 'SET naboom.audit = off' -c 'SET naboom.events = off' \
        -c "DELETE FROM naboom.subscription x USING (SELECT community_id, subscription_id, row_number() OVER (PARTITION BY community_id ORDER BY subscription_id) AS k FROM naboom.subscription) y
            WHERE x.community_id = y.community_id AND x.subscription_id = y.subscription_id AND y.k > $s" \
        -c "DELETE FROM bench.floor_subscription x WHERE NOT EXISTS (SELECT 1 FROM naboom.subscription y WHERE y.community_id = x.community_id AND y.subscription_id = x.subscription_id)" \
        -c "VACUUM ANALYZE naboom.subscription, bench.floor_subscription"
    for r in $(seq "$ROUNDS"); do
        a0=$(counts)
        fw=$(run "fit_floor_$s" floor_report_work.pgbench 1)
        a1=$(counts)
        nb=$(run "fit_report_$s" report_incident.pgbench 1)
        a2=$(counts)
        apr=$(awk -v a="$a1" -v b="$a2" 'BEGIN { split(a, x, " "); split(b, y, " "); print (y[3] > x[3]) ? (y[1] - x[1]) / (y[3] - x[3]) : 0 }')
        echo "$s $r $fw $nb $apr" | tee -a "$OUT/fit"
    done
    [ "$s" != "$MAIN_SUBS" ] || main_rounds
done
# columns: subs round  fw: tps p50 p95 cpu (3-6)  nb: (7-10)  alerts_per_report (11)
# per report: CPU time (less disturbed by the machine's load than wall-clock)
for s in $(awk '{ print $1 }' "$OUT/fit" | sort -gu); do
    printf '%s %s %s %s\n' "$s" "$(awk -v k="$s" '$1 == k { print $11 }' "$OUT/fit" | med)" \
        "$(awk -v k="$s" '$1 == k { print $6 / 1000 }' "$OUT/fit" | med)" \
        "$(awk -v k="$s" '$1 == k { print $10 / 1000 }' "$OUT/fit" | med)"
done >"$OUT/fitmed"
# least squares of ms per report on alerts per report, naboom and the floor
awk '{ n++; x += $2; xx += $2 * $2; yf += $3; yn += $4; xyf += $2 * $3; xyn += $2 * $4;
       printf "   %6d subscriptions/community: %6.1f alerts/report, floor %.2f ms, naboom %.2f ms CPU a report\n", $1, $2, $3, $4 }
     END { if (n < 2) exit; d = n * xx - x * x; if (d == 0) exit
           bf = (n * xyf - x * yf) / d; bn = (n * xyn - x * yn) / d
           printf "per extra alert (CPU): naboom %.1f us, the same-work floor %.1f us (target: naboom <= 20 us); fixed: naboom %.2f ms, floor %.2f ms\n",
                  bn * 1000, bf * 1000, (yn - bn * x) / n, (yf - bf * x) / n }' "$OUT/fitmed" | tee -a "$OUT/summary.txt"
