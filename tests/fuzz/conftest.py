"""The API test world (tests/api/conftest.py) serves the fuzzing tests too."""
from tests.api.conftest import app, client, monde  # noqa: F401
