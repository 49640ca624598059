"""pushd."""
