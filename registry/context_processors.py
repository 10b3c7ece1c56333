"""Template context shared by every page."""

from functools import cache, partial

from registry.jobs import job_count_unfinished


def jobs(request) -> dict:
    """Offer the header the number of the user's unfinished jobs, counted (once) only if a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unfinished_jobs": cache(partial(job_count_unfinished, user=user))}
