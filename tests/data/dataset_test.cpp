// Finding data sets by name and path; Fashion-MNIST from Debian's package.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "hemi/base/error.h"
#include "hemi/data/dataset.h"
#include "hemi/data/idx.h"
#include "test_data.h"
#include "support/test_data_dir.h"

namespace hemi::data {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// Sets (or unsets, with nullopt) an environment variable for the scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class ScopedCwd {
 public:
  explicit ScopedCwd(const std::string& dir) : old_(fs::current_path()) { fs::current_path(dir); }
  ~ScopedCwd() { fs::current_path(old_); }

 private:
  fs::path old_;
};

std::string canonical(const std::string& p) { return fs::weakly_canonical(p).string(); }

TEST(dataLocate, NamesThroughHemiData) {
  HEMI_REQUIRE_FULL_DATA();
  const std::string shared = testing::shared_data_dir();
  ScopedEnv data("HEMI_DATA", shared);
  DatasetLocation mnist = locate_dataset("mnist");
  EXPECT_EQ(mnist.kind, DatasetKind::kIdx);
  EXPECT_EQ(canonical(mnist.path), canonical(shared + "/mnist"));
  EXPECT_EQ(canonical(mnist.test_labels), canonical(shared + "/mnist/t10k-labels-idx1-ubyte.gz"));
  EXPECT_EQ(mnist.class_names.size(), 10u);
  DatasetLocation mri = locate_dataset("brain-mri");
  EXPECT_EQ(mri.kind, DatasetKind::kImageFolder);
  EXPECT_EQ(canonical(mri.path), canonical(shared + "/brain-mri"));
}

TEST(dataLocate, RepositoryRootAndCurrentDirectory) {
  HEMI_REQUIRE_FULL_DATA();
  ScopedEnv data("HEMI_DATA", std::nullopt);
  ScopedEnv source("HEMI_SOURCE_DIR", std::string(HEMI_SOURCE_DIR));
  TempDir tmp;
  ScopedCwd cwd(tmp.path());  // nothing relative to the cwd
  DatasetLocation mnist = locate_dataset("mnist");
  EXPECT_EQ(canonical(mnist.path), canonical(std::string(HEMI_SOURCE_DIR) + "/../shared/data/mnist"));

  // ../shared/data relative to the current directory wins over the repository root.
  testing::make_dirs(tmp.file("work/x"));
  testing::make_dirs(tmp.file("work/shared/data/brain-mri/c0"));
  ScopedCwd inner(tmp.file("work/x"));
  DatasetLocation mri = locate_dataset("brain-mri");
  EXPECT_EQ(canonical(mri.path), canonical(tmp.file("work/shared/data/brain-mri")));
}

TEST(dataLocate, NotFoundListsWhereItLooked) {
  TempDir tmp;
  ScopedEnv data("HEMI_DATA", tmp.file("hemi-data"));
  ScopedEnv source("HEMI_SOURCE_DIR", tmp.file("repo"));
  ScopedCwd cwd(tmp.path());
  std::string msg;
  try {
    locate_dataset("brain-mri");
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find(tmp.file("hemi-data") + "/brain-mri"), std::string::npos) << msg;
  EXPECT_NE(msg.find("../shared/data/brain-mri"), std::string::npos) << msg;
  EXPECT_NE(msg.find("data/brain-mri"), std::string::npos) << msg;
  EXPECT_NE(msg.find(tmp.path() + "/shared/data/brain-mri"), std::string::npos) << msg;  // <repo>/../shared/data

  msg.clear();
  try {
    locate_dataset(tmp.file("no-such-folder"));
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find(tmp.file("no-such-folder")), std::string::npos) << msg;
}

TEST(dataLocate, PathsToIdxAndImageFolders) {
  HEMI_REQUIRE_FULL_DATA();
  TempDir tmp;
  // An IDX folder: two raw and two gzip files of a tiny set.
  testing::make_dirs(tmp.file("idx"));
  const std::string mnist = testing::mnist_dir();
  for (const char* f : {"train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"})
    fs::copy_file(mnist + "/" + f, tmp.file(std::string("idx/") + f));
  testing::write_bytes(tmp.file("idx/train-images-idx3-ubyte"),
                       read_maybe_gzip(mnist + "/train-images-idx3-ubyte.gz"));
  testing::write_bytes(tmp.file("idx/t10k-labels-idx1-ubyte"),
                       read_maybe_gzip(mnist + "/t10k-labels-idx1-ubyte.gz"));
  DatasetLocation loc = locate_dataset(tmp.file("idx"));
  EXPECT_EQ(loc.kind, DatasetKind::kIdx);
  EXPECT_EQ(loc.train_images, tmp.file("idx/train-images-idx3-ubyte"));
  EXPECT_EQ(loc.test_labels, tmp.file("idx/t10k-labels-idx1-ubyte"));
  LoadOptions opts;
  opts.limit = 20;
  Dataset ds = load_dataset(loc, opts);
  EXPECT_EQ(ds.train.size(), 20u);
  EXPECT_EQ(ds.test.size(), 20u);
  EXPECT_EQ(ds.test.labels[0], 7);
  EXPECT_EQ(ds.train.labels[0], 5);
  EXPECT_EQ(ds.train.class_names.size(), ds.test.class_names.size());

  // A folder that is neither.
  testing::make_dirs(tmp.file("empty"));
  EXPECT_THROW(locate_dataset(tmp.file("empty")), Error);
}

// Debian's dataset-fashion-mnist package: found at /usr/share/datasets/fashion-mnist when no
// data root has it; 60000 / 10000 images, 6000 / 1000 per class.
TEST(dataFashionMnist, FromTheDebianPackage) {
  TempDir tmp;
  ScopedEnv data("HEMI_DATA", tmp.path());
  ScopedEnv source("HEMI_SOURCE_DIR", tmp.file("repo"));
  ScopedCwd cwd(tmp.path());
  DatasetLocation loc = locate_dataset("fashion-mnist");
  EXPECT_EQ(loc.path, "/usr/share/datasets/fashion-mnist");
  Dataset ds = load_dataset(loc, LoadOptions{});
  ASSERT_EQ(ds.train.size(), 60000u);
  ASSERT_EQ(ds.test.size(), 10000u);
  EXPECT_EQ(ds.test.class_names[0], "T-shirt/top");
  EXPECT_EQ(ds.test.class_names[9], "Ankle boot");
  std::vector<int> train_counts(10), test_counts(10);
  for (int l : ds.train.labels) ++train_counts.at(l);
  for (int l : ds.test.labels) ++test_counts.at(l);
  EXPECT_EQ(train_counts, std::vector<int>(10, 6000));
  EXPECT_EQ(test_counts, std::vector<int>(10, 1000));
}

}  // namespace
}  // namespace hemi::data
