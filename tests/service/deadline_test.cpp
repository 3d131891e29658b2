// The client's exchange deadline (`hemi query --timeout`): completion and expiry exclude each
// other. Whichever is claimed first stands; the other learns it lost and does nothing (the
// watchdog does not stop a connection whose answer is complete; a reader whose exchange the
// watchdog stopped reports the timeout, never a possibly cut answer).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "hemi/service/exchange_outcome.h"

namespace hemi::service {
namespace {

TEST(ServiceExchangeOutcome, CompletionFirstMeansTheDeadlineDoesNothing) {
  ExchangeOutcome o;
  EXPECT_TRUE(o.complete());
  EXPECT_FALSE(o.expire());  // the watchdog must not stop the connection
  EXPECT_FALSE(o.expired());
  EXPECT_TRUE(o.complete());  // the reader may claim again (after send returns): still complete
}

TEST(ServiceExchangeOutcome, ExpiryFirstMeansTheAnswerIsNotTrusted) {
  ExchangeOutcome o;
  EXPECT_TRUE(o.expire());
  EXPECT_FALSE(o.complete());  // even if send() then returned an answer: it may be cut
  EXPECT_TRUE(o.expired());
  EXPECT_FALSE(o.expire());
}

TEST(ServiceExchangeOutcome, AtTheSameInstantExactlyOneWins) {
  for (int round = 0; round < 200; ++round) {
    ExchangeOutcome o;
    std::atomic<bool> go{false};
    bool completed = false, expired = false;
    std::thread reader([&] {
      while (!go) std::this_thread::yield();
      completed = o.complete();
    });
    std::thread watchdog([&] {
      while (!go) std::this_thread::yield();
      expired = o.expire();
    });
    go = true;
    reader.join();
    watchdog.join();
    ASSERT_NE(completed, expired) << "round " << round;
    ASSERT_EQ(o.expired(), expired);
  }
}

}  // namespace
}  // namespace hemi::service
