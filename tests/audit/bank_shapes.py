"""What each bank file in ``bank_files/`` holds, written out by hand: the independent reading the reader must agree with.

Each file was written for wonledger's tests in the shape of one bank's
export, learned from public samples of that bank's format (header lines,
envelopes, pages, the structure of ``:86:``, camt versions and their
habits); the names, accounts, references and amounts in them are invented.
For each file, :data:`FILES` says what a person reading it finds: its
statements (account as the file gives it, currency, id, number, opening and
closing balances with their dates, the days it covers, pages) and each
entry (booking and value date, signed amount in minor units, end-to-end id,
the bank's reference, remittance). Amounts are minor units: KRW has no
decimals, every other currency here two.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class E:
    """One entry (or one transaction of a batched entry)."""

    booked: str
    value: str
    amount: int | None  # signed minor units; None: a batch transaction that gives no amount of its own
    e2e: str | None = None
    bank: str | None = None  # the account servicer's reference
    memo: str | None = None
    status: str = "BOOK"
    ledger: int | None = None  # what the ledger booked for a transaction without an amount (its sign is the entry's)


@dataclass(frozen=True)
class S:
    """One statement (an MT940 of several pages is one)."""

    account: str
    currency: str
    statement_id: str
    sequence: int | None
    opening: int | None
    opening_date: str | None
    closing: int | None
    closing_date: str | None
    period: tuple[str | None, str | None]
    entries: tuple[E, ...]
    pages: int = 1


@dataclass(frozen=True)
class BankFile:
    name: str
    bank: str
    shape: str  # what is particular about it
    statements: tuple[S, ...]
    #: False where a ledger cannot hold its payments (a debit balance on an account that may not be overdrawn)
    reconciles: bool = True
    #: the breaks a ledger of exactly its payments still gives (a file that holds one statement twice)
    still: tuple[tuple[str, str], ...] = ()


D1, D2, D3, D4, D5 = "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05"
N30 = "2026-11-30"

FILES: tuple[BankFile, ...] = (
    # --- ING ---------------------------------------------------------------------------------
    BankFile(
        "ing-mt940-structured.sta", "ING", "header lines, IBAN and currency in :25:, /EREF/ /CNTP/ /REMI/USTD// in :86:, /TRCD/ lines, :64:, :65:, a closing :86:, -XXX",
        (
            S("NL20INGB0001234567EUR", "EUR", "P261201000000001", 0, 1250000, N30, 1457525, D1, (D1, D1), (
                E(D1, D1, -125000, "INV-2026-0301", "2612011201B00471", "Invoice 2026-0301 bolts and nuts"),
                E(D1, D1, 340050, None, "2612011201C00472", "Payment order 7731"),
                E(D1, D1, -7525, "DD-2026-11-ENERGY", "2612011201D00473", "Energy November"),
            )),
        ),
    ),
    BankFile(
        "ing-mt940-28c-break.sta", "ING", ":28C: broken over two lines",
        (S("NL20INGB0001234567EUR", "EUR", "P261202000000002", 47, 1457525, D1, 1407525, D2, (D2, D2), (
            E(D2, D2, -50000, "PO-88123", "2612021202B00512", "PO-88123"),
        )),),
    ),
    BankFile(
        "ing-mt940-envelope.sta", "ING", "a SWIFT envelope over three lines, no entry dates, type code NOV with a space, a 23-character reference, free-text :86:",
        (S("0001234567", "EUR", "MPBZ", 0, 25000, N30, 132500, D2, (D1, D2), (
            E(D1, D1, -2503, None, None, "RC AFREKENING BETALINGSVERKEER BETREFT REKENING 4715589 PERIODE: 01-10-2026 / 30-11-2026 ING Bank N.V. tarifering ING"),
            E(D1, D1, 120000, "INGREF-2026-1201-000017", None, "0111111111 HARBOUR LINES BV INVOICE 4471 TRANSACTIEDATUM: 01-12-2026"),
            E(D2, D2, -9997, None, None, "ABN AMRO BANK>AMSTERDAM 02122026 09:57 002\t5595781"),
        )),),
    ),
    BankFile(
        "ing-camt053-v02.xml", "ING", "camt.053.001.02, FrToDt with a local offset, amounts in AmtDtls, NOTPROVIDED",
        (S("NL20INGB0001234567", "EUR", "P261202000000003", 48, 1407525, D2, 1587525, D2, (D2, D2), (
            E(D2, D2, 200000, "HL-INV-8810", "2612021202C00590", "INVOICE 8810"),
            E(D2, D2, -20000, "NOTPROVIDED", "2612021202D00591", "Card settlement"),
        )),),
    ),
    BankFile(
        "ing-camt054-v08.xml", "ING", "camt.054.001.08 credit notification with an instruction id, no balances",
        (S("NL20INGB0001234567", "EUR", "P261203N0001", None, None, None, None, None, (D3, D3), (
            E(D3, D3, 64000, "HL-INV-8811", "2612031203C00611", "INVOICE 8811"),
        )),),
    ),
    # --- ABN AMRO ------------------------------------------------------------------------------
    BankFile(
        "abnamro-mt940-headers.sta", "ABN AMRO", "ABNANL2A / 940 header lines before each message, :28: instead of :28C:, free text, a blank line, two days",
        (
            S("517852257", "EUR", "ABN AMRO BANK NV", 19321, 323628, N30, 308580, D1, (D1, D1), (
                E(D1, D1, -900, None, None, "GIRO 428428 KPN - DIGITENNE BETALINGSKENM. 000000042188659 5314606715 BETREFT FACTUUR D.D. 20-11-2026 INCL. 1,44 BTW"),
                E(D1, D1, -14148, None, None, "BEA NR:XXX1234 01.12.26/13.45 MYCOM DEN HAAG S-GRAVEN,PAS999"),
            )),
            S("517852257", "EUR", "ABN AMRO BANK NV", 19322, 308580, D1, 457080, D2, (D2, D2), (
                E(D2, D2, 150000, None, None, "SEPA OVERBOEKING IBAN: NL44RABO0123456789 BIC: RABONL2U NAAM: VAN DER MEER TRADING BV OMSCHRIJVING: CREDIT NOTE 77"),
                E(D2, D2, -1500, None, None, "BEA NR:XXX1234 02.12.26/09.18 PETS PLACE KATWIJK,PAS999"),
            )),
        ),
    ),
    BankFile(
        "abnamro-mt940-sepa.sta", "ABN AMRO", "SEPA :86: /TRTP/ /IBAN/ /BIC/ /NAME/ /REMI/ /EREF/ wrapped in the middle of a code's value",
        (S("NL91ABNA0417164300", "EUR", "ABN AMRO BANK NV", 342, 1000000, D1, 838025, D2, (D2, D2), (
            E(D2, D2, -245000, "MM-4410-KOWLOON", None, "RECHNUNG 2026-4410"),
            E(D2, D2, 83025, None, None, "REFUND ORDER 7731"),
        )),),
    ),
    BankFile(
        "abnamro-camt053-v02-batch.xml", "ABN AMRO", "camt.053.001.02, three salaries booked as one entry (Btch), each TxDtls with its amount",
        (S("NL91ABNA0417164300", "EUR", "ABN-NL91ABNA0417164300-20261203", 343, 838025, D3, 598025, D3, (D3, D3), (
            E(D3, D3, -80000, "SAL-2026-12-001", "ABN261203B0088", "SALARY DECEMBER"),
            E(D3, D3, -80000, "SAL-2026-12-002", "ABN261203B0088", "SALARY DECEMBER"),
            E(D3, D3, -80000, "SAL-2026-12-003", "ABN261203B0088", "SALARY DECEMBER"),
        )),),
    ),
    # --- Rabobank ------------------------------------------------------------------------------
    BankFile(
        "rabobank-mt940.sta", "Rabobank", ":940: header, zero-padded amounts, EREF as the reference, the counter-IBAN line, two statements with no end marker",
        (
            S("NL71RABO0123456789", "EUR", "940S261201", 0, 100000, N30, 122500, D1, (D1, D1), (
                E(D1, D1, -2500, "RABO-E2E-0001", None, "Reference 2026-1201"),
                E(D1, D1, 25000, None, None, "Invoice 661"),
            )),
            S("NL71RABO0123456789", "EUR", "940S261202", 0, 122500, D1, 121500, D2, (D2, D2), (
                E(D2, D2, -1000, None, None, "Subscription December"),
            )),
        ),
    ),
    BankFile(
        "rabobank-mt940-long-reference.sta", "Rabobank", "a 23-character reference for the account owner and a 20-character bank reference",
        (S("NL71RABO0123456789", "EUR", "940S261203", 0, 121500, D2, 81500, D3, (D3, D3), (
            E(D3, D3, -40000, "RABO-ORDER-2026-0001234", "RB261203-0000000077", "ORDER 1234"),
        )),),
    ),
    BankFile(
        "rabobank-camt053-v08-reversal.xml", "Rabobank", "camt.053.001.08, a payment, the bank's reversal of it (RvslInd) and another payment",
        (S("NL71RABO0123456789", "EUR", "940S261204", 339, 81500, D4, 71500, D4, (D4, D4), (
            E(D4, D4, -15000, "RABO-ORDER-2026-0001301", "RB261204-01", "ORDER 1301"),
            E(D4, D4, 15000, "NOTPROVIDED", "RB261204-02", "REVERSAL ORDER 1301"),
            E(D4, D4, -10000, "RABO-ORDER-2026-0001302", "RB261204-03", "ORDER 1302"),
        )),),
    ),
    # --- Triodos, Knab, ASN -----------------------------------------------------------------------
    BankFile(
        "triodos-mt940.sta", "Triodos", ":25: bank/number, :28:, the >20 subfields of :86:",
        (S("TRIODOSBANK/0390123456", "EUR", "1308728725026/1", 1, 497509, N30, 425939, D2, (D1, D2), (
            E(D1, D1, -1570, None, None, "ALGEMENE TUSSENREKENING KOSTEN VAN 01-10-2026 TOT EN MET 30-11-2026"),
            E(D2, D2, -70000, None, None, "HUUR KANTOOR - DEC 2026"),
        )),),
    ),
    BankFile(
        "knab-mt940.sta", "Knab", "envelopes, amounts without a decimal comma (500, 45), a reference with spaces, no line break at the end",
        (
            S("NL56KNAB0123456789", "EUR", "B6L01MS9D00A0009", 998, 0, N30, 50000, D1, (D1, D1), (
                E(D1, D1, 50000, None, "B6L01XM00J000023", "HIER EEN OMSCHRIJVING IN HOOFDLETTERS WANT DAT IS ZOALS DE NEDERLANDSE BANKEN COMMUNICEREN"),
            )),
            S("NL56KNAB0123456789", "EUR", "B6L02MS9D00A003D", 999, 50000, D1, 28500, D2, (D2, D2), (
                E(D2, D2, -26000, None, "B6L02PGCVO7Q06US", "FACTUUR 2026-110, 2026-113 REK: NL65INGB0123456789/NAAM: PICQER"),
                E(D2, D2, 4500, "02-12-2026 10:05", "B6L02PGDCK1QFV3E",
                  "12160475 0050001631430920 ORDERID: 264267 MEDIA MARKT ONLINE NE REK: NL84INGB0234561789/NAAM: MMS ONLINE NEDERLAND B.V."),
            )),
        ),
    ),
    BankFile(
        "asn-mt940-daily.sta", "ASN Bank", "a statement a day, each opening balance dated on its own day, blanks for the entry date, a day without entries, NDIV with no reference",
        (
            S("NL81ASNB9999999999", "EUR", "0000000000", 1, 44429, D1, 37929, D1, (D1, D1), (
                E(D1, D1, -6500, "NL47INGB9999999999", None, "NL47INGB9999999999 hr gjlm jansen Betaling sieraden"),
            )),
            S("NL81ASNB9999999999", "EUR", "0000000000", 2, 37929, D2, 37929, D2, (D2, D2), ()),
            S("NL81ASNB9999999999", "EUR", "0000000000", 3, 37929, D3, 137764, D3, (D3, D3), (
                E(D3, D3, 100000, "NL56ASNB9999999999", None, "NL56ASNB9999999999 jansen g j l m INTERNE OVERBOEKING VIA MOBIEL"),
                E(D3, D3, -165, None, None, "Kosten gebruik betaalrekening inclusief 1 betaalpas"),
            )),
        ),
    ),
    # --- Deutsche Bank ---------------------------------------------------------------------------
    BankFile(
        "deutschebank-mt940-pages.sta", "Deutsche Bank", "one statement over three pages (:60M:/:62M:), German ?20 EREF+ KREF+ SVWZ+ subfields, /OCMT/ /CHGS/ details",
        (S("20070000/0123456601", "EUR", "DEUTDEMMXXX", 143, 500000, N30, 438755, D3, (D1, D3), (
            E(D1, D1, -1235, "DB-RET-2026-0001", "2026120117832528", "SONSTIGE GRUENDE ENDABRECHNUNG NR. 500106875"),
            E(D1, D1, 180000, "HL-INV-7731", "2026120117832529", "INVOICE 7731 HARBOUR LINES"),
            E(D2, D2, -250000, "KS-PO-2026-0099", "2026120217832601", "PO 2026-0099 MASCHINENTEILE"),
            E(D3, D3, 9990, None, "2026120317832702", "ERSTATTUNG VERSAND"),
        ), pages=3),),
    ),
    BankFile(
        "deutschebank-mt940-envelope.sta", "Deutsche Bank", "SWIFT envelopes with trailers, two accounts in two currencies, CRLF line ends",
        (
            S("DE89370400440532013000", "EUR", "DB261202EUR01", 310, 2000000, D1, 1250000, D2, (D2, D2), (
                E(D2, D2, -750000, "KS-2026-12-PAY-01", "DB2612020000011", "DEPOSIT CONTAINER 44"),
            )),
            S("DE89370400440532013001", "USD", "DB261202USD01", 311, 800000, D1, 925000, D2, (D2, D2), (
                E(D2, D2, 125000, "USD-INV-88", "DB2612020000012", "INVOICE 88 USD"),
            )),
        ),
    ),
    BankFile(
        "deutschebank-camt053-v02-prcd.xml", "Deutsche Bank", "camt.053.001.02 without FrToDt, PRCD (the previous day's closing) as the opening, DK transaction codes",
        (S("DE89370400440532013000", "EUR", "DB261203EUR01", 311, 1250000, D2, 1125000, D3, (D3, D3), (
            E(D3, D3, -150000, "KS-2026-12-PAY-02", "DB2612030000021", "DEPOSIT CONTAINER 45"),
            E(D3, D3, 25000, "NOTPROVIDED", "DB2612030000022", "ERSTATTUNG"),
        )),),
    ),
    # --- Sparkasse -------------------------------------------------------------------------------
    BankFile(
        "sparkasse-mt940-days.sta", "Sparkasse", "STARTUMSE for every day, the same :28C:, funds code (DR20,00), ?00 ?10 ?20..?34 subfields, purpose lines cut mid-word",
        (
            S("87052000/123456789", "EUR", "STARTUMSE", 0, 19457, N30, 17457, D1, (D1, D1), (
                E(D1, D1, -2000, None, None, "2026-11-30T20.10 Debitk.4 2026-12"),
            )),
            S("87052000/123456789", "EUR", "STARTUMSE", 0, 17457, D1, 46457, D2, (D2, D2), (
                E(D2, D2, -2000, "SPK-2026-000451", None, "Apple PayDATUM 02.12.2026, 13.24 UHR"),
                E(D2, D2, 31000, "KS-REFUND-0042", None, "Erstattung Auftrag 42"),
            )),
        ),
    ),
    BankFile(
        "sparkasse-mt940-reversals.sta", "Sparkasse", "reversals RD (money back) and RC (money out) with funds codes",
        (S("87052000/123456789", "EUR", "STARTUMSE", 0, 46457, D2, 17457, D3, (D3, D3), (
            E(D3, D3, 2000, None, None, "Storno Kartenzahlungvom 02.12."),
            E(D3, D3, -31000, "KS-REFUND-0042", None, "Storno Gutschrift"),
        )),),
    ),
    BankFile(
        "sparkasse-mt940-at-signs.sta", "Sparkasse", "one line, @@ for every line break, Latin-1",
        (S("87052000/123456789", "EUR", "STARTUMS", 0, 100000, N30, 48800, D1, (D1, D1), (
            E(D1, D1, -51200, "SPK-DD-77431", None, "VERSICHERUNG DEZEMBER GEBÜHR"),
        )),),
    ),
    BankFile(
        "sparkasse-camt052-v08-info.xml", "Sparkasse", "camt.052.001.08 intraday: booked, pending with a value date only, information with no dates at all",
        (S("DE95870520000123456789", "EUR", "SPK-123456789-20261204-1200", 17, 17457, D4, None, None, (D4, D4), (
            E(D4, D4, 5000, "KS-TOPUP-0007", "SPK261204C001", "AUFLADUNG"),
            E(D5, D5, -3000, "SPK-DD-77432", "SPK261204P001", None, status="PDNG"),
            E("", "", -999, None, "SPK261204I002", "ANKUENDIGUNG LASTSCHRIFT", status="INFO"),
        )),),
    ),
    BankFile(
        "sparkasse-camt053-v02-batch-no-amounts.xml", "Sparkasse", "camt.053.001.02 collective booking whose TxDtls give no amounts",
        (S("DE95870520000123456789", "EUR", "SPK-261205-0001", 18, 20000, D5, 32000, D5, (D5, D5), (
            E(D5, D5, None, "KS-CARD-0101", "SPK261205S001", "KARTENUMSATZ 0101", ledger=7000),
            E(D5, D5, None, "KS-CARD-0102", "SPK261205S001", "KARTENUMSATZ 0102", ledger=5000),
        )),),
    ),
    # --- PostFinance, UBS ------------------------------------------------------------------------
    BankFile(
        "postfinance-mt940-pages.sta", "PostFinance", "envelopes with {3:{108:}}, two pages, -}{1: on one line, {5:{MAC:}{CHK:}}, amounts such as 79,7, the bank reference on a line of its own",
        (S("CH9309000000123456789", "CHF", "2026120208285927", 999, 0, N30, 15940, D2, (D1, D2), (
            E(D1, D1, 7970, "01916", None, "GIRO AUS ONLINE-SIC 80532 AUFTRAGGEBER: JANE DOE EXAMPLESTRASSE 10 1234 XXXX 261201CH98765432 MITTEILUNGEN: RECHNUNG 2026-77"),
            E(D1, D1, 14950, "01916", None, "GIRO AUS ONLINE-SIC 81379 AUFTRAGGEBER: JOHN DOE EXAMPLESTRASSE 12 1234 XXXXXXXXXX 261201CH87654321"),
            E(D2, D2, -7990, "01916", None, "GIRO AUS ONLINE-SIC 80701 AUFTRAGGEBER: KOWLOON SUPPLY LTD"),
            E(D2, D2, 1010, "01651", None, "EINZAHLUNGSSCHEIN"),
        ), pages=2),),
    ),
    BankFile(
        "postfinance-mt940-single.sta", "PostFinance", "NONREF on both sides of //, an amount with no decimals (120,)",
        (S("CH9309000000123456789", "CHF", "2026120307311044", 1000, 15940, D2, 3940, D3, (D3, D3), (
            E(D3, D3, -12000, None, None, "VERGUETUNG AN KOWLOON SUPPLY LTD KOWLOON SUPPLY LTD,181359411209411500218486621"),
        )),),
    ),
    BankFile(
        "postfinance-camt053-v04-batch.xml", "PostFinance", "camt.053.001.04, a collective credit of two QR-bill payments, each TxDtls with its amount",
        (S("CH9309000000123456789", "CHF", "PF-20261204-0001", 1001, 3940, D4, 53940, D4, (D4, D4), (
            E(D4, D4, 25000, "QR-2026-0001", "PF261204SAMMEL01", "RECHNUNG 11"),
            E(D4, D4, 35000, "QR-2026-0002", "PF261204SAMMEL01", "RECHNUNG 12"),
            E(D4, D4, -10000, "KS-CH-0044", "PF261204D02", "MIETE DEZEMBER"),
        )),),
    ),
    BankFile(
        "postfinance-camt054-v08-batch.xml", "PostFinance", "camt.054.001.08 notification of a collective credit",
        (S("CH9309000000123456789", "CHF", "PF-NTF-20261205-0007", None, None, None, None, None, (D5, D5), (
            E(D5, D5, 12000, "QR-2026-0003", "PF261205SAMMEL02", "RECHNUNG 13"),
            E(D5, D5, 18000, "QR-2026-0004", "PF261205SAMMEL02", "RECHNUNG 14"),
        )),),
    ),
    BankFile(
        "ubs-camt053-v04-resent.xml", "UBS", "camt.053.001.04 holding the same statement twice, as a re-sent file does",
        (
            S("CH5604835012345678009", "CHF", "UBS-20261203-0001", 12, 100000, D3, 75000, D3, (D3, D3), (
                E(D3, D3, -25000, "KS-CH-0045", "UBS261203D0001", "LAGERMIETE DEZEMBER"),
            )),
            S("CH5604835012345678009", "CHF", "UBS-20261203-0001", 12, 100000, D3, 75000, D3, (D3, D3), (
                E(D3, D3, -25000, "KS-CH-0045", "UBS261203D0001", "LAGERMIETE DEZEMBER"),
            )),
        ),
        still=(("duplicate_statement", "UBS-20261203-0001"),),
    ),
    # --- mBank -----------------------------------------------------------------------------------
    BankFile(
        "mbank-mt940-accounts.sta", "mBank", "a blank first line, three accounts in PLN, EUR and USD under one :20:, funds codes N, R and D, a debit balance",
        (
            S("PL46114010100000579009004001", "PLN", "ST261201CYC/1", 11, 8985925, D1, 9087677, D1, (D1, D1), (
                E(D1, D1, -662, None, "BR26335102000003", "843 OPLATA POCZTOWA: NORM; TNR: 145411008025459.000001"),
                E(D1, D1, 102414, None, "EL002363-000001",
                  "770 PRZELEW KRAJOWY; Z RACH.: 35109010560000000006093440; OD: KOWLOON SUPPLY SP. Z O.O.; TYT.: ZAPLATA ZA FAKTURE NR 1/2026; TNR: 145411006445851.000001"),
            )),
            S("PL89114010100000579009004003", "EUR", "ST261201CYC/1", 11, -95945, D1, -46225, D1, (D1, D1), (
                E(D1, D1, 50000, None, "TT0733500001", "65 WPLATA GOTOWKI; OD: JAN KOWALSKI; TYT.: ZWROT ZALICZKI"),
                E(D1, D1, -280, None, "TT0733500001", "30 PROW. OD WPLATY GOTOWKI EUR; TNR: 145410009337477.000001"),
            )),
            S("PL35114010100000579009004005", "USD", "ST261201CYC/1", 11, 5648, D1, 1261, D1, (D1, D1), (
                E(D1, D1, -4387, None, "BR26335102000006", "973 IBRE PRZELEW WEWNETRZNY; DLA: HUDSON TRADING; TNR: 145411008035692.010002"),
            )),
        ),
        reconciles=False,  # the EUR account is overdrawn, which a wonledger account may not be
    ),
    BankFile(
        "mbank-mt940-tnr.sta", "mBank", "the transaction number broken over lines, the client's reference (R12865) as the owner's reference, opening dated on the entries' day",
        (S("PL29114010810000267002001002", "PLN", "ST261202CYC/1", 3, 100046, D2, 60546, D2, (D2, D2), (
            E(D2, D2, 4500, None, "MB261202323000",
              "911 TRANSAKCJA COLLECT; ID IPH: XX000002052409; Z RACH.: 00000000000000000000000000; OD: KOWLOON SUPPLY SP. Z O.O.; TYT.: FAKTURA VAT NR FVD-0000/12/2026; TNR: 179301073837502.000001"),
            E(D2, D2, -44000, "R12865", "MB261202327968", "945 IBRE PRZELEW; NA RACH.: 83101010230000261395100000; REF. KLIENTA: R12865; TNR: 179301073844398.000001"),
        )),),
    ),
    BankFile(
        "mbank-camt053-v04.xml", "mBank", "camt.053.001.04 in PLN",
        (S("PL29114010810000267002001002", "PLN", "ST261203CYC/1", 4, 60546, D3, 120546, D3, (D3, D3), (
            E(D3, D3, 60000, "FVD-0001-12-2026", "MB261203330011", "FAKTURA VAT NR FVD-0001/12/2026"),
        )),),
    ),
    # --- HSBC Hong Kong ---------------------------------------------------------------------------
    BankFile(
        "hsbc-hk-mt940.sta", "HSBC Hong Kong", "the opening balance dated on the day of its entries, 22- and 18-character references, a service charge",
        (S("004-123456-001", "HKD", "HK26120100001", 335, 10000000, D1, 12170150, D1, (D1, D1), (
            E(D1, D1, 2500000, "FPS-HK-26120100000017", "HK2612010000017", "FPS CREDIT FROM VICTORIA TRADING LTD REF FPS-HK-26120100000017 INVOICE VT-2026-551"),
            E(D1, D1, -328050, "KS-PO-2026-HK-0042", "HK2612010000018", "CHATS PAYMENT TO PEAK FX LTD PO KS-PO-2026-HK-0042"),
            E(D1, D1, -1800, None, "HK2612010000019", "SERVICE CHARGE"),
        )),),
    ),
    BankFile(
        "hsbc-hk-mt940-two-days.sta", "HSBC Hong Kong", "two days, two credits of the same amount and no reference on one day",
        (
            S("004-123456-001", "HKD", "HK26120200002", 336, 12170150, D2, 12000000, D2, (D2, D2), (
                E(D2, D2, -170150, "KS-2026-1202-A", "HK2612020000031", "FPS PAYMENT TO HARBOUR LINES LTD"),
            )),
            S("004-123456-001", "HKD", "HK26120300003", 337, 12000000, D3, 12100000, D3, (D3, D3), (
                E(D3, D3, 50000, None, "HK2612030000044", "FPS CREDIT FROM PEAK FX LTD"),
                E(D3, D3, 50000, None, "HK2612030000045", "FPS CREDIT FROM PEAK FX LTD"),
            )),
        ),
    ),
    BankFile(
        "hsbc-hk-camt053-v08.xml", "HSBC Hong Kong", "camt.053.001.08 without FrToDt, the opening balance dated on the entries' day",
        (S("004-123456-001", "HKD", "HK26120400004", 338, 12100000, D4, 12013000, D4, (D4, D4), (
            E(D4, D4, -87000, "KS-2026-1204-B", "HK2612040000051", "FPS PAYMENT TO HARBOUR LINES LTD"),
        )),),
    ),
    BankFile(
        "hsbc-hk-camt052-v08.xml", "HSBC Hong Kong", "camt.052.001.08 intraday with an interim balance only and a pending debit without dates",
        (S("004-123456-001", "HKD", "HK26120500005-1000", None, None, None, None, None, (D5, D5), (
            E(D5, D5, 150000, "VT-2026-552", "HK2612050000061", "INVOICE VT-2026-552"),
            E("", "", -20000, "KS-2026-1205-C", "HK2612050000062", "FPS PAYMENT TO PEAK FX LTD", status="PDNG"),
        )),),
    ),
    # --- wonledger's own fictional Korean and Hong Kong banks (the first files, kept) --------------
    BankFile(
        "namsan-mt940.sta", "Namsan Bank (fictional)", "envelopes, two accounts, /EREF/ /BENM/ /REMI/ and a NONREF credit",
        (
            S("1002-334-556678", "KRW", "NMS261202556678", 214, 0, N30, 0, D2, (D1, D2), ()),
            S("1002-334-556677", "KRW", "NMS261202556677", 215, 2000000000, N30, 1995590000, D2, (D1, D2), (
                E(D1, D1, -1200000, "po-1201-1", "NMS1201B0004171", "invoice 301"),
                E(D1, D1, -3400000, "po-1201-2", "NMS1201B0004172", "invoice 302"),
                E(D1, D1, -560000, "po-1201-3", "NMS1201B0004173", "invoice 303"),
                E(D2, D2, 750000, None, "NMS1202C000988", "refund"),
            )),
        ),
    ),
)
