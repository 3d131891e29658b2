#include "hemi/app/params_options.h"

#include <bit>

namespace hemi::app {

void ParamsOptions::add_to(CLI::App& cmd) {
  cmd.add_option("--log-n", log_n, "ring degree N = 2^LOG_N (12..16)");
  cmd.add_option("--bits", bits,
                 "prime sizes in bits, comma-separated: q_0 ... q_L, then the special primes "
                 "(default: the study's 31,26,26,26,26,26,26,31 at N = 8192)")
      ->delimiter(',');
  cmd.add_option("--special", special, "how many of the last --bits are special primes (default 1)");
  cmd.add_option("--scale-bits", scale_bits, "encoding scale 2^BITS (default: q_1's size, or 26 with --depth)");
  // Range-checked when given: the default -1 means "not given", so -1 typed by a user must not
  // pass silently as "not given".
  cmd.add_option("--depth", depth, "choose N and the chain for this multiplicative depth instead (0..64)")
      ->check(CLI::Range(0, 64));
  cmd.add_option("--security", security, "security level in bits: 128, 192 or 256 (default 128)");
  cmd.add_flag("--insecure", insecure,
               "allow parameters below the requested security level (testing only; stamped on all output)");
}

Result<ckks::ParamsLiteral> ParamsOptions::literal() const {
  using R = Result<ckks::ParamsLiteral>;
  if (depth >= 0) {
    if (!bits.empty() || log_n) return R::failure("give either --depth or --log-n/--bits, not both");
    return ckks::literal_for_depth(depth, scale_bits ? scale_bits : 26, security);
  }
  ckks::ParamsLiteral l;
  std::vector<int> b = bits;
  if (b.empty()) {
    if (log_n == 0) b = {31, 26, 26, 26, 26, 26, 26, 31};
    else return R::failure("--bits is needed with --log-n");
  }
  l.log_n = log_n ? log_n : 13;
  if (special < 1 || special >= static_cast<int>(b.size()))
    return R::failure("--special " + std::to_string(special) + " leaves no ciphertext primes among " +
                      std::to_string(b.size()) + " sizes");
  l.q_bits.assign(b.begin(), b.end() - special);
  l.p_bits.assign(b.end() - special, b.end());
  l.log_scale = scale_bits;
  l.security = insecure && security == 128 ? 128 : security;
  l.allow_insecure = insecure;
  return l;
}

}  // namespace hemi::app
