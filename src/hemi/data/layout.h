// Split folder layouts: data sets that ship their own training and test split as folders,
//   <dir>/{train,test}/<class>/<image>, <dir>/{train,val,test}/…, <dir>/{Training,Testing}/…
// Split folder names are recognised in any case:
//   train: "train", "training"   val: "val", "valid", "validation"   test: "test", "testing"
// A folder whose every subfolder has such a name is a split layout; one that mixes split
// names with other names is refused (the message names both). Every split must have the same
// class folders (checked when listed). Rules: docs/data.md, "Splits".
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace hemi::data {

enum class SplitRole { kTrain, kVal, kTest };

// "train", "val", "test".
const char* to_string(SplitRole role);

// The role of a split folder name (any case), or nullopt for any other name.
std::optional<SplitRole> split_role(const std::string& folder_name);

// One split of a data set: a split folder, or one of an IDX folder's two file pairs.
struct NamedSplit {
  std::string name;  // as on disk ("Training") or "train" / "test" for IDX
  SplitRole role = SplitRole::kTrain;
  std::string path;  // the split folder (image folders) or the images file (IDX)
};

// The split folders of `dir` in the order train, val, test, empty when `dir` is not a split layout (a plain
// image folder). Throws hemi::Error when split names are mixed with other folders, when two
// folders have the same role (e.g. "train" and "Training"), or when no folder has the train
// role.
std::vector<NamedSplit> find_split_folders(const std::string& dir);

// The split that `name` designates: a split's exact name, then a role name or alias in any
// case ("test" finds "Testing"). Throws hemi::Error listing the splits there are.
const NamedSplit& find_split(const std::vector<NamedSplit>& splits, const std::string& name);

// The split a test set comes from by default: the test split, else the val split; nullptr
// when there is neither.
const NamedSplit* default_test_split(const std::vector<NamedSplit>& splits);
const NamedSplit* train_split(const std::vector<NamedSplit>& splits);

}  // namespace hemi::data
