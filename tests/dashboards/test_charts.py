"""The dashboard charts: well-formed SVG, honest geometry, escaped text, readable on a phone."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.utils.safestring import SafeString

from dashboards import charts
from dashboards.charts import bar_chart, column_chart, fmt, progress_chart

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(str(svg))  # noqa: S314 (our own output, not untrusted input)
    assert root.tag == f"{NS}svg"
    return root


def of_class(root: ET.Element, cls: str) -> list[ET.Element]:
    return [el for el in root.iter() if el.get("class") == cls]


def texts(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{NS}text"))


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = ((c / 12.92) if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_on_white(colour: str) -> float:
    """Return the WCAG 2 contrast ratio of ``colour`` against white."""
    return 1.05 / (luminance(colour) + 0.05)


def sample_charts() -> list[SafeString]:
    return [
        bar_chart(title="致贫原因", rows=[("因病", 36), ("因学", 12)], unit="户"),
        bar_chart(
            title="贫困发生率", rows=[("甲村", 3.1), ("乙村", 1.0)], unit="%", threshold=2, threshold_label="退出标准"
        ),
        progress_chart(title="年度减贫计划", rows=[("甲村", 82, 100), ("乙村", 120, 100), ("丙村", 3, 0)]),
        column_chart(title="历年", categories=[2014, 2015], series=[("识别", [10, 5]), ("脱贫", [2, 8])], unit="户"),
        column_chart(title="堆叠", categories=["一", "二"], series=[("A", [1, 2]), ("B", [3, 4])], stacked=True),
        bar_chart(title="下级区划", rows=[{"label": "甲村", "value": 3, "href": "/dashboard/1/"}], unit="户"),
    ]


# Numbers


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.1 + 0.2, "0.3"), (Decimal("2.50"), "2.5"), (1234, "1,234"), (1234567.891, "1,234,567.89"), (None, "—"),
     (-0.0001, "0"), (100.0, "100"), (Decimal("0"), "0")],
)  # fmt: skip
def test_fmt_prints_numbers_without_float_noise(value, text):
    assert fmt(value) == text


def test_no_float_noise_reaches_the_svg():
    svg = str(bar_chart(title="t", rows=[("a", 0.1 + 0.2), ("b", 1 / 3)], threshold=0.1 + 0.1))
    assert not re.search(r"\d\.\d{3,}", svg)
    assert "0.3" in svg and "0.33" in svg


# Bar chart


def test_bar_widths_are_proportional_to_values():
    root = parse(bar_chart(title="t", rows=[("a", 40), ("b", 20), ("c", 10), ("d", 0)]))
    widths = [float(bar.get("width")) for bar in of_class(root, "chart-bar")]
    assert widths[0] > 0
    assert widths[1] == pytest.approx(widths[0] / 2, abs=0.01)
    assert widths[2] == pytest.approx(widths[0] / 4, abs=0.01)
    assert widths[3] == 0


def test_max_value_fixes_the_scale_and_caps_bars():
    root = parse(bar_chart(title="t", rows=[("a", 50), ("b", 150)], max_value=100))
    half, full = (float(bar.get("width")) for bar in of_class(root, "chart-bar"))
    assert half == pytest.approx(full / 2, abs=0.01)
    assert "150" in "".join(t.text for t in texts(root))


def test_threshold_line_sits_at_the_threshold_and_marks_rows_at_or_above_it():
    root = parse(
        bar_chart(title="t", rows=[("甲", 4), ("乙", 1), ("丙", 2)], unit="%", threshold=2, threshold_label="退出标准")
    )
    bars = of_class(root, "chart-bar")
    x0, full = float(bars[0].get("x")), float(bars[0].get("width"))
    (line,) = of_class(root, "chart-threshold")
    assert float(line.get("x1")) == pytest.approx(x0 + full / 2, abs=0.01)
    assert line.get("x1") == line.get("x2") and line.get("stroke-dasharray")
    assert [bar.get("fill") for bar in bars] == [charts.EMPHASIS, charts.BAR, charts.EMPHASIS]
    values = [t.text for t in texts(root) if t.text and t.text[0].isdigit()]
    assert values == ["4% ▲", "1%", "2% ▲"]  # marked by text too, not by colour alone
    words = "".join(t.text for t in texts(root))
    assert "退出标准 2%" in words and "▲ 达到或超过退出标准 2%" in words
    assert root.find(f"{NS}desc").text.startswith("甲 4%（达到或超过退出标准 2%）；乙 1%；")


def test_emphasis_and_links_from_dicts_and_objects():
    rows = [
        {"label": "甲", "value": 3, "href": "/villages/1/", "emphasis": True},
        SimpleNamespace(label="乙", value=1, href="", emphasis=False),
    ]
    root = parse(bar_chart(title="t", rows=rows, emphasis_label="未达标"))
    (link,) = root.iter(f"{NS}a")
    assert link.get("href") == "/villages/1/"
    assert link.find(f"{NS}rect").get("fill") == charts.EMPHASIS
    assert "▲ 未达标" in [t.text for t in texts(root)]


def test_labels_titles_and_links_are_escaped():
    svg = str(
        bar_chart(
            title='<b>"标题"</b>',
            rows=[{"label": "<script>alert(1)</script>", "value": 1, "href": '/x?a=1&b="2"'}],
            unit="<u>",
        )
    )
    assert "<script>" not in svg and "<b>" not in svg and "<u>" not in svg
    root = parse(svg)
    assert "<script>alert(1)</script>" in [t.text for t in texts(root)]
    assert root.find(f"{NS}title").text == '<b>"标题"</b>'
    assert root.find(f"{NS}a").get("href") == '/x?a=1&b="2"'


def test_javascript_links_are_dropped():
    root = parse(bar_chart(title="t", rows=[{"label": "a", "value": 1, "href": "javascript:alert(1)"}]))
    assert root.find(f".//{NS}a") is None


def test_no_rows_gives_a_short_note_not_an_empty_chart():
    for empty in (
        bar_chart(title="致贫原因", rows=[]),
        progress_chart(title="计划", rows=[]),
        column_chart(title="历年", categories=[], series=[("识别", [])]),
        column_chart(title="历年", categories=[2014], series=[]),
    ):
        assert "<svg" not in empty and "暂无数据" in empty
        ET.fromstring(str(empty))  # noqa: S314


def test_none_reads_as_a_dash_and_draws_no_bar():
    root = parse(bar_chart(title="t", rows=[("a", None), ("b", 2)], unit="户"))
    assert len(of_class(root, "chart-bar")) == 1
    assert "—" in [t.text for t in texts(root)]
    assert root.find(f"{NS}desc").text == "a 无数据；b 2 户"


def test_all_zeros_and_all_none_draw_without_dividing_by_zero():
    zeros = parse(bar_chart(title="t", rows=[("a", 0), ("b", 0)]))
    assert [bar.get("width") for bar in of_class(zeros, "chart-bar")] == ["0", "0"]
    nones = parse(bar_chart(title="t", rows=[("a", None)]))
    assert of_class(nones, "chart-bar") == []
    single = parse(bar_chart(title="t", rows=[("a", 5)]))
    assert float(of_class(single, "chart-bar")[0].get("width")) > 100


def test_long_labels_are_cut_with_the_full_text_in_a_title():
    label = "某某省某某市某某县某某乡镇某某行政村村民委员会第一村民小组以及其他很长的名字"
    root = parse(bar_chart(title="t", rows=[(label, 1)]))
    shown = texts(root)[1].text
    assert shown.endswith("…") and label.startswith(shown[:-1])
    assert charts._text_width(shown, charts.FONT) <= charts.WIDTH - 2 * charts.PAD
    assert root.find(f".//{NS}g/{NS}title").text.startswith(label)


def test_many_rows_grow_the_chart_without_overlap():
    few = parse(bar_chart(title="t", rows=[(f"第{i}村", i) for i in range(3)]))
    root = parse(bar_chart(title="t", rows=[(f"第{i}村", i) for i in range(60)]))
    assert float(root.get("viewBox").split()[3]) > 10 * float(few.get("viewBox").split()[3])
    rows = root.findall(f"{NS}g")
    assert len(rows) == 60
    previous_bottom = 0.0
    for row in rows:
        label = row.find(f"{NS}text")
        bar = row.find(f"{NS}rect")
        label_top = float(label.get("y")) - charts.FONT
        assert label_top >= previous_bottom
        assert float(bar.get("y")) >= float(label.get("y"))
        previous_bottom = float(bar.get("y")) + float(bar.get("height"))


# Progress chart


def test_progress_fills_the_plan_track_by_share_done():
    root = parse(progress_chart(title="计划", rows=[("甲", 82, 100), ("乙", 120, 100), ("丙", 3, 0), ("丁", 1, None)]))
    tracks, done = of_class(root, "chart-track"), of_class(root, "chart-done")
    assert len(tracks) == len(done) == 2  # no plan, no track
    full = float(tracks[0].get("width"))
    assert float(done[0].get("width")) == pytest.approx(full * 0.82, abs=0.01)
    assert float(done[1].get("width")) == pytest.approx(full, abs=0.01)
    assert done[1].get("fill") == charts.DONE_FULL and done[0].get("fill") == charts.DONE
    words = [t.text for t in texts(root)]
    assert "82 / 100（82%）" in words
    assert "120 / 100（120%），超额 20" in words
    assert "未制定计划，已完成 3" in words and "未制定计划，已完成 1" in words


def test_progress_percent_never_rounds_up_to_done():
    root = parse(progress_chart(title="计划", rows=[("甲", 999, 1000), ("乙", None, 50)]))
    words = [t.text for t in texts(root)]
    assert "999 / 1,000（99.9%）" in words and "— / 50（0%）" in words


# Column chart


@pytest.mark.parametrize("top", [0.07, 0.3, 1, 2, 7, 10, 11, 26, 51, 99, 120, 999, 12345])
def test_ticks_are_round_and_few(top):
    for integers in (False, True):
        step, count = charts._ticks(top, integers=integers)
        mantissa = step / 10 ** math.floor(math.log10(step) + 1e-9)
        assert round(mantissa, 6) in (1, 2, 5)
        assert 3 <= count <= 5
        assert step * count >= top
        assert step >= 1 or not integers


def test_columns_are_proportional_and_gridlines_are_labelled():
    root = parse(column_chart(title="t", categories=[2014, 2015], series=[("识别", [40, 10]), ("脱贫", [20, None])]))
    heights = [float(c.get("height")) for c in of_class(root, "chart-column")]
    assert len(heights) == 3  # None draws nothing
    assert heights[1] == pytest.approx(heights[0] / 2, abs=0.01)
    assert heights[2] == pytest.approx(heights[0] / 4, abs=0.01)
    words = [t.text for t in texts(root)]
    assert ["0", "10", "20", "30", "40"] == [w for w in words if w in {"0", "10", "20", "30", "40", "50"}]
    assert "识别" in words and "脱贫" in words and "2014" in words
    assert root.find(f"{NS}desc").text == "2014：识别 40，脱贫 20；2015：识别 10，脱贫 —"


def test_stacked_columns_sit_on_each_other():
    root = parse(column_chart(title="t", categories=["a"], series=[("x", [3]), ("y", [1])], stacked=True))
    lower, upper = of_class(root, "chart-column")
    assert lower.get("x") == upper.get("x")
    assert float(upper.get("y")) + float(upper.get("height")) == pytest.approx(float(lower.get("y")), abs=0.01)
    assert float(lower.get("height")) == pytest.approx(3 * float(upper.get("height")), abs=0.01)


def test_series_differ_by_pattern_and_the_legend_names_them():
    root = parse(column_chart(title="t", categories=["a"], series=[("x", [1]), ("y", [2]), ("z", [3])]))
    fills = [legend.get("fill") for legend in of_class(root, "chart-legend")]
    assert len(set(fills)) == 3 and fills[0].startswith("#") and fills[1].startswith("url(#")
    patterns = {p.get("id") for p in root.iter(f"{NS}pattern")}
    assert {f[5:-1] for f in fills[1:]} <= patterns


def test_many_categories_thin_out_the_x_labels():
    categories = [f"{m}月" for m in range(1, 13)] * 2
    root = parse(column_chart(title="t", categories=categories, series=[("x", list(range(24)))]))
    shown = [t for t in texts(root) if t.text.endswith("月")]
    assert 0 < len(shown) < 24
    xs = [float(t.get("x")) for t in shown]
    assert min(b - a for a, b in itertools.pairwise(xs)) >= charts._text_width("12月", charts.SMALL)


# Every chart


def test_every_chart_is_an_accessible_image():
    roles = set()
    for svg in sample_charts():
        root = parse(svg)
        # A chart whose rows are links is a group, so that screen readers reach the links.
        assert root.get("role") == ("group" if root.find(f"{NS}a") is not None else "img")
        assert root.get("width") == "100%"
        title_id, desc_id = root.get("aria-labelledby").split()
        assert root.find(f"{NS}title").get("id") == title_id
        assert root.find(f"{NS}desc").get("id") == desc_id
        assert root.find(f"{NS}desc").text
        roles.add(root.get("role"))
    assert roles == {"img", "group"}


def test_ids_are_unique_across_charts_on_one_page():
    ids = [el.get("id") for svg in sample_charts() + sample_charts() for el in parse(svg).iter() if el.get("id")]
    assert len(ids) == len(set(ids)) > 10


def test_no_inline_style_anywhere():
    for svg in sample_charts():
        assert "style" not in svg.lower()
        assert all("style" not in el.attrib and not el.tag.endswith("style") for el in parse(svg).iter())


def test_text_stays_at_least_11px_on_a_360px_phone():
    for svg in sample_charts():
        root = parse(svg)
        assert root.get("viewBox").split()[:3] == ["0", "0", str(charts.WIDTH)]
        smallest = min(float(t.get("font-size")) for t in texts(root))
        assert smallest * charts.PHONE_WIDTH / charts.WIDTH >= 11


def test_palette_contrast_against_white():
    for colour in (charts.TEXT, charts.MUTED):
        assert contrast_on_white(colour) >= 4.5, colour
    for colour in (charts.BAR, charts.EMPHASIS, charts.DONE, charts.DONE_FULL, charts.TRACK_EDGE, *charts.SERIES):
        assert contrast_on_white(colour) >= 3, colour


def test_drawn_colours_keep_their_contrast():
    for svg in sample_charts():
        root = parse(svg)
        for text in texts(root):
            assert contrast_on_white(text.get("fill")) >= 4.5
        for cls in ("chart-bar", "chart-done", "chart-column", "chart-legend"):
            for shape in of_class(root, cls):
                colour = shape.get("stroke") or shape.get("fill")
                assert contrast_on_white(colour) >= 3, (cls, colour)
        for track in of_class(root, "chart-track"):
            assert contrast_on_white(track.get("stroke")) >= 3


def test_template_tags_render_unescaped_svg():
    template = Template(
        "{% load charts %}{% bar_chart title=title rows=rows unit='户' %}"
        "{% progress_chart title='计划' rows=plan %}"
        "{% column_chart title='历年' categories=years series=series %}"
    )
    html = template.render(
        Context(
            {
                "title": "致贫原因",
                "rows": [("因病", 36)],
                "plan": [("甲", 1, 2)],
                "years": [2014],
                "series": [("识别", [3])],
            }
        )
    )
    assert html.count("<svg ") == 3 and "因病 36 户" in html
