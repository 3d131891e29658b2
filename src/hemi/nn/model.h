// The framework-neutral description of a small convolutional network, as trained by the
// `train` layer and compiled to CKKS by the `he` layer.
//
// A model is: how to prepare an input image (InputSpec), a chain of layers (Layer), and the
// class names. It is plain data in double precision; batch norm is folded into the preceding
// linear layer before a model is built (fold_batch_norm). Weight layouts are PyTorch's:
//   Conv2d weight [out][in][kh][kw], bias [out];  Dense weight [out][in], bias [out];
//   activations are C × H × W, channel-major, one image at a time.
//
// A ModelSpec is an unchecked literal; Model::create validates it (sizes, finite weights,
// shape inference through every layer, output size == number of classes) and returns a
// Result, so no invalid Model ever exists. A Model is immutable and safe to share between
// threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "hemi/base/error.h"

namespace hemi::nn {

// Limits that keep a hostile or garbled description from asking for absurd memory.
inline constexpr int kMaxDimension = 8192;        // image height/width, channels, features
inline constexpr int kMaxKernel = 256;            // kernel and stride extent
inline constexpr int kMaxLayers = 1024;
inline constexpr int kMaxClasses = 100000;
inline constexpr int kMaxPolynomialDegree = 64;
inline constexpr std::size_t kMaxParameters = std::size_t{1} << 28;  // per layer and in total

// The shape of the activations between layers: C × H × W, or a flat vector of `channels`
// values (after Flatten or Dense; height = width = 1).
struct TensorShape {
  int channels = 1;
  int height = 1;
  int width = 1;
  bool flat = false;

  std::size_t size() const {
    return static_cast<std::size_t>(channels) * static_cast<std::size_t>(height) *
           static_cast<std::size_t>(width);
  }
  std::string to_string() const;  // "4x8x8" or "256"
  friend bool operator==(const TensorShape&, const TensorShape&) = default;
};

enum class ColorMode : std::uint8_t { kGray = 1, kRgb = 3 };
const char* to_string(ColorMode mode);  // "gray", "rgb"

// How an image becomes the network's input: converted to gray (1 channel) or RGB (3), resized
// to height × width, then each channel c normalized as (x / 255 - mean[c]) / std[c].
struct InputSpec {
  ColorMode color = ColorMode::kGray;
  int height = 28;
  int width = 28;
  std::vector<double> mean = {0.0};  // one per channel
  std::vector<double> std = {1.0};   // one per channel, > 0

  int channels() const { return static_cast<int>(color); }
  TensorShape shape() const { return {channels(), height, width, false}; }
};

// y[o][i][j] = bias[o] + sum_{c,u,v} weight[o][c][u][v] * x[c][i*stride_h+u-pad_h][j*stride_w+v-pad_w]
// with zero padding outside the input.
struct Conv2d {
  int in_channels = 1;
  int out_channels = 1;
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  std::vector<double> weight;  // [out][in][kh][kw]
  std::vector<double> bias;    // [out]; empty means zero
};

// Mean over kernel_h × kernel_w windows, no padding (PyTorch AvgPool2d, padding 0).
struct AvgPool2d {
  int kernel_h = 2, kernel_w = 2;
  int stride_h = 2, stride_w = 2;
};

// C × H × W → C·H·W values in the same (channel-major) order.
struct Flatten {};

// y[o] = bias[o] + sum_i weight[o][i] * x[i]; needs a flat input.
struct Dense {
  int in_features = 1;
  int out_features = 1;
  std::vector<double> weight;  // [out][in]
  std::vector<double> bias;    // [out]; empty means zero
};

// y = x², element-wise.
struct Square {};

// y = c0 + c1 x + c2 x² + ..., element-wise. The coefficients are data of the model; the
// trainer keeps them fixed unless asked to train them (train::TrainOptions::train_polynomials).
struct Polynomial {
  std::vector<double> coefficients;  // c0 first; the last one is nonzero
  int degree() const { return static_cast<int>(coefficients.size()) - 1; }
};

// y = max(0, x), element-wise. PLAINTEXT ONLY: not a polynomial, so no encrypted compiler
// takes it (plaintext_only_layer); it exists as the accuracy reference of the polynomial
// networks (medcnn with --activation relu).
struct Relu {};

using Layer = std::variant<Conv2d, AvgPool2d, Flatten, Dense, Square, Polynomial, Relu>;

const char* layer_kind(const Layer& layer);  // "conv2d", "avgpool2d", "flatten", ...
std::size_t parameter_count(const Layer& layer);
bool is_linear(const Layer& layer);  // conv2d or dense: has weights, takes batch norm
bool is_activation(const Layer& layer);  // square, polynomial or relu

// The first layer that only the plaintext interpreter can run (relu), as "layer 2 (relu)", or
// "" when every layer is HE-friendly. Encrypted compilers refuse a model for which it is not
// empty, naming it (plaintext_only_reason).
std::string plaintext_only_layer(const std::vector<Layer>& layers);
// "" or the refusal: "<layer> is not a polynomial: ReLU models are plaintext only (the
// accuracy reference); train with --activation square or poly for encrypted inference".
std::string plaintext_only_reason(const std::vector<Layer>& layers);

// Multiplicative depth of one layer when evaluated directly under CKKS (each plaintext
// multiplication costs one rescale):
//   conv2d, dense: 1 (plaintext weights);  avgpool2d: 1 (multiplication by 1/(kh·kw));
//   flatten: 0;  square: 1;
//   polynomial of degree d: 0 for d = 0, 1 for d = 1, ceil(log2 d) + 1 for d >= 2
//   (powers by repeated squaring, then one level for the plaintext coefficients), except
//   c0 + x^(2^j) (pure_power_squarings): j, the squarings alone (activation_fold.h makes
//   k + x² from a quadratic);
//   relu: 0 (not evaluable under CKKS at all; see plaintext_only_layer).
// A compiler that folds constants into neighbouring layers may do better; this is the
// straightforward upper bound.
int layer_depth(const Layer& layer);
// j when p = c0 + x^(2^j) (every other coefficient 0, the last 1): j squarings and the addition
// of c0 compute it; otherwise -1.
int pure_power_squarings(const Polynomial& p);

// Where a trained model's images came from (model file format 2; docs/data.md, "Splits"):
// enough for `hemi eval` to re-create exactly the images held out from training, and to
// notice another data set. Plain data: the data layer fills it, this layer only stores it.
struct DataRecord {
  std::string dataset;      // as named when training ("mnist", a path)
  std::string identity;     // data::dataset_identity: "sha256:..." of the file list and sizes
  std::string split_mode;   // "named" (the data set's own split) or "fraction"
  std::string train_split;  // the split trained on; "" = every image of a plain folder
  std::string test_split;   // "named": the split held out
  double train_fraction = 1.0;  // "fraction"
  std::uint64_t seed = 0;       // "fraction": the split seed (also the samples' base seed)
  std::uint64_t train_images = 0, test_images = 0;  // trained on; held out (before a test sample)
  std::uint64_t train_limit = 0;                    // 0 = no sample of the training images
  bool kept_cross_duplicates = false;               // the duplicate policy used
};

// An unchecked model literal.
struct ModelSpec {
  std::string architecture;  // e.g. "seed-cnn"; informational
  InputSpec input;
  std::vector<Layer> layers;
  std::vector<std::string> class_names;  // one per output
  std::optional<DataRecord> data;        // set by training; absent in format-1 files
};

class Model {
 public:
  // Validates `spec`. Errors name the layer: "layer 5 (dense): expects 256 inputs, previous
  // layer gives 196".
  static Result<Model> create(ModelSpec spec);

  const ModelSpec& spec() const { return spec_; }
  const std::string& architecture() const { return spec_.architecture; }
  const InputSpec& input() const { return spec_.input; }
  TensorShape input_shape() const { return spec_.input.shape(); }
  const std::vector<Layer>& layers() const { return spec_.layers; }
  const std::vector<std::string>& class_names() const { return spec_.class_names; }
  int classes() const { return static_cast<int>(spec_.class_names.size()); }

  // Output shape of layer i (shapes().size() == layers().size()).
  const std::vector<TensorShape>& shapes() const { return shapes_; }
  TensorShape output_shape() const { return shapes_.back(); }

  std::size_t parameter_count() const;
  int multiplicative_depth() const;  // sum of layer_depth over the layers

  // A human-readable summary: one line per layer with its output shape, parameters and
  // depth, then totals.
  std::string describe() const;

 private:
  Model(ModelSpec spec, std::vector<TensorShape> shapes)
      : spec_(std::move(spec)), shapes_(std::move(shapes)) {}
  ModelSpec spec_;
  std::vector<TensorShape> shapes_;
};

// Shape inference alone: the output shape of `layer` applied to `in`, or the reason it cannot
// be applied (without the layer-number prefix).
Result<TensorShape> infer_shape(const Layer& layer, const TensorShape& in);

// Batch-norm statistics of one BatchNorm1d/2d layer (eval mode): y = gamma (x - mean) /
// sqrt(var + eps) + beta, per channel (conv) or feature (dense).
struct BatchNorm {
  std::vector<double> gamma;
  std::vector<double> beta;
  std::vector<double> running_mean;
  std::vector<double> running_var;
  double eps = 1e-5;
};

// The linear layer equal to `layer` followed by `bn`: weights of output o scaled by
// s = gamma[o] / sqrt(var[o] + eps), bias b'[o] = (b[o] - mean[o]) s + beta[o].
// Throws hemi::Error if the sizes do not match the layer's outputs or var + eps <= 0.
Conv2d fold_batch_norm(const Conv2d& conv, const BatchNorm& bn);
Dense fold_batch_norm(const Dense& dense, const BatchNorm& bn);

}  // namespace hemi::nn
