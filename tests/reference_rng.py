"""An independent pure-Python model of the documented dice stream.

SplitMix64 seed expansion -> PCG-64 MCG (XSL RR output, low 32 bits) -> Lemire's
multiply-and-reject mapping to ``1..=sides``. If the Rust engine ever drifts from
this description, the seeded-result tests fail.
"""

from __future__ import annotations

MASK64 = (1 << 64) - 1
MASK128 = (1 << 128) - 1
PCG_MULTIPLIER = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645


class SplitMix64:
    def __init__(self, state: int) -> None:
        self.state = state & MASK64

    def next(self) -> int:
        self.state = (self.state + 0x9E37_79B9_7F4A_7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB) & MASK64
        return z ^ (z >> 31)


class ReferenceDice:
    def __init__(self, seed: int) -> None:
        expander = SplitMix64(seed)
        high = expander.next()
        low = expander.next()
        self.state = ((high << 64) | low) | 1

    def next_u32(self) -> int:
        self.state = (self.state * PCG_MULTIPLIER) & MASK128
        rot = self.state >> 122
        xsl = ((self.state >> 64) ^ self.state) & MASK64
        out = ((xsl >> rot) | (xsl << (64 - rot))) & MASK64
        return out & 0xFFFF_FFFF

    def die(self, sides: int) -> int:
        product = self.next_u32() * sides
        low = product & 0xFFFF_FFFF
        if low < sides:
            threshold = (1 << 32) % sides
            while low < threshold:
                product = self.next_u32() * sides
                low = product & 0xFFFF_FFFF
        return (product >> 32) + 1

    def dice(self, count: int, sides: int) -> list[int]:
        return [self.die(sides) for _ in range(count)]
