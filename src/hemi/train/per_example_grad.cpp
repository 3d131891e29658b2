#include "hemi/train/per_example_grad.h"

namespace hemi::train {

torch::Tensor per_example_gradients(TorchNetImpl& net, const torch::Tensor& x, const torch::Tensor& y,
                                    torch::Tensor* logits_out) {
  std::vector<torch::Tensor> inputs, outputs;
  torch::Tensor logits = net.forward_recording(x, &inputs, &outputs);
  torch::Tensor loss = torch::nn::functional::cross_entropy(
      logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  // The loss is a sum over examples, so row i of each output gradient is ∂ℓ_i/∂z_i.
  std::vector<torch::Tensor> grads = torch::autograd::grad({loss}, outputs);
  torch::NoGradGuard no_grad;
  if (logits_out) *logits_out = logits.detach();
  const int64_t n = x.size(0);
  std::vector<torch::Tensor> parts;
  std::size_t k = 0;
  for (const auto& layer : net.spec().layers) {
    if (auto* c = std::get_if<nn::Conv2d>(&layer)) {
      torch::Tensor a = torch::nn::functional::unfold(
          inputs[k], torch::nn::functional::UnfoldFuncOptions({c->kernel_h, c->kernel_w})
                         .padding({c->pad_h, c->pad_w})
                         .stride({c->stride_h, c->stride_w}));   // N × (C·kh·kw) × L
      torch::Tensor g = grads[k].reshape({n, c->out_channels, -1});  // N × O × L
      parts.push_back(torch::bmm(g, a.transpose(1, 2)).reshape({n, -1}));
      if (!c->bias.empty()) parts.push_back(g.sum(2));
      ++k;
    } else if (auto* d = std::get_if<nn::Dense>(&layer)) {
      const torch::Tensor& g = grads[k];  // N × out
      parts.push_back(torch::bmm(g.unsqueeze(2), inputs[k].unsqueeze(1)).reshape({n, -1}));
      if (!d->bias.empty()) parts.push_back(g);
      ++k;
    }
  }
  return torch::cat(parts, 1);
}

torch::Tensor clipped_gradient_sum(TorchNetImpl& net, const torch::Tensor& x, const torch::Tensor& y, double clip,
                                   torch::Tensor* norms_out, torch::Tensor* logits_out) {
  std::vector<torch::Tensor> inputs, outputs;
  torch::Tensor logits = net.forward_recording(x, &inputs, &outputs);
  torch::Tensor loss = torch::nn::functional::cross_entropy(
      logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  std::vector<torch::Tensor> grads = torch::autograd::grad({loss}, outputs);
  torch::NoGradGuard no_grad;
  if (logits_out) *logits_out = logits.detach();
  const int64_t n = x.size(0);
  // Pass 1: squared per-example norms, layer by layer; keep what pass 2 needs.
  struct Piece {
    torch::Tensor per_example;  // conv: N × O × K weight gradients
    torch::Tensor g, a;         // dense: N × out, N × in
    bool conv, bias;
  };
  std::vector<Piece> pieces;
  torch::Tensor sq = torch::zeros({n});
  std::size_t k = 0;
  for (const auto& layer : net.spec().layers) {
    if (auto* c = std::get_if<nn::Conv2d>(&layer)) {
      torch::Tensor a = torch::nn::functional::unfold(
          inputs[k], torch::nn::functional::UnfoldFuncOptions({c->kernel_h, c->kernel_w})
                         .padding({c->pad_h, c->pad_w})
                         .stride({c->stride_h, c->stride_w}));
      torch::Tensor g = grads[k].reshape({n, c->out_channels, -1});
      torch::Tensor w = torch::bmm(g, a.transpose(1, 2));  // N × O × K
      sq += w.square().sum({1, 2});
      torch::Tensor b = g.sum(2);                          // N × O
      if (!c->bias.empty()) sq += b.square().sum(1);
      pieces.push_back({w, b, {}, true, !c->bias.empty()});
      ++k;
    } else if (auto* d = std::get_if<nn::Dense>(&layer)) {
      const torch::Tensor& g = grads[k];
      const torch::Tensor& a = inputs[k];
      torch::Tensor g2 = g.square().sum(1);
      sq += g2 * a.square().sum(1);  // ‖g aᵀ‖_F = ‖g‖·‖a‖
      if (!d->bias.empty()) sq += g2;
      pieces.push_back({{}, g, a, false, !d->bias.empty()});
      ++k;
    }
  }
  torch::Tensor norms = sq.sqrt();
  torch::Tensor scale = (clip / (norms + 1e-12)).clamp_max(1.0);  // N
  if (norms_out) *norms_out = norms;
  // Pass 2: Σ_i scale_i · (per-example gradient)_i, weight then bias, layer by layer.
  std::vector<torch::Tensor> parts;
  for (const auto& p : pieces) {
    if (p.conv) {
      parts.push_back(torch::tensordot(scale, p.per_example, {0}, {0}).reshape({-1}));
      if (p.bias) parts.push_back(torch::matmul(scale, p.g));
    } else {
      torch::Tensor gs = p.g * scale.unsqueeze(1);
      parts.push_back(torch::matmul(gs.t(), p.a).reshape({-1}));
      if (p.bias) parts.push_back(gs.sum(0));
    }
  }
  return torch::cat(parts);
}

torch::Tensor per_example_gradients_loop(TorchNetImpl& net, const torch::Tensor& x, const torch::Tensor& y) {
  std::vector<torch::Tensor> params = net.parameters();
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < x.size(0); ++i) {
    torch::Tensor loss = torch::nn::functional::cross_entropy(net.forward(x.slice(0, i, i + 1)), y.slice(0, i, i + 1));
    std::vector<torch::Tensor> g = torch::autograd::grad({loss}, params);
    for (auto& t : g) t = t.reshape({-1});
    rows.push_back(torch::cat(g));
  }
  return torch::stack(rows);
}

}  // namespace hemi::train
