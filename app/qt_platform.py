"""Before Qt starts: can its platform plugin load here? If not, say which packages to install.

Qt aborts the process when the xcb plugin cannot load (PySide6 6.5+ needs libxcb-cursor0 and
friends, which fresh Debian and many desktop distributions lack), with a message that names
neither the missing libraries nor the packages. So the window's start first asks the dynamic
linker (ldd) what the plugin lacks and, when something is missing, prints one clear message and
exits. Imports no Qt module: only PySide6's location on disk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# soname -> Debian/Ubuntu package: what the xcb plugin and QtWebEngine link against (found with
# ldd on PySide6 6.11.3's plugins; Makefile GUI_PKGS installs the same set).
PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-randr.so.0": "libxcb-randr0", "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0", "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0", "libxcb-sync.so.1": "libxcb-sync1", "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0", "libxcb-xkb.so.1": "libxcb-xkb1", "libxcb.so.1": "libxcb1",
    "libxcb-glx.so.0": "libxcb-glx0", "libxcb-dri3.so.0": "libxcb-dri3-0",
    "libX11-xcb.so.1": "libx11-xcb1", "libX11.so.6": "libx11-6", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0", "libEGL.so.1": "libegl1", "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0", "libfontconfig.so.1": "libfontconfig1", "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3", "libglib-2.0.so.0": "libglib2.0-0", "libgthread-2.0.so.0": "libglib2.0-0",
    "libnss3.so": "libnss3", "libnspr4.so": "libnspr4", "libasound.so.2": "libasound2",
    "libXcomposite.so.1": "libxcomposite1", "libXdamage.so.1": "libxdamage1", "libXrandr.so.2": "libxrandr2",
    "libXtst.so.6": "libxtst6", "libxkbfile.so.1": "libxkbfile1", "libgbm.so.1": "libgbm1", "libdrm.so.2": "libdrm2",
    "libXext.so.6": "libxext6", "libXfixes.so.3": "libxfixes3", "libXrender.so.1": "libxrender1",
}


def qt_dir() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    return Path(spec.origin).parent / "Qt" if spec and spec.origin else None


def missing_libraries(library: Path) -> list[str]:
    """Sonames `library` needs that the dynamic linker cannot find (ldd), in its order."""
    if shutil.which("ldd") is None or not library.exists():
        return []
    try:
        out = subprocess.run(["ldd", str(library)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    missing = []
    for line in out.splitlines():
        name, _, where = line.strip().partition(" => ")
        if where.strip() == "not found" and name not in missing:
            missing.append(name)
    return missing


def wants_xcb() -> bool:
    """Qt will try the xcb plugin: asked for, or on Linux with nothing else asked for."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(":")[0].split(";")[0] == "xcb"
    return sys.platform.startswith("linux") and not os.environ.get("WAYLAND_DISPLAY")


def install_hint(sonames: list[str]) -> str:
    packages = sorted({PACKAGES.get(s, "") for s in sonames} - {""})
    unknown = [s for s in sonames if s not in PACKAGES]
    hint = f"sudo apt-get install {' '.join(packages)}" if packages else ""
    if unknown:
        hint += (" and " if hint else "") + "the packages that provide " + ", ".join(unknown)
    return hint


def problem() -> str | None:
    """Why the window cannot open here, with what to do; None when the platform can start."""
    if not wants_xcb():
        return None
    root = qt_dir()
    if root is None:
        return None
    missing = missing_libraries(root / "plugins" / "platforms" / "libqxcb.so")
    if missing:
        return (f"TinyOpt Studio cannot open its window: Qt's xcb platform plugin needs {', '.join(missing)}, "
                f"which this machine lacks.\nInstall: {install_hint(missing)}\n(`make setup-gui` does it as "
                "root; other distributions name the packages alike.) The headless commands work without "
                "them: tinyopt run --help.")
    if not os.environ.get("DISPLAY"):
        return ("TinyOpt Studio cannot open its window: there is no display (DISPLAY is not set). Start it "
                "from a desktop session, or on a server under a virtual screen: xvfb-run -a tinyopt. The "
                "headless commands need no display: tinyopt run --help.")
    return None


def webengine_missing() -> list[str]:
    """Libraries the embedded graph view (QtWebEngine) lacks: the Graph tab then says what to install."""
    root = qt_dir()
    if root is None:
        return []
    return missing_libraries(root / "lib" / "libQt6WebEngineCore.so.6")
