// Finding and loading a data set by name or path.
//
// Names: "mnist", "fashion-mnist", "brain-mri". Each is searched, in order, under the roots
//   1. $HEMI_DATA
//   2. ./data                      (where `hemi data fetch` puts files by default)
//   3. ../shared/data              (relative to the current directory)
//   4. <repo>/../shared/data       (repo = $HEMI_SOURCE_DIR, else the source tree hemi was built from)
// as <root>/mnist, <root>/fashion-mnist, <root>/brain-mri; Fashion-MNIST also at
// /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist package).
// Anything else is a path: a folder holding the four IDX files
// ({train,t10k}-{images-idx3,labels-idx1}-ubyte, optionally .gz) or an image folder with one
// subfolder per class. When nothing is found the error lists every place looked at.
#pragma once

#include <string>
#include <vector>

#include "hemi/data/folder.h"
#include "hemi/data/image_set.h"
#include "hemi/data/options.h"

namespace hemi::data {

enum class DatasetKind { kIdx, kImageFolder };

struct DatasetLocation {
  std::string name;  // "mnist", "fashion-mnist", "brain-mri", or the path as given
  DatasetKind kind = DatasetKind::kIdx;
  std::string path;  // the folder that was found (absolute)
  // kIdx only: the four files.
  std::string train_images, train_labels, test_images, test_labels;
  std::vector<std::string> class_names;  // kIdx: known names (empty = "0".."max label")
};

struct Dataset {
  DatasetLocation location;
  ImageSet train;
  ImageSet test;
  std::vector<BadFile> skipped;  // image folders with opts.skip_bad only
};

// The search roots in order (those that do not exist included), see above.
std::vector<std::string> data_roots();

// Resolves a name or path; throws hemi::Error listing the places looked at.
DatasetLocation locate_dataset(const std::string& name_or_path);

// Loads a located data set. IDX: the train and test files (opts.limit keeps the first images
// of each). Image folders: stratified_split(opts.train_fraction, opts.seed) of the listing
// (before decoding, so a skipped bad file does not move the others), then opts.limit keeps a
// seeded random subset of each split.
Dataset load_dataset(const DatasetLocation& location, const LoadOptions& opts);
Dataset load_dataset(const std::string& name_or_path, const LoadOptions& opts);

std::string to_string(DatasetKind kind);

}  // namespace hemi::data
