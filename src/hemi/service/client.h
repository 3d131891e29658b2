// The client's side of the service: turning image files into the model's input, encrypting
// them into a request, decrypting a result into logits and probabilities (flooded if the
// he::Client has a flooding policy), and the HTTP client of `hemi query`.
//
// The secret key never leaves the client: nothing here sends it; only evaluation keys and
// requests go to a server.
//
// Trust flows one way: everything a server sends (plan, input spec, class names, results) is
// untrusted input, checked as strictly as the server checks a client, before anything is
// allocated from its numbers (docs/service.md, "What the client checks").
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hemi/base/random.h"
#include "hemi/he/roles.h"
#include "hemi/nn/model.h"
#include "hemi/service/formats.h"

namespace hemi::service {

// How an image becomes the model's input (a copy of nn::InputSpec), as JSON:
// {"color": "gray"|"rgb", "height": H, "width": W, "mean": [...], "std": [...]}.
std::string input_spec_to_json(const nn::InputSpec& spec);
nn::InputSpec input_spec_from_json(const std::string& text);  // throws hemi::Error

// Decodes and prepares image files (PNG, JPEG) for the model: count × C×H×W floats.
// A directory stands for its image files (*.png, *.jpg, *.jpeg), sorted by name; `names`
// receives the file paths in order.
std::vector<float> prepare_images(const std::vector<std::string>& paths, const nn::InputSpec& spec,
                                  std::vector<std::string>* names = nullptr);

// ---- what the client accepts ----

// The client's limits on a plan from a server (or a plan file a server handed out).
struct ClientLimits {
  bool allow_insecure = false;          // --insecure: accept parameters below 128-bit security
  std::size_t max_rotation_keys = 64;   // Galois keys the client will generate
  std::size_t max_key_memory_mib = 4096;  // memory the evaluation keys take while generated
};

// What generating a plan's evaluation keys costs, computed from its CKKS parameters and its
// rotation steps (never from the sizes the plan states).
struct KeyCost {
  std::size_t rotation_keys = 0;
  std::size_t upload_bytes = 0;  // serialized (seeded) relinearization + Galois keys
  std::size_t memory_bytes = 0;  // in memory while generated: b, a and their Shoup factors
};
KeyCost eval_key_cost(const PlanContext& plan);
std::string describe(const KeyCost& cost);  // "1 relinearization key + 37 rotation keys: ..."

// Refuses (hemi::Error naming the value and the limit) a plan below 128-bit security unless
// limits.allow_insecure, or whose keys exceed the rotation-key count or the key memory.
void check_plan(const PlanContext& plan, const ClientLimits& limits);
// Refuses an input spec whose shape is not the plan's input shape.
void check_input_spec(const nn::InputSpec& spec, const he::Plan& plan);
// "" for parameters of at least 128 bits, else the stamp every output of the client carries:
// "INSECURE: N = 1024, below 128-bit security (--insecure)".
std::string insecure_stamp(const PlanContext& plan);

// Names for CSV and text output: control characters (newlines and terminal escapes included)
// become \xNN, so a name is one line and cannot drive the terminal (escaping twice changes
// nothing); csv_field also quotes (RFC 4180) what holds a comma or a quote, and defuses a
// leading = + - @ (spreadsheet formulas) with a quote mark.
std::string escape_text(const std::string& name);
std::string csv_field(const std::string& name);

// ---- encryption and decryption ----

// Encrypts `count` prepared images into requests: one per batch (throughput) or per
// `max_images_per_request` images (latency), each carrying the key set's fingerprint.
std::vector<Request> encrypt_images(he::Client& client, const std::string& key_set, const float* images,
                                    std::size_t count, std::size_t max_images_per_request = 64);

// Decrypted logits, one vector per image. Refuses a result made for another key set than
// `key_set` (the client's), one whose image count is not `images_sent` (0: not known, as
// for a result file decrypted on its own), and one that decrypts to non-finite values.
std::vector<std::vector<double>> decrypt_result(const he::Client& client, const std::string& key_set, const Result& result,
                                                std::size_t images_sent);

// Noise flooding of decrypted outputs is done before decoding, in he::Client::set_flooding
// (ckks/flooding.h): see docs/ckks.md, "Noise flooding".

// Softmax probabilities and the arg max.
std::vector<double> softmax(const std::vector<double>& logits);
int argmax(const std::vector<double>& v);

// ---- HTTP client (hemi query) ----

// GET /v1/model, validated: the plan (Plan::validation_error), its id, an input spec of the
// plan's shape, no class names or one per class (each at most 256 bytes), a request limit >= 1.
struct ModelInfo {
  he::Plan plan;
  std::string plan_id;
  nn::InputSpec input;
  std::vector<std::string> class_names;
  std::size_t max_images_per_request = 64;
};

// Parses and validates the body of GET /v1/model (throws hemi::Error naming what is wrong).
ModelInfo parse_model_info(const std::string& body);

// How the client reaches a server: over https://, the server's certificate is always verified
// (chain and host name, TLS 1.2 or later) against `ca_file` (a PEM bundle), or the system's
// trusted certificates when it is empty.
struct HttpOptions {
  double timeout_seconds = 600;  // each exchange in all (connect, send, answer), and each read
  std::string ca_file;           // https only (--ca-file)
};

class HttpClient {
 public:
  // url: http://host:port or https://host:port. Answers are read up to a bound (64 KiB for
  // DELETE, 64 MiB for JSON, max_result_bytes for results); a longer one is refused, not
  // buffered. A refused certificate is a hemi::Error that says why (docs/service.md, "TLS").
  explicit HttpClient(const std::string& url, const HttpOptions& options = {});
  void set_max_result_bytes(std::size_t bytes) { max_result_bytes_ = bytes; }
  ~HttpClient();
  ModelInfo model_info();
  std::string register_keys(const Bytes& eval_keys);  // returns the key id
  Bytes infer(const std::string& key_id, const Bytes& request);
  void delete_keys(const std::string& key_id);
  bool healthy();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::size_t max_result_bytes_ = std::size_t{1} << 30;
};

// hemi query's flow against one server: model info (validated), the plan checked against
// `limits`, the images prepared, keys generated (their cost is passed to `note` first),
// registered, requests sent, every result checked (plan, key set, exactly the images sent)
// and decrypted, the keys deleted. Throws hemi::Error naming what the server got wrong.
struct QueryOutput {
  ModelInfo info;
  std::string insecure_stamp;  // "" unless the plan is below 128 bits (limits.allow_insecure)
  std::vector<std::string> names;
  std::vector<std::vector<double>> logits;
};
// `flooding`: the policy for decryptions that leave the client (ckks/flooding.h; none: exact).
QueryOutput query(HttpClient& http, const std::vector<std::string>& image_paths, const ClientLimits& limits,
                  std::optional<ckks::FloodingPolicy> flooding = std::nullopt,
                  const std::function<void(const std::string&)>& note = {});

}  // namespace hemi::service
