#!/usr/bin/env python3
"""Fits the cost model's per-path rows (src/hemi/he/cost_model.cpp) to hemi-bench-cost-ops output.

Usage: HEMI_SIMD=avx2 build/bench/hemi-bench-cost-ops 5 > ops.txt; bench/cost_model_fit.py ops.txt

Each operation is least-squares fitted in relative error over every (N, limbs) point:
  key switching (rotate; a further hoisted rotation = (rotate_hoisted_8 - rotate) / 7;
  relinearize + multiply):  s(N) * (a * digits * (limbs + 1) + b * limbs), after taking out
  max(0, key bytes - L3) / bandwidth (the constants in cost_model.h);
  rescale, plain_sum_term, add:  s(N) * c * limbs;   encode:  s(N) * (c * limbs + d);
with s(N) = N / 8192 * log2(N) / 13. Prints the row and the worst relative error per operation.
"""
import collections
import math
import sys

L3 = 32 * 2**20  # kLastLevelCacheBytes
BW = 8e9  # kMemoryBytesPerSecond
SPECIAL = 1


def s(n):
    return n / 8192 * math.log2(n) / 13


def key_bytes(n, limbs):
    return limbs * (limbs + SPECIAL) * n * 32


def fit(points):
    """points: [(basis vector, y)]; minimizes sum((basis . c / y - 1)^2) for 1 or 2 unknowns."""
    rows = [[b / y for b in basis] for basis, y in points]
    if len(rows[0]) == 1:
        return [sum(r[0] for r in rows) / sum(r[0] ** 2 for r in rows)]
    s00 = sum(r[0] ** 2 for r in rows)
    s01 = sum(r[0] * r[1] for r in rows)
    s11 = sum(r[1] ** 2 for r in rows)
    b0 = sum(r[0] for r in rows)
    b1 = sum(r[1] for r in rows)
    det = s00 * s11 - s01 * s01
    return [(b0 * s11 - b1 * s01) / det, (s00 * b1 - s01 * b0) / det]


def worst(points, c):
    return max(abs(sum(ci * bi for ci, bi in zip(c, basis)) / y - 1) for basis, y in points)


def main(path):
    d = collections.defaultdict(dict)
    header = ""
    for line in open(path):
        if line.startswith("#"):
            header = line.strip()
            continue
        n, limbs, op, us = line.split()
        d[op][(int(n), int(limbs))] = float(us)
    d["hoisted"] = {k: (d["rotate_hoisted_8"][k] - d["rotate"][k]) / 7 for k in d["rotate"]}
    d["relin"] = {k: d["relinearize"][k] + d["multiply"][k] for k in d["rotate"]}
    print(header)
    for op in ["rotate", "hoisted", "relin"]:
        pts = [([s(n) * L * (L + SPECIAL), s(n) * L], us - max(0, key_bytes(n, L) - L3) / BW * 1e6)
               for (n, L), us in d[op].items()]
        c = fit(pts)
        print(f"{op:16s} a {c[0]:8.2f}  b {c[1]:8.2f}   worst {worst(pts, c):.2f}")
    for op in ["rescale", "plain_sum_term", "add"]:
        pts = [([s(n) * L], us) for (n, L), us in d[op].items()]
        c = fit(pts)
        print(f"{op:16s} c {c[0]:8.2f}               worst {worst(pts, c):.2f}")
    pts = [([s(n) * L, s(n)], us) for (n, L), us in d["encode"].items()]
    c = fit(pts)
    print(f"{'encode':16s} c {c[0]:8.2f}  d {c[1]:8.2f}   worst {worst(pts, c):.2f}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
