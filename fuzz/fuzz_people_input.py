"""atheris: phone numbers, one-time passwords and recovery codes people type.

Property: tests/fuzz/targets.py, fuzz_people_input.
Run: python fuzz/fuzz_people_input.py -max_total_time=60
"""

from _common import main

if __name__ == "__main__":
    main("people_input")
