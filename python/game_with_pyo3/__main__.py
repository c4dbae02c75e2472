"""Command line: ``python -m game_with_pyo3 roll 4d6kh3`` and ``... duel``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from game_with_pyo3 import __version__, dnd


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="game-with-pyo3", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    roll = commands.add_parser("roll", help="roll dice notation, e.g. 4d6kh3 or '1d20 + 5'")
    roll.add_argument("expression")
    roll.add_argument("--seed", type=int, default=None)

    duel = commands.add_parser("duel", help="Monte Carlo duel between two characters")
    duel.add_argument("--a", default="Fighter:30:16:12", help="NAME:HEALTH:STR:DEX")
    duel.add_argument("--b", default="Rogue:24:10:18", help="NAME:HEALTH:STR:DEX")
    duel.add_argument("--trials", type=int, default=10_000)
    duel.add_argument("--seed", type=int, default=None)
    duel.add_argument("--threads", type=int, default=None)
    return parser


def _character(spec: str) -> dnd.Character:
    parts = spec.split(":")
    if len(parts) != 4:
        raise ValueError(f"expected NAME:HEALTH:STR:DEX, got {spec!r}")
    name, health, strength, dexterity = parts
    return dnd.Character(name, int(health), int(strength), int(dexterity))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "roll":
            print(dnd.roll(args.expression, seed=args.seed))
        else:
            a, b = _character(args.a), _character(args.b)
            stats = dnd.simulate_duel(
                a, b, trials=args.trials, seed=args.seed, threads=args.threads
            )
            print(f"{a.name} vs {b.name}: {stats.trials} duels")
            print(f"  {a.name} wins {stats.wins_a} ({stats.win_rate_a:.1%})")
            print(f"  {b.name} wins {stats.wins_b} ({1 - stats.win_rate_a:.1%})")
            print(f"  mean rounds {stats.mean_rounds:.2f}")
    except (ValueError, OverflowError) as err:
        # The bindings name the argument in the exception's notes.
        notes = "".join(f" ({note})" for note in getattr(err, "__notes__", ()))
        print(f"error: {err}{notes}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
