#include "hemi/data/dataset.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <system_error>

#include "hemi/base/error.h"
#include "hemi/base/bytes.h"
#include "hemi/base/thread_pool.h"
#include "hemi/data/fetch.h"
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

// One split of a data set as a list of items (files or IDX images) with labels; content
// hashes are computed on demand.
struct Source {
  std::string name;  // split name; "" for a plain image folder
  SplitRole role = SplitRole::kTrain;
  bool idx = false;
  FolderListing listing;                  // image folders
  std::string images_path, labels_path;  // IDX
  std::vector<int> labels;
  std::vector<std::string> hashes;  // SHA-256 hex per item, after hash_source

  std::string item_name(std::size_t i, const std::string& root) const {
    if (idx) return name + "[" + std::to_string(i) + "]";
    return fs::path(listing.files[i]).lexically_relative(root).string();
  }
};

std::string join_names(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::vector<Source> list_sources(const DatasetLocation& loc, std::vector<std::string>& class_names) {
  std::vector<Source> sources;
  if (loc.kind == DatasetKind::kIdx) {
    int max_label = -1;
    for (bool train : {true, false}) {
      Source s;
      s.idx = true;
      s.name = train ? "train" : "test";
      s.role = train ? SplitRole::kTrain : SplitRole::kTest;
      s.images_path = train ? loc.train_images : loc.test_images;
      s.labels_path = train ? loc.train_labels : loc.test_labels;
      IdxArray labels = read_idx(s.labels_path);
      if (labels.dims.size() != 1) throw Error("IDX file '" + s.labels_path + "' is not a 1-D label file");
      for (std::uint8_t l : labels.values) {
        s.labels.push_back(l);
        max_label = std::max<int>(max_label, l);
      }
      sources.push_back(std::move(s));
    }
    class_names = loc.class_names;
    if (class_names.empty())
      for (int c = 0; c <= max_label; ++c) class_names.push_back(std::to_string(c));
    return sources;
  }
  if (loc.splits.empty()) {
    Source s;
    s.listing = list_image_folder(loc.path);
    s.labels = s.listing.labels;
    class_names = s.listing.class_names;
    sources.push_back(std::move(s));
    return sources;
  }
  for (const NamedSplit& split : loc.splits) {
    Source s;
    s.name = split.name;
    s.role = split.role;
    s.listing = list_image_folder(split.path);
    s.labels = s.listing.labels;
    if (sources.empty()) {
      class_names = s.listing.class_names;
    } else if (s.listing.class_names != class_names) {
      throw Error("data set '" + loc.path + "': the splits have different class folders: '" + sources[0].name +
                  "' has " + join_names(class_names) + "; '" + s.name + "' has " + join_names(s.listing.class_names) +
                  " (every split needs the same class folders)");
    }
    sources.push_back(std::move(s));
  }
  return sources;
}

void hash_source(Source& s) {
  if (!s.hashes.empty() || s.labels.empty()) return;
  if (s.idx) {
    IdxArray images = read_idx(s.images_path);
    if (images.dims.size() != 3 || images.dims[0] != s.labels.size())
      throw Error("IDX file '" + s.images_path + "': expected " + std::to_string(s.labels.size()) +
                  " images (count x rows x cols) to match its label file");
    const std::size_t bytes = static_cast<std::size_t>(images.dims[1]) * images.dims[2];
    s.hashes.resize(s.labels.size());
    for (std::size_t i = 0; i < s.labels.size(); ++i) s.hashes[i] = sha256_hex(images.values.data() + i * bytes, bytes);
    return;
  }
  s.hashes.resize(s.listing.files.size());
  std::vector<std::string> errors(s.hashes.size());
  ThreadPool pool(std::min<std::size_t>(ThreadPool::hardware_threads(), 8));
  pool.parallel_for(0, s.hashes.size(), [&](std::size_t i) {
    try {
      s.hashes[i] = sha256_hex(read_file(s.listing.files[i], std::size_t{1} << 30));
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  });
  for (const auto& e : errors)
    if (!e.empty()) throw Error("hashing image content: " + e);
}

std::string identity_of(const DatasetLocation& loc, const std::vector<Source>& sources) {
  std::vector<std::string> lines;
  // IDX files are few and fixed in size, so their content is hashed as well.
  auto add = [&](const std::string& path, bool content) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) throw Error("cannot read the size of '" + path + "': " + ec.message());
    lines.push_back(fs::path(path).lexically_relative(loc.path).string() + "\t" + std::to_string(size) +
                    (content ? "\t" + sha256_hex(read_file(path, std::size_t{1} << 32)) : std::string()) + "\n");
  };
  for (const Source& s : sources) {
    if (s.idx) {
      add(s.images_path, true);
      add(s.labels_path, true);
    } else {
      for (const auto& f : s.listing.files) add(f, false);
    }
  }
  std::sort(lines.begin(), lines.end());
  std::string text;
  for (const auto& l : lines) text += l;
  return "sha256:" + sha256_hex(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

std::vector<int> labels_at(const Source& s, const std::vector<std::size_t>& idx) {
  std::vector<int> out;
  out.reserve(idx.size());
  for (std::size_t i : idx) out.push_back(s.labels[i]);
  return out;
}

// The items of `idx` kept by a limit: a seeded stratified sample, or all of them.
std::vector<std::size_t> sample_of(const Source& s, const std::vector<std::size_t>& idx, std::size_t limit,
                                   std::uint64_t seed, Sample& info) {
  info = {idx.size(), idx.size(), seed};
  if (!limit || limit >= idx.size()) return idx;
  std::vector<std::size_t> out;
  for (std::size_t p : stratified_sample(labels_at(s, idx), limit, seed)) out.push_back(idx[p]);
  info.drawn = out.size();
  return out;
}

ImageSet decode(const Source& s, const std::vector<std::size_t>& idx, const std::vector<std::string>& class_names,
                const LoadOptions& opts, std::vector<BadFile>* skipped) {
  ImageSet set;
  if (!s.idx) {
    set = load_listed_images(s.listing, idx, opts, skipped);
  } else {
    LoadOptions all = opts;
    all.limit = 0;
    set = subset(load_idx(s.images_path, s.labels_path, all, class_names), idx);
  }
  // Each image's content hash, the duplicate key (k-fold keeps copies in one fold).
  if (!s.hashes.empty()) {
    if (s.idx) {
      for (std::size_t i : idx) set.content.push_back(s.hashes[i]);
    } else if (set.sources.size() == set.size()) {  // unreadable files were skipped: match by path
      std::map<std::string, const std::string*> hash_of;
      for (std::size_t i = 0; i < s.listing.files.size(); ++i) hash_of[s.listing.files[i]] = &s.hashes[i];
      for (const std::string& path : set.sources) {
        auto it = hash_of.find(path);
        if (it == hash_of.end()) throw InternalError("data: decoded image " + path + " is not in its listing");
        set.content.push_back(*it->second);
      }
    }
  }
  return set;
}

std::string percent(double f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", 100 * f);
  return buf;
}

}  // namespace

std::string SplitUsed::describe() const {
  if (mode == SplitMode::kNamed) {
    if (train_split == test_split) return "train and test on '" + test_split + "' (the test images ARE the training images)";
    return "train on '" + train_split + "', test on '" + test_split + "' (the data set's own split)";
  }
  const std::string of = train_split.empty() ? "every image" : "'" + train_split + "'";
  std::string s = "stratified split of " + of + ": " + percent(train_fraction) + " train, ";
  s += train_fraction >= 1.0 ? std::string("no test set") : percent(1.0 - train_fraction) + " test";
  return s + ", seed " + std::to_string(seed);
}

std::string DuplicateHandling::describe() const {
  if (test_images == 0) return "no test image is a copy of a training image";
  const std::string n = std::to_string(test_images) + " test image" + (test_images == 1 ? "" : "s") +
                        " with the same content as a training image";
  if (kept) return n + (test_images == 1 ? " was" : " were") + " kept (duplicate policy: keep)";
  return n + (test_images == 1 ? " was" : " were") + " dropped from the test set (duplicate policy: drop)";
}

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
  // Image folders found by name under the data roots (brain-tumor-mri4: issue 12's set, a
  // Training/ + Testing/ split layout).
  const bool image_folder_name = name_or_path == "brain-mri" || name_or_path == "brain-tumor-mri4";
  const bool known = name_or_path == "mnist" || name_or_path == "fashion-mnist" || image_folder_name;
  if (known) {
    std::vector<fs::path> candidates;
    for (const auto& root : data_roots()) candidates.push_back(fs::path(root) / name_or_path);
    if (name_or_path == "fashion-mnist") candidates.push_back(kFashionMnistSystemDir);
    for (const auto& dir : candidates) {
      if (image_folder_name) {
        looked.push_back(dir.string() + " (class subfolders)");
        if (exists_dir(dir) && has_subfolder(dir)) {
          loc.kind = DatasetKind::kImageFolder;
          loc.path = absolute_path(dir);
          loc.splits = find_split_folders(loc.path);
          return loc;
        }
      } else {
        looked.push_back(dir.string() + " (IDX files)");
        if (try_idx_folder(dir, loc)) {
          loc.splits = {{"train", SplitRole::kTrain, loc.train_images}, {"test", SplitRole::kTest, loc.test_images}};
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
  if (try_idx_folder(dir, loc)) {
    loc.splits = {{"train", SplitRole::kTrain, loc.train_images}, {"test", SplitRole::kTest, loc.test_images}};
    return loc;
  }
  if (exists_dir(dir) && has_subfolder(dir)) {
    loc.kind = DatasetKind::kImageFolder;
    loc.path = absolute_path(dir);
    loc.splits = find_split_folders(loc.path);
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
  std::vector<std::string> class_names;
  std::vector<Source> sources = list_sources(location, class_names);
  ds.identity = identity_of(location, sources);
  auto source_named = [&](const std::string& name) -> Source& {
    const NamedSplit& split = find_split(location.splits, name);
    for (Source& s : sources)
      if (s.name == split.name) return s;
    throw Error("split '" + name + "' not found");  // unreachable: sources mirror the splits
  };
  Source* train_src = location.splits.empty() ? &sources[0] : &source_named(train_split(location.splits)->name);

  // Which items train and which test, by index; nothing decoded yet.
  SplitMode mode = opts.split_mode;
  if (mode == SplitMode::kAuto)
    mode = default_test_split(location.splits) ? SplitMode::kNamed : SplitMode::kFraction;
  Source* test_src = train_src;
  std::vector<std::size_t> train_idx, test_idx;
  ds.split.mode = mode;
  ds.split.train_split = train_src->name;
  if (mode == SplitMode::kNamed) {
    if (location.splits.empty())
      throw Error("data set '" + location.name + "' is a plain image folder (<dir>/<class>/<image>): it has no "
                  "named splits; give a train fraction such as 0.8 instead of '" + opts.test_split + "'");
    test_src = &source_named(opts.split_mode == SplitMode::kAuto ? default_test_split(location.splits)->name
                                                                  : opts.test_split);
    ds.split.test_split = test_src->name;
    train_idx.resize(train_src->labels.size());
    std::iota(train_idx.begin(), train_idx.end(), std::size_t{0});
    test_idx.resize(test_src->labels.size());
    std::iota(test_idx.begin(), test_idx.end(), std::size_t{0});
    if (test_src == train_src)
      ds.notes.push_back("the test images are the training images (split '" + test_src->name +
                         "'): the scores say nothing about unseen images");
  } else {
    ds.split.train_fraction = opts.train_fraction;
    ds.split.seed = opts.seed;
    SplitIndices split = stratified_split(train_src->labels, opts.train_fraction, opts.seed);
    train_idx = std::move(split.train);
    test_idx = std::move(split.test);
    if (test_idx.empty())
      ds.notes.push_back("no test set: train fraction " + percent(opts.train_fraction) + " puts every image of " +
                         (train_src->name.empty() ? std::string("the data set") : "'" + train_src->name + "'") +
                         " in the training set");
  }

  // Duplicates by content. Within a split they are counted; a test image whose content is
  // also a training image is dropped from the test set unless the policy keeps it.
  const bool same_images = mode == SplitMode::kNamed && test_src == train_src;
  hash_source(*train_src);
  hash_source(*test_src);
  ds.duplicates.kept = opts.keep_cross_duplicates;
  std::set<std::string> train_hashes;
  for (std::size_t i : train_idx) train_hashes.insert(train_src->hashes[i]);
  ds.duplicates.within_train = train_idx.size() - train_hashes.size();
  if (!same_images) {
    std::vector<std::size_t> kept;
    for (std::size_t i : test_idx) {
      if (train_hashes.count(test_src->hashes[i])) {
        ++ds.duplicates.test_images;
        if (!opts.keep_cross_duplicates) {
          ++ds.duplicates.dropped;
          continue;
        }
      }
      kept.push_back(i);
    }
    test_idx = std::move(kept);
    if (ds.duplicates.test_images) ds.notes.push_back(ds.duplicates.describe());
  }
  std::set<std::string> test_hashes;
  for (std::size_t i : test_idx) test_hashes.insert(test_src->hashes[i]);
  ds.duplicates.within_test = test_idx.size() - test_hashes.size();

  // Limits: seeded stratified samples.
  const std::size_t train_limit = opts.train_limit ? opts.train_limit : opts.limit;
  const std::size_t test_limit = opts.test_limit ? opts.test_limit : opts.limit;
  train_idx = sample_of(*train_src, train_idx, train_limit, opts.seed + 1, ds.train_sample);
  test_idx = sample_of(*test_src, test_idx, test_limit, opts.seed + 2, ds.test_sample);
  for (auto [sample, what] : {std::pair{&ds.train_sample, "training"}, std::pair{&ds.test_sample, "test"}})
    if (sample->sampled())
      ds.notes.push_back(std::string("a seeded stratified random sample of ") + std::to_string(sample->drawn) +
                         " of the " + std::to_string(sample->of) + " " + what + " images (sample seed " +
                         std::to_string(sample->seed) + ")");

  if (opts.load_train) ds.train = decode(*train_src, train_idx, class_names, opts, &ds.skipped);
  ds.test = decode(*test_src, test_idx, class_names, opts, &ds.skipped);
  ds.train.class_names = class_names;
  ds.test.class_names = class_names;
  return ds;
}

std::string dataset_identity(const DatasetLocation& location) {
  std::vector<std::string> class_names;
  return identity_of(location, list_sources(location, class_names));
}

std::vector<std::string> dataset_class_names(const DatasetLocation& location) {
  std::vector<std::string> class_names;
  list_sources(location, class_names);
  return class_names;
}

Survey survey_dataset(const DatasetLocation& location) {
  Survey sv;
  std::vector<Source> sources = list_sources(location, sv.class_names);
  sv.identity = identity_of(location, sources);
  struct Item {
    std::size_t source;
    std::string name;
  };
  std::map<std::string, std::vector<Item>> by_hash;
  for (std::size_t k = 0; k < sources.size(); ++k) {
    Source& s = sources[k];
    hash_source(s);
    SplitSurvey ss;
    ss.name = s.name;
    ss.role = location.splits.empty() ? "all" : to_string(s.role);
    ss.per_class.assign(sv.class_names.size(), 0);
    for (int l : s.labels) ++ss.per_class.at(static_cast<std::size_t>(l));
    ss.images = s.labels.size();
    ss.distinct = std::set<std::string>(s.hashes.begin(), s.hashes.end()).size();
    sv.splits.push_back(ss);
    for (std::size_t i = 0; i < s.hashes.size(); ++i)
      by_hash[s.hashes[i]].push_back({k, s.item_name(i, location.path)});
  }
  for (std::size_t a = 0; a < sources.size(); ++a)
    for (std::size_t b = a + 1; b < sources.size(); ++b) sv.cross.push_back({sources[a].name, sources[b].name, 0, 0});
  for (auto& [hash, items] : by_hash) {
    if (items.size() < 2) continue;
    DuplicateGroup g;
    g.hash = hash;
    std::set<std::size_t> in;
    for (const Item& it : items) {
      g.items.push_back(it.name);
      in.insert(it.source);
    }
    g.across_splits = in.size() > 1;
    sv.duplicate_files += items.size() - 1;
    for (auto& c : sv.cross) {
      std::size_t ia = 0, ib = 0;
      for (std::size_t k = 0; k < sources.size(); ++k) {
        if (sources[k].name == c.a) ia = k;
        if (sources[k].name == c.b) ib = k;
      }
      if (!in.count(ia) || !in.count(ib)) continue;
      ++c.distinct;
      for (const Item& it : items) c.files_in_b += it.source == ib;
    }
    sv.duplicates.push_back(std::move(g));
  }
  return sv;
}

Dataset load_dataset(const std::string& name_or_path, const LoadOptions& opts) {
  return load_dataset(locate_dataset(name_or_path), opts);
}

}  // namespace hemi::data
