// `hemi data`: look at and fetch data sets.
//   hemi data info DATASET [--json] [--size HxW] [--channels gray|rgb] [--filter area|bilinear]
//                          [--split 0.8] [--seed N] [--limit N] [--skip-bad]
//   hemi data fetch mnist [--dest DIR] [--base-url URL]...
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hemi/app/command.h"
#include "hemi/base/error.h"
#include "hemi/data/dataset.h"
#include "hemi/data/fetch.h"

namespace hemi::app {
namespace {

struct InfoArgs {
  std::string dataset;
  bool json = false;
  std::string size = "28x28";
  std::string channels = "gray";
  std::string filter = "area";
  double split = 0.8;
  std::uint64_t seed = 0;
  std::size_t limit = 0;
  bool skip_bad = false;
};

struct FetchArgs {
  std::string dataset;
  std::string dest;
  std::vector<std::string> base_urls;
};

std::vector<int> per_class(const data::ImageSet& set) {
  std::vector<int> counts(set.class_names.size(), 0);
  for (int l : set.labels) ++counts.at(static_cast<std::size_t>(l));
  return counts;
}

void run_info(const InfoArgs& a) {
  data::LoadOptions opts;
  data::parse_size(a.size, opts.height, opts.width);
  opts.channels = data::parse_channel_mode(a.channels);
  opts.filter = data::parse_resize_filter(a.filter);
  opts.train_fraction = a.split;
  opts.seed = a.seed;
  opts.limit = a.limit;
  opts.skip_bad = a.skip_bad;
  data::Dataset ds = data::load_dataset(a.dataset, opts);
  const auto& names = ds.train.class_names.empty() ? ds.test.class_names : ds.train.class_names;
  const auto train_counts = per_class(ds.train);
  const auto test_counts = per_class(ds.test);
  const bool folder = ds.location.kind == data::DatasetKind::kImageFolder;

  if (a.json) {
    nlohmann::json j;
    j["dataset"] = ds.location.name;
    j["kind"] = data::to_string(ds.location.kind);
    j["path"] = ds.location.path;
    if (!folder) {
      j["files"] = {{"train_images", ds.location.train_images},
                    {"train_labels", ds.location.train_labels},
                    {"test_images", ds.location.test_images},
                    {"test_labels", ds.location.test_labels}};
    }
    j["height"] = opts.height;
    j["width"] = opts.width;
    j["channels"] = data::channel_count(opts.channels);
    j["channel_mode"] = data::to_string(opts.channels);
    j["filter"] = data::to_string(opts.filter);
    j["classes"] = names;
    j["train"] = {{"count", ds.train.size()}, {"per_class", train_counts}};
    j["test"] = {{"count", ds.test.size()}, {"per_class", test_counts}};
    if (folder) {
      j["split"] = {{"train_fraction", opts.train_fraction},
                    {"seed", opts.seed},
                    {"rule", "per class: test = round(n * (1 - fraction)), halves up"}};
    } else {
      j["split"] = {{"rule", "the data set's own train and test files"}};
    }
    j["limit"] = opts.limit;
    nlohmann::json skipped = nlohmann::json::array();
    for (const auto& b : ds.skipped) skipped.push_back({{"path", b.path}, {"reason", b.reason}});
    j["skipped"] = skipped;
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("data set   %s (%s)\n", ds.location.name.c_str(), data::to_string(ds.location.kind).c_str());
  std::printf("found at   %s\n", ds.location.path.c_str());
  std::printf("images     %dx%d, %d channel%s (%s), %s resize\n", opts.height, opts.width,
              data::channel_count(opts.channels), data::channel_count(opts.channels) > 1 ? "s" : "",
              data::to_string(opts.channels).c_str(), data::to_string(opts.filter).c_str());
  if (folder)
    std::printf("split      stratified, train fraction %g, seed %llu\n", opts.train_fraction,
                static_cast<unsigned long long>(opts.seed));
  else
    std::printf("split      the data set's own train and test files\n");
  std::printf("\n%-16s %8s %8s %8s\n", "class", "train", "test", "total");
  for (std::size_t c = 0; c < names.size(); ++c) {
    std::string label = std::to_string(c) + " " + names[c];
    std::printf("%-16s %8d %8d %8d\n", label.c_str(), train_counts[c], test_counts[c],
                train_counts[c] + test_counts[c]);
  }
  std::printf("%-16s %8zu %8zu %8zu\n", "all", ds.train.size(), ds.test.size(),
              ds.train.size() + ds.test.size());
  if (!ds.skipped.empty()) {
    std::printf("\nskipped %zu unreadable file%s:\n", ds.skipped.size(), ds.skipped.size() > 1 ? "s" : "");
    for (const auto& b : ds.skipped) std::printf("  %s\n", b.reason.c_str());
  }
}

void run_fetch(const FetchArgs& a) {
  if (a.dataset != "mnist")
    throw Error("fetch: only 'mnist' can be downloaded (Fashion-MNIST: apt-get install "
                "dataset-fashion-mnist; brain-mri: see docs/data.md)");
  std::string dest = a.dest;
  if (dest.empty()) {
    const char* env = std::getenv("HEMI_DATA");
    dest = (env && *env ? std::string(env) : std::string("data")) + "/mnist";
  }
  data::fetch_mnist(dest, a.base_urls, [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
}

void setup_data(CLI::App& root) {
  auto* cmd = root.add_subcommand("data", "Inspect and download data sets (MNIST, Fashion-MNIST, brain MRI)");
  cmd->require_subcommand(1);

  auto info = std::make_shared<InfoArgs>();
  auto* in = cmd->add_subcommand("info", "Counts per class and split, image size, channels, location");
  in->add_option("dataset", info->dataset, "mnist, fashion-mnist, brain-mri, or a path")->required();
  in->add_flag("--json", info->json, "Print one JSON object");
  in->add_option("--size", info->size, "Image size HxW")->capture_default_str();
  in->add_option("--channels", info->channels, "gray or rgb")->capture_default_str();
  in->add_option("--filter", info->filter, "Resize filter: area or bilinear")->capture_default_str();
  in->add_option("--split", info->split, "Train fraction for image folders")->capture_default_str();
  in->add_option("--seed", info->seed, "Split seed")->capture_default_str();
  in->add_option("--limit", info->limit, "At most N images per split (0 = all)")->capture_default_str();
  in->add_flag("--skip-bad", info->skip_bad, "Skip unreadable image files instead of failing");
  in->callback([info] { run_info(*info); });

  auto fetch = std::make_shared<FetchArgs>();
  auto* fe = cmd->add_subcommand("fetch", "Download a data set and verify its SHA-256 checksums");
  fe->add_option("dataset", fetch->dataset, "mnist")->required();
  fe->add_option("--dest", fetch->dest, "Destination folder (default $HEMI_DATA/mnist or ./data/mnist)");
  fe->add_option("--base-url", fetch->base_urls,
                 "Base URL of the files (repeatable; default: the torchvision mirrors)");
  fe->callback([fetch] { run_fetch(*fetch); });
}

}  // namespace

HEMI_REGISTER_COMMAND("data", 20, setup_data);

}  // namespace hemi::app
