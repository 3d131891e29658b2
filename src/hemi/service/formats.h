// The service's files and HTTP bodies: evaluation keys, inference requests, results and the
// client's secret key, each in one container that wraps the ckks object serialization.
//
//   header   "HEMISRVC" | u16 format version | u16 kind | u32 flags (0) | u64 payload bytes
//   payload  plan id (u32 length + 32 hex chars) | CKKS parameter id (32 bytes) |
//            key-set fingerprint (u32 length + 32 hex chars) | kind's fields
//   blob     u64 length + one ckks-serialized object (serialize.h, with its own header)
//
// All integers little-endian. Loading validates the magic, the version (another one is refused;
// version 1 had 64-bit parameter ids, version 2 no key-set fingerprint),
// the kind, the flags, the payload size against the input, the plan id and parameter id against
// the caller's plan, the fingerprint's form, every count against the plan, and then every blob with the ckks loaders.
// Every failure is a hemi::Error with a message that says what is wrong; a well-formed object
// made for another plan or other parameters is a PlanMismatch (so that a server can answer it
// differently from garbage). No input crashes, and nothing is built before it is validated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hemi/base/bytes.h"
#include "hemi/ckks/keys.h"
#include "hemi/he/plan.h"
#include "hemi/he/roles.h"

namespace hemi::service {

inline constexpr char kServiceMagic[8] = {'H', 'E', 'M', 'I', 'S', 'R', 'V', 'C'};
inline constexpr std::uint16_t kServiceFormatVersion = 3;
inline constexpr std::size_t kServiceHeaderBytes = 24;

enum class FileKind : std::uint16_t { kEvalKeys = 1, kRequest = 2, kResult = 3, kSecretKey = 4 };
const char* kind_name(FileKind kind);

// A well-formed object made for another plan or other CKKS parameters (the caller's input).
class PlanMismatch : public InputError {
 public:
  using InputError::InputError;
};

// The identity of a plan for the service: hex of the first 16 bytes of SHA-256 over every
// field that client and server must agree on (model id, packing, CKKS parameters, input shape,
// level, batch layout, rotation steps, classes). Predicted costs do not enter it.
std::string plan_id(const he::Plan& plan);

// A plan with its CKKS parameters and plan id, made once and shared (immutable, thread-safe).
class PlanContext {
 public:
  explicit PlanContext(he::Plan plan);  // throws hemi::Error if the plan is refused (Plan::validation_error)
  const he::Plan& plan() const { return plan_; }
  const ckks::Params& params() const { return params_; }
  const std::string& id() const { return id_; }

 private:
  he::Plan plan_;
  ckks::Params params_;
  std::string id_;
};

// The identity of a key set (a secret key and the evaluation keys made with it at keygen):
// hex of the first 16 bytes (128 bits) of SHA-256 over a label, the plan id and the serialized
// relinearization key, which is public and differs for every key set. Not secret. Evaluation
// keys, secret-key files, requests and results carry it, so that a result decrypted with
// another key set is refused instead of decrypting to confident garbage.
std::string key_set_fingerprint(const he::EvalKeys& keys, const PlanContext& plan);
// True for 32 lowercase hex characters (the form of a fingerprint and of a plan id).
bool is_hex_id(const std::string& s);

// Reads the container header and returns the kind (magic, version, flags, size checked).
FileKind peek_kind(const Bytes& data);

// Evaluation keys: relinearization and Galois keys for one plan, with their key-set
// fingerprint. Public; for the server.
Bytes write_eval_keys(const he::EvalKeys& keys, const PlanContext& plan);
// Also checks that every rotation step of the plan has its Galois key and that the stated
// fingerprint is the keys' own; `key_set` (if given) receives it.
he::EvalKeys read_eval_keys(const Bytes& data, const PlanContext& plan, std::string* key_set = nullptr);

// The client's secret key, bound to its plan and its key set. Never sent anywhere; written
// with mode 0600 (write_secret_file).
Bytes write_secret_key(const ckks::SecretKey& sk, const std::string& key_set, const PlanContext& plan);
ckks::SecretKey read_secret_key(const Bytes& data, const PlanContext& plan, std::string* key_set = nullptr);

// An inference request: seeded (half-size) input ciphertexts.
// Throughput: one batch, `images` <= images_per_batch, ciphertexts_per_batch ciphertexts (one per
// input value, slot i = image i). Latency: one ciphertext per image.
struct Request {
  std::uint32_t images = 0;
  std::string key_set;  // the fingerprint of the keys it was encrypted with
  std::vector<ckks::SeededCiphertext> inputs;
};
Bytes write_request(const Request& r, const PlanContext& plan);
// max_images bounds a latency request (throughput requests are bounded by the plan's batch).
Request read_request(const Bytes& data, const PlanContext& plan, std::size_t max_images = 1 << 20);

// An inference result: the logits ciphertexts. Throughput: `classes` ciphertexts for the batch;
// latency: one per image.
struct Result {
  std::uint32_t images = 0;
  std::string key_set;  // copied from the request
  std::vector<ckks::Ciphertext> outputs;
};
Bytes write_result(const Result& r, const PlanContext& plan);
// Also checks that every ciphertext is relinearized and at the scale the plan's evaluation
// ends at (the last layer's log2_scale_out).
Result read_result(const Bytes& data, const PlanContext& plan);

// The server's side: evaluates a validated request (the result carries its key set). Thread-safe for a Server built without a
// pool (Server's contract); throws hemi::Error if a ciphertext does not fit the plan.
Result evaluate(const he::Server& server, const Request& request);

}  // namespace hemi::service
