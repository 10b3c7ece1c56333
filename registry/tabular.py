"""Reading and writing the tables people exchange: CSV (as Chinese Excel writes it) and XLSX.

CSV files arrive as UTF-8, UTF-8 with a byte-order mark, or GBK/GB18030; the reader
tries them in that order. Cells written out are neutralised against spreadsheet
formula injection.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from django.utils.translation import gettext_lazy as _

from registry.errors import ApplicationError

UNREADABLE_FILE = _("无法读取文件：请上传 CSV（UTF-8 或 GBK 编码）或 XLSX 格式。")
ENCODINGS = ("utf-8-sig", "gb18030")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def decode_csv(data: bytes) -> str:
    """Return the text of a CSV file in one of the accepted encodings."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ApplicationError(UNREADABLE_FILE, code="invalid_file")


def read_rows(data: bytes, filename: str) -> tuple[list[str], Iterator[list[str]]]:
    """Return the header and an iterator over the rows of a CSV or XLSX file (as strings)."""
    if filename.lower().endswith(".xlsx"):
        return _read_xlsx(data)
    reader = csv.reader(io.StringIO(decode_csv(data)))
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        return [], iter(())
    return header, ([cell.strip() for cell in row] for row in reader if any(cell.strip() for cell in row))


def _read_xlsx(data: bytes):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged file
        raise ApplicationError(UNREADABLE_FILE, code="invalid_file") from error
    rows = workbook.active.iter_rows(values_only=True)

    def text(value) -> str:
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if hasattr(value, "date") and hasattr(value, "hour"):
            value = value.date()
        return str(value).strip()

    try:
        header = [text(cell) for cell in next(rows)]
    except StopIteration:
        return [], iter(())
    body = ([text(cell) for cell in row] for row in rows if any(cell not in (None, "") for cell in row))
    return header, body


def safe_cell(value) -> str:
    """Return ``value`` as text that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def write_csv(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """Yield a UTF-8-with-BOM CSV (what Excel opens correctly) line by line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(v) for v in row])
        yield buffer.getvalue()
