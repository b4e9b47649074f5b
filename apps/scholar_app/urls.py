from django.urls import path

from . import views

urlpatterns = [
    path("api/search/", views.SearchView.as_view(), name="scholar-search"),
    path("api/pdf/", views.PdfView.as_view(), name="scholar-pdf"),
]
