"""InferenceService: the protocol-independent server. The HTTP app and the gRPC servicer
translate requests into its calls; the repository says what is loaded.

Which version answers a request (Triton's rules, plus rollouts):

    a version named in the request      that version, or the version an alias names
                                        (config "aliases", or the registry's aliases)
    no version, config "traffic"        a weighted random pick among its ready versions (canary, A/B)
    no version, "default_version"       that version or alias (blue-green: switch what it names)
    no version otherwise                the newest ready version that is not the shadow

A shadow version (config "shadow_version") gets a copy of every request the others answer; its
answers are dropped and its errors ignored, but it counts them in its own statistics.
"""
from __future__ import annotations

import random
import threading

from .. import __version__
from ._config import config_json
from ._errors import ServeError, not_found, unavailable
from ._protocol import InferRequest, InferResult
from ._repository import READY, FolderSource, ModelState, RegistrySource, Repository
from ._version import ServedVersion

DEFAULT_POLL_S = 15.0  # Triton's --repository-poll-secs default
EXTENSIONS = ["classification_not_supported", "binary_tensor_data", "model_repository", "statistics",
              "model_configuration", "parameters"]


class InferenceService:
    def __init__(self, repository: Repository):
        self.repository = repository
        self._random = random.Random()
        self._random_lock = threading.Lock()
        self._closed = False

    @classmethod
    def from_repository(cls, path=None, *, control_mode: str = "none", poll_interval_s: float | None = None,
                        registry_url: str | None = None, startup_models: list[str] | None = None,
                        registry_artifact_root: str | None = None) -> "InferenceService":
        """A service over a Triton-layout folder, or (registry_url) over an am.registry, which is
        polled every poll_interval_s seconds (default 2) so that alias moves are followed."""
        if (path is None) == (registry_url is None):
            raise ValueError("give either a model repository folder or a registry URL")
        if registry_url is not None:
            source = RegistrySource(registry_url, registry_artifact_root)
            if control_mode == "none":
                control_mode, poll_interval_s = "poll", poll_interval_s or 2.0
        else:
            source = FolderSource(path)
        if control_mode == "poll" and poll_interval_s is None:
            poll_interval_s = DEFAULT_POLL_S
        return cls(Repository(source, control_mode, poll_interval_s, startup_models))

    # ---- health and metadata
    def live(self) -> bool:
        return not self._closed

    def ready(self) -> bool:
        """Ready when live and every model the repository loaded at least tried is ready."""
        if self._closed:
            return False
        return all(state.versions or state.reason == "unloaded" for state in self.repository.loaded())

    def server_metadata(self) -> dict:
        return {"name": "aimass", "version": __version__, "extensions": list(EXTENSIONS)}

    def _state(self, name: str) -> ModelState:
        state = self.repository.get(name)
        if state is None:
            raise not_found(f"unknown model {name!r}")
        return state

    def _named_version(self, state: ModelState, version: str) -> ServedVersion:
        v = state.config.aliases.get(version)
        if v is None:
            if not version.isdigit():
                raise not_found(f"model {state.name!r} has no version or alias {version!r}")
            v = int(version)
        sv = state.versions.get(v)
        if sv is None:
            st, reason = state.states.get(v, ("", ""))
            if st:
                raise unavailable(f"model {state.name!r} version {v} is not ready: {reason}")
            raise not_found(f"model {state.name!r} has no version {version}"
                            + (f" (alias of {v})" if version != str(v) else ""))
        return sv

    def _route(self, name: str, version: str | None) -> ServedVersion:
        state = self._state(name)
        if version:
            return self._named_version(state, version)
        if not state.versions:
            raise unavailable(f"model {name!r} has no ready version" + (f": {state.reason}" if state.reason else ""))
        cfg = state.config
        if cfg.traffic:
            ready = [(v, w) for v, w in cfg.traffic.items() if v in state.versions and w > 0]
            if ready:
                with self._random_lock:
                    v = self._random.choices([v for v, _ in ready], weights=[w for _, w in ready])[0]
                return state.versions[v]
        if cfg.default_version is not None:
            return self._named_version(state, cfg.default_version)
        serving = [v for v in state.versions if v != cfg.shadow_version] or list(state.versions)
        return state.versions[max(serving)]

    def model_ready(self, name: str, version: str | None = None) -> bool:
        try:
            self._route(name, version)
            return True
        except ServeError:
            return False

    def model_metadata(self, name: str, version: str | None = None) -> dict:
        sv = self._route(name, version)
        state = self._state(name)
        return {"name": name, "versions": [str(v) for v in state.ready_versions], "platform": _platform(sv),
                "inputs": sv.metadata_inputs(), "outputs": sv.metadata_outputs()}

    def input_metadata(self, name: str, version: str | None = None) -> list[dict]:
        return self._route(name, version).metadata_inputs()

    def model_config(self, name: str, version: str | None = None) -> dict:
        sv = self._route(name, version)
        return config_json(sv.config, sv.signature.inputs, sv.signature.outputs, _platform(sv))

    # ---- inference
    async def infer(self, name: str, version: str | None, request: InferRequest) -> InferResult:
        sv = self._route(name, version)
        try:
            outputs = await sv.infer(request)
        except ServeError as e:
            current = self._retry_target(name, version, sv, e)
            if current is None:
                raise
            sv, outputs = current, await current.infer(request)
        shadow = self._shadow(name, sv)
        if shadow is not None:
            try:
                shadow.submit(request, None)
            except ServeError:
                pass  # a shadow's refusal never reaches the client
        return InferResult(model_name=name, model_version=str(sv.version), id=request.id, outputs=outputs,
                           parameters={})

    def _retry_target(self, name, version, sv: ServedVersion, error: ServeError) -> ServedVersion | None:
        """A request that reached a version just as a reload swapped it out (its batcher stopped)
        goes once to the version that replaced it."""
        if error.status != 503 or not sv.stopped:
            return None
        try:
            current = self._route(name, version)
        except ServeError:
            return None
        return current if current is not sv else None

    def _shadow(self, name: str, served: ServedVersion) -> ServedVersion | None:
        state = self.repository.get(name)
        if state is None or state.config.shadow_version is None:
            return None
        shadow = state.versions.get(state.config.shadow_version)
        return shadow if shadow is not None and shadow is not served else None

    # ---- repository API
    def repository_index(self, ready_only: bool = False) -> list[dict]:
        return self.repository.index(ready_only)

    def load(self, name: str) -> None:
        if self.repository.control_mode != "explicit":
            raise ServeError(400, f"cannot load {name!r}: explicit model load / unload is not allowed in model "
                                  f"control mode {self.repository.control_mode!r} (start with "
                                  "--model-control-mode explicit)")
        self.repository.sync(name, explicit=True)

    def unload(self, name: str) -> None:
        if self.repository.control_mode != "explicit":
            raise ServeError(400, f"cannot unload {name!r}: explicit model load / unload is not allowed in model "
                                  f"control mode {self.repository.control_mode!r}")
        self.repository.unload(name)

    # ---- statistics and metrics
    def _versions(self, name: str | None, version: str | None) -> list[ServedVersion]:
        if name is None:
            return [sv for state in self.repository.loaded() for _, sv in sorted(state.versions.items())]
        state = self._state(name)
        if version:
            return [self._named_version(state, version)]
        return [sv for _, sv in sorted(state.versions.items())]

    def statistics(self, name: str | None = None, version: str | None = None) -> dict:
        return {"model_stats": [sv.statistics() for sv in self._versions(name, version)]}

    def metric_rows(self) -> list[dict]:
        return [sv.metric_row() for sv in self._versions(None, None)]

    def close(self, drain_timeout_s: float = 30.0) -> None:
        self._closed = True
        self.repository.close(drain_timeout_s)


def _platform(sv: ServedVersion) -> str:
    return "aimass_knn" if sv.kind == "knn" else "aimass"


__all__ = ["InferenceService", "READY"]
