"""Which bilateral agreement carries a new deal, and why none can: the choice the engine
makes when it brokers a match (pure: the agreements between the two parties and how much
of each live deals use)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from marketplace.deals import Agreement, Deal


def agreement_for(deal: Deal, held: Sequence[Agreement], use: Mapping[int, int]) -> Agreement | None:
    """The earliest of the parties' agreements with room for the deal's rate."""
    for agreement in held:
        if use.get(agreement.agreement_id, 0) + deal.rate_kbps <= agreement.max_rate_kbps:
            return agreement
    return None


def why_no_agreement(deal: Deal, held: Sequence[Agreement], use: Mapping[int, int]) -> str:
    """Why the deal waits in PENDING_AGREEMENT: no agreement between the two, or how much
    room each one has left (so the parties know whether to sign one or to raise a rate)."""
    if not held:
        return "no bilateral agreement yet"
    rooms = "; ".join(
        f"agreement {a.reference} has {a.max_rate_kbps - use.get(a.agreement_id, 0)} kbit/s left of {a.max_rate_kbps}"
        for a in held
    )
    return f"{rooms}; the deal needs {deal.rate_kbps} kbit/s"


def alternatives(deal: Deal, held: Sequence[Agreement], use: Mapping[int, int]) -> tuple[list[Agreement], list[str]]:
    """The parties' other agreements that have room for a deal already brokered under
    one of them (which holds its rate), earliest first; and, for each other one without
    room, why not."""
    usable, reasons = [], []
    for a in held:
        if a.agreement_id == deal.agreement_id:
            continue
        left = a.max_rate_kbps - use.get(a.agreement_id, 0)
        if left >= deal.rate_kbps:
            usable.append(a)
        else:
            reasons.append(f"agreement {a.reference}: {left} kbit/s left of {a.max_rate_kbps}")
    return usable, reasons
