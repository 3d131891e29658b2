#include "hemi/report/output.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hemi/base/error.h"
#include "hemi/report/bfv_runs.h"
#include "hemi/report/metrics_format.h"
#include "hemi/report/privacy_runs.h"
#include "hemi/report/progress.h"

namespace hemi::report {
namespace {

using nlohmann::json;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
std::string pct(double v) { return fmt("%.2f", 100 * v); }
std::string pct_ci(const metrics::Interval& ci) {
  if (!ci.defined()) return "n/a";
  return "[" + pct(*ci.lower) + ", " + pct(*ci.upper) + "]";
}
std::string num_ci(const metrics::Interval& ci) {
  if (!ci.defined()) return "n/a";
  return "[" + fmt("%.4f", *ci.lower) + ", " + fmt("%.4f", *ci.upper) + "]";
}
std::string auroc_text(const metrics::MetricValue& v) { return v.defined() ? fmt("%.4f", *v.value) : "n/a"; }
std::string secs(double s) { return fmt(s < 10 ? "%.3f" : "%.1f", s); }
std::string bytes_text(double b) {
  if (b >= 1048576.0) return fmt("%.1f MiB", b / 1048576.0);
  if (b >= 1024.0) return fmt("%.1f KiB", b / 1024.0);
  return fmt("%.0f B", b);
}
std::string join_ints(const std::vector<int>& v, const char* sep = ",") {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + std::to_string(v[i]);
  return s;
}

std::string pad(const std::string& s, std::size_t w, bool right = false) {
  if (s.size() >= w) return s;
  return right ? std::string(w - s.size(), ' ') + s : s + std::string(w - s.size(), ' ');
}

// ---- JSON ----

json opt(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json agreement_json(const metrics::Agreement& a) {
  return {{"n", a.n},
          {"agreements", a.agreements},
          {"rate", a.agreement_rate},
          {"ci", interval_json(a.agreement_ci)},
          {"plain_correct", a.plain_correct},
          {"encrypted_correct", a.encrypted_correct},
          {"both_correct", a.both_correct},
          {"plain_only_correct", a.plain_only_correct},
          {"encrypted_only_correct", a.encrypted_only_correct},
          {"both_wrong", a.both_wrong},
          {"mcnemar_p", a.mcnemar_p},
          {"max_abs_logit_error", a.max_abs_logit_error},
          {"max_error_image", a.max_error_image},
          {"max_error_class", a.max_error_class},
          {"mean_abs_logit_error", a.mean_abs_logit_error}};
}

json run_json(const RunResult& r) {
  json j;
  j["experiment"] = r.experiment;
  j["variant"] = r.variant;
  j["mode"] = r.mode;
  j["fold"] = r.fold ? json(*r.fold) : json(nullptr);
  j["dataset"] = r.dataset;
  j["dataset_path"] = r.dataset_path;
  j["model"] = r.model;
  j["input"] = r.input;
  j["dataset_identity"] = r.dataset_identity;
  j["split"] = r.split;
  j["duplicates"] = {{"policy", r.duplicate_policy},
                     {"test_images_also_in_train", r.duplicates_in_test},
                     {"dropped", r.duplicates_dropped}};
  j["data_notes"] = r.data_notes;
  j["parameters"] = r.parameters;
  j["depth"] = r.model_depth;
  j["seed"] = r.seed;
  j["train_images"] = r.train_images;
  j["test_images"] = r.test_images;
  j["class_names"] = r.class_names;
  const TrainingInfo& t = r.training;
  j["training"] = {{"trained", t.trained},       {"epochs", t.epochs},
                   {"batch_size", t.batch_size}, {"learning_rate", t.learning_rate},
                   {"noise", t.noise},           {"noise_factor", t.noise_factor},
                   {"threads", t.threads},       {"final_loss", t.final_loss},
                   {"final_train_accuracy", t.final_train_accuracy}, {"seconds", t.seconds}};
  j["training"]["method"] = t.method;  // privacy-preserving training (docs/privacy.md)
  j["training"]["privacy"] = privacy_in_words(r);
  j["training"]["dp_epsilon"] = t.dp_epsilon ? json(*t.dp_epsilon) : json(nullptr);
  j["training"]["dp_delta"] = t.dp_delta ? json(*t.dp_delta) : json(nullptr);
  j["training"]["dp_noise"] = t.dp_noise ? json(*t.dp_noise) : json(nullptr);
  j["training"]["bytes_moved"] = t.bytes_moved;
  j["training"]["round_accuracy"] = t.round_accuracy;
  j["training"]["aggregation_max_relative_error"] =
      t.aggregation_max_relative_error ? json(*t.aggregation_max_relative_error) : json(nullptr);
  j["metrics"] = metrics_json(r.metrics);
  j["agreement"] = r.agreement ? agreement_json(*r.agreement) : json(nullptr);
  if (r.ckks) {
    const CkksInfo& c = *r.ckks;
    j["ckks"] = {{"packing", c.packing}, {"n", c.n},           {"log_scale", c.log_scale},
                 {"q_bits", c.q_bits},   {"p_bits", c.p_bits}, {"log2_qp", c.log2_qp},
                 {"security_bits", c.security_bits}, {"insecure", c.insecure}, {"depth", c.depth},
                 {"images_per_batch", c.images_per_batch}};
  } else {
    j["ckks"] = nullptr;
  }
  j["scheme"] = r.scheme;  // float, quantized, ckks or bfv (docs/bfv.md)
  if (r.bfv) {
    const BfvInfo& b = *r.bfv;
    j["bfv"] = {{"n", b.n}, {"q_bits", b.q_bits}, {"p_bits", b.p_bits}, {"t", b.t}, {"log2_bound", b.log2_bound},
                {"weight_bits", b.weight_bits}, {"input_bits", b.input_bits}, {"exact_agreement", b.exact_agreement},
                {"min_budget_bits", b.min_budget_bits}, {"download_level", b.download_level}, {"plan", b.plan}};
  } else {
    j["bfv"] = nullptr;
  }
  j["quantized_log2_bound"] = r.quantized_log2_bound ? json(*r.quantized_log2_bound) : json(nullptr);
  const Timings& s = r.seconds;
  j["seconds"] = {{"load", s.load},       {"train", s.train},     {"setup", s.setup},   {"keygen", s.keygen},
                  {"encrypt", s.encrypt}, {"evaluate", s.evaluate}, {"decrypt", s.decrypt},
                  {"inference", s.inference}, {"total", s.total}};
  j["images_per_second"] = r.images_per_second;
  j["bytes_up_per_image"] = r.bytes_up_per_image;
  j["bytes_down_per_image"] = r.bytes_down_per_image;
  j["eval_key_bytes"] = r.eval_key_bytes;
  j["secret_key_bytes"] = r.secret_key_bytes;
  j["peak_memory_mib"] = r.peak_memory_mib;
  j["threads"] = r.threads;
  return j;
}

// ---- CSV ----

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
std::string csv_num(double v) { return fmt("%.10g", v); }
std::string csv_opt(const std::optional<double>& v) { return v ? csv_num(*v) : ""; }

const char* kCsvColumns[] = {
    "experiment", "variant", "mode", "fold", "dataset", "model", "input", "seed", "train_images", "test_images",
    "classes", "epochs", "batch_size", "learning_rate", "noise", "accuracy", "accuracy_ci_low", "accuracy_ci_high",
    "precision", "precision_ci_low", "precision_ci_high", "recall", "recall_ci_low", "recall_ci_high", "f1",
    "f1_ci_low", "f1_ci_high", "auroc", "auroc_ci_low", "auroc_ci_high", "precision_macro", "recall_macro",
    "f1_macro", "precision_weighted", "recall_weighted", "f1_weighted", "agreement", "mcnemar_p",
    "max_abs_logit_error", "load_s", "train_s", "keygen_s", "encrypt_s", "evaluate_s", "decrypt_s", "inference_s",
    "total_s", "images_per_second", "bytes_up_per_image", "bytes_down_per_image", "eval_key_bytes",
    "secret_key_bytes", "peak_memory_mib", "threads", "packing", "ckks_n", "log2_qp", "security_bits",
    "training_method", "privacy", "dp_epsilon", "dp_delta", "bytes_moved", "scheme", "bfv_exact_agreement",
    "bfv_plaintext_primes"};

// ---- figures ----

std::string gp_quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) q += c == '"' ? '\'' : c;
  return q + "\"";
}
std::string dat(double v) { return std::isfinite(v) ? fmt("%.6g", v) : "NaN"; }

bool is_executable(const std::string& p) { return !p.empty() && access(p.c_str(), X_OK) == 0; }

}  // namespace

// ---- console ----

std::string console_table(const Report& report) {
  std::size_t w = 5;
  for (const RunResult& r : report.runs) w = std::max(w, r.label().size());
  std::ostringstream o;
  const std::string sep(w + 126, '-');
  o << pad("model", w) << "  " << pad("images", 6, true) << "  " << pad("accuracy %  [95% CI]", 24) << pad("prec %", 7, true)
    << pad("recall %", 9, true) << pad("F1 %", 7, true) << pad("AUROC", 8, true) << pad("agree %", 9, true) << " | "
    << pad("train s", 8, true) << pad("keygen s", 9, true) << pad("encrypt s", 10, true) << pad("eval s", 9, true)
    << pad("decrypt s", 10, true) << pad("total s", 9, true) << pad("img/s", 9, true) << "\n";
  o << sep << "\n";
  for (const RunResult& r : report.runs) {
    const auto& m = r.metrics;
    const bool enc = r.mode == "encrypted";
    o << pad(r.label(), w) << "  " << pad(std::to_string(r.test_images), 6, true) << "  "
      << pad(pct(m.accuracy) + " " + pct_ci(m.accuracy_ci), 24) << pad(pct(m.precision), 7, true)
      << pad(pct(m.recall), 9, true) << pad(pct(m.f1), 7, true) << pad(auroc_text(m.auroc), 8, true)
      << pad(r.agreement ? pct(r.agreement->agreement_rate) : "-", 9, true) << " | " << pad(secs(r.seconds.train), 8, true)
      << pad(enc ? secs(r.seconds.keygen) : "-", 9, true) << pad(enc ? secs(r.seconds.encrypt) : "-", 10, true)
      << pad(secs(r.seconds.evaluate), 9, true) << pad(enc ? secs(r.seconds.decrypt) : "-", 10, true)
      << pad(secs(r.seconds.total), 9, true) << pad(fmt(r.images_per_second < 10 ? "%.2f" : "%.0f", r.images_per_second), 9, true) << "\n";
  }
  o << sep << "\n";
  o << "precision/recall/F1/AUROC: positive class for binary tasks, macro average otherwise; "
       "agree: same predictions as the plaintext model with the same weights.\n";
  if (!report.comparisons.empty()) {
    o << "\npaired comparisons (same test images; McNemar's exact test on the images only one model gets right):\n";
    for (const Comparison& c : report.comparisons) {
      const auto& a = c.agreement;
      o << "  " << c.a << " (" << pct(c.accuracy_a) << " %) vs " << c.b << " (" << pct(c.accuracy_b) << " %): only "
        << c.a << " right on " << a.plain_only_correct << ", only " << c.b << " right on " << a.encrypted_only_correct
        << " of " << a.n << ", p = " << fmt("%.3g", a.mcnemar_p) << "\n";
    }
  }
  if (!report.folds.empty()) {
    o << "\ncross-validation (mean ± std over folds):\n";
    for (const FoldAggregate& f : report.folds) {
      o << "  " << pad(f.experiment + "/" + f.variant, w) << "  " << f.folds << " folds:";
      for (const char* k : {"accuracy", "precision", "recall", "f1", "auroc", "agreement"}) {
        auto it = f.metrics.find(k);
        if (it == f.metrics.end()) continue;
        const bool scaled = std::string(k) != "auroc";
        const double mul = scaled ? 100 : 1;
        o << "  " << k << " " << fmt(scaled ? "%.2f" : "%.4f", mul * it->second.mean);
        if (it->second.std_dev.defined()) o << " ± " << fmt(scaled ? "%.2f" : "%.4f", mul * *it->second.std_dev.value);
      }
      o << "\n";
    }
  }
  return o.str();
}

// ---- JSON / CSV ----

std::string to_json(const Report& report) {
  json j;
  j["schema"] = "hemi-results";
  j["schema_version"] = kResultsSchemaVersion;
  j["spec"] = {{"path", report.spec_path},
               {"name", report.spec_name},
               {"description", report.description},
               {"seed", report.seed},
               {"bootstrap_resamples", report.bootstrap_resamples},
               {"confidence", report.confidence}};
  j["command"] = report.command;
  const Environment& e = report.environment;
  j["environment"] = {{"hemi_version", e.hemi_version}, {"compiler", e.compiler}, {"build_type", e.build_type},
                      {"os", e.os},     {"cpu", e.cpu},     {"hostname", e.hostname},
                      {"cores", e.cores}, {"threads", e.threads}, {"started_utc", e.started_utc}};
  j["seconds"] = report.seconds;
  json runs = json::array();
  for (const RunResult& r : report.runs) runs.push_back(run_json(r));
  j["runs"] = runs;
  json cv = json::array();
  for (const FoldAggregate& f : report.folds) {
    json m = json::object();
    for (const auto& [name, s] : f.metrics)
      m[name] = {{"mean", s.mean}, {"std", opt(s.std_dev.value)}, {"min", s.min}, {"max", s.max}, {"values", s.values}};
    cv.push_back({{"experiment", f.experiment}, {"variant", f.variant}, {"mode", f.mode}, {"folds", f.folds}, {"metrics", m}});
  }
  j["cross_validation"] = cv;
  json cmp = json::array();
  for (const Comparison& c : report.comparisons) {
    const auto& a = c.agreement;
    cmp.push_back({{"a", c.a},
                   {"b", c.b},
                   {"n", a.n},
                   {"accuracy_a", c.accuracy_a},
                   {"accuracy_b", c.accuracy_b},
                   {"same_prediction", a.agreements},
                   {"both_correct", a.both_correct},
                   {"only_a_correct", a.plain_only_correct},
                   {"only_b_correct", a.encrypted_only_correct},
                   {"both_wrong", a.both_wrong},
                   {"mcnemar_p", a.mcnemar_p}});
  }
  j["comparisons"] = cmp;
  j["warnings"] = report.warnings;
  return j.dump(2) + "\n";
}

std::string csv_header() {
  std::string s;
  for (const char* c : kCsvColumns) s += (s.empty() ? "" : ",") + std::string(c);
  return s;
}

std::string to_csv(const Report& report) {
  std::string out = csv_header() + "\n";
  for (const RunResult& r : report.runs) {
    const auto& m = r.metrics;
    std::vector<std::string> f = {
        r.experiment, r.variant, r.mode, r.fold ? std::to_string(*r.fold) : "", r.dataset, r.model, r.input,
        std::to_string(r.seed), std::to_string(r.train_images), std::to_string(r.test_images),
        std::to_string(m.num_classes), std::to_string(r.training.epochs), std::to_string(r.training.batch_size),
        csv_num(r.training.learning_rate), r.training.noise ? "true" : "false", csv_num(m.accuracy),
        csv_opt(m.accuracy_ci.lower), csv_opt(m.accuracy_ci.upper), csv_num(m.precision), csv_opt(m.precision_ci.lower),
        csv_opt(m.precision_ci.upper), csv_num(m.recall), csv_opt(m.recall_ci.lower), csv_opt(m.recall_ci.upper),
        csv_num(m.f1), csv_opt(m.f1_ci.lower), csv_opt(m.f1_ci.upper), csv_opt(m.auroc.value), csv_opt(m.auroc_ci.lower),
        csv_opt(m.auroc_ci.upper), csv_num(m.precision_macro), csv_num(m.recall_macro), csv_num(m.f1_macro),
        csv_num(m.precision_weighted), csv_num(m.recall_weighted), csv_num(m.f1_weighted),
        r.agreement ? csv_num(r.agreement->agreement_rate) : "", r.agreement ? csv_num(r.agreement->mcnemar_p) : "",
        r.agreement ? csv_num(r.agreement->max_abs_logit_error) : "", csv_num(r.seconds.load), csv_num(r.seconds.train),
        csv_num(r.seconds.keygen), csv_num(r.seconds.encrypt), csv_num(r.seconds.evaluate), csv_num(r.seconds.decrypt),
        csv_num(r.seconds.inference), csv_num(r.seconds.total), csv_num(r.images_per_second),
        csv_num(r.bytes_up_per_image), csv_num(r.bytes_down_per_image), std::to_string(r.eval_key_bytes),
        std::to_string(r.secret_key_bytes), csv_num(r.peak_memory_mib), std::to_string(r.threads),
        r.ckks ? r.ckks->packing : "", r.ckks ? std::to_string(r.ckks->n) : "", r.ckks ? csv_num(r.ckks->log2_qp) : "",
        r.ckks ? std::to_string(r.ckks->security_bits) : "", r.training.method, r.training.privacy,
        r.training.dp_epsilon ? csv_num(*r.training.dp_epsilon) : "", r.training.dp_delta ? csv_num(*r.training.dp_delta) : "",
        r.training.bytes_moved ? std::to_string(r.training.bytes_moved) : "", r.scheme,
        r.bfv ? csv_num(r.bfv->exact_agreement) : "", r.bfv ? std::to_string(r.bfv->t.size()) : ""};
    HEMI_ASSERT(f.size() == std::size(kCsvColumns));
    std::string line;
    for (std::size_t i = 0; i < f.size(); ++i) line += (i ? "," : "") + csv_field(f[i]);
    out += line + "\n";
  }
  return out;
}

// ---- Markdown ----

std::string to_markdown(const Report& report, const std::vector<std::string>& figures) {
  std::ostringstream o;
  o << "# hemi run: " << report.spec_name << "\n\n";
  if (!report.description.empty()) o << report.description << "\n\n";
  o << "Produced by `" << report.command << "` from `" << report.spec_path << "` on "
    << report.environment.started_utc << " in " << format_seconds(report.seconds) << ". Seed " << report.seed
    << "; " << 100 * report.confidence << " % intervals: Wilson for accuracy, percentile bootstrap ("
    << report.bootstrap_resamples << " resamples) for the others.\n\n";

  o << "## Metrics\n\n";
  o << "Precision, recall, F1 and AUROC: the positive class for binary tasks, the macro average otherwise.\n\n";
  o << "| model | images | accuracy % | precision % | recall % | F1 % | AUROC |\n|---|---:|---|---|---|---|---|\n";
  for (const RunResult& r : report.runs) {
    const auto& m = r.metrics;
    o << "| " << r.label() << " | " << r.test_images << " | " << pct(m.accuracy) << " " << pct_ci(m.accuracy_ci) << " | "
      << pct(m.precision) << " " << pct_ci(m.precision_ci) << " | " << pct(m.recall) << " " << pct_ci(m.recall_ci)
      << " | " << pct(m.f1) << " " << pct_ci(m.f1_ci) << " | " << auroc_text(m.auroc)
      << (m.auroc.defined() ? " " + num_ci(m.auroc_ci) : " (" + m.auroc.reason + ")") << " |\n";
  }

  o << "\n## End-to-end times (seconds)\n\n";
  o << "Training is shared by the variants of one experiment; inference is the variant's evaluation of the test "
       "images (plaintext forward pass, or key generation to decryption).\n\n";
  o << "| model | load | train | keygen | encrypt | evaluate | decrypt | inference | total | images/s |\n"
       "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const RunResult& r : report.runs) {
    const auto& s = r.seconds;
    o << "| " << r.label() << " | " << secs(s.load) << " | " << secs(s.train) << " | " << secs(s.keygen) << " | "
      << secs(s.encrypt) << " | " << secs(s.evaluate) << " | " << secs(s.decrypt) << " | " << secs(s.inference)
      << " | " << secs(s.total) << " | " << fmt("%.1f", r.images_per_second) << " |\n";
  }

  bool any_enc = false;
  for (const RunResult& r : report.runs) any_enc |= r.agreement.has_value();
  if (any_enc) {
    o << "\n## Encrypted vs plaintext on the same weights\n\n";
    o << "b: only the plaintext model right; c: only the encrypted one right; McNemar's exact two-sided p on (b, c).\n\n";
    o << "| model | images | agreement % [95% CI] | plain acc % | encrypted acc % | b | c | McNemar p | max abs logit "
         "error | mean abs logit error |\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const RunResult& r : report.runs) {
      if (!r.agreement) continue;
      const auto& a = *r.agreement;
      o << "| " << r.label() << " | " << a.n << " | " << pct(a.agreement_rate) << " " << pct_ci(a.agreement_ci) << " | "
        << pct(static_cast<double>(a.plain_correct) / static_cast<double>(a.n)) << " | "
        << pct(static_cast<double>(a.encrypted_correct) / static_cast<double>(a.n)) << " | " << a.plain_only_correct
        << " | " << a.encrypted_only_correct << " | " << fmt("%.4g", a.mcnemar_p) << " | "
        << fmt("%.3e", a.max_abs_logit_error) << " | " << fmt("%.3e", a.mean_abs_logit_error) << " |\n";
    }
    o << "\n## CKKS parameters and costs\n\n";
    o << "| model | packing | N | log2 q_i | log2 p_i | scale | log2(QP) | security | depth | up/image | down/image | "
         "evaluation keys | secret key | peak memory | threads |\n"
         "|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const RunResult& r : report.runs) {
      if (!r.ckks) continue;
      const CkksInfo& c = *r.ckks;
      o << "| " << r.label() << " | " << c.packing << " | " << c.n << " | " << join_ints(c.q_bits, " ") << " | "
        << join_ints(c.p_bits, " ") << " | 2^" << c.log_scale << " | " << fmt("%.0f", c.log2_qp) << " | "
        << (c.insecure ? "INSECURE" : std::to_string(c.security_bits) + "-bit") << " | " << c.depth << " | "
        << bytes_text(r.bytes_up_per_image) << " | " << bytes_text(r.bytes_down_per_image) << " | "
        << bytes_text(static_cast<double>(r.eval_key_bytes)) << " | " << bytes_text(static_cast<double>(r.secret_key_bytes))
        << " | " << fmt("%.0f MiB", r.peak_memory_mib) << " | " << r.threads << " |\n";
    }
  }

  if (!report.comparisons.empty()) {
    o << "\n## Paired comparisons\n\nTwo models on the same test images. A difference in accuracy is evidence of a real "
         "difference only when McNemar's exact test on the images that exactly one of them classifies correctly gives "
         "a small p.\n\n| model a | model b | images | accuracy a % | accuracy b % | same prediction | only a right | only "
         "b right | McNemar p |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const Comparison& c : report.comparisons) {
      const auto& a = c.agreement;
      o << "| " << c.a << " | " << c.b << " | " << a.n << " | " << pct(c.accuracy_a) << " | " << pct(c.accuracy_b) << " | "
        << a.agreements << " | " << a.plain_only_correct << " | " << a.encrypted_only_correct << " | "
        << fmt("%.4g", a.mcnemar_p) << " |\n";
    }
  }
  if (!report.folds.empty()) {
    o << "\n## Cross-validation\n\n| model | metric | mean ± std | min | max | per fold |\n|---|---|---|---:|---:|---|\n";
    for (const FoldAggregate& f : report.folds)
      for (const auto& [name, s] : f.metrics) {
        std::string vals;
        for (double v : s.values) vals += (vals.empty() ? "" : ", ") + fmt("%.4f", v);
        o << "| " << f.experiment << "/" << f.variant << " | " << name << " | " << fmt("%.4f", s.mean) << " ± "
          << (s.std_dev.defined() ? fmt("%.4f", *s.std_dev.value) : "n/a") << " | " << fmt("%.4f", s.min) << " | "
          << fmt("%.4f", s.max) << " | " << vals << " |\n";
      }
  }

  o << "\n## Experiments\n\n| model | data set | network | input | train / test images | parameters | depth | "
       "training | seed |\n|---|---|---|---|---|---:|---:|---|---:|\n";
  for (const RunResult& r : report.runs) {
    const TrainingInfo& t = r.training;
    std::string tr = "none (model file)";
    if (t.trained) {
      tr = std::to_string(t.epochs) + " epochs, batch " + std::to_string(t.batch_size) + ", lr " + fmt("%g", t.learning_rate) +
           (t.noise ? ", noise simulation (factor " + fmt("%g", t.noise_factor) + ")" : "") + "; final loss " +
           fmt("%.4f", t.final_loss) + (t.recipe.empty() ? "" : "; " + t.recipe) +
           (t.epochs > 0 ? fmt("; %.1f s/epoch", t.seconds / t.epochs) : "");
    }
    o << "| " << r.label() << " | " << r.dataset << " | " << r.model << " | " << r.input << " | " << r.train_images
      << " / " << r.test_images << " | " << r.parameters << " | " << r.model_depth << " | " << tr << " | " << r.seed
      << " |\n";
  }

  o << "\n## Data: splits, duplicates, samples\n\n";
  o << "Test images whose content (SHA-256) is also a training image's are dropped from the test set unless the spec "
       "keeps them (keep_duplicates); limits draw seeded stratified samples.\n\n";
  o << "| model | split | duplicates | notes |\n|---|---|---|---|\n";
  for (const RunResult& r : report.runs) {
    std::string notes;
    for (const std::string& n : r.data_notes) notes += (notes.empty() ? "" : "; ") + n;
    o << "| " << r.label() << " | " << r.split << " | " << r.duplicates_in_test << " in test, "
      << (r.duplicate_policy == "keep" ? "kept" : std::to_string(r.duplicates_dropped) + " dropped") << " | "
      << (notes.empty() ? "-" : notes) << " |\n";
  }
  o << privacy_markdown(report);
  o << bfv_markdown(report);

  o << "\n## Per-class reports\n";
  for (const RunResult& r : report.runs) {
    const auto& m = r.metrics;
    if (m.num_classes > 20) continue;
    o << "\n### " << r.label() << "\n\n| class | precision % | recall % | F1 % | support | predicted | AUROC (one vs rest) |\n"
      << "|---|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& c : m.per_class)
      o << "| " << c.name << " | " << pct(c.precision) << " | " << pct(c.recall) << " | " << pct(c.f1) << " | " << c.support
        << " | " << c.predicted << " | " << auroc_text(c.auroc) << " |\n";
    o << "\nConfusion matrix (rows: true class, columns: predicted):\n\n| |";
    for (const auto& c : m.per_class) o << " " << c.name << " |";
    o << "\n|---|";
    for (std::size_t i = 0; i < m.per_class.size(); ++i) o << "---:|";
    o << "\n";
    for (std::size_t t = 0; t < m.confusion.size(); ++t) {
      o << "| " << m.per_class[t].name << " |";
      for (std::size_t v : m.confusion[t]) o << " " << v << " |";
      o << "\n";
    }
  }

  if (!figures.empty()) {
    o << "\n## Figures\n\n";
    for (const std::string& f : figures)
      if (f.size() > 4 && f.substr(f.size() - 4) == ".svg") {
        const std::string name = std::filesystem::path(f).filename().string();
        o << "![" << name << "](" << name << ")\n\n";
      }
  }

  const Environment& e = report.environment;
  o << "\n## Environment\n\n| | |\n|---|---|\n| hemi | " << e.hemi_version << " (" << e.build_type << ") |\n| compiler | "
    << e.compiler << " |\n| OS | " << e.os << " |\n| CPU | " << e.cpu << " |\n| cores | " << e.cores
    << " |\n| inference threads | " << (e.threads ? std::to_string(e.threads) : "every core") << " |\n| host | "
    << e.hostname << " |\n| started | " << e.started_utc << " |\n";
  if (!report.warnings.empty()) {
    o << "\n## Warnings\n\n";
    for (const std::string& w : report.warnings) o << "- " << w << "\n";
  }
  return o.str();
}

// ---- figures ----

std::string find_gnuplot() {
  if (const char* env = std::getenv("HEMI_GNUPLOT")) {
    const std::string g = env;
    if (g == "none" || g.empty()) return "";
    return is_executable(g) ? g : "";
  }
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(ss, dir, ':');)
    if (is_executable(dir + "/gnuplot")) return dir + "/gnuplot";
  return "";
}

FigureOutput write_figures(const Report& report, const std::string& out_dir) {
  FigureOutput out;
  if (report.runs.empty()) return out;
  const std::string gnuplot = find_gnuplot();
  if (gnuplot.empty()) {
    out.warning = "gnuplot not found (install gnuplot-nox, or set HEMI_GNUPLOT): figures skipped";
    return out;
  }
  const std::filesystem::path dir(out_dir);
  {
    std::ofstream d(dir / "figures.dat");
    d << "# label train keygen encrypt evaluate decrypt inference acc lo hi prec lo hi rec lo hi f1 lo hi auroc lo hi\n";
    auto triple = [&](double v, const metrics::Interval& ci) {
      d << " " << dat(v) << " " << dat(ci.lower.value_or(v)) << " " << dat(ci.upper.value_or(v));
    };
    for (const RunResult& r : report.runs) {
      const auto& s = r.seconds;
      const auto& m = r.metrics;
      d << gp_quote(r.label()) << " " << dat(s.train) << " " << dat(s.keygen) << " " << dat(s.encrypt) << " "
        << dat(s.evaluate) << " " << dat(s.decrypt) << " " << dat(s.inference);
      triple(m.accuracy, m.accuracy_ci);
      triple(m.precision, m.precision_ci);
      triple(m.recall, m.recall_ci);
      triple(m.f1, m.f1_ci);
      triple(m.auroc.value.value_or(NAN), m.auroc_ci);
      d << "\n";
    }
    if (!d) throw Error("cannot write " + (dir / "figures.dat").string());
  }
  const std::size_t n = report.runs.size();
  const double width = std::max(8.0, 2.0 + 1.1 * static_cast<double>(n));
  std::ostringstream gp;
  gp << "# Figures of hemi run (gnuplot " << "script written by hemi; run: gnuplot figures.gp)\n"
     << "set datafile missing 'NaN'\n"
     << "has_cairo = strstrt(GPVAL_TERMINALS, 'pngcairo') > 0\n"
     << "set key outside right top\nset grid ytics\nset xtics rotate by -30 left noenhanced\n"
     << "set style fill solid 0.8 border -1\nset boxwidth 0.8\nset bmargin 8\n";
  const char* figs[] = {"runtime_breakdown", "evaluation_time", "metrics"};
  for (const char* ext : {"png", "svg"}) {
    for (const char* fig : figs) {
      if (std::string(ext) == "png")
        gp << "if (has_cairo) { set terminal pngcairo size " << static_cast<int>(width * 100) << ",600 font 'sans,10' } "
           << "else { set terminal png size " << static_cast<int>(width * 100) << ",600 }\n";
      else
        gp << "set terminal svg size " << static_cast<int>(width * 100) << ",600 font 'sans,10'\n";
      gp << "set output '" << fig << "." << ext << "'\n";
      const std::string f = fig;
      if (f == "runtime_breakdown") {
        gp << "unset logscale y\nset yrange [0:*]\nset ylabel 'seconds'\n"
           << "set title 'Runtime breakdown per model (training, key generation, encryption, evaluation, decryption)' noenhanced\n"
           << "set style data histograms\nset style histogram rowstacked\n"
           << "plot 'figures.dat' using 2:xtic(1) title 'train', '' using 3 title 'keygen', '' using 4 title 'encrypt', "
              "'' using 5 title 'evaluate', '' using 6 title 'decrypt'\n";
      } else if (f == "evaluation_time") {
        gp << "set logscale y\nset yrange [*:*]\nset ylabel 'seconds (log scale)'\n"
           << "set title 'Evaluation time per model (inference on the test images, end to end)' noenhanced\n"
           << "set style data histograms\nset style histogram clustered gap 1\n"
           << "plot 'figures.dat' using 7:xtic(1) title 'inference'\n";
      } else {
        // Undefined values are labelled "undefined" where their bar would stand (never a silent gap).
        for (std::size_t i = 0; i < n; ++i)
          if (!report.runs[i].metrics.auroc.defined())
            gp << "set label " << i + 1 << " 'AUROC undefined' at " << fmt("%.3f", static_cast<double>(i) + 0.29)
               << ",0.02 rotate by 90 left front tc rgb '#b00000' font ',8'\n";
        gp << "unset logscale y\nset yrange [0:1.05]\nset ylabel 'value'\n"
           << "set title 'Metrics per model with " << fmt("%g", 100 * report.confidence)
           << " % confidence intervals' noenhanced\n"
           << "set style data histograms\nset style histogram errorbars gap 2 lw 1\n"
           << "plot 'figures.dat' using 8:9:10:xtic(1) title 'accuracy', '' using 11:12:13 title 'precision', "
              "'' using 14:15:16 title 'recall', '' using 17:18:19 title 'F1', '' using 20:21:22 title 'AUROC'\n";
      }
      gp << "unset output\n";
      if (f == "metrics") gp << "unset label\n";
    }
  }
  // Per run: the confusion matrix (cells coloured by the share of the true class, labelled
  // with the count) and the ROC curves (binary: the positive class; else one vs rest per class).
  std::vector<std::string> per_run_figs;
  for (std::size_t k = 0; k < n; ++k) {
    const RunResult& r = report.runs[k];
    const auto& m = r.metrics;
    const std::string tag = "run" + std::to_string(k + 1);
    const auto classes = static_cast<std::size_t>(m.num_classes);
    {
      std::ofstream d(dir / ("confusion_" + tag + ".dat"));
      d << "# true predicted count share_of_true_class\n";
      for (std::size_t t = 0; t < m.confusion.size(); ++t) {
        std::size_t support = 0;
        for (std::size_t v : m.confusion[t]) support += v;
        for (std::size_t p = 0; p < m.confusion[t].size(); ++p)
          d << t << " " << p << " " << m.confusion[t][p] << " "
            << (support ? dat(static_cast<double>(m.confusion[t][p]) / static_cast<double>(support)) : "0") << "\n";
        d << "\n";
      }
      if (!d) throw Error("cannot write " + (dir / ("confusion_" + tag + ".dat")).string());
    }
    std::vector<std::size_t> roc_classes;  // defined curves, in file order
    std::vector<std::string> undefined;
    {
      std::ofstream d(dir / ("roc_" + tag + ".dat"));
      std::vector<std::size_t> which;
      if (m.positive_class) which.push_back(static_cast<std::size_t>(*m.positive_class));
      else for (std::size_t c = 0; c < classes; ++c) which.push_back(c);
      for (std::size_t c : which) {
        std::vector<double> scores;
        for (const auto& row : r.logits) scores.push_back(metrics::softmax(row)[c]);
        const metrics::RocCurve curve =
            r.truth.empty() ? metrics::RocCurve{{}, {}, "no predictions kept"} : metrics::roc_curve(r.truth, scores, static_cast<int>(c));
        const std::string name = c < m.per_class.size() ? m.per_class[c].name : std::to_string(c);
        if (!curve.defined()) {
          undefined.push_back(name + ": " + curve.reason);
          continue;
        }
        d << "# class " << name << "\n";
        for (std::size_t i = 0; i < curve.fpr.size(); ++i) d << dat(curve.fpr[i]) << " " << dat(curve.tpr[i]) << "\n";
        d << "\n\n";
        roc_classes.push_back(c);
      }
      if (!d) throw Error("cannot write " + (dir / ("roc_" + tag + ".dat")).string());
    }
    for (const char* ext : {"png", "svg"}) {
      if (std::string(ext) == "png")
        gp << "if (has_cairo) { set terminal pngcairo size 700,600 font 'sans,10' } else { set terminal png size 700,600 }\n";
      else
        gp << "set terminal svg size 700,600 font 'sans,10'\n";
      // Confusion matrix.
      gp << "reset\nset output 'confusion_" << tag << "." << ext << "'\n"
         << "set title " << gp_quote("Confusion matrix: " + r.label() + " (" + std::to_string(m.n) + " images)")
         << " noenhanced\nunset key\nset view map\nset xlabel 'predicted'\nset ylabel 'true'\n"
         << "set xrange [-0.5:" << classes - 0.5 << "]\nset yrange [" << classes - 0.5 << ":-0.5]\n"
         << "set cbrange [0:1]\nset cblabel 'share of the true class'\n"
         << "set palette defined (0 '#ffffff', 1 '#2060a0')\nset xtics rotate by -30 left noenhanced (";
      for (std::size_t c = 0; c < classes; ++c)
        gp << (c ? ", " : "") << gp_quote(c < m.per_class.size() ? m.per_class[c].name : std::to_string(c)) << " " << c;
      gp << ")\nset ytics noenhanced (";
      for (std::size_t c = 0; c < classes; ++c) {
        std::string name = c < m.per_class.size() ? m.per_class[c].name : std::to_string(c);
        if (c < m.per_class.size() && m.per_class[c].support == 0) name += " (no images: row undefined)";
        gp << (c ? ", " : "") << gp_quote(name) << " " << c;
      }
      gp << ")\nplot '" << "confusion_" << tag << ".dat' using 2:1:4 with image, '' using 2:1:(sprintf('%d', $3)) "
         << "with labels font ',11'\nunset output\n";
      // ROC curves.
      gp << "reset\nset output 'roc_" << tag << "." << ext << "'\n"
         << "set title " << gp_quote("ROC: " + r.label() + (m.positive_class ? " (positive class)" : " (one vs rest)"))
         << " noenhanced\nset xlabel 'false positive rate'\nset ylabel 'true positive rate'\n"
         << "set xrange [0:1]\nset yrange [0:1]\nset size square\nset grid\nset key bottom right noenhanced\n";
      for (std::size_t u = 0; u < undefined.size(); ++u)
        gp << "set label " << u + 1 << " " << gp_quote("undefined: " + undefined[u]) << " at graph 0.03," << 0.95 - 0.05 * static_cast<double>(u)
           << " tc rgb '#b00000' noenhanced\n";
      gp << "plot x with lines dt 2 lc rgb '#888888' title 'chance'";
      for (std::size_t i = 0; i < roc_classes.size(); ++i) {
        const std::size_t c = roc_classes[i];
        const std::string name = c < m.per_class.size() ? m.per_class[c].name : std::to_string(c);
        const auto& au = c < m.per_class.size() ? m.per_class[c].auroc : metrics::MetricValue{};
        gp << ", 'roc_" << tag << ".dat' index " << i << " using 1:2 with lines lw 2 title "
           << gp_quote(name + " (AUROC " + (au.defined() ? fmt("%.4f", *au.value) : "undefined") + ")");
      }
      gp << "\nunset output\n";
    }
    per_run_figs.push_back("confusion_" + tag);
    per_run_figs.push_back("roc_" + tag);
  }
  {
    std::ofstream g(dir / "figures.gp");
    g << gp.str();
    if (!g) throw Error("cannot write " + (dir / "figures.gp").string());
  }
  const std::string cmd = "cd '" + dir.string() + "' && '" + gnuplot + "' figures.gp > gnuplot.log 2>&1";
  const int rc = std::system(cmd.c_str());
  std::vector<std::string> all_figs(std::begin(figs), std::end(figs));
  all_figs.insert(all_figs.end(), per_run_figs.begin(), per_run_figs.end());
  for (const char* ext : {"png", "svg"})
    for (const std::string& fig : all_figs) {
      const auto p = dir / (fig + "." + ext);
      if (std::filesystem::exists(p) && std::filesystem::file_size(p) > 0) out.files.push_back(p.string());
    }
  if (rc != 0 || out.files.size() != 2 * all_figs.size()) {
    out.warning = "gnuplot failed (exit " + std::to_string(rc) + "); see " + (dir / "gnuplot.log").string();
  } else {
    // An empty log says nothing: leave no empty file behind.
    std::error_code ec;
    const auto log = dir / "gnuplot.log";
    if (std::filesystem::exists(log, ec) && std::filesystem::file_size(log, ec) == 0) std::filesystem::remove(log, ec);
  }
  return out;
}

Outputs write_outputs(const Report& report, const std::string& out_dir) {
  Outputs out;
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) throw Error("cannot create output folder '" + out_dir + "': " + ec.message());
  const std::filesystem::path dir(out_dir);
  auto write = [&](const std::string& name, const std::string& text) {
    const auto p = dir / name;
    std::ofstream f(p, std::ios::binary);
    f << text;
    if (!f) throw Error("cannot write " + p.string());
    out.files.push_back(p.string());
  };
  write("results.json", to_json(report));
  write("results.csv", to_csv(report));
  FigureOutput figs = write_figures(report, out_dir);
  if (!figs.warning.empty()) out.warnings.push_back(figs.warning);
  PrivacyFigures privacy = write_privacy_figures(report, out_dir);  // DP and federated runs only
  if (!privacy.warning.empty()) out.warnings.push_back(privacy.warning);
  figs.files.insert(figs.files.end(), privacy.files.begin(), privacy.files.end());
  BfvFigures bfv = write_bfv_figures(report, out_dir);  // experiments with both CKKS and BFV runs only
  if (!bfv.warning.empty()) out.warnings.push_back(bfv.warning);
  figs.files.insert(figs.files.end(), bfv.files.begin(), bfv.files.end());
  write("report.md", to_markdown(report, figs.files));
  out.files.insert(out.files.end(), figs.files.begin(), figs.files.end());
  return out;
}

}  // namespace hemi::report
