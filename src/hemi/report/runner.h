// The experiment runner behind `hemi run`: for every experiment of a Spec, load and
// preprocess the data set (data layer), build or load the model (nn), train it (train),
// evaluate each variant plaintext (nn interpreter) or encrypted (he session), and compute
// uniform metrics with confidence intervals (metrics). Progress with an ETA goes to `log`.
//
// Determinism: training runs with TrainSpec::threads (1 by default: bit-identical weights), so
// the same spec and seed give the same plaintext metrics. Encrypted runs draw fresh CKKS noise;
// their metrics are the same whenever the decrypted predictions are (agreement is ~100 %).
// Errors: hemi::Error naming the experiment (data set missing, model file unreadable, wrong
// shapes, training diverged). Not thread-safe: libtorch's thread count is process-wide.
#pragma once

#include <cstdio>
#include <string>

#include "hemi/report/results.h"
#include "hemi/report/spec.h"

namespace hemi::report {

struct RunOptions {
  int threads = 0;           // inference threads (plain and encrypted); 0 = every core
  std::string command;       // the command line that produced the report (recorded)
  std::FILE* log = stderr;   // progress and phase lines; nullptr = silent
};

Report run_spec(const Spec& spec, const RunOptions& options);

// The host: compiler, OS, CPU model, cores, hemi version, start time (UTC).
Environment describe_environment(int threads);

// Peak resident memory of this process so far, MiB.
double peak_memory_mib();

}  // namespace hemi::report
