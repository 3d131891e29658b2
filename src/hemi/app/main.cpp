// The `hemi` command line. Each subcommand lives in its own cmd_*.cpp and registers itself.
#include <algorithm>
#include <cstdio>
#include <exception>

#include "hemi/app/command.h"
#include "hemi/base/error.h"

namespace hemi::app {
std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> registry;
  return registry;
}
}  // namespace hemi::app

int main(int argc, char** argv) {
  CLI::App app{"hemi: homomorphic encryption for medical imaging (RNS-CKKS encrypted inference)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "hemi 0.1.0");
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
