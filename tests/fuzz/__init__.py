"""Properties of every parser of untrusted input, shared by Hypothesis (CI) and atheris (fuzz/)."""
