// Command-line options that describe a CKKS parameter set, shared by the commands that take one.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "hemi/ckks/params.h"

namespace hemi::app {

struct ParamsOptions {
  int log_n = 0;
  std::vector<int> bits;  // q_0 ... q_L then the special primes (SEAL's convention)
  int special = 1;
  int scale_bits = 0;
  int depth = -1;
  int security = 128;
  bool insecure = false;

  void add_to(CLI::App& cmd);
  // The literal the options describe (the study's parameters when none are given).
  Result<ckks::ParamsLiteral> literal() const;
};

}  // namespace hemi::app
