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


def test_a_result_is_marked_only_when_the_code_behind_it_changed(tmp_path, monkeypatch):
    import subprocess

    from common import provenance

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    for path in ("common/model.py", "results/table.csv", "README.md"):
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_text("1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "start")
    monkeypatch.setattr(provenance, "REPO_ROOT", tmp_path)
    (tmp_path / "results" / "table.csv").write_text("2\n")  # what the code writes
    (tmp_path / "README.md").write_text("2\n")
    (tmp_path / "results" / "new-run").mkdir()  # untracked
    assert "uncommitted" not in provenance.git_commit()
    (tmp_path / "common" / "model.py").write_text("2\n")
    assert provenance.git_commit().endswith("+uncommitted changes")
