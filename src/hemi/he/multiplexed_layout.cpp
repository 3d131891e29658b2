#include "hemi/he/multiplexed_layout.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <set>
#include <variant>

#include "hemi/ckks/params.h"
#include "hemi/he/activations.h"
#include "hemi/he/cost_model.h"

namespace hemi::he {

namespace {

// The channel that block `blk` of input ciphertext `ct` holds, or -1.
int channel_at(const MuxOp& op, int nb, int ct, int blk) {
  if (op.replicated_in) return ct == 0 ? blk % op.in.channels : -1;
  const int c = ct * nb + blk;
  return c < op.in.channels ? c : -1;
}

// Where output block b reads input channel c from: (ciphertext, block). A replicated input
// whose channel count divides the blocks has channel c in block b + r for one r < C.
std::pair<int, int> chosen_location(const MuxOp& op, int nb, int b, int c) {
  const int C = op.in.channels;
  if (op.replicated_in && nb % C == 0) return {0, (b + ((c - b % C) % C + C) % C) % nb};
  if (op.replicated_in) return {0, b % C == c ? b : c};
  return {c / nb, c % nb};
}

// Does term (T_o, T_i, r) carry any weight (some output block reads its channel there)?
bool term_used(const MuxOp& op, int nb, int out_ct, int in_ct, int r) {
  for (int b = 0; b < nb; ++b) {
    if (out_ct * nb + b >= op.out.channels) break;
    const int bi = (b + r) % nb;
    const int c = channel_at(op, nb, in_ct, bi);
    if (c < 0) continue;
    if (chosen_location(op, nb, b, c) == std::pair<int, int>{in_ct, bi}) return true;
  }
  return false;
}

std::vector<int> pool_steps_of(const nn::AvgPool2d& a, const MuxGrid& g, long long W0) {
  std::vector<int> s;
  for (int u = 0; u < a.kernel_h; ++u)
    for (int v = 0; v < a.kernel_w; ++v)
      if (u || v) s.push_back(static_cast<int>(u * g.gap * W0 + v * g.gap));
  return s;
}

MuxGrid pooled_grid_of(const nn::AvgPool2d& a, const MuxGrid& g) {
  MuxGrid o = g;
  o.height = (g.height - a.kernel_h) / a.stride_h + 1;
  o.width = (g.width - a.kernel_w) / a.stride_w + 1;
  o.gap = g.gap * a.stride_h;
  return o;
}

MuxGrid conv_out_grid(const nn::Conv2d& c, const MuxGrid& g) {
  return {c.out_channels, (g.height + 2 * c.pad_h - c.kernel_h) / c.stride_h + 1, (g.width + 2 * c.pad_w - c.kernel_w) / c.stride_w + 1,
          g.gap * c.stride_h};
}

// A dense layer may rotate-and-sum over its positions when their power-of-two extents stay in
// one row and one block.
bool dense_sum_fits(const MuxGrid& g, long long W0, std::size_t block) {
  const std::size_t ph = std::bit_ceil(static_cast<std::size_t>(g.height)), pw = std::bit_ceil(static_cast<std::size_t>(g.width));
  return pw * static_cast<std::size_t>(g.gap) <= static_cast<std::size_t>(W0) &&
         ph * static_cast<std::size_t>(g.gap) * static_cast<std::size_t>(W0) <= block;
}

std::vector<int> dense_sum_steps(const MuxGrid& g, long long W0) {
  std::vector<int> v;
  if (g.height * g.width <= 1) return v;
  const std::size_t ph = std::bit_ceil(static_cast<std::size_t>(g.height)), pw = std::bit_ceil(static_cast<std::size_t>(g.width));
  for (std::size_t s = 1; s < pw; s <<= 1) v.push_back(static_cast<int>(s * static_cast<std::size_t>(g.gap)));
  for (std::size_t s = 1; s < ph; s <<= 1) v.push_back(static_cast<int>(s * static_cast<std::size_t>(g.gap) * static_cast<std::size_t>(W0)));
  return v;
}

struct KernelOffset {
  int du = 0, dv = 0;  // in pooled-grid units (conv: u - pad, v - pad; dense offsets: i, j)
  int u = 0, v = 0;    // kernel index (conv) or position (dense)
};

std::vector<KernelOffset> kernel_offsets(const MuxOp& op, const nn::Layer& layer) {
  std::vector<KernelOffset> k;
  if (op.weights == MuxOp::kConv) {
    const auto& c = std::get<nn::Conv2d>(layer);
    for (int u = 0; u < c.kernel_h; ++u)
      for (int v = 0; v < c.kernel_w; ++v) k.push_back({u - c.pad_h, v - c.pad_w, u, v});
  } else if (op.weights == MuxOp::kDenseOffsets) {
    for (int i = 0; i < op.pooled.height; ++i)
      for (int j = 0; j < op.pooled.width; ++j) k.push_back({i, j, i, j});
  } else {
    k.push_back({0, 0, 0, 0});
  }
  return k;
}

int conv_stride(const nn::Layer& layer, bool h) {
  const auto& c = std::get<nn::Conv2d>(layer);
  return h ? c.stride_h : c.stride_w;
}

// Does the convolution read inside the input at some output position for this offset?
bool conv_offset_used(const MuxOp& op, const nn::Layer& layer, const KernelOffset& k) {
  const int sh = conv_stride(layer, true), sw = conv_stride(layer, false);
  bool row = false, col = false;
  for (int i = 0; i < op.out.height && !row; ++i) row = i * sh + k.du >= 0 && i * sh + k.du < op.pooled.height;
  for (int j = 0; j < op.out.width && !col; ++j) col = j * sw + k.dv >= 0 && j * sw + k.dv < op.pooled.width;
  return row && col;
}

// The first convolution over s^2 phase channels (channel c * s^2 + p * s + q holds
// x[c][i * s + p][j * s + q]): stride 1, symmetric padding, zero where the original kernel has
// no tap. nullopt if the phase form does not have the original's output size.
std::optional<nn::Conv2d> phase_conv(const nn::Conv2d& c, int s, int h, int w) {
  if (s < 2 || c.stride_h != s || c.stride_w != s || h % s || w % s) return std::nullopt;
  auto fdiv = [](int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
  const int lo = std::min(fdiv(-c.pad_h, s), fdiv(-c.pad_w, s));
  const int hi = std::max(fdiv(c.kernel_h - 1 - c.pad_h, s), fdiv(c.kernel_w - 1 - c.pad_w, s));
  const int pad = std::max(-lo, hi), k = 2 * pad + 1;
  const int oh = (h + 2 * c.pad_h - c.kernel_h) / s + 1, ow = (w + 2 * c.pad_w - c.kernel_w) / s + 1;
  if (oh != h / s || ow != w / s) return std::nullopt;
  nn::Conv2d p;
  p.in_channels = c.in_channels * s * s;
  p.out_channels = c.out_channels;
  p.kernel_h = p.kernel_w = k;
  p.pad_h = p.pad_w = pad;
  p.bias = c.bias;
  p.weight.assign(static_cast<std::size_t>(p.out_channels) * p.in_channels * k * k, 0.0);
  for (int o = 0; o < c.out_channels; ++o)
    for (int ci = 0; ci < c.in_channels; ++ci)
      for (int u = 0; u < c.kernel_h; ++u)
        for (int v = 0; v < c.kernel_w; ++v) {
          const int a = fdiv(u - c.pad_h, s), pu = u - c.pad_h - s * a;
          const int b = fdiv(v - c.pad_w, s), pv = v - c.pad_w - s * b;
          const int pc = ci * s * s + pu * s + pv;
          p.weight[((static_cast<std::size_t>(o) * p.in_channels + pc) * k + (a + pad)) * k + (b + pad)] =
              c.weight[((static_cast<std::size_t>(o) * c.in_channels + ci) * c.kernel_h + u) * c.kernel_w + v];
        }
  return p;
}

bool offset_has_weight(const nn::Conv2d& c, int u, int v) {
  for (int o = 0; o < c.out_channels; ++o)
    for (int i = 0; i < c.in_channels; ++i)
      if (c.weight[((static_cast<std::size_t>(o) * c.in_channels + i) * c.kernel_h + u) * c.kernel_w + v] != 0) return true;
  return false;
}

}  // namespace

int phase_factor(const nn::Model& model) {
  const auto* c = model.layers().empty() ? nullptr : std::get_if<nn::Conv2d>(&model.layers()[0]);
  if (!c) return 1;
  const nn::TensorShape in = model.input_shape();
  return phase_conv(*c, c->stride_h, in.height, in.width) ? c->stride_h : 1;
}

int multiplexed_depth(const nn::Model& model) {
  int d = 0;
  const auto& L = model.layers();
  for (std::size_t i = 0; i < L.size(); ++i) {
    if (std::holds_alternative<nn::AvgPool2d>(L[i])) {
      // fused into the next linear layer (a flatten may sit between)
      std::size_t j = i + 1;
      while (j < L.size() && std::holds_alternative<nn::Flatten>(L[j])) ++j;
      if (j < L.size() && nn::is_linear(L[j])) continue;
    }
    d += nn::layer_depth(L[i]);
  }
  return d;
}

MuxProgram lower_multiplexed(const nn::Model& model, std::size_t slots, int top_level, int phases) {
  MuxProgram p;
  nn::TensorShape in = model.input_shape();
  if (phases > 1) {
    if (phase_factor(model) != phases)
      throw Error("multiplexed layout: the model's first layer has no space-to-depth form with factor " + std::to_string(phases));
    p.phases = phases;
    p.first_layer = *phase_conv(std::get<nn::Conv2d>(model.layers()[0]), phases, in.height, in.width);
    in = {in.channels * phases * phases, in.height / phases, in.width / phases, false};
  }
  MuxFormat& f = p.format;
  f.slots = slots;
  f.block = std::bit_ceil(static_cast<std::size_t>(in.height) * static_cast<std::size_t>(in.width));
  f.base_width = in.width;
  if (f.block > slots)
    throw Error("multiplexed layout: a " + std::to_string(in.height) + "x" + std::to_string(in.width) + " image needs blocks of " +
                std::to_string(f.block) + " slots, the ring has " + std::to_string(slots));
  f.blocks = static_cast<int>(slots / f.block);
  p.input_channels = in.channels;
  p.classes = model.classes();
  if (in.channels > f.blocks)
    throw Error("multiplexed layout: " + std::to_string(in.channels) + " input channels do not fit one ciphertext of " +
                std::to_string(f.blocks) + " blocks");
  p.depth = multiplexed_depth(model);
  int level = top_level < 0 ? p.depth : top_level;
  const int nb = f.blocks;
  const long long W0 = in.width;

  MuxGrid grid{in.channels, in.height, in.width, 1};
  bool replicated = in.channels < nb;
  // A pooling waiting to be fused into the next linear layer.
  std::optional<nn::AvgPool2d> pending_pool;
  MuxGrid pending_in;
  bool pending_replicated = false;

  auto pool_steps = [&](const nn::AvgPool2d& a, const MuxGrid& g) { return pool_steps_of(a, g, W0); };
  auto pooled_grid = [&](const nn::AvgPool2d& a, const MuxGrid& g) {
    if (a.stride_h != a.stride_w)
      throw Error("multiplexed layout: average pooling with strides " + std::to_string(a.stride_h) + " x " +
                  std::to_string(a.stride_w) + " (equal strides expected: one gap per grid)");
    return pooled_grid_of(a, g);
  };

  const auto& L = model.layers();
  for (std::size_t li = 0; li < L.size(); ++li) {
    const nn::Layer& layer = p.layer(model, li);
    if (std::holds_alternative<nn::Flatten>(layer)) continue;
    if (auto* a = std::get_if<nn::AvgPool2d>(&layer)) {
      std::size_t j = li + 1;
      while (j < L.size() && std::holds_alternative<nn::Flatten>(L[j])) ++j;
      if (j < L.size() && nn::is_linear(L[j]) && !pending_pool) {
        pending_pool = *a;
        pending_in = grid;
        pending_replicated = replicated;
        grid = pooled_grid(*a, grid);
        continue;
      }
      MuxOp op;
      op.kind = MuxOp::kPoolOnly;
      op.layer = li;
      op.level_in = level;
      op.in = grid;
      op.replicated_in = replicated;
      op.in_cts = op.out_cts = f.ciphertexts(grid.channels, replicated);
      op.pool_steps = pool_steps(*a, grid);
      op.weight_factor = 1.0 / (a->kernel_h * a->kernel_w);
      op.out = op.pooled = pooled_grid(*a, grid);
      grid = op.out;
      p.ops.push_back(op);
      level -= 1;
      continue;
    }
    if (std::holds_alternative<nn::Square>(layer) || std::holds_alternative<nn::Polynomial>(layer)) {
      MuxOp op;
      op.kind = std::holds_alternative<nn::Square>(layer) ? MuxOp::kSquare : MuxOp::kPolynomial;
      if (auto* poly = std::get_if<nn::Polynomial>(&layer)) op.coefficients = poly->coefficients;
      op.layer = li;
      op.level_in = level;
      op.in = op.out = op.pooled = grid;
      op.replicated_in = replicated;
      op.in_cts = op.out_cts = f.ciphertexts(grid.channels, replicated);
      p.ops.push_back(op);
      level -= nn::layer_depth(layer);
      continue;
    }
    // conv2d or dense
    MuxOp op;
    op.kind = MuxOp::kLinear;
    op.layer = li;
    op.level_in = level;
    if (pending_pool) {
      op.in = pending_in;
      op.replicated_in = pending_replicated;
      op.pool_steps = pool_steps(*pending_pool, pending_in);
      op.weight_factor = 1.0 / (pending_pool->kernel_h * pending_pool->kernel_w);
      pending_pool.reset();
    } else {
      op.in = grid;
      op.replicated_in = replicated;
    }
    op.pooled = grid;
    op.in_cts = f.ciphertexts(op.in.channels, op.replicated_in);
    const MuxGrid& g = op.pooled;
    if (auto* c = std::get_if<nn::Conv2d>(&layer)) {
      if (c->stride_h != c->stride_w)
        throw Error("multiplexed layout: layer " + std::to_string(li) + " (conv2d) has strides " + std::to_string(c->stride_h) +
                    " x " + std::to_string(c->stride_w) + " (equal strides expected)");
      op.weights = MuxOp::kConv;
      op.out = conv_out_grid(*c, g);
      op.has_bias = !c->bias.empty();
    } else {
      const auto& d = std::get<nn::Dense>(layer);
      op.out = {d.out_features, 1, 1, g.gap};
      op.has_bias = !d.bias.empty();
      // Rotate-and-sum over the positions (log2 rotations per output ciphertext) when the
      // power-of-two extents stay in one row and one block; otherwise one offset per position.
      const std::size_t ph = std::bit_ceil(static_cast<std::size_t>(g.height)), pw = std::bit_ceil(static_cast<std::size_t>(g.width));
      const bool sum_ok = dense_sum_fits(g, W0, f.block);
      const int out_cts = f.ciphertexts(op.out.channels, false);
      const std::size_t sum_rot = static_cast<std::size_t>(out_cts) * static_cast<std::size_t>(std::countr_zero(ph) + std::countr_zero(pw));
      const std::size_t off_rot = static_cast<std::size_t>(op.in_cts) * (static_cast<std::size_t>(g.height) * static_cast<std::size_t>(g.width) - 1);
      op.weights = sum_ok && sum_rot <= off_rot ? MuxOp::kDenseSum : MuxOp::kDenseOffsets;
      if (op.weights == MuxOp::kDenseSum) op.sum_steps = dense_sum_steps(g, W0);
    }
    op.out_cts = f.ciphertexts(op.out.channels, false);
    for (auto& k : kernel_offsets(op, layer)) op.offsets.push_back(static_cast<int>(k.du * g.gap * W0 + k.dv * g.gap));
    const auto ks = kernel_offsets(op, layer);
    std::vector<char> offset_used(ks.size(), 1);
    if (op.weights == MuxOp::kConv)  // skip offsets that read only padding or have no weight
      for (std::size_t k = 0; k < ks.size(); ++k)
        offset_used[k] = conv_offset_used(op, layer, ks[k]) && offset_has_weight(std::get<nn::Conv2d>(layer), ks[k].u, ks[k].v);
    for (int to = 0; to < op.out_cts; ++to)
      for (int r = 0; r < nb; ++r)
        for (int ti = 0; ti < op.in_cts; ++ti) {
          if (!term_used(op, nb, to, ti, r)) continue;
          for (std::size_t k = 0; k < ks.size(); ++k)
            if (offset_used[k]) op.terms.push_back({to, ti, r, static_cast<int>(k)});
        }
    grid = op.out;
    replicated = false;
    p.ops.push_back(op);
    level -= 1;
  }
  if (pending_pool) throw Error("multiplexed layout: internal: a pooling was left unfused");
  // The logits: class k = channel k at position 0 of block k of one ciphertext.
  if (grid.height != 1 || grid.width != 1)
    throw Error("multiplexed layout: the network ends in a " + std::to_string(grid.channels) + "x" + std::to_string(grid.height) + "x" +
                std::to_string(grid.width) + " grid, not one value per class");
  if (p.classes > nb)
    throw Error("multiplexed layout: " + std::to_string(p.classes) + " classes do not fit one ciphertext of " + std::to_string(nb) +
                " blocks");
  if (replicated) throw Error("multiplexed layout: a network without a linear layer");
  if (level < 0) throw Error("multiplexed layout: the parameters have fewer levels than the network needs");
  return p;
}

namespace {

// Why op (a step of the plan's program) does not fit model layer `layer` (with the pooling
// fused into it, if any), or "": the grids, offsets, pooling and sum steps are the layer's, and
// every non-zero weight has its product listed. Checked before any weight is read through op.
std::string mux_fit_error(const MuxProgram& p, const MuxOp& op, const nn::Layer& layer, const nn::AvgPool2d* pool) {
  const long long W0 = p.format.base_width;
  const int nb = p.format.blocks;
  if (pool) {
    if (pool->stride_h != pool->stride_w || op.pool_steps != pool_steps_of(*pool, op.in, W0) ||
        op.weight_factor != 1.0 / (pool->kernel_h * pool->kernel_w) || op.pooled != pooled_grid_of(*pool, op.in))
      return "its pooling is not the model's " + std::to_string(pool->kernel_h) + "x" + std::to_string(pool->kernel_w) +
             " average pooling of its input";
  }
  if (op.kind != MuxOp::kLinear) return "";
  const MuxGrid& g = op.pooled;
  std::vector<KernelOffset> ks;
  if (auto* c = std::get_if<nn::Conv2d>(&layer)) {
    if (c->in_channels != g.channels || c->stride_h != c->stride_w || op.out != conv_out_grid(*c, g) ||
        op.has_bias != !c->bias.empty())
      return "its grids or bias are not the model's convolution's";
  } else {
    const auto& d = std::get<nn::Dense>(layer);
    if (static_cast<long long>(d.in_features) != static_cast<long long>(g.channels) * g.height * g.width ||
        op.out != MuxGrid{d.out_features, 1, 1, g.gap} || op.has_bias != !d.bias.empty())
      return "its grids or bias are not the model's dense layer's";
    if (op.weights == MuxOp::kDenseSum && (!dense_sum_fits(g, W0, p.format.block) || op.sum_steps != dense_sum_steps(g, W0)))
      return "its rotate-and-sum steps are not those of its " + std::to_string(g.height) + "x" + std::to_string(g.width) + " grid";
  }
  ks = kernel_offsets(op, layer);
  std::vector<int> offsets;
  for (auto& k : ks) offsets.push_back(static_cast<int>(k.du * g.gap * W0 + k.dv * g.gap));
  if (op.offsets != offsets) return "its offsets are not the layer's kernel's";
  // Every non-zero weight's product is listed (the products are ascending: mux_program_error).
  const auto key = [](const MuxTerm& t) { return std::array<int, 4>{t.out_ct, t.r, t.in_ct, t.offset}; };
  auto listed = [&](int o, int c, int k) {
    const int b = o % nb;
    const auto [in_ct, bi] = chosen_location(op, nb, b, c);
    const MuxTerm t{o / nb, in_ct, ((bi - b) % nb + nb) % nb, k};
    return std::binary_search(op.terms.begin(), op.terms.end(), t, [&](const MuxTerm& x, const MuxTerm& y) { return key(x) < key(y); });
  };
  for (int o = 0; o < op.out.channels; ++o)
    for (int c = 0; c < op.in.channels; ++c)
      for (std::size_t k = 0; k < ks.size(); ++k) {
        bool weight = false;
        if (auto* cv = std::get_if<nn::Conv2d>(&layer)) {
          weight = cv->weight[((static_cast<std::size_t>(o) * cv->in_channels + c) * cv->kernel_h + ks[k].u) * cv->kernel_w + ks[k].v] != 0 &&
                   conv_offset_used(op, layer, ks[k]);
        } else {
          const auto& d = std::get<nn::Dense>(layer);
          const std::size_t hw = static_cast<std::size_t>(g.height) * static_cast<std::size_t>(g.width);
          const double* row = d.weight.data() + static_cast<std::size_t>(o) * static_cast<std::size_t>(d.in_features) + static_cast<std::size_t>(c) * hw;
          if (op.weights == MuxOp::kDenseOffsets) weight = row[static_cast<std::size_t>(ks[k].u * g.width + ks[k].v)] != 0;
          else weight = std::any_of(row, row + hw, [](double w) { return w != 0; });
        }
        if (weight && !listed(o, c, static_cast<int>(k)))
          return "a weight (output channel " + std::to_string(o) + ", input channel " + std::to_string(c) + ", offset " +
                 std::to_string(k) + ") whose product the program does not list";
      }
  return "";
}

}  // namespace

MuxProgram mux_program(const Plan& plan, const nn::Model& model, std::size_t slots) {
  if (!plan.validated())  // its steps index the slots: only after Plan::create has checked them
    throw Error("multiplexed executor: the plan is not validated (make plans with compile, Plan::from_json or Plan::create)");
  if (plan.packing != Packing::kLatency || plan.mux_block == 0)
    throw Error("multiplexed executor: the plan does not use the multiplexed latency layout");
  MuxProgram p;
  nn::TensorShape in = model.input_shape();
  p.phases = std::max(1, plan.mux_phases);
  if (p.phases > 1) {
    if (phase_factor(model) != p.phases)
      throw Error("multiplexed executor: the model's first layer has no space-to-depth form with the plan's factor " +
                  std::to_string(p.phases));
    p.first_layer = *phase_conv(std::get<nn::Conv2d>(model.layers()[0]), p.phases, in.height, in.width);
  }
  p.format.slots = slots;
  p.format.block = plan.mux_block;
  p.format.base_width = in.width / p.phases;
  p.format.blocks = static_cast<int>(slots / plan.mux_block);
  p.depth = plan.depth;
  p.input_channels = in.channels * p.phases * p.phases;
  p.classes = model.classes();
  const auto& L = model.layers();
  if (plan.layers.size() != L.size())
    throw Error("multiplexed executor: the plan's program has " + std::to_string(plan.layers.size()) + " layers, the model " +
                std::to_string(L.size()));
  const nn::AvgPool2d* fused = nullptr;  // the pooling the next op fuses
  for (std::size_t li = 0; li < L.size(); ++li) {
    const LayerPlan& step = plan.layers[li];
    const std::string at = "multiplexed executor: layer " + std::to_string(li) + " (" + step.kind + "): ";
    if (step.kind != nn::layer_kind(L[li])) throw Error(at + "the model's layer is " + nn::layer_kind(L[li]));
    if (!step.mux) {  // a flatten, or a pooling fused into the next op (Plan::create checked which)
      if (auto* a = std::get_if<nn::AvgPool2d>(&L[li])) fused = a;
      continue;
    }
    MuxOp op = *step.mux;
    const nn::Layer& layer = p.layer(model, li);
    const auto* own_pool = std::get_if<nn::AvgPool2d>(&layer);
    if (std::string why = mux_fit_error(p, op, layer, own_pool ? own_pool : fused); !why.empty()) throw Error(at + why);
    fused = nullptr;
    if (auto* poly = std::get_if<nn::Polynomial>(&layer)) {
      op.coefficients = poly->coefficients;
      if (!(mux_op_counts(op) == step.ops))
        throw Error(at + "the program's counts (" + to_string(step.ops) + ") are not what this model's polynomial costs (" +
                    to_string(mux_op_counts(op)) + ")");
    }
    p.ops.push_back(std::move(op));
  }
  return p;
}

std::vector<int> MuxProgram::rotation_steps(const MuxOp& op) const { return op.rotation_steps(format.slots, format.block); }

std::vector<int> MuxProgram::rotation_steps() const {
  std::set<int> s;
  for (auto& op : ops)
    for (int x : rotation_steps(op)) s.insert(x);
  return {s.begin(), s.end()};
}

std::vector<double> mux_term_values(const MuxProgram& p, const MuxOp& op, const MuxTerm& t, const nn::Layer& layer) {
  const MuxFormat& f = p.format;
  const int nb = f.blocks;
  const long long W0 = f.base_width;
  std::vector<double> v(f.slots, 0.0);
  const auto ks = kernel_offsets(op, layer);
  const KernelOffset& k = ks.at(static_cast<std::size_t>(t.offset));
  const MuxGrid& g = op.pooled;
  for (int b = 0; b < nb; ++b) {
    const int o = t.out_ct * nb + b;
    if (o >= op.out.channels) break;
    const int bi = (b + t.r) % nb;
    const int c = channel_at(op, nb, t.in_ct, bi);
    if (c < 0 || chosen_location(op, nb, b, c) != std::pair<int, int>{t.in_ct, bi}) continue;
    // Written pre-rotated by -r * B: into block b + r.
    double* blk = v.data() + static_cast<std::size_t>(bi) * f.block;
    if (op.weights == MuxOp::kConv) {
      const auto& cv = std::get<nn::Conv2d>(layer);
      const double w = cv.weight[((static_cast<std::size_t>(o) * cv.in_channels + c) * cv.kernel_h + k.u) * cv.kernel_w + k.v] *
                       op.weight_factor;
      for (int i = 0; i < op.out.height; ++i) {
        const int y = i * cv.stride_h + k.du;
        if (y < 0 || y >= g.height) continue;
        for (int j = 0; j < op.out.width; ++j) {
          const int x = j * cv.stride_w + k.dv;
          if (x < 0 || x >= g.width) continue;
          blk[static_cast<std::size_t>(i * op.out.gap * W0 + j * op.out.gap)] = w;
        }
      }
    } else {
      const auto& d = std::get<nn::Dense>(layer);
      const std::size_t hw = static_cast<std::size_t>(g.height) * static_cast<std::size_t>(g.width);
      const double* row = d.weight.data() + static_cast<std::size_t>(o) * static_cast<std::size_t>(d.in_features) +
                          static_cast<std::size_t>(c) * hw;
      if (op.weights == MuxOp::kDenseOffsets) {
        blk[0] = row[static_cast<std::size_t>(k.u * g.width + k.v)] * op.weight_factor;
      } else {
        for (int i = 0; i < g.height; ++i)
          for (int j = 0; j < g.width; ++j)
            blk[static_cast<std::size_t>(i * g.gap * W0 + j * g.gap)] = row[static_cast<std::size_t>(i * g.width + j)] * op.weight_factor;
      }
    }
  }
  return v;
}

std::vector<double> mux_bias_values(const MuxProgram& p, const MuxOp& op, int t, const nn::Layer& layer) {
  const MuxFormat& f = p.format;
  const std::vector<double>& bias =
      std::holds_alternative<nn::Conv2d>(layer) ? std::get<nn::Conv2d>(layer).bias : std::get<nn::Dense>(layer).bias;
  std::vector<double> v(f.slots, 0.0);
  const long long W0 = f.base_width;
  for (int b = 0; b < f.blocks; ++b) {
    const int o = t * f.blocks + b;
    if (o >= op.out.channels) break;
    double* blk = v.data() + static_cast<std::size_t>(b) * f.block;
    for (int i = 0; i < op.out.height; ++i)
      for (int j = 0; j < op.out.width; ++j) blk[static_cast<std::size_t>(i * op.out.gap * W0 + j * op.out.gap)] = bias[static_cast<std::size_t>(o)];
  }
  return v;
}

std::vector<double> mux_input_slots(const Plan& plan, std::size_t slots, const float* image) {
  const std::size_t B = plan.mux_block, H = static_cast<std::size_t>(plan.input_height), W = static_cast<std::size_t>(plan.input_width);
  const std::size_t s = static_cast<std::size_t>(std::max(1, plan.mux_phases));
  const std::size_t C = static_cast<std::size_t>(plan.input_channels) * s * s, nb = slots / B, h = H / s, w = W / s;
  std::vector<double> v(slots, 0.0);
  for (std::size_t b = 0; b < nb; ++b) {
    const std::size_t c = C < nb ? b % C : b;  // phase channel c = channel * s^2 + p * s + q
    if (c >= C) continue;
    const std::size_t ch = c / (s * s), p = (c / s) % s, q = c % s;
    for (std::size_t i = 0; i < h; ++i)
      for (std::size_t j = 0; j < w; ++j) v[b * B + i * w + j] = image[ch * H * W + (i * s + p) * W + j * s + q];
  }
  return v;
}

std::size_t mux_plaintext_bytes(std::size_t n, int level) { return n * static_cast<std::size_t>(level + 1) * sizeof(std::uint64_t); }

Plan compile_multiplexed(const nn::Model& model, const CompileOptions& options) {
  const int depth = multiplexed_depth(model);
  const nn::TensorShape in = model.input_shape();
  // Candidates: with and without the client's space-to-depth, each from the smallest ring that
  // holds the depth, the image's block and the channels and classes, up to 2^16.
  std::vector<std::pair<ckks::ParamsLiteral, int>> candidates;
  std::vector<int> phase_options{1};
  if (int s = phase_factor(model); s > 1) phase_options.push_back(s);
  for (int ph : phase_options) {
    const std::size_t block = std::bit_ceil(static_cast<std::size_t>(in.height / ph) * static_cast<std::size_t>(in.width / ph));
    const std::size_t min_slots = block * std::bit_ceil(static_cast<std::size_t>(std::max(in.channels * ph * ph, model.classes())));
    if (options.params) {
      candidates.emplace_back(*options.params, ph);
    } else {
      ckks::ParamsLiteral lit = params_for_depth(depth, options.security, options.scale_bits, min_slots);
      for (; lit.log_n <= 16; ++lit.log_n) candidates.emplace_back(lit, ph);  // a larger ring: fewer ciphertexts
    }
  }
  std::optional<Plan> best;
  std::string why;
  for (const auto& [lit, phases] : candidates) {
    auto created = ckks::Params::create(lit);
    if (!created) throw Error("compile: CKKS parameters refused: " + created.error());
    const ckks::Params params = created.value();
    if (static_cast<int>(params.max_level()) < depth)
      throw Error("compile: the network needs depth " + std::to_string(depth) + " but the parameters have " +
                  std::to_string(params.max_level()) + " levels");
    MuxProgram prog;
    try {
      prog = lower_multiplexed(model, params.slots(), depth, phases);
    } catch (const Error& e) {
      if (candidates.size() == 1 || phases == 1) throw;  // the plain layout's reason is the one to give
      continue;
    }
    Plan plan;
    plan.packing = Packing::kLatency;
    plan.params = lit;
    plan.model_id = model_id(model);
    plan.architecture = model.architecture();
    plan.input_channels = in.channels;
    plan.input_height = in.height;
    plan.input_width = in.width;
    plan.classes = model.classes();
    plan.depth = depth;
    plan.input_level = depth;
    plan.period = params.slots();
    plan.mux_block = prog.format.block;
    plan.mux_phases = prog.phases;
    plan.input_values = in.size();
    plan.rotation_steps = prog.rotation_steps();
    // Layers: one entry per model layer; a fused pooling has no operations of its own.
    double log2_scale = std::log2(params.default_scale());
    int level = depth;
    std::size_t op_i = 0;
    std::size_t pt_bytes = 0, live_words = 0;
    for (std::size_t li = 0; li < model.layers().size(); ++li) {
      LayerPlan lp;
      lp.kind = nn::layer_kind(model.layers()[li]);
      lp.level_in = level;
      lp.shape_out = model.shapes()[li].to_string();
      if (op_i < prog.ops.size() && prog.ops[op_i].layer == li) {
        const MuxOp& op = prog.ops[op_i++];
        lp.mux = op;  // the step the executor runs; a polynomial's coefficients stay the model's
        lp.mux->coefficients.clear();
        lp.ops = mux_op_counts(op);
        lp.rotation_steps = prog.rotation_steps(op);  // the program step (program.h)
        if (op.kind == MuxOp::kLinear) lp.plaintexts = lp.ops.encodes;
        if (op.kind == MuxOp::kLinear) {
          lp.diagonals = static_cast<int>(op.terms.size());
          std::size_t babies = 0;
          for (auto& b : op.babies()) babies = std::max(babies, b.size());
          std::size_t giants = 0;
          for (auto& g : op.giants()) giants = std::max(giants, g.size());
          lp.baby_steps = static_cast<int>(babies);
          lp.giant_steps = static_cast<int>(giants);
          pt_bytes += op.terms.size() * mux_plaintext_bytes(params.n(), level) +
                      (op.has_bias ? static_cast<std::size_t>(op.out_cts) * mux_plaintext_bytes(params.n(), level - 1) : 0);
          // alive: the inputs, their baby rotations and the outputs
          std::size_t rotated = 0;
          for (auto& b : op.babies()) rotated += b.size() + 1;
          live_words = std::max(live_words, 2 * params.n() * ((static_cast<std::size_t>(op.in_cts) + rotated) * static_cast<std::size_t>(level + 1) +
                                                             static_cast<std::size_t>(op.out_cts) * static_cast<std::size_t>(level)));
        }
        // x² and c0 + x^(2^j) (a folded quadratic) square the scale; other polynomials return
        // to the incoming scale.
        const int squarings = op.kind == MuxOp::kSquare ? 1 : nn::pure_power_squarings(nn::Polynomial{op.coefficients});
        for (int j = 0; j < squarings; ++j)
          log2_scale = 2 * log2_scale - std::log2(static_cast<double>(params.q()[static_cast<std::size_t>(level - j)].value));
        level -= op.kind == MuxOp::kPolynomial ? nn::layer_depth(model.layers()[li]) : 1;
      }
      lp.level_out = level;
      lp.log2_scale_out = log2_scale;
      plan.total += lp.ops;
      plan.layers.push_back(lp);
    }
    plan.predicted_seconds = predict_layers_seconds(plan.layers, params.n());
    plan.upload_bytes_per_batch = params.seeded_ciphertext_bytes(depth);
    plan.download_bytes_per_batch = params.ciphertext_bytes(static_cast<std::size_t>(level));
    plan.eval_key_bytes = params.relin_key_bytes() + plan.rotation_steps.size() * params.galois_key_bytes();
    const std::size_t key_words = params.digit_count() * (params.max_level() + 1 + params.special_count()) * params.n();
    const std::size_t fixed = (1 + plan.rotation_steps.size()) * key_words * 4 * sizeof(std::uint64_t) + live_words * sizeof(std::uint64_t);
    // The plaintext cache takes what the limit leaves, up to all plaintexts or the requested cap.
    const std::size_t room = options.max_server_memory > fixed ? options.max_server_memory - fixed : 0;
    plan.plaintext_cache_bytes = std::min({pt_bytes, room, options.plaintext_cache_bytes});
    plan.server_memory_bytes = fixed + plan.plaintext_cache_bytes;
    if (fixed > options.max_server_memory) {
      why = "the multiplexed latency layout at N = " + std::to_string(params.n()) + " would hold about " + std::to_string(fixed >> 20) +
            " MiB on the server (" + std::to_string(plan.rotation_steps.size()) +
            " Galois keys and the ciphertexts of the largest layer), over the limit of " +
            std::to_string(options.max_server_memory >> 20) + " MiB";
      continue;
    }
    if (!best || plan.predicted_seconds < best->predicted_seconds) best = std::move(plan);
  }
  if (!best) throw Error("compile: " + why);
  return *best;
}

}  // namespace hemi::he
