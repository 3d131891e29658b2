// Generated, linearly separable image sets for tests that must run without ../shared/data:
// class c is a bright block at a class-dependent place plus Gaussian noise.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "hemi/data/image_set.h"
#include "hemi/nn/architectures.h"

namespace hemi::test {

inline data::ImageSet generated_images(std::size_t count, int classes, int channels, int size, std::uint64_t seed) {
  data::ImageSet s;
  s.channels = channels;
  s.height = s.width = size;
  for (int c = 0; c < classes; ++c) s.class_names.push_back(std::to_string(c));
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  const int block = size / 4;
  for (std::size_t i = 0; i < count; ++i) {
    const int label = static_cast<int>(i % static_cast<std::size_t>(classes));
    const int r0 = (label / 4) * block, c0 = (label % 4) * block;
    for (int ch = 0; ch < channels; ++ch)
      for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
          bool on = y >= r0 && y < r0 + block && x >= c0 && x < c0 + block;
          s.pixels.push_back((on ? 1.0f : -0.5f) + noise(rng));
        }
    s.labels.push_back(label);
  }
  return s;
}

inline nn::Model model_for(const std::string& arch, const data::ImageSet& set, std::uint64_t seed) {
  nn::ArchitectureOptions o;
  o.input.color = set.channels == 3 ? nn::ColorMode::kRgb : nn::ColorMode::kGray;
  o.input.height = set.height;
  o.input.width = set.width;
  o.input.mean.assign(static_cast<std::size_t>(set.channels), 0.5);
  o.input.std.assign(static_cast<std::size_t>(set.channels), 0.5);
  o.class_names = set.class_names;
  o.seed = seed;
  return nn::build_architecture(arch, o).value();
}

}  // namespace hemi::test
