"""What the API and the web pages share about a request: who is asking (an API token or the
signed-in web session), the CSRF check of the session, the database, and the app-wide ASGI
middleware. `assay.api` and `assay.web` both import this package and never each other."""
