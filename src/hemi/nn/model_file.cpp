#include "hemi/nn/model_file.h"

#include <cmath>
#include <cstring>

namespace hemi::nn {
namespace {

enum class Kind : std::uint8_t {
  kConv2d = 1,
  kAvgPool2d = 2,
  kFlatten = 3,
  kDense = 4,
  kSquare = 5,
  kPolynomial = 6,
  kRelu = 7,
};

constexpr std::size_t kHeaderBytes = 24;
constexpr std::size_t kTrailerBytes = 8;
constexpr std::uint32_t kFlagFloat32 = 1;
constexpr std::size_t kMaxName = 1024;
constexpr std::size_t kMaxPath = 4096;

void put_i32(ByteWriter& w, int v) { w.put<std::uint32_t>(static_cast<std::uint32_t>(v)); }

void put_reals(ByteWriter& w, const std::vector<double>& v, WeightPrecision p) {
  for (double x : v) {
    if (p == WeightPrecision::kFloat32)
      w.put<float>(static_cast<float>(x));
    else
      w.put<double>(x);
  }
}

void put_layer(ByteWriter& w, const Layer& layer, WeightPrecision p) {
  if (auto* c = std::get_if<Conv2d>(&layer)) {
    w.put<std::uint8_t>(static_cast<std::uint8_t>(Kind::kConv2d));
    for (int v : {c->in_channels, c->out_channels, c->kernel_h, c->kernel_w, c->stride_h, c->stride_w, c->pad_h,
                  c->pad_w})
      put_i32(w, v);
    w.put<std::uint8_t>(c->bias.empty() ? 0 : 1);
    put_reals(w, c->weight, p);
    put_reals(w, c->bias, p);
  } else if (auto* a = std::get_if<AvgPool2d>(&layer)) {
    w.put<std::uint8_t>(static_cast<std::uint8_t>(Kind::kAvgPool2d));
    for (int v : {a->kernel_h, a->kernel_w, a->stride_h, a->stride_w}) put_i32(w, v);
  } else if (std::holds_alternative<Flatten>(layer)) {
    w.put<std::uint8_t>(static_cast<std::uint8_t>(Kind::kFlatten));
  } else if (auto* d = std::get_if<Dense>(&layer)) {
    w.put<std::uint8_t>(static_cast<std::uint8_t>(Kind::kDense));
    put_i32(w, d->in_features);
    put_i32(w, d->out_features);
    w.put<std::uint8_t>(d->bias.empty() ? 0 : 1);
    put_reals(w, d->weight, p);
    put_reals(w, d->bias, p);
  } else if (std::holds_alternative<Square>(layer)) {
    w.put<std::uint8_t>(static_cast<std::uint8_t>(Kind::kSquare));
  } else if (auto* q = std::get_if<Polynomial>(&layer)) {
    w.put<std::uint8_t>(static_cast<std::uint8_t>(Kind::kPolynomial));
    w.put<std::uint32_t>(static_cast<std::uint32_t>(q->coefficients.size()));
    for (double x : q->coefficients) w.put<double>(x);
  } else if (std::holds_alternative<Relu>(layer)) {
    w.put<std::uint8_t>(static_cast<std::uint8_t>(Kind::kRelu));
  }
}

// Reads a non-negative dimension no larger than `max`.
int get_dim(ByteReader& r, const char* field, int lo, int max) {
  auto v = r.get<std::uint32_t>(field);
  if (v < static_cast<std::uint32_t>(lo) || v > static_cast<std::uint32_t>(max))
    r.fail(std::string(field) + " = " + std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " +
           std::to_string(max) + "]");
  return static_cast<int>(v);
}

std::vector<double> get_reals(ByteReader& r, std::size_t count, WeightPrecision p, const char* field) {
  std::size_t elem = p == WeightPrecision::kFloat32 ? 4 : 8;
  if (count > kMaxParameters) r.fail(std::string(field) + ": absurd size (" + std::to_string(count) + " values)");
  if (count > r.remaining() / elem)
    r.fail(std::string("truncated while reading ") + field + " (need " + std::to_string(count * elem) + " bytes, " +
           std::to_string(r.remaining()) + " left)");
  std::vector<double> v(count);
  const std::uint8_t* src = r.take(count * elem, field);
  for (std::size_t i = 0; i < count; ++i) {
    if (p == WeightPrecision::kFloat32) {
      float f;
      std::memcpy(&f, src + 4 * i, 4);
      v[i] = f;
    } else {
      std::memcpy(&v[i], src + 8 * i, 8);
    }
  }
  return v;
}

Layer get_layer(ByteReader& r, WeightPrecision p, std::size_t index) {
  std::string at = "layer " + std::to_string(index + 1);
  auto kind = r.get<std::uint8_t>("layer kind");
  switch (static_cast<Kind>(kind)) {
    case Kind::kConv2d: {
      Conv2d c;
      c.in_channels = get_dim(r, "conv2d in_channels", 1, kMaxDimension);
      c.out_channels = get_dim(r, "conv2d out_channels", 1, kMaxDimension);
      c.kernel_h = get_dim(r, "conv2d kernel_h", 1, kMaxKernel);
      c.kernel_w = get_dim(r, "conv2d kernel_w", 1, kMaxKernel);
      c.stride_h = get_dim(r, "conv2d stride_h", 1, kMaxKernel);
      c.stride_w = get_dim(r, "conv2d stride_w", 1, kMaxKernel);
      c.pad_h = get_dim(r, "conv2d pad_h", 0, kMaxKernel);
      c.pad_w = get_dim(r, "conv2d pad_w", 0, kMaxKernel);
      auto has_bias = r.get<std::uint8_t>("conv2d has_bias");
      if (has_bias > 1) r.fail(at + ": conv2d has_bias flag is " + std::to_string(has_bias));
      std::size_t n = static_cast<std::size_t>(c.out_channels) * c.in_channels * c.kernel_h * c.kernel_w;
      c.weight = get_reals(r, n, p, "conv2d weight");
      if (has_bias) c.bias = get_reals(r, static_cast<std::size_t>(c.out_channels), p, "conv2d bias");
      return c;
    }
    case Kind::kAvgPool2d: {
      AvgPool2d a;
      a.kernel_h = get_dim(r, "avgpool2d kernel_h", 1, kMaxKernel);
      a.kernel_w = get_dim(r, "avgpool2d kernel_w", 1, kMaxKernel);
      a.stride_h = get_dim(r, "avgpool2d stride_h", 1, kMaxKernel);
      a.stride_w = get_dim(r, "avgpool2d stride_w", 1, kMaxKernel);
      return a;
    }
    case Kind::kFlatten:
      return Flatten{};
    case Kind::kDense: {
      Dense d;
      d.in_features = get_dim(r, "dense in_features", 1, kMaxDimension * kMaxDimension);
      d.out_features = get_dim(r, "dense out_features", 1, kMaxDimension);
      auto has_bias = r.get<std::uint8_t>("dense has_bias");
      if (has_bias > 1) r.fail(at + ": dense has_bias flag is " + std::to_string(has_bias));
      d.weight = get_reals(r, static_cast<std::size_t>(d.out_features) * d.in_features, p, "dense weight");
      if (has_bias) d.bias = get_reals(r, static_cast<std::size_t>(d.out_features), p, "dense bias");
      return d;
    }
    case Kind::kSquare:
      return Square{};
    case Kind::kRelu:
      return Relu{};
    case Kind::kPolynomial: {
      Polynomial q;
      auto n = get_dim(r, "polynomial coefficient count", 1, kMaxPolynomialDegree + 1);
      q.coefficients = get_reals(r, static_cast<std::size_t>(n), WeightPrecision::kFloat64, "polynomial coefficients");
      return q;
    }
  }
  r.fail(at + ": unknown layer kind " + std::to_string(kind));
}

}  // namespace

namespace detail {

std::uint64_t fnv1a64(const std::uint8_t* data, std::size_t size) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::size_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

Bytes encode_spec(const ModelSpec& spec, WeightPrecision precision, std::uint32_t version) {
  Bytes payload;
  ByteWriter w(payload);
  w.put_string(spec.architecture);
  w.put<std::uint8_t>(static_cast<std::uint8_t>(spec.input.color));
  put_i32(w, spec.input.height);
  put_i32(w, spec.input.width);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(spec.input.mean.size()));
  for (double m : spec.input.mean) w.put<double>(m);
  for (double s : spec.input.std) w.put<double>(s);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(spec.class_names.size()));
  for (const auto& name : spec.class_names) w.put_string(name);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(spec.layers.size()));
  for (const auto& layer : spec.layers) put_layer(w, layer, precision);
  if (version >= 2) {
    w.put<std::uint8_t>(spec.data ? 1 : 0);
    if (spec.data) {
      const DataRecord& d = *spec.data;
      for (const std::string* str : {&d.dataset, &d.identity, &d.split_mode, &d.train_split, &d.test_split})
        w.put_string(*str);
      w.put<double>(d.train_fraction);
      for (std::uint64_t v : {d.seed, d.train_images, d.test_images, d.train_limit}) w.put<std::uint64_t>(v);
      w.put<std::uint8_t>(d.kept_cross_duplicates ? 1 : 0);
    }
  }

  Bytes out;
  out.reserve(kHeaderBytes + payload.size() + kTrailerBytes);
  ByteWriter h(out);
  h.put_bytes(kModelMagic, sizeof kModelMagic);
  h.put<std::uint32_t>(version);
  h.put<std::uint32_t>(precision == WeightPrecision::kFloat32 ? kFlagFloat32 : 0);
  h.put<std::uint64_t>(payload.size());
  h.put_bytes(payload.data(), payload.size());
  h.put<std::uint64_t>(fnv1a64(payload.data(), payload.size()));
  return out;
}

}  // namespace detail

Bytes serialize_model(const Model& model, WeightPrecision precision) {
  return detail::encode_spec(model.spec(), precision);
}

Model deserialize_model(const Bytes& bytes, const std::string& what) {
  ByteReader r(bytes, what);
  if (bytes.size() < sizeof kModelMagic || std::memcmp(bytes.data(), kModelMagic, sizeof kModelMagic) != 0)
    r.fail("not a hemi model file (bad magic; expected \"HEMIMODL\")");
  r.take(sizeof kModelMagic, "magic");
  auto version = r.get<std::uint32_t>("format version");
  if (version == 0) r.fail("invalid format version 0");
  if (version > kModelFormatVersion)
    r.fail("format version " + std::to_string(version) + " is newer than this build supports (" +
           std::to_string(kModelFormatVersion) + "); upgrade hemi");
  auto flags = r.get<std::uint32_t>("flags");
  if (flags & ~kFlagFloat32) r.fail("unknown flags " + std::to_string(flags) + " (this build knows 1 = float32 weights)");
  auto precision = (flags & kFlagFloat32) ? WeightPrecision::kFloat32 : WeightPrecision::kFloat64;
  auto payload_size = r.get<std::uint64_t>("payload size");
  if (payload_size > r.remaining() || r.remaining() - payload_size < kTrailerBytes)
    r.fail("truncated: header announces " + std::to_string(payload_size) + " payload bytes, file has " +
           std::to_string(r.remaining()) + " after the header");
  if (r.remaining() - payload_size > kTrailerBytes)
    r.fail(std::to_string(r.remaining() - payload_size - kTrailerBytes) + " unexpected trailing bytes");
  const std::uint8_t* payload = r.take(static_cast<std::size_t>(payload_size), "payload");
  auto checksum = r.get<std::uint64_t>("checksum");
  if (checksum != detail::fnv1a64(payload, static_cast<std::size_t>(payload_size)))
    r.fail("checksum mismatch: the file is corrupted");

  ByteReader p(payload, static_cast<std::size_t>(payload_size), what);
  ModelSpec spec;
  spec.architecture = p.get_string("architecture", kMaxName);
  auto color = p.get<std::uint8_t>("input color mode");
  if (color != 1 && color != 3) p.fail("input color mode " + std::to_string(color) + " is neither gray (1) nor rgb (3)");
  spec.input.color = static_cast<ColorMode>(color);
  spec.input.height = get_dim(p, "input height", 1, kMaxDimension);
  spec.input.width = get_dim(p, "input width", 1, kMaxDimension);
  auto channels = p.get<std::uint32_t>("input channel count");
  if (channels != color) p.fail("input has " + std::to_string(channels) + " normalization channels for color mode " + to_string(spec.input.color));
  spec.input.mean = get_reals(p, channels, WeightPrecision::kFloat64, "input mean");
  spec.input.std = get_reals(p, channels, WeightPrecision::kFloat64, "input std");
  auto classes = get_dim(p, "class count", 1, kMaxClasses);
  if (static_cast<std::size_t>(classes) > p.remaining() / 4) p.fail("truncated while reading class names");
  spec.class_names.reserve(static_cast<std::size_t>(classes));
  for (int i = 0; i < classes; ++i) spec.class_names.push_back(p.get_string("class name", kMaxName));
  auto layers = get_dim(p, "layer count", 1, kMaxLayers);
  for (int i = 0; i < layers; ++i) spec.layers.push_back(get_layer(p, precision, static_cast<std::size_t>(i)));
  if (version >= 2) {
    auto has = p.get<std::uint8_t>("data record flag");
    if (has > 1) p.fail("data record flag is " + std::to_string(has));
    if (has) {
      DataRecord d;
      d.dataset = p.get_string("data record dataset", kMaxPath);
      d.identity = p.get_string("data record identity", kMaxName);
      d.split_mode = p.get_string("data record split mode", kMaxName);
      if (d.split_mode != "named" && d.split_mode != "fraction")
        p.fail("data record split mode '" + d.split_mode + "' is neither named nor fraction");
      d.train_split = p.get_string("data record train split", kMaxName);
      d.test_split = p.get_string("data record test split", kMaxName);
      d.train_fraction = p.get<double>("data record train fraction");
      if (!(d.train_fraction >= 0.0 && d.train_fraction <= 1.0))
        p.fail("data record train fraction " + std::to_string(d.train_fraction) + " is not in [0, 1]");
      d.seed = p.get<std::uint64_t>("data record seed");
      d.train_images = p.get<std::uint64_t>("data record train images");
      d.test_images = p.get<std::uint64_t>("data record test images");
      d.train_limit = p.get<std::uint64_t>("data record train limit");
      auto keep = p.get<std::uint8_t>("data record duplicate policy");
      if (keep > 1) p.fail("data record duplicate policy is " + std::to_string(keep));
      d.kept_cross_duplicates = keep == 1;
      spec.data = std::move(d);
    }
  }
  p.expect_end();

  auto model = Model::create(std::move(spec));
  if (!model) throw Error(what + ": " + model.error());
  return std::move(model).value();
}

void save_model(const Model& model, const std::string& path, WeightPrecision precision) {
  write_file(path, serialize_model(model, precision));
}

Model load_model(const std::string& path) {
  return deserialize_model(read_file(path, std::size_t{1} << 32), "model file '" + path + "'");
}

}  // namespace hemi::nn
