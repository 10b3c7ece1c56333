"""The one error type services raise, and the messages they raise it with."""

from django.utils.translation import gettext_lazy as _

PERMISSION_DENIED = _("您没有执行此操作的权限。")
OUT_OF_JURISDICTION = _("该对象不在您的管辖范围内。")
FOUR_EYES_VIOLATION = _("四眼原则：前一环节的经办人不能办理后续审核环节。")
NOT_IN_TRANSACTION = "Audit rows must be written inside the service's transaction."


class ApplicationError(Exception):
    """A refused operation, with a user-facing (Chinese) message and a stable code.

    ``fields`` maps a field name to a list of messages, for form and API errors.
    """

    def __init__(self, message, *, code: str, fields: dict | None = None, status: int = 400):
        super().__init__(str(message))
        self.message = message
        self.code = code
        self.fields = fields or {}
        self.status = status

    def __str__(self):
        return str(self.message)
