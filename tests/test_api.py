"""The public surface: exports, docstrings, signatures, CLI, free-threading."""

from __future__ import annotations

import inspect
import pickle
import platform
import subprocess
import sys
import sysconfig

import game_with_pyo3
import pytest
from game_with_pyo3 import __main__ as cli
from game_with_pyo3 import dnd, pycool


def test_version_matches_metadata() -> None:
    from importlib.metadata import version

    assert game_with_pyo3.__version__ == version("game-with-pyo3")


def test_native_module_is_private() -> None:
    assert game_with_pyo3.__all__ == ["__version__", "dnd", "pycool"]
    for module in (dnd, pycool):
        for name in module.__all__:
            obj = getattr(module, name)
            # Classes name their public module so pickle and repr point there.
            if inspect.isclass(obj):
                assert obj.__module__ == module.__name__, name


# PyPy (checked on 7.3.19) reads no text signature for an extension class or a method
# of one: inspect.signature gives "(*args, **keywords)" or raises. Functions have theirs.
NO_CLASS_SIGNATURES = pytest.mark.skipif(
    platform.python_implementation() == "PyPy",
    reason="PyPy reads no text signature for extension classes and their methods",
)


def on_a_class(obj: object, text: str) -> object:
    return pytest.param(obj, text, marks=NO_CLASS_SIGNATURES)


PUBLIC = [getattr(m, n) for m in (dnd, pycool) for n in m.__all__ if not n.startswith("MAX")]


@pytest.mark.parametrize("obj", PUBLIC, ids=lambda o: o.__name__)
def test_everything_has_a_docstring(obj: object) -> None:
    assert (obj.__doc__ or "").strip()


@pytest.mark.parametrize(
    ("func", "text"),
    [
        (dnd.roll_dice, "(num_dice, sides, *, seed=None, threads=None)"),
        (dnd.roll_dice_array, "(num_dice, sides, *, seed=None, threads=None)"),
        (dnd.roll, "(expression, *, seed=None)"),
        (dnd.simulate_duel, "(a, b, *, trials=10000, seed=None, threads=None)"),
        on_a_class(dnd.Roller, "(seed=None)"),
        on_a_class(
            dnd.Character,
            "(name, health, strength, dexterity=10, constitution=10, "
            "intelligence=10, wisdom=10, charisma=10)",
        ),
        on_a_class(dnd.Character.attack, "(self, /, target, *, roller=None)"),
        on_a_class(dnd.Roll, "(expression, *, seed=None)"),
        on_a_class(
            dnd.AttackResult,
            "(natural, attack_bonus, attack_total, target_armor_class, hit, critical, damage, "
            "target_health)",
        ),
        on_a_class(dnd.DuelStats, "(trials, wins_a, wins_b, mean_rounds, rounds)"),
        on_a_class(pycool.FrozenCounter, "(value=0)"),
        on_a_class(pycool.LockCounter, "(value=0)"),
        on_a_class(pycool.LazyConfig, "()"),
        (pycool.sum_of_squares, "(input=[])"),
        on_a_class(pycool.Point, "(x, y)"),
        (pycool.move_point, "(point, dx, dy)"),
    ],
)
def test_signatures(func: object, text: str) -> None:
    assert str(inspect.signature(func)) == text  # type: ignore[arg-type]


@pytest.mark.parametrize("obj", PUBLIC, ids=lambda o: o.__name__)
def test_everything_has_a_signature(obj: object) -> None:
    if obj is dnd.NotationError:
        return  # an exception class, constructed like any exception
    assert inspect.signature(obj)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "why"),
    [
        ((10, 3, 3, 1.0, {1: 10}), "wins do not add up"),
        ((2, 1, 1, 1.0, {1: 2**64 - 1, 2: 3}), "counts that wrap around 64 bits"),
        ((2, 1, 1, 1.5, {0: 1, 3: 1}), "a duel of zero rounds"),
        ((2, 1, 1, float("nan"), {1: 2}), "a NaN mean"),
        ((2, 1, 1, float("inf"), {1: 2}), "an infinite mean"),
        ((2, 1, 1, 2.0, {1: 2}), "a mean that is not the mean of rounds"),
        ((1, 1, 0, 2.0**33, {2**32 - 1: 1}), "a mean far from that of rounds"),
    ],
)
def test_duel_stats_refuse_inconsistent_data(args: tuple[object, ...], why: str) -> None:
    with pytest.raises(ValueError, match="inconsistent"):
        dnd.DuelStats(*args)  # type: ignore[arg-type]


def test_result_constructors_check_consistency() -> None:
    stats = dnd.DuelStats(4, 1, 3, 2.25, {1: 1, 2: 1, 3: 2})
    assert (stats.trials, stats.mean_rounds, stats.rounds) == (4, 2.25, {1: 1, 2: 1, 3: 2})
    real = dnd.simulate_duel(
        dnd.Character("a", 40, 14, 12), dnd.Character("b", 40, 13, 11), trials=50, seed=1
    )
    again = dnd.DuelStats(real.trials, real.wins_a, real.wins_b, real.mean_rounds, real.rounds)
    assert again.mean_rounds == real.mean_rounds
    assert dnd.Roll("2d6", seed=3).dice == dnd.roll("2d6", seed=3).dice


def test_help_shows_signature_and_doc() -> None:
    import pydoc

    page = pydoc.plain(pydoc.render_doc(dnd.roll_dice))
    assert "roll_dice(num_dice, sides, *, seed=None, threads=None)" in page
    assert "2**31 - 1" in page


def test_exception_pickles() -> None:
    with pytest.raises(dnd.NotationError) as info:
        dnd.roll("1d")
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == str(info.value)


@pytest.mark.subprocess
def test_module_never_enables_the_gil() -> None:
    code = "import sys, game_with_pyo3.dnd; print(getattr(sys, '_is_gil_enabled', lambda: True)())"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        assert out.stdout.strip() == "False"
    else:
        assert out.stdout.strip() == "True"


def test_cli_roll(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["roll", "4d6kh3", "--seed", "11"]) == 0
    assert capsys.readouterr().out.strip() == str(dnd.roll("4d6kh3", seed=11))


def test_cli_duel(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["duel", "--trials", "500", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    stats = dnd.simulate_duel(
        dnd.Character("Fighter", 30, 16, 12), dnd.Character("Rogue", 24, 10, 18), trials=500, seed=1
    )
    assert f"Fighter wins {stats.wins_a}" in out


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["roll", "4d"], "position 2"),
        (["roll", "1d6", "--seed", "-3"], "seed"),
        (["duel", "--seed", str(2**64)], "seed"),
        (["duel", "--a", "X:0:10:10"], "health"),
        (["duel", "--a", "nonsense"], "NAME:HEALTH:STR:DEX"),
        (["duel", "--trials", "0"], "trials"),
        (["duel", "--threads", str(2**63)], "threads"),
    ],
)
def test_cli_errors_are_messages(
    argv: list[str], names: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert names in err


@pytest.mark.subprocess
def test_python_dash_m() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "game_with_pyo3", "roll", "2d6", "--seed", "3"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == str(dnd.roll("2d6", seed=3))
