// The data record a trained model carries (nn::DataRecord, model file format 2), made from
// the Dataset it was trained on, and the way back: the load options that re-create exactly
// the images held out from that training. No libtorch here.
#pragma once

#include <string>
#include <vector>

#include "hemi/data/dataset.h"
#include "hemi/nn/model.h"

namespace hemi::train {

// What ds and opts say about the training: identity, split, counts, duplicate policy.
nn::DataRecord make_data_record(const data::Dataset& ds, const data::LoadOptions& opts);

// Sets opts' split choice, seed and duplicate policy to the record's, so that load_dataset
// gives the images held out from that training.
void apply_held_out_split(const nn::DataRecord& record, data::LoadOptions& opts);

// Throws hemi::Error when the model's classes are not the data set's (count, names or order),
// naming both lists: a model scores garbage on classes it was not trained for.
void check_same_classes(const std::vector<std::string>& model_classes,
                        const std::vector<std::string>& data_classes, const std::string& data_name);

}  // namespace hemi::train
