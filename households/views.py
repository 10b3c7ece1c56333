"""Pages for work teams (贫困户页面): list, detail, registration and edit forms, member
events, workflow actions, objections and helper pairing.

Every view reads through the selectors (a household outside the user's jurisdiction is a
404, never a 500) and writes only through the services, whose refusals it shows in
Chinese beside the field they concern or as a message. Read-only roles (province,
prefecture, auditor) see lists and details without forms or buttons.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from households import errors, privacy, selectors, services
from households.choices import (
    Attribute,
    Cause,
    DisclosureDoor,
    HouseholdStatus,
    MemberStatus,
    NaturalDecreaseReason,
    ObjectionOutcome,
    Relationship,
)
from households.filtersets import HouseholdFilterSet, looks_like_id_number, normalise_id_query
from households.forms import (
    MEMBER_PREFIX,
    ExportRevealForm,
    HelperPairForm,
    HouseholdCreateForm,
    HouseholdEditForm,
    MemberAddForm,
    MemberEditForm,
    MemberFormSet,
    MemberLeaveForm,
    ObjectionRaiseForm,
    ObjectionResolveForm,
    PiiRevealForm,
    TransitionForm,
    attach_error,
    formset_with_another_row,
)
from households.models import Household, Member, PersonalDataAccess
from households.privacy import mask_id, mask_phone, may_reveal
from households.services import HOUSEHOLD_FIELDS, MEMBER_FIELDS
from households.workflow import NOTICE_STEPS, TRANSITIONS, available_transitions, household_transition
from registry.errors import ApplicationError
from registry.roles import Capability, user_has_capability
from registry.views import forbidden
from villages import selectors as village_selectors
from villages.choices import LEVEL_PREFIX_LENGTH, DivisionLevel

PAGE_SIZE = 25
FILTER_NAMES = ("q", "village", "within", "group", "status", "attribute", "cause")
#: Above this many villages in scope, the list filter asks for a code instead of offering a select.
VILLAGE_SELECT_LIMIT = 300
#: Where a search by ID number waits (never in the URL: it would stay in the browser's
#: history and the server's access log); ``?id_search=1`` says the list applies it.
SESSION_ID_SEARCH = "households:id_search"
ID_SEARCH_MARK = "id_search"


def can_enter_data(user) -> bool:
    """Return whether the user's role enters household data (the services decide; this hides forms)."""
    return user.is_superuser or user.role in services.DATA_ENTRY_ROLES


def can_decide_objections(user) -> bool:
    return user.is_superuser or user.role in services.OBJECTION_DECIDERS


def _form_errors_to_messages(request, form) -> None:
    for name, field_errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in field_errors:
            messages.error(request, f"{label}：{error}" if label else error)


def _scoped_villages(user):
    return village_selectors.division_list(user=user, filters={"level": DivisionLevel.VILLAGE})


# List and detail -------------------------------------------------------------------------


def list_filters(request) -> tuple[QueryDict, str | None]:
    """Return the list filters of the query string and the ID number searched for, if any."""
    filters = request.GET.copy()
    filters.pop("page", None)
    marked = filters.pop(ID_SEARCH_MARK, None)
    return filters, request.session.get(SESSION_ID_SEARCH) if marked else None


def _search_redirect(request):
    """Turn the posted search and filters into the list's URL, keeping an ID number out of it."""
    params = QueryDict(mutable=True)
    for name in FILTER_NAMES:
        value = request.POST.get(name, "").strip()
        if value:
            params[name] = value
    query = params.get("q", "")
    if looks_like_id_number(query):
        request.session[SESSION_ID_SEARCH] = normalise_id_query(query.strip())
        del params["q"]
        params[ID_SEARCH_MARK] = "1"
    elif not query and request.POST.get(ID_SEARCH_MARK) and request.session.get(SESSION_ID_SEARCH):
        params[ID_SEARCH_MARK] = "1"  # the filters changed; the search by ID number stays
    else:
        request.session.pop(SESSION_ID_SEARCH, None)
    url = reverse("households:list")
    return redirect(f"{url}?{params.urlencode()}" if params else url)


@login_required
def household_list(request):
    """List the households of the user's jurisdiction, filtered, searched and paginated.

    The search box posts (a search by ID number must not travel in the URL) and is
    answered with a redirect to the filtered list.
    """
    if request.method == "POST":
        return _search_redirect(request)
    filters, id_number = list_filters(request)
    households = selectors.household_list(user=request.user, id_number=id_number)
    filterset = HouseholdFilterSet(filters or None, queryset=households)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    villages = list(_scoped_villages(request.user).select_related(None)[: VILLAGE_SELECT_LIMIT + 1])
    chosen = next((v for v in villages if v.code == request.GET.get("village")), None)
    if chosen is None and len(villages) == 1:
        chosen = villages[0]
    return render(
        request,
        "households/list.html",
        {
            "filterset": filterset,
            "page": page,
            "villages": villages if len(villages) <= VILLAGE_SELECT_LIMIT else None,
            "groups": chosen.villager_groups.all() if chosen else [],
            "statuses": HouseholdStatus.choices,
            "attributes": Attribute.choices,
            "causes": Cause.choices,
            "filtered": bool(id_number) or any(request.GET.get(name) for name in FILTER_NAMES),
            "id_search": mask_id(id_number) if id_number else "",
            "can_enter_data": can_enter_data(request.user),
            "export_form": ExportRevealForm(auto_id="export-%s") if may_reveal(request.user) else None,
        },
    )


def _history(household: Household) -> list[dict]:
    rows = []
    for change in household.status_changes.all():
        t = TRANSITIONS.get(change.action)
        label = t.label if t else (_("申请") if change.action == "apply" else change.action)
        reason = change.reason
        if t is not None and t.reason_choices and reason in NaturalDecreaseReason.values:
            reason = NaturalDecreaseReason(reason).label
        rows.append({"change": change, "label": label, "reason": reason})
    return rows


def _helper_choices(user, household: Household):
    """Return the active helpers in scope whose area includes the household's village."""
    code = household.village_id
    areas = {code[:length].ljust(12, "0") for length in set(LEVEL_PREFIX_LENGTH.values())}
    return village_selectors.helper_list(user=user).filter(active=True, division_id__in=areas)


@login_required
def household_detail(request, pk):
    """Show one household: fields, members, history, objections, events, helper and actions."""
    household = selectors.household_get_for_user(user=request.user, household_id=pk)
    return _render_detail(request, household)


@login_required
@require_POST
def household_reveal(request, pk):
    """Show the full ID numbers and phones of a household, or of one member, in this response only.

    Only a role with ``VIEW_PII`` may ask, with a reason; the view is logged (who, when,
    from where, whom, why). A later visit of the page shows the numbers masked again.
    """
    household = selectors.household_get_for_user(user=request.user, household_id=pk)
    if not may_reveal(request.user):
        return forbidden(request, privacy.PII_NOT_ALLOWED)
    form = PiiRevealForm(request.POST, members=household.members.all())
    if not form.is_valid():
        _form_errors_to_messages(request, form)
        return redirect(f"{household.get_absolute_url()}#reveal")
    try:
        access = privacy.pii_reveal(
            actor=request.user,
            household=household,
            member=form.cleaned_data["member"],
            reason=form.cleaned_data["reason"],
        )
    except ApplicationError as error:
        messages.error(request, str(error))
        return redirect(f"{household.get_absolute_url()}#reveal")
    response = _render_detail(request, household, revealed=access)
    add_never_cache_headers(response)
    return response


def _render_detail(request, household: Household, *, revealed: PersonalDataAccess | None = None):
    """Render the detail page, with the full numbers of ``revealed`` (a logged reveal) if given."""
    user = request.user
    whole_household = revealed is not None and revealed.member_id is None
    members = list(household.members.all())
    for member in members:
        member.id_revealed = whole_household or (revealed is not None and revealed.member_id == member.pk)
        member.id_shown = member.id_number if member.id_revealed else mask_id(member.id_number)
    editable = can_enter_data(user) and household.is_active
    deciding = can_decide_objections(user)
    objections = []
    for objection in household.objections.all():
        pending = objection.outcome == ObjectionOutcome.PENDING
        form = None
        if pending and deciding and objection.recorded_by_id != user.pk:
            form = ObjectionResolveForm(auto_id=f"objection{objection.pk}-%s")
        objections.append({"objection": objection, "pending": pending, "form": form})
    actions = [
        {"t": t, "form": TransitionForm(transition=t, auto_id=f"{t.action}-%s")}
        for t in available_transitions(household, user)
    ]
    helper = household.helper
    return render(
        request,
        "households/detail.html",
        {
            "household": household,
            "head": household.head,
            "other_causes": [Cause(c).label for c in household.other_causes if c in Cause.values],
            "phone": household.phone if whole_household else mask_phone(household.phone),
            "helper_phone": (helper.phone if whole_household else mask_phone(helper.phone)) if helper else "",
            "revealed": revealed,
            "reveal_form": PiiRevealForm(members=members, auto_id="reveal-%s") if may_reveal(user) else None,
            "members": members,
            "history": _history(household),
            "objections": objections,
            "events": list(household.member_events.all()),
            "actions": [a for a in actions if not a["t"].needs_reason],
            "other_actions": [a for a in actions if a["t"].needs_reason],
            "editable": editable,
            "objection_form": ObjectionRaiseForm(auto_id="objection-%s")
            if editable and household.step in NOTICE_STEPS
            else None,
            "helper_form": HelperPairForm(
                helpers=_helper_choices(user, household), initial={"helper": household.helper_id}, auto_id="helper-%s"
            )
            if editable
            else None,
        },
    )


# Registration and edits ------------------------------------------------------------------


@login_required
def household_create(request):
    """Register a household's application with its members (农户申请), village by village."""
    if not can_enter_data(request.user):
        return forbidden(request)
    villages = _scoped_villages(request.user)
    code = request.POST.get("village") or request.GET.get("village")
    village = villages.filter(pk=code).first() if code else None
    if village is None and not code:
        first_two = list(villages[:2])
        village = first_two[0] if len(first_two) == 1 else None
    if village is None:
        return render(request, "households/choose_village.html", {"villages": villages, "unknown": bool(code)})
    groups = village.villager_groups.all()
    initial_members = [{"relationship": Relationship.HEAD}]
    show_errors = True
    if request.method != "POST":
        form = HouseholdCreateForm(initial={"village": village}, groups=groups, villages=villages)
        formset = MemberFormSet(prefix=MEMBER_PREFIX, initial=initial_members)
    elif "add_member" in request.POST:
        form = HouseholdCreateForm(request.POST, groups=groups, villages=villages)
        data = formset_with_another_row(request.POST)
        formset = MemberFormSet(data, prefix=MEMBER_PREFIX, initial=initial_members)
        show_errors = False
    else:
        form = HouseholdCreateForm(request.POST, groups=groups, villages=villages)
        formset = MemberFormSet(request.POST, prefix=MEMBER_PREFIX, initial=initial_members)
        if form.is_valid() and formset.is_valid():
            member_forms = formset.member_forms()
            try:
                household = services.household_apply(
                    actor=request.user,
                    village=form.cleaned_data["village"],
                    household=form.household_data(),
                    members=[f.member_data() for f in member_forms],
                    on_date=form.cleaned_data["applied_on"],
                )
            except ApplicationError as error:
                attach_error(error, form, member_forms=member_forms, formset=formset)
            else:
                messages.success(request, _("已登记申请，户编号 %(number)s。") % {"number": household.registry_number})
                return redirect(household)
    return render(
        request,
        "households/create.html",
        {"form": form, "formset": formset, "village": village, "show_errors": show_errors},
    )


def _refuse_edit(request, household: Household):
    """Return the response refusing an edit page to this user or household, else None."""
    if not can_enter_data(request.user):
        return forbidden(request)
    if not household.is_active:
        messages.error(request, errors.HOUSEHOLD_CLOSED % {"status": household.get_status_display()})
        return redirect(household)
    return None


@login_required
def household_edit(request, pk):
    """Change a household's registration fields, refusing an edit made on a stale copy."""
    household = selectors.household_get_for_user(user=request.user, household_id=pk)
    if refusal := _refuse_edit(request, household):
        return refusal
    groups = household.village.villager_groups.all()
    conflict = False
    masked = mask_phone(household.phone)
    if request.method == "POST":
        form = HouseholdEditForm(request.POST, groups=groups, masked_phone=masked)
        if form.is_valid():
            try:
                services.household_update(
                    actor=request.user,
                    household=household,
                    changes=form.household_data(),
                    expected_version=form.cleaned_data["version"],
                )
            except ApplicationError as error:
                attach_error(error, form)
                conflict = error.code == "conflict" and not error.fields
            else:
                messages.success(request, _("已保存。"))
                return redirect(household)
    else:
        initial = {name: getattr(household, name) for name in HOUSEHOLD_FIELDS if name != "phone"}
        form = HouseholdEditForm(initial={**initial, "version": household.version}, groups=groups, masked_phone=masked)
    return render(
        request,
        "households/edit.html",
        {"household": household, "form": form, "conflict": conflict, "show_errors": True},
    )


def _member_of(household: Household, member_pk: int) -> Member:
    member = next((m for m in household.members.all() if m.pk == member_pk), None)
    if member is None:
        raise Http404
    return member


@login_required
def member_edit(request, pk, member_pk):
    """Change one member's details (成员信息修改)."""
    household = selectors.household_get_for_user(user=request.user, household_id=pk)
    member = _member_of(household, member_pk)
    if refusal := _refuse_edit(request, household):
        return refusal
    masked = mask_id(member.id_number)
    conflict = False
    if request.method == "POST":
        form = MemberEditForm(request.POST, masked_id=masked)
        if form.is_valid():
            try:
                services.member_update(
                    actor=request.user,
                    member=member,
                    changes=form.member_changes(),
                    expected_version=form.cleaned_data["version"],
                )
            except ApplicationError as error:
                attach_error(error, form)
                conflict = error.code == "conflict" and not error.fields
            else:
                messages.success(request, _("已保存 %(name)s 的信息。") % {"name": form.cleaned_data["name"]})
                return redirect(household)
    else:
        initial = {n: getattr(member, n) for n in MEMBER_FIELDS if n not in ("id_number", "relationship")}
        form = MemberEditForm(initial={**initial, "version": member.version}, masked_id=masked)
    return render(
        request,
        "households/member_form.html",
        {
            "household": household,
            "member": member,
            "form": form,
            "conflict": conflict,
            "show_errors": True,
            "title": _("修改成员信息：%(name)s") % {"name": member.name},
            "submit": _("保存"),
        },
    )


@login_required
def member_add(request, pk):
    """Add a member through a dated event (出生、婚入、迁入)."""
    household = selectors.household_get_for_user(user=request.user, household_id=pk)
    if refusal := _refuse_edit(request, household):
        return refusal
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.member_add(
                actor=request.user,
                household=household,
                data=form.member_data(),
                kind=form.cleaned_data["kind"],
                event_date=form.cleaned_data["event_date"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as error:
            attach_error(error, form)
        else:
            messages.success(request, _("已登记新增成员 %(name)s。") % {"name": member.name})
            return redirect(household)
    return render(
        request,
        "households/member_form.html",
        {
            "household": household,
            "form": form,
            "show_errors": True,
            "title": _("新增成员（出生、婚入、迁入）"),
            "submit": _("登记新增成员"),
        },
    )


@login_required
def member_leave(request, pk, member_pk):
    """Record that a member died, married out or moved out (减员); a leaving head hands over."""
    household = selectors.household_get_for_user(user=request.user, household_id=pk)
    member = _member_of(household, member_pk)
    if refusal := _refuse_edit(request, household):
        return refusal
    others = household.members.filter(status=MemberStatus.ACTIVE).exclude(pk=member.pk)
    form = MemberLeaveForm(request.POST or None, member=member, others=others)
    if request.method == "POST" and form.is_valid():
        try:
            services.member_leave(
                actor=request.user,
                member=member,
                kind=form.cleaned_data["kind"],
                event_date=form.cleaned_data["event_date"],
                note=form.cleaned_data["note"],
                new_head=form.cleaned_data.get("new_head"),
            )
        except ApplicationError as error:
            attach_error(error, form)
        else:
            messages.success(request, _("已登记 %(name)s 减员。") % {"name": member.name})
            return redirect(household)
    return render(
        request,
        "households/member_form.html",
        {
            "household": household,
            "member": member,
            "form": form,
            "show_errors": True,
            "title": _("成员减员：%(name)s") % {"name": member.name},
            "submit": _("登记减员"),
            "danger": True,
        },
    )


# Workflow, objections, helper --------------------------------------------------------------


@login_required
@require_POST
def household_transition_view(request, pk, action):
    """Apply one workflow action (流程操作) and say how it went."""
    household = selectors.household_get_for_user(user=request.user, household_id=pk)
    if not can_enter_data(request.user):
        return forbidden(request)
    transition = TRANSITIONS.get(action)
    form = TransitionForm(request.POST, transition=transition)
    if not form.is_valid():
        _form_errors_to_messages(request, form)
        return redirect(household)
    try:
        household_transition(
            actor=request.user,
            household=household,
            action=action,
            reason=form.cleaned_data["reason"],
            on_date=form.cleaned_data["on_date"],
        )
    except ApplicationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("已办理：%(action)s。") % {"action": transition.label if transition else action})
    return redirect(household)


@login_required
@require_POST
def objection_raise(request, pk):
    """Record an objection raised during a public notice (登记异议)."""
    household = selectors.household_get_for_user(user=request.user, household_id=pk)
    if not can_enter_data(request.user):
        return forbidden(request)
    form = ObjectionRaiseForm(request.POST)
    if not form.is_valid():
        _form_errors_to_messages(request, form)
        return redirect(household)
    try:
        services.objection_raise(
            actor=request.user,
            household=household,
            objector=form.cleaned_data["objector"],
            content=form.cleaned_data["content"],
            raised_on=form.cleaned_data["raised_on"],
        )
    except ApplicationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("已登记异议；处理完毕前不能进入下一环节。"))
    return redirect(household)


@login_required
@require_POST
def objection_resolve(request, pk, objection_pk):
    """Decide an objection (异议处理)."""
    household = selectors.household_get_for_user(user=request.user, household_id=pk)
    objection = selectors.objection_get_for_user(user=request.user, objection_id=objection_pk)
    if objection.household_id != household.pk:
        raise Http404
    if not can_decide_objections(request.user):
        return forbidden(request)
    form = ObjectionResolveForm(request.POST)
    if not form.is_valid():
        _form_errors_to_messages(request, form)
        return redirect(household)
    try:
        services.objection_resolve(
            actor=request.user,
            objection=objection,
            outcome=form.cleaned_data["outcome"],
            resolution=form.cleaned_data["resolution"],
        )
    except ApplicationError as error:
        messages.error(request, str(error))
    else:
        outcome = ObjectionOutcome(form.cleaned_data["outcome"]).label
        messages.success(request, _("异议已处理：%(outcome)s。") % {"outcome": outcome})
    return redirect(household)


@login_required
@require_POST
def helper_pair(request, pk):
    """Pair a helper with the household, or end the pairing (结对帮扶)."""
    household = selectors.household_get_for_user(user=request.user, household_id=pk)
    if not user_has_capability(request.user, Capability.MANAGE_HELPERS):
        return forbidden(request)
    form = HelperPairForm(request.POST, helpers=_helper_choices(request.user, household))
    if not form.is_valid():
        _form_errors_to_messages(request, form)
        return redirect(household)
    helper = form.cleaned_data["helper"]
    try:
        services.household_pair_helper(actor=request.user, household=household, helper=helper)
    except ApplicationError as error:
        messages.error(request, str(error))
    else:
        if helper is None:
            messages.success(request, _("已解除结对帮扶。"))
        else:
            messages.success(request, _("已结对帮扶责任人 %(name)s。") % {"name": helper.name})
    return redirect(household)


# Personal-data access log ----------------------------------------------------------------


@login_required
def access_log(request):
    """List who saw full ID numbers and phones, when, from where, whom and why (个人信息查看记录).

    For auditors (``READ_AUDIT``), within their jurisdiction.
    """
    if not user_has_capability(request.user, Capability.READ_AUDIT):
        return forbidden(request)
    username, door = request.GET.get("user", "").strip(), request.GET.get("door", "")
    rows = selectors.personal_data_access_list(user=request.user, username=username, door=door)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "households/access_log.html",
        {"page": page, "doors": DisclosureDoor.choices, "username": username, "door": door},
    )
