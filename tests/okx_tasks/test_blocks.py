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

    def test_has_a_valid_image(self, block: type[Block], prefect_db: object) -> None:
        """Offline: Prefect's own check downloads the image. What a block user sees is the logo the
        server stores when the type is registered (``prefect block register -m okx_tasks.blocks``),
        which the UI loads in the browser: an https URL on OKX's own site, of an image file."""
        from urllib.parse import urlsplit

        from prefect.client.orchestration import get_client
        from pydantic import HttpUrl, TypeAdapter

        logo = block._logo_url
        assert logo is not None, f"{block.__name__} has no _logo_url"
        url = urlsplit(str(TypeAdapter(HttpUrl).validate_python(str(logo))))
        assert url.scheme == "https" and not url.query and not url.fragment, logo
        assert url.hostname == "okx.com" or str(url.hostname).endswith(".okx.com"), logo
        assert url.path.rsplit(".", 1)[-1].lower() in {"png", "svg", "ico", "jpg", "jpeg", "webp"}, logo

        block.register_type_and_schema()
        with get_client(sync_client=True) as client:
            stored = client.read_block_type_by_slug(block.get_block_type_slug())
        assert str(stored.logo_url) == str(logo)


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
