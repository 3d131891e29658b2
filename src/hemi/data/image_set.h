// A set of labelled images in memory, the contract between the data layer (which fills it)
// and its users (training, evaluation, encrypted inference).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace hemi::data {

// Pixels are float32, laid out image by image as C × H × W (channel-major, like PyTorch),
// already normalized ((x/255 - mean[c]) / std[c]).
struct ImageSet {
  int channels = 1;
  int height = 28;
  int width = 28;
  std::vector<float> pixels;             // size() * channels * height * width values
  std::vector<int> labels;               // one per image, in [0, class_names.size())
  std::vector<std::string> class_names;  // e.g. {"0",...,"9"} or {"no","yes"}
  std::vector<std::string> sources;      // optional: the file each image came from
  std::vector<std::string> content;      // optional: SHA-256 hex of each image's content (duplicates)

  std::size_t size() const { return labels.size(); }
  std::size_t image_values() const {
    return static_cast<std::size_t>(channels) * height * width;
  }
  const float* image(std::size_t i) const { return pixels.data() + i * image_values(); }
};

}  // namespace hemi::data
