#include "quant/distill.h"

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "core/error.h"
#include "ops/index.h"

namespace aimass::quant {

namespace ag = aimass::autograd;

DistillationPair::DistillationPair(std::shared_ptr<nn::Module> student, std::shared_ptr<nn::Module> teacher)
    : Module("DistillationPair") {
  AM_CHECK(student && teacher, ValueError, "distill: the student and the teacher must be modules");
  AM_CHECK(student != teacher, ValueError, "distill: the student and the teacher must be two models");
  register_module("student", std::move(student));
  register_module("teacher", std::move(teacher));
  set_built();
}

Tensor DistillationPair::forward(const Tensor& x) {
  Tensor s = child("student")->call(x);  // (N, C), with its graph
  Tensor t;
  {
    nn::ModeScope eval(false);  // frozen: running statistics, no dropout, for this thread only
    autograd::GradModeGuard no_grad(false);
    t = child("teacher")->call(x);  // (N, C)
  }
  AM_CHECK(s.dim() == 2 && s.shape() == t.shape(), ValueError,
           "distill: the student and the teacher must output logits of one shape (N, classes), got the student's ",
           s.describe(), " and the teacher's ", t.describe());
  return ag::concatenate({s, ag::to_dtype(t, s.dtype())}, 1);  // (N, 2C)
}

Tensor student_half(const Tensor& packed, const char* what) {
  AM_CHECK(packed.dim() == 2 && packed.size(1) % 2 == 0 && packed.size(1) > 0, ValueError, what,
           ": expected the packed [student | teacher] logits (N, 2C), got ", packed.describe());
  return ag::index(packed, {TensorIndex::slice(std::nullopt, std::nullopt, std::nullopt),
                            TensorIndex::slice(0, packed.size(1) / 2, 1)});
}

namespace {

nn::LossOptions distillation_options(double temperature) {
  nn::LossOptions o;
  o.kind = nn::LossKind::Distillation;
  o.reduction = "batchmean";
  o.temperature = temperature;
  return o;
}

}  // namespace

DistillationLoss::DistillationLoss(double temperature, double alpha)
    : Loss(distillation_options(temperature)), temperature_(temperature), alpha_(alpha) {
  AM_CHECK(alpha >= 0 && alpha <= 1, ValueError, "distill: alpha must be in [0, 1], got ", alpha);
}

Tensor DistillationLoss::compute(const Tensor& packed, const Tensor& labels) const {
  const char* op = "DistillationLoss";
  Tensor student = student_half(packed, op);  // (N, C)
  const int64_t C = student.size(1);
  Tensor teacher;  // (N, C), outside any graph
  {
    autograd::GradModeGuard no_grad(false);
    teacher = index(packed, {TensorIndex::slice(std::nullopt, std::nullopt, std::nullopt), TensorIndex::slice(C, 2 * C, 1)});
  }
  AM_CHECK(labels.dim() == 1 && labels.size(0) == packed.size(0), ValueError, op,
           ": labels must be class ids (N,) for N = ", packed.size(0), ", got ", labels.describe());
  Tensor soft = ag::distillation_loss(student, teacher, temperature_, Reduction::BatchMean);
  Tensor hard = ag::cross_entropy(student, labels, Tensor(), -100, Reduction::Mean, 0.0);
  return ag::binary(BinaryOp::Add, ag::binary(BinaryOp::Mul, soft, Scalar::from_float(alpha_)),
                    ag::binary(BinaryOp::Mul, hard, Scalar::from_float(1.0 - alpha_)));
}

std::string DistillationLoss::describe() const {
  return str_cat("DistillationLoss(temperature=", temperature_, ", alpha=", alpha_, ")");
}

nn::Config DistillationLoss::config() const { return {{"temperature", temperature_}, {"alpha", alpha_}}; }

StudentMetric::StudentMetric(const std::string& name) : inner_(metrics::make_streaming_metric(name)) {}

void StudentMetric::update(const Tensor& packed, const Tensor& y_true) {
  autograd::GradModeGuard no_grad(false);
  inner_->update(student_half(packed, inner_->name().c_str()), y_true);
}

}  // namespace aimass::quant
