// medcnn's shape (issue 12) with seeded uniform random weights and x² activations, for the
// encrypted benchmarks that need no trained model (hemi-bench-medcnn, hemi-bench-he-stream).
// The scales keep the activations of order one through the squares.
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "hemi/nn/model.h"

namespace hemi::bench {

inline std::vector<double> uniform(std::size_t n, double a, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> d(-a, a);
  std::vector<double> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

inline nn::Conv2d conv3x3(int in, int out, int stride, std::mt19937_64& rng) {
  nn::Conv2d c;
  c.in_channels = in;
  c.out_channels = out;
  c.kernel_h = c.kernel_w = 3;
  c.stride_h = c.stride_w = stride;
  c.pad_h = c.pad_w = 1;
  c.weight = uniform(static_cast<std::size_t>(out) * in * 9, std::sqrt(3.0 / (in * 9)), rng);
  c.bias = uniform(static_cast<std::size_t>(out), 0.1, rng);
  return c;
}

inline nn::Dense dense(int in, int out, std::mt19937_64& rng) {
  nn::Dense d;
  d.in_features = in;
  d.out_features = out;
  d.weight = uniform(static_cast<std::size_t>(in) * out, std::sqrt(3.0 / in), rng);
  d.bias = uniform(static_cast<std::size_t>(out), 0.1, rng);
  return d;
}

// conv 3x3 C->16 /2 · x² · conv 3x3 16->32 /2 · x² · avgpool 2 · conv 3x3 32->64 · x² · avgpool 2
// · dense ->64 · x² · dense ->classes, on size x size inputs (size a multiple of 16), seed 12.
// Four classes are named as brain-tumor-mri4's folders, so that hemi eval accepts the model.
inline nn::Model random_medcnn(int channels, int size, int classes, const std::string& name) {
  std::mt19937_64 rng(12);
  nn::ModelSpec spec;
  spec.architecture = name;
  spec.input.color = channels == 3 ? nn::ColorMode::kRgb : nn::ColorMode::kGray;
  spec.input.height = spec.input.width = size;
  spec.input.mean.assign(static_cast<std::size_t>(channels), 0.0);
  spec.input.std.assign(static_cast<std::size_t>(channels), 1.0);
  const int s = size / 16;  // after two stride-2 convolutions and two poolings
  spec.layers = {conv3x3(channels, 16, 2, rng), nn::Square{},      conv3x3(16, 32, 2, rng), nn::Square{},
                 nn::AvgPool2d{},               conv3x3(32, 64, 1, rng), nn::Square{},      nn::AvgPool2d{},
                 nn::Flatten{},                 dense(64 * s * s, 64, rng), nn::Square{},   dense(64, classes, rng)};
  if (classes == 4)
    spec.class_names = {"glioma_tumor", "meningioma_tumor", "no_tumor", "pituitary_tumor"};
  else
    for (int c = 0; c < classes; ++c) spec.class_names.push_back("c" + std::to_string(c));
  return nn::Model::create(spec).value();
}

}  // namespace hemi::bench
