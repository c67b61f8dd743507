"""Helpers the tests import (instances, strategies, brute force, data); fixtures stay in conftest."""
