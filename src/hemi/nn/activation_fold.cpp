#include "hemi/nn/activation_fold.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <variant>

namespace hemi::nn {
namespace {

bool passes_constants(const Layer& l) {
  return std::holds_alternative<AvgPool2d>(l) || std::holds_alternative<Flatten>(l);
}

// The conv2d or dense layer reached from `from` by stepping `dir` over average poolings and
// flattens only, or nullopt.
std::optional<std::size_t> linear_neighbour(const std::vector<Layer>& layers, std::size_t from, int dir) {
  long long i = static_cast<long long>(from) + dir;
  while (i >= 0 && i < static_cast<long long>(layers.size()) && passes_constants(layers[static_cast<std::size_t>(i)])) i += dir;
  if (i < 0 || i >= static_cast<long long>(layers.size())) return std::nullopt;
  if (!is_linear(layers[static_cast<std::size_t>(i)])) return std::nullopt;
  return static_cast<std::size_t>(i);
}

// max |q(y)| over |y| <= r for q(y) = q2 y² + q1 y + q0: at an end or at the vertex.
double max_abs_quadratic(double q2, double q1, double q0, double r) {
  auto f = [&](double y) { return std::abs((q2 * y + q1) * y + q0); };
  double m = std::max(f(-r), f(r));
  if (q2 != 0) {
    const double v = -q1 / (2 * q2);
    if (std::abs(v) <= r) m = std::max(m, f(v));
  }
  return m;
}

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

std::vector<double>& bias_of(Layer& l, std::size_t outputs) {
  std::vector<double>& b = std::holds_alternative<Conv2d>(l) ? std::get<Conv2d>(l).bias : std::get<Dense>(l).bias;
  if (b.empty()) b.assign(outputs, 0.0);  // empty means zero
  return b;
}

}  // namespace

std::size_t ActivationFold::folded() const {
  return static_cast<std::size_t>(std::count_if(notes.begin(), notes.end(), [](const auto& n) { return n.folded; }));
}

ActivationFold fold_quadratic_activations(const Model& model, const ActivationFoldOptions& options) {
  if (!(options.input_range > 0) || !std::isfinite(options.input_range))
    throw Error("activation fold: input range " + fmt(options.input_range) + " must be positive");
  if (!(options.max_lost_bits >= 0)) throw Error("activation fold: max lost bits " + fmt(options.max_lost_bits) + " must be >= 0");
  ModelSpec spec = model.spec();
  std::vector<Layer>& L = spec.layers;
  std::vector<ActivationFoldNote> notes;
  for (std::size_t i = 0; i < L.size(); ++i) {
    const auto* poly = std::get_if<Polynomial>(&L[i]);
    if (!poly) continue;
    ActivationFoldNote note;
    note.layer = i;
    auto keep = [&](const std::string& why) {
      note.text = "kept (" + std::to_string(layer_depth(L[i])) + " levels): " + why;
      notes.push_back(note);
    };
    if (poly->degree() != 2) {
      keep("degree " + std::to_string(poly->degree()) + ", only quadratics are folded");
      continue;
    }
    const double c = poly->coefficients[0], b = poly->coefficients[1], a = poly->coefficients[2];
    const auto before = linear_neighbour(L, i, -1);
    const auto after = linear_neighbour(L, i, +1);
    if (!before) {
      keep("no conv2d or dense layer before it to take the shift");
      continue;
    }
    if (!after) {
      keep("no conv2d or dense layer after it to take the factor");
      continue;
    }
    const double s = b / (2 * a), k = (c - b * b / (4 * a)) / a;
    note.shift = s;
    note.factor = a;
    note.constant = k;
    const Layer& next = L[*after];
    const bool padded_next = std::holds_alternative<Conv2d>(next) &&
                             (std::get<Conv2d>(next).pad_h > 0 || std::get<Conv2d>(next).pad_w > 0);
    const bool keep_constant = padded_next && k != 0;
    // Values carried to the next layer: (y + s)² (+ k) against the original p(y).
    const double r = options.input_range;
    const double carried = max_abs_quadratic(1.0, 2 * s, s * s + (keep_constant ? k : 0.0), r);
    const double original = max_abs_quadratic(a, b, c, r);
    const double lost = std::log2(carried / original);
    note.lost_bits = std::isfinite(lost) ? std::max(0.0, lost) : INFINITY;
    if (!std::isfinite(s) || !std::isfinite(k) || !(note.lost_bits <= options.max_lost_bits)) {
      keep("folding would carry values 2^" + fmt(note.lost_bits) + " times larger than the original's on |y| <= " +
           fmt(r) + " (a = " + fmt(a) + ", shift " + fmt(s) + "), over 2^" + fmt(options.max_lost_bits));
      continue;
    }
    // The shift, into every bias of the layer before (one value per output channel/feature).
    {
      Layer& prev = L[*before];
      const std::size_t outs = std::holds_alternative<Conv2d>(prev) ? static_cast<std::size_t>(std::get<Conv2d>(prev).out_channels)
                                                                  : static_cast<std::size_t>(std::get<Dense>(prev).out_features);
      for (double& v : bias_of(prev, outs)) v += s;
    }
    // The factor, into the weights of the layer after; the constant into its bias if it reads
    // no padding.
    {
      Layer& nx = L[*after];
      std::vector<double>& w = std::holds_alternative<Conv2d>(nx) ? std::get<Conv2d>(nx).weight : std::get<Dense>(nx).weight;
      const std::size_t outs = std::holds_alternative<Conv2d>(nx) ? static_cast<std::size_t>(std::get<Conv2d>(nx).out_channels)
                                                                : static_cast<std::size_t>(std::get<Dense>(nx).out_features);
      for (double& v : w) v *= a;
      if (!keep_constant && k != 0) {
        std::vector<double>& bias = bias_of(nx, outs);
        const std::size_t per = w.size() / outs;  // weights of one output, contiguous ([out][...])
        for (std::size_t o = 0; o < outs; ++o) {
          double sum = 0;
          for (std::size_t j = 0; j < per; ++j) sum += w[o * per + j];
          bias[o] += k * sum;
        }
      }
    }
    note.folded = true;
    note.constant_kept = keep_constant;
    if (keep_constant)
      L[i] = Polynomial{{k, 0.0, 1.0}};
    else
      L[i] = Square{};
    auto signed_term = [](double v) { return (v < 0 ? " - " : " + ") + fmt(std::abs(v)); };
    note.text = "folded (1 level): " + fmt(a) + " * ((y" + signed_term(s) + ")^2" + signed_term(k) + "), shift into layer " +
                std::to_string(*before) + ", factor into layer " + std::to_string(*after) +
                (keep_constant ? ", constant kept (layer " + std::to_string(*after) + " is padded)"
                               : (k != 0 ? ", constant into layer " + std::to_string(*after) + "'s bias" : std::string())) +
                "; carried values up to 2^" + fmt(note.lost_bits) + " times the original's";
    notes.push_back(note);
  }
  ActivationFold out{model, std::move(notes)};
  if (out.folded() == 0) return out;
  auto made = Model::create(std::move(spec));
  if (!made) throw Error("activation fold: internal: the rewritten model is invalid: " + made.error());
  out.model = std::move(made).value();
  return out;
}

}  // namespace hemi::nn
