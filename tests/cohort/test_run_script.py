"""run.py: which command each way of calling it runs, and when it reinstalls."""

import run


def test_no_arguments_or_options_start_the_system():
    assert run.command_for([]) == [str(run.BIN / "cohort"), "up"]
    assert run.command_for(["--students", "200"]) == [
        str(run.BIN / "cohort"), "up", "--students", "200"]


def test_test_runs_pytest_with_its_arguments():
    assert run.command_for(["test", "tests/cohort", "-q"]) == [str(run.BIN / "pytest"),
                                                            "tests/cohort", "-q"]


def test_a_cohort_command_runs_as_given():
    assert run.command_for(["mint-token", "--user", "1", "--role", "admin"]) == [
        str(run.BIN / "cohort"), "mint-token", "--user", "1", "--role", "admin"]


def test_the_install_stamp_follows_pyproject(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'a'\n")
    monkeypatch.setattr(run, "ROOT", tmp_path)
    before = run.install_key()
    assert run.install_key() == before
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'b'\n")
    assert run.install_key() != before
