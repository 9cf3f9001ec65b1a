"""Prometheus metrics with Triton's names, read from the service at scrape time.

A prometheus_client Collector (in its own CollectorRegistry, never the global one) turns
`service.metric_rows()` into one family per metric, labelled model and version as Triton's are.
The text is written by `exposition` rather than prometheus_client.generate_latest, because
generate_latest renames every counter `<name>_total` and Triton's counters have no suffix:

    # HELP nv_inference_request_success Number of successful inference requests, all batch sizes
    # TYPE nv_inference_request_success counter
    nv_inference_request_success{model="m",version="1"} 5

The output parses with prometheus_client.parser.text_string_to_metric_families.
"""
from __future__ import annotations

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# (Triton's name, type, Triton's help text, key of service.metric_rows())
METRICS = [
    ("nv_inference_request_success", "counter", "Number of successful inference requests, all batch sizes", "success"),
    ("nv_inference_request_failure", "counter", "Number of failed inference requests, all batch sizes", "failure"),
    ("nv_inference_count", "counter", "Number of inferences performed (does not include cached requests)", "inference_count"),
    ("nv_inference_exec_count", "counter", "Number of model executions performed (does not include cached requests)", "execution_count"),
    ("nv_inference_request_duration_us", "counter", "Cumulative inference request duration in microseconds (includes cached requests)", "request_duration_us"),
    ("nv_inference_queue_duration_us", "counter", "Cumulative inference queuing duration in microseconds (includes cached requests)", "queue_duration_us"),
    ("nv_inference_compute_infer_duration_us", "counter", "Cumulative compute inference duration in microseconds (does not include cached requests)", "compute_infer_duration_us"),
    ("nv_inference_pending_request_count", "gauge", "Instantaneous number of pending requests awaiting execution per-model.", "pending"),
]


class ServiceCollector(Collector):
    """The Triton metric families of an InferenceService, one sample per loaded model version."""

    def __init__(self, service):
        self.service = service

    def collect(self):
        rows = self.service.metric_rows()
        for name, kind, help_text, key in METRICS:
            family = Metric(name, help_text, kind)
            for row in rows:
                family.add_sample(name, {"model": str(row["model"]), "version": str(row["version"])}, row.get(key, 0))
            yield family


def make_registry(service) -> CollectorRegistry:
    """A fresh registry holding only the service's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(service))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The Prometheus text format (0.0.4) of `registry`, family and sample names as given."""
    lines = []
    for family in registry.collect():
        lines.append(f"# HELP {family.name} {_escape_help(family.documentation)}")
        lines.append(f"# TYPE {family.name} {family.type}")
        for sample in family.samples:
            labels = ",".join(f'{k}="{_escape_label(v)}"' for k, v in sample.labels.items())
            lines.append(f"{sample.name}{{{labels}}} {_value(sample.value)}" if labels else f"{sample.name} {_value(sample.value)}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def metrics_endpoint(service):
    """The callable behind GET /metrics: () -> (body, content type), read at each scrape."""
    registry = make_registry(service)
    return lambda: (exposition(registry), CONTENT_TYPE)


def _value(value) -> str:
    # Integers as Triton writes them ("5"), other values in Prometheus' float syntax.
    return str(int(value)) if isinstance(value, int) else floatToGoString(value)


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def _escape_label(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
