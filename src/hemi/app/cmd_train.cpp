// `hemi train`: train a built-in architecture (or a TorchScript module) on a data set,
// evaluate it on the held-out split and write the model file.
// `hemi model info`: print a model file's architecture.
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "hemi/app/command.h"
#include "hemi/base/clock.h"
#include "hemi/data/dataset.h"
#include "hemi/nn/architectures.h"
#include "hemi/nn/model_file.h"
#include "hemi/report/train_options.h"
#include "hemi/train/data_record.h"
#include "hemi/train/dp_sgd.h"
#include "hemi/train/torchscript_import.h"
#include "hemi/train/trainer.h"

namespace hemi::app {
namespace {

struct TrainArgs {
  std::string data;
  std::string arch = "seed-cnn";
  std::string activation = "default";
  std::string widths;  // medcnn: "16,32,64,128" (empty = its own)
  std::string torchscript;
  std::optional<int> epochs, batch;
  double lr = 0.001;
  std::uint64_t seed = 0;
  bool noise_sim = false;
  double noise_factor = 1000.0;
  std::string channels, size;
  std::vector<float> mean, stddev;
  std::string split = "auto";
  bool keep_duplicates = false;
  int threads = 0;
  std::size_t limit = 0;
  std::string output;
  bool json = false;
  bool float32 = false;
  // DP-SGD (docs/privacy.md): either a target ε or a noise multiplier.
  double dp_epsilon = 0, dp_delta = 0, dp_noise = 0, dp_clip = 1.0;
  bool dp() const { return dp_epsilon > 0 || dp_noise > 0; }
  // The recipe for deeper polynomial networks (docs/training.md, "Training recipe"), in the
  // form a spec's [experiment.train] table has, so that report::train_options translates
  // both. Its epochs, batch size, learning rate, noise and threads are set from the fields above.
  report::TrainSpec recipe;
};

void run_train(const TrainArgs& a) {
  auto t_start = std::chrono::steady_clock::now();
  const bool from_script = !a.torchscript.empty();
  if (a.dp_epsilon < 0 || a.dp_noise < 0 || a.dp_delta < 0)
    throw Error("train: --dp-epsilon, --dp-noise and --dp-delta must be positive");
  if (!a.dp() && a.dp_delta > 0) throw Error("train: --dp-delta needs --dp-epsilon or --dp-noise");
  if (!from_script && !nn::is_architecture(a.arch))
    throw Error("unknown architecture '" + a.arch + "' (known: " + nn::architecture_list() + ")");
  const nn::Activation activation = nn::parse_activation(a.activation);
  if (from_script && activation != nn::Activation::kDefault)
    throw Error("train: --activation applies to built-in architectures (--arch), not to --torchscript");
  const std::vector<int> widths = a.widths.empty() ? std::vector<int>{} : nn::parse_widths(a.widths);
  if (!widths.empty() && (from_script || a.arch != "medcnn"))
    throw Error("train: --widths applies to --arch medcnn only, not to " + (from_script ? std::string("--torchscript") : a.arch));
  const bool recipe = report::uses_recipe(a.recipe);
  if (a.dp() && recipe)
    throw Error("train: DP-SGD (--dp-epsilon/--dp-noise) does not take --batch-norm, --clip, --schedule, "
                "augmentation, --class-weights, --validation, --warm-start or --distill (its clipping is per "
                "example, --dp-clip)");

  // The network's input: the architecture's default, overridden by --channels / --size.
  nn::InputSpec input = from_script ? nn::InputSpec{} : nn::default_input(a.arch);
  data::LoadOptions load;
  load.height = input.height;
  load.width = input.width;
  load.channels = input.color == nn::ColorMode::kRgb ? data::ChannelMode::kRgb : data::ChannelMode::kGray;
  if (!a.channels.empty()) load.channels = data::parse_channel_mode(a.channels);
  if (!a.size.empty()) data::parse_size(a.size, load.height, load.width);
  if (!a.mean.empty()) load.mean = a.mean;
  if (!a.stddev.empty()) load.stddev = a.stddev;
  data::parse_split_choice(a.split, load);
  load.keep_cross_duplicates = a.keep_duplicates;
  load.seed = a.seed;
  load.limit = a.limit;
  data::validate(load);
  input.color = load.channels == data::ChannelMode::kRgb ? nn::ColorMode::kRgb : nn::ColorMode::kGray;
  input.height = load.height;
  input.width = load.width;
  input.mean.clear();
  input.std.clear();
  for (float m : data::channel_means(load)) input.mean.push_back(m);
  for (float s : data::channel_stddevs(load)) input.std.push_back(s);

  auto t_load = std::chrono::steady_clock::now();
  data::Dataset ds = data::load_dataset(a.data, load);
  double load_seconds = seconds_since(t_load);
  if (ds.train.size() == 0) throw Error("train: the training split of '" + a.data + "' is empty");
  if (ds.split.mode == data::SplitMode::kNamed && ds.split.test_split == ds.split.train_split)
    throw Error("train: --split " + a.split + " would test on the training images; choose the test or val split, "
                "or a train fraction");

  FILE* log = a.json ? stderr : stdout;
  std::optional<train::ImportCheck> import_check;
  nn::Model initial = [&] {
    if (from_script) {
      train::ImportOptions io;
      io.input = input;
      io.class_names = ds.train.class_names;
      train::ImportCheck check;
      auto m = train::import_torchscript(a.torchscript, io, &check);
      std::fprintf(log, "imported %s: %zu layers; agrees with the module's forward on %d seeded inputs, max |difference| %.3g (tolerance %.3g)\n",
                   a.torchscript.c_str(), m.layers().size(), check.samples, check.max_difference, check.tolerance);
      import_check = check;
      return m;
    }
    nn::ArchitectureOptions ao;
    ao.input = input;
    ao.class_names = ds.train.class_names;
    ao.seed = a.seed;
    ao.activation = activation;
    ao.widths = widths;
    return nn::build_architecture(a.arch, ao).value();
  }();

  const train::TrainOptions study = train::study_options(ds.location.name);
  report::TrainSpec ts = a.recipe;
  ts.epochs = a.epochs.value_or(study.epochs);
  ts.batch_size = a.batch.value_or(study.batch_size);
  ts.learning_rate = a.lr;
  ts.noise = a.noise_sim;
  ts.noise_factor = a.noise_factor;
  ts.threads = a.threads;
  const train::TrainOptions to = report::train_options(ts, a.seed, nn::to_string(activation));
  train::validate(to);

  std::fprintf(log, "data %s: %zu train, %zu test images, %dx%dx%d (loaded in %.2f s)\n", ds.location.name.c_str(),
               ds.train.size(), ds.test.size(), ds.train.channels, ds.train.height, ds.train.width, load_seconds);
  std::fprintf(log, "split: %s\n", ds.split.describe().c_str());
  for (const std::string& note : ds.notes) std::fprintf(log, "note: %s\n", note.c_str());
  std::fprintf(log, "model %s: %zu parameters, depth %d; %d epochs, batch %d, lr %g, seed %llu%s\n",
               initial.architecture().c_str(), initial.parameter_count(), initial.multiplicative_depth(), to.epochs,
               to.batch_size, to.learning_rate, static_cast<unsigned long long>(to.seed),
               to.noise.enabled ? ", encryption-noise simulation" : "");
  if (recipe || to.train_polynomials)
    std::fprintf(log, "recipe: batch norm %s, trained polynomials %s, gradient clip %s, lr schedule %s, "
                 "augmentation %s, class weights %s, validation %s\n",
                 to.batch_norm ? "on (folded at export)" : "off", to.train_polynomials ? "on" : "off",
                 to.clip_norm > 0 ? std::to_string(to.clip_norm).c_str() : "off", train::to_string(to.schedule.kind),
                 to.augment.describe().c_str(), to.class_weights ? "balanced" : "off",
                 to.validation_fraction > 0 ? (std::to_string(to.validation_fraction) + " of the training images, best epoch kept").c_str() : "off");
  if (to.warm_start_epochs > 0)
    std::fprintf(log, "warm start: epochs 1-%d with ReLU in place of the polynomials, then each polynomial set to "
                 "ReLU's least-squares fit on its pre-activations\n", to.warm_start_epochs);
  if (to.distill.enabled)
    std::fprintf(log, "distillation: a ReLU teacher is trained first on the same images; student loss (1 - %g) CE + "
                 "%g T^2 KL at T %g%s\n", to.distill.alpha, to.distill.alpha, to.distill.temperature,
                 to.distill.start_from_teacher ? "; the student starts from the trained teacher" : "");
  if (to.distill.enabled && to.distill.student_learning_rate > 0)
    std::fprintf(log, "student learning rate %g (the teacher's is %g)\n", to.distill.student_learning_rate,
                 to.learning_rate);
  std::fflush(log);

  auto on_epoch = [&](const train::EpochReport& r) {
    std::fprintf(log, "%sepoch %d/%d  loss %.4f  train accuracy %.2f%%", r.teacher ? "teacher " : (r.relu ? "relu " : ""), r.epoch, r.epochs, r.loss,
                 100 * r.train_accuracy);
    if (r.validated)
      std::fprintf(log, "  validation accuracy %.2f%% loss %.4f", 100 * r.validation_accuracy, r.validation_loss);
    if (to.schedule.kind != train::LrSchedule::kConstant) std::fprintf(log, "  lr %.3g", r.learning_rate);
    std::fprintf(log, "  %.2f s\n", r.seconds);
    std::fflush(log);
  };
  std::optional<train::DpReport> dp;
  train::TrainResult result = [&]() -> train::TrainResult {
    if (!a.dp()) return train::train_model(initial, ds.train, to, on_epoch);
    train::DpOptions dpo;
    dpo.clip = a.dp_clip;
    dpo.noise_multiplier = a.dp_noise;
    dpo.target_epsilon = a.dp_epsilon;
    // δ default: 1e-5, or 1/n for sets smaller than 10^5 (as issue 14 asks).
    dpo.delta = a.dp_delta > 0 ? a.dp_delta : std::min(1e-5, 1.0 / static_cast<double>(ds.train.size()));
    auto planned = train::plan_dp(ds.train.size(), to, dpo);
    std::fprintf(log, "DP-SGD: clip %g, noise multiplier %.4f, Poisson sampling rate %.6f, %lld steps "
                 "(epsilon %.3f, delta %g)\n", planned.clip, planned.noise_multiplier, planned.sampling_rate,
                 static_cast<long long>(planned.steps), planned.epsilon, planned.delta);
    auto r = train::train_model_dp(initial, ds.train, to, dpo, on_epoch);
    dp = r.dp;
    return std::move(r.train);
  }();

  auto t_eval = std::chrono::steady_clock::now();
  train::Evaluation ev = train::evaluate(result.model, ds.test, a.threads);
  double eval_seconds = seconds_since(t_eval);
  nn::ModelSpec spec = result.model.spec();
  spec.data = train::make_data_record(ds, load);
  const nn::Model trained = nn::Model::create(std::move(spec)).value();
  nn::save_model(trained, a.output, a.float32 ? nn::WeightPrecision::kFloat32 : nn::WeightPrecision::kFloat64);

  if (a.json) {
    nlohmann::json j;
    j["dataset"] = ds.location.name;
    j["architecture"] = result.model.architecture();
    j["model"] = a.output;
    j["parameters"] = result.model.parameter_count();
    j["depth"] = result.model.multiplicative_depth();
    j["train_size"] = ds.train.size();
    j["test_size"] = ds.test.size();
    j["epochs"] = to.epochs;
    j["batch_size"] = to.batch_size;
    j["learning_rate"] = to.learning_rate;
    j["seed"] = to.seed;
    j["threads"] = to.threads;
    j["noise_sim"] = to.noise.enabled;
    j["activation"] = nn::to_string(activation);
    j["recipe"] = {{"batch_norm", to.batch_norm},
                   {"train_polynomials", to.train_polynomials},
                   {"clip", to.clip_norm},
                   {"schedule", train::to_string(to.schedule.kind)},
                   {"augmentation", to.augment.describe()},
                   {"class_weights", to.class_weights},
                   {"validation_fraction", to.validation_fraction},
                   {"warm_start_epochs", to.warm_start_epochs},
                   {"distill", to.distill.enabled ? nlohmann::json{{"temperature", to.distill.temperature},
                                                                   {"alpha", to.distill.alpha},
                                                                   {"start_from_teacher", to.distill.start_from_teacher},
                                                                   {"student_learning_rate", to.distill.student_learning_rate},
                                                                   {"teacher_best_epoch", result.teacher_best_epoch}}
                                                  : nlohmann::json(nullptr)}};
    j["best_epoch"] = result.best_epoch;
    j["validation_size"] = result.validation_images;
    j["train_seconds"] = result.seconds;
    j["eval_seconds"] = eval_seconds;
    j["load_seconds"] = load_seconds;
    j["total_seconds"] = seconds_since(t_start);
    j["split"] = ds.split.describe();
    j["notes"] = ds.notes;
    j["duplicates"] = {{"policy", ds.duplicates.kept ? "keep" : "drop"},
                       {"test_images_also_in_train", ds.duplicates.test_images},
                       {"dropped", ds.duplicates.dropped}};
    if (ev.count) {
      j["test_accuracy"] = ev.accuracy;
      j["test_loss"] = ev.loss;
    } else {
      j["test_accuracy"] = nullptr;
      j["test_loss"] = nullptr;
    }
    if (import_check)
      j["import_check"] = {{"samples", import_check->samples},
                           {"max_difference", import_check->max_difference},
                           {"tolerance", import_check->tolerance}};
    nlohmann::json epochs = nlohmann::json::array();
    for (const auto& r : result.epochs)
    {
      nlohmann::json e = {{"epoch", r.epoch}, {"loss", r.loss}, {"train_accuracy", r.train_accuracy},
                          {"seconds", r.seconds}, {"learning_rate", r.learning_rate}};
      if (r.relu) e["relu"] = true;
      if (r.validated) {
        e["validation_accuracy"] = r.validation_accuracy;
        e["validation_loss"] = r.validation_loss;
      }
      epochs.push_back(e);
    }
    j["per_epoch"] = epochs;
    if (dp)
      j["dp"] = {{"epsilon", dp->epsilon},       {"delta", dp->delta},
                 {"noise_multiplier", dp->noise_multiplier}, {"clip", dp->clip},
                 {"sampling_rate", dp->sampling_rate},       {"steps", dp->steps},
                 {"rdp_order", dp->order},                   {"mean_batch", dp->mean_batch},
                 {"clipped_fraction", dp->clipped_fraction}};
    if (!result.epochs.empty()) {
      j["train_loss"] = result.epochs.back().loss;
      j["train_accuracy"] = result.epochs.back().train_accuracy;
    }
    std::printf("%s\n", j.dump().c_str());
  } else {
    if (to.validation_fraction > 0 && !result.epochs.empty())
      std::printf("best epoch %d of %d (validation accuracy %.2f%% on %zu images): its weights are the model's\n",
                  result.best_epoch, to.epochs, 100 * result.epochs[result.best_epoch - 1].validation_accuracy,
                  result.validation_images);
    if (ev.count)
      std::printf("test accuracy %.2f%% (%zu images), test loss %.4f; training %.2f s, evaluation %.2f s\n",
                  100 * ev.accuracy, ev.count, ev.loss, result.seconds, eval_seconds);
    else
      std::printf("no test set (split: %s): nothing was evaluated; training %.2f s\n", ds.split.describe().c_str(),
                  result.seconds);
    if (dp)
      std::printf("privacy: (epsilon %.3f, delta %g)-DP per training example (noise multiplier %.4f, clip %g, "
                  "%lld steps; %.1f%% of example gradients clipped)\n", dp->epsilon, dp->delta, dp->noise_multiplier,
                  dp->clip, static_cast<long long>(dp->steps), 100 * dp->clipped_fraction);
    std::printf("wrote %s\n", a.output.c_str());
  }
}

void setup_train(CLI::App& root) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = root.add_subcommand("train", "Train a model on a data set and write the model file");
  cmd->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // later flags win
  cmd->add_option("--data", args->data, "data set name (mnist, fashion-mnist, brain-mri) or path")->required();
  auto* arch = cmd->add_option("--arch", args->arch, "built-in architecture: seed-cnn, mri-cnn, lenet-1, medcnn")->capture_default_str();
  cmd->add_option("--activation", args->activation,
                  "activation of every activation layer: square (x^2), poly (trained quadratic, starting at ReLU's "
                  "fit), relu (plaintext only: the accuracy reference), default (the network's own: medcnn poly, "
                  "mri-cnn a fixed quadratic, seed-cnn and lenet-1 square)")
      ->capture_default_str();
  cmd->add_option("--widths", args->widths,
                  "medcnn only: its three convolutions' output channels and the dense hidden units, comma-separated "
                  "(default 16,32,64,64; e.g. 16,32,64,128 widens the dense hidden layer)");
  auto* ts = cmd->add_option("--torchscript", args->torchscript,
                             "start from a TorchScript module, scripted or traced (instead of --arch); the import is checked against its forward");
  arch->excludes(ts);
  cmd->add_option("--epochs", args->epochs, "epochs (default: the study's, MNIST 10, brain MRI 20; 0 = evaluate only)");
  cmd->add_option("--batch", args->batch, "batch size (default: the study's, MNIST 64, brain MRI 32)");
  cmd->add_option("--lr", args->lr, "Adam learning rate")->capture_default_str();
  cmd->add_option("--seed", args->seed, "seed for initialization, shuffling, noise and the split")->capture_default_str();
  cmd->add_flag("--noise-sim", args->noise_sim, "simulate encryption noise on the training inputs");
  cmd->add_option("--noise-factor", args->noise_factor, "quantization factor of the noise simulation")->capture_default_str();
  cmd->add_option("--channels", args->channels, "gray or rgb (default: the architecture's)");
  cmd->add_option("--size", args->size, "input size HxW (default: the architecture's)");
  cmd->add_option("--mean", args->mean, "normalization mean, one value or one per channel (default 0.5)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--std", args->stddev, "normalization std, one value or one per channel (default 0.5)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--split", args->split,
                  "auto (the data set's own test split, else 0.8), a train fraction (1 = no test set) or a split "
                  "name (test, val)")
      ->capture_default_str();
  cmd->add_flag("--keep-duplicates", args->keep_duplicates,
                "keep test images whose content is also a training image (default: drop them)");
  cmd->add_option("--threads", args->threads, "threads (0 = every core; 1 = deterministic)")->capture_default_str();
  cmd->add_option("--limit", args->limit, "a seeded stratified sample of at most this many images per split (0 = all)")
      ->capture_default_str();
  cmd->add_option("-o,--output", args->output, "model file to write")->required();
  cmd->add_flag("--float32", args->float32, "store weights as float32 (default float64)");
  cmd->add_flag("--json", args->json, "print one JSON object (progress goes to stderr)");
  auto* dp_eps = cmd->add_option("--dp-epsilon", args->dp_epsilon,
                                 "train with DP-SGD to this epsilon (hemi picks the noise multiplier)");
  auto* dp_noise = cmd->add_option("--dp-noise", args->dp_noise, "train with DP-SGD at this noise multiplier sigma");
  dp_eps->excludes(dp_noise);
  cmd->add_option("--dp-delta", args->dp_delta, "DP delta (default 1e-5, or 1/n for sets smaller than 100000)");
  cmd->add_option("--dp-clip", args->dp_clip, "DP-SGD per-example gradient clip norm C")->capture_default_str();
  cmd->add_flag("--batch-norm", args->recipe.batch_norm,
                "batch norm before every activation while training, folded into the conv/dense before it at export");
  cmd->add_option("--clip", args->recipe.clip, "clip the gradient's global L2 norm to this value (0 = off)")->capture_default_str();
  cmd->add_option("--schedule", args->recipe.schedule, "learning-rate schedule: constant, cosine (to 0 over the epochs), step")
      ->capture_default_str();
  cmd->add_option("--step-epochs", args->recipe.step_epochs, "step schedule: epochs between decays")->capture_default_str();
  cmd->add_option("--step-gamma", args->recipe.step_gamma, "step schedule: factor per decay")->capture_default_str();
  cmd->add_flag("--flip", args->recipe.flip, "augment: random horizontal flips of the training images");
  cmd->add_option("--rotate", args->recipe.rotate, "augment: random rotations by up to this many degrees (0 = off)")
      ->capture_default_str();
  cmd->add_option("--shift", args->recipe.shift, "augment: random shifts (crops) by up to this many pixels (0 = off)")
      ->capture_default_str();
  cmd->add_flag("--class-weights", args->recipe.class_weights,
                "weight the loss by n / (classes * n_c) per class (for imbalanced sets)");
  cmd->add_option("--validation", args->recipe.validation,
                  "hold out this stratified fraction of the training images; keep the epoch with the best validation "
                  "accuracy (0 = off, train on all and keep the last)")
      ->capture_default_str();
  cmd->add_option("--warm-start", args->recipe.warm_start_epochs,
                  "poly: train the first K epochs with ReLU in place of the polynomials, then set each polynomial to "
                  "ReLU's least-squares fit on its pre-activations and go on (0 = off; K < epochs)")
      ->capture_default_str();
  cmd->add_flag("--distill", args->recipe.distill,
                "train a ReLU teacher (same network and recipe) on the same training images first, then distil it "
                "into this network");
  cmd->add_option("--distill-temperature", args->recipe.distill_temperature, "distillation temperature T, in (0, 1000]")
      ->capture_default_str();
  cmd->add_option("--distill-alpha", args->recipe.distill_alpha,
                  "weight of the distillation term, in [0, 1] (1 - alpha weights the cross-entropy)")
      ->capture_default_str();
  cmd->add_flag("--start-from-teacher", args->recipe.start_from_teacher,
                "with --distill: the student starts from the trained teacher's weights (batch norm set to the identity "
                "on its pre-activations, each polynomial to ReLU's least-squares fit) instead of the initial ones");
  cmd->add_option("--student-lr", args->recipe.student_learning_rate,
                  "with --distill: the student's base learning rate (the teacher keeps --lr; 0 = --lr)")
      ->capture_default_str();
  cmd->callback([args] { run_train(*args); });
}

void setup_model(CLI::App& root) {
  auto* cmd = root.add_subcommand("model", "Inspect model files");
  cmd->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* info = cmd->add_subcommand("info", "Print a model's input, layers, shapes, parameters and depth");
  info->add_option("MODEL", *path, "model file")->required();
  info->add_flag("--json", *json, "print one JSON object");
  info->callback([path, json] {
    nn::Model m = nn::load_model(*path);
    if (!*json) {
      std::printf("%s", m.describe().c_str());
      return;
    }
    nlohmann::json j;
    j["architecture"] = m.architecture();
    j["input"] = {{"color", nn::to_string(m.input().color)},
                  {"height", m.input().height},
                  {"width", m.input().width},
                  {"mean", m.input().mean},
                  {"std", m.input().std}};
    j["classes"] = m.class_names();
    nlohmann::json layers = nlohmann::json::array();
    for (std::size_t i = 0; i < m.layers().size(); ++i)
      layers.push_back({{"kind", nn::layer_kind(m.layers()[i])},
                        {"output", m.shapes()[i].to_string()},
                        {"parameters", nn::parameter_count(m.layers()[i])},
                        {"depth", nn::layer_depth(m.layers()[i])}});
    j["layers"] = layers;
    j["parameters"] = m.parameter_count();
    j["depth"] = m.multiplicative_depth();
    if (const auto& d = m.spec().data) {
      j["data"] = {{"dataset", d->dataset},         {"identity", d->identity},
                   {"split_mode", d->split_mode},   {"train_split", d->train_split},
                   {"test_split", d->test_split},   {"train_fraction", d->train_fraction},
                   {"seed", d->seed},               {"train_images", d->train_images},
                   {"test_images", d->test_images}, {"train_limit", d->train_limit},
                   {"duplicates", d->kept_cross_duplicates ? "keep" : "drop"}};
    } else {
      j["data"] = nullptr;
    }
    std::printf("%s\n", j.dump().c_str());
  });
}

}  // namespace

HEMI_REGISTER_COMMAND("train", 40, setup_train);
HEMI_REGISTER_COMMAND("model", 41, setup_model);

}  // namespace hemi::app
