#!/bin/bash
# Alternate a filtered ingest of the working tree with one of revision REV, N times each: the machine's
# speed drifts (the same command takes 7-10 s), so only runs interleaved like this compare.
#   bench/ab_ingest.sh REV INPUT_DIR [N]      e.g. bench/ab_ingest.sh HEAD /tmp/bench-input/10m 4
set -euo pipefail
rev=$1; input=$2; n=${3:-4}
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$here/.venv/bin/python}
old=$(mktemp -d); store=$(mktemp -d)
trap 'rm -rf "$old" "$store"' EXIT
git -C "$here" archive "$rev" src | tar -x -C "$old"
for i in $(seq "$n"); do
  for side in "$rev" tree; do
    if [ "$side" = tree ]; then src=$here/src; else src=$old/src; fi
    rm -rf "$store/s"
    /usr/bin/time -f "$side %e s %U user %S sys" env PYTHONPATH="$src" "$python" -m dyadwatch ingest "$input" \
      --countries RUS,TUR --workers 2 --source gdelt2 --store "$store/s" 2>&1 >/dev/null | tail -1
  done
done
