#include "hemi/nn/model_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "test_models.h"

namespace hemi::nn {
namespace {

std::string load_error(const Bytes& b) {
  try {
    deserialize_model(b, "m");
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a rejection";
  return {};
}

void expect_same(const Model& a, const Model& b, double tol) {
  EXPECT_EQ(a.architecture(), b.architecture());
  EXPECT_EQ(a.class_names(), b.class_names());
  EXPECT_EQ(a.input().color, b.input().color);
  EXPECT_EQ(a.input().mean, b.input().mean);
  EXPECT_EQ(a.input().std, b.input().std);
  EXPECT_EQ(a.shapes(), b.shapes());
  ASSERT_EQ(a.layers().size(), b.layers().size());
  for (std::size_t i = 0; i < a.layers().size(); ++i) {
    ASSERT_EQ(a.layers()[i].index(), b.layers()[i].index());
    auto cmp = [&](const std::vector<double>& x, const std::vector<double>& y) {
      ASSERT_EQ(x.size(), y.size());
      for (std::size_t k = 0; k < x.size(); ++k) EXPECT_NEAR(x[k], y[k], tol * std::abs(x[k]));
    };
    if (auto* c = std::get_if<Conv2d>(&a.layers()[i])) {
      auto& d = std::get<Conv2d>(b.layers()[i]);
      EXPECT_EQ(c->stride_h, d.stride_h);
      EXPECT_EQ(c->pad_w, d.pad_w);
      cmp(c->weight, d.weight);
      cmp(c->bias, d.bias);
    }
    if (auto* c = std::get_if<Dense>(&a.layers()[i])) {
      cmp(c->weight, std::get<Dense>(b.layers()[i]).weight);
      cmp(c->bias, std::get<Dense>(b.layers()[i]).bias);
    }
    if (auto* c = std::get_if<Polynomial>(&a.layers()[i])) {
      EXPECT_EQ(c->coefficients, std::get<Polynomial>(b.layers()[i]).coefficients);
    }
  }
}

TEST(ModelFile, RoundTripFloat64IsExact) {
  auto m = Model::create(testing::every_layer_spec()).value();
  Bytes b = serialize_model(m);
  auto back = deserialize_model(b);
  expect_same(m, back, 0.0);
  EXPECT_EQ(serialize_model(back), b);
}

TEST(ModelFile, RoundTripFloat32) {
  auto m = testing::seed_cnn();
  Bytes b64 = serialize_model(m);
  Bytes b32 = serialize_model(m, WeightPrecision::kFloat32);
  EXPECT_LT(b32.size(), b64.size() * 6 / 10);
  expect_same(m, deserialize_model(b32), 1e-7);
}

TEST(ModelFile, SaveAndLoadFile) {
  auto path = (std::filesystem::temp_directory_path() / "hemi_nn_model_file_test.hemimodel").string();
  auto m = testing::seed_cnn();
  save_model(m, path);
  expect_same(m, load_model(path), 0.0);
  std::filesystem::remove(path);
  try {
    load_model(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

TEST(ModelFile, RejectsEveryTruncation) {
  Bytes b = serialize_model(Model::create(testing::every_layer_spec()).value());
  for (std::size_t n = 0; n < b.size(); ++n) {
    Bytes cut(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
    std::string e = load_error(cut);
    bool named = e.find("truncated") != std::string::npos || e.find("bad magic") != std::string::npos;
    EXPECT_TRUE(named) << n << ": " << e;
  }
}

TEST(ModelFile, RejectsEverySingleByteCorruption) {
  Bytes b = serialize_model(Model::create(testing::every_layer_spec()).value());
  for (std::size_t i = 0; i < b.size(); ++i) {
    Bytes g = b;
    g[i] ^= 0x5a;
    EXPECT_FALSE(load_error(g).empty()) << i;
  }
  Bytes g = b;
  g[40] ^= 1;
  EXPECT_NE(load_error(g).find("checksum mismatch"), std::string::npos);
}

TEST(ModelFile, RejectsGarbage) {
  Bytes junk(300);
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<std::uint8_t>(i * 37 + 11);
  EXPECT_NE(load_error(junk).find("not a hemi model file"), std::string::npos);
  EXPECT_NE(load_error({}).find("not a hemi model file"), std::string::npos);
}

TEST(ModelFile, RejectsLaterVersion) {
  Bytes b = detail::encode_spec(testing::every_layer_spec(), WeightPrecision::kFloat64, kModelFormatVersion + 1);
  EXPECT_NE(load_error(b).find("format version 3 is newer than this build supports (2)"), std::string::npos);
}

TEST(ModelFile, RejectsTrailingBytes) {
  Bytes b = serialize_model(testing::seed_cnn());
  b.push_back(0);
  EXPECT_NE(load_error(b).find("unexpected trailing bytes"), std::string::npos);
}

TEST(ModelFile, RejectsInconsistentShapes) {
  auto s = testing::every_layer_spec();
  auto& d = std::get<Dense>(s.layers[4]);
  d.in_features = 25;
  d.weight.resize(100, 0.0);
  EXPECT_NE(load_error(detail::encode_spec(s, WeightPrecision::kFloat64))
                .find("layer 5 (dense): expects 25 inputs, previous layer gives 20"),
            std::string::npos);
}

TEST(ModelFile, RejectsNaNWeights) {
  auto s = testing::every_layer_spec();
  std::get<Dense>(s.layers[6]).weight[2] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(load_error(detail::encode_spec(s, WeightPrecision::kFloat32)).find("layer 7 (dense): weight[2] is not finite (NaN)"),
            std::string::npos);
}

TEST(ModelFile, RejectsAbsurdSizesWithoutAllocating) {
  // A dense layer that claims 8192 x 67M weights in a file of a few hundred bytes.
  auto s = testing::every_layer_spec();
  auto& d = std::get<Dense>(s.layers[4]);
  d.in_features = 8192 * 8192;
  d.out_features = 8192;
  d.weight.clear();
  std::string e = load_error(detail::encode_spec(s, WeightPrecision::kFloat64));
  EXPECT_NE(e.find("dense weight: absurd size"), std::string::npos) << e;

  auto t = testing::every_layer_spec();
  std::get<Conv2d>(t.layers[0]).out_channels = 100000;
  e = load_error(detail::encode_spec(t, WeightPrecision::kFloat64));
  EXPECT_NE(e.find("conv2d out_channels = 100000 is out of range"), std::string::npos) << e;

  auto u = testing::every_layer_spec();
  u.input.height = -5;
  e = load_error(detail::encode_spec(u, WeightPrecision::kFloat64));
  EXPECT_NE(e.find("input height"), std::string::npos) << e;

  auto v = testing::every_layer_spec();
  std::get<Conv2d>(v.layers[0]).out_channels = 4000;  // in range, but far more weights than bytes
  e = load_error(detail::encode_spec(v, WeightPrecision::kFloat64));
  EXPECT_NE(e.find("truncated while reading conv2d weight"), std::string::npos) << e;
}

TEST(ModelFile, RejectsUnknownLayerKindAndFlags) {
  auto s = testing::every_layer_spec();
  Bytes b = detail::encode_spec(s, WeightPrecision::kFloat64);
  // Flags live at bytes 12..15.
  Bytes f = b;
  f[13] = 1;
  EXPECT_NE(load_error(f).find("unknown flags"), std::string::npos);

  // The first layer's kind byte: header, architecture, input, class names, layer count.
  std::size_t pos = 24 + 4 + s.architecture.size() + 1 + 4 + 4 + 4 + 2 * 8 * 3 + 4;
  for (const auto& n : s.class_names) pos += 4 + n.size();
  pos += 4;
  ASSERT_EQ(b[pos], 1);  // conv2d
  b[pos] = 42;
  std::uint64_t sum = detail::fnv1a64(b.data() + 24, b.size() - 32);
  std::memcpy(b.data() + b.size() - 8, &sum, 8);
  EXPECT_NE(load_error(b).find("layer 1: unknown layer kind 42"), std::string::npos) << load_error(b);
}

DataRecord sample_record() {
  DataRecord d;
  d.dataset = "../shared/data/brain-tumor-mri4";
  d.identity = "sha256:de9f4174e31473e66a72545dff9b517f4591d19a1d95d507bdbc77a757f48974";
  d.split_mode = "fraction";
  d.train_split = "Training";
  d.train_fraction = 0.75;
  d.seed = 3;
  d.train_images = 2152;
  d.test_images = 718;
  d.train_limit = 0;
  d.kept_cross_duplicates = true;
  return d;
}

// Format 2 carries the data record: identity, split, counts, duplicate policy.
TEST(ModelFile, DataRecordRoundTrips) {
  auto s = testing::every_layer_spec();
  s.data = sample_record();
  Model m = deserialize_model(detail::encode_spec(s, WeightPrecision::kFloat64));
  ASSERT_TRUE(m.spec().data.has_value());
  const DataRecord& d = *m.spec().data;
  EXPECT_EQ(d.dataset, s.data->dataset);
  EXPECT_EQ(d.identity, s.data->identity);
  EXPECT_EQ(d.split_mode, "fraction");
  EXPECT_EQ(d.train_split, "Training");
  EXPECT_EQ(d.train_fraction, 0.75);
  EXPECT_EQ(d.seed, 3u);
  EXPECT_EQ(d.train_images, 2152u);
  EXPECT_EQ(d.test_images, 718u);
  EXPECT_TRUE(d.kept_cross_duplicates);
  EXPECT_NE(m.describe().find("split: fraction 0.75 of 'Training', seed 3; 2152 training, 718 held-out images"),
            std::string::npos)
      << m.describe();
}

// A format-1 file (written before the record existed) still loads, without a record, and
// model info says so.
TEST(ModelFile, FormatOneStillLoadsWithoutARecord) {
  auto s = testing::every_layer_spec();
  s.data = sample_record();  // not written by format 1
  Model m = deserialize_model(detail::encode_spec(s, WeightPrecision::kFloat64, 1));
  EXPECT_FALSE(m.spec().data.has_value());
  EXPECT_NE(m.describe().find("no split record"), std::string::npos);
  // And a format-2 file without a record is the same.
  s.data.reset();
  EXPECT_FALSE(deserialize_model(detail::encode_spec(s, WeightPrecision::kFloat64)).spec().data.has_value());
}

TEST(ModelFile, RejectsABadDataRecord) {
  auto s = testing::every_layer_spec();
  s.data = sample_record();
  s.data->split_mode = "random";
  EXPECT_NE(load_error(detail::encode_spec(s, WeightPrecision::kFloat64)).find("split mode 'random'"), std::string::npos);
  s.data = sample_record();
  s.data->train_fraction = 1.5;
  EXPECT_NE(load_error(detail::encode_spec(s, WeightPrecision::kFloat64)).find("train fraction"), std::string::npos);
}

// model info's layer table stays aligned when a polynomial row is long.
TEST(ModelFile, DescribeColumnsFitPolynomialRows) {
  Model m = deserialize_model(detail::encode_spec(testing::every_layer_spec(), WeightPrecision::kFloat64));
  const std::string d = m.describe();
  std::size_t col = std::string::npos;
  std::size_t rows = 0;
  for (std::size_t start = d.find("layers:\n") + 8; start < d.size();) {
    const std::size_t end = d.find('\n', start);
    const std::string line = d.substr(start, end - start);
    start = end + 1;
    if (line.find(" -> ") == std::string::npos) break;
    const std::size_t at = line.find(" -> ");
    if (col == std::string::npos) col = at;
    EXPECT_EQ(at, col) << line;
    EXPECT_EQ(line.find(" params "), d.substr(d.find("layers:\n") + 8).find(" params ")) << line;
    ++rows;
  }
  EXPECT_EQ(rows, m.layers().size());
}

}  // namespace
}  // namespace hemi::nn
