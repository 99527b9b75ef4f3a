"""pytest glue for the kernel module's tests (run inside the VM, as root).

- Every test module gets the module freshly loaded with default parameters, or with the
  parameters of a module-level `QTAG_PARAMS = {...}` dict; it is unloaded afterwards.
- `reload_module(**params)` reloads with other parameters inside one test; the test
  module's own parameters are restored after that test.
- `run_as` / `py_as` (from qt) run a command / Python snippet as another uid/gid via setpriv.
- `testbin(name)` is the path of a C helper built from kmod/tests/<name>.c.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qt  # noqa: E402


def _require_vm():
    if not os.environ.get("QTAG_KO"):
        pytest.exit("QTAG_KO is not set: these tests run inside the VM (scripts/test)", 2)
    if not os.path.exists(os.environ["QTAG_KO"]):
        pytest.exit(f"module not built: {os.environ['QTAG_KO']}", 2)
    if os.geteuid() != 0:
        pytest.exit("these tests run as root inside the VM", 2)


@pytest.fixture(scope="module", autouse=True)
def qtaguid_module(request):
    """The module, loaded fresh for this test module; yields its parameters."""
    _require_vm()
    params = dict(getattr(request.module, "QTAG_PARAMS", {}))
    qt.load(**params)
    yield params
    qt.unload()


@pytest.fixture
def reload_module(qtaguid_module):
    """Call reload_module(**params) to reload the module with other parameters."""
    changed = []

    def reload(**params):
        changed.append(True)
        qt.load(**params)

    yield reload
    if changed:
        qt.load(**qtaguid_module)


@pytest.fixture
def testbin():
    def path(name):
        p = os.path.join(os.environ.get("QTAG_TESTBIN", ""), name)
        assert os.access(p, os.X_OK), f"test helper {name} not built ({p})"
        return p
    return path


@pytest.fixture
def run_as():
    return qt.run_as


@pytest.fixture
def py_as():
    return qt.py_as
