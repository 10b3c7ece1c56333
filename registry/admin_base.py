"""The admin door: scoped querysets, capability-based permissions, writes through services.

Every registry ModelAdmin derives from :class:`ScopedModelAdmin`. Non-superusers see
only their jurisdiction (an object outside it is a 404); nothing can be deleted; adding
and changing call the domain services (which validate, check the rules and write the
audit row) instead of ``obj.save()``; a refused service call is shown as an error
message and changes nothing.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from registry.errors import OUT_OF_JURISDICTION, ApplicationError
from registry.privacy import mask_identifier
from registry.roles import user_has_capability
from registry.scoping import scope_queryset


class VersionedAdminForm(forms.ModelForm):
    """A change form that carries the version of the record it was opened at.

    The update service compares it with the stored version under a row lock and refuses a
    stale form (someone saved the record meanwhile) instead of overwriting their change.
    Adding has nothing to be stale against, so there the field is left empty.
    """

    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version
        else:
            self.fields["expected_version"].required = False


def expected_version(request) -> int:
    """Return the version a :class:`VersionedAdminForm` was opened at (the form has validated it)."""
    return int(request.POST["expected_version"])


class ScopedModelAdmin(admin.ModelAdmin):
    #: Capability needed to add or change; ``None`` makes the model read-only in the admin.
    capability: str | None = None
    #: Fields whose change is passed to ``update_service``.
    editable_fields: tuple[str, ...] = ()

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request):
        return self.capability is not None and user_has_capability(request.user, self.capability)

    def has_change_permission(self, request, obj=None):
        return self.capability is not None and user_has_capability(request.user, self.capability)

    def has_delete_permission(self, request, obj=None):
        return False  # Records are never deleted.

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        """Answer an object outside the jurisdiction (or none at all) with a 404, as the pages and the API do."""
        raise Http404(str(OUT_OF_JURISDICTION))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and hasattr(field.queryset.model, "scope_path"):
            field.queryset = scope_queryset(field.queryset, request.user)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and hasattr(field.queryset.model, "scope_path"):
            field.queryset = scope_queryset(field.queryset, request.user)
        return field

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            with transaction.atomic():
                return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as error:
            self.message_user(request, self.describe_error(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    @staticmethod
    def describe_error(error: ApplicationError) -> str:
        details = [m for name, msgs in error.fields.items() for m in msgs if str(m) != str(error.message)]
        return "；".join([str(error.message), *details])

    def save_model(self, request, obj, form, change):
        if change:
            original = type(obj).objects.get(pk=obj.pk)
            changes = {name: form.cleaned_data[name] for name in form.changed_data if name in self.editable_fields}
            saved = self.update_service(request=request, instance=original, changes=changes) if changes else original
        else:
            saved = self.create_service(request=request, form=form)
        obj.pk = saved.pk
        obj.__dict__.update({f.attname: getattr(saved, f.attname) for f in saved._meta.concrete_fields})

    def save_related(self, request, form, formsets, change):
        """Related rows are written by the services, not by the form."""

    def construct_change_message(self, request, form, formsets, add=False):
        # The formsets were never saved (the services write related rows and audit them),
        # so they have no ``new_objects`` for Django's admin log message to list.
        return super().construct_change_message(request, form, [], add)

    def create_service(self, *, request, form):
        raise NotImplementedError

    def update_service(self, *, request, instance, changes):
        raise NotImplementedError

    def run_action(self, request, func, queryset, success_message):
        """Apply a workflow service to each selected object, reporting each refusal."""
        done = 0
        for obj in queryset:
            try:
                func(obj)
                done += 1
            except ApplicationError as error:
                self.message_user(request, format_html("{}：{}", obj, self.describe_error(error)), messages.ERROR)
        if done:
            self.message_user(request, success_message % {"count": done}, messages.SUCCESS)


class MaskedInitialForm(forms.ModelForm):
    """An admin change form that leaves personal identifiers out of the page.

    Each of ``masked_fields`` starts empty, with the masked number as its placeholder; left
    empty, the stored number stays, and a number typed in replaces it.
    """

    masked_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.masked_fields:
            field = self.fields.get(name)
            if field is None:
                continue
            current = getattr(self.instance, name) or ""
            self.initial[name] = ""
            field.required = False
            if current:
                masked = mask_identifier(name, current)
                field.widget.attrs["placeholder"] = masked
                field.help_text = _("当前号码 %(masked)s；不修改请留空。") % {"masked": masked}

    def clean(self):
        data = super().clean()
        for name in self.masked_fields:
            if name in self.fields and not data.get(name):
                data[name] = getattr(self.instance, name)
        return data


class MaskedIdentifiersMixin:
    """Show ``masked_fields`` (ID numbers, phones) masked in the admin (SPEC §9).

    Full numbers are revealed only on the household page, with a reason, and logged; the
    admin never shows them. A user who may change the object types a new number to replace
    the stored one; a user who may only view sees the masked number.
    """

    masked_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.masked_fields:
            setattr(self, f"masked_{name}", self._masked_display(name))

    def _masked_display(self, name: str):
        def display(obj):
            return mask_identifier(name, getattr(obj, name) or "") or "—"

        display.short_description = self.model._meta.get_field(name).verbose_name
        return display

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            fields = [f"masked_{f}" if f in self.masked_fields else f for f in fields]
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return form
        return type(form.__name__, (MaskedInitialForm, form), {"masked_fields": self.masked_fields})


def scoped_view_on_site(request, content_type_id, object_id):
    """Redirect to an object's page ("view on site") only if the user's admin can show it.

    Django's own redirect looks the object up unscoped, so its ``Location`` would reveal
    where an object outside the jurisdiction lives (a team's village code, for instance).
    """
    content_type = ContentType.objects.filter(pk=content_type_id).first()
    model_admin = admin.site._registry.get(content_type.model_class()) if content_type else None
    if model_admin is None or not model_admin.has_view_permission(request):
        raise Http404
    if model_admin.get_object(request, object_id) is None:
        raise Http404
    return shortcut(request, content_type_id, object_id)
