// hemi params: explains a CKKS parameter set, or says why it is refused.
#include <cmath>
#include <cstdio>

#include "hemi/base/format.h"
#include <nlohmann/json.hpp>

#include "hemi/app/command.h"
#include "hemi/app/params_options.h"
#include "hemi/ckks/security.h"
#include "hemi/math/simd.h"
#include "hemi/math/simd_kernels.h"

namespace hemi::app {
namespace {

struct Options {
  ParamsOptions params;
  bool json = false;
};


int run(const Options& o) {
  auto literal = o.params.literal();
  Result<ckks::Params> created = literal ? ckks::Params::create(literal.value())
                                         : Result<ckks::Params>::failure(literal.error());
  if (!created) {
    if (o.json) {
      nlohmann::json j = {{"ok", false}, {"reason", created.error()}};
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::fprintf(stderr, "hemi params: refused: %s\n", created.error().c_str());
    }
    return 2;
  }
  const ckks::Params& p = created.value();
  const auto& l = p.literal();
  const int log_q0 = p.q()[0].bits;
  const int integer_bits = log_q0 - l.log_scale;
  auto bound = ckks::max_log_qp(p.log_n(), 128);
  // How many primes the active SIMD path's kernels take (the rest run the scalar kernels).
  const std::size_t all_primes = p.q().size() + p.p().size();
  std::size_t on_path = 0;
  for (const auto* chain : {&p.q(), &p.p()})
    for (const auto& m : *chain)
      on_path += math::simd::kernel_path(math::simd::ifma::eligible(m.value), math::simd::avx2::eligible(m.value)) ==
                 math::simd::active_path();
  if (o.json) {
    nlohmann::json q = nlohmann::json::array(), sp = nlohmann::json::array();
    for (auto& m : p.q()) q.push_back({{"value", m.value}, {"bits", m.bits}});
    for (auto& m : p.p()) sp.push_back({{"value", m.value}, {"bits", m.bits}});
    nlohmann::json j = {
        {"ok", true},
        {"id", p.id_hex()},
        {"n", p.n()},
        {"slots", p.slots()},
        {"q", q},
        {"special_primes", sp},
        {"total_bits", p.total_bits()},
        {"log2_qp", p.log2_qp()},
        {"max_bits_128", bound ? *bound : 0},
        {"security_bits", p.security_bits()},
        {"insecure", p.insecure()},
        {"levels", p.max_level()},
        {"scale_bits", l.log_scale},
        {"integer_bits", integer_bits},
        {"log2_fresh_error", std::log2(22.0 * static_cast<double>(p.n())) - l.log_scale},
        {"key_switching_digits", p.digit_count()},
        {"primes_per_digit", p.digit_size()},
        {"ciphertext_bytes", p.ciphertext_bytes(p.max_level())},
        {"seeded_ciphertext_bytes", p.seeded_ciphertext_bytes(p.max_level())},
        {"relin_key_bytes", p.relin_key_bytes()},
        {"galois_key_bytes", p.galois_key_bytes()},
        {"simd_path", math::simd::active_path_name()},
        {"primes_on_simd_path", on_path},
    };
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("CKKS parameters %s%s\n", p.id_hex().c_str(), p.insecure() ? "   ** INSECURE (test only) **" : "");
  std::printf("  ring degree N      2^%d = %zu (%zu slots)\n", p.log_n(), p.n(), p.slots());
  std::printf("  ciphertext chain   %zu primes:", p.q().size());
  for (auto& m : p.q()) std::printf(" %d", m.bits);
  std::printf(" bits\n");
  for (std::size_t i = 0; i < p.q().size(); ++i) std::printf("    q_%-2zu = %llu\n", i, static_cast<unsigned long long>(p.q()[i].value));
  std::printf("  special primes     %zu:", p.p().size());
  for (auto& m : p.p()) std::printf(" %d", m.bits);
  std::printf(" bits (hybrid key switching: %zu digits of %zu prime%s)\n", p.digit_count(), p.digit_size(),
              p.digit_size() == 1 ? "" : "s");
  for (std::size_t i = 0; i < p.p().size(); ++i) std::printf("    p_%-2zu = %llu\n", i, static_cast<unsigned long long>(p.p()[i].value));
  std::printf("  log2(Q*P)          %d bits (exactly %.2f)", p.total_bits(), p.log2_qp());
  if (bound) std::printf("; the 128-bit maximum for N = 2^%d is %d", p.log_n(), *bound);
  std::printf("\n");
  if (p.security_bits())
    std::printf("  security           %d-bit (HomomorphicEncryption.org table, ternary secret)\n", p.security_bits());
  else
    std::printf("  security           BELOW 128-bit: insecure, for tests only\n");
  std::printf("  levels             %zu multiplications (rescales) before q_0\n", p.max_level());
  std::printf("  scale              2^%d; q_0 leaves %d bits for the integer part of results\n", l.log_scale,
              integer_bits);
  // Measured: a fresh encryption's largest slot error is close to 22 N / scale.
  std::printf("  precision          fresh encryptions err by about 2^%.1f (22 N / scale)\n",
              std::log2(22.0 * static_cast<double>(p.n())) - l.log_scale);
  std::printf("  ciphertext         %s fresh, %s seeded (upload)\n", human_bytes(static_cast<double>(p.ciphertext_bytes(p.max_level()))).c_str(),
              human_bytes(static_cast<double>(p.seeded_ciphertext_bytes(p.max_level()))).c_str());
  std::printf("  relinearization    %s key\n", human_bytes(static_cast<double>(p.relin_key_bytes())).c_str());
  std::printf("  Galois key         %s per rotation step\n", human_bytes(static_cast<double>(p.galois_key_bytes())).c_str());
  std::printf("  kernels            %s path for %zu of %zu primes%s\n", math::simd::active_path_name(), on_path,
              all_primes, on_path == all_primes ? "" : " (the others exceed its prime size: scalar)");
  return 0;
}

void setup(CLI::App& root) {
  auto opts = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("params", "Explain a CKKS parameter set: chain, log2(Q*P), security, levels, sizes");
  opts->params.add_to(*cmd);
  cmd->add_flag("--json", opts->json, "print one JSON object");
  cmd->callback([opts] {
    int rc = run(*opts);
    if (rc) std::exit(rc);
  });
}

HEMI_REGISTER_COMMAND("params", 10, setup);

}  // namespace
}  // namespace hemi::app
