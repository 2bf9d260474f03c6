"""The command-line contract: every command has --help; the UI's options; settings persist."""

import subprocess
import sys

import pytest

from tortoise_studio.cli import build_parser
from tortoise_studio.errors import UserError
from tortoise_studio.settings import Settings, load_settings, save_settings
from tortoise_studio.ui.launcher import parse_auth, parse_listen

COMMANDS = ["prepare", "config", "train", "status", "stop", "metrics", "generate", "models",
            "make-tiny-models", "download-models", "ui"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([command, "--help"])
    assert exit_.value.code == 0
    assert f"tortoise-studio {command}" in capsys.readouterr().out


def test_app_help_shows_the_ui_options(tmp_path):
    out = subprocess.run([sys.executable, "app.py", "--help"], capture_output=True, text=True, check=True).stdout
    for option in ("--listen HOST:PORT", "--auth USER:PASS", "--share", "--workspace DIR", "127.0.0.1:7860"):
        assert option in out


def test_listen_and_auth_parsing(monkeypatch):
    assert parse_listen("127.0.0.1:7860") == ("127.0.0.1", 7860)
    assert parse_listen("[::1]:8080") == ("::1", 8080)
    for bad in ("7860", "host:", "host:99999", "host:abc"):
        with pytest.raises(UserError, match="--listen"):
            parse_listen(bad)
    monkeypatch.delenv("TORTOISE_STUDIO_AUTH", raising=False)
    assert parse_auth(None) is None
    assert parse_auth("ann:secret") == ("ann", "secret")
    monkeypatch.setenv("TORTOISE_STUDIO_AUTH", "env:pw")
    assert parse_auth(None) == ("env", "pw")
    with pytest.raises(UserError, match="--auth"):
        parse_auth("nopassword")


def test_settings_round_trip_and_bad_values(workspace):
    assert load_settings(workspace) == Settings()
    save_settings(workspace, Settings(models_dir="/some/tiny", device="cpu"))
    assert load_settings(workspace) == Settings(models_dir="/some/tiny", device="cpu")
    with pytest.raises(UserError, match="device"):
        save_settings(workspace, Settings(device="tpu"))
    workspace.settings_file.write_text("{not json")
    with pytest.raises(UserError, match="settings.json"):
        load_settings(workspace)
