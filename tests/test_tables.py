import pandas as pd

from common.tables import cached_table, save_table, to_markdown


def test_markdown_table():
    table = pd.DataFrame({"model": ["a|b", "c"], "acc": [91.256, 7.0], "macs": [40551040.0, 1e3]},
                         index=pd.Index(["x", "y"], name="run"))
    text = to_markdown(table)
    assert text.splitlines() == [
        "| run | model | acc | macs |",
        "|---|---|---:|---:|",
        "| x | a\\|b | 91.26 | 40,551,040 |",
        "| y | c | 7.00 | 1,000.00 |",
    ]
    assert to_markdown(table, index=False).splitlines()[0] == "| model | acc | macs |"


def test_save_table_writes_csv_and_markdown(tmp_path):
    table = pd.DataFrame({"acc": [1.23456]})
    csv_path, md_path = save_table(table, "t", tmp_path / "tables", index=False)
    assert pd.read_csv(csv_path)["acc"].iloc[0] == 1.2346
    assert md_path.read_text() == "| acc |\n|---:|\n| 1.23 |\n"


def test_cached_table_reuses_by_key(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"acc": [50.0, 60.0]}, index=pd.Index(["a", "b"]))

    first = cached_table("sweep", {"runs": ["x"], "eps": [0, 8]}, compute, tmp_path)
    again = cached_table("sweep", {"eps": [0, 8], "runs": ["x"]}, compute, tmp_path)
    assert len(calls) == 1 and again.equals(first)
    cached_table("sweep", {"runs": ["y"], "eps": [0, 8]}, compute, tmp_path)
    cached_table("sweep", {"runs": ["x"], "eps": [0, 8]}, compute, tmp_path, recompute=True)
    assert len(calls) == 3
    assert len(list(tmp_path.glob("sweep-*.csv"))) == 2 and len(list(tmp_path.glob("sweep-*.json"))) == 2


def test_notebook_tables_show_missing_values_as_a_dash_and_whole_cells(tmp_path):
    import numpy as np
    import pandas as pd
    from IPython.core.interactiveshell import InteractiveShell

    from common import notebook

    shell = InteractiveShell.instance()
    notebook.setup("smoke", tmp_path, tmp_path / "figures")
    run = "gated_resnet20_bs_untilNone_l0_costmacs_l0_weight1.0-full-seed0-3935b800"  # 70 characters
    html = shell.display_formatter.format(pd.DataFrame({"run": [run], "acc": [np.nan]}))[0]["text/html"]
    assert run in html and "NaN" not in html and "<td>–</td>" in html


def test_notebook_05_says_which_notebook_a_missing_table_needs(tmp_path, monkeypatch):
    from common import notebook, study
    from common.verdicts import Finding

    shown = []
    monkeypatch.setattr(notebook, "display", lambda markdown: shown.append(markdown.data))
    assert notebook.handoff_table(tmp_path, "mac_cap", profile="full") is None
    assert shown.pop() == "*Notebook 04 has not run at this profile, so this part is not shown.*"
    save_table(pd.DataFrame({"a": [1]}), study.handoff_name("mac_cap", profile="full"), tmp_path / "tables")
    assert notebook.handoff_table(tmp_path, "mac_cap", profile="full")["a"].tolist() == [1] and not shown
    assert notebook.say(Finding("t", "the text", None)) and shown.pop() == "the text"
    assert not notebook.say(None) and shown.pop().startswith("*No finished runs answer")
