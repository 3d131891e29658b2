#include "hemi/he/roles.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <variant>

#include "hemi/he/activations.h"
#include "hemi/he/compiler.h"
#include "hemi/he/throughput_stream.h"
#include "hemi/he/multiplexed_conv.h"
#include "hemi/he/multiplexed_layout.h"
#include "hemi/nn/interpreter.h"

namespace hemi::he {

using ckks::Ciphertext;

namespace {
// Both roles start here. The plan was validated once, when it was made or loaded (Plan::create),
// before any of its numbers sizes anything; a plan that was not is refused, not checked here.
ckks::Params params_of(const Plan& plan) {
  if (!plan.validated())
    throw Error("plan refused: not validated (make plans with compile, Plan::from_json or Plan::create)");
  auto p = ckks::Params::create(plan.params);
  if (!p) throw Error("plan: CKKS parameters refused: " + p.error());
  return std::move(p).value();
}
}  // namespace

// ---------------- client ----------------

Client::Client(Plan plan)
    : plan_(std::move(plan)), params_(params_of(plan_)), keygen_(params_), sk_(keygen_.secret_key()), encoder_(params_) {
  encryptor_ = std::make_unique<ckks::SymmetricEncryptor>(params_, sk_);
}

Client::Client(Plan plan, const Seed& test_seed)
    : plan_(std::move(plan)),
      params_(params_of(plan_)),
      keygen_(params_, test_seed),
      sk_(keygen_.secret_key()),
      encoder_(params_) {
  Seed s = test_seed;
  s[31] ^= 0x5a;
  encryptor_ = std::make_unique<ckks::SymmetricEncryptor>(params_, sk_, s);
}

Client::Client(Plan plan, ckks::SecretKey sk)
    : plan_(std::move(plan)), params_(params_of(plan_)), keygen_(params_), sk_(std::move(sk)), encoder_(params_) {
  if (sk_.params_id != params_.id()) throw Error("client: the secret key was made for other parameters than the plan's");
  encryptor_ = std::make_unique<ckks::SymmetricEncryptor>(params_, sk_);
}

EvalKeys Client::eval_keys() {
  return {keygen_.relin_key(sk_), keygen_.galois_keys(sk_, plan_.rotation_steps)};
}

ckks::SeededCiphertext Client::encrypt_value(const std::vector<const float*>& images, std::size_t k) {
  if (plan_.packing != Packing::kThroughput) throw Error("encrypt: the plan uses latency packing (one image per ciphertext)");
  if (images.size() > plan_.images_per_batch)
    throw Error("encrypt: " + std::to_string(images.size()) + " images exceed the batch of " +
                std::to_string(plan_.images_per_batch));
  if (k >= plan_.ciphertexts_per_batch) throw Error("encrypt: value index " + std::to_string(k) + " out of range");
  std::vector<double> slots(images.size());
  for (std::size_t i = 0; i < images.size(); ++i) slots[i] = images[i][k];
  return encryptor_->encrypt_seeded(encoder_.encode_coefficients(slots, static_cast<std::size_t>(plan_.input_level)));
}

ckks::SeededCiphertext Client::encrypt_image(const float* image) {
  if (plan_.packing != Packing::kLatency) throw Error("encrypt: the plan uses throughput packing (one value per ciphertext)");
  if (plan_.mux_block)  // the channel-packed layout: channels in blocks, replicated if few
    return encryptor_->encrypt_seeded(
        encoder_.encode(mux_input_slots(plan_, params_.slots(), image), static_cast<std::size_t>(plan_.input_level)));
  std::vector<double> values;
  if (plan_.input_im2col) {
    const nn::TensorShape in{plan_.input_channels, plan_.input_height, plan_.input_width, false};
    for (std::int64_t g : im2col_gather(plan_.im2col_conv, in)) values.push_back(g < 0 ? 0.0 : image[g]);
  } else {
    const std::size_t d = static_cast<std::size_t>(plan_.input_channels) * plan_.input_height * plan_.input_width;
    values.assign(image, image + d);
  }
  std::vector<double> slots(params_.slots(), 0.0);
  for (std::size_t j = 0; j < slots.size(); ++j) {
    const std::size_t r = j % plan_.period;
    if (r < values.size()) slots[j] = values[r];
  }
  return encryptor_->encrypt_seeded(encoder_.encode_coefficients(slots, static_cast<std::size_t>(plan_.input_level)));
}

std::vector<std::vector<double>> Client::decrypt_logits(const std::vector<Ciphertext>& out, std::size_t count) const {
  ckks::Decryptor dec(params_, sk_);
  std::optional<Prng> prng;
  auto decode = [&](const ckks::Ciphertext& ct) {
    if (!flooding_) return encoder_.decode(dec.decrypt(ct));
    if (!prng) prng.emplace();
    ckks::FloodingReport r;
    auto v = ckks::decrypt_flooded(dec, encoder_, ct, *flooding_, *prng, &r);
    if (r.slot_sigma > flooding_report_.slot_sigma) flooding_report_ = r;
    return v;
  };
  const std::size_t classes = static_cast<std::size_t>(plan_.classes);
  std::vector<std::vector<double>> logits(count, std::vector<double>(classes));
  if (plan_.packing == Packing::kThroughput) {
    if (out.size() != classes) throw Error("decrypt: expected " + std::to_string(classes) + " ciphertexts, got " + std::to_string(out.size()));
    if (count > plan_.images_per_batch) throw Error("decrypt: more images than a batch holds");
    for (std::size_t c = 0; c < classes; ++c) {
      auto v = decode(out[c]);
      for (std::size_t i = 0; i < count; ++i) logits[i][c] = v[i];
    }
  } else {
    if (out.size() != 1 || count != 1) throw Error("decrypt: latency packing returns one ciphertext for one image");
    auto v = decode(out[0]);
    const std::size_t stride = plan_.mux_block ? plan_.mux_block : 1;  // multiplexed: class k in block k
    for (std::size_t c = 0; c < classes; ++c) logits[0][c] = v[c * stride];
  }
  return logits;
}

// ---------------- server ----------------

struct PreparedModel::Layer {
  enum Kind { kLinear, kSquare, kPolynomial, kFlatten } kind;
  SparseMatrix matrix;                 // linear
  std::vector<double> coefficients;    // polynomial
  // latency: pre-rotated diagonal plaintexts by giant step, and the bias
  DiagonalLayout layout;
  std::map<int, std::vector<std::pair<int, ckks::Plaintext>>> diag;  // a -> [(b, plaintext)]
  std::vector<double> bias_slots;
  int level_in = 0;
};

Server::Server(Plan plan, const nn::Model& model, EvalKeys keys, ThreadPool* pool)
    : Server(std::make_shared<const PreparedModel>(std::move(plan), model), std::move(keys), pool) {}

Server::Server(std::shared_ptr<const PreparedModel> model, EvalKeys keys, ThreadPool* pool)
    : prepared_(std::move(model)),
      plan_(prepared_->plan_),
      params_(prepared_->params_),
      encoder_(prepared_->encoder_),
      layers_(prepared_->layers_),
      keys_(std::move(keys)),
      pool_(pool),
      eval_(params_),
      eval_pool_(params_, pool) {
  if (keys_.relin.key.params_id != params_.id()) throw Error("server: relinearization key made for other parameters");
  if (!keys_.galois.keys.empty() && keys_.galois.params_id != params_.id())
    throw Error("server: Galois keys made for other parameters");
  for (int s : plan_.rotation_steps)
    if (!keys_.galois.has(ckks::galois_element_for_step(s, params_.n())))
      throw Error("server: no Galois key for rotation step " + std::to_string(s) + " that the plan needs");
}

PreparedModel::PreparedModel(Plan plan, const nn::Model& given)
    : plan_(std::move(plan)), params_(params_of(plan_)), encoder_(params_) {
  if (auto why = nn::plaintext_only_reason(given.layers()); !why.empty()) throw Error("server: " + why);
  if (plan_.model_id != model_id(given))
    throw Error("server: the plan was made for another model (" + plan_.model_id + ", this model is " + model_id(given) + ")");
  const nn::Model model = evaluated_model(plan_, given);  // activations folded as the plan says
  // The plan's lowered program (program.h) decides every layer's layout, levels and steps;
  // the server builds its layers from it and from the model's weights, and refuses a program
  // that does not fit the model (Plan::create has checked it against itself).
  const auto& L = model.layers();
  if (plan_.layers.size() != L.size())
    throw Error("server: the plan's program has " + std::to_string(plan_.layers.size()) + " layers, the model " +
                std::to_string(L.size()));
  for (std::size_t li = 0; li < L.size(); ++li)
    if (plan_.layers[li].kind != nn::layer_kind(L[li]))
      throw Error("server: layer " + std::to_string(li) + " of the plan's program is " + plan_.layers[li].kind +
                  ", the model's is " + nn::layer_kind(L[li]));
  if (plan_.mux_block) {  // the channel-packed layout: its executor runs the program's steps
    mux_ = std::make_unique<MultiplexedExecutor>(plan_, model);
    return;
  }
  nn::TensorShape shape = model.input_shape();
  bool padded = true;  // diagonal layout: the activation is zero beyond its values in each repetition
  for (std::size_t li = 0; li < L.size(); ++li) {
    const nn::Layer& layer = L[li];
    const LayerPlan& step = plan_.layers[li];
    auto l = std::make_unique<Layer>();
    l->level_in = step.level_in;
    if (nn::is_linear(layer) || std::holds_alternative<nn::AvgPool2d>(layer)) {
      l->kind = Layer::kLinear;
      if (li == 0 && plan_.input_im2col) {
        auto ic = im2col_first_layer(model, plan_.input_values);
        if (!ic || ic->matrix.cols != plan_.input_values) throw Error("server: the plan's im2col input does not fit this model");
        l->matrix = std::move(ic->matrix);
      } else {
        l->matrix = linear_matrix(layer, shape);
      }
      if (plan_.packing == Packing::kLatency) {
        // The program's layout: diagonal i (values over the layout's diagonal period), stored
        // rotated right by a*g so that the giant-step rotation puts it in place.
        l->layout = *step.layout;  // present: Plan::create checked it
        const DiagonalLayout& d = l->layout;
        const std::size_t slots = params_.slots();
        const std::string at = "server: layer " + std::to_string(li) + " (" + step.kind + "): ";
        if (l->matrix.rows > d.output_period() || l->matrix.cols > d.diagonal_period())
          throw Error(at + "a " + std::to_string(l->matrix.rows) + " x " + std::to_string(l->matrix.cols) +
                      " matrix does not fit the program's layout");
        if (d.hybrid && !padded)
          throw Error(at + "the program's hybrid layout needs an input that is zero beyond its values; a polynomial before it adds a constant");
        if (d.bias != std::any_of(l->matrix.bias.begin(), l->matrix.bias.end(), [](double b) { return b != 0; }))
          throw Error(at + "the program's bias does not match the model's");
        const std::size_t dp = d.diagonal_period();
        const int g = d.giant_stride;
        std::map<int, std::vector<double>> dense;  // diagonal index -> values over one period
        for (std::size_t r = 0; r < l->matrix.rows; ++r)
          for (std::size_t t = 0; t < l->matrix.index[r].size(); ++t) {
            const auto [i, j] = d.place(r, l->matrix.index[r][t]);
            if (!std::binary_search(d.diagonals.begin(), d.diagonals.end(), i))
              throw Error(at + "a weight on diagonal " + std::to_string(i) + ", which the program's layout does not list");
            auto& v = dense[i];
            if (v.empty()) v.assign(dp, 0.0);
            v[j] = l->matrix.weight[r][t];
          }
        if (dense.size() != d.diagonals.size())
          throw Error(at + "the program's layout lists " + std::to_string(d.diagonals.size()) + " diagonals, the model's weights fill " +
                      std::to_string(dense.size()));
        const std::size_t level = static_cast<std::size_t>(step.level_in);
        const double q_level = static_cast<double>(params_.q()[level].value);
        for (auto& [i, v] : dense) {
          const int a = i / g, b = i % g;
          std::vector<double> slot_vals(slots);
          for (std::size_t j = 0; j < slots; ++j)
            slot_vals[j] = v[(j + dp - static_cast<std::size_t>(a * g) % dp) % dp];
          l->diag[a].emplace_back(b, encoder_.encode(slot_vals, level, q_level));
        }
        // The bias repeats like the layer's output: every out_period slots (hybrid) or P.
        const std::size_t out_period = d.output_period();
        l->bias_slots.assign(slots, 0.0);
        for (std::size_t j = 0; j < slots; ++j)
          if (j % out_period < l->matrix.rows) l->bias_slots[j] = l->matrix.bias[j % out_period];
        padded = true;
      }
    } else if (std::holds_alternative<nn::Square>(layer)) {
      l->kind = Layer::kSquare;
    } else if (auto* p = std::get_if<nn::Polynomial>(&layer)) {
      l->kind = Layer::kPolynomial;
      l->coefficients = p->coefficients;
      if (p->coefficients[0] != 0) padded = false;  // zeros become c0
    } else {
      l->kind = Layer::kFlatten;
    }
    layers_.push_back(std::move(l));
    shape = model.shapes()[li];
  }
  if (plan_.packing == Packing::kThroughput) {
    std::vector<StreamLayer> sl;
    for (std::size_t li = 0; li < layers_.size(); ++li) {
      const Layer& l = *layers_[li];
      StreamLayer x;
      x.kind = l.kind == Layer::kLinear       ? StreamLayer::kLinear
               : l.kind == Layer::kSquare     ? StreamLayer::kSquare
               : l.kind == Layer::kPolynomial ? StreamLayer::kPolynomial
                                              : StreamLayer::kFlatten;
      x.matrix = &l.matrix;
      x.coefficients = &l.coefficients;
      x.level_out = plan_.layers[li].level_out;
      if (l.kind == Layer::kLinear) x.rows = &plan_.layers[li].stream_rows;  // the program's order
      sl.push_back(x);
    }
    stream_ = std::make_unique<const StreamSchedule>(stream_schedule(model.input_shape(), plan_.input_level, sl));
    // The stream's own count of what it will do, held to the plan's program.
    const std::vector<OpCounts> ops = stream_layer_ops(*stream_, layers_.size());
    for (std::size_t li = 0; li < layers_.size(); ++li)
      if (!(ops[li] == plan_.layers[li].ops))
        throw Error("server: layer " + std::to_string(li) + " of the plan's program (" + to_string(plan_.layers[li].ops) +
                    ") is not what the stream runs for this model (" + to_string(ops[li]) + ")");
  }
}

std::uint64_t PreparedModel::plaintexts(std::size_t layer) const {
  if (mux_ || layer >= layers_.size()) return 0;
  std::uint64_t n = 0;
  for (auto& [a, v] : layers_[layer]->diag) n += v.size();
  return n;
}

PreparedModel::~PreparedModel() = default;

void Server::check_input(const Ciphertext& ct, const char* what) const {
  if (ct.params_id != params_.id()) throw Error(std::string(what) + ": ciphertext made for other parameters");
  if (static_cast<int>(ct.level) != plan_.input_level)
    throw Error(std::string(what) + ": input at level " + std::to_string(ct.level) + ", the plan expects " +
                std::to_string(plan_.input_level));
  if (ct.size() != 2) throw Error(std::string(what) + ": input ciphertext has " + std::to_string(ct.size()) + " parts");
}

void Server::for_each(std::size_t count, const std::function<void(std::size_t)>& f) const {
  if (pool_) return pool_->parallel_for(0, count, f);
  for (std::size_t i = 0; i < count; ++i) f(i);
}

std::vector<Ciphertext> Server::evaluate_batch(const InputSource& src, StreamStats* stats) const {
  if (plan_.packing != Packing::kThroughput) throw Error("evaluate: the plan uses latency packing");
  StreamContext ctx;
  ctx.eval = &eval_;
  ctx.eval_pool = &eval_pool_;
  ctx.relin = &keys_.relin;
  ctx.for_each = [this](std::size_t n, const std::function<void(std::size_t)>& f) { for_each(n, f); };
  ctx.fetch = [&](std::size_t k) {
    Ciphertext ct = src(k);
    check_input(ct, "evaluate");
    return ct;
  };
  return stream_evaluate(*prepared_->stream_, ctx, stats);
}

Ciphertext Server::linear_latency(const Layer& l, const Ciphertext& input, LayerTrace* trace) const {
  const DiagonalLayout& d = l.layout;
  const int g = d.giant_stride;
  // The counting side of the program (program.h: diagonal_ops counts the same).
  std::atomic<std::uint64_t> rotations{0};
  OpCounts c;
  std::vector<int> steps;
  std::mutex steps_mutex;
  auto used = [&](int s) {
    rotations += 1;
    if (!trace) return;
    std::lock_guard<std::mutex> lock(steps_mutex);
    steps.push_back(s);
  };
  Ciphertext in = input;
  for (int s : d.replicate_steps) {
    eval_.add_inplace(in, eval_pool_.rotate(in, s, keys_.galois));
    used(s);
    c.additions += 1;
  }
  std::vector<int> babies;
  for (int b : d.baby)
    if (b) babies.push_back(b);
  std::map<int, Ciphertext> rotated;  // the baby rotations, hoisted (one decomposition)
  if (!babies.empty()) {
    auto rots = eval_pool_.rotate_hoisted(in, babies, keys_.galois);
    c.hoisted_groups += 1;
    for (std::size_t t = 0; t < babies.size(); ++t) {
      used(babies[t]);
      rotated.emplace(babies[t], std::move(rots[t]));
    }
  }
  auto by_baby = [&](int b) -> const Ciphertext* { return b ? &rotated.at(b) : &in; };
  std::vector<int> giants;
  for (auto& [a, v] : l.diag) giants.push_back(a);
  std::vector<Ciphertext> partial(giants.size());
  auto giant = [&](std::size_t t) {
    const int a = giants[t];
    std::vector<const Ciphertext*> cts;
    std::vector<const ckks::Plaintext*> pts;
    for (auto& [b, pt] : l.diag.at(a)) {
      cts.push_back(by_baby(b));
      pts.push_back(&pt);
    }
    Ciphertext inner = eval_.multiply_plain_sum(cts, pts);
    if (a) {
      partial[t] = eval_.rotate(inner, a * g, keys_.galois);
      used(a * g);
    } else {
      partial[t] = std::move(inner);
    }
  };
  for_each(giants.size(), giant);
  for (auto& [a, v] : l.diag) c.plain_multiplies += v.size();
  c.additions += c.plain_multiplies;  // each product summed in
  Ciphertext acc = std::move(partial[0]);
  for (std::size_t t = 1; t < partial.size(); ++t) {
    eval_.add_inplace(acc, partial[t]);
    c.additions += 1;
  }
  for (int s : d.fold_steps) {
    eval_.add_inplace(acc, eval_pool_.rotate(acc, s, keys_.galois));
    used(s);
    c.additions += 1;
  }
  eval_.rescale_inplace(acc);
  c.rescales += 1;
  if (d.bias) {
    eval_.add_plain_inplace(acc, encoder_.encode(l.bias_slots, acc.level, acc.scale));
    c.encodes += 1;
    c.additions += 1;
  }
  if (trace) {
    c.rotations = rotations;
    trace->ops = c;
    trace->rotation_steps = normalize_steps(steps, params_.slots());
  }
  return acc;
}

Ciphertext Server::evaluate_image(const Ciphertext& input, std::vector<LayerTrace>* trace) const {
  if (plan_.packing != Packing::kLatency) throw Error("evaluate: the plan uses throughput packing");
  check_input(input, "evaluate");
  if (prepared_->mux_) {
    if (!trace) return prepared_->mux_->run(input, keys_.relin, keys_.galois, pool_);
    std::vector<OpCounts> counts;
    std::vector<MultiplexedExecutor::OpOutput> outputs;
    Ciphertext out = prepared_->mux_->run(input, keys_.relin, keys_.galois, pool_, &counts, &outputs);
    trace->assign(counts.size(), LayerTrace{});
    // A layer without an op of its own (flatten, a pooling fused into the next layer) leaves
    // the ciphertexts as the op before it left them.
    int level = plan_.input_level;
    double scale = input.scale;
    std::size_t k = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      (*trace)[i].ops = counts[i];
      for (; k < outputs.size() && outputs[k].layer == i; ++k) level = outputs[k].level, scale = outputs[k].scale;
      (*trace)[i].level_out = level;
      (*trace)[i].log2_scale_out = std::log2(scale);
    }
    return out;
  }
  if (trace) trace->assign(layers_.size(), LayerTrace{});
  Ciphertext x = input;
  for (std::size_t li = 0; li < layers_.size(); ++li) {
    const Layer& l = *layers_[li];
    LayerTrace* t = trace ? &(*trace)[li] : nullptr;
    switch (l.kind) {
      case Layer::kFlatten:
        break;
      case Layer::kLinear:
        x = linear_latency(l, x, t);
        break;
      case Layer::kSquare:
        x = square(eval_pool_, x, keys_.relin, t ? &t->ops : nullptr);
        break;
      case Layer::kPolynomial:
        x = polynomial(eval_pool_, x, l.coefficients, keys_.relin, t ? &t->ops : nullptr);
        break;
    }
    if (t) {  // measured on the ciphertext itself
      t->level_out = static_cast<int>(x.level);
      t->log2_scale_out = std::log2(x.scale);
    }
  }
  return x;
}

}  // namespace hemi::he
