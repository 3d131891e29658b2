#include "hemi/data/split.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <string>

#include "hemi/base/error.h"

namespace hemi::data {

namespace {

// Uniform in [0, bound), bound > 0: reject the top partial block of 2^64 so every residue is
// equally likely.
std::uint64_t uniform_below(std::mt19937_64& gen, std::uint64_t bound) {
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
  while (true) {
    std::uint64_t x = gen();
    if (x < limit) return x % bound;
  }
}

void shuffle_with(std::vector<std::size_t>& v, std::mt19937_64& gen) {
  for (std::size_t i = v.size(); i > 1; --i) {
    std::size_t j = static_cast<std::size_t>(uniform_below(gen, i));
    std::swap(v[i - 1], v[j]);
  }
}

// SplitMix64 finalizer: decorrelates the per-class seeds.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Each class's indices (ascending), shuffled with a generator seeded from (seed, label).
std::map<int, std::vector<std::size_t>> shuffled_classes(const std::vector<int>& labels,
                                                         std::uint64_t seed) {
  std::map<int, std::vector<std::size_t>> classes;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) throw Error("split: negative label " + std::to_string(labels[i]) +
                                   " at index " + std::to_string(i));
    classes[labels[i]].push_back(i);
  }
  for (auto& [label, idx] : classes) {
    std::mt19937_64 gen(mix(seed ^ mix(static_cast<std::uint64_t>(label))));
    shuffle_with(idx, gen);
  }
  return classes;
}

}  // namespace

void seeded_shuffle(std::vector<std::size_t>& v, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  shuffle_with(v, gen);
}

std::size_t stratified_test_count(std::size_t n, double train_fraction) {
  if (!(train_fraction >= 0.0 && train_fraction <= 1.0))
    throw Error("split: train fraction " + std::to_string(train_fraction) + " is not in [0, 1]");
  double t = static_cast<double>(n) * (1.0 - train_fraction);
  auto count = static_cast<std::size_t>(std::floor(t + 0.5 + 1e-9));
  return std::min(count, n);
}

SplitIndices stratified_split(const std::vector<int>& labels, double train_fraction,
                              std::uint64_t seed) {
  if (!(train_fraction >= 0.0 && train_fraction <= 1.0))
    throw Error("split: train fraction " + std::to_string(train_fraction) + " is not in [0, 1]");
  SplitIndices split;
  for (auto& [label, idx] : shuffled_classes(labels, seed)) {
    std::size_t n_test = stratified_test_count(idx.size(), train_fraction);
    split.test.insert(split.test.end(), idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(n_test));
    split.train.insert(split.train.end(), idx.begin() + static_cast<std::ptrdiff_t>(n_test), idx.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.test.begin(), split.test.end());
  return split;
}

std::vector<std::size_t> stratified_sample(const std::vector<int>& labels, std::size_t k,
                                           std::uint64_t seed) {
  std::vector<std::size_t> out;
  if (k >= labels.size()) {
    out.resize(labels.size());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = i;
    return out;
  }
  auto classes = shuffled_classes(labels, seed);
  const std::size_t n = labels.size();
  // Hamilton's largest-remainder apportionment of k over the classes.
  struct Share {
    int label;
    std::size_t take;
    std::size_t remainder;  // (k * n_c) mod n, compared exactly
  };
  std::vector<Share> shares;
  std::size_t given = 0;
  for (const auto& [label, idx] : classes) {
    const unsigned __int128 prod = static_cast<unsigned __int128>(k) * idx.size();
    shares.push_back({label, static_cast<std::size_t>(prod / n), static_cast<std::size_t>(prod % n)});
    given += shares.back().take;
  }
  std::vector<std::size_t> order(shares.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return shares[a].remainder > shares[b].remainder; });
  for (std::size_t i = 0; given < k && i < order.size(); ++i, ++given) ++shares[order[i]].take;
  for (const Share& sh : shares) {
    const auto& idx = classes.at(sh.label);
    out.insert(out.end(), idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(sh.take));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<SplitIndices> kfold_splits(const std::vector<int>& labels, int k, std::uint64_t seed,
                                       const std::vector<std::string>* groups) {
  if (k < 2 || static_cast<std::size_t>(k) > labels.size())
    throw Error("k-fold: k = " + std::to_string(k) + " must be in [2, " +
                std::to_string(labels.size()) + "] (the number of samples)");
  if (groups && groups->size() != labels.size())
    throw Error("k-fold: " + std::to_string(groups->size()) + " group keys for " + std::to_string(labels.size()) +
                " samples");
  // The items dealt: every item, or each group's first member (the others follow it).
  std::vector<std::size_t> leader(labels.size());
  std::vector<int> dealt_labels;
  std::vector<std::size_t> dealt;  // dealt position -> item
  std::map<std::string, std::size_t> first_of;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (groups) {
      auto [it, fresh] = first_of.emplace((*groups)[i], i);
      leader[i] = it->second;
      if (!fresh) continue;
    } else {
      leader[i] = i;
    }
    dealt.push_back(i);
    dealt_labels.push_back(labels[i]);
  }
  if (static_cast<std::size_t>(k) > dealt.size())
    throw Error("k-fold: k = " + std::to_string(k) + " folds but only " + std::to_string(dealt.size()) +
                " distinct samples");
  std::vector<std::size_t> fold_of(labels.size());
  std::size_t next = 0;
  for (auto& [label, idx] : shuffled_classes(dealt_labels, seed)) {
    for (std::size_t d : idx) {
      fold_of[dealt[d]] = next;
      next = (next + 1) % static_cast<std::size_t>(k);
    }
  }
  std::vector<std::vector<std::size_t>> folds(static_cast<std::size_t>(k));
  for (std::size_t i = 0; i < labels.size(); ++i) folds[fold_of[leader[i]]].push_back(i);
  std::vector<SplitIndices> splits(folds.size());
  for (std::size_t f = 0; f < folds.size(); ++f) {
    for (std::size_t g = 0; g < folds.size(); ++g) {
      auto& dst = f == g ? splits[f].test : splits[f].train;
      dst.insert(dst.end(), folds[g].begin(), folds[g].end());
    }
    std::sort(splits[f].train.begin(), splits[f].train.end());
    std::sort(splits[f].test.begin(), splits[f].test.end());
  }
  return splits;
}

ImageSet subset(const ImageSet& set, const std::vector<std::size_t>& indices) {
  ImageSet out;
  out.channels = set.channels;
  out.height = set.height;
  out.width = set.width;
  out.class_names = set.class_names;
  const std::size_t values = set.image_values();
  out.pixels.reserve(indices.size() * values);
  out.labels.reserve(indices.size());
  const bool with_sources = set.sources.size() == set.size();
  const bool with_content = set.content.size() == set.size();
  for (std::size_t i : indices) {
    if (i >= set.size())
      throw Error("subset: index " + std::to_string(i) + " out of range (set of " +
                  std::to_string(set.size()) + " images)");
    const float* p = set.image(i);
    out.pixels.insert(out.pixels.end(), p, p + values);
    out.labels.push_back(set.labels[i]);
    if (with_sources) out.sources.push_back(set.sources[i]);
    if (with_content) out.content.push_back(set.content[i]);
  }
  return out;
}

}  // namespace hemi::data
