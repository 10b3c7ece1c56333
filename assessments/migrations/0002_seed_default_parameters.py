"""Seed the national default parameters (notice days, thresholds, vetoes, income year…)."""

from django.db import migrations


def seed(apps, schema_editor):
    from assessments.parameters import DEFAULTS

    Parameter = apps.get_model("assessments", "Parameter")
    for key, qualifier, value, note in DEFAULTS:
        Parameter.objects.get_or_create(
            key=key, qualifier=qualifier, year=0, scope_code="", defaults={"value": value, "note": note}
        )


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
