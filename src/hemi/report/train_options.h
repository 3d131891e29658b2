// The one translation of a spec's [experiment.train] table (TrainSpec) into the train layer's
// TrainOptions, used by `hemi run` (runner.cpp, privacy_runs.cpp) and `hemi train`
// (app/cmd_train.cpp, which fills a TrainSpec from its flags).
#pragma once

#include <cstdint>
#include <string>

#include "hemi/report/spec.h"
#include "hemi/train/trainer.h"

namespace hemi::report {

// `activation` is the experiment's (`poly` trains the polynomial coefficients). Throws
// hemi::Error for an unknown schedule name.
train::TrainOptions train_options(const TrainSpec& ts, std::uint64_t seed, const std::string& activation);

// Whether any part of the recipe for deeper polynomial networks is on (batch norm, clip,
// schedule, augmentation, class weights, validation, warm start, distillation).
bool uses_recipe(const TrainSpec& ts);

// One line naming the recipe's settings, e.g. "activation poly; batch norm folded; clip 5; ...".
std::string describe_recipe(const train::TrainOptions& to, const std::string& activation);

}  // namespace hemi::report
