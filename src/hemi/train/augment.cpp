#include "hemi/train/augment.h"

#include <cmath>

namespace hemi::train {

torch::Tensor augment(const torch::Tensor& x, const Augmentation& a, at::Generator& gen) {
  if (!a.any()) return x;
  torch::NoGradGuard no_grad;
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const auto fopts = torch::TensorOptions().dtype(x.scalar_type());
  torch::Tensor y = x;
  if (a.flip) {
    torch::Tensor mask = torch::rand({n}, gen, fopts) < 0.5;
    y = torch::where(mask.view({n, 1, 1, 1}), y.flip({3}), y);
  }
  if (a.rotate_degrees > 0 || a.shift_pixels > 0) {
    // Output pixel -> input pixel: rotation about the centre, then a whole-pixel shift; in
    // affine_grid's normalized coordinates ([-1, 1] on each axis, so a pixel is 2/W wide).
    torch::Tensor angle = torch::zeros({n}, fopts);
    if (a.rotate_degrees > 0)
      angle = (torch::rand({n}, gen, fopts) * 2 - 1) * (a.rotate_degrees * 3.14159265358979323846 / 180);
    torch::Tensor dx = torch::zeros({n}, fopts), dy = torch::zeros({n}, fopts);
    if (a.shift_pixels > 0) {
      dx = torch::randint(-a.shift_pixels, a.shift_pixels + 1, {n}, gen, fopts);
      dy = torch::randint(-a.shift_pixels, a.shift_pixels + 1, {n}, gen, fopts);
    }
    const double hw = static_cast<double>(h) / static_cast<double>(w);
    torch::Tensor c = angle.cos(), s = angle.sin();
    torch::Tensor theta = torch::stack({torch::stack({c, -s * hw, dx * (2.0 / static_cast<double>(w))}, 1),
                                        torch::stack({s / hw, c, dy * (2.0 / static_cast<double>(h))}, 1)},
                                       1);  // n x 2 x 3
    namespace F = torch::nn::functional;
    torch::Tensor grid = F::affine_grid(theta, {n, x.size(1), h, w}, /*align_corners=*/false);
    y = F::grid_sample(y, grid,
                       F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
  }
  return y;
}

double clip_gradient_norm(torch::Tensor& grad, double max_norm) {
  torch::NoGradGuard no_grad;
  const double norm = grad.norm().item<double>();
  if (norm > max_norm) grad.mul_(max_norm / (norm + 1e-12));
  return norm;
}

}  // namespace hemi::train
