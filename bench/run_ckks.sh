#!/usr/bin/env bash
# Runs hemi-bench-ckks (single thread, 5 repetitions, medians) once per SIMD path this CPU has
# (or the paths in HEMI_BENCH_PATHS, e.g. "avx2 scalar"), and prints Markdown tables: every path
# side by side (the scalar path is the same-run reference) and SEAL 4.1.2's figures for this CPU
# family from the issues (measured by their authors on this machine kind, not in this run).
# Usage: bench/run_ckks.sh [extra benchmark flags]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build --target hemi-bench-ckks >/dev/null
hemi=build/src/hemi/app/hemi
[ -x "$hemi" ] || ./scripts/build --target hemi >/dev/null
supported=$("$hemi" --version | sed -n 's/.*this CPU supports: \([a-z0-9 ]*\);.*/\1/p')
paths=${HEMI_BENCH_PATHS:-$supported}
dir=$(mktemp -d)
for p in $paths; do
  HEMI_SIMD=$p ./build/bench/hemi-bench-ckks --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
    --benchmark_min_time=0.2 --benchmark_format=json "$@" >"$dir/$p.json"
done
python3 - "$dir" $paths <<'PY'
import json, subprocess, sys
d, paths = sys.argv[1], sys.argv[2:]
# SEAL 4.1.2 and SEAL + HEXL 1.2.5, N = 8192, the study's chain, microseconds.
seal_ifma = {  # AVX-512 IFMA machine (AMD EPYC Zen 4), issue 6
    "ntt_forward": (64, 7.7), "encode": (940, 289), "decode": (2266, 1926),
    "encrypt_public": (5191, 1398), "encrypt_symmetric": (2429, 1640), "decrypt": (224, 60),
    "add": (93, 21), "multiply_plain": (289, 21), "multiply": (656, 50), "relinearize": (6962, 2817),
    "rescale": (1171, 239), "rotate": (6973, 2869), "keygen_relin": (19300, 13000)}
seal_avx2 = {  # AVX2-only machine (AMD EPYC Zen 3), issue 9; HEXL built for AVX2
    "ntt_forward": (130, 149), "encode": (1334, 1305), "encrypt_public": (10412, 8963),
    "add": (188, 30), "multiply_plain": (531, 461), "multiply": (1284, 744),
    "relinearize": (14945, 10072), "rescale": (2532, 1832), "rotate": (15916, 13986)}
cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout.strip()
flags = open("/proc/cpuinfo").read()
seal = seal_ifma if "avx512ifma" in flags else seal_avx2
best_path = next(p for p in ["avx512ifma", "avx2", "scalar"] if p in paths)
rows = {}
for p in paths:
    for b in json.load(open(f"{d}/{p}.json"))["benchmarks"]:
        if b.get("aggregate_name") != "median": continue
        _, tag, op = b["run_name"].split("/")
        rows.setdefault(tag, {}).setdefault(op, {})[p] = b["real_time"]
print(f"CPU: {cpu} | paths: {' '.join(paths)} | SEAL figures: {'AVX-512 IFMA machine (issue 6)' if seal is seal_ifma else 'AVX2-only machine (issue 9)'}")
for tag, ops in rows.items():
    print(f"\n### {tag}\n")
    head = "| operation | " + " | ".join(f"{p} (µs)" for p in paths)
    line = "| --- | " + " | ".join("---:" for _ in paths)
    if tag == "N8192":
        head += f" | SEAL (µs) | SEAL + HEXL (µs) | {best_path} / SEAL | {best_path} / SEAL+HEXL"
        line += " | ---: | ---: | ---: | ---:"
    print(head + " |\n" + line + " |")
    for op, t in ops.items():
        cells = [f"{t[p]:.1f}" if p in t else "" for p in paths]
        best = t.get(best_path)
        extra = ""
        if tag == "N8192":
            s, h = seal.get(op, (None, None))
            extra = " | " + " | ".join([str(s or ""), str(h or ""),
                                         f"{best / s:.2f}" if s and best else "", f"{best / h:.2f}" if h and best else ""])
        print(f"| {op} | " + " | ".join(cells) + extra + " |")
    if "scalar" in paths and len(paths) > 1:
        for p in paths:
            if p != "scalar" and "relinearize" in ops and p in ops["relinearize"]:
                print(f"\n{p} over scalar in the same run: NTT {ops['ntt_forward']['scalar'] / ops['ntt_forward'][p]:.1f}x, "
                      f"relinearize {ops['relinearize']['scalar'] / ops['relinearize'][p]:.1f}x")
PY
rm -rf "$dir"
