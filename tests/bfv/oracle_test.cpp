// Schoolbook oracles on an INSECURE N = 16 set: the HPS tensor product and scaling, and
// decryption's scaling, against exact __int128 negacyclic products and rounding.
#include <gtest/gtest.h>

#include "hemi/math/ntt.h"
#include "test_util.h"

namespace hemi::bfv {
namespace {

using i128 = __int128;
using testing::Bundle;
using testing::insecure_small;

struct Exact {
  explicit Exact(const Params& p) : params(p) {
    q = 1;
    for (auto& m : p.q()) q *= m.value;
  }
  // Coefficients of an NTT-form poly over q_0, q_1, centred in (-Q/2, Q/2].
  std::vector<i128> coefficients(const RnsPoly& poly) const {
    const auto& ring = params.ring().ctx();
    const std::size_t n = params.n();
    RnsPoly c = poly;
    for (std::size_t i = 0; i < c.limbs(); ++i) math::ntt_inverse(c.limb(i), *ring.ntt[i]);
    const u64 q0 = params.q()[0].value, q1 = params.q()[1].value;
    const u64 q0_inv = math::inv_mod(q0 % q1, params.q()[1]);
    std::vector<i128> out(n);
    for (std::size_t k = 0; k < n; ++k) {
      const u64 r0 = c.limb(0)[k], r1 = c.limb(1)[k];
      const u64 h = math::mul_mod(math::sub_mod(r1, r0 % q1, q1), q0_inv, params.q()[1]);  // Garner
      out[k] = centred(static_cast<i128>(r0) + static_cast<i128>(q0) * h);
    }
    return out;
  }
  i128 centred(i128 x) const {
    x %= q;
    if (x < 0) x += q;
    return x > q / 2 ? x - q : x;
  }
  std::vector<i128> negacyclic(const std::vector<i128>& a, const std::vector<i128>& b) const {
    const std::size_t n = a.size();
    std::vector<i128> r(n, 0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        const i128 p = a[i] * b[j];
        if (i + j < n) r[i + j] += p;
        else r[i + j - n] -= p;
      }
    return r;
  }
  // round(t d / Q) without overflowing: d = Q h + r with 0 <= r < Q.
  i128 scale_round(i128 t, i128 d) const {
    i128 h = d / q, r = d % q;
    if (r < 0) r += q, h -= 1;
    return t * h + round_div(t * r, q);
  }
  static i128 round_div(i128 a, i128 b) { return a >= 0 ? (2 * a + b) / (2 * b) : -((-2 * a + b) / (2 * b)); }

  const Params& params;
  i128 q;
};

TEST(BfvOracle, TensorProductAndScalingMatchSchoolbook) {
  Bundle b(insecure_small());
  Exact ex(b.params);
  const i128 t = b.params.t().value;
  std::size_t exact = 0, total = 0;
  for (std::uint32_t trial = 0; trial < 4; ++trial) {
    const auto va = b.random_values(100 + trial), vb = b.random_values(200 + trial);
    const Ciphertext ca = b.encrypt(va), cb = b.encrypt(vb);
    const Ciphertext prod = b.evaluator.multiply(ca, cb);
    ASSERT_EQ(prod.size(), 3u);
    const auto a0 = ex.coefficients(ca.polys[0]), a1 = ex.coefficients(ca.polys[1]);
    const auto b0 = ex.coefficients(cb.polys[0]), b1 = ex.coefficients(cb.polys[1]);
    std::vector<std::vector<i128>> d(3);
    d[0] = ex.negacyclic(a0, b0);
    d[2] = ex.negacyclic(a1, b1);
    d[1] = ex.negacyclic(a0, b1);
    const auto d1b = ex.negacyclic(a1, b0);
    for (std::size_t k = 0; k < d[1].size(); ++k) d[1][k] += d1b[k];
    for (std::size_t part = 0; part < 3; ++part) {
      const auto got = ex.coefficients(prod.polys[part]);
      for (std::size_t k = 0; k < got.size(); ++k) {
        const i128 want = ex.centred(ex.scale_round(t, d[part][k]));
        const i128 diff = ex.centred(got[k] - want);
        ASSERT_LE(diff < 0 ? -diff : diff, 1) << "part " << part << " coefficient " << k;
        exact += diff == 0;
        ++total;
      }
    }
    // And the product decrypts to the slot-wise product mod t.
    const auto got = b.decrypt(prod);
    for (std::size_t s = 0; s < va.size(); ++s) ASSERT_EQ(got[s], b.mod_t(static_cast<i128>(va[s]) * vb[s])) << "slot " << s;
  }
  EXPECT_GE(exact, total - 2) << "HPS rounding off by one more often than its fixed-point error allows";
}

TEST(BfvOracle, DecryptionScalingMatchesSchoolbook) {
  Bundle b(insecure_small());
  Exact ex(b.params);
  const i128 t = b.params.t().value;
  std::vector<i128> s(b.params.n());
  for (std::size_t k = 0; k < s.size(); ++k) s[k] = b.sk.coeffs[k];
  for (std::uint32_t trial = 0; trial < 8; ++trial) {
    Ciphertext ct = b.encrypt(b.random_values(300 + trial));
    if (trial % 2) ct = b.evaluator.square(ct);  // a 3-part ciphertext: c0 + c1 s + c2 s^2
    auto phase = ex.coefficients(ct.polys[0]);
    const auto c1s = ex.negacyclic(ex.coefficients(ct.polys[1]), s);
    for (std::size_t k = 0; k < phase.size(); ++k) phase[k] = ex.centred(phase[k] + c1s[k]);
    if (ct.size() == 3) {
      const auto c2s2 = ex.negacyclic(ex.negacyclic(ex.coefficients(ct.polys[2]), s), s);
      for (std::size_t k = 0; k < phase.size(); ++k) phase[k] = ex.centred(phase[k] + ex.centred(c2s2[k]));
    }
    const Plaintext pt = b.decryptor.decrypt(ct);
    for (std::size_t k = 0; k < phase.size(); ++k) {
      i128 want = Exact::round_div(t * phase[k], ex.q) % t;
      if (want < 0) want += t;
      ASSERT_EQ(static_cast<i128>(pt.coeffs[k]), want) << "trial " << trial << " coefficient " << k;
    }
  }
}

}  // namespace
}  // namespace hemi::bfv
