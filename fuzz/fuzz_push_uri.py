"""atheris: pushauth:// and mfauth:// registration URIs (a scanned QR code).

Property: tests/fuzz/targets.py, fuzz_push_uri.
Run: python fuzz/fuzz_push_uri.py -max_total_time=60
"""

from _common import main

if __name__ == "__main__":
    main("push_uri")
