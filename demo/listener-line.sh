#!/bin/sh
# naboom demo: read back a line naboom-listen printed.
#
#   sh listener-line.sh LOG TOPIC REFERENCE [TEXT]
#
# Prints the first event line in LOG (naboom-listen's stdout: id, at, topic,
# community, reference, payload, tab-separated; a panic with "PANIC" and a tab
# in front) with that topic and incident reference, and TEXT in its payload.
# The listener prints an event a moment after naboom publishes it, so this
# waits up to 5 s for the line; prints nothing (exit 1) if it never comes.
# Called by demo/story.sql through psql's backquotes.
log=$1
topic=$2
ref=$3
text=${4:-}
n=0
while [ "$n" -lt 50 ]; do
    line=$(awk -F '\t' -v t="$topic" -v r="$ref" -v x="$text" '
        { o = ($1 == "PANIC") ? 1 : 0 }
        $(o + 3) == t && $(o + 5) == r && index($(o + 6), x) { print; exit }' "$log" 2>/dev/null)
    if [ -n "$line" ]; then
        printf '%s\n' "$line"
        exit 0
    fi
    sleep 0.1
    n=$((n + 1))
done
exit 1
