"""Dice rolling, dice notation, characters and duels.

Seeded results are identical on every run, release and platform: the stream is
PCG-64 MCG seeded through SplitMix64, mapped to ``1..=sides`` with Lemire's
multiply-and-reject method (see the README, "Reproducible dice").
"""

from game_with_pyo3._core import (
    MAX_DICE,
    MAX_HEALTH,
    AttackResult,
    Character,
    DuelStats,
    NotationError,
    Roll,
    Roller,
    roll,
    roll_dice,
    roll_dice_array,
    simulate_duel,
)

__all__ = [
    "MAX_DICE",
    "MAX_HEALTH",
    "AttackResult",
    "Character",
    "DuelStats",
    "NotationError",
    "Roll",
    "Roller",
    "roll",
    "roll_dice",
    "roll_dice_array",
    "simulate_duel",
]
