#!/usr/bin/env python3
"""Lint and render every chart in charts/ with Helm's engine (helm-python-sdk), with default values
and with hack/chart-values/<chart>.yaml; validate every rendered Kubernetes object strictly against
the Kubernetes schemas, and custom resources (the VPA) against their generated CRDs
(hack/schemas.py); compare the output with charts/<chart>/snapshots/.

Usage: hack/check-charts.py [--update]   (--update rewrites the snapshots)
"""
import sys
from pathlib import Path

import helm_python as helm
import yaml

import schemas

ROOT = Path(__file__).resolve().parent.parent


def render(chart_dir, values):
    chart = helm.Chart.load(chart_dir)
    manifests = chart.render(values, name=chart.name, namespace="extension-" + chart.name)
    docs = []
    for path in sorted(manifests):
        for doc in yaml.safe_load_all(manifests[path]):
            if doc:
                docs.append((path, doc))
    return docs


def check(chart_dir, values, label):
    problems = []
    report = helm.lint(chart_dir, values, strict=True, kube_version="v" + schemas.KUBE_VERSION + ".0")
    for message in report.get("messages") or []:
        if message.get("severity", 0) >= 2:
            problems.append(f"lint ({label}): {message.get('path')}: {message.get('error')}")
    docs = render(chart_dir, values)
    for path, doc in docs:
        problems += [f"schema ({label}): {path}: {e}" for e in schemas.validate(doc)]
    text = yaml.safe_dump_all([doc for _, doc in docs], sort_keys=True)
    return problems, text


def main():
    update = "--update" in sys.argv[1:]
    problems = []
    charts = sorted(p.parent for p in (ROOT / "charts").glob("*/Chart.yaml"))
    for chart_dir in charts:
        custom_file = ROOT / "hack" / "chart-values" / (chart_dir.name + ".yaml")
        variants = [("default", None)]
        if custom_file.exists():
            variants.append(("custom", yaml.safe_load(custom_file.read_text())))
        else:
            problems.append(f"{chart_dir.name}: no non-default values in {custom_file.relative_to(ROOT)}")
        for label, values in variants:
            found, text = check(chart_dir, values, label)
            problems += [f"{chart_dir.name}: {p}" for p in found]
            snapshot = chart_dir / "snapshots" / f"{label}.yaml"
            if update:
                snapshot.parent.mkdir(exist_ok=True)
                snapshot.write_text(text)
            elif not snapshot.exists() or snapshot.read_text() != text:
                problems.append(f"{chart_dir.name}: {snapshot.relative_to(ROOT)} is stale; run hack/check-charts.py --update")
        print(f"{chart_dir.name}: checked ({', '.join(label for label, _ in variants)})")
    for problem in problems:
        print("error:", problem, file=sys.stderr)
    if not charts:
        print("error: no charts found", file=sys.stderr)
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
