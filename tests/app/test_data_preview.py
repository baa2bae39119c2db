"""The Data tab: the samples a run evaluates on, with labels, and the original's and the variant's
predictions side by side, disagreements marked; task and mean/std scaling reach the recipe."""

import numpy as np

from app.qt_preview import DISAGREE, PreviewWidget
from core.measure.preview import Preview, kind_of, predictions
from tests.app.conftest import wait_idle


def test_disagreements_are_marked(qtbot):
    w = PreviewWidget()
    qtbot.addWidget(w)
    x = np.random.default_rng(0).uniform(0, 1, (3, 8, 8, 1)).astype(np.float32)
    w.setPreview(Preview(x, "image", ["cat", "dog", "cat"], "test split"))
    w.setPredictions(["cat 0.90", "dog 0.80", "cat 0.70"], ["cat 0.88", "cat 0.51", "cat 0.69"],
                     ("original", "int8"))
    assert w.disagreements() == 1 and DISAGREE in w.texts[1].text() and "label <b>dog</b>" in w.texts[1].text()
    w.setPredictions(["score 0.01"] * 3, ["score 0.02"] * 3)  # scores are compared by eye, not marked
    assert w.disagreements() == 0


def test_predictions_follow_the_task():
    x = np.zeros((2, 4), np.float32)
    assert predictions("classification", x, np.array([[0.1, 0.9], [0.8, 0.2]]), ["no", "yes"]) == \
        ["yes 0.90", "no 0.80"]
    assert predictions("classification", x, np.array([[0.0, 2.0], [1.0, 1.0]])) == ["1 0.88", "0 0.50"]  # logits
    assert predictions("anomaly", x, np.ones((2, 4)))[0] == "score 1"
    assert predictions("regression", x, np.array([[3.14159], [2.0]])) == ["3.14", "2"]
    assert kind_of((28, 28)) == kind_of((96, 96, 3)) == "image" and kind_of((640,)) == "signal"


def test_window_shows_samples_then_predictions(window, qtbot, tiny_h5):
    window.openModel(str(tiny_h5))
    qtbot.waitUntil(lambda: window.preview.preview is not None, timeout=120_000)  # read after the load
    wait_idle(qtbot, window)
    assert len(window.preview.texts) == 8
    assert window.preview.preview.truth[0] != ""  # mnist-5k is labelled
    window.panel.task.setCurrentIndex(window.panel.task.findData("classification"))
    assert window.panel.chooseNorm("0.1307/0.3081")
    recipe = window.currentRecipe()
    assert recipe.task == "classification" and recipe.input_norm == {"mean": [0.1307], "std": [0.3081]}
    assert not window.panel.chooseNorm("0.5/-1") and "above 0" in window.last_error
    window.panel.sequence.setRecipeSteps([{"name": "quantize", "params": {"modes": ["int8"]}}])
    window._on_run_clicked()
    wait_idle(qtbot, window, 300_000)
    assert len(window.variants.payloads) == 2
    window.results.selectRow(1)
    texts = [t.text() for t in window.preview.texts]
    assert all(t.count("<br>") == 2 for t in texts), texts  # label, original's, variant's figures
    assert all("int8" not in t for t in texts)  # the names once, in the legend, not under every sample
    assert "<b>original</b>" in window.preview.legend.text() and "<b>int8</b>" in window.preview.legend.text()
    window.resize(1600, 950)
    window.tabs.setCurrentWidget(window.preview)
    qtbot.wait(50)
    last = window.preview.texts[-1]
    right = last.mapTo(window.preview, last.rect().topRight()).x()
    assert right <= window.preview.width(), "8 samples do not fit the tab at 1,600 px"
    assert window.preview.preview.x.min() < -0.4  # normalized with the chosen mean/std


def test_eight_samples_fit_whatever_the_variants_name(qtbot):
    """At 1,600 px the tab is about 1,100 px wide: all 8 samples show at once, without a scroll bar,
    however long the variant's name (it used to widen every sample: 3.5 of 8 fitted)."""
    w = PreviewWidget()
    qtbot.addWidget(w)
    w.resize(1100, 500)
    w.show()
    x = np.random.default_rng(0).uniform(0, 1, (8, 28, 28, 1)).astype(np.float32)
    w.setPreview(Preview(x, "image", [str(i) for i in range(8)], "test split"))
    name = "clustered+qat+int8+stripped+compressed"
    w.setPredictions([f"{i} 1.00" for i in range(8)], [f"{i} 0.99" for i in range(8)], ("original", name))
    qtbot.wait(50)
    last = w.texts[-1]
    assert last.mapTo(w, last.rect().topRight()).x() <= w.width()
    assert name in w.legend.text() and all(name not in t.text() for t in w.texts)
    assert name in w.texts[0].toolTip()  # the full line on hover
