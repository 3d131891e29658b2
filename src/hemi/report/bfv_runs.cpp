#include "hemi/report/bfv_runs.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "hemi/base/error.h"
#include "hemi/metrics/agreement.h"
#include "hemi/quant/session.h"
#include "hemi/report/output.h"

namespace hemi::report {

namespace {

using Clock = std::chrono::steady_clock;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

// The encrypted CKKS and BFV runs of one experiment (first of each; folds are not compared).
struct Pair {
  const RunResult* ckks = nullptr;
  const RunResult* bfv = nullptr;
};

std::vector<std::pair<std::string, Pair>> pairs_of(const Report& report) {
  std::vector<std::pair<std::string, Pair>> out;
  std::map<std::string, std::size_t> at;
  for (const RunResult& r : report.runs) {
    if (r.fold || (r.scheme != "ckks" && r.scheme != "bfv")) continue;
    if (!at.count(r.experiment)) {
      at[r.experiment] = out.size();
      out.push_back({r.experiment, {}});
    }
    Pair& p = out[at[r.experiment]].second;
    if (r.scheme == "ckks" && !p.ckks) p.ckks = &r;
    if (r.scheme == "bfv" && !p.bfv) p.bfv = &r;
  }
  std::erase_if(out, [](const auto& e) { return !e.second.ckks || !e.second.bfv; });
  return out;
}

int sum_bits(const std::vector<int>& v) {
  int s = 0;
  for (int b : v) s += b;
  return s;
}

}  // namespace

std::vector<std::vector<double>> evaluate_bfv_variant(const VariantSpec& v, const nn::Model& model,
                                                      const data::ImageSet& test_set, const std::vector<int>& truth,
                                                      ThreadPool& pool, int threads, const std::string& label,
                                                      std::FILE* log, RunResult& r) {
  quant::QuantOptions qo;
  qo.weight_bits = v.weight_bits ? v.weight_bits : quant::kDefaultWeightBits;
  qo.input_bits = v.input_bits ? v.input_bits : quant::kDefaultInputBits;
  const std::size_t count = truth.size(), values = model.input_shape().size();
  std::vector<std::vector<double>> logits(count);
  if (v.mode == Mode::kPlain) {
    const auto t0 = Clock::now();
    auto q = quant::quantize(model, qo);
    if (!q) throw Error(label + ": the model cannot be quantized: " + q.error());
    const quant::QuantizedModel& qm = q.value();
    const long double scale = qm.output_scale();
    pool.parallel_for(0, count, [&](std::size_t i) {
      for (const auto& x : quant::forward_int(qm, quant::to_inputs(qm, model, test_set.pixels.data() + i * values)))
        logits[i].push_back(static_cast<double>(static_cast<long double>(x) / scale));
    });
    r.seconds.inference = r.seconds.evaluate = std::chrono::duration<double>(Clock::now() - t0).count();
    r.threads = static_cast<int>(pool.size());
    r.quantized_log2_bound = static_cast<double>(std::log2(qm.max_bound()));
    return logits;
  }
  quant::SessionOptions so;
  so.quant = qo;
  so.threads = threads;
  if (log)
    so.phase = [&](const std::string& name) {
      std::fprintf(log, "  bfv %s: %s...\n", label.c_str(), name.c_str());
      std::fflush(log);
    };
  quant::SessionResult s;
  try {
    s = quant::run_bfv(model, test_set.pixels.data(), count, truth, so);
  } catch (const Error& e) {
    throw Error(label + ": " + e.what());
  }
  r.seconds.keygen = s.seconds.keygen;
  r.seconds.setup = s.seconds.quantize + s.seconds.compile + s.seconds.other;
  r.seconds.encrypt = s.seconds.encrypt;
  r.seconds.evaluate = s.seconds.evaluate;
  r.seconds.decrypt = s.seconds.decrypt;
  r.seconds.inference = s.seconds.total + s.seconds.quantize;
  r.bytes_up_per_image = s.bytes_up_per_image;
  r.bytes_down_per_image = s.bytes_down_per_image;
  r.eval_key_bytes = s.eval_key_bytes;
  r.secret_key_bytes = s.secret_key_bytes;
  r.threads = s.threads;
  BfvInfo b;
  const auto& lit = s.plan.params.front();
  b.n = std::size_t{1} << lit.log_n;
  b.q_bits = lit.q_bits;
  b.p_bits = lit.p_bits;
  b.t = s.plan.t;
  b.log2_bound = s.plan.log2_bound;
  b.weight_bits = s.weight_bits;
  b.input_bits = s.input_bits;
  b.exact_agreement = s.exact_agreement;
  b.min_budget_bits = s.min_budget_bits;
  b.download_level = s.plan.download_level;
  b.plan = s.plan.summary();
  r.bfv = b;
  r.quantized_log2_bound = s.plan.log2_bound;
  r.agreement = metrics::compare_predictions(s.plain_logits, s.logits, truth);
  return std::move(s.logits);
}

std::string bfv_markdown(const Report& report) {
  const auto pairs = pairs_of(report);
  if (pairs.empty()) return "";
  std::ostringstream o;
  o << "\n## BFV against CKKS\n\n"
    << "| experiment | scheme | accuracy | agreement with its plaintext twin | max logit error | encrypted time (s) | "
       "upload per image (KiB) | evaluation keys (MiB) | ring | plaintext |\n"
    << "|---|---|---:|---|---:|---:|---:|---:|---|---|\n";
  double ratio_lo = 1e300, ratio_hi = 0, up_lo = 1e300, up_hi = 0;
  for (const auto& [name, p] : pairs) {
    for (const RunResult* r : {p.ckks, p.bfv}) {
      const bool bfv = r == p.bfv;
      std::string ring, plain;
      if (bfv && r->bfv) {
        ring = "N = " + std::to_string(r->bfv->n) + ", Q " + std::to_string(sum_bits(r->bfv->q_bits)) + " bits";
        plain = std::to_string(r->bfv->t.size()) + " primes (CRT) over 2^" + fmt("%.1f", r->bfv->log2_bound) + ", " +
                std::to_string(r->bfv->input_bits) + "-bit inputs, " + std::to_string(r->bfv->weight_bits) + "-bit weights";
      } else if (r->ckks) {
        ring = "N = " + std::to_string(r->ckks->n) + ", Q " + std::to_string(sum_bits(r->ckks->q_bits)) + " bits";
        plain = "scale 2^" + std::to_string(r->ckks->log_scale) + ", depth " + std::to_string(r->ckks->depth);
      }
      std::string agree = r->agreement ? fmt("%.2f %%", 100 * r->agreement->agreement_rate) : "";
      agree += bfv ? " of the quantized model" : " of the float model";
      if (bfv && r->bfv) agree += "; identical integer logits on " + fmt("%.2f %%", 100 * r->bfv->exact_agreement);
      o << "| " << name << " | " << (bfv ? "BFV" : "CKKS") << " | " << fmt("%.2f %%", 100 * r->metrics.accuracy) << " | "
        << agree << " | " << (r->agreement ? fmt("%.2g", r->agreement->max_abs_logit_error) : "") << " | "
        << fmt("%.2f", r->seconds.inference) << " | " << fmt("%.1f", r->bytes_up_per_image / 1024) << " | "
        << fmt("%.1f", static_cast<double>(r->eval_key_bytes) / 1048576.0) << " | " << ring << " | " << plain << " |\n";
    }
    const double ratio = p.bfv->seconds.inference / std::max(1e-9, p.ckks->seconds.inference);
    const double up = p.bfv->bytes_up_per_image / std::max(1e-9, p.ckks->bytes_up_per_image);
    ratio_lo = std::min(ratio_lo, ratio);
    ratio_hi = std::max(ratio_hi, ratio);
    up_lo = std::min(up_lo, up);
    up_hi = std::max(up_hi, up);
  }
  auto range = [](double lo, double hi) { return lo == hi || fmt("%.1f", lo) == fmt("%.1f", hi) ? fmt("%.1f", lo) : fmt("%.1f", lo) + "–" + fmt("%.1f", hi); };
  o << "\nWhat BFV costs and buys (same machine, same run): BFV computes on integers modulo plaintext primes, "
       "so the encrypted result is the quantized model's, exactly — the agreement column is with the quantized model "
       "and its logits are identical, with nothing to tolerate — where CKKS approximates the float model (its max "
       "logit error above). The price is depth in bits: without rescaling every x² doubles the plaintext range, so "
       "the compiler proves the largest intermediate from the weights and takes as many plaintext primes as that "
       "needs (each a full evaluation, recombined by the CRT) and a ring large enough for the worst-case noise, where "
       "CKKS spends one level of its chain per multiplication. Here BFV took "
    << range(ratio_lo, ratio_hi) << "× CKKS's encrypted time and uploaded " << range(up_lo, up_hi)
    << "× its bytes per image. Figure: bfv_vs_ckks.\n";
  return o.str();
}

BfvFigures write_bfv_figures(const Report& report, const std::string& out_dir) {
  BfvFigures out;
  const auto pairs = pairs_of(report);
  if (pairs.empty()) return out;
  const std::string gnuplot = find_gnuplot();
  if (gnuplot.empty()) {
    out.warning = "gnuplot not found: the bfv_vs_ckks figure is skipped";
    return out;
  }
  const std::filesystem::path dir(out_dir);
  {
    std::ofstream d(dir / "bfv.dat");
    d << "# experiment ckks_seconds bfv_seconds ckks_kib_up bfv_kib_up\n";
    for (const auto& [name, p] : pairs)
      d << '"' << name << "\" " << p.ckks->seconds.inference << " " << p.bfv->seconds.inference << " "
        << p.ckks->bytes_up_per_image / 1024 << " " << p.bfv->bytes_up_per_image / 1024 << "\n";
    if (!d) throw Error("cannot write " + (dir / "bfv.dat").string());
  }
  std::ostringstream gp;
  gp << "# BFV against CKKS (script written by hemi; run: gnuplot bfv.gp)\n"
     << "has_cairo = strstrt(GPVAL_TERMINALS, 'pngcairo') > 0\n"
     << "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
     << "set grid ytics\nset key top left\nset xtics noenhanced\nset yrange [0:*]\n";
  for (const char* ext : {"png", "svg"}) {
    if (std::string(ext) == "png")
      gp << "if (has_cairo) { set terminal pngcairo size 1100,450 font 'sans,10' } else { set terminal png size 1100,450 }\n";
    else
      gp << "set terminal svg size 1100,450 font 'sans,10'\n";
    gp << "set output 'bfv_vs_ckks." << ext << "'\n"
       << "set multiplot layout 1,2 title 'BFV (exact, quantized) against CKKS (approximate, float): encrypted inference' noenhanced\n"
       << "set ylabel 'seconds (encrypted, end to end)'\nset title 'time'\n"
       << "plot 'bfv.dat' using 2:xtic(1) title 'CKKS', '' using 3 title 'BFV'\n"
       << "set logscale y\nset yrange [*:*]\nset ylabel 'KiB uploaded per image (log scale)'\nset title 'bytes'\n"
       << "plot 'bfv.dat' using 4:xtic(1) title 'CKKS', '' using 5 title 'BFV'\n"
       << "unset multiplot\nunset logscale y\nset yrange [0:*]\nunset output\n";
  }
  {
    std::ofstream g(dir / "bfv.gp");
    g << gp.str();
    if (!g) throw Error("cannot write " + (dir / "bfv.gp").string());
  }
  const std::string cmd = "cd '" + dir.string() + "' && '" + gnuplot + "' bfv.gp > bfv_gnuplot.log 2>&1";
  const int rc = std::system(cmd.c_str());
  for (const char* ext : {"png", "svg"}) {
    const auto p = dir / (std::string("bfv_vs_ckks.") + ext);
    if (std::filesystem::exists(p) && std::filesystem::file_size(p) > 0) out.files.push_back(p.string());
  }
  if (rc != 0 || out.files.size() != 2)
    out.warning = "gnuplot failed on bfv.gp (exit " + std::to_string(rc) + "); see " + (dir / "bfv_gnuplot.log").string();
  else
    std::filesystem::remove(dir / "bfv_gnuplot.log");
  return out;
}

}  // namespace hemi::report
