"""aimass.registry: a model registry in the manner of MLflow's: named models with numbered,
immutable versions, tags, descriptions and aliases, addressed by models:/ URIs.

    reg = am.registry.Registry()                            # SQLite under ~/.aimass/registry
    reg = am.registry.Registry("postgresql+psycopg2://user@db/registry", artifact_root="/shared/models")
    mv = reg.register_model(model, "digits", tags={"data": "v2"}, description="MLP, 97.8%")
    reg.set_registered_model_alias("digits", "champion", mv.version)
    model = reg.load("models:/digits@champion")             # also models:/digits/3, models:/digits/latest
    reg.search_model_versions("digits", tags={"data": "v2"})
"""
from ._errors import NotFoundError, RegistryError
from ._registry import Registry, default_artifact_root
from ._types import ModelVersion, RegisteredModel
from ._uri import ModelURI, parse as parse_uri

__all__ = ["Registry", "ModelVersion", "RegisteredModel", "RegistryError", "NotFoundError", "ModelURI", "parse_uri",
           "default_artifact_root"]
