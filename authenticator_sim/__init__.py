"""authenticator_sim."""
