#include "hemi/service/formats.h"

#include <openssl/sha.h>

#include <cmath>
#include <cstring>
#include <set>

#include "hemi/ckks/encryptor.h"
#include "hemi/ckks/serialize.h"

namespace hemi::service {
namespace {

constexpr std::size_t kPlanIdChars = 32;

ckks::Params params_of(const he::Plan& plan) {
  auto p = ckks::Params::create(plan.params);
  if (!p) throw Error("plan: CKKS parameters refused: " + p.error());
  return std::move(p).value();
}

// header + plan id + params id + key set; returns the payload writer's buffer.
Bytes begin(FileKind kind, const PlanContext& ctx, const std::string& key_set) {
  if (!is_hex_id(key_set))
    throw Error(std::string(kind_name(kind)) + ": no key-set fingerprint (32 hex characters expected, got '" +
                key_set.substr(0, 40) + "')");
  Bytes out;
  ByteWriter w(out);
  w.put_bytes(kServiceMagic, sizeof kServiceMagic);
  w.put<std::uint16_t>(kServiceFormatVersion);
  w.put<std::uint16_t>(static_cast<std::uint16_t>(kind));
  w.put<std::uint32_t>(0);  // flags
  w.put<std::uint64_t>(0);  // payload size, patched by finish()
  w.put_string(ctx.id());
  w.put_bytes(ctx.params().id().data(), ctx.params().id().size());
  w.put_string(key_set);
  return out;
}

void finish(Bytes& out) {
  const std::uint64_t payload = out.size() - kServiceHeaderBytes;
  std::memcpy(out.data() + 16, &payload, sizeof payload);
}

void put_blob(Bytes& out, const Bytes& blob) {
  ByteWriter w(out);
  w.put<std::uint64_t>(blob.size());
  w.put_bytes(blob.data(), blob.size());
}

Bytes get_blob(ByteReader& r, const char* field) {
  const auto n = r.get<std::uint64_t>(field);
  if (n > r.remaining()) r.fail(std::string("truncated while reading ") + field + " (" + std::to_string(n) + " bytes announced, " +
                                std::to_string(r.remaining()) + " left)");
  const std::uint8_t* p = r.take(static_cast<std::size_t>(n), field);
  return Bytes(p, p + n);
}

struct Container {
  FileKind kind;
  std::size_t payload_offset;
};

Container read_container(const Bytes& data) {
  ByteReader r(data, "service file");
  char magic[8];
  r.get_bytes(magic, sizeof magic, "magic");
  if (std::memcmp(magic, kServiceMagic, sizeof magic) != 0)
    r.fail("not a hemi service file (bad magic; expected evaluation keys, a request, a result or a secret key)");
  const auto version = r.get<std::uint16_t>("format version");
  if (version >= 1 && version < kServiceFormatVersion)
    r.fail("format version " + std::to_string(version) + " was written by an older hemi (version 1: 64-bit parameter ids, "
           "version 2: no key-set fingerprint); this build reads version " + std::to_string(kServiceFormatVersion) +
           ": make new keys with hemi keygen and encrypt again");
  if (version == 0 || version > kServiceFormatVersion)
    r.fail("format version " + std::to_string(version) + " is not supported (this build reads version " +
           std::to_string(kServiceFormatVersion) + ")");
  const auto kind = r.get<std::uint16_t>("kind");
  if (kind < 1 || kind > 4) r.fail("unknown object kind " + std::to_string(kind));
  const auto flags = r.get<std::uint32_t>("flags");
  if (flags != 0) r.fail("unknown flags " + std::to_string(flags));
  const auto payload = r.get<std::uint64_t>("payload size");
  if (payload != r.remaining())
    r.fail("payload size " + std::to_string(payload) + " does not match the " + std::to_string(r.remaining()) +
           " bytes that follow the header (truncated or padded)");
  return {static_cast<FileKind>(kind), r.position()};
}

// Checks the kind and the plan binding; returns a reader positioned after them and the key set.
ByteReader open(const Bytes& data, FileKind want, const PlanContext& ctx, std::string& key_set) {
  const Container c = read_container(data);
  const std::string what = kind_name(want);
  if (c.kind != want) throw Error(what + ": this is " + std::string(kind_name(c.kind)) + ", not " + what);
  ByteReader r(data.data() + c.payload_offset, data.size() - c.payload_offset, what);
  const std::string id = r.get_string("plan id", 64);
  if (id.size() != kPlanIdChars) r.fail("malformed plan id");
  ckks::ParamsId params_id;
  r.get_bytes(params_id.data(), params_id.size(), "parameter id");
  if (id != ctx.id())
    throw PlanMismatch(what + ": made for plan " + id + ", but the plan here is " + ctx.id() +
                       " (another model, packing or parameters)");
  if (params_id != ctx.params().id()) throw PlanMismatch(what + ": made for other CKKS parameters than the plan's");
  key_set = r.get_string("key-set fingerprint", 64);
  if (!is_hex_id(key_set)) r.fail("malformed key-set fingerprint");
  return r;
}

std::uint8_t packing_code(he::Packing p) { return p == he::Packing::kThroughput ? 0 : 1; }

}  // namespace

const char* kind_name(FileKind kind) {
  switch (kind) {
    case FileKind::kEvalKeys: return "evaluation keys";
    case FileKind::kRequest: return "request";
    case FileKind::kResult: return "result";
    case FileKind::kSecretKey: return "secret key";
  }
  return "unknown";
}

std::string plan_id(const he::Plan& plan) {
  // Every field of the plan in its JSON form (so that fields added later count too), except
  // the cost prediction, which does not change what the client and the server must agree on.
  he::Plan p = plan;
  p.predicted_seconds = 0;
  const std::string text = "hemi-plan-v2|" + params_of(plan).id_hex() + "|" + p.to_json();
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d);
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (std::size_t i = 0; i < kPlanIdChars / 2; ++i) {
    id += hex[d[i] >> 4];
    id += hex[d[i] & 15];
  }
  return id;
}

namespace {
// Plans are validated once, when made or loaded (he::Plan::create); not again here.
he::Plan validated(he::Plan plan) {
  if (!plan.validated())
    throw Error("plan refused: not validated (make plans with compile, Plan::from_json or Plan::create)");
  return plan;
}
}  // namespace

PlanContext::PlanContext(he::Plan plan) : plan_(validated(std::move(plan))), params_(params_of(plan_)), id_(plan_id(plan_)) {}

FileKind peek_kind(const Bytes& data) { return read_container(data).kind; }

bool is_hex_id(const std::string& s) {
  if (s.size() != kPlanIdChars) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

namespace {
std::string sha256_hex16(const Bytes& data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(data.data(), data.size(), d);
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (std::size_t i = 0; i < kPlanIdChars / 2; ++i) {
    id += hex[d[i] >> 4];
    id += hex[d[i] & 15];
  }
  return id;
}

std::string fingerprint_of_relin_blob(const Bytes& relin_blob, const PlanContext& ctx) {
  const std::string label = "hemi-key-set-v1|" + ctx.id() + "|";
  Bytes text(label.begin(), label.end());
  text.insert(text.end(), relin_blob.begin(), relin_blob.end());
  return sha256_hex16(text);
}
}  // namespace

std::string key_set_fingerprint(const he::EvalKeys& keys, const PlanContext& ctx) {
  return fingerprint_of_relin_blob(ckks::serialize(keys.relin, ctx.params()), ctx);
}

// ---- evaluation keys ----

Bytes write_eval_keys(const he::EvalKeys& keys, const PlanContext& ctx) {
  const Bytes relin = ckks::serialize(keys.relin, ctx.params());
  Bytes out = begin(FileKind::kEvalKeys, ctx, fingerprint_of_relin_blob(relin, ctx));
  put_blob(out, relin);
  put_blob(out, ckks::serialize(keys.galois, ctx.params()));
  finish(out);
  return out;
}

he::EvalKeys read_eval_keys(const Bytes& data, const PlanContext& ctx, std::string* key_set) {
  std::string stated;
  ByteReader r = open(data, FileKind::kEvalKeys, ctx, stated);
  const Bytes relin = get_blob(r, "relinearization key");
  const Bytes galois = get_blob(r, "Galois keys");
  r.expect_end();
  if (fingerprint_of_relin_blob(relin, ctx) != stated)
    r.fail("the key-set fingerprint " + stated + " is not the keys' own (altered or mixed evaluation keys)");
  if (key_set) *key_set = stated;
  he::EvalKeys keys{ckks::load_relin_key(relin, ctx.params()), ckks::load_galois_keys(galois, ctx.params())};
  const std::size_t n = ctx.params().n();
  for (int s : ctx.plan().rotation_steps)
    if (!keys.galois.has(ckks::galois_element_for_step(s, n)))
      throw PlanMismatch("evaluation keys: no Galois key for rotation step " + std::to_string(s) + ", which the plan needs");
  // Only the keys the plan needs: extra Galois keys would only cost the server memory.
  std::set<std::uint32_t> needed;
  for (int s : ctx.plan().rotation_steps) needed.insert(ckks::galois_element_for_step(s, n));
  if (keys.galois.keys.size() != needed.size())
    throw PlanMismatch("evaluation keys: " + std::to_string(keys.galois.keys.size()) + " Galois keys, the plan needs " +
                       std::to_string(needed.size()) + " (extra keys are refused)");
  return keys;
}

// ---- secret key ----

Bytes write_secret_key(const ckks::SecretKey& sk, const std::string& key_set, const PlanContext& ctx) {
  Bytes out = begin(FileKind::kSecretKey, ctx, key_set);
  Bytes blob = ckks::serialize(sk, ctx.params());
  put_blob(out, blob);
  secure_wipe(blob.data(), blob.size());
  finish(out);
  return out;
}

ckks::SecretKey read_secret_key(const Bytes& data, const PlanContext& ctx, std::string* key_set) {
  std::string stated;
  ByteReader r = open(data, FileKind::kSecretKey, ctx, stated);
  if (key_set) *key_set = stated;
  Bytes blob = get_blob(r, "secret key");
  r.expect_end();
  ckks::SecretKey sk = ckks::load_secret_key(blob, ctx.params());
  secure_wipe(blob.data(), blob.size());
  return sk;
}

// ---- requests ----

Bytes write_request(const Request& req, const PlanContext& ctx) {
  Bytes out = begin(FileKind::kRequest, ctx, req.key_set);
  ByteWriter w(out);
  w.put<std::uint8_t>(packing_code(ctx.plan().packing));
  w.put<std::uint32_t>(req.images);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(req.inputs.size()));
  for (const auto& ct : req.inputs) put_blob(out, ckks::serialize(ct, ctx.params()));
  finish(out);
  return out;
}

namespace {
// The number of images and ciphertexts a request or result may hold under the plan.
void check_counts(ByteReader& r, const PlanContext& ctx, std::uint8_t packing, std::uint32_t images, std::uint32_t count,
                  std::size_t max_images, bool result) {
  const he::Plan& plan = ctx.plan();
  if (packing != packing_code(plan.packing))
    throw PlanMismatch(std::string(result ? "result" : "request") + ": made for " +
                       (packing == 0 ? "throughput" : packing == 1 ? "latency" : "an unknown") + " packing, the plan uses " +
                       he::to_string(plan.packing) + " packing");
  if (images == 0) r.fail("no images");
  if (plan.packing == he::Packing::kThroughput) {
    if (images > plan.images_per_batch)
      r.fail(std::to_string(images) + " images exceed the plan's batch of " + std::to_string(plan.images_per_batch));
    const std::size_t want = result ? static_cast<std::size_t>(plan.classes) : plan.ciphertexts_per_batch;
    if (count != want) r.fail(std::to_string(count) + " ciphertexts, the plan's batch has " + std::to_string(want));
  } else {
    if (images > max_images)
      r.fail(std::to_string(images) + " images exceed the limit of " + std::to_string(max_images) + " per request");
    if (count != images) r.fail(std::to_string(count) + " ciphertexts for " + std::to_string(images) + " images (latency packing: one each)");
  }
}
}  // namespace

Request read_request(const Bytes& data, const PlanContext& ctx, std::size_t max_images) {
  Request req;
  ByteReader r = open(data, FileKind::kRequest, ctx, req.key_set);
  const auto packing = r.get<std::uint8_t>("packing");
  req.images = r.get<std::uint32_t>("image count");
  const auto count = r.get<std::uint32_t>("ciphertext count");
  check_counts(r, ctx, packing, req.images, count, max_images, false);
  req.inputs.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    const Bytes blob = get_blob(r, "input ciphertext");
    try {
      req.inputs.push_back(ckks::load_seeded_ciphertext(blob, ctx.params()));
    } catch (const Error& e) {
      throw Error("request: input ciphertext " + std::to_string(i) + ": " + e.what());
    }
    const auto& ct = req.inputs.back();
    if (ct.level != static_cast<std::size_t>(ctx.plan().input_level))
      r.fail("input ciphertext " + std::to_string(i) + " is at level " + std::to_string(ct.level) + ", the plan encrypts at level " +
             std::to_string(ctx.plan().input_level));
    if (!std::isfinite(ct.scale) || ct.scale <= 0) r.fail("input ciphertext " + std::to_string(i) + " has an invalid scale");
  }
  r.expect_end();
  return req;
}

// ---- results ----

Bytes write_result(const Result& res, const PlanContext& ctx) {
  Bytes out = begin(FileKind::kResult, ctx, res.key_set);
  ByteWriter w(out);
  w.put<std::uint8_t>(packing_code(ctx.plan().packing));
  w.put<std::uint32_t>(res.images);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(res.outputs.size()));
  for (const auto& ct : res.outputs) put_blob(out, ckks::serialize(ct, ctx.params()));
  finish(out);
  return out;
}

Result read_result(const Bytes& data, const PlanContext& ctx) {
  Result res;
  ByteReader r = open(data, FileKind::kResult, ctx, res.key_set);
  const auto packing = r.get<std::uint8_t>("packing");
  res.images = r.get<std::uint32_t>("image count");
  const auto count = r.get<std::uint32_t>("ciphertext count");
  check_counts(r, ctx, packing, res.images, count, 1 << 20, true);
  if (ctx.plan().layers.empty()) r.fail("the plan has no layers: no result can be its evaluation");
  const double want_log2_scale = ctx.plan().layers.back().log2_scale_out;
  res.outputs.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    const Bytes blob = get_blob(r, "output ciphertext");
    try {
      res.outputs.push_back(ckks::load_ciphertext(blob, ctx.params()));
    } catch (const Error& e) {
      throw Error("result: output ciphertext " + std::to_string(i) + ": " + e.what());
    }
    if (res.outputs.back().size() != 2) r.fail("output ciphertext " + std::to_string(i) + " is not relinearized");
    // The scale the plan's evaluation ends at (tracked exactly by the compiler): the ciphertext
    // decodes by the scale it states, so another one would rescale every logit silently.
    const double log2_scale = std::log2(res.outputs.back().scale);
    if (std::abs(log2_scale - want_log2_scale) > 1e-6)
      r.fail("output ciphertext " + std::to_string(i) + " has scale 2^" + std::to_string(log2_scale) +
             ", the plan's results have scale 2^" + std::to_string(want_log2_scale));
  }
  r.expect_end();
  return res;
}

// ---- evaluation ----

Result evaluate(const he::Server& server, const Request& req) {
  const ckks::Params& params = server.params();
  Result res;
  res.images = req.images;
  res.key_set = req.key_set;
  if (server.plan().packing == he::Packing::kThroughput) {
    if (req.inputs.size() != server.plan().ciphertexts_per_batch) throw Error("evaluate: wrong number of input ciphertexts");
    res.outputs = server.evaluate_batch([&](std::size_t k) {
      if (k >= req.inputs.size()) throw Error("evaluate: input index out of range");
      return ckks::SymmetricEncryptor::expand(params, req.inputs[k]);
    });
  } else {
    res.outputs.reserve(req.inputs.size());
    for (const auto& in : req.inputs) res.outputs.push_back(server.evaluate_image(ckks::SymmetricEncryptor::expand(params, in)));
  }
  return res;
}

}  // namespace hemi::service
