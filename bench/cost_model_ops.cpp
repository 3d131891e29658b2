// hemi-bench-cost-ops: single-thread time of each operation the cost model counts, at every
// level of a chain (what the model's per-operation formulas are fitted to; docs/he.md, "Cost").
// Default chains: medcnn's latency plan (N = 16384, [47, 37 x 9] + 48) and seed-cnn's (N = 8192,
// [38, 28 x 5] + 39). The best of R repetitions (the minimum filters a shared machine's
// preemption). Output: one line per (chain, level, op): "N limbs op microseconds".
// Usage: hemi-bench-cost-ops [reps]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "hemi/ckks/encoder.h"
#include "hemi/ckks/encryptor.h"
#include "hemi/ckks/evaluator.h"
#include "hemi/he/cost_model.h"
#include "hemi/math/simd.h"

using namespace hemi;
using namespace hemi::ckks;

namespace {

double best_us(int reps, const std::function<void()>& fn) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

void run(const ParamsLiteral& lit, int reps) {
  const Params params = Params::create(lit).value();
  KeyGenerator keygen(params);
  const SecretKey sk = keygen.secret_key();
  const PublicKey pk = keygen.public_key(sk);
  const RelinKey rk = keygen.relin_key(sk);
  const std::vector<int> steps = {1, 2, 3, 4, 5, 6, 7, 8};
  const GaloisKeys gk = keygen.galois_keys(sk, steps);
  Encoder encoder(params);
  Encryptor encryptor(params, pk);
  Evaluator eval(params);
  std::vector<double> values(params.slots());
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = 0.5 * std::sin(static_cast<double>(i));
  const std::size_t n = params.n();
  for (std::size_t level = params.max_level(); level >= 1; --level) {
    const Plaintext pt = encoder.encode(values, level);
    const Ciphertext ct = encryptor.encrypt(pt), ct2 = encryptor.encrypt(pt);
    const std::size_t limbs = level + 1;
    auto line = [&](const char* op, double us) { std::printf("%zu %zu %s %.1f\n", n, limbs, op, us); };
    line("encode", best_us(reps, [&] { Plaintext p = encoder.encode(values, level); (void)p; }));
    line("rotate", best_us(reps, [&] { Ciphertext r = eval.rotate(ct, 1, gk); (void)r; }));
    // As a program runs them: every rotation with another key (8 keys: beyond the cache at
    // N = 2^14), every plaintext product with another plaintext (64 of them).
    std::size_t next = 0;
    line("rotate_cold", best_us(reps * 8, [&] { Ciphertext r = eval.rotate(ct, steps[next++ % steps.size()], gk); (void)r; }));
    std::vector<Plaintext> pts;
    for (int i = 0; i < 64; ++i) pts.push_back(encoder.encode(values, level));
    line("multiply_plain_cold", best_us(reps * 16, [&] { Ciphertext c = ct; eval.multiply_plain_inplace(c, pts[next++ % pts.size()]); }) -
                                    best_us(reps, [&] { Ciphertext c = ct; (void)c; }));
    // One term of a fused sum of plaintext products (Evaluator::multiply_plain_sum, what both
    // latency executors run), in chunks of 16 as the multiplexed executor does, each plaintext
    // another.
    std::vector<Ciphertext> cts(16, ct);
    std::vector<const Ciphertext*> cp;
    for (auto& c : cts) cp.push_back(&c);
    line("plain_sum_term", best_us(reps * 4, [&] {
                             std::vector<const Plaintext*> pp;
                             for (int k = 0; k < 16; ++k) pp.push_back(&pts[next++ % pts.size()]);
                             Ciphertext r = eval.multiply_plain_sum(cp, pp);
                             (void)r;
                           }) / 16);
    line("rotate_hoisted_8", best_us(reps, [&] { auto r = eval.rotate_hoisted(ct, steps, gk); (void)r; }));
    const Ciphertext c3 = eval.multiply(ct, ct2);
    line("relinearize", best_us(reps, [&] { Ciphertext c = c3; eval.relinearize_inplace(c, rk); }) -
                            best_us(reps, [&] { Ciphertext c = c3; (void)c; }));
    line("multiply", best_us(reps, [&] { Ciphertext r = eval.multiply(ct, ct2); (void)r; }));
    const double copy = best_us(reps, [&] { Ciphertext c = ct; (void)c; });
    line("rescale", best_us(reps, [&] { Ciphertext c = ct; eval.rescale_inplace(c); }) - copy);
    line("multiply_plain", best_us(reps, [&] { Ciphertext c = ct; eval.multiply_plain_inplace(c, pt); }) - copy);
    line("add", best_us(reps * 4, [&] { Ciphertext c = ct; eval.add_inplace(c, ct2); }) - copy);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  // The calibration kernel of he/cost_model.cpp, measured the same way in this run: the
  // per-operation constants are scaled by (reference NTT / this NTT) before they go into the table.
  std::printf("# path %s ntt_us %.2f\n", math::simd::active_path_name(), he::measure_calibration_ntt_us());
  run({13, {38, 28, 28, 28, 28, 28}, {39}, 28, 128, false}, reps);
  run({14, {47, 37, 37, 37, 37, 37, 37, 37, 37, 37}, {48}, 37, 128, false}, reps);
  return 0;
}
