"""Server-rendered SVG charts for the dashboards (统计图表).

Every chart is an inline ``<svg>`` built from plain strings: no JavaScript, no ``style``
attribute and no ``<style>`` element, so it renders under a CSP of ``default-src 'self'``.
Colours, fonts and sizes are SVG presentation attributes; ``static/css/charts.css`` only
sizes the ``svg.chart`` box and draws the focus ring of linked bars.

The drawing is ``WIDTH`` = 320 units wide and scales with ``width="100%"``. On a 360 px
phone a chart gets about ``PHONE_WIDTH`` = 310 px (page and card padding), so one unit is
drawn at ~0.97 px and the smallest font (12) stays above 11 px; on a desktop the CSS caps
the box at 30rem (scale 1.5, 18 px text). A 640-unit viewBox would need 23-unit fonts to
stay legible on the phone, which is the same thing with bigger numbers.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH = 320
PHONE_WIDTH = 310
PAD = 8
FONT = 13
SMALL = 12
TITLE_FONT = 15
BAR_HEIGHT = 14
FONT_FAMILY = "system-ui, -apple-system, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif"
MARKER = "▲"

#: Text colours (≥ 4.5:1 against white).
TEXT = "#1d2733"
MUTED = "#4f5d6b"
#: Bar colours (≥ 3:1 against white); the plan's track is a pale fill with an outline that is.
BAR = "#0b57a4"
EMPHASIS = "#b3261e"
DONE = "#0b57a4"
DONE_FULL = "#1b6e3a"
TRACK = "#eef1f4"
TRACK_EDGE = "#5f6b78"
#: Decorative only: the tick labels carry the values.
GRID = "#d5dbe1"
SERIES = ("#0b57a4", "#b35900", "#1b6e3a", "#6a3d9a", "#4f5d6b")
#: White overlays that tell series apart without colour: solid, stripes, dots, other stripes.
PATTERNS = (
    "",
    '<path d="M0 0V6" stroke="#fff" stroke-width="2"/>',
    '<circle cx="3" cy="3" r="1.3" fill="#fff"/>',
    '<path d="M0 0H6" stroke="#fff" stroke-width="1.5"/>',
)


@dataclass(frozen=True)
class _Row:
    label: str
    value: Any
    href: str = ""
    emphasis: bool = False


def fmt(value: Any, places: int = 2) -> str:
    """Return a number as display text: thousands separated, no float noise, '—' for None."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    text = f"{float(value):,.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _n(x: float) -> str:
    """Return a coordinate with at most two decimals."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _with_unit(text: str, unit: str) -> str:
    if not unit or text == "—":
        return text
    return f"{text}{unit}" if unit in ("%", "‰") else f"{text} {unit}"


def _text_width(text: str, size: float) -> float:
    """Estimate drawn width: CJK and full-width signs take one em, Latin and digits 0.62 em."""
    return sum(size if ord(c) >= 0x2000 else size * 0.62 for c in text)


def _fit(text: str, size: float, width: float) -> tuple[str, bool]:
    """Return ``text`` cut with '…' to fit ``width``, and whether it was cut."""
    if _text_width(text, size) <= width:
        return text, False
    while text and _text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…", True


def _wrap(text: str, size: float, width: float, lines: int = 2) -> list[str]:
    """Return ``text`` broken into at most ``lines`` lines; the last is cut with '…' if needed."""
    out: list[str] = []
    while text and len(out) < lines - 1:
        cut = len(text)
        while _text_width(text[:cut], size) > width:
            cut -= 1
        out.append(text[: max(cut, 1)])
        text = text[max(cut, 1) :]
    if text:
        out.append(_fit(text, size, width)[0])
    return out


def _text(x: float, y: float, text: str, *, size: int = FONT, fill: str = TEXT, anchor: str = "", bold=False) -> str:
    extra = (f' text-anchor="{anchor}"' if anchor else "") + (' font-weight="600"' if bold else "")
    return f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" fill="{fill}"{extra}>{escape(text)}</text>'


def _rect(x: float, y: float, w: float, h: float, fill: str, cls: str, extra: str = "", inner: str = "") -> str:
    attrs = f'class="{cls}" x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0))}" height="{_n(max(h, 0))}" fill="{fill}"'
    return f"<rect {attrs}{extra}>{inner}</rect>" if inner else f"<rect {attrs}{extra}/>"


def _get(item: Any, names: Sequence[str], defaults: dict | None = None) -> list:
    """Return the fields of a row given as a tuple, a dict or an object with attributes."""
    defaults = defaults or {}
    if isinstance(item, (tuple, list)):
        return [item[i] if i < len(item) else defaults.get(name) for i, name in enumerate(names)]
    if isinstance(item, dict):
        return [item.get(name, defaults.get(name)) for name in names]
    return [getattr(item, name, defaults.get(name)) for name in names]


def _safe_href(href: Any) -> str:
    """Return the link if it is relative or http(s); anything else (javascript:…) is dropped."""
    href = str(href or "").strip()
    return href if href and urlsplit(href).scheme in ("", "http", "https") else ""


def _title_block(title: str) -> tuple[list[str], float]:
    parts, y = [], PAD
    for line in _wrap(str(title), TITLE_FONT, WIDTH - 2 * PAD):
        parts.append(_text(PAD, y + TITLE_FONT, line, size=TITLE_FONT, bold=True))
        y += TITLE_FONT + 6
    return parts, y + 4


def _empty(title: str) -> SafeString:
    return mark_safe(f'<p class="chart-empty">{escape(title)}：{escape(_("暂无数据"))}</p>')  # noqa: S308 (escaped)


def _svg(uid: str, *, title: str, desc: str, height: float, body: Iterable[str]) -> SafeString:
    body = list(body)
    # An image's parts are hidden from screen readers: a chart whose rows are links is a
    # labelled group instead, so each link is announced where the keyboard reaches it.
    role = "group" if any(part.startswith("<a ") for part in body) else "img"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {_n(height)}" width="100%" '
        f'role="{role}" aria-labelledby="{uid}-title {uid}-desc" font-family="{FONT_FAMILY}">'
        f'<title id="{uid}-title">{escape(title)}</title><desc id="{uid}-desc">{escape(desc)}</desc>'
    )
    # Every text value and attribute above and in ``body`` went through escape().
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308


def _new_id() -> str:
    """Return an id no other chart on the page has (random, so cached fragments cannot collide)."""
    return f"chart-{secrets.token_hex(4)}"


def bar_chart(
    *,
    title: str,
    rows: Iterable[Any],
    unit: str = "",
    threshold: float | None = None,
    threshold_label: str = "",
    max_value: float | None = None,
    emphasis_label: str = "",
) -> SafeString:
    """Return horizontal bars, one per row: the label above, the value at the bar's end.

    ``rows`` holds ``(label, value)`` pairs or dicts/objects with ``label``, ``value`` and
    optional ``href`` (the row becomes a link) and ``emphasis``. Rows at or above
    ``threshold`` (e.g. the 2 % poverty incidence exit standard) and emphasised rows get
    the emphasis fill and a ▲ after the value; ``emphasis_label`` says what the ▲ means
    (by default: at or above the threshold). A None value reads '—' and draws no bar.
    """
    rows = [
        _Row(str(label), value, _safe_href(href), bool(emph))
        for label, value, href, emph in (_get(r, ("label", "value", "href", "emphasis")) for r in rows)
    ]
    if not rows:
        return _empty(title)
    uid = _new_id()
    limit = float(threshold) if threshold is not None else None
    flags = [r.emphasis or (limit is not None and r.value is not None and float(r.value) >= limit) for r in rows]
    values = [float(r.value) for r in rows if r.value is not None]
    top = float(max_value) if max_value else max([*values, limit or 0], default=0)
    top = top if top > 0 else 1
    texts = [_with_unit(fmt(r.value), unit) for r in rows]
    shown = [f"{t} {MARKER}" if flag else t for t, flag in zip(texts, flags, strict=True)]
    value_width = min(max(_text_width(t, SMALL) for t in shown) + 6, WIDTH * 0.45)
    bar_width = WIDTH - 2 * PAD - value_width
    parts, y = _title_block(title)
    limit_text = f"{threshold_label or _('阈值')} {_with_unit(fmt(threshold), unit)}" if limit is not None else ""
    limit_x = PAD + limit / top * bar_width if limit is not None and limit <= top else None
    if limit_x is not None:
        half = _text_width(limit_text, SMALL) / 2
        x = min(max(limit_x, PAD + half), WIDTH - PAD - half)
        parts.append(_text(x, y + SMALL, limit_text, size=SMALL, anchor="middle"))
        y += SMALL + 6
    rows_top, line_at = y, len(parts)
    for row, text, flag in zip(rows, shown, flags, strict=True):
        label = _fit(row.label, FONT, WIDTH - 2 * PAD)[0]
        bar_y = y + FONT + 4
        width = 0.0 if row.value is None else bar_width * min(max(float(row.value), 0) / top, 1)
        inner = [f"<title>{escape(row.label)}：{escape(text)}</title>", _text(PAD, y + FONT, label)]
        if row.value is not None:
            inner.append(_rect(PAD, bar_y, width, BAR_HEIGHT, EMPHASIS if flag else BAR, "chart-bar"))
        inner.append(_text(PAD + width + 4, bar_y + BAR_HEIGHT / 2 + SMALL * 0.35, text, size=SMALL))
        body = "".join(inner)
        parts.append(f'<a href="{escape(row.href)}">{body}</a>' if row.href else f'<g class="chart-row">{body}</g>')
        y = bar_y + BAR_HEIGHT + 10
    if limit_x is not None:
        # Behind the rows, so it never crosses out a label; it shows in the gaps between bars.
        line = f'x1="{_n(limit_x)}" y1="{_n(rows_top - 2)}" x2="{_n(limit_x)}" y2="{_n(y - 6)}"'
        dash = f'<line class="chart-threshold" {line} stroke="{TEXT}" stroke-width="1.5" stroke-dasharray="4 3"/>'
        parts.insert(line_at, dash)
    # What the ▲ means, said once under the chart and per row in the description.
    flag_words = emphasis_label or (_("达到或超过%(limit)s") % {"limit": limit_text} if limit_text else "")
    if any(flags) and flag_words:
        parts.append(_text(PAD, y + SMALL, f"{MARKER} {flag_words}", size=SMALL, fill=MUTED))
        y += SMALL + 8
    desc = "；".join(
        f"{r.label} {t if r.value is not None else _('无数据')}" + (f"（{flag_words or MARKER}）" if flag else "")
        for r, t, flag in zip(rows, texts, flags, strict=True)
    )
    desc += f"。{limit_text}" if limit_text else ""
    return _svg(uid, title=str(title), desc=desc, height=y + 4, body=parts)


def progress_chart(*, title: str, rows: Iterable[Any]) -> SafeString:
    """Return plan-versus-done bars (年度减贫计划): a track for the plan, a fill for what is done.

    Each row is ``(label, done, planned)`` (or a dict/object with those names). Done beyond
    the plan fills the track and says by how much (超额); a plan of 0 or None says 未制定计划.
    """
    rows = [
        (str(label), done, planned) for label, done, planned in (_get(r, ("label", "done", "planned")) for r in rows)
    ]
    if not rows:
        return _empty(title)
    uid = _new_id()
    parts, y = _title_block(title)
    track = WIDTH - 2 * PAD
    summaries = []
    for label, done, planned in rows:
        if not planned:
            figures = _("未制定计划") + (_("，已完成 %(done)s") % {"done": fmt(done)} if done else "")
        else:
            percent = math.floor(float(done or 0) / float(planned) * 1000) / 10
            figures = f"{fmt(done)} / {fmt(planned)}（{fmt(percent, 1)}%）"
            if done is not None and done > planned:
                figures += _("，超额 %(extra)s") % {"extra": fmt(done - planned)}
        summaries.append(f"{label} {figures}")
        bar_y = y + FONT + 4
        inner = [
            f"<title>{escape(label)}：{escape(figures)}</title>",
            _text(PAD, y + FONT, _fit(label, FONT, track)[0]),
        ]
        if planned:
            inner.append(_rect(PAD, bar_y, track, BAR_HEIGHT, TRACK, "chart-track", f' stroke="{TRACK_EDGE}"'))
            share = min(max(float(done or 0), 0) / float(planned), 1)
            fill = DONE_FULL if share >= 1 else DONE
            inner.append(_rect(PAD, bar_y, track * share, BAR_HEIGHT, fill, "chart-done"))
            text_y = bar_y + BAR_HEIGHT + 4 + SMALL
        else:
            text_y = bar_y + SMALL
        inner.append(_text(PAD, text_y, figures, size=SMALL, fill=MUTED))
        parts.append(f'<g class="chart-row">{"".join(inner)}</g>')
        y = text_y + 12
    return _svg(uid, title=str(title), desc="；".join(summaries), height=y, body=parts)


def _ticks(top: float, *, integers: bool) -> tuple[float, int]:
    """Return a round step (1, 2 or 5 × 10ⁿ) and a count of 3–5 steps that reach ``top``."""
    if top <= 0:
        return 1, 3
    base = 10 ** math.floor(math.log10(top / 5))
    steps = [s for s in (base, 2 * base, 5 * base, 10 * base) if s >= 1 or not integers] or [1]
    step = next((s for s in steps if math.ceil(top / s - 1e-9) <= 5), steps[-1])
    return step, max(3, math.ceil(top / step - 1e-9))


def column_chart(
    *,
    title: str,
    categories: Sequence[Any],
    series: Sequence[tuple[str, Sequence[Any]]],
    unit: str = "",
    stacked: bool = False,
) -> SafeString:
    """Return columns per category (e.g. 识别 / 脱贫 / 返贫 per year), grouped or stacked.

    ``series`` is a list of ``(name, values)`` with values aligned to ``categories``; a
    missing or None value draws nothing. Series differ by colour and by a white pattern,
    and the legend names them.
    """
    categories = [str(c) for c in categories]
    series = [
        (str(name), [values[i] if i < len(values) else None for i in range(len(categories))]) for name, values in series
    ]
    if not categories or not series:
        return _empty(title)
    uid = _new_id()
    values = [v for _name, vs in series for v in vs if v is not None]
    sums = [sum(max(float(vs[i]), 0) for _name, vs in series if vs[i] is not None) for i in range(len(categories))]
    top = max(sums) if stacked else max((float(v) for v in values), default=0)
    step, count = _ticks(top, integers=all(isinstance(v, int) for v in values))
    axis_max, places = step * count, max(0, -math.floor(math.log10(step) + 1e-9))
    labels = [fmt(step * k, places) for k in range(count + 1)]
    left = PAD + max(_text_width(t, SMALL) for t in labels) + 4
    parts, y = _title_block(title)
    if unit:
        parts.append(_text(PAD, y + SMALL, _("单位：%(unit)s") % {"unit": unit}, size=SMALL, fill=MUTED))
        y += SMALL + 6
    plot_top, plot_height, plot_width = y + 6, 150, WIDTH - PAD - left
    bottom = plot_top + plot_height
    for k, label in enumerate(labels):
        gy = bottom - k / count * plot_height
        parts.append(
            f'<line x1="{_n(left)}" y1="{_n(gy)}" x2="{WIDTH - PAD}" y2="{_n(gy)}" stroke="{GRID if k else MUTED}"/>'
        )
        parts.append(_text(left - 4, gy + SMALL * 0.35, label, size=SMALL, anchor="end"))
    fills, defs = [], []
    for j in range(len(series)):
        colour, pattern = SERIES[j % len(SERIES)], PATTERNS[j % len(PATTERNS)]
        if pattern:
            defs.append(
                f'<pattern id="{uid}-s{j}" width="6" height="6" patternUnits="userSpaceOnUse" '
                f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{colour}"/>{pattern}</pattern>'
            )
        fills.append((f"url(#{uid}-s{j})" if pattern else colour, colour))
    if defs:
        parts.insert(0, f"<defs>{''.join(defs)}</defs>")
    slot = plot_width / len(categories)
    group = slot * (0.6 if stacked or len(series) == 1 else 0.8)
    column = group if stacked else group / len(series)
    for i, category in enumerate(categories):
        x, base = left + i * slot + (slot - group) / 2, bottom
        for j, (name, vs) in enumerate(series):
            cx = x if stacked else x + j * column
            if vs[i] is None:
                continue
            height = max(float(vs[i]), 0) / axis_max * plot_height
            base -= height if stacked else 0
            tip = f"<title>{escape(category)} {escape(name)}：{escape(_with_unit(fmt(vs[i]), unit))}</title>"
            top_y = base if stacked else bottom - height
            gap = 1 if column > 4 else 0
            parts.append(
                _rect(cx, top_y, column - gap, height, fills[j][0], "chart-column", f' stroke="{fills[j][1]}"', tip)
            )
    every = max(1, math.ceil(max(_text_width(c, SMALL) for c in categories) / (slot * 0.95)))
    for i in range(0, len(categories), every):
        parts.append(_text(left + (i + 0.5) * slot, bottom + SMALL + 4, categories[i], size=SMALL, anchor="middle"))
    y, x = bottom + SMALL + 14, PAD
    for j, (name, _vs) in enumerate(series):
        width = 18 + _text_width(name, SMALL) + 12
        if x > PAD and x + width > WIDTH - PAD:
            x, y = PAD, y + SMALL + 8
        parts.append(_rect(x, y, 14, 14, fills[j][0], "chart-legend", f' stroke="{fills[j][1]}"'))
        parts.append(_text(x + 18, y + 11, _fit(name, SMALL, WIDTH - 2 * PAD - 18)[0], size=SMALL))
        x += width
    desc = "；".join(
        f"{c}：" + "，".join(f"{name} {_with_unit(fmt(vs[i]), unit)}" for name, vs in series)
        for i, c in enumerate(categories)
    )
    return _svg(uid, title=str(title), desc=desc, height=y + 22, body=parts)
