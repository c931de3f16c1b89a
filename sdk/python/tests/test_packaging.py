"""The package builds as a wheel with the standard library only, and its version is stated once per place consistently."""
from __future__ import annotations

import importlib.util
import os
import re
import tempfile
import unittest
import zipfile

import rubric

SDK_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_backend():
    spec = importlib.util.spec_from_file_location("rubric_build", os.path.join(SDK_ROOT, "_build", "rubric_build.py"))
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


class Packaging(unittest.TestCase):
    def test_versions_agree(self) -> None:
        with open(os.path.join(SDK_ROOT, "pyproject.toml"), encoding="utf-8") as f:
            pyproject = f.read()
        declared = re.search(r'^version = "([^"]+)"$', pyproject, re.M)
        assert declared is not None
        self.assertEqual({declared.group(1), load_backend().VERSION, rubric.__version__}, {rubric.__version__})
        self.assertRegex(pyproject, r'(?m)^requires = \[\]$', "no build requirements: installs without a package index")

    def test_wheel_holds_the_package_and_a_valid_record(self) -> None:
        backend = load_backend()
        with tempfile.TemporaryDirectory() as out:
            name = backend.build_wheel(out)
            self.assertEqual(name, f"rubric-{rubric.__version__}-py3-none-any.whl")
            with zipfile.ZipFile(os.path.join(out, name)) as zf:
                names = set(zf.namelist())
                record = zf.read(f"rubric-{rubric.__version__}.dist-info/RECORD").decode()
        for needed in ("rubric/__init__.py", "rubric/webhooks.py", "rubric/py.typed", "rubric/resources/webhooks.py"):
            self.assertIn(needed, names)
        self.assertFalse([n for n in names if "__pycache__" in n or n.startswith("tests/")])
        self.assertEqual({line.split(",")[0] for line in record.splitlines()}, names)


if __name__ == "__main__":
    unittest.main()
