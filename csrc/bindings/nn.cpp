// aimass._core.nn: Module and the native layers. The Python package (aimass.nn) re-exports
// these classes and adds the Python-side conveniences (attribute registration, __call__, repr).
#include <pybind11/trampoline_self_life_support.h>

#include "bindings/bindings.h"
#include "core/error.h"
#include "nn/activation.h"
#include "nn/attention.h"
#include "nn/autocast.h"
#include "nn/conv.h"
#include "nn/dense.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/init.h"
#include "nn/graph.h"
#include "nn/logits.h"
#include "nn/loss.h"
#include "nn/merge.h"
#include "nn/module.h"
#include "nn/normalization.h"
#include "nn/pool.h"
#include "nn/reshape.h"
#include "nn/sequential.h"

namespace aimass::bindings {

using namespace aimass::nn;

namespace {

// A Module subclassed in Python: C++ callers (Sequential, the training loop) reach its forward.
struct PyModule : Module, py::trampoline_self_life_support {
  using Module::Module;
  Tensor forward(const Tensor& x) override { PYBIND11_OVERRIDE_NAME(Tensor, Module, "forward", forward, x); }
};

// The activation layers are Python subclasses of ActivationLayer (ReLU, GELU, ...): the trampoline
// keeps their Python object alive while only native code (a Sequential) holds them.
struct PyActivationLayer : ActivationLayer, py::trampoline_self_life_support {
  using ActivationLayer::ActivationLayer;
};

// An int or a pair of ints: kernel_size=3 or kernel_size=(3, 5).
std::array<int64_t, 2> pair_arg(const py::object& v, const char* what) {
  if (py::isinstance<py::int_>(v)) return {v.cast<int64_t>(), v.cast<int64_t>()};
  auto seq = v.cast<std::vector<int64_t>>();
  if (seq.size() != 2) throw ValueError(str_cat(what, " must be an int or a pair of ints, got ", seq.size(), " values"));
  return {seq[0], seq[1]};
}

Activation activation_arg(const py::object& v, const char* layer) {
  if (v.is_none()) return Activation::None;
  if (!py::isinstance<py::str>(v)) throw TypeError(str_cat(layer, ": activation must be a name such as 'relu' or None"));
  return parse_activation(v.cast<std::string>(), layer);
}

// Add(), Multiply(), ... are Python subclasses of ElementwiseMerge; the functional Model is a
// Python subclass of Graph. The trampolines keep their Python objects alive while only native
// code (a Graph) holds them.
struct PyElementwiseMerge : ElementwiseMerge, py::trampoline_self_life_support {
  using ElementwiseMerge::ElementwiseMerge;
};
struct PyGraph : Graph, py::trampoline_self_life_support {
  using Graph::Graph;
};

MergeOp merge_op_arg(const std::string& name) {
  if (name == "add") return MergeOp::Add;
  if (name == "subtract") return MergeOp::Subtract;
  if (name == "multiply") return MergeOp::Multiply;
  if (name == "average") return MergeOp::Average;
  if (name == "maximum") return MergeOp::Maximum;
  if (name == "minimum") return MergeOp::Minimum;
  throw ValueError(str_cat("unknown merge '", name, "' (expected add, subtract, multiply, average, maximum or minimum)"));
}

std::vector<Tensor> tensor_list(const py::handle& xs) {
  std::vector<Tensor> out;
  for (py::handle x : xs) out.push_back(to_tensor(py::reinterpret_borrow<py::object>(x), nullptr));
  return out;
}

int64_t optional_size(const py::object& v) { return v.is_none() ? 0 : v.cast<int64_t>(); }

py::list named_list(const NamedTensors& entries) {
  py::list out;
  for (const auto& [name, t] : entries) out.append(py::make_tuple(name, t));
  return out;
}

template <typename T>
using Class = py::class_<T, Module, py::smart_holder>;

void bind_module(py::module_& m) {
  py::class_<Module, PyModule, py::smart_holder>(m, "Module", py::dynamic_attr())
      .def(py::init<>())
      .def("forward", &Module::forward, py::arg("x"))
      .def("_call", [](Module& self, const py::object& x) {
        Tensor t = to_tensor(x, nullptr);
        return without_gil([&] { return self.call(t); });
      }, py::arg("x"))
      .def("_describe", &Module::describe)
      .def("_register_parameter", &Module::register_parameter)
      .def("_register_buffer", &Module::register_buffer)
      .def("_register_module", &Module::register_module)
      .def("_parameter", [](const Module& self, const std::string& n) -> py::object {
        Tensor t = self.parameter(n);
        return t.defined() ? py::cast(t) : py::none();
      })
      .def("_buffer", [](const Module& self, const std::string& n) -> py::object {
        Tensor t = self.buffer(n);
        return t.defined() ? py::cast(t) : py::none();
      })
      .def("_child", &Module::child)
      .def("_own_parameters", [](const Module& self) { return named_list(self.own_parameters()); })
      .def("_own_buffers", [](const Module& self) { return named_list(self.own_buffers()); })
      .def("_children", [](const Module& self) { return self.children(); })
      .def("_named_parameters", [](const Module& self) { return named_list(self.named_parameters()); })
      .def("_named_buffers", [](const Module& self) { return named_list(self.named_buffers()); })
      .def("_named_modules", &Module::named_modules, py::return_value_policy::reference_internal)
      .def("_state_dict", [](const Module& self) { return named_list(self.state_dict()); })
      .def("_load_state_dict", [](Module& self, const py::dict& state, bool strict) {
        std::map<std::string, Tensor> values;
        for (auto [k, v] : state) values[k.cast<std::string>()] = to_tensor(v, nullptr);
        self.load_state_dict(values, strict);
      }, py::arg("state_dict"), py::arg("strict") = true)
      .def("train", [](Module& self, bool mode) { self.train(mode); return &self; }, py::arg("mode") = true)
      .def("eval", [](Module& self) { self.train(false); return &self; })
      .def_property_readonly("training", &Module::training)
      .def_property_readonly("built", &Module::built)
      .def_property_readonly("_build_input", [](const Module& self) -> py::object {
        if (!self.built_from_input()) return py::none();
        return py::make_tuple(py::tuple(py::cast(self.build_input_shape())), py::cast(self.build_input_dtype()));
      })
      .def("_to_device", [](Module& self, const py::object& d) { self.to(to_device_arg(d)); })
      .def("_to_dtype", [](Module& self, const py::object& d) { self.to(to_dtype_arg(d)); })
      .def("zero_grad", &Module::zero_grad);
}

py::object pair(const std::array<int64_t, 2>& v) { return py::make_tuple(v[0], v[1]); }
py::object initializer(Init i) { return py::str(init_name(i)); }
py::object activation_value(Activation a) { return a == Activation::None ? py::object(py::none()) : py::str(activation_name(a)); }
py::object size_or_none(int64_t v) { return v ? py::object(py::int_(v)) : py::object(py::none()); }

// get_config(): the keyword arguments that rebuild a layer, sizes included once it is built
// (so a saved model is rebuilt with its weights' shapes). Sequential's layers are saved by
// the Python side (aimass/nn/serialization.py).
template <typename T, typename F>
void config(py::module_& m, const char* name, F fn) {
  py::object cls = m.attr(name);
  cls.attr("get_config") = py::cpp_function([fn](const T& self) { return fn(self); }, py::is_method(cls), py::name("get_config"));
}

void bind_configs(py::module_& m) {
  using namespace pybind11::literals;
  config<Dense>(m, "Dense", [](const Dense& l) {
    const DenseOptions& o = l.options();
    return py::dict("units"_a = o.units, "activation"_a = activation_value(o.activation), "use_bias"_a = o.use_bias,
                    "kernel_initializer"_a = initializer(o.kernel_init), "bias_initializer"_a = initializer(o.bias_init),
                    "in_features"_a = size_or_none(o.in_features));
  });
  auto conv = [](const Conv2D& l, bool one_d) {
    const ConvOptions& o = l.options();
    py::object padding = o.padding_mode == PaddingMode::Same    ? py::object(py::str("same"))
                         : o.padding_mode == PaddingMode::Valid ? py::object(py::str("valid"))
                         : one_d                                ? py::object(py::int_(o.padding[1]))
                                                                : pair(o.padding);
    auto dims = [&](const std::array<int64_t, 2>& v) { return one_d ? py::object(py::int_(v[1])) : pair(v); };
    return py::dict("filters"_a = o.filters, "kernel_size"_a = dims(o.kernel), "strides"_a = dims(o.stride),
                    "padding"_a = padding, "dilation"_a = dims(o.dilation), "groups"_a = o.groups,
                    "activation"_a = activation_value(o.activation), "use_bias"_a = o.use_bias,
                    "kernel_initializer"_a = initializer(o.kernel_init), "bias_initializer"_a = initializer(o.bias_init),
                    "in_channels"_a = size_or_none(o.in_channels));
  };
  config<Conv2D>(m, "Conv2D", [conv](const Conv2D& l) { return conv(l, false); });
  config<Conv1D>(m, "Conv1D", [conv](const Conv1D& l) { return conv(l, true); });
  auto pool = [](const Pool2D& l) {
    const PoolOptions& o = l.options();
    py::dict d("pool_size"_a = pair(o.kernel), "strides"_a = pair(o.stride), "padding"_a = pair(o.padding),
               "ceil_mode"_a = o.ceil_mode);
    if (l.type_name() == "AvgPool2D") d["count_include_pad"] = o.count_include_pad;
    return d;
  };
  config<MaxPool2D>(m, "MaxPool2D", pool);
  config<AvgPool2D>(m, "AvgPool2D", pool);
  config<GlobalAveragePooling2D>(m, "GlobalAveragePooling2D",
                                 [](const GlobalAveragePooling2D& l) { return py::dict("keepdims"_a = l.keepdims()); });
  auto bn = [](const BatchNorm& l) {
    const BatchNormOptions& o = l.options();
    return py::dict("num_features"_a = size_or_none(o.num_features), "momentum"_a = o.momentum, "eps"_a = o.eps,
                    "affine"_a = o.affine, "track_running_stats"_a = o.track_running_stats);
  };
  config<BatchNorm1D>(m, "BatchNorm1D", bn);
  config<BatchNorm2D>(m, "BatchNorm2D", bn);
  config<LayerNorm>(m, "LayerNorm", [](const LayerNorm& l) {
    const LayerNormOptions& o = l.options();
    py::object shape = o.normalized_shape.empty() ? py::object(py::none()) : py::object(py::tuple(py::cast(o.normalized_shape)));
    return py::dict("normalized_shape"_a = shape, "eps"_a = o.eps, "elementwise_affine"_a = o.elementwise_affine);
  });
  config<Dropout>(m, "Dropout", [](const Dropout& l) { return py::dict("p"_a = l.p()); });
  config<Flatten>(m, "Flatten", [](const Flatten& l) { return py::dict("start_axis"_a = l.start_axis(), "end_axis"_a = l.end_axis()); });
  config<Reshape>(m, "Reshape", [](const Reshape& l) { return py::dict("target_shape"_a = py::tuple(py::cast(l.target_shape()))); });
  config<Embedding>(m, "Embedding", [](const Embedding& l) {
    return py::dict("num_embeddings"_a = l.num_embeddings(), "embedding_dim"_a = l.embedding_dim());
  });
  config<ActivationLayer>(m, "_Activation", [](const ActivationLayer& l) {
    return py::dict("activation"_a = activation_name(l.activation()), "negative_slope"_a = l.negative_slope(), "axis"_a = l.axis());
  });
  config<MultiHeadAttention>(m, "MultiHeadAttention", [](const MultiHeadAttention& l) {
    return py::dict("embed_dim"_a = l.embed_dim(), "num_heads"_a = l.num_heads(), "dropout"_a = l.dropout(), "bias"_a = l.bias(),
                    "kdim"_a = l.kdim(), "vdim"_a = l.vdim());
  });
  config<Loss>(m, "Loss", [](const Loss& l) {
    const LossOptions& o = l.options();
    auto values = [](const Tensor& t) { return t.defined() ? to_numpy(t).attr("tolist")() : py::object(py::none()); };
    return py::dict("kind"_a = loss_name(o.kind), "reduction"_a = o.reduction, "weight"_a = values(o.weight),
                    "pos_weight"_a = values(o.pos_weight), "ignore_index"_a = o.ignore_index,
                    "label_smoothing"_a = o.label_smoothing, "delta"_a = o.delta, "log_target"_a = o.log_target,
                    "temperature"_a = o.temperature);
  });
  config<TransformerBlock>(m, "TransformerBlock", [](const TransformerBlock& l) {
    const TransformerBlockOptions& o = l.options();
    return py::dict("embed_dim"_a = o.embed_dim, "num_heads"_a = o.num_heads, "mlp_dim"_a = o.mlp_dim, "dropout"_a = o.dropout,
                    "activation"_a = activation_value(o.activation), "causal"_a = o.causal, "eps"_a = o.eps);
  });
}

void bind_layers(py::module_& m) {
  Class<Dense>(m, "Dense")
      .def(py::init([](int64_t units, const py::object& activation, bool use_bias, const std::string& kernel_init,
                       const std::string& bias_init, const py::object& in_features) {
        DenseOptions o;
        o.units = units;
        o.activation = activation_arg(activation, "Dense");
        o.use_bias = use_bias;
        o.kernel_init = parse_init(kernel_init, "Dense");
        o.bias_init = parse_init(bias_init, "Dense");
        o.in_features = optional_size(in_features);
        return std::make_shared<Dense>(o);
      }), py::arg("units"), py::arg("activation") = py::none(), py::arg("use_bias") = true,
         py::arg("kernel_initializer") = "glorot_uniform", py::arg("bias_initializer") = "zeros",
         py::arg("in_features") = py::none());

  auto conv_options = [](int64_t filters, const py::object& kernel_size, const py::object& strides,
                         const py::object& padding, const py::object& dilation, int64_t groups,
                         const py::object& activation, bool use_bias, const std::string& kernel_init,
                         const std::string& bias_init, const py::object& in_channels, const char* layer) {
    ConvOptions o;
    o.filters = filters;
    o.kernel = pair_arg(kernel_size, "kernel_size");
    o.stride = pair_arg(strides, "strides");
    o.dilation = pair_arg(dilation, "dilation");
    if (py::isinstance<py::str>(padding)) {
      std::string p = padding.cast<std::string>();
      if (p != "same" && p != "valid") throw ValueError(str_cat(layer, ": padding must be 'same', 'valid' or ints, got '", p, "'"));
      o.padding_mode = p == "same" ? PaddingMode::Same : PaddingMode::Valid;
    } else {
      o.padding_mode = PaddingMode::Explicit;
      o.padding = pair_arg(padding, "padding");
    }
    o.groups = groups;
    o.activation = activation_arg(activation, layer);
    o.use_bias = use_bias;
    o.kernel_init = parse_init(kernel_init, layer);
    o.bias_init = parse_init(bias_init, layer);
    o.in_channels = optional_size(in_channels);
    return o;
  };
  Class<Conv2D>(m, "Conv2D")
      .def(py::init([conv_options](int64_t filters, const py::object& k, const py::object& s, const py::object& p,
                                   const py::object& d, int64_t g, const py::object& a, bool b, const std::string& ki,
                                   const std::string& bi, const py::object& c) {
        return std::make_shared<Conv2D>(conv_options(filters, k, s, p, d, g, a, b, ki, bi, c, "Conv2D"));
      }), py::arg("filters"), py::arg("kernel_size"), py::arg("strides") = 1, py::arg("padding") = "valid",
         py::arg("dilation") = 1, py::arg("groups") = 1, py::arg("activation") = py::none(), py::arg("use_bias") = true,
         py::arg("kernel_initializer") = "glorot_uniform", py::arg("bias_initializer") = "zeros",
         py::arg("in_channels") = py::none());
  py::class_<Conv1D, Conv2D, py::smart_holder>(m, "Conv1D")
      .def(py::init([conv_options](int64_t filters, int64_t k, int64_t s, const py::object& p, int64_t d, int64_t g,
                                   const py::object& a, bool b, const std::string& ki, const std::string& bi,
                                   const py::object& c) {
        py::object pad = py::isinstance<py::str>(p) ? p : py::object(py::make_tuple(0, p));
        return std::make_shared<Conv1D>(conv_options(filters, py::make_tuple(1, k), py::make_tuple(1, s), pad,
                                                     py::make_tuple(1, d), g, a, b, ki, bi, c, "Conv1D"));
      }), py::arg("filters"), py::arg("kernel_size"), py::arg("strides") = 1, py::arg("padding") = "valid",
         py::arg("dilation") = 1, py::arg("groups") = 1, py::arg("activation") = py::none(), py::arg("use_bias") = true,
         py::arg("kernel_initializer") = "glorot_uniform", py::arg("bias_initializer") = "zeros",
         py::arg("in_channels") = py::none());

  auto pool_options = [](const py::object& pool_size, const py::object& strides, const py::object& padding, bool ceil_mode) {
    PoolOptions o;
    o.kernel = pair_arg(pool_size, "pool_size");
    o.stride = strides.is_none() ? o.kernel : pair_arg(strides, "strides");
    o.padding = pair_arg(padding, "padding");
    o.ceil_mode = ceil_mode;
    return o;
  };
  py::class_<Pool2D, Module, py::smart_holder>(m, "_Pool2D");
  py::class_<MaxPool2D, Pool2D, py::smart_holder>(m, "MaxPool2D")
      .def(py::init([pool_options](const py::object& k, const py::object& s, const py::object& p, bool ceil) {
        return std::make_shared<MaxPool2D>(pool_options(k, s, p, ceil));
      }), py::arg("pool_size") = 2, py::arg("strides") = py::none(), py::arg("padding") = 0, py::arg("ceil_mode") = false);
  py::class_<AvgPool2D, Pool2D, py::smart_holder>(m, "AvgPool2D")
      .def(py::init([pool_options](const py::object& k, const py::object& s, const py::object& p, bool ceil, bool include) {
        PoolOptions o = pool_options(k, s, p, ceil);
        o.count_include_pad = include;
        return std::make_shared<AvgPool2D>(o);
      }), py::arg("pool_size") = 2, py::arg("strides") = py::none(), py::arg("padding") = 0, py::arg("ceil_mode") = false,
         py::arg("count_include_pad") = true);
  Class<GlobalAveragePooling2D>(m, "GlobalAveragePooling2D").def(py::init<bool>(), py::arg("keepdims") = false);

  auto bn_options = [](const py::object& n, double momentum, double eps, bool affine, bool track) {
    BatchNormOptions o;
    o.num_features = optional_size(n);
    o.momentum = momentum;
    o.eps = eps;
    o.affine = affine;
    o.track_running_stats = track;
    return o;
  };
  py::class_<BatchNorm, Module, py::smart_holder>(m, "_BatchNorm");
  py::class_<BatchNorm1D, BatchNorm, py::smart_holder>(m, "BatchNorm1D")
      .def(py::init([bn_options](const py::object& n, double mo, double eps, bool a, bool t) {
        return std::make_shared<BatchNorm1D>(bn_options(n, mo, eps, a, t));
      }), py::arg("num_features") = py::none(), py::arg("momentum") = 0.1, py::arg("eps") = 1e-5, py::arg("affine") = true,
         py::arg("track_running_stats") = true);
  py::class_<BatchNorm2D, BatchNorm, py::smart_holder>(m, "BatchNorm2D")
      .def(py::init([bn_options](const py::object& n, double mo, double eps, bool a, bool t) {
        return std::make_shared<BatchNorm2D>(bn_options(n, mo, eps, a, t));
      }), py::arg("num_features") = py::none(), py::arg("momentum") = 0.1, py::arg("eps") = 1e-5, py::arg("affine") = true,
         py::arg("track_running_stats") = true);
  Class<LayerNorm>(m, "LayerNorm")
      .def(py::init([](const py::object& shape, double eps, bool affine) {
        LayerNormOptions o;
        if (!shape.is_none()) o.normalized_shape = to_shape_arg(shape);
        o.eps = eps;
        o.elementwise_affine = affine;
        return std::make_shared<LayerNorm>(o);
      }), py::arg("normalized_shape") = py::none(), py::arg("eps") = 1e-5, py::arg("elementwise_affine") = true);

  Class<Dropout>(m, "Dropout").def(py::init<double>(), py::arg("p") = 0.5);
  Class<Flatten>(m, "Flatten").def(py::init<int64_t, int64_t>(), py::arg("start_axis") = 1, py::arg("end_axis") = -1);
  Class<Reshape>(m, "Reshape").def(py::init([](const py::object& s) { return std::make_shared<Reshape>(to_shape_arg(s)); }),
                                   py::arg("target_shape"));
  Class<Embedding>(m, "Embedding").def(py::init<int64_t, int64_t>(), py::arg("num_embeddings"), py::arg("embedding_dim"));

  // ReLU(), GELU(), ... are Python subclasses of this one class (aimass/nn/layers.py).
  py::class_<ActivationLayer, PyActivationLayer, Module, py::smart_holder>(m, "_Activation")
      .def(py::init([](const std::string& type_name, const std::string& act, double slope, int64_t axis) {
        return std::make_shared<PyActivationLayer>(type_name, parse_activation(act, type_name), slope, axis);
      }), py::arg("type_name"), py::arg("activation"), py::arg("negative_slope") = 0.01, py::arg("axis") = -1);

  Class<MultiHeadAttention>(m, "MultiHeadAttention")
      .def(py::init([](int64_t e, int64_t h, double drop, bool bias, const py::object& kdim, const py::object& vdim) {
        return std::make_shared<MultiHeadAttention>(e, h, drop, bias, optional_size(kdim), optional_size(vdim));
      }), py::arg("embed_dim"), py::arg("num_heads"), py::arg("dropout") = 0.0, py::arg("bias") = true,
         py::arg("kdim") = py::none(), py::arg("vdim") = py::none())
      .def("__call__", [](MultiHeadAttention& self, const py::object& q, const py::object& k, const py::object& v,
                          const py::object& mask, bool causal) {
        Tensor tq = to_tensor(q, nullptr);
        Tensor tk = k.is_none() ? tq : to_tensor(k, &tq);
        Tensor tv = v.is_none() ? tk : to_tensor(v, &tq);
        Tensor tm = mask.is_none() ? Tensor() : to_tensor(mask, nullptr);
        return without_gil([&] { return self.attend(tq, tk, tv, tm, causal); });
      }, py::arg("query"), py::arg("key") = py::none(), py::arg("value") = py::none(), py::arg("attn_mask") = py::none(),
         py::arg("causal") = false);
  Class<TransformerBlock>(m, "TransformerBlock")
      .def(py::init([](int64_t e, int64_t h, const py::object& mlp, double drop, const py::object& act, bool causal, double eps) {
        TransformerBlockOptions o;
        o.embed_dim = e;
        o.num_heads = h;
        o.mlp_dim = optional_size(mlp);
        o.dropout = drop;
        o.activation = activation_arg(act, "TransformerBlock");
        o.causal = causal;
        o.eps = eps;
        return std::make_shared<TransformerBlock>(o);
      }), py::arg("embed_dim"), py::arg("num_heads"), py::arg("mlp_dim") = py::none(), py::arg("dropout") = 0.0,
         py::arg("activation") = "gelu", py::arg("causal") = false, py::arg("eps") = 1e-5)
      .def("__call__", [](TransformerBlock& self, const py::object& x, const py::object& mask) {
        Tensor tx = to_tensor(x, nullptr);
        Tensor tm = mask.is_none() ? Tensor() : to_tensor(mask, nullptr);
        return without_gil([&] { return self.forward_masked(tx, tm); });
      }, py::arg("x"), py::arg("attn_mask") = py::none());

  Class<Sequential>(m, "Sequential")
      .def(py::init([](const py::object& layers) {
        std::vector<std::shared_ptr<Module>> list;
        if (!layers.is_none())
          for (py::handle l : layers) list.push_back(l.cast<std::shared_ptr<Module>>());
        return std::make_shared<Sequential>(list);
      }), py::arg("layers") = py::none())
      .def("add", &Sequential::add, py::arg("layer"))
      .def("__len__", &Sequential::size)
      .def("__getitem__", &Sequential::at, py::arg("index"));

  Class<Loss>(m, "Loss")
      .def(py::init([](const std::string& kind, const std::string& reduction, const py::object& weight,
                       const py::object& pos_weight, int64_t ignore_index, double label_smoothing, double delta,
                       bool log_target, double temperature) {
        LossOptions o;
        o.kind = parse_loss(kind);
        o.reduction = reduction;
        if (!weight.is_none()) o.weight = to_tensor(weight, nullptr);
        if (!pos_weight.is_none()) o.pos_weight = to_tensor(pos_weight, nullptr);
        o.ignore_index = ignore_index;
        o.label_smoothing = label_smoothing;
        o.delta = delta;
        o.log_target = log_target;
        o.temperature = temperature;
        return std::make_shared<Loss>(o);
      }), py::arg("kind"), py::arg("reduction") = "mean", py::arg("weight") = py::none(),
         py::arg("pos_weight") = py::none(), py::arg("ignore_index") = -100, py::arg("label_smoothing") = 0.0,
         py::arg("delta") = 1.0, py::arg("log_target") = false, py::arg("temperature") = 1.0)
      .def("__call__", [](const Loss& self, const py::object& input, const py::object& target) {
        Tensor x = to_tensor(input, nullptr);
        Tensor t = to_tensor(target, &x);
        return without_gil([&] { return self.compute(x, t); });
      }, py::arg("input"), py::arg("target"));

  // The functional API (aimass/nn/functional_api.py builds these from symbolic calls).
  py::class_<MergeLayer, Module, py::smart_holder>(m, "_Merge")
      .def("_merge", [](const MergeLayer& self, const py::object& xs) {
        std::vector<Tensor> ts = tensor_list(xs);
        return without_gil([&] { return self.merge(ts); });
      }, py::arg("inputs"));
  py::class_<ElementwiseMerge, PyElementwiseMerge, MergeLayer, py::smart_holder>(m, "_ElementwiseMerge")
      .def(py::init([](const std::string& op) { return std::make_shared<PyElementwiseMerge>(merge_op_arg(op)); }),
           py::arg("op"));
  py::class_<Concatenate, MergeLayer, py::smart_holder>(m, "Concatenate")
      .def(py::init<int64_t>(), py::arg("axis") = -1)
      .def("get_config", [](const Concatenate& l) { return py::dict(py::arg("axis") = l.axis()); });
  py::class_<Graph, PyGraph, Module, py::smart_holder>(m, "_Graph")
      .def(py::init([](const py::list& layers, const py::list& nodes, std::vector<int64_t> inputs,
                       std::vector<int64_t> outputs) {
        std::vector<std::pair<std::string, std::shared_ptr<Module>>> ls;
        for (py::handle l : layers) {
          auto pair = l.cast<py::tuple>();
          ls.emplace_back(pair[0].cast<std::string>(), pair[1].cast<std::shared_ptr<Module>>());
        }
        std::vector<GraphNode> ns;
        for (py::handle n : nodes) {
          auto pair = n.cast<py::tuple>();
          ns.push_back(GraphNode{pair[0].cast<int64_t>(), pair[1].cast<std::vector<int64_t>>()});
        }
        return std::make_shared<PyGraph>(ls, ns, inputs, outputs);
      }), py::arg("layers"), py::arg("nodes"), py::arg("inputs"), py::arg("outputs"))
      .def("_run", [](Graph& self, const py::object& xs) {
        std::vector<Tensor> ts = tensor_list(xs);
        return without_gil([&] { return self.run(ts); });
      }, py::arg("inputs"));
  m.def("_fuse_output_activation", [](const std::shared_ptr<Module>& model, const Loss& loss) -> py::object {
    LogitsFusion f = fuse_output_activation(model, loss);
    if (!f.logits_model) return py::none();
    return py::make_tuple(f.logits_model, f.logits_loss);
  }, py::arg("model"), py::arg("loss"));

  bind_configs(m);
  m.def("_set_autocast", [](bool enabled, const std::string& device_type, const py::object& dtype) {
    AutocastState s;
    s.enabled = enabled;
    s.device_type = to_device_arg(py::str(device_type)).type;
    s.dtype = to_dtype_arg(dtype);
    if (s.dtype != DType::Float16 && s.dtype != DType::BFloat16)
      throw ValueError(str_cat("autocast: dtype must be float16 or bfloat16, got ", dtype_name(s.dtype)));
    set_autocast_state(s);
  }, py::arg("enabled"), py::arg("device_type"), py::arg("dtype"));
  m.def("_get_autocast", [] {
    AutocastState s = autocast_state();
    return py::make_tuple(s.enabled, s.device_type == DeviceType::CPU ? "cpu" : "cuda", py::cast(s.dtype));
  });
  m.def("_initialize", [](const Tensor& t, const std::string& init) { initialize_(t, parse_init(init, "init")); },
        py::arg("tensor"), py::arg("initializer"));
}

}  // namespace

void bind_nn(py::module_& m) {
  py::module_ nn = m.def_submodule("nn", "modules and layers (use aimass.nn)");
  bind_module(nn);
  bind_layers(nn);
}

}  // namespace aimass::bindings
