// IDX loader: the real MNIST files, and hand-made bad files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "support/error_of.h"
#include "hemi/base/error.h"
#include "hemi/data/fetch.h"
#include "hemi/data/idx.h"
#include "test_data.h"
#include "support/test_data_dir.h"

namespace hemi::data {
namespace {

using testing::TempDir;

// Inverts the default normalization ((b/255 - 0.5) / 0.5) back to the stored byte.
std::vector<std::uint8_t> to_bytes(const float* p, std::size_t n) {
  std::vector<std::uint8_t> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    double b = (static_cast<double>(p[i]) * 0.5 + 0.5) * 255.0;
    out[i] = static_cast<std::uint8_t>(std::lround(b));
  }
  return out;
}

std::uint64_t byte_sum(const std::vector<std::uint8_t>& v) {
  std::uint64_t s = 0;
  for (auto b : v) s += b;
  return s;
}

std::vector<int> class_counts(const ImageSet& set) {
  std::vector<int> counts(set.class_names.size(), 0);
  for (int l : set.labels) ++counts.at(static_cast<std::size_t>(l));
  return counts;
}

using test_support::error_of;

// The expected values below were computed independently of this code, with python3's gzip
// module on the raw .gz files: for image i, b = images[16 + 784*i : 16 + 784*(i+1)],
// sum(b) and hashlib.sha256(b).hexdigest(); the label is labels[8 + i]; "all" hashes
// images[16:]. The label counts are those in /work/shared/data/mnist/SOURCE.md.
// MNIST is loaded once (train and test) in this one test to keep the suite fast.
TEST(dataIdxMnist, CountsLabelsAndPixelChecksums) {
  HEMI_REQUIRE_FULL_DATA();
  const std::string dir = testing::mnist_dir();
  LoadOptions opts;  // 28x28 gray, mean 0.5, stddev 0.5
  ImageSet train = load_idx(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz", opts);
  ImageSet test = load_idx(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz", opts);

  ASSERT_EQ(train.size(), 60000u);
  ASSERT_EQ(test.size(), 10000u);
  for (const ImageSet* s : {&train, &test}) {
    EXPECT_EQ(s->channels, 1);
    EXPECT_EQ(s->height, 28);
    EXPECT_EQ(s->width, 28);
    EXPECT_EQ(s->pixels.size(), s->size() * 784);
    EXPECT_EQ(s->class_names, (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}));
  }
  EXPECT_EQ(class_counts(test), (std::vector<int>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}));
  EXPECT_EQ(class_counts(train), (std::vector<int>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}));

  struct Known {
    const ImageSet* set;
    std::size_t index;
    int label;
    std::uint64_t sum;
    const char* sha256;
  };
  const Known known[] = {
      {&test, 0, 7, 18454, "8f6a418c9a639f9e14e96feca47a97df2a35a0a68ae2875431c5c80e05536941"},
      {&test, 1, 2, 28850, "3f8c3b265b6083fb0e5c68b6a5631b0d23bfe4cafce3c55e1b6a9cce9308ded2"},
      {&test, 9999, 6, 41833, "bdf9356b0cf6b1ae761aa7bac43b70e5aee88808980afb4d1a0f13604d9fdee6"},
      {&train, 0, 5, 27525, "23ceaef5eb61f0e70d64ac18fdf0f60df3d5971cf30bbadac7b6ebf07f782d2c"},
      {&train, 1, 0, 31095, "2d1c3087ac5f2bed7c4d54a1b33bf75d09f479ee63c0df2e0a4378f6e7e9ae66"},
      {&train, 59999, 8, 20920, "a4d26ec9c55ad38391292cd307292ee5d75fb27652874c1c4aadda20d04d4866"},
  };
  for (const auto& k : known) {
    SCOPED_TRACE("image " + std::to_string(k.index));
    auto bytes = to_bytes(k.set->image(k.index), 784);
    EXPECT_EQ(k.set->labels[k.index], k.label);
    EXPECT_EQ(byte_sum(bytes), k.sum);
    EXPECT_EQ(sha256_hex(bytes.data(), bytes.size()), k.sha256);
  }
  auto all_test = to_bytes(test.pixels.data(), test.pixels.size());
  EXPECT_EQ(sha256_hex(all_test.data(), all_test.size()),
            "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161");
  auto all_train = to_bytes(train.pixels.data(), train.pixels.size());
  EXPECT_EQ(byte_sum(all_train), 1567298545u);
  EXPECT_EQ(sha256_hex(all_train.data(), all_train.size()),
            "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757");
  // Normalized to [-1, 1].
  for (float v : test.pixels) ASSERT_TRUE(v >= -1.0f && v <= 1.0f);
}

TEST(dataIdxMnist, RawFilesGiveTheSameSetAsGzip) {
  HEMI_REQUIRE_FULL_DATA();
  const std::string dir = testing::mnist_dir();
  TempDir tmp;
  write_file(tmp.file("imgs"), read_maybe_gzip(dir + "/t10k-images-idx3-ubyte.gz"));
  write_file(tmp.file("labels"), read_maybe_gzip(dir + "/t10k-labels-idx1-ubyte.gz"));
  EXPECT_EQ(read_file(tmp.file("imgs")).size(), 7840016u);
  EXPECT_EQ(read_file(tmp.file("labels")).size(), 10008u);
  LoadOptions opts;
  opts.limit = 500;
  ImageSet raw = load_idx(tmp.file("imgs"), tmp.file("labels"), opts);
  ImageSet gz = load_idx(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz", opts);
  ASSERT_EQ(raw.size(), 500u);
  EXPECT_EQ(raw.labels, gz.labels);
  EXPECT_EQ(raw.pixels, gz.pixels);
}

// Resizing to 14x14 with the area filter averages 2x2 blocks; rgb replicates the gray plane.
TEST(dataIdxMnist, ResizeAndRgbAgainstBlockMeans) {
  HEMI_REQUIRE_FULL_DATA();
  const std::string dir = testing::mnist_dir();
  IdxArray raw = read_idx(dir + "/t10k-images-idx3-ubyte.gz");
  LoadOptions opts;
  opts.height = opts.width = 14;
  opts.channels = ChannelMode::kRgb;
  opts.mean = {0.0f};
  opts.stddev = {1.0f};
  opts.limit = 3;
  ImageSet s = load_idx(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz", opts);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s.channels, 3);
  EXPECT_EQ(s.image_values(), 3u * 14 * 14);
  for (std::size_t i = 0; i < 3; ++i) {
    const std::uint8_t* src = raw.values.data() + i * 784;
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < 14; ++y) {
        for (int x = 0; x < 14; ++x) {
          double mean = (src[(2 * y) * 28 + 2 * x] + src[(2 * y) * 28 + 2 * x + 1] +
                         src[(2 * y + 1) * 28 + 2 * x] + src[(2 * y + 1) * 28 + 2 * x + 1]) /
                        4.0 / 255.0;
          ASSERT_NEAR(s.image(i)[c * 196 + y * 14 + x], mean, 1e-6) << i << " " << c << " " << y << " " << x;
        }
      }
    }
  }
}

TEST(dataIdxErrors, WrongMagicAndType) {
  TempDir tmp;
  Bytes bad = testing::make_idx({2}, {1, 2});
  bad[0] = 0x12;
  testing::write_bytes(tmp.file("magic"), bad);
  auto msg = error_of([&] { read_idx(tmp.file("magic")); });
  EXPECT_NE(msg.find(tmp.file("magic")), std::string::npos) << msg;
  EXPECT_NE(msg.find("magic"), std::string::npos) << msg;

  Bytes floats = testing::make_idx({1}, {0, 0, 0, 0});
  floats[2] = 0x0D;
  testing::write_bytes(tmp.file("floats"), floats);
  msg = error_of([&] { read_idx(tmp.file("floats")); });
  EXPECT_NE(msg.find(tmp.file("floats")), std::string::npos) << msg;
  EXPECT_NE(msg.find("element type 0x0d"), std::string::npos) << msg;

  testing::write_bytes(tmp.file("short"), Bytes{0, 0});
  msg = error_of([&] { read_idx(tmp.file("short")); });
  EXPECT_NE(msg.find(tmp.file("short")), std::string::npos) << msg;
}

TEST(dataIdxErrors, CountMismatchBetweenImagesAndLabels) {
  TempDir tmp;
  testing::write_bytes(tmp.file("images"), testing::make_idx({3, 2, 2}, std::vector<std::uint8_t>(12, 7)));
  testing::write_bytes(tmp.file("labels"), testing::make_idx({4}, {0, 1, 2, 3}));
  auto msg = error_of([&] { load_idx(tmp.file("images"), tmp.file("labels"), LoadOptions{}); });
  EXPECT_NE(msg.find(tmp.file("labels")), std::string::npos) << msg;
  EXPECT_NE(msg.find("4 labels"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3 images"), std::string::npos) << msg;

  // Swapped roles: a 1-D file as images, a 3-D file as labels.
  msg = error_of([&] { load_idx(tmp.file("labels"), tmp.file("images"), LoadOptions{}); });
  EXPECT_NE(msg.find(tmp.file("labels")), std::string::npos) << msg;
  EXPECT_NE(msg.find("dimensions"), std::string::npos) << msg;
}

TEST(dataIdxErrors, LengthMustMatchHeader) {
  TempDir tmp;
  Bytes truncated = testing::make_idx({3, 2, 2}, std::vector<std::uint8_t>(10, 1));
  testing::write_bytes(tmp.file("trunc"), truncated);
  auto msg = error_of([&] { read_idx(tmp.file("trunc")); });
  EXPECT_NE(msg.find(tmp.file("trunc")), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;

  Bytes trailing = testing::make_idx({3, 2, 2}, std::vector<std::uint8_t>(13, 1));
  testing::write_bytes(tmp.file("trail"), trailing);
  msg = error_of([&] { read_idx(tmp.file("trail")); });
  EXPECT_NE(msg.find("trailing"), std::string::npos) << msg;

  Bytes header_cut = testing::make_idx({3, 2, 2}, {});
  header_cut.resize(9);
  testing::write_bytes(tmp.file("hdr"), header_cut);
  msg = error_of([&] { read_idx(tmp.file("hdr")); });
  EXPECT_NE(msg.find("truncated IDX header"), std::string::npos) << msg;

  testing::write_bytes(tmp.file("zero"), testing::make_idx({0, 28, 28}, {}));
  msg = error_of([&] { read_idx(tmp.file("zero")); });
  EXPECT_NE(msg.find("size 0"), std::string::npos) << msg;
}

TEST(dataIdxErrors, TruncatedAndCorruptGzip) {
  HEMI_REQUIRE_FULL_DATA();
  const std::string dir = testing::mnist_dir();
  Bytes gz = read_file(dir + "/t10k-labels-idx1-ubyte.gz");
  TempDir tmp;
  Bytes half(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2));
  testing::write_bytes(tmp.file("half.gz"), half);
  auto msg = error_of([&] { read_idx(tmp.file("half.gz")); });
  EXPECT_NE(msg.find(tmp.file("half.gz")), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated gzip"), std::string::npos) << msg;

  Bytes flipped = gz;
  for (std::size_t i = 100; i < 140; ++i) flipped[i] ^= 0x5A;
  testing::write_bytes(tmp.file("flipped.gz"), flipped);
  msg = error_of([&] { read_idx(tmp.file("flipped.gz")); });
  EXPECT_NE(msg.find(tmp.file("flipped.gz")), std::string::npos) << msg;
  EXPECT_NE(msg.find("corrupt gzip"), std::string::npos) << msg;

  EXPECT_NE(error_of([&] { read_idx(tmp.file("missing")); }).find(tmp.file("missing")),
            std::string::npos);
}

TEST(dataIdxErrors, LabelOutOfRange) {
  TempDir tmp;
  testing::write_bytes(tmp.file("images"), testing::make_idx({3, 2, 2}, std::vector<std::uint8_t>(12, 7)));
  testing::write_bytes(tmp.file("labels"), testing::make_idx({3}, {0, 10, 2}));
  std::vector<std::string> digits = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  auto msg = error_of([&] { load_idx(tmp.file("images"), tmp.file("labels"), LoadOptions{}, digits); });
  EXPECT_NE(msg.find(tmp.file("labels")), std::string::npos) << msg;
  EXPECT_NE(msg.find("label 10 at index 1"), std::string::npos) << msg;
  // Without known class names the classes are inferred from the labels.
  ImageSet s = load_idx(tmp.file("images"), tmp.file("labels"), LoadOptions{});
  EXPECT_EQ(s.class_names.size(), 11u);
  EXPECT_EQ(s.labels, (std::vector<int>{0, 10, 2}));
}

}  // namespace
}  // namespace hemi::data
