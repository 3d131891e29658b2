// Shared fixtures of the service tests: a tiny model with INSECURE small parameters (fast),
// its plans in both packings, and random images.
#pragma once

#include <random>

#include "hemi/he/compiler.h"
#include "hemi/service/formats.h"
#include "small_models.h"

namespace hemi::service::testing {

// conv -> square -> dense, 1x6x6 input, 3 classes: depth 3, well inside insecure_params().
inline nn::Model tiny_model(unsigned seed = 1) {
  std::mt19937_64 rng(seed);
  return he::testing::make_model(1, 6, 6,
                                 {he::testing::conv(1, 2, 3, 1, 1, rng), nn::Square{}, nn::Flatten{},
                                  he::testing::dense(72, 3, rng)},
                                 3);
}

inline he::Plan tiny_plan(const nn::Model& m, he::Packing packing) {
  he::CompileOptions o;
  o.packing = packing;
  o.params = he::testing::insecure_params(5);
  return he::compile(m, o);
}

inline std::vector<float> random_images(std::size_t count, std::size_t values, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(count * values);
  for (auto& x : v) x = d(rng);
  return v;
}

}  // namespace hemi::service::testing
