// Helpers for the data-layer tests: where the shared data is, temporary folders, writing
// small synthetic images.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hemi/base/bytes.h"

namespace hemi::data::testing {

// $HEMI_DATA, else $HEMI_SOURCE_DIR/../shared/data, else the compile-time HEMI_SOURCE_DIR's
// (test_support::find_full_data). Throws when the data is missing: a test that needs it starts
// with HEMI_REQUIRE_FULL_DATA() (support/test_data_dir.h), which skips with the reason, and
// is labelled full-data in CMakeLists.txt.
std::string shared_data_dir();
std::string mnist_dir();      // <shared>/mnist with the four .gz files
std::string brain_mri_dir();  // <shared>/brain-mri with yes/ and no/

// A fresh folder under the system temp dir, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_bytes(const std::string& path, const Bytes& bytes);
void make_dirs(const std::string& path);

// Encoded images from interleaved 8-bit pixels (stb_image_write).
Bytes encode_png(int width, int height, int channels, const std::vector<std::uint8_t>& pixels);
Bytes encode_jpeg(int width, int height, int channels, const std::vector<std::uint8_t>& pixels,
                  int quality = 95);

// An IDX file of unsigned bytes (magic {0,0,8,ndim}, big-endian dims, values).
Bytes make_idx(const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& values);

}  // namespace hemi::data::testing
