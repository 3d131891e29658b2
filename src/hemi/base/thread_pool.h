// The one door for parallel work: a small fixed pool of worker threads with parallel_for.
// Math kernels never start threads; callers hand work to a pool.
// Concurrency: parallel_for may be called from one thread at a time per pool; nested calls from
// inside a task run serially on the calling thread. Exceptions thrown by tasks are re-thrown
// (the first one) in the caller after all tasks finish.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hemi {

class ThreadPool {
 public:
  // threads == 0 means one per hardware core. threads == 1 runs everything on the caller.
  explicit ThreadPool(std::size_t threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  std::size_t size() const { return workers_.size() + 1; }

  // Calls f(i) for every i in [begin, end), spread over the pool and the calling thread.
  void parallel_for(std::size_t begin, std::size_t end, const std::function<void(std::size_t)>& f);

  static std::size_t hardware_threads();

 private:
  void worker_loop();
  void run_tasks();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(std::size_t)>* task_ = nullptr;
  std::size_t next_ = 0, end_ = 0, active_ = 0;
  std::size_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace hemi
