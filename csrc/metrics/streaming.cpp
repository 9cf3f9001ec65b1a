#include "metrics/streaming.h"

#include <cmath>
#include <functional>
#include <vector>

#include "core/error.h"
#include "metrics/common.h"

namespace aimass::metrics {
namespace {

// total / count: every streaming metric here is a mean over samples (or elements).
class MeanMetric : public StreamingMetric {
 public:
  double result() const override { return count_ == 0 ? NAN : total_ / count_; }
  void reset() override { total_ = 0, count_ = 0; }

 protected:
  double total_ = 0, count_ = 0;
};

// Rows of a (N,), (N, 1) or (N, C) tensor: n rows of c values each.
struct Rows {
  int64_t n = 0, c = 1;
  std::vector<double> v;
};

Rows read_rows(const Tensor& x, const std::string& metric, const char* what) {
  AM_CHECK(x.dim() == 1 || x.dim() == 2, ValueError, "streaming metric '", metric, "': ", what,
           " must be (N,) or (N, C), got ", x.describe());
  return Rows{x.size(0), x.dim() == 2 ? x.size(1) : 1, to_doubles(x)};
}

int64_t argmax_row(const double* row, int64_t c) {
  int64_t best = 0;
  for (int64_t j = 1; j < c; ++j) if (row[j] > row[best]) best = j;
  return best;
}

// Class ids from y_true: (N,) ids, or the argmax of (N, C) one-hot / probability rows.
std::vector<int64_t> true_classes(const Rows& t, int64_t n_classes, const std::string& metric) {
  std::vector<int64_t> ids(size_t(t.n));
  for (int64_t i = 0; i < t.n; ++i) {
    if (t.c > 1) { ids[i] = argmax_row(t.v.data() + i * t.c, t.c); continue; }
    double y = t.v[i];
    AM_CHECK(y >= 0 && y < double(n_classes) && y == std::floor(y), ValueError, "streaming metric '", metric,
             "': y_true holds ", y, ", not a class index in [0, ", n_classes, ")");
    ids[i] = int64_t(y);
  }
  return ids;
}

void check_rows(const Rows& p, const Rows& t, const std::string& metric) {
  AM_CHECK(p.n == t.n, ValueError, "streaming metric '", metric, "': y_pred has ", p.n, " rows but y_true has ", t.n);
  AM_CHECK(t.c == 1 || t.c == p.c, ValueError, "streaming metric '", metric, "': y_true has ", t.c,
           " columns but y_pred has ", p.c);
}

class Accuracy : public MeanMetric {
 public:
  std::string name() const override { return "accuracy"; }
  void update(const Tensor& y_pred, const Tensor& y_true) override {
    Rows p = read_rows(y_pred, name(), "y_pred"), t = read_rows(y_true, name(), "y_true");
    check_rows(p, t, name());
    if (p.c == 1) {  // binary logits: class 1 iff > 0; y_true a 0/1 id or a probability
      for (int64_t i = 0; i < p.n; ++i) total_ += (p.v[i] > 0) == (t.v[i] > 0.5);
    } else {
      std::vector<int64_t> ids = true_classes(t, p.c, name());
      for (int64_t i = 0; i < p.n; ++i) total_ += argmax_row(p.v.data() + i * p.c, p.c) == ids[i];
    }
    count_ += double(p.n);
  }
};

class BinaryAccuracy : public MeanMetric {
 public:
  std::string name() const override { return "binary_accuracy"; }
  void update(const Tensor& y_pred, const Tensor& y_true) override {
    std::vector<double> p = to_doubles(y_pred), t = to_doubles(y_true);
    AM_CHECK(p.size() == t.size(), ValueError, "streaming metric 'binary_accuracy': y_pred ", y_pred.describe(),
             " and y_true ", y_true.describe(), " differ in element count");
    for (size_t i = 0; i < p.size(); ++i) total_ += (p[i] > 0) == (t[i] > 0.5);
    count_ += double(p.size());
  }
};

class TopKAccuracy : public MeanMetric {
 public:
  explicit TopKAccuracy(int64_t k) : k_(k) {}
  std::string name() const override { return str_cat("top_", k_, "_accuracy"); }
  void update(const Tensor& y_pred, const Tensor& y_true) override {
    Rows p = read_rows(y_pred, name(), "y_pred"), t = read_rows(y_true, name(), "y_true");
    check_rows(p, t, name());
    AM_CHECK(p.c > 1, ValueError, "streaming metric '", name(), "': y_pred must be (N, C) scores, got ",
             y_pred.describe());
    std::vector<int64_t> ids = true_classes(t, p.c, name());
    for (int64_t i = 0; i < p.n; ++i) {
      // Ties go to the higher class index, as in top_k_accuracy_score.
      const double* row = p.v.data() + i * p.c;
      double st = row[ids[i]];
      int64_t ahead = 0;
      for (int64_t j = 0; j < p.c; ++j) ahead += row[j] > st || (row[j] == st && j > ids[i]);
      total_ += ahead < k_;
    }
    count_ += double(p.n);
  }

 private:
  int64_t k_;
};

// Mean over every element of f(y_true, y_pred); y_true needs y_pred's element count.
class ElementMean : public MeanMetric {
 public:
  ElementMean(std::string name, std::function<double(double, double)> f) : name_(std::move(name)), f_(std::move(f)) {}
  std::string name() const override { return name_; }
  void update(const Tensor& y_pred, const Tensor& y_true) override {
    std::vector<double> p = to_doubles(y_pred), t = to_doubles(y_true);
    AM_CHECK(p.size() == t.size(), ValueError, "streaming metric '", name_, "': y_pred ", y_pred.describe(),
             " and y_true ", y_true.describe(), " differ in element count");
    for (size_t i = 0; i < p.size(); ++i) total_ += f_(t[i], p[i]);
    count_ += double(p.size());
  }

 private:
  std::string name_;
  std::function<double(double, double)> f_;
};

// "top_<k>_accuracy" -> k, or 0 when name is not of that form.
int64_t parse_top_k(const std::string& name) {
  const std::string head = "top_", tail = "_accuracy";
  if (name.size() <= head.size() + tail.size() || name.compare(0, head.size(), head) != 0 ||
      name.compare(name.size() - tail.size(), tail.size(), tail) != 0)
    return 0;
  std::string digits = name.substr(head.size(), name.size() - head.size() - tail.size());
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::stoll(digits);
}

}  // namespace

std::unique_ptr<StreamingMetric> make_streaming_metric(const std::string& name) {
  if (name == "accuracy" || name == "acc") return std::make_unique<Accuracy>();
  if (name == "binary_accuracy") return std::make_unique<BinaryAccuracy>();
  if (name == "top_k_accuracy") return std::make_unique<TopKAccuracy>(5);
  if (int64_t k = parse_top_k(name); k > 0) return std::make_unique<TopKAccuracy>(k);
  if (name == "mse" || name == "mean_squared_error")
    return std::make_unique<ElementMean>("mse", [](double y, double p) { return (y - p) * (y - p); });
  if (name == "mae" || name == "mean_absolute_error")
    return std::make_unique<ElementMean>("mae", [](double y, double p) { return std::fabs(y - p); });
  throw ValueError(str_cat("make_streaming_metric: unknown metric '", name,
                           "'; expected one of 'accuracy', 'binary_accuracy', 'top_k_accuracy', 'top_<k>_accuracy', "
                           "'mse', 'mae'"));
}

}  // namespace aimass::metrics
