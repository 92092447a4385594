"""``scripts/mutate.py``'s memory of earlier kills (``--reuse``): what it may and may not reuse."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "mutate.py"


@pytest.fixture
def mutate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutate_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "mutate_script", module)  # dataclasses look it up
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "KILLS", tmp_path / "kills.json")
    return module


def _mutant(mutate: ModuleType, after: str = "LIMIT = 2") -> Any:
    return mutate.Mutant("codec", "codec:LIMIT#0", "codec.LIMIT", "LIMIT = 1", after, how="ast")


def _killed_once(mutate: ModuleType) -> None:
    first = _mutant(mutate)
    first.status = mutate.KILLED
    mutate.Kills(reuse=False).save([first])


def test_a_kill_is_reused_with_reuse_and_marked_so(mutate: ModuleType) -> None:
    _killed_once(mutate)
    again = _mutant(mutate)
    assert mutate.Kills(reuse=True).known(again)
    assert again.status == mutate.KILLED
    assert again.reused


def test_without_reuse_every_mutant_runs_again(mutate: ModuleType) -> None:
    _killed_once(mutate)
    again = _mutant(mutate)
    assert not mutate.Kills(reuse=False).known(again)
    assert again.status == mutate.SURVIVED


def test_another_mutation_of_the_same_line_is_not_taken_for_it(mutate: ModuleType) -> None:
    _killed_once(mutate)
    other = _mutant(mutate, after="LIMIT = 0")
    assert not mutate.Kills(reuse=True).known(other)
    assert other.status == mutate.SURVIVED


def test_a_changed_module_forgets_its_kills(
    mutate: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    _killed_once(mutate)
    real = mutate.Kills._hash
    monkeypatch.setattr(
        mutate.Kills,
        "_hash",
        staticmethod(lambda path: "edited" if path.name == "codec.py" else real(path)),
    )
    assert not mutate.Kills(reuse=True).known(_mutant(mutate))


def test_tests_added_keep_the_kills_and_tests_no_longer_met_forget_them(
    mutate: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    _killed_once(mutate)
    # A file added anywhere only adds tests: a kill still holds.
    monkeypatch.setitem(mutate.NEAR, "claims", [*mutate.NEAR["claims"], "tests/test_extra.py"])
    monkeypatch.setitem(mutate.NEAR, "codec", [*mutate.NEAR["codec"], "tests/test_extra.py"])
    monkeypatch.setattr(mutate, "FAST_SUITE", [*mutate.FAST_SUITE, "tests/test_more.py"])
    assert mutate.Kills(reuse=True).known(_mutant(mutate))
    # A file codec's mutants met no longer runs: the test that killed one may be gone.
    near = set(mutate.NEAR["codec"]) | {mutate.edges_of("codec")}
    dropped = next(path for path in mutate.FAST_SUITE if path not in near)
    monkeypatch.setattr(mutate, "FAST_SUITE", [p for p in mutate.FAST_SUITE if p != dropped])
    assert not mutate.Kills(reuse=True).known(_mutant(mutate))


def test_tests_run_another_way_forget_the_kills(
    mutate: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    _killed_once(mutate)
    monkeypatch.setattr(mutate, "PYTEST", [*mutate.PYTEST, "-p", "no:randomly"])
    assert not mutate.Kills(reuse=True).known(_mutant(mutate))


def test_an_earlier_format_without_selections_reuses_nothing(mutate: ModuleType) -> None:
    _killed_once(mutate)
    saved = json.loads(mutate.KILLS.read_text())
    del saved["selections"]
    mutate.KILLS.write_text(json.dumps({**saved, "script": "an earlier hash"}))
    assert not mutate.Kills(reuse=True).known(_mutant(mutate))


def test_a_shard_keeps_the_other_modules_kills(mutate: ModuleType) -> None:
    _killed_once(mutate)  # a codec kill
    mutate.Kills(reuse=False, only=["claims"]).save([])  # a claims shard, run afresh
    assert mutate.Kills(reuse=True).known(_mutant(mutate))
    mutate.Kills(reuse=False, only=["codec"]).save([])  # codec afresh: its kills go
    assert not mutate.Kills(reuse=True).known(_mutant(mutate))


def test_a_shard_runs_mutmut_on_its_modules_mutants_only(
    mutate: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[list[str]] = []
    real = {m: mutate.dotted(m) for m in ("codec", "store")}
    monkeypatch.setattr(mutate, "dotted", real.__getitem__)
    monkeypatch.setattr(mutate, "ROOT", tmp_path)
    monkeypatch.setattr(mutate, "mutmut_bin", lambda: "mutmut")

    def call(args: list[str], **_: Any) -> int:
        calls.append(args)
        (tmp_path / "mutants").mkdir(exist_ok=True)  # what mutmut makes as it starts
        return 0

    monkeypatch.setattr(mutate.subprocess, "call", call)
    (tmp_path / "mutants").mkdir()
    (tmp_path / "mutants" / "kept").write_text("another module's results")
    mutate.run_mutmut(3, fresh=True, modules=["codec", "store"])
    assert calls[-1][-2:] == [
        "django_nextauth_jwt.jose.codec.*",
        "django_nextauth_jwt.state.store.*",
    ]
    assert (tmp_path / "mutants" / "kept").exists()  # a shard never wipes the others
    mutate.run_mutmut(3, fresh=True)
    assert calls[-1] == ["mutmut", "run", "--max-children", "3"]
    assert not (tmp_path / "mutants" / "kept").exists()


def test_kills_survive_a_second_save(mutate: ModuleType) -> None:
    """A reused kill is written again: a third run still knows it."""
    _killed_once(mutate)
    second = mutate.Kills(reuse=True)
    reused = _mutant(mutate)
    assert second.known(reused)
    second.save([reused])
    assert mutate.Kills(reuse=True).known(_mutant(mutate))


def test_a_run_of_one_pass_keeps_the_other_passs_kills(mutate: ModuleType) -> None:
    """``--no-mutmut`` meets no re-check mutant: their kills are written back all the same."""
    _killed_once(mutate)
    mutate.Kills(reuse=True).save([])  # a run that met none of the earlier kills
    assert mutate.Kills(reuse=True).known(_mutant(mutate))


def test_ctrl_c_starts_nothing_queued_and_counts_no_cut_short_run_as_a_kill(
    mutate: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []

    def work(item: int) -> None:
        started.append(item)
        if item == 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mutate.run_all(1, work, list(range(50)))
    assert started == [0]
    # A test run the interruption cut short (pytest's exit code 2) is no kill.
    interrupted = type("Result", (), {"returncode": 2})()
    monkeypatch.setattr(mutate, "pytest_in", lambda *args, **kwargs: interrupted)
    assert mutate.killed_by_tests("codec", Path("."), {}) is False
    mutate.STOPPING.clear()
    assert mutate.killed_by_tests("codec", Path("."), {}) is True


def test_each_module_is_found_in_its_folder_and_is_the_one_mutmut_mutates(
    mutate: ModuleType,
) -> None:
    import tomllib

    assert mutate.source_path("codec") == Path("django_nextauth_jwt/jose/codec.py")
    assert mutate.dotted("store") == "django_nextauth_jwt.state.store"
    assert mutate.dotted("claims") == "django_nextauth_jwt.claims"
    config = tomllib.loads((SCRIPT.parents[1] / "pyproject.toml").read_text())
    mutated = config["tool"]["mutmut"]["only_mutate"]
    assert sorted(str(mutate.source_path(m)) for m in mutate.MODULES) == sorted(mutated)


@pytest.mark.parametrize(
    ("module", "name", "function"),
    [
        ("claims", "django_nextauth_jwt.claims.x_validated__mutmut_45", "validated"),
        ("revocation", "django_nextauth_jwt.state.revocation.x__known__mutmut_1", "_known"),
        (
            "codec",
            "django_nextauth_jwt.jose.codec.xǁKeyringǁ__init____mutmut_3",
            "Keyring.__init__",
        ),
        (
            "users",
            "django_nextauth_jwt.users.xǁTokenUserǁhas_perms__mutmut_3",
            "TokenUser.has_perms",
        ),
    ],
)
def test_a_mutmut_mutant_is_named_by_its_function_in_a_folder_too(
    mutate: ModuleType, module: str, name: str, function: str
) -> None:
    # Equivalents match on "module.function": a module below state/ or jose/ once read as
    # "vocation.x__known", and none of its equivalents matched.
    assert mutate.mutmut_function(module, name) == function


# --------------------------------------------------------------------------- #
# What the passes reach since issue 27: Lua, floats, constant-time compares, MariaDB
# --------------------------------------------------------------------------- #


def test_the_redis_write_scripts_winner_lines_are_mutated(mutate: ModuleType) -> None:
    slips = {(m.before, m.after) for m, _ in mutate.ast_mutants("store") if "#lua" in m.name}
    assert ("if left > ttl then ttl = left end", "") in slips  # the longer expiry wins
    assert ("if current > value then value = current end", "") in slips  # the larger value
    assert ("if left > ttl then ttl = left end", "if left < ttl then ttl = left end") in slips


def test_a_lua_mutant_changes_only_its_line_of_the_script(mutate: ModuleType) -> None:
    import ast

    mutant, source = next(
        (m, s)
        for m, s in mutate.ast_mutants("store")
        if m.before.startswith("if current > value") and m.after
    )
    scripts = {
        node.targets[0].id: str(node.value.value)
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
        and mutate.is_lua(node.value.value)
    }
    lines = [line.strip() for line in scripts["_PUT_MAX"].splitlines()]
    assert mutant.after in lines
    assert mutant.before not in lines


def test_a_compare_is_replaced_at_its_place_after_non_ascii_text(mutate: ModuleType) -> None:
    import ast

    source = 'def f(a, b):\n    x = "é"; return hmac.compare_digest(a, b)\n'
    ((mutant, mutated),) = list(mutate.constant_time_mutants("m", source))
    assert mutated == 'def f(a, b):\n    x = "é"; return a == b\n'
    assert mutant.where == "m.f"
    ast.parse(mutated)


def test_quoted_lua_text_is_never_mutated(mutate: ModuleType) -> None:
    script = "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)\nreturn a .. ' - ' .. b"
    changed = [after for _, _, after in mutate.lua_variants(script)]
    assert all("'-inf'" in line for line in changed if "ZREM" in line)
    assert all("' - '" in line for line in changed if "return" in line)


def test_float_timing_constants_are_scaled_both_ways(mutate: ModuleType) -> None:
    slips = {(m.before, m.after) for m, _ in mutate.ast_mutants("localview")}
    assert ("STALE_AFTER = 0.5", "STALE_AFTER = 1.5") in slips
    assert ("STALE_AFTER = 0.5", "STALE_AFTER = 0.166666667") in slips


def test_each_constant_time_compare_becomes_an_equality(mutate: ModuleType) -> None:
    found = {m.after for m, _ in mutate.ast_mutants("csrf") if "#ct" in m.name}
    assert "genuine |= computed == expected" in found
    found = {m.after for m, _ in mutate.ast_mutants("codec") if "#ct" in m.name}
    assert "if not mac[:32] == tag:" in found


def test_users_and_identity_mutants_meet_mariadb_after_sqlite(
    mutate: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[tuple[str, str]] = []

    def fake(cwd: Path, env: dict[str, str], suite: list[str], *, marker: str = "") -> Any:
        runs.append((env.get("TEST_DB", "sqlite"), marker))
        return type("Result", (), {"returncode": 0})()

    monkeypatch.setattr(mutate, "pytest_in", fake)
    assert mutate.killed_by_tests("users", Path("."), {}) is False
    assert runs[-1] == ("mariadb", "db and not node")
    assert all(db == "sqlite" for db, _ in runs[:-1])
    runs.clear()
    mutate.killed_by_tests("codec", Path("."), {})
    assert all(db == "sqlite" for db, _ in runs)


def test_the_marker_replaces_the_default_one(mutate: ModuleType) -> None:
    options = [o for _, o in mutate._pairs(mutate.PYTEST)]
    assert options[options.index("-m") + 1] == "not node"
    swapped = [
        "db and not node" if before == "-m" else o for before, o in mutate._pairs(mutate.PYTEST)
    ]
    assert swapped.count("-m") == 1
    assert swapped[swapped.index("-m") + 1] == "db and not node"


# --------------------------------------------------------------------------- #
# The record: a fresh checkout's --reuse starts where the last run ended
# --------------------------------------------------------------------------- #

CODEC = "django_nextauth_jwt.jose.codec"
FINGERPRINT = {"mutmut": "3.8.1", "settings": "abc"}


def _meta(mutants: Path, codes: dict[str, int | None]) -> Path:
    meta = mutants / "django_nextauth_jwt" / "jose" / "codec.py.meta"
    meta.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "exit_code_by_key": {f"{CODEC}.{name}": code for name, code in codes.items()},
        "hash_by_function_name": {"x_decode": "h1", "xǁKeyringǁ__init__": "h2"},
        "type_check_error_by_key": {},
        "durations_by_key": {},
        "estimated_durations_by_key": {},
    }
    meta.write_text(json.dumps(body))
    return meta


CODES: dict[str, int | None] = {
    "x_decode__mutmut_1": 1,
    "x_decode__mutmut_2": 0,
    "x_decode__mutmut_12": 1,
    "xǁKeyringǁ__init____mutmut_3": 33,
    "xǁKeyringǁ__init____mutmut_4": None,  # not run yet
}


def test_the_record_gives_a_fresh_checkout_what_the_last_run_knew(
    mutate: ModuleType, tmp_path: Path
) -> None:
    before, after = tmp_path / "before" / "mutants", tmp_path / "after" / "mutants"
    _meta(before, CODES)
    (before / "kills.json").write_text('{"killed": ["re-check|codec|a||"]}')
    record = tmp_path / "mutation-record.json"
    assert mutate.save_record(before, record, FINGERPRINT) is True

    taken = mutate.seed_from_record(record, after, FINGERPRINT)
    assert taken == "mutmut's verdicts of 1 modules and the kills"
    seeded = json.loads((after / "django_nextauth_jwt" / "jose" / "codec.py.meta").read_text())
    run = {k: v for k, v in CODES.items() if v is not None}
    assert seeded["exit_code_by_key"] == {f"{CODEC}.{name}": code for name, code in run.items()}
    assert seeded["hash_by_function_name"] == {"x_decode": "h1", "xǁKeyringǁ__init__": "h2"}
    assert json.loads((after / "kills.json").read_text()) == {"killed": ["re-check|codec|a||"]}
    # The file is short: numbers by code by function, not a name per mutant.
    assert json.loads(record.read_text())["mutmut"]["django_nextauth_jwt/jose/codec.py.meta"][
        "verdicts"
    ] == {"x_decode": {"0": [2], "1": [1, 12]}, "xǁKeyringǁ__init__": {"33": [3]}}


def test_another_mutmut_or_other_settings_take_the_kills_only(
    mutate: ModuleType, tmp_path: Path
) -> None:
    _meta(tmp_path / "before", CODES)
    (tmp_path / "before" / "kills.json").write_text('{"killed": []}')
    record = tmp_path / "mutation-record.json"
    mutate.save_record(tmp_path / "before", record, FINGERPRINT)
    later = {**FINGERPRINT, "mutmut": "3.9.0"}
    taken = mutate.seed_from_record(record, tmp_path / "after", later)
    assert taken == "the kills only (mutmut's version or settings changed)"
    assert not list((tmp_path / "after").rglob("*.meta"))
    assert (tmp_path / "after" / "kills.json").exists()


def test_a_kept_mutants_folder_is_not_overwritten(mutate: ModuleType, tmp_path: Path) -> None:
    record = tmp_path / "mutation-record.json"
    mutate.save_record(_meta(tmp_path / "old", CODES).parents[2], record, FINGERPRINT)
    kept = _meta(tmp_path / "kept", {"x_decode__mutmut_1": 0})
    assert mutate.seed_from_record(record, tmp_path / "kept", FINGERPRINT).startswith("nothing")
    assert json.loads(kept.read_text())["exit_code_by_key"] == {f"{CODEC}.x_decode__mutmut_1": 0}


def test_a_run_without_mutmut_results_leaves_the_record_as_it_was(
    mutate: ModuleType, tmp_path: Path
) -> None:
    record = tmp_path / "mutation-record.json"
    record.write_text("the last run's")
    assert mutate.save_record(tmp_path / "empty", record, FINGERPRINT) is False
    assert record.read_text() == "the last run's"
    assert mutate.seed_from_record(tmp_path / "none.json", tmp_path / "m", FINGERPRINT).startswith(
        "nothing"
    )


ENTRY = """
[[equivalent]]
where = 'codec.LIMIT'
before = 'LIMIT = 1'
after = '{after}'
reason = 'no test can tell'
"""


def test_the_committed_equivalents_name_each_mutant_once(mutate: ModuleType) -> None:
    # load_equivalents stops (SystemExit) at a second entry for one mutant.
    assert len(mutate.load_equivalents()) > 300


def test_two_equivalents_for_one_mutant_stop_the_run(
    mutate: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = tmp_path / "equivalents.toml"
    monkeypatch.setattr(mutate, "EQUIVALENTS", listed)
    listed.write_text(ENTRY.format(after="LIMIT = 2") + ENTRY.format(after="LIMIT = 0"))
    assert [e["after"] for e in mutate.load_equivalents()] == ["LIMIT = 2", "LIMIT = 0"]
    # The same mutant again, spaced otherwise: the second entry could never match.
    listed.write_text(ENTRY.format(after="LIMIT = 2") + ENTRY.format(after="LIMIT  =  2"))
    with pytest.raises(SystemExit, match=r"two entries for one mutant of codec\.LIMIT"):
        mutate.load_equivalents()
