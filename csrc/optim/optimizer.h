// Optimizers: the parameters in groups, each group with its own options (lr, betas, ...), and
// a per-parameter state (step count, the algorithm's buffers, float32 master weights for
// 16-bit parameters). step() runs one fused kernel per group and device (ops/kernels/optim.h:
// optim_step_kernel), with no Python involved, so the native training loop calls it with
// the GIL released.
//
//   std::vector<Tensor> params = model.parameters();
//   aimass::optim::AdamW opt(params, /*lr=*/1e-3);
//   loss.backward(); clip_grad_norm_(params, 1.0); opt.step(); opt.zero_grad();
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ops/kernels/optim.h"

namespace aimass::optim {

// What an optimizer keeps per parameter. buffers[k] is the algorithm's k-th state tensor
// (Optimizer::state_names()[k]), undefined until an update needs it; master is the float32
// copy of a float16 / bfloat16 parameter that the updates go to (the parameter receives its
// rounded value), undefined for float32 / float64 parameters.
struct ParamState {
  int64_t step = 0;
  Tensor master;
  Tensor buffers[3];
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step() = 0;            // one update of every parameter that has a .grad (no Python involved)
  void zero_grad();                   // sets every parameter's .grad to undefined
  double lr(size_t group = 0) const;  // the current learning rate of a group
  void set_lr(double lr, int64_t group = -1);  // -1: every group
  size_t num_groups() const;
  const std::vector<Tensor>& params(size_t group) const;

  // The rest serves the Python API (param_groups, state_dict) and the schedules.
  const std::string& name() const { return name_; }
  // A new group: `params` (floating leaf tensors, none already in a group) with `options`
  // (keys of option_names()) over the optimizer's defaults. ValueError / TypeError naming the
  // optimizer otherwise.
  void add_param_group(const std::vector<Tensor>& params, const std::map<std::string, double>& options = {});
  // The option keys of this algorithm, e.g. {"lr", "beta1", "beta2", "eps", "weight_decay",
  // "amsgrad"}; flags read as 0 / 1.
  const std::vector<std::string>& option_names() const { return option_names_; }
  bool is_flag(const std::string& key) const;
  double option(size_t group, const std::string& key) const;
  void set_option(size_t group, const std::string& key, double value);  // validated
  double default_option(const std::string& key) const;
  // Names of ParamState::buffers, e.g. {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}.
  const std::vector<std::string>& state_names() const { return state_names_; }
  const ParamState& state(size_t group, size_t index) const;
  // Replaces one parameter's state (load_state_dict): buffers and master must match the
  // parameter's shape (buffers in its compute dtype); copied to the parameter's device.
  void set_state(size_t group, size_t index, const ParamState& state);

 protected:
  Optimizer(std::string name, OptimAlgo algo, const OptimHyper& defaults, std::vector<std::string> option_names,
            std::vector<std::string> state_names);
  // The whole step: every group's parameters with a grad, one fused kernel per device.
  void fused_step();

 private:
  struct Group {
    std::vector<Tensor> params;
    OptimHyper hp;
    std::vector<ParamState> state;  // one per param
  };
  void check_options(const OptimHyper& hp) const;  // ValueError naming the optimizer and option
  bool needs_buffer(const OptimHyper& hp, int k) const;
  const Group& group(size_t g, const char* what) const;

  std::string name_;
  OptimAlgo algo_;
  OptimHyper defaults_;
  std::vector<std::string> option_names_, state_names_;
  std::vector<Group> groups_;
};

// Options by name (the keys of Optimizer::option_names(), flags as 0 / 1) over OptimHyper's
// defaults; ValueError for an unknown key.
OptimHyper make_hyper(const std::map<std::string, double>& options);

// Scales all gradients so their global L2 norm is at most max_norm; returns the norm before clipping.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm);
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace aimass::optim
