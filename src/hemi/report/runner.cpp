#include "hemi/report/runner.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <set>
#include <thread>

#include "hemi/base/clock.h"
#include "hemi/base/error.h"
#include "hemi/base/thread_pool.h"
#include "hemi/ckks/params.h"
#include "hemi/data/dataset.h"
#include "hemi/data/split.h"
#include "hemi/he/compiler.h"
#include "hemi/he/session.h"
#include "hemi/nn/architectures.h"
#include "hemi/nn/interpreter.h"
#include "hemi/nn/model_file.h"
#include "hemi/report/bfv_runs.h"
#include "hemi/report/privacy_runs.h"
#include "hemi/report/progress.h"
#include "hemi/report/train_options.h"
#include "hemi/train/data_record.h"
#include "hemi/train/trainer.h"

#ifndef HEMI_VERSION
#define HEMI_VERSION "unknown"
#endif
#ifndef HEMI_BUILD_TYPE
#define HEMI_BUILD_TYPE "unknown"
#endif

namespace hemi::report {

std::string RunResult::label() const {
  std::string s = experiment + "/" + variant;
  if (fold) s += " fold " + std::to_string(*fold + 1);
  return s;
}

double peak_memory_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

Environment describe_environment(int threads) {
  Environment env;
  env.hemi_version = HEMI_VERSION;
  env.build_type = HEMI_BUILD_TYPE;
#if defined(__clang__)
  env.compiler = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  env.compiler = std::string("g++ ") + __VERSION__;
#else
  env.compiler = "unknown";
#endif
  utsname u{};
  if (uname(&u) == 0) env.os = std::string(u.sysname) + " " + u.release + " " + u.machine;
  std::ifstream os_release("/etc/os-release");
  for (std::string line; std::getline(os_release, line);)
    if (line.rfind("PRETTY_NAME=", 0) == 0) {
      std::string v = line.substr(12);
      v.erase(std::remove(v.begin(), v.end(), '"'), v.end());
      env.os = v + " (" + env.os + ")";
    }
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) env.cpu = line.substr(colon + 2);
      break;
    }
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) env.hostname = host;
  env.cores = std::thread::hardware_concurrency();
  env.threads = threads;
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  env.started_utc = buf;
  return env;
}

namespace {

using Clock = std::chrono::steady_clock;
void say(std::FILE* log, const char* fmt, auto... args) {
  if (!log) return;
  std::fprintf(log, fmt, args...);
  std::fflush(log);
}

std::string join_floats(const std::vector<double>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%g", i ? "/" : "", v[i]);
    s += buf;
  }
  return s;
}

// A seeded stratified sample of `limit` images (ascending indices), or the set itself; says so
// in `notes` ("what": which images).
data::ImageSet limited(const data::ImageSet& set, std::size_t limit, std::uint64_t seed, const std::string& what,
                       std::vector<std::string>* notes) {
  if (limit == 0 || limit >= set.size()) return set;
  if (notes)
    notes->push_back("a seeded stratified random sample of " + std::to_string(limit) + " of the " +
                     std::to_string(set.size()) + " " + what + " (sample seed " + std::to_string(seed) + ")");
  return data::subset(set, data::stratified_sample(set.labels, limit, seed));
}

struct Prepared {
  std::optional<nn::Model> file_model;  // model_file experiments
  nn::InputSpec input;
  data::LoadOptions load;
};

// The input: the model file's, or the architecture's default with the spec's overrides; and
// the data layer's load options that produce it.
Prepared prepare_input(const ExperimentSpec& e) {
  Prepared p;
  nn::InputSpec& input = p.input;
  if (e.model_is_file) {
    p.file_model = nn::load_model(e.model);
    input = p.file_model->input();
  } else {
    input = nn::default_input(e.model);
    if (e.channels) input.color = *e.channels == "rgb" ? nn::ColorMode::kRgb : nn::ColorMode::kGray;
    if (e.height) input.height = *e.height, input.width = *e.width;
    const auto c = static_cast<std::size_t>(input.channels());
    if (e.mean.size() != 1 && e.mean.size() != c)
      throw Error("experiment '" + e.name + "': mean has " + std::to_string(e.mean.size()) + " values for " +
                  std::to_string(c) + " channels");
    if (e.stddev.size() != 1 && e.stddev.size() != c)
      throw Error("experiment '" + e.name + "': std has " + std::to_string(e.stddev.size()) + " values for " +
                  std::to_string(c) + " channels");
    input.mean.assign(c, 0.0);
    input.std.assign(c, 1.0);
    for (std::size_t i = 0; i < c; ++i) {
      input.mean[i] = e.mean.size() == 1 ? e.mean[0] : e.mean[i];
      input.std[i] = e.stddev.size() == 1 ? e.stddev[0] : e.stddev[i];
    }
  }
  data::LoadOptions& lo = p.load;
  lo.height = input.height;
  lo.width = input.width;
  lo.channels = input.color == nn::ColorMode::kRgb ? data::ChannelMode::kRgb : data::ChannelMode::kGray;
  lo.mean.assign(input.mean.begin(), input.mean.end());
  lo.stddev.assign(input.std.begin(), input.std.end());
  lo.seed = e.seed;
  lo.train_fraction = e.train_fraction;
  lo.keep_cross_duplicates = e.keep_duplicates;
  if (e.folds >= 2) {
    lo.split_mode = data::SplitMode::kFraction;  // the folds are made from every training image
    lo.train_fraction = 1.0;
  } else {
    if (!e.split.empty()) data::parse_split_choice(e.split, lo);
    else if (e.train_fraction_given) lo.split_mode = data::SplitMode::kFraction;
    lo.train_limit = e.train_limit;
    lo.test_limit = e.test_limit;
  }
  data::validate(lo);
  return p;
}

// The starting weights: the model file, or the architecture freshly initialized from the seed.
nn::Model initial_model(const ExperimentSpec& e, const Prepared& p, const std::vector<std::string>& class_names) {
  if (p.file_model) {
    train::check_same_classes(p.file_model->class_names(), class_names, e.dataset);
    return *p.file_model;
  }
  nn::ArchitectureOptions ao;
  ao.input = p.input;
  ao.class_names = class_names;
  ao.seed = e.seed;
  ao.activation = nn::parse_activation(e.activation);
  ao.widths = e.widths;
  auto built = nn::build_architecture(e.model, ao);
  if (!built) throw Error("experiment '" + e.name + "': " + built.error());
  return built.value();
}

std::string describe_input(const data::LoadOptions& lo) {
  std::vector<double> m(lo.mean.begin(), lo.mean.end()), s(lo.stddev.begin(), lo.stddev.end());
  return data::to_string(lo.channels) + " " + std::to_string(lo.height) + "x" + std::to_string(lo.width) + ", mean " +
         join_floats(m) + ", std " + join_floats(s);
}

struct Trained {
  nn::Model model;
  TrainingInfo info;
  std::optional<nn::Model> teacher;  // with distillation: the ReLU teacher (its best epoch)
  TrainingInfo teacher_info;         // and how it was trained
};

Trained train_on(const ExperimentSpec& e, const nn::Model& initial, const data::ImageSet& train_set,
                 const std::string& label, std::FILE* log) {
  Trained t{initial, {}, std::nullopt, {}};
  if (!e.train) return t;
  const TrainSpec& ts = *e.train;
  const train::TrainOptions to = train_options(ts, e.seed, e.activation);
  t.info.trained = true;
  t.info.epochs = ts.epochs;
  t.info.batch_size = ts.batch_size;
  t.info.learning_rate = ts.learning_rate;
  t.info.noise = ts.noise;
  t.info.noise_factor = ts.noise_factor;
  t.info.threads = ts.threads;
  if (ts.epochs == 0) return t;
  // With distillation the ReLU teacher's epochs come first, then the student's.
  const int phases = to.distill.enabled ? 2 : 1;
  Progress bar(log, "train " + label, static_cast<std::size_t>(phases * ts.epochs), "epochs");
  char note[96];
  std::optional<train::EpochReport> last_teacher_epoch;
  auto result = train::train_model(initial, train_set, to, [&](const train::EpochReport& r) {
    if (r.teacher) last_teacher_epoch = r;
    std::snprintf(note, sizeof note, "%sloss %.4f, train acc %.2f%%", r.teacher ? "teacher " : (r.relu ? "relu " : ""),
                  r.loss, 100 * r.train_accuracy);
    bar.update(static_cast<std::size_t>(r.epoch + (phases == 2 && !r.teacher ? ts.epochs : 0)), note);
  });
  t.model = std::move(result.model);
  t.teacher = std::move(result.teacher);
  t.info.seconds = result.seconds;
  if (uses_recipe(ts) || to.train_polynomials) {
    t.info.recipe = describe_recipe(to, e.activation);
    if (to.validation_fraction > 0)
      t.info.recipe += "; validation " + std::to_string(result.validation_images) + " images, best epoch " +
                       std::to_string(result.best_epoch) +
                       (to.distill.enabled ? " (teacher's " + std::to_string(result.teacher_best_epoch) + ")" : "");
  }
  if (!result.epochs.empty()) {
    t.info.final_loss = result.epochs.back().loss;
    t.info.final_train_accuracy = result.epochs.back().train_accuracy;
  }
  if (t.teacher) {
    t.teacher_info = t.info;
    t.teacher_info.seconds = result.teacher_seconds;
    t.teacher_info.recipe = describe_recipe(train::teacher_options(to), "relu") + "; the distillation teacher of " + label;
    if (to.validation_fraction > 0)
      t.teacher_info.recipe += ", validation " + std::to_string(result.validation_images) + " images, best epoch " +
                               std::to_string(result.teacher_best_epoch);
    if (last_teacher_epoch) {
      t.teacher_info.final_loss = last_teacher_epoch->loss;
      t.teacher_info.final_train_accuracy = last_teacher_epoch->train_accuracy;
    }
  }
  return t;
}

std::vector<std::vector<double>> rows_of(const std::vector<double>& flat, int classes) {
  std::vector<std::vector<double>> rows(flat.size() / static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < rows.size(); ++i)
    rows[i].assign(flat.begin() + static_cast<long>(i) * classes, flat.begin() + static_cast<long>(i + 1) * classes);
  return rows;
}

std::vector<std::vector<double>> probabilities_of(const std::vector<std::vector<double>>& logits) {
  std::vector<std::vector<double>> p;
  p.reserve(logits.size());
  for (const auto& row : logits) p.push_back(metrics::softmax(row));
  return p;
}

RunResult evaluate_variant(const Spec& spec, const ExperimentSpec& e, const VariantSpec& v, const Trained& t,
                           const data::ImageSet& test_set, ThreadPool& pool, const RunOptions& opts,
                           std::optional<int> fold) {
  RunResult r;
  r.experiment = e.name;
  r.variant = v.name;
  r.mode = to_string(v.mode);
  r.fold = fold;
  r.model = t.model.architecture().empty() ? e.model : t.model.architecture();
  r.class_names = t.model.class_names();
  r.seed = e.seed;
  r.parameters = t.model.parameter_count();
  r.model_depth = t.model.multiplicative_depth();
  r.training = t.info;
  r.seconds.train = t.info.seconds;
  const std::size_t count = test_set.size();
  if (count == 0) throw Error("experiment '" + e.name + "': the test set is empty");
  r.test_images = count;
  std::vector<int> truth(test_set.labels.begin(), test_set.labels.begin() + static_cast<long>(count));
  const std::string label = r.label();

  std::vector<std::vector<double>> logits;
  r.scheme = v.scheme == "bfv" ? (v.mode == Mode::kPlain ? "quantized" : "bfv") : (v.mode == Mode::kPlain ? "float" : "ckks");
  if (v.scheme == "bfv") {
    logits = evaluate_bfv_variant(v, t.model, test_set, truth, pool, opts.threads, label, opts.log, r);
  } else if (v.mode == Mode::kPlain) {
    const auto t0 = Clock::now();
    nn::BatchOutput out = nn::forward_batch(t.model, {test_set.pixels.data(), count, t.model.input_shape()}, &pool);
    r.seconds.inference = r.seconds.evaluate = seconds_since(t0);
    logits = rows_of(out.logits, out.classes);
    r.threads = static_cast<int>(pool.size());
  } else {
    he::SessionOptions so;
    so.compile.packing = v.packing;
    so.compile.scale_bits = v.scale_bits;
    so.compile.params = v.params;
    so.threads = opts.threads;
    if (opts.log) {
      // The compiler's prediction, so that a long single-batch phase is not silent.
      he::CompileOptions co = so.compile;
      co.images = count;
      const he::Plan plan = he::compile(t.model, co);
      const std::size_t units = plan.packing == he::Packing::kThroughput
                                    ? (count + plan.images_per_batch - 1) / plan.images_per_batch
                                    : count;
      say(opts.log, "  encrypted %s: %s packing, N = 2^%d, %zu %s, predicted %s on one thread\n", label.c_str(),
          he::to_string(plan.packing), plan.params.log_n, units,
          plan.packing == he::Packing::kThroughput ? (units == 1 ? "batch" : "batches") : "images",
          format_seconds(plan.predicted_seconds * static_cast<double>(units)).c_str());
    }
    Progress bar(opts.log, "encrypted " + label, count, "images");
    so.progress = [&](std::size_t done, std::size_t) { bar.update(done); };
    he::SessionResult s = he::run_encrypted(t.model, test_set.pixels.data(), count, truth, so);
    bar.finish();
    r.seconds.keygen = s.seconds.keygen;
    r.seconds.setup = s.seconds.compile + s.seconds.setup + s.seconds.other;
    r.seconds.encrypt = s.seconds.encrypt;
    r.seconds.evaluate = s.seconds.evaluate;
    r.seconds.decrypt = s.seconds.decrypt;
    r.seconds.inference = s.seconds.total;
    r.bytes_up_per_image = s.bytes_up_per_image;
    r.bytes_down_per_image = s.bytes_down_per_image;
    r.eval_key_bytes = s.eval_key_bytes;
    r.secret_key_bytes = s.secret_key_bytes;
    r.threads = s.threads;
    auto params = ckks::Params::create(s.plan.params).value();
    CkksInfo c;
    c.packing = he::to_string(s.plan.packing);
    c.n = params.n();
    c.log_scale = s.plan.params.log_scale;
    c.q_bits = s.plan.params.q_bits;
    c.p_bits = s.plan.params.p_bits;
    c.log2_qp = params.log2_qp();
    c.security_bits = params.security_bits();
    c.insecure = params.insecure();
    c.depth = s.plan.depth;
    c.images_per_batch = s.plan.images_per_batch;
    r.ckks = c;
    r.agreement = metrics::compare_predictions(s.plain_logits, s.logits, truth);
    logits = std::move(s.logits);
  }
  r.seconds.total = r.seconds.train + r.seconds.inference;
  r.images_per_second = r.seconds.inference > 0 ? static_cast<double>(count) / r.seconds.inference : 0;

  metrics::MetricsOptions mo;
  mo.bootstrap_resamples = spec.bootstrap_resamples;
  mo.confidence = spec.confidence;
  mo.seed = e.seed;
  mo.class_names = r.class_names;
  mo.pool = &pool;
  r.metrics = metrics::evaluate(truth, probabilities_of(logits), mo);
  r.truth = std::move(truth);
  r.logits = std::move(logits);
  r.peak_memory_mib = peak_memory_mib();
  say(opts.log, "  %-34s accuracy %6.2f%%%s  (%s)\n", label.c_str(), 100 * r.metrics.accuracy,
      r.agreement ? (", agreement " + std::to_string(100 * r.agreement->agreement_rate).substr(0, 6) + "%").c_str() : "",
      format_seconds(r.seconds.inference).c_str());
  return r;
}

void add_fold_aggregates(Report& report, const ExperimentSpec& e, std::size_t first_run) {
  for (const VariantSpec& v : e.variants) {
    std::vector<const RunResult*> runs;
    for (std::size_t i = first_run; i < report.runs.size(); ++i)
      if (report.runs[i].variant == v.name) runs.push_back(&report.runs[i]);
    if (runs.empty()) continue;
    FoldAggregate agg;
    agg.experiment = e.name;
    agg.variant = v.name;
    agg.mode = to_string(v.mode);
    agg.folds = static_cast<int>(runs.size());
    auto add = [&](const std::string& name, auto get) {
      std::vector<double> vals;
      for (const RunResult* r : runs) {
        std::optional<double> x = get(*r);
        if (!x) return;  // undefined in some fold: no summary, the per-fold values say why
        vals.push_back(*x);
      }
      agg.metrics.emplace(name, metrics::summarize_folds(vals));
    };
    add("accuracy", [](const RunResult& r) { return std::optional<double>(r.metrics.accuracy); });
    add("precision", [](const RunResult& r) { return std::optional<double>(r.metrics.precision); });
    add("recall", [](const RunResult& r) { return std::optional<double>(r.metrics.recall); });
    add("f1", [](const RunResult& r) { return std::optional<double>(r.metrics.f1); });
    add("auroc", [](const RunResult& r) { return r.metrics.auroc.value; });
    add("train_seconds", [](const RunResult& r) { return std::optional<double>(r.seconds.train); });
    add("inference_seconds", [](const RunResult& r) { return std::optional<double>(r.seconds.inference); });
    if (v.mode == Mode::kEncrypted)
      add("agreement", [](const RunResult& r) {
        return r.agreement ? std::optional<double>(r.agreement->agreement_rate) : std::nullopt;
      });
    report.folds.push_back(std::move(agg));
  }
}

void run_experiment(const Spec& spec, const ExperimentSpec& e, ThreadPool& pool, const RunOptions& opts,
                    Report& report) {
  say(opts.log, "== experiment %s: %s, %s%s ==\n", e.name.c_str(), e.dataset.c_str(), e.model.c_str(),
      e.folds >= 2 ? (", " + std::to_string(e.folds) + "-fold cross-validation").c_str() : "");
  Prepared p = prepare_input(e);
  const data::DatasetLocation loc = data::locate_dataset(e.dataset);
  // A model file evaluated as trained: on the images held out from its training, when this is
  // the data set it was trained on and the spec names no split.
  std::vector<std::string> notes;
  if (p.file_model && !e.train && e.split.empty() && !e.train_fraction_given) {
    const auto& rec = p.file_model->spec().data;
    const std::string identity = data::dataset_identity(loc);
    if (rec && rec->identity == identity) {
      train::apply_held_out_split(*rec, p.load);
      if (e.keep_duplicates) p.load.keep_cross_duplicates = true;
      notes.push_back("the images held out when the model file was trained (its data record)");
    } else if (rec) {
      report.warnings.push_back("experiment '" + e.name + "': the data set differs from the one the model file was "
                                "trained on ('" + rec->dataset + "'): its recorded split does not apply");
    } else {
      report.warnings.push_back("experiment '" + e.name + "': the model file carries no split record (format 1): "
                                "its test images may include images it was trained on");
    }
  }
  // Every encrypted variant's plan (parameters, rotation keys, memory) is checked before any
  // image is decoded, so that a refusal comes at once.
  {
    const nn::Model probe = initial_model(e, p, data::dataset_class_names(loc));
    for (const VariantSpec& v : e.variants) {
      if (v.mode != Mode::kEncrypted) continue;
      he::CompileOptions co;
      co.packing = v.packing;
      co.images = v.limit ? v.limit : (e.test_limit ? e.test_limit : 1);
      co.scale_bits = v.scale_bits;
      co.params = v.params;
      try {
        (void)he::compile(probe, co);
      } catch (const Error& err) {
        throw Error("experiment '" + e.name + "', variant '" + v.name + "': " + err.what());
      }
    }
  }
  const auto t_load = Clock::now();
  data::Dataset ds = data::load_dataset(loc, p.load);
  for (const std::string& n : ds.notes)
    // k-fold reads the whole training split as "train, no test set": the folds make the tests.
    if (e.folds < 2 || n.rfind("no test set", 0) != 0) notes.push_back(n);
  const double load_seconds = seconds_since(t_load);
  for (const auto& bad : ds.skipped)
    report.warnings.push_back("experiment '" + e.name + "': skipped unreadable image " + bad.path);
  const nn::Model initial = initial_model(e, p, ds.train.class_names);

  struct Split {
    data::ImageSet train, test;
    std::optional<int> fold;
  };
  std::vector<Split> splits;
  if (e.folds >= 2) {
    data::ImageSet all = limited(ds.train, e.train_limit, e.seed, "training images", &notes);
    if (static_cast<std::size_t>(e.folds) > all.size())
      throw Error("experiment '" + e.name + "': " + std::to_string(e.folds) + " folds need at least as many images");
    // Copies of one image stay in one fold: otherwise a fold could test on its own training images.
    const bool grouped = all.content.size() == all.size();
    auto folds = data::kfold_splits(all.labels, e.folds, e.seed, grouped ? &all.content : nullptr);
    const std::size_t copies =
        grouped ? all.size() - std::set<std::string>(all.content.begin(), all.content.end()).size() : 0;
    if (copies)
      notes.push_back(std::to_string(copies) + " extra copies of images are kept in the same fold as their original");
    else if (!grouped)
      report.warnings.push_back("experiment '" + e.name + "': image contents unknown, so copies of an image "
                                "may fall in different folds");
    for (std::size_t k = 0; k < folds.size(); ++k)
      splits.push_back({data::subset(all, folds[k].train),
                        limited(data::subset(all, folds[k].test), e.test_limit, e.seed, "test images of the fold",
                                k == 0 ? &notes : nullptr),
                        static_cast<int>(k)});
  } else {
    splits.push_back({std::move(ds.train), std::move(ds.test), std::nullopt});
  }
  say(opts.log, "  data %s: %zu training, %zu test images, %s (loaded in %s)\n", ds.location.path.c_str(),
      splits[0].train.size(), splits[0].test.size(), describe_input(p.load).c_str(), format_seconds(load_seconds).c_str());
  const std::string split_text =
      e.folds >= 2 ? std::to_string(e.folds) + "-fold stratified cross-validation of " +
                         (ds.split.train_split.empty() ? std::string("every image") : "'" + ds.split.train_split + "'") +
                         ", seed " + std::to_string(e.seed)
                   : ds.split.describe();
  say(opts.log, "  split: %s\n", split_text.c_str());
  for (const std::string& n : notes) say(opts.log, "  note: %s\n", n.c_str());

  const std::size_t first_run = report.runs.size();
  for (const Split& s : splits) {
    if (s.train.size() == 0 && e.train && e.train->epochs > 0)
      throw Error("experiment '" + e.name + "': the training split is empty");
    const std::string label = e.name + (s.fold ? " fold " + std::to_string(*s.fold + 1) : "");
    Trained t = is_private_training(e) ? [&] {
      PrivateTraining pt = train_private(e, initial, s.train, s.test, label, opts.log);
      return Trained{std::move(pt.model), std::move(pt.info), std::nullopt, {}};
    }()
                                       : train_on(e, initial, s.train, label, opts.log);
    if (t.teacher && s.test.size() > 0) {
      // The teacher is the ReLU network trained with the same options on the same images (the
      // ReLU reference of this split), so its score is logged: one run gives both accuracies.
      const train::Evaluation te = train::evaluate(*t.teacher, s.test, e.train ? e.train->threads : 1);
      say(opts.log, "  %-34s accuracy %6.2f%%  (the distillation teacher, ReLU)\n", (label + " teacher").c_str(),
          100 * te.accuracy);
    }
    // The ReLU teacher as a run of its own, for the variants that score it (teacher = true).
    std::optional<Trained> teacher_run;
    if (t.teacher) teacher_run = Trained{*t.teacher, t.teacher_info, std::nullopt, {}};
    for (const VariantSpec& v : e.variants) {
      std::vector<std::string> variant_notes = notes;
      const data::ImageSet test = limited(s.test, v.limit, e.seed + 3, "test images", &variant_notes);
      if (v.teacher && !teacher_run)
        throw Error("experiment '" + e.name + "', variant '" + v.name +
                    "': evaluates the distillation teacher, but none was trained (epochs = 0)");
      RunResult r = evaluate_variant(spec, e, v, v.teacher ? *teacher_run : t, test, pool, opts, s.fold);
      r.split = split_text;
      r.data_notes = std::move(variant_notes);
      r.duplicate_policy = ds.duplicates.kept ? "keep" : "drop";
      r.duplicates_in_test = ds.duplicates.test_images;
      r.duplicates_dropped = ds.duplicates.dropped;
      r.dataset_identity = ds.identity;
      r.dataset = ds.location.name;
      r.dataset_path = ds.location.path;
      r.train_images = s.train.size();
      r.input = describe_input(p.load);
      r.seconds.load = load_seconds;
      report.runs.push_back(std::move(r));
    }
  }
  if (e.folds >= 2) add_fold_aggregates(report, e, first_run);
}

}  // namespace

Report run_spec(const Spec& spec, const RunOptions& opts) {
  const auto t0 = Clock::now();
  check_datasets(spec);
  Report report;
  report.spec_path = spec.path;
  report.spec_name = spec.name;
  report.description = spec.description;
  report.command = opts.command;
  report.seed = spec.seed;
  report.bootstrap_resamples = spec.bootstrap_resamples;
  report.confidence = spec.confidence;
  report.environment = describe_environment(opts.threads);
  ThreadPool pool(opts.threads > 0 ? static_cast<std::size_t>(opts.threads) : 0);
  for (const ExperimentSpec& e : spec.experiments) {
    try {
      run_experiment(spec, e, pool, opts, report);
    } catch (const Error& err) {
      const std::string what = err.what();
      if (what.find("experiment '" + e.name + "'") != std::string::npos) throw;
      throw Error("experiment '" + e.name + "': " + what);
    }
  }
  for (const ComparisonSpec& c : spec.comparisons) {
    auto find = [&](const std::string& label) -> const RunResult& {
      for (const RunResult& r : report.runs)
        if (r.label() == label) return r;
      throw Error("comparison: no run named '" + label + "'");
    };
    const RunResult& a = find(c.a);
    const RunResult& b = find(c.b);
    if (a.truth != b.truth)
      throw Error("comparison " + c.a + " vs " + c.b + ": the runs were tested on different images (" +
                  std::to_string(a.truth.size()) + " and " + std::to_string(b.truth.size()) +
                  "); give them the same data set, split, seed and limits");
    report.comparisons.push_back({c.a, c.b, a.metrics.accuracy, b.metrics.accuracy,
                                  metrics::compare_predictions(a.logits, b.logits, a.truth)});
  }
  for (const RunResult& r : report.runs)
    for (const std::string& w : r.metrics.warnings) report.warnings.push_back(r.label() + ": " + w);
  report.seconds = seconds_since(t0);
  return report;
}

}  // namespace hemi::report
