#include "test_data.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#endif
#include <stb/stb_image_write.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "support/test_data_dir.h"

namespace hemi::data::testing {

namespace fs = std::filesystem;

namespace {

void append(void* context, void* data, int size) {
  auto* out = static_cast<Bytes*>(context);
  auto* p = static_cast<std::uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

}  // namespace

std::string shared_data_dir() {
  std::string looked;
  if (auto dir = test_support::find_full_data(&looked)) return *dir;
  throw std::runtime_error("shared data (mnist/, brain-mri/) not found; looked in: " + looked +
                           " (set HEMI_DATA)");
}

std::string mnist_dir() { return shared_data_dir() + "/mnist"; }
std::string brain_mri_dir() { return shared_data_dir() + "/brain-mri"; }

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "hemi-data-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

void make_dirs(const std::string& path) { fs::create_directories(path); }

Bytes encode_png(int width, int height, int channels, const std::vector<std::uint8_t>& pixels) {
  Bytes out;
  if (!stbi_write_png_to_func(append, &out, width, height, channels, pixels.data(),
                              width * channels))
    throw std::runtime_error("png encode failed");
  return out;
}

Bytes encode_jpeg(int width, int height, int channels, const std::vector<std::uint8_t>& pixels,
                  int quality) {
  Bytes out;
  if (!stbi_write_jpg_to_func(append, &out, width, height, channels, pixels.data(), quality))
    throw std::runtime_error("jpeg encode failed");
  return out;
}

Bytes make_idx(const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& values) {
  Bytes out = {0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (auto d : dims) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(d >> s));
  }
  out.insert(out.end(), values.begin(), values.end());
  return out;
}

}  // namespace hemi::data::testing
