from django.urls import path

from . import pages, views

urlpatterns = [
    path("", pages.scholar_page, name="scholar"),
    path("search/", pages.search_form, name="scholar-search-form"),
    path("pdf/", pages.pdf_form, name="scholar-pdf-form"),
    path("metadata/", pages.metadata_form, name="scholar-metadata-form"),
    path("api/search/", views.SearchView.as_view(), name="scholar-search"),
    path("api/pdf/", views.PdfView.as_view(), name="scholar-pdf"),
    path("api/metadata/", views.MetadataView.as_view(), name="scholar-metadata"),
]
