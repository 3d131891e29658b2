#include "hemi/report/progress.h"

#include <unistd.h>

#include <cmath>

namespace hemi::report {

std::string format_seconds(double s) {
  char buf[64];
  if (s < 10) std::snprintf(buf, sizeof buf, "%.2f s", s);
  else if (s < 120) std::snprintf(buf, sizeof buf, "%.1f s", s);
  else std::snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  return buf;
}

Progress::Progress(std::FILE* out, std::string label, std::size_t total, std::string unit)
    : out_(out), label_(std::move(label)), unit_(std::move(unit)), total_(total),
      start_(std::chrono::steady_clock::now()) {
  tty_ = out_ && isatty(fileno(out_));
}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(std::size_t done, const std::string& note) {
  if (!out_ || finished_ || total_ == 0) return;
  const double el = elapsed();
  const double frac = static_cast<double>(done) / static_cast<double>(total_);
  const std::string eta = done > 0 && done < total_ ? ", ETA " + format_seconds(el / frac * (1 - frac)) : "";
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(std::lround(frac * kWidth));
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '.');
  const std::string extra = note.empty() ? "" : "  " + note;
  if (tty_) {
    std::fprintf(out_, "\r  %s [%s] %zu/%zu %s, %s%s%s\033[K", label_.c_str(), bar.c_str(), done, total_,
                 unit_.c_str(), format_seconds(el).c_str(), eta.c_str(), extra.c_str());
    if (done >= total_) std::fprintf(out_, "\n"), finished_ = true;
  } else {
    const std::size_t decile = done * 10 / total_;
    // Intermediate lines only for phases that take a while; the last line always.
    if ((decile > last_decile_ && el >= 2.0) || done >= total_) {
      last_decile_ = decile;
      std::fprintf(out_, "  %s [%s] %zu/%zu %s, %s%s%s\n", label_.c_str(), bar.c_str(), done, total_, unit_.c_str(),
                   format_seconds(el).c_str(), eta.c_str(), extra.c_str());
      if (done >= total_) finished_ = true;
    }
  }
  std::fflush(out_);
}

void Progress::finish(const std::string& note) {
  if (!finished_) update(total_, note);
}

}  // namespace hemi::report
