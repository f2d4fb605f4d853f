"""Demo: the halls' appointment slots for the days one may book, as the hourly timer makes them, so a fresh
`make run` can book at once (the timer keeps them coming afterwards)."""

from applications.services import appointment_slots_sweep


def load() -> list[str]:
    appointment_slots_sweep()
    return []
