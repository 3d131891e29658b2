#include "hemi/report/train_options.h"

#include <cstdio>

namespace hemi::report {

train::TrainOptions train_options(const TrainSpec& ts, std::uint64_t seed, const std::string& activation) {
  train::TrainOptions to;
  to.epochs = ts.epochs;
  to.batch_size = ts.batch_size;
  to.learning_rate = ts.learning_rate;
  to.seed = seed;
  to.threads = ts.threads;
  to.noise.enabled = ts.noise;
  to.noise.factor = ts.noise_factor;
  to.batch_norm = ts.batch_norm;
  to.train_polynomials = activation == "poly";
  to.clip_norm = ts.clip;
  to.schedule.kind = train::parse_lr_schedule(ts.schedule);
  to.schedule.step_epochs = ts.step_epochs;
  to.schedule.step_gamma = ts.step_gamma;
  to.augment.flip = ts.flip;
  to.augment.rotate_degrees = ts.rotate;
  to.augment.shift_pixels = ts.shift;
  to.class_weights = ts.class_weights;
  to.validation_fraction = ts.validation;
  to.warm_start_epochs = ts.warm_start_epochs;
  to.distill.enabled = ts.distill;
  to.distill.temperature = ts.distill_temperature;
  to.distill.alpha = ts.distill_alpha;
  to.distill.start_from_teacher = ts.start_from_teacher;
  to.distill.student_learning_rate = ts.student_learning_rate;
  return to;
}

bool uses_recipe(const TrainSpec& t) {
  return t.batch_norm || t.clip > 0 || t.schedule != "constant" || t.flip || t.rotate > 0 || t.shift > 0 ||
         t.class_weights || t.validation > 0 || t.warm_start_epochs > 0 || t.distill;
}

std::string describe_recipe(const train::TrainOptions& to, const std::string& activation) {
  char buf[512];
  std::snprintf(buf, sizeof buf, "activation %s; batch norm %s; clip %g; schedule %s; augmentation %s; class weights %s",
                activation.c_str(), to.batch_norm ? "folded" : "off", to.clip_norm, train::to_string(to.schedule.kind),
                to.augment.describe().c_str(), to.class_weights ? "balanced" : "off");
  std::string out = buf;
  if (to.warm_start_epochs > 0)
    out += "; ReLU warm start " + std::to_string(to.warm_start_epochs) + " epochs";
  if (to.distill.enabled) {
    std::snprintf(buf, sizeof buf, "; distilled from a ReLU teacher (T %g, alpha %g)%s", to.distill.temperature,
                  to.distill.alpha, to.distill.start_from_teacher ? ", starting from it" : "");
    out += buf;
    if (to.distill.student_learning_rate > 0) {
      std::snprintf(buf, sizeof buf, ", student lr %g", to.distill.student_learning_rate);
      out += buf;
    }
  }
  return out;
}

}  // namespace hemi::report
