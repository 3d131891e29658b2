#include "hemi/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "hemi/base/error.h"
#include "hemi/data/image.h"

namespace hemi::data {

namespace {

constexpr std::size_t kMaxFileBytes = std::size_t{1} << 32;      // 4 GiB compressed or raw
constexpr std::size_t kMaxInflatedBytes = std::size_t{1} << 33;  // 8 GiB decompressed
constexpr std::uint8_t kTypeUnsignedByte = 0x08;

Bytes gunzip(const Bytes& in, const std::string& path) {
  Bytes out;
  out.reserve(std::min<std::size_t>(in.size() * 4, kMaxInflatedBytes));
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw Error("'" + path + "': zlib init failed");
  std::size_t pos = 0;
  std::vector<std::uint8_t> buf(1 << 16);
  std::string error;
  while (error.empty()) {
    std::size_t chunk = std::min<std::size_t>(in.size() - pos, std::numeric_limits<uInt>::max());
    zs.next_in = const_cast<Bytef*>(in.data() + pos);
    zs.avail_in = static_cast<uInt>(chunk);
    zs.next_out = buf.data();
    zs.avail_out = static_cast<uInt>(buf.size());
    int rc = inflate(&zs, Z_NO_FLUSH);
    const std::size_t used = chunk - zs.avail_in;
    const std::size_t produced = buf.size() - zs.avail_out;
    pos += used;
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(produced));
    if (out.size() > kMaxInflatedBytes) {
      error = "decompressed data too large";
    } else if (rc == Z_STREAM_END) {
      // Concatenated gzip members belong to the same file (as gzip(1) reads them).
      if (in.size() - pos >= 2 && in[pos] == 0x1F && in[pos + 1] == 0x8B) {
        inflateReset(&zs);
        continue;
      }
      if (pos != in.size())
        error = std::to_string(in.size() - pos) + " unexpected bytes after the gzip stream";
      break;
    } else if (rc == Z_BUF_ERROR || (rc == Z_OK && used == 0 && produced == 0)) {
      error = pos >= in.size() ? "truncated gzip data (the file ends inside the stream)"
                               : "corrupt gzip data (no progress)";
    } else if (rc != Z_OK) {
      error = std::string("corrupt gzip data") + (zs.msg ? std::string(" (") + zs.msg + ")" : "");
    }
  }
  inflateEnd(&zs);
  if (!error.empty()) throw Error("'" + path + "': " + error);
  return out;
}

std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::string dims_text(const std::vector<std::uint32_t>& dims) {
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s;
}

}  // namespace

Bytes read_maybe_gzip(const std::string& path) {
  Bytes raw = read_file(path, kMaxFileBytes);
  if (raw.size() >= 2 && raw[0] == 0x1F && raw[1] == 0x8B) return gunzip(raw, path);
  return raw;
}

IdxArray parse_idx(const Bytes& bytes, const std::string& what) {
  auto fail = [&](const std::string& msg) -> void { throw Error("'" + what + "': " + msg); };
  if (bytes.size() < 4) fail("too short for an IDX header (" + std::to_string(bytes.size()) + " bytes)");
  if (bytes[0] != 0 || bytes[1] != 0)
    fail("not an IDX file (bad magic " + std::to_string(read_be32(bytes.data())) +
         "; expected 2049 for labels or 2051 for images)");
  if (bytes[2] != kTypeUnsignedByte)
    fail("unsupported IDX element type 0x" +
         std::string(1, "0123456789abcdef"[bytes[2] >> 4]) +
         std::string(1, "0123456789abcdef"[bytes[2] & 15]) + " (only unsigned bytes, 0x08)");
  const std::size_t ndim = bytes[3];
  if (ndim == 0) fail("IDX header with zero dimensions");
  const std::size_t header = 4 + 4 * ndim;
  if (bytes.size() < header)
    fail("truncated IDX header (" + std::to_string(bytes.size()) + " bytes, need " +
         std::to_string(header) + ")");
  IdxArray arr;
  std::uint64_t total = 1;
  for (std::size_t d = 0; d < ndim; ++d) {
    std::uint32_t n = read_be32(bytes.data() + 4 + 4 * d);
    arr.dims.push_back(n);
    if (n != 0 && total > std::numeric_limits<std::uint64_t>::max() / n) total = 0, n = 0;
    total *= n;
  }
  for (auto n : arr.dims)
    if (n == 0) fail("IDX dimension of size 0 (" + dims_text(arr.dims) + ")");
  const std::uint64_t have = bytes.size() - header;
  if (total != have)
    fail("file length does not match the header: " + dims_text(arr.dims) + " needs " +
         std::to_string(total) + " data bytes, the file has " + std::to_string(have) +
         (have < total ? " (truncated)" : " (trailing bytes)"));
  arr.values.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return arr;
}

IdxArray read_idx(const std::string& path) { return parse_idx(read_maybe_gzip(path), path); }

ImageSet load_idx(const std::string& images_path, const std::string& labels_path,
                  const LoadOptions& opts, const std::vector<std::string>& class_names) {
  validate(opts);
  IdxArray images = read_idx(images_path);
  IdxArray labels = read_idx(labels_path);
  if (images.dims.size() != 3)
    throw Error("'" + images_path + "': expected an IDX image file (count x rows x cols), got " +
                std::to_string(images.dims.size()) + " dimensions (" + dims_text(images.dims) + ")");
  if (labels.dims.size() != 1)
    throw Error("'" + labels_path + "': expected an IDX label file (one dimension), got " +
                std::to_string(labels.dims.size()) + " dimensions (" + dims_text(labels.dims) + ")");
  const std::size_t count = images.dims[0];
  if (labels.dims[0] != count)
    throw Error("'" + labels_path + "': " + std::to_string(labels.dims[0]) +
                " labels, but '" + images_path + "' has " + std::to_string(count) + " images");
  const int rows = static_cast<int>(images.dims[1]);
  const int cols = static_cast<int>(images.dims[2]);
  if (images.dims[1] > 1u << 15 || images.dims[2] > 1u << 15)
    throw Error("'" + images_path + "': image size " + dims_text(images.dims) + " too large");

  ImageSet set;
  if (class_names.empty()) {
    int max_label = *std::max_element(labels.values.begin(), labels.values.end());
    for (int c = 0; c <= max_label; ++c) set.class_names.push_back(std::to_string(c));
  } else {
    set.class_names = class_names;
    for (std::size_t i = 0; i < count; ++i) {
      if (labels.values[i] >= class_names.size())
        throw Error("'" + labels_path + "': label " + std::to_string(labels.values[i]) +
                    " at index " + std::to_string(i) + " is out of range (expected 0.." +
                    std::to_string(class_names.size() - 1) + ")");
    }
  }

  const std::size_t n = opts.limit ? std::min(opts.limit, count) : count;
  set.channels = channel_count(opts.channels);
  set.height = opts.height;
  set.width = opts.width;
  set.labels.assign(labels.values.begin(), labels.values.begin() + static_cast<std::ptrdiff_t>(n));
  set.pixels.resize(n * set.image_values());
  const std::size_t src_values = static_cast<std::size_t>(rows) * cols;
  const bool plain = rows == opts.height && cols == opts.width && set.channels == 1;
  const float mean = channel_means(opts)[0], stddev = channel_stddevs(opts)[0];
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* src = images.values.data() + i * src_values;
    float* out = set.pixels.data() + i * set.image_values();
    if (plain) {  // the common case: same size, gray
      for (std::size_t k = 0; k < src_values; ++k) out[k] = (src[k] / 255.0f - mean) / stddev;
    } else {
      prepare_image(src, rows, cols, 1, opts, out);
    }
  }
  return set;
}

}  // namespace hemi::data
