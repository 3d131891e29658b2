#!/usr/bin/env bash
# Benchmark: seed-cnn on full MNIST (60,000 train / 10,000 test), 10 epochs, batch 64,
# Adam lr 0.001, as in the study. Prints one JSON object (test_accuracy, train_seconds, ...).
# One libtorch thread: fastest for a network this small, and deterministic (docs/training.md).
# Usage: bench/train_seed_cnn.sh [HEMI_BINARY] [extra hemi train options; later ones win]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
hemi="${1:-$here/build/src/hemi/app/hemi}"
shift || true
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$hemi" train --data mnist --arch seed-cnn --epochs 10 --batch 64 --lr 0.001 --seed 0 \
  --threads 1 -o "$out/seed-cnn-mnist.hemimodel" --json "$@"
