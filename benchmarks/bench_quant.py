"""Inference time of float32, int8 and int4 Dense layers and of the digits CNN: aimass (am.quant)
against ONNX Runtime (its MLAS kernels: float MatMul, quantize_dynamic's int8, MatMulNBits' int4)
and PyTorch (float Linear, torch.ao dynamic int8 on FBGEMM), same weights, same threads, same
inputs, one run. Prints medians and ratios (anchor time / ours: above 1 means aimass is faster).

    python benchmarks/bench_quant.py [--threads N] [--repeats R] [--quick]

Goals (issue 12): our float32 at least matches ONNX Runtime's float32 on every shape; int8 faster
than float32 and than ONNX Runtime's int8; int4 weight-only faster than float32 at batch 1 to 16.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _timing import median_seconds  # noqa: E402

import aimass as am  # noqa: E402

try:
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
except ImportError:  # pragma: no cover - the anchor is optional
    ort = None
try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

SHAPES = [  # (in_features, out_features, batch)
    (4096, 4096, 64), (4096, 4096, 16), (4096, 4096, 1), (768, 3072, 16), (3072, 768, 16), (1024, 1024, 256)]


def ort_session(path: str, threads: int):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def dense_onnx(w: np.ndarray, b: np.ndarray, path: str) -> None:
    """y = x @ w.T + b as MatMul + Add (what exporters write for a Linear)."""
    k = w.shape[1]
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "wt"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])], "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", w.shape[0]])],
        [numpy_helper.from_array(np.ascontiguousarray(w.T), "wt"), numpy_helper.from_array(b, "b")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def bench_dense(k: int, n: int, m: int, threads: int, repeats: int, tmp: str) -> list[str]:
    rng = np.random.default_rng(0)
    dense = am.nn.Dense(n, input_shape=(k,))
    w = dense.state_dict()["weight"].numpy()
    b = (rng.standard_normal(n) * 0.1).astype(np.float32)
    dense.load_state_dict({"weight": dense.state_dict()["weight"], "bias": am.tensor(b)})
    model = am.nn.Sequential([dense])
    x = rng.standard_normal((m, k)).astype(np.float32)
    q8 = am.quant.quantize_dynamic(model, min_layer_size=0)
    q4 = am.quant.quantize_weight_only(model, bits=4, group_size=128)
    w8 = am.quant.quantize_weight_only(model, bits=8, group_size=128)

    def ours(mod):
        return median_seconds(lambda: mod.predict(x, batch_size=m), repeats=repeats)

    t = {"f32": ours(model), "int8": ours(q8), "int4wo": ours(q4), "int8wo": ours(w8)}
    anchors: dict[str, float] = {}
    if ort is not None:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        f32_path, i8_path = os.path.join(tmp, f"d{k}_{n}.onnx"), os.path.join(tmp, f"d{k}_{n}_i8.onnx")
        dense_onnx(w, b, f32_path)
        quantize_dynamic(f32_path, i8_path, weight_type=QuantType.QInt8, per_channel=True)
        for key, path in (("ort_f32", f32_path), ("ort_int8", i8_path)):
            sess = ort_session(path, threads)
            anchors[key] = median_seconds(lambda: sess.run(None, {"x": x}), repeats=repeats)
        try:
            from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

            proto = onnx.load(f32_path)
            quantizer = MatMulNBitsQuantizer(proto, block_size=128, is_symmetric=True, bits=4)
            quantizer.process()
            i4_path = os.path.join(tmp, f"d{k}_{n}_i4.onnx")
            onnx.save(quantizer.model.model, i4_path)
            sess = ort_session(i4_path, threads)
            anchors["ort_int4"] = median_seconds(lambda: sess.run(None, {"x": x}), repeats=repeats)
        except (ImportError, Exception) as e:  # noqa: BLE001 - the int4 anchor needs onnx-ir
            print(f"  (ONNX Runtime int4 skipped: {type(e).__name__}: {e})")
    if torch is not None:
        lin = torch.nn.Linear(k, n)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        xt = torch.from_numpy(x)
        qlin = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(lin), {torch.nn.Linear}, dtype=torch.qint8)
        with torch.inference_mode():
            anchors["torch_f32"] = median_seconds(lambda: lin(xt), repeats=repeats)
            anchors["torch_int8"] = median_seconds(lambda: qlin(xt), repeats=repeats)

    us = lambda s: s * 1e6  # noqa: E731
    name = f"Dense {k}->{n} batch {m}"
    lines = [f"{name}: aimass f32 {us(t['f32']):.0f} us, int8 dynamic {us(t['int8']):.0f} us "
             f"({t['f32'] / t['int8']:.2f}x f32), int4 w-only {us(t['int4wo']):.0f} us "
             f"({t['f32'] / t['int4wo']:.2f}x), int8 w-only {us(t['int8wo']):.0f} us ({t['f32'] / t['int8wo']:.2f}x)"]
    for ours_key, anchor_key, label in (("f32", "ort_f32", "f32 vs ONNX Runtime f32"),
                                        ("int8", "ort_int8", "int8 vs ONNX Runtime int8 dynamic"),
                                        ("int4wo", "ort_int4", "int4 vs ONNX Runtime MatMulNBits int4"),
                                        ("f32", "torch_f32", "f32 vs PyTorch f32"),
                                        ("int8", "torch_int8", "int8 vs PyTorch dynamic int8")):
        if anchor_key in anchors:
            lines.append(f"  {label:<40} aimass {us(t[ours_key]):9.0f} us  anchor {us(anchors[anchor_key]):9.0f} us"
                         f"  ratio {anchors[anchor_key] / t[ours_key]:5.2f}x")
    return lines


def bench_cnn(threads: int, repeats: int) -> list[str]:
    from aimass._demo import build_model, load_digits_dataset

    x, y = load_digits_dataset()
    x_train, x_test, y_train, y_test = am.data.train_test_split(x, y, test_size=0.25, stratify=y, seed=0)
    am.manual_seed(0)
    model = build_model()
    model.build((None, 1, 8, 8))
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5, batch_size=32, verbose=0)
    q = am.quant.quantize(model, x_train[:300])
    batch = np.concatenate([x_test] * 2)[:512]
    t_f, t_q = (median_seconds(lambda mod=mod: mod.predict(batch, batch_size=512), repeats=repeats) for mod in (model, q))
    cmp = am.quant.compare(model, q, x_test, y_test)
    return [f"digits CNN, batch 512: float32 {t_f * 1e3:.2f} ms, int8 static {t_q * 1e3:.2f} ms "
            f"({t_f / t_q:.2f}x); accuracy {100 * cmp['reference_accuracy']:.2f}% -> "
            f"{100 * cmp['candidate_accuracy']:.2f}% ({cmp['accuracy_change_points']:+.2f} points)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="two shapes and fewer repeats (the test suite's run)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # torch.ao's deprecation notices, ONNX Runtime's pre-processing hint
    import logging

    logging.getLogger().setLevel(logging.ERROR)
    am.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    from aimass import _core

    print(f"threads {args.threads}; int8 GEMM kernel {_core.quant.int8_gemm_kernel()}, weight-only kernel "
          f"{_core.quant.weight_only_kernel()}; ONNX Runtime {ort.__version__ if ort else 'not installed'}, "
          f"PyTorch {torch.__version__ if torch else 'not installed'}")
    shapes = SHAPES[2:4] if args.quick else SHAPES
    repeats = 3 if args.quick else args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        for k, n, m in shapes:
            for line in bench_dense(k, n, m, args.threads, repeats, tmp):
                print(line, flush=True)
    for line in bench_cnn(args.threads, repeats):
        print(line)


if __name__ == "__main__":
    main()
