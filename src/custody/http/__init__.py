"""HTTP plumbing shared by the JSON API (``custody.api``) and the web pages (``custody.web``).

Request dependencies (the service context, the caller, a form's fields), the one place
each route declares its policy (``requires``), the one table that turns custody errors
into HTTP answers, and the middleware that puts security headers and size limits on
every response. The two adapters build on this and never import each other.
"""
