"""The attack suite: every case drives the real request path and asserts the exact refusal."""
