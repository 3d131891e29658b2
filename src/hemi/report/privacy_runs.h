// Training with DP-SGD or federated averaging for `hemi run` ([experiment.train.dp],
// [experiment.train.federated]; docs/privacy.md), and the report's privacy section: every
// run's method, its guarantee in words, training time and bytes moved, next to its accuracy
// and interval.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "hemi/data/image_set.h"
#include "hemi/nn/model.h"
#include "hemi/report/results.h"
#include "hemi/report/spec.h"

namespace hemi::report {

struct PrivateTraining {
  nn::Model model;
  TrainingInfo info;
};

// True if the experiment trains with dp or federated.
bool is_private_training(const ExperimentSpec& e);

// Trains `initial` as the experiment's dp / federated table says (the federated curve is
// measured on `test_set`). Throws hemi::Error naming the experiment.
PrivateTraining train_private(const ExperimentSpec& e, const nn::Model& initial, const data::ImageSet& train_set,
                              const data::ImageSet& test_set, const std::string& label, std::FILE* log);

// The privacy guarantee of one run in words: training side (from TrainingInfo::privacy) and
// inference side ("server sees only encrypted inputs" for encrypted variants).
std::string privacy_in_words(const RunResult& r);

// Markdown: "## Privacy" with one row per run (empty if no run trained privately and none was
// encrypted).
std::string privacy_markdown(const Report& report);

// Two figures when the report has such runs: privacy_epsilon (test accuracy with its interval
// against ε of the DP-SGD runs, one line per data set) and privacy_rounds (test accuracy after
// each round of every federated run), as PNG and SVG with gnuplot (privacy.gp and its .dat
// files in out_dir). Returns the written image paths; `warning` says why figures are missing.
struct PrivacyFigures {
  std::vector<std::string> files;
  std::string warning;
};
PrivacyFigures write_privacy_figures(const Report& report, const std::string& out_dir);

}  // namespace hemi::report
