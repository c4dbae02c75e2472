"""Pure-Python equivalents of the engine, for side-by-side benchmarks.

Same rules as the Rust engine (see Character's docstring); Python's `random` module
instead of the PCG stream, so results match in distribution, not number for number.
"""

from __future__ import annotations

import random
import re

_TERM = re.compile(r"\s*(\d*)[dD](\d+|%)(?:([kKdD][hHlL])(\d+))?\s*$")


def roll_notation(expression: str, rng: random.Random) -> int:
    """A single-term `NdS[kh|kl|dh|dl N]` roller, parsed like the engine does."""
    match = _TERM.match(expression)
    if match is None:
        raise ValueError(f"bad notation {expression!r}")
    count = int(match[1] or 1)
    sides = 100 if match[2] == "%" else int(match[2])
    dice = sorted(rng.randint(1, sides) for _ in range(count))
    rule, n = (match[3] or "").lower(), int(match[4] or 0)
    kept = {
        "": dice,
        "kh": dice[count - n :],
        "kl": dice[:n],
        "dh": dice[: count - n],
        "dl": dice[n:],
    }[rule]
    return sum(kept)


class PyCharacter:
    __slots__ = ("defending", "dexterity", "health", "name", "strength")

    def __init__(self, name: str, health: int, strength: int, dexterity: int = 10) -> None:
        self.name, self.health = name, health
        self.strength, self.dexterity = strength, dexterity
        self.defending = False

    @staticmethod
    def modifier(score: int) -> int:
        return (score - 10) // 2

    def armor_class(self) -> int:
        return 10 + self.modifier(self.dexterity)

    def attack(self, target: PyCharacter, rng: random.Random) -> int:
        natural = rng.randint(1, 20)
        bonus = self.modifier(self.strength)
        armor = target.armor_class() + (2 if target.defending else 0)
        critical = natural == 20
        hit = critical or (natural != 1 and natural + bonus >= armor)
        damage = 0
        if hit:
            rolled = sum(rng.randint(1, 8) for _ in range(2 if critical else 1))
            damage = max(rolled + bonus, 1)
            target.health = max(target.health - damage, 0)
        target.defending = False
        return damage


def duel(a: PyCharacter, b: PyCharacter, trials: int, seed: int) -> tuple[int, int]:
    rng = random.Random(seed)
    wins_a = 0
    for _ in range(trials):
        x = PyCharacter(a.name, a.health, a.strength, a.dexterity)
        y = PyCharacter(b.name, b.health, b.strength, b.dexterity)
        ia = rng.randint(1, 20) + x.modifier(x.dexterity)
        ib = rng.randint(1, 20) + y.modifier(y.dexterity)
        a_first = ia > ib or (
            ia == ib
            and (
                x.dexterity > y.dexterity or (x.dexterity == y.dexterity and rng.randint(1, 2) == 1)
            )
        )
        first, second = (x, y) if a_first else (y, x)
        while True:
            first.attack(second, rng)
            if second.health == 0:
                first_won = True
                break
            second.attack(first, rng)
            if first.health == 0:
                first_won = False
                break
        wins_a += first_won == a_first
    return wins_a, trials - wins_a
