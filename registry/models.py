"""Accounts with role and jurisdiction, and the audit log (用户、管辖范围与审计日志)."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.roles import Role


class User(AbstractUser):
    """A person or machine client using the registry, bound to one or more divisions."""

    role = models.CharField(_("角色"), max_length=16, choices=Role.choices)
    jurisdictions = models.ManyToManyField(
        "villages.Division",
        verbose_name=_("管辖区划"),
        related_name="users",
        blank=True,
        help_text=_("用户只能看到这些区划及其下级的数据。"),
    )
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    unit = models.CharField(_("工作单位"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        ordering = ["username"]

    def __str__(self):
        full_name = self.get_full_name()
        return f"{full_name}（{self.username}）" if full_name else self.username


def division_model() -> type[models.Model]:
    """Return the model of divisions (``villages.Division``), the target of a user's jurisdictions.

    Read from the relation, so the base names divisions without importing the app above it.
    """
    return User._meta.get_field("jurisdictions").related_model


class AuditEntry(models.Model):
    """One recorded change (审计记录): who did what to which object, from where, before → after."""

    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User,
        verbose_name=_("操作人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_entries",
        help_text=_("为空表示系统任务（命令行、定时任务）。"),
    )
    actor_username = models.CharField(_("操作人账号"), max_length=150)
    client_address = models.GenericIPAddressField(_("客户端地址"), null=True, blank=True)
    content_type = models.ForeignKey(ContentType, verbose_name=_("对象类型"), on_delete=models.PROTECT)
    object_id = models.CharField(_("对象标识"), max_length=64)
    object_repr = models.CharField(_("对象"), max_length=200)
    scope_code = models.CharField(
        _("所属区划代码"), max_length=12, blank=True, help_text=_("用于按管辖范围查看审计记录。")
    )
    action = models.CharField(_("操作"), max_length=64)
    before = models.JSONField(_("变更前"), null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("变更后"), null=True, blank=True, encoder=DjangoJSONEncoder)
    # The chain (审计链), written by database triggers only: see registry.audit_chain.
    txid = models.BigIntegerField(_("事务号"), null=True, blank=True, editable=False)
    chain_position = models.BigIntegerField(_("链序号"), null=True, blank=True, unique=True, editable=False)
    prev_hash = models.CharField(_("前一条摘要"), max_length=64, blank=True, editable=False)
    row_hash = models.CharField(_("本条摘要"), max_length=64, blank=True, editable=False)

    scope_path = "scope_code"

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["actor", "created_at"], name="audit_actor_idx"),
            models.Index(fields=["scope_code", "created_at"], name="audit_scope_idx"),
            models.Index(fields=["txid"], name="audit_unchained_idx", condition=models.Q(chain_position__isnull=True)),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action} {self.object_repr}"


class AuditCommit(models.Model):
    """A transaction that wrote audit rows and has not yet chained them (written by triggers)."""

    txid = models.BigIntegerField(_("事务号"), primary_key=True)

    class Meta:
        verbose_name = _("待入链事务")
        verbose_name_plural = _("待入链事务")

    def __str__(self):
        return str(self.txid)


class AuditChainHead(models.Model):
    """The end of the audit chain (审计链末端): one row, moved by the chaining trigger.

    It lets ``verify_audit`` notice rows deleted from the end of the chain, which no link
    between the remaining rows would show.
    """

    position = models.BigIntegerField(_("末条链序号"), default=0)
    row_hash = models.CharField(_("末条摘要"), max_length=64, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("审计链末端")
        verbose_name_plural = _("审计链末端")

    def __str__(self):
        return f"{self.position} {self.row_hash[:12]}"


class Job(models.Model):
    """A long piece of work (导入、导出、核查) that runs in the background and reports progress.

    Progress is written through the ``progress`` database alias, outside the job's own
    transaction, so a page can show it while an all-or-nothing import is still running.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("进行中")
        SUCCEEDED = "succeeded", _("已完成")
        FAILED = "failed", _("失败")

    kind = models.CharField(_("类型"), max_length=40)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.QUEUED)
    created_by = models.ForeignKey(
        User, verbose_name=_("发起人"), on_delete=models.PROTECT, null=True, blank=True, related_name="jobs"
    )
    scope_code = models.CharField(_("所属区划代码"), max_length=12, blank=True)
    params = models.JSONField(_("参数"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    file_name = models.CharField(_("文件名"), max_length=200, blank=True)
    payload = models.BinaryField(_("文件内容"), null=True, blank=True, editable=False)
    # The file the job produced (an export, a report), kept REGISTRY_JOB_OUTPUT_DAYS days.
    output = models.BinaryField(_("结果文件"), null=True, blank=True, editable=False)
    output_name = models.CharField(_("结果文件名"), max_length=200, blank=True)
    output_type = models.CharField(_("结果文件类型"), max_length=100, blank=True)
    output_size = models.PositiveBigIntegerField(_("结果文件大小"), default=0)
    done = models.PositiveIntegerField(_("已处理"), default=0)
    total = models.PositiveIntegerField(_("总数"), default=0)
    message = models.CharField(_("说明"), max_length=500, blank=True)
    result = models.JSONField(_("结果"), null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    scope_path = "scope_code"

    class Meta:
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "id"], name="job_status_idx")]

    def __str__(self):
        return f"{self.kind} #{self.pk} {self.get_status_display()}"

    @property
    def percent(self) -> int:
        return int(self.done * 100 / self.total) if self.total else (100 if self.status == self.Status.SUCCEEDED else 0)

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def output_expires_at(self):
        """Return when the job's file stops being offered (and is cleared), or None without a file."""
        if not self.output_name or self.finished_at is None:
            return None
        return self.finished_at + timedelta(days=settings.REGISTRY_JOB_OUTPUT_DAYS)

    @property
    def output_expired(self) -> bool:
        """Return whether the job made a file that is no longer kept."""
        expires = self.output_expires_at
        return expires is not None and expires <= timezone.now()

    @property
    def has_output(self) -> bool:
        """Return whether the job succeeded with a file that may still be downloaded."""
        return self.status == self.Status.SUCCEEDED and bool(self.output_name) and not self.output_expired


class ApiToken(models.Model):
    """An API token (接口令牌) held by a machine client or a person; only its hash is stored.

    The token's jurisdiction is its ``division`` (inside its user's), or the user's own
    when empty. A token reads only, unless granted write; it sees ID and phone numbers
    masked, unless granted the personal-data scope. Revoking is final.
    """

    class Kind(models.TextChoices):
        MACHINE = "machine", _("接口客户端")
        PERSONAL = "personal", _("个人令牌")

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    user = models.ForeignKey(User, verbose_name=_("所属用户"), on_delete=models.PROTECT, related_name="api_tokens")
    division = models.ForeignKey(
        "villages.Division",
        verbose_name=_("管辖区划"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("为空表示与所属用户的管辖范围相同。"),
    )
    prefix = models.CharField(_("令牌前缀"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(_("令牌摘要"), max_length=64, editable=False)
    can_write = models.BooleanField(_("可写"), default=False)
    can_see_pii = models.BooleanField(_("可见个人信息"), default=False, help_text=_("可见完整的身份证号和电话号码。"))
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    created_by = models.ForeignKey(
        User, verbose_name=_("创建人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    expires_at = models.DateTimeField(_("到期时间"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, verbose_name=_("吊销人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(_("最近使用时间"), null=True, blank=True)
    last_used_from = models.GenericIPAddressField(_("最近使用地址"), null=True, blank=True)

    scope_path = "user__jurisdictions__code"

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.name}（{self.prefix}…）"

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class ChangeCommit(models.Model):
    """A committed transaction that changed registry data (变更提交), numbered in commit order.

    Rows are written by database triggers, never by the application: the first change of
    a transaction inserts its row, and a deferred trigger gives it its ``position`` from a
    sequence at commit, under a lock held until the commit ends. Positions therefore
    follow the order in which transactions become visible, whatever order they began in.
    """

    txid = models.BigIntegerField(_("事务号"), primary_key=True)
    position = models.BigIntegerField(_("提交序号"), null=True, unique=True)
    committed_at = models.DateTimeField(_("提交时间"), null=True)

    class Meta:
        verbose_name = _("变更提交")
        verbose_name_plural = _("变更提交")

    def __str__(self):
        return f"#{self.position} (tx {self.txid})"


class Change(models.Model):
    """One row created, updated or deleted in a synchronised table (变更记录), by a trigger.

    ``scope_code`` is the 12-digit code of the village the object belonged to after the
    change; ``old_scope_code`` the one before, when the change moved it elsewhere.
    """

    class Operation(models.TextChoices):
        CREATE = "c", _("新增")
        UPDATE = "u", _("修改")
        DELETE = "d", _("删除")

    id = models.BigAutoField(primary_key=True)
    txid = models.BigIntegerField(_("事务号"))
    kind = models.CharField(_("对象类型"), max_length=20)
    object_id = models.BigIntegerField(_("对象标识"))
    op = models.CharField(_("操作"), max_length=1, choices=Operation.choices)
    scope_code = models.CharField(_("所属区划代码"), max_length=12)
    old_scope_code = models.CharField(_("原区划代码"), max_length=12, blank=True, default="")
    changed_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("变更记录")
        verbose_name_plural = _("变更记录")
        indexes = [models.Index(fields=["txid", "id"], name="change_txid_idx")]

    def __str__(self):
        return f"{self.kind} {self.object_id} {self.op}"


class ChangeHorizon(models.Model):
    """How far the change feed has been pruned (变更流保留界限): one row.

    Commits up to ``position`` are gone; a cursor before it can no longer be resumed, and
    its client must take a new export.
    """

    position = models.BigIntegerField(_("已清理至提交序号"), default=0)
    pruned_at = models.DateTimeField(_("清理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("变更流保留界限")
        verbose_name_plural = _("变更流保留界限")

    def __str__(self):
        return f"≤ {self.position}"


class LoginFailure(models.Model):
    """Failed password logins (登录失败) counted for one account name or one client address.

    The count lives in the database, not in a per-process cache, so that every server
    process sees it. ``count`` failures since ``first_failed_at`` (within the window)
    lock the name or address until ``locked_until``; a successful login clears the name's
    row. See ``registry.logins``.
    """

    class Kind(models.TextChoices):
        ACCOUNT = "account", _("账户名")
        ADDRESS = "address", _("客户端地址")

    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices)
    key = models.CharField(_("账户名或地址"), max_length=150)
    count = models.PositiveIntegerField(_("失败次数"), default=0)
    first_failed_at = models.DateTimeField(_("首次失败时间"), default=timezone.now)
    last_failed_at = models.DateTimeField(_("最近失败时间"), default=timezone.now)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)

    class Meta:
        verbose_name = _("登录失败记录")
        verbose_name_plural = _("登录失败记录")
        ordering = ["-last_failed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key"],
                name="login_failure_one_row_per_key",
                violation_error_message=_("每个账户名或地址只有一条登录失败记录。"),
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.key}"

    def is_locked(self, now=None) -> bool:
        """Return whether the name or address is locked at ``now``."""
        return self.locked_until is not None and self.locked_until > (now or timezone.now())
