#include "hemi/base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace hemi {
namespace {

TEST(ThreadPool, VisitsEveryIndexOnce) {
  for (std::size_t threads : {1u, 2u, 4u}) {
    ThreadPool pool(threads);
    std::vector<std::atomic<int>> hits(1000);
    for (int round = 0; round < 5; ++round) pool.parallel_for(0, hits.size(), [&](std::size_t i) { hits[i]++; });
    for (auto& h : hits) EXPECT_EQ(h.load(), 5);
  }
}

TEST(ThreadPool, RethrowsTaskErrors) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(0, 100, [](std::size_t i) {
    if (i == 37) throw std::runtime_error("boom");
  }),
               std::runtime_error);
  std::atomic<int> n{0};
  pool.parallel_for(0, 10, [&](std::size_t) { n++; });  // still usable afterwards
  EXPECT_EQ(n.load(), 10);
}

TEST(ThreadPool, NestedCallsRunSerially) {
  ThreadPool pool(2);
  std::atomic<int> n{0};
  pool.parallel_for(0, 4, [&](std::size_t) { pool.parallel_for(0, 4, [&](std::size_t) { n++; }); });
  EXPECT_EQ(n.load(), 16);
}

}  // namespace
}  // namespace hemi
