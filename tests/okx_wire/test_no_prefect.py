"""okx_wire and okx_sim work in a process where Prefect cannot be imported at all.

The wire layer and the simulator beside it must never reach for the Prefect layer above them;
an import that only happens on some path would slip past a static check, so this runs the real
thing: import every module, start a simulator, make a signed call.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent('''
    import importlib
    import pkgutil
    import sys


    class NoPrefect:
        """Refuses prefect and every submodule, as if it were not installed."""

        def find_spec(self, name, path=None, target=None):
            if name == "prefect" or name.startswith("prefect."):
                raise ImportError(f"{name} is not importable in this test")
            return None


    sys.meta_path.insert(0, NoPrefect())

    import okx_sim
    import okx_wire

    imported = []
    for package in (okx_wire, okx_sim):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if module.name.endswith(".__main__"):
                continue  # runs the simulator's command
            importlib.import_module(module.name)
            imported.append(module.name)

    from okx_sim import running_simulator
    from okx_wire.client import OkxClient

    with running_simulator() as sim:
        with OkxClient(sim.credentials, base_url=sim.base_url) as client:
            balance = client.balance(["USDT"])
    assert [d.ccy for d in balance.details] == ["USDT"], balance
    assert not [name for name in sys.modules if name == "prefect" or name.startswith("prefect.")]
    print(len(imported), "modules")
''')


def test_wire_and_simulator_import_and_run_without_prefect(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKX_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.split()[0]) >= 20, done.stdout
