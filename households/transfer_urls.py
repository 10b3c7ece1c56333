from django.urls import path, register_converter

from households import transfer_views


class FormatConverter:
    regex = "csv|xlsx"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(FormatConverter, "fmt")

app_name = "household_transfer"

urlpatterns = [
    path("import/", transfer_views.import_start, name="import"),
    path("import/template.<fmt:fmt>", transfer_views.import_template, name="template"),
    path("jobs/<int:job_id>/", transfer_views.job_detail, name="job"),
    path("jobs/<int:job_id>/confirm/", transfer_views.import_confirm, name="confirm"),
    path("export.<fmt:fmt>", transfer_views.export, name="export"),
]
