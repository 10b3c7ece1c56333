"""Template tags for the dashboard charts: ``{% load charts %}{% bar_chart title=… rows=… %}``."""

from django import template

from dashboards import charts

register = template.Library()

register.simple_tag(charts.bar_chart, name="bar_chart")
register.simple_tag(charts.progress_chart, name="progress_chart")
register.simple_tag(charts.column_chart, name="column_chart")
