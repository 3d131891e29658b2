// `hemi data`: look at and fetch data sets.
//   hemi data info DATASET [--json] [--size HxW] [--channels gray|rgb] [--filter area|bilinear]
//                          [--split auto|FRACTION|NAME] [--seed N] [--limit N] [--skip-bad]
//                          [--keep-duplicates] [--show-duplicates N]
//   hemi data fetch mnist [--dest DIR] [--base-url URL]...
#include <algorithm>
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
  std::string split = "auto";
  std::uint64_t seed = 0;
  std::size_t limit = 0;
  bool skip_bad = false;
  bool keep_duplicates = false;
  std::size_t show_duplicates = 10;
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

std::string pad(const std::string& s, std::size_t w, bool right = false) {
  if (s.size() >= w) return s;
  return right ? std::string(w - s.size(), ' ') + s : s + std::string(w - s.size(), ' ');
}

std::string split_label(const data::SplitSurvey& s) { return s.name.empty() ? std::string("all") : s.name; }

void run_info(const InfoArgs& a) {
  data::LoadOptions opts;
  data::parse_size(a.size, opts.height, opts.width);
  opts.channels = data::parse_channel_mode(a.channels);
  opts.filter = data::parse_resize_filter(a.filter);
  data::parse_split_choice(a.split, opts);
  opts.seed = a.seed;
  opts.limit = a.limit;
  opts.skip_bad = a.skip_bad;
  opts.keep_cross_duplicates = a.keep_duplicates;
  const data::DatasetLocation loc = data::locate_dataset(a.dataset);
  const data::Survey sv = data::survey_dataset(loc);
  data::Dataset ds = data::load_dataset(loc, opts);
  const auto& names = sv.class_names;
  const auto train_counts = per_class(ds.train);
  const auto test_counts = per_class(ds.test);
  const bool folder = ds.location.kind == data::DatasetKind::kImageFolder;

  if (a.json) {
    nlohmann::json j;
    j["dataset"] = ds.location.name;
    j["kind"] = data::to_string(ds.location.kind);
    j["path"] = ds.location.path;
    j["identity"] = sv.identity;
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
    nlohmann::json splits = nlohmann::json::array();
    for (const auto& s : sv.splits)
      splits.push_back({{"name", s.name}, {"role", s.role}, {"images", s.images}, {"distinct", s.distinct},
                        {"per_class", s.per_class}});
    j["splits"] = splits;
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& g : sv.duplicates)
      groups.push_back({{"sha256", g.hash}, {"items", g.items}, {"across_splits", g.across_splits}});
    nlohmann::json cross = nlohmann::json::array();
    for (const auto& c : sv.cross)
      cross.push_back({{"a", c.a}, {"b", c.b}, {"distinct_images", c.distinct}, {"files_in_b", c.files_in_b}});
    j["duplicates"] = {{"groups", groups}, {"extra_copies", sv.duplicate_files}, {"across_splits", cross}};
    j["train"] = {{"count", ds.train.size()}, {"per_class", train_counts}};
    j["test"] = {{"count", ds.test.size()}, {"per_class", test_counts}};
    j["split"] = {{"choice", data::describe_split_choice(opts)},
                  {"used", ds.split.describe()},
                  {"mode", ds.split.mode == data::SplitMode::kNamed ? "named" : "fraction"},
                  {"train_split", ds.split.train_split},
                  {"test_split", ds.split.test_split},
                  {"train_fraction", ds.split.train_fraction},
                  {"seed", ds.split.seed},
                  {"rule", ds.split.mode == data::SplitMode::kNamed
                               ? "the data set's own split"
                               : "per class: test = round(n * (1 - fraction)), halves up"}};
    j["cross_split_duplicates"] = {{"policy", ds.duplicates.kept ? "keep" : "drop"},
                                   {"test_images", ds.duplicates.test_images},
                                   {"dropped", ds.duplicates.dropped}};
    j["limit"] = opts.limit;
    j["notes"] = ds.notes;
    nlohmann::json skipped = nlohmann::json::array();
    for (const auto& b : ds.skipped) skipped.push_back({{"path", b.path}, {"reason", b.reason}});
    j["skipped"] = skipped;
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("data set   %s (%s)\n", ds.location.name.c_str(), data::to_string(ds.location.kind).c_str());
  std::printf("found at   %s\n", ds.location.path.c_str());
  std::printf("identity   %s\n", sv.identity.c_str());
  std::printf("images     %dx%d, %d channel%s (%s), %s resize\n", opts.height, opts.width,
              data::channel_count(opts.channels), data::channel_count(opts.channels) > 1 ? "s" : "",
              data::to_string(opts.channels).c_str(), data::to_string(opts.filter).c_str());

  // Every split of the data set, as it is on disk.
  std::size_t w = 8;  // "distinct"
  for (std::size_t c = 0; c < names.size(); ++c) w = std::max(w, std::to_string(c).size() + 1 + names[c].size());
  std::vector<std::string> heads;
  std::vector<std::size_t> cw;
  for (const auto& s : sv.splits) {
    heads.push_back(split_label(s) + (s.name.empty() || s.name == s.role ? "" : " (" + s.role + ")"));
    cw.push_back(std::max<std::size_t>(8, heads.back().size() + 2));
  }
  std::printf("\n%s\n", sv.splits.size() == 1 && sv.splits[0].name.empty()
                            ? "the data set (a plain image folder: no split folders)"
                            : "the data set's own splits");
  std::printf("%s", pad("class", w).c_str());
  for (std::size_t k = 0; k < sv.splits.size(); ++k) std::printf("%s", pad(heads[k], cw[k], true).c_str());
  std::printf("\n");
  for (std::size_t c = 0; c < names.size(); ++c) {
    std::printf("%s", pad(std::to_string(c) + " " + names[c], w).c_str());
    for (std::size_t k = 0; k < sv.splits.size(); ++k)
      std::printf("%s", pad(std::to_string(sv.splits[k].per_class[c]), cw[k], true).c_str());
    std::printf("\n");
  }
  for (const char* row : {"all", "distinct"}) {
    std::printf("%s", pad(row, w).c_str());
    for (std::size_t k = 0; k < sv.splits.size(); ++k)
      std::printf("%s", pad(std::to_string(std::string(row) == "all" ? sv.splits[k].images : sv.splits[k].distinct),
                            cw[k], true).c_str());
    std::printf("\n");
  }

  // Exact duplicates (same file or IDX image bytes).
  std::printf("\nexact duplicates (same SHA-256 of the file or IDX image bytes)\n");
  for (const auto& s : sv.splits)
    std::printf("  within %-10s %zu extra cop%s of %zu image%s\n", split_label(s).c_str(), s.images - s.distinct,
                s.images - s.distinct == 1 ? "y" : "ies", s.distinct, s.distinct == 1 ? "" : "s");
  for (const auto& c : sv.cross)
    std::printf("  across %s / %s: %zu distinct image%s in both; %zu file%s of %s\n", c.a.c_str(), c.b.c_str(),
                c.distinct, c.distinct == 1 ? "" : "s", c.files_in_b, c.files_in_b == 1 ? "" : "s", c.b.c_str());
  std::size_t shown = 0;
  for (const auto& g : sv.duplicates) {
    if (shown == a.show_duplicates) break;
    ++shown;
    std::printf("  %s%s:", g.hash.substr(0, 12).c_str(), g.across_splits ? " (across splits)" : "");
    for (const auto& item : g.items) std::printf(" %s;", item.c_str());
    std::printf("\n");
  }
  if (sv.duplicates.size() > shown)
    std::printf("  ... and %zu more group%s (--show-duplicates N, or --json for all)\n", sv.duplicates.size() - shown,
                sv.duplicates.size() - shown == 1 ? "" : "s");

  // The split training and evaluation would use with these options.
  std::printf("\nsplit      %s\n", ds.split.describe().c_str());
  std::printf("duplicates %s\n", ds.duplicates.describe().c_str());
  for (const auto& n : ds.notes)
    if (n != ds.duplicates.describe()) std::printf("note       %s\n", n.c_str());
  std::printf("\n%s %8s %8s %8s\n", pad("class", w).c_str(), "train", "test", "total");
  for (std::size_t c = 0; c < names.size(); ++c) {
    std::printf("%s %8d %8d %8d\n", pad(std::to_string(c) + " " + names[c], w).c_str(), train_counts[c],
                test_counts[c], train_counts[c] + test_counts[c]);
  }
  std::printf("%s %8zu %8zu %8zu\n", pad("all", w).c_str(), ds.train.size(), ds.test.size(),
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
  in->add_option("--split", info->split,
                 "auto (the data set's own test split, else 0.8), a train fraction (1 = no test set), or a split name")
      ->capture_default_str();
  in->add_option("--seed", info->seed, "Split and sample seed")->capture_default_str();
  in->add_option("--limit", info->limit, "A seeded stratified sample of at most N images per split (0 = all)")
      ->capture_default_str();
  in->add_flag("--keep-duplicates", info->keep_duplicates,
               "Keep test images whose content is also a training image (default: drop them)");
  in->add_option("--show-duplicates", info->show_duplicates, "How many duplicate groups to list")->capture_default_str();
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
