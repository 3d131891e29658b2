#include "hemi/he/compiler.h"

#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <set>
#include <variant>

#include "hemi/ckks/params.h"
#include "hemi/he/activations.h"
#include "hemi/he/cost_model.h"
#include "hemi/he/throughput_stream.h"
#include "hemi/he/multiplexed_layout.h"
#include "hemi/nn/activation_fold.h"
#include "hemi/nn/model_file.h"

namespace hemi::he {

namespace {

// The largest period any layer of the network needs (latency packing).
std::size_t network_period(const nn::Model& model) {
  std::size_t d = model.input_shape().size();
  for (auto& s : model.shapes()) d = std::max(d, s.size());
  return std::bit_ceil(d);
}

}  // namespace

// Automatic parameters: the smallest ring that holds the depth (and the period for latency),
// with the largest scale in [25, 40] bits that fits it at the security level.
ckks::ParamsLiteral params_for_depth(int depth, int security, int scale_bits, std::size_t min_slots) {
  const int integer_bits = 10;  // q_0 / scale: logits up to +-512
  std::optional<ckks::ParamsLiteral> best;
  for (int s = scale_bits ? scale_bits : 40; s >= (scale_bits ? scale_bits : 25); --s) {
    auto lit = ckks::literal_for_depth(depth, s, security, integer_bits);
    if (!lit) continue;
    ckks::ParamsLiteral l = lit.value();
    while ((std::size_t{1} << (l.log_n - 1)) < min_slots && l.log_n < 16) ++l.log_n;
    if ((std::size_t{1} << (l.log_n - 1)) < min_slots) continue;
    if (!best || l.log_n < best->log_n) best = l;
  }
  if (!best)
    throw Error("compile: no " + std::to_string(security) + "-bit CKKS parameters hold depth " + std::to_string(depth) +
                (scale_bits ? " at scale 2^" + std::to_string(scale_bits) : std::string()));
  return *best;
}

std::string model_id(const nn::Model& model) {
  Bytes b = nn::serialize_model(model);
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(b.data(), b.size(), d);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    s += hex[d[i] >> 4];
    s += hex[d[i] & 15];
  }
  return s;
}

nn::Model evaluated_model(const Plan& plan, const nn::Model& model) {
  if (!plan.folded_activations) return model;
  nn::Model m = nn::fold_quadratic_activations(model).model;
  bool same = m.layers().size() == plan.layers.size();
  for (std::size_t i = 0; same && i < m.layers().size(); ++i) same = plan.layers[i].kind == nn::layer_kind(m.layers()[i]);
  if (!same) throw Error("server: the plan's folded activations are not this hemi's rewrite of the model (nn/activation_fold.h)");
  return m;
}

namespace {
// Chooses the giant stride g minimising distinct babies + distinct giants (the rotations).
void split_baby_giant(DiagonalLayout& d, std::size_t max_stride) {
  std::size_t best_cost = SIZE_MAX;
  for (std::size_t g = 1; g <= max_stride; g <<= 1) {
    std::set<int> babies, giants;
    for (int i : d.diagonals) {
      babies.insert(static_cast<int>(i % g));
      giants.insert(static_cast<int>(i / g));
    }
    const std::size_t cost = (babies.size() - babies.count(0)) + (giants.size() - giants.count(0));
    if (cost < best_cost) {
      best_cost = cost;
      d.giant_stride = static_cast<int>(g);
      d.baby.assign(babies.begin(), babies.end());
      d.giant.assign(giants.begin(), giants.end());
    }
  }
}
}  // namespace

DiagonalLayout diagonal_layout(const SparseMatrix& m, std::size_t period) {
  DiagonalLayout d;
  d.period = period;
  std::vector<char> used(period, 0);
  for (std::size_t r = 0; r < m.rows; ++r)
    for (auto c : m.index[r]) used[d.place(r, c).first] = 1;
  for (std::size_t i = 0; i < period; ++i)
    if (used[i]) d.diagonals.push_back(static_cast<int>(i));
  split_baby_giant(d, period);
  d.bias = std::any_of(m.bias.begin(), m.bias.end(), [](double b) { return b != 0; });
  return d;
}

std::optional<DiagonalLayout> hybrid_layout(const SparseMatrix& m, std::size_t period, std::size_t input_period) {
  const std::size_t n = std::bit_ceil(m.cols), rows = std::bit_ceil(m.rows);
  if (rows >= n || n > input_period || input_period > period) return std::nullopt;
  DiagonalLayout d;
  d.period = period;
  d.hybrid = true;
  d.in_period = n;
  d.out_period = rows;
  std::vector<char> used(rows, 0);
  for (std::size_t r = 0; r < m.rows; ++r)
    for (auto c : m.index[r]) used[d.place(r, c).first] = 1;
  for (std::size_t i = 0; i < rows; ++i)
    if (used[i]) d.diagonals.push_back(static_cast<int>(i));
  split_baby_giant(d, rows);
  for (std::size_t s = n; s < input_period; s <<= 1) d.replicate_steps.push_back(-static_cast<int>(s));
  for (std::size_t s = n / 2; s >= rows; s >>= 1) d.fold_steps.push_back(static_cast<int>(s));
  d.bias = std::any_of(m.bias.begin(), m.bias.end(), [](double b) { return b != 0; });
  return d;
}

namespace {
// compile() without the validation: the packings and layouts it compares call it recursively.
Plan compile_unvalidated(const nn::Model& model, const CompileOptions& options) {
  if (auto why = nn::plaintext_only_reason(model.layers()); !why.empty()) throw Error("compile: " + why);
  const int depth = model.multiplicative_depth();
  if (!options.packing) {
    // Choose by predicted time for the expected number of images.
    CompileOptions t = options, l = options;
    t.packing = Packing::kThroughput;
    l.packing = Packing::kLatency;
    // Each packing may be refused (memory, slots); auto takes the one that fits, and says why
    // neither does.
    Plan pt, pl;
    std::string why_t, why_l;
    try {
      pt = compile_unvalidated(model, t);
    } catch (const Error& e) {
      why_t = e.what();
    }
    try {
      pl = compile_unvalidated(model, l);
    } catch (const Error& e) {
      why_l = e.what();
    }
    if (!why_t.empty() && !why_l.empty())
      throw Error("compile: no packing fits: throughput: " + why_t + "; latency: " + why_l);
    if (!why_t.empty()) return pl;
    if (!why_l.empty()) return pt;  // e.g. the network does not fit one ciphertext
    const double batches = std::ceil(static_cast<double>(std::max<std::size_t>(options.images, 1)) /
                                     static_cast<double>(pt.images_per_batch));
    return batches * pt.predicted_seconds <= static_cast<double>(options.images) * pl.predicted_seconds ? pt : pl;
  }
  const Packing packing = *options.packing;
  if (packing == Packing::kLatency && options.latency_layout != CompileOptions::LatencyLayout::kDiagonal) {
    // The channel-packed layout (multiplexed_layout.h), or the diagonal one below, whichever
    // fits and is predicted faster.
    if (options.latency_layout == CompileOptions::LatencyLayout::kMultiplexed) return compile_multiplexed(model, options);
    CompileOptions d = options;
    d.latency_layout = CompileOptions::LatencyLayout::kDiagonal;
    std::optional<Plan> pd, pm;
    std::string why_d, why_m;
    try {
      pd = compile_unvalidated(model, d);
    } catch (const Error& e) {
      why_d = e.what();
    }
    try {
      pm = compile_multiplexed(model, options);
    } catch (const Error& e) {
      why_m = e.what();
    }
    if (!pd && !pm) throw Error("compile: no latency layout fits: diagonal: " + why_d + "; multiplexed: " + why_m);
    if (!pm) return *pd;
    if (!pd) return *pm;
    return pd->predicted_seconds <= pm->predicted_seconds ? *pd : *pm;
  }
  // Latency: expand the first convolution's input on the client when it fits a ring of the
  // size the network needs anyway (the expanded conv has far fewer diagonals).
  std::size_t period = network_period(model);
  std::optional<Im2col> im2col;
  if (packing == Packing::kLatency) {
    const std::size_t max_slots = options.params ? (std::size_t{1} << (options.params->log_n - 1)) : std::size_t{1} << 15;
    im2col = im2col_first_layer(model, std::min(max_slots, std::max<std::size_t>(period, 4096)));
    if (im2col) period = std::max(period, std::bit_ceil(im2col->matrix.cols));
  }
  ckks::ParamsLiteral lit = options.params ? *options.params
                                           : params_for_depth(depth, options.security, options.scale_bits,
                                                           packing == Packing::kLatency ? period : 1);
  auto created = ckks::Params::create(lit);
  if (!created) throw Error("compile: CKKS parameters refused: " + created.error());
  const ckks::Params params = created.value();
  if (static_cast<int>(params.max_level()) < depth)
    throw Error("compile: the network needs depth " + std::to_string(depth) + " but the parameters have " +
                std::to_string(params.max_level()) + " levels");
  if (packing == Packing::kLatency && period > params.slots())
    throw Error("compile: latency packing needs " + std::to_string(period) + " slots, the ring has " +
                std::to_string(params.slots()));

  Plan plan;
  plan.packing = packing;
  plan.params = lit;
  plan.model_id = model_id(model);
  plan.architecture = model.architecture();
  plan.input_channels = model.input_shape().channels;
  plan.input_height = model.input_shape().height;
  plan.input_width = model.input_shape().width;
  plan.classes = model.classes();
  plan.depth = depth;
  plan.input_level = depth;
  const bool thr = packing == Packing::kThroughput;
  plan.images_per_batch = thr ? params.slots() : 1;
  plan.ciphertexts_per_batch = thr ? model.input_shape().size() : 1;
  plan.period = thr ? 0 : period;
  plan.input_im2col = im2col.has_value();
  if (im2col) plan.im2col_conv = geometry_of(std::get<nn::Conv2d>(model.layers()[0]));
  plan.input_values = im2col ? im2col->matrix.cols : model.input_shape().size();

  // Latency: the activation repeats every 2^e slots and is, or is not, zero beyond its values
  // within each repetition ("padded"). A square layout takes any input and leaves (period,
  // padded); a hybrid one needs a padded input whose repetition holds its columns and leaves
  // (pow2(rows), padded); a polynomial with c0 != 0 loses the padding. Choose each linear
  // layer's layout by dynamic programming over these states, minimising rotations.
  const std::size_t layers = model.layers().size();
  std::vector<std::optional<DiagonalLayout>> layout_of(layers);
  if (!thr) {
    const int top = std::countr_zero(period);
    const std::size_t states = static_cast<std::size_t>(top + 1) * 2;  // e * 2 + padded
    constexpr std::size_t kInf = SIZE_MAX / 4;
    std::vector<std::size_t> cost(states, kInf);
    cost[static_cast<std::size_t>(top) * 2 + 1] = 0;  // the client's input: period, padded
    struct Step {
      std::size_t from = 0;
      std::optional<DiagonalLayout> layout;
    };
    std::vector<std::vector<Step>> back(layers, std::vector<Step>(states));
    nn::TensorShape s = model.input_shape();
    for (std::size_t li = 0; li < layers; ++li) {
      const nn::Layer& layer = model.layers()[li];
      std::vector<std::size_t> next(states, kInf);
      auto relax = [&](std::size_t from, std::size_t to, std::size_t add, const std::optional<DiagonalLayout>& d) {
        if (cost[from] + add < next[to]) {
          next[to] = cost[from] + add;
          back[li][to] = {from, d};
        }
      };
      const bool linear = nn::is_linear(layer) || std::holds_alternative<nn::AvgPool2d>(layer);
      std::optional<SparseMatrix> m;
      std::optional<DiagonalLayout> square;
      if (linear) {
        m = (li == 0 && im2col) ? im2col->matrix : linear_matrix(layer, s);
        square = diagonal_layout(*m, period);
      }
      for (std::size_t st = 0; st < states; ++st) {
        if (cost[st] >= kInf) continue;
        const std::size_t e = st / 2;
        const bool padded = st % 2;
        if (linear) {
          relax(st, static_cast<std::size_t>(top) * 2 + 1, square->rotations(), square);
          if (padded)
            if (auto h = hybrid_layout(*m, period, std::size_t{1} << e))
              relax(st, static_cast<std::size_t>(std::countr_zero(h->out_period)) * 2 + 1, h->rotations(), h);
        } else {
          const auto* p = std::get_if<nn::Polynomial>(&layer);
          relax(st, p && p->coefficients[0] != 0 ? e * 2 : st, 0, std::nullopt);  // zeros become c0
        }
      }
      cost = std::move(next);
      s = model.shapes()[li];
    }
    std::size_t st = static_cast<std::size_t>(std::min_element(cost.begin(), cost.end()) - cost.begin());
    for (std::size_t li = layers; li-- > 0;) {
      layout_of[li] = back[li][st].layout;
      st = back[li][st].from;
    }
  }

  int level = depth;
  double log2_scale = std::log2(params.default_scale());
  nn::TensorShape shape = model.input_shape();
  // Throughput: the linear layers' matrices, for the streamed schedule below.
  std::vector<SparseMatrix> matrices(thr ? model.layers().size() : 0);
  for (std::size_t li = 0; li < model.layers().size(); ++li) {
    const nn::Layer& layer = model.layers()[li];
    LayerPlan lp;
    lp.kind = nn::layer_kind(layer);
    lp.level_in = level;
    const nn::TensorShape out = model.shapes()[li];
    if (nn::is_linear(layer) || std::holds_alternative<nn::AvgPool2d>(layer)) {
      if (thr)  // operations: from the stream's schedule below
        matrices[li] = linear_matrix(layer, shape);
      else  // the program step: the layout the server builds its plaintexts from, and its counts
        assign_layout(lp, *layout_of[li], params.slots());
      level -= 1;  // scale unchanged: weights are encoded at the prime that is divided away
    } else if (std::holds_alternative<nn::Square>(layer)) {
      lp.ops = square_ops();  // latency: what activations.h does; throughput: the stream's, below
      log2_scale = 2 * log2_scale - std::log2(static_cast<double>(params.q()[level].value));
      level -= 1;
    } else if (auto* p = std::get_if<nn::Polynomial>(&layer); p && nn::pure_power_squarings(*p) >= 0) {
      // c0 + x^(2^j) (a folded quadratic): j squarings, scales as for x²
      for (int j = nn::pure_power_squarings(*p); j > 0; --j) {
        log2_scale = 2 * log2_scale - std::log2(static_cast<double>(params.q()[level].value));
        level -= 1;
      }
      lp.ops = polynomial_ops(p->coefficients);  // latency; throughput: the stream's, below
    } else if (auto* p = std::get_if<nn::Polynomial>(&layer)) {
      lp.ops = polynomial_ops(p->coefficients);
      level -= nn::layer_depth(layer);  // the result is brought back to the incoming scale
    }
    // flatten: nothing happens to ciphertexts
    lp.level_out = level;
    lp.log2_scale_out = log2_scale;
    lp.shape_out = out.to_string();
    plan.layers.push_back(lp);
    shape = out;
  }
  if (level < 0) throw Error("compile: internal: the simulation ran out of levels");
  // Throughput: the schedule the server runs (throughput_stream.h) gives the operations of
  // every layer and the peak of the ciphertexts alive at once.
  std::size_t live_ciphertext_words = 0;
  if (thr) {
    std::vector<StreamLayer> sl;
    for (std::size_t li = 0; li < model.layers().size(); ++li) {
      const nn::Layer& layer = model.layers()[li];
      StreamLayer x;
      if (nn::is_linear(layer) || std::holds_alternative<nn::AvgPool2d>(layer)) {
        x.kind = StreamLayer::kLinear;
        x.matrix = &matrices[li];
      } else if (std::holds_alternative<nn::Square>(layer)) {
        x.kind = StreamLayer::kSquare;
      } else if (auto* p = std::get_if<nn::Polynomial>(&layer)) {
        x.kind = StreamLayer::kPolynomial;
        x.coefficients = &p->coefficients;
      }
      x.level_out = plan.layers[li].level_out;
      sl.push_back(x);
    }
    const StreamSchedule schedule = stream_schedule(model.input_shape(), plan.input_level, sl);
    const std::vector<OpCounts> ops = stream_layer_ops(schedule, plan.layers.size());
    for (std::size_t li = 0; li < plan.layers.size(); ++li) plan.layers[li].ops = ops[li];
    for (std::size_t si = 0; si < schedule.stages.size(); ++si)  // the program step: the row order the server runs
      if (schedule.stages[si].linear_layer != SIZE_MAX) plan.layers[schedule.stages[si].linear_layer].stream_rows = schedule.orders[si].rows;
    live_ciphertext_words = stream_peak_words(schedule, params.n());
    plan.ciphertext_memory_bytes = live_ciphertext_words * sizeof(std::uint64_t);
  }
  // The counting evaluator over the program: the operations, the Galois keys and the
  // pre-encoded plaintexts (Plan::create checks the same).
  const ProgramCount counted = count_program(plan.layers, params.n());
  plan.total = counted.total;
  plan.rotation_steps = counted.rotation_steps;
  const std::size_t plaintext_words = counted.plaintext_words;
  plan.predicted_seconds = predict_layers_seconds(plan.layers, params.n());
  plan.upload_bytes_per_batch = plan.ciphertexts_per_batch * params.seeded_ciphertext_bytes(depth);
  plan.download_bytes_per_batch = (thr ? static_cast<std::size_t>(plan.classes) : 1) * params.ciphertext_bytes(static_cast<std::size_t>(level));
  plan.eval_key_bytes = params.relin_key_bytes() + plan.rotation_steps.size() * params.galois_key_bytes();
  // In memory a key-switching key holds b, a and both Shoup tables as full 64-bit words.
  const std::size_t key_words = params.digit_count() * (params.max_level() + 1 + params.special_count()) * params.n();
  plan.server_memory_bytes = (1 + plan.rotation_steps.size()) * key_words * 4 * sizeof(std::uint64_t) +
                             plaintext_words * sizeof(std::uint64_t) + live_ciphertext_words * sizeof(std::uint64_t);
  if (!thr && plan.server_memory_bytes > options.max_server_memory)
    throw Error("compile: latency packing would hold about " + std::to_string(plan.server_memory_bytes >> 20) +
                " MiB on the server (" + std::to_string(plan.rotation_steps.size()) +
                " Galois keys and the pre-encoded diagonals), over the limit of " +
                std::to_string(options.max_server_memory >> 20) + " MiB: use throughput packing");
  // A smaller batch does not help throughput packing: every ciphertext holds one value of
  // every image of the batch, so the count depends on the network, not on the images.
  if (thr && plan.server_memory_bytes > options.max_throughput_memory)
    throw Error("compile: throughput packing would hold about " + std::to_string(plan.server_memory_bytes >> 20) +
                " MiB on the server (streamed one ciphertext per value through every layer, up to " +
                std::to_string((live_ciphertext_words * sizeof(std::uint64_t)) >> 20) +
                " MiB of ciphertexts alive at once, N = " + std::to_string(params.n()) + "), over the limit of " +
                std::to_string(options.max_throughput_memory >> 20) +
                " MiB; a smaller batch would not help: use latency packing or a smaller input size");
  return plan;
}

}  // namespace

// Every plan the compiler hands out went through Plan::create, once.
Plan compile(const nn::Model& model, const CompileOptions& options) {
  if (auto why = nn::plaintext_only_reason(model.layers()); !why.empty()) throw Error("compile: " + why);
  // Quadratic activations folded into their neighbours (nn/activation_fold.h): one level each.
  std::optional<nn::ActivationFold> fold;
  if (options.fold_activations) fold = nn::fold_quadratic_activations(model);
  Plan plan = compile_unvalidated(fold ? fold->model : model, options);
  plan.model_id = model_id(model);
  if (fold) {
    plan.folded_activations = fold->folded() > 0;
    for (const auto& n : fold->notes) plan.layers.at(n.layer).note = n.text;
  }
  auto made = Plan::create(std::move(plan));
  if (!made) throw Error("compile: the plan is refused: " + made.error());
  return std::move(made).value();
}

}  // namespace hemi::he
