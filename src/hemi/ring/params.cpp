#include "hemi/ring/params.h"

#include <malloc.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "hemi/base/bytes.h"
#include "hemi/math/primes.h"
#include "hemi/ring/security.h"
#include "hemi/ring/serialize.h"

namespace hemi::ring {

namespace {
std::string join_bits(const std::vector<int>& bits) {
  std::string s = "[";
  for (std::size_t i = 0; i < bits.size(); ++i) s += (i ? ", " : "") + std::to_string(bits[i]);
  return s + "]";
}
}  // namespace

std::string detail::check_literal(const RingLiteral& l) {
  if (l.security != 0 && l.security != 128 && l.security != 192 && l.security != 256)
    return "security level " + std::to_string(l.security) + " is not one of 128, 192, 256";
  if (l.security == 0 && !l.allow_insecure)
    return "no security level requested: insecure parameters need an explicit opt-in "
           "(allow_insecure / --insecure)";
  const int min_log_n = l.allow_insecure ? 4 : 12;
  if (l.log_n < min_log_n || l.log_n > 16)
    return "ring degree N = 2^" + std::to_string(l.log_n) + " is outside 2^" +
           std::to_string(min_log_n) + " ... 2^16" +
           (l.allow_insecure ? "" : " (below 2^12 only with the insecure opt-in)");
  if (l.q_bits.empty()) return "the ciphertext modulus chain is empty";
  if (l.p_bits.empty()) return "at least one special prime is needed for key switching";
  if (l.q_bits.size() + l.p_bits.size() > kMaxPrimes)
    return "too many primes (" + std::to_string(l.q_bits.size() + l.p_bits.size()) +
           "); at most " + std::to_string(kMaxPrimes);
  for (const auto* v : {&l.q_bits, &l.p_bits})
    for (int b : *v)
      if (b < l.log_n + 2 || b > kMaxPrimeBits)
        return "prime size " + std::to_string(b) + " bits is outside [" +
               std::to_string(l.log_n + 2) + ", " + std::to_string(kMaxPrimeBits) +
               "] for N = 2^" + std::to_string(l.log_n);
  const int q_total = std::accumulate(l.q_bits.begin(), l.q_bits.end(), 0);
  // Hybrid key switching: P must cover each digit, or the key-switching noise swamps the data.
  const std::size_t alpha = l.p_bits.size();
  const int p_total = std::accumulate(l.p_bits.begin(), l.p_bits.end(), 0);
  for (std::size_t j = 0; j < l.q_bits.size(); j += alpha) {
    int digit = 0;
    for (std::size_t i = j; i < std::min(j + alpha, l.q_bits.size()); ++i) digit += l.q_bits[i];
    if (p_total < digit)
      return "special primes give " + std::to_string(p_total) +
             " bits but a key-switching digit of " + std::to_string(alpha) + " primes has " +
             std::to_string(digit) + " bits: add or enlarge special primes";
  }
  if (l.security != 0 && !l.allow_insecure) {
    const int bound = *max_log_qp(l.log_n, l.security);
    const int total = q_total + p_total;
    if (total > bound)
      return "log2(Q*P) = " + std::to_string(total) + " bits exceeds " + std::to_string(bound) +
             ", the " + std::to_string(l.security) + "-bit maximum for N = 2^" +
             std::to_string(l.log_n) +
             " (HomomorphicEncryption.org table; special primes count)";
  }
  return {};
}

ParamsId detail::legacy_params_id(const Context& c, std::int32_t log_scale) {
  Bytes b;
  ByteWriter w(b);
  w.put_string("hemi-ckks-params-v1");
  w.put<std::int32_t>(c.log_n);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(c.q.size()));
  for (auto& m : c.q) w.put<u64>(m.value);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(c.p.size()));
  for (auto& m : c.p) w.put<u64>(m.value);
  w.put<std::int32_t>(log_scale);
  w.put<std::int32_t>(c.security_bits);
  static_assert(SHA256_DIGEST_LENGTH == kParamsIdBytes);
  ParamsId id;
  SHA256(b.data(), b.size(), id.data());
  return id;
}

// Polynomial buffers are large (N x limbs words) and made per operation. glibc maps such blocks
// afresh and unmaps them on free, so every operation paid for page faults and zeroing; a fixed
// high mmap threshold lets the heap reuse them instead.
void detail::tune_allocator() {
  static const bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    return true;
  }();
  (void)done;
}

std::string detail::build_context(Context& c, const RingLiteral& literal) {
  tune_allocator();
  c.literal = literal;
  c.log_n = literal.log_n;
  c.n = std::size_t{1} << literal.log_n;
  std::vector<int> all_bits = literal.q_bits;
  all_bits.insert(all_bits.end(), literal.p_bits.begin(), literal.p_bits.end());
  std::vector<u64> primes;
  try {
    primes = math::generate_ntt_primes(all_bits, c.n);
  } catch (const Error& e) {
    return std::string("cannot generate the primes ") + join_bits(all_bits) + ": " + e.what();
  }
  for (std::size_t i = 0; i < primes.size(); ++i) {
    math::Modulus m(primes[i]);
    (i < literal.q_bits.size() ? c.q : c.p).push_back(m);
    c.qp.push_back(m);
  }
  // Check again on the primes themselves.
  c.total_bits = 0;
  c.log2_qp = 0;
  for (auto& m : c.qp) {
    c.total_bits += m.bits;
    c.log2_qp += std::log2(static_cast<double>(m.value));
  }
  c.security_bits = c.log_n >= 12 ? security_level_met(c.log_n, c.total_bits) : 0;
  if (!literal.allow_insecure && literal.security != 0 && c.security_bits < literal.security)
    return "the generated primes (" + std::to_string(c.total_bits) + " bits) do not meet " +
           std::to_string(literal.security) + "-bit security";
  c.alpha = c.p.size();

  for (auto& m : c.qp) c.ntt.push_back(std::make_unique<math::NttTables>(c.n, m));

  const std::size_t L = c.q.size() - 1;
  c.inv_last.resize(L + 1);
  c.inv_last_shoup.resize(L + 1);
  c.half_last.resize(L + 1);
  for (std::size_t l = 1; l <= L; ++l) {
    const u64 ql = c.q[l].value;
    for (std::size_t i = 0; i < l; ++i) {
      const math::Modulus& qi = c.q[i];
      u64 inv = math::inv_mod(math::reduce_64(ql, qi), qi);
      c.inv_last[l].push_back(inv);
      c.inv_last_shoup[l].push_back(math::shoup(inv, qi.value));
      c.half_last[l].push_back(math::reduce_64(ql >> 1, qi));
    }
  }

  c.modup.resize(L + 1);
  for (std::size_t l = 0; l <= L; ++l) {
    for (std::size_t j = 0; j * c.alpha <= l; ++j) {
      const std::size_t begin = j * c.alpha, end = std::min(begin + c.alpha, l + 1);
      std::vector<math::Modulus> from(c.q.begin() + begin, c.q.begin() + end), to;
      for (std::size_t i = 0; i <= l; ++i)
        if (i < begin || i >= end) to.push_back(c.q[i]);
      to.insert(to.end(), c.p.begin(), c.p.end());
      c.modup[l].push_back(std::make_unique<math::BaseConverter>(from, to));
    }
  }
  c.p_to_q = std::make_unique<math::BaseConverter>(c.p, c.q);
  for (auto& qi : c.q) {
    u64 pm = 1;
    for (auto& pj : c.p) pm = math::mul_mod(pm, math::reduce_64(pj.value, qi), qi);
    c.p_mod_q.push_back(pm);
    u64 inv = math::inv_mod(pm, qi);
    c.p_inv_mod_q.push_back(inv);
    c.p_inv_mod_q_shoup.push_back(math::shoup(inv, qi.value));
  }
  for (std::size_t l = 0; l <= L; ++l)
    c.crt.push_back(std::make_unique<math::CrtReconstructor>(
        std::vector<math::Modulus>(c.q.begin(), c.q.begin() + l + 1)));
  return {};
}

Result<Params> Params::create(const RingLiteral& literal) {
  if (auto reason = detail::check_literal(literal); !reason.empty()) return Result<Params>::failure(reason);
  auto c = std::make_shared<detail::Context>();
  if (auto reason = detail::build_context(*c, literal); !reason.empty()) return Result<Params>::failure(reason);
  c->id = detail::legacy_params_id(*c, kRingIdLogScale);
  return Params(std::move(c));
}

const RingLiteral& Params::ring_literal() const { return ctx_->literal; }
std::size_t Params::n() const { return ctx_->n; }
int Params::log_n() const { return ctx_->log_n; }
std::size_t Params::max_level() const { return ctx_->q.size() - 1; }
std::size_t Params::special_count() const { return ctx_->p.size(); }
std::size_t Params::digit_size() const { return ctx_->alpha; }
std::size_t Params::digit_count() const { return ctx_->digits_at(max_level()); }
const std::vector<math::Modulus>& Params::q() const { return ctx_->q; }
const std::vector<math::Modulus>& Params::p() const { return ctx_->p; }
int Params::total_bits() const { return ctx_->total_bits; }
double Params::log2_qp() const { return ctx_->log2_qp; }
double Params::log2_q(std::size_t level) const {
  double s = 0;
  for (std::size_t i = 0; i <= level && i < ctx_->q.size(); ++i) s += std::log2(static_cast<double>(ctx_->q[i].value));
  return s;
}
int Params::security_bits() const { return ctx_->security_bits; }
bool Params::insecure() const { return ctx_->security_bits < 128; }
const ParamsId& Params::id() const { return ctx_->id; }
std::string Params::id_hex() const { return to_hex(ctx_->id); }

std::string to_hex(const ParamsId& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 * id.size());
  for (std::uint8_t b : id) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

// Exact serialized sizes (see serialize.cpp): the header, then the payload.
std::size_t Params::relin_key_bytes() const {
  std::size_t limb = 0;
  for (auto& m : ctx_->qp) limb += detail::packed_limb_bytes(n(), m.bits);
  return kHeaderBytes + 32 + 4 + digit_count() * limb;  // seed, digit count, the b parts (a from the seed)
}
std::size_t Params::galois_key_bytes() const { return relin_key_bytes() - kHeaderBytes + 4; }  // in a set: element + key

const std::vector<std::uint32_t>& detail::Context::galois_permutation(std::uint32_t g) const {
  std::lock_guard lock(galois_mutex);
  auto it = galois_cache.find(g);
  if (it != galois_cache.end()) return it->second;
  std::vector<std::uint32_t> perm(n);
  const std::size_t two_n = 2 * n;
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t e = 2 * math::bit_reverse(i, log_n) + 1;
    std::size_t ge = (static_cast<std::size_t>(g) * e) % two_n;
    perm[i] = static_cast<std::uint32_t>(math::bit_reverse((ge - 1) / 2, log_n));
  }
  return galois_cache.emplace(g, std::move(perm)).first->second;
}

std::uint32_t galois_element_for_step(int steps, std::size_t n) {
  const std::size_t slots = n / 2, two_n = 2 * n;
  long long k = steps % static_cast<long long>(slots);
  if (k < 0) k += static_cast<long long>(slots);
  std::size_t g = 1;
  for (long long i = 0; i < k; ++i) g = (g * 5) % two_n;
  return static_cast<std::uint32_t>(g);
}

std::uint32_t galois_element_conjugate(std::size_t n) { return static_cast<std::uint32_t>(2 * n - 1); }

}  // namespace hemi::ring
