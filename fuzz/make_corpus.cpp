// Writes the seed corpora: valid objects of every format, for the fuzz parameters and plans.
//   hemi_fuzz_corpus OUT_DIR  ->  OUT_DIR/{keys,ciphertexts,plans,models,requests,model_info,results}/*
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "fuzz_common.h"
#include "hemi/base/bytes.h"
#include "hemi/ckks/encoder.h"
#include "hemi/ckks/encryptor.h"
#include "hemi/ckks/serialize.h"
#include "hemi/he/roles.h"
#include "hemi/nn/model_file.h"
#include "hemi/service/client.h"

int main(int argc, char** argv) {
  using namespace hemi;
  namespace fs = std::filesystem;
  if (argc != 2) {
    std::fprintf(stderr, "usage: hemi_fuzz_corpus OUT_DIR\n");
    return 2;
  }
  const fs::path out = argv[1];
  for (const char* d : {"keys", "ciphertexts", "plans", "models", "requests", "model_info", "results"})
    fs::create_directories(out / d);
  auto put = [&](const char* dir, const std::string& name, const Bytes& b) { write_file((out / dir / name).string(), b); };
  auto text = [](const std::string& s) { return Bytes(s.begin(), s.end()); };

  const ckks::Params& p = fuzz::params();
  ckks::KeyGenerator kg(p, Seed{1});
  const ckks::SecretKey sk = kg.secret_key();
  put("keys", "params", ckks::serialize(p));
  put("keys", "secret_key", ckks::serialize(sk, p));
  put("keys", "public_key", ckks::serialize(kg.public_key(sk), p));
  put("keys", "relin_key", ckks::serialize(kg.relin_key(sk), p));
  put("keys", "galois_keys", ckks::serialize(kg.galois_keys(sk, {1, -2}), p));

  ckks::Encoder enc(p);
  ckks::SymmetricEncryptor se(p, sk, Seed{2});
  const ckks::Plaintext pt = enc.encode(std::vector<double>{0.5, -1, 2}, 2);
  put("ciphertexts", "plaintext", ckks::serialize(pt, p));
  put("ciphertexts", "seeded", ckks::serialize(se.encrypt_seeded(pt), p));
  put("ciphertexts", "ciphertext", ckks::serialize(se.encrypt(pt), p));
  put("ciphertexts", "ciphertext_top", ckks::serialize(se.encrypt(enc.encode(std::vector<double>{1}, 4)), p));

  for (he::Packing packing : {he::Packing::kLatency, he::Packing::kThroughput}) {
    const service::PlanContext& ctx = fuzz::plan(packing);
    const std::string tag = he::to_string(packing);
    put("plans", tag + ".json", text(ctx.plan().to_json()));
    he::Client client(ctx.plan(), Seed{3});
    const he::EvalKeys keys = client.eval_keys();
    const std::string key_set = service::key_set_fingerprint(keys, ctx);
    he::Server server(ctx.plan(), fuzz::model(), keys);
    std::vector<float> images(2 * 16, 0.25f);
    const service::Request req = service::encrypt_images(client, key_set, images.data(), 2, 2).at(0);
    put("requests", tag + "_request", service::write_request(req, ctx));
    const Bytes result = service::write_result(service::evaluate(server, req), ctx);
    put("requests", tag + "_result", result);
    put("results", tag + "_result", result);
    // GET /v1/model as hemi serve answers it (the fields the client reads).
    const nn::InputSpec& in = fuzz::model().input();
    const nlohmann::json info = {
        {"plan", nlohmann::json::parse(ctx.plan().to_json())},
        {"plan_id", ctx.id()},
        {"input", {{"color", nn::to_string(in.color)}, {"height", in.height}, {"width", in.width}, {"mean", in.mean}, {"std", in.std}}},
        {"class_names", {"a", "b", "c"}},
        {"limits", {{"max_images_per_request", 4}}}};
    put("model_info", tag + ".json", text(info.dump()));
    put("requests", tag + "_eval_keys", service::write_eval_keys(keys, ctx));
    put("requests", tag + "_secret_key", service::write_secret_key(client.secret_key(), key_set, ctx));
  }
  put("plans", "empty.json", text("{}"));

  put("models", "tiny64", nn::serialize_model(fuzz::model()));
  put("models", "tiny32", nn::serialize_model(fuzz::model(), nn::WeightPrecision::kFloat32));
  std::printf("corpus written to %s\n", out.string().c_str());
  return 0;
}
