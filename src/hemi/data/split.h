// Deterministic, stratified train/test splits and k-fold cross-validation, by index.
// The shuffle is self-contained (std::mt19937_64, whose output the C++ standard fixes, plus
// our own rejection sampling and Fisher-Yates), so a seed gives the same split with every
// compiler and standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hemi/data/image_set.h"

namespace hemi::data {

struct SplitIndices {
  std::vector<std::size_t> train;  // ascending
  std::vector<std::size_t> test;   // ascending
};

// Number of a class's n images that go to the test set:
// round(n * (1 - train_fraction)), halves rounded up (with a 1e-9 tolerance, so that
// 155 * 0.2 = 30.999... counts as 31). 80/20 of the brain-MRI set (98 no, 155 yes) gives
// 20 + 31 = 51 test and 202 train images.
std::size_t stratified_test_count(std::size_t n, double train_fraction);

// Per class (labels >= 0), the class's indices in ascending order are shuffled with a
// generator seeded from (seed, label); the first stratified_test_count() of them go to test,
// the rest to train. Throws hemi::Error for a negative label or fraction outside [0, 1].
SplitIndices stratified_split(const std::vector<int>& labels, double train_fraction,
                              std::uint64_t seed);

// k stratified folds: per class, the class's indices are shuffled as above and dealt round
// robin to the folds (each class continues where the previous one stopped, so fold sizes
// differ by at most one overall and per class). Split i has fold i as test and the other
// folds as train. Throws hemi::Error unless 2 <= k <= labels.size().
//
// With `groups` (one key per item, e.g. the content hash), items with the same key land in the
// same fold, so no copy of a test image is in that split's training part: each group is dealt
// as one item (its first member's label and position) and the others follow it. Fold sizes
// then differ by the sizes of the groups. Throws if groups->size() != labels.size().
std::vector<SplitIndices> kfold_splits(const std::vector<int>& labels, int k, std::uint64_t seed,
                                       const std::vector<std::string>* groups = nullptr);

// A seeded, stratified random sample of k of the n = labels.size() items: positions into
// `labels`, ascending. Each class gets its share k * n_c / n rounded down, and the k left over
// go one each to the classes with the largest remainders (ties: the lower label), so the
// sample has the data's class proportions within one image per class. Which images: each
// class's positions are shuffled as in stratified_split (seeded from (seed, label)) and the
// first of them taken. k >= n returns every position. Throws for a negative label.
std::vector<std::size_t> stratified_sample(const std::vector<int>& labels, std::size_t k,
                                           std::uint64_t seed);

// Fisher-Yates shuffle of v with std::mt19937_64(seed): for i from size-1 down to 1, swap
// v[i] with v[j], j uniform in [0, i] by rejection sampling on the 64-bit outputs.
void seeded_shuffle(std::vector<std::size_t>& v, std::uint64_t seed);

// The images at `indices` (in that order), with their labels and sources; class names and
// image shape are kept. Throws hemi::Error for an index out of range.
ImageSet subset(const ImageSet& set, const std::vector<std::size_t>& indices);

}  // namespace hemi::data
