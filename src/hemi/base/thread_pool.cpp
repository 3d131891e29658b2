#include "hemi/base/thread_pool.h"

namespace hemi {

namespace {
thread_local bool in_pool_task = false;
}

std::size_t ThreadPool::hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

ThreadPool::ThreadPool(std::size_t threads) {
  if (threads == 0) threads = hardware_threads();
  for (std::size_t i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run_tasks() {
  for (;;) {
    std::size_t i;
    {
      std::lock_guard lock(mutex_);
      if (next_ >= end_) return;
      i = next_++;
    }
    try {
      in_pool_task = true;
      (*task_)(i);
      in_pool_task = false;
    } catch (...) {
      in_pool_task = false;
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
      next_ = end_;
    }
  }
}

void ThreadPool::worker_loop() {
  std::size_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      ++active_;
    }
    run_tasks();
    {
      std::lock_guard lock(mutex_);
      --active_;
    }
    done_.notify_all();
  }
}

void ThreadPool::parallel_for(std::size_t begin, std::size_t end,
                              const std::function<void(std::size_t)>& f) {
  if (begin >= end) return;
  if (workers_.empty() || in_pool_task || end - begin == 1) {
    for (std::size_t i = begin; i < end; ++i) f(i);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    task_ = &f;
    next_ = begin;
    end_ = end;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  run_tasks();
  std::exception_ptr err;
  {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return active_ == 0 && next_ >= end_; });
    task_ = nullptr;
    err = error_;
    error_ = nullptr;
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace hemi
