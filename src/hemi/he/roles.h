// The two roles of encrypted inference.
//
// Client (holds the secret key): makes the keys for a plan, encodes and encrypts images
// (seeded, half-size ciphertexts), decrypts logits and turns them into probabilities.
// Server (holds no secret key, by construction: it is built from the plan, the model and the
// public evaluation keys only): evaluates the network on ciphertexts.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "hemi/base/thread_pool.h"
#include "hemi/ckks/encoder.h"
#include "hemi/ckks/encryptor.h"
#include "hemi/ckks/evaluator.h"
#include "hemi/ckks/flooding.h"
#include "hemi/he/linear.h"
#include "hemi/he/plan.h"
#include "hemi/nn/model.h"

namespace hemi::he {

class MultiplexedExecutor;  // multiplexed_conv.h

// What the server needs: public evaluation keys only.
struct EvalKeys {
  ckks::RelinKey relin;
  ckks::GaloisKeys galois;
};

// Throughput packing: value index k (of C*H*W) of a batch -> its ciphertext. The server asks for
// each input when it first needs it and drops it after its last use, so a batch's inputs need
// not all be alive at once.
using InputSource = std::function<ckks::Ciphertext(std::size_t value_index)>;

struct StreamSchedule;  // throughput_stream.h

// What the server did for one model layer of one image (latency packing), measured while it
// ran: the counting side of the lowered program (program.h), which tests hold to the plan.
struct LayerTrace {
  OpCounts ops;
  std::vector<int> rotation_steps;  // the steps it rotated by, normalized (normalize_steps)
  int level_out = -1;               // of its output ciphertext(s)
  double log2_scale_out = 0;
};
struct StreamStats;

class Client {
 public:
  explicit Client(Plan plan);                       // keys from the OS CSPRNG
  Client(Plan plan, const Seed& test_seed);         // deterministic keys: tests only
  // A client for a secret key made earlier (loaded from its file); throws hemi::Error if the
  // key was made for other parameters than the plan's.
  Client(Plan plan, ckks::SecretKey sk);
  const Plan& plan() const { return plan_; }
  const ckks::Params& params() const { return params_; }
  const ckks::SecretKey& secret_key() const { return sk_; }
  EvalKeys eval_keys();

  // Throughput: the seeded encryption of value `k` of every image in the batch (slot i = image i).
  // images: count pointers to C*H*W normalized floats; count <= images_per_batch.
  ckks::SeededCiphertext encrypt_value(const std::vector<const float*>& images, std::size_t k);
  // Latency: one image in one ciphertext, repeated every `period` slots.
  ckks::SeededCiphertext encrypt_image(const float* image);

  // Logits of each image: throughput takes `classes` ciphertexts (one per class) and returns
  // logits for `count` images; latency takes one ciphertext and returns one image's logits.
  // With a flooding policy set, every decryption is flooded (ckks/flooding.h) and the logits
  // rounded to the flooded precision: for values that leave the client. Unset: exact values.
  std::vector<std::vector<double>> decrypt_logits(const std::vector<ckks::Ciphertext>& out, std::size_t count) const;
  void set_flooding(std::optional<ckks::FloodingPolicy> policy) { flooding_ = policy; }
  // The widest flooding of the decryptions so far (slot_sigma: deviation of each logit).
  const ckks::FloodingReport& flooding_report() const { return flooding_report_; }

 private:
  Plan plan_;
  ckks::Params params_;
  ckks::KeyGenerator keygen_;
  ckks::SecretKey sk_;
  ckks::Encoder encoder_;
  std::unique_ptr<ckks::SymmetricEncryptor> encryptor_;
  std::optional<ckks::FloodingPolicy> flooding_;
  mutable ckks::FloodingReport flooding_report_;
};

// The server's state for one model, independent of any client's keys: the plan, the linear
// layers as sparse matrices and, in latency packing, the pre-encoded diagonal plaintexts.
// Built once per (plan, model) and shared by every Server made for it, one per client key set.
// Immutable; thread-safe.
class PreparedModel {
 public:
  // Builds the layers from the plan's lowered program (program.h) and the model's weights:
  // the program's layouts, levels and steps, not chosen again. Refuses (hemi::Error) a plan
  // for another model (model id, im2col geometry) or a program that does not fit the model's
  // layers: their number and kinds, a weight on a diagonal the layout does not list, a hybrid
  // layout after a polynomial that adds a constant, a channel-packed step that is not its
  // layer's (mux_program), a stream row order of another length than its layer's rows, or
  // counts that the throughput stream would not perform.
  PreparedModel(Plan plan, const nn::Model& model);
  ~PreparedModel();
  const Plan& plan() const { return plan_; }
  const ckks::Params& params() const { return params_; }
  // The plaintexts encoded in advance for a layer (diagonal latency layout; 0 otherwise).
  std::uint64_t plaintexts(std::size_t layer) const;
  // Throughput: the schedule the server streams (the program's row orders); null otherwise.
  const StreamSchedule* stream() const { return stream_.get(); }
  struct Layer;

 private:
  friend class Server;
  Plan plan_;
  ckks::Params params_;
  ckks::Encoder encoder_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::unique_ptr<const StreamSchedule> stream_;  // throughput: the streamed schedule
  std::unique_ptr<MultiplexedExecutor> mux_;  // latency, multiplexed layout
};

class Server {
 public:
  // Checks that the keys belong to the plan. The pool (may be null) is not owned.
  Server(std::shared_ptr<const PreparedModel> model, EvalKeys keys, ThreadPool* pool = nullptr);
  // The same with a model prepared for this Server alone.
  Server(Plan plan, const nn::Model& model, EvalKeys keys, ThreadPool* pool = nullptr);
  const Plan& plan() const { return plan_; }
  const ckks::Params& params() const { return params_; }

  // Throughput: one batch; returns `classes` ciphertexts (slot i = logit of image i). Streamed
  // through every layer (throughput_stream.h): the inputs are asked for position by position
  // and every value is dropped after its last use. With `stats`, the operations performed per
  // layer and the peak of the ciphertext words alive at once.
  std::vector<ckks::Ciphertext> evaluate_batch(const InputSource& inputs, StreamStats* stats = nullptr) const;
  // Latency: one image; returns one ciphertext with the logits in slots [0, classes). With
  // `trace`, what it did per model layer.
  ckks::Ciphertext evaluate_image(const ckks::Ciphertext& input, std::vector<LayerTrace>* trace = nullptr) const;

 private:
  using Layer = PreparedModel::Layer;
  ckks::Ciphertext linear_latency(const Layer& l, const ckks::Ciphertext& in, LayerTrace* trace) const;
  void check_input(const ckks::Ciphertext& ct, const char* what) const;
  void for_each(std::size_t count, const std::function<void(std::size_t)>& f) const;  // over the pool, if any

  std::shared_ptr<const PreparedModel> prepared_;
  const Plan& plan_;              // these four are prepared_'s
  const ckks::Params& params_;
  const ckks::Encoder& encoder_;
  const std::vector<std::unique_ptr<Layer>>& layers_;
  EvalKeys keys_;
  ThreadPool* pool_;
  ckks::Evaluator eval_;       // per-ciphertext work (called from pool tasks)
  ckks::Evaluator eval_pool_;  // work that spreads itself over the pool
};

}  // namespace hemi::he
