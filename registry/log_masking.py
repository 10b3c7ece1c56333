"""A logging filter that masks ID numbers and mobile numbers in every log record (SPEC §9).

Log files are copied, shipped and kept far longer than a page view, and whoever reads
them is not asked for a reason: a full ID number must never reach them. The filter is
attached to the root handler in ``settings.LOGGING``; it formats the record's message
with its arguments (and its traceback) first, so a number passed as an argument is
masked too.
"""

from __future__ import annotations

import logging
import re

#: An 18-character resident ID (17 digits and a digit or X), not part of a longer number.
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{4})\d{10}(\d{3}[\dXx])(?![0-9A-Za-z])")
#: A mainland mobile number (1[3-9] and nine digits), not part of a longer number.
MOBILE_NUMBER = re.compile(r"(?<![0-9A-Za-z])(1[3-9]\d)\d{4}(\d{4})(?![0-9A-Za-z])")


def mask_personal_numbers(text: str) -> str:
    """Return ``text`` with ID numbers (4311**********123X) and mobiles (138****5678) masked."""
    text = ID_NUMBER.sub(lambda m: f"{m[1]}{'*' * 10}{m[2]}", text)
    return MOBILE_NUMBER.sub(lambda m: f"{m[1]}****{m[2]}", text)


class MaskPersonalNumbers(logging.Filter):
    """Mask personal numbers in a record's message, arguments, traceback and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_personal_numbers(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_numbers(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_personal_numbers(record.stack_info)
        return True
