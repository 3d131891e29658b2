// Image folders: the real brain-MRI set, synthetic folders, corrupt and truncated files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "support/error_of.h"
#include "hemi/base/error.h"
#include "hemi/data/dataset.h"
#include "hemi/data/folder.h"
#include "hemi/data/image.h"
#include "hemi/data/split.h"
#include "test_data.h"
#include "support/test_data_dir.h"

namespace hemi::data {
namespace {

using testing::TempDir;

using test_support::error_of;

std::vector<std::uint8_t> gradient(int w, int h, int channels) {
  std::vector<std::uint8_t> p(static_cast<std::size_t>(w) * h * channels);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>((i * 37 + 11) % 256);
  return p;
}

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// The whole brain-MRI set through load_dataset: every one of the 253 files decodes (155 yes,
// 98 no), and the default 80/20 stratified split gives 202 / 51. (All MRI decoding of the
// suite happens here, once.)
TEST(dataBrainMri, AllFilesLoadAndSplit202To51) {
  HEMI_REQUIRE_FULL_DATA();
  DatasetLocation loc;
  loc.name = "brain-mri";
  loc.kind = DatasetKind::kImageFolder;
  loc.path = testing::brain_mri_dir();
  LoadOptions opts;  // 28x28 gray, 0.5/0.5, 80/20, seed 0
  Dataset ds = load_dataset(loc, opts);
  EXPECT_TRUE(ds.skipped.empty());
  ASSERT_EQ(ds.train.size(), 202u);
  ASSERT_EQ(ds.test.size(), 51u);
  EXPECT_EQ(ds.train.class_names, (std::vector<std::string>{"no", "yes"}));
  auto count = [](const ImageSet& s, int label) {
    return std::count(s.labels.begin(), s.labels.end(), label);
  };
  EXPECT_EQ(count(ds.train, 0), 78);
  EXPECT_EQ(count(ds.train, 1), 124);
  EXPECT_EQ(count(ds.test, 0), 20);
  EXPECT_EQ(count(ds.test, 1), 31);
  EXPECT_EQ(count(ds.train, 0) + count(ds.test, 0), 98);
  EXPECT_EQ(count(ds.train, 1) + count(ds.test, 1), 155);

  std::set<std::string> all;
  for (const ImageSet* s : {&ds.train, &ds.test}) {
    EXPECT_EQ(s->channels, 1);
    EXPECT_EQ(s->height, 28);
    EXPECT_EQ(s->width, 28);
    ASSERT_EQ(s->sources.size(), s->size());
    ASSERT_EQ(s->pixels.size(), s->size() * 784);
    for (std::size_t i = 0; i < s->size(); ++i) {
      all.insert(s->sources[i]);
      // The folder name is the class.
      const std::string& src = s->sources[i];
      std::string cls = src.substr(0, src.rfind('/'));
      cls = cls.substr(cls.rfind('/') + 1);
      EXPECT_EQ(cls, s->class_names[s->labels[i]]);
    }
    float lo = *std::min_element(s->pixels.begin(), s->pixels.end());
    float hi = *std::max_element(s->pixels.begin(), s->pixels.end());
    EXPECT_GE(lo, -1.0f);
    EXPECT_LE(hi, 1.0f);
    EXPECT_LT(lo, -0.9f);  // MRI backgrounds are black
    EXPECT_GT(hi, 0.5f);
    // No image is blank.
    for (std::size_t i = 0; i < s->size(); ++i) {
      auto [mn, mx] = std::minmax_element(s->image(i), s->image(i) + 784);
      EXPECT_GT(*mx - *mn, 0.2f) << s->sources[i];
    }
  }
  EXPECT_EQ(all.size(), 253u);  // disjoint and covering
}

// A few real files in RGB mode: the PNG stored as grayscale (Y92.png) has three equal planes,
// the RGBA PNGs stored under .jpg names (No15.jpg...) decode.
TEST(dataBrainMri, RgbModeOnGrayAndRgbaFiles) {
  HEMI_REQUIRE_FULL_DATA();
  FolderListing listing = list_image_folder(testing::brain_mri_dir());
  ASSERT_EQ(listing.files.size(), 253u);
  std::vector<std::size_t> pick;
  for (std::size_t i = 0; i < listing.files.size(); ++i) {
    auto name = base_name(listing.files[i]);
    if (name == "Y92.png" || name == "No15.jpg" || name == "no 9.png" || name == "Y1.jpg") pick.push_back(i);
  }
  ASSERT_EQ(pick.size(), 4u);
  LoadOptions opts;
  opts.channels = ChannelMode::kRgb;
  opts.height = 32;
  opts.width = 24;
  ImageSet s = load_listed_images(listing, pick, opts);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s.channels, 3);
  EXPECT_EQ(s.image_values(), 3u * 32 * 24);
  EXPECT_EQ(decode_image(listing.files[pick[0]]).channels, 4);  // "No15.jpg" is an RGBA PNG
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (base_name(s.sources[i]) != "Y92.png") continue;
    EXPECT_EQ(decode_image(s.sources[i]).channels, 1);
    const float* p = s.image(i);
    for (std::size_t k = 0; k < 32 * 24; ++k) {
      ASSERT_EQ(p[k], p[k + 32 * 24]);
      ASSERT_EQ(p[k], p[k + 2 * 32 * 24]);
    }
  }
}

// <tmp>/"a" and <tmp>/"b cls", files with spaces and mixed-case extensions, junk ignored.
struct SyntheticFolder {
  TempDir tmp;
  std::string root = tmp.file("set");
  SyntheticFolder() {
    testing::make_dirs(root + "/b cls");
    testing::make_dirs(root + "/a");
    testing::make_dirs(root + "/.git");
    testing::write_bytes(root + "/b cls/img one.PNG", testing::encode_png(5, 4, 3, gradient(5, 4, 3)));
    testing::write_bytes(root + "/b cls/Zed.JPG", testing::encode_jpeg(6, 6, 3, gradient(6, 6, 3)));
    testing::write_bytes(root + "/b cls/notes.txt", Bytes{'h', 'i'});
    testing::write_bytes(root + "/b cls/.hidden.png", Bytes{1, 2, 3});
    testing::write_bytes(root + "/a/x.jpeg", testing::encode_jpeg(3, 7, 1, gradient(3, 7, 1)));
    testing::write_bytes(root + "/a/y.png", testing::encode_png(2, 2, 4, {10, 20, 30, 0, 40, 50, 60, 255, 70, 80, 90, 9, 0, 0, 0, 1}));
    testing::write_bytes(root + "/a/gray.png", testing::encode_png(2, 1, 1, {40, 90}));
  }
};

TEST(dataImageFolder, ListingIsSortedAndFiltered) {
  SyntheticFolder f;
  FolderListing l = list_image_folder(f.root);
  EXPECT_EQ(l.class_names, (std::vector<std::string>{"a", "b cls"}));
  std::vector<std::string> names;
  for (const auto& p : l.files) names.push_back(base_name(p));
  EXPECT_EQ(names, (std::vector<std::string>{"gray.png", "x.jpeg", "y.png", "Zed.JPG", "img one.PNG"}));
  EXPECT_EQ(l.labels, (std::vector<int>{0, 0, 0, 1, 1}));
}

TEST(dataImageFolder, ChannelsValuesAndNormalization) {
  SyntheticFolder f;
  LoadOptions opts;
  opts.height = 2;
  opts.width = 2;
  ImageSet gray = load_image_folder(f.root, opts);
  ASSERT_EQ(gray.size(), 5u);
  EXPECT_EQ(gray.channels, 1);
  EXPECT_EQ(gray.image_values(), 4u);
  // y.png (2x2 RGBA, no resize): luma of RGB, alpha ignored, (v/255 - 0.5) / 0.5.
  const float* y = gray.image(2);
  const double rgb[4][3] = {{10, 20, 30}, {40, 50, 60}, {70, 80, 90}, {0, 0, 0}};
  for (int i = 0; i < 4; ++i) {
    double luma = 0.299 * rgb[i][0] + 0.587 * rgb[i][1] + 0.114 * rgb[i][2];
    EXPECT_NEAR(y[i], (luma / 255 - 0.5) / 0.5, 1e-5) << i;
  }
  opts.channels = ChannelMode::kRgb;
  opts.mean = {0.0f, 0.5f, 1.0f};
  opts.stddev = {1.0f, 0.5f, 0.25f};
  ImageSet colour = load_image_folder(f.root, opts);
  EXPECT_EQ(colour.channels, 3);
  EXPECT_EQ(colour.image_values(), 12u);
  const float* c = colour.image(2);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(c[0 * 4 + i], (rgb[i][0] / 255 - 0.0) / 1.0, 1e-5);
    EXPECT_NEAR(c[1 * 4 + i], (rgb[i][1] / 255 - 0.5) / 0.5, 1e-5);
    EXPECT_NEAR(c[2 * 4 + i], (rgb[i][2] / 255 - 1.0) / 0.25, 1e-5);
  }
  // gray.png (2x1 -> 2x2, area): rows replicate; in rgb mode the planes are equal.
  const float* g = colour.image(0);
  EXPECT_NEAR(g[0], 40.0 / 255, 1e-5);
  EXPECT_NEAR(g[1], 90.0 / 255, 1e-5);
  EXPECT_NEAR(g[2], 40.0 / 255, 1e-5);
  EXPECT_NEAR(g[4 + 1], (90.0 / 255 - 0.5) / 0.5, 1e-5);
}

TEST(dataImageFolder, CorruptTruncatedAndEmptyFilesNameTheFile) {
  Bytes png = testing::encode_png(16, 16, 3, gradient(16, 16, 3));
  Bytes jpeg = testing::encode_jpeg(16, 16, 3, gradient(16, 16, 3));
  struct Bad {
    std::string name;
    Bytes bytes;
  };
  std::vector<Bad> bads = {
      {"garbage.png", Bytes(100, 0xAB)},
      {"truncated png.png", Bytes(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(png.size() / 2))},
      {"truncated.jpg", Bytes(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() * 2 / 3))},
      {"empty.JPG", Bytes{}},
  };
  for (const auto& bad : bads) {
    SCOPED_TRACE(bad.name);
    SyntheticFolder f;
    const std::string path = f.root + "/a/" + bad.name;
    testing::write_bytes(path, bad.bytes);
    auto msg = error_of([&] { load_image_folder(f.root, LoadOptions{}); });
    EXPECT_NE(msg.find("'" + path + "'"), std::string::npos) << msg;

    LoadOptions skip;
    skip.skip_bad = true;
    std::vector<BadFile> skipped;
    ImageSet s = load_image_folder(f.root, skip, &skipped);
    EXPECT_EQ(s.size(), 5u);
    ASSERT_EQ(skipped.size(), 1u);
    EXPECT_EQ(skipped[0].path, path);
    EXPECT_NE(skipped[0].reason.find(path), std::string::npos);
    EXPECT_EQ(std::count(s.sources.begin(), s.sources.end(), path), 0);
  }
  // The intact encodings decode (so the failures above are the damage, not the encoder).
  EXPECT_EQ(decode_image_bytes(png, "png").width, 16);
  EXPECT_EQ(decode_image_bytes(jpeg, "jpeg").height, 16);
}

TEST(dataImageFolder, FolderErrors) {
  TempDir tmp;
  auto msg = error_of([&] { list_image_folder(tmp.file("nope")); });
  EXPECT_NE(msg.find(tmp.file("nope")), std::string::npos) << msg;
  msg = error_of([&] { list_image_folder(tmp.path()); });
  EXPECT_NE(msg.find("no class subfolders"), std::string::npos) << msg;
  testing::make_dirs(tmp.file("c1"));
  testing::write_bytes(tmp.file("c1/readme.txt"), Bytes{'x'});
  msg = error_of([&] { list_image_folder(tmp.path()); });
  EXPECT_NE(msg.find("'c1' has no"), std::string::npos) << msg;
}

TEST(dataImageFolder, SplitBeforeDecodingAndLimit) {
  SyntheticFolder f;
  DatasetLocation loc = locate_dataset(f.root);
  EXPECT_EQ(loc.kind, DatasetKind::kImageFolder);
  LoadOptions opts;
  opts.train_fraction = 0.5;  // a: 3 -> round(1.5) = 2 test; b: 2 -> 1 test
  Dataset ds = load_dataset(loc, opts);
  EXPECT_EQ(ds.train.size(), 2u);
  EXPECT_EQ(ds.test.size(), 3u);
  opts.limit = 1;
  ds = load_dataset(loc, opts);
  EXPECT_EQ(ds.train.size(), 1u);
  EXPECT_EQ(ds.test.size(), 1u);
}

}  // namespace
}  // namespace hemi::data
