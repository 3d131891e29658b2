// Small hand-built models for the encrypted-inference tests, and the INSECURE small CKKS
// parameters that keep those tests fast (named so: never for real data).
#pragma once

#include <random>

#include "hemi/ckks/params.h"
#include "hemi/nn/model.h"

namespace hemi::he::testing {

inline std::vector<double> random_weights(std::size_t n, double scale, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> d(-scale, scale);
  std::vector<double> w(n);
  for (auto& x : w) x = d(rng);
  return w;
}

inline nn::Conv2d conv(int in, int out, int k, int stride, int pad, std::mt19937_64& rng) {
  nn::Conv2d c;
  c.in_channels = in;
  c.out_channels = out;
  c.kernel_h = c.kernel_w = k;
  c.stride_h = c.stride_w = stride;
  c.pad_h = c.pad_w = pad;
  c.weight = random_weights(static_cast<std::size_t>(out) * in * k * k, 0.4, rng);
  c.bias = random_weights(static_cast<std::size_t>(out), 0.2, rng);
  return c;
}

inline nn::Dense dense(int in, int out, std::mt19937_64& rng) {
  nn::Dense d;
  d.in_features = in;
  d.out_features = out;
  d.weight = random_weights(static_cast<std::size_t>(in) * out, 0.4, rng);
  d.bias = random_weights(static_cast<std::size_t>(out), 0.2, rng);
  return d;
}

inline nn::Model make_model(int channels, int h, int w, std::vector<nn::Layer> layers, int classes) {
  nn::ModelSpec spec;
  spec.architecture = "test";
  spec.input.color = channels == 3 ? nn::ColorMode::kRgb : nn::ColorMode::kGray;
  spec.input.height = h;
  spec.input.width = w;
  spec.input.mean.assign(channels, 0.0);
  spec.input.std.assign(channels, 1.0);
  spec.layers = std::move(layers);
  for (int c = 0; c < classes; ++c) spec.class_names.push_back("c" + std::to_string(c));
  return nn::Model::create(spec).value();
}

// INSECURE test parameters: N = 2^11 (1024 slots), 9 levels at scale 2^40.
inline ckks::ParamsLiteral insecure_params(int levels = 9) {
  ckks::ParamsLiteral l;
  l.log_n = 11;
  l.q_bits.assign(1, 50);
  l.q_bits.insert(l.q_bits.end(), levels, 40);
  l.p_bits = {50, 50};
  l.log_scale = 40;
  l.security = 0;
  l.allow_insecure = true;
  return l;
}

}  // namespace hemi::he::testing
