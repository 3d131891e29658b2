// BFV beside CKKS in `hemi run` (issue 13, docs/bfv.md): the variants with scheme = "bfv"
// (the integer-quantized model, in plaintext or under BFV), and the report's section on what
// BFV costs and buys against CKKS on the same networks -- one paragraph and one figure (time,
// bytes, exactness, depth), from the runs of each experiment that has both schemes encrypted.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "hemi/base/thread_pool.h"
#include "hemi/data/image_set.h"
#include "hemi/nn/model.h"
#include "hemi/report/results.h"
#include "hemi/report/spec.h"

namespace hemi::report {

// Evaluates a scheme = "bfv" variant on the test set: the quantized model in plaintext (mode
// plain) or under BFV (encrypted, throughput packing), filling the run's times, bytes, keys,
// agreement with the quantized model and BfvInfo. Returns the logits (integers / output scale).
// Throws hemi::Error naming the run when the model cannot be quantized or compiled.
std::vector<std::vector<double>> evaluate_bfv_variant(const VariantSpec& v, const nn::Model& model,
                                                      const data::ImageSet& test_set, const std::vector<int>& truth,
                                                      ThreadPool& pool, int threads, const std::string& label,
                                                      std::FILE* log, RunResult& r);

// Markdown "## BFV against CKKS": a table per experiment with both encrypted schemes and one
// paragraph; empty when no experiment has both.
std::string bfv_markdown(const Report& report);

// The figure bfv_vs_ckks (PNG and SVG, gnuplot; bfv.gp and bfv.dat in out_dir): encrypted
// time and upload per image of CKKS and BFV, per experiment. Nothing (no files, no warning)
// when no experiment has both schemes.
struct BfvFigures {
  std::vector<std::string> files;
  std::string warning;
};
BfvFigures write_bfv_figures(const Report& report, const std::string& out_dir);

}  // namespace hemi::report
