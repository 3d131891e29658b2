// The training recipe's pure parts (no libtorch): learning-rate schedules, data augmentation
// options, class weights for imbalanced sets and the choice of the best epoch on a
// validation split. trainer.cpp applies them; docs/training.md, "Training recipe".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hemi::train {

// The learning rate of epoch e (0-based) of E:
//   constant  lr
//   cosine    lr · (1 + cos(π e / E)) / 2          (full lr in the first epoch, → 0)
//   step      lr · gamma^floor(e / step_epochs)
enum class LrSchedule { kConstant, kCosine, kStep };
const char* to_string(LrSchedule s);     // "constant", "cosine", "step"
LrSchedule parse_lr_schedule(std::string_view name);  // throws hemi::Error naming the value

struct ScheduleOptions {
  LrSchedule kind = LrSchedule::kConstant;
  int step_epochs = 10;     // step: epochs between decays (>= 1)
  double step_gamma = 0.1;  // step: factor per decay, in (0, 1]
};
double learning_rate_at(const ScheduleOptions& s, double lr, int epoch, int epochs);

// Random transformations of each training image, drawn fresh per image and batch from the
// training seed (never applied to validation or test images):
//   flip           horizontal flip with probability 1/2
//   rotate_degrees rotation by an angle uniform in [-r, r] about the centre
//   shift_pixels   translation by whole-pixel offsets uniform in [-s, s] on each axis (a
//                  random crop of the image padded by s)
// Rotation and shift are one bilinear resampling; pixels from outside the image repeat the
// nearest border pixel (MRI borders are background).
struct Augmentation {
  bool flip = false;
  double rotate_degrees = 0;  // in [0, 180]
  int shift_pixels = 0;       // >= 0
  bool any() const { return flip || rotate_degrees > 0 || shift_pixels > 0; }
  std::string describe() const;  // "flip, rotate ±10°, shift ±4 px" or "none"
};

// "balanced" weights as scikit-learn computes them: w_c = n / (k · n_c) for the k classes
// with images (n images in all, n_c of class c); a class without images gets 0. Their
// support-weighted mean is 1, so the loss keeps its scale.
std::vector<double> balanced_class_weights(const std::vector<int>& labels, int classes);

// The epoch (0-based index into the lists) with the highest validation accuracy; ties go to
// the lower validation loss, then to the earlier epoch. Throws hemi::Error for empty or
// mismatched lists.
std::size_t best_epoch(const std::vector<double>& accuracy, const std::vector<double>& loss);

// The quadratic c0 + c1 x + c2 x² (c0 first) nearest to ReLU in least squares over the
// sample `x` (the pre-activations a layer sees): the solution of the 3x3 normal equations.
// Throws hemi::Error if the sample has fewer than 3 distinct values (no unique fit).
std::vector<double> relu_least_squares_quadratic(const std::vector<double>& x);

// Knowledge distillation (Hinton, Vinyals, Dean 2015) of a polynomial network from a ReLU
// teacher with the same layers, trained first on the same training images:
//   loss = (1 − alpha) · CE(student, labels) + alpha · T² · KL(softmax(teacher/T) ‖ softmax(student/T))
struct Distillation {
  bool enabled = false;
  double temperature = 4.0;  // T > 0
  double alpha = 0.5;        // in [0, 1]
  // The student starts from the trained teacher instead of the initial weights (a ReLU warm
  // start whose ReLU phase is the whole teacher run): the teacher's linear layers, every
  // batch norm set to the identity on the teacher's pre-activations, and every polynomial set
  // to ReLU's least-squares quadratic on what it then sees. The student still trains
  // `epochs` epochs (the schedule restarts).
  bool start_from_teacher = false;
  // > 0: the student's base learning rate (the schedule runs from it) instead of the
  // options' learning_rate, which the teacher keeps; a student that starts from its teacher
  // is fine-tuned, so a lower rate may keep more of what the teacher learned. 0 = the same.
  double student_learning_rate = 0;
};

}  // namespace hemi::train
