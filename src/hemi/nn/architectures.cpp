#include "hemi/nn/architectures.h"

#include <cmath>

namespace hemi::nn {
namespace {

// splitmix64: a small, fully specified generator (the same stream on every platform).
class InitRng {
 public:
  explicit InitRng(std::uint64_t seed) : state_(seed) {}
  double uniform(double bound) {  // in [-bound, bound)
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    double u = static_cast<double>(z >> 11) * 0x1.0p-53;
    return (2 * u - 1) * bound;
  }

 private:
  std::uint64_t state_;
};

void init(std::vector<double>& v, std::size_t n, double fan_in, InitRng& rng) {
  double bound = 1.0 / std::sqrt(fan_in);
  v.resize(n);
  for (double& x : v) x = rng.uniform(bound);
}

Conv2d conv(int in, int out, int k, int stride, int pad, InitRng& rng) {
  Conv2d c;
  c.in_channels = in;
  c.out_channels = out;
  c.kernel_h = c.kernel_w = k;
  c.stride_h = c.stride_w = stride;
  c.pad_h = c.pad_w = pad;
  double fan_in = static_cast<double>(in) * k * k;
  init(c.weight, static_cast<std::size_t>(out) * in * k * k, fan_in, rng);
  init(c.bias, static_cast<std::size_t>(out), fan_in, rng);
  return c;
}

Dense dense(int in, int out, InitRng& rng) {
  Dense d;
  d.in_features = in;
  d.out_features = out;
  init(d.weight, static_cast<std::size_t>(out) * in, in, rng);
  init(d.bias, static_cast<std::size_t>(out), in, rng);
  return d;
}

// Shape after the layers so far; errors carry the architecture name.
Result<TensorShape> walk(const std::vector<Layer>& layers, const TensorShape& in) {
  TensorShape s = in;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    auto next = infer_shape(layers[i], s);
    if (!next) return Result<TensorShape>::failure("layer " + std::to_string(i + 1) + " (" + layer_kind(layers[i]) + "): " + next.error());
    s = next.value();
  }
  return s;
}

}  // namespace

const char* to_string(Activation a) {
  switch (a) {
    case Activation::kSquare: return "square";
    case Activation::kPoly: return "poly";
    case Activation::kRelu: return "relu";
    default: return "default";
  }
}

Activation parse_activation(std::string_view name) {
  if (name == "square" || name == "x2") return Activation::kSquare;
  if (name == "poly") return Activation::kPoly;
  if (name == "relu") return Activation::kRelu;
  if (name == "default") return Activation::kDefault;
  throw Error("unknown activation '" + std::string(name) + "' (known: square, poly, relu, default)");
}

std::vector<double> relu_fit_quadratic() {
  // ReLU(x) = x/2 + |x|/2 and the Hermite projection of |x| on {1, x²} under N(0, 1) is
  // sqrt(2/pi)/2 (1 + x²): so 1/sqrt(8 pi) + x/2 + x²/sqrt(8 pi).
  const double c = 1.0 / std::sqrt(8.0 * 3.14159265358979323846);
  return {c, 0.5, c};
}

std::vector<int> medcnn_default_widths() { return {16, 32, 64, 64}; }

std::vector<int> parse_widths(std::string_view text) {
  const std::string bad = "widths '" + std::string(text) + "': ";
  std::vector<int> out;
  std::size_t begin = 0;
  while (true) {
    const std::size_t comma = text.find(',', begin);
    const std::string item(text.substr(begin, comma == std::string_view::npos ? std::string_view::npos : comma - begin));
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos || item.size() > 4)
      throw Error(bad + "expected four comma-separated integers in [1, 4096] (e.g. 16,32,64,128), got '" + item + "'");
    const int v = std::stoi(item);
    if (v < 1 || v > 4096) throw Error(bad + "each width must be in [1, 4096], got " + item);
    out.push_back(v);
    if (comma == std::string_view::npos) break;
    begin = comma + 1;
  }
  if (out.size() != 4)
    throw Error(bad + "expected four widths (three convolutions' channels, then the dense hidden units), got " +
                std::to_string(out.size()));
  return out;
}

std::string widths_to_string(const std::vector<int>& widths) {
  std::string s;
  for (std::size_t i = 0; i < widths.size(); ++i) s += (i ? "," : "") + std::to_string(widths[i]);
  return s;
}

std::vector<std::string> architecture_names() { return {"seed-cnn", "mri-cnn", "lenet-1", "medcnn"}; }

std::string architecture_list() { return "seed-cnn, mri-cnn, lenet-1, medcnn"; }

bool is_architecture(std::string_view name) {
  for (const auto& n : architecture_names())
    if (n == name) return true;
  return false;
}

InputSpec default_input(std::string_view name) {
  InputSpec in;
  if (name == "seed-cnn" || name == "lenet-1") return in;
  if (name == "medcnn") {
    in.height = in.width = 64;
    in.mean = {0.5};
    in.std = {0.5};
    return in;
  }
  if (name == "mri-cnn") {
    in.color = ColorMode::kRgb;
    in.height = in.width = 64;
    in.mean = {0, 0, 0};
    in.std = {1, 1, 1};
    return in;
  }
  throw Error("unknown architecture '" + std::string(name) + "' (known: " + architecture_list() + ")");
}

Result<Model> build_architecture(std::string_view name, const ArchitectureOptions& options) {
  using R = Result<Model>;
  if (!is_architecture(name))
    return R::failure("unknown architecture '" + std::string(name) + "' (known: " + architecture_list() + ")");
  const int classes = static_cast<int>(options.class_names.size());
  if (classes < 1) return R::failure(std::string(name) + ": needs at least one class name");
  if (!options.widths.empty()) {
    if (name != "medcnn")
      return R::failure(std::string(name) + ": widths apply to medcnn only (its convolutions and dense hidden layer)");
    if (options.widths.size() != 4)
      return R::failure("medcnn: widths needs four values (three convolutions' channels, then the dense hidden units), got " +
                        std::to_string(options.widths.size()));
    for (int w : options.widths)
      if (w < 1 || w > 4096) return R::failure("medcnn: each width must be in [1, 4096], got " + std::to_string(w));
  }
  InitRng rng(options.seed);
  ModelSpec spec;
  spec.architecture = std::string(name);
  spec.input = options.input;
  spec.class_names = options.class_names;
  const int c = options.input.channels();
  auto& L = spec.layers;
  // The activation layer: the network's own (`own`) unless the options choose one.
  auto act = [&](Layer own) -> Layer {
    switch (options.activation) {
      case Activation::kSquare: return Square{};
      case Activation::kPoly: return Polynomial{relu_fit_quadratic()};
      case Activation::kRelu: return Relu{};
      default: return own;
    }
  };
  auto features = [&]() -> Result<int> {
    auto s = walk(L, options.input.shape());
    if (!s) return Result<int>::failure(std::string(name) + ": input " + options.input.shape().to_string() + " is too small: " + s.error());
    return static_cast<int>(s.value().size());
  };
  if (name == "seed-cnn") {
    L.push_back(conv(c, 4, 7, 3, 0, rng));
    L.push_back(act(Square{}));
    L.push_back(Flatten{});
    auto n = features();
    if (!n) return R::failure(n.error());
    L.push_back(dense(n.value(), 64, rng));
    L.push_back(act(Square{}));
    L.push_back(dense(64, classes, rng));
  } else if (name == "lenet-1") {
    L.push_back(conv(c, 4, 5, 1, 0, rng));
    L.push_back(act(Square{}));
    L.push_back(AvgPool2d{2, 2, 2, 2});
    auto n1 = features();
    if (!n1) return R::failure(n1.error());
    L.push_back(conv(4, 12, 5, 1, 0, rng));
    L.push_back(act(Square{}));
    L.push_back(AvgPool2d{2, 2, 2, 2});
    L.push_back(Flatten{});
    auto n = features();
    if (!n) return R::failure(n.error());
    L.push_back(dense(n.value(), classes, rng));
  } else if (name == "medcnn") {
    const Layer a = act(Polynomial{relu_fit_quadratic()});
    const std::vector<int> w = options.widths.empty() ? medcnn_default_widths() : options.widths;
    L.push_back(conv(c, w[0], 3, 2, 1, rng));
    L.push_back(a);
    auto n1 = features();
    if (!n1) return R::failure(n1.error());
    L.push_back(conv(w[0], w[1], 3, 2, 1, rng));
    L.push_back(a);
    L.push_back(AvgPool2d{2, 2, 2, 2});
    auto n2 = features();
    if (!n2) return R::failure(n2.error());
    L.push_back(conv(w[1], w[2], 3, 1, 1, rng));
    L.push_back(a);
    L.push_back(AvgPool2d{2, 2, 2, 2});
    L.push_back(Flatten{});
    auto n = features();
    if (!n) return R::failure(n.error());
    L.push_back(dense(n.value(), w[3], rng));
    L.push_back(a);
    L.push_back(dense(w[3], classes, rng));
  } else {
    const Layer poly = act(Polynomial{{0.25, 0.5, 0.125}});
    L.push_back(conv(c, 8, 5, 2, 2, rng));
    L.push_back(poly);
    L.push_back(AvgPool2d{2, 2, 2, 2});
    auto n1 = features();
    if (!n1) return R::failure(n1.error());
    L.push_back(conv(8, 16, 3, 2, 1, rng));
    L.push_back(poly);
    L.push_back(AvgPool2d{2, 2, 2, 2});
    L.push_back(Flatten{});
    auto n = features();
    if (!n) return R::failure(n.error());
    L.push_back(dense(n.value(), 32, rng));
    L.push_back(poly);
    L.push_back(dense(32, classes, rng));
  }
  return Model::create(std::move(spec));
}

}  // namespace hemi::nn
