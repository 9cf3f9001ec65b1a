"""The ``aimass`` command."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aimass", description="aimass: train, tune, compress, search and serve ML models")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="version, build options, BLAS, SIMD level, CUDA and devices")
    sub.add_parser("example", help="a short worked example of the tensor API on CPU (and CUDA when present)")
    demo = sub.add_parser("demo", help="train a small CNN on scikit-learn's 8x8 digits, report and save it")
    demo.add_argument("--epochs", type=int, default=20)
    demo.add_argument("--batch-size", type=int, default=32)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--output", default="digits_cnn.safetensors", help="where the trained model is saved")
    demo.add_argument("--no-serve", action="store_true", help="skip the stage that registers, serves and calls the model")
    demo.add_argument("--no-compress", action="store_true", help="skip the stage that quantises the model to int8")
    demo.add_argument("--no-tune", action="store_true", help="skip the study that picks the learning rate and width")
    demo.add_argument("--tune-trials", type=int, default=24, help="trials of the tuning study")
    serve = sub.add_parser("serve", help="serve a model repository or registry over KServe v2 / Triton HTTP and gRPC")
    from .serve._cli import add_arguments

    add_arguments(serve)
    args = parser.parse_args(argv)

    if args.command == "info":
        from ._info import format_info, info

        print(format_info(info()))
    elif args.command == "example":
        from ._example import run_example

        run_example()
    elif args.command == "demo":
        from ._demo import run

        run(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, output=args.output, serve=not args.no_serve,
            compress=not args.no_compress, tune=not args.no_tune, tune_trials=args.tune_trials)
    elif args.command == "serve":
        from .serve._cli import run_server

        return run_server(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
