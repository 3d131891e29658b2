#include "hemi/quant/compiler.h"

#include <cmath>
#include <cstdio>

#include "hemi/bfv/noise.h"
#include "hemi/ring/security.h"
#include "hemi/math/primes.h"

namespace hemi::quant {

namespace {

// Ring primes of at most 50 bits take the vector kernels (IFMA, and AVX2's double-precision
// NTT): measured on seed-cnn, 5 primes of 50 bits evaluate several times faster than 4 of 60
// bits on the scalar kernels. 60-bit primes only when no 50-bit chain fits a ring.
constexpr int kRingPrimeBits[] = {50, 60};

// The worst-case budget after each op, all at the top level, for one parameter set.
std::vector<double> simulate(const QuantizedModel& qm, const bfv::Params& p) {
  bfv::NoiseEstimator est(p);
  const std::size_t top = p.max_level();
  const double t = static_cast<double>(p.t().value);
  double v = est.fresh_symmetric(top);  // the client uploads seeded symmetric ciphertexts
  std::vector<double> budgets;
  for (const QOp& op : qm.ops) {
    if (op.kind == QOp::Kind::kSquare) {
      v = est.key_switch(est.multiply(v, v, top), top);
    } else {
      v = est.multiply_const(v, static_cast<double>(op.l1_max));
      // The bias is added as round(Q b / t): its rounding adds at most t / (2 Q).
      v = est.add(v, std::log2(t / 2) - p.log2_q(top));
    }
    budgets.push_back(bfv::NoiseEstimator::budget(v));
  }
  return budgets;
}

}  // namespace

std::size_t plaintext_primes(const QuantizedModel& qm, int t_bits) {
  // Each prime is above 2^(t_bits - 1): k (t_bits - 1) bits cover 2 bound + 1.
  const int need_bits = static_cast<int>(std::ceil(std::log2(2 * static_cast<double>(qm.max_bound()) + 1)));
  return static_cast<std::size_t>(std::max(1, (need_bits + t_bits - 2) / (t_bits - 1)));
}

std::string Plan::summary() const {
  char buf[256];
  const bfv::ParamsLiteral& l = params.front();
  int q_total = 0;
  for (int b : l.q_bits) q_total += b;
  std::snprintf(buf, sizeof(buf), "BFV N=2^%d, Q %d bits in %zu primes, %zu plaintext prime(s) of %d bits (bound 2^%.1f < T/2 = 2^%.1f), budget left %.1f bits, download level %zu",
                l.log_n, q_total, l.q_bits.size(), t.size(), static_cast<int>(std::ceil(std::log2(static_cast<double>(t.front())))), log2_bound,
                log2_t_product - 1, budget_after.empty() ? 0.0 : budget_after.back(), download_level);
  return buf;
}

Result<Plan> compile(const QuantizedModel& qm, const CompileOptions& o) {
  return compile_with(qm, o, [&qm](const bfv::Params& p) { return Result<std::vector<double>>(simulate(qm, p)); });
}

Result<Plan> compile_with(const QuantizedModel& qm, const CompileOptions& o, const NoiseSimulation& simulate_packing,
                          int min_log_n_packing, const LiteralCheck& admit) {
  using R = Result<Plan>;
  if (o.t_bits < 17 || o.t_bits > 60) return R::failure("plaintext prime size " + std::to_string(o.t_bits) + " bits outside [17, 60]");
  Plan plan;
  plan.log2_bound = static_cast<double>(std::log2(qm.max_bound()));
  const int k = static_cast<int>(plaintext_primes(qm, o.t_bits));
  if (k > o.max_primes)
    return R::failure("the largest intermediate, 2^" + std::to_string(plan.log2_bound) + ", needs " + std::to_string(k) +
                      " plaintext primes of " + std::to_string(o.t_bits) + " bits, more than the " + std::to_string(o.max_primes) +
                      " allowed: use fewer weight bits or larger primes");
  std::string last_reason;
  const int min_log_n = std::max(min_log_n_packing, o.allow_insecure ? std::min(o.min_log_n, 12) : std::max(o.min_log_n, 12));
  for (int log_n = min_log_n; log_n <= 16; ++log_n) {
    const std::size_t n = std::size_t{1} << log_n;
    std::vector<std::uint64_t> ts;
    try {
      ts = math::generate_ntt_primes(std::vector<int>(k, o.t_bits), n);
    } catch (const Error&) {
      continue;  // no batching primes of this size for this N
    }
    const int bound = o.security ? *ring::max_log_qp(std::max(log_n, 12), o.security) : 60 * 16;
    // Equal primes of up to 50 (else 60) bits plus one special prime as large as a digit.
    for (int max_bits : kRingPrimeBits) {
      for (int count = 1; count <= 15; ++count) {
        const int each = std::min(max_bits, (bound - 1) / (count + 1));
        if (each < o.t_bits + 10 || each < log_n + 2) continue;
        bfv::ParamsLiteral lit;
        lit.log_n = log_n;
        lit.q_bits.assign(count, each);
        lit.p_bits = {each};
        lit.security = o.security;
        lit.allow_insecure = o.allow_insecure;
        if (admit) {
          if (auto refused = admit(lit)) {
            last_reason = *refused;
            continue;
          }
        }
        std::vector<double> worst;
        std::vector<bfv::ParamsLiteral> lits;
        bool ok = true;
        for (std::uint64_t t : ts) {
          lit.t = t;
          auto p = bfv::Params::create(lit);
          if (!p) {
            last_reason = p.error();
            ok = false;
            break;
          }
          auto sim = simulate_packing(p.value());
          if (!sim) {
            last_reason = sim.error();
            ok = false;
            break;
          }
          const std::vector<double>& b = sim.value();
          if (worst.empty()) worst = b;
          for (std::size_t i = 0; i < b.size(); ++i) worst[i] = std::min(worst[i], b[i]);
          lits.push_back(lit);
        }
        if (!ok || worst.back() < o.min_budget_bits) continue;
        plan.params = lits;
        plan.t = ts;
        plan.budget_after = worst;
        plan.log2_t_product = 0;
        for (auto t : ts) plan.log2_t_product += std::log2(static_cast<double>(t));
        // Modulus switching before download: drop primes while the estimate stays positive.
        const bfv::Params p0 = bfv::Params::create(lits.front()).value();
        bfv::NoiseEstimator est(p0);
        double v = -1 - worst.back();
        std::size_t level = p0.max_level();
        while (level > 0) {
          const double next = est.mod_switch(v, level);
          if (bfv::NoiseEstimator::budget(next) < o.min_budget_bits) break;
          v = next;
          --level;
        }
        plan.download_level = level;
        return plan;
      }
    }
  }
  return R::failure("no ring up to N = 2^16 keeps a positive worst-case noise budget for this network with " + std::to_string(k) +
                    " plaintext prime(s) of " + std::to_string(o.t_bits) + " bits" + (last_reason.empty() ? "" : " (" + last_reason + ")"));
}

}  // namespace hemi::quant
