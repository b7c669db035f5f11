"""The end-of-run note on tests skipped for want of ../shared (tests/skip_summary.py)."""

from __future__ import annotations

import pytest

from tests.skip_summary import shared_material

pytest_plugins = ["pytester"]


def test_reasons_name_the_missing_material() -> None:
    assert shared_material("shared corpus news/feeds not found beside the checkout") == (
        "../shared/corpora/news/feeds"
    )
    assert (
        shared_material(
            "SendGrid OpenAPI description not found at /x/y; the stub validates every request "
            "against it, so it will not start without ../shared/schemas/sendgrid-v3"
        )
        == "../shared/schemas/sendgrid-v3"
    )
    assert shared_material("shared corpora not found beside the checkout") == "../shared/corpora"
    assert shared_material("chromium is not installed") is None


def test_the_run_ends_with_counts_and_what_the_tests_cover(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_mail='''
        """SendGrid client against the local stand-in."""
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_send(n):
            pytest.skip("it will not start without ../shared/schemas/sendgrid-v3")
        ''',
        test_feeds='''
        """Feeds from the shared corpora."""
        import pytest

        def test_feed():
            pytest.skip("shared corpus feeds not found beside the checkout")

        def test_browser():
            pytest.skip("chromium is not installed")
        ''',
    )
    result = pytester.runpytest_inprocess("-p", "tests.skip_summary")
    result.assert_outcomes(skipped=5)
    result.stdout.fnmatch_lines(
        [
            "*4 tests skipped for want of ../shared (see README, Tests)*",
            "1 without ../shared/corpora/feeds:",
            "*1  test_feeds.py: Feeds from the shared corpora.",
            "3 without ../shared/schemas/sendgrid-v3:",
            "*3  test_mail.py: SendGrid client against the local stand-in.",
        ]
    )
