// `hemi run SPEC.toml [--out DIR] [--json] [--threads N]`: the experiment runner. Trains and
// evaluates everything a spec lists (docs/experiments.md), prints the study's table, and
// writes results.json, results.csv, report.md and the figures into DIR.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>

#include "hemi/app/command.h"
#include "hemi/base/error.h"
#include "hemi/data/dataset.h"
#include "hemi/report/output.h"
#include "hemi/report/runner.h"
#include "hemi/report/spec.h"

namespace hemi::app {
namespace {

struct RunArgs {
  std::string spec, out;
  int threads = 0;
  bool json = false, quiet = false, check = false;
  std::string command;
};

void run(const RunArgs& a) {
  report::Spec spec = report::load_spec(a.spec);
  report::check_datasets(spec);
  if (a.check) {
    std::printf("%s: %zu experiments, valid; data sets found:", a.spec.c_str(), spec.experiments.size());
    std::set<std::string> shown;
    for (const report::ExperimentSpec& e : spec.experiments)
      if (shown.insert(e.dataset).second)
        std::printf(" %s at %s;", e.dataset.c_str(), data::locate_dataset(e.dataset).path.c_str());
    std::printf("\n");
    return;
  }
  const std::string out = a.out.empty() ? "results/" + spec.name : a.out;
  report::RunOptions ro;
  ro.threads = a.threads;
  ro.command = a.command;
  ro.log = a.quiet ? nullptr : stderr;
  report::Report rep = report::run_spec(spec, ro);
  report::Outputs files = report::write_outputs(rep, out);
  if (a.json) {
    std::printf("%s", report::to_json(rep).c_str());
  } else {
    std::printf("\n%s", report::console_table(rep).c_str());
    std::printf("\n%zu runs in %.1f s. Report: %s (results.json, results.csv and %zu figures in %s)\n",
                rep.runs.size(), rep.seconds, (std::filesystem::path(out) / "report.md").string().c_str(),
                files.files.size() > 3 ? files.files.size() - 3 : 0, out.c_str());
  }
  for (const std::string& w : files.warnings) std::fprintf(stderr, "hemi run: warning: %s\n", w.c_str());
}

void setup(CLI::App& root) {
  auto a = std::make_shared<RunArgs>();
  auto* cmd = root.add_subcommand("run", "Run an experiment spec: train, evaluate plaintext and encrypted, report");
  cmd->add_option("SPEC", a->spec, "experiment spec (TOML), e.g. experiments/seed.toml")->required();
  cmd->add_option("-o,--out", a->out, "output folder (default results/<spec name>)");
  cmd->add_option("--threads", a->threads, "inference threads (default 0: every core)");
  cmd->add_flag("--json", a->json, "print results.json to stdout instead of the table");
  cmd->add_flag("--quiet", a->quiet, "no progress on stderr");
  cmd->add_flag("--check", a->check, "only validate the spec and locate its data sets");
  cmd->callback([a, cmd] {
    a->command = "hemi run " + a->spec;
    if (!a->out.empty()) a->command += " --out " + a->out;
    if (a->threads) a->command += " --threads " + std::to_string(a->threads);
    if (a->json) a->command += " --json";
    run(*a);
  });
}

HEMI_REGISTER_COMMAND("run", 60, setup);

}  // namespace
}  // namespace hemi::app
