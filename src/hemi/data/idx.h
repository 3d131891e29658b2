// IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or raw.
// Format: 4-byte magic {0, 0, type, ndim}, ndim big-endian uint32 sizes, then the values in
// row-major order. Only unsigned bytes (type 0x08) are accepted: images are
// (count, rows, cols), labels are (count).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hemi/base/bytes.h"
#include "hemi/data/image_set.h"
#include "hemi/data/options.h"

namespace hemi::data {

// The whole file, gunzipped when it starts with the gzip magic (1f 8b), raw otherwise.
// Throws hemi::Error naming the file when it cannot be read or the gzip stream is corrupt
// or truncated.
Bytes read_maybe_gzip(const std::string& path);

struct IdxArray {
  std::vector<std::uint32_t> dims;
  Bytes values;  // product(dims) bytes
};

// Reads and validates one IDX file: magic, element type, dimensions, and that the data
// length equals the product of the dimensions (no truncation, no trailing bytes).
IdxArray read_idx(const std::string& path);
// The same for bytes in memory; `what` names them in errors.
IdxArray parse_idx(const Bytes& bytes, const std::string& what);

// Loads an IDX image file (count x rows x cols) and its label file (count) into an ImageSet,
// resized / converted / normalized per `opts` (opts.limit keeps the first images).
// Checks that the counts agree and that every label is < class_names.size(); when
// class_names is empty the classes are "0" .. "<max label>". Errors name the file.
ImageSet load_idx(const std::string& images_path, const std::string& labels_path,
                  const LoadOptions& opts, const std::vector<std::string>& class_names = {});

}  // namespace hemi::data
