import pytest


@pytest.fixture
def item(licence_item):
    """The seals tests' cases are for a licence item: approval yields an e-certificate (食品经营许可证)."""
    return licence_item
