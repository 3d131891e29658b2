// Options shared by the loaders: target size, channel mode, normalization, resize filter,
// error policy, split and limit. A plain struct; validate() checks it before any loading.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hemi::data {

// gray: one channel, luma = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601), alpha ignored.
// rgb: three channels; a grayscale source is replicated into R, G and B, alpha ignored.
enum class ChannelMode { kGray, kRgb };

// area: exact area averaging (each output pixel is the mean of the source area it covers,
// partial pixels weighted by their overlap); the default, no aliasing when shrinking.
// bilinear: half-pixel centres, edges clamped, no antialiasing (sharper, aliases when shrinking).
enum class ResizeFilter { kArea, kBilinear };

enum class SplitMode { kAuto, kNamed, kFraction };

struct LoadOptions {
  int height = 28;  // every image is resized to height x width
  int width = 28;
  ChannelMode channels = ChannelMode::kGray;
  // Per channel: value = (pixel / 255 - mean[c]) / stddev[c]. One value applies to every
  // channel. The study used 0.5 / 0.5 (values in [-1, 1]).
  std::vector<float> mean = {0.5f};
  std::vector<float> stddev = {0.5f};
  ResizeFilter filter = ResizeFilter::kArea;
  // false: an unreadable or corrupt image file is an error naming it. true: it is skipped
  // and listed (see BadFile). IDX files are always all-or-nothing.
  bool skip_bad = false;
  // Which images test and which train (load_dataset; docs/data.md, "Splits"):
  //  kAuto: the data set's own test split when it has one (IDX test files; a split layout's
  //         test folder, else its val folder); a plain image folder splits by train_fraction.
  //  kNamed: the split named test_split (e.g. "test", "val", "Testing") tests; the train
  //          split trains.
  //  kFraction: train_fraction of each class of the training split (a plain image folder: of
  //          every image) trains, the rest tests (see split.h). 1 = no test set.
  SplitMode split_mode = SplitMode::kAuto;
  std::string test_split;
  double train_fraction = 0.8;
  std::uint64_t seed = 0;  // for a fraction split and for the samples drawn by the limits
  // 0 = everything. Otherwise at most this many images per loaded set: load_dataset draws a
  // seeded, stratified random sample of each split (train_limit / test_limit, when not 0,
  // override `limit` for that split); load_idx keeps the first images of its file and
  // load_image_folder a seeded random subset.
  std::size_t limit = 0;
  std::size_t train_limit = 0;
  std::size_t test_limit = 0;
  // Test images whose content (SHA-256 of the file or IDX image bytes) is also among the
  // training images: dropped from the test set (default), or kept when true.
  bool keep_cross_duplicates = false;
  // false: load_dataset decodes only the test images (evaluation); the training images are
  // still listed and hashed, for the split and the duplicate check.
  bool load_train = true;
};

// "auto", a number in [0, 1] (a train fraction) or a split name; sets split_mode and
// test_split or train_fraction. Throws hemi::Error for a number outside [0, 1] or empty text.
void parse_split_choice(const std::string& text, LoadOptions& opts);
// How opts' split choice reads in messages: "auto", "fraction 0.8 (seed 0)", "split 'test'".
std::string describe_split_choice(const LoadOptions& opts);

int channel_count(ChannelMode mode);
std::string to_string(ChannelMode mode);
std::string to_string(ResizeFilter filter);
// "gray"/"grey"/"l" or "rgb"; throws hemi::Error otherwise.
ChannelMode parse_channel_mode(const std::string& text);
// "area" or "bilinear"; throws hemi::Error otherwise.
ResizeFilter parse_resize_filter(const std::string& text);
// "28x28" (height x width) or "28" (square); throws hemi::Error otherwise.
void parse_size(const std::string& text, int& height, int& width);

// Throws hemi::Error naming the bad field: sizes in [1, 4096], mean/stddev of size 1 or one
// per channel, stddev > 0, finite values, train_fraction in [0, 1].
void validate(const LoadOptions& opts);

// mean and stddev expanded to one value per channel (after validate()).
std::vector<float> channel_means(const LoadOptions& opts);
std::vector<float> channel_stddevs(const LoadOptions& opts);

}  // namespace hemi::data
