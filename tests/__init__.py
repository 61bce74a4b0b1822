import pytest

# The helpers and the tiers plugin assert like tests do: rewrite them too, before conftest imports them.
pytest.register_assert_rewrite("tests.helpers", "tests.tiers")
