#include "hemi/base/json_numbers.h"
#include "hemi/service/client.h"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "hemi/data/image.h"

namespace hemi::service {

using nlohmann::json;

std::string input_spec_to_json(const nn::InputSpec& s) {
  return json{{"color", nn::to_string(s.color)}, {"height", s.height}, {"width", s.width}, {"mean", s.mean}, {"std", s.std}}.dump();
}

nn::InputSpec input_spec_from_json(const std::string& text) {
  try {
    const json j = json::parse(text);
    nn::InputSpec s;
    const std::string color = j.at("color").get<std::string>();
    if (color == "gray") s.color = nn::ColorMode::kGray;
    else if (color == "rgb") s.color = nn::ColorMode::kRgb;
    else throw Error("color must be gray or rgb, not '" + color + "'");
    s.height = json_int(j.at("height"), "height");
    s.width = json_int(j.at("width"), "width");
    s.mean = j.at("mean").get<std::vector<double>>();
    s.std = j.at("std").get<std::vector<double>>();
    if (s.height <= 0 || s.width <= 0 || s.height > 4096 || s.width > 4096) throw Error("image size out of range");
    const std::size_t c = static_cast<std::size_t>(s.channels());
    if (s.mean.size() != c || s.std.size() != c) throw Error("mean and std need one value per channel");
    for (double v : s.std)
      if (!(v > 0) || !std::isfinite(v)) throw Error("std must be positive");
    for (double v : s.mean)
      if (!std::isfinite(v)) throw Error("mean must be finite");
    return s;
  } catch (const json::exception& e) {
    throw Error(std::string("input spec: malformed JSON: ") + e.what());
  } catch (const Error& e) {
    throw Error(std::string("input spec: ") + e.what());
  }
}

std::vector<float> prepare_images(const std::vector<std::string>& paths, const nn::InputSpec& spec,
                                  std::vector<std::string>* names) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const auto& p : paths) {
    if (fs::is_directory(p)) {
      std::vector<std::string> in_dir;
      for (const auto& e : fs::directory_iterator(p)) {
        std::string ext = e.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
        if (e.is_regular_file() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg")) in_dir.push_back(e.path().string());
      }
      std::sort(in_dir.begin(), in_dir.end());
      if (in_dir.empty()) throw Error(p + ": no image files (*.png, *.jpg, *.jpeg) in this directory");
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else {
      files.push_back(p);
    }
  }
  if (files.empty()) throw Error("no images given");
  data::LoadOptions o;
  o.height = spec.height;
  o.width = spec.width;
  o.channels = spec.color == nn::ColorMode::kRgb ? data::ChannelMode::kRgb : data::ChannelMode::kGray;
  o.mean.assign(spec.mean.begin(), spec.mean.end());
  o.stddev.assign(spec.std.begin(), spec.std.end());
  const std::size_t values = static_cast<std::size_t>(spec.channels()) * spec.height * spec.width;
  std::vector<float> out(files.size() * values);
  for (std::size_t i = 0; i < files.size(); ++i) {
    data::DecodedImage img = data::decode_image(files[i]);
    data::prepare_image(img.pixels.data(), img.height, img.width, img.channels, o, out.data() + i * values);
  }
  if (names) *names = files;
  return out;
}

std::vector<Request> encrypt_images(he::Client& client, const float* images, std::size_t count,
                                    std::size_t max_images_per_request) {
  const he::Plan& plan = client.plan();
  const std::size_t values = static_cast<std::size_t>(plan.input_channels) * plan.input_height * plan.input_width;
  std::vector<Request> out;
  if (plan.packing == he::Packing::kThroughput) {
    for (std::size_t start = 0; start < count; start += plan.images_per_batch) {
      const std::size_t n = std::min(plan.images_per_batch, count - start);
      std::vector<const float*> ptrs(n);
      for (std::size_t i = 0; i < n; ++i) ptrs[i] = images + (start + i) * values;
      Request r;
      r.images = static_cast<std::uint32_t>(n);
      r.inputs.reserve(plan.ciphertexts_per_batch);
      for (std::size_t k = 0; k < plan.ciphertexts_per_batch; ++k) r.inputs.push_back(client.encrypt_value(ptrs, k));
      out.push_back(std::move(r));
    }
  } else {
    const std::size_t per = std::max<std::size_t>(1, max_images_per_request);
    for (std::size_t start = 0; start < count; start += per) {
      const std::size_t n = std::min(per, count - start);
      Request r;
      r.images = static_cast<std::uint32_t>(n);
      for (std::size_t i = 0; i < n; ++i) r.inputs.push_back(client.encrypt_image(images + (start + i) * values));
      out.push_back(std::move(r));
    }
  }
  return out;
}

std::vector<std::vector<double>> decrypt_result(const he::Client& client, const Result& result) {
  if (client.plan().packing == he::Packing::kThroughput) return client.decrypt_logits(result.outputs, result.images);
  if (result.outputs.size() != result.images) throw Error("result: one ciphertext per image expected");
  std::vector<std::vector<double>> logits;
  for (const auto& ct : result.outputs) logits.push_back(client.decrypt_logits({ct}, 1)[0]);
  return logits;
}

std::vector<double> softmax(const std::vector<double>& logits) {
  if (logits.empty()) return {};
  const double m = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double sum = 0;
  for (std::size_t i = 0; i < p.size(); ++i) sum += p[i] = std::exp(logits[i] - m);
  for (auto& x : p) x /= sum;
  return p;
}

int argmax(const std::vector<double>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

// ---- HTTP client ----

struct HttpClient::Impl {
  explicit Impl(const std::string& url) : cli(url) {}
  httplib::Client cli;
};

namespace {
[[noreturn]] void http_fail(const std::string& what, const httplib::Result& res) {
  if (!res) throw Error(what + ": no answer from the server (" + httplib::to_string(res.error()) + ")");
  std::string msg = res->body;
  try {
    msg = json::parse(res->body).at("error").get<std::string>();
  } catch (...) {
  }
  throw Error(what + ": HTTP " + std::to_string(res->status) + ": " + msg);
}
}  // namespace

HttpClient::HttpClient(const std::string& url, double timeout_seconds) {
  if (url.rfind("http://", 0) != 0)
    throw Error("--server must be an http:// URL (" + url + "); for TLS, run a local TLS proxy (docs/service.md)");
  impl_ = std::make_unique<Impl>(url);
  if (!impl_->cli.is_valid()) throw Error("cannot use server URL " + url);
  const auto secs = static_cast<time_t>(timeout_seconds);
  impl_->cli.set_connection_timeout(10, 0);
  impl_->cli.set_read_timeout(secs, 0);
  impl_->cli.set_write_timeout(secs, 0);
}

HttpClient::~HttpClient() = default;

bool HttpClient::healthy() {
  auto res = impl_->cli.Get("/v1/health");
  return res && res->status == 200;
}

ModelInfo HttpClient::model_info() {
  auto res = impl_->cli.Get("/v1/model");
  if (!res || res->status != 200) http_fail("model info", res);
  try {
    const json j = json::parse(res->body);
    ModelInfo m;
    m.plan = he::Plan::from_json(j.at("plan").dump());
    m.plan_id = j.at("plan_id").get<std::string>();
    if (m.plan_id != plan_id(m.plan)) throw Error("the server's plan id does not match its plan");
    m.input = input_spec_from_json(j.at("input").dump());
    m.class_names = j.at("class_names").get<std::vector<std::string>>();
    m.max_images_per_request = json_count(j.at("limits").at("max_images_per_request"), "max_images_per_request");
    return m;
  } catch (const json::exception& e) {
    throw Error(std::string("model info: malformed answer: ") + e.what());
  }
}

std::string HttpClient::register_keys(const Bytes& eval_keys) {
  std::string body(eval_keys.begin(), eval_keys.end());
  auto res = impl_->cli.Post("/v1/keys", body, "application/octet-stream");
  if (!res || res->status != 201) http_fail("register keys", res);
  try {
    return json::parse(res->body).at("key_id").get<std::string>();
  } catch (const json::exception& e) {
    throw Error(std::string("register keys: malformed answer: ") + e.what());
  }
}

Bytes HttpClient::infer(const std::string& key_id, const Bytes& request) {
  std::string body(request.begin(), request.end());
  auto res = impl_->cli.Post(("/v1/infer/" + key_id).c_str(), body, "application/octet-stream");
  if (!res || res->status != 200) http_fail("inference", res);
  return Bytes(res->body.begin(), res->body.end());
}

void HttpClient::delete_keys(const std::string& key_id) {
  auto res = impl_->cli.Delete(("/v1/keys/" + key_id).c_str());
  if (!res || (res->status != 204 && res->status != 404)) http_fail("delete keys", res);
}

}  // namespace hemi::service
