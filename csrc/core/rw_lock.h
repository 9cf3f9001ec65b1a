// ReadWriteLock: many readers or one writer, and a waiting writer goes first. std::shared_mutex
// on glibc prefers readers, so a steady stream of overlapping searches would starve an add()
// for ever; here a writer takes the turnstile before waiting for the readers to drain, and
// new readers queue behind it on the turnstile.
//
//   ReadWriteLock lock;
//   { auto r = lock.read(); ... }    // shared
//   { auto w = lock.write(); ... }   // exclusive
#pragma once
#include <mutex>
#include <shared_mutex>

namespace aimass {

class ReadWriteLock {
 public:
  std::shared_lock<std::shared_mutex> read() const {
    { std::lock_guard<std::mutex> wait_for_writers(turnstile_); }
    return std::shared_lock<std::shared_mutex>(mutex_);
  }
  std::unique_lock<std::shared_mutex> write() const {
    std::lock_guard<std::mutex> first_in_line(turnstile_);
    return std::unique_lock<std::shared_mutex>(mutex_);
  }

 private:
  mutable std::mutex turnstile_;
  mutable std::shared_mutex mutex_;
};

}  // namespace aimass
