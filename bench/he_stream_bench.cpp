// hemi-bench-he-stream: one encrypted batch in throughput packing, streamed through every layer
// (src/hemi/he/throughput_stream.h), at 128-bit parameters. Prints the plan, the time, the
// plan's operation counts and ciphertext peak against what the server did, the process's peak
// resident memory, and the agreement with the plaintext interpreter on a few images.
//
//   hemi-bench-he-stream [--model FILE] [--channels 1|3] [--size 64] [--images 394] [--threads 2] [--check 4]
// (--images 0: print the plan only)
//
// Without --model: medcnn (conv 3x3 C->16 s2 p1, x^2, conv 3x3 16->32 s2 p1, x^2, avgpool 2,
// conv 3x3 32->64 p1, x^2, avgpool 2, dense ->64, x^2, dense ->4) with random weights of unit
// gain, built from nn layer structs. Images are random in [-1, 1]: the cost does not depend on
// them.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "hemi/base/thread_pool.h"
#include "hemi/ckks/encryptor.h"
#include "hemi/he/compiler.h"
#include "hemi/he/roles.h"
#include "hemi/he/throughput_stream.h"
#include "hemi/math/simd.h"
#include "hemi/nn/interpreter.h"
#include "hemi/nn/model_file.h"
#include "random_medcnn.h"

using namespace hemi;

namespace {

double max_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path;
  int channels = 1, size = 64, threads = 2;
  std::size_t images = 394, check = 4;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--model") model_path = v;
    else if (a == "--channels") channels = std::stoi(v);
    else if (a == "--size") size = std::stoi(v);
    else if (a == "--images") images = std::stoul(v);
    else if (a == "--threads") threads = std::stoi(v);
    else if (a == "--check") check = std::stoul(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  try {
    const nn::Model model = model_path.empty() ? bench::random_medcnn(channels, size, 4, "medcnn-random") : nn::load_model(model_path);
    using Clock = std::chrono::steady_clock;
    auto t0 = Clock::now();
    he::CompileOptions co;
    co.packing = he::Packing::kThroughput;
    co.images = images;
    const he::Plan plan = he::compile(model, co);
    const double compile_s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("%s", plan.describe().c_str());
    std::printf("SIMD path %s; compile %.2f s\n", math::simd::path_name(math::simd::active_path()), compile_s);
    std::fflush(stdout);
    if (images == 0) return 0;  // --images 0: the plan only
    images = std::min(images, plan.images_per_batch);

    t0 = Clock::now();
    he::Client client(plan);
    he::EvalKeys keys = client.eval_keys();
    ThreadPool pool(static_cast<std::size_t>(threads));
    he::Server server(plan, model, std::move(keys), &pool);
    const double setup_s = std::chrono::duration<double>(Clock::now() - t0).count();

    const std::size_t values = model.input_shape().size();
    std::vector<float> data(images * values);
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<float> d(-1, 1);
    for (auto& x : data) x = d(rng);
    std::vector<const float*> ptrs;
    for (std::size_t i = 0; i < images; ++i) ptrs.push_back(data.data() + i * values);

    he::StreamStats stats;
    double enc_s = 0;
    t0 = Clock::now();
    auto out = server.evaluate_batch(
        [&](std::size_t k) {
          const auto te = Clock::now();
          auto ct = ckks::SymmetricEncryptor::expand(client.params(), client.encrypt_value(ptrs, k));
          enc_s += std::chrono::duration<double>(Clock::now() - te).count();
          return ct;
        },
        &stats);
    const double total_s = std::chrono::duration<double>(Clock::now() - t0).count();
    const auto logits = client.decrypt_logits(out, images);

    bool ops_equal = stats.layer_ops.size() == plan.layers.size();
    for (std::size_t li = 0; ops_equal && li < plan.layers.size(); ++li) {
      const auto &a = plan.layers[li].ops, &b = stats.layer_ops[li];
      ops_equal = a.rotations == b.rotations && a.relinearizations == b.relinearizations && a.rescales == b.rescales &&
                  a.plain_multiplies == b.plain_multiplies && a.dot_terms == b.dot_terms && a.additions == b.additions;
    }
    double err = 0, top = 0;
    std::size_t agree = 0;
    check = std::min(check, images);
    for (std::size_t i = 0; i < check; ++i) {
      const auto want = nn::forward(model, ptrs[i]);
      std::size_t aw = 0, ag = 0;
      for (std::size_t c = 0; c < want.size(); ++c) {
        err = std::max(err, std::fabs(want[c] - logits[i][c]));
        top = std::max(top, std::fabs(want[c]));
        if (want[c] > want[aw]) aw = c;
        if (logits[i][c] > logits[i][ag]) ag = c;
      }
      agree += aw == ag;
    }
    std::printf("images %zu, threads %d: keys+setup %.1f s, batch %.1f s (of which client encryption %.1f s)\n", images,
                threads, setup_s, total_s, enc_s);
    std::printf("operations per layer: plan %s the server's count\n", ops_equal ? "equals" : "DIFFERS FROM");
    std::printf("ciphertexts alive at once: plan %.1f MiB, measured %.1f MiB; plan server memory %.1f MiB; "
                "process peak RSS %.1f MiB\n",
                static_cast<double>(plan.ciphertext_memory_bytes) / 1048576.0,
                static_cast<double>(stats.peak_words * 8) / 1048576.0,
                static_cast<double>(plan.server_memory_bytes) / 1048576.0, max_rss_mib());
    std::printf("plan predicted %.1f s per batch on one thread\n", plan.predicted_seconds);
    std::printf("agreement with the interpreter on %zu images: %zu argmax equal, max |logit error| %.2e (max |logit| %.2f)\n",
                check, agree, err, top);
    return ops_equal ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
