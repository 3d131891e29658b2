// Homomorphic operations on CKKS ciphertexts. Server side: it takes only public evaluation
// keys. Key switching (relinearization, rotations), the element-wise additive operations and
// the division by the last prime under rescale are the ring layer's (ring/evaluator.h); this
// class adds CKKS's checks, scales and constants.
// Every operation validates parameter identity, levels, scales, shapes and keys before it
// touches its output, and its errors name the operation and the values
// ("multiply: scale mismatch 2^26 vs 2^52").
// Cost notes: key switching (relinearize, rotate) dominates; rotate_hoisted shares one
// decomposition (INTT + ModUp) across many rotations of one ciphertext; dot_product reduces
// once per output coefficient. Immutable; one Evaluator may be shared by threads.
// With a ThreadPool, key switching spreads its digits and limbs over the pool (the pool is
// not owned and must outlive the Evaluator); without one everything runs on the caller.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <functional>

#include "hemi/base/thread_pool.h"
#include "hemi/ckks/keys.h"
#include "hemi/ring/evaluator.h"

namespace hemi::ckks {

class Evaluator : public ring::AdditiveOps<Evaluator, Ciphertext> {
 public:
  explicit Evaluator(Params params, ThreadPool* pool = nullptr)
      : params_(std::move(params)), ring_(params_, pool) {}
  const Params& params() const { return params_; }

  // add, add_inplace, sub, sub_inplace, negate_inplace: ring::AdditiveOps.

  void add_plain_inplace(Ciphertext& a, const Plaintext& p) const;
  void sub_plain_inplace(Ciphertext& a, const Plaintext& p) const;
  void multiply_plain_inplace(Ciphertext& a, const Plaintext& p) const;

  // Adds c to every slot (at the ciphertext's scale).
  void add_const_inplace(Ciphertext& a, double c) const;
  // Multiplies every slot by c, encoded at const_scale (0: the prime q_level, so that the
  // following rescale restores the scale exactly). The scale becomes scale * const_scale.
  void multiply_const_inplace(Ciphertext& a, double c, double const_scale = 0) const;
  // Multiplies by an integer; the scale is unchanged.
  void multiply_integer_inplace(Ciphertext& a, std::int64_t k) const;

  // Ciphertext products: three parts until relinearized.
  Ciphertext multiply(const Ciphertext& a, const Ciphertext& b) const;
  Ciphertext square(const Ciphertext& a) const;
  void relinearize_inplace(Ciphertext& a, const RelinKey& rk) const;
  Ciphertext multiply_relin(const Ciphertext& a, const Ciphertext& b, const RelinKey& rk) const;

  // Divides by the last prime q_level: level - 1, scale / q_level.
  void rescale_inplace(Ciphertext& a) const;
  // Drops primes down to `level` without changing the scale.
  void drop_level_inplace(Ciphertext& a, std::size_t level) const;

  // Left rotation of the slots by `steps` (negative: right).
  Ciphertext rotate(const Ciphertext& a, int steps, const GaloisKeys& gk) const;
  Ciphertext conjugate(const Ciphertext& a, const GaloisKeys& gk) const;
  // Many rotations of one ciphertext sharing one key-switching decomposition.
  std::vector<Ciphertext> rotate_hoisted(const Ciphertext& a, std::span<const int> steps,
                                         const GaloisKeys& gk) const;

  // sum_i weights[i] * cts[i] with constant weights encoded at weight_scale (0: q_level).
  // All inputs share level and scale; the result has scale * weight_scale.
  Ciphertext dot_product(std::span<const Ciphertext* const> cts, std::span<const double> weights,
                         double weight_scale = 0) const;

  // sum_i cts[i] (x) pts[i], slot-wise products accumulated unreduced and reduced once per
  // coefficient: the inner sums of the diagonal method. Plaintexts at the ciphertexts' level,
  // all with one scale; the result has scale ct.scale * pt.scale.
  Ciphertext multiply_plain_sum(std::span<const Ciphertext* const> cts,
                                std::span<const Plaintext* const> pts) const;

  // Many dot products over one set of inputs: output r = sum_t rows[r].weight[t] *
  // inputs[rows[r].index[t]]. Blocked over coefficient ranges so that the inputs stay in cache
  // across rows, and spread over the thread pool by (limb, block). The kernel of a
  // throughput-packed convolution or dense layer.
  struct SparseRow {
    std::vector<std::uint32_t> index;
    std::vector<double> weight;
  };
  std::vector<Ciphertext> dot_products(std::span<const Ciphertext* const> inputs,
                                       std::span<const SparseRow> rows, double weight_scale = 0) const;

 private:
  friend class ring::AdditiveOps<Evaluator, Ciphertext>;
  const ring::Evaluator& ring_ops() const { return ring_; }
  Ciphertext apply_galois(const Ciphertext& a, std::uint32_t galois_elt, const GaloisKeys& gk,
                          const char* op) const;
  void check(const Ciphertext& a, const char* op) const;
  void check_pair(const Ciphertext& a, const Ciphertext& b, const char* op) const;
  void check_plain(const Ciphertext& a, const Plaintext& p, const char* op, bool same_scale) const;
  void check_product_scale(double scale, std::size_t level, const char* op) const;

  std::vector<Ciphertext> dot_products_impl(std::span<const Ciphertext* const> inputs, std::span<const SparseRow> rows,
                                            double weight_scale, const char* op) const;
  void parallel(std::size_t count, const std::function<void(std::size_t)>& f) const { ring_.parallel(count, f); }
  Params params_;
  ring::Evaluator ring_;
};

// "2^26" or "2^26.03": how scales appear in messages.
std::string scale_str(double scale);

}  // namespace hemi::ckks
