// INTERNAL to the train layer (and its tests; includes libtorch): per-example gradients of the
// summed cross-entropy, one row per example, flattened in net->parameters() order
// (layer by layer, weight then bias).
#pragma once

#include <torch/torch.h>

#include "hemi/train/torch_model.h"

namespace hemi::train {

// Closed forms from one batched forward and backward pass (as Opacus's hooks compute them):
// with a_i the input and g_i = ∂ℓ_i/∂z_i the output gradient of a layer for example i,
//   dense:  ∂ℓ_i/∂W = g_i a_iᵀ,                  ∂ℓ_i/∂b = g_i;
//   conv2d: ∂ℓ_i/∂W = g_i · unfold(a_i)ᵀ (im2col), ∂ℓ_i/∂b = Σ_positions g_i.
// Returns N × P (and the logits, detached, if `logits` is given). Cost: one forward and one
// backward pass plus one batched matrix product per layer.
torch::Tensor per_example_gradients(TorchNetImpl& net, const torch::Tensor& x, const torch::Tensor& y,
                                    torch::Tensor* logits = nullptr);

// The sum of the per-example gradients, each clipped to L2 norm `clip` (scaled by
// min(1, clip / norm_i)), without materializing the N × P matrix ("ghost clipping", Goodfellow
// 2015; Li et al. 2022): a dense layer's per-example weight-gradient norm is ‖g_i‖·‖a_i‖, a conv
// layer's per-example gradient is small (out × in·kh·kw) and is formed; the clipped sum is then
// one weighted product per layer. Returns the P-vector; `norms` (N) and `logits` if given.
torch::Tensor clipped_gradient_sum(TorchNetImpl& net, const torch::Tensor& x, const torch::Tensor& y, double clip,
                                   torch::Tensor* norms = nullptr, torch::Tensor* logits = nullptr);

// The oracle: one forward and backward pass per example. Same result, N times slower.
torch::Tensor per_example_gradients_loop(TorchNetImpl& net, const torch::Tensor& x, const torch::Tensor& y);

}  // namespace hemi::train
