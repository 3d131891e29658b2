// Subcommands of the `hemi` executable register themselves here, one file each (cmd_*.cpp),
// so layers added by later work extend the CLI without touching main.cpp.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace hemi::app {

struct CommandSpec {
  std::string name;
  int order;  // position in `hemi --help`
  std::function<void(CLI::App& root)> setup;  // adds the subcommand and its callback
};

std::vector<CommandSpec>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(std::string name, int order, std::function<void(CLI::App&)> setup) {
    command_registry().push_back({std::move(name), order, std::move(setup)});
  }
};

}  // namespace hemi::app

#define HEMI_CONCAT_INNER(a, b) a##b
#define HEMI_CONCAT(a, b) HEMI_CONCAT_INNER(a, b)
// HEMI_REGISTER_COMMAND("params", 10, setup_params);
#define HEMI_REGISTER_COMMAND(name, order, setup) \
  static ::hemi::app::CommandRegistrar HEMI_CONCAT(hemi_cmd_, __LINE__)(name, order, setup)
