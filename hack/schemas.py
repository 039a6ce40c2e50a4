"""Strict validation of rendered objects, as a real API server with `fieldValidation=Strict`
would do. Kubernetes kinds are checked against the Kubernetes schemas (kubernetes-validate);
custom resources against the workspace's generated CRDs (example/seed-crds, example/garden-crds):
types, enums and required fields from the CRD's openAPIV3Schema, and every field the schema does
not declare is an error (the server would prune it silently).

Used by hack/check-charts.py and hack/check-registration.py.
"""
import copy
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

KUBE_VERSION = "1.33"

ROOT = Path(__file__).resolve().parent.parent


def _strict(schema):
    """A copy of an OpenAPI v3 schema as JSON Schema that rejects undeclared fields."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if not isinstance(node, dict):
            return
        node.pop("x-kubernetes-validations", None)
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        preserve = node.pop("x-kubernetes-preserve-unknown-fields", False)
        node.pop("x-kubernetes-int-or-string", None)
        if "properties" in node and not preserve and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for child in node.get("properties", {}).values():
            walk(child)
        for key in ("items", "additionalProperties"):
            walk(node.get(key))
        for key in ("allOf", "anyOf", "oneOf"):
            for child in node.get(key, []):
                walk(child)

    walk(schema)
    # apiVersion, kind and metadata are the API server's, whatever the CRD declares.
    for key in ("apiVersion", "kind", "metadata"):
        schema.setdefault("properties", {})[key] = {}
    return schema


def _load():
    schemas = {}
    for path in sorted(ROOT.glob("example/*-crds/*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group = crd["spec"]["group"]
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = version["schema"]["openAPIV3Schema"]
            schemas[(f"{group}/{version['name']}", kind)] = _strict(schema)
    return schemas


SCHEMAS = _load()


def validate(doc):
    """Error messages for `doc` (empty when valid): against its CRD if it has one, else the
    Kubernetes schemas."""
    if (doc.get("apiVersion"), doc.get("kind")) not in SCHEMAS:
        try:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
            return []
        except kubernetes_validate.ValidationError as e:
            return [e.message]
    return validate_custom(doc)


def validate_custom(doc):
    """Error messages for `doc` against its CRD (empty when valid); KeyError without a CRD."""
    schema = SCHEMAS[(doc.get("apiVersion"), doc.get("kind"))]
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    ]
