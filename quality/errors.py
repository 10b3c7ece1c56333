"""Messages the quality services refuse with (imported by the tests)."""

from django.utils.translation import gettext_lazy as _

REASON_REQUIRED = _("认可数据质量问题必须填写核实理由。")
REASON_TOO_LONG = _("核实理由不能超过 %(limit)s 个字。")
FINDING_NOT_OPEN = _("该问题当前状态为“%(status)s”，只有待整改的问题可以认可。")
RUN_LEVEL = _("只能对县、乡镇或村运行数据质量核查。")
RUN_NEEDS_DIVISION = _("请指定要核查的区划。")
