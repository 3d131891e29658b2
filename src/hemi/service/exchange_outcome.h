// How one HTTP exchange of the client ended, when a watchdog enforces its deadline (client.cpp):
// completed (the whole answer read) or expired (the deadline fired first). The two exclude each
// other: the reader and the watchdog each claim their end with a compare-and-swap, and the
// first claim stands. The watchdog stops the connection only if its claim won, so an answer
// completed in the same instant is never cut nor reported as timed out; a reader whose claim
// lost reports the timeout (the connection was stopped under it, an answer may be cut).
#pragma once

#include <atomic>

namespace hemi::service {

class ExchangeOutcome {
 public:
  // The reader: true if the exchange counts as completed (now or by an earlier claim).
  bool complete() { return claim(kCompleted) || state_.load() == kCompleted; }
  // The watchdog: true if the deadline won, and the connection must be stopped.
  bool expire() { return claim(kExpired); }
  bool expired() const { return state_.load() == kExpired; }

 private:
  enum State : int { kRunning, kCompleted, kExpired };
  bool claim(State to) {
    int from = kRunning;
    return state_.compare_exchange_strong(from, to);
  }
  std::atomic<int> state_{kRunning};
};

}  // namespace hemi::service
