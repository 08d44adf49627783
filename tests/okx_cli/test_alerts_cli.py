"""``okx-flows alerts`` / ``halt`` / ``resume`` as a user meets them: their help, and every error
as one line on stderr with exit 1, never a traceback."""

from __future__ import annotations

import pytest

from okx_cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("okx-flows: error: ") and "Traceback" not in err, err
    return lines[0]


def test_help_names_the_sub_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "alerts", "--help")
    assert code == 0 and "{apply,show,remove}" in out
    code, out, _ = run(capsys, "alerts", "apply", "--help")
    assert code == 0 and "--block NAME" in out and "--grace SECONDS" in out and "--fills" in out
    code, out, _ = run(capsys, "resume", "--help")
    assert code == 0 and "--all-paused" in out
    code, _, err = run(capsys, "alerts", "apply")
    assert code == 2 and "--block" in err


def test_without_a_server_every_command_says_so_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: None}):
        for argv in (("alerts", "show"), ("halt",), ("resume", "--account", "main")):
            code, _, err = run(capsys, *argv)
            assert code == 1 and "set PREFECT_API_URL" in one_line_error(err)


def test_an_unreachable_server_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api", PREFECT_CLIENT_MAX_RETRIES: 0}):
        code, _, err = run(capsys, "alerts", "show")
    assert code == 1 and "cannot reach the Prefect server at http://127.0.0.1:9/api" in one_line_error(err)


def test_a_missing_block_or_account_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "alerts", "apply", "--block", "no-such-block-anywhere")
    assert code == 1 and "no notification block named 'no-such-block-anywhere'" in one_line_error(err)
    code, _, err = run(capsys, "alerts", "remove", "--account", "nobody-at-all")
    assert code == 0
    code, _, err = run(capsys, "halt", "--account", "nobody-at-all")
    assert code == 1 and "no deployment is tagged okx and okx-account:nobody-at-all" in one_line_error(err)
    code, out, err = run(capsys, "alerts", "apply", "--block", "x", "--grace", "-1")
    assert code == 1 and "--grace is -1" in one_line_error(err)
