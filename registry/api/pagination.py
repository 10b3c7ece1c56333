"""Pagination for every API list: a cursor over the primary key.

A cursor (rather than a page number) stays correct while rows are being written: a row
created or removed between two requests neither shifts the next page nor appears twice.
Rows come in primary-key order, which never changes for a row; new rows appear on later
pages. A malformed cursor is bad input (400), not "not found".
"""

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

INVALID_CURSOR = _("游标无效：请使用上一页响应中的 next 或 previous 链接。")


class StandardPagination(CursorPagination):
    ordering = "pk"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    cursor_query_description = _("分页游标，取自上一页响应的 next 或 previous。")
    page_size_query_description = _("每页条数（默认 50，最多 500；超出按 500）。")

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({self.cursor_query_param: [str(INVALID_CURSOR)]}) from None
