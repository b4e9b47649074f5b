from django.urls import path

from . import pages, views

urlpatterns = [
    path("", pages.writer_page, name="writer"),
    path("suggest/", pages.suggest_form, name="writer-suggest-form"),
    path("generate/", pages.generate_form, name="writer-generate-form"),
    path("compile/", pages.compile_form, name="writer-compile-form"),
    path("api/suggest/", views.SuggestView.as_view(), name="writer-suggest"),
    path("api/generate/", views.GenerateView.as_view(), name="writer-generate"),
    path("api/compile/", views.CompileView.as_view(), name="writer-compile"),
    path("api/compile/<uuid:task_id>/pdf/", views.CompiledPdfView.as_view(), name="writer-compile-pdf"),
]
