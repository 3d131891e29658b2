// Internal to the train layer (includes libtorch): the graph walk behind import_torchscript.
#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

#include "hemi/nn/model.h"

namespace hemi::train::detail {

// The chain of hemi layers that `module`'s forward computes on one input of shape `input`
// (batch dimension first in torch, absent in hemi). Reads the inlined forward graph; throws
// hemi::InputError, prefixed with `what`, naming the first operation that hemi cannot represent
// exactly. See torchscript_import.h for what is supported.
std::vector<nn::Layer> layers_from_graph(const torch::jit::Module& module, const nn::TensorShape& input,
                                         const std::string& what);

}  // namespace hemi::train::detail
