// hemi plan: compile a model into an encrypted plan and explain it.
// hemi eval: evaluate a model on the images held out from its training (or an explicit split),
// plaintext or encrypted, with the full classification metrics; under CKKS (default: the float
// model) or BFV (--scheme bfv: the integer-quantized model, exact; docs/bfv.md).
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <nlohmann/json.hpp>

#include "hemi/app/command.h"
#include "hemi/app/params_options.h"
#include "hemi/base/clock.h"
#include "hemi/base/thread_pool.h"
#include "hemi/data/dataset.h"
#include "hemi/he/compiler.h"
#include "hemi/he/cost_model.h"
#include "hemi/he/session.h"
#include "hemi/nn/interpreter.h"
#include "hemi/metrics/classification.h"
#include "hemi/nn/model_file.h"
#include "hemi/quant/session.h"
#include "hemi/report/metrics_format.h"
#include "hemi/train/data_record.h"

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

// The resident memory now (the baseline the cost model's memory prediction adds to).
double current_rss_mib() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

// The cost model's line under a plan: the path and CPU factor it used and how the factor was
// obtained, and for a latency plan with a plaintext cache the one-off cost of filling it (the
// first image pays it).
std::string cost_model_note(const he::Plan& plan) {
  const he::CostModel& m = he::cost_model();
  const std::size_t n = std::size_t{1} << plan.params.log_n;
  char buf[320];
  std::snprintf(buf, sizeof buf, "  cost model: %s path, this CPU %.2fx the reference (%s)", m.path, m.cpu_factor,
                m.how().c_str());
  std::string s = buf;
  if (plan.plaintext_cache_bytes) {
    const std::vector<std::uint64_t> kept = he::cached_encodes(plan.layers, n, plan.plaintext_cache_bytes);
    std::uint64_t total = 0;
    for (std::uint64_t k : kept) total += k;
    std::snprintf(buf, sizeof buf, "; the cache keeps %llu plaintexts, encoded once: +%.2f s for the first image",
                  static_cast<unsigned long long>(total), he::predict_cache_fill_seconds(plan.layers, n, kept));
    s += buf;
  }
  return s + "\n";
}

// The cost model against a CKKS run. Time: the plan's single-thread prediction for every image
// (latency, plus filling the plaintext cache once) or batch, against the CPU seconds of every
// thread from the first image to the last, less the client's encryption and decryption (timed
// on their own). Memory: the resident memory before the session plus the plan's server memory
// (or, if larger, the moment the server holds the keys and the client its copies), against the
// peak.
nlohmann::json cost_check(const he::SessionResult& r, std::size_t images, double rss_before_mib, double cpu_seconds) {
  const he::Plan& p = r.plan;
  const std::size_t n = std::size_t{1} << p.params.log_n;
  const bool thr = p.packing == he::Packing::kThroughput;
  const std::size_t units = thr ? (images + p.images_per_batch - 1) / p.images_per_batch : images;
  const double predicted = p.predicted_seconds * static_cast<double>(units) +
                           (thr ? 0.0 : he::predict_cache_fill_seconds(p.layers, n, p.plaintext_cache_bytes));
  const double measured = std::max(0.0, cpu_seconds - r.seconds.encrypt - r.seconds.decrypt);
  const double predicted_peak = he::predict_peak_bytes(p, rss_before_mib * 1048576.0) / 1048576.0;
  const double peak = peak_rss_mib();
  const he::CostModel& m = he::cost_model();
  return {{"path", m.path},
          {"cpu_factor", m.cpu_factor},
          {"cpu_factor_pinned", m.pinned},
          {"cpu_factor_how", m.how()},
          {"units", units},
          {"predicted_seconds", predicted},
          {"measured_cpu_seconds", measured},
          {"measured_wall_seconds", r.seconds.evaluate},
          {"threads", r.threads},
          {"time_ratio", predicted > 0 ? measured / predicted : 0.0},
          {"rss_before_mib", rss_before_mib},
          {"predicted_peak_mib", predicted_peak},
          {"measured_peak_mib", peak},
          {"memory_ratio", predicted_peak > 0 ? peak / predicted_peak : 0.0}};
}

// ---- hemi plan ----

// The server's memory limits (issue 12): 0 keeps the compiler's defaults.
struct MemoryArgs {
  std::size_t server_memory_mib = 0, plaintext_cache_mib = 0;
  bool cache_given = false;
  void apply(he::CompileOptions& o) const {
    if (server_memory_mib) o.max_server_memory = server_memory_mib << 20;
    if (cache_given) o.plaintext_cache_bytes = plaintext_cache_mib << 20;
  }
  void add_to(CLI::App* app) {
    app->add_option("--server-memory-mib", server_memory_mib,
                    "refuse a latency plan whose server would hold more (default 8192)");
    app->add_option_function<std::size_t>(
        "--plaintext-cache-mib",
        [this](std::size_t v) {
          plaintext_cache_mib = v;
          cache_given = true;
        },
        "latency, channel-packed layout: encoded weights the server keeps (default 1024; the rest is "
        "encoded for every image)");
  }
};

struct PlanArgs {
  std::string model, packing = "auto", output;
  MemoryArgs memory;
  std::size_t images = 1;
  int scale_bits = 0;
  bool json = false;
};

void run_plan(const PlanArgs& a) {
  he::cost_model();  // calibrated (or HEMI_COST_CPU_FACTOR checked) first, before any other work
  nn::Model model = nn::load_model(a.model);
  he::CompileOptions o;
  o.packing = parse_packing(a.packing);
  o.images = a.images;
  o.scale_bits = a.scale_bits;
  a.memory.apply(o);
  he::Plan plan = he::compile(model, o);
  if (!a.output.empty()) he::save_plan(plan, a.output);
  if (a.json) std::printf("%s\n", plan.to_json().c_str());
  else std::printf("%s%s", plan.describe().c_str(), cost_model_note(plan).c_str());
  if (!a.output.empty() && !a.json) std::printf("plan written to %s\n", a.output.c_str());
}

// ---- hemi eval ----

struct EvalArgs {
  std::string model, data, mode = "encrypted", packing = "auto", split, scheme = "ckks";
  MemoryArgs memory;
  int weight_bits = quant::kDefaultWeightBits, input_bits = quant::kDefaultInputBits;
  bool bits_given = false, scale_bits_given = false;
  std::optional<std::uint64_t> seed;
  std::size_t limit = 0;
  int threads = 0, scale_bits = 0;
  bool json = false, quiet = false, keep_duplicates = false;
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

std::string short_id(const std::string& id) { return id.substr(0, std::min<std::size_t>(id.size(), 19)); }

// Which images to evaluate (docs/experiments.md, "Evaluation protocol"): an explicit --split;
// else the images held out when the model was trained (its data record), when the data set is
// the one it was trained on; else the data set's own test split, or every image of a plain
// folder the model never saw. Says what it chose in `notes` and what is doubtful in `warnings`.
data::LoadOptions choose_split(const EvalArgs& a, const nn::Model& model, const data::DatasetLocation& loc,
                               const std::string& identity, std::vector<std::string>& notes,
                               std::vector<std::string>& warnings) {
  data::LoadOptions o = load_options_for(model);
  const auto& rec = model.spec().data;
  const bool same_data = rec && rec->identity == identity;
  if (!a.split.empty()) {
    data::parse_split_choice(a.split, o);
    o.seed = rec ? rec->seed : 0;
    notes.push_back("split chosen with --split " + a.split);
    if (same_data && o.split_mode == data::SplitMode::kFraction && rec->split_mode == "fraction" &&
        (o.train_fraction != rec->train_fraction))
      warnings.push_back("--split " + a.split + " differs from the training split (fraction " +
                         nlohmann::json(rec->train_fraction).dump() + "): some test images may have been trained on");
  } else if (same_data) {
    train::apply_held_out_split(*rec, o);
    notes.push_back("the images held out when the model was trained (recorded in the model file)");
  } else if (rec) {
    warnings.push_back("the data set differs from the one the model was trained on (trained on '" + rec->dataset +
                       "', " + short_id(rec->identity) + "; this is '" + loc.name + "', " + short_id(identity) +
                       "): the recorded split does not apply");
    if (loc.splits.empty()) {
      o.split_mode = data::SplitMode::kFraction;
      o.train_fraction = 0.0;
      notes.push_back("every image of a data set the model was not trained on");
    }
  } else {
    warnings.push_back("the model file carries no split record (written by an older hemi, format 1): evaluating the "
                       "data set's default split, which may contain images the model was trained on");
  }
  if (a.seed) o.seed = *a.seed;
  if (a.keep_duplicates) o.keep_cross_duplicates = true;
  o.test_limit = a.limit;
  o.load_train = false;
  return o;
}

void run_eval(const EvalArgs& a) {
  using Clock = std::chrono::steady_clock;
  const auto t_start = Clock::now();
  if (a.mode != "plain" && a.mode != "encrypted") throw Error("--mode must be plain or encrypted, not '" + a.mode + "'");
  if (a.scheme != "ckks" && a.scheme != "bfv") throw Error("--scheme must be ckks or bfv, not '" + a.scheme + "'");
  const bool bfv = a.scheme == "bfv";
  if (bfv && a.packing != "throughput" && a.packing != "auto" && a.packing != "latency")
    throw Error("--packing must be auto, throughput or latency, not '" + a.packing + "'");
  if (bfv && a.scale_bits_given) throw Error("--scale-bits is a CKKS option; BFV has no scale (use --weight-bits, --input-bits)");
  if (bfv && (a.memory.cache_given || (a.memory.server_memory_mib && a.packing != "latency")))
    throw Error("--plaintext-cache-mib limits CKKS plans, and --server-memory-mib latency plans; --scheme bfv in throughput "
                "packing has its own compiler");
  if (!bfv && a.bits_given) throw Error("--weight-bits and --input-bits quantize for --scheme bfv; CKKS evaluates the float model");
  // The cost model is calibrated (or HEMI_COST_CPU_FACTOR checked) first: before any thread
  // starts or any data is read.
  if (a.mode == "encrypted" && !bfv) he::cost_model();
  nn::Model model = nn::load_model(a.model);
  // The plan and its limits (memory, security) are checked before any image is read.
  std::optional<he::Plan> plan;
  he::CompileOptions co;  // the session compiles with the same options
  if (a.mode == "encrypted" && !bfv) {
    co.packing = parse_packing(a.packing);
    co.scale_bits = a.scale_bits;
    a.memory.apply(co);
    co.images = a.limit ? a.limit : (model.spec().data ? std::max<std::size_t>(1, model.spec().data->test_images) : 1);
    plan = he::compile(model, co);
  }
  const data::DatasetLocation loc = data::locate_dataset(a.data);
  const std::string identity = data::dataset_identity(loc);
  std::vector<std::string> notes, warnings;
  const data::LoadOptions opts = choose_split(a, model, loc, identity, notes, warnings);
  const auto t_load = Clock::now();
  data::Dataset ds = data::load_dataset(loc, opts);
  const double load_seconds = std::chrono::duration<double>(Clock::now() - t_load).count();
  train::check_same_classes(model.class_names(), ds.test.class_names, ds.location.name);
  notes.insert(notes.end(), ds.notes.begin(), ds.notes.end());
  data::ImageSet& test = ds.test;
  if (test.size() == 0)
    throw Error("eval: no test images: " + ds.split.describe() +
                (model.spec().data && model.spec().data->test_images == 0
                     ? "; the model was trained on every image (train fraction 1), none is held out: evaluate another "
                       "data set, or choose --split test / a fraction"
                     : std::string()));
  if (test.image_values() != model.input_shape().size())
    throw Error("eval: the data set's images have " + std::to_string(test.image_values()) + " values, the model expects " +
                std::to_string(model.input_shape().size()));
  const auto& rec = model.spec().data;
  if (rec && rec->identity == identity && a.split.empty() && !ds.test_sample.sampled() &&
      rec->test_images != ds.test_sample.of)
    warnings.push_back("the model file recorded " + std::to_string(rec->test_images) + " held-out images, this split has " +
                       std::to_string(ds.test_sample.of));
  const std::size_t count = test.size();
  const std::vector<int>& labels = test.labels;
  nlohmann::json j = {{"model", a.model}, {"data", ds.location.name}, {"data_path", ds.location.path},
                      {"data_identity", identity}, {"mode", a.mode}, {"images", count},
                      {"split", ds.split.describe()},
                      {"sample", {{"sampled", ds.test_sample.sampled()}, {"drawn", ds.test_sample.drawn},
                                  {"of", ds.test_sample.of}, {"seed", ds.test_sample.seed}}},
                      {"duplicates", {{"policy", ds.duplicates.kept ? "keep" : "drop"},
                                      {"test_images_also_in_train", ds.duplicates.test_images},
                                      {"dropped", ds.duplicates.dropped},
                                      {"within_test", ds.duplicates.within_test}}}};
  std::vector<std::vector<double>> logits;
  nlohmann::json cost;  // CKKS: the cost model's prediction against this run
  double eval_seconds = 0;
  std::optional<he::SessionResult> enc;
  std::optional<quant::SessionResult> benc;
  std::optional<quant::QuantizedModel> qplain;  // --scheme bfv --mode plain: the quantized twin
  double cost_rss_before_mib = 0, cost_cpu_start = 0, cost_cpu_end = 0;
  if (bfv && a.mode == "plain") {
    const auto t = Clock::now();
    auto q = quant::quantize(model, {a.weight_bits, a.input_bits});
    if (!q) throw Error("eval: the model cannot be quantized: " + q.error());
    qplain = q.value();
    ThreadPool pool(a.threads > 0 ? static_cast<std::size_t>(a.threads) : 0);
    logits.assign(count, {});
    const std::size_t values = model.input_shape().size();
    const long double scale = qplain->output_scale();
    pool.parallel_for(0, count, [&](std::size_t i) {
      const auto l = quant::forward_int(*qplain, quant::to_inputs(*qplain, model, test.pixels.data() + i * values));
      for (const auto& v : l) logits[i].push_back(static_cast<double>(static_cast<long double>(v) / scale));
    });
    eval_seconds = std::chrono::duration<double>(Clock::now() - t).count();
    j["threads"] = pool.size();
  } else if (bfv) {
    quant::SessionOptions so;
    so.quant = {a.weight_bits, a.input_bits};
    // auto is throughput: BFV's batch of N images costs the same as one image (docs/bfv.md)
    so.packing = a.packing == "latency" ? quant::BfvPacking::kLatency : quant::BfvPacking::kThroughput;
    if (a.memory.server_memory_mib) so.compile.max_server_bytes = a.memory.server_memory_mib << 20;
    so.threads = a.threads;
    if (!a.quiet)
      so.phase = [](const std::string& name) { std::fprintf(stderr, "  bfv: %s...\n", name.c_str()); };
    benc = quant::run_bfv(model, test.pixels.data(), count, labels, so);
    eval_seconds = benc->seconds.total;
    logits = benc->logits;
    j["threads"] = benc->threads;
  } else if (a.mode == "plain") {
    const auto t = Clock::now();
    ThreadPool pool(a.threads > 0 ? static_cast<std::size_t>(a.threads) : 0);
    nn::BatchOutput out = nn::forward_batch(model, {test.pixels.data(), count, model.input_shape()}, &pool);
    eval_seconds = std::chrono::duration<double>(Clock::now() - t).count();
    const auto k = static_cast<std::size_t>(out.classes);
    for (std::size_t i = 0; i < count; ++i)
      logits.emplace_back(out.logits.begin() + static_cast<long>(i * k), out.logits.begin() + static_cast<long>((i + 1) * k));
    j["threads"] = pool.size();
  } else {
    he::SessionOptions so;
    so.compile = co;
    so.threads = a.threads;
    const auto t0 = Clock::now();
    // The cost model's measured side: the resident memory before the session (its prediction
    // adds the server's to it) and the CPU time from the first image to the last.
    so.phase = [&](const std::string& name) {
      if (name == "compile") cost_rss_before_mib = current_rss_mib();
      if (name == "evaluate") cost_cpu_start = process_cpu_seconds();
      if (name == "plaintext reference") cost_cpu_end = process_cpu_seconds();
      if (a.quiet || name == "evaluate" || name == "plaintext reference") return;
      std::fprintf(stderr, "  encrypted evaluation: %s%s...\n", name.c_str(),
                   name == "setup" ? " (the server encodes the plan's plaintexts)" : "");
    };
    if (!a.quiet) {
      so.progress = [&](std::size_t done, std::size_t all) {
        const double el = std::chrono::duration<double>(Clock::now() - t0).count();
        std::fprintf(stderr, "\r  encrypted evaluation: %zu/%zu images, %.1f s, ETA %.1f s   ", done, all, el,
                     el / static_cast<double>(done) * static_cast<double>(all - done));
        if (done == all) std::fprintf(stderr, "\n");
      };
    }
    enc = he::run_encrypted(model, test.pixels.data(), count, labels, so);
    eval_seconds = enc->seconds.total;
    logits = enc->logits;
    j["threads"] = enc->threads;
  }
  metrics::MetricsOptions mo;
  mo.class_names = model.class_names();
  mo.seed = opts.seed;
  std::vector<std::vector<double>> probs;
  for (const auto& row : logits) probs.push_back(metrics::softmax(row));
  const metrics::ClassificationMetrics m = metrics::evaluate(labels, probs, mo);
  const double total_seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
  j["accuracy"] = m.accuracy;
  j["metrics"] = report::metrics_json(m);
  j["notes"] = notes;
  j["warnings"] = warnings;
  j["peak_memory_mib"] = peak_rss_mib();
  j["scheme"] = a.scheme;
  if (bfv) j["quantization"] = {{"weight_bits", a.weight_bits}, {"input_bits", a.input_bits}};
  if (qplain) j["quantization"]["log2_bound"] = static_cast<double>(std::log2(qplain->max_bound()));
  if (benc) {
    const quant::SessionResult& r = *benc;
    const auto& lit = r.plan.params.front();
    j["packing"] = quant::to_string(r.packing);
    j["plain_accuracy"] = r.plain_accuracy;
    j["plain_reference"] = "quantized";
    j["agreement"] = r.agreement;
    j["exact_agreement"] = r.exact_agreement;
    j["max_logit_error"] = r.max_logit_error;
    const double other = r.seconds.other + std::max(0.0, total_seconds - load_seconds - r.seconds.quantize - r.seconds.total - r.plain_seconds);
    j["seconds"] = {{"load", load_seconds},         {"quantize", r.seconds.quantize}, {"compile", r.seconds.compile},
                    {"keygen", r.seconds.keygen},   {"setup", r.seconds.setup},       {"encrypt", r.seconds.encrypt},
                    {"evaluate", r.seconds.evaluate}, {"decrypt", r.seconds.decrypt}, {"plain", r.plain_seconds},
                    {"other", other},               {"encrypted", r.seconds.total},   {"total", total_seconds},
                    {"encrypt_cpu", r.seconds.encrypt_cpu}, {"evaluate_cpu", r.seconds.evaluate_cpu}};
    j["images_per_second"] = static_cast<double>(count) / r.seconds.total;
    j["bytes_up_per_image"] = r.bytes_up_per_image;
    j["bytes_down_per_image"] = r.bytes_down_per_image;
    j["eval_key_bytes"] = r.eval_key_bytes;
    j["secret_key_bytes"] = r.secret_key_bytes;
    j["quantization"]["log2_bound"] = r.plan.log2_bound;
    j["bfv"] = {{"n", std::size_t{1} << lit.log_n}, {"q_bits", lit.q_bits}, {"p_bits", lit.p_bits}, {"t", r.plan.t},
                {"log2_t_product", r.plan.log2_t_product}, {"download_level", r.plan.download_level},
                {"min_budget_bits", r.min_budget_bits}, {"batches", r.batches}, {"security_bits", lit.security},
                {"plan", r.plan.summary()}};
    if (r.packing == quant::BfvPacking::kLatency)
      j["bfv"]["latency"] = {{"layout", r.layout},
                             {"rotations_per_image", r.rotations_per_image},
                             {"galois_keys_per_prime", r.galois_keys},
                             {"encoded_model_bytes", r.plaintext_bytes},
                             {"seconds_per_image", (r.seconds.encrypt + r.seconds.evaluate + r.seconds.decrypt) / static_cast<double>(count)},
                             {"evaluate_cpu_seconds_per_image", r.seconds.evaluate_cpu / static_cast<double>(count)}};
  } else if (!enc) {
    j["seconds"] = {{"load", load_seconds}, {"evaluate", eval_seconds}, {"total", total_seconds},
                    {"other", std::max(0.0, total_seconds - load_seconds - eval_seconds)}};
    j["images_per_second"] = static_cast<double>(count) / eval_seconds;
  } else {
    const he::SessionResult& r = *enc;
    auto params = ckks::Params::create(r.plan.params).value();
    cost = cost_check(r, count, cost_rss_before_mib, cost_cpu_end - cost_cpu_start);
    j["packing"] = he::to_string(r.plan.packing);
    j["plain_accuracy"] = r.plain_accuracy;
    j["agreement"] = r.agreement;
    j["max_logit_error"] = r.max_logit_error;
    // The phases add up to total: other is whatever no phase covers (plan check, metrics, ...).
    const double other = r.seconds.other + std::max(0.0, total_seconds - load_seconds - r.seconds.total - r.plain_seconds);
    j["seconds"] = {{"load", load_seconds},         {"compile", r.seconds.compile}, {"keygen", r.seconds.keygen},
                    {"setup", r.seconds.setup},     {"encrypt", r.seconds.encrypt}, {"evaluate", r.seconds.evaluate},
                    {"decrypt", r.seconds.decrypt}, {"plain", r.plain_seconds},     {"other", other},
                    {"encrypted", r.seconds.total}, {"total", total_seconds}};
    j["images_per_second"] = static_cast<double>(count) / r.seconds.total;
    j["bytes_up_per_image"] = r.bytes_up_per_image;
    j["bytes_down_per_image"] = r.bytes_down_per_image;
    j["eval_key_bytes"] = r.eval_key_bytes;
    j["secret_key_bytes"] = r.secret_key_bytes;
    j["cost_model"] = cost;
    j["ckks"] = {{"n", params.n()}, {"q_bits", r.plan.params.q_bits}, {"p_bits", r.plan.params.p_bits},
                 {"log_scale", r.plan.params.log_scale}, {"log2_qp", params.log2_qp()},
                 {"security_bits", params.security_bits()}, {"insecure", params.insecure()}};
  }
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
    for (const auto& w : warnings) std::fprintf(stderr, "hemi eval: warning: %s\n", w.c_str());
    return;
  }
  for (const auto& w : warnings) std::fprintf(stderr, "hemi eval: warning: %s\n", w.c_str());
  std::printf("%s %s%s on %zu images of %s\n", a.mode == "plain" ? "plaintext" : "encrypted",
              model.architecture().c_str(), bfv ? (a.mode == "plain" ? " (quantized)" : " (BFV)") : "", count,
              ds.location.name.c_str());
  std::printf("  split: %s\n", ds.split.describe().c_str());
  for (const auto& n : notes) std::printf("  note: %s\n", n.c_str());
  if (!ds.duplicates.test_images) std::printf("  duplicates: %s\n", ds.duplicates.describe().c_str());
  std::printf("%s", report::metrics_text(m).c_str());
  if (qplain)
    std::printf("\n  quantized (the BFV twin, in plaintext): %d-bit inputs, %d-bit weights, largest intermediate 2^%.1f\n",
                a.input_bits, a.weight_bits, static_cast<double>(std::log2(qplain->max_bound())));
  if (benc) {
    const quant::SessionResult& r = *benc;
    std::printf("\n  encrypted: BFV, %s packing, %s, %d threads\n", quant::to_string(r.packing), r.plan.summary().c_str(), r.threads);
    if (r.packing == quant::BfvPacking::kLatency) {
      std::printf("  layout: %s\n", r.layout.c_str());
      const auto n = static_cast<double>(count);
      std::printf("  per image: %.3f s (encrypt %.3f s, evaluate %.3f s with CPU %.3f s, decrypt %.3f s), %zu rotations; "
                  "server setup %.2f s, encoded model %.1f MiB, %zu Galois keys per prime\n",
                  (r.seconds.encrypt + r.seconds.evaluate + r.seconds.decrypt) / n, r.seconds.encrypt / n, r.seconds.evaluate / n,
                  r.seconds.evaluate_cpu / n, r.seconds.decrypt / n, r.rotations_per_image, r.seconds.setup,
                  static_cast<double>(r.plaintext_bytes) / 1048576.0, r.galois_keys);
    }
    std::printf("  quantization: %d-bit inputs, %d-bit weights\n", r.input_bits, r.weight_bits);
    std::printf("  quantized plaintext accuracy %.2f%%, agreement with it %.2f%% (identical integer logits %.2f%%), "
                "budget left %.1f bits\n",
                100 * r.plain_accuracy, 100 * r.agreement, 100 * r.exact_agreement, r.min_budget_bits);
    const double other = r.seconds.other + std::max(0.0, total_seconds - load_seconds - r.seconds.quantize - r.seconds.total - r.plain_seconds);
    std::printf("  time: load %.2f s, quantize %.2f s, compile %.2f s, keygen %.2f s, server setup %.2f s, encrypt %.2f s (CPU %.2f s), evaluate "
                "%.2f s (CPU %.2f s), decrypt %.2f s, plaintext reference %.2f s, other %.2f s; total %.2f s (%.1f "
                "images/s encrypted)\n",
                load_seconds, r.seconds.quantize, r.seconds.compile, r.seconds.keygen, r.seconds.setup, r.seconds.encrypt,
                r.seconds.encrypt_cpu, r.seconds.evaluate, r.seconds.evaluate_cpu, r.seconds.decrypt, r.plain_seconds,
                other, total_seconds, static_cast<double>(count) / r.seconds.total);
    std::printf("  per image: %.1f KiB up, %.1f KiB down; evaluation keys %.1f MiB; peak memory %.0f MiB\n",
                r.bytes_up_per_image / 1024, r.bytes_down_per_image / 1024,
                static_cast<double>(r.eval_key_bytes) / 1048576.0, peak_rss_mib());
    return;
  }
  if (!enc) {
    std::printf("\n  time: load %.2f s, evaluate %.3f s (%.0f images/s), other %.2f s, total %.2f s\n", load_seconds,
                eval_seconds, static_cast<double>(count) / eval_seconds,
                std::max(0.0, total_seconds - load_seconds - eval_seconds), total_seconds);
    return;
  }
  const he::SessionResult& r = *enc;
  auto params = ckks::Params::create(r.plan.params).value();
  std::printf("\n  encrypted: %s packing, N = %zu, %d-bit secure, %d threads\n", he::to_string(r.plan.packing), params.n(),
              params.security_bits(), r.threads);
  std::printf("  plaintext accuracy %.2f%%, agreement with plaintext %.2f%%, max |logit error| %.2e\n",
              100 * r.plain_accuracy, 100 * r.agreement, r.max_logit_error);
  const double other = r.seconds.other + std::max(0.0, total_seconds - load_seconds - r.seconds.total - r.plain_seconds);
  std::printf("  time: load %.2f s, compile %.2f s, keygen %.2f s, server setup %.2f s, encrypt %.2f s, evaluate %.2f s, "
              "decrypt %.2f s, plaintext reference %.2f s, other %.2f s; total %.2f s (%.1f images/s encrypted)\n",
              load_seconds, r.seconds.compile, r.seconds.keygen, r.seconds.setup, r.seconds.encrypt, r.seconds.evaluate,
              r.seconds.decrypt, r.plain_seconds, other, total_seconds, static_cast<double>(count) / r.seconds.total);
  std::printf("  per image: %.1f KiB up, %.1f KiB down; evaluation keys %.1f MiB; peak memory %.0f MiB\n",
              r.bytes_up_per_image / 1024, r.bytes_down_per_image / 1024, static_cast<double>(r.eval_key_bytes) / 1048576.0,
              peak_rss_mib());
  std::printf("  cost model (%s path, one thread, this CPU %.2fx the reference: %s): evaluation predicted %.3f s, measured %.3f CPU-s on %d thread%s (%.2fx); "
              "peak memory predicted %.0f MiB, measured %.0f MiB (%.2fx)\n",
              cost["path"].get<std::string>().c_str(), cost["cpu_factor"].get<double>(),
              cost["cpu_factor_how"].get<std::string>().c_str(), cost["predicted_seconds"].get<double>(),
              cost["measured_cpu_seconds"].get<double>(), r.threads, r.threads == 1 ? "" : "s",
              cost["time_ratio"].get<double>(), cost["predicted_peak_mib"].get<double>(), cost["measured_peak_mib"].get<double>(),
              cost["memory_ratio"].get<double>());
}

// The help's note on the cost model's CPU factor (docs/he.md, "Cost").
constexpr const char* kCostFactorHelp =
    "The predicted time is scaled to this CPU by a calibration (forward NTTs at N = 8192 for about 30 ms, "
    "once per process, against the reference machine); HEMI_COST_CPU_FACTOR=F (a number in [0.25, 8]) pins "
    "the factor instead.";

void setup(CLI::App& root) {
  auto pa = std::make_shared<PlanArgs>();
  auto* plan = root.add_subcommand("plan", "Compile a model into an encrypted-inference plan and explain it");
  plan->add_option("--model", pa->model, "model file (from hemi train)")->required();
  plan->add_option("--packing", pa->packing, "auto (default), throughput or latency");
  plan->add_option("--images", pa->images, "how many images the plan will serve (for --packing auto; default 1)");
  plan->add_option("--scale-bits", pa->scale_bits, "CKKS scale 2^BITS (default: automatic)");
  plan->add_option("-o,--output", pa->output, "write the plan (JSON) to this file");
  plan->add_flag("--json", pa->json, "print the plan as JSON");
  pa->memory.add_to(plan);
  plan->footer(kCostFactorHelp);
  plan->callback([pa] { run_plan(*pa); });

  auto ea = std::make_shared<EvalArgs>();
  auto* ev = root.add_subcommand("eval", "Evaluate a model on a data set's test split, plaintext or encrypted");
  ev->add_option("--model", ea->model, "model file (from hemi train)")->required();
  ev->add_option("--data", ea->data, "mnist, fashion-mnist, brain-mri, or a path")->required();
  ev->add_option("--mode", ea->mode, "plain or encrypted (default)");
  ev->add_option("--scheme", ea->scheme,
                 "ckks (default: the float model, approximate) or bfv (the integer-quantized model, exact; with --mode "
                 "plain the quantized model in plaintext)");
  ev->add_option("--packing", ea->packing, "auto (default), throughput or latency; with --scheme bfv auto is throughput (one image per slot) "
                 "and latency is one image per request with rotations");
  ev->add_option("--weight-bits", ea->weight_bits, "bfv: signed bits per quantized weight (default 5)")
      ->each([ea](const std::string&) { ea->bits_given = true; });
  ev->add_option("--input-bits", ea->input_bits, "bfv: bits per quantized pixel (default 3)")
      ->each([ea](const std::string&) { ea->bits_given = true; });
  ea->memory.add_to(ev);
  ev->add_option("--split", ea->split,
                 "which images: a split name (test, val, train), a train fraction, or auto (default: the images "
                 "held out when the model was trained)");
  ev->add_option("--seed", ea->seed, "seed of a fraction split and of the --limit sample (default: the model's)");
  ev->add_option("--limit", ea->limit, "evaluate a seeded stratified random sample of K test images");
  ev->add_flag("--keep-duplicates", ea->keep_duplicates,
               "keep test images whose content is also a training image (default: drop them)");
  ev->add_option("--threads", ea->threads, "threads (default: every core)");
  ev->add_option("--scale-bits", ea->scale_bits, "CKKS scale 2^BITS (default: automatic; ckks only)")
      ->each([ea](const std::string&) { ea->scale_bits_given = true; });
  ev->add_flag("--json", ea->json, "print one JSON object");
  ev->add_flag("--quiet", ea->quiet, "no progress on stderr");
  ev->footer(kCostFactorHelp);
  ev->callback([ea] { run_eval(*ea); });
}

HEMI_REGISTER_COMMAND("plan", 40, setup);

}  // namespace
}  // namespace hemi::app
