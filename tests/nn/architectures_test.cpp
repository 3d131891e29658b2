#include "hemi/nn/architectures.h"

#include <gtest/gtest.h>

#include "test_models.h"

namespace hemi::nn {
namespace {

TEST(Architectures, SeedCnnMatchesTheStudy) {
  auto m = testing::seed_cnn();
  ASSERT_EQ(m.layers().size(), 6u);
  auto& c = std::get<Conv2d>(m.layers()[0]);
  EXPECT_EQ(c.out_channels, 4);
  EXPECT_EQ(c.kernel_h, 7);
  EXPECT_EQ(c.stride_h, 3);
  EXPECT_EQ(c.pad_h, 0);
  EXPECT_EQ(m.shapes()[0].to_string(), "4x8x8");
  EXPECT_EQ(std::get<Dense>(m.layers()[3]).in_features, 256);
  EXPECT_EQ(std::get<Dense>(m.layers()[3]).out_features, 64);
  EXPECT_EQ(m.output_shape().to_string(), "10");
  EXPECT_EQ(m.parameter_count(), 4u * 49 + 4 + 256 * 64 + 64 + 64 * 10 + 10);
  EXPECT_EQ(m.multiplicative_depth(), 5);
  // PyTorch's default init bound 1/sqrt(fan_in).
  for (double w : c.weight) EXPECT_LE(std::abs(w), 1.0 / 7.0);
}

TEST(Architectures, SeedCnnAdaptsToInputAndClasses) {
  ArchitectureOptions o;
  o.input = default_input("mri-cnn");  // rgb 64x64
  o.class_names = {"no", "yes"};
  auto m = build_architecture("seed-cnn", o).value();
  EXPECT_EQ(std::get<Conv2d>(m.layers()[0]).in_channels, 3);
  EXPECT_EQ(m.shapes()[0].to_string(), "4x20x20");
  EXPECT_EQ(std::get<Dense>(m.layers()[3]).in_features, 1600);
  EXPECT_EQ(m.classes(), 2);
}

TEST(Architectures, MriCnn) {
  ArchitectureOptions o;
  o.input = default_input("mri-cnn");
  o.class_names = {"no", "yes"};
  auto m = build_architecture("mri-cnn", o).value();
  EXPECT_EQ(m.input_shape().to_string(), "3x64x64");
  EXPECT_EQ(m.shapes()[0].to_string(), "8x32x32");
  EXPECT_EQ(m.shapes()[2].to_string(), "8x16x16");
  EXPECT_EQ(m.shapes()[3].to_string(), "16x8x8");
  EXPECT_EQ(m.shapes()[5].to_string(), "16x4x4");
  EXPECT_EQ(m.shapes()[6].to_string(), "256");
  EXPECT_EQ(m.output_shape().to_string(), "2");
  // conv 1, poly 2, pool 1, conv 1, poly 2, pool 1, flatten 0, dense 1, poly 2, dense 1
  EXPECT_EQ(m.multiplicative_depth(), 12);
}

TEST(Architectures, LeNet1AsFalsettaEtAl) {
  ArchitectureOptions o;
  o.input = default_input("lenet-1");  // gray 28x28
  o.class_names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  auto m = build_architecture("lenet-1", o).value();
  EXPECT_EQ(m.input_shape().to_string(), "1x28x28");
  EXPECT_EQ(m.shapes()[0].to_string(), "4x24x24");
  EXPECT_EQ(m.shapes()[2].to_string(), "4x12x12");
  EXPECT_EQ(m.shapes()[3].to_string(), "12x8x8");
  EXPECT_EQ(m.shapes()[5].to_string(), "12x4x4");
  EXPECT_EQ(m.shapes()[6].to_string(), "192");
  EXPECT_EQ(m.output_shape().to_string(), "10");
  EXPECT_EQ(m.parameter_count(), 4u * 25 + 4 + 12 * 4 * 25 + 12 + 192 * 10 + 10);
  // conv 1, square 1, pool 1, conv 1, square 1, pool 1, flatten 0, dense 1
  EXPECT_EQ(m.multiplicative_depth(), 7);
}

TEST(Architectures, DeterministicInit) {
  auto a = testing::seed_cnn(1), b = testing::seed_cnn(1), c = testing::seed_cnn(2);
  EXPECT_EQ(std::get<Dense>(a.layers()[3]).weight, std::get<Dense>(b.layers()[3]).weight);
  EXPECT_NE(std::get<Dense>(a.layers()[3]).weight, std::get<Dense>(c.layers()[3]).weight);
}

TEST(Architectures, Rejections) {
  ArchitectureOptions o;
  o.class_names = {"a", "b"};
  auto r = build_architecture("resnet-50", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("unknown architecture 'resnet-50'"), std::string::npos);
  o.input.height = o.input.width = 5;
  r = build_architecture("seed-cnn", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("too small"), std::string::npos) << r.error();
  o.input.height = o.input.width = 28;
  o.class_names.clear();
  EXPECT_FALSE(build_architecture("seed-cnn", o).ok());
  EXPECT_THROW(default_input("nope"), Error);
}

}  // namespace
}  // namespace hemi::nn
