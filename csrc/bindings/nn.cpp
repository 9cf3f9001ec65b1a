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
#include "nn/layer_args.h"
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

// activation=: None or a name (parsed by nn/activation.h).
std::optional<std::string> activation_arg(const py::object& v, const char* layer) {
  if (v.is_none()) return std::nullopt;
  if (!py::isinstance<py::str>(v)) throw TypeError(str_cat(layer, ": activation must be a name such as 'relu' or None"));
  return v.cast<std::string>();
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

std::vector<Tensor> tensor_list(const py::handle& xs) {
  std::vector<Tensor> out;
  for (py::handle x : xs) out.push_back(to_tensor(py::reinterpret_borrow<py::object>(x), nullptr));
  return out;
}

int64_t optional_size(const py::object& v) { return v.is_none() ? 0 : v.cast<int64_t>(); }

// A layer's config (nn/config.h) as Python values: None, bool, int, float, str, tuple, list.
py::object config_value(const ConfigValue& v) {
  using K = ConfigValue::Kind;
  switch (v.kind) {
    case K::None: return py::none();
    case K::Bool: return py::bool_(v.b);
    case K::Int: return py::int_(v.i);
    case K::Float: return py::float_(v.f);
    case K::String: return py::str(v.s);
    case K::Tuple:
    case K::List: {
      py::list items;
      for (const ConfigValue& item : v.items) items.append(config_value(item));
      return v.kind == K::Tuple ? py::object(py::tuple(items)) : py::object(items);
    }
  }
  return py::none();
}

py::dict config_dict(const Config& config) {
  py::dict out;
  for (const auto& [key, value] : config) out[py::str(key)] = config_value(value);
  return out;
}

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
      .def("get_config", [](const Module& self) { return config_dict(self.config()); },
           "The keyword arguments that rebuild this layer (its sizes included once built), as a model "
           "file records them; {} for a layer without arguments.")
      .def("_register_parameter", &Module::register_parameter)
      .def("_register_buffer", &Module::register_buffer)
      .def("_remove_buffer", &Module::remove_buffer)
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
      .def("zero_grad", &Module::zero_grad)
      // False for an instance whose __init__ never ran or failed (repr of one must not crash).
      .def_static("_is_constructed", [](const py::handle& obj) {
        if (!py::isinstance<Module>(obj)) return false;
        auto* inst = reinterpret_cast<py::detail::instance*>(obj.ptr());
        return inst->get_value_and_holder().holder_constructed();
      });
}

void bind_layers(py::module_& m) {
  Class<Dense>(m, "Dense")
      .def(py::init([](int64_t units, const py::object& activation, bool use_bias, const std::string& kernel_init,
                       const std::string& bias_init, const py::object& in_features) {
        DenseOptions o;
        o.units = units;
        o.activation = parse_activation(activation_arg(activation, "Dense"), "Dense");
        o.use_bias = use_bias;
        o.kernel_init = parse_init(kernel_init, "Dense");
        o.bias_init = parse_init(bias_init, "Dense");
        o.in_features = optional_size(in_features);
        return std::make_shared<Dense>(o);
      }), py::arg("units"), py::arg("activation") = py::none(), py::arg("use_bias") = true,
         py::arg("kernel_initializer") = "glorot_uniform", py::arg("bias_initializer") = "zeros",
         py::arg("in_features") = py::none());

  Class<Conv2D>(m, "Conv2D")
      .def(py::init([](int64_t filters, const IntOrPair& kernel_size, const IntOrPair& strides, const PaddingArg& padding,
                       const IntOrPair& dilation, int64_t groups, const py::object& activation, bool use_bias,
                       const std::string& kernel_init, const std::string& bias_init, const py::object& in_channels) {
        ConvOptions o;
        o.filters = filters;
        o.kernel = int_pair(kernel_size, "kernel_size");
        o.stride = int_pair(strides, "strides");
        o.dilation = int_pair(dilation, "dilation");
        o.set_padding(parse_padding(padding, "Conv2D"));
        o.groups = groups;
        o.activation = parse_activation(activation_arg(activation, "Conv2D"), "Conv2D");
        o.use_bias = use_bias;
        o.kernel_init = parse_init(kernel_init, "Conv2D");
        o.bias_init = parse_init(bias_init, "Conv2D");
        o.in_channels = optional_size(in_channels);
        return std::make_shared<Conv2D>(o);
      }), py::arg("filters"), py::arg("kernel_size"), py::arg("strides") = 1, py::arg("padding") = "valid",
         py::arg("dilation") = 1, py::arg("groups") = 1, py::arg("activation") = py::none(), py::arg("use_bias") = true,
         py::arg("kernel_initializer") = "glorot_uniform", py::arg("bias_initializer") = "zeros",
         py::arg("in_channels") = py::none());
  py::class_<Conv1D, Conv2D, py::smart_holder>(m, "Conv1D")
      .def(py::init([](int64_t filters, int64_t kernel_size, int64_t strides, const std::variant<std::string, int64_t>& padding,
                       int64_t dilation, int64_t groups, const py::object& activation, bool use_bias,
                       const std::string& kernel_init, const std::string& bias_init, const py::object& in_channels) {
        Conv1DOptions o;
        o.filters = filters;
        o.kernel = kernel_size;
        o.stride = strides;
        o.dilation = dilation;
        o.set_padding(parse_padding(std::visit([](const auto& p) { return PaddingArg(p); }, padding), "Conv1D"));
        o.groups = groups;
        o.activation = parse_activation(activation_arg(activation, "Conv1D"), "Conv1D");
        o.use_bias = use_bias;
        o.kernel_init = parse_init(kernel_init, "Conv1D");
        o.bias_init = parse_init(bias_init, "Conv1D");
        o.in_channels = optional_size(in_channels);
        return std::make_shared<Conv1D>(o);
      }), py::arg("filters"), py::arg("kernel_size"), py::arg("strides") = 1, py::arg("padding") = "valid",
         py::arg("dilation") = 1, py::arg("groups") = 1, py::arg("activation") = py::none(), py::arg("use_bias") = true,
         py::arg("kernel_initializer") = "glorot_uniform", py::arg("bias_initializer") = "zeros",
         py::arg("in_channels") = py::none());

  // strides=None leaves PoolOptions' default: the pool size.
  auto pool_options = [](const IntOrPair& pool_size, const std::optional<IntOrPair>& strides, const IntOrPair& padding,
                         bool ceil_mode) {
    PoolOptions o;
    o.kernel = int_pair(pool_size, "pool_size");
    if (strides) o.stride = int_pair(*strides, "strides");
    o.padding = int_pair(padding, "padding");
    o.ceil_mode = ceil_mode;
    return o;
  };
  py::class_<Pool2D, Module, py::smart_holder>(m, "_Pool2D");
  py::class_<MaxPool2D, Pool2D, py::smart_holder>(m, "MaxPool2D")
      .def(py::init([pool_options](const IntOrPair& k, const std::optional<IntOrPair>& s, const IntOrPair& p, bool ceil) {
        return std::make_shared<MaxPool2D>(pool_options(k, s, p, ceil));
      }), py::arg("pool_size") = 2, py::arg("strides") = py::none(), py::arg("padding") = 0, py::arg("ceil_mode") = false);
  py::class_<AvgPool2D, Pool2D, py::smart_holder>(m, "AvgPool2D")
      .def(py::init([pool_options](const IntOrPair& k, const std::optional<IntOrPair>& s, const IntOrPair& p, bool ceil,
                                   bool include) {
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
      .def(py::init([](int64_t e, int64_t h, double drop, bool bias, const py::object& kdim, const py::object& vdim,
                       bool quantized) {
        return std::make_shared<MultiHeadAttention>(e, h, drop, bias, optional_size(kdim), optional_size(vdim),
                                                    quantized);
      }), py::arg("embed_dim"), py::arg("num_heads"), py::arg("dropout") = 0.0, py::arg("bias") = true,
         py::arg("kdim") = py::none(), py::arg("vdim") = py::none(), py::arg("quantized") = false)
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
      .def(py::init([](int64_t e, int64_t h, const py::object& mlp, double drop, const py::object& act, bool causal, double eps,
                       bool quantized) {
        TransformerBlockOptions o;
        o.embed_dim = e;
        o.num_heads = h;
        o.mlp_dim = optional_size(mlp);
        o.dropout = drop;
        o.activation = parse_activation(activation_arg(act, "TransformerBlock"), "TransformerBlock");
        o.causal = causal;
        o.eps = eps;
        o.quantized = quantized;
        return std::make_shared<TransformerBlock>(o);
      }), py::arg("embed_dim"), py::arg("num_heads"), py::arg("mlp_dim") = py::none(), py::arg("dropout") = 0.0,
         py::arg("activation") = "gelu", py::arg("causal") = false, py::arg("eps") = 1e-5, py::arg("quantized") = false)
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
      .def(py::init([](const std::string& op) { return std::make_shared<PyElementwiseMerge>(parse_merge_op(op)); }),
           py::arg("op"));
  py::class_<Concatenate, MergeLayer, py::smart_holder>(m, "Concatenate")
      .def(py::init<int64_t>(), py::arg("axis") = -1);
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

  m.def("_set_autocast", [](bool enabled, const std::string& device_type, const py::object& dtype) {
    set_autocast_state(AutocastState{enabled, parse_autocast_device_type(device_type), to_dtype_arg(dtype)});
  }, py::arg("enabled"), py::arg("device_type"), py::arg("dtype"));
  m.def("_default_autocast_dtype", [](const std::string& device_type) {
    return default_autocast_dtype(parse_autocast_device_type(device_type));
  }, py::arg("device_type"), "float16 for 'cuda', bfloat16 for 'cpu'; ValueError for any other device_type.");
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
