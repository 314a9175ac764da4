"""The store's row mapping reads order rows by position: it must follow the table."""

from __future__ import annotations

from marketplace.store import mapping, tables


def test_order_rows_are_unpacked_in_the_tables_column_order() -> None:
    assert tuple(c.name for c in tables.orders.columns) == (*mapping.ORDER_COLUMNS, mapping.REVISION)
    assert tuple(c.name for c in mapping.ORDER_ROW) == mapping.ORDER_COLUMNS


def test_every_order_and_deal_write_stamps_the_revision() -> None:
    statements = mapping.bulk_statements("?")
    for name in ("order_insert", "order_update", "deal_insert", "deal_update"):
        assert "revision" in statements[name]
    assert tuple(c.name for c in tables.deals.columns) == (*mapping.DEAL_COLUMNS, mapping.REVISION)


def test_equal_value_sets_are_parsed_once_and_shared() -> None:
    first, second = mapping._values('{"latency_us": 5}'), mapping._values('{"latency_us": 5}')
    assert first == {"latency_us": 5} and first is second


def test_orders_with_equal_values_share_one_dict_and_not_the_callers() -> None:
    from marketplace.orders import ValueSets

    sets, asked = ValueSets(size=2), {"latency_us": 5}
    kept = sets.get(asked)
    assert kept == asked and kept is not asked and sets.get({"latency_us": 5}) is kept
    sets.get({"a": 1})
    sets.get({"b": 2})  # full: forgotten, and kept stays as it was
    assert kept == {"latency_us": 5} and sets.get({"latency_us": 5}) is not kept
