// Built-in HE-friendly architectures (only linear layers, average pooling and polynomial
// activations), built for a given input and class list with freshly initialized weights.
//
//   seed-cnn  the study's network: conv C->4 7x7 stride 3 no padding, square, flatten,
//             dense (4·oh·ow)->64, square, dense 64->classes. 28x28 input: 4x8x8 = 256.
//   mri-cnn   a deeper network for larger (RGB) images, default 3x64x64:
//             conv C->8 5x5 stride 2 pad 2, poly, avgpool 2, conv 8->16 3x3 stride 2 pad 1,
//             poly, avgpool 2, flatten, dense ->32, poly, dense 32->classes, where
//             poly(x) = 0.25 + 0.5 x + 0.125 x² (a degree-2 stand-in for ReLU).
//   lenet-1   LeNet-1 as Falsetta et al. run it under BFV: conv C->4 5x5, square, avgpool 2,
//             conv 4->12 5x5, square, avgpool 2, flatten, dense ->classes. 28x28 input:
//             4x24x24 -> 4x12x12 -> 12x8x8 -> 12x4x4 = 192 -> classes.
//   medcnn    issue 12's reference network for square 64x64 (or 128x128) gray or RGB
//             images: conv C->16 3x3 stride 2 pad 1, act, conv 16->32 3x3 stride 2 pad 1,
//             act, avgpool 2, conv 32->64 3x3 pad 1, act, avgpool 2, flatten, dense ->64,
//             act, dense 64->classes. 64x64: 16x32x32 -> 32x16x16 -> 32x8x8 -> 64x8x8 ->
//             64x4x4 = 1024 -> 64 -> classes. Default act: the trainable quadratic.
//             ArchitectureOptions::widths changes the four widths (16, 32, 64 channels and
//             64 hidden units), e.g. {16, 32, 64, 128} for a wider dense hidden layer.
//
// The activation `act` (ArchitectureOptions::activation) replaces every activation layer:
//   square  x²
//   poly    c0 + c1 x + c2 x², starting at the least-squares fit of ReLU under a standard
//           normal input (c0 = c2 = 1/sqrt(8 pi), c1 = 1/2; Hermite projection), trained with
//           the weights when train::TrainOptions::train_polynomials is set (`hemi train`
//           and `hemi run` set it for --activation poly)
//   relu    max(0, x): plaintext only, the accuracy reference (the compilers refuse it)
// kDefault keeps each network's own: x² for seed-cnn and lenet-1, the fixed quadratic
// 0.25 + 0.5 x + 0.125 x² for mri-cnn, poly for medcnn.
//
// Initialization matches PyTorch's default for Conv2d/Linear: weights and biases uniform in
// [-1/sqrt(fan_in), 1/sqrt(fan_in)], drawn from a generator seeded by `seed` (deterministic
// on every platform).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hemi/base/error.h"
#include "hemi/nn/model.h"

namespace hemi::nn {

enum class Activation { kDefault, kSquare, kPoly, kRelu };
const char* to_string(Activation a);  // "default", "square", "poly", "relu"
// "square" (also "x2"), "poly", "relu", "default"; throws hemi::Error naming the value otherwise.
Activation parse_activation(std::string_view name);
// The starting coefficients of --activation poly (c0 first).
std::vector<double> relu_fit_quadratic();

struct ArchitectureOptions {
  InputSpec input;                       // channels (gray/rgb), size, normalization
  std::vector<std::string> class_names;  // the number of outputs
  std::uint64_t seed = 0;                // weight initialization
  Activation activation = Activation::kDefault;
  // medcnn only: the output channels of its three convolutions and the dense hidden layer's
  // units, in that order (empty = {16, 32, 64, 64}, the network). Each in [1, 4096].
  std::vector<int> widths;
};

// medcnn's own widths: {16, 32, 64, 64}.
std::vector<int> medcnn_default_widths();
// "16,32,64,128" <-> {16, 32, 64, 128}. parse_widths throws hemi::Error naming the value unless
// it is four comma-separated integers in [1, 4096].
std::vector<int> parse_widths(std::string_view text);
std::string widths_to_string(const std::vector<int>& widths);

std::vector<std::string> architecture_names();  // {"seed-cnn", "mri-cnn", "lenet-1", "medcnn"}
std::string architecture_list();                // "seed-cnn, mri-cnn, lenet-1, medcnn"
bool is_architecture(std::string_view name);

// The input an architecture was designed for: seed-cnn and lenet-1 gray 28x28, mri-cnn rgb 64x64
// (normalization mean 0, std 1), medcnn gray 64x64 (mean 0.5, std 0.5). Throws hemi::Error for
// an unknown name.
InputSpec default_input(std::string_view name);

// Fails with a clear reason for an unknown name or an input too small for the network.
Result<Model> build_architecture(std::string_view name, const ArchitectureOptions& options);

}  // namespace hemi::nn
