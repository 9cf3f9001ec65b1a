#include "optim/optimizer.h"

#include <algorithm>
#include <set>
#include <utility>

#include "autograd/node.h"
#include "core/error.h"
#include "ops/convert.h"
#include "ops/creation.h"

namespace aimass::optim {

namespace {

// Every option an algorithm may expose, by the name PyTorch's param_groups use (betas is
// beta1 and beta2 here; the Python layer joins them).
struct Field {
  const char* name;
  double OptimHyper::*num;
  bool OptimHyper::*flag;
};
const Field kFields[] = {
    {"lr", &OptimHyper::lr, nullptr},
    {"weight_decay", &OptimHyper::weight_decay, nullptr},
    {"momentum", &OptimHyper::momentum, nullptr},
    {"dampening", &OptimHyper::dampening, nullptr},
    {"beta1", &OptimHyper::beta1, nullptr},
    {"beta2", &OptimHyper::beta2, nullptr},
    {"eps", &OptimHyper::eps, nullptr},
    {"alpha", &OptimHyper::alpha, nullptr},
    {"lr_decay", &OptimHyper::lr_decay, nullptr},
    {"initial_accumulator_value", &OptimHyper::initial_accumulator_value, nullptr},
    {"nesterov", nullptr, &OptimHyper::nesterov},
    {"amsgrad", nullptr, &OptimHyper::amsgrad},
    {"centered", nullptr, &OptimHyper::centered},
};

const Field* find_field(const std::string& key) {
  for (const Field& f : kFields)
    if (key == f.name) return &f;
  return nullptr;
}

double get(const OptimHyper& hp, const Field& f) { return f.num ? hp.*f.num : double(hp.*f.flag); }
void put(OptimHyper& hp, const Field& f, double v) {
  if (f.num) hp.*f.num = v;
  else hp.*f.flag = v != 0;
}

bool is_16bit(DType d) { return d == DType::Float16 || d == DType::BFloat16; }
DType compute_dtype(DType d) { return is_16bit(d) ? DType::Float32 : d; }

}  // namespace

OptimHyper make_hyper(const std::map<std::string, double>& options) {
  OptimHyper hp;
  for (const auto& [key, value] : options) {
    const Field* f = find_field(key);
    AM_CHECK(f, ValueError, "optimizer: unknown option '", key, "'");
    put(hp, *f, value);
  }
  return hp;
}

Optimizer::Optimizer(std::string name, OptimAlgo algo, const OptimHyper& defaults,
                     std::vector<std::string> option_names, std::vector<std::string> state_names)
    : name_(std::move(name)), algo_(algo), defaults_(defaults), option_names_(std::move(option_names)),
      state_names_(std::move(state_names)) {
  check_options(defaults_);
}

void Optimizer::check_options(const OptimHyper& hp) const {
  auto has = [&](const char* key) { return std::find(option_names_.begin(), option_names_.end(), key) != option_names_.end(); };
  auto need = [&](const char* key, double v, bool ok, const char* expected) {
    AM_CHECK(!has(key) || ok, ValueError, name_, ": invalid ", key, " ", v, " (expected ", expected, ")");
  };
  need("lr", hp.lr, hp.lr >= 0, "lr >= 0");
  need("eps", hp.eps, hp.eps >= 0, "eps >= 0");
  need("weight_decay", hp.weight_decay, hp.weight_decay >= 0, "weight_decay >= 0");
  need("momentum", hp.momentum, hp.momentum >= 0, "momentum >= 0");
  need("beta1", hp.beta1, hp.beta1 >= 0 && hp.beta1 < 1, "0 <= beta1 < 1");
  need("beta2", hp.beta2, hp.beta2 >= 0 && hp.beta2 < 1, "0 <= beta2 < 1");
  need("alpha", hp.alpha, hp.alpha >= 0, "alpha >= 0");
  need("lr_decay", hp.lr_decay, hp.lr_decay >= 0, "lr_decay >= 0");
  need("initial_accumulator_value", hp.initial_accumulator_value, hp.initial_accumulator_value >= 0,
       "initial_accumulator_value >= 0");
  AM_CHECK(!hp.nesterov || (hp.momentum > 0 && hp.dampening == 0), ValueError, name_,
           ": nesterov momentum needs momentum > 0 and dampening == 0 (got momentum ", hp.momentum, ", dampening ",
           hp.dampening, ")");
}

bool Optimizer::needs_buffer(const OptimHyper& hp, int k) const {
  switch (algo_) {
    case OptimAlgo::SGD: return k == 0 && hp.momentum != 0;
    case OptimAlgo::Adam: return k < 2 || (k == 2 && hp.amsgrad);
    case OptimAlgo::RMSprop: return k == 0 || (k == 1 && hp.momentum > 0) || (k == 2 && hp.centered);
    case OptimAlgo::Adagrad:
    case OptimAlgo::Lion: return k == 0;
  }
  return false;
}

const Optimizer::Group& Optimizer::group(size_t g, const char* what) const {
  AM_CHECK(g < groups_.size(), IndexError, name_, ".", what, ": group ", g, " out of range (", groups_.size(),
           " groups)");
  return groups_[g];
}

void Optimizer::add_param_group(const std::vector<Tensor>& params, const std::map<std::string, double>& options) {
  AM_CHECK(!params.empty(), ValueError, name_, ": got an empty parameter list");
  Group g;
  g.hp = defaults_;
  for (const auto& [key, value] : options) {
    const Field* f = find_field(key);
    AM_CHECK(f && std::find(option_names_.begin(), option_names_.end(), key) != option_names_.end(), ValueError,
             name_, ": unknown option '", key, "' in a parameter group");
    put(g.hp, *f, value);
  }
  check_options(g.hp);
  std::set<const TensorImpl*> seen;
  for (const Group& other : groups_)
    for (const Tensor& p : other.params) seen.insert(p.impl());
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    AM_CHECK(p.defined(), TypeError, name_, ": parameter ", i, " is not a tensor");
    AM_CHECK(is_floating(p.dtype()), TypeError, name_, ": parameter ", i, " is ", p.describe(),
             "; only floating tensors can be optimized");
    AM_CHECK(!p.impl()->autograd || !p.impl()->autograd->grad_fn, ValueError, name_, ": parameter ", i, " (",
             p.describe(), ") is not a leaf tensor (it was computed by ", p.impl()->autograd->grad_fn->name(),
             "); optimize the leaves, or detach() it");
    AM_CHECK(seen.insert(p.impl()).second, ValueError, name_,
             ": some parameters appear more than once (in this group or in another)");
  }
  g.params = params;
  g.state.resize(params.size());
  groups_.push_back(std::move(g));
}

void Optimizer::zero_grad() {
  for (const Group& g : groups_)
    for (const Tensor& p : g.params)
      if (p.impl()->autograd) p.impl()->autograd->grad = Tensor();
}

double Optimizer::lr(size_t g) const { return group(g, "lr").hp.lr; }

void Optimizer::set_lr(double lr, int64_t g) {
  AM_CHECK(lr >= 0, ValueError, name_, ": invalid lr ", lr, " (expected lr >= 0)");
  if (g < 0) {
    for (Group& each : groups_) each.hp.lr = lr;
  } else {
    group(size_t(g), "set_lr");
    groups_[size_t(g)].hp.lr = lr;
  }
}

size_t Optimizer::num_groups() const { return groups_.size(); }

const std::vector<Tensor>& Optimizer::params(size_t g) const { return group(g, "params").params; }

bool Optimizer::is_flag(const std::string& key) const {
  const Field* f = find_field(key);
  return f && f->flag;
}

double Optimizer::option(size_t g, const std::string& key) const {
  const Field* f = find_field(key);
  AM_CHECK(f && std::find(option_names_.begin(), option_names_.end(), key) != option_names_.end(), ValueError,
           name_, ": no option '", key, "'");
  return get(group(g, "option").hp, *f);
}

void Optimizer::set_option(size_t g, const std::string& key, double value) {
  const Field* f = find_field(key);
  AM_CHECK(f && std::find(option_names_.begin(), option_names_.end(), key) != option_names_.end(), ValueError,
           name_, ": no option '", key, "'");
  group(g, "set_option");
  OptimHyper hp = groups_[g].hp;
  put(hp, *f, value);
  check_options(hp);
  groups_[g].hp = hp;
}

double Optimizer::default_option(const std::string& key) const {
  const Field* f = find_field(key);
  AM_CHECK(f, ValueError, name_, ": no option '", key, "'");
  return get(defaults_, *f);
}

const ParamState& Optimizer::state(size_t g, size_t index) const {
  const Group& gr = group(g, "state");
  AM_CHECK(index < gr.params.size(), IndexError, name_, ".state: parameter ", index, " out of range (",
           gr.params.size(), " in group ", g, ")");
  return gr.state[index];
}

void Optimizer::set_state(size_t g, size_t index, const ParamState& s) {
  state(g, index);  // range checks
  const Tensor& p = groups_[g].params[index];
  const DType cd = compute_dtype(p.dtype());
  AM_CHECK(s.step >= 0, ValueError, name_, ".load_state_dict: negative step ", s.step);
  ParamState out;
  out.step = s.step;
  auto bring = [&](const Tensor& t, const std::string& what) {
    if (!t.defined()) return Tensor();
    AM_CHECK(t.shape() == p.shape(), ValueError, name_, ".load_state_dict: ", what, " of parameter ", index,
             " in group ", g, " is ", t.describe(), ", but the parameter is ", p.describe());
    return clone(to_device(to_dtype(t, cd), p.device()));
  };
  if (is_16bit(p.dtype())) out.master = bring(s.master, "master");
  for (int k = 0; k < 3; ++k) out.buffers[k] = bring(s.buffers[k], k < int(state_names_.size()) ? state_names_[k] : "buffer");
  groups_[g].state[index] = std::move(out);
}

void Optimizer::fused_step() {
  for (Group& gr : groups_) {
    // One list per device, and the 16-bit / strided parameters whose result must be copied back.
    std::vector<std::pair<Device, std::vector<OptimParam>>> lists;
    std::vector<std::pair<Tensor, Tensor>> write_back;  // (parameter, the tensor updated for it)
    for (size_t i = 0; i < gr.params.size(); ++i) {
      const Tensor& p = gr.params[i];
      if (!p.impl()->autograd || !p.impl()->autograd->grad.defined()) continue;
      const Tensor& grad = p.impl()->autograd->grad;
      AM_CHECK(grad.shape() == p.shape() && grad.device() == p.device(), ValueError, name_, ".step: the grad of ",
               p.describe(), " is ", grad.describe());
      ParamState& st = gr.state[i];
      const DType cd = compute_dtype(p.dtype());
      OptimParam op;
      if (is_16bit(p.dtype())) {
        if (!st.master.defined()) st.master = to_dtype(p, DType::Float32, /*copy=*/true);
        op.param = st.master;
        write_back.emplace_back(p, st.master);
      } else if (!p.is_contiguous()) {
        op.param = contiguous(p);
        write_back.emplace_back(p, op.param);
      } else {
        op.param = p;
      }
      op.grad = contiguous(to_dtype(grad, cd));
      for (int k = 0; k < 3; ++k) {
        if (!needs_buffer(gr.hp, k)) continue;
        if (!st.buffers[k].defined()) {
          const double init = algo_ == OptimAlgo::Adagrad ? gr.hp.initial_accumulator_value : 0.0;
          st.buffers[k] = full(p.shape(), Scalar::from_float(init), cd, p.device());
          op.fresh = op.fresh || (algo_ == OptimAlgo::SGD);
        }
        op.state[k] = st.buffers[k];
      }
      op.step = ++st.step;
      auto it = std::find_if(lists.begin(), lists.end(), [&](const auto& l) { return l.first == p.device(); });
      if (it == lists.end()) {
        lists.emplace_back(p.device(), std::vector<OptimParam>{});
        it = lists.end() - 1;
      }
      it->second.push_back(std::move(op));
    }
    for (const auto& [device, list] : lists) {
      optim_step_kernel.on(device)(algo_, gr.hp, list);
      for (const OptimParam& op : list) op.param.storage()->version++;
    }
    for (const auto& [param, updated] : write_back) copy_into(param, updated, "optimizer step");
  }
}

}  // namespace aimass::optim
