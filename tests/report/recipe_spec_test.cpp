// The spec keys of issue 12's training recipe and the activation choice: read exactly, and
// every bad value refused naming the key. The shipped experiments/brain-tumor-mri4.toml has its runs.
#include <gtest/gtest.h>

#include <set>

#include "hemi/base/error.h"
#include "hemi/he/plan.h"
#include "hemi/report/spec.h"
#include "hemi/report/train_options.h"

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

TEST(reportRecipeSpec, ReadsWarmStartAndDistillationAndTranslatesEveryKey) {
  Spec s = parse_spec(with("activation = \"poly\"\nseed = 7\n[experiment.train]\nepochs = 12\nbatch_size = 8\n"
                           "learning_rate = 0.003\nthreads = 2\nbatch_norm = true\nclip = 2.5\nschedule = \"step\"\n"
                           "step_epochs = 4\nstep_gamma = 0.5\nflip = true\nrotate = 10\nshift = 3\n"
                           "class_weights = true\nvalidation = 0.15\nwarm_start_epochs = 5\ndistill = true\n"
                           "distill_temperature = 3\ndistill_alpha = 0.7"));
  const ExperimentSpec& e = s.experiments[0];
  const TrainSpec& t = *e.train;
  EXPECT_EQ(t.warm_start_epochs, 5);
  EXPECT_TRUE(t.distill);
  EXPECT_EQ(t.distill_temperature, 3);
  EXPECT_EQ(t.distill_alpha, 0.7);
  EXPECT_TRUE(uses_recipe(t));
  const train::TrainOptions o = train_options(t, e.seed, e.activation);
  EXPECT_EQ(o.epochs, 12);
  EXPECT_EQ(o.batch_size, 8);
  EXPECT_EQ(o.learning_rate, 0.003);
  EXPECT_EQ(o.seed, 7u);
  EXPECT_EQ(o.threads, 2);
  EXPECT_TRUE(o.batch_norm);
  EXPECT_TRUE(o.train_polynomials);
  EXPECT_EQ(o.clip_norm, 2.5);
  EXPECT_EQ(o.schedule.kind, train::LrSchedule::kStep);
  EXPECT_EQ(o.schedule.step_epochs, 4);
  EXPECT_EQ(o.schedule.step_gamma, 0.5);
  EXPECT_TRUE(o.augment.flip);
  EXPECT_EQ(o.augment.rotate_degrees, 10);
  EXPECT_EQ(o.augment.shift_pixels, 3);
  EXPECT_TRUE(o.class_weights);
  EXPECT_EQ(o.validation_fraction, 0.15);
  EXPECT_EQ(o.warm_start_epochs, 5);
  EXPECT_TRUE(o.distill.enabled);
  EXPECT_EQ(o.distill.temperature, 3);
  EXPECT_EQ(o.distill.alpha, 0.7);
  EXPECT_NO_THROW(train::validate(o));
  EXPECT_NE(describe_recipe(o, "poly").find("ReLU warm start 5 epochs"), std::string::npos);
  EXPECT_NE(describe_recipe(o, "poly").find("T 3, alpha 0.7"), std::string::npos);
  // Off by default; the study's plain Adam uses no recipe and trains no polynomials unless poly.
  Spec d = parse_spec(kMedcnn);
  EXPECT_EQ(d.experiments[0].train->warm_start_epochs, 0);
  EXPECT_FALSE(d.experiments[0].train->distill);
  EXPECT_FALSE(uses_recipe(*d.experiments[0].train));
  EXPECT_FALSE(train_options(*d.experiments[0].train, 1, "default").train_polynomials);
}

TEST(reportRecipeSpec, RejectsBadWarmStartAndDistillation) {
  const std::string poly = "activation = \"poly\"\n";
  expect_rejected(with(poly + "[experiment.train]\nepochs = 10\nwarm_start_epochs = 10"), {"'warm_start_epochs'", "10"});
  expect_rejected(with(poly + "[experiment.train]\nwarm_start_epochs = -1"), {"'warm_start_epochs'"});
  expect_rejected(with("activation = \"relu\"\n[experiment.train]\nwarm_start_epochs = 2"), {"'activation'", "relu"});
  expect_rejected(with("[experiment.train]\nwarm_start_epochs = 2"), {"'activation'", "default"});
  expect_rejected(with("activation = \"relu\"\n[experiment.train]\ndistill = true"), {"'activation'", "relu"});
  expect_rejected(with(poly + "[experiment.train]\ndistill = \"yes\""), {"'distill'"});
  expect_rejected(with(poly + "[experiment.train]\ndistill_temperature = 0"), {"'distill_temperature'"});
  expect_rejected(with(poly + "[experiment.train]\ndistill_temperature = 5000"), {"'distill_temperature'"});
  expect_rejected(with(poly + "[experiment.train]\ndistill_alpha = 1.5"), {"'distill_alpha'"});
  expect_rejected(with(poly + "[experiment.train]\ndistill_alpha = -0.5"), {"'distill_alpha'"});
  expect_rejected(with(poly + "[experiment.train]\ndistill = true\n[experiment.train.dp]\nepsilon = 3"),
                  {"centralized training only"});
}

TEST(reportRecipeSpec, ReadsMedcnnWidthsAndRejectsBadOnes) {
  Spec s = parse_spec(with("widths = [16, 32, 64, 128]"));
  EXPECT_EQ(s.experiments[0].widths, (std::vector<int>{16, 32, 64, 128}));
  EXPECT_TRUE(parse_spec(with("")).experiments[0].widths.empty());  // medcnn's own
  expect_rejected(with("widths = [16, 32, 64]"), {"'widths'", "four values", "got 3"});
  expect_rejected(with("widths = [16, 32, 0, 64]"), {"'widths'", "[1, 4096]"});
  expect_rejected(with("widths = [16, 32, 64, 5000]"), {"'widths'", "[1, 4096]"});
  expect_rejected(with("widths = \"16,32,64,128\""), {"'widths'", "array of integers"});
  expect_rejected("[[experiment]]\nname = \"e\"\ndataset = \"mnist\"\nmodel = \"seed-cnn\"\nwidths = [4, 4, 4, 4]\n",
                  {"'widths'", "medcnn only"});
}

TEST(reportRecipeSpec, ReadsStartFromTeacherAndStudentLearningRate) {
  const std::string poly = "activation = \"poly\"\n[experiment.train]\nepochs = 4\n";
  Spec s = parse_spec(with(poly + "distill = true\nstart_from_teacher = true"));
  ASSERT_TRUE(s.experiments[0].train);
  EXPECT_TRUE(s.experiments[0].train->start_from_teacher);
  EXPECT_TRUE(train_options(*s.experiments[0].train, 1, "poly").distill.start_from_teacher);
  expect_rejected(with(poly + "start_from_teacher = true"), {"'start_from_teacher'", "distill = true"});
  expect_rejected(with(poly + "distill = true\nstart_from_teacher = true\nwarm_start_epochs = 2"),
                  {"'start_from_teacher'", "not both"});
  s = parse_spec(with(poly + "distill = true\nstudent_learning_rate = 0.0005"));
  EXPECT_EQ(s.experiments[0].train->student_learning_rate, 0.0005);
  EXPECT_EQ(train_options(*s.experiments[0].train, 1, "poly").distill.student_learning_rate, 0.0005);
  expect_rejected(with(poly + "student_learning_rate = 0.0005"), {"'student_learning_rate'", "distill = true"});
  expect_rejected(with(poly + "distill = true\nstudent_learning_rate = -1"), {"'student_learning_rate'", "must be in"});
}

TEST(reportRecipeSpec, ReadsTeacherVariants) {
  const std::string poly = "activation = \"poly\"\n[experiment.train]\nepochs = 4\n";
  const std::string teacher = "[[experiment.variant]]\nname = \"relu\"\nmode = \"plain\"\nteacher = true\n";
  Spec s = parse_spec(with(poly + "distill = true\n" + teacher));
  ASSERT_EQ(s.experiments[0].variants.size(), 1u);
  EXPECT_TRUE(s.experiments[0].variants[0].teacher);
  expect_rejected(with(poly + teacher), {"'teacher'", "distill = true"});
  expect_rejected(with(poly + "distill = true\n[[experiment.variant]]\nmode = \"encrypted\"\nteacher = true\n"),
                  {"'teacher'", "plain variants only"});
  expect_rejected(with(poly + "distill = true\n[[experiment.variant]]\nmode = \"plain\"\nscheme = \"bfv\"\nteacher = true\n"),
                  {"'teacher'", "bfv"});
}

TEST(reportRecipeSpec, ShippedSpecHasWhatIssue12AsksFor) {
  // ReLU and polynomial medcnn, plain on Testing/ and in 5-fold CV, encrypted in both packings.
  Spec s = load_spec(std::string(HEMI_SOURCE_DIR) + "/experiments/brain-tumor-mri4.toml");
  ASSERT_EQ(s.experiments.size(), 2u);
  std::set<std::string> runs;
  for (const auto& e : s.experiments) {
    EXPECT_EQ(e.model, "medcnn");
    EXPECT_EQ(e.activation, "poly");
    ASSERT_TRUE(e.train && e.train->distill);
    for (const auto& v : e.variants)
      runs.insert(e.name + (e.folds ? "-cv" : "") + "/" + (v.teacher ? "relu" : to_string(v.mode)) +
                  (v.packing ? std::string("-") + he::to_string(*v.packing) : ""));
  }
  EXPECT_EQ(s.experiments[1].folds, 5);
  EXPECT_EQ(runs, (std::set<std::string>{"test/relu", "test/plain", "test/encrypted-latency",
                                         "test/encrypted-throughput", "cv-cv/relu", "cv-cv/plain"}));
}

}  // namespace
}  // namespace hemi::report
