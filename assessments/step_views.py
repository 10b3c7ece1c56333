"""The one page view that takes a workflow step, for every procedure of this app.

It reads the step's form (reason and date, as the step declares them), takes the step
through the workflow engine (so the page runs exactly the checks of the API and the
admin), and either returns to the object's page with a confirmation, or shows the page
again with the refusal beside the step's fields. A step the person may no longer take
(someone moved the case meanwhile, a notice started running) is answered on the object's
page with the reason.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from assessments.forms import ExitStepForm
from households.forms import attach_error
from registry import workflow as engine
from registry.errors import ApplicationError
from registry.views import forbidden


def take_step(request, workflow: engine.Workflow, obj, action: str, *, url: str, render_page: Callable):
    """Take ``action`` on ``obj`` from the posted form; ``render_page(request, obj, bound, status)`` shows it again."""
    step = workflow.steps.get(action)
    if step is None or step.internal:
        raise Http404
    if not engine.role_allows(workflow, step, request.user):
        return forbidden(request)
    form = ExitStepForm(request.POST, step=step, auto_id=f"{step.action}-%s")
    if form.is_valid():
        try:
            engine.apply(
                workflow, actor=request.user, obj=obj, action=action, reason=form.cleaned_data["reason"],
                on_date=form.cleaned_data["on_date"],
            )  # fmt: skip
        except ApplicationError as error:
            attach_error(error, form)
            obj.refresh_from_db()  # someone else may have moved it meanwhile: judge the page by what is stored
        else:
            messages.success(request, _("已办理：%(action)s。") % {"action": step.label})
            return redirect(url)
    if step not in engine.available_steps(workflow, obj, request.user):
        messages.error(request, "；".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect(url)
    return render_page(request, obj, (action, form), 409 if form.non_field_errors() else 200)
