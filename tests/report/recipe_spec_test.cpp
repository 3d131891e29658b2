// The spec keys of issue 12's training recipe and the activation choice: read exactly, and
// every bad value refused naming the key. The shipped experiments/brain-tumor-mri4*.toml parse.
#include <gtest/gtest.h>

#include "hemi/base/error.h"
#include "hemi/report/spec.h"

namespace hemi::report {
namespace {

const char* kMedcnn = R"(
[[experiment]]
name = "e"
dataset = "brain-tumor-mri4"
model = "medcnn"
)";

std::string with(const std::string& extra) { return std::string(kMedcnn) + extra + "\n"; }

void expect_rejected(const std::string& text, std::initializer_list<std::string> needles) {
  try {
    parse_spec(text, "t.toml");
    ADD_FAILURE() << "accepted:\n" << text;
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const std::string& n : needles) EXPECT_NE(what.find(n), std::string::npos) << "'" << n << "' not in: " << what;
  }
}

TEST(reportRecipeSpec, ReadsEveryKey) {
  Spec s = parse_spec(with("activation = \"relu\"\n[experiment.train]\nbatch_norm = true\nclip = 2.5\n"
                           "schedule = \"step\"\nstep_epochs = 4\nstep_gamma = 0.5\nflip = true\nrotate = 10\n"
                           "shift = 3\nclass_weights = true\nvalidation = 0.15"));
  const ExperimentSpec& e = s.experiments[0];
  EXPECT_EQ(e.activation, "relu");
  ASSERT_TRUE(e.train);
  const TrainSpec& t = *e.train;
  EXPECT_TRUE(t.batch_norm);
  EXPECT_EQ(t.clip, 2.5);
  EXPECT_EQ(t.schedule, "step");
  EXPECT_EQ(t.step_epochs, 4);
  EXPECT_EQ(t.step_gamma, 0.5);
  EXPECT_TRUE(t.flip);
  EXPECT_EQ(t.rotate, 10);
  EXPECT_EQ(t.shift, 3);
  EXPECT_TRUE(t.class_weights);
  EXPECT_EQ(t.validation, 0.15);
  // Defaults: the study's plain Adam, the network's own activation.
  Spec d = parse_spec(kMedcnn);
  EXPECT_EQ(d.experiments[0].activation, "default");
  EXPECT_FALSE(d.experiments[0].train->batch_norm);
  EXPECT_EQ(d.experiments[0].train->schedule, "constant");
  EXPECT_EQ(d.experiments[0].train->validation, 0);
}

TEST(reportRecipeSpec, RejectsBadValues) {
  expect_rejected(with("activation = \"tanh\""), {"'activation'", "tanh"});
  expect_rejected("[[experiment]]\nname = \"e\"\ndataset = \"mnist\"\nmodel_file = \"m\"\nactivation = \"relu\"\n",
                  {"'activation'", "model file"});
  expect_rejected(with("[experiment.train]\nschedule = \"linear\""), {"'schedule'", "linear"});
  expect_rejected(with("[experiment.train]\nclip = -1"), {"'clip'"});
  expect_rejected(with("[experiment.train]\nstep_epochs = 0"), {"'step_epochs'"});
  expect_rejected(with("[experiment.train]\nstep_gamma = 2"), {"'step_gamma'"});
  expect_rejected(with("[experiment.train]\nrotate = 200"), {"'rotate'"});
  expect_rejected(with("[experiment.train]\nshift = -2"), {"'shift'"});
  expect_rejected(with("[experiment.train]\nvalidation = 1"), {"'validation'"});
  expect_rejected(with("[experiment.train]\nbatch_norm = 1"), {"'batch_norm'"});
  expect_rejected(with("[experiment.train]\nbatch_norm = true\n[experiment.train.dp]\nepsilon = 3"),
                  {"centralized training only"});
}

TEST(reportRecipeSpec, ShippedSpecsParse) {
  for (const char* name : {"brain-tumor-mri4.toml", "brain-tumor-mri4-encrypted.toml"}) {
    Spec s = load_spec(std::string(HEMI_SOURCE_DIR) + "/experiments/" + name);
    EXPECT_FALSE(s.experiments.empty()) << name;
    for (const auto& e : s.experiments) EXPECT_EQ(e.model, "medcnn") << name;
  }
}

}  // namespace
}  // namespace hemi::report
