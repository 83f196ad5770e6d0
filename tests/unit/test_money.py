"""Amounts: one parser in, one formatter out, never a float."""

import pytest

from wonledger import BadAmount
from wonledger.domain.money import MAX_AMOUNT, check_minor_units, format_amount, parse_amount, split_amount


@pytest.mark.parametrize(
    ("text", "exponent", "minor"),
    [
        ("1000", 0, 1000),
        ("1,000,000", 0, 1_000_000),
        ("12.50", 2, 1250),
        ("12.5", 2, 1250),
        ("0.01", 2, 1),
        ("3.000", 0, 3),  # trailing zeros are not extra precision
        (" 7 ", 0, 7),
    ],
)
def test_major_units_parse_into_exact_minor_units(text: str, exponent: int, minor: int) -> None:
    assert parse_amount(text, exponent) == minor


@pytest.mark.parametrize(
    "text",
    ["-5", "0", "0.00", "abc", "١٢٣", "５", "NaN", "nan", "inf", "Infinity", "1e3", "1.2.3", "", " ", "12,50", "1,00", "+5", "0x10", "1_000"],
)
def test_anything_but_a_positive_plain_number_is_refused(text: str) -> None:
    with pytest.raises(BadAmount):
        parse_amount(text, 2)


def test_more_decimals_than_the_asset_has_are_refused() -> None:
    with pytest.raises(BadAmount, match="decimals"):
        parse_amount("1.5", 0)
    with pytest.raises(BadAmount, match="decimals"):
        parse_amount("12.505", 2)


def test_amounts_beyond_what_a_signature_can_carry_exactly_are_refused() -> None:
    assert parse_amount(str(MAX_AMOUNT), 0) == MAX_AMOUNT
    with pytest.raises(BadAmount):
        parse_amount(str(MAX_AMOUNT + 1), 0)
    with pytest.raises(BadAmount):
        parse_amount(str(2**64), 0)


@pytest.mark.parametrize("value", [1.0, 1.5, True, False, "5", None, -1, 0, 2**63])
def test_json_amounts_must_be_positive_integers_not_floats_or_bools(value: object) -> None:
    with pytest.raises(BadAmount):
        check_minor_units(value)


def test_minor_units_print_as_major_units() -> None:
    assert format_amount(1250, 2) == "12.50"
    assert format_amount(5, 2) == "0.05"
    assert format_amount(-200_000_000_000, 0) == "-200,000,000,000"
    assert format_amount(1_000_000, 2, grouping=False) == "10000.00"


def test_an_amount_may_name_its_asset() -> None:
    assert split_amount("12.50 HKDS") == ("12.50", "HKDS")
    assert split_amount("12.50") == ("12.50", None)
    with pytest.raises(BadAmount):
        split_amount("12 50 HKDS")
