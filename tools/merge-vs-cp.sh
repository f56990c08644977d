#!/usr/bin/env bash
# elmo merge side by side with cp of the same bytes (docs/scale-out.md, "Merge speed").
#
#   tools/merge-vs-cp.sh DIR [ROUNDS]
#
# Makes, once, four parts of about 1 GB in all in DIR (the built-in demo model, --all, the bench corpus repeated 41
# times: 22,837 sentences, `elmo embed --shard k/4`) and the single run's file, then runs ROUNDS (default 7)
# alternating rounds of `elmo merge` and `cp` of the four parts, each under /usr/bin/time, and prints every run, the
# medians of wall time and of CPU time (user + sys, less disturbed by other processes on a loaded machine) and the
# ratios. The parts were just written or just read, so they are in the page cache throughout (caches
# cannot be dropped without root); every merged file is compared with the single run's (cmp) and removed.
# ELMO (a command line) defaults to the build in this worktree; BEFORE, when set, is another build whose merge joins
# each round (e.g. BEFORE="dotnet /tmp/old/Elmo.Cli/bin/Release/net10.0/elmo.dll"), for a before/after side by side.
set -euo pipefail
dir=${1:?usage: tools/merge-vs-cp.sh DIR [ROUNDS]}
rounds=${2:-7}
root=$(cd "$(dirname "$0")/.." && pwd)
read -r -a elmo <<< "${ELMO:-dotnet $root/Elmo.Cli/bin/Release/net10.0/elmo.dll}"
before=()
if [ -n "${BEFORE:-}" ]; then read -r -a before <<< "$BEFORE"; fi
mkdir -p "$dir/parts"
cd "$dir"
if [ ! -f single.hdf5 ]; then
  for _ in $(seq 41); do cat "$root/../shared/bench/corpus.txt"; done > corpus.txt
  for k in 1 2 3 4; do "${elmo[@]}" embed corpus.txt "parts/part-$k.hdf5" --model demo --all --shard "$k/4" --quiet 2>/dev/null; done
  "${elmo[@]}" embed corpus.txt single.hdf5 --model demo --all --quiet 2>/dev/null
fi
bytes=$(cat parts/part-*.hdf5 | wc -c)
echo "parts: $bytes bytes; $(uptime)"
: > times
for r in $(seq "$rounds"); do
  rm -rf merged.hdf5 copied
  /usr/bin/time -a -o times -f "merge %e %U %S %M" "${elmo[@]}" merge merged.hdf5 parts --quiet
  cmp merged.hdf5 single.hdf5
  rm -f merged.hdf5
  if [ ${#before[@]} -gt 0 ]; then
    /usr/bin/time -a -o times -f "before %e %U %S %M" "${before[@]}" merge merged.hdf5 parts --quiet
    cmp merged.hdf5 single.hdf5
    rm -f merged.hdf5
  fi
  mkdir copied
  /usr/bin/time -a -o times -f "cp %e %U %S %M" cp parts/part-*.hdf5 copied/
  rm -rf copied
done
echo "after: $(uptime)"
echo "run wall_s user_s sys_s peak_rss_kb"
cat times
median() { grep "^$1 " times | awk "{print \$$2}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cpu() { grep "^$1 " times | awk '{print $3 + $4}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
report() {
  local what=$1 m c mc cc rss
  m=$(median "$what" 2); c=$(median cp 2); mc=$(cpu "$what"); cc=$(cpu cp)
  rss=$(grep "^$what " times | awk '{print $5}' | sort -n | tail -1)
  awk -v w="$what" -v m="$m" -v c="$c" -v mc="$mc" -v cc="$cc" -v b="$bytes" -v rss="$rss" 'BEGIN {
    printf "%s: wall %.2f s (%.0f MB/s) vs cp %.2f s: %.0f %% of cp; CPU %.2f s vs cp %.2f s: %.0f %% of cp; peak RSS %.0f MB\n",
      w, m, b / m / 1e6, c, 100 * c / m, mc, cc, 100 * cc / mc, rss / 1024 }'
}
echo "medians of $rounds rounds:"
report merge
if [ ${#before[@]} -gt 0 ]; then report before; fi
