#!/usr/bin/env python3
"""The reference NTT time of the cost model (ntt_us in src/hemi/he/cost_model.cpp) against the
operations its rows are fitted to: the ratio of a new hemi-bench-cost-ops run to the fitted
measurements, per operation, and the compute-bound operations' median (encode, rescale, add,
multiply, multiply_plain: neither memory- nor cache-bound, so not slowed by other processes).
When that median is 1.00, the run's "# path P ntt_us X" line is the reference X for path P.

Usage: bench/cost_model_calibration_check.py bench/cost_model_ops/avx512ifma.txt NEW.txt
"""
import sys


def load(path):
    ops, ntt = {}, None
    for line in open(path):
        if line.startswith("# path") and "ntt_us" in line:
            ntt = float(line.split()[-1])
        if line.startswith("#") or not line.strip():
            continue
        n, limbs, op, us = line.split()
        ops[(int(n), int(limbs), op)] = float(us)
    return ops, ntt


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


ref, _ = load(sys.argv[1])
new, ntt = load(sys.argv[2])
ratios = {}
for key, us in new.items():
    if key in ref and ref[key] > 5:  # below 5 us the subtraction of the copy dominates
        ratios.setdefault((key[0], key[2]), []).append(us / ref[key])
for (n, op), r in sorted(ratios.items()):
    print(f"{n:6d} {op:20s} median {median(r):.2f} (min {min(r):.2f}, max {max(r):.2f}, {len(r)} levels)")
compute = [x for (n, op), r in ratios.items() if op in ("encode", "rescale", "add", "multiply", "multiply_plain") for x in r]
print(f"compute-bound operations: median {median(compute):.3f} of the fitted times; this run's calibration {ntt} us")
