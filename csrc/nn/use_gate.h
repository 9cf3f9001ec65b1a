// UseGate: who is using a module right now, so that a structural change never lands while
// another thread runs it. Uses (a forward pass; fit, evaluate, predict for their whole run)
// enter shared and may nest; a change (registering an entry, Sequential.add, to(),
// load_state_dict) enters exclusive, or is refused at once while another thread uses the
// module: try_enter_exclusive() returns false and the caller raises. A thread's own shared
// uses do not refuse its own change (a Python forward that registers a layer on first use).
// Shared entries wait while a change runs; changes are short and never wait for anything.
#pragma once
#include <atomic>
#include <cstdint>

namespace aimass::nn {

class UseGate {
 public:
  void enter_shared();
  void exit_shared();
  bool try_enter_exclusive();
  void exit_exclusive();

 private:
  static constexpr int64_t kChanging = int64_t(1) << 40;
  std::atomic<int64_t> state_{0};  // shared uses, plus kChanging while a change runs
};

}  // namespace aimass::nn
