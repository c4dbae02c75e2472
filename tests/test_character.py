from __future__ import annotations

import copy
import pickle

import pytest
from game_with_pyo3 import dnd

ABILITIES = ["strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma"]


def make(name: str = "Aria", health: int = 20, **scores: int) -> dnd.Character:
    return dnd.Character(name, health, scores.pop("strength", 14), **scores)


def test_attributes_and_defaults() -> None:
    c = dnd.Character("Aria", 25, 16, 14)
    assert (c.name, c.health, c.max_health) == ("Aria", 25, 25)
    assert (c.strength, c.dexterity) == (16, 14)
    assert [getattr(c, a) for a in ABILITIES[2:]] == [10, 10, 10, 10]
    assert c.armor_class == 12
    assert c.is_alive
    assert not c.is_defending


def test_unknown_ability() -> None:
    with pytest.raises(ValueError, match="ability"):
        make().modifier("luck")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": ""}, ValueError, "name"),
        ({"name": "   "}, ValueError, "name"),
        ({"health": 0}, ValueError, "health"),
        ({"health": -3}, ValueError, "health"),
        ({"health": 10_001}, ValueError, "health"),
        ({"health": 2**80}, OverflowError, "health"),
        ({"strength": 0}, ValueError, "strength"),
        ({"dexterity": 31}, ValueError, "dexterity"),
        ({"charisma": -1}, ValueError, "charisma"),
        ({"wisdom": 100}, ValueError, "wisdom"),
        ({"name": 7}, TypeError, "name"),
        ({"health": 2.5}, TypeError, "health"),
        ({"constitution": "10"}, TypeError, "constitution"),
    ],
)
def test_bad_construction(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    args: dict[str, object] = {"name": "Aria", "health": 20, "strength": 10}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        dnd.Character(**args)  # type: ignore[arg-type]


def test_heal_and_damage() -> None:
    c = make(health=20)
    assert c.take_damage(7) == 13
    assert c.heal(3) == 16
    assert c.heal(100) == 20
    assert c.take_damage(50) == 0
    assert not c.is_alive
    assert c.heal(5) == 5
    assert c.is_alive
    assert c.take_damage(2**63 - 1) == 0
    with pytest.raises(ValueError, match="amount"):
        c.heal(-1)
    with pytest.raises(ValueError, match="amount"):
        c.take_damage(-1)
    with pytest.raises(TypeError):
        c.heal(1.5)
    assert c.health == 0


def test_attack_rules_over_many_seeds() -> None:
    attacker = dnd.Character("Aria", 20, 16)  # +3
    natural_seen = set()
    for seed in range(600):
        target = dnd.Character("Dummy", 10_000, 10, 18)  # AC 14
        defending = seed % 3 == 0
        if defending:
            target.defend()
        result = attacker.attack(target, roller=dnd.Roller(seed))
        natural_seen.add(result.natural)
        assert result.attack_bonus == 3
        assert result.attack_total == result.natural + 3
        assert result.target_armor_class == 14 + (2 if defending else 0)
        assert result.critical == (result.natural == 20)
        if result.natural == 1:
            assert not result.hit
        elif result.natural == 20:
            assert result.hit
        else:
            assert result.hit == (result.attack_total >= result.target_armor_class)
        if result.hit:
            top = 16 + 3 if result.critical else 8 + 3
            assert 1 <= result.damage <= top
        else:
            assert result.damage == 0
        assert target.health == 10_000 - result.damage == result.target_health
        assert not target.is_defending
    assert natural_seen == set(range(1, 21))


def test_weak_hits_deal_at_least_one() -> None:
    weakling = dnd.Character("Weak", 10, 1)  # -5 to damage
    hits = []
    for seed in range(400):
        target = dnd.Character("T", 10_000, 10, 1)  # AC 5
        result = weakling.attack(target, roller=dnd.Roller(seed))
        if result.hit:
            hits.append(result.damage)
    assert hits
    assert min(hits) == 1


def test_attack_with_roller_is_replayable() -> None:
    def fight(seed: int) -> list[tuple[int, int]]:
        roller = dnd.Roller(seed)
        a, b = make("A", 30), make("B", 30)
        log = []
        while a.is_alive and b.is_alive:
            r = a.attack(b, roller=roller)
            log.append((r.natural, r.damage))
            if b.is_alive:
                r = b.attack(a, roller=roller)
                log.append((r.natural, r.damage))
        return log

    assert fight(4) == fight(4)
    assert fight(4) != fight(5)


def test_fallen_characters_and_self_attacks_are_refused() -> None:
    a, b = make("A"), make("B")
    with pytest.raises(ValueError, match="itself"):
        a.attack(a)
    b.take_damage(100)
    with pytest.raises(ValueError, match="fallen"):
        a.attack(b)
    with pytest.raises(ValueError, match="fallen"):
        b.attack(a)
    assert (a.health, b.health) == (20, 0)
    with pytest.raises(TypeError):
        a.attack("B")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        a.attack(b, roller=3)  # type: ignore[arg-type]


def test_repr_looks_like_the_constructor() -> None:
    c = dnd.Character("Aria", 20, 16, 14)
    expected = (
        "Character('Aria', health=20, strength=16, dexterity=14, constitution=10, "
        "intelligence=10, wisdom=10, charisma=10)"
    )
    assert repr(c) == expected
    c.take_damage(5)
    assert repr(c) == expected + " [health 15/20]"


@pytest.mark.parametrize(
    "clone", [copy.copy, copy.deepcopy, lambda c: pickle.loads(pickle.dumps(c))]
)
def test_copy_and_pickle_keep_current_health(clone: object) -> None:
    c = dnd.Character("Aria", 20, 16, 14, 12, 11, 9, 8)
    c.take_damage(6)
    c.defend()
    twin = clone(c)  # type: ignore[operator]
    assert twin is not c
    assert repr(twin) == repr(c)
    assert (twin.health, twin.max_health, twin.is_defending) == (14, 20, True)
    twin.take_damage(1)
    assert c.health == 14


def test_result_objects_pickle() -> None:
    result = make("A").attack(make("B"), roller=dnd.Roller(1))
    again = pickle.loads(pickle.dumps(result))
    assert repr(again) == repr(result)
    rebuilt = eval(repr(result), {"AttackResult": dnd.AttackResult})  # noqa: S307
    assert repr(rebuilt) == repr(result)
    assert (again.hit, again.damage, again.natural) == (result.hit, result.damage, result.natural)
    roll = dnd.roll("4d6kh3", seed=2)
    roll_again = pickle.loads(pickle.dumps(roll))
    assert (str(roll_again), roll_again.kept, roll_again.dropped) == (
        str(roll),
        roll.kept,
        roll.dropped,
    )


def test_classes_are_immutable_where_they_should_be() -> None:
    c = make()
    with pytest.raises(AttributeError):
        c.health = 99  # type: ignore[misc]
    with pytest.raises(AttributeError):
        c.strength = 3  # type: ignore[misc]
    for ability in ("strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma"):
        with pytest.raises(AttributeError, match="read-only"):
            setattr(c, ability, 3)
        with pytest.raises(AttributeError, match="read-only"):
            delattr(c, ability)
    with pytest.raises(TypeError):
        type("Sub", (dnd.Character,), {})
