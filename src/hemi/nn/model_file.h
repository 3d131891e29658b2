// The model file: one versioned binary file holding a Model (docs/model-format.md).
//
//   header  "HEMIMODL" | u32 format version | u32 flags | u64 payload bytes
//   payload architecture, input spec, class names, layers with their weights, and (version 2)
//           the data record: data set identity, split, counts (DataRecord in model.h)
//   trailer u64 FNV-1a checksum of the payload
//
// All integers little-endian. Loading validates everything before a Model exists: magic,
// version (a later version is refused), flags, sizes against the remaining bytes and the
// limits in model.h, the checksum, then Model::create (shapes, NaN/infinite weights). Every
// failure is a hemi::Error with a message that says what is wrong; no input crashes.
#pragma once

#include <cstdint>
#include <string>

#include "hemi/base/bytes.h"
#include "hemi/nn/model.h"

namespace hemi::nn {

inline constexpr char kModelMagic[8] = {'H', 'E', 'M', 'I', 'M', 'O', 'D', 'L'};
inline constexpr std::uint32_t kModelFormatVersion = 2;
// Format-1 files still load; they carry no data record (Model::spec().data is empty).

// How conv/dense weights and biases are stored. In memory they are always double.
enum class WeightPrecision : std::uint8_t { kFloat64 = 0, kFloat32 = 1 };

Bytes serialize_model(const Model& model, WeightPrecision precision = WeightPrecision::kFloat64);
// `what` names the source in error messages (e.g. the path).
Model deserialize_model(const Bytes& bytes, const std::string& what = "model file");

void save_model(const Model& model, const std::string& path,
                WeightPrecision precision = WeightPrecision::kFloat64);
Model load_model(const std::string& path);

namespace detail {
// Encodes a spec without validating it, with any version number: for tests of the loader's
// rejections only.
Bytes encode_spec(const ModelSpec& spec, WeightPrecision precision,
                  std::uint32_t version = kModelFormatVersion);
std::uint64_t fnv1a64(const std::uint8_t* data, std::size_t size);
}  // namespace detail

}  // namespace hemi::nn
