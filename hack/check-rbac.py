#!/usr/bin/env python3
"""Least privilege, both ways: which ClusterRole grants no end-to-end test used.

The extensions' end-to-end tests check that their chart grants every request they make
(`extension_framework::dev::assert_rbac`), and with `$RBAC_USED_DIR` set they record those
requests as `<dir>/<chart>/*.tsv` (verb, group, resource, name). This script expands each
chart's ClusterRole (default values) into single grants (verb, group, resource[, names]) and
lists those that no recorded request used. Every such grant must be listed, with a reason, in the
"Grants no test uses" table of docs/charts.md, and every row there must still be unused.

Usage: hack/check-rbac.py USED_DIR      (exit 1 on a difference)
"""

import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "charts.md"
TABLE_HEADING = "### Grants no test uses"


def grants(chart):
    """(verb, group, resource, names) for every verb/group/resource of the chart's ClusterRoles."""
    rendered = (ROOT / "charts" / chart / "snapshots" / "default.yaml").read_text()
    out = []
    for obj in yaml.safe_load_all(rendered):
        if not obj or obj.get("kind") != "ClusterRole":
            continue
        for rule in obj.get("rules") or []:
            names = tuple(rule.get("resourceNames") or ())
            for group in rule.get("apiGroups") or []:
                for resource in rule.get("resources") or []:
                    for verb in rule.get("verbs") or []:
                        out.append((verb, group, resource, names))
    return out


def used(directory, chart):
    requests = set()
    for path in sorted((directory / chart).glob("*.tsv")):
        for line in path.read_text().splitlines():
            verb, group, resource, name = line.split("\t")
            requests.add((verb, group, resource, name))
    return requests


def unused(chart, requests):
    def grants_one(grant, request):
        verb, group, resource, names = grant
        return (
            verb in ("*", request[0])
            and group in ("*", request[1])
            and resource in ("*", request[2])
            and (not names or request[3] in names)
        )

    return {
        (chart, verb, group, resource)
        for (verb, group, resource, names) in grants(chart)
        if not any(grants_one((verb, group, resource, names), r) for r in requests)
    }


def documented():
    """Rows `| chart | verb | group | resource | reason |` of the table under TABLE_HEADING."""
    text = DOCS.read_text()
    start = text.index(TABLE_HEADING)
    rows = set()
    for line in text[start:].splitlines()[1:]:
        if line.startswith("#"):
            break
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("chart", "") or set(cells[0]) <= set("-"):
            continue
        chart, verb, group, resource, reason = cells
        if not reason:
            sys.exit(f"docs/charts.md: {chart} {verb} {group}/{resource} has no reason")
        rows.add((chart, verb, "" if group == "core" else group, resource))
    return rows


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    directory = pathlib.Path(sys.argv[1])
    charts = sorted(p.name for p in (ROOT / "charts").iterdir() if p.is_dir())
    found = set()
    for chart in charts:
        if not (directory / chart).is_dir():
            sys.exit(f"no requests recorded for {chart} in {directory}: did its tests run with $RBAC_USED_DIR?")
        requests = used(directory, chart)
        found |= unused(chart, requests)
        print(f"{chart}: {len(requests)} distinct requests recorded")
    listed = documented()
    fmt = lambda g: f"| {g[0]} | {g[1]} | {g[2] or 'core'} | {g[3]} |"
    missing, stale = sorted(found - listed), sorted(listed - found)
    for g in missing:
        print(f"granted but used by no test, and not in docs/charts.md: {fmt(g)}")
    for g in stale:
        print(f"listed as unused in docs/charts.md, but a test used it: {fmt(g)}")
    if missing or stale:
        sys.exit(1)
    print(f"{len(found)} grants no test uses, each documented with a reason")


if __name__ == "__main__":
    main()
