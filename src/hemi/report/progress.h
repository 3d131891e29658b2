// A one-line progress bar with elapsed time and ETA for long phases (training epochs,
// encrypted batches). On a terminal it redraws one line; otherwise it prints a line at every
// tenth of the work, so logs stay short. Not thread-safe: call update() from one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace hemi::report {

class Progress {
 public:
  Progress(std::FILE* out, std::string label, std::size_t total, std::string unit);
  void update(std::size_t done, const std::string& note = "");
  void finish(const std::string& note = "");  // prints the final line (once)
  double elapsed() const;

 private:
  std::FILE* out_;
  std::string label_, unit_;
  std::size_t total_;
  std::size_t last_decile_ = 0;
  bool tty_ = false, finished_ = false;
  std::chrono::steady_clock::time_point start_;
};

std::string format_seconds(double s);  // "0.42 s", "12.3 s", "2 min 05 s"

}  // namespace hemi::report
