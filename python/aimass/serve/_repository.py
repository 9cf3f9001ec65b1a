"""The model repository: which versions of which models are loaded, and how that changes.

Sources of models:

    FolderSource    Triton's layout: <root>/<model>/config.json (optional) and numeric version
                    folders <root>/<model>/<version>/; the config's version_policy picks the
                    versions (default: the latest one).
    RegistrySource  an am.registry: each registered model serves the versions its aliases point
                    at (the latest version when it has none); "champion", when set, serves
                    requests that name no version, and every alias is a version name requests may
                    use. Moving an alias is picked up at the next poll (blue-green, rollback).

Control modes (Triton's): "none" loads everything at start and never changes; "poll" re-reads the
source every poll_interval_s seconds; "explicit" loads only what load() asks for (and the
startup models). In every mode a change is made the same way, by sync(name):

    1. read the model's config and its chosen versions (a bad config keeps what is loaded and
       puts the reason in the index);
    2. load every new or changed version (files' sizes and mtimes, or the config, differ) in the
       calling thread, while the loaded ones go on serving;
    3. swap in the new ModelState in one assignment: requests arriving after it see only ready
       versions; a version that failed to load leaves the old one serving, with its reason;
    4. drain and stop the versions that left, in a background thread: requests already in their
       queues are answered.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field

from ._config import CONFIG_FILE, ModelConfig, read_config
from ._errors import ServeError
from ._version import ServedVersion

READY, UNAVAILABLE, LOADING = "READY", "UNAVAILABLE", "LOADING"
CONTROL_MODES = ("none", "poll", "explicit")


def _fingerprint(folder: str) -> tuple:
    """What changes when a version's files change: (name, size, mtime) of each file in it."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
        return tuple((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in entries if e.is_file())
    except OSError:
        return ()


def _config_key(config: ModelConfig) -> str:
    return json.dumps(config.raw, sort_keys=True, default=str)


@dataclass(frozen=True)
class ModelState:
    """One model as served now (never changed once published; sync publishes a new one)."""
    name: str
    config: ModelConfig
    versions: dict[int, ServedVersion] = field(default_factory=dict)     # the ready ones
    states: dict[int, tuple[str, str]] = field(default_factory=dict)     # version -> (state, reason)
    reason: str = ""                                                     # a model-level error (bad config)

    @property
    def ready_versions(self) -> list[int]:
        return sorted(self.versions)


class FolderSource:
    """Models in a Triton-layout folder."""

    def __init__(self, root: str):
        self.root = os.path.abspath(os.fspath(root))
        if not os.path.isdir(self.root):
            raise ServeError(400, f"model repository {self.root!r} is not a folder")

    def __str__(self) -> str:
        return self.root

    def model_names(self) -> list[str]:
        try:
            return sorted(e.name for e in os.scandir(self.root) if e.is_dir() and not e.name.startswith("."))
        except OSError as e:
            raise ServeError(500, f"cannot list the model repository {self.root!r}: {e.strerror}") from None

    def describe(self, name: str) -> tuple[ModelConfig, dict[int, str], str]:
        """(config, {version: folder} chosen by the version policy, why some are missing)."""
        folder = os.path.join(self.root, name)
        if not os.path.isdir(folder):
            raise ServeError(404, f"the model repository has no model {name!r}")
        config = read_config(folder)
        present = {}
        for e in os.scandir(folder):
            if e.is_dir() and e.name.isdigit() and int(e.name) > 0:
                present[int(e.name)] = e.path
        policy = config.version_policy
        if policy[0] == "all":
            chosen = sorted(present)
        elif policy[0] == "specific":
            chosen = [v for v in policy[1] if v in present]
        else:
            chosen = sorted(present)[-policy[1]:]
        missing = [v for v in policy[1] if v not in present] if policy[0] == "specific" else []
        note = f"version(s) {missing} named by version_policy are not in {folder}" if missing else ""
        if not present:
            note = f"{folder} has no version folders (1/, 2/, ...)"
        return config, {v: present[v] for v in chosen}, note


class RegistrySource:
    """The aliased versions of an am.registry's models."""

    def __init__(self, url: str, artifact_root: str | None = None):
        from ..registry import Registry

        self.registry = Registry(url, artifact_root)

    def __str__(self) -> str:
        return self.registry.url

    def model_names(self) -> list[str]:
        return [m.name for m in self.registry.search_registered_models() if m.latest_version is not None]

    def describe(self, name: str) -> tuple[ModelConfig, dict[int, str], str]:
        from ..registry import NotFoundError

        try:
            model = self.registry.get_registered_model(name)
        except NotFoundError:
            raise ServeError(404, f"the registry has no model {name!r}") from None
        if model.latest_version is None:
            raise ServeError(404, f"registered model {name!r} has no versions")
        config = read_config(os.path.join(self.registry.artifact_root, name))
        versions = sorted(set(model.aliases.values())) or [model.latest_version]
        folders = {v: self.registry.get_model_version(name, v).artifact_path for v in versions}
        config.aliases = {**config.aliases, **model.aliases}
        if "champion" in model.aliases and config.default_version is None and not config.traffic:
            config.default_version = "champion"
        config.version_policy = ("specific", tuple(versions))
        return config, folders, ""


class Repository:
    """The loaded models, and the thread that follows the source in poll mode."""

    def __init__(self, source, control_mode: str = "none", poll_interval_s: float | None = None,
                 startup_models: list[str] | None = None):
        if control_mode not in CONTROL_MODES:
            raise ValueError(f"model control mode must be one of {CONTROL_MODES}, got {control_mode!r}")
        if control_mode == "poll" and (poll_interval_s is None or poll_interval_s <= 0):
            raise ValueError("poll mode needs poll_interval_s > 0 (seconds between scans)")
        self.source, self.control_mode, self.poll_interval_s = source, control_mode, poll_interval_s
        self._models: dict[str, ModelState] = {}   # replaced, never mutated, by _publish
        self._sync_lock = threading.Lock()          # one change at a time
        self._stop = threading.Event()
        self._drains: list[threading.Thread] = []
        self._poller = None
        names = (self.source.model_names() if control_mode != "explicit" or startup_models == ["*"]
                 else list(startup_models or []))
        for name in names:
            self.sync(name, explicit=control_mode == "explicit")
        if control_mode == "poll":
            self._poller = threading.Thread(target=self._poll, name="aimass-serve-poll", daemon=True)
            self._poller.start()

    # ---- reading (any thread, no lock: a published ModelState never changes)
    def get(self, name: str) -> ModelState | None:
        return self._models.get(name)

    def loaded(self) -> list[ModelState]:
        return list(self._models.values())

    def index(self, ready_only: bool = False) -> list[dict]:
        """Triton's repository index: every model the source has, one entry per version."""
        try:
            names = set(self.source.model_names())
        except ServeError:
            names = set()
        models = dict(self._models)
        out = []
        for name in sorted(names | set(models)):
            state = models.get(name)
            if state is None or (not state.states and not state.versions):
                if not ready_only:
                    reason = state.reason if state is not None else "not loaded"
                    out.append({"name": name, "version": "", "state": UNAVAILABLE, "reason": reason})
                continue
            for v in sorted(state.states):
                st, reason = state.states[v]
                if ready_only and st != READY:
                    continue
                out.append({"name": name, "version": str(v), "state": st, "reason": reason})
        return out

    # ---- changing
    def sync(self, name: str, explicit: bool = False) -> ModelState | None:
        """Brings model `name` in line with the source (steps in the module docstring). With
        explicit, errors are raised (the load API answers them); otherwise they are recorded. None: the
        model left the source and was taken out of service."""
        with self._sync_lock:
            old = self._models.get(name)
            try:
                config, folders, note = self.source.describe(name)
            except ServeError as e:
                if e.status == 404 and old is not None and not explicit:  # the model was removed
                    self._publish(name, None, old)
                    return None
                if old is None:
                    self._models = {**self._models, name: ModelState(name, ModelConfig(name=name), reason=str(e))}
                else:
                    self._models = {**self._models, name: ModelState(name, old.config, old.versions, old.states,
                                                                     reason=str(e))}
                if explicit:
                    raise
                return self._models[name]
            versions, states, errors = {}, {}, []
            for v, folder in sorted(folders.items()):
                previous = old.versions.get(v) if old is not None else None
                fingerprint = _fingerprint(folder)
                if (previous is not None and previous.fingerprint == fingerprint
                        and _config_key(previous.config) == _config_key(config)):
                    versions[v], states[v] = previous, (READY, "")
                    continue
                try:
                    loaded = ServedVersion(name, v, folder, config, fingerprint)
                    versions[v], states[v] = loaded, (READY, "")
                except ServeError as e:
                    errors.append(str(e))
                    if previous is not None:  # keep the old one serving
                        versions[v], states[v] = previous, (READY, f"reload failed, the loaded files go on serving: {e}")
                    else:
                        states[v] = (UNAVAILABLE, str(e))
            if errors and old is not None:  # a failed load leaves the old versions serving
                for v, sv in old.versions.items():
                    if v not in versions:
                        versions[v], states[v] = sv, (READY, "kept serving: a newer version failed to load")
            new = ModelState(name, config, versions, states, reason=note)
            self._publish(name, new, old)
            if explicit and errors:
                raise ServeError(400, f"failed to load {name!r}: {'; '.join(errors)}")
            return new

    def unload(self, name: str) -> None:
        """Takes every version of `name` out of service; requests queued on them are answered."""
        with self._sync_lock:
            old = self._models.get(name)
            if old is None and name not in self.source.model_names():
                raise ServeError(404, f"unknown model {name!r}")
            config = old.config if old is not None else ModelConfig(name=name)
            self._publish(name, ModelState(name, config, reason="unloaded"), old)

    def _publish(self, name: str, new: ModelState | None, old: ModelState | None) -> None:
        models = dict(self._models)
        if new is None:
            models.pop(name, None)
        else:
            models[name] = new
        self._models = models  # the swap
        keep = set(map(id, new.versions.values())) if new is not None else set()
        leaving = [sv for sv in (old.versions.values() if old is not None else ()) if id(sv) not in keep]
        if leaving:
            t = threading.Thread(target=_drain, args=(leaving,), name=f"aimass-serve-drain-{name}", daemon=True)
            t.start()
            self._drains = [d for d in self._drains if d.is_alive()] + [t]

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_interval_s):
            try:
                names = set(self.source.model_names())
            except ServeError:
                continue
            for name in sorted(names | set(self._models)):
                if self._stop.is_set():
                    return
                try:
                    self.sync(name)
                except Exception:  # noqa: BLE001  (a poll must never die; sync records reasons)
                    pass

    def close(self, drain_timeout_s: float = 30.0) -> None:
        """Stops polling, then drains and stops every loaded version."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join()
        with self._sync_lock:
            models, self._models = self._models, {}
        _drain([sv for state in models.values() for sv in state.versions.values()])
        for t in self._drains:
            t.join(drain_timeout_s)


def _drain(versions: list[ServedVersion]) -> None:
    for sv in versions:
        sv.close(drain=True)
