// The compiler: model + intended use -> Plan. It picks CKKS parameters from the network's
// multiplicative depth at the requested security level, lays out every layer for the chosen
// packing, tracks the level and scale of every intermediate, lists the exact rotation steps
// that need Galois keys, and predicts the cost, all by simulation: no keys, no encryption.
#pragma once

#include <optional>

#include "hemi/he/linear.h"
#include "hemi/he/plan.h"
#include "hemi/nn/model.h"

namespace hemi::he {

struct CompileOptions {
  std::optional<Packing> packing;  // nullopt: choose by predicted cost for `images`
  std::size_t images = 1;          // how many images the plan will serve
  int security = 128;
  int scale_bits = 0;              // 0: the largest scale that fits the smallest ring
  // Explicit parameters instead of the automatic choice (e.g. the study's, or INSECURE test
  // parameters); they must hold the network's depth.
  std::optional<ckks::ParamsLiteral> params;
  // A latency plan whose server would hold more than this (pre-encoded diagonals and the
  // evaluation keys with their precomputations) is refused; --packing auto then picks throughput.
  std::size_t max_server_memory = std::size_t{8} << 30;
};

Plan compile(const nn::Model& model, const CompileOptions& options);

// The model's identity as recorded in plans: hex SHA-256 (first 16 bytes) of its file bytes.
std::string model_id(const nn::Model& model);

// The latency packing's layout of one linear layer in a ring with `period`-periodic slots:
// the non-zero generalized diagonals and their baby-step giant-step split.
struct DiagonalLayout {
  std::size_t period = 0;
  std::vector<int> diagonals;  // i such that diagonal i has a non-zero entry, ascending
  int giant_stride = 1;        // g: diagonal i = a*g + b
  std::vector<int> baby;       // distinct b, ascending (0 included if used)
  std::vector<int> giant;      // distinct a, ascending
};
DiagonalLayout diagonal_layout(const SparseMatrix& m, std::size_t period);

}  // namespace hemi::he
