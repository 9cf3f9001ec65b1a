// The algorithms, each PyTorch's torch.optim update (the formulas: ops/cpu/optim.cpp). A
// constructor with parameters makes one group; the one with only options makes an empty
// optimizer for add_param_group (the Python classes build theirs that way).
#pragma once
#include "optim/optimizer.h"

namespace aimass::optim {

// p -= lr * d, d = g + wd p, through momentum (b = mu b + (1 - dampening) d), optionally Nesterov.
class SGD : public Optimizer {
 public:
  explicit SGD(const OptimHyper& defaults);
  SGD(const std::vector<Tensor>& params, double lr, double momentum = 0, double dampening = 0, bool nesterov = false,
      double weight_decay = 0);
  void step() override { fused_step(); }
};

// Adam (Kingma & Ba) with L2 weight decay folded into the gradient; amsgrad keeps max(v).
class Adam : public Optimizer {
 public:
  explicit Adam(const OptimHyper& defaults);
  Adam(const std::vector<Tensor>& params, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
       double eps = 1e-8, double weight_decay = 0, bool amsgrad = false);
  void step() override { fused_step(); }

 protected:
  Adam(const char* name, const OptimHyper& defaults);
};

// Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr * wd, then Adam.
class AdamW : public Adam {
 public:
  explicit AdamW(const OptimHyper& defaults);
  AdamW(const std::vector<Tensor>& params, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weight_decay = 1e-2, bool amsgrad = false);
};

class RMSprop : public Optimizer {
 public:
  explicit RMSprop(const OptimHyper& defaults);
  RMSprop(const std::vector<Tensor>& params, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
          double weight_decay = 0, double momentum = 0, bool centered = false);
  void step() override { fused_step(); }
};

class Adagrad : public Optimizer {
 public:
  explicit Adagrad(const OptimHyper& defaults);
  Adagrad(const std::vector<Tensor>& params, double lr = 1e-2, double lr_decay = 0, double weight_decay = 0,
          double eps = 1e-10, double initial_accumulator_value = 0);
  void step() override { fused_step(); }
};

// Lion (Chen et al. 2023): p = p (1 - lr wd) - lr sign(b1 m + (1 - b1) g); m = b2 m + (1 - b2) g.
class Lion : public Optimizer {
 public:
  explicit Lion(const OptimHyper& defaults);
  Lion(const std::vector<Tensor>& params, double lr = 1e-4, double beta1 = 0.9, double beta2 = 0.99,
       double weight_decay = 0);
  void step() override { fused_step(); }
};

}  // namespace aimass::optim
