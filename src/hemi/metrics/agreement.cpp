#include "hemi/metrics/agreement.h"

#include <cmath>
#include <string>

#include "hemi/base/error.h"
#include "hemi/metrics/classification.h"
#include "hemi/metrics/statistics.h"

namespace hemi::metrics {

Agreement compare_predictions(const std::vector<std::vector<double>>& plain_logits,
                              const std::vector<std::vector<double>>& encrypted_logits,
                              const std::vector<int>& truth) {
  const std::string op = "compare_predictions: ";
  if (truth.empty()) throw Error(op + "empty input (no images)");
  if (plain_logits.size() != truth.size() || encrypted_logits.size() != truth.size()) {
    throw Error(op + "mismatched lengths: " + std::to_string(truth.size()) + " true labels, " +
                std::to_string(plain_logits.size()) + " plain rows, " +
                std::to_string(encrypted_logits.size()) + " encrypted rows");
  }
  const std::size_t classes = plain_logits[0].size();
  if (classes == 0) throw Error(op + "image 0 has no logits");
  Agreement a;
  a.n = truth.size();
  double abs_sum = 0;
  for (std::size_t i = 0; i < a.n; ++i) {
    const auto& p = plain_logits[i];
    const auto& e = encrypted_logits[i];
    if (p.size() != classes || e.size() != classes) {
      throw Error(op + "image " + std::to_string(i) + " has " + std::to_string(p.size()) +
                  " plain and " + std::to_string(e.size()) + " encrypted logits, expected " +
                  std::to_string(classes));
    }
    if (truth[i] < 0 || static_cast<std::size_t>(truth[i]) >= classes) {
      throw Error(op + "true label of image " + std::to_string(i) + " is " +
                  std::to_string(truth[i]) + ", outside [0, " + std::to_string(classes) + ")");
    }
    for (std::size_t k = 0; k < classes; ++k) {
      for (auto [which, v] : {std::pair{"plain", p[k]}, std::pair{"encrypted", e[k]}}) {
        if (!std::isfinite(v)) {
          throw Error(op + which + " logit of image " + std::to_string(i) + ", class " +
                      std::to_string(k) + " is not finite (" + std::to_string(v) + ")");
        }
      }
      const double err = std::abs(p[k] - e[k]);
      abs_sum += err;
      if (err > a.max_abs_logit_error) {
        a.max_abs_logit_error = err;
        a.max_error_image = i;
        a.max_error_class = static_cast<int>(k);
      }
    }
    const int plain_label = argmax(p);
    const int enc_label = argmax(e);
    const bool plain_ok = plain_label == truth[i];
    const bool enc_ok = enc_label == truth[i];
    a.agreements += plain_label == enc_label;
    a.plain_correct += plain_ok;
    a.encrypted_correct += enc_ok;
    a.both_correct += plain_ok && enc_ok;
    a.plain_only_correct += plain_ok && !enc_ok;
    a.encrypted_only_correct += !plain_ok && enc_ok;
    a.both_wrong += !plain_ok && !enc_ok;
  }
  a.agreement_rate = static_cast<double>(a.agreements) / static_cast<double>(a.n);
  a.agreement_ci = wilson_interval(a.agreements, a.n, 0.95);
  a.mcnemar_p = mcnemar_exact(a.plain_only_correct, a.encrypted_only_correct);
  a.mean_abs_logit_error = abs_sum / static_cast<double>(a.n * classes);
  return a;
}

}  // namespace hemi::metrics
