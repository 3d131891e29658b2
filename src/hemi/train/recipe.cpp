#include "hemi/train/recipe.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "hemi/base/error.h"

namespace hemi::train {

const char* to_string(LrSchedule s) {
  switch (s) {
    case LrSchedule::kCosine: return "cosine";
    case LrSchedule::kStep: return "step";
    default: return "constant";
  }
}

LrSchedule parse_lr_schedule(std::string_view name) {
  if (name == "constant") return LrSchedule::kConstant;
  if (name == "cosine") return LrSchedule::kCosine;
  if (name == "step") return LrSchedule::kStep;
  throw Error("unknown learning-rate schedule '" + std::string(name) + "' (known: constant, cosine, step)");
}

double learning_rate_at(const ScheduleOptions& s, double lr, int epoch, int epochs) {
  if (epoch < 0 || epochs < 1 || epoch >= epochs)
    throw Error("learning_rate_at: epoch " + std::to_string(epoch) + " outside [0, " + std::to_string(epochs) + ")");
  switch (s.kind) {
    case LrSchedule::kCosine:
      return lr * 0.5 * (1 + std::cos(3.14159265358979323846 * epoch / epochs));
    case LrSchedule::kStep:
      return lr * std::pow(s.step_gamma, epoch / s.step_epochs);
    default:
      return lr;
  }
}

std::string Augmentation::describe() const {
  if (!any()) return "none";
  std::string out;
  char buf[64];
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
  if (flip) add("horizontal flip");
  if (rotate_degrees > 0) {
    std::snprintf(buf, sizeof buf, "rotate ±%g°", rotate_degrees);
    add(buf);
  }
  if (shift_pixels > 0) add("shift ±" + std::to_string(shift_pixels) + " px");
  return out;
}

std::vector<double> balanced_class_weights(const std::vector<int>& labels, int classes) {
  if (classes < 1) throw Error("class weights: need at least one class, got " + std::to_string(classes));
  std::vector<std::size_t> count(static_cast<std::size_t>(classes), 0);
  for (int y : labels) {
    if (y < 0 || y >= classes)
      throw Error("class weights: label " + std::to_string(y) + " outside [0, " + std::to_string(classes) + ")");
    ++count[static_cast<std::size_t>(y)];
  }
  std::size_t present = 0;
  for (auto c : count) present += c > 0;
  std::vector<double> w(count.size(), 0.0);
  for (std::size_t c = 0; c < count.size(); ++c)
    if (count[c])
      w[c] = static_cast<double>(labels.size()) / (static_cast<double>(present) * static_cast<double>(count[c]));
  return w;
}

std::size_t best_epoch(const std::vector<double>& accuracy, const std::vector<double>& loss) {
  if (accuracy.empty() || accuracy.size() != loss.size())
    throw Error("best_epoch: need one validation accuracy and loss per epoch, got " + std::to_string(accuracy.size()) +
                " and " + std::to_string(loss.size()));
  std::size_t best = 0;
  for (std::size_t e = 1; e < accuracy.size(); ++e)
    if (accuracy[e] > accuracy[best] || (accuracy[e] == accuracy[best] && loss[e] < loss[best])) best = e;
  return best;
}

std::vector<double> relu_least_squares_quadratic(const std::vector<double>& x) {
  // Normal equations A c = b with A[i][j] = Σ x^(i+j), b[i] = Σ relu(x) x^i, centred and
  // scaled first (u = (x − m)/s) so that the moments stay well conditioned.
  double m = 0, s = 0;
  for (double v : x) m += v;
  m /= std::max<std::size_t>(1, x.size());
  for (double v : x) s = std::max(s, std::abs(v - m));
  if (!(s > 0) || !std::isfinite(s))
    throw Error("relu fit: need at least 3 distinct finite pre-activation values, got " + std::to_string(x.size()) +
                " values spanning " + std::to_string(s));
  double p[5] = {0, 0, 0, 0, 0}, b[3] = {0, 0, 0};
  for (double v : x) {
    const double u = (v - m) / s, r = std::max(0.0, v);
    double k = 1;
    for (int i = 0; i < 5; ++i, k *= u) {
      p[i] += k;
      if (i < 3) b[i] += r * k;
    }
  }
  double a[3][4] = {{p[0], p[1], p[2], b[0]}, {p[1], p[2], p[3], b[1]}, {p[2], p[3], p[4], b[2]}};
  for (int c = 0; c < 3; ++c) {  // Gauss-Jordan with partial pivoting
    int piv = c;
    for (int r = c + 1; r < 3; ++r)
      if (std::abs(a[r][c]) > std::abs(a[piv][c])) piv = r;
    for (int k = 0; k < 4; ++k) std::swap(a[c][k], a[piv][k]);
    if (std::abs(a[c][c]) < 1e-12 * p[0])
      throw Error("relu fit: the " + std::to_string(x.size()) + " pre-activation values take fewer than 3 distinct values");
    for (int r = 0; r < 3; ++r) {
      if (r == c) continue;
      const double f = a[r][c] / a[c][c];
      for (int k = c; k < 4; ++k) a[r][k] -= f * a[c][k];
    }
  }
  const double d0 = a[0][3] / a[0][0], d1 = a[1][3] / a[1][1], d2 = a[2][3] / a[2][2];
  // Back to x: d0 + d1 u + d2 u² with u = (x − m)/s.
  return {d0 - d1 * m / s + d2 * m * m / (s * s), d1 / s - 2 * d2 * m / (s * s), d2 / (s * s)};
}

}  // namespace hemi::train
