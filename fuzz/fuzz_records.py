"""atheris: the versioned msgpack records, as the store hands them back.

Property: tests/fuzz/targets.py, fuzz_records.
Run: python fuzz/fuzz_records.py -max_total_time=60
"""

from _common import main

if __name__ == "__main__":
    main("records")
