#include "hemi/train/recipe.h"

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

}  // namespace hemi::train
