"""The Classes tab: the original's and the variant's confusion matrices, changed cells marked."""

from app.qt_confusion import CHANGED, ConfusionWidget
from core.measure.evaluation import Metrics
from core.measure.tasks import TaskScores


def _metrics(name, confusion, task="classification"):
    m = Metrics(name=name, kind="tflite", size_bytes=1, gzip_bytes=1, task=task)
    m.scores = TaskScores(task, confusion=confusion)
    return m


def test_changed_cells_are_marked(qtbot):
    w = ConfusionWidget()
    qtbot.addWidget(w)
    original = _metrics("original", [[5, 1], [0, 4]])
    int8 = _metrics("int8", [[4, 2], [0, 4]])
    w.setMetrics(original, int8, ["cat", "dog"], ("original", "int8"))
    (_, left), (_, right) = w.tables
    assert right.horizontalHeaderItem(1).text() == "dog" and right.item(0, 1).text() == "2"
    assert right.item(0, 1).background().color() == CHANGED and "original: 1" in right.item(0, 1).toolTip()
    assert left.item(0, 1).background().color() != CHANGED
    assert w.changedCells(original, int8) == [(0, 0), (0, 1)] and "2 cell(s) differ" in w.caption.text()


def test_anomaly_models_show_their_scores(qtbot):
    w = ConfusionWidget()
    qtbot.addWidget(w)
    m = Metrics(name="int8", kind="tflite", size_bytes=1, gzip_bytes=1, task="anomaly")
    m.scores = TaskScores("anomaly", auc=0.97, score_mean=0.01, score_p50=0.005, score_p95=0.04)
    w.setMetrics(None, m)
    assert "ROC AUC 0.9700" in w.caption.text() and "95th percentile" in w.caption.text()
