// The `hemi` command line. Each subcommand lives in its own cmd_*.cpp and registers itself.
#include <algorithm>
#include <cstdio>
#include <exception>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "hemi/app/command.h"
#include "hemi/base/error.h"
#include "hemi/math/simd.h"

namespace hemi::app {
std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> registry;
  return registry;
}
}  // namespace hemi::app

int main(int argc, char** argv) {
#if defined(__GLIBC__)
  // Buffers of 1 MiB and more (ciphertexts at N >= 2^14) come from mmap and go back to the
  // system when freed. glibc's default threshold rises with the first such free, after which
  // they are carved from per-thread heaps that keep their peak: medcnn's streamed throughput
  // run held 8.7 GB for 6.1 GiB of live ciphertexts, 7.5 GB with this (same time within 5 %).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
  CLI::App app{"hemi: homomorphic encryption for medical imaging (RNS-CKKS encrypted inference)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] {
    std::string supported;
    for (auto p : hemi::math::simd::supported_paths()) supported += std::string(" ") + hemi::math::simd::path_name(p);
    return std::string("hemi 0.1.0\nSIMD kernel path: ") + hemi::math::simd::active_path_name() +
           " (this CPU supports:" + supported + "; HEMI_SIMD=scalar|avx2|avx512ifma chooses)";
  });
  auto& registry = hemi::app::command_registry();
  std::sort(registry.begin(), registry.end(),
            [](const auto& a, const auto& b) { return a.order < b.order; });
  for (auto& cmd : registry) cmd.setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const hemi::Error& e) {
    std::fprintf(stderr, "hemi: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hemi: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
