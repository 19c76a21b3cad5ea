"""Counted nouns for messages: "1 reading", "2 readings", "1 entry", "3 entries", "1,200 rows"."""


def counted(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"
