// Whether ops record the graph: on by default, off inside no_grad (per thread).
#pragma once

namespace aimass::autograd {

bool grad_enabled();
void set_grad_enabled(bool enabled);

// RAII: GradMode guard(false) records nothing until it goes out of scope.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : previous_(grad_enabled()) { set_grad_enabled(enabled); }
  ~GradModeGuard() { set_grad_enabled(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace aimass::autograd
