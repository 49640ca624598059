"""atheris: otpauth:// URIs, base32 secrets included.

Property: tests/fuzz/targets.py, fuzz_otpauth_uri.
Run: python fuzz/fuzz_otpauth_uri.py -max_total_time=60
"""

from _common import main

if __name__ == "__main__":
    main("otpauth_uri")
