"""Admin for households and members: read-only until the registration workflow lands."""

from django.contrib import admin

from households.models import Household, Member
from registry.admin_base import ScopedModelAdmin


class MemberInline(admin.TabularInline):
    model = Member
    fields = ["name", "relationship", "status"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Household)
class HouseholdAdmin(ScopedModelAdmin):
    list_display = ["registry_number", "village", "status", "identified_year"]
    list_filter = ["status"]
    search_fields = ["registry_number"]
    list_select_related = ["village"]
    inlines = [MemberInline]


@admin.register(Member)
class MemberAdmin(ScopedModelAdmin):
    list_display = ["name", "household", "relationship", "status"]
    list_filter = ["status"]
    search_fields = ["name", "household__registry_number"]
    list_select_related = ["household"]
