"""Runs a unittest discovery for ctest, so that skipped tests are not counted as passing.

Exit status: 0 when every test ran and passed, 1 on a failure or error, 77 when nothing
failed but some tests were skipped (ctest's SKIP_RETURN_CODE shows the suite as skipped, with
the reasons printed above, instead of passed).

Usage: run_suite.py START_DIR TOP_LEVEL_DIR PATTERN
"""

import sys
import unittest


def main(argv):
    start_dir, top_level_dir, pattern = argv[1:4]
    suite = unittest.defaultTestLoader.discover(
        start_dir, pattern=pattern, top_level_dir=top_level_dir
    )
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if not result.wasSuccessful():
        return 1
    if result.testsRun == 0:
        print("no test ran")
        return 1
    if result.skipped:
        for test, reason in result.skipped:
            print("SKIPPED %s: %s" % (test.id(), reason))
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
