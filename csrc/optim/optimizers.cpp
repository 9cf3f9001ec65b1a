#include "optim/optimizers.h"

namespace aimass::optim {

namespace {

const std::vector<std::string> kSgdOptions{"lr", "momentum", "dampening", "nesterov", "weight_decay"};
const std::vector<std::string> kAdamOptions{"lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad"};
const std::vector<std::string> kRmspropOptions{"lr", "alpha", "eps", "weight_decay", "momentum", "centered"};
const std::vector<std::string> kAdagradOptions{"lr", "lr_decay", "weight_decay", "eps", "initial_accumulator_value"};
const std::vector<std::string> kLionOptions{"lr", "beta1", "beta2", "weight_decay"};

OptimHyper with_decoupled(OptimHyper hp) {
  hp.decoupled_weight_decay = true;
  return hp;
}

}  // namespace

SGD::SGD(const OptimHyper& d) : Optimizer("SGD", OptimAlgo::SGD, d, kSgdOptions, {"momentum_buffer"}) {}
SGD::SGD(const std::vector<Tensor>& params, double lr, double momentum, double dampening, bool nesterov,
         double weight_decay)
    : SGD([&] {
        OptimHyper hp;
        hp.lr = lr, hp.momentum = momentum, hp.dampening = dampening, hp.nesterov = nesterov;
        hp.weight_decay = weight_decay;
        return hp;
      }()) {
  add_param_group(params);
}

Adam::Adam(const char* name, const OptimHyper& d)
    : Optimizer(name, OptimAlgo::Adam, d, kAdamOptions, {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}) {}
Adam::Adam(const OptimHyper& d) : Adam("Adam", d) {}
Adam::Adam(const std::vector<Tensor>& params, double lr, double beta1, double beta2, double eps, double weight_decay,
           bool amsgrad)
    : Adam([&] {
        OptimHyper hp;
        hp.lr = lr, hp.beta1 = beta1, hp.beta2 = beta2, hp.eps = eps, hp.weight_decay = weight_decay;
        hp.amsgrad = amsgrad;
        return hp;
      }()) {
  add_param_group(params);
}

AdamW::AdamW(const OptimHyper& d) : Adam("AdamW", with_decoupled(d)) {}
AdamW::AdamW(const std::vector<Tensor>& params, double lr, double beta1, double beta2, double eps,
             double weight_decay, bool amsgrad)
    : AdamW([&] {
        OptimHyper hp;
        hp.lr = lr, hp.beta1 = beta1, hp.beta2 = beta2, hp.eps = eps, hp.weight_decay = weight_decay;
        hp.amsgrad = amsgrad;
        return hp;
      }()) {
  add_param_group(params);
}

RMSprop::RMSprop(const OptimHyper& d)
    : Optimizer("RMSprop", OptimAlgo::RMSprop, d, kRmspropOptions, {"square_avg", "momentum_buffer", "grad_avg"}) {}
RMSprop::RMSprop(const std::vector<Tensor>& params, double lr, double alpha, double eps, double weight_decay,
                 double momentum, bool centered)
    : RMSprop([&] {
        OptimHyper hp;
        hp.lr = lr, hp.alpha = alpha, hp.eps = eps, hp.weight_decay = weight_decay, hp.momentum = momentum;
        hp.centered = centered;
        return hp;
      }()) {
  add_param_group(params);
}

Adagrad::Adagrad(const OptimHyper& d) : Optimizer("Adagrad", OptimAlgo::Adagrad, d, kAdagradOptions, {"sum"}) {}
Adagrad::Adagrad(const std::vector<Tensor>& params, double lr, double lr_decay, double weight_decay, double eps,
                 double initial_accumulator_value)
    : Adagrad([&] {
        OptimHyper hp;
        hp.lr = lr, hp.lr_decay = lr_decay, hp.weight_decay = weight_decay, hp.eps = eps;
        hp.initial_accumulator_value = initial_accumulator_value;
        return hp;
      }()) {
  add_param_group(params);
}

Lion::Lion(const OptimHyper& d) : Optimizer("Lion", OptimAlgo::Lion, d, kLionOptions, {"exp_avg"}) {}
Lion::Lion(const std::vector<Tensor>& params, double lr, double beta1, double beta2, double weight_decay)
    : Lion([&] {
        OptimHyper hp;
        hp.lr = lr, hp.beta1 = beta1, hp.beta2 = beta2, hp.weight_decay = weight_decay;
        return hp;
      }()) {
  add_param_group(params);
}

}  // namespace aimass::optim
