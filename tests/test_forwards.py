"""Forward unwrapping measured on labelled folders: our fixtures, and the shared corpus when present.

Targets (issue 3): every French forward recovered (original sender and subject), at least 95%
of all forwards, and no non-forward unwrapped.
"""

from __future__ import annotations

import pytest

from emailtrack_analytics.forward_check import score

from .conftest import ASSETS, CORPUS


def check(folder):
    result = score(folder)
    assert result.forwards > 0
    assert result.language_share("fr") == 1.0, result.failures
    assert result.share >= 0.95, (result.lines(), result.failures)
    assert result.false_forwards == 0, result.failures
    return result


def test_forward_fixtures_of_many_clients_and_languages():
    """90 invented messages written the way each client and language writes forwards (README there)."""
    result = check(ASSETS / "forwards")
    assert result.forwards >= 70 and result.non_forwards >= 15
    assert result.dates_right == result.dates_expected  # the original's time, to the minute


@pytest.mark.skipif(not (CORPUS / "forwards" / "expectations.csv").exists(),
                    reason="no forwards/expectations.csv in the shared corpus")
def test_forward_corpus():
    check(CORPUS / "forwards")
