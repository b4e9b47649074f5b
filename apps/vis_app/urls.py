from django.urls import path

from . import pages, views

urlpatterns = [
    path("", pages.vis_page, name="vis"),
    path("figures/", pages.figure_form, name="vis-figure-form"),
    path("figures/<int:figure_id>/export/", pages.export_form, name="vis-export-form"),
    path("api/figures/", views.FigureListView.as_view(), name="vis-figures"),
    path("api/figures/<int:figure_id>/", views.FigureDetailView.as_view(), name="vis-figure"),
    path("api/figures/<int:figure_id>/export/", views.FigureExportView.as_view(), name="vis-figure-export"),
    path("api/export/", views.BatchExportView.as_view(), name="vis-batch-export"),
    path("api/exports/<uuid:task_id>/", views.ExportFileView.as_view(), name="vis-export-file"),
]
