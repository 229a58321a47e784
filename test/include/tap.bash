# shellcheck shell=bash
# TAP helpers for the shell tests that make clusters of their own
# (test/audit_ring.sh, test/standby.sh).  Source it after setting PLAN;
# DIAG_LINES (default 12) caps the diagnostics printed under a failure.
#   verdict DESC STATUS [DIAG CODE]  one assertion: ok if STATUS is 0, else
#                                    not ok and the output of DIAG CODE as
#                                    TAP comments
#   finish [WHY]                     reports the rest of the plan as not run
#                                    (WHY), exits non-zero on any failure
#   asp CMD...                       CMD as the postgres user (initdb and
#                                    the server refuse root)
#   free_port                        a free TCP port on loopback
N=0
FAILED=0
verdict() {
    N=$((N + 1))
    if [ "$2" -eq 0 ]; then echo "ok $N - $1"; else
        FAILED=$((FAILED + 1)); echo "not ok $N - $1"
        [ -n "${3:-}" ] && eval "$3" 2>&1 | head -"${DIAG_LINES:-12}" | cut -c1-240 | sed 's/^/#   /'
    fi
    return 0
}
finish() {
    while [ "$N" -lt "$PLAN" ]; do verdict "not run: $1" 1; done
    [ "$FAILED" -eq 0 ]; exit $?
}
asp() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
