// Importing a TorchScript module (torch.jit.script / torch.jit.trace, saved with .save())
// into an nn::Model. This header does not include libtorch.
//
// The module's leaf submodules are read in registration order (as nn.Sequential runs them):
//   Conv2d (groups 1, dilation 1, zero padding) -> conv2d   Linear -> dense
//   AvgPool2d (padding 0, ceil_mode false)       -> avgpool2d Flatten (start_dim 1) -> flatten
//   BatchNorm1d/2d -> folded into the conv2d/dense directly before it
//   Dropout, Identity -> skipped (identity at inference)
//   a parameter-free module whose forward is x*x (e.g. class Square) -> square
//   a module with a `coefficients` attribute (c0 first) whose forward evaluates that
//   polynomial -> polynomial
// A flatten is inserted before the first dense layer if the module flattens in forward()
// (x.view / torch.flatten) rather than with nn.Flatten. Anything else is refused with an
// error naming the first unsupported layer, e.g.
//   "torchscript 'net.pt': unsupported layer 'features.2' (ReLU)".
// The input shape and class names are not in the module and come from ImportOptions.
#pragma once

#include <string>
#include <vector>

#include "hemi/nn/model.h"

namespace hemi::train {

struct ImportOptions {
  nn::InputSpec input;                   // channels, size, normalization
  std::vector<std::string> class_names;  // empty: "0", "1", ... one per output
  std::string architecture;              // empty: "torchscript:<file name>"
};

// Throws hemi::Error (unreadable file, unsupported layer, shapes that do not fit the input).
nn::Model import_torchscript(const std::string& path, const ImportOptions& options);

}  // namespace hemi::train
