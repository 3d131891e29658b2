// Encrypted inference of a quantized network under BFV, throughput packing: one image per
// slot, so a batch of up to N images runs as one evaluation; every neuron is a ciphertext
// (under each plaintext prime of the plan). Linear layers are dot products with the integer
// weights plus a constant bias, x² is a ciphertext square and a relinearization, pooling is a
// sum: no rotations, so no Galois keys. The client uploads seeded (half-size) symmetric
// ciphertexts; results are modulus-switched to the plan's download level, decrypted under
// each prime and recombined by the CRT into the exact integer logits.
// Thread-safety: run_throughput is a pure function; with a pool the evaluator spreads limbs.
#pragma once

#include <cstdint>
#include <vector>

#include "hemi/base/thread_pool.h"
#include "hemi/quant/compiler.h"
#include "hemi/quant/encrypted_run.h"

namespace hemi::quant {

struct ThroughputResult : EncryptedRun {  // eval_key_bytes: the relinearization keys
  std::size_t batches = 0;
};

// inputs: count images of qm.input_size integer inputs each (to_inputs).
ThroughputResult run_throughput(const QuantizedModel& qm, const Plan& plan,
                                const std::vector<std::vector<std::int64_t>>& inputs, ThreadPool* pool = nullptr);

// The centred integer with the given residues modulo the primes t (balanced mixed radix);
// throws if it does not fit in __int128.
i128 crt_centred(const std::vector<std::uint64_t>& residues, const std::vector<std::uint64_t>& t);

// v modulo t, centred in (-t/2, t/2] (t odd): what a slot holds for the integer v.
std::int64_t centred_mod(i128 v, std::uint64_t t);

int argmax(const i128* logits, int classes);

}  // namespace hemi::quant
