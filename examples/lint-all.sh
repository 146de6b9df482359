#!/usr/bin/env bash
# Lints every example directory with BIN and checks the verdict against the directory's EXPECT file.
#
#   examples/lint-all.sh .build/debug/backendtls
#
# The verdict comes from the exit status (0 allowed, 1 denied); every `contains:` line of EXPECT must
# appear in the lint output. Exits 1 if any example disagrees with its EXPECT file.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 BIN" >&2
    exit 2
fi
bin="$1"
examples="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

count=0
mismatches=()
for dir in "$examples"/[0-9][0-9]-*/; do
    dir="${dir%/}"
    name="$(basename "$dir")"
    expected="$(sed -n 's/^verdict: *//p' "$dir/EXPECT" 2>/dev/null || true)"
    if [ -z "$expected" ]; then
        mismatches+=("$name: EXPECT has no \"verdict:\" line")
        expected="?"
    fi
    echo "== $name (expect $expected) =="
    status=0
    # Findings go to stdout and the summary to stderr; capture both so they print in that order.
    "$bin" lint -f "$dir" >"$scratch/out" 2>"$scratch/err" || status=$?
    cat "$scratch/out" "$scratch/err"
    case "$status" in
        0) verdict=allowed ;;
        1) verdict=denied ;;
        *) verdict="error (exit status $status)" ;;
    esac
    echo "verdict: $verdict"
    count=$((count + 1))
    if [ "$verdict" != "$expected" ]; then
        mismatches+=("$name: expected $expected, got $verdict")
    fi
    while IFS= read -r substring; do
        if ! grep -qF -- "$substring" "$scratch/out"; then
            mismatches+=("$name: output lacks \"$substring\"")
        fi
    done < <(sed -n 's/^contains: //p' "$dir/EXPECT" 2>/dev/null || true)
    echo
done

if [ ${#mismatches[@]} -eq 0 ]; then
    echo "$count examples: all verdicts as expected"
else
    echo "$count examples, ${#mismatches[@]} mismatches:"
    printf '  %s\n' "${mismatches[@]}"
    exit 1
fi
