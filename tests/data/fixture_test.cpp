// The repository's own test data, which needs nothing beside the clone: the committed image
// fixtures in odd formats (tests/fixtures/images, made by make_images.py and make_jpegs.cpp
// there) and the generated synthetic MNIST (tests/support/synthetic_mnist.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "hemi/data/dataset.h"
#include "hemi/data/idx.h"
#include "hemi/data/image.h"
#include "support/synthetic_mnist.h"
#include "test_data.h"

namespace hemi::data {
namespace {

const std::string kImages = std::string(HEMI_SOURCE_DIR) + "/tests/fixtures/images/";

// The formulas of make_images.py.
int v8(int x, int y, int c) { return (40 * x + 20 * y + 60 * c + 7) % 256; }
int v16_high(int x, int y, int c) { return ((10000 * x + 3000 * y + 777 * c + 5) % 65536) >> 8; }

struct PngCase {
  const char* file;
  int width, height, channels;
  bool sixteen_bit;
};

// Every 8- and 16-bit PNG, gray to RGBA, interlaced, 1x1, and a PNG named .jpg: size, channel
// count and every pixel value.
TEST(dataFixtureImages, PngFormatsDecodeExactly) {
  const PngCase cases[] = {
      {"gray8-5x3.png", 5, 3, 1, false},        {"gray16-4x3.png", 4, 3, 1, true},
      {"rgb8-1x1.png", 1, 1, 3, false},         {"rgb16-3x2.png", 3, 2, 3, true},
      {"gray-alpha8-3x3.png", 3, 3, 2, false},  {"rgba8-7x5.png", 7, 5, 4, false},
      {"rgb8-interlaced-9x9.png", 9, 9, 3, false}, {"png-named.jpg", 7, 5, 4, false},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.file);
    DecodedImage img = decode_image(kImages + k.file);
    ASSERT_EQ(img.width, k.width);
    ASSERT_EQ(img.height, k.height);
    ASSERT_EQ(img.channels, k.channels);
    ASSERT_EQ(img.pixels.size(), static_cast<std::size_t>(k.width) * k.height * k.channels);
    for (int y = 0; y < k.height; ++y)
      for (int x = 0; x < k.width; ++x)
        for (int c = 0; c < k.channels; ++c)
          ASSERT_EQ(img.pixels[(y * k.width + x) * k.channels + c],
                    k.sixteen_bit ? v16_high(x, y, c) : v8(x, y, c))
              << "x " << x << " y " << y << " c " << c;
  }
}

// A palette PNG decodes to its RGB entries; a 1-bit gray PNG to 0 and 255.
TEST(dataFixtureImages, PaletteAndOneBitPng) {
  DecodedImage pal = decode_image(kImages + "palette-4x2.png");
  ASSERT_EQ(pal.channels, 3);
  ASSERT_EQ(pal.width, 4);
  ASSERT_EQ(pal.height, 2);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 4; ++x)
      for (int c = 0; c < 3; ++c) EXPECT_EQ(pal.pixels[(y * 4 + x) * 3 + c], v8((x + y) % 4, 0, c));
  DecodedImage bits = decode_image(kImages + "gray1-10x2.png");
  ASSERT_EQ(bits.channels, 1);
  ASSERT_EQ(bits.width, 10);
  ASSERT_EQ(bits.height, 2);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 10; ++x) EXPECT_EQ(bits.pixels[y * 10 + x], (x + y) % 2 ? 255 : 0);
}

// Baseline JPEGs with a lower- and an upper-case extension: sizes exact, values within the
// JPEG error of make_jpegs.cpp's smooth pattern. (stb_image_write stores the gray picture as a
// three-component JPEG, so it decodes to three equal planes.)
TEST(dataFixtureImages, JpegGrayAndRgb) {
  for (auto [file, w, h, gray] : {std::tuple{"gray-6x5.jpg", 6, 5, true}, std::tuple{"rgb-11x7.JPEG", 11, 7, false}}) {
    SCOPED_TRACE(file);
    DecodedImage img = decode_image(kImages + file);
    ASSERT_EQ(img.width, w);
    ASSERT_EQ(img.height, h);
    ASSERT_EQ(img.channels, 3);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c)
          EXPECT_NEAR(img.pixels[(y * w + x) * 3 + c], 100 + 6 * x + 4 * y + (gray ? 0 : 30 * c), 6)
              << "x " << x << " y " << y << " c " << c;
  }
}

// Every fixture through the loader's preprocessing: resized to 28x28 gray in [-1, 1].
TEST(dataFixtureImages, AllPrepareToTheModelInput) {
  for (const char* file : {"gray8-5x3.png", "gray16-4x3.png", "rgb8-1x1.png", "rgb16-3x2.png",
                           "gray-alpha8-3x3.png", "rgba8-7x5.png", "rgb8-interlaced-9x9.png",
                           "png-named.jpg", "palette-4x2.png", "gray1-10x2.png", "gray-6x5.jpg",
                           "rgb-11x7.JPEG"}) {
    SCOPED_TRACE(file);
    DecodedImage img = decode_image(kImages + file);
    LoadOptions opts;  // 28x28 gray, mean 0.5, std 0.5
    std::vector<float> out(28 * 28);
    prepare_image(img.pixels.data(), img.height, img.width, img.channels, opts, out.data());
    for (float v : out) ASSERT_TRUE(v >= -1.0f && v <= 1.0f) << v;
  }
}

// The synthetic MNIST: the sizes the tests rely on, every class present in both splits,
// digits drawn (not blank), and the same bytes whenever generated.
TEST(dataSyntheticMnist, SizesClassesAndDeterminism) {
  namespace ts = hemi::test_support;
  const std::string dir = ts::synthetic_data_root() + "/mnist";
  Dataset ds = load_dataset(dir, LoadOptions{});
  ASSERT_EQ(ds.train.size(), ts::kSyntheticTrain);
  ASSERT_EQ(ds.test.size(), ts::kSyntheticTest);
  for (const ImageSet* s : {&ds.train, &ds.test}) {
    std::vector<int> counts(10, 0);
    for (int l : s->labels) ++counts.at(l);
    for (int c : counts) EXPECT_GT(c, static_cast<int>(s->size() / 20)) << "a rare class";
    for (std::size_t i = 0; i < s->size(); i += 97) {
      auto [mn, mx] = std::minmax_element(s->image(i), s->image(i) + 784);
      EXPECT_GT(*mx - *mn, 1.0f) << "image " << i << " is blank";
    }
  }
  testing::TempDir tmp;
  ts::synthetic_detail::write_split(tmp.path(), "t10k", ts::kSyntheticTest, 2);
  EXPECT_EQ(read_idx(tmp.file("t10k-images-idx3-ubyte")).values,
            read_idx(dir + "/t10k-images-idx3-ubyte").values);
  EXPECT_EQ(read_idx(tmp.file("t10k-labels-idx1-ubyte")).values,
            read_idx(dir + "/t10k-labels-idx1-ubyte").values);
}

}  // namespace
}  // namespace hemi::data
