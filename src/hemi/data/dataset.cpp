#include "hemi/data/dataset.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <system_error>

#include "hemi/base/error.h"
#include "hemi/data/idx.h"
#include "hemi/data/split.h"

#ifndef HEMI_SOURCE_DIR
#define HEMI_SOURCE_DIR ""
#endif

namespace hemi::data {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFashionMnistSystemDir = "/usr/share/datasets/fashion-mnist";

bool exists_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

bool exists_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// Absolute and without "." / ".." parts, for messages that say where data was found.
std::string absolute_path(const fs::path& p) {
  std::error_code ec;
  fs::path a = fs::absolute(p, ec);
  return (ec ? p : a).lexically_normal().string();
}

// <dir>/<stem>.gz or <dir>/<stem>; empty if neither.
std::string find_idx_file(const fs::path& dir, const std::string& stem) {
  for (const auto& name : {stem + ".gz", stem}) {
    if (exists_file(dir / name)) return absolute_path(dir / name);
  }
  return {};
}

bool try_idx_folder(const fs::path& dir, DatasetLocation& loc) {
  auto ti = find_idx_file(dir, "train-images-idx3-ubyte");
  auto tl = find_idx_file(dir, "train-labels-idx1-ubyte");
  auto vi = find_idx_file(dir, "t10k-images-idx3-ubyte");
  auto vl = find_idx_file(dir, "t10k-labels-idx1-ubyte");
  if (ti.empty() || tl.empty() || vi.empty() || vl.empty()) return false;
  loc.kind = DatasetKind::kIdx;
  loc.path = absolute_path(dir);
  loc.train_images = ti;
  loc.train_labels = tl;
  loc.test_images = vi;
  loc.test_labels = vl;
  return true;
}

bool has_subfolder(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return false;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return false;
    if (!it->path().filename().string().starts_with(".") && it->is_directory(ec)) return true;
  }
  return false;
}

std::vector<std::string> digit_names() {
  std::vector<std::string> names;
  for (int d = 0; d < 10; ++d) names.push_back(std::to_string(d));
  return names;
}

const std::vector<std::string>& fashion_names() {
  static const std::vector<std::string> kNames = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                                  "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                                  "Bag",         "Ankle boot"};
  return kNames;
}

std::string join_lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += "\n  " + x;
  return s;
}

ImageSet load_folder_split(const FolderListing& listing, std::vector<std::size_t> indices,
                           const LoadOptions& opts, std::uint64_t limit_seed,
                           std::vector<BadFile>* skipped) {
  if (opts.limit && opts.limit < indices.size()) {
    seeded_shuffle(indices, limit_seed);
    indices.resize(opts.limit);
    std::sort(indices.begin(), indices.end());
  }
  return load_listed_images(listing, indices, opts, skipped);
}

}  // namespace

std::string to_string(DatasetKind kind) {
  return kind == DatasetKind::kIdx ? "idx" : "image-folder";
}

std::vector<std::string> data_roots() {
  std::vector<std::string> roots;
  if (const char* env = std::getenv("HEMI_DATA"); env && *env) roots.push_back(env);
  roots.push_back("data");
  roots.push_back("../shared/data");
  std::string repo;
  if (const char* env = std::getenv("HEMI_SOURCE_DIR"); env && *env)
    repo = env;
  else
    repo = HEMI_SOURCE_DIR;
  if (!repo.empty()) roots.push_back((fs::path(repo) / ".." / "shared" / "data").lexically_normal().string());
  return roots;
}

DatasetLocation locate_dataset(const std::string& name_or_path) {
  DatasetLocation loc;
  loc.name = name_or_path;
  std::vector<std::string> looked;
  const bool known =
      name_or_path == "mnist" || name_or_path == "fashion-mnist" || name_or_path == "brain-mri";
  if (known) {
    std::vector<fs::path> candidates;
    for (const auto& root : data_roots()) candidates.push_back(fs::path(root) / name_or_path);
    if (name_or_path == "fashion-mnist") candidates.push_back(kFashionMnistSystemDir);
    for (const auto& dir : candidates) {
      if (name_or_path == "brain-mri") {
        looked.push_back(dir.string() + " (class subfolders)");
        if (exists_dir(dir) && has_subfolder(dir)) {
          loc.kind = DatasetKind::kImageFolder;
          loc.path = absolute_path(dir);
          return loc;
        }
      } else {
        looked.push_back(dir.string() + " (IDX files)");
        if (try_idx_folder(dir, loc)) {
          loc.class_names = name_or_path == "mnist" ? digit_names() : fashion_names();
          return loc;
        }
      }
    }
    std::string hint = name_or_path == "mnist"
                           ? "\n(set HEMI_DATA, or run `hemi data fetch mnist`)"
                           : "\n(set HEMI_DATA to a folder holding " + name_or_path + "/)";
    throw Error("data set '" + name_or_path + "' not found; looked in:" + join_lines(looked) + hint);
  }
  fs::path dir(name_or_path);
  looked.push_back(dir.string());
  if (try_idx_folder(dir, loc)) return loc;
  if (exists_dir(dir) && has_subfolder(dir)) {
    loc.kind = DatasetKind::kImageFolder;
    loc.path = absolute_path(dir);
    return loc;
  }
  throw Error("data set '" + name_or_path +
              "' not found: not a known name (mnist, fashion-mnist, brain-mri), and not a folder "
              "with the four IDX files ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]) or "
              "with one subfolder per class; looked in:" + join_lines(looked));
}

Dataset load_dataset(const DatasetLocation& location, const LoadOptions& opts) {
  validate(opts);
  Dataset ds;
  ds.location = location;
  if (location.kind == DatasetKind::kIdx) {
    ds.train = load_idx(location.train_images, location.train_labels, opts, location.class_names);
    ds.test = load_idx(location.test_images, location.test_labels, opts, location.class_names);
    // Both halves must agree on the classes (generic IDX folders infer them from the labels).
    if (ds.train.class_names.size() != ds.test.class_names.size()) {
      auto& names = ds.train.class_names.size() > ds.test.class_names.size()
                        ? ds.train.class_names
                        : ds.test.class_names;
      ds.train.class_names = names;
      ds.test.class_names = names;
    }
    return ds;
  }
  FolderListing listing = list_image_folder(location.path);
  SplitIndices split = stratified_split(listing.labels, opts.train_fraction, opts.seed);
  ds.train = load_folder_split(listing, split.train, opts, opts.seed + 1, &ds.skipped);
  ds.test = load_folder_split(listing, split.test, opts, opts.seed + 2, &ds.skipped);
  return ds;
}

Dataset load_dataset(const std::string& name_or_path, const LoadOptions& opts) {
  return load_dataset(locate_dataset(name_or_path), opts);
}

}  // namespace hemi::data
