"""Background jobs (后台任务): long work that shows progress and can be left and come back to.

A job is created by a service, runs in a background thread of the web process (or in
``manage.py run_jobs`` when ``REGISTRY_JOBS_IN_THREAD`` is off), and writes its progress
through a second database connection so that the page polling it sees the numbers move
while the job's own all-or-nothing transaction is still open.

A worker that dies mid-job (killed, out of memory, the server restarted) leaves nothing
half-written: PostgreSQL rolls its transaction back when its session ends. So that the
job is not shown as running forever, the worker holds a session advisory lock named by
the job while it runs; the lock goes with the session. A running job whose lock nobody
holds has lost its worker, and :func:`job_reap_abandoned` (called by ``run_jobs`` and
when someone looks at the job) marks it failed, to be submitted again.

Adding a kind of job
--------------------
A kind is one runner, registered with its Chinese label (shown in 我的任务, ``/jobs/``)::

    from registry.jobs import job_create, job_store_output, runner

    @runner("report", label=_("报表"), template="dashboards/_report_job.html")
    def run_report(job, progress) -> dict:
        rows = ...                                  # read as job.created_by, through the selectors
        progress(0, len(rows), message="正在汇总", force=True)
        for done, row in enumerate(rows, 1):
            ...
            progress(done)                          # written at most every 500 items
        job_store_output(job, data=pdf_bytes, file_name="江华县贫困人口统计表.pdf", content_type="application/pdf")
        return {"rows": len(rows)}                  # JSON, kept as job.result

    job = job_create(actor=request.user, kind="report", params={...})
    return redirect("jobs:detail", job_id=job.pk)   # the generic page: progress, result, download

- ``runner(kind, *, label, template="", page="")``: ``template`` (optional) is included in
  the generic job page ``/jobs/<id>/`` with ``job`` in its context, to show ``job.result``;
  ``page`` (optional) names the URL of a page of the kind's own (taking ``job_id``), which
  the jobs centre then links to instead of the generic one.
- A runner runs as the job's creator: it reads through the same selectors a page would, with
  ``job.created_by`` as the user, so the scope is checked again when the job runs.
- :func:`job_store_output` keeps the file the job made (an export, a report). Call it from
  the runner with the ``job`` it was given; the file is saved with the job's success, so a
  runner that fails (even after the call) leaves no file. Its creator (or a superuser)
  downloads it from ``/jobs/<id>/download/`` for ``REGISTRY_JOB_OUTPUT_DAYS`` days (default
  7) after the job ends; then :func:`job_purge_outputs` (``manage.py run_jobs`` or
  ``manage.py purge_job_outputs``) clears it and the job's page says it has expired.
- A file holding full ID numbers or phones must be marked: create the job with
  ``params={UNMASKED: True, ...}`` (after logging the disclosure, as
  ``households.privacy.pii_export_record`` does), and every download of it is audited.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.audit import audit_record
from registry.errors import ApplicationError
from registry.models import Job

logger = logging.getLogger(__name__)

#: kind → function(job, progress) returning a JSON-ready result.
RUNNERS: dict[str, Callable] = {}
#: kind → how the kind is shown (its label, its result template, its own page).
KINDS: dict[str, JobKind] = {}
#: The params flag of a job whose file holds full ID numbers or phones: downloads are audited.
UNMASKED = "unmasked"
#: First key of the advisory locks that say "a live worker runs job N" (the second key is N).
#: The two-key form keeps them apart from the change feed's one-key lock.
WORKER_LOCK_CLASS = 7_301_005
JOB_ABANDONED = _("任务中断：执行任务的进程意外终止（如服务器重启）。未完成的写入已全部撤销，请重新提交。")


@dataclass(frozen=True)
class JobKind:
    """How jobs of one kind are shown: a Chinese label, and optionally a result template or page."""

    kind: str
    label: str
    #: Included in the generic job page once the job succeeded (``job`` in its context), to show its result.
    template: str = ""
    #: The URL name of the kind's own job page (taking ``job_id``), if it has one.
    page: str = ""


def runner(kind: str, *, label: str | None = None, template: str = "", page: str = ""):
    """Register the function that runs jobs of ``kind``, and how the jobs centre shows them."""

    def register(func):
        RUNNERS[kind] = func
        KINDS[kind] = JobKind(kind=kind, label=label or kind, template=template, page=page)
        return func

    return register


def job_kind(kind: str) -> JobKind:
    """Return how jobs of ``kind`` are shown (a kind no module registered shows its code)."""
    return KINDS.get(kind) or JobKind(kind=kind, label=kind)


def job_url(job: Job) -> str:
    """Return the page of ``job``: its kind's own page, else the generic one."""
    from django.urls import reverse

    return reverse(job_kind(job.kind).page or "jobs:detail", kwargs={"job_id": job.pk})


#: The connection alias progress is written through, outside the job's own transaction.
PROGRESS_ALIAS = "progress"


class Progress:
    """Report progress of one job, at most every ``every`` items, outside its transaction."""

    def __init__(self, job: Job, every: int = 500):
        self.job, self.every, self._last = job, every, 0
        self.done, self.total = 0, 0

    def __call__(self, done: int, total: int | None = None, message: str = "", force: bool = False) -> None:
        self.done, self.total = done, total if total is not None else self.total
        if not force and done - self._last < self.every and done != total:
            return
        self._last = done
        fields = {"done": done}
        if total is not None:
            fields["total"] = total
        if message:
            fields["message"] = message[:500]
        Job.objects.using(PROGRESS_ALIAS).filter(pk=self.job.pk).update(**fields)


def job_create(
    *, actor, kind: str, params: dict | None = None, payload: bytes | None = None, file_name: str = ""
) -> Job:
    """Queue a job and start it (in a thread unless configured otherwise)."""
    from registry.scoping import user_scope

    if kind not in RUNNERS:
        raise ValueError(f"unknown job kind {kind}")
    job_purge_outputs()
    scope = user_scope(actor) if actor is not None else None
    job = Job.objects.create(
        kind=kind,
        created_by=actor,
        params=params or {},
        payload=payload,
        file_name=file_name[:200],
        scope_code=""
        if scope is None or scope.unrestricted or not scope.prefixes
        else scope.prefixes[0].ljust(12, "0"),
    )
    if getattr(settings, "REGISTRY_JOBS_IN_THREAD", True):
        transaction.on_commit(lambda: _start_thread(job.pk))
    return job


def _start_thread(job_id: int) -> None:
    thread = threading.Thread(target=_thread_main, args=(job_id,), name=f"job-{job_id}", daemon=True)
    thread.start()


def _thread_main(job_id: int) -> None:
    try:
        job_run(job_id)
    finally:
        close_old_connections()
        for alias in ("default", "progress"):
            connections[alias].close()


def _take_worker_lock(job_id: int) -> bool:
    """Take the session lock that marks ``job_id`` as worked on; False if a live worker holds it."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [WORKER_LOCK_CLASS, job_id])
        return cursor.fetchone()[0]


def _release_worker_lock(job_id: int) -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [WORKER_LOCK_CLASS, job_id])


def job_run(job_id: int) -> Job:
    """Run one queued job to the end, recording success or a Chinese failure message.

    The worker lock is taken before the job is marked running and let go after its
    outcome is recorded, so a running job without the lock has truly lost its worker.
    """
    if not _take_worker_lock(job_id):
        return Job.objects.get(pk=job_id)
    try:
        return _run_claimed(job_id)
    finally:
        _release_worker_lock(job_id)


def _run_claimed(job_id: int) -> Job:
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=timezone.now()
    )
    job = Job.objects.get(pk=job_id)
    if not claimed:
        return job
    progress = Progress(job)
    try:
        result = RUNNERS[job.kind](job, progress)
    except ApplicationError as error:
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED,
            message=str(error)[:500],
            result={"error": {"code": error.code, "message": str(error), "fields": _strings(error.fields)}},
            finished_at=timezone.now(),
        )
    except Exception:
        logger.exception("job %s failed", job.pk)
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED, message="任务意外失败，请联系系统管理员。", finished_at=timezone.now()
        )
    else:
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.SUCCEEDED,
            result=result,
            done=progress.done,
            total=progress.total,
            finished_at=timezone.now(),
            **({} if job.params.get("keep_payload") else {"payload": None}),
            **getattr(job, _OUTPUT_ATTRIBUTE, {}),
        )
    job.refresh_from_db()
    return job


def _strings(fields: dict) -> dict:
    return {k: [str(m) for m in v] for k, v in fields.items()}


# The job's file ---------------------------------------------------------------------------------

#: Where a running job's file waits (on the runner's ``job``) until the job is recorded a success.
_OUTPUT_ATTRIBUTE = "_pending_output"
_UNSAFE_IN_FILE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def clean_file_name(file_name: str) -> str:
    """Return ``file_name`` fit for a download: separators, control and reserved characters replaced; 200 at most."""
    name = _UNSAFE_IN_FILE_NAME.sub("_", file_name.strip()).strip(". ") or "download"
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = f"{stem[: 199 - len(extension)]}.{extension}" if dot and len(extension) <= 10 else name[:200]
    return name


def job_store_output(job: Job, *, data: bytes, file_name: str, content_type: str) -> None:
    """Keep ``data`` as the file ``job`` made, for its creator to download from the job's page.

    Call it from the job's runner, with the ``job`` the runner was given. The file is
    written together with the job's success: a runner that raises (even after this call)
    leaves no file. A second call replaces the first. ``file_name`` may be Chinese; it
    is what the browser saves the file as.
    """
    if job.status != Job.Status.RUNNING:
        raise RuntimeError("job_store_output() is called by a job's runner, while the job runs")
    fields = {
        "output": bytes(data),
        "output_name": clean_file_name(file_name),
        "output_type": content_type[:100],
        "output_size": len(data),
    }
    setattr(job, _OUTPUT_ATTRIBUTE, fields)
    for name, value in fields.items():
        setattr(job, name, value)


def job_purge_outputs(*, now=None) -> int:
    """Clear the files of jobs that ended more than ``REGISTRY_JOB_OUTPUT_DAYS`` ago; return how many.

    The file's name and size stay, so the job's page can say the file has expired.
    """
    days = settings.REGISTRY_JOB_OUTPUT_DAYS
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return Job.objects.filter(output__isnull=False, finished_at__lte=cutoff).update(output=None)


@transaction.atomic
def job_output_download_record(*, actor, job: Job) -> None:
    """Audit that ``actor`` downloaded ``job``'s file, when it holds full personal identifiers.

    The disclosure itself was logged when the job was asked for; this records each copy
    taken of the file afterwards.
    """
    if not job.params.get(UNMASKED):
        return
    audit_record(
        actor=actor,
        action="job.download",
        instance=job,
        scope_code=job.scope_code,
        after={"kind": job.kind, "file": job.output_name, "size": job.output_size, UNMASKED: True},
    )


def job_reap_abandoned(job_ids=None) -> int:
    """Mark failed the running jobs (of ``job_ids``, else all) whose worker is gone; return how many.

    A live worker holds the job's advisory lock; a dead one's session took it along.
    """
    running = Job.objects.filter(status=Job.Status.RUNNING)
    if job_ids is not None:
        running = running.filter(pk__in=job_ids)
    reaped = 0
    for job_id in running.values_list("pk", flat=True):
        if not _take_worker_lock(job_id):
            continue  # a live worker has it
        try:
            reaped += Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
                status=Job.Status.FAILED, message=str(JOB_ABANDONED), finished_at=timezone.now()
            )
        finally:
            _release_worker_lock(job_id)
    if reaped:
        logger.warning("marked %s job(s) failed whose worker had died", reaped)
    return reaped


def run_queued_jobs(limit: int | None = None) -> int:
    """Run queued jobs in order (the worker of ``manage.py run_jobs``); return how many ran.

    Jobs left running by a worker that died are marked failed first.
    """
    job_reap_abandoned()
    job_purge_outputs()
    count = 0
    for job_id in Job.objects.filter(status=Job.Status.QUEUED).order_by("id").values_list("pk", flat=True)[:limit]:
        job_run(job_id)
        count += 1
    return count


def job_get_for_user(*, user, job_id: int) -> Job:
    """Return a job its creator (or an administrator) may look at, else 404."""
    from django.http import Http404

    jobs = Job.objects.all() if user.is_superuser else Job.objects.filter(created_by=user)
    job = jobs.defer("output").filter(pk=job_id).first()
    if job is None:
        raise Http404
    if job.status == Job.Status.RUNNING and job_reap_abandoned([job.pk]):
        job.refresh_from_db()
    return job


def job_list_for_user(*, user, kind: str | None = None):
    """Return the jobs ``user`` started (of ``kind``, else all), newest first, without their files."""
    jobs = Job.objects.filter(created_by=user).defer("payload", "output").order_by("-id")
    return jobs.filter(kind=kind) if kind else jobs


def job_count_unfinished(*, user) -> int:
    """Return how many of the jobs ``user`` started are queued or running (one query)."""
    return Job.objects.filter(created_by=user, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).count()
