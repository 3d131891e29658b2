#include "hemi/train/torchscript_graph.h"

#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/inliner.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <unordered_map>
#include <variant>

namespace hemi::train::detail {
namespace {

using torch::jit::Block;
using torch::jit::Node;
using torch::jit::Value;

// The batch size the walk assumes for size arithmetic. Not 1, so that a reshape with a
// hard-coded batch of 1, or one that mixes the images of a batch, is caught.
constexpr int64_t kBatch = 3;

// Loops on constants are run; this bounds a `while` whose condition never turns false.
constexpr int64_t kMaxIterations = 100000;

// A tensor computed from the network input: sum_k poly[k] · z^k element-wise, where z is the
// activation numbered `base` (0: the network input; then one number per change to the chain).
struct Activation {
  int base = 0;
  std::vector<double> poly = {0.0, 1.0};
};

// What the walk knows about one graph value: a constant (parameters, hyper-parameters, sizes,
// module objects) or an activation.
using Abstract = std::variant<c10::IValue, Activation>;

std::vector<double> trimmed(std::vector<double> p) {
  while (p.size() > 1 && p.back() == 0.0) p.pop_back();
  return p;
}

bool is_identity(const std::vector<double>& p) {
  auto t = trimmed(p);
  return t.size() == 2 && t[0] == 0.0 && t[1] == 1.0;
}

std::string first_line(std::string s) {
  auto b = s.find_first_not_of(" \t\n");
  if (b == std::string::npos) return {};
  s = s.substr(b);
  auto nl = s.find('\n');
  if (nl != std::string::npos) s = s.substr(0, nl);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

std::vector<double> to_vector(const torch::Tensor& t) {
  auto d = t.detach().to(torch::kDouble).contiguous();
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

std::string dims_string(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

class Walker {
 public:
  Walker(std::string what, const nn::TensorShape& input) : what_(std::move(what)), shape_(input) {
    base_shape_[0] = input;
  }

  std::vector<nn::Layer> run(const torch::jit::Module& module) {
    auto method = module.find_method("forward");
    if (!method) throw InputError(what_ + ": the module has no forward method");
    auto graph = method->graph()->copy();
    torch::jit::Inline(*graph);  // submodule calls and functions become one graph
    if (graph->inputs().size() != 2)
      throw InputError(what_ + ": forward takes " + std::to_string(graph->inputs().size() - 1) +
                  " arguments; hemi passes one batch of images");
    if (graph->outputs().size() != 1 || graph->outputs()[0]->type()->kind() != c10::TypeKind::TensorType)
      throw InputError(what_ + ": forward returns " +
                  (graph->outputs().size() == 1 ? graph->outputs()[0]->type()->repr_str()
                                                : std::to_string(graph->outputs().size()) + " values") +
                  "; hemi needs one tensor of logits");
    env_[graph->inputs()[0]] = c10::IValue(module._ivalue());
    env_[graph->inputs()[1]] = Activation{};
    block(graph->block());
    Node* ret = graph->return_node();
    const auto* out = std::get_if<Activation>(&get(ret, graph->outputs()[0]));
    if (!out) throw InputError(what_ + ": forward returns a constant, not a function of its input");
    materialize(ret, *out);
    return std::move(layers_);
  }

 private:
  // ---- errors ----

  // "'aten::relu' in 'features.2' ("return torch.relu(x)", net.py:12)"
  static std::string describe(const Node* n) {
    std::string s = std::string("'") + n->kind().toQualString() + "'";
    std::string path;
    if (auto cs = n->callstack()) {
      for (auto& entry : (*cs)->vec()) {
        const auto& info = std::get<2>(entry);
        if (info && !info->instance_name().empty())
          path += (path.empty() ? "" : ".") + info->instance_name();
      }
    }
    if (!path.empty()) s += " in '" + path + "'";
    // The range in the code saved in the file, or better the source it was compiled from.
    auto range = n->sourceRange();
    if (auto original = range.findSourceRangeThatGenerated()) range = *original;
    if (range.source()) {
      // The whole source line the operation starts on.
      const auto& src = *range.source();
      std::size_t begin = src.offset_for_line(src.lineno_for_offset(range.start()));
      std::size_t length = std::min<std::size_t>(src.size() - begin, 200);
      std::string text = first_line(src.text_str().substr(begin, length).str());
      std::string loc;
      if (auto flc = range.file_line_col(); flc && !std::get<0>(*flc).empty())
        loc = std::filesystem::path(std::get<0>(*flc)).filename().string() + ":" + std::to_string(std::get<1>(*flc));
      if (!text.empty() || !loc.empty())
        s += " (" + (text.empty() ? "" : "\"" + text + "\"") + (!text.empty() && !loc.empty() ? ", " : "") + loc + ")";
    }
    return s;
  }
  [[noreturn]] void fail(const Node* n, const std::string& why) const {
    throw InputError(what_ + ": " + describe(n) + ": " + why);
  }
  [[noreturn]] void unsupported(const Node* n) const {
    throw InputError(what_ + ": unsupported operation " + describe(n) +
                "; hemi's layers are conv2d, avgpool2d, flatten, dense, square and polynomial");
  }
  [[noreturn]] void stale(const Node* n) const {
    fail(n, "uses an activation from before the latest layer again (a branch or a residual connection); hemi's "
            "models are a chain of layers");
  }

  // ---- values ----

  const Abstract& get(const Node* n, const Value* v) const {
    auto it = env_.find(v);
    if (it == env_.end())
      fail(n, "uses %" + v->debugName() + ", which the import cannot evaluate (made by '" +
                  v->node()->kind().toQualString() + "')");
    return it->second;
  }
  const Activation* activation(const Node* n, std::size_t i) const {
    return std::get_if<Activation>(&get(n, n->input(i)));
  }
  const c10::IValue& constant(const Node* n, std::size_t i) const {
    const auto& a = get(n, n->input(i));
    if (std::holds_alternative<Activation>(a))
      fail(n, "argument " + std::to_string(i + 1) + " depends on the network input; hemi needs a constant there");
    return std::get<c10::IValue>(a);
  }
  static bool is_number(const c10::IValue& v) {
    return v.isDouble() || v.isInt() || v.isBool() || (v.isTensor() && v.toTensor().numel() == 1);
  }
  double number(const Node* n, const c10::IValue& v) const {
    if (v.isDouble()) return v.toDouble();
    if (v.isInt()) return static_cast<double>(v.toInt());
    if (v.isBool()) return v.toBool() ? 1.0 : 0.0;
    if (v.isTensor() && v.toTensor().numel() == 1) return v.toTensor().item<double>();
    fail(n, "expected a number, got " + v.tagKind());
  }
  int64_t integer(const Node* n, std::size_t i) const {
    const auto& v = constant(n, i);
    if (!v.isInt()) fail(n, "argument " + std::to_string(i + 1) + " is not an int");
    return v.toInt();
  }
  bool boolean(const Node* n, std::size_t i) const {
    const auto& v = constant(n, i);
    if (!v.isBool()) fail(n, "argument " + std::to_string(i + 1) + " is not a bool");
    return v.toBool();
  }
  torch::Tensor tensor(const Node* n, std::size_t i, const char* what) const {
    const auto& v = constant(n, i);
    if (!v.isTensor()) fail(n, std::string(what) + " is not a tensor");
    return v.toTensor().detach();
  }
  std::optional<torch::Tensor> optional_tensor(const Node* n, std::size_t i, const char* what) const {
    if (constant(n, i).isNone()) return std::nullopt;
    return tensor(n, i, what);
  }
  std::vector<int64_t> ints(const Node* n, std::size_t i, const char* what) const {
    const auto& v = constant(n, i);
    if (v.isInt()) return {v.toInt()};
    if (v.isIntList()) return v.toIntVector();
    if (v.isTuple()) {
      std::vector<int64_t> xs;
      for (const auto& e : v.toTupleRef().elements()) {
        if (!e.isInt()) fail(n, std::string(what) + " is not a list of ints");
        xs.push_back(e.toInt());
      }
      return xs;
    }
    fail(n, std::string(what) + " is not a list of ints");
  }
  // An int or a pair of ints, as (h, w).
  std::pair<int, int> pair(const Node* n, std::size_t i, const char* what) const {
    auto xs = ints(n, i, what);
    if (xs.size() == 1) xs.push_back(xs[0]);
    if (xs.size() != 2) fail(n, std::string(what) + " has " + std::to_string(xs.size()) + " values, expected 2");
    return {static_cast<int>(xs[0]), static_cast<int>(xs[1])};
  }

  // The torch sizes of an activation, batch first.
  std::vector<int64_t> dims(const Activation& a) const {
    const nn::TensorShape& s = base_shape_.at(a.base);
    if (s.flat) return {kBatch, s.channels};
    return {kBatch, s.channels, s.height, s.width};
  }

  // ---- the chain of layers ----

  void new_tip() {
    tip_ = ++last_id_;
    base_shape_[tip_] = shape_;
  }
  void push(const Node* n, nn::Layer layer) {
    auto next = nn::infer_shape(layer, shape_);
    if (!next) fail(n, std::string(nn::layer_kind(layer)) + ": " + next.error());
    shape_ = next.value();
    layers_.push_back(std::move(layer));
    new_tip();
  }

  // Folds y = scale[o] · z + shift[o] (o: channel or feature) into the conv2d/dense layer that
  // made the tip z.
  void fold_into_last(const Node* n, const std::vector<double>& scale, const std::vector<double>& shift) {
    if (layers_.empty() || !nn::is_linear(layers_.back()))
      fail(n, std::string("a per-channel scale or shift can only be folded into a conv2d or dense layer directly "
                          "before it; here it follows ") +
                  (layers_.empty() ? "the input" : nn::layer_kind(layers_.back())));
    auto apply = [&](auto& layer, int outputs) {
      if (scale.size() != static_cast<std::size_t>(outputs))
        fail(n, "has " + std::to_string(scale.size()) + " per-channel values for a layer with " +
                    std::to_string(outputs) + " outputs");
      std::size_t per = layer.weight.size() / static_cast<std::size_t>(outputs);
      if (layer.bias.empty()) layer.bias.assign(static_cast<std::size_t>(outputs), 0.0);
      for (int o = 0; o < outputs; ++o) {
        for (std::size_t k = 0; k < per; ++k) layer.weight[static_cast<std::size_t>(o) * per + k] *= scale[o];
        layer.bias[o] = layer.bias[o] * scale[o] + shift[o];
      }
    };
    if (auto* c = std::get_if<nn::Conv2d>(&layers_.back()))
      apply(*c, c->out_channels);
    else
      apply(std::get<nn::Dense>(layers_.back()), std::get<nn::Dense>(layers_.back()).out_features);
    new_tip();
  }

  // Makes `a` the output of the chain: emits its polynomial as a layer (square, polynomial, or
  // folded into the conv2d/dense before when it is affine).
  Activation materialize(const Node* n, const Activation& a) {
    if (a.base != tip_) stale(n);
    auto p = trimmed(a.poly);
    if (is_identity(p)) return a;
    if (p.size() <= 2 && !layers_.empty() && nn::is_linear(layers_.back())) {
      std::size_t outputs = shape_.flat ? shape_.size() : static_cast<std::size_t>(shape_.channels);
      fold_into_last(n, std::vector<double>(outputs, p.size() > 1 ? p[1] : 0.0), std::vector<double>(outputs, p[0]));
    } else if (p == std::vector<double>{0.0, 0.0, 1.0}) {
      push(n, nn::Square{});
    } else {
      push(n, nn::Polynomial{p});
    }
    return Activation{tip_};
  }

  // The activation argument i of a layer-like operation, emitted as the chain's output.
  Activation input(const Node* n, std::size_t i = 0) {
    const auto* a = activation(n, i);
    if (!a) fail(n, "argument " + std::to_string(i + 1) + " is a constant; hemi needs the activation there");
    return materialize(n, *a);
  }

  // ---- polynomial arithmetic ----

  std::vector<double> poly_mul(const Node* n, const std::vector<double>& p, const std::vector<double>& q) const {
    auto a = trimmed(p), b = trimmed(q);
    if (a.size() + b.size() - 2 > static_cast<std::size_t>(nn::kMaxPolynomialDegree))
      fail(n, "the activation's polynomial would have degree " + std::to_string(a.size() + b.size() - 2) +
                  ", more than " + std::to_string(nn::kMaxPolynomialDegree));
    std::vector<double> r(a.size() + b.size() - 1, 0.0);
    for (std::size_t i = 0; i < a.size(); ++i)
      for (std::size_t j = 0; j < b.size(); ++j) r[i + j] += a[i] * b[j];
    return r;
  }
  static std::vector<double> poly_add(std::vector<double> p, const std::vector<double>& q, double k = 1.0) {
    if (p.size() < q.size()) p.resize(q.size(), 0.0);
    for (std::size_t i = 0; i < q.size(); ++i) p[i] += k * q[i];
    return p;
  }
  static std::vector<double> poly_scale(std::vector<double> p, double k) {
    for (double& c : p) c *= k;
    return p;
  }

  // A constant tensor broadcast against activation `a` as one value per channel (conv) or
  // feature (flat); refused when it varies over positions or the batch.
  std::vector<double> per_channel(const Node* n, const torch::Tensor& t, const Activation& a) const {
    auto d = dims(a);
    if (t.dim() > static_cast<int64_t>(d.size()))
      fail(n, "a constant of shape " + dims_string(t.sizes().vec()) + " does not broadcast to the activation");
    for (int64_t k = 0; k < t.dim(); ++k) {
      auto axis = static_cast<int64_t>(d.size()) - t.dim() + k;
      auto size = t.size(k);
      if (size == 1) continue;
      if (axis != 1)
        fail(n, "a constant of shape " + dims_string(t.sizes().vec()) + " varies over " +
                    (axis == 0 ? "the batch" : "positions") +
                    "; only one value per channel can be folded into the layer before");
      if (size != d[1]) fail(n, "a constant of shape " + dims_string(t.sizes().vec()) + " does not broadcast to the activation");
    }
    auto full = t.to(torch::kDouble).expand(d).select(0, 0);
    while (full.dim() > 1) full = full.select(-1, 0);
    return to_vector(full);
  }

  // x op y for op in + - * /, where at least one side is an activation.
  Abstract binary(const Node* n, char op, const Abstract& x, const Abstract& y) {
    const auto* ax = std::get_if<Activation>(&x);
    const auto* ay = std::get_if<Activation>(&y);
    if (ax && ay) {
      if (ax->base != ay->base)
        fail(n, "combines two different activations (a branch or a residual connection); hemi's models are a chain "
                "of layers");
      if (ax->base != tip_) stale(n);
      switch (op) {
        case '+': return Activation{tip_, poly_add(ax->poly, ay->poly)};
        case '-': return Activation{tip_, poly_add(ax->poly, ay->poly, -1.0)};
        case '*': return Activation{tip_, poly_mul(n, ax->poly, ay->poly)};
        default: fail(n, "divides by an activation");
      }
    }
    const Activation& a = ax ? *ax : *ay;
    const c10::IValue& c = ax ? std::get<c10::IValue>(y) : std::get<c10::IValue>(x);
    const bool act_first = ax != nullptr;
    if (a.base != tip_) stale(n);
    if (op == '/' && !act_first) fail(n, "divides by an activation");
    if (is_number(c)) {
      double v = number(n, c);
      switch (op) {
        case '+': return Activation{tip_, poly_add(a.poly, {v})};
        case '-': return Activation{tip_, act_first ? poly_add(a.poly, {-v}) : poly_add(poly_scale(a.poly, -1.0), {v})};
        case '*': return Activation{tip_, poly_scale(a.poly, v)};
        default:
          if (v == 0.0) fail(n, "divides by zero");
          return Activation{tip_, poly_scale(a.poly, 1.0 / v)};
      }
    }
    if (!c.isTensor()) fail(n, "has an argument of type " + c.tagKind() + " that hemi cannot use");
    auto t = per_channel(n, c.toTensor(), a);
    std::vector<double> scale(t.size(), 1.0), shift(t.size(), 0.0);
    for (std::size_t o = 0; o < t.size(); ++o) {
      switch (op) {
        case '+': shift[o] = t[o]; break;
        case '-':
          if (act_first) {
            shift[o] = -t[o];
          } else {
            scale[o] = -1.0;
            shift[o] = t[o];
          }
          break;
        case '*': scale[o] = t[o]; break;
        default:
          if (t[o] == 0.0) fail(n, "divides by zero");
          scale[o] = 1.0 / t[o];
      }
    }
    return affine(n, a, scale, shift);
  }

  // scale[o] · p(z) + shift[o] for an affine p of the tip, folded into the layer before.
  Activation affine(const Node* n, const Activation& a, const std::vector<double>& scale,
                    const std::vector<double>& shift) {
    if (a.base != tip_) stale(n);
    auto p = trimmed(a.poly);
    if (p.size() > 2)
      fail(n, "a per-channel scale or shift after a nonlinear operation cannot be represented; hemi folds such "
              "constants into the conv2d or dense layer directly before");
    double c0 = p[0], c1 = p.size() > 1 ? p[1] : 0.0;
    std::vector<double> s(scale.size()), t(scale.size());
    for (std::size_t o = 0; o < scale.size(); ++o) {
      s[o] = scale[o] * c1;
      t[o] = scale[o] * c0 + shift[o];
    }
    fold_into_last(n, s, t);
    return Activation{tip_};
  }

  static Abstract scaled(const Abstract& v, double k) {
    if (k == 1.0) return v;
    if (const auto* a = std::get_if<Activation>(&v)) return Activation{a->base, poly_scale(a->poly, k)};
    const auto& c = std::get<c10::IValue>(v);
    if (c.isTensor()) return c10::IValue(c.toTensor() * k);
    if (c.isInt()) return c10::IValue(static_cast<double>(c.toInt()) * k);
    if (c.isDouble()) return c10::IValue(c.toDouble() * k);
    return v;
  }

  // ---- the walk ----

  void block(Block* b) {
    for (Node* n : b->nodes()) node(n);
  }

  void node(Node* n) {
    const std::string kind = n->kind().toQualString();
    if (kind == "prim::Constant") {
      if (auto v = torch::jit::toIValue(n->output())) env_[n->output()] = *v;  // else: unusable (e.g. a function)
      return;
    }
    if (kind == "prim::GetAttr") {
      const auto& obj = constant(n, 0);
      const std::string name = n->s(torch::jit::attr::name);
      if (!obj.isObject() || !obj.toObjectRef().type()->hasAttribute(name)) fail(n, "no attribute '" + name + "'");
      env_[n->output()] = obj.toObjectRef().getAttr(name);
      return;
    }
    if (kind == "prim::If") return branch(n);
    if (kind == "prim::Loop") return loop(n);
    if (kind == "prim::RaiseException") {
      std::string msg;
      if (n->inputs().size() > 0) {
        auto it = env_.find(n->input(0));
        if (it != env_.end() && std::holds_alternative<c10::IValue>(it->second) &&
            std::get<c10::IValue>(it->second).isString())
          msg = ": " + first_line(std::get<c10::IValue>(it->second).toStringRef());
      }
      fail(n, "the forward raises an exception on a " + shape_.to_string() + " input" + msg);
    }
    if (kind == "prim::unchecked_cast") {
      env_[n->output()] = get(n, n->input(0));
      return;
    }
    bool touches_input = false;
    for (const Value* v : n->inputs()) touches_input |= std::holds_alternative<Activation>(get(n, v));
    if (!touches_input) return containers(n, kind) ? void() : evaluate(n);
    if (metadata(n, kind)) return;
    operation(n, kind);
  }

  void branch(Node* n) {
    const auto& c = constant(n, 0);
    if (!c.isBool()) fail(n, "the condition is not a bool");
    Block* b = n->blocks()[c.toBool() ? 0 : 1];
    block(b);
    for (std::size_t i = 0; i < n->outputs().size(); ++i) env_[n->outputs()[i]] = get(n, b->outputs()[i]);
  }

  void loop(Node* n) {
    int64_t trips = integer(n, 0);
    bool go = boolean(n, 1);
    Block* body = n->blocks()[0];
    std::vector<Abstract> carried;
    for (std::size_t i = 2; i < n->inputs().size(); ++i) carried.push_back(get(n, n->input(i)));
    for (int64_t i = 0; go && i < trips; ++i) {
      if (i == kMaxIterations) fail(n, "runs more than " + std::to_string(kMaxIterations) + " iterations");
      env_[body->inputs()[0]] = c10::IValue(i);
      for (std::size_t j = 0; j < carried.size(); ++j) env_[body->inputs()[j + 1]] = carried[j];
      block(body);
      const auto& c = get(n, body->outputs()[0]);
      if (!std::holds_alternative<c10::IValue>(c) || !std::get<c10::IValue>(c).isBool())
        fail(n, "the loop condition depends on the network input");
      go = std::get<c10::IValue>(c).toBool();
      for (std::size_t j = 0; j < carried.size(); ++j) carried[j] = get(n, body->outputs()[j + 1]);
    }
    for (std::size_t j = 0; j < carried.size(); ++j) env_[n->outputs()[j]] = carried[j];
  }

  // Lists and tuples of constants, which the TorchScript interpreter builds with its own
  // instructions rather than with operators.
  bool containers(Node* n, const std::string& kind) {
    std::vector<c10::IValue> in;
    for (const Value* v : n->inputs()) in.push_back(std::get<c10::IValue>(get(n, v)));
    if (kind == "prim::ListConstruct") {
      auto elem = n->output()->type()->containedType(0);
      if (elem->kind() == c10::TypeKind::IntType) {
        std::vector<int64_t> xs;
        for (const auto& v : in) xs.push_back(v.toInt());
        env_[n->output()] = c10::IValue(xs);
      } else if (elem->kind() == c10::TypeKind::FloatType) {
        std::vector<double> xs;
        for (const auto& v : in) xs.push_back(v.toDouble());
        env_[n->output()] = c10::IValue(xs);
      } else if (elem->kind() == c10::TypeKind::BoolType) {
        c10::List<bool> xs;
        for (const auto& v : in) xs.push_back(v.toBool());
        env_[n->output()] = c10::IValue(xs);
      } else if (elem->kind() == c10::TypeKind::TensorType) {
        c10::List<at::Tensor> xs;
        for (const auto& v : in) xs.push_back(v.toTensor());
        env_[n->output()] = c10::IValue(xs);
      } else {
        c10::impl::GenericList xs(elem);
        for (const auto& v : in) xs.push_back(v);
        env_[n->output()] = c10::IValue(xs);
      }
    } else if (kind == "prim::TupleConstruct") {
      env_[n->output()] = c10::ivalue::Tuple::create(std::move(in));
    } else if (kind == "prim::ListUnpack" || kind == "prim::TupleUnpack") {
      std::vector<c10::IValue> xs;
      if (in[0].isTuple())
        xs = in[0].toTupleRef().elements().vec();
      else if (in[0].isList())
        xs = in[0].toListRef().vec();
      if (xs.size() != n->outputs().size()) fail(n, "unpacks a value of another size");
      for (std::size_t i = 0; i < xs.size(); ++i) env_[n->outputs()[i]] = xs[i];
    } else if (kind == "prim::TupleIndex") {
      const auto& xs = in[0].toTupleRef().elements();
      int64_t i = in[1].toInt();
      if (i < 0) i += static_cast<int64_t>(xs.size());
      if (i < 0 || i >= static_cast<int64_t>(xs.size())) fail(n, "tuple index out of range");
      env_[n->output()] = xs[static_cast<std::size_t>(i)];
    } else if (kind == "prim::Uninitialized") {
      env_[n->output()] = c10::IValue();
    } else {
      return false;
    }
    return true;
  }

  // An operation on constants only (sizes, lists, parameters): run it.
  void evaluate(Node* n) {
    if (n->outputs().empty()) return;  // aten::warn and the like
    torch::jit::Stack stack;
    for (const Value* v : n->inputs()) stack.push_back(std::get<c10::IValue>(get(n, v)));
    if (const auto* schema = n->maybeSchema())
      for (std::size_t i = 0; i < schema->arguments().size() && i < stack.size(); ++i) {
        const auto* alias = schema->arguments()[i].alias_info();
        if (alias && alias->isWrite() && stack[i].isTensor())
          fail(n, "changes a tensor of the module (an in-place operation on a parameter or buffer)");
      }
    try {
      n->getOperation()(stack);
    } catch (const std::exception& e) {
      fail(n, "cannot be evaluated on constants (" + first_line(e.what()) + ")");
    }
    if (stack.size() != n->outputs().size()) fail(n, "gave an unexpected number of results");
    for (std::size_t i = 0; i < stack.size(); ++i) env_[n->outputs()[i]] = stack[i];
  }

  // Questions about an activation's size, type or device: answered without touching values.
  bool metadata(Node* n, const std::string& kind) {
    const auto* a = activation(n, 0);
    if (!a) return false;
    auto d = dims(*a);
    auto nd = static_cast<int64_t>(d.size());
    c10::IValue r;
    if (kind == "aten::size" && n->inputs().size() == 1) {
      r = c10::IValue(d);
    } else if (kind == "aten::size") {
      int64_t k = integer(n, 1);
      if (k < -nd || k >= nd) fail(n, "dimension " + std::to_string(k) + " of a " + std::to_string(nd) + "-dimensional tensor");
      r = d[static_cast<std::size_t>(k < 0 ? k + nd : k)];
    } else if (kind == "aten::dim") {
      r = nd;
    } else if (kind == "aten::len") {
      r = d[0];
    } else if (kind == "aten::numel") {
      int64_t p = 1;
      for (auto v : d) p *= v;
      r = p;
    } else if (kind == "prim::dtype") {
      r = static_cast<int64_t>(c10::ScalarType::Float);
    } else if (kind == "prim::device") {
      r = c10::Device(c10::kCPU);
    } else if (kind == "prim::is_cuda" || kind == "prim::requires_grad") {
      r = false;
    } else if (kind == "aten::__is__" || kind == "aten::__isnot__") {
      r = kind == "aten::__isnot__";  // an activation is never None
    } else {
      return false;
    }
    env_[n->output()] = r;
    return true;
  }

  // An operation on activations.
  void operation(Node* n, std::string kind) {
    bool inplace = kind.size() > 1 && kind.back() == '_' && kind[kind.size() - 2] != '_';
    if (inplace) kind.pop_back();
    Abstract result;
    if (kind == "aten::add" || kind == "aten::sub" || kind == "aten::rsub") {
      double alpha = n->inputs().size() > 2 ? number(n, constant(n, 2)) : 1.0;
      const auto& x = get(n, n->input(0));
      const auto& y = get(n, n->input(1));
      if (kind == "aten::rsub")
        result = binary(n, '-', y, scaled(x, alpha));
      else
        result = binary(n, kind == "aten::add" ? '+' : '-', x, scaled(y, alpha));
    } else if (kind == "aten::mul") {
      result = binary(n, '*', get(n, n->input(0)), get(n, n->input(1)));
    } else if (kind == "aten::div" || kind == "aten::true_divide") {
      if (n->inputs().size() > 2 && !constant(n, 2).isNone()) fail(n, "rounds the quotient");
      result = binary(n, '/', get(n, n->input(0)), get(n, n->input(1)));
    } else if (kind == "aten::neg") {
      result = scaled(get(n, n->input(0)), -1.0);
    } else if (kind == "aten::square") {
      result = binary(n, '*', get(n, n->input(0)), get(n, n->input(0)));
    } else if (kind == "aten::pow") {
      const auto* a = activation(n, 0);
      if (!a || !is_number(constant(n, 1))) fail(n, "hemi takes pow only of an activation to a constant power");
      double e = number(n, constant(n, 1));
      if (e != std::floor(e) || e < 0 || e > nn::kMaxPolynomialDegree)
        fail(n, "the exponent " + c10::str(e) + " is not an integer in [0, " +
                    std::to_string(nn::kMaxPolynomialDegree) + "]");
      if (a->base != tip_) stale(n);
      std::vector<double> p = {1.0};
      for (int k = 0; k < static_cast<int>(e); ++k) p = poly_mul(n, p, a->poly);
      result = Activation{tip_, p};
    } else if (kind == "aten::contiguous" || kind == "aten::clone" || kind == "aten::detach") {
      result = get(n, n->input(0));
    } else if (kind == "aten::dropout" || kind == "aten::feature_dropout" || kind == "aten::alpha_dropout" ||
               kind == "aten::feature_alpha_dropout") {
      if (boolean(n, 2)) fail(n, "dropout in training mode");
      result = get(n, n->input(0));
    } else if (inplace) {
      unsupported(n);
    } else {
      result = layer(n, kind);
    }
    env_[n->output()] = result;
    if (inplace) env_[n->input(0)] = result;
  }

  // Operations that become (or fold into) layers.
  Activation layer(Node* n, const std::string& kind) {
    if (kind == "aten::conv2d" || kind == "aten::_convolution" || kind == "aten::convolution") return conv(n, kind);
    if (kind == "aten::linear") {
      input_flat(n, 0);
      return dense(n, tensor(n, 1, "weight"), optional_tensor(n, 2, "bias"));
    }
    if (kind == "aten::matmul" || kind == "aten::mm") {
      input_flat(n, 0);
      auto m = tensor(n, 1, "the matrix");
      if (m.dim() != 2) fail(n, "the matrix is not 2-dimensional");
      return dense(n, m.t(), std::nullopt);
    }
    if (kind == "aten::addmm") {
      input_flat(n, 1);
      auto m = tensor(n, 2, "the matrix");
      if (m.dim() != 2) fail(n, "the matrix is not 2-dimensional");
      double beta = number(n, constant(n, 3)), alpha = number(n, constant(n, 4));
      return dense(n, m.t() * alpha, tensor(n, 0, "the bias") * beta);
    }
    if (kind == "aten::avg_pool2d") return avg_pool(n);
    if (kind == "aten::adaptive_avg_pool2d") return adaptive_pool(n);
    if (kind == "aten::mean") return global_mean(n);
    if (kind == "aten::flatten") return flatten(n);
    if (kind == "aten::view" || kind == "aten::reshape") return reshape(n);
    if (kind == "aten::batch_norm") return batch_norm(n);
    unsupported(n);
  }

  void input_flat(const Node* n, std::size_t i) {
    const auto* a = activation(n, i);
    if (a && !base_shape_.at(a->base).flat)
      fail(n, "applies to the last dimension of a " + base_shape_.at(a->base).to_string() +
                  " activation; hemi needs it flattened first (torch.flatten(x, 1))");
  }

  Activation conv(Node* n, const std::string& kind) {
    input(n);
    auto w = tensor(n, 1, "weight");
    if (w.dim() != 4) fail(n, "weight is not 4-dimensional (only 2-d convolutions)");
    nn::Conv2d c;
    c.out_channels = static_cast<int>(w.size(0));
    c.in_channels = static_cast<int>(w.size(1));
    c.kernel_h = static_cast<int>(w.size(2));
    c.kernel_w = static_cast<int>(w.size(3));
    std::tie(c.stride_h, c.stride_w) = pair(n, 3, "stride");
    const auto& pad = constant(n, 4);
    if (pad.isString()) {
      const auto& mode = pad.toStringRef();
      if (mode == "valid") {
        c.pad_h = c.pad_w = 0;
      } else if (mode == "same" && c.stride_h == 1 && c.stride_w == 1 && c.kernel_h % 2 == 1 && c.kernel_w % 2 == 1) {
        c.pad_h = c.kernel_h / 2;
        c.pad_w = c.kernel_w / 2;
      } else {
        fail(n, "padding '" + mode + "' (hemi takes 'valid', and 'same' for odd kernels at stride 1)");
      }
    } else {
      std::tie(c.pad_h, c.pad_w) = pair(n, 4, "padding");
    }
    if (pair(n, 5, "dilation") != std::pair<int, int>{1, 1}) fail(n, "dilation other than 1");
    int64_t groups = 1;
    if (kind == "aten::conv2d") {
      groups = integer(n, 6);
    } else {
      if (boolean(n, 6)) fail(n, "transposed convolution");
      groups = integer(n, 8);
    }
    if (groups != 1) fail(n, "groups " + std::to_string(groups) + " (hemi takes 1)");
    c.weight = to_vector(w);
    if (auto b = optional_tensor(n, 2, "bias")) c.bias = to_vector(*b);
    push(n, std::move(c));
    return Activation{tip_};
  }

  Activation dense(Node* n, const torch::Tensor& w, const std::optional<torch::Tensor>& bias) {
    input(n, n->kind().toQualString() == std::string("aten::addmm") ? 1 : 0);
    if (w.dim() != 2) fail(n, "weight is not 2-dimensional");
    nn::Dense d;
    d.out_features = static_cast<int>(w.size(0));
    d.in_features = static_cast<int>(w.size(1));
    d.weight = to_vector(w);
    if (bias) {
      auto b = bias->reshape(-1);
      if (b.numel() == 1) b = b.expand({w.size(0)});
      if (b.numel() != w.size(0)) fail(n, "bias has " + std::to_string(b.numel()) + " values for " + std::to_string(w.size(0)) + " outputs");
      d.bias = to_vector(b);
    }
    push(n, std::move(d));
    return Activation{tip_};
  }

  Activation avg_pool(Node* n) {
    input(n);
    nn::AvgPool2d p;
    std::tie(p.kernel_h, p.kernel_w) = pair(n, 1, "kernel_size");
    if (ints(n, 2, "stride").empty())
      std::tie(p.stride_h, p.stride_w) = std::pair{p.kernel_h, p.kernel_w};
    else
      std::tie(p.stride_h, p.stride_w) = pair(n, 2, "stride");
    if (pair(n, 3, "padding") != std::pair<int, int>{0, 0}) fail(n, "padding other than 0");
    if (boolean(n, 4) && (shape_.flat || (shape_.height - p.kernel_h) % p.stride_h != 0 ||
                          (shape_.width - p.kernel_w) % p.stride_w != 0))
      fail(n, "ceil_mode adds partial windows here");
    if (n->inputs().size() > 6 && !constant(n, 6).isNone() &&
        number(n, constant(n, 6)) != static_cast<double>(p.kernel_h * p.kernel_w))
      fail(n, "divisor_override other than the window size");
    push(n, p);
    return Activation{tip_};
  }

  Activation adaptive_pool(Node* n) {
    input(n);
    auto [oh, ow] = pair(n, 1, "output_size");
    if (shape_.flat || oh < 1 || ow < 1 || shape_.height % oh != 0 || shape_.width % ow != 0)
      fail(n, "output size " + std::to_string(oh) + "x" + std::to_string(ow) + " does not divide the input " +
                  shape_.to_string() + " into equal windows");
    nn::AvgPool2d p;
    p.kernel_h = p.stride_h = shape_.height / oh;
    p.kernel_w = p.stride_w = shape_.width / ow;
    push(n, p);
    return Activation{tip_};
  }

  // x.mean([2, 3]) / x.mean((-2, -1), keepdim): the global average pool.
  Activation global_mean(Node* n) {
    if (n->inputs().size() < 3 || !constant(n, 1).isIntList()) unsupported(n);  // mean over everything
    auto axes = ints(n, 1, "dim");
    for (auto& a : axes) a = a < 0 ? a + 4 : a;
    std::sort(axes.begin(), axes.end());
    if (shape_.flat || axes != std::vector<int64_t>{2, 3})
      fail(n, "hemi averages only over height and width (dim [2, 3]) of a C x H x W activation");
    if (n->inputs().size() > 3 && !constant(n, 3).isNone()) fail(n, "a dtype argument");
    bool keepdim = boolean(n, 2);
    input(n);
    push(n, nn::AvgPool2d{shape_.height, shape_.width, shape_.height, shape_.width});
    if (!keepdim) push(n, nn::Flatten{});
    return Activation{tip_};
  }

  // The activation argument 0 of a reshaping operation, as it is (not emitted).
  const Activation& reshaped(const Node* n) const {
    const auto* a = activation(n, 0);
    if (!a) fail(n, "argument 1 is a constant; hemi needs the activation there");
    return *a;
  }

  // Flatten of `a` (element-wise polynomials are emitted first).
  Activation flattened(const Node* n, const Activation& a) {
    if (base_shape_.at(a.base).flat) return a;  // nothing to do
    materialize(n, a);
    push(n, nn::Flatten{});
    return Activation{tip_};
  }

  Activation flatten(Node* n) {
    const Activation& in = reshaped(n);
    auto nd = static_cast<int64_t>(dims(in).size());
    int64_t start = integer(n, 1), end = integer(n, 2);
    if (start < 0) start += nd;
    if (end < 0) end += nd;
    if (start == end) return in;
    if (start != 1 || end != nd - 1)
      fail(n, "flattens dimensions " + std::to_string(start) + " to " + std::to_string(end) +
                  "; hemi flattens all but the batch dimension (start_dim 1, end_dim -1)");
    return flattened(n, in);
  }

  Activation reshape(Node* n) {
    const Activation& in = reshaped(n);
    auto d = dims(in);
    auto want = ints(n, 1, "the shape");
    int64_t total = 1, known = 1, unknown = -1;
    for (auto v : d) total *= v;
    std::vector<int64_t> target = want;
    for (std::size_t i = 0; i < target.size(); ++i) {
      if (target[i] == -1 && unknown < 0)
        unknown = static_cast<int64_t>(i);
      else
        known *= target[i];
    }
    if (unknown >= 0 && known > 0 && total % known == 0) target[static_cast<std::size_t>(unknown)] = total / known;
    if (target == d) return in;
    if (target == std::vector<int64_t>{kBatch, total / kBatch}) return flattened(n, in);
    fail(n, "reshapes a " + dims_string(d) + " activation (batch " + std::to_string(kBatch) + ") to " +
                dims_string(want) + "; hemi can only flatten all but the batch dimension (x.view(x.size(0), -1), "
                "torch.flatten(x, 1))");
  }

  Activation batch_norm(Node* n) {
    const auto* a = activation(n, 0);
    if (!a) fail(n, "the input is a constant");
    if (boolean(n, 5)) fail(n, "batch norm in training mode");
    auto mean = optional_tensor(n, 3, "running_mean");
    auto var = optional_tensor(n, 4, "running_var");
    if (!mean || !var) fail(n, "no running statistics (track_running_stats=False)");
    double eps = number(n, constant(n, 7));
    auto m = to_vector(*mean), v = to_vector(*var);
    auto w = optional_tensor(n, 1, "weight");
    auto b = optional_tensor(n, 2, "bias");
    std::vector<double> gamma = w ? to_vector(*w) : std::vector<double>(m.size(), 1.0);
    std::vector<double> beta = b ? to_vector(*b) : std::vector<double>(m.size(), 0.0);
    if (v.size() != m.size() || gamma.size() != m.size() || beta.size() != m.size())
      fail(n, "the statistics and weights have different sizes");
    std::vector<double> scale(m.size()), shift(m.size());
    for (std::size_t o = 0; o < m.size(); ++o) {
      if (!(v[o] + eps > 0)) fail(n, "running_var + eps is not positive for channel " + std::to_string(o));
      scale[o] = gamma[o] / std::sqrt(v[o] + eps);
      shift[o] = beta[o] - m[o] * scale[o];
    }
    return affine(n, *a, scale, shift);
  }

  std::string what_;
  nn::TensorShape shape_;        // the shape of the tip
  std::vector<nn::Layer> layers_;
  int tip_ = 0;                  // the activation the chain ends in
  int last_id_ = 0;
  std::unordered_map<int, nn::TensorShape> base_shape_;
  std::unordered_map<const Value*, Abstract> env_;
};

}  // namespace

std::vector<nn::Layer> layers_from_graph(const torch::jit::Module& module, const nn::TensorShape& input,
                                         const std::string& what) {
  Walker walker(what, input);
  try {
    return walker.run(module);
  } catch (const c10::Error& e) {
    throw InputError(what + ": " + first_line(e.what()));
  }
}

}  // namespace hemi::train::detail
