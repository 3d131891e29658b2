#!/usr/bin/env bash
# Per-image latency of BFV against CKKS, latency packing, in one run (docs/bfv.md, "Latency
# packing"): for each model, `hemi eval --packing latency` under CKKS and under BFV, back to
# back, single thread, under /usr/bin/time (process CPU and peak memory). Prints one line per
# run: scheme, model, images, per-image wall time of encrypt + evaluate + decrypt, evaluation
# CPU per image (BFV), keygen, upload/download per image, evaluation keys, peak RSS, exactness.
#   bench/bfv_latency_vs_ckks.sh HEMI IMAGES MODEL... (models from hemi train --data mnist)
set -euo pipefail
hemi=$1 images=$2
shift 2
for model in "$@"; do
  for scheme in ckks bfv; do
    out=$(mktemp)
    /usr/bin/time -f '%e %U %S %M' -o "$out.time" "$hemi" eval --model "$model" --data mnist --mode encrypted \
      --scheme "$scheme" --packing latency --limit "$images" --threads 1 --quiet --json >"$out"
    python3 - "$out" "$scheme" "$model" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); s = j["seconds"]; n = j.get("images", 0) or 1
wall, user, sys_, rss = open(sys.argv[1] + ".time").read().split()
n = j["images"] if "images" in j else n
per = (s["encrypt"] + s["evaluate"] + s["decrypt"]) / n
extra = ""
if sys.argv[2] == "bfv":
    l = j["bfv"]["latency"]
    extra = "eval CPU/image %.3f s, %d rotations/image, %d Galois keys/prime, exact %.0f%%, plan: %s" % (
        l["evaluate_cpu_seconds_per_image"], l["rotations_per_image"], l["galois_keys_per_prime"], 100 * j["exact_agreement"], j["bfv"]["plan"])
else:
    extra = "agreement %.0f%%, N = %d" % (100 * j["agreement"], j["ckks"]["n"])
print("%s %s: %d images, per image %.3f s (encrypt %.3f, evaluate %.3f, decrypt %.3f), keygen %.2f s, setup %.2f s, "
      "up %.1f KiB, down %.1f KiB, eval keys %.1f MiB, process wall %s s, CPU %.1f s, peak %.0f MiB; %s" % (
      sys.argv[2], sys.argv[3], n, per, s["encrypt"] / n, s["evaluate"] / n, s["decrypt"] / n, s["keygen"], s["setup"],
      j["bytes_up_per_image"] / 1024, j["bytes_down_per_image"] / 1024, j["eval_key_bytes"] / 1048576, wall,
      float(user) + float(sys_), int(rss) / 1024, extra))
PY
    rm -f "$out" "$out.time"
  done
done
