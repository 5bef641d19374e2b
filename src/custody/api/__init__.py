"""The HTTP adapter: FastAPI routers over the services, the tus endpoint and the log's read API."""
