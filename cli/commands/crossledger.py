"""partner, xsend, xresume, verify-pair and bundle: payments across two ledgers (docs/crossledger.md).

A ledger is named by a directory (``DIR/wonledger.db``, keys in ``DIR/keys``)
or by a database URL with its key directory. Each ledger is written by a node
process of its own; the driver keeps its journal of steps in ``--driver DIR``.
A payment half done (fulfilled on one ledger only) is a result that is not
ok: exit 3, through `wonledger_cli.main`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from wonledger import BadInput, TypedAmount, format_amount
from wonledger.crossledger import DEFAULTS, LedgerPlace, Timing
from wonledger_cli.context import Checked, Context, json_option, pass_context
from wonledger_cli.render import emit_json, table

if TYPE_CHECKING:
    from wonledger.crossledger import Outcome, PairReport


def _places(kr: str, hk: str, kr_keys: str | None, hk_keys: str | None) -> tuple[LedgerPlace, LedgerPlace]:
    return LedgerPlace.parse(kr, kr_keys), LedgerPlace.parse(hk, hk_keys)


def _ledger_options(command):
    for option in reversed(
        [
            click.option("--kr", required=True, metavar="DIR|URL", help="The Korean ledger: a directory (DIR/wonledger.db, DIR/keys) or a database URL."),
            click.option("--hk", required=True, metavar="DIR|URL", help="The Hong Kong ledger, likewise."),
            click.option("--kr-keys", metavar="DIR", help="The Korean ledger's key directory (default DIR/keys, or DIR/wonledger-keys made by init in DIR)."),
            click.option("--hk-keys", metavar="DIR", help="The Hong Kong ledger's key directory (default DIR/keys, or DIR/wonledger-keys made by init in DIR)."),
        ]
    ):
        command = option(command)
    return command


_DRIVER = click.option(
    "--driver", default="wonledger-driver", show_default=True, metavar="DIR", help="The driver's directory: its journal of steps and its locks."
)


# -- partner -------------------------------------------------------------------------------


@click.group()
@json_option
def partner() -> None:
    """The other ledger this one settles with, known by its operator's signed card.

    \b
    Examples:
      wonledger --db sqlite:///hk/wonledger.db --keys hk/keys partner card > hk-card.json
      wonledger --db sqlite:///kr/wonledger.db --keys kr/keys partner add hk-card.json
    """


@partner.command("card", short_help="This ledger's card, signed by its operator.")
@pass_context
def partner_card(ctx: Context) -> None:
    """This ledger's card (JSON): its id, operator key and participants' keys, signed by its operator.

    \b
    Examples:
      wonledger partner card > my-card.json
    """
    emit_json(ctx.ledger().partners.card().to_json())


@partner.command("add", short_help="Record another ledger's card, if its operator signed it.")
@click.argument("card_file", metavar="FILE", type=click.File("r", encoding="utf-8"))
@click.option("--operator-key", metavar="KEY", help="Pin the partner's operator key (base64url), as its operator gave it to you.")
@json_option
@pass_context
def partner_add(ctx: Context, card_file: Any, operator_key: str | None) -> None:
    """Record another ledger's card (FILE, as `partner card` wrote it; - for stdin), if its operator signed it.

    \b
    Examples:
      wonledger partner add hk-card.json
      wonledger partner add hk-card.json --operator-key uaDgnCuIUXUJ5wlgRafFtOMrh0XKBSOjvrAIrWRvndM
    """
    from wonledger import parse_card, strict_loads

    try:
        data = strict_loads(card_file.read())
    except ValueError as exc:
        raise BadInput(f"{card_file.name} is not JSON: {exc}") from None
    card = ctx.ledger().partners.add(parse_card(data), operator_key)
    if ctx.json:
        emit_json({"ledger": card.ledger, "operator_key": card.operator_key, "participants": len(card.participants)})
        return
    click.echo(f"partner {card.ledger}: {len(card.participants)} participants by reference, operator key {card.operator_key}")


@partner.command("list")
@json_option
@pass_context
def partner_list(ctx: Context) -> None:
    """The partner ledgers recorded here.

    \b
    Examples:
      wonledger partner list
    """
    cards = ctx.ledger().partners.all()
    if ctx.json:
        emit_json({"partners": [{"ledger": c.ledger, "operator_key": c.operator_key, "participants": [p[0] for p in c.participants]} for c in cards]})
        return
    table([(c.ledger, c.operator_key, str(len(c.participants))) for c in cards], ("ledger", "operator key", "participants"))


# -- xsend, xresume ------------------------------------------------------------------------


@click.command()
@click.argument("payer")
@click.argument("receiver")
@click.argument("amount", metavar="AMOUNT")
@_ledger_options
@_DRIVER
@click.option("--sell", default="KRWS", show_default=True, help="What the payer pays the dealer on the Korean ledger.")
@click.option("--buy", default="HKDS", show_default=True, help="What the dealer pays the receiver on the Hong Kong ledger.")
@click.option("--hk-window", type=click.FloatRange(min=0, min_open=True), default=DEFAULTS.hk_window_s, show_default=True, help="Seconds from now to T_HK.")
@click.option("--skew", type=click.FloatRange(min=0), default=DEFAULTS.skew_s, show_default=True, help="Clock skew bound between the ledgers (s).")
@click.option("--relay-grace", type=click.FloatRange(min=0), default=DEFAULTS.relay_grace_s, show_default=True, help="Time to notice and relay the preimage (s).")
@click.option("--worst-commit", type=click.FloatRange(min=0), default=DEFAULTS.worst_commit_s, show_default=True, help="Worst commit time, failover included (s).")
@click.option("--withhold", is_flag=True, help="The receiver keeps its preimage: both holds expire (a test of the way back).")
@click.option("--memo", default="", help="Free text on both holds.")
@json_option
@pass_context
def xsend(
    ctx: Context, payer: str, receiver: str, amount: str, kr: str, hk: str, kr_keys: str | None, hk_keys: str | None, driver: str,
    sell: str, buy: str, hk_window: float, skew: float, relay_grace: float, worst_commit: float, withhold: bool, memo: str,
) -> Outcome:
    """Pay RECEIVER on the Hong Kong ledger from PAYER on the Korean one: both holds fulfilled, or neither.

    The receiver draws a secret and gives its hash H; the dealer quotes; the
    payer's hold (KRWS to the dealer, deadline T_KR) commits on Korea, then the
    dealer's (HKDS to the receiver, T_HK) on Hong Kong; the receiver fulfils
    on Hong Kong and the secret is relayed to Korea. T_KR − T_HK = 2·skew +
    relay grace + worst commit. Killed at any step, `xresume` finishes or unwinds it.

    \b
    Examples:
      wonledger xsend --kr kr --hk hk seoul-exports kowloon-supply 1,000,000
      wonledger --json xsend --kr kr --hk hk alice kowloon-supply "50,000 KRWS" --driver drv
    """
    from wonledger.crossledger import send

    timing = Timing(hk_window, skew, relay_grace, worst_commit)
    outcome = send(
        *_places(kr, hk, kr_keys, hk_keys), driver, payer, receiver, TypedAmount.parse(amount), sell=sell, buy=buy, timing=timing,
        withhold=withhold, memo=memo, wait_db=ctx.wait_db,
    )
    _show(ctx, [outcome])
    return outcome


@click.command()
@click.argument("payment", required=False)
@_ledger_options
@_DRIVER
@json_option
@pass_context
def xresume(ctx: Context, payment: str | None, kr: str, hk: str, kr_keys: str | None, hk_keys: str | None, driver: str) -> Checked:
    """Finish or unwind what a driver began: PAYMENT, or every payment it left unfinished.

    Where the payment stands is read from the two ledgers: what can still go
    forward before its deadlines does; what cannot goes back (the dealer
    rejects the payer's hold, or it expires at T_KR).

    \b
    Examples:
      wonledger xresume --kr kr --hk hk
      wonledger xresume --kr kr --hk hk xp-3f2a9c0e1b7d4a65
    """
    from wonledger.crossledger import resume

    outcomes = resume(*_places(kr, hk, kr_keys, hk_keys), driver, payment, wait_db=ctx.wait_db)
    _show(ctx, outcomes)
    return Checked(all(o.ok for o in outcomes))


def _show(ctx: Context, outcomes: list[Outcome]) -> None:
    if ctx.json:
        emit_json({"payments": [o.to_json() for o in outcomes]} if len(outcomes) != 1 else outcomes[0].to_json())
        return
    if not outcomes:
        click.echo("nothing to resume: the driver left no payment unfinished")
    for o in outcomes:
        click.echo(f"payment {o.payment} {o.outcome}: {o.detail}")
        plan = o.plan
        if plan is None or not plan.quote:
            continue
        q = plan.quote
        sold = format_amount(plan.sell_amount, q["sell_exponent"])
        bought = format_amount(q["buy_amount"], q["buy_exponent"])
        click.echo(f"  kr {plan.kr_ledger} {plan.kr_hold}: {plan.payer} → {q['dealer']} {sold} {plan.sell_asset}, {o.kr_status or 'not made'} (T_KR {plan.kr_deadline})")
        click.echo(f"  hk {plan.hk_ledger} {plan.hk_hold}: {q['dealer']} → {plan.receiver} {bought} {plan.buy_asset}, {o.hk_status or 'not made'} (T_HK {plan.hk_deadline})")
        click.echo(f"  quote {q['terms']['id']} at {q['terms']['rate']}; H {plan.condition}")


# -- verify-pair, bundle -------------------------------------------------------------------


@click.command("verify-pair")
@click.option("--kr", metavar="DIR|URL", help="The Korean ledger (a directory or a database URL).")
@click.option("--hk", metavar="DIR|URL", help="The Hong Kong ledger.")
@click.option("--kr-keys", metavar="DIR", help="The Korean ledger's key directory (default DIR/keys, or DIR/wonledger-keys made by init in DIR).")
@click.option("--hk-keys", metavar="DIR", help="The Hong Kong ledger's key directory (default DIR/keys, or DIR/wonledger-keys made by init in DIR).")
@click.option("--kr-bundle", metavar="FILE", type=click.File("r", encoding="utf-8"), help="The Korean operator's bundle (`wonledger bundle`), instead of --kr.")
@click.option("--hk-bundle", metavar="FILE", type=click.File("r", encoding="utf-8"), help="The Hong Kong operator's bundle, instead of --hk.")
@click.option("--kr-operator-key", metavar="KEY", help="Pin the Korean operator's key (bundles).")
@click.option("--hk-operator-key", metavar="KEY", help="Pin the Hong Kong operator's key (bundles).")
@json_option
@pass_context
def verify_pair(
    ctx: Context, kr: str | None, hk: str | None, kr_keys: str | None, hk_keys: str | None, kr_bundle: Any, hk_bundle: Any,
    kr_operator_key: str | None, hk_operator_key: str | None,
) -> PairReport:
    """Check two ledgers together: every payment between them settled on both or on neither.

    Linked holds must share H, the quote and the travel data and agree on the
    amounts under the quote's rounding; both fulfilled with the same preimage,
    or neither. Anything else is named (HALF_DONE: which side paid, which
    assumption broke) and the exit code is 3. From two live ledgers (--kr,
    --hk) or two offline bundles (--kr-bundle, --hk-bundle).

    \b
    Examples:
      wonledger verify-pair --kr kr --hk hk
      wonledger verify-pair --kr-bundle kr-bundle.json --hk-bundle hk-bundle.json
    """
    from wonledger import strict_loads
    from wonledger.crossledger import pair_of_bundles, pair_of_ledgers

    if kr_bundle is not None and hk_bundle is not None and kr is None and hk is None:
        try:
            first, second = strict_loads(kr_bundle.read()), strict_loads(hk_bundle.read())
        except ValueError as exc:
            raise BadInput(f"a bundle is not JSON: {exc}") from None
        report = pair_of_bundles(first, second, (kr_operator_key, hk_operator_key))
    elif kr is not None and hk is not None and kr_bundle is None and hk_bundle is None:
        report = pair_of_ledgers(*_places(kr, hk, kr_keys, hk_keys), wait_db=ctx.wait_db)
    else:
        raise BadInput("name two ledgers (--kr, --hk) or two bundles (--kr-bundle, --hk-bundle)")
    _show_pair(ctx, report)
    return report


def _show_pair(ctx: Context, report: PairReport) -> None:
    if ctx.json:
        emit_json(report.to_json())
        return
    counts = report.to_json()["outcomes"]
    said = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "no payment between them"
    head = "ok" if report.ok else "not ok"
    click.echo(f"{head}: {report.kr_ledger} (kr) and {report.hk_ledger} (hk): {said}")
    for problem in report.all_problems():
        click.echo(f"  problem: {problem.code}: {problem.message}")
    if report.not_checked:
        click.echo(f"  not checked: {'; '.join(report.not_checked)}")


@click.command()
@click.option("--partner", "partner_ledger", required=True, metavar="LEDGER", help="The partner ledger's id.")
@click.option("--out", metavar="FILE", help="Write the bundle here (default: stdout).")
@json_option
@pass_context
def bundle(ctx: Context, partner_ledger: str, out: str | None) -> None:
    """This ledger's side of its payments with LEDGER, for offline checking: a signed checkpoint and inclusion proofs.

    \b
    Examples:
      wonledger --db sqlite:///kr/wonledger.db --keys kr/keys bundle --partner wl-0f1e2d3c4b5a --out kr-bundle.json
    """
    from wonledger.crossledger import make_bundle

    made = make_bundle(ctx.ledger(), partner_ledger)
    if out is None:
        emit_json(made)
        return
    from wonledger_cli.commands.audit import replacing  # FILE replaced only once written whole; a name it cannot be is BAD_INPUT

    with replacing(out) as handle:
        json.dump(made, handle, indent=1, sort_keys=True)
        handle.write("\n")
    if ctx.json:
        emit_json({"out": out, "ledger": made["ledger"], "partner": partner_ledger, "entries": len(made["proofs"])})
        return
    click.echo(f"bundle of {made['ledger']} for {partner_ledger}: {len(made['proofs'])} entries under checkpoint {made['checkpoint']['seq']}, in {out}")
