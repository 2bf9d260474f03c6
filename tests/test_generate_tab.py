"""The Generate tab: its handlers directly, and its wiring through gradio_client on an in-process server."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import soundfile
import torch

from tortoise_studio.errors import UserError
from tortoise_studio.settings import load_settings, save_settings
from tortoise_studio.ui.generate_tab import ADVANCED, preset_values, settings_from

# preset, candidates, seed, then the advanced widgets in ADVANCED's order
QUICK_FORM = ["ultra_fast", 2, 0, 3, 0.8, 0.8, 2.0, 1.0, 1.0, False, 2.0, 10, True, False]


def test_form_values_become_validated_settings():
    settings = settings_from(*QUICK_FORM)
    assert (settings.preset, settings.candidates, settings.diffusion_iterations, settings.max_mel_tokens) == \
        ("ultra_fast", 2, 3, 10)
    assert len(QUICK_FORM) == 3 + len(ADVANCED)
    with pytest.raises(UserError, match="^seed: enter a whole number"):
        settings_from("fast", 96, None, *QUICK_FORM[3:])
    with pytest.raises(UserError, match="^candidates: enter a whole number"):
        settings_from("fast", 2.5, 0, *QUICK_FORM[3:])
    with pytest.raises(UserError, match="^top_p: "):
        settings_from("fast", 2, 0, 3, 0.8, 0.0, *QUICK_FORM[6:])
    assert preset_values("standard") == (256, 200, True)
    assert preset_values("ultra_fast") == (16, 30, False)


@pytest.fixture
def client(workspace, tiny_models, tortoise_voices):
    from gradio_client import Client

    from tortoise_studio.ui.app import build_app
    from tortoise_studio.ui.context import AppContext
    voice = workspace.voice_dir("v")
    voice.mkdir()
    shutil.copy(tortoise_voices / "rainbow" / "1.wav", voice / "1.wav")
    state = torch.load(tiny_models / "autoregressive.pth", weights_only=True)
    workspace.finetunes.mkdir(parents=True)
    torch.save({k: v * 1.1 if v.is_floating_point() else v for k, v in state.items()}, workspace.finetunes / "x.pth")
    settings = load_settings(workspace)
    settings.models_dir = str(tiny_models)
    save_settings(workspace, settings)
    app = build_app(AppContext(workspace)).queue()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    _, url, _ = app.launch(prevent_thread_lock=True, allowed_paths=[str(workspace.results)], quiet=True)
    yield Client(url, verbose=False)
    app.close()
    torch.set_num_threads(threads)


def test_wiring_generate_ab_and_missing_weights(client, workspace, tiny_models, tmp_path):
    message, audio, results = client.predict("Hello there.", "v", "", *QUICK_FORM, api_name="/on_generate")
    assert message.startswith("Saved results/v/v_0001.wav: 0.46 s of audio")
    assert soundfile.info(audio).samplerate == 24000
    assert results["value"] == str(workspace.results / "v" / "v_0001.wav")

    note, audio_a, audio_b, _ = client.predict("Hello there.", "v", "", str(workspace.finetunes / "x.pth"),
                                               *QUICK_FORM, api_name="/on_compare")
    assert "A: Saved results/v/v_0002.wav" in note and "B: Saved results/v/v_0003.wav" in note
    assert "fine-tune: x" in note
    a, b = soundfile.read(audio_a)[0], soundfile.read(audio_b)[0]
    assert len(a) == len(b) and not np.allclose(a, b)
    assert '"label": "B"' in (workspace.results / "v" / "v_0003.json").read_text()

    broken = tmp_path / "broken"
    shutil.copytree(tiny_models, broken)
    (broken / "vocoder.pth").unlink()
    settings = load_settings(workspace)
    settings.models_dir = str(broken)
    save_settings(workspace, settings)
    message, _, _ = client.predict("Hello there.", "v", "", *QUICK_FORM, api_name="/on_generate")
    assert message.startswith(f"**Error:** {broken / 'vocoder.pth'}: file not found; get TorToiSe's files")
    assert "Traceback" not in message


def test_numbers_out_of_range_name_the_field_value_and_range():
    # the widgets declare no minimum/maximum, so these messages (not Gradio's nameless toast) reach the page
    for form, message in ((["fast", 2, -1, *QUICK_FORM[3:]], "seed: -1 must be a whole number from 0 to 4294967295"),
                          (["fast", 0, 0, *QUICK_FORM[3:]], "candidates: 0 must be a whole number from 1 to 1024"),
                          (["fast", 2, 0, 0, *QUICK_FORM[4:]], "diffusion_iterations: 0 must be a whole number"),
                          (["fast", 2, float("inf"), *QUICK_FORM[3:]], "seed: enter a whole number")):
        with pytest.raises(UserError, match="^" + re.escape(message)):
            settings_from(*form)
