"""GradScaler: dynamic loss scaling for float16 training (torch.cuda.amp.GradScaler's API)."""
from __future__ import annotations

from typing import Any

from .. import _core


class GradScaler(_core.optim.GradScaler):
    """scaler.scale(loss).backward(); scaler.step(opt) (skipped when a grad is inf/NaN); scaler.update()."""

    def scale(self, outputs: Any) -> Any:
        """outputs times the current scale (a Tensor, or a list / tuple of them)."""
        if not self.is_enabled():
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self.get_scale()

    def step(self, optimizer: Any) -> bool | None:
        """Unscales (if not done yet) and steps the optimizer unless a gradient is inf / NaN."""
        return self._step(optimizer)

    def state_dict(self) -> dict[str, Any]:
        if not self.is_enabled():
            return {}
        return {"scale": self.get_scale(), "growth_factor": self.get_growth_factor(),
                "backoff_factor": self.get_backoff_factor(), "growth_interval": self.get_growth_interval(),
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not self.is_enabled():
            return
        self._set_state(float(state_dict["scale"]), int(state_dict["_growth_tracker"]))
