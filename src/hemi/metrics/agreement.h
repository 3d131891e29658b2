// Plain versus encrypted inference on the same weights: how often the predicted labels agree,
// McNemar's exact test on the correctness of the two, and the logit error.
// Pure function; throws hemi::Error on empty input, mismatched shapes, labels out of range and
// non-finite logits, naming the image.
#pragma once

#include <cstddef>
#include <vector>

#include "hemi/metrics/value.h"

namespace hemi::metrics {

struct Agreement {
  std::size_t n = 0;
  std::size_t agreements = 0;   // images where both predict the same label (argmax)
  double agreement_rate = 0;    // agreements / n
  Interval agreement_ci;        // Wilson, 95%

  std::size_t plain_correct = 0;
  std::size_t encrypted_correct = 0;
  std::size_t both_correct = 0;
  std::size_t plain_only_correct = 0;      // McNemar's b
  std::size_t encrypted_only_correct = 0;  // McNemar's c
  std::size_t both_wrong = 0;
  double mcnemar_p = 1;  // exact two-sided p on (b, c); 1 when b + c == 0

  double max_abs_logit_error = 0;      // max over images and classes of |plain - encrypted|
  std::size_t max_error_image = 0;     // where it occurred
  int max_error_class = 0;
  double mean_abs_logit_error = 0;     // over all n * C values
};

// plain_logits and encrypted_logits are [image][class] with the same shape; truth[i] is in
// [0, C). Predicted labels are the argmax of each row (lowest index on ties).
Agreement compare_predictions(const std::vector<std::vector<double>>& plain_logits,
                              const std::vector<std::vector<double>>& encrypted_logits,
                              const std::vector<int>& truth);

}  // namespace hemi::metrics
