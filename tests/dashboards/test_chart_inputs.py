"""What the dashboard page draws: the incidence chart's threshold line is one the areas share."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from dashboards.views import dashboard_charts


def area(code: str, name: str, rate: str, threshold: str):
    incidence = SimpleNamespace(
        rate=Decimal(rate), threshold=Decimal(threshold), below_threshold=Decimal(rate) < Decimal(threshold)
    )
    return SimpleNamespace(division=SimpleNamespace(code=code, name=name), incidence=incidence)


def board(*areas):
    return SimpleNamespace(
        areas=list(areas),
        year=2018,
        years=[],
        by_cause=[],
        by_attribute=[],
        by_measure=[],
        by_five_batches=[],
        plan=SimpleNamespace(has_plan=False),
    )


def test_one_threshold_is_drawn_as_a_line():
    areas = area("431129000000", "江华", "2.50", "2"), area("431027000000", "桂东", "1.00", "2")
    chart = dashboard_charts(board(*areas))
    svg = str(chart["incidence"])
    assert 'class="chart-threshold"' in svg
    assert "▲ 达到或超过退出标准 2%" in svg


def test_mixed_thresholds_draw_no_line_and_mark_each_area_against_its_own():
    # 湘西's counties are western (3 %), 永州's central (2 %): 2.5 % is above one and below the other.
    chart = dashboard_charts(
        board(area("433122000000", "泸溪", "2.50", "3"), area("431129000000", "江华", "2.50", "2"))
    )
    svg = str(chart["incidence"])
    assert 'class="chart-threshold"' not in svg
    assert "<desc" in svg and "江华 2.5%（达到或超过本县退出标准）；泸溪 2.5%</desc>" in svg
