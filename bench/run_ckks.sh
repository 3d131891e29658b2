#!/usr/bin/env bash
# Runs hemi-bench-ckks (single thread, 5 repetitions, medians) and prints a Markdown table
# with the SEAL 4.1.2 figures from issue 6 (measured on this machine kind by the issue's
# author, not in this run) beside ours. Usage: bench/run_ckks.sh [extra benchmark flags]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build --target hemi-bench-ckks >/dev/null
out=$(mktemp)
./build/bench/hemi-bench-ckks --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.2 --benchmark_format=json "$@" >"$out"
python3 - "$out" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
seal = {  # SEAL 4.1.2 / SEAL + HEXL, N=8192, microseconds (issue 6)
    "ntt_forward": (64, 7.7), "encode": (940, 289), "decode": (2266, 1926),
    "encrypt_public": (5191, 1398), "encrypt_symmetric": (2429, 1640), "decrypt": (224, 60),
    "add": (93, 21), "multiply_plain": (289, 21), "multiply": (656, 50), "relinearize": (6962, 2817),
    "rescale": (1171, 239), "rotate": (6973, 2869), "keygen_relin": (19300, 13000)}
rows = {}
for b in data["benchmarks"]:
    if b.get("aggregate_name") != "median": continue
    _, tag, op = b["run_name"].split("/")
    rows.setdefault(tag, {})[op] = b["real_time"]
print("simd path:", data["context"].get("simd"), "| host:", data["context"]["host_name"],
      "| cpus:", data["context"]["num_cpus"])
for tag, ops in rows.items():
    print(f"\n### {tag}\n")
    if tag == "N8192":
        print("| operation | hemi (µs) | SEAL 4.1.2 (µs) | SEAL + HEXL (µs) | SEAL / hemi |")
        print("| --- | ---: | ---: | ---: | ---: |")
    else:
        print("| operation | hemi (µs) |")
        print("| --- | ---: |")
    for op, t in ops.items():
        if tag == "N8192" and op in seal:
            s, h = seal[op]
            print(f"| {op} | {t:.1f} | {s} | {h} | {s / t:.1f}x |")
        elif tag == "N8192":
            print(f"| {op} | {t:.1f} | | | |")
        else:
            print(f"| {op} | {t:.1f} |")
    if "ntt_forward" in ops and "ntt_forward_scalar" in ops:
        print(f"\nSIMD over scalar NTT in the same run: {ops['ntt_forward_scalar'] / ops['ntt_forward']:.1f}x")
PY
rm -f "$out"
