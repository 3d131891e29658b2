// hemi-bench-ckks: median time of each CKKS operation, single thread, at the study's parameters
// (N = 8192, [31, 26 x 6] + special 31, scale 2^26) and at N = 16384 ([60, 40 x 7] + special 60,
// scale 2^40), and at the chain `hemi plan` picks for seed-cnn (N = 8192, [38, 28 x 5] + special
// 39, scale 2^28). Names: ckks/N<degree>[_seedcnn]/<operation>. Operations run at the top level.
// Keys and inputs are built once per parameter set (outside the timed loops).
// ntt_forward_scalar is the portable kernel, timed in the same run as a reference for the SIMD
// path (ratio = ntt_forward_scalar / ntt_forward).
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <string>

#include "hemi/ckks/encoder.h"
#include "hemi/ckks/encryptor.h"
#include "hemi/ckks/evaluator.h"
#include "hemi/math/simd.h"
#include "hemi/math/simd_kernels.h"

using namespace hemi;
using namespace hemi::ckks;

namespace {

struct Fixture {
  explicit Fixture(const ParamsLiteral& lit)
      : params(Params::create(lit).value()),
        keygen(params),
        sk(keygen.secret_key()),
        pk(keygen.public_key(sk)),
        rk(keygen.relin_key(sk)),
        gk(keygen.galois_keys(sk, {1, 2, 3, 4, 5, 6, 7, 8})),
        encoder(params),
        encryptor(params, pk),
        sym(params, sk),
        decryptor(params, sk),
        eval(params) {
    values.resize(params.slots());
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = 0.5 * std::sin(static_cast<double>(i));
    pt = encoder.encode(values, params.max_level());
    ct = encryptor.encrypt(pt);
    ct2 = encryptor.encrypt(pt);
    for (int i = 0; i < 49; ++i) many.push_back(encryptor.encrypt(pt));
    for (auto& c : many) many_ptrs.push_back(&c);
    for (int i = 0; i < 49; ++i) weights.push_back(0.01 * (i - 24));
  }
  Params params;
  KeyGenerator keygen;
  SecretKey sk;
  PublicKey pk;
  RelinKey rk;
  GaloisKeys gk;
  Encoder encoder;
  Encryptor encryptor;
  SymmetricEncryptor sym;
  Decryptor decryptor;
  Evaluator eval;
  std::vector<double> values;
  Plaintext pt;
  Ciphertext ct, ct2;
  std::vector<Ciphertext> many;
  std::vector<const Ciphertext*> many_ptrs;
  std::vector<double> weights;
};

std::map<std::string, std::unique_ptr<Fixture>>& fixtures() {
  static std::map<std::string, std::unique_ptr<Fixture>> f;
  return f;
}

Fixture& get(const std::string& name, const ParamsLiteral& lit) {
  auto& slot = fixtures()[name];
  if (!slot) slot = std::make_unique<Fixture>(lit);
  return *slot;
}

void register_all(const std::string& tag, const ParamsLiteral& lit) {
  auto reg = [&](const std::string& op, auto fn) {
    benchmark::RegisterBenchmark(("ckks/" + tag + "/" + op).c_str(), [tag, lit, fn](benchmark::State& st) {
      Fixture& f = get(tag, lit);
      fn(st, f);
    })->Unit(benchmark::kMicrosecond);
  };
  reg("ntt_forward", [](benchmark::State& st, Fixture& f) {
    const auto& t = *f.params.ctx().ntt[1];
    std::vector<math::u64, AlignedAllocator<math::u64>> a(f.ct.polys[0].limb(1), f.ct.polys[0].limb(1) + f.params.n());
    for (auto _ : st) {
      math::ntt_forward(a.data(), t);
      benchmark::DoNotOptimize(a.data());
    }
    st.SetLabel(math::simd::path_name(
        math::simd::kernel_path(t.ifma_eligible(), math::simd::avx2::eligible(t.modulus().value))));
  });
  reg("ntt_forward_scalar", [](benchmark::State& st, Fixture& f) {
    const auto& t = *f.params.ctx().ntt[1];
    std::vector<math::u64, AlignedAllocator<math::u64>> a(f.ct.polys[0].limb(1), f.ct.polys[0].limb(1) + f.params.n());
    for (auto _ : st) {
      math::ntt_forward_scalar(a.data(), t);
      benchmark::DoNotOptimize(a.data());
    }
  });
  reg("ntt_inverse", [](benchmark::State& st, Fixture& f) {
    const auto& t = *f.params.ctx().ntt[1];
    std::vector<math::u64, AlignedAllocator<math::u64>> a(f.ct.polys[0].limb(1), f.ct.polys[0].limb(1) + f.params.n());
    for (auto _ : st) {
      math::ntt_inverse(a.data(), t);
      benchmark::DoNotOptimize(a.data());
    }
  });
  reg("encode", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.encoder.encode(f.values, f.params.max_level()));
  });
  reg("decode", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.encoder.decode(f.pt));
  });
  reg("encrypt_public", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.encryptor.encrypt(f.pt));
  });
  reg("encrypt_symmetric", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.sym.encrypt_seeded(f.pt));
  });
  // What a client does per uploaded ciphertext: encode then encrypt, and the fused form that
  // adds the error before the NTT (one NTT per limb fewer); same ciphertexts.
  reg("encode_then_encrypt_seeded", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.sym.encrypt_seeded(f.encoder.encode(f.values, f.params.max_level())));
  });
  reg("encode_encrypt_seeded_fused", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st)
      benchmark::DoNotOptimize(f.sym.encrypt_seeded(f.encoder.encode_coefficients(f.values, f.params.max_level())));
  });
  reg("decrypt", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.decryptor.decrypt(f.ct));
  });
  reg("add", [](benchmark::State& st, Fixture& f) {
    Ciphertext c = f.ct;
    for (auto _ : st) f.eval.add_inplace(c, f.ct2);
  });
  reg("multiply_plain", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) {
      st.PauseTiming();
      Ciphertext c = f.ct;
      st.ResumeTiming();
      f.eval.multiply_plain_inplace(c, f.pt);
    }
  });
  reg("multiply", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.eval.multiply(f.ct, f.ct2));
  });
  reg("relinearize", [](benchmark::State& st, Fixture& f) {
    Ciphertext c3 = f.eval.multiply(f.ct, f.ct2);
    for (auto _ : st) {
      st.PauseTiming();
      Ciphertext c = c3;
      st.ResumeTiming();
      f.eval.relinearize_inplace(c, f.rk);
    }
  });
  reg("multiply_relinearize", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.eval.multiply_relin(f.ct, f.ct2, f.rk));
  });
  reg("rescale", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) {
      st.PauseTiming();
      Ciphertext c = f.ct;
      st.ResumeTiming();
      f.eval.rescale_inplace(c);
    }
  });
  reg("rotate", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.eval.rotate(f.ct, 1, f.gk));
  });
  reg("rotate_hoisted_8", [](benchmark::State& st, Fixture& f) {
    const std::vector<int> steps = {1, 2, 3, 4, 5, 6, 7, 8};
    for (auto _ : st) benchmark::DoNotOptimize(f.eval.rotate_hoisted(f.ct, steps, f.gk));
  });
  reg("dot_product_49", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.eval.dot_product(f.many_ptrs, f.weights));
  });
  reg("keygen_relin", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.keygen.relin_key(f.sk));
  });
  reg("keygen_galois_1", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.keygen.galois_key(f.sk, galois_element_for_step(1, f.params.n())));
  });
}

}  // namespace

int main(int argc, char** argv) {
  register_all("N8192", {13, {31, 26, 26, 26, 26, 26, 26}, {31}, 26, 128, false});
  register_all("N16384", {14, {60, 40, 40, 40, 40, 40, 40, 40}, {60}, 40, 128, false});
  // What `hemi plan` chooses for seed-cnn: q_0 and the special prime above 2^31.
  register_all("N8192_seedcnn", {13, {38, 28, 28, 28, 28, 28}, {39}, 28, 128, false});
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("simd", math::simd::active_path_name());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
