#include "hemi/data/layout.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

#include "hemi/base/error.h"

namespace hemi::data {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

const char* to_string(SplitRole role) {
  switch (role) {
    case SplitRole::kTrain: return "train";
    case SplitRole::kVal: return "val";
    case SplitRole::kTest: return "test";
  }
  return "?";
}

std::optional<SplitRole> split_role(const std::string& folder_name) {
  const std::string n = lower(folder_name);
  if (n == "train" || n == "training") return SplitRole::kTrain;
  if (n == "val" || n == "valid" || n == "validation") return SplitRole::kVal;
  if (n == "test" || n == "testing") return SplitRole::kTest;
  return std::nullopt;
}

std::vector<NamedSplit> find_split_folders(const std::string& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return {};
  std::vector<NamedSplit> splits;
  std::vector<std::string> others;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return {};
    const std::string name = it->path().filename().string();
    if (name.starts_with(".") || !it->is_directory(ec)) continue;
    if (auto role = split_role(name))
      splits.push_back({name, *role, it->path().string()});
    else
      others.push_back(name);
  }
  if (splits.empty()) return {};
  std::sort(splits.begin(), splits.end(), [](const auto& a, const auto& b) {
    return a.role != b.role ? a.role < b.role : a.name < b.name;
  });
  std::sort(others.begin(), others.end());
  std::vector<std::string> names;
  for (const auto& s : splits) names.push_back(s.name);
  if (!others.empty())
    throw Error("data set '" + dir + "' mixes split folders (" + join(names) + ") with other folders (" +
                join(others) + "); a data set is either <dir>/<class>/<image> or <dir>/<split>/<class>/<image> "
                "with splits named train/training, val/valid/validation, test/testing (any case)");
  for (std::size_t i = 0; i < splits.size(); ++i)
    for (std::size_t j = i + 1; j < splits.size(); ++j)
      if (splits[i].role == splits[j].role)
        throw Error("data set '" + dir + "': folders '" + splits[i].name + "' and '" + splits[j].name +
                    "' are both the " + to_string(splits[i].role) + " split; keep one");
  if (!train_split(splits))
    throw Error("data set '" + dir + "' has split folders (" + join(names) +
                ") but no training split (a folder named train or training, any case)");
  return splits;
}

const NamedSplit& find_split(const std::vector<NamedSplit>& splits, const std::string& name) {
  for (const auto& s : splits)
    if (s.name == name) return s;
  if (auto role = split_role(name))
    for (const auto& s : splits)
      if (s.role == *role) return s;
  std::vector<std::string> names;
  for (const auto& s : splits) names.push_back(s.name + " (" + to_string(s.role) + ")");
  throw Error("no split named '" + name + "'; the data set has: " +
              (names.empty() ? std::string("no named splits (a plain image folder: give a train fraction)")
                             : join(names)));
}

const NamedSplit* default_test_split(const std::vector<NamedSplit>& splits) {
  for (SplitRole role : {SplitRole::kTest, SplitRole::kVal})
    for (const auto& s : splits)
      if (s.role == role) return &s;
  return nullptr;
}

const NamedSplit* train_split(const std::vector<NamedSplit>& splits) {
  for (const auto& s : splits)
    if (s.role == SplitRole::kTrain) return &s;
  return nullptr;
}

}  // namespace hemi::data
