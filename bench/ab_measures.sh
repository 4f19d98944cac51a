#!/bin/bash
# Alternate the dyadwatch measures contestants of bench/bench_measures.py (indicators, compare, contacts, end
# to end) between the working tree and revision REV, N rounds: the machine's speed drifts through the
# day, so only interleaved runs compare. Each line: side, contestant, best and median of R timed runs.
#   bench/ab_measures.sh REV STORE [N] [R]      e.g. bench/ab_measures.sh HEAD~1 /tmp/bs-rg 3 5
# KINDS="compare contacts" runs only those contestants.
set -euo pipefail
rev=$1; store=$2; n=${3:-3}; repeat=${4:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$here/.venv/bin/python}
old=$(mktemp -d)
trap 'rm -rf "$old"' EXIT
git -C "$here" archive "$rev" src | tar -x -C "$old"
for i in $(seq "$n"); do
  for side in "$rev" tree; do
    if [ "$side" = tree ]; then src=$here/src; else src=$old/src; fi
    for kind in ${KINDS:-indicators compare contacts}; do
      env PYTHONPATH="$src" "$python" "$here/bench/bench_measures.py" --worker "dyadwatch-$kind" --store "$store" \
        --repeat "$repeat" | grep '^RESULT ' | cut -c8- | "$python" -c "
import json, sys
r = json.load(sys.stdin)['end_to_end']
print(f'$side $kind best {r[\"best\"]:.3f} s median {r[\"median\"]:.3f} s')"
    done
  done
done
