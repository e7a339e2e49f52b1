"""Exports of `check` (issue 11 items 4 and 5): the HTML report driven in a real headless
browser, ITF traces validated against the format's published shape (Apalache ADR-015), and the
DOT state graph of a model small enough to count by hand."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import MODELS, cli
from smp_explorer.cli.export import ExportError, state_graph
from smp_explorer.runs.compiled import compile_model
from smp_explorer.spec.pipeline import model_from_text

FTRACE = str(MODELS / "ftrace" / "v2-atomic-generic.spec")

# ---- ITF ------------------------------------------------------------------------------------

# The shape ADR-015 (https://apalache-mc.org/docs/adr/015adr-trace.html) publishes: a trace
# object with `vars` and `states` (optional `#meta`, `params`, `loop`), each state an object with
# `#meta` and one ITF value per variable; values are booleans, strings, integers (JSON numbers or
# {"#bigint": "-?[0-9]+"}), lists, {"#tup"}, {"#set"}, {"#map"}, {"#unserializable"}, records.
ITF_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["vars", "states"],
    "properties": {
        "#meta": {"type": "object"},
        "params": {"type": "array", "items": {"type": "string"}},
        "vars": {"type": "array", "items": {"type": "string"}},
        "states": {"type": "array", "items": {"$ref": "#/$defs/state"}},
        "loop": {"type": "integer", "minimum": 0},
    },
    "additionalProperties": False,
    "$defs": {
        "state": {
            "type": "object",
            "properties": {"#meta": {"type": "object",
                                     "properties": {"index": {"type": "integer"}}}},
            "additionalProperties": {"$ref": "#/$defs/value"},
        },
        "value": {"anyOf": [
            {"type": "boolean"}, {"type": "string"}, {"type": "integer"},
            {"type": "array", "items": {"$ref": "#/$defs/value"}},
            {"type": "object", "required": ["#bigint"], "additionalProperties": False,
             "properties": {"#bigint": {"type": "string", "pattern": "^-?[0-9]+$"}}},
            {"type": "object", "required": ["#tup"], "additionalProperties": False,
             "properties": {"#tup": {"type": "array", "items": {"$ref": "#/$defs/value"}}}},
            {"type": "object", "required": ["#set"], "additionalProperties": False,
             "properties": {"#set": {"type": "array", "items": {"$ref": "#/$defs/value"}}}},
            {"type": "object", "required": ["#map"], "additionalProperties": False,
             "properties": {"#map": {"type": "array", "items": {
                 "type": "array", "minItems": 2, "maxItems": 2,
                 "items": {"$ref": "#/$defs/value"}}}}},
            {"type": "object", "required": ["#unserializable"], "additionalProperties": False,
             "properties": {"#unserializable": {"type": "string"}}},
            {"type": "object", "propertyNames": {"pattern": "^[^#]"},
             "additionalProperties": {"$ref": "#/$defs/value"}},
        ]},
    },
}


def test_itf_files_validate_and_carry_the_trace(tmp_path, capsys):
    jsonschema = pytest.importorskip("jsonschema")
    out = tmp_path / "itf"
    code, _, _ = cli(capsys, "check", FTRACE, "--memory", "pso", "--itf", str(out), "--quiet")
    assert code == 1
    files = sorted(p.name for p in out.iterdir())
    # the counterexample and the witnesses of the three reachable goals
    assert files == ["pso-handler_sees_mfc.itf.json", "pso-new_insn_executed.itf.json",
                     "pso-patcher_done.itf.json", "pso-trap_taken.itf.json"]
    for name in files:
        doc = json.loads((out / name).read_text())
        jsonschema.validate(doc, ITF_SCHEMA)
        assert [s["#meta"]["index"] for s in doc["states"]] == list(range(len(doc["states"])))
        assert all(set(s) == set(doc["vars"]) | {"#meta"} for s in doc["states"])
    doc = json.loads((out / "pso-handler_sees_mfc.itf.json").read_text())
    assert len(doc["states"]) == 6  # the initial state and 5 steps (inc, write_int3, flush,
    last = doc["states"][-1]        # boundary, h_read), by hand from the spec
    assert last["mfc"] == {"#bigint": "0"}
    assert last["Patcher.store_buffer"] == ["mfc add 1"]
    assert last["Cpu[0].irq_on"] is False and last["b0"] == "INT3"
    assert last["#meta"]["reads"] == [{"loc": "mfc", "value": 0, "from": "memory",
                                       "store": None}]


def test_itf_shape_rejects_what_the_format_does_not_allow():
    jsonschema = pytest.importorskip("jsonschema")
    bad = {"vars": ["x"], "states": [{"#meta": {"index": 0}, "x": {"#bigint": "1.5"}}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, ITF_SCHEMA)


# ---- DOT ------------------------------------------------------------------------------------

TWO_STEPS = """shared x: 0..2 = 0;
process P {
  a: x := 1;
  b: x := 2;
}
invariant Small: x < 2;
"""


def test_dot_graph_of_a_small_model_with_the_counterexample_in_red(spec, tmp_path, capsys):
    dot = tmp_path / "g.dot"
    code, _, _ = cli(capsys, "check", spec(TWO_STEPS), "--dot", str(dot), "--quiet")
    assert code == 1
    text = dot.read_text()
    assert text.startswith("digraph")
    # by hand: (a, x=0) -> (b, x=1) -> (Done, x=2); the counterexample is both steps
    nodes = re.findall(r"^  s\d+ \[", text, re.M)
    edges = re.findall(r"^  s\d+ -> s\d+ .*$", text, re.M)
    assert len(nodes) == 3 and len(edges) == 2
    assert all("color=red" in e for e in edges)
    assert "x=2" in text


def test_dot_refuses_a_graph_past_its_limit(spec, tmp_path, capsys):
    model = model_from_text(TWO_STEPS, "t.spec")
    with pytest.raises(ExportError, match="more than 2 states"):
        state_graph(compile_model(model), "sc", limit=2)
    assert len(state_graph(compile_model(model), "sc", limit=3).ids) == 3
    # 100 x 100 = 10,000 states, past the limit of 2,000
    big = """shared x: 0..99 = 0;
shared y: 0..99 = 0;
process P { l: while true { x := (x + 1) % 100; } }
process Q { l: while true { y := (y + 1) % 100; } }
"""
    code, _, err = cli(capsys, "check", spec(big), "--dot", str(tmp_path / "g.dot"), "--quiet")
    assert code == 2 and "--dot draws graphs of at most" in err
    assert not (tmp_path / "g.dot").exists()


# ---- HTML -----------------------------------------------------------------------------------

def _browser():
    """A headless Chromium driven through selenium, or a skip saying what is missing."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or \
        shutil.which("google-chrome")
    driver_path = shutil.which("chromedriver")
    if not binary or not driver_path:
        pytest.skip("no headless browser: install chromium and chromium-driver "
                    "(apt-get install -y chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    from selenium.webdriver.chrome.service import Service
    return webdriver.Chrome(options=options, service=Service(driver_path))


def test_html_report_is_self_contained(tmp_path, capsys):
    page = tmp_path / "r.html"
    code, _, _ = cli(capsys, "check", FTRACE, "--memory", "sc,pso", "--html", str(page),
                     "--quiet")
    assert code == 1
    text = page.read_text()
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", text)  # nothing from a network
    assert "<table class='verdicts'>" in text and "<table class='stats'>" in text
    assert "invariant handler_sees_mfc: violated under pso" in text


def test_html_step_through_in_a_browser(tmp_path, capsys):
    page = tmp_path / "r.html"
    cli(capsys, "check", FTRACE, "--memory", "pso", "--html", str(page), "--quiet")
    driver = _browser()
    try:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        driver.get(page.as_uri())
        view = driver.find_elements(By.CSS_SELECTOR, ".trace")[0]  # handler_sees_mfc
        step = view.find_element(By.CSS_SELECTOR, ".step-no")
        assert step.text == "0"
        assert view.find_elements(By.CSS_SELECTOR, "td.changed") == []
        buffer = view.find_element(By.CSS_SELECTOR, "td[data-key='Patcher.store_buffer']")
        assert buffer.text == "{}"
        view.find_element(By.CSS_SELECTOR, ".next").click()
        # step 1: the patcher's `inc` buffers mfc add 1 (line 59)
        assert step.text == "1"
        assert buffer.text == "{mfc add 1}"
        changed = [td.get_attribute("data-key")
                   for td in view.find_elements(By.CSS_SELECTOR, "td.changed")]
        assert changed == ["Patcher.pc", "Patcher.store_buffer"]
        info = view.find_element(By.CSS_SELECTOR, ".step-info").text
        assert "Patcher: inc" in info and "59:" in info
        view.send_keys(Keys.ARROW_RIGHT)
        assert step.text == "2" and "write_int3" in view.text
        for _ in range(5):
            view.find_element(By.CSS_SELECTOR, ".next").click()
        assert step.text == "5"  # the last step: Next stops there
        info = view.find_element(By.CSS_SELECTOR, ".step-info").text
        assert "read mfc=0: memory (initial)" in info
        assert buffer.text == "{mfc add 1}"
        view.find_element(By.CSS_SELECTOR, ".prev").click()
        assert step.text == "4"
    finally:
        driver.quit()
