"""atheris: device request bodies and a verified device JWT's claims.

Property: tests/fuzz/targets.py, fuzz_device_reply.
Run: python fuzz/fuzz_device_reply.py -max_total_time=60
"""

from _common import main

if __name__ == "__main__":
    main("device_reply")
