"""Run the daemon at login: a systemd user unit on Linux, a launchd agent on macOS."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from assistant.home import Home

UNIT_NAME = "persona-assistant.service"
SYSTEMD_DIR_ENV = "ASSISTANT_SYSTEMD_DIR"  # where the unit goes (tests point it at a temp folder)
LAUNCHD_LABEL = "org.persona-assistant.daemon"


def systemd_unit(home: Home, python: str = sys.executable) -> str:
    return f"""\
[Unit]
Description=persona-assistant: keep the private profile store current
After=default.target

[Service]
Type=simple
ExecStart={python} -m assistant --home {home.root} daemon run
Restart=on-failure
RestartSec=10
Nice=10

[Install]
WantedBy=default.target
"""


def systemd_unit_path() -> Path:
    folder = os.environ.get(SYSTEMD_DIR_ENV) or Path.home() / ".config" / "systemd" / "user"
    return Path(folder) / UNIT_NAME


def write_systemd_unit(home: Home) -> Path:
    path = systemd_unit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(systemd_unit(home), encoding="utf-8")
    return path


def launchd_plist_path() -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"


def launchd_plist(home: Home, python: str = sys.executable) -> str:
    return f"""\
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>{LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array><string>{python}</string><string>-m</string><string>assistant</string>
    <string>--home</string><string>{home.root}</string><string>daemon</string><string>run</string></array>
  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>
  <key>ProcessType</key><string>Background</string>
</dict>
</plist>
"""
