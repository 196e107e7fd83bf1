"""The Prefect flows end to end under a real temporary Prefect server (prefect_test_harness)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import PROJECT, write_xlsx
from prefect.testing.utilities import prefect_test_harness

import flows


@pytest.fixture(scope="module", autouse=True)
def prefect_server():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_collect_flow_records_and_reports_every_file(tmp_path: Path, report: dict) -> None:
    inputs = tmp_path / "inputs"
    (inputs / "2025").mkdir(parents=True)
    shutil.copy(PROJECT / "inputs" / "district.toml", inputs)
    (inputs / "schools.csv").write_text(
        "Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта\n"
        "70-001;МБОУ «Тестовая СОШ»;Тест;test-school.ru;a@test-school.ru;;\n"
        "70-005;МБОУ «Пятая СОШ»;Тест;five.ru;a@five.ru;;\n", encoding="utf-8")
    write_xlsx(report, inputs / "2025" / "70-001.xlsx")
    (inputs / "2025" / "readme.txt").write_text("not a report", encoding="utf-8")

    result = flows.collect(2025, str(inputs), str(tmp_path / "outputs")).to_json()

    assert sorted((item["path"], item["status"]) for item in result["files"]) == [
        ("2025/70-001.xlsx", "accepted"), ("2025/readme.txt", "unrecognized")]
    assert {item["school"]: item["state"] for item in result["schools"]} == {"70-001": "late", "70-005": "missing"}
    assert (tmp_path / "outputs" / "2025" / "status.html").exists()
    again = flows.collect(2025, str(inputs), str(tmp_path / "outputs")).to_json()
    assert again["processed"] == 0


def test_without_mail_settings_the_flow_polls_and_sends_nothing_and_fails_nothing(tmp_path: Path,
                                                                                  report: dict) -> None:
    inputs = tmp_path / "inputs"
    (inputs / "2025").mkdir(parents=True)
    district = (PROJECT / "inputs" / "district.toml").read_text(encoding="utf-8")
    (inputs / "district.toml").write_text(district[:district.index("\n[mail]\n")] + "\n", encoding="utf-8")
    shutil.copy(PROJECT / "inputs" / "schools.csv", inputs)
    write_xlsx(report, inputs / "2025" / "70-001.xlsx")

    result = flows.collect(2025, str(inputs), str(tmp_path / "outputs"))

    assert result.mail is None and "mail" not in result.to_json()
    assert [item["status"] for item in result.to_json()["files"]] == ["accepted"]
    assert not (tmp_path / "outputs" / "2025" / "outbox").exists()


def test_both_flows_run_end_to_end_on_the_demo_district(tmp_path: Path) -> None:
    shutil.copytree(PROJECT / "inputs", tmp_path / "inputs")
    inputs, outputs = str(tmp_path / "inputs"), str(tmp_path / "outputs")
    collected = flows.collect(2024, inputs, outputs).to_json()
    assert {item["state"] for item in collected["schools"]} == {"on_time", "late", "missing"}

    paths = flows.annual_report(2025, inputs, outputs)

    assert Path(paths["pdf"]).read_bytes().startswith(b"%PDF")
    assert Path(paths["html"]).exists() and Path(paths["svod"]).exists()
    assert (tmp_path / "outputs" / "2025" / "status.html").exists()


def test_serve_refuses_without_a_persistent_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: None}), pytest.raises(flows.ServeError, match="prefect server start"):
        flows.serve_deployments(PROJECT / "inputs", Path("outputs"))


def test_runs_go_to_the_configured_server_and_no_server_is_started(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from prefect.settings import PREFECT_API_URL

    from eibm.prefect_server import STATE_FILE

    configured = PREFECT_API_URL.value()  # the harness's server stands for the operator's
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))

    flows.use_prefect_server()

    assert PREFECT_API_URL.value() == configured and configured
    assert capsys.readouterr() == ("", "") and not (tmp_path / STATE_FILE).exists()
