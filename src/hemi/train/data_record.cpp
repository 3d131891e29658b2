#include "hemi/train/data_record.h"

#include "hemi/base/error.h"

namespace hemi::train {

namespace {

std::string list(const std::vector<std::string>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < 12; ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > 12) s += ", ...";
  return std::to_string(v.size()) + " (" + s + ")";
}

}  // namespace

nn::DataRecord make_data_record(const data::Dataset& ds, const data::LoadOptions& opts) {
  nn::DataRecord r;
  r.dataset = ds.location.name;
  r.identity = ds.identity;
  r.split_mode = ds.split.mode == data::SplitMode::kNamed ? "named" : "fraction";
  r.train_split = ds.split.train_split;
  r.test_split = ds.split.test_split;
  r.train_fraction = ds.split.mode == data::SplitMode::kNamed ? 1.0 : ds.split.train_fraction;
  r.seed = opts.seed;
  r.train_images = ds.train.size();
  r.test_images = ds.test_sample.of;  // held out, before any --limit sample of them
  r.train_limit = ds.train_sample.sampled() ? ds.train_sample.drawn : 0;
  r.kept_cross_duplicates = ds.duplicates.kept;
  return r;
}

void apply_held_out_split(const nn::DataRecord& record, data::LoadOptions& opts) {
  if (record.split_mode == "named") {
    opts.split_mode = data::SplitMode::kNamed;
    opts.test_split = record.test_split;
  } else {
    opts.split_mode = data::SplitMode::kFraction;
    opts.train_fraction = record.train_fraction;
  }
  opts.seed = record.seed;
  opts.keep_cross_duplicates = record.kept_cross_duplicates;
}

void check_same_classes(const std::vector<std::string>& model_classes, const std::vector<std::string>& data_classes,
                        const std::string& data_name) {
  if (model_classes == data_classes) return;
  throw Error("the model's classes are not the data set's: the model has " + list(model_classes) + ", '" + data_name +
              "' has " + list(data_classes) +
              "; a model can only be scored on the classes it was trained for, in the same order");
}

}  // namespace hemi::train
