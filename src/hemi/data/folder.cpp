#include "hemi/data/folder.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <filesystem>
#include <numeric>
#include <system_error>

#include "hemi/base/error.h"
#include "hemi/base/thread_pool.h"
#include "hemi/data/image.h"
#include "hemi/data/split.h"

namespace hemi::data {

namespace fs = std::filesystem;

namespace {

bool is_image_name(const std::string& name) {
  auto dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == "jpg" || ext == "jpeg" || ext == "png";
}

std::vector<fs::directory_entry> sorted_entries(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) throw Error("cannot read folder '" + dir.string() + "': " + ec.message());
  std::vector<fs::directory_entry> entries;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) throw Error("cannot read folder '" + dir.string() + "': " + ec.message());
    if (it->path().filename().string().starts_with(".")) continue;
    entries.push_back(*it);
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.path().filename().string() < b.path().filename().string();
  });
  return entries;
}

}  // namespace

FolderListing list_image_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("image folder '" + dir + "' is not a folder");
  FolderListing listing;
  listing.root = dir;
  for (const auto& cls : sorted_entries(dir)) {
    if (!cls.is_directory(ec)) continue;
    const int label = static_cast<int>(listing.class_names.size());
    std::size_t count = 0;
    for (const auto& file : sorted_entries(cls.path())) {
      if (!is_image_name(file.path().filename().string())) continue;
      if (file.is_directory(ec)) continue;
      listing.files.push_back(file.path().string());
      listing.labels.push_back(label);
      ++count;
    }
    if (count == 0)
      throw Error("image folder '" + dir + "': class folder '" +
                  cls.path().filename().string() + "' has no .jpg, .jpeg or .png files");
    listing.class_names.push_back(cls.path().filename().string());
  }
  if (listing.class_names.empty())
    throw Error("image folder '" + dir + "' has no class subfolders (expected <dir>/<class>/<image>)");
  return listing;
}

ImageSet load_listed_images(const FolderListing& listing, const std::vector<std::size_t>& indices,
                            const LoadOptions& opts, std::vector<BadFile>* skipped) {
  validate(opts);
  ImageSet set;
  set.channels = channel_count(opts.channels);
  set.height = opts.height;
  set.width = opts.width;
  set.class_names = listing.class_names;
  const std::size_t values = set.image_values();
  for (std::size_t i : indices)
    if (i >= listing.files.size())
      throw Error("image folder: file index " + std::to_string(i) + " out of range");

  // Decode in parallel (decoding dominates), then assemble in order.
  std::vector<std::vector<float>> pixels(indices.size());
  std::vector<std::string> errors(indices.size());
  ThreadPool pool(std::min<std::size_t>(ThreadPool::hardware_threads(), 8));
  pool.parallel_for(0, indices.size(), [&](std::size_t k) {
    const std::string& path = listing.files[indices[k]];
    try {
      DecodedImage img = decode_image(path);
      pixels[k].resize(values);
      prepare_image(img.pixels.data(), img.height, img.width, img.channels, opts,
                    pixels[k].data());
    } catch (const std::exception& e) {
      errors[k] = e.what();
    }
  });
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const std::string& path = listing.files[indices[k]];
    if (!errors[k].empty()) {
      if (!opts.skip_bad) throw Error(errors[k]);
      if (skipped) skipped->push_back({path, errors[k]});
      continue;
    }
    set.pixels.insert(set.pixels.end(), pixels[k].begin(), pixels[k].end());
    set.labels.push_back(listing.labels[indices[k]]);
    set.sources.push_back(path);
  }
  return set;
}

ImageSet load_image_folder(const std::string& dir, const LoadOptions& opts,
                           std::vector<BadFile>* skipped) {
  FolderListing listing = list_image_folder(dir);
  std::vector<std::size_t> indices(listing.files.size());
  std::iota(indices.begin(), indices.end(), std::size_t{0});
  if (opts.limit && opts.limit < indices.size()) {
    seeded_shuffle(indices, opts.seed);
    indices.resize(opts.limit);
    std::sort(indices.begin(), indices.end());
  }
  return load_listed_images(listing, indices, opts, skipped);
}

}  // namespace hemi::data
