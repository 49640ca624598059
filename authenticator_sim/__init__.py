"""authsim: a command-line stand-in for the ForgeRock Authenticator app."""
