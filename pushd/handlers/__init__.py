"""Thin HTTP handlers: parse, call a service, answer."""
