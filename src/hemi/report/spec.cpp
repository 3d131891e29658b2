#include "hemi/report/spec.h"
#include "hemi/report/train_options.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "hemi/base/error.h"
#include "hemi/data/dataset.h"
#include "hemi/data/options.h"
#include "hemi/nn/architectures.h"
#include "hemi/train/trainer.h"

namespace hemi::report {

const char* to_string(Mode mode) { return mode == Mode::kPlain ? "plain" : "encrypted"; }

namespace {

// Reads one table, remembering which keys were used, so that anything else is rejected.
class Reader {
 public:
  Reader(const toml::table& t, std::string where) : t_(t), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    throw Error(where_ + (key.empty() ? "" : ": '" + key + "'") + ": " + why);
  }
  const std::string& where() const { return where_; }

  const toml::node* get(const std::string& key) {
    used_.insert(key);
    return t_.get(key);
  }
  bool has(const std::string& key) const { return t_.contains(key); }

  std::optional<std::string> string(const std::string& key) {
    const toml::node* n = get(key);
    if (!n) return std::nullopt;
    if (!n->is_string()) fail(key, "must be a string");
    return std::string(*n->value<std::string>());
  }
  std::optional<std::int64_t> integer(const std::string& key, std::int64_t lo, std::int64_t hi) {
    const toml::node* n = get(key);
    if (!n) return std::nullopt;
    if (!n->is_integer()) fail(key, "must be an integer");
    const std::int64_t v = *n->value<std::int64_t>();
    if (v < lo || v > hi)
      fail(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], not " + std::to_string(v));
    return v;
  }
  // An integer or a float, finite, in [lo, hi] (open at lo when lo_open).
  std::optional<double> number(const std::string& key, double lo, double hi, bool lo_open = false) {
    const toml::node* n = get(key);
    if (!n) return std::nullopt;
    return check_number(key, n, lo, hi, lo_open);
  }
  double check_number(const std::string& key, const toml::node* n, double lo, double hi, bool lo_open) {
    if (!n->is_number()) fail(key, "must be a number");
    const double v = *n->value<double>();
    std::ostringstream range;
    range << (lo_open ? "(" : "[") << lo << ", " << hi << "]";
    if (!std::isfinite(v) || v < lo || v > hi || (lo_open && v == lo)) {
      std::ostringstream s;
      s << v;
      fail(key, "must be in " + range.str() + ", not " + s.str());
    }
    return v;
  }
  std::optional<bool> boolean(const std::string& key) {
    const toml::node* n = get(key);
    if (!n) return std::nullopt;
    if (!n->is_boolean()) fail(key, "must be true or false");
    return *n->value<bool>();
  }
  // A number or an array of numbers.
  std::optional<std::vector<float>> numbers(const std::string& key, double lo, double hi, bool lo_open) {
    const toml::node* n = get(key);
    if (!n) return std::nullopt;
    std::vector<float> out;
    if (const toml::array* a = n->as_array()) {
      if (a->empty()) fail(key, "must not be an empty array");
      for (const toml::node& e : *a) out.push_back(static_cast<float>(check_number(key, &e, lo, hi, lo_open)));
    } else {
      out.push_back(static_cast<float>(check_number(key, n, lo, hi, lo_open)));
    }
    return out;
  }
  std::optional<std::vector<int>> integers(const std::string& key, int lo, int hi) {
    const toml::node* n = get(key);
    if (!n) return std::nullopt;
    const toml::array* a = n->as_array();
    if (!a || a->empty()) fail(key, "must be a non-empty array of integers");
    std::vector<int> out;
    for (const toml::node& e : *a) {
      if (!e.is_integer()) fail(key, "must be a non-empty array of integers");
      const std::int64_t v = *e.value<std::int64_t>();
      if (v < lo || v > hi) fail(key, "values must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
      out.push_back(static_cast<int>(v));
    }
    return out;
  }
  const toml::table* table(const std::string& key) {
    const toml::node* n = get(key);
    if (!n) return nullptr;
    if (!n->is_table()) fail(key, "must be a table ([" + key + "])");
    return n->as_table();
  }
  // Throws for the first key that was never asked for.
  void finish() const {
    for (auto&& [k, v] : t_) {
      const std::string key(k.str());
      if (!used_.count(key)) fail(key, "unknown key (line " + std::to_string(v.source().begin.line) + ")");
    }
  }

 private:
  const toml::table& t_;
  std::string where_;
  std::set<std::string> used_;
};

std::string squote(const std::string& s) { return "'" + s + "'"; }

// [experiment.train.dp] and [experiment.train.federated] (docs/privacy.md).
DpSpec parse_dp(Reader& r) {
  DpSpec d;
  if (auto v = r.number("epsilon", 0, 1e4, true)) d.epsilon = *v;
  if (auto v = r.number("noise", 0, 1e4, true)) d.noise = *v;
  if ((d.epsilon > 0) == (d.noise > 0)) r.fail("epsilon", "give exactly one of 'epsilon' and 'noise'");
  if (auto v = r.number("delta", 0, 1, true)) {
    if (*v >= 1) r.fail("delta", "must be below 1");
    d.delta = *v;
  }
  if (auto v = r.number("clip", 0, 1e6, true)) d.clip = *v;
  r.finish();
  return d;
}

FederatedSpec parse_federated(Reader& r) {
  FederatedSpec f;
  if (auto v = r.integer("sites", 1, 10000)) f.sites = static_cast<int>(*v);
  if (auto v = r.integer("rounds", 1, 100000)) f.rounds = static_cast<int>(*v);
  if (auto v = r.integer("local_epochs", 1, 1000)) f.local_epochs = static_cast<int>(*v);
  if (auto v = r.number("fraction", 0, 1, true)) f.fraction = *v;
  if (auto v = r.number("alpha", 0, 1e6)) f.alpha = *v;
  if (auto v = r.boolean("secure")) f.secure = *v;
  if (const toml::table* t = r.table("dp")) {
    Reader dr(*t, r.where() + ": dp");
    f.dp = parse_dp(dr);
  }
  r.finish();
  return f;
}

TrainSpec parse_train(Reader& r, const std::string& dataset) {
  const train::TrainOptions study = train::study_options(dataset);
  TrainSpec t;
  t.epochs = study.epochs;
  t.batch_size = study.batch_size;
  t.learning_rate = study.learning_rate;
  if (auto v = r.integer("epochs", 0, 100000)) t.epochs = static_cast<int>(*v);
  if (auto v = r.integer("batch_size", 1, 1 << 20)) t.batch_size = static_cast<int>(*v);
  if (auto v = r.number("learning_rate", 0, 10, true)) t.learning_rate = *v;
  if (auto v = r.boolean("noise")) t.noise = *v;
  if (auto v = r.number("noise_factor", 0, 1e12, true)) t.noise_factor = *v;
  if (auto v = r.integer("threads", 0, 1024)) t.threads = static_cast<int>(*v);
  if (auto v = r.boolean("batch_norm")) t.batch_norm = *v;
  if (auto v = r.number("clip", 0, 1e12)) t.clip = *v;
  if (auto v = r.string("schedule")) {
    try {
      t.schedule = train::to_string(train::parse_lr_schedule(*v));
    } catch (const Error&) {
      r.fail("schedule", "unknown schedule " + squote(*v) + " (constant, cosine, step)");
    }
  }
  if (auto v = r.integer("step_epochs", 1, 100000)) t.step_epochs = static_cast<int>(*v);
  if (auto v = r.number("step_gamma", 0, 1, true)) t.step_gamma = *v;
  if (auto v = r.boolean("flip")) t.flip = *v;
  if (auto v = r.number("rotate", 0, 180)) t.rotate = *v;
  if (auto v = r.integer("shift", 0, 1024)) t.shift = static_cast<int>(*v);
  if (auto v = r.boolean("class_weights")) t.class_weights = *v;
  if (auto v = r.number("validation", 0, 0.99)) t.validation = *v;
  if (auto v = r.integer("warm_start_epochs", 0, 100000)) t.warm_start_epochs = static_cast<int>(*v);
  if (auto v = r.boolean("distill")) t.distill = *v;
  if (auto v = r.number("distill_temperature", 0, 1000, true)) t.distill_temperature = *v;
  if (auto v = r.number("distill_alpha", 0, 1)) t.distill_alpha = *v;
  if (auto v = r.boolean("start_from_teacher")) t.start_from_teacher = *v;
  if (auto v = r.number("student_learning_rate", 0, 10, true)) t.student_learning_rate = *v;
  if (t.student_learning_rate > 0 && !t.distill)
    r.fail("student_learning_rate", "needs distill = true (only a distilled student has its own learning rate)");
  if (t.start_from_teacher && !t.distill) r.fail("start_from_teacher", "needs distill = true (the teacher it starts from)");
  if (t.start_from_teacher && t.warm_start_epochs > 0)
    r.fail("start_from_teacher", "replaces the warm start: give start_from_teacher or warm_start_epochs, not both");
  if (t.warm_start_epochs > 0 && t.warm_start_epochs >= t.epochs)
    r.fail("warm_start_epochs", "must be less than epochs (" + std::to_string(t.epochs) + "), got " +
                                    std::to_string(t.warm_start_epochs));
  if (const toml::table* d = r.table("dp")) {
    Reader dr(*d, r.where() + ": dp");
    t.dp = parse_dp(dr);
  }
  if (const toml::table* f = r.table("federated")) {
    Reader fr(*f, r.where() + ": federated");
    t.federated = parse_federated(fr);
  }
  if (t.dp && t.federated) r.fail("dp", "DP-SGD and federated training exclude each other (for FedAvg with DP use [train.federated.dp])");
  if (t.noise && (t.dp || t.federated)) r.fail("noise", "the encryption-noise simulation cannot be combined with dp or federated");
  if ((t.dp || t.federated) && uses_recipe(t))
    r.fail(t.dp ? "dp" : "federated", "batch_norm, clip, schedule, augmentation, class_weights, validation, "
                                      "warm_start_epochs and distill apply to centralized training only");
  r.finish();
  return t;
}

ckks::ParamsLiteral parse_params(Reader& r) {
  ckks::ParamsLiteral p;
  auto log_n = r.integer("log_n", 1, 17);
  auto q = r.integers("q_bits", 1, 61);
  auto pb = r.integers("p_bits", 1, 61);
  if (!log_n) r.fail("log_n", "is required");
  if (!q) r.fail("q_bits", "is required");
  if (!pb) r.fail("p_bits", "is required");
  p.log_n = static_cast<int>(*log_n);
  p.q_bits = *q;
  p.p_bits = *pb;
  if (auto v = r.integer("log_scale", 1, 60)) p.log_scale = static_cast<int>(*v);
  if (auto v = r.integer("security", 0, 256)) p.security = static_cast<int>(*v);
  if (auto v = r.boolean("allow_insecure")) p.allow_insecure = *v;
  r.finish();
  auto created = ckks::Params::create(p);
  if (!created) r.fail("", "invalid CKKS parameters: " + created.error());
  return p;
}

VariantSpec parse_variant(Reader& r) {
  VariantSpec v;
  auto mode = r.string("mode");
  if (!mode) r.fail("mode", "is required (plain or encrypted)");
  if (*mode == "plain") v.mode = Mode::kPlain;
  else if (*mode == "encrypted") v.mode = Mode::kEncrypted;
  else r.fail("mode", "must be plain or encrypted, not " + squote(*mode));
  v.name = r.string("name").value_or(*mode);
  if (v.name.empty()) r.fail("name", "must not be empty");
  if (auto l = r.integer("limit", 0, std::int64_t{1} << 40)) v.limit = static_cast<std::size_t>(*l);
  const bool enc = v.mode == Mode::kEncrypted;
  if (r.has("packing")) {
    auto p = r.string("packing");
    if (!enc) r.fail("packing", "applies to encrypted variants only");
    if (*p == "throughput") v.packing = he::Packing::kThroughput;
    else if (*p == "latency") v.packing = he::Packing::kLatency;
    else if (*p != "auto") r.fail("packing", "must be auto, throughput or latency, not " + squote(*p));
  }
  if (r.has("scale_bits")) {
    if (!enc) r.fail("scale_bits", "applies to encrypted variants only");
    v.scale_bits = static_cast<int>(*r.integer("scale_bits", 0, 60));
  }
  if (r.has("scheme")) {
    v.scheme = *r.string("scheme");
    if (v.scheme != "ckks" && v.scheme != "bfv") r.fail("scheme", "must be ckks or bfv, not " + squote(v.scheme));
  }
  const bool bfv = v.scheme == "bfv";
  for (const char* key : {"weight_bits", "input_bits"})
    if (r.has(key)) {
      if (!bfv) r.fail(key, "applies to scheme = \"bfv\" only (CKKS evaluates the float model)");
      (std::string(key) == "weight_bits" ? v.weight_bits : v.input_bits) =
          static_cast<int>(std::string(key) == "weight_bits" ? *r.integer(key, 2, 24) : *r.integer(key, 1, 8));
    }
  if (bfv && v.packing == he::Packing::kLatency)
    r.fail("packing", "scheme = \"bfv\" has only throughput packing (one image per slot), not latency");
  if (bfv && r.has("scale_bits")) r.fail("scale_bits", "is a CKKS option; BFV has no scale (use weight_bits, input_bits)");
  if (auto t = r.boolean("teacher")) v.teacher = *t;
  if (v.teacher && enc)
    r.fail("teacher", "applies to plain variants only (the teacher is a ReLU network, which HE does not evaluate)");
  if (v.teacher && bfv) r.fail("teacher", "evaluates the float teacher: it cannot take scheme = \"bfv\"");
  if (r.has("params")) {
    if (bfv) r.fail("params", "is a CKKS parameter set; the BFV compiler chooses its own ring");
    if (!enc) r.fail("params", "applies to encrypted variants only");
    const toml::table* t = r.table("params");
    Reader pr(*t, r.where() + ": params");
    v.params = parse_params(pr);
  }
  r.finish();
  return v;
}

ExperimentSpec parse_experiment(Reader& r, std::uint64_t default_seed, const std::string& base_dir) {
  ExperimentSpec e;
  auto dataset = r.string("dataset");
  if (!dataset || dataset->empty()) r.fail("dataset", "is required (mnist, fashion-mnist, brain-mri or a path)");
  e.dataset = *dataset;
  auto arch = r.string("model");
  auto file = r.string("model_file");
  if (arch && file) r.fail("model_file", "give either 'model' (a built-in architecture) or 'model_file', not both");
  if (!arch && !file) r.fail("model", "is required (a built-in architecture: " + nn::architecture_list() + ") or give 'model_file'");
  if (arch) {
    if (!nn::is_architecture(*arch)) r.fail("model", "unknown architecture " + squote(*arch) + " (known: " + nn::architecture_list() + ")");
    e.model = *arch;
  } else {
    if (file->empty()) r.fail("model_file", "must not be empty");
    std::filesystem::path p(*file);
    if (p.is_relative() && !base_dir.empty()) p = std::filesystem::path(base_dir) / p;
    e.model = p.lexically_normal().string();
    e.model_is_file = true;
  }
  if (auto a = r.string("activation")) {
    if (!arch) r.fail("activation", "applies to a built-in architecture ('model'), not to a model file");
    try {
      e.activation = nn::to_string(nn::parse_activation(*a));
    } catch (const Error&) {
      r.fail("activation", "unknown activation " + squote(*a) + " (square, poly, relu, default)");
    }
  }
  if (auto w = r.integers("widths", 1, 4096)) {
    if (!arch || *arch != "medcnn") r.fail("widths", "applies to medcnn only (model = \"medcnn\")");
    if (w->size() != 4)
      r.fail("widths", "needs four values: the three convolutions' output channels, then the dense hidden units "
                       "(e.g. [16, 32, 64, 128]); got " + std::to_string(w->size()));
    e.widths = *w;
  }
  if (auto c = r.string("channels")) {
    try {
      e.channels = data::to_string(data::parse_channel_mode(*c));
    } catch (const Error&) {
      r.fail("channels", "must be gray or rgb, not " + squote(*c));
    }
  }
  if (const toml::node* n = r.get("size")) {
    int h = 0, w = 0;
    if (n->is_integer()) {
      h = w = static_cast<int>(*n->value<std::int64_t>());
    } else if (n->is_string()) {
      try {
        data::parse_size(std::string(*n->value<std::string>()), h, w);
      } catch (const Error&) {
        r.fail("size", "must be \"HxW\" or an integer, not " + squote(std::string(*n->value<std::string>())));
      }
    } else {
      r.fail("size", "must be \"HxW\" or an integer");
    }
    if (h < 1 || w < 1 || h > 4096 || w > 4096) r.fail("size", "must be in [1, 4096]");
    e.height = h;
    e.width = w;
  }
  if (auto m = r.numbers("mean", -1e6, 1e6, false)) e.mean = *m;
  if (auto s = r.numbers("std", 0, 1e6, true)) e.stddev = *s;
  if (e.mean.size() != 1 && e.mean.size() != 3) r.fail("mean", "must have one value or one per channel");
  if (e.stddev.size() != 1 && e.stddev.size() != 3) r.fail("std", "must have one value or one per channel");
  if (auto f = r.number("train_fraction", 0, 1, true)) {
    if (*f >= 1) r.fail("train_fraction", "must be below 1 (some images must be left for testing)");
    e.train_fraction = *f;
    e.train_fraction_given = true;
  }
  if (auto sp = r.string("split")) {
    if (e.train_fraction_given) r.fail("split", "give either split (a split name) or train_fraction, not both");
    if (sp->empty() || (std::isdigit(static_cast<unsigned char>((*sp)[0])) != 0))
      r.fail("split", "must be a split name such as \"test\" or \"val\", or \"auto\" (a fraction goes in "
                      "train_fraction)");
    if (*sp != "auto") e.split = *sp;
  }
  if (auto k = r.boolean("keep_duplicates")) e.keep_duplicates = *k;
  if (auto v = r.integer("train_limit", 0, std::int64_t{1} << 40)) e.train_limit = static_cast<std::size_t>(*v);
  if (auto v = r.integer("test_limit", 0, std::int64_t{1} << 40)) e.test_limit = static_cast<std::size_t>(*v);
  if (auto v = r.integer("folds", 0, 100)) {
    if (*v == 1) r.fail("folds", "must be 0 (no cross-validation) or at least 2");
    e.folds = static_cast<int>(*v);
  }
  e.seed = default_seed;
  if (auto v = r.integer("seed", 0, std::numeric_limits<std::int64_t>::max())) e.seed = static_cast<std::uint64_t>(*v);
  if (const toml::table* t = r.table("train")) {
    Reader tr(*t, r.where() + ": train");
    e.train = parse_train(tr, e.dataset);
  } else if (!e.model_is_file) {
    const toml::table none;  // Reader keeps a reference: the table must outlive it
    Reader tr(none, r.where() + ": train");
    e.train = parse_train(tr, e.dataset);  // the study's settings for the data set
  }
  if (e.folds >= 2 && !e.train) r.fail("folds", "cross-validation needs training (add a [train] table)");
  if (e.train && e.train->warm_start_epochs > 0 && e.activation != "poly")
    r.fail("activation", "warm_start_epochs swaps ReLU for trained polynomials: it needs activation = \"poly\", not " +
                             squote(e.activation));
  if (e.train && e.train->distill && e.activation == "relu")
    r.fail("activation", "distill trains a polynomial network from a ReLU teacher: the student cannot be relu");
  if (const toml::node* n = r.get("variant")) {
    const toml::array* a = n->as_array();
    if (!a || !a->is_array_of_tables() || a->empty())
      r.fail("variant", "must be one or more [[experiment.variant]] tables");
    std::set<std::string> names;
    for (std::size_t i = 0; i < a->size(); ++i) {
      Reader vr(*a->get(i)->as_table(), r.where() + ": variant " + std::to_string(i + 1));
      VariantSpec v = parse_variant(vr);
      if (v.teacher && !(e.train && e.train->distill))
        vr.fail("teacher", "needs distill = true in [experiment.train] (the teacher is the ReLU network distillation "
                           "trains first)");
      if (!names.insert(v.name).second)
        vr.fail("name", "variant name " + squote(v.name) + " is used twice (give each variant a distinct name)");
      e.variants.push_back(std::move(v));
    }
  } else {
    VariantSpec plain;  // plaintext evaluation
    plain.name = "plain";
    e.variants.push_back(plain);
  }
  r.finish();
  return e;
}

}  // namespace

Spec parse_spec(const std::string& text, const std::string& origin, const std::string& base_dir) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& err) {
    std::ostringstream s;
    s << origin << ": line " << err.source().begin.line << ": " << err.description();
    throw Error(s.str());
  }
  Spec spec;
  spec.path = origin;
  Reader r(root, origin);
  spec.name = r.string("name").value_or(std::filesystem::path(origin).stem().string());
  spec.description = r.string("description").value_or("");
  if (auto v = r.integer("seed", 0, std::numeric_limits<std::int64_t>::max())) spec.seed = static_cast<std::uint64_t>(*v);
  if (auto v = r.integer("bootstrap_resamples", 0, 1000000)) spec.bootstrap_resamples = static_cast<std::size_t>(*v);
  if (auto v = r.number("confidence", 0, 1, true)) {
    if (*v >= 1) r.fail("confidence", "must be below 1");
    spec.confidence = *v;
  }
  const toml::node* n = r.get("experiment");
  if (!n) r.fail("experiment", "is required: at least one [[experiment]] table");
  const toml::array* a = n->as_array();
  if (!a || !a->is_array_of_tables() || a->empty()) r.fail("experiment", "must be one or more [[experiment]] tables");
  std::set<std::string> names;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::table& t = *a->get(i)->as_table();
    std::string label = "experiment " + std::to_string(i + 1);
    if (const toml::node* nm = t.get("name"); nm && nm->is_string()) label = "experiment " + squote(std::string(*nm->value<std::string>()));
    Reader er(t, origin + ": " + label);
    auto name = er.string("name");
    if (!name || name->empty()) er.fail("name", "is required");
    for (char c : *name)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
        er.fail("name", "may hold only letters, digits, '-', '_' and '.' (it names files), not " + squote(*name));
    if (!names.insert(*name).second) er.fail("name", "is used by two experiments");
    ExperimentSpec e = parse_experiment(er, spec.seed, base_dir);
    e.name = *name;
    spec.experiments.push_back(std::move(e));
  }
  if (const toml::node* c = r.get("comparison")) {
    const toml::array* ca = c->as_array();
    if (!ca || !ca->is_array_of_tables() || ca->empty()) r.fail("comparison", "must be one or more [[comparison]] tables");
    for (std::size_t i = 0; i < ca->size(); ++i) {
      Reader cr(*ca->get(i)->as_table(), origin + ": comparison " + std::to_string(i + 1));
      ComparisonSpec cs;
      for (const char* key : {"a", "b"}) {
        auto v = cr.string(key);
        if (!v) cr.fail(key, "is required: a run named \"experiment/variant\"");
        const auto slash = v->find('/');
        const std::string exp = v->substr(0, slash), var = slash == std::string::npos ? "" : v->substr(slash + 1);
        auto e = std::find_if(spec.experiments.begin(), spec.experiments.end(),
                              [&](const ExperimentSpec& x) { return x.name == exp; });
        if (slash == std::string::npos || e == spec.experiments.end() ||
            std::none_of(e->variants.begin(), e->variants.end(), [&](const VariantSpec& x) { return x.name == var; }))
          cr.fail(key, "no run named " + squote(*v) + " (write \"experiment/variant\")");
        if (e->folds >= 2) cr.fail(key, squote(*v) + " is cross-validated; compare runs on one split");
        (std::string(key) == "a" ? cs.a : cs.b) = *v;
      }
      if (cs.a == cs.b) cr.fail("b", "compares a run with itself");
      cr.finish();
      spec.comparisons.push_back(cs);
    }
  }
  r.finish();
  return spec;
}

Spec load_spec(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read spec file '" + path + "'");
  std::ostringstream s;
  s << in.rdbuf();
  const std::filesystem::path p(path);
  return parse_spec(s.str(), path, p.has_parent_path() ? p.parent_path().string() : ".");
}

void check_datasets(const Spec& spec) {
  for (const ExperimentSpec& e : spec.experiments) {
    try {
      data::locate_dataset(e.dataset);
    } catch (const Error& err) {
      throw Error(spec.path + ": experiment '" + e.name + "': " + err.what());
    }
    if (e.model_is_file && !std::filesystem::is_regular_file(e.model))
      throw Error(spec.path + ": experiment '" + e.name + "': model file '" + e.model + "' not found");
  }
}

}  // namespace hemi::report
