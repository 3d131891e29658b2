#!/usr/bin/env python3
"""Independent reference values for tests/metrics (run: python3 reference_values.py).

Written directly from the definitions, with no scikit-learn and no code shared with the C++:
  - precision / recall / F1 per class from the confusion matrix, zero_division = 0;
    macro = plain mean over classes 0..C-1, weighted = mean weighted by support;
  - AUROC as scikit-learn's roc_auc_score computes it: build the ROC curve over the distinct
    score thresholds (descending), then the trapezoid rule on (FPR, TPR), in exact Fractions
    (the C++ uses the Mann-Whitney rank form instead, so the two are independent);
  - Wilson interval from its formula with z from statistics.NormalDist().inv_cdf;
  - McNemar exact p from math.comb in exact Fractions;
  - the bootstrap re-implemented from its specification (mt19937_64 written out from the
    C++ standard's definition, checked against the standard's required 10000th output;
    splitmix64 seeding; rejection sampling; numpy-style linear percentiles).
The printed numbers are pasted into the *_test.cpp files as constants.
"""
from fractions import Fraction
from math import comb, sqrt
from statistics import NormalDist, mean, stdev

# ---- data sets (the same literals appear in the C++ tests) ----

# Binary, brain-MRI-like: class 1 = "yes". Scores are P(yes) in tenths, with ties and one 0.5
# (argmax tie -> class 0). Rows are [1 - p, p].
BIN_TRUTH = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
BIN_TENTHS = [1, 2, 2, 3, 5, 6, 7, 8, 2, 4, 5, 6, 6, 7, 7, 8, 8, 9, 9, 9]

# Multiclass, C = 4: rows are integer weights divided by their sum (exact same doubles in C++).
# Class 3 is present in the truth but never predicted (zero_division case).
MC4_TRUTH = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 0, 1, 2]
MC4_WEIGHTS = [
    [5, 2, 2, 1], [4, 4, 1, 1], [3, 1, 5, 1], [6, 1, 1, 2],
    [1, 6, 2, 1], [2, 5, 2, 1], [4, 3, 2, 1], [1, 3, 5, 1],
    [1, 1, 7, 1], [2, 2, 5, 1], [3, 1, 4, 2], [5, 2, 2, 1],
    [3, 2, 2, 3], [2, 4, 1, 3], [1, 1, 5, 3], [4, 2, 2, 2],
    [2, 3, 3, 2], [2, 2, 4, 2],
]

# Multiclass, C = 3, every class predicted, no ties in scores within a column.
MC3_TRUTH = [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 0, 2]
MC3_WEIGHTS = [
    [70, 20, 10], [51, 30, 19], [32, 45, 23], [15, 60, 25], [28, 52, 20], [40, 35, 25],
    [12, 41, 47], [11, 13, 76], [22, 31, 47], [36, 33, 31], [61, 18, 21], [9, 48, 43],
]


def rows_from_weights(weights):
    return [[w / sum(r) for w in r] for r in weights]


def argmax(row):
    best = 0
    for k, v in enumerate(row):
        if v > row[best]:
            best = k
    return best


def prf(truth, pred, classes):
    rows = []
    for k in range(classes):
        tp = sum(1 for t, p in zip(truth, pred) if t == k and p == k)
        predicted = sum(1 for p in pred if p == k)
        support = sum(1 for t in truth if t == k)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append((precision, recall, f1, support, predicted))
    n = len(truth)
    macro = [sum(r[i] for r in rows) / classes for i in range(3)]
    weighted = [sum(r[i] * r[3] for r in rows) / n for i in range(3)]
    return rows, macro, weighted


def roc_auc_trapezoid(truth_pos, scores):
    """ROC curve over distinct thresholds (descending), trapezoid area, exact."""
    P = sum(truth_pos)
    N = len(truth_pos) - P
    if P == 0 or N == 0:
        return None
    pts = [(Fraction(0), Fraction(0))]
    for thr in sorted(set(scores), reverse=True):
        tp = sum(1 for y, s in zip(truth_pos, scores) if s >= thr and y)
        fp = sum(1 for y, s in zip(truth_pos, scores) if s >= thr and not y)
        pts.append((Fraction(fp, N), Fraction(tp, P)))
    area = Fraction(0)
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        area += (x1 - x0) * (y0 + y1) / 2
    return area


def ovr(truth, probs, classes):
    per = [roc_auc_trapezoid([t == k for t in truth], [r[k] for r in probs]) for k in range(classes)]
    if any(a is None for a in per):
        return per, None, None
    support = [truth.count(k) for k in range(classes)]
    macro = sum(per) / classes
    weighted = sum(a * s for a, s in zip(per, support)) / len(truth)
    return per, macro, weighted


def wilson(successes, n, confidence):
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z / denom * sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, center - half), min(1.0, center + half)


def mcnemar(b, c):
    n = b + c
    if n == 0:
        return Fraction(1)
    tail = sum(comb(n, i) for i in range(min(b, c) + 1))
    return min(Fraction(1), Fraction(2 * tail, 2 ** n))


# ---- mt19937_64 from the C++ standard ([rand.predef], [rand.eng.mers]) ----
M64 = (1 << 64) - 1


class MT19937_64:
    n, m, r = 312, 156, 31
    a = 0xB5026F5AA96619E9
    u, d = 29, 0x5555555555555555
    s, b = 17, 0x71D67FFFEDA60000
    t, c = 37, 0xFFF7EEE000000000
    l, f = 43, 6364136223846793005

    def __init__(self, seed):
        self.x = [seed & M64]
        for i in range(1, self.n):
            prev = self.x[-1]
            self.x.append((self.f * (prev ^ (prev >> 62)) + i) & M64)
        self.i = 0

    def __call__(self):
        n, i = self.n, self.i
        lower = (1 << self.r) - 1
        upper = M64 ^ lower
        y = (self.x[i] & upper) | (self.x[(i + 1) % n] & lower)
        z = self.x[(i + self.m) % n] ^ (y >> 1) ^ (self.a if y & 1 else 0)
        self.x[i] = z
        self.i = (i + 1) % n
        z ^= (z >> self.u) & self.d
        z ^= (z << self.s) & self.b & M64
        z ^= (z << self.t) & self.c & M64
        z ^= z >> self.l
        return z


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def sample_index(engine, n):
    limit = M64 - (M64 % n)
    while True:
        x = engine()
        if x < limit:
            return x % n


def percentile(sorted_values, q):
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def bootstrap_binary(truth, probs, positive, reps, seed, confidence):
    """Percentile bootstrap of precision, recall, F1, AUROC of the positive class."""
    n = len(truth)
    pred = [argmax(r) for r in probs]
    out = {"precision": [], "recall": [], "f1": [], "auroc": []}
    skipped = 0
    for rep in range(reps):
        eng = MT19937_64(splitmix64(seed ^ splitmix64(rep)))
        idx = [sample_index(eng, n) for _ in range(n)]
        t = [truth[i] for i in idx]
        p = [pred[i] for i in idx]
        rows, _, _ = prf(t, p, len(probs[0]))
        out["precision"].append(rows[positive][0])
        out["recall"].append(rows[positive][1])
        out["f1"].append(rows[positive][2])
        a = roc_auc_trapezoid([y == positive for y in t], [probs[i][positive] for i in idx])
        if a is None:
            skipped += 1
        else:
            out["auroc"].append(float(a))
    alpha = 1 - confidence
    res = {k: (percentile(sorted(v), alpha / 2), percentile(sorted(v), 1 - alpha / 2)) for k, v in out.items()}
    return res, skipped


def show(name, value):
    print(f"  {name} = {float(value)!r}")


def main():
    # The standard requires the 10000th output of a default-constructed mt19937_64.
    e = MT19937_64(5489)
    for _ in range(9999):
        e()
    assert e() == 9981545732273789042, "mt19937_64 transcription is wrong"

    print("binary (positive = 1):")
    probs = [[1 - t / 10, t / 10] for t in BIN_TENTHS]
    pred = [argmax(r) for r in probs]
    print("  predicted =", pred)
    rows, macro, weighted = prf(BIN_TRUTH, pred, 2)
    for k, r in enumerate(rows):
        print(f"  class {k}: precision={r[0]!r} recall={r[1]!r} f1={r[2]!r} support={r[3]} predicted={r[4]}")
    print("  macro =", macro, " weighted =", weighted)
    print("  accuracy =", repr(sum(t == p for t, p in zip(BIN_TRUTH, pred)) / len(pred)))
    auc = roc_auc_trapezoid([t == 1 for t in BIN_TRUTH], [r[1] for r in probs])
    print(f"  auroc (positive column) = {auc} = {float(auc)!r}")
    per, m, w = ovr(BIN_TRUTH, probs, 2)
    print("  ovr per class =", [float(a) for a in per], "macro", float(m), "weighted", float(w))
    print("  confusion =", [[sum(1 for t, p in zip(BIN_TRUTH, pred) if t == i and p == j) for j in range(2)] for i in range(2)])
    (res, skipped) = bootstrap_binary(BIN_TRUTH, probs, 1, 200, 7, 0.95)
    print("  bootstrap(200 resamples, seed 7, 95%):", {k: (repr(a), repr(b)) for k, (a, b) in res.items()}, "skipped", skipped)

    for name, truth, weights, C in [("mc4", MC4_TRUTH, MC4_WEIGHTS, 4), ("mc3", MC3_TRUTH, MC3_WEIGHTS, 3)]:
        print(f"{name}:")
        probs = rows_from_weights(weights)
        pred = [argmax(r) for r in probs]
        print("  predicted =", pred)
        rows, macro, weighted = prf(truth, pred, C)
        for k, r in enumerate(rows):
            print(f"  class {k}: precision={r[0]!r} recall={r[1]!r} f1={r[2]!r} support={r[3]} predicted={r[4]}")
        print("  macro precision/recall/f1 =", [repr(v) for v in macro])
        print("  weighted precision/recall/f1 =", [repr(v) for v in weighted])
        print("  accuracy =", repr(sum(t == p for t, p in zip(truth, pred)) / len(pred)))
        print("  confusion =", [[sum(1 for t, p in zip(truth, pred) if t == i and p == j) for j in range(C)] for i in range(C)])
        per, m, w = ovr(truth, probs, C)
        print("  ovr per class =", [repr(float(a)) for a in per])
        print("  ovr macro =", repr(float(m)), " weighted =", repr(float(w)))

    print("auroc_binary:")
    for truth, scores in [([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]),
                          ([0, 1, 0, 1, 1, 0], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]),
                          ([1, 0, 1, 0, 1, 0, 0], [0.9, 0.3, 0.3, 0.3, 0.7, 0.7, 0.1])]:
        print(" ", truth, scores, "->", roc_auc_trapezoid([t == 1 for t in truth], scores))

    print("wilson:")
    for s, n, conf in [(45, 51, 0.95), (0, 10, 0.95), (10, 10, 0.95), (1, 2, 0.95), (45, 51, 0.90), (950, 1000, 0.99)]:
        lo, hi = wilson(s, n, conf)
        print(f"  {s}/{n} @ {conf}: ({lo!r}, {hi!r})")
    print("  z(0.975) =", repr(NormalDist().inv_cdf(0.975)), " z(0.995) =", repr(NormalDist().inv_cdf(0.995)),
          " z(0.05) =", repr(NormalDist().inv_cdf(0.05)), " z(1e-10) =", repr(NormalDist().inv_cdf(1e-10)))

    print("mcnemar:")
    for b, c in [(0, 0), (1, 0), (5, 0), (10, 2), (2, 10), (3, 3), (100, 70), (6, 14), (2000, 1900), (0, 30)]:
        p = mcnemar(b, c)
        print(f"  ({b}, {c}): {float(p)!r}")

    print("folds:")
    folds = [0.9, 0.85, 0.95, 0.8, 0.9]
    print("  mean =", repr(mean(folds)), " stdev =", repr(stdev(folds)))


if __name__ == "__main__":
    main()
