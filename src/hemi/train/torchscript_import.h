// Importing a TorchScript module (torch.jit.script or torch.jit.trace, saved with .save())
// into an nn::Model, verified against the module's own forward. This header does not include
// libtorch.
//
// The import reads the module's `forward` graph with every method and function call inlined
// (not the list of submodules), so operations written inline in forward() are seen. It runs
// the graph abstractly: parameters, constants, sizes and control flow on constants are
// evaluated; each tensor that depends on the input is tracked as a polynomial of the
// network's latest activation. Supported (the full table is in docs/training.md):
//   conv2d/_convolution/convolution (groups 1, dilation 1)  -> conv2d
//   linear, addmm, matmul/mm by a constant matrix            -> dense
//   avg_pool2d (padding 0), adaptive_avg_pool2d (exact), mean over H, W -> avgpool2d
//   flatten(x, 1), view/reshape to (batch, -1)               -> flatten
//   element-wise +, -, *, / by constants, x*x, pow(x, n), square, neg on one activation
//                                                            -> square / polynomial
//   batch_norm (eval), per-channel affine constants after conv2d/dense -> folded into it
//   dropout (eval), contiguous, clone, detach                -> nothing
// Anything else that touches the activations is refused, naming the operation, the module it
// sits in and its source line, e.g.
//   "torchscript 'net.pt': unsupported operation 'aten::relu' in 'features.2'
//    ("return torch.relu(x)", net.py:12); hemi's layers are conv2d, ..."
// The result is then checked: the module's forward (libtorch, in its weights' type) and hemi's
// interpreter (double) run on `check_samples` seeded random inputs drawn uniformly from the
// input range the normalization can produce, and the import is refused when the largest
// difference of any output exceeds check_tolerance · max(1, largest |output| of the module).
// The input shape and class names are not in the module and come from ImportOptions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hemi/nn/model.h"

namespace hemi::train {

struct ImportOptions {
  nn::InputSpec input;                   // channels, size, normalization
  std::vector<std::string> class_names;  // empty: "0", "1", ... one per output
  std::string architecture;              // empty: "torchscript:<file name>"
  int check_samples = 16;                // seeded random inputs for the check (>= 1)
  std::uint64_t check_seed = 1;
  double check_tolerance = 1e-4;         // relative to max(1, largest |output|)
};

// The comparison of the imported model with the module's own forward.
struct ImportCheck {
  int samples = 0;
  double max_difference = 0;  // max over samples and outputs of |module - imported|
  double scale = 1;           // max(1, largest |output| of the module)
  double tolerance = 0;       // check_tolerance · scale: the bound max_difference met
};

// Throws hemi::InputError (unreadable file, unsupported operation, shapes that do not fit the
// input, or an imported model that differs from the module's forward). `check`, if given,
// receives the comparison.
nn::Model import_torchscript(const std::string& path, const ImportOptions& options, ImportCheck* check = nullptr);

// The comparison alone: runs the module in `path` and `model` on the seeded inputs of
// `options` and throws hemi::InputError if they differ beyond the tolerance (or the module's
// output does not have the model's shape). import_torchscript calls it on its result.
ImportCheck check_torchscript(const std::string& path, const nn::Model& model, const ImportOptions& options);

}  // namespace hemi::train
