"""environment.yml (conda) and requirements.txt (pip) must describe the same environment."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pins(lines):
    return dict(re.match(r"^\s*-?\s*([A-Za-z0-9_.\-]+)==(\S+)\s*$", line).groups()
                for line in lines if re.match(r"^\s*-?\s*[A-Za-z0-9_.\-]+==", line))


def test_conda_and_pip_pins_agree():
    pip_pins = _pins((ROOT / "requirements.txt").read_text().splitlines())
    conda_pins = _pins((ROOT / "environment.yml").read_text().splitlines())
    assert pip_pins, "requirements.txt has no exact pins"
    assert pip_pins == conda_pins


def test_every_requirement_is_pinned_exactly():
    lines = [l.split("#")[0].strip() for l in (ROOT / "requirements.txt").read_text().splitlines()]
    assert all("==" in l for l in lines if l), "pin every requirement with =="
