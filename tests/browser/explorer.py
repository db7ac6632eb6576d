"""Drives the data explorer in headless Chromium against `storage kv serve`: one test per
numbered item of the explorer's issue (#27), each in a namespace of its own, plus the page's
structure and guards. Run by scripts/browser-test.sh; exits non-zero when a test fails, after
running the others.

    python3 tests/browser/explorer.py BINARY [SCREENSHOT_DIR] [TEST_NAME...]

With SCREENSHOT_DIR, each view is saved there as PNG (docs/images/ for the docs).
"""

import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import items  # noqa: E402
import items_more  # noqa: E402
import fixes  # noqa: E402

TESTS = [
    items.test_0_page_and_guards,
    items.test_1_columns,
    items.test_2_edit_in_place,
    items.test_3_search,
    items.test_4_navigation,
    items_more.test_5_bulk_actions,
    items_more.test_6_views_of_a_value,
    items_more.test_7_request_log,
    items_more.test_8_against_the_service,
    items_more.test_9_accessibility,
    fixes.test_10_deep_and_large_json,
    fixes.test_11_edits_keep_bytes_and_expiry,
    fixes.test_12_select_all_during_a_load,
    fixes.test_13_namespace_deleted_while_open,
    fixes.test_14_session_ended,
    fixes.test_15_keyboard_and_confirmations,
]


def main():
    binary = os.path.abspath(sys.argv[1])
    shots = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else None
    wanted = sys.argv[3:]
    server = harness.Server(binary)
    driver = harness.browser()
    page = harness.Page(driver, server)
    failed = []
    started = time.monotonic()
    try:
        for test in TESTS:
            if wanted and not any(name in test.__name__ for name in wanted):
                continue
            print(f"explorer: {test.__name__}", flush=True)
            try:
                page.errors()  # what an earlier test left
                test(page, shots)
                errors = page.errors()
                harness.check(not errors, f"no errors in the browser console {errors}")
            except Exception:  # one failed test must not hide the others
                traceback.print_exc()
                failed.append(test.__name__)
                page.b.get("about:blank")
    finally:
        driver.quit()
        server.stop()
    print(f"explorer: {len(TESTS) - len(failed) if not wanted else 'the'} tests run in {time.monotonic() - started:.1f} s")
    if failed:
        raise SystemExit(f"explorer: FAILED: {', '.join(failed)}")


if __name__ == "__main__":
    main()
