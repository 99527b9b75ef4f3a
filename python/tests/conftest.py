"""pytest glue for the qtag Python package's tests.

Tests marked ``host`` need no kernel module (argument checks, tag contexts, parsing) and
also run on the build host (scripts/build.d/30-python). Everything else runs inside the
VM against the real xt_qtaguid module, which scripts/vm/suites/30-python loads; nothing
fakes the kernel.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def pytest_configure(config):
    config.addinivalue_line("markers", "host: runs without the kernel module (also on the build host)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("host") is None:
            item.fixturenames.insert(0, "kernel_module")


@pytest.fixture(scope="session")
def kernel_module():
    """The real module must be loaded (by the VM suite); these tests are not for the host."""
    if not os.path.exists("/proc/net/xt_qtaguid/ctrl"):
        pytest.fail("xt_qtaguid is not loaded: these tests run in the VM "
                    "(scripts/test --only '30-*'); on the host run `pytest -m host`")
    if os.geteuid() != 0:
        pytest.fail("the VM tests run as root (they switch uids with setpriv)")
