"""``aimass demo``: train a small CNN on the 8x8 digits images that ship with scikit-learn.

Loads the 1,797 digits, holds out a stratified 20% test set, trains a two-block CNN with AdamW
(the epochs run natively, with a progress bar), then prints the test accuracy, scikit-learn's
classification report (computed by am.metrics) and the training speed, and saves the model to a
safetensors file that ``am.load`` reads back. Before the final training (unless tune=False) a
short am.hpo study picks the learning rate and width (python/aimass/_demo_hpo.py). Then (unless serve=False) it registers the model,
serves it and calls it through tritonclient (python/aimass/_demo_serve.py).
"""
from __future__ import annotations

import os
import time

import numpy as np

import aimass as am


def load_digits_dataset() -> tuple[np.ndarray, np.ndarray]:
    """Images as float32 (N, 1, 8, 8) scaled to [0, 1], labels as int64 (N,)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None, :, :]
    return x, digits.target.astype(np.int64)


def build_model(width: int = 32, dropout: float = 0.3) -> am.nn.Sequential:
    """Two conv blocks of width and 2 * width channels (w = width below), then two Dense layers."""
    nn = am.nn
    return nn.Sequential([
        nn.Conv2D(width, 3, padding="same", activation="relu"),      # (N, w, 8, 8)
        nn.BatchNorm2D(),
        nn.Conv2D(width, 3, padding="same", activation="relu"),
        nn.MaxPool2D(2),                                               # (N, w, 4, 4)
        nn.Conv2D(2 * width, 3, padding="same", activation="relu"),  # (N, 2w, 4, 4)
        nn.BatchNorm2D(),
        nn.MaxPool2D(2),                                               # (N, 2w, 2, 2)
        nn.Flatten(),                                                  # (N, 8w)
        nn.Dropout(dropout),
        nn.Dense(128, activation="relu"),
        nn.Dense(10),                                                  # logits
    ])


def run(epochs: int = 20, batch_size: int = 32, seed: int = 0, output: str = "digits_cnn.safetensors",
        verbose: int | str = "auto", serve: bool = True, compress: bool = True, tune: bool = True,
        tune_trials: int = 24) -> dict:
    am.manual_seed(seed)
    lr, width, tuned = 3e-3, 32, None
    if tune:
        from ._demo_hpo import run_tune_stage

        tuned = run_tune_stage(n_trials=tune_trials, seed=seed)
        lr, width = tuned["best_params"]["lr"], tuned["best_params"]["width"]
        am.manual_seed(seed)
    x, y = load_digits_dataset()
    x_train, x_test, y_train, y_test = am.data.train_test_split(x, y, test_size=0.2, stratify=y, seed=seed)
    print(f"digits: {len(x_train)} training and {len(x_test)} test images of 8x8, 10 classes; "
          f"{am.get_num_threads()} threads")

    model = build_model(width=width)
    model.build((None, 1, 8, 8))
    optimizer = am.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    model.compile(optimizer=optimizer, loss=am.nn.CrossEntropyLoss(label_smoothing=0.05), metrics=["accuracy"])
    print(f"model: {model.num_parameters():,} parameters (width {width}, lr {lr:.2e}"
          f"{', from the study' if tuned else ''})")
    schedule = am.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, validation_split=0.1,
                        verbose=verbose, callbacks=[am.nn.callbacks.LearningRateScheduler(schedule)])
    seconds = time.perf_counter() - start

    test = model.evaluate(x_test, y_test, batch_size=256)
    predictions = model.predict(x_test, batch_size=256).argmax(axis=1)
    trained = len(history.epoch) * int(len(x_train) * 0.9)
    print(f"\ntest accuracy: {test['accuracy']:.4f}  (loss {test['loss']:.4f})")
    print(am.metrics.classification_report(y_test, predictions, digits=3))
    print(f"training: {len(history.epoch)} epochs in {seconds:.1f} s, {trained / seconds:,.0f} samples/s")

    model.save(output)
    again = am.load(output)
    same = np.array_equal(again.predict(x_test, batch_size=256), model.predict(x_test, batch_size=256))
    print(f"saved to {os.path.abspath(output)} ({os.path.getsize(output) / 1024:.0f} KiB); "
          f"reloaded predictions identical: {same}")
    result = {"test_accuracy": test["accuracy"], "seconds": seconds, "history": history.history, "path": output}
    if tuned is not None:
        result["tuning"] = {"best_params": tuned["best_params"], "best_value": tuned["best_value"],
                            "n_trials": len(tuned["study"].trials), "seconds": tuned["seconds"]}
    if compress:
        from ._demo_quant import run_compress_stage

        result["compression"] = run_compress_stage(model, x_train, x_test, y_test, output)
    if serve:
        from ._demo_serve import run_serve_stage

        result["serving"] = run_serve_stage(output, x_test, model.predict(x_test, batch_size=256))
    return result
