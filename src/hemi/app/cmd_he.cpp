// hemi plan: compile a model into an encrypted plan and explain it.
// hemi eval: evaluate a model on a data set's held-out split, plaintext or encrypted.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "hemi/app/command.h"
#include "hemi/app/params_options.h"
#include "hemi/base/thread_pool.h"
#include "hemi/data/dataset.h"
#include "hemi/he/compiler.h"
#include "hemi/he/session.h"
#include "hemi/nn/interpreter.h"
#include "hemi/nn/model_file.h"

namespace hemi::app {
namespace {

std::optional<he::Packing> parse_packing(const std::string& s) {
  if (s == "auto") return std::nullopt;
  if (s == "throughput") return he::Packing::kThroughput;
  if (s == "latency") return he::Packing::kLatency;
  throw Error("--packing must be auto, throughput or latency, not '" + s + "'");
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// ---- hemi plan ----

struct PlanArgs {
  std::string model, packing = "auto", output;
  std::size_t images = 1;
  int scale_bits = 0;
  bool json = false;
};

void run_plan(const PlanArgs& a) {
  nn::Model model = nn::load_model(a.model);
  he::CompileOptions o;
  o.packing = parse_packing(a.packing);
  o.images = a.images;
  o.scale_bits = a.scale_bits;
  he::Plan plan = he::compile(model, o);
  if (!a.output.empty()) he::save_plan(plan, a.output);
  if (a.json) std::printf("%s\n", plan.to_json().c_str());
  else std::printf("%s", plan.describe().c_str());
  if (!a.output.empty() && !a.json) std::printf("plan written to %s\n", a.output.c_str());
}

// ---- hemi eval ----

struct EvalArgs {
  std::string model, data, mode = "encrypted", packing = "auto";
  std::size_t limit = 0;
  int threads = 0, scale_bits = 0;
  bool json = false, quiet = false;
};

data::LoadOptions load_options_for(const nn::Model& model) {
  data::LoadOptions o;
  const nn::InputSpec& in = model.input();
  o.height = in.height;
  o.width = in.width;
  o.channels = in.color == nn::ColorMode::kRgb ? data::ChannelMode::kRgb : data::ChannelMode::kGray;
  o.mean.assign(in.mean.begin(), in.mean.end());
  o.stddev.assign(in.std.begin(), in.std.end());
  return o;
}

void run_eval(const EvalArgs& a) {
  using Clock = std::chrono::steady_clock;
  if (a.mode != "plain" && a.mode != "encrypted") throw Error("--mode must be plain or encrypted, not '" + a.mode + "'");
  nn::Model model = nn::load_model(a.model);
  data::Dataset ds = data::load_dataset(a.data, load_options_for(model));
  data::ImageSet& test = ds.test;
  if (test.image_values() != model.input_shape().size())
    throw Error("eval: the data set's images have " + std::to_string(test.image_values()) + " values, the model expects " +
                std::to_string(model.input_shape().size()));
  const std::size_t count = a.limit ? std::min(a.limit, test.size()) : test.size();
  std::vector<int> labels(test.labels.begin(), test.labels.begin() + static_cast<long>(count));
  nlohmann::json j = {{"model", a.model}, {"data", ds.location.name}, {"data_path", ds.location.path},
                      {"mode", a.mode}, {"images", count}};
  if (a.mode == "plain") {
    const auto t = Clock::now();
    ThreadPool pool(a.threads > 0 ? static_cast<std::size_t>(a.threads) : 0);
    nn::BatchOutput out = nn::forward_batch(model, {test.pixels.data(), count, model.input_shape()}, &pool);
    const double secs = std::chrono::duration<double>(Clock::now() - t).count();
    const double acc = nn::accuracy(out, labels);
    j["accuracy"] = acc;
    j["seconds"] = {{"evaluate", secs}, {"total", secs}};
    j["images_per_second"] = static_cast<double>(count) / secs;
    j["threads"] = pool.size();
    j["peak_memory_mib"] = peak_rss_mib();
    if (a.json) std::printf("%s\n", j.dump(2).c_str());
    else std::printf("plaintext %s on %zu images of %s: accuracy %.2f%%, %.3f s (%.0f images/s)\n", model.architecture().c_str(),
                     count, ds.location.name.c_str(), 100 * acc, secs, static_cast<double>(count) / secs);
    return;
  }
  he::SessionOptions so;
  so.packing = parse_packing(a.packing);
  so.threads = a.threads;
  so.scale_bits = a.scale_bits;
  const auto t0 = Clock::now();
  if (!a.quiet)
    so.progress = [&](std::size_t done, std::size_t all) {
      const double el = std::chrono::duration<double>(Clock::now() - t0).count();
      std::fprintf(stderr, "\r  encrypted evaluation: %zu/%zu images, %.1f s, ETA %.1f s   ", done, all, el,
                   el / static_cast<double>(done) * static_cast<double>(all - done));
      if (done == all) std::fprintf(stderr, "\n");
    };
  he::SessionResult r = he::run_encrypted(model, test.pixels.data(), count, labels, so);
  auto params = ckks::Params::create(r.plan.params).value();
  j["packing"] = he::to_string(r.plan.packing);
  j["accuracy"] = r.accuracy;
  j["plain_accuracy"] = r.plain_accuracy;
  j["agreement"] = r.agreement;
  j["max_logit_error"] = r.max_logit_error;
  j["seconds"] = {{"keygen", r.seconds.keygen}, {"encrypt", r.seconds.encrypt}, {"evaluate", r.seconds.evaluate},
                  {"decrypt", r.seconds.decrypt}, {"total", r.seconds.total}, {"plain", r.plain_seconds}};
  j["images_per_second"] = static_cast<double>(count) / r.seconds.total;
  j["bytes_up_per_image"] = r.bytes_up_per_image;
  j["bytes_down_per_image"] = r.bytes_down_per_image;
  j["eval_key_bytes"] = r.eval_key_bytes;
  j["secret_key_bytes"] = r.secret_key_bytes;
  j["peak_memory_mib"] = peak_rss_mib();
  j["threads"] = r.threads;
  j["ckks"] = {{"n", params.n()}, {"q_bits", r.plan.params.q_bits}, {"p_bits", r.plan.params.p_bits},
               {"log_scale", r.plan.params.log_scale}, {"log2_qp", params.log2_qp()},
               {"security_bits", params.security_bits()}, {"insecure", params.insecure()}};
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("encrypted %s on %zu images of %s (%s packing, N = %zu, %d-bit secure, %d threads)\n",
              model.architecture().c_str(), count, ds.location.name.c_str(), he::to_string(r.plan.packing), params.n(),
              params.security_bits(), r.threads);
  std::printf("  accuracy %.2f%% (plaintext %.2f%%), agreement with plaintext %.2f%%, max |logit error| %.2e\n",
              100 * r.accuracy, 100 * r.plain_accuracy, 100 * r.agreement, r.max_logit_error);
  std::printf("  time: keygen %.2f s, encrypt %.2f s, evaluate %.2f s, decrypt %.2f s, total %.2f s (%.1f images/s)\n",
              r.seconds.keygen, r.seconds.encrypt, r.seconds.evaluate, r.seconds.decrypt, r.seconds.total,
              static_cast<double>(count) / r.seconds.total);
  std::printf("  per image: %.1f KiB up, %.1f KiB down; evaluation keys %.1f MiB; peak memory %.0f MiB\n",
              r.bytes_up_per_image / 1024, r.bytes_down_per_image / 1024, static_cast<double>(r.eval_key_bytes) / 1048576.0,
              peak_rss_mib());
}

void setup(CLI::App& root) {
  auto pa = std::make_shared<PlanArgs>();
  auto* plan = root.add_subcommand("plan", "Compile a model into an encrypted-inference plan and explain it");
  plan->add_option("--model", pa->model, "model file (from hemi train)")->required();
  plan->add_option("--packing", pa->packing, "auto (default), throughput or latency");
  plan->add_option("--images", pa->images, "how many images the plan will serve (for --packing auto; default 1)");
  plan->add_option("--scale-bits", pa->scale_bits, "CKKS scale 2^BITS (default: automatic)");
  plan->add_option("-o,--output", pa->output, "write the plan (JSON) to this file");
  plan->add_flag("--json", pa->json, "print the plan as JSON");
  plan->callback([pa] { run_plan(*pa); });

  auto ea = std::make_shared<EvalArgs>();
  auto* ev = root.add_subcommand("eval", "Evaluate a model on a data set's test split, plaintext or encrypted");
  ev->add_option("--model", ea->model, "model file (from hemi train)")->required();
  ev->add_option("--data", ea->data, "mnist, fashion-mnist, brain-mri, or a path")->required();
  ev->add_option("--mode", ea->mode, "plain or encrypted (default)");
  ev->add_option("--packing", ea->packing, "auto (default), throughput or latency");
  ev->add_option("--limit", ea->limit, "evaluate only the first K test images");
  ev->add_option("--threads", ea->threads, "threads (default: every core)");
  ev->add_option("--scale-bits", ea->scale_bits, "CKKS scale 2^BITS (default: automatic)");
  ev->add_flag("--json", ea->json, "print one JSON object");
  ev->add_flag("--quiet", ea->quiet, "no progress on stderr");
  ev->callback([ea] { run_eval(*ea); });
}

HEMI_REGISTER_COMMAND("plan", 40, setup);

}  // namespace
}  // namespace hemi::app
