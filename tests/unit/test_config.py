"""Configuration: the shipped example validates; bad files give located, secret-free errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccops.config import ConfigError, PbxConfig, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_example_is_valid() -> None:
    settings = load_settings(ROOT / "config" / "ccops.example.toml")
    assert [p.name for p in settings.pbx] == ["main"]
    assert settings.pbx[0].trunks[0].capacity == 30
    assert settings.kpi.queues["hotline"].sl_threshold == 15


def test_no_file_means_embedded_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CCOPS_CONFIG", raising=False)
    settings = load_settings(None, use_default_path=False)
    assert settings.uses_simulator
    assert settings.kpi.short_abandon == 20


def test_errors_name_file_line_and_field(tmp_path: Path) -> None:
    cfg = tmp_path / "ccops.toml"
    cfg.write_text(
        '[[pbx]]\nname = "a"\nsecret = "s3cr3t"\n\n[[pbx]]\nname = "b"\nport = 70000\n'
        'colour = "red"\n'
    )
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    text = str(err.value)
    assert f"{cfg} line 7: pbx[1].port: Input should be less than or equal to 65535" in text
    assert f"{cfg} line 8: pbx[1].colour: Extra inputs are not permitted" in text
    assert "s3cr3t" not in text


def test_roster_error_points_at_the_entry_at_fault(tmp_path: Path) -> None:
    """The roster validator sees the whole list; the line must still be the second entry's
    ``mobile``, not the first ``[[oncall]]`` header."""
    cfg = tmp_path / "ccops.toml"
    cfg.write_text(
        '[[oncall]]\nname = "duty"\nextension = "2001"\n\n'
        '[[oncall]]\nname = "eng"\nmobile = "112"\n'
    )
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert f"{cfg} line 7: oncall: " in str(err.value)
    assert "oncall[1] (eng).mobile '112' reaches emergency number 112" in str(err.value)


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[pbx\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "absent.toml")


def test_duplicate_pbx_names_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[pbx]]\nname = "a"\n[[pbx]]\nname = "a"\n')
    with pytest.raises(ConfigError, match="repeated: a"):
        load_settings(cfg)


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[kpi]\nsl_threshold = 20\n")
    monkeypatch.setenv("CCOPS_KPI__SL_THRESHOLD", "30")
    assert load_settings(cfg).kpi.sl_threshold == 30


def test_secret_sources_and_masking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inline = PbxConfig(name="a", secret="pw")  # type: ignore[arg-type]
    assert inline.resolve_secret() == "pw"
    assert "pw" not in repr(inline)
    secret_file = tmp_path / "s"
    secret_file.write_text("from-file\n")
    assert PbxConfig(name="a", secret_file=secret_file).resolve_secret() == "from-file"
    monkeypatch.setenv("CCOPS_PBX_MY_PBX_SECRET", "from-env")
    assert PbxConfig(name="my-pbx").resolve_secret() == "from-env"
    monkeypatch.delenv("CCOPS_PBX_MY_PBX_SECRET")
    with pytest.raises(ConfigError, match=r"\$CCOPS_PBX_MY_PBX_SECRET"):
        PbxConfig(name="my-pbx").resolve_secret()
