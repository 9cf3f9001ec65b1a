#include "autograd/grad_mode.h"

namespace aimass::autograd {

namespace {
thread_local bool tls_grad_enabled = true;
}

bool grad_enabled() { return tls_grad_enabled; }
void set_grad_enabled(bool enabled) { tls_grad_enabled = enabled; }

}  // namespace aimass::autograd
