"""prefect.yaml: every deployment's entrypoint resolves to a flow and its spec validates."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml
from prefect import Flow

from flows.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]


def deployments() -> list[dict]:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]


def test_every_example_spec_has_a_deployment():
    used = {d["parameters"]["spec_path"] for d in deployments()}
    assert used == {f"specs/{p.name}" for p in (ROOT / "specs").glob("*.yaml")}


def test_entrypoints_resolve_and_specs_validate():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    assert config["pull"][0]["prefect.deployments.steps.set_working_directory"]["directory"]
    names = set()
    for deployment in deployments():
        path, _, function = deployment["entrypoint"].partition(":")
        assert (ROOT / path).is_file()
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, function)
        assert isinstance(flow, Flow)
        assert set(deployment["parameters"]) <= set(flow.parameters.properties)
        spec = load_spec(ROOT / deployment["parameters"]["spec_path"])
        assert spec.strategy.kind == flow.name, deployment["name"]
        assert deployment["work_pool"]["name"] == "okx-process"
        assert all("cron" in s for s in deployment["schedules"])
        assert set(deployment["tags"]) >= {"okx", "okx-account:main"}
        names.add(deployment["name"])
    assert len(names) == len(deployments())


def test_flow_parameters_hold_no_secret():
    for deployment in deployments():
        path, _, function = deployment["entrypoint"].partition(":")
        flow = getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), function)
        props = dict(flow.parameters.properties)
        if flow.name == "signal":
            # The durable path's signal: a ``Signal`` model, whose fields hold no secret (the
            # receiver checks the body's token and drops it before a Signal exists).
            from okx_strategies.signal import Signal

            props.pop("signal")
            assert set(Signal.model_fields) == {"spec", "signal_id", "time_ms", "action", "inst_id", "price",
                                                "comment"}
        assert {"spec_path", "dry_run", "confirm_live"} <= set(props) <= {"spec_path", "dry_run", "confirm_live",
                                                                          "resume", "restart"}
        # Beside the spec's path, only switches: nothing a secret could be passed in.
        assert all("boolean" in str(props[name]) for name in set(props) - {"spec_path"}), props


def test_every_registered_strategy_has_its_flow_example_and_deployment():
    """What docs/adding-a-strategy.md asks for beside the module, checked for every strategy."""
    from okx_strategies.registry import strategies

    kinds_deployed = {load_spec(ROOT / d["parameters"]["spec_path"]).strategy.kind for d in deployments()}
    for kind, strategy in strategies().items():
        module, _, function = strategy.flow_ref.partition(":")
        flow = getattr(importlib.import_module(module), function)
        assert isinstance(flow, Flow) and flow.name == kind
        assert kind in kinds_deployed, f"no deployment in prefect.yaml runs a {kind} spec"
