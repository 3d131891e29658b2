// hemi-bench-medcnn: encrypted inference of a medcnn-shaped network (issue 12) in the
// multiplexed latency layout, at 128-bit parameters, with random weights (scaled so that the
// x^2 activations stay near 1), on random images: per-image time end to end, the plan's
// figures and the agreement with the plaintext interpreter. Run it under /usr/bin/time -v for
// the peak memory.
//   hemi-bench-medcnn [--size 64] [--rgb] [--images 3] [--threads 2] [--classes 4] [--cache-mib 1024] [--auto]
//                     [--save-model FILE (with --images 0: only that)]
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "hemi/ckks/encryptor.h"
#include "hemi/he/compiler.h"
#include "hemi/he/roles.h"
#include "hemi/nn/interpreter.h"
#include "hemi/nn/model_file.h"
#include "random_medcnn.h"

using namespace hemi;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// CPU seconds of the whole process (all threads): comparable on a shared machine.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

}  // namespace

int main(int argc, char** argv) {
  int size = 64, images = 3, threads = 2, classes = 4;
  std::size_t cache_mib = 1024;
  bool rgb = false, auto_layout = false;
  std::string save;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::stoi(argv[++i]) : throw std::runtime_error(a + " needs a value"); };
    if (a == "--size") size = next();
    else if (a == "--rgb") rgb = true;
    else if (a == "--auto") auto_layout = true;  // let the compiler choose the latency layout
    else if (a == "--save-model" && i + 1 < argc) save = argv[++i];  // for hemi eval
    else if (a == "--images") images = next();
    else if (a == "--threads") threads = next();
    else if (a == "--classes") classes = next();
    else if (a == "--cache-mib") cache_mib = static_cast<std::size_t>(next());
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  const int ch = rgb ? 3 : 1;
  nn::Model model = bench::random_medcnn(ch, size, classes, "medcnn (random weights)");
  if (!save.empty()) {
    nn::save_model(model, save);
    std::printf("model written to %s\n", save.c_str());
    if (images == 0) return 0;
  }

  he::CompileOptions o;
  o.packing = he::Packing::kLatency;
  if (!auto_layout) o.latency_layout = he::CompileOptions::LatencyLayout::kMultiplexed;
  o.plaintext_cache_bytes = cache_mib << 20;
  auto t0 = std::chrono::steady_clock::now();
  he::Plan plan = he::compile(model, o);
  std::printf("compile: %.2f s\n%s\n", seconds_since(t0), plan.describe().c_str());
  std::printf("plan: N = %zu, depth %d, %zu rotation keys, eval keys %.1f MiB, plaintext cache %.1f MiB, server memory "
              "estimate %.1f MiB, predicted %.2f s/image (one thread); rotations %llu, plaintext products %llu, encodes %llu\n",
              std::size_t{1} << plan.params.log_n, plan.depth, plan.rotation_steps.size(), plan.eval_key_bytes / 1048576.0,
              plan.plaintext_cache_bytes / 1048576.0, plan.server_memory_bytes / 1048576.0, plan.predicted_seconds,
              static_cast<unsigned long long>(plan.total.rotations), static_cast<unsigned long long>(plan.total.plain_multiplies),
              static_cast<unsigned long long>(plan.total.encodes));

  t0 = std::chrono::steady_clock::now();
  he::Client client(plan);
  he::EvalKeys keys = client.eval_keys();
  std::printf("keys: %.2f s\n", seconds_since(t0));
  ThreadPool pool(static_cast<std::size_t>(threads));
  t0 = std::chrono::steady_clock::now();
  auto prepared = std::make_shared<const he::PreparedModel>(plan, model);
  he::Server server(prepared, std::move(keys), threads > 1 ? &pool : nullptr);
  std::printf("server setup: %.2f s\n", seconds_since(t0));

  std::mt19937_64 rng(13);  // the images
  std::uniform_real_distribution<float> px(-1, 1);
  int agree = 0;
  double max_err = 0, max_logit = 0;
  for (int i = 0; i < images; ++i) {
    std::vector<float> img(model.input_shape().size());
    for (auto& v : img) v = px(rng);
    const auto start = std::chrono::steady_clock::now();
    const double cpu0 = cpu_seconds();
    auto ct = ckks::SymmetricEncryptor::expand(client.params(), client.encrypt_image(img.data()));
    const double enc = seconds_since(start);
    auto t1 = std::chrono::steady_clock::now();
    auto out = server.evaluate_image(ct);
    const double ev = seconds_since(t1);
    auto got = client.decrypt_logits({out}, 1)[0];
    const double total = seconds_since(start), cpu = cpu_seconds() - cpu0;
    auto want = nn::forward(model, img.data());
    double err = 0;
    for (std::size_t c = 0; c < want.size(); ++c) {
      err = std::max(err, std::abs(got[c] - want[c]));
      max_logit = std::max(max_logit, std::abs(want[c]));
    }
    max_err = std::max(max_err, err);
    const bool same = std::max_element(got.begin(), got.end()) - got.begin() == std::max_element(want.begin(), want.end()) - want.begin();
    agree += same;
    std::printf("image %d: %.2f s end to end (encrypt %.2f, evaluate %.2f; %.2f CPU seconds), max logit error %.2e, %s\n", i, total,
                enc, ev, cpu, err,
                same ? "agrees" : "DISAGREES");
  }
  std::printf("agreement %d/%d, max logit error %.2e (largest logit %.2f)\n", agree, images, max_err, max_logit);
  return 0;
}
