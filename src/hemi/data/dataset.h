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
// ({train,t10k}-{images-idx3,labels-idx1}-ubyte, optionally .gz), an image folder with one
// subfolder per class, or a split layout of image folders (layout.h). When nothing is found
// the error lists every place looked at.
//
// Loading (docs/data.md, "Splits" and "Duplicates"): the split choice picks the training and
// test images by index, before anything is decoded; every image's content is hashed
// (SHA-256); test images whose content is also among the training images are dropped (or
// kept, by option); the limits draw seeded, stratified samples; then the chosen images are
// decoded. Dataset says what was done, in numbers and in words (notes).
#pragma once

#include <string>
#include <vector>

#include "hemi/data/folder.h"
#include "hemi/data/image_set.h"
#include "hemi/data/layout.h"
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
  // The data set's own splits: IDX "train" and "test"; a split layout's folders; empty for a
  // plain image folder.
  std::vector<NamedSplit> splits;
};

// The split that was used, resolved from LoadOptions (never kAuto).
struct SplitUsed {
  SplitMode mode = SplitMode::kNamed;  // kNamed or kFraction
  std::string train_split;             // the split the training images come from; "" = the whole folder
  std::string test_split;              // kNamed: the split the test images are
  double train_fraction = 1.0;         // kFraction
  std::uint64_t seed = 0;              // kFraction
  std::string describe() const;  // "train on 'Training', test on 'Testing'", "stratified 80/20 of ..."
};

// Cross-split duplicates: test images whose content is also among the training images.
struct DuplicateHandling {
  bool kept = false;               // the policy: false = dropped from the test set
  std::size_t test_images = 0;     // test images (files) whose content is in the training set
  std::size_t dropped = 0;         // of those, dropped (0 when kept)
  std::size_t within_train = 0;    // extra copies of an image within the training images (kept)
  std::size_t within_test = 0;     // the same within the test images (kept)
  std::string describe() const;    // one sentence for reports
};

// A seeded stratified sample drawn by a limit; drawn == of when no sample was drawn.
struct Sample {
  std::size_t drawn = 0, of = 0;
  std::uint64_t seed = 0;
  bool sampled() const { return drawn < of; }
};

struct Dataset {
  DatasetLocation location;
  ImageSet train;
  ImageSet test;
  std::vector<BadFile> skipped;  // image folders with opts.skip_bad only
  std::string identity;          // dataset_identity(location)
  SplitUsed split;
  DuplicateHandling duplicates;
  Sample train_sample, test_sample;
  // What a report must say: samples, duplicates dropped or kept, "no test set", the test
  // images being the training images.
  std::vector<std::string> notes;
};

// What `hemi data info` shows besides the loaded split: every split of the data set (a plain
// image folder is one split named ""), its per-class counts, and the exact duplicates
// (identical file or IDX image bytes) within and across splits. Reads every file; decodes none.
struct SplitSurvey {
  std::string name;  // "" for a plain image folder
  std::string role;  // "train", "val", "test", or "all"
  std::vector<std::size_t> per_class;
  std::size_t images = 0;
  std::size_t distinct = 0;  // distinct contents
};
struct DuplicateGroup {
  std::string hash;                 // SHA-256, hex
  std::vector<std::string> items;   // "<split>/<relative path>" or "<split>[index]" (IDX)
  bool across_splits = false;
};
struct Survey {
  std::string identity;
  std::vector<std::string> class_names;
  std::vector<SplitSurvey> splits;
  std::vector<DuplicateGroup> duplicates;  // groups of 2+ identical items
  std::size_t duplicate_files = 0;         // items beyond the first of each group
  // Per pair of splits (a, b), a before b: the distinct contents found in both, and the files
  // of b that have one.
  struct Cross {
    std::string a, b;
    std::size_t distinct = 0, files_in_b = 0;
  };
  std::vector<Cross> cross;
};
Survey survey_dataset(const DatasetLocation& location);

// The class names of a data set, from its listing (image folders) or label files (IDX);
// decodes no image. Throws as load_dataset for class folders that differ between splits.
std::vector<std::string> dataset_class_names(const DatasetLocation& location);

// A data set's identity: "sha256:" + hex SHA-256 of its file list (paths relative to the
// data set's folder, sorted) with each file's size, and for the four IDX files also their
// SHA-256 (they are few and always the same size). The same files in another place have the
// same identity; an added, removed, renamed or resized file, or changed IDX bytes, change it.
// Image files' content is not read (an edit that keeps the size keeps the identity).
std::string dataset_identity(const DatasetLocation& location);

// The search roots in order (those that do not exist included), see above.
std::vector<std::string> data_roots();

// Resolves a name or path; throws hemi::Error listing the places looked at.
DatasetLocation locate_dataset(const std::string& name_or_path);

// Loads a located data set as described above. Throws hemi::Error for a split name the data
// set does not have, a fraction split of a set without training images, class folders that
// differ between splits, and everything the loaders refuse.
Dataset load_dataset(const DatasetLocation& location, const LoadOptions& opts);
Dataset load_dataset(const std::string& name_or_path, const LoadOptions& opts);

std::string to_string(DatasetKind kind);

}  // namespace hemi::data
