"""Start TinyOpt Studio: `tinyopt [MODEL]` (no model: the reference CNN and the default sequence)."""

from __future__ import annotations

import argparse
import os
import sys
import time


def _parser():
    p = argparse.ArgumentParser(prog="tinyopt", description="TinyOpt Studio desktop app")
    p.add_argument("model", nargs="?", help="a model to open (.h5, .keras, SavedModel folder, .tflite, .onnx)")
    p.add_argument("--recipe", help="a recipe.json to load into the sequence panel")
    p.add_argument("--smoke-test", metavar="PNG", help="load the model (or the reference CNN), save a "
                   "screenshot of the window to PNG and exit (used by make package-check)")
    return p


def main(argv=None) -> int:
    started = time.perf_counter()
    args = _parser().parse_args(argv)
    from app.qt_platform import problem

    why = problem()  # before Qt, which aborts the process when its platform plugin cannot load
    if why:
        print(why, file=sys.stderr)
        return 1
    if os.geteuid() == 0 if hasattr(os, "geteuid") else False:
        # Chromium refuses to run as root with its sandbox; only local Netron pages are shown.
        flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
        if "--no-sandbox" not in flags:
            os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = (flags + " --no-sandbox").strip()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("TinyOpt Studio")
    app.setDesktopFileName("tinyopt-studio")
    window = MainWindow()
    app.setWindowIcon(window.windowIcon())
    from core.presets import DEFAULT

    window.panel.sequence.setRecipeSteps(DEFAULT)
    app.aboutToQuit.connect(window.shutdown)  # web pages must go before their profile
    window.show()
    window.log.appendPlainText(f"window shown {time.perf_counter() - started:.2f} s after launch")
    if args.recipe:
        from core.recipe import Recipe

        window.applyRecipe(Recipe.load(args.recipe))
    # Load after the first paint, so the window appears before TensorFlow is imported.
    QTimer.singleShot(0, (lambda: window.openModel(args.model)) if args.model else window.loadReference)
    if args.smoke_test:
        def snap():
            if window.loaded is None and not window.last_error:
                return QTimer.singleShot(200, snap)
            window.grab().save(args.smoke_test)
            print(f"screenshot {args.smoke_test}; model loaded: {window.loaded is not None}; "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
            app.exit(0 if window.loaded is not None else 1)

        QTimer.singleShot(200, snap)
    code = app.exec()
    window.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
