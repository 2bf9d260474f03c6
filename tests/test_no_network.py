"""Nothing touches the network at import or start-up: in a fresh process whose socket layer refuses every
host but this machine, import the package, build the command line and the UI, and serve it on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import socket, sys, time

    LOOPBACK = {"127.0.0.1", "::1", "localhost"}
    attempts = []
    real_connect, real_connect_ex, real_getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def outside(address):
        return isinstance(address, tuple) and address[0] not in LOOPBACK

    def connect(self, address):
        if outside(address):
            attempts.append(f"connect {address!r}")
            raise OSError(f"network use at import or start-up: {address!r}")
        return real_connect(self, address)

    def connect_ex(self, address):
        if outside(address):
            attempts.append(f"connect {address!r}")
            return 111
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and str(host) not in LOOPBACK:
            attempts.append(f"resolve {host!r}")
            raise socket.gaierror(f"network use at import or start-up: {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo

    import tortoise_studio, tortoise_studio.cli, tortoise_studio.models, tortoise_studio.ui.launcher
    from tortoise_studio.cli import build_parser
    from tortoise_studio.ui.app import build_app
    from tortoise_studio.ui.context import AppContext
    from tortoise_studio.workspace import Workspace

    build_parser().format_help()
    app = build_app(AppContext(Workspace.at(sys.argv[1]).ensure()))
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    time.sleep(2)  # background checks (analytics, version) would run now
    app.close()
    if attempts:
        sys.exit("network use: " + "; ".join(attempts))
    print("no network used")
""")


@pytest.mark.slow
def test_import_and_ui_start_use_no_network(tmp_path):
    # Without the test suite's own GRADIO_ANALYTICS_ENABLED / HF_HUB_OFFLINE: the project must not need them.
    env = {k: v for k, v in os.environ.items() if k not in ("GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE")}
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "ws")], capture_output=True, text=True,
                            timeout=180, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "no network used" in result.stdout
