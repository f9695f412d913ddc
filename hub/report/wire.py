"""The year's report on the wire: what the hub sends the coordinator's client and how the client
rebuilds it. Only the suppressed `Report` of hub/report/export.py crosses: every value is the
string a table shows ("<3" included), never a raw count.

Reading is strict, as everything the hub and its clients exchange: an unknown or missing key, a
wrong type or a row that does not fit its table's columns raises ValueError naming where."""

from __future__ import annotations

from typing import Any, Final

from hub.report.export import Report, ReportRow, ReportTable

_REPORT_KEYS: Final = frozenset({"year", "tables", "never_received", "legend"})
_TABLE_KEYS: Final = frozenset({"key", "title", "row_header", "columns", "rows", "description"})
_ROW_KEYS: Final = frozenset({"label", "values", "level", "is_total"})


def report_to_json(report: Report) -> dict[str, Any]:
    return {
        "year": report.year,
        "legend": report.legend,
        "never_received": list(report.never_received),
        "tables": [
            {
                "key": t.key,
                "title": t.title,
                "row_header": t.row_header,
                "description": t.description,
                "columns": list(t.columns),
                "rows": [
                    {
                        "label": r.label,
                        "values": list(r.values),
                        "level": r.level,
                        "is_total": r.is_total,
                    }
                    for r in t.rows
                ],
            }
            for t in report.tables
        ],
    }


def report_from_json(data: object) -> Report:
    """The Report `report_to_json` wrote, or ValueError."""
    report = _object(data, _REPORT_KEYS, "report")
    tables = tuple(
        _table(t, f"tables[{i}]") for i, t in enumerate(_list(report["tables"], "tables"))
    )
    keys = [t.key for t in tables]
    if len(set(keys)) != len(keys):
        raise ValueError("tables: two tables with the same key")
    return Report(
        year=_int(report["year"], "year"),
        tables=tables,
        never_received=_strings(report["never_received"], "never_received"),
        legend=_str(report["legend"], "legend"),
    )


def _table(data: object, where: str) -> ReportTable:
    table = _object(data, _TABLE_KEYS, where)
    columns = _strings(table["columns"], f"{where}.columns")
    rows = tuple(
        _row(r, f"{where}.rows[{i}]", len(columns))
        for i, r in enumerate(_list(table["rows"], f"{where}.rows"))
    )
    return ReportTable(
        key=_str(table["key"], f"{where}.key"),
        title=_str(table["title"], f"{where}.title"),
        row_header=_str(table["row_header"], f"{where}.row_header"),
        columns=columns,
        rows=rows,
        description=_str(table["description"], f"{where}.description"),
    )


def _row(data: object, where: str, width: int) -> ReportRow:
    row = _object(data, _ROW_KEYS, where)
    values = _strings(row["values"], f"{where}.values")
    if len(values) != width:
        raise ValueError(f"{where}.values: {len(values)} values for {width} columns")
    level = _int(row["level"], f"{where}.level")
    if level not in (0, 1):
        raise ValueError(f"{where}.level: 0 or 1")
    is_total = row["is_total"]
    if not isinstance(is_total, bool):
        raise ValueError(f"{where}.is_total: not true or false")
    return ReportRow(_str(row["label"], f"{where}.label"), values, level, is_total)


def _object(data: object, keys: frozenset[str], where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: not an object")
    unknown = sorted(str(k) for k in data if k not in keys)
    if unknown:
        raise ValueError(f"{where}: unknown keys {', '.join(unknown)}")
    missing = sorted(keys - data.keys())
    if missing:
        raise ValueError(f"{where}: missing keys {', '.join(missing)}")
    return data


def _list(data: object, where: str) -> list[Any]:
    if not isinstance(data, list):
        raise ValueError(f"{where}: not a list")
    return data


def _strings(data: object, where: str) -> tuple[str, ...]:
    return tuple(_str(v, f"{where}[{i}]") for i, v in enumerate(_list(data, where)))


def _str(data: object, where: str) -> str:
    if not isinstance(data, str):
        raise ValueError(f"{where}: not a string")
    return data


def _int(data: object, where: str) -> int:
    if not isinstance(data, int) or isinstance(data, bool):
        raise ValueError(f"{where}: not a whole number")
    return data
