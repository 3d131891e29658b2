// Synthetic MNIST: 28x28 gray digits drawn as seven-segment figures with random position,
// size, slant, stroke width and noise, in the four MNIST IDX files. Deterministic (fixed
// seed), so every test process and every machine gets the same bytes. A small CNN separates
// the ten classes after one or two epochs, which keeps the learning tests honest on a clone
// with no real data: an untrained model is at chance (10 %), a trained one well above 80 %.
//
// synthetic_data_root() writes <HEMI_TEST_CACHE>/synthetic-data/mnist/ on first use (each file
// written under a temporary name and renamed, so concurrent test processes are safe) and
// returns <HEMI_TEST_CACHE>/synthetic-data, a data root for HEMI_DATA.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace hemi::test_support {

inline constexpr std::size_t kSyntheticTrain = 3000;
inline constexpr std::size_t kSyntheticTest = 500;
inline constexpr int kSyntheticSide = 28;

namespace synthetic_detail {

// splitmix64: small, fixed and the same everywhere.
struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * (next() >> 11) * 0x1.0p-53; }
};

// Segments a..g of a seven-segment figure as line segments in a unit box (x right, y down):
// a top, b top right, c bottom right, d bottom, e bottom left, f top left, g middle.
inline constexpr std::array<std::array<double, 4>, 7> kSegments = {{
    {0, 0, 1, 0}, {1, 0, 1, 0.5}, {1, 0.5, 1, 1}, {0, 1, 1, 1},
    {0, 0.5, 0, 1}, {0, 0, 0, 0.5}, {0, 0.5, 1, 0.5},
}};
// Which segments each digit lights (bit i = segment a+i).
inline constexpr std::array<std::uint8_t, 10> kDigits = {
    0b0111111, 0b0000110, 0b1011011, 0b1001111, 0b1100110,
    0b1101101, 0b1111101, 0b0000111, 0b1111111, 0b1101111,
};

inline double distance_to_segment(double px, double py, double x0, double y0, double x1, double y1) {
  const double dx = x1 - x0, dy = y1 - y0;
  double t = ((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy);
  t = std::clamp(t, 0.0, 1.0);
  return std::hypot(px - (x0 + t * dx), py - (y0 + t * dy));
}

inline void draw_digit(int digit, Rng& rng, std::uint8_t* out) {
  const double w = rng.uniform(8, 13), h = rng.uniform(14, 20);
  const double x0 = rng.uniform(4, 24 - w), y0 = rng.uniform(4, 24 - h);
  const double slant = rng.uniform(-0.25, 0.25), stroke = rng.uniform(1.0, 1.9);
  for (int y = 0; y < kSyntheticSide; ++y) {
    for (int x = 0; x < kSyntheticSide; ++x) {
      double d = 1e9;
      for (int s = 0; s < 7; ++s) {
        if (!(kDigits[digit] >> s & 1)) continue;
        const auto& g = kSegments[s];
        auto px = [&](double u, double v) { return x0 + u * w + slant * (v - 0.5) * h; };
        d = std::min(d, distance_to_segment(x + 0.5, y + 0.5, px(g[0], g[1]), y0 + g[1] * h,
                                            px(g[2], g[3]), y0 + g[3] * h));
      }
      double v = std::clamp(stroke + 0.5 - d, 0.0, 1.0) * 255.0 + rng.uniform(-20, 20);
      out[y * kSyntheticSide + x] = static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
    }
  }
}

inline std::vector<std::uint8_t> idx_header(std::uint8_t ndim, std::vector<std::uint32_t> dims) {
  std::vector<std::uint8_t> out = {0, 0, 0x08, ndim};
  for (auto d : dims)
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(d >> s));
  return out;
}

inline void write_atomically(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  const auto tmp = path.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

// Images and labels of one split; each label is drawn uniformly from the ten digits.
inline void write_split(const std::filesystem::path& dir, const std::string& stem, std::size_t count,
                        std::uint64_t seed) {
  Rng rng{seed};
  const std::size_t side = kSyntheticSide;
  auto images = idx_header(3, {static_cast<std::uint32_t>(count), kSyntheticSide, kSyntheticSide});
  auto labels = idx_header(1, {static_cast<std::uint32_t>(count)});
  const std::size_t header = images.size();
  images.resize(header + count * side * side);
  for (std::size_t i = 0; i < count; ++i) {
    const int digit = static_cast<int>(rng.next() % 10);
    labels.push_back(static_cast<std::uint8_t>(digit));
    draw_digit(digit, rng, images.data() + header + i * side * side);
  }
  write_atomically(dir / (stem + "-images-idx3-ubyte"), images);
  write_atomically(dir / (stem + "-labels-idx1-ubyte"), labels);
}

}  // namespace synthetic_detail

inline std::string synthetic_data_root() {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(HEMI_TEST_CACHE) / "synthetic-data";
  const fs::path dir = root / "mnist";
  // The version in the marker's name changes whenever the generator does.
  const fs::path marker = dir / "synthetic-v1";
  if (!fs::exists(marker)) {
    fs::create_directories(dir);
    synthetic_detail::write_split(dir, "train", kSyntheticTrain, 1);
    synthetic_detail::write_split(dir, "t10k", kSyntheticTest, 2);
    synthetic_detail::write_atomically(marker, {});
  }
  return root.string();
}

}  // namespace hemi::test_support
