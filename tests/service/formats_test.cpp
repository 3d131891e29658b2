// The service's file formats: round trips, plan binding, and a rejection with a clear
// hemi::Error for every kind of malformed input (truncated, garbled, wrong kind, later
// version, wrong plan or parameters, too many images, trailing bytes).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "support/error_of.h"
#include "hemi/nn/interpreter.h"
#include "hemi/service/client.h"
#include "hemi/service/formats.h"
#include "service_test_util.h"

namespace hemi::service {
namespace {

using testing::random_images;
using testing::tiny_model;
using testing::tiny_plan;

using test_support::error_of;

struct Fixture {
  explicit Fixture(he::Packing packing)
      : model(tiny_model()), ctx(tiny_plan(model, packing)), client(ctx.plan(), Seed{3}), keys(client.eval_keys()),
        key_set(key_set_fingerprint(keys, ctx)) {
    images = random_images(3, model.input_shape().size(), 5);
    request = encrypt_images(client, key_set, images.data(), 3, 8).at(0);
  }
  nn::Model model;
  PlanContext ctx;
  he::Client client;
  he::EvalKeys keys;
  std::string key_set;
  std::vector<float> images;
  Request request;
};

class ServiceFormats : public ::testing::TestWithParam<he::Packing> {};

TEST_P(ServiceFormats, RoundTripThroughEvaluationMatchesInterpreter) {
  Fixture f(GetParam());
  const Bytes ek = write_eval_keys(f.keys, f.ctx);
  EXPECT_EQ(peek_kind(ek), FileKind::kEvalKeys);
  he::Server server(f.ctx.plan(), f.model, read_eval_keys(ek, f.ctx));
  const Bytes req = write_request(f.request, f.ctx);
  const Request back = read_request(req, f.ctx);
  EXPECT_EQ(back.images, 3u);
  EXPECT_EQ(write_request(back, f.ctx), req);  // byte-exact round trip
  const Bytes res = write_result(evaluate(server, back), f.ctx);
  const Result r = read_result(res, f.ctx);
  EXPECT_EQ(write_result(r, f.ctx), res);
  const auto logits = decrypt_result(f.client, f.key_set, r, 3);
  ASSERT_EQ(logits.size(), 3u);
  const std::size_t values = f.model.input_shape().size();
  for (std::size_t i = 0; i < 3; ++i) {
    const auto want = nn::forward(f.model, f.images.data() + i * values);
    for (std::size_t c = 0; c < want.size(); ++c) EXPECT_NEAR(logits[i][c], want[c], 1e-3);
  }
}

TEST_P(ServiceFormats, SecretKeyRoundTripAndClientFromLoadedKey) {
  Fixture f(GetParam());
  const Bytes skb = write_secret_key(f.client.secret_key(), f.key_set, f.ctx);
  EXPECT_EQ(peek_kind(skb), FileKind::kSecretKey);
  he::Client again(f.ctx.plan(), read_secret_key(skb, f.ctx));
  EXPECT_EQ(again.secret_key().coeffs, f.client.secret_key().coeffs);
  // The loaded key decrypts what the original client encrypted, through a server.
  he::Server server(f.ctx.plan(), f.model, f.client.eval_keys());
  const auto a = decrypt_result(f.client, f.key_set, evaluate(server, f.request), 3);
  const auto b = decrypt_result(again, f.key_set, evaluate(server, f.request), 3);
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t c = 0; c < a[i].size(); ++c) EXPECT_NEAR(a[i][c], b[i][c], 1e-3);
}

TEST_P(ServiceFormats, TruncatedAtAnyLengthIsAnError) {
  Fixture f(GetParam());
  const Bytes req = write_request(f.request, f.ctx);
  const Bytes ek = write_eval_keys(f.keys, f.ctx);
  const Bytes skb = write_secret_key(f.client.secret_key(), f.key_set, f.ctx);
  // Every prefix of the header and the first blob headers, then a sparse sweep of the rest.
  auto lengths = [](std::size_t n) {
    std::vector<std::size_t> v;
    for (std::size_t i = 0; i < std::min<std::size_t>(n, 120); ++i) v.push_back(i);
    for (std::size_t i = 120; i < n; i += 1 + n / 97) v.push_back(i);
    v.push_back(n - 1);
    return v;
  };
  for (std::size_t n : lengths(req.size()))
    EXPECT_THROW(read_request(Bytes(req.begin(), req.begin() + static_cast<long>(n)), f.ctx), Error) << n;
  for (std::size_t n : lengths(ek.size()))
    EXPECT_THROW(read_eval_keys(Bytes(ek.begin(), ek.begin() + static_cast<long>(n)), f.ctx), Error) << n;
  for (std::size_t n : lengths(skb.size()))
    EXPECT_THROW(read_secret_key(Bytes(skb.begin(), skb.begin() + static_cast<long>(n)), f.ctx), Error) << n;
  EXPECT_NE(error_of([&] { read_request(Bytes(req.begin(), req.end() - 1), f.ctx); }).find("payload size"), std::string::npos);
}

TEST_P(ServiceFormats, GarbledBytesNeverCrash) {
  Fixture f(GetParam());
  const Bytes req = write_request(f.request, f.ctx);
  std::mt19937_64 rng(9);
  int rejected = 0;
  for (int t = 0; t < 300; ++t) {
    Bytes b = req;
    const std::size_t pos = t < 100 ? static_cast<std::size_t>(t) : rng() % b.size();
    b[pos] ^= static_cast<std::uint8_t>(1 + rng() % 255);
    try {
      read_request(b, f.ctx);  // a flip in a coefficient may still be a valid request
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GE(rejected, 95);  // header and plan-id flips are caught (an image count may stay valid)
}

TEST_P(ServiceFormats, HeaderFieldsAreChecked) {
  Fixture f(GetParam());
  const Bytes req = write_request(f.request, f.ctx);
  auto patched = [&](std::size_t offset, const void* v, std::size_t n) {
    Bytes b = req;
    std::memcpy(b.data() + offset, v, n);
    return error_of([&] { read_request(b, f.ctx); });
  };
  const std::uint16_t later = kServiceFormatVersion + 1, result_kind = 3, bad_kind = 99;
  const std::uint32_t flags = 1;
  EXPECT_NE(patched(0, "HEMIXXXX", 8).find("not a hemi service file"), std::string::npos);
  EXPECT_NE(patched(8, &later, 2).find("format version " + std::to_string(later) + " is not supported"), std::string::npos);
  for (std::uint16_t older : {1, 2})  // 64-bit parameter ids; no key-set fingerprint: refused, not misread
    EXPECT_NE(patched(8, &older, 2).find("format version " + std::to_string(older) + " was written by an older hemi"),
              std::string::npos);
  EXPECT_NE(patched(10, &result_kind, 2).find("this is result, not request"), std::string::npos);
  EXPECT_NE(patched(10, &bad_kind, 2).find("unknown object kind"), std::string::npos);
  EXPECT_NE(patched(12, &flags, 4).find("unknown flags"), std::string::npos);
  Bytes trailing = req;
  trailing.push_back(0);
  EXPECT_NE(error_of([&] { read_request(trailing, f.ctx); }).find("payload size"), std::string::npos);
  EXPECT_THROW(read_request({}, f.ctx), Error);
  // An evaluation-key file is not a request, and the other way round.
  EXPECT_NE(error_of([&] { read_eval_keys(req, f.ctx); }).find("this is request, not evaluation keys"), std::string::npos);
}

// Key-set identity: every object carries the fingerprint of the keys it belongs to; the
// evaluation keys' fingerprint is their own; decrypting another key set's result, or a result
// for other images than were sent, is refused instead of giving confident garbage.
TEST_P(ServiceFormats, KeySetFingerprintBindsKeysRequestsAndResults) {
  Fixture f(GetParam());
  EXPECT_TRUE(is_hex_id(f.key_set));
  EXPECT_EQ(key_set_fingerprint(f.keys, f.ctx), f.key_set);  // stable for the same keys
  he::Client other(f.ctx.plan(), Seed{9});
  const he::EvalKeys other_keys = other.eval_keys();
  const std::string other_set = key_set_fingerprint(other_keys, f.ctx);
  EXPECT_NE(other_set, f.key_set);

  std::string got;
  const Bytes ek = write_eval_keys(f.keys, f.ctx);
  read_eval_keys(ek, f.ctx, &got);
  EXPECT_EQ(got, f.key_set);
  const Bytes skb = write_secret_key(f.client.secret_key(), f.key_set, f.ctx);
  got.clear();
  read_secret_key(skb, f.ctx, &got);
  EXPECT_EQ(got, f.key_set);
  EXPECT_EQ(read_request(write_request(f.request, f.ctx), f.ctx).key_set, f.key_set);

  // Evaluation keys whose stated fingerprint was replaced (by another key set's) are refused.
  Bytes swapped = ek;
  const std::size_t at = std::search(swapped.begin(), swapped.end(), f.key_set.begin(), f.key_set.end()) - swapped.begin();
  ASSERT_LT(at, swapped.size());
  std::copy(other_set.begin(), other_set.end(), swapped.begin() + static_cast<long>(at));
  EXPECT_NE(error_of([&] { read_eval_keys(swapped, f.ctx); }).find("is not the keys' own"), std::string::npos);

  // Objects without a fingerprint are not written.
  Request none = f.request;
  none.key_set = "";
  EXPECT_NE(error_of([&] { write_request(none, f.ctx); }).find("no key-set fingerprint"), std::string::npos);
  EXPECT_THROW(write_secret_key(f.client.secret_key(), "not-hex", f.ctx), Error);

  // The result carries the request's key set; another client's key set is refused.
  he::Server server(f.ctx.plan(), f.model, f.keys);
  const Result res = read_result(write_result(evaluate(server, f.request), f.ctx), f.ctx);
  EXPECT_EQ(res.key_set, f.key_set);
  const std::string e = error_of([&] { decrypt_result(other, other_set, res, 3); });
  EXPECT_NE(e.find("the result was made for key set " + f.key_set + ", but this secret key belongs to key set " + other_set),
            std::string::npos)
      << e;
  EXPECT_NE(error_of([&] { decrypt_result(f.client, f.key_set, res, 1); }).find("the result holds 3 images, but 1 were sent"),
            std::string::npos);
  EXPECT_EQ(decrypt_result(f.client, f.key_set, res, 0).size(), 3u);  // count not known: a result file alone
}

TEST_P(ServiceFormats, AnotherPlanIsAMismatch) {
  Fixture f(GetParam());
  // Same model, the other packing; and the same packing for another model.
  const he::Packing other = GetParam() == he::Packing::kLatency ? he::Packing::kThroughput : he::Packing::kLatency;
  PlanContext other_packing(tiny_plan(f.model, other));
  PlanContext other_model(tiny_plan(tiny_model(2), GetParam()));
  EXPECT_NE(other_packing.id(), f.ctx.id());
  EXPECT_NE(other_model.id(), f.ctx.id());
  const Bytes req = write_request(f.request, f.ctx);
  EXPECT_THROW(read_request(req, other_packing), PlanMismatch);
  EXPECT_THROW(read_request(req, other_model), PlanMismatch);
  const Bytes ek = write_eval_keys(f.keys, f.ctx);
  EXPECT_THROW(read_eval_keys(ek, other_model), PlanMismatch);
  EXPECT_THROW(read_secret_key(write_secret_key(f.client.secret_key(), f.key_set, f.ctx), other_model), PlanMismatch);
}

TEST_P(ServiceFormats, CountsAreBoundedByThePlan) {
  Fixture f(GetParam());
  if (GetParam() == he::Packing::kLatency) {
    EXPECT_NE(error_of([&] { read_request(write_request(f.request, f.ctx), f.ctx, 2); }).find("exceed the limit of 2"),
              std::string::npos);
    Request r = f.request;
    r.images = 2;  // 3 ciphertexts for 2 images
    EXPECT_NE(error_of([&] { read_request(write_request(r, f.ctx), f.ctx); }).find("3 ciphertexts for 2 images"), std::string::npos);
  } else {
    Request r = f.request;
    r.images = static_cast<std::uint32_t>(f.ctx.plan().images_per_batch + 1);
    EXPECT_NE(error_of([&] { read_request(write_request(r, f.ctx), f.ctx); }).find("exceed the plan's batch"), std::string::npos);
    r = f.request;
    r.inputs.pop_back();
    EXPECT_NE(error_of([&] { read_request(write_request(r, f.ctx), f.ctx); }).find("ciphertexts, the plan's batch has"),
              std::string::npos);
  }
  Request none = f.request;
  none.images = 0;
  EXPECT_NE(error_of([&] { read_request(write_request(none, f.ctx), f.ctx); }).find("no images"), std::string::npos);
}

// A small file that claims many ciphertexts is refused from its size before anything is
// reserved for them (read_result once reserved up to 2^20 slots for a file of a few bytes).
TEST(ServiceFormatsCounts, ACountTheBytesCannotHoldIsRefusedBeforeReserving) {
  Fixture f(he::Packing::kLatency);
  Result res;
  res.images = 1u << 20;
  res.key_set = f.key_set;
  Bytes file = write_result(res, f.ctx);  // no ciphertexts follow: the count is the file's last field
  const std::uint32_t claimed = 1u << 20;
  std::memcpy(file.data() + file.size() - sizeof claimed, &claimed, sizeof claimed);
  std::string e = error_of([&] { read_result(file, f.ctx); });
  EXPECT_NE(e.find("1048576 ciphertexts cannot fit in the 0 bytes that follow"), std::string::npos) << e;
  // The same for a request: its count (within --max-images) against the bytes that follow.
  Request empty = f.request;
  empty.inputs.clear();
  empty.images = 3;
  Bytes rq = write_request(empty, f.ctx);  // count 0 ends the file: patched to 3
  const std::uint32_t three = 3;
  std::memcpy(rq.data() + rq.size() - sizeof three, &three, sizeof three);
  e = error_of([&] { read_request(rq, f.ctx); });
  EXPECT_NE(e.find("3 ciphertexts cannot fit in the 0 bytes that follow"), std::string::npos) << e;
}

INSTANTIATE_TEST_SUITE_P(Packings, ServiceFormats, ::testing::Values(he::Packing::kThroughput, he::Packing::kLatency),
                         [](const auto& info) { return std::string(he::to_string(info.param)); });

TEST(ServicePlanId, StableAcrossJsonAndIgnoresPrediction) {
  const nn::Model m = tiny_model();
  he::Plan p = tiny_plan(m, he::Packing::kLatency);
  const std::string id = plan_id(p);
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(plan_id(he::Plan::from_json(p.to_json())), id);
  p.predicted_seconds *= 3;
  EXPECT_EQ(plan_id(p), id);
  p.input_level -= 1;
  EXPECT_NE(plan_id(p), id);
}

TEST(ServiceFlooding, FloodedLogitsAreNoisyRoundedAndReportTheirWidth) {
  Fixture f(he::Packing::kThroughput);
  he::Server server(f.ctx.plan(), f.model, f.keys);
  const Result r = evaluate(server, f.request);
  const auto exact = decrypt_result(f.client, f.key_set, r, 3);
  f.client.set_flooding(ckks::flooding_for_budget(1024));
  const auto flooded = decrypt_result(f.client, f.key_set, r, 3);
  const ckks::FloodingReport& rep = f.client.flooding_report();
  ASSERT_GT(rep.slot_sigma, 0);
  EXPECT_EQ(std::exp2(std::round(std::log2(rep.grid))), rep.grid);  // a power of two
  double sq = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < exact.size(); ++i)
    for (std::size_t c = 0; c < exact[i].size(); ++c) {
      EXPECT_EQ(std::fmod(flooded[i][c], rep.grid), 0.0) << flooded[i][c];  // printed on the grid
      sq += (flooded[i][c] - exact[i][c]) * (flooded[i][c] - exact[i][c]);
      ++n;
    }
  EXPECT_GT(sq, 0);
  EXPECT_LT(std::sqrt(sq / static_cast<double>(n)), 6 * rep.slot_sigma);
  f.client.set_flooding(std::nullopt);
  EXPECT_EQ(decrypt_result(f.client, f.key_set, r, 3), exact);  // exact again, deterministically
}

TEST(ServiceInputSpec, JsonRoundTripAndRejections) {
  nn::InputSpec s;
  s.color = nn::ColorMode::kRgb;
  s.height = 32;
  s.width = 30;
  s.mean = {0.1, 0.2, 0.3};
  s.std = {0.5, 0.6, 0.7};
  const nn::InputSpec b = input_spec_from_json(input_spec_to_json(s));
  EXPECT_EQ(b.color, s.color);
  EXPECT_EQ(b.height, 32);
  EXPECT_EQ(b.mean, s.mean);
  EXPECT_THROW(input_spec_from_json("{"), Error);
  EXPECT_THROW(input_spec_from_json(R"({"color":"gray","height":28,"width":28,"mean":[0],"std":[0]})"), Error);
  EXPECT_THROW(input_spec_from_json(R"({"color":"cmyk","height":28,"width":28,"mean":[0],"std":[1]})"), Error);
  EXPECT_THROW(input_spec_from_json(R"({"color":"gray","height":28,"width":28,"mean":[0,0],"std":[1]})"), Error);
}

}  // namespace
}  // namespace hemi::service
