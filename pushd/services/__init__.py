"""The orchestration between HTTP handlers, mfa_core and the store."""
