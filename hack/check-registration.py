#!/usr/bin/env python3
"""Check the generated registration files (example/registration/<extension>/):

* every object validates strictly against its CRD (hack/schemas.py);
* the ControllerDeployment's `helm.rawChart` loads with Helm's engine (helm-python-sdk), and
  renders with the ControllerDeployment's values into objects that pass strict Kubernetes 1.33
  schema validation, with the image tag the values pin;
* the ControllerRegistration references that ControllerDeployment, and the operator Extension
  serves the same kinds and types.

Drift (files that differ from what `hack/generate-controller-registration` writes) is checked by
`hack/generate-controller-registration --check`.
"""
import base64
import sys
import tempfile
from pathlib import Path

import helm_python as helm
import yaml

import schemas

ROOT = Path(__file__).resolve().parent.parent


def check(directory):
    problems = []
    docs = list(yaml.safe_load_all((directory / "controller-registration.yaml").read_text()))
    docs += list(yaml.safe_load_all((directory / "extension.yaml").read_text()))
    docs = [d for d in docs if d]
    for doc in docs:
        problems += [f"{doc['kind']}: {e}" for e in schemas.validate_custom(doc)]
    by_kind = {d["kind"]: d for d in docs}
    deployment = by_kind["ControllerDeployment"]
    registration = by_kind["ControllerRegistration"]
    operator = by_kind["Extension"]
    refs = [r["name"] for r in registration["spec"]["deployment"]["deploymentRefs"]]
    if refs != [deployment["metadata"]["name"]]:
        problems.append(f"ControllerRegistration refers to {refs}, not the ControllerDeployment")
    if registration["spec"]["resources"] != operator["spec"]["resources"]:
        problems.append("the operator Extension serves other kinds/types than the ControllerRegistration")

    values = deployment["helm"]["values"]
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "chart.tgz"
        archive.write_bytes(base64.b64decode(deployment["helm"]["rawChart"]))
        chart = helm.Chart.load(archive)
        manifests = chart.render(values, name=chart.name, namespace="extension-" + chart.name)
    rendered = [d for text in manifests.values() for d in yaml.safe_load_all(text) if d]
    images = set()
    for doc in rendered:
        problems += [f"rendered {doc['kind']}: {e}" for e in schemas.validate(doc)]
        if doc["kind"] == "Deployment":
            images |= {c["image"] for c in doc["spec"]["template"]["spec"]["containers"]}
    tag = values["image"]["tag"]
    if not images or not all(i.endswith(":" + tag) for i in images):
        problems.append(f"the rendered Deployment runs {sorted(images)}, not tag {tag}")
    return problems


def main():
    directories = sorted(p for p in (ROOT / "example" / "registration").iterdir() if p.is_dir())
    charts = sorted(p.name.removeprefix("gardener-extension-") for p in (ROOT / "charts").iterdir())
    problems = []
    if [d.name for d in directories] != charts:
        problems.append(f"registrations {[d.name for d in directories]} do not match the charts {charts}")
    for directory in directories:
        found = check(directory)
        problems += [f"{directory.name}: {p}" for p in found]
        print(f"{directory.name}: checked")
    for problem in problems:
        print("error:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
