// A small HE-friendly model for the quant tests: 1x8x8 gray input normalized with mean and
// std 0.5, conv 1->2 3x3, square, avgpool 2, flatten, dense 18->3, deterministic weights.
#pragma once

#include <cmath>

#include "hemi/nn/model.h"

namespace hemi::quant::testing {

// With deep = true, two more layers (x², dense 3->3) push the last bias's scale past 2^63.
inline nn::Model small_model(bool polynomial = false, bool deep = false) {
  nn::ModelSpec spec;
  spec.architecture = "small";
  spec.input.height = spec.input.width = 8;
  spec.input.mean = {0.5};
  spec.input.std = {0.5};
  spec.class_names = {"a", "b", "c"};
  nn::Conv2d c;
  c.in_channels = 1;
  c.out_channels = 2;
  c.kernel_h = c.kernel_w = 3;
  for (int i = 0; i < 18; ++i) c.weight.push_back(0.3 * std::sin(1.7 * i + 0.4));
  c.bias = {0.05, -0.1};
  spec.layers.push_back(c);
  if (polynomial)
    spec.layers.push_back(nn::Polynomial{{0.1, 0.5, 0.2}});
  else
    spec.layers.push_back(nn::Square{});
  spec.layers.push_back(nn::AvgPool2d{2, 2, 2, 2});
  spec.layers.push_back(nn::Flatten{});
  nn::Dense d;
  d.in_features = 18;
  d.out_features = 3;
  for (int i = 0; i < 54; ++i) d.weight.push_back(0.4 * std::cos(0.9 * i + 0.2));
  d.bias = {0.2, -0.3, 0.01};
  spec.layers.push_back(d);
  if (deep) {
    spec.layers.push_back(nn::Square{});
    nn::Dense e;
    e.in_features = e.out_features = 3;
    e.weight = {0.5, -0.2, 0.1, 0.3, 0.4, -0.6, -0.1, 0.2, 0.7};
    e.bias = {0.25, -0.5, 0.125};
    spec.layers.push_back(e);
  }
  return nn::Model::create(spec).value();
}

}  // namespace hemi::quant::testing
