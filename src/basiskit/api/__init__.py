"""The REST API: ``create_app(settings)`` in ``app``; routers in ``routes``; request/response bodies in
``schemas``; JSON error bodies in ``errors``; bearer-token check in ``auth``."""
