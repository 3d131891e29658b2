// What the fuzz targets and the corpus generator share: small INSECURE parameters (fast
// loaders, small inputs) and a tiny model with its plan, built deterministically so that the
// generated seeds carry the parameter and plan ids the targets check against.
#pragma once

#include <cstdint>
#include <random>

#include "hemi/base/error.h"
#include "hemi/ckks/params.h"
#include "hemi/he/compiler.h"
#include "hemi/service/formats.h"
#include "small_models.h"

namespace hemi::fuzz {

inline ckks::ParamsLiteral fuzz_params() {
  ckks::ParamsLiteral l;
  l.log_n = 10;
  l.q_bits = {50, 40, 40, 40, 40};
  l.p_bits = {50};
  l.log_scale = 40;
  l.security = 0;
  l.allow_insecure = true;
  return l;
}

inline const ckks::Params& params() {
  static const ckks::Params p = ckks::Params::create(fuzz_params()).value();
  return p;
}

inline const nn::Model& model() {
  static const nn::Model m = [] {
    std::mt19937_64 rng(1);
    return he::testing::make_model(1, 4, 4,
                                   {he::testing::conv(1, 2, 3, 1, 1, rng), nn::Square{}, nn::Flatten{},
                                    he::testing::dense(32, 3, rng)},
                                   3);
  }();
  return m;
}

inline const service::PlanContext& plan(he::Packing packing) {
  auto make = [](he::Packing p) {
    he::CompileOptions o;
    o.packing = p;
    o.params = fuzz_params();
    return service::PlanContext(he::compile(model(), o));
  };
  static const service::PlanContext latency = make(he::Packing::kLatency);
  static const service::PlanContext throughput = make(he::Packing::kThroughput);
  return packing == he::Packing::kLatency ? latency : throughput;
}

}  // namespace hemi::fuzz

// Runs f; a hemi::Error is the expected answer to bad input, anything else escapes and is a
// finding (as are crashes and sanitizer reports).
#define HEMI_FUZZ_EXPECT_ERROR(stmt) \
  try {                              \
    stmt;                            \
  } catch (const ::hemi::Error&) {   \
  }
