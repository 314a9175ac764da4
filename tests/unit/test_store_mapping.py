"""The store's row mapping reads order rows by position: it must follow the table."""

from __future__ import annotations

from marketplace.store import mapping, tables


def test_order_rows_are_unpacked_in_the_tables_column_order() -> None:
    assert tuple(c.name for c in tables.orders.columns) == mapping.ORDER_COLUMNS


def test_each_order_gets_its_own_values_even_when_parsed_once() -> None:
    first, second = mapping._values('{"latency_us": 5}'), mapping._values('{"latency_us": 5}')
    assert first == second == {"latency_us": 5} and first is not second
