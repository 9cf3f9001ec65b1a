"""What a quantisation did, layer by layer: am.quant's functions attach one of these to the model
they return (``qmodel.quantization_report``)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LayerDecision:
    name: str                 # the layer's path in the model ("0", "block.2", "dense_1")
    layer: str                # the float layer's class
    quantized: bool
    kind: str                 # "int8 static", "int8 dynamic", "int8 weight-only", "int4 weight-only", "float"
    reason: str = ""          # why it stayed in float (empty when quantised)
    sqnr_db: float | None = None  # signal-to-quantisation-noise of its outputs on calibration data
    input_scale: float | None = None
    input_zero_point: int | None = None


@dataclass
class QuantizationReport:
    method: str
    layers: list[LayerDecision] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def quantized(self) -> list[LayerDecision]:
        return [d for d in self.layers if d.quantized]

    @property
    def kept_float(self) -> list[LayerDecision]:
        return [d for d in self.layers if not d.quantized]

    def to_dict(self) -> dict:
        return {"method": self.method, "notes": list(self.notes), "layers": [vars(d).copy() for d in self.layers]}

    def __str__(self) -> str:
        rows = [("layer", "type", "result", "SQNR dB", "why float")]
        for d in self.layers:
            rows.append((d.name or "<model>", d.layer, d.kind, "" if d.sqnr_db is None else f"{d.sqnr_db:.1f}",
                         d.reason))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [f"QuantizationReport ({self.method}): {len(self.quantized)} of {len(self.layers)} layers quantised"]
        for r in rows:
            lines.append("  " + "  ".join(r[i].ljust(widths[i]) for i in range(4)) + ("  " + r[4] if r[4] else ""))
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    __repr__ = __str__
