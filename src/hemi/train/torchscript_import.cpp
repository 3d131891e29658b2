#include "hemi/train/torchscript_import.h"

#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "hemi/nn/interpreter.h"
#include "hemi/train/torchscript_graph.h"

namespace hemi::train {
namespace {

std::string first_line(const char* s) {
  std::string t(s);
  auto nl = t.find('\n');
  return nl == std::string::npos ? t : t.substr(0, nl);
}

std::string what_of(const std::string& path) { return "torchscript '" + path + "'"; }

torch::jit::Module load(const std::string& path) {
  const std::string what = what_of(path);
  if (!std::filesystem::is_regular_file(path)) throw InputError(what + ": no such file");
  torch::jit::Module m;
  try {
    m = torch::jit::load(path);
  } catch (const std::exception& e) {
    throw InputError(what + ": cannot load (" + first_line(e.what()) + ")");
  }
  m.eval();
  return m;
}

std::string format(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

ImportCheck check(torch::jit::Module& module, const std::string& what, const nn::Model& model,
                  const ImportOptions& options) {
  if (options.check_samples < 1 || options.check_samples > 4096)
    throw InputError(what + ": check_samples must be in [1, 4096], got " + std::to_string(options.check_samples));
  if (!(options.check_tolerance > 0) || !std::isfinite(options.check_tolerance))
    throw InputError(what + ": check_tolerance must be positive, got " + format(options.check_tolerance));
  const nn::InputSpec& in = model.input();
  const int n = options.check_samples;
  const int k = model.classes();
  // Pixels uniform in [0, 1], normalized as the data loader does: every input the model can see.
  auto gen = at::detail::createCPUGenerator(options.check_seed);
  auto x = torch::rand({n, in.channels(), in.height, in.width}, gen, torch::kFloat);
  for (int c = 0; c < in.channels(); ++c)
    x.select(1, c).sub_(static_cast<float>(in.mean[c])).div_(static_cast<float>(in.std[c]));
  // The module gets the inputs in the type of its weights (float32 as a rule; a module saved
  // in float64 gets the same values in double); hemi gets the float32 values.
  auto module_x = x;
  for (const auto& p : module.parameters()) {
    if (p.is_floating_point()) module_x = x.to(p.scalar_type());
    break;
  }

  torch::Tensor y;
  try {
    torch::NoGradGuard no_grad;
    auto out = module.forward({module_x});
    if (!out.isTensor()) throw InputError(what + ": forward returns " + out.tagKind() + ", not a tensor");
    y = out.toTensor().to(torch::kDouble).contiguous();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(what + ": the module's forward fails on a batch of " + std::to_string(n) + " " +
                model.input_shape().to_string() + " inputs (" + first_line(e.what()) + ")");
  }
  if (y.dim() != 2 || y.size(0) != n || y.size(1) != k) {
    std::string sizes;
    for (auto s : y.sizes()) sizes += (sizes.empty() ? "" : ", ") + std::to_string(s);
    throw InputError(what + ": the module's forward gives shape [" + sizes + "] for " + std::to_string(n) +
                " inputs, the imported model " + std::to_string(k) + " outputs each");
  }
  ImportCheck r;
  r.samples = n;
  const double* want = y.data_ptr<double>();
  const float* px = x.data_ptr<float>();
  const std::size_t size = model.input_shape().size();
  for (int i = 0; i < n; ++i) {
    auto got = nn::forward(model, px + static_cast<std::size_t>(i) * size);
    for (int j = 0; j < k; ++j) {
      double w = want[static_cast<std::size_t>(i) * k + j];
      r.max_difference = std::max(r.max_difference, std::abs(got[j] - w));
      r.scale = std::max(r.scale, std::abs(w));
      if (!std::isfinite(got[j]) || !std::isfinite(w)) r.max_difference = INFINITY;
    }
  }
  r.tolerance = options.check_tolerance * r.scale;
  if (!(r.max_difference <= r.tolerance))
    throw InputError(what + ": the imported model differs from the module's forward by up to " + format(r.max_difference) +
                " on " + std::to_string(n) + " seeded inputs (tolerance " + format(r.tolerance) + " = " +
                format(options.check_tolerance) + " x largest |output| " + format(r.scale) +
                "); the module computes something hemi's layers do not");
  return r;
}

}  // namespace

nn::Model import_torchscript(const std::string& path, const ImportOptions& options, ImportCheck* result) {
  const std::string what = what_of(path);
  torch::jit::Module root = load(path);
  nn::ModelSpec spec;
  {
    torch::NoGradGuard no_grad;
    spec.layers = detail::layers_from_graph(root, options.input.shape(), what);
  }
  spec.architecture = options.architecture.empty()
                          ? "torchscript:" + std::filesystem::path(path).filename().string()
                          : options.architecture;
  spec.input = options.input;
  if (spec.layers.empty()) throw InputError(what + ": forward returns its input unchanged; there are no layers");
  spec.class_names = options.class_names;
  if (spec.class_names.empty()) {
    auto shape = options.input.shape();
    for (const auto& layer : spec.layers) shape = nn::infer_shape(layer, shape).value();
    for (std::size_t i = 0; i < shape.size(); ++i) spec.class_names.push_back(std::to_string(i));
  }
  auto model = nn::Model::create(std::move(spec));
  if (!model) throw InputError(what + ": " + model.error());
  auto r = check(root, what, model.value(), options);
  if (result) *result = r;
  return std::move(model).value();
}

ImportCheck check_torchscript(const std::string& path, const nn::Model& model, const ImportOptions& options) {
  torch::jit::Module root = load(path);
  return check(root, what_of(path), model, options);
}

}  // namespace hemi::train
