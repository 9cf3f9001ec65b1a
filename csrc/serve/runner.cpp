#include "serve/runner.h"

#include <cstdlib>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "nn/graph.h"
#include "ops/convert.h"

namespace aimass::serve {

namespace {

// The device of the model's first parameter (the CPU for a model without any).
Device model_device(const nn::Module& model) {
  nn::NamedTensors params = model.named_parameters();
  return params.empty() ? Device() : params.front().second.device();
}

std::vector<Tensor> run_module(nn::Module& model, const std::vector<Tensor>& inputs) {
  nn::Module::InUse use(model);
  nn::ModeScope eval(false);
  autograd::GradModeGuard no_grad(false);
  Device device = model_device(model);
  std::vector<Tensor> xs;
  xs.reserve(inputs.size());
  for (const Tensor& x : inputs) xs.push_back(to_device(x, device));
  std::vector<Tensor> ys;
  if (auto* graph = dynamic_cast<nn::Graph*>(&model)) {
    ys = graph->run(xs);
  } else {
    AM_CHECK(xs.size() == 1, ValueError, "the model takes 1 input, the request has ", xs.size());
    ys.push_back(model.call(xs[0]));
  }
  for (Tensor& y : ys) y = contiguous(to_device(y, Device()));
  return ys;
}

struct KnnRequest {
  int64_t k = 0;
  Tensor allowed_ids;  // undefined: no filter
};

KnnRequest parse_knn_key(const std::string& key) {
  KnnRequest r;
  AM_CHECK(key.rfind("k=", 0) == 0, ValueError, "k-NN request key '", key, "' does not start with k=");
  char* end = nullptr;
  r.k = std::strtoll(key.c_str() + 2, &end, 10);
  std::string rest(end);
  if (rest.rfind(";allow=", 0) == 0) {
    std::vector<int64_t> ids;
    const char* p = rest.c_str() + 7;
    while (*p) {
      ids.push_back(std::strtoll(p, &end, 10));
      AM_CHECK(end != p, ValueError, "k-NN request key: bad id list in '", key, "'");
      p = *end == ',' ? end + 1 : end;
    }
    r.allowed_ids = Tensor::empty({int64_t(ids.size())}, DType::Int64);
    std::copy(ids.begin(), ids.end(), r.allowed_ids.data<int64_t>());
  } else {
    AM_CHECK(rest.empty(), ValueError, "k-NN request key: unexpected '", rest, "' in '", key, "'");
  }
  return r;
}

}  // namespace

Runner module_runner(std::shared_ptr<nn::Module> model) {
  AM_CHECK(model, ValueError, "module_runner: no model");
  return [model](const std::vector<Tensor>& inputs, const std::string&) { return run_module(*model, inputs); };
}

std::string knn_key(int64_t k, const std::vector<int64_t>& allowed_ids, bool filtered) {
  AM_CHECK(k >= 1, ValueError, "k must be >= 1, got ", k);
  std::string key = "k=" + std::to_string(k);
  if (filtered) {
    key += ";allow=";
    for (size_t i = 0; i < allowed_ids.size(); ++i) {
      if (i) key += ',';
      key += std::to_string(allowed_ids[i]);
    }
  }
  return key;
}

Runner knn_runner(std::shared_ptr<knn::Index> index, std::shared_ptr<nn::Module> embedder) {
  AM_CHECK(index, ValueError, "knn_runner: no index");
  return [index, embedder](const std::vector<Tensor>& inputs, const std::string& key) {
    AM_CHECK(inputs.size() == 1, ValueError, "a k-NN service takes 1 input (the queries), the request has ",
             inputs.size());
    KnnRequest r = parse_knn_key(key);
    Tensor queries = embedder ? run_module(*embedder, inputs)[0] : inputs[0];
    knn::Filter filter;
    if (r.allowed_ids.defined()) filter.allowed_ids = r.allowed_ids;
    KnnResult result = index->search(queries, r.k, filter);
    return std::vector<Tensor>{contiguous(to_device(result.distances, Device())),
                               contiguous(to_device(result.ids, Device()))};
  };
}

}  // namespace aimass::serve
