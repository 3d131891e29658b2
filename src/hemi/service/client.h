// The client's side of the service: turning image files into the model's input, encrypting
// them into a request, decrypting a result into logits and probabilities (flooded if the
// he::Client has a flooding policy), and the HTTP client of `hemi query`.
//
// The secret key never leaves the client: nothing here sends it; only evaluation keys and
// requests go to a server.
#pragma once

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

// Encrypts `count` prepared images into requests: one per batch (throughput) or per
// `max_images_per_request` images (latency).
std::vector<Request> encrypt_images(he::Client& client, const float* images, std::size_t count,
                                    std::size_t max_images_per_request = 64);

// Decrypted logits, one vector per image.
std::vector<std::vector<double>> decrypt_result(const he::Client& client, const Result& result);

// Noise flooding of decrypted outputs is done before decoding, in he::Client::set_flooding
// (ckks/flooding.h): see docs/ckks.md, "Noise flooding".

// Softmax probabilities and the arg max.
std::vector<double> softmax(const std::vector<double>& logits);
int argmax(const std::vector<double>& v);

// ---- HTTP client (hemi query) ----

struct ModelInfo {
  he::Plan plan;
  std::string plan_id;
  nn::InputSpec input;
  std::vector<std::string> class_names;
  std::size_t max_images_per_request = 64;
};

class HttpClient {
 public:
  // url: http://host:port (no TLS in this build; put a TLS proxy in front, docs/service.md).
  explicit HttpClient(const std::string& url, double timeout_seconds = 600);
  ~HttpClient();
  ModelInfo model_info();
  std::string register_keys(const Bytes& eval_keys);  // returns the key id
  Bytes infer(const std::string& key_id, const Bytes& request);
  void delete_keys(const std::string& key_id);
  bool healthy();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hemi::service
