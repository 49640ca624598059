"""atheris: compact HS256 JWS: arbitrary tokens, and mutations of a valid one.

Property: tests/fuzz/targets.py, fuzz_jws.
Run: python fuzz/fuzz_jws.py -max_total_time=60
"""

from _common import main

if __name__ == "__main__":
    main("jws")
