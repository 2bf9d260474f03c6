"""The web UI shell: a real server process, a real browser, the Settings tab."""


def test_settings_tab_shows_models_table(start_ui, page, tmp_path, tiny_models):
    server = start_ui(tmp_path / "ws")
    page.goto(server.url)
    page.wait_for_function("document.title === 'Tortoise Studio'")  # Gradio sets the title from JavaScript
    page.get_by_role("tab", name="Settings").click()
    page.locator("#settings-models-dir textarea, #settings-models-dir input").first.fill(str(tiny_models))
    page.get_by_role("button", name="Save Settings").click()
    table = page.locator("#settings-models-table")
    table.get_by_text("autoregressive.pth").wait_for()
    assert table.get_by_text("ok").count() >= 5
    assert (tmp_path / "ws" / "settings.json").read_text().count(str(tiny_models)) == 1
