#include "hemi/he/plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "hemi/base/format.h"
#include "hemi/base/json_numbers.h"
#include <nlohmann/json.hpp>
#include <sstream>

#include "hemi/base/bytes.h"

namespace hemi::he {

using nlohmann::json;

const char* to_string(Packing p) { return p == Packing::kThroughput ? "throughput" : "latency"; }

namespace {

json ops_json(const OpCounts& o) {
  return {{"rotations", o.rotations},          {"hoisted_groups", o.hoisted_groups},
          {"relinearizations", o.relinearizations}, {"rescales", o.rescales},
          {"plain_multiplies", o.plain_multiplies}, {"dot_terms", o.dot_terms},
          {"additions", o.additions}, {"encodes", o.encodes}};
}
OpCounts ops_from(const json& j) {
  OpCounts o;
  o.rotations = json_count(j.at("rotations"), "plan: rotations");
  o.hoisted_groups = json_count(j.at("hoisted_groups"), "plan: hoisted_groups");
  o.relinearizations = json_count(j.at("relinearizations"), "plan: relinearizations");
  o.rescales = json_count(j.at("rescales"), "plan: rescales");
  o.plain_multiplies = json_count(j.at("plain_multiplies"), "plan: plain_multiplies");
  o.dot_terms = json_count(j.at("dot_terms"), "plan: dot_terms");
  o.additions = json_count(j.at("additions"), "plan: additions");
  o.encodes = json_count(j.at("encodes"), "plan: encodes");
  return o;
}

json layout_json(const DiagonalLayout& d) {
  return {{"period", d.period},         {"hybrid", d.hybrid},
          {"in_period", d.in_period},   {"out_period", d.out_period},
          {"diagonals", d.diagonals},   {"giant_stride", d.giant_stride},
          {"baby", d.baby},             {"giant", d.giant},
          {"replicate_steps", d.replicate_steps}, {"fold_steps", d.fold_steps},
          {"bias", d.bias}};
}
DiagonalLayout layout_from(const json& j) {
  DiagonalLayout d;
  d.period = json_count(j.at("period"), "plan: layout period");
  d.hybrid = j.at("hybrid").get<bool>();
  d.in_period = json_count(j.at("in_period"), "plan: layout in_period");
  d.out_period = json_count(j.at("out_period"), "plan: layout out_period");
  d.diagonals = json_ints(j.at("diagonals"), "plan: layout diagonals");
  d.giant_stride = json_int(j.at("giant_stride"), "plan: layout giant_stride");
  d.baby = json_ints(j.at("baby"), "plan: layout baby");
  d.giant = json_ints(j.at("giant"), "plan: layout giant");
  d.replicate_steps = json_ints(j.at("replicate_steps"), "plan: layout replicate_steps");
  d.fold_steps = json_ints(j.at("fold_steps"), "plan: layout fold_steps");
  d.bias = j.at("bias").get<bool>();
  return d;
}

// A channel-packed step: grids as [channels, height, width, gap], the terms flattened to
// [out_ct, in_ct, r, offset, ...] (the bulk of a channel-packed plan).
const char* const kMuxKinds[] = {"linear", "pool", "square", "polynomial"};
const char* const kMuxWeights[] = {"conv", "dense_sum", "dense_offsets"};
json grid_json(const MuxGrid& g) { return {g.channels, g.height, g.width, g.gap}; }
MuxGrid grid_from(const json& j, const char* what) {
  auto v = json_ints(j, std::string("plan: mux ") + what);
  if (v.size() != 4) throw Error(std::string("plan: mux ") + what + " needs 4 numbers (channels, height, width, gap)");
  return {v[0], v[1], v[2], v[3]};
}
json mux_json(const MuxOp& op) {
  std::vector<int> terms;
  terms.reserve(4 * op.terms.size());
  for (const MuxTerm& t : op.terms) terms.insert(terms.end(), {t.out_ct, t.in_ct, t.r, t.offset});
  return {{"kind", kMuxKinds[op.kind]},         {"layer", op.layer},
          {"level_in", op.level_in},           {"in", grid_json(op.in)},
          {"out", grid_json(op.out)},          {"pooled", grid_json(op.pooled)},
          {"replicated_in", op.replicated_in}, {"in_cts", op.in_cts},
          {"out_cts", op.out_cts},             {"pool_steps", op.pool_steps},
          {"weight_factor", op.weight_factor}, {"weights", kMuxWeights[op.weights]},
          {"offsets", op.offsets},             {"terms", terms},
          {"sum_steps", op.sum_steps},         {"has_bias", op.has_bias}};
}
template <std::size_t N>
int name_index(const char* const (&names)[N], const std::string& v, const char* what) {
  for (std::size_t i = 0; i < N; ++i)
    if (v == names[i]) return static_cast<int>(i);
  throw Error(std::string("plan: unknown mux ") + what + " '" + v + "'");
}
MuxOp mux_from(const json& j) {
  MuxOp op;
  op.kind = static_cast<MuxOp::Kind>(name_index(kMuxKinds, j.at("kind").get<std::string>(), "kind"));
  op.layer = json_count(j.at("layer"), "plan: mux layer");
  op.level_in = json_int(j.at("level_in"), "plan: mux level_in");
  op.in = grid_from(j.at("in"), "in");
  op.out = grid_from(j.at("out"), "out");
  op.pooled = grid_from(j.at("pooled"), "pooled");
  op.replicated_in = j.at("replicated_in").get<bool>();
  op.in_cts = json_int(j.at("in_cts"), "plan: mux in_cts");
  op.out_cts = json_int(j.at("out_cts"), "plan: mux out_cts");
  op.pool_steps = json_ints(j.at("pool_steps"), "plan: mux pool_steps");
  op.weight_factor = j.at("weight_factor").get<double>();
  op.weights = static_cast<MuxOp::Weights>(name_index(kMuxWeights, j.at("weights").get<std::string>(), "weights"));
  op.offsets = json_ints(j.at("offsets"), "plan: mux offsets");
  const std::vector<int> terms = json_ints(j.at("terms"), "plan: mux terms");
  if (terms.size() % 4) throw Error("plan: mux terms of " + std::to_string(terms.size()) + " numbers (4 per term expected)");
  for (std::size_t i = 0; i < terms.size(); i += 4) op.terms.push_back({terms[i], terms[i + 1], terms[i + 2], terms[i + 3]});
  op.sum_steps = json_ints(j.at("sum_steps"), "plan: mux sum_steps");
  op.has_bias = j.at("has_bias").get<bool>();
  return op;
}

}  // namespace

std::string Plan::to_json() const {
  json layers_j = json::array();
  for (auto& l : layers)
    layers_j.push_back({{"kind", l.kind},           {"shape_out", l.shape_out},
                        {"level_in", l.level_in},   {"level_out", l.level_out},
                        {"log2_scale_out", l.log2_scale_out}, {"diagonals", l.diagonals},
                        {"baby_steps", l.baby_steps}, {"giant_steps", l.giant_steps}, {"hybrid", l.hybrid}, {"input_period", l.input_period},
                        {"rotation_steps", l.rotation_steps}, {"plaintexts", l.plaintexts},
                        {"layout", l.layout ? layout_json(*l.layout) : json(nullptr)},
                        {"mux", l.mux ? mux_json(*l.mux) : json(nullptr)},
                        {"stream_rows", l.stream_rows},
                        {"ops", ops_json(l.ops)}, {"note", l.note}});
  json j = {
      {"format", "hemi-plan"},
      // Format 3: the lowered program (program.h) with the channel-packed steps; older
      // versions are refused with the reason.
      {"version", version},
      {"packing", to_string(packing)},
      {"params",
       {{"log_n", params.log_n},
        {"q_bits", params.q_bits},
        {"p_bits", params.p_bits},
        {"log_scale", params.log_scale},
        {"security", params.security},
        {"allow_insecure", params.allow_insecure}}},
      {"model_id", model_id},
      {"architecture", architecture},
      {"folded_activations", folded_activations},
      {"input", {{"channels", input_channels}, {"height", input_height}, {"width", input_width}}},
      {"classes", classes},
      {"depth", depth},
      {"input_level", input_level},
      {"images_per_batch", images_per_batch},
      {"ciphertexts_per_batch", ciphertexts_per_batch},
      {"period", period},
      {"input_im2col", input_im2col},
      {"im2col_conv", {im2col_conv.in_channels, im2col_conv.out_channels, im2col_conv.kernel_h, im2col_conv.kernel_w,
                       im2col_conv.stride_h, im2col_conv.stride_w, im2col_conv.pad_h, im2col_conv.pad_w}},
      {"input_values", input_values},
      {"mux_block", mux_block},
      {"mux_phases", mux_phases},
      {"plaintext_cache_bytes", plaintext_cache_bytes},
      {"rotation_steps", rotation_steps},
      {"layers", layers_j},
      {"total", ops_json(total)},
      {"predicted_seconds", predicted_seconds},
      {"upload_bytes_per_batch", upload_bytes_per_batch},
      {"download_bytes_per_batch", download_bytes_per_batch},
      {"eval_key_bytes", eval_key_bytes},
      {"server_memory_bytes", server_memory_bytes},
      {"ciphertext_memory_bytes", ciphertext_memory_bytes},
  };
  return j.dump(2);
}

Plan Plan::from_json(const std::string& text) {
  try {
    json j = json::parse(text);
    if (j.at("format").get<std::string>() != "hemi-plan") throw Error("plan: not a hemi plan");
    Plan p;
    p.version = json_int(j.at("version"), "plan: version");
    if (p.version > kPlanVersion)
      throw Error("plan: format version " + std::to_string(p.version) + " is newer than this hemi reads (" +
                  std::to_string(kPlanVersion) + ")");
    if (p.version == 1)
      throw Error("plan: format version 1 has no lowered program (this hemi reads version " + std::to_string(kPlanVersion) +
                  "): make the plan again with hemi plan");
    if (p.version == 2)
      throw Error("plan: format version 2 has no channel-packed program steps (this hemi reads version " +
                  std::to_string(kPlanVersion) + "): make the plan again with hemi plan");
    if (p.version < 1) throw Error("plan: format version " + std::to_string(p.version) + " is invalid");
    const std::string packing = j.at("packing").get<std::string>();
    if (packing == "throughput") p.packing = Packing::kThroughput;
    else if (packing == "latency") p.packing = Packing::kLatency;
    else throw Error("plan: unknown packing '" + packing + "'");
    const json& pj = j.at("params");
    p.params.log_n = json_int(pj.at("log_n"), "plan: log_n");
    p.params.q_bits = json_ints(pj.at("q_bits"), "plan: q_bits");
    p.params.p_bits = json_ints(pj.at("p_bits"), "plan: p_bits");
    p.params.log_scale = json_int(pj.at("log_scale"), "plan: log_scale");
    p.params.security = json_int(pj.at("security"), "plan: security");
    p.params.allow_insecure = pj.at("allow_insecure").get<bool>();
    p.model_id = j.at("model_id").get<std::string>();
    p.architecture = j.at("architecture").get<std::string>();
    if (j.contains("folded_activations")) p.folded_activations = j.at("folded_activations").get<bool>();
    p.input_channels = json_int(j.at("input").at("channels"), "plan: channels");
    p.input_height = json_int(j.at("input").at("height"), "plan: height");
    p.input_width = json_int(j.at("input").at("width"), "plan: width");
    p.classes = json_int(j.at("classes"), "plan: classes");
    p.depth = json_int(j.at("depth"), "plan: depth");
    p.input_level = json_int(j.at("input_level"), "plan: input_level");
    p.images_per_batch = json_count(j.at("images_per_batch"), "plan: images_per_batch");
    p.ciphertexts_per_batch = json_count(j.at("ciphertexts_per_batch"), "plan: ciphertexts_per_batch");
    p.period = json_count(j.at("period"), "plan: period");
    p.input_im2col = j.at("input_im2col").get<bool>();
    {
      auto g = json_ints(j.at("im2col_conv"), "plan: im2col_conv");
      if (g.size() != 8) throw Error("plan: im2col_conv needs 8 numbers");
      p.im2col_conv = {g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]};
      for (int v : g)
        if (v < 0 || v > 4096) throw Error("plan: im2col_conv value " + std::to_string(v) + " is out of range");
    }
    p.input_values = json_count(j.at("input_values"), "plan: input_values");
    if (j.contains("mux_block")) p.mux_block = json_count(j.at("mux_block"), "plan: mux_block");
    if (j.contains("mux_phases")) p.mux_phases = json_int(j.at("mux_phases"), "plan: mux_phases");
    if (j.contains("plaintext_cache_bytes"))
      p.plaintext_cache_bytes = json_count(j.at("plaintext_cache_bytes"), "plan: plaintext_cache_bytes");
    p.rotation_steps = json_ints(j.at("rotation_steps"), "plan: rotation_steps");
    for (const json& l : j.at("layers")) {
      LayerPlan lp;
      lp.kind = l.at("kind").get<std::string>();
      lp.shape_out = l.at("shape_out").get<std::string>();
      lp.level_in = json_int(l.at("level_in"), "plan: level_in");
      lp.level_out = json_int(l.at("level_out"), "plan: level_out");
      lp.log2_scale_out = l.at("log2_scale_out").get<double>();
      lp.diagonals = json_int(l.at("diagonals"), "plan: diagonals");
      lp.baby_steps = json_int(l.at("baby_steps"), "plan: baby_steps");
      lp.giant_steps = json_int(l.at("giant_steps"), "plan: giant_steps");
      lp.hybrid = l.at("hybrid").get<bool>();
      lp.input_period = json_count(l.at("input_period"), "plan: input_period");
      lp.rotation_steps = json_ints(l.at("rotation_steps"), "plan: layer rotation_steps");
      lp.plaintexts = json_count(l.at("plaintexts"), "plan: plaintexts");
      if (!l.at("layout").is_null()) lp.layout = layout_from(l.at("layout"));
      if (!l.at("mux").is_null()) lp.mux = mux_from(l.at("mux"));
      for (const json& r : l.at("stream_rows"))
        lp.stream_rows.push_back(static_cast<std::uint32_t>(json_integer(r, "plan: stream_rows", 0, UINT32_MAX)));
      lp.ops = ops_from(l.at("ops"));
      if (l.contains("note")) lp.note = l.at("note").get<std::string>();
      p.layers.push_back(lp);
    }
    p.total = ops_from(j.at("total"));
    p.predicted_seconds = j.at("predicted_seconds").get<double>();
    p.upload_bytes_per_batch = json_count(j.at("upload_bytes_per_batch"), "plan: upload_bytes_per_batch");
    p.download_bytes_per_batch = json_count(j.at("download_bytes_per_batch"), "plan: download_bytes_per_batch");
    p.eval_key_bytes = json_count(j.at("eval_key_bytes"), "plan: eval_key_bytes");
    p.server_memory_bytes = json_count(j.at("server_memory_bytes"), "plan: server_memory_bytes");
    if (j.contains("ciphertext_memory_bytes"))  // absent in plans made before streaming
      p.ciphertext_memory_bytes = json_count(j.at("ciphertext_memory_bytes"), "plan: ciphertext_memory_bytes");
    auto created = create(std::move(p));
    if (!created) throw Error("plan: " + created.error());
    return std::move(created).value();
  } catch (const json::exception& e) {
    throw Error(std::string("plan: malformed JSON: ") + e.what());
  }
}

namespace {
// The lowered program (program.h) against itself and the plan: what its counting evaluator
// finds is the plan's total and Galois keys.
std::string program_consistency_error(const Plan& p, std::size_t slots) {
  const bool latency = p.packing == Packing::kLatency;
  if (std::string why = program_error(p.layers, p.input_level, p.depth, p.period, slots, latency, p.mux_block != 0);
      !why.empty())
    return "lowered program: " + why;
  if (latency && p.mux_block) {
    MuxFormat f;
    f.slots = slots;
    f.block = p.mux_block;
    f.base_width = p.input_width / p.mux_phases;
    f.blocks = static_cast<int>(slots / p.mux_block);
    if (std::string why = mux_program_error(p.layers, f, p.input_height / p.mux_phases,
                                            p.input_channels * p.mux_phases * p.mux_phases, p.classes);
        !why.empty())
      return "lowered program: " + why;
  }
  const ProgramCount c = count_program(p.layers, std::size_t{2} * slots);
  if (!(c.total == p.total))
    return "lowered program: its operations (" + to_string(c.total) + ") are not the plan's total (" + to_string(p.total) + ")";
  if (latency && c.rotation_steps != p.rotation_steps)
    return "lowered program: it rotates by " + std::to_string(c.rotation_steps.size()) + " steps, the plan lists " +
           std::to_string(p.rotation_steps.size()) + " others";
  return "";
}
}  // namespace

Result<Plan> Plan::create(Plan candidate) {
  if (std::string why = candidate.validation_error(); !why.empty()) return Result<Plan>::failure(why);
  candidate.validated_ = true;
  return candidate;
}

std::string Plan::validation_error() const {
  auto created = ckks::Params::create(params);
  if (!created) return "its CKKS parameters are refused: " + created.error();
  const ckks::Params& ckks_params = created.value();
  const std::size_t slots = ckks_params.slots();
  const int max_level = static_cast<int>(ckks_params.max_level());
  auto num = [](auto v) { return std::to_string(v); };
  if (model_id.size() > 128) return "model id of " + num(model_id.size()) + " characters (at most 128)";
  if (architecture.size() > 256) return "architecture name of " + num(architecture.size()) + " characters (at most 256)";
  if (input_channels != 1 && input_channels != 3) return "input channels " + num(input_channels) + " (1 or 3 expected)";
  if (input_height < 1 || input_height > kMaxPlanImageSide || input_width < 1 || input_width > kMaxPlanImageSide)
    return "input size " + num(input_height) + " x " + num(input_width) + " is outside 1.." + num(kMaxPlanImageSide);
  const std::size_t values = static_cast<std::size_t>(input_channels) * static_cast<std::size_t>(input_height) *
                             static_cast<std::size_t>(input_width);
  if (values > kMaxPlanInputValues) return "input of " + num(values) + " values (at most " + num(kMaxPlanInputValues) + ")";
  if (classes < 1 || classes > kMaxPlanClasses) return "class count " + num(classes) + " is outside 1.." + num(kMaxPlanClasses);
  if (depth < 0 || depth > max_level)
    return "depth " + num(depth) + " is outside the chain of " + num(max_level) + " levels";
  if (input_level < depth || input_level > max_level)
    return "input level " + num(input_level) + " is outside the chain (depth " + num(depth) + ", top level " + num(max_level) + ")";
  if (layers.size() > kMaxPlanLayers) return num(layers.size()) + " layers (at most " + num(kMaxPlanLayers) + ")";
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerPlan& l = layers[i];
    if (l.level_in < 0 || l.level_in > max_level || l.level_out < 0 || l.level_out > l.level_in)
      return "layer " + num(i) + " goes from level " + num(l.level_in) + " to " + num(l.level_out) + ", outside the chain";
    if (l.diagonals < 0 || l.baby_steps < 0 || l.giant_steps < 0 || l.input_period > slots)
      return "layer " + num(i) + " has a negative diagonal count or an input period beyond the slots";
    if (l.note.size() > 1024) return "layer " + num(i) + " has a note of " + num(l.note.size()) + " characters (at most 1024)";
  }
  if (packing == Packing::kThroughput) {
    if (images_per_batch < 1 || images_per_batch > slots)
      return "batch of " + num(images_per_batch) + " images in " + num(slots) + " slots";
    if (ciphertexts_per_batch != values || input_values != values)
      return "throughput input of " + num(ciphertexts_per_batch) + " ciphertexts and " + num(input_values) +
             " values, the input shape has " + num(values) + " values";
    if (period != 0 || input_im2col || !rotation_steps.empty())
      return "a throughput plan with a period, an im2col input or rotation steps (latency-packing fields)";
    return program_consistency_error(*this, slots);
  }
  if (images_per_batch != 1 || ciphertexts_per_batch != 1)
    return "latency packing with " + num(images_per_batch) + " images and " + num(ciphertexts_per_batch) +
           " ciphertexts per batch (1 and 1 expected)";
  if (period < 1 || period > slots || (period & (period - 1)) != 0)
    return "period " + num(period) + " is not a power of two of at most " + num(slots) + " slots";
  if (static_cast<std::size_t>(classes) > period)
    return num(classes) + " classes do not fit the period of " + num(period) + " slots";
  if (input_values < 1 || input_values > period)
    return num(input_values) + " input values do not fit the period of " + num(period) + " slots";
  if (mux_phases < 1 || mux_phases > 16 || (mux_phases > 1 && mux_block == 0))
    return "space-to-depth factor " + num(mux_phases) + " (1 to 16, and only with the channel-packed layout)";
  if (input_height % mux_phases || input_width % mux_phases)
    return "space-to-depth factor " + num(mux_phases) + " does not divide the " + num(input_height) + " x " + num(input_width) + " input";
  if (mux_block != 0) {
    const std::size_t grid = static_cast<std::size_t>(input_height / mux_phases) * static_cast<std::size_t>(input_width / mux_phases);
    const std::size_t phase_channels = static_cast<std::size_t>(input_channels) * static_cast<std::size_t>(mux_phases * mux_phases);
    if ((mux_block & (mux_block - 1)) != 0 || mux_block < grid || mux_block > slots)
      return "channel block of " + num(mux_block) + " slots (a power of two from " + num(grid) + " to " + num(slots) + " expected)";
    if (input_im2col) return "a multiplexed plan with an im2col input";
    const std::size_t blocks = slots / mux_block;
    if (phase_channels > blocks || static_cast<std::size_t>(classes) > blocks)
      return num(phase_channels) + " input channels or " + num(classes) + " classes do not fit " + num(blocks) + " channel blocks";
  }
  if (!input_im2col) {
    if (input_values != values) return num(input_values) + " input values, the input shape has " + num(values);
  } else {
    const ConvGeometry& g = im2col_conv;
    for (int v : {g.in_channels, g.out_channels, g.kernel_h, g.kernel_w, g.stride_h, g.stride_w, g.pad_h, g.pad_w})
      if (v < 0 || v > kMaxPlanImageSide) return "im2col value " + num(v) + " is out of range";
    if (g.in_channels != input_channels)
      return "im2col convolution over " + num(g.in_channels) + " channels, the input has " + num(input_channels);
    if (g.out_channels < 1 || g.kernel_h < 1 || g.kernel_w < 1) return "im2col convolution without outputs or kernel";
    if (g.stride_h < 1 || g.stride_w < 1)
      return "im2col stride " + num(g.stride_h) + " x " + num(g.stride_w) + " (at least 1 expected)";
    if (g.pad_h >= g.kernel_h || g.pad_w >= g.kernel_w)
      return "im2col padding " + num(g.pad_h) + " x " + num(g.pad_w) + " is not smaller than the kernel";
    if (g.kernel_h > input_height + 2 * g.pad_h || g.kernel_w > input_width + 2 * g.pad_w)
      return "im2col kernel " + num(g.kernel_h) + " x " + num(g.kernel_w) + " is larger than the padded input";
    const std::size_t oh = static_cast<std::size_t>((input_height + 2 * g.pad_h - g.kernel_h) / g.stride_h + 1);
    const std::size_t ow = static_cast<std::size_t>((input_width + 2 * g.pad_w - g.kernel_w) / g.stride_w + 1);
    const std::size_t expanded = static_cast<std::size_t>(g.in_channels) * static_cast<std::size_t>(g.kernel_h) *
                                 static_cast<std::size_t>(g.kernel_w) * oh * ow;
    if (expanded != input_values)
      return "im2col expands the input to " + num(expanded) + " values, the plan says " + num(input_values);
  }
  if (rotation_steps.size() > slots) return num(rotation_steps.size()) + " rotation steps for " + num(slots) + " slots";
  std::vector<int> steps = rotation_steps;
  std::sort(steps.begin(), steps.end());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (steps[i] < 1 || static_cast<std::size_t>(steps[i]) >= slots)
      return "rotation step " + num(steps[i]) + " is outside 1.." + num(slots - 1);
    if (i && steps[i] == steps[i - 1]) return "rotation step " + num(steps[i]) + " is listed twice";
  }
  return program_consistency_error(*this, slots);
}

Plan load_plan(const std::string& path) {
  Bytes b = read_file(path, 64 << 20);
  try {
    return Plan::from_json(std::string(b.begin(), b.end()));
  } catch (const Error& e) {
    throw Error("'" + path + "': " + e.what());
  }
}

void save_plan(const Plan& plan, const std::string& path) {
  std::string s = plan.to_json();
  write_file(path, Bytes(s.begin(), s.end()));
}

std::string Plan::describe() const {
  std::ostringstream o;
  auto params_obj = ckks::Params::create(params).value();
  char line[512];
  std::snprintf(line, sizeof(line), "Plan for %s (model %s): %s packing, %d classes\n", architecture.c_str(),
                model_id.substr(0, 16).c_str(), to_string(packing), classes);
  o << line;
  std::snprintf(line, sizeof(line),
                "  CKKS: N = %zu, %zu ciphertext primes (q_0 %d bits, scale 2^%d), %zu special, log2(Q*P) = %d, %s\n",
                params_obj.n(), params.q_bits.size(), params.q_bits[0], params.log_scale, params.p_bits.size(),
                params_obj.total_bits(),
                params_obj.insecure() ? "INSECURE (test parameters)"
                                      : (std::to_string(params_obj.security_bits()) + "-bit secure").c_str());
  o << line;
  if (packing == Packing::kThroughput)
    std::snprintf(line, sizeof(line), "  input: %d x %d x %d, one ciphertext per value (%zu), %zu images per batch, level %d\n",
                  input_channels, input_height, input_width, ciphertexts_per_batch, images_per_batch, input_level);
  else if (mux_block)
    std::snprintf(line, sizeof(line),
                  "  input: %d x %d x %d in one ciphertext, channel-packed (multiplexed): blocks of %zu slots, %zu per "
                  "ciphertext%s, level %d; weights encoded on demand, %zu MiB of them kept\n",
                  input_channels, input_height, input_width, mux_block, period / mux_block,
                  mux_phases > 1 ? (", sent as " + std::to_string(input_channels * mux_phases * mux_phases) + " phase channels (space-to-depth)").c_str() : "",
                  input_level, plaintext_cache_bytes >> 20);
  else
    std::snprintf(line, sizeof(line), "  input: %d x %d x %d in one ciphertext%s (%zu values), repeating every %zu slots, level %d\n",
                  input_channels, input_height, input_width, input_im2col ? ", im2col-expanded for the first convolution" : "",
                  input_values, period, input_level);
  o << line;
  o << "  layers:\n";
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    std::snprintf(line, sizeof(line), "    %2zu %-10s -> %-8s level %d -> %d, scale 2^%.2f", i, l.kind.c_str(),
                  l.shape_out.c_str(), l.level_in, l.level_out, l.log2_scale_out);
    o << line;
    if (l.diagonals && mux_block)
      o << ", " << l.diagonals << " plaintext products (" << l.baby_steps << " offsets + " << l.giant_steps
        << " block rotations per ciphertext, " << l.ops.rotations << " rotations)";
    else if (l.diagonals)
      o << ", " << l.diagonals << (l.hybrid ? " hybrid" : "") << " diagonals (" << l.baby_steps << " baby + "
        << l.giant_steps << " giant rotations" << (l.hybrid ? ", plus replication and folding" : "") << ")";
    if (l.ops.relinearizations) o << ", " << l.ops.relinearizations << " relinearizations";
    if (l.ops.dot_terms) o << ", " << l.ops.dot_terms << " dot-product terms";
    o << "\n";
    if (!l.note.empty()) o << "       " << l.note << "\n";
  }
  std::snprintf(line, sizeof(line), "  depth %d; per %s: %llu rotations, %llu relinearizations, %llu rescales, %llu plaintext multiplies, %llu dot terms\n",
                depth, packing == Packing::kThroughput ? "batch" : "image",
                static_cast<unsigned long long>(total.rotations), static_cast<unsigned long long>(total.relinearizations),
                static_cast<unsigned long long>(total.rescales), static_cast<unsigned long long>(total.plain_multiplies),
                static_cast<unsigned long long>(total.dot_terms));
  o << line;
  if (mux_block && total.encodes) o << "  plaintexts encoded per image without the cache: " << total.encodes << "\n";
  if (packing == Packing::kLatency && !mux_block) {
    std::uint64_t advance = 0;
    for (const auto& l : layers) advance += l.plaintexts;
    o << "  plaintexts: " << advance << " diagonals encoded once by the server, " << total.encodes
      << " biases encoded per image\n";
  }
  o << "  Galois keys: " << rotation_steps.size() << " rotation steps";
  if (!rotation_steps.empty()) {
    o << " {";
    for (std::size_t i = 0; i < rotation_steps.size(); ++i) o << (i ? ", " : "") << rotation_steps[i];
    o << "}";
  }
  o << "; evaluation keys " << human_bytes(static_cast<double>(eval_key_bytes)) << " (server memory about "
    << human_bytes(static_cast<double>(server_memory_bytes));
  if (ciphertext_memory_bytes)
    o << ", of which " << human_bytes(static_cast<double>(ciphertext_memory_bytes))
      << " ciphertexts alive at once, streamed through every layer";
  o << ")\n";
  std::snprintf(line, sizeof(line), "  upload %s and download %s per %s; predicted %.3f s per %s on one thread\n",
                human_bytes(static_cast<double>(upload_bytes_per_batch)).c_str(),
                human_bytes(static_cast<double>(download_bytes_per_batch)).c_str(),
                packing == Packing::kThroughput ? "batch" : "image", predicted_seconds,
                packing == Packing::kThroughput ? "batch" : "image");
  o << line;
  return o.str();
}

}  // namespace hemi::he
