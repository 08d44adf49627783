"""The OkxCredentials block: Prefect's block standards, save/load by name, no secret shown."""

from __future__ import annotations

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite

from okx_tasks.blocks import OkxCredentials, drop_cached_clients
from okx_wire.errors import ConfigurationError
from tests.conftest import PASSPHRASE, SECRET


class TestBlockStandards(BlockStandardTestSuite):
    @pytest.fixture
    def block(self) -> type[Block]:
        return OkxCredentials

    def test_has_a_valid_image(self, block: type[Block]) -> None:  # type: ignore[override]
        pytest.skip("fetching the logo needs the internet, which CI does not have")


def make_block(**kw: object) -> OkxCredentials:
    return OkxCredentials(api_key="k-1", secret_key=SECRET, passphrase=PASSPHRASE, **kw)  # type: ignore[arg-type]


def test_repr_and_dump_hide_secrets() -> None:
    block = make_block(base_url="http://127.0.0.1:1")
    for text in (repr(block), str(block), str(block.model_dump()), block.model_dump_json()):
        assert SECRET not in text and PASSPHRASE not in text


def test_save_and_load_by_name(prefect_db: object) -> None:
    make_block(base_url="https://eea.okx.com", demo=True).save("okx-test-main", overwrite=True)
    loaded = OkxCredentials.load("okx-test-main")
    assert loaded.secret_key.get_secret_value() == SECRET
    assert loaded.base_url == "https://eea.okx.com" and loaded.demo


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKX_API_KEY", "k-env")
    monkeypatch.setenv("OKX_SECRET_KEY", SECRET)
    monkeypatch.setenv("OKX_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("OKX_BASE_URL", "http://127.0.0.1:9")
    block = OkxCredentials.from_env()
    assert block.api_key == "k-env" and block.base_url == "http://127.0.0.1:9" and not block.demo
    monkeypatch.delenv("OKX_PASSPHRASE")
    with pytest.raises(ConfigurationError, match="OKX_PASSPHRASE"):
        OkxCredentials.from_env()


def test_one_client_per_key_and_venue() -> None:
    drop_cached_clients()
    a, b = make_block(base_url="http://127.0.0.1:1"), make_block(base_url="http://127.0.0.1:1")
    assert a.get_client() is b.get_client()
    assert make_block(base_url="http://127.0.0.1:2").get_client() is not a.get_client()
    drop_cached_clients()


def test_block_type_is_registered_through_the_collection_entry_point() -> None:
    from prefect.plugins import load_prefect_collections
    from prefect.utilities.dispatch import lookup_type

    assert "okx_tasks" in load_prefect_collections()
    assert lookup_type(Block, "okx-credentials") is OkxCredentials
