#!/usr/bin/env bash
# Our engine and AllenNLP's own ELMo code (../shared/peer) on the same machine in the same run, alternating, with the
# machine's limits measured by `elmo bench` beside them. Usage (from the repository root, after a Release build):
#
#   tools/peer-side-by-side.sh [ROUNDS]        (default 3; needs ../shared/peer/setup.sh to have run)
#
# Each round runs, one after the other:
#   ours:  elmo bench on the original-size random model (first 128 corpus sentences, batch 64, file order, stateless,
#          3 passes), its batch-1 latency (first 16 sentences) and the calibration (FMA peak, bandwidth);
#   peer:  allennlp_embed.py --stateless --top at batch 64 on the same 128 sentences, then at batch 1 on the first
#          16 (PEER_TIMING=1: compute time around the embedding loop, model load excluded; one torch thread, OpenBLAS
#          with its default threads: the best setting found, ../shared/bench/README.md).
# and prints the medians over the rounds and the ratios. The model is made once with `elmo make-model --preset original
# --seed 1` in $ELMO_SIDE_BY_SIDE_DIR (default /tmp/elmo-side-by-side).
set -euo pipefail
rounds=${1:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
elmo="dotnet $root/Elmo.Cli/bin/Release/net10.0/elmo.dll"
peer="$root/../shared/peer/allennlp_embed.py"
corpus="$root/../shared/bench/corpus.txt"
dir=${ELMO_SIDE_BY_SIDE_DIR:-/tmp/elmo-side-by-side}
mkdir -p "$dir"
[[ -f $dir/model/weights.hdf5 ]] || $elmo make-model --preset original --seed 1 "$dir/model" >/dev/null
M=(--options "$dir/model/options.json" --weights "$dir/model/weights.hdf5")
head -128 "$corpus" > "$dir/c128.txt"
head -16 "$corpus" > "$dir/c16.txt"
: > "$dir/ours.txt"; : > "$dir/peer64.txt"; : > "$dir/peer1.txt"
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds: ours" >&2
  $elmo bench "${M[@]}" --corpus "$corpus" --sentences 128 --repetitions 3 | tee "$dir/ours-$r.log" >&2
  grep -E '^median of' "$dir/ours-$r.log" | sed -E 's/^median of [0-9]+: ([0-9]+) tokens.*/\1/' >> "$dir/ours.txt"
  echo "round $r/$rounds: peer, batch 64" >&2
  PEER_TIMING=1 /usr/bin/python3 "$peer" "$dir/c128.txt" "$dir/peer.hdf5" "${M[@]}" --top --stateless --batch-size 64 2>&1 >/dev/null | grep peer-timing | tee -a "$dir/peer64.txt" >&2
  echo "round $r/$rounds: peer, batch 1" >&2
  PEER_TIMING=1 /usr/bin/python3 "$peer" "$dir/c16.txt" "$dir/peer.hdf5" "${M[@]}" --top --stateless --batch-size 1 2>&1 >/dev/null | grep peer-timing | tee -a "$dir/peer1.txt" >&2
done
python3 - "$dir" "$rounds" <<'PY'
import re, statistics, sys
d, rounds = sys.argv[1], int(sys.argv[2])
ours = [float(x) for x in open(f"{d}/ours.txt").read().split()]
lat = []
for r in range(1, rounds + 1):
    m = re.search(r"batch 1, median of \d+: ([\d.]+) s/sentence", open(f"{d}/ours-{r}.log").read())
    if m: lat.append(float(m.group(1)))
p64 = [float(re.search(r"tokens_per_s=([\d.]+)", l).group(1)) for l in open(f"{d}/peer64.txt")]
p1 = [float(re.search(r"s_per_sentence=([\d.]+)", l).group(1)) for l in open(f"{d}/peer1.txt")]
med = statistics.median
print(f"ours, batch 64: {med(ours):.0f} tokens/s (rounds: {', '.join(f'{x:.0f}' for x in ours)})")
print(f"peer, batch 64: {med(p64):.1f} tokens/s (rounds: {', '.join(f'{x:.1f}' for x in p64)})")
print(f"ratio, batch 64: {med(ours) / med(p64):.1f}x")
if lat and p1:
    print(f"ours, batch 1: {med(lat):.4f} s/sentence (rounds: {', '.join(f'{x:.4f}' for x in lat)})")
    print(f"peer, batch 1: {med(p1):.4f} s/sentence (rounds: {', '.join(f'{x:.4f}' for x in p1)})")
    print(f"ratio, batch 1: {med(p1) / med(lat):.1f}x faster")
PY
