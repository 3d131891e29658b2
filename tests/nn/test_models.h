// Small models shared by the nn tests.
#pragma once

#include "hemi/nn/architectures.h"
#include "hemi/nn/model.h"

namespace hemi::nn::testing {

inline std::vector<std::string> digit_names() {
  return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
}

inline Model seed_cnn(std::uint64_t seed = 7) {
  ArchitectureOptions o;
  o.class_names = digit_names();
  o.seed = seed;
  return build_architecture("seed-cnn", o).value();
}

// Exercises every layer kind: rgb 9x9 -> conv(pad 1) -> poly -> pool -> flatten -> dense -> square -> dense.
inline ModelSpec every_layer_spec() {
  ModelSpec s;
  s.architecture = "every-layer";
  s.input.color = ColorMode::kRgb;
  s.input.height = 9;
  s.input.width = 9;
  s.input.mean = {0.1, 0.2, 0.3};
  s.input.std = {0.5, 0.6, 0.7};
  Conv2d c;
  c.in_channels = 3;
  c.out_channels = 2;
  c.kernel_h = 3;
  c.kernel_w = 2;
  c.stride_h = 2;
  c.stride_w = 1;
  c.pad_h = 1;
  c.pad_w = 1;
  for (int i = 0; i < 2 * 3 * 3 * 2; ++i) c.weight.push_back(0.01 * (i % 7) - 0.03);
  c.bias = {0.1, -0.2};
  s.layers.push_back(c);  // 2x5x10
  s.layers.push_back(Polynomial{{0.25, 0.5, 0.125}});
  s.layers.push_back(AvgPool2d{2, 2, 2, 2});  // 2x2x5
  s.layers.push_back(Flatten{});              // 20
  Dense d;
  d.in_features = 20;
  d.out_features = 4;
  for (int i = 0; i < 80; ++i) d.weight.push_back(0.02 * (i % 5) - 0.04);
  s.layers.push_back(d);  // no bias
  s.layers.push_back(Square{});
  Dense e;
  e.in_features = 4;
  e.out_features = 2;
  e.weight = {1, -1, 0.5, 2, -0.5, 0.25, 1, 1};
  e.bias = {0.5, -0.5};
  s.layers.push_back(e);
  s.class_names = {"no", "yes"};
  return s;
}

}  // namespace hemi::nn::testing
