#include "hemi/data/image.h"

#include <stb/stb_image.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>

#include "hemi/base/error.h"

namespace hemi::data {

namespace {

constexpr std::size_t kMaxImageBytes = std::size_t{1} << 28;  // 256 MiB per file
constexpr int kMaxSide = 1 << 15;
// Decoded pixels per image (8192 x 8192): decompression bombs are refused from the header, before
// decoding (a 1 MB PNG can claim 32768 x 32768 pixels, 4 GiB decoded).
constexpr long long kMaxPixels = 1LL << 26;

bool is_jpeg(const Bytes& b) { return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }
bool is_png(const Bytes& b) {
  static const std::uint8_t kSig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  return b.size() >= 8 && std::equal(kSig, kSig + 8, b.begin());
}

struct StbFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

// 1-D resampling weights: output i = sum_k weight[i][k] * input[first[i] + k].
struct Taps {
  std::vector<int> first;
  std::vector<std::vector<float>> weight;
};

Taps area_taps(int src, int dst) {
  Taps t;
  t.first.resize(dst);
  t.weight.resize(dst);
  const double scale = static_cast<double>(src) / dst;
  for (int i = 0; i < dst; ++i) {
    double lo = i * scale, hi = (i + 1) * scale;
    int a = static_cast<int>(std::floor(lo));
    int b = std::min(src, static_cast<int>(std::ceil(hi)));
    t.first[i] = a;
    for (int k = a; k < b; ++k) {
      double overlap = std::min<double>(hi, k + 1) - std::max<double>(lo, k);
      t.weight[i].push_back(static_cast<float>(std::max(0.0, overlap) / scale));
    }
  }
  return t;
}

Taps bilinear_taps(int src, int dst) {
  Taps t;
  t.first.resize(dst);
  t.weight.resize(dst);
  const double scale = static_cast<double>(src) / dst;
  for (int i = 0; i < dst; ++i) {
    double x = std::clamp((i + 0.5) * scale - 0.5, 0.0, static_cast<double>(src - 1));
    int x0 = static_cast<int>(std::floor(x));
    double f = x - x0;
    t.first[i] = x0;
    if (x0 + 1 < src && f > 0.0)
      t.weight[i] = {static_cast<float>(1.0 - f), static_cast<float>(f)};
    else
      t.weight[i] = {1.0f};
  }
  return t;
}

Taps make_taps(int src, int dst, ResizeFilter filter) {
  return filter == ResizeFilter::kBilinear ? bilinear_taps(src, dst) : area_taps(src, dst);
}

}  // namespace

DecodedImage decode_image_bytes(const Bytes& bytes, const std::string& what) {
  if (bytes.empty()) throw Error("'" + what + "': empty file, not an image");
  if (!is_jpeg(bytes) && !is_png(bytes))
    throw Error("'" + what + "': not a JPEG or PNG image");
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw Error("'" + what + "': file too large");
  int w = 0, h = 0, c = 0;
  // PNG: the size from IHDR first (bytes 16..23), since stb_image refuses large colour PNGs even
  // in stbi_info, with a message that names no size.
  if (is_png(bytes) && bytes.size() >= 24) {
    auto be32 = [&](std::size_t at) {
      return static_cast<long long>(bytes[at]) << 24 | static_cast<long long>(bytes[at + 1]) << 16 |
             static_cast<long long>(bytes[at + 2]) << 8 | static_cast<long long>(bytes[at + 3]);
    };
    const long long pw = be32(16), ph = be32(20);
    if (pw * ph > kMaxPixels)
      throw InputError("'" + what + "': " + std::to_string(pw) + "x" + std::to_string(ph) + " pixels exceed the limit of " +
                       std::to_string(kMaxPixels) + " pixels per image (8192x8192); refused before decoding");
  }
  if (!stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &c))
    throw Error("'" + what + "': cannot decode image: " + stbi_failure_reason());
  if (w < 1 || h < 1 || w > kMaxSide || h > kMaxSide)
    throw InputError("'" + what + "': unsupported image size " + std::to_string(w) + "x" +
                     std::to_string(h));
  if (static_cast<long long>(w) * h > kMaxPixels)
    throw InputError("'" + what + "': " + std::to_string(w) + "x" + std::to_string(h) + " pixels exceed the limit of " +
                     std::to_string(kMaxPixels) + " pixels per image (8192x8192); refused before decoding");
  std::unique_ptr<stbi_uc, StbFree> data(
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &c, 0));
  if (!data) throw Error("'" + what + "': cannot decode image: " + stbi_failure_reason());
  if (c < 1 || c > 4) throw Error("'" + what + "': unsupported channel count " + std::to_string(c));
  DecodedImage img;
  img.width = w;
  img.height = h;
  img.channels = c;
  img.pixels.assign(data.get(), data.get() + static_cast<std::size_t>(w) * h * c);
  return img;
}

DecodedImage decode_image(const std::string& path) {
  // Regular files only: opening a FIFO or a device named x.png would block or never end.
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
    throw InputError("'" + path + "': not a regular file (a FIFO, device or directory), not an image");
  Bytes bytes = read_file(path, kMaxImageBytes);
  return decode_image_bytes(bytes, path);
}

std::vector<float> to_planes(const std::uint8_t* pixels, int height, int width, int src_channels,
                             ChannelMode mode) {
  HEMI_ASSERT(src_channels >= 1 && src_channels <= 4);
  const std::size_t n = static_cast<std::size_t>(height) * width;
  const bool colour = src_channels >= 3;
  if (mode == ChannelMode::kGray) {
    std::vector<float> out(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint8_t* p = pixels + i * src_channels;
      out[i] = colour ? 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2] : static_cast<float>(p[0]);
    }
    return out;
  }
  std::vector<float> out(3 * n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* p = pixels + i * src_channels;
    for (int c = 0; c < 3; ++c) out[c * n + i] = static_cast<float>(colour ? p[c] : p[0]);
  }
  return out;
}

std::vector<float> resize_plane(const float* src, int src_h, int src_w, int dst_h, int dst_w,
                                ResizeFilter filter) {
  HEMI_ASSERT(src_h > 0 && src_w > 0 && dst_h > 0 && dst_w > 0);
  if (src_h == dst_h && src_w == dst_w)
    return std::vector<float>(src, src + static_cast<std::size_t>(src_h) * src_w);
  // Horizontal pass (src_h x dst_w), then vertical pass (dst_h x dst_w).
  Taps tx = make_taps(src_w, dst_w, filter);
  Taps ty = make_taps(src_h, dst_h, filter);
  std::vector<float> mid(static_cast<std::size_t>(src_h) * dst_w);
  for (int y = 0; y < src_h; ++y) {
    const float* row = src + static_cast<std::size_t>(y) * src_w;
    float* out = mid.data() + static_cast<std::size_t>(y) * dst_w;
    for (int x = 0; x < dst_w; ++x) {
      const auto& w = tx.weight[x];
      const float* in = row + tx.first[x];
      double acc = 0.0;
      for (std::size_t k = 0; k < w.size(); ++k) acc += static_cast<double>(w[k]) * in[k];
      out[x] = static_cast<float>(acc);
    }
  }
  std::vector<float> dst(static_cast<std::size_t>(dst_h) * dst_w);
  std::vector<double> acc(dst_w);
  for (int y = 0; y < dst_h; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0);
    const auto& w = ty.weight[y];
    for (std::size_t k = 0; k < w.size(); ++k) {
      const float* in = mid.data() + static_cast<std::size_t>(ty.first[y] + k) * dst_w;
      for (int x = 0; x < dst_w; ++x) acc[x] += static_cast<double>(w[k]) * in[x];
    }
    float* out = dst.data() + static_cast<std::size_t>(y) * dst_w;
    for (int x = 0; x < dst_w; ++x) out[x] = static_cast<float>(acc[x]);
  }
  return dst;
}

void prepare_image(const std::uint8_t* pixels, int height, int width, int src_channels,
                   const LoadOptions& opts, float* out) {
  const int channels = channel_count(opts.channels);
  const std::size_t plane = static_cast<std::size_t>(opts.height) * opts.width;
  const auto mean = channel_means(opts);
  const auto stddev = channel_stddevs(opts);
  std::vector<float> planes = to_planes(pixels, height, width, src_channels, opts.channels);
  const std::size_t src_plane = static_cast<std::size_t>(height) * width;
  for (int c = 0; c < channels; ++c) {
    std::vector<float> r = resize_plane(planes.data() + c * src_plane, height, width, opts.height,
                                        opts.width, opts.filter);
    const float m = mean[c], s = stddev[c];
    float* o = out + c * plane;
    for (std::size_t i = 0; i < plane; ++i) o[i] = (r[i] / 255.0f - m) / s;
  }
}

}  // namespace hemi::data
