"""`ixchange classes`: class schemes, parameters and a dry run of classing."""

from __future__ import annotations

import argparse
from typing import Any

from ixchange.v1 import classes_pb2

from controller.cli.common import SERVICE_NAMES, SERVICES, Client, Table, console, emit, key_value


def add_parsers(sub: Any) -> None:
    classes = sub.add_parser("classes", help="class schemes, parameters, dry-run classing")
    classes.add_argument("action", nargs="?", choices=("list", "params", "classify"), default="list")
    classes.add_argument("--all", action="store_true", help="every scheme version")
    classes.add_argument("--service", choices=SERVICES, default="eline")
    classes.add_argument("--scheme")
    classes.add_argument("--value", type=key_value, action="append")
    classes.set_defaults(run=cmd_classes)


def cmd_classes(args: argparse.Namespace, client: Client) -> int:
    if args.action == "params":
        params = client.call(client.classes.ListParameters, classes_pb2.ListParametersRequest())
        emit(params, lambda: console.print(_parameters_table(params.parameters)))
        return 0
    if args.action == "classify":
        req = classes_pb2.ClassifyRequest(
            service_type=SERVICES[args.service], class_scheme=args.scheme or "", values=dict(args.value or [])
        )
        verdict = client.call(client.classes.Classify, req)
        emit(verdict, lambda: console.print(_verdict_table(verdict)))
        return 0
    schemes = client.call(client.classes.ListClassSchemes, classes_pb2.ListClassSchemesRequest(all_versions=args.all))

    def show() -> None:
        for s in schemes.schemes:
            console.print(_scheme_table(s))

    emit(schemes, show)
    return 0


def _parameters_table(parameters: Any) -> Table:
    table = Table(title="Parameters")
    for col in ("name", "unit", "better", "range", "score worst..best", "description"):
        table.add_column(col)
    for p in parameters:
        better = "higher" if p.direction == classes_pb2.DIRECTION_HIGHER_IS_BETTER else "lower"
        table.add_row(
            p.name, p.unit, better, f"{p.min_value}..{p.max_value}", f"{p.score_worst}..{p.score_best}", p.description
        )
    return table


def _verdict_table(reply: Any) -> Table:
    table = Table(
        title=f"{reply.class_scheme} v{reply.scheme_version}: grade {reply.grade or 'none'} (score {reply.score})"
    )
    for col in ("grade", "qualifies", "score", "checks"):
        table.add_column(col)
    for v in reply.verdicts:
        checks = "; ".join(c.rule for c in v.checks)
        table.add_row(v.grade, "yes" if v.qualifies else "no", f"{v.score}/{v.min_score}", checks)
    return table


def _scheme_table(s: Any) -> Table:
    services = ", ".join(SERVICE_NAMES.get(x, "?") for x in s.service_types)
    weights = ", ".join(f"{k}x{v}" for k, v in sorted(s.weights.items()))
    table = Table(title=f"scheme {s.name} v{s.version} ({services}); weights {weights}")
    table.add_column("grade")
    table.add_column("min score", justify="right")
    table.add_column("bands")
    for g in s.grades:
        bands = []
        for b in g.bands:
            rule = (
                f"{b.effective}"
                if b.WhichOneof("bound") == "fixed"
                else (f"{b.effective} ({b.median.permille / 10:g}% of median)")
            )
            bands.append(f"{b.parameter} {rule}")
        table.add_row(g.name, str(g.min_score), ", ".join(bands))
    return table
