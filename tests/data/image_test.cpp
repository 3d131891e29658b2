// Resize filters against slow, obviously-correct oracles; channel conversion; normalization.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "hemi/data/image.h"

namespace hemi::data {
namespace {

std::vector<float> random_plane(int h, int w, unsigned seed) {
  std::mt19937 gen(seed);
  std::vector<float> v(static_cast<std::size_t>(h) * w);
  for (auto& x : v) x = static_cast<float>(gen() % 256);
  return v;
}

// Area oracle: integrate the piecewise-constant source over the output pixel's rectangle in
// 2-D, visiting every source pixel, and divide by the rectangle's area.
std::vector<double> area_oracle(const std::vector<float>& src, int sh, int sw, int dh, int dw) {
  std::vector<double> out(static_cast<std::size_t>(dh) * dw);
  for (int y = 0; y < dh; ++y) {
    for (int x = 0; x < dw; ++x) {
      double y0 = static_cast<double>(y) * sh / dh, y1 = static_cast<double>(y + 1) * sh / dh;
      double x0 = static_cast<double>(x) * sw / dw, x1 = static_cast<double>(x + 1) * sw / dw;
      double sum = 0, area = 0;
      for (int sy = 0; sy < sh; ++sy) {
        for (int sx = 0; sx < sw; ++sx) {
          double oy = std::max(0.0, std::min(y1, sy + 1.0) - std::max(y0, static_cast<double>(sy)));
          double ox = std::max(0.0, std::min(x1, sx + 1.0) - std::max(x0, static_cast<double>(sx)));
          sum += oy * ox * src[sy * sw + sx];
          area += oy * ox;
        }
      }
      out[y * dw + x] = sum / area;
    }
  }
  return out;
}

// Bilinear oracle: sample point ((y+0.5)*sh/dh - 0.5, (x+0.5)*sw/dw - 0.5) clamped into the
// image, weighted mean of the four surrounding pixels.
std::vector<double> bilinear_oracle(const std::vector<float>& src, int sh, int sw, int dh, int dw) {
  auto at = [&](int y, int x) {
    y = std::clamp(y, 0, sh - 1);
    x = std::clamp(x, 0, sw - 1);
    return static_cast<double>(src[y * sw + x]);
  };
  std::vector<double> out(static_cast<std::size_t>(dh) * dw);
  for (int y = 0; y < dh; ++y) {
    for (int x = 0; x < dw; ++x) {
      double py = std::clamp((y + 0.5) * sh / dh - 0.5, 0.0, sh - 1.0);
      double px = std::clamp((x + 0.5) * sw / dw - 0.5, 0.0, sw - 1.0);
      int iy = static_cast<int>(py), ix = static_cast<int>(px);
      double fy = py - iy, fx = px - ix;
      out[y * dw + x] = (1 - fy) * ((1 - fx) * at(iy, ix) + fx * at(iy, ix + 1)) +
                        fy * ((1 - fx) * at(iy + 1, ix) + fx * at(iy + 1, ix + 1));
    }
  }
  return out;
}

struct Case {
  int sh, sw, dh, dw;
};

const Case kCases[] = {{7, 5, 3, 2},  {5, 5, 7, 9},  {4, 6, 2, 3},   {1, 1, 3, 3},  {13, 11, 4, 4},
                       {9, 4, 9, 4},  {3, 8, 5, 3},  {28, 28, 11, 17}, {17, 23, 28, 28}, {2, 9, 1, 1}};

TEST(dataResize, AreaMatchesOracle) {
  unsigned seed = 1;
  for (const auto& c : kCases) {
    SCOPED_TRACE(std::to_string(c.sh) + "x" + std::to_string(c.sw) + " -> " + std::to_string(c.dh) + "x" + std::to_string(c.dw));
    auto src = random_plane(c.sh, c.sw, seed++);
    auto got = resize_plane(src.data(), c.sh, c.sw, c.dh, c.dw, ResizeFilter::kArea);
    auto want = area_oracle(src, c.sh, c.sw, c.dh, c.dw);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-3) << i;
  }
}

TEST(dataResize, BilinearMatchesOracle) {
  unsigned seed = 100;
  for (const auto& c : kCases) {
    SCOPED_TRACE(std::to_string(c.sh) + "x" + std::to_string(c.sw) + " -> " + std::to_string(c.dh) + "x" + std::to_string(c.dw));
    auto src = random_plane(c.sh, c.sw, seed++);
    auto got = resize_plane(src.data(), c.sh, c.sw, c.dh, c.dw, ResizeFilter::kBilinear);
    auto want = bilinear_oracle(src, c.sh, c.sw, c.dh, c.dw);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-3) << i;
  }
}

TEST(dataResize, KnownAnswers) {
  // 4x4 -> 2x2 area: the 2x2 block means.
  std::vector<float> src = {0, 2, 4, 6,  //
                            2, 4, 6, 8,  //
                            10, 10, 0, 0,  //
                            30, 10, 0, 4};
  auto got = resize_plane(src.data(), 4, 4, 2, 2, ResizeFilter::kArea);
  EXPECT_EQ(got, (std::vector<float>{2, 6, 15, 1}));
  // 1x3 -> 1x2 area: [0, 1.5) and [1.5, 3).
  std::vector<float> row = {3, 6, 9};
  got = resize_plane(row.data(), 1, 3, 1, 2, ResizeFilter::kArea);
  EXPECT_NEAR(got[0], (3 + 0.5 * 6) / 1.5, 1e-5);
  EXPECT_NEAR(got[1], (0.5 * 6 + 9) / 1.5, 1e-5);
  // A constant image stays constant under both filters.
  std::vector<float> flat(35, 77.0f);
  for (auto f : {ResizeFilter::kArea, ResizeFilter::kBilinear}) {
    for (float v : resize_plane(flat.data(), 5, 7, 13, 3, f)) EXPECT_NEAR(v, 77.0f, 1e-4);
  }
}

TEST(dataChannels, GrayIsBt601LumaAndAlphaIsIgnored) {
  const std::uint8_t rgb[] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
  auto gray = to_planes(rgb, 1, 4, 3, ChannelMode::kGray);
  ASSERT_EQ(gray.size(), 4u);
  EXPECT_NEAR(gray[0], 0.299 * 255, 1e-3);
  EXPECT_NEAR(gray[1], 0.587 * 255, 1e-3);
  EXPECT_NEAR(gray[2], 0.114 * 255, 1e-3);
  EXPECT_NEAR(gray[3], 0.299 * 10 + 0.587 * 20 + 0.114 * 30, 1e-3);
  const std::uint8_t rgba[] = {255, 0, 0, 0, 10, 20, 30, 128};
  auto gray_a = to_planes(rgba, 1, 2, 4, ChannelMode::kGray);
  EXPECT_NEAR(gray_a[0], 0.299 * 255, 1e-3);
  EXPECT_NEAR(gray_a[1], 0.299 * 10 + 0.587 * 20 + 0.114 * 30, 1e-3);
  auto planes = to_planes(rgba, 1, 2, 4, ChannelMode::kRgb);
  EXPECT_EQ(planes, (std::vector<float>{255, 10, 0, 20, 0, 30}));
  // Gray (and gray + alpha) sources: one plane, or replicated into three.
  const std::uint8_t ga[] = {40, 0, 90, 255};
  EXPECT_EQ(to_planes(ga, 1, 2, 2, ChannelMode::kGray), (std::vector<float>{40, 90}));
  EXPECT_EQ(to_planes(ga, 1, 2, 2, ChannelMode::kRgb), (std::vector<float>{40, 90, 40, 90, 40, 90}));
}

TEST(dataChannels, PrepareNormalizesPerChannel) {
  const std::uint8_t rgb[] = {255, 51, 0, 0, 102, 255};  // 1x2 RGB
  LoadOptions opts;
  opts.height = 1;
  opts.width = 2;
  opts.channels = ChannelMode::kRgb;
  opts.mean = {0.5f, 0.2f, 0.0f};
  opts.stddev = {0.5f, 0.1f, 2.0f};
  std::vector<float> out(6);
  prepare_image(rgb, 1, 2, 3, opts, out.data());
  EXPECT_NEAR(out[0], (1.0 - 0.5) / 0.5, 1e-6);   // R of pixel 0
  EXPECT_NEAR(out[1], (0.0 - 0.5) / 0.5, 1e-6);   // R of pixel 1
  EXPECT_NEAR(out[2], (0.2 - 0.2) / 0.1, 1e-5);   // G
  EXPECT_NEAR(out[3], (0.4 - 0.2) / 0.1, 1e-5);
  EXPECT_NEAR(out[4], (0.0 - 0.0) / 2.0, 1e-6);   // B
  EXPECT_NEAR(out[5], (1.0 - 0.0) / 2.0, 1e-6);
}

TEST(dataOptions, ValidationAndParsing) {
  LoadOptions opts;
  EXPECT_NO_THROW(validate(opts));
  opts.channels = ChannelMode::kRgb;
  opts.mean = {0.1f, 0.2f};
  EXPECT_THROW(validate(opts), Error);
  opts.mean = {0.1f, 0.2f, 0.3f};
  EXPECT_NO_THROW(validate(opts));
  opts.stddev = {0.0f};
  EXPECT_THROW(validate(opts), Error);
  opts = LoadOptions{};
  opts.train_fraction = 1.5;
  EXPECT_THROW(validate(opts), Error);
  opts = LoadOptions{};
  opts.height = 0;
  EXPECT_THROW(validate(opts), Error);

  int h = 0, w = 0;
  parse_size("32x24", h, w);
  EXPECT_EQ(h, 32);
  EXPECT_EQ(w, 24);
  parse_size("64", h, w);
  EXPECT_EQ(h, 64);
  EXPECT_EQ(w, 64);
  EXPECT_THROW(parse_size("x3", h, w), Error);
  EXPECT_THROW(parse_size("0x3", h, w), Error);
  EXPECT_THROW(parse_size("-3x3", h, w), Error);
  EXPECT_EQ(parse_channel_mode("RGB"), ChannelMode::kRgb);
  EXPECT_EQ(parse_channel_mode("gray"), ChannelMode::kGray);
  EXPECT_THROW(parse_channel_mode("cmyk"), Error);
  EXPECT_EQ(parse_resize_filter("bilinear"), ResizeFilter::kBilinear);
  EXPECT_THROW(parse_resize_filter("lanczos"), Error);
}

// ---- decode limits (issue 11): decompression bombs and non-regular files ----

// A PNG signature and IHDR chunk claiming width x height pixels (no image data): enough for the
// header check, which must refuse before any decoding.
Bytes png_header(std::uint32_t width, std::uint32_t height, std::uint8_t colour_type) {
  Bytes b = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (std::uint32_t v : {width, height})
    for (int k = 3; k >= 0; --k) b.push_back(static_cast<std::uint8_t>(v >> (8 * k)));
  for (std::uint8_t x : {std::uint8_t{8}, colour_type, std::uint8_t{0}, std::uint8_t{0}, std::uint8_t{0}}) b.push_back(x);
  for (int k = 0; k < 4; ++k) b.push_back(0);  // CRC (stb_image does not check it)
  return b;
}

std::string decode_error(const Bytes& b) {
  try {
    decode_image_bytes(b, "bomb.png");
  } catch (const InputError& e) {
    return e.what();
  } catch (const Error& e) {
    return std::string("(not an InputError) ") + e.what();
  }
  return "(no error)";
}

TEST(dataImageLimits, PixelBombsAreRefusedFromTheHeader) {
  // 32768^2 grey (the 1 MB PNG) and 20000^2 RGB: refused by the pixel limit, by name.
  for (auto [w, h, colour] : {std::tuple{32768u, 32768u, 0}, std::tuple{20000u, 20000u, 2}, std::tuple{8193u, 8192u, 2}}) {
    const std::string e = decode_error(png_header(w, h, static_cast<std::uint8_t>(colour)));
    EXPECT_NE(e.find("pixels exceed the limit"), std::string::npos) << w << "x" << h << ": " << e;
  }
  // 8192^2 is allowed past the header; this one has no image data, so decoding then fails.
  const std::string e = decode_error(png_header(8192, 8192, 2));
  EXPECT_EQ(e.find("pixels exceed"), std::string::npos) << e;
  EXPECT_NE(e.find("cannot decode"), std::string::npos) << e;
}

TEST(dataImageLimits, OnlyRegularFilesAreRead) {
  const std::string dir = ::testing::TempDir() + "hemi_image_limits_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string fifo = dir + "/x.png";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  try {
    decode_image(fifo);  // would block forever in open() without the check
    ADD_FAILURE() << "a FIFO was read as an image";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
  EXPECT_THROW(decode_image(dir), InputError);  // a directory
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hemi::data
