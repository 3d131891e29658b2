#!/usr/bin/env bash
# The cost model against measured runs (docs/he.md, "Cost"): for each case, `hemi eval` on one
# thread with --json, and its cost_model block: the plan's predicted single-thread evaluation
# time (latency: per image, plus filling the plaintext cache once; throughput: per batch)
# against the CPU seconds of the run from the first image to the last (the client's encryption
# and decryption taken out), and the predicted peak memory (the resident memory before the
# session plus the plan's server memory) against the measured peak. Prints a Markdown table.
# Run it on an idle machine: the memory term assumes the last-level cache and the memory
# bandwidth are this process's (on a loaded machine key switching at N = 2^14 runs several
# times slower).
# Usage: bench/cost_model.sh [--throughput-medcnn] [--paths "avx512ifma avx2"]
#   env: HEMI_MODELS (default /work/models), HEMI_DATA (default ../shared/data),
#   HEMI_COST_CPU_FACTOR (pins the cost model's CPU factor instead of calibrating; docs/he.md)
set -euo pipefail
cd "$(dirname "$0")/.."
medcnn_thr=0
paths=""
while [ $# -gt 0 ]; do
  case "$1" in
    --throughput-medcnn) medcnn_thr=1 ;;
    --paths) paths="$2"; shift ;;
    *) echo "cost_model.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
hemi=build/src/hemi/app/hemi
[ -x "$hemi" ] || ./scripts/build --target hemi >/dev/null
[ -n "$paths" ] || paths=$("$hemi" --version | sed -n 's/.*this CPU supports: \([a-z0-9 ]*\);.*/\1/p' | tr ' ' '\n' | grep -v scalar | tr '\n' ' ')
models=${HEMI_MODELS:-/work/models}
data=${HEMI_DATA:-../shared/data}
seed="$models/seed.hemi"
med="$models/medcnn-poly-64-v2.hemi"
mri="$data/brain-tumor-mri4"
cases=(
  "seed-cnn latency, 50 images|$seed|mnist|latency|--limit 50"
  "seed-cnn throughput, 1 batch of 4096|$seed|mnist|throughput|--limit 4096"
  "medcnn latency, 5 images|$med|$mri|latency|--limit 5"
)
[ "$medcnn_thr" = 1 ] && cases+=("medcnn throughput, 1 batch (306 images)|$med|$mri|throughput|")
out=$(mktemp -d)
echo "| case | path | predicted s | measured CPU-s | ratio | predicted peak MiB | measured peak MiB | ratio |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
i=0
for p in $paths; do
  for c in "${cases[@]}"; do
    IFS='|' read -r name model dset packing extra <<<"$c"
    i=$((i + 1))
    # shellcheck disable=SC2086
    HEMI_SIMD=$p "$hemi" eval --model "$model" --data "$dset" --mode encrypted --packing "$packing" --threads 1 $extra \
      --json --quiet >"$out/$i.json"
    python3 - "$out/$i.json" "$name" "$p" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["cost_model"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {c['predicted_seconds']:.2f} | {c['measured_cpu_seconds']:.2f} | "
      f"{c['time_ratio']:.2f} | {c['predicted_peak_mib']:.0f} | {c['measured_peak_mib']:.0f} | {c['memory_ratio']:.2f} |")
PY
  done
done
rm -rf "$out"
