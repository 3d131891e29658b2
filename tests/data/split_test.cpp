// Stratified splits, k-fold and the shuffle: determinism, disjointness, coverage, counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <vector>

#include "hemi/base/error.h"
#include "hemi/data/folder.h"
#include "hemi/data/split.h"
#include "test_data.h"
#include "support/test_data_dir.h"

namespace hemi::data {
namespace {

// The brain-MRI labels as the folder loader gives them: 98 "no" (0), then 155 "yes" (1).
std::vector<int> mri_labels() {
  std::vector<int> labels(98, 0);
  labels.insert(labels.end(), 155, 1);
  return labels;
}

void expect_partition(const SplitIndices& s, std::size_t n) {
  EXPECT_TRUE(std::is_sorted(s.train.begin(), s.train.end()));
  EXPECT_TRUE(std::is_sorted(s.test.begin(), s.test.end()));
  std::vector<std::size_t> all = s.train;
  all.insert(all.end(), s.test.begin(), s.test.end());
  std::sort(all.begin(), all.end());
  std::vector<std::size_t> expected(n);
  std::iota(expected.begin(), expected.end(), std::size_t{0});
  EXPECT_EQ(all, expected);  // disjoint and covering
}

std::size_t count_label(const std::vector<std::size_t>& idx, const std::vector<int>& labels, int l) {
  return static_cast<std::size_t>(std::count_if(idx.begin(), idx.end(), [&](std::size_t i) { return labels[i] == l; }));
}

TEST(dataSplit, TestCountRule) {
  EXPECT_EQ(stratified_test_count(98, 0.8), 20u);   // 19.6 -> 20
  EXPECT_EQ(stratified_test_count(155, 0.8), 31u);  // 30.999... -> 31
  EXPECT_EQ(stratified_test_count(5, 0.9), 1u);     // 0.5 -> 1 (halves up)
  EXPECT_EQ(stratified_test_count(10, 1.0), 0u);
  EXPECT_EQ(stratified_test_count(10, 0.0), 10u);
  EXPECT_EQ(stratified_test_count(0, 0.8), 0u);
  EXPECT_THROW(stratified_test_count(10, -0.1), Error);
}

TEST(dataSplit, Mri80To20Gives202And51) {
  HEMI_REQUIRE_FULL_DATA();
  auto labels = mri_labels();
  SplitIndices s = stratified_split(labels, 0.8, 0);
  EXPECT_EQ(s.train.size(), 202u);
  EXPECT_EQ(s.test.size(), 51u);
  EXPECT_EQ(count_label(s.test, labels, 0), 20u);
  EXPECT_EQ(count_label(s.test, labels, 1), 31u);
  EXPECT_EQ(count_label(s.train, labels, 0), 78u);
  EXPECT_EQ(count_label(s.train, labels, 1), 124u);
  expect_partition(s, labels.size());

  // Deterministic for a seed, different across seeds, and always 202/51.
  SplitIndices again = stratified_split(labels, 0.8, 0);
  EXPECT_EQ(again.train, s.train);
  EXPECT_EQ(again.test, s.test);
  SplitIndices other = stratified_split(labels, 0.8, 12345);
  EXPECT_NE(other.test, s.test);
  EXPECT_EQ(other.test.size(), 51u);
  expect_partition(other, labels.size());

  // The real folder listing gives the same labels, hence the same split.
  FolderListing listing = list_image_folder(testing::brain_mri_dir());
  EXPECT_EQ(listing.labels, labels);
  EXPECT_EQ(stratified_split(listing.labels, 0.8, 0).test, s.test);
}

TEST(dataSplit, InterleavedLabelsAndManyClasses) {
  std::vector<int> labels;
  for (int i = 0; i < 1000; ++i) labels.push_back((i * 7) % 10);
  SplitIndices s = stratified_split(labels, 0.75, 3);
  expect_partition(s, labels.size());
  for (int l = 0; l < 10; ++l) EXPECT_EQ(count_label(s.test, labels, l), 25u);
  // Labels need not be contiguous.
  std::vector<int> sparse = {5, 5, 9, 9, 9, 9, 0};
  SplitIndices t = stratified_split(sparse, 0.5, 1);
  expect_partition(t, sparse.size());
  EXPECT_EQ(count_label(t.test, sparse, 5), 1u);
  EXPECT_EQ(count_label(t.test, sparse, 9), 2u);
  EXPECT_EQ(count_label(t.test, sparse, 0), 1u);  // round(0.5) = 1
  EXPECT_THROW(stratified_split({0, -1}, 0.5, 0), Error);
  EXPECT_THROW(stratified_split({0, 1}, 1.5, 0), Error);
}

TEST(dataKFold, PartitionsStratifiedAndDeterministic) {
  auto labels = mri_labels();
  auto folds = kfold_splits(labels, 5, 7);
  ASSERT_EQ(folds.size(), 5u);
  std::vector<int> seen(labels.size(), 0);
  for (const auto& f : folds) {
    expect_partition(f, labels.size());
    for (auto i : f.test) ++seen[i];
    // Fold sizes: 253 / 5 -> 50 or 51; per class 98 / 5 -> 19 or 20, 155 / 5 = 31.
    EXPECT_TRUE(f.test.size() == 50u || f.test.size() == 51u) << f.test.size();
    auto no = count_label(f.test, labels, 0), yes = count_label(f.test, labels, 1);
    EXPECT_TRUE(no == 19u || no == 20u) << no;
    EXPECT_TRUE(yes == 31u || yes == 30u || yes == 32u) << yes;
  }
  for (int s : seen) EXPECT_EQ(s, 1);  // every sample is tested exactly once
  auto again = kfold_splits(labels, 5, 7);
  for (std::size_t k = 0; k < 5; ++k) EXPECT_EQ(again[k].test, folds[k].test);
  EXPECT_NE(kfold_splits(labels, 5, 8)[0].test, folds[0].test);
  EXPECT_THROW(kfold_splits(labels, 1, 0), Error);
  EXPECT_THROW(kfold_splits({0, 1}, 3, 0), Error);
  auto loo = kfold_splits({0, 1, 0}, 3, 0);  // leave-one-out
  for (const auto& f : loo) EXPECT_EQ(f.test.size(), 1u);
}

TEST(dataShuffle, PermutationPinnedAndUniform) {
  std::vector<std::size_t> v(10);
  std::iota(v.begin(), v.end(), std::size_t{0});
  seeded_shuffle(v, 1);
  std::vector<std::size_t> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(sorted[i], i);
  // Expected value computed independently with a python3 implementation of MT19937-64 (the
  // engine the C++ standard specifies) and the same rejection sampling and Fisher-Yates
  // loop; it must hold with every compiler and standard library. A change here changes
  // every split.
  EXPECT_EQ(v, (std::vector<std::size_t>{1, 7, 3, 9, 4, 0, 5, 2, 6, 8}));

  // All 6 permutations of 3 elements appear about equally often over 6000 seeds.
  std::map<std::vector<std::size_t>, int> counts;
  for (std::uint64_t seed = 0; seed < 6000; ++seed) {
    std::vector<std::size_t> p = {0, 1, 2};
    seeded_shuffle(p, seed);
    ++counts[p];
  }
  EXPECT_EQ(counts.size(), 6u);
  for (const auto& [p, c] : counts) EXPECT_NEAR(c, 1000, 150);
}

TEST(dataSubset, PicksImagesLabelsAndSources) {
  ImageSet set;
  set.channels = 1;
  set.height = 1;
  set.width = 2;
  set.class_names = {"a", "b"};
  set.pixels = {0, 1, 10, 11, 20, 21};
  set.labels = {0, 1, 1};
  set.sources = {"p0", "p1", "p2"};
  ImageSet s = subset(set, {2, 0});
  EXPECT_EQ(s.pixels, (std::vector<float>{20, 21, 0, 1}));
  EXPECT_EQ(s.labels, (std::vector<int>{1, 0}));
  EXPECT_EQ(s.sources, (std::vector<std::string>{"p2", "p0"}));
  EXPECT_EQ(s.class_names, set.class_names);
  EXPECT_EQ(s.width, 2);
  EXPECT_THROW(subset(set, {3}), Error);
}

}  // namespace
}  // namespace hemi::data
