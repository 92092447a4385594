"""``scripts/mutate.py``'s memory of earlier kills (``--reuse``): what it may and may not reuse."""

from __future__ import annotations

import importlib.util
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


def test_kills_survive_a_second_save(mutate: ModuleType) -> None:
    """A reused kill is written again: a third run still knows it."""
    _killed_once(mutate)
    second = mutate.Kills(reuse=True)
    reused = _mutant(mutate)
    assert second.known(reused)
    second.save([reused])
    assert mutate.Kills(reuse=True).known(_mutant(mutate))


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
