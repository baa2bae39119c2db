"""Per-operator charts stay readable for real networks: one row per operator at a fixed height
(scrolled, never squeezed), the costliest first with the rest in one row, full text on hover."""

import pytest
from PySide6.QtCore import QPointF

from app.qt_opbars import MANY, ROW_PX, TOP, OpBars, OpRow


def _rows(n):
    return [OpRow(f"#{i} CONV_2D_WITH_A_VERY_LONG_CUSTOM_NAME_{i}", f"op {i} detail", [[i + 1.0, 2.0 * i], [5.0, None]])
            for i in range(n)]


@pytest.mark.parametrize("n", [5, MANY, 300])
def test_rows_keep_their_height_and_labels_whatever_the_count(qtbot, n):
    w = OpBars(["Flash (B)", "RAM (B)"], rest=("sum", "max"))
    qtbot.addWidget(w)
    w.resize(1200, 600)
    w.show()
    w.setRows(_rows(n), [("original", (120, 120, 120)), ("int8", (66, 133, 244))])
    shown = w.shown
    if n <= MANY:  # graph order, every operator
        assert [r.label for r in shown] == [r.label for r in _rows(n)]
    else:  # the costliest TOP by the first panel, then one row for the rest
        assert len(shown) == TOP + 1 and shown[0].label.startswith("#299 ")
        rest = _rows(n)[:n - TOP]
        assert shown[-1].label == f"{n - TOP} others"
        assert shown[-1].values[0] == [sum(r.values[0][0] for r in rest), sum(r.values[0][1] for r in rest)]
        assert shown[-1].values[1] == [5.0, None]  # RAM: the largest of the rest, not a sum
    assert w.canvas.minimumHeight() >= len(shown) * ROW_PX  # scrolls rather than overlapping labels
    ticks = w.plots[0].getAxis("left")._tickLevels[0]
    assert len(ticks) == len(shown) and all(len(t) <= 36 for _, t in ticks)  # long names elided
    qtbot.wait(20)
    y = len(shown) - 1
    pos = w.plots[1].vb.mapViewToScene(QPointF(1, y))
    assert w.rowAt(pos, 1) == y
    w._on_mouse_moved(pos, w.views[1])
    assert w.views[1].toolTip() == shown[y].detail  # the full text on hover


def test_the_users_order_is_kept_across_selections(qtbot):
    w = OpBars(["Instructions"])
    qtbot.addWidget(w)
    w.setRows(_rows(300), [("int8", (66, 133, 244))])
    w.order.setCurrentIndex(0)
    w._on_order_chosen(0)
    assert len(w.shown) == 300
    w.setRows(_rows(120), [("int8", (66, 133, 244))])
    assert len(w.shown) == 120 and w.shown[0].label.startswith("#0 ")
