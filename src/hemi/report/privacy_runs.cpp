#include "hemi/report/privacy_runs.h"
#include "hemi/report/train_options.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <cstdarg>
#include <memory>
#include <sstream>

#include "hemi/fl/secure_aggregation.h"
#include "hemi/report/output.h"
#include "hemi/report/progress.h"
#include "hemi/train/dp_sgd.h"
#include "hemi/train/federated.h"

namespace hemi::report {
namespace {

std::string fmt(const char* f, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

std::string dp_words(double eps, double delta, const char* unit) {
  return fmt("(epsilon %.2f, delta %.2g)-DP per %s", eps, delta, unit);
}

}  // namespace

bool is_private_training(const ExperimentSpec& e) { return e.train && (e.train->dp || e.train->federated); }

PrivateTraining train_private(const ExperimentSpec& e, const nn::Model& initial, const data::ImageSet& train_set,
                              const data::ImageSet& test_set, const std::string& label, std::FILE* log) {
  const TrainSpec& ts = *e.train;
  // The spec refuses the recipe's keys with dp/federated (uses_recipe), so only the basics are set.
  const train::TrainOptions to = train_options(ts, e.seed, e.activation);
  PrivateTraining t{initial, {}};
  TrainingInfo& info = t.info;
  info.trained = true;
  info.epochs = ts.epochs;
  info.batch_size = ts.batch_size;
  info.learning_rate = ts.learning_rate;
  info.threads = ts.threads;
  try {
    if (ts.dp) {
      train::DpOptions d;
      d.clip = ts.dp->clip;
      d.noise_multiplier = ts.dp->noise;
      d.target_epsilon = ts.dp->epsilon;
      d.delta = ts.dp->delta > 0 ? ts.dp->delta : std::min(1e-5, 1.0 / static_cast<double>(std::max<std::size_t>(1, train_set.size())));
      Progress bar(log, "DP-SGD " + label, static_cast<std::size_t>(ts.epochs), "epochs");
      auto r = train::train_model_dp(initial, train_set, to, d, [&](const train::EpochReport& ep) {
        bar.update(static_cast<std::size_t>(ep.epoch), fmt("loss %.4f", ep.loss));
      });
      t.model = std::move(r.train.model);
      info.seconds = r.train.seconds;
      if (!r.train.epochs.empty()) {
        info.final_loss = r.train.epochs.back().loss;
        info.final_train_accuracy = r.train.epochs.back().train_accuracy;
      }
      info.method = "dp-sgd";
      info.dp_epsilon = r.dp.epsilon;
      info.dp_delta = r.dp.delta;
      info.dp_noise = r.dp.noise_multiplier;
      info.privacy = dp_words(r.dp.epsilon, r.dp.delta, "training example") +
                     fmt(" (DP-SGD, noise %.3f, clip %g)", r.dp.noise_multiplier, r.dp.clip);
      return t;
    }
    const FederatedSpec& fs = *ts.federated;
    train::FederatedOptions fo;
    fo.sites = fs.sites;
    fo.rounds = fs.rounds;
    fo.local_epochs = fs.local_epochs;
    fo.fraction = fs.fraction;
    fo.dirichlet_alpha = fs.alpha;
    fo.seed = e.seed;
    if (fs.dp) {
      fo.dp_clip = fs.dp->clip;
      fo.dp_noise = fs.dp->noise;
      fo.dp_epsilon = fs.dp->epsilon;
      fo.dp_delta = fs.dp->delta > 0 ? fs.dp->delta : std::min(1e-5, 1.0 / fs.sites);
    }
    std::unique_ptr<fl::CkksAggregator> ckks;
    train::Aggregator aggregate = train::plain_sum;
    if (fs.secure) {
      ckks = std::make_unique<fl::CkksAggregator>();
      aggregate = ckks->as_function();
    }
    Progress bar(log, "FedAvg " + label, static_cast<std::size_t>(fs.rounds), "rounds");
    auto r = train::federated_train(initial, train_set, test_set, to, fo, aggregate, [&](const train::RoundReport& rr) {
      bar.update(static_cast<std::size_t>(rr.round), fmt("test acc %.2f%%", 100 * rr.test_accuracy));
    });
    t.model = std::move(r.model);
    info.seconds = r.seconds;
    info.epochs = fs.rounds * fs.local_epochs;
    info.bytes_moved = r.bytes;
    for (const auto& rr : r.rounds) info.round_accuracy.push_back(rr.test_accuracy);
    info.method = fs.dp ? "fedavg+dp" : "fedavg";
    std::string words = fmt("raw data stays at %d sites", fs.sites);
    words += fs.secure ? "; server sees only the sum of updates (CKKS secure aggregation)"
                       : "; server sees every site's update";
    if (fs.dp) {
      info.dp_epsilon = r.dp_epsilon;
      info.dp_delta = r.dp_delta;
      info.dp_noise = r.dp_noise;
      words += "; " + dp_words(r.dp_epsilon, r.dp_delta, "site") + fmt(" (noise %.3f, clip %g)", r.dp_noise, fo.dp_clip);
    }
    if (ckks) info.aggregation_max_relative_error = ckks->worst_relative_error();
    info.privacy = words;
    return t;
  } catch (const Error& err) {
    throw Error("experiment '" + e.name + "': " + err.what());
  }
}

std::string privacy_in_words(const RunResult& r) {
  std::string training = r.training.privacy.empty() ? "training data: no protection (centralized training in the clear)"
                                                     : r.training.privacy;
  std::string inference = r.mode == "encrypted"
                              ? fmt("server sees only encrypted inputs (CKKS, %d-bit security)", r.ckks ? r.ckks->security_bits : 0)
                              : "inference in the clear";
  return training + "; " + inference;
}

std::string privacy_markdown(const Report& report) {
  bool any = std::any_of(report.runs.begin(), report.runs.end(), [](const RunResult& r) {
    return !r.training.privacy.empty() || r.mode == "encrypted";
  });
  if (!any) return "";
  std::ostringstream o;
  o << "\n## Privacy\n\nEvery run with its method and guarantee (docs/privacy.md). Bytes: federated uploads "
       "(training) or per-image ciphertext traffic (encrypted inference).\n\n"
       "| run | training | accuracy [CI] | training time | bytes moved | guarantee |\n|---|---|---|---:|---:|---|\n";
  for (const RunResult& r : report.runs) {
    const auto& m = r.metrics;
    std::string ci = m.accuracy_ci.lower && m.accuracy_ci.upper
                         ? fmt(" [%.4f, %.4f]", *m.accuracy_ci.lower, *m.accuracy_ci.upper)
                         : std::string();
    auto size = [](double b) { return b >= 1e6 ? fmt("%.3g MB", b / 1e6) : fmt("%.3g kB", b / 1e3); };
    std::string bytes = r.training.bytes_moved ? size(static_cast<double>(r.training.bytes_moved)) + " (training)"
                        : r.mode == "encrypted" ? size(r.bytes_up_per_image + r.bytes_down_per_image) + "/image (inference)"
                                                : std::string("0");
    o << "| " << r.label() << " | " << r.training.method << " | " << fmt("%.4f", m.accuracy) << ci << " | "
      << fmt("%.1f s", r.seconds.train) << " | " << bytes << " | " << privacy_in_words(r) << " |\n";
  }
  bool curves = false;
  for (const RunResult& r : report.runs)
    if (!r.training.round_accuracy.empty() && !r.fold) {
      if (!curves) o << "\n### Federated accuracy per round\n\n| run | accuracy after round 1, 2, ... |\n|---|---|\n";
      curves = true;
      std::string v;
      for (double a : r.training.round_accuracy) v += (v.empty() ? "" : ", ") + fmt("%.4f", a);
      o << "| " << r.label() << " | " << v << " |\n";
    }
  return o.str();
}

PrivacyFigures write_privacy_figures(const Report& report, const std::string& out_dir) {
  PrivacyFigures out;
  // privacy_epsilon.dat: one block per data set, "epsilon accuracy low high" sorted by epsilon.
  std::map<std::string, std::vector<const RunResult*>> by_dataset;
  std::vector<const RunResult*> federated;
  for (const RunResult& r : report.runs) {
    if (r.fold || r.mode != "plain") continue;
    if (r.training.method == "dp-sgd" && r.training.dp_epsilon) by_dataset[r.dataset].push_back(&r);
    if (!r.training.round_accuracy.empty()) federated.push_back(&r);
  }
  if (by_dataset.empty() && federated.empty()) return out;
  const std::string gnuplot = find_gnuplot();
  if (gnuplot.empty()) {
    out.warning = "gnuplot not found: privacy figures skipped";
    return out;
  }
  const std::filesystem::path dir(out_dir);
  std::ostringstream eps, rounds, gp;
  std::string eps_plot, rounds_plot;
  int block = 0;
  for (auto& [dataset, runs] : by_dataset) {
    std::sort(runs.begin(), runs.end(), [](const RunResult* a, const RunResult* b) { return *a->training.dp_epsilon < *b->training.dp_epsilon; });
    for (const RunResult* r : runs) {
      const auto& ci = r->metrics.accuracy_ci;
      eps << fmt("%.6g %.6g %.6g %.6g\n", *r->training.dp_epsilon, r->metrics.accuracy, ci.lower.value_or(r->metrics.accuracy),
                 ci.upper.value_or(r->metrics.accuracy));
    }
    eps << "\n\n";
    eps_plot += std::string(eps_plot.empty() ? "plot " : ", ") + "'privacy_epsilon.dat' index " + std::to_string(block++) +
                " using 1:2:3:4 with yerrorlines title '" + dataset + "'";
  }
  block = 0;
  for (const RunResult* r : federated) {
    for (std::size_t i = 0; i < r->training.round_accuracy.size(); ++i)
      rounds << (i + 1) << " " << fmt("%.6g", r->training.round_accuracy[i]) << "\n";
    rounds << "\n\n";
    rounds_plot += std::string(rounds_plot.empty() ? "plot " : ", ") + "'privacy_rounds.dat' index " + std::to_string(block++) +
                   " using 1:2 with linespoints title '" + r->experiment + "'";
  }
  gp << "# Privacy figures of hemi run (written by hemi; run: gnuplot privacy.gp)\n"
     << "has_cairo = strstrt(GPVAL_TERMINALS, 'pngcairo') > 0\nset grid\nset key outside right top noenhanced\n"
     << "set ylabel 'test accuracy'\n";
  std::vector<std::string> names;
  for (const char* ext : {"png", "svg"})
    for (const auto& [name, plot, xlabel, title] :
         {std::tuple<std::string, std::string, std::string, std::string>{"privacy_epsilon", eps_plot, "epsilon (delta as reported)", "DP-SGD: accuracy against epsilon (95 % intervals)"},
          {"privacy_rounds", rounds_plot, "round", "Federated averaging: accuracy after each round"}}) {
      if (plot.empty()) continue;
      if (std::string(ext) == "png")
        gp << "if (has_cairo) { set terminal pngcairo size 900,500 font 'sans,10' } else { set terminal png size 900,500 }\n";
      else
        gp << "set terminal svg size 900,500 font 'sans,10'\n";
      gp << "set output '" << name << "." << ext << "'\nset xlabel '" << xlabel << "'\nset title '" << title
         << "' noenhanced\n" << plot << "\nunset output\n";
      names.push_back(name + "." + ext);
    }
  auto write = [&](const std::string& file, const std::string& text) {
    std::ofstream f(dir / file);
    f << text;
    if (!f) throw Error("cannot write " + (dir / file).string());
  };
  write("privacy_epsilon.dat", eps.str());
  write("privacy_rounds.dat", rounds.str());
  write("privacy.gp", gp.str());
  const std::string cmd = "cd '" + dir.string() + "' && '" + gnuplot + "' privacy.gp > privacy_gnuplot.log 2>&1";
  const int rc = std::system(cmd.c_str());
  for (const auto& n : names)
    if (std::filesystem::exists(dir / n) && std::filesystem::file_size(dir / n) > 0) out.files.push_back((dir / n).string());
  if (rc != 0 || out.files.size() != names.size())
    out.warning = "gnuplot failed on the privacy figures (exit " + std::to_string(rc) + "); see privacy_gnuplot.log";
  return out;
}

}  // namespace hemi::report
