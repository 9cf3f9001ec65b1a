#include "nn/use_gate.h"

#include <algorithm>
#include <vector>

namespace aimass::nn {

namespace {

// What this thread holds of each gate: nested shared uses and nested changes.
struct Hold {
  const UseGate* gate;
  int64_t shared = 0, exclusive = 0;
};
thread_local std::vector<Hold> holds;

Hold* find_hold(const UseGate* gate) {
  auto it = std::find_if(holds.begin(), holds.end(), [&](const Hold& h) { return h.gate == gate; });
  return it == holds.end() ? nullptr : &*it;
}

Hold& hold_of(const UseGate* gate) {
  if (Hold* h = find_hold(gate)) return *h;
  return holds.emplace_back(Hold{gate});
}

void drop_if_empty(const UseGate* gate) {
  std::erase_if(holds, [&](const Hold& h) { return h.gate == gate && h.shared == 0 && h.exclusive == 0; });
}

}  // namespace

void UseGate::enter_shared() {
  Hold* mine = find_hold(this);
  if (mine && (mine->shared > 0 || mine->exclusive > 0)) {
    // Nested: this thread is already inside, so no other thread's change can be running.
    state_.fetch_add(1);
    ++mine->shared;
    return;
  }
  for (int64_t s = state_.load();;) {
    if (s >= kChanging) {
      state_.wait(s);
      s = state_.load();
    } else if (state_.compare_exchange_weak(s, s + 1)) {
      break;
    }
  }
  ++hold_of(this).shared;
}

void UseGate::exit_shared() {
  state_.fetch_sub(1);
  --hold_of(this).shared;
  drop_if_empty(this);
}

bool UseGate::try_enter_exclusive() {
  Hold* mine = find_hold(this);
  if (mine && mine->exclusive > 0) {
    ++mine->exclusive;
    return true;
  }
  // Free when every shared use is this thread's own.
  const int64_t own = mine ? mine->shared : 0;
  int64_t expected = own;
  if (!state_.compare_exchange_strong(expected, own + kChanging)) return false;
  ++hold_of(this).exclusive;
  return true;
}

void UseGate::exit_exclusive() {
  Hold& mine = hold_of(this);
  if (--mine.exclusive == 0) {
    state_.fetch_sub(kChanging);
    state_.notify_all();
  }
  drop_if_empty(this);
}

}  // namespace aimass::nn
