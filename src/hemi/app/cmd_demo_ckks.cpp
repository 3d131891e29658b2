// hemi demo-ckks: encrypts a vector, computes on it, and prints the decrypted result next to
// the plaintext result, with the parameters' security level and the time of each step.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "hemi/app/command.h"
#include "hemi/app/params_options.h"
#include "hemi/ckks/encoder.h"
#include "hemi/ckks/encryptor.h"
#include "hemi/ckks/evaluator.h"

namespace hemi::app {
namespace {

struct Options {
  ParamsOptions params;
  int count = 8;
  bool json = false;
};

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

void run(const Options& o) {
  using namespace ckks;
  using clock = std::chrono::steady_clock;
  Params params = Params::create(o.params.literal().value()).value();
  const std::size_t slots = params.slots();
  std::vector<double> x(slots);
  for (std::size_t i = 0; i < slots; ++i) x[i] = std::sin(0.1 * static_cast<double>(i)) * 0.9;

  // What is computed: y = x^2 + 0.5 * rotate(x, 1) - 0.25, in slots.
  std::vector<double> expect(slots);
  for (std::size_t i = 0; i < slots; ++i) expect[i] = x[i] * x[i] + 0.5 * x[(i + 1) % slots] - 0.25;

  auto t = clock::now();
  KeyGenerator keygen(params);
  SecretKey sk = keygen.secret_key();
  PublicKey pk = keygen.public_key(sk);
  RelinKey rk = keygen.relin_key(sk);
  GaloisKeys gk = keygen.galois_keys(sk, {1});
  const double t_keygen = ms_since(t);

  Encoder encoder(params);
  Encryptor encryptor(params, pk);
  Evaluator eval(params);
  Decryptor decryptor(params, sk);
  t = clock::now();
  Ciphertext cx = encryptor.encrypt(encoder.encode(x, params.max_level()));
  const double t_encrypt = ms_since(t);

  t = clock::now();
  Ciphertext sq = eval.multiply_relin(cx, cx, rk);
  eval.rescale_inplace(sq);
  Ciphertext rot = eval.rotate(cx, 1, gk);
  // Encode the constant at the scale that makes both terms meet at sq's scale after rescaling.
  const double q_top = static_cast<double>(params.q()[rot.level].value);
  eval.multiply_const_inplace(rot, 0.5, sq.scale * q_top / rot.scale);
  eval.rescale_inplace(rot);
  Ciphertext y = eval.add(sq, rot);
  eval.add_const_inplace(y, -0.25);
  const double t_eval = ms_since(t);

  t = clock::now();
  std::vector<double> got = encoder.decode(decryptor.decrypt(y));
  const double t_decrypt = ms_since(t);
  double max_err = 0;
  for (std::size_t i = 0; i < slots; ++i) max_err = std::max(max_err, std::fabs(got[i] - expect[i]));

  if (o.json) {
    nlohmann::json j = {{"n", params.n()},
                        {"log2_qp", params.log2_qp()},
                        {"security_bits", params.security_bits()},
                        {"insecure", params.insecure()},
                        {"slots", slots},
                        {"max_abs_error", max_err},
                        {"ms", {{"keygen", t_keygen}, {"encrypt", t_encrypt}, {"evaluate", t_eval}, {"decrypt", t_decrypt}}}};
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("hemi CKKS demo: y = x^2 + 0.5 * rotate(x, 1) - 0.25 on %zu encrypted slots\n", slots);
  std::printf("parameters: N = %zu, log2(Q*P) = %.1f bits (%d-bit primes total), %s\n", params.n(),
              params.log2_qp(), params.total_bits(),
              params.insecure() ? "INSECURE (test parameters)"
                                : (std::to_string(params.security_bits()) + "-bit secure (HomomorphicEncryption.org table)").c_str());
  std::printf("\n  slot        x    plaintext y    decrypted y        error\n");
  for (int i = 0; i < o.count && i < static_cast<int>(slots); ++i)
    std::printf("  %4d %8.4f %14.8f %14.8f %12.2e\n", i, x[i], expect[i], got[i], got[i] - expect[i]);
  std::printf("\nmax |error| over all %zu slots: %.2e (2^%.1f)\n", slots, max_err, std::log2(max_err));
  std::printf("time: keygen %.1f ms, encrypt %.2f ms, evaluate %.2f ms, decrypt %.2f ms\n", t_keygen, t_encrypt,
              t_eval, t_decrypt);
}

void setup(CLI::App& root) {
  auto opts = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("demo-ckks", "Encrypt a vector, compute on it, compare with the plaintext result");
  opts->params.add_to(*cmd);
  cmd->add_option("--show", opts->count, "slots to print (default 8)");
  cmd->add_flag("--json", opts->json, "print one JSON object");
  cmd->callback([opts] { run(*opts); });
}

HEMI_REGISTER_COMMAND("demo-ckks", 90, setup);

}  // namespace
}  // namespace hemi::app
