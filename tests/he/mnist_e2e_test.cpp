// End to end at real 128-bit parameters: a seed-cnn trained briefly on real MNIST (in the
// test, with libtorch), then 200 MNIST test images classified encrypted (throughput packing)
// and two images in latency packing, against the plaintext interpreter on the same weights.
#include <gtest/gtest.h>

#include "hemi/ckks/params.h"
#include "hemi/data/dataset.h"
#include "hemi/data/split.h"
#include "hemi/he/session.h"
#include "hemi/nn/architectures.h"
#include "hemi/train/trainer.h"
#include "support/test_data_dir.h"

namespace hemi::he {
namespace {

struct Trained {
  nn::Model model;
  data::ImageSet test;
};

const Trained& trained() {
  static const Trained t = [] {
    test_support::use_mnist_or_synthetic();  // real MNIST, or synthetic digits in a bare clone
    data::LoadOptions lo;  // 28x28 gray, mean/std 0.5 as in the study
    data::Dataset ds = data::load_dataset("mnist", lo);
    std::vector<std::size_t> first(3000);
    for (std::size_t i = 0; i < first.size(); ++i) first[i] = i;
    data::ImageSet train = data::subset(ds.train, first);
    nn::ArchitectureOptions ao;
    ao.input = nn::default_input("seed-cnn");
    ao.input.mean = {0.5};
    ao.input.std = {0.5};
    ao.class_names = ds.train.class_names;
    nn::Model initial = nn::build_architecture("seed-cnn", ao).value();
    train::TrainOptions to;
    to.epochs = 2;
    to.batch_size = 64;
    to.threads = 1;
    to.seed = 1;
    auto result = train::train_model(initial, train, to, {});
    return Trained{result.model, ds.test};
  }();
  return t;
}

TEST(MnistEncrypted, ThroughputAt128BitsAgreesWithThePlaintextModel) {
  const Trained& t = trained();
  const std::size_t count = 200;
  std::vector<int> labels(t.test.labels.begin(), t.test.labels.begin() + count);
  SessionOptions so;
  so.compile.packing = Packing::kThroughput;
  so.threads = 2;
  SessionResult r = run_encrypted(t.model, t.test.pixels.data(), count, labels, so);
  auto params = ckks::Params::create(r.plan.params).value();
  EXPECT_GE(params.security_bits(), 128);
  EXPECT_FALSE(params.insecure());
  EXPECT_GT(r.plain_accuracy, 0.8);  // the short training run learned something
  EXPECT_EQ(r.agreement, 1.0) << "max logit error " << r.max_logit_error;
  EXPECT_LT(r.max_logit_error, 0.05);
  EXPECT_NEAR(r.accuracy, r.plain_accuracy, 1e-12);
}

TEST(MnistEncrypted, LatencyAt128BitsAgreesWithThePlaintextModel) {
  const Trained& t = trained();
  const std::size_t count = 2;
  SessionOptions so;
  so.compile.packing = Packing::kLatency;
  so.threads = 2;
  SessionResult r = run_encrypted(t.model, t.test.pixels.data(), count, {}, so);
  EXPECT_GE(ckks::Params::create(r.plan.params).value().security_bits(), 128);
  EXPECT_EQ(r.agreement, 1.0);
  EXPECT_LT(r.max_logit_error, 0.05);
}

}  // namespace
}  // namespace hemi::he
