"""Admin for users (role and jurisdiction) and the read-only audit log."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from registry.admin_base import ScopedModelAdmin
from registry.forms import AdminLoginForm
from registry.logins import login_failure_unlock
from registry.models import ApiToken, AuditEntry, LoginFailure, User, division_model
from registry.roles import Capability, user_has_capability
from registry.scoping import scope_queryset, user_scope
from registry.selectors import audit_changes
from registry.services import user_create, user_set_password, user_update
from registry.tokens import api_token_create, api_token_revoke

# Roles, not groups, carry permissions here; an unscoped, unaudited group admin is a way
# around both.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)

# The admin login says when a name or address is locked (the lock itself is in the backend).
admin.site.login_form = AdminLoginForm


class RegistryUserCreationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "role", "jurisdictions", "first_name", "unit", "phone")


@admin.register(User)
class RegistryUserAdmin(ScopedModelAdmin, UserAdmin):
    capability = Capability.MANAGE_USERS
    editable_fields = ("role", "first_name", "last_name", "phone", "unit", "is_active", "email", "jurisdictions")
    add_form = RegistryUserCreationForm
    list_display = ["username", "first_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    search_fields = ["username", "first_name", "last_name", "unit"]
    filter_horizontal = ["jurisdictions"]
    readonly_fields = ["last_login", "date_joined", "is_superuser", "is_staff"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("角色与管辖范围"), {"fields": ("role", "jurisdictions", "is_active", "is_staff", "is_superuser")}),
        (_("个人信息"), {"fields": ("first_name", "last_name", "unit", "phone", "email")}),
        (_("时间"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"fields": ("username", "password1", "password2", "role", "jurisdictions", "first_name", "unit", "phone")},
        ),
    )

    def get_queryset(self, request):
        queryset = super(ScopedModelAdmin, self).get_queryset(request)
        scope = user_scope(request.user)
        if scope.unrestricted:
            return queryset
        visible = scope_queryset(division_model().objects.all(), request.user)
        return queryset.filter(jurisdictions__in=visible).distinct()

    def create_service(self, *, request, form):
        data = form.cleaned_data
        return user_create(
            actor=request.user,
            username=data["username"],
            password=data.get("password1") or None,
            role=data["role"],
            jurisdictions=data["jurisdictions"],
            first_name=data.get("first_name", ""),
            unit=data.get("unit", ""),
            phone=data.get("phone", ""),
        )

    def update_service(self, *, request, instance, changes):
        jurisdictions = changes.pop("jurisdictions", None)
        return user_update(actor=request.user, user=instance, jurisdictions=jurisdictions, **changes)

    def user_change_password(self, request, id, form_url=""):
        """Change a password through the audited service instead of ``form.save()``."""
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        if request.method == "POST":
            form = self.change_password_form(user, request.POST)
            if form.is_valid():
                user_set_password(actor=request.user, user=user, password=form.cleaned_data["password1"])
                if user.pk == request.user.pk:
                    update_session_auth_hash(request, user)
                messages.success(request, _("密码已修改。"))
                return HttpResponseRedirect(reverse("admin:registry_user_change", args=(user.pk,)))
        else:
            form = self.change_password_form(user)
        admin_form = admin.helpers.AdminForm(form, [(None, {"fields": list(form.base_fields)})], {})
        context = {
            **self.admin_site.each_context(request),
            "title": _("修改密码：%s") % user.get_username(),
            "adminForm": admin_form,
            "form_url": form_url,
            "form": form,
            "is_popup": False,
            "is_popup_var": "_popup",
            "add": True,
            "change": False,
            "has_delete_permission": False,
            "has_change_permission": True,
            "has_absolute_url": False,
            "opts": self.opts,
            "original": user,
            "save_as": False,
            "show_save": True,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, self.change_user_password_template or "admin/auth/user/change_password.html", context
        )


@admin.register(AuditEntry)
class AuditEntryAdmin(ScopedModelAdmin):
    """The audit log: read-only for everyone, visible to auditors and administrators."""

    list_display = ["created_at", "actor_username", "action", "object_repr", "client_address"]
    list_filter = ["action", "content_type"]
    search_fields = ["actor_username", "object_repr", "object_id", "action"]
    date_hierarchy = "created_at"

    fields = [
        "created_at",
        "actor_username",
        "client_address",
        "content_type",
        "object_id",
        "object_repr",
        "scope_code",
        "action",
        "changes",
        "chain_position",
        "row_hash",
    ]
    readonly_fields = fields

    def has_module_permission(self, request):
        return user_has_capability(request.user, Capability.READ_AUDIT)

    def has_view_permission(self, request, obj=None):
        return user_has_capability(request.user, Capability.READ_AUDIT)

    @admin.display(description=_("变更前 → 变更后"))
    def changes(self, entry):
        """The recorded values, ID and phone numbers masked (the audit pages show the same)."""
        rows = [(c["field"] or "—", c["before"], c["after"]) for c in audit_changes(entry)]
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {} → {}</li>", rows)) if rows else "—"


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ("name", "user", "division", "can_write", "can_see_pii", "expires_at")


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedModelAdmin):
    """API tokens: issued here (the token is shown once), revoked by an action, never edited."""

    capability = Capability.MANAGE_USERS
    form = ApiTokenForm
    list_display = ["name", "prefix", "user", "kind", "division", "can_write", "can_see_pii", "last_used_at", "state"]
    list_filter = ["kind", "can_write", "can_see_pii"]
    search_fields = ["name", "prefix", "user__username"]
    actions = ["revoke"]
    readonly_fields = [
        "prefix",
        "kind",
        "created_at",
        "created_by",
        "revoked_at",
        "revoked_by",
        "last_used_at",
        "last_used_from",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).distinct()

    def has_module_permission(self, request):
        return user_has_capability(request.user, Capability.MANAGE_USERS)

    def has_view_permission(self, request, obj=None):
        return user_has_capability(request.user, Capability.MANAGE_USERS)

    def has_change_permission(self, request, obj=None):
        return False  # A token is revoked and reissued, never edited.

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(ApiTokenForm.Meta.fields)
        return [*ApiTokenForm.Meta.fields, *self.readonly_fields]

    @admin.display(description=_("状态"))
    def state(self, obj):
        if obj.revoked_at:
            return _("已吊销")
        return _("有效") if obj.active else _("已过期")

    def create_service(self, *, request, form):
        data = form.cleaned_data
        token, key = api_token_create(
            actor=request.user,
            user=data["user"],
            name=data["name"],
            division=data.get("division"),
            can_write=data.get("can_write", False),
            can_see_pii=data.get("can_see_pii", False),
            expires_at=data.get("expires_at"),
        )
        message = _("令牌已签发，只显示这一次，请立即妥善保存：%(key)s") % {"key": key}
        self.message_user(request, message, messages.WARNING)
        return token

    @admin.action(description=_("吊销所选令牌"))
    def revoke(self, request, queryset):
        self.run_action(
            request,
            lambda token: api_token_revoke(actor=request.user, token=token),
            queryset,
            _("已吊销 %(count)d 个令牌。"),
        )


@admin.register(LoginFailure)
class LoginFailureAdmin(ScopedModelAdmin):
    """Failed logins and locks: read-only, with an audited "unlock" for administrators."""

    list_display = ["kind", "key", "count", "first_failed_at", "last_failed_at", "locked_until", "state"]
    list_filter = ["kind"]
    search_fields = ["key"]
    actions = ["unlock"]

    def get_queryset(self, request):
        # The rows carry no jurisdiction; only those who manage users see them at all.
        return super(ScopedModelAdmin, self).get_queryset(request)

    def has_module_permission(self, request):
        return user_has_capability(request.user, Capability.MANAGE_USERS)

    def has_view_permission(self, request, obj=None):
        return user_has_capability(request.user, Capability.MANAGE_USERS)

    @admin.display(description=_("状态"))
    def state(self, obj):
        return _("已锁定") if obj.is_locked() else _("未锁定")

    @admin.action(description=_("解除锁定并清零失败次数"))
    def unlock(self, request, queryset):
        self.run_action(
            request,
            lambda failure: login_failure_unlock(actor=request.user, failure=failure),
            queryset,
            _("已解除 %(count)d 条记录的锁定。"),
        )
