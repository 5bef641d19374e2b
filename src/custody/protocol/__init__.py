"""The wire contract: every request and response body of the HTTP API, and its errors.

One set of pydantic models that the server serialises through and the client parses
into, so the two cannot drift apart; the OpenAPI document is generated from them.
A leaf package: it imports nothing of custody's.
"""
