"""What the registry answers: ModelVersion and RegisteredModel (plain, immutable values)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ._artifacts import INDEX_FILE, MODEL_FILE
from ._uri import version_uri


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    kind: str                      # "model" | "knn"
    source: str                    # the path (or object) it was registered from
    artifact_path: str             # its folder on this machine: <artifact_root>/<name>/<version>
    sha256: str                    # of `file`
    description: str
    status: str                    # "READY"
    creation_timestamp: int        # ms since the epoch
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        """models:/<name>/<version>"""
        return version_uri(self.name, self.version)

    @property
    def file(self) -> str:
        """The main file: model.safetensors (kind "model") or index.knn (kind "knn")."""
        return os.path.join(self.artifact_path, INDEX_FILE if self.kind == "knn" else MODEL_FILE)

    @property
    def embedding_model_file(self) -> str | None:
        """A k-NN version's embedding model (model.safetensors), when it was registered with one."""
        if self.kind != "knn":
            return None
        path = os.path.join(self.artifact_path, MODEL_FILE)
        return path if os.path.exists(path) else None


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    description: str
    creation_timestamp: int
    last_updated_timestamp: int
    latest_version: int | None     # None: no versions (all deleted, or none registered yet)
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
