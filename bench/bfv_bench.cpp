// hemi-bench-bfv: median time of each BFV operation, single thread, at the default BFV
// parameters (N = 8192, q = [43, 43, 44, 44] + special 44 = 218 bits, 128-bit secure,
// t = 1032193, 20 bits) -- the set SEAL 4.1.2's figures in issue 13 were taken at.
// Names: bfv/N8192/<operation>. Operations run at the top level; keys and inputs are built
// once (outside the timed loops). Copies of inputs for in-place operations are made with the
// timer paused.
#include <benchmark/benchmark.h>

#include <memory>

#include "hemi/bfv/encoder.h"
#include "hemi/bfv/encryptor.h"
#include "hemi/bfv/evaluator.h"
#include "hemi/math/simd.h"

using namespace hemi;
using namespace hemi::bfv;

namespace {

struct Fixture {
  Fixture()
      : params(Params::create(default_literal()).value()),
        keygen(params),
        sk(keygen.secret_key()),
        pk(keygen.public_key(sk)),
        rk(keygen.relin_key(sk)),
        gk(keygen.galois_keys(sk, {1}, true)),
        encoder(params),
        encryptor(params, pk),
        sym(params, sk),
        decryptor(params, sk),
        eval(params) {
    values.resize(params.slots());
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<std::int64_t>(i % 1000) - 500;
    pt = encoder.encode(values);
    ct = encryptor.encrypt(pt);
    ct2 = encryptor.encrypt(pt);
    ct3 = eval.multiply(ct, ct2);
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
  std::vector<std::int64_t> values;
  Plaintext pt;
  Ciphertext ct, ct2, ct3;
};

Fixture& fixture() {
  static std::unique_ptr<Fixture> f = std::make_unique<Fixture>();
  return *f;
}

template <typename F>
void reg(const char* op, F fn) {
  benchmark::RegisterBenchmark((std::string("bfv/N8192/") + op).c_str(), [fn](benchmark::State& st) { fn(st, fixture()); })
      ->Unit(benchmark::kMicrosecond);
}

void register_all() {
  reg("encode", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.encoder.encode(f.values));
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
  reg("multiply_const", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) {
      st.PauseTiming();
      Ciphertext c = f.ct;
      st.ResumeTiming();
      f.eval.multiply_const_inplace(c, -37);
    }
  });
  reg("multiply", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.eval.multiply(f.ct, f.ct2));
  });
  reg("square", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.eval.square(f.ct));
  });
  reg("relinearize", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) {
      st.PauseTiming();
      Ciphertext c = f.ct3;
      st.ResumeTiming();
      f.eval.relinearize_inplace(c, f.rk);
    }
  });
  reg("rotate_rows", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.eval.rotate_rows(f.ct, 1, f.gk));
  });
  reg("rotate_columns", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.eval.rotate_columns(f.ct, f.gk));
  });
  reg("mod_switch", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) {
      st.PauseTiming();
      Ciphertext c = f.ct;
      st.ResumeTiming();
      f.eval.mod_switch_to_next_inplace(c);
    }
  });
  reg("noise_budget", [](benchmark::State& st, Fixture& f) {
    for (auto _ : st) benchmark::DoNotOptimize(f.decryptor.noise_budget(f.ct));
  });
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("simd", math::simd::active_path_name());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
