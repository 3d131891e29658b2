// Split layouts, the data set's identity, cross-split duplicates and stratified samples
// (docs/data.md, "Splits", "Duplicates", "Samples"). Small generated fixtures; the real
// four-class brain tumour set when it is present (skipped with the reason otherwise).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "hemi/base/error.h"
#include "hemi/data/dataset.h"
#include "hemi/data/layout.h"
#include "hemi/data/split.h"
#include "support/error_of.h"
#include "test_data.h"

namespace hemi::data {
namespace {

namespace fs = std::filesystem;
using test_support::error_of;
using testing::TempDir;

// A PNG whose bytes depend on `id` only: equal ids are byte-identical files.
void write_image(const std::string& path, int id) {
  std::vector<std::uint8_t> px(8 * 8);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>((i * 7 + id * 31) % 256);
  testing::make_dirs(fs::path(path).parent_path().string());
  testing::write_bytes(path, testing::encode_png(8, 8, 1, px));
}

// <root>/<split>/<class>/<n>.png with `per_class` distinct images per class; ids are unique
// per (split, class, n) unless the caller copies one.
void write_split(const std::string& root, const std::string& split, const std::vector<std::string>& classes,
                 int per_class, int id_base) {
  for (std::size_t c = 0; c < classes.size(); ++c)
    for (int n = 0; n < per_class; ++n)
      write_image(root + "/" + split + "/" + classes[c] + "/" + std::to_string(n) + ".png",
                  id_base + static_cast<int>(c) * 100 + n);
}

LoadOptions small() {
  LoadOptions o;
  o.height = o.width = 8;
  return o;
}

TEST(dataSplits, SplitNamesInAnyCase) {
  EXPECT_EQ(split_role("Training"), SplitRole::kTrain);
  EXPECT_EQ(split_role("TRAIN"), SplitRole::kTrain);
  EXPECT_EQ(split_role("Validation"), SplitRole::kVal);
  EXPECT_EQ(split_role("valid"), SplitRole::kVal);
  EXPECT_EQ(split_role("Testing"), SplitRole::kTest);
  EXPECT_EQ(split_role("test"), SplitRole::kTest);
  EXPECT_FALSE(split_role("yes").has_value());
  EXPECT_FALSE(split_role("tests").has_value());
}

TEST(dataSplits, TrainingTestingLayoutUsesItsOwnSplit) {
  TempDir tmp;
  write_split(tmp.path(), "Training", {"a", "b"}, 6, 0);
  write_split(tmp.path(), "Testing", {"a", "b"}, 3, 1000);
  DatasetLocation loc = locate_dataset(tmp.path());
  ASSERT_EQ(loc.splits.size(), 2u);
  EXPECT_EQ(loc.splits[0].name, "Training");  // train first
  EXPECT_EQ(loc.splits[1].role, SplitRole::kTest);
  Dataset ds = load_dataset(loc, small());
  EXPECT_EQ(ds.train.size(), 12u);
  EXPECT_EQ(ds.test.size(), 6u);
  EXPECT_EQ(ds.train.class_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ds.split.mode, SplitMode::kNamed);
  EXPECT_EQ(ds.split.train_split, "Training");
  EXPECT_EQ(ds.split.test_split, "Testing");
  for (const auto& src : ds.test.sources) EXPECT_NE(src.find("/Testing/"), std::string::npos) << src;
}

TEST(dataSplits, TrainValTestPicksTestThenValByName) {
  TempDir tmp;
  write_split(tmp.path(), "train", {"x", "y"}, 4, 0);
  write_split(tmp.path(), "val", {"x", "y"}, 2, 1000);
  write_split(tmp.path(), "test", {"x", "y"}, 3, 2000);
  DatasetLocation loc = locate_dataset(tmp.path());
  ASSERT_EQ(loc.splits.size(), 3u);
  EXPECT_EQ(load_dataset(loc, small()).test.size(), 6u);  // auto: test
  LoadOptions o = small();
  parse_split_choice("val", o);
  Dataset val = load_dataset(loc, o);
  EXPECT_EQ(val.test.size(), 4u);
  EXPECT_EQ(val.split.test_split, "val");
  parse_split_choice("VALIDATION", o);  // a role alias finds the folder
  EXPECT_EQ(load_dataset(loc, o).test.size(), 4u);
  parse_split_choice("train", o);
  Dataset same = load_dataset(loc, o);
  EXPECT_EQ(same.test.size(), 8u);
  ASSERT_FALSE(same.notes.empty());
  EXPECT_NE(same.notes[0].find("the test images are the training images"), std::string::npos);
  parse_split_choice("holdout", o);
  EXPECT_NE(error_of([&] { load_dataset(loc, o); }).find("no split named 'holdout'; the data set has: train (train), "
                                                          "val (val), test (test)"),
            std::string::npos);
}

TEST(dataSplits, FractionSplitsTheTrainingSplitOnly) {
  TempDir tmp;
  write_split(tmp.path(), "train", {"x", "y"}, 10, 0);
  write_split(tmp.path(), "test", {"x", "y"}, 3, 1000);
  LoadOptions o = small();
  parse_split_choice("0.8", o);
  Dataset ds = load_dataset(tmp.path(), o);
  EXPECT_EQ(ds.train.size(), 16u);
  EXPECT_EQ(ds.test.size(), 4u);
  for (const auto& src : ds.test.sources) EXPECT_NE(src.find("/train/"), std::string::npos) << src;
  EXPECT_EQ(ds.split.describe(), "stratified split of 'train': 80% train, 20% test, seed 0");
  // 1 = no test set, and it says so.
  parse_split_choice("1", o);
  Dataset all = load_dataset(tmp.path(), o);
  EXPECT_EQ(all.train.size(), 20u);
  EXPECT_EQ(all.test.size(), 0u);
  EXPECT_NE(all.split.describe().find("no test set"), std::string::npos);
  ASSERT_FALSE(all.notes.empty());
  EXPECT_NE(all.notes[0].find("no test set"), std::string::npos);
  EXPECT_NE(error_of([&] { parse_split_choice("1.5", o); }).find("must be in [0, 1]"), std::string::npos);
}

TEST(dataSplits, RefusesBadLayoutsWithTheReason) {
  {
    TempDir tmp;
    write_split(tmp.path(), "Training", {"a", "b"}, 2, 0);
    write_split(tmp.path(), "Testing", {"a", "c"}, 2, 1000);
    const std::string e = error_of([&] { load_dataset(tmp.path(), small()); });
    EXPECT_NE(e.find("different class folders: 'Training' has a, b; 'Testing' has a, c"), std::string::npos) << e;
  }
  {
    TempDir tmp;
    write_split(tmp.path(), "train", {"a"}, 2, 0);
    write_split(tmp.path(), "extra", {"a"}, 2, 1000);
    const std::string e = error_of([&] { locate_dataset(tmp.path()); });
    EXPECT_NE(e.find("mixes split folders (train) with other folders (extra)"), std::string::npos) << e;
  }
  {
    TempDir tmp;
    write_split(tmp.path(), "train", {"a"}, 2, 0);
    write_split(tmp.path(), "Training", {"a"}, 2, 1000);
    EXPECT_NE(error_of([&] { locate_dataset(tmp.path()); }).find("are both the train split"), std::string::npos);
  }
  {
    TempDir tmp;
    write_split(tmp.path(), "test", {"a"}, 2, 0);
    EXPECT_NE(error_of([&] { locate_dataset(tmp.path()); }).find("no training split"), std::string::npos);
  }
  {
    // A plain folder has no named splits.
    TempDir tmp;
    write_split(tmp.path(), ".", {"a", "b"}, 3, 0);
    LoadOptions o = small();
    parse_split_choice("test", o);
    EXPECT_NE(error_of([&] { load_dataset(tmp.path(), o); }).find("plain image folder"), std::string::npos);
  }
}

TEST(dataSplits, IdentityFollowsTheFileListNotThePlace) {
  TempDir a, b;
  write_split(a.path(), "train", {"x", "y"}, 3, 0);
  write_split(a.path(), "test", {"x", "y"}, 2, 1000);
  fs::copy(a.path(), b.path(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  const std::string id = dataset_identity(locate_dataset(a.path()));
  EXPECT_EQ(id.substr(0, 7), "sha256:");
  EXPECT_EQ(id, dataset_identity(locate_dataset(b.path())));
  EXPECT_EQ(id, load_dataset(a.path(), small()).identity);
  write_image(b.file("test/x/extra.png"), 77);
  EXPECT_NE(id, dataset_identity(locate_dataset(b.path())));
}

// A test file whose bytes are a training file's: dropped by default, kept by option, and
// both counted; data info's survey lists the groups within and across splits.
TEST(dataDuplicates, CrossSplitCopiesAreDroppedFromTheTestSide) {
  TempDir tmp;
  write_split(tmp.path(), "train", {"a", "b"}, 4, 0);
  write_split(tmp.path(), "test", {"a", "b"}, 3, 1000);
  fs::copy_file(tmp.file("train/a/0.png"), tmp.file("test/a/0.png"), fs::copy_options::overwrite_existing);
  fs::copy_file(tmp.file("train/b/1.png"), tmp.file("test/b/2.png"), fs::copy_options::overwrite_existing);
  fs::copy_file(tmp.file("train/a/1.png"), tmp.file("train/a/3.png"), fs::copy_options::overwrite_existing);
  Dataset ds = load_dataset(tmp.path(), small());
  EXPECT_EQ(ds.test.size(), 4u);
  EXPECT_FALSE(ds.duplicates.kept);
  EXPECT_EQ(ds.duplicates.test_images, 2u);
  EXPECT_EQ(ds.duplicates.dropped, 2u);
  EXPECT_EQ(ds.duplicates.within_train, 1u);
  EXPECT_EQ(ds.duplicates.describe(),
            "2 test images with the same content as a training image were dropped from the test set (duplicate "
            "policy: drop)");
  for (const auto& src : ds.test.sources) {
    EXPECT_EQ(src.find("test/a/0.png"), std::string::npos);
    EXPECT_EQ(src.find("test/b/2.png"), std::string::npos);
  }
  LoadOptions keep = small();
  keep.keep_cross_duplicates = true;
  Dataset kept = load_dataset(tmp.path(), keep);
  EXPECT_EQ(kept.test.size(), 6u);
  EXPECT_EQ(kept.duplicates.test_images, 2u);
  EXPECT_EQ(kept.duplicates.dropped, 0u);
  EXPECT_NE(kept.duplicates.describe().find("kept (duplicate policy: keep)"), std::string::npos);

  Survey sv = survey_dataset(locate_dataset(tmp.path()));
  ASSERT_EQ(sv.splits.size(), 2u);
  EXPECT_EQ(sv.splits[0].images, 8u);
  EXPECT_EQ(sv.splits[0].distinct, 7u);
  EXPECT_EQ(sv.splits[1].distinct, 6u);
  ASSERT_EQ(sv.cross.size(), 1u);
  EXPECT_EQ(sv.cross[0].distinct, 2u);
  EXPECT_EQ(sv.cross[0].files_in_b, 2u);
  ASSERT_EQ(sv.duplicates.size(), 3u);  // {train/a/0, test/a/0}, {train/b/1, test/b/2}, {train/a/1, train/a/3}
  std::size_t across = 0;
  for (const auto& g : sv.duplicates) across += g.across_splits;
  EXPECT_EQ(across, 2u);
}

// A fraction split of a plain folder: a copy that lands on both sides is dropped from test.
TEST(dataDuplicates, CopiesStraddlingAFractionSplitAreDropped) {
  TempDir tmp;
  for (int n = 0; n < 10; ++n) write_image(tmp.file("a/" + std::to_string(n) + ".png"), 5);  // all equal
  for (int n = 0; n < 10; ++n) write_image(tmp.file("b/" + std::to_string(n) + ".png"), 100 + n);
  LoadOptions o = small();
  parse_split_choice("0.5", o);
  Dataset ds = load_dataset(tmp.path(), o);
  EXPECT_EQ(ds.duplicates.test_images, 5u);
  EXPECT_EQ(ds.duplicates.dropped, 5u);
  EXPECT_EQ(ds.test.size(), 5u);
  EXPECT_EQ(ds.duplicates.within_train, 4u);
}

// k-fold over images with copies: every copy of an image is in the same fold, so no fold tests
// on an image that its training part also holds; without the content keys they would straddle.
TEST(dataDuplicates, KFoldKeepsCopiesInOneFold) {
  TempDir tmp;
  for (int n = 0; n < 12; ++n) write_image(tmp.file("a/" + std::to_string(n) + ".png"), n % 4);  // 4 images x 3
  for (int n = 0; n < 12; ++n) write_image(tmp.file("b/" + std::to_string(n) + ".png"), 100 + n);
  LoadOptions o = small();
  parse_split_choice("1.0", o);
  Dataset ds = load_dataset(tmp.path(), o);
  ASSERT_EQ(ds.train.size(), 24u);
  ASSERT_EQ(ds.train.content.size(), 24u);  // the loader hands each image's content hash on
  EXPECT_EQ(subset(ds.train, {0, 5}).content, (std::vector<std::string>{ds.train.content[0], ds.train.content[5]}));
  auto leaks = [&](const std::vector<SplitIndices>& folds) {
    std::size_t n = 0;
    for (const auto& f : folds) {
      std::set<std::string> train;
      for (auto i : f.train) train.insert(ds.train.content[i]);
      for (auto i : f.test) n += train.count(ds.train.content[i]);
    }
    return n;
  };
  const auto grouped = kfold_splits(ds.train.labels, 4, 3, &ds.train.content);
  EXPECT_EQ(leaks(grouped), 0u);
  std::vector<int> seen(24, 0);
  for (const auto& f : grouped) {
    EXPECT_EQ(f.train.size() + f.test.size(), 24u);
    for (auto i : f.test) ++seen[i];
  }
  for (int v : seen) EXPECT_EQ(v, 1);  // still a partition
  EXPECT_GT(leaks(kfold_splits(ds.train.labels, 4, 3)), 0u);  // what the keys prevent
  // Unique keys change nothing; wrong-sized keys and too few distinct images are refused.
  std::vector<std::string> unique;
  for (int i = 0; i < 24; ++i) unique.push_back(std::to_string(i));
  const auto plain = kfold_splits(ds.train.labels, 4, 3), keyed = kfold_splits(ds.train.labels, 4, 3, &unique);
  for (std::size_t k = 0; k < 4; ++k) EXPECT_EQ(plain[k].test, keyed[k].test);
  std::vector<std::string> short_keys(23, "x");
  EXPECT_THROW(kfold_splits(ds.train.labels, 4, 3, &short_keys), Error);
  std::vector<std::string> two(24);
  for (int i = 0; i < 24; ++i) two[i] = i % 2 ? "p" : "q";
  EXPECT_THROW(kfold_splits(ds.train.labels, 3, 3, &two), Error);
}

// The case: a listing sorted by class, a limit of 30 must not be 30 of one class.
TEST(dataSamples, StratifiedSampleKeepsTheProportions) {
  std::vector<int> labels;
  for (int c = 0; c < 4; ++c) labels.insert(labels.end(), c == 2 ? 105 : 100, c);
  auto s = stratified_sample(labels, 30, 7);
  ASSERT_EQ(s.size(), 30u);
  EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
  std::map<int, int> per;
  for (auto i : s) ++per[labels[i]];
  for (int c = 0; c < 4; ++c) EXPECT_GE(per[c], 7) << c;
  EXPECT_EQ(per[0] + per[1] + per[2] + per[3], 30);
  EXPECT_EQ(s, stratified_sample(labels, 30, 7));   // seeded
  EXPECT_NE(s, stratified_sample(labels, 30, 8));
  EXPECT_EQ(stratified_sample(labels, 1000, 7).size(), labels.size());
  // Largest remainders: 10 of (6, 3, 1) -> 6, 3, 1 exactly; 5 of them -> 3, 1.5, 0.5 -> 3, 2, 0.
  std::vector<int> l2 = {0, 0, 0, 0, 0, 0, 1, 1, 1, 2};
  auto s2 = stratified_sample(l2, 5, 1);
  std::map<int, int> p2;
  for (auto i : s2) ++p2[l2[i]];
  EXPECT_EQ(p2[0], 3);
  EXPECT_EQ(p2[1] + p2[2], 2);
}

TEST(dataSamples, LimitDrawsAStratifiedSampleAndSaysSo) {
  TempDir tmp;
  write_split(tmp.path(), "train", {"a", "b", "c"}, 10, 0);
  write_split(tmp.path(), "test", {"a", "b", "c"}, 10, 1000);
  LoadOptions o = small();
  o.test_limit = 6;
  Dataset ds = load_dataset(tmp.path(), o);
  ASSERT_EQ(ds.test.size(), 6u);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(std::count(ds.test.labels.begin(), ds.test.labels.end(), c), 2);
  EXPECT_TRUE(ds.test_sample.sampled());
  EXPECT_FALSE(ds.train_sample.sampled());
  ASSERT_EQ(ds.notes.size(), 1u);
  EXPECT_EQ(ds.notes[0], "a seeded stratified random sample of 6 of the 30 test images (sample seed 2)");
}

// The real four-class set (SOURCE.md): Training 2,870 files / 2,777 distinct, Testing 394 /
// 314, and 64 distinct images (88 Testing files, all no_tumor) also in Training.
TEST(dataSplits, BrainTumorMri4MatchesItsSourceNotes) {
  std::string dir;
  try {
    dir = testing::shared_data_dir() + "/brain-tumor-mri4";
  } catch (const std::exception&) {
  }
  if (dir.empty() || !fs::is_directory(dir + "/Training"))
    GTEST_SKIP() << "needs ../shared/data/brain-tumor-mri4 (the four-class brain tumour set), not present here";
  DatasetLocation loc = locate_dataset(dir);
  ASSERT_EQ(loc.splits.size(), 2u);
  Survey sv = survey_dataset(loc);
  ASSERT_EQ(sv.class_names.size(), 4u);
  EXPECT_EQ(sv.splits[0].name, "Training");
  EXPECT_EQ(sv.splits[0].images, 2870u);
  EXPECT_EQ(sv.splits[0].distinct, 2777u);
  EXPECT_EQ(sv.splits[1].images, 394u);
  EXPECT_EQ(sv.splits[1].distinct, 314u);
  ASSERT_EQ(sv.cross.size(), 1u);
  EXPECT_EQ(sv.cross[0].distinct, 64u);
  EXPECT_EQ(sv.cross[0].files_in_b, 88u);
  for (const auto& g : sv.duplicates) {
    if (!g.across_splits) continue;
    for (const auto& item : g.items) {
      if (item.starts_with("Testing/")) {
        EXPECT_NE(item.find("/no_tumor/"), std::string::npos) << item;
      }
    }
  }
}

}  // namespace
}  // namespace hemi::data
