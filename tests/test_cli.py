"""The CLI's contract: `monitor classify` lines, `monitor eval`, exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "monitor.yaml"


def monitor(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(CONFIG), *args],
                          input=stdin, capture_output=True, text=True, timeout=120, check=False)


def test_classify_contract_lines_in_order() -> None:
    lines = [
        {"id": "a", "title": "Senate confirms Julie Fisher as U.S. ambassador to Belarus",
         "summary": "The Senate confirmed her on Tuesday.", "published": "2020-12-15T18:00:00Z",
         "language": "en", "url": "https://x.example/a"},
        "this is not json",
        {"id": "b"},
        {"title": "no id"},
        {"id": 7, "title": "Weather in Minsk: snow"},
        {"id": "c", "title": "Лукашенко встретился с заместителем госсекретаря США"},
    ]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)
                      for x in lines) + "\n"
    r = monitor("classify", stdin=stdin)
    assert r.returncode == 0, r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(out) == len(lines)
    a, bad, no_title, no_id, weather, ru = out
    actors = ["senate", "congress", "fisher", "us", "belarus"]
    assert a == {
        "id": "a", "relevant": True, "score": 1.0, "watchlists": ["belarus-us"],
        "actors": actors,
        "milestones": [{
            "type": "ambassador_confirmed", "watchlist": "belarus-us", "status": "completed",
            "confidence": 0.9,
            "evidence": "Senate confirms Julie Fisher as U.S. ambassador to Belarus",
            "actors": actors, "triggers": ["confirms"],
            "rule": "ambassador_confirmed.senate-confirmed",
            "evidence_at": {"field": "title", "start": 0, "end": 58, "triggers": [[7, 15]]},
            "reason": {"rule": "ambassador_confirmed.senate-confirmed", "zone": "title",
                       "basis": "lead", "anchor": None},
        }],
    }
    assert bad == {"id": None, "error": bad["error"]} and bad["error"]
    assert no_title["id"] == "b" and "error" in no_title
    assert no_id["id"] is None and "error" in no_id
    assert weather["id"] == 7 and weather["relevant"] is False and weather["milestones"] == []
    assert [x["type"] for x in ru["milestones"]] == ["high_level_contact"]


def test_classify_explain_and_html_content() -> None:
    """--explain says why a rule did not fire; HTML content is read as paragraphs, and the
    evidence is quoted from the text as read, with the trigger's offsets."""
    html = ("<p>Belarus <b>could</b> expel the U.S. ambassador, an aide said.</p>"
            "<p>In 2008 Minsk expelled the U.S. ambassador, Karen Stewart.</p>")
    line = {"id": "h", "title": "Minsk weighs its options", "content": html,
            "published": "2026-06-17T12:00:00Z", "language": "en"}
    r = monitor("classify", "--explain", stdin=json.dumps(line) + "\n")
    out = json.loads(r.stdout)
    assert out["milestones"] == []
    why = {(x["type"], x["basis"], x.get("cue")) for x in out["rejected"]}
    assert ("ambassador_expelled", "hedge", "could") in why
    assert any(x["basis"] == "background" and x["anchor"]["text"] == "2008"
               for x in out["rejected"])
    # without --explain the line is the contract's, with no "rejected"
    plain = json.loads(monitor("classify", stdin=json.dumps(line) + "\n").stdout)
    assert "rejected" not in plain
    news = {"id": "n", "title": "Treasury lifts sanctions on Belavia",
            "content": "<p>The U.S. Treasury lifted sanctions on Belavia on Monday.</p>",
            "published": "2026-06-17T12:00:00Z"}
    (m,) = json.loads(monitor("classify", stdin=json.dumps(news) + "\n").stdout)["milestones"]
    at = m["evidence_at"]
    assert m["evidence"] == "The U.S. Treasury lifted sanctions on Belavia on Monday."
    assert at["field"] == "content"
    assert [m["evidence"][a - at["start"]:b - at["start"]] for a, b in at["triggers"]] == [
        "lifted"]


def test_classify_unknown_watchlist_is_a_usage_error() -> None:
    r = monitor("classify", "--watchlist", "nope", stdin="")
    assert r.returncode == 2 and "nope" in r.stderr


def test_eval_prints_scores_and_errors(tmp_path: Path) -> None:
    gold = [
        {"id": "1", "title": "U.S. lifts sanctions on Belavia", "summary": "The Treasury "
         "removed Belarus's state airline Belavia from its sanctions list on Thursday.",
         "published": "2025-09-11T12:00:00Z", "language": "en", "relevant": True,
         "milestones": ["sanctions_lifted"], "also_ok": []},
        {"id": "2", "title": "Rain expected in Minsk", "relevant": False, "milestones": []},
        # labelled wrong on purpose: the eval must say so, and score it
        {"id": "3", "title": "U.S. envoy Coale meets Lukashenko in Minsk",
         "published": "2025-09-11T12:00:00Z", "relevant": True,
         "milestones": ["embassy_reopened"], "also_ok": []},
    ]
    f = tmp_path / "gold.jsonl"
    f.write_text("\n".join(json.dumps(g) for g in gold) + "\n", encoding="utf-8")
    r = monitor("eval", str(f))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    row = {ln.split()[0]: ln.split()[1:] for ln in lines if ln and ln.split()[0] in (
        "sanctions_lifted", "embassy_reopened", "high_level_contact")}
    assert row["sanctions_lifted"][:3] == ["1.000", "1.000", "1.000"]
    assert row["embassy_reopened"][:3] == ["1.000", "0.000", "0.000"]     # missed
    assert row["high_level_contact"][:3] == ["0.000", "1.000", "0.000"]   # not labelled
    assert "  3: want ['embassy_reopened'] got ['high_level_contact']" in r.stdout
    assert lines[-1] == "milestone micro-F1 0.500 relevance F1 1.000"
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    r = monitor("eval", str(bad))
    assert r.returncode == 2 and "line 1" in r.stderr


def test_usage_errors_exit_2() -> None:
    assert monitor("no-such-command").returncode == 2
    assert monitor("poll").returncode == 2  # --once is required
    assert monitor("items", "--since", "yesterday-ish").returncode == 2


def _own_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(f"database:\n  url: sqlite:///{tmp_path / 'm.db'}\nfeeds:\n"
                   f"  - name: wire\n    url: https://wire.example.org/rss\n"
                   f"watchlists: [{REPO / 'config' / 'watchlists' / 'belarus-us.yaml'}]\n",
                   encoding="utf-8")
    return cfg


def _run(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(cfg), *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_unknown_names_and_revisions_are_usage_errors(tmp_path: Path) -> None:
    cfg = _own_config(tmp_path)
    bad = _run(cfg, "db", "upgrade", "--revision", "bogus")
    assert bad.returncode == 2 and "Invalid value for --revision" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert _run(cfg, "db", "upgrade").returncode == 0
    r = _run(cfg, "items", "--feed", "nope")
    assert r.returncode == 2 and "feeds: no feed named 'nope'" in r.stderr
    r = _run(cfg, "milestones", "--watchlist", "nope")
    assert r.returncode == 2 and "watchlists: no watchlist named 'nope'" in r.stderr
    # known names with nothing stored yet: an empty listing
    assert (_run(cfg, "items", "--feed", "wire").returncode,
            _run(cfg, "milestones", "--watchlist", "belarus-us").returncode) == (0, 0)


def test_a_reader_that_stops_early_gets_no_error(tmp_path: Path) -> None:
    """`monitor classify < big.jsonl | head -1`: no message, status 1 (output cut short)."""
    lines = tmp_path / "in.jsonl"
    lines.write_text("".join(json.dumps({"id": str(i), "title": f"Weather in Minsk {i}"}) + "\n"
                             for i in range(3000)), encoding="utf-8")
    with lines.open("rb") as stdin:
        p = subprocess.Popen([sys.executable, "-m", "monitor", "--config",
                              str(_own_config(tmp_path)), "classify"], stdin=stdin,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stderr is not None
    assert json.loads(p.stdout.readline())["id"] == "0"
    p.stdout.close()
    assert p.wait(timeout=120) == 1
    assert p.stderr.read() == ""
    p.stderr.close()
