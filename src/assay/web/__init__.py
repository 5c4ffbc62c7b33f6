"""Server-rendered pages (Jinja2) and small plain JS; calls the same services as the API."""
