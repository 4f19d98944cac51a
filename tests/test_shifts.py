"""Shifts: z-score flags, PELT changepoints, the shifts table, detect() and the analyst CSV reader."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dyadwatch.measures.shifts import (
    SHIFT_SCHEMA, SeriesError, Shift, changepoints, detect, noise_sigma, parse_month, read_series_csv,
    shifts_table, zscore_flags,
)


def months(n: int, start: date = date(2018, 1, 1)) -> list[date]:
    return [date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1) for i in range(n)]


# Poisson mean 20 for 24 months (2018-01..2019-12), then mean 45 for 24 (2020-01..2021-12);
# numpy default_rng(0), written out so the fixture never depends on a generator's stream.
PLANTED = [22, 9, 21, 25, 26, 23, 26, 17, 22, 21, 22, 23, 14, 20, 20, 28, 21, 21, 18, 16, 24, 26, 18, 19,
           39, 43, 34, 41, 42, 44, 45, 60, 50, 46, 43, 35, 45, 40, 44, 47, 49, 50, 57, 53, 42, 40, 55, 36]


# --- z-score ------------------------------------------------------------------------------------------

def test_zscore_exact_value_at_known_month():
    # month 5: window [10, 12, 11, 13], mean 11.5, squares of deviations 2.25+0.25+0.25+2.25 = 5,
    # sd = sqrt(5/3); z = (20 - 11.5) / sqrt(5/3) = 8.5 * sqrt(0.6) = 6.584071...
    ps = months(5)
    [s] = zscore_flags(ps, [10, 12, 11, 13, 20], indicator="calls", window=4, min_periods=3)
    assert (s.period, s.indicator, s.method, s.direction) == (date(2018, 5, 1), "calls", "zscore", "up")
    assert s.magnitude == pytest.approx(6.584071, abs=1e-6)
    assert (s.before, s.after) == (11.5, 20.0)
    assert s.relative == pytest.approx(8.5 / 11.5)
    assert s.detail == "z=6.58: 20 vs mean 11.5 (sd 1.291) of the 4 prior months"


def test_zscore_threshold_is_inclusive_and_needs_min_periods():
    # month 4: window [10, 12, 11], mean 11, sd 1 exactly: z = 2.0
    ps, xs = months(5), [10, 12, 11, 13, 20]
    flagged = zscore_flags(ps, xs, window=4, min_periods=3, threshold=2.0)
    assert [(s.period, s.magnitude) for s in flagged] == [(date(2018, 4, 1), 2.0), (date(2018, 5, 1), pytest.approx(6.584071, abs=1e-6))]
    assert zscore_flags(ps, xs, window=4, min_periods=4) == [zscore_flags(ps, xs, window=4, min_periods=3)[0]]
    assert zscore_flags(ps, xs, window=12, min_periods=6) == []  # never 6 prior months


def test_zscore_down():
    [s] = zscore_flags(months(5), [10, 12, 11, 13, 2], window=4, min_periods=3)
    assert s.direction == "down" and s.magnitude == pytest.approx(-9.5 * math.sqrt(0.6))


def test_zscore_constant_window_uses_poisson_sd():
    ps = months(7)
    # window of six 0s: sd floor sqrt(max(0, 1)) = 1, so 3 is z = 3 (flagged) and 2 is z = 2 (not)
    [s] = zscore_flags(ps, [0] * 6 + [3], min_periods=6)
    assert (s.magnitude, s.before, s.after, s.relative) == (3.0, 0.0, 3.0, None)
    assert s.detail.endswith("(sd 1, constant window: Poisson sd) of the 6 prior months")
    assert zscore_flags(ps, [0] * 6 + [2], min_periods=6) == []
    # window of six 25s: sd sqrt(25) = 5; 40 is z = 3, 39 is z = 2.8
    assert [s.magnitude for s in zscore_flags(ps, [25] * 6 + [40], min_periods=6)] == [3.0]
    assert zscore_flags(ps, [25] * 6 + [39], min_periods=6) == []
    assert zscore_flags(ps, [25] * 7, min_periods=6) == []  # no change, no flag


def test_zscore_skips_nulls_and_nan():
    ps = months(7)
    xs = [10, None, 12, 11, float("nan"), 13, 20]  # the window before month 7 holds 10, 12, 11, 13
    [s] = zscore_flags(ps, xs, window=6, min_periods=4)
    assert s.period == date(2018, 7, 1) and s.magnitude == pytest.approx(8.5 * math.sqrt(0.6))
    assert zscore_flags(ps, xs, window=6, min_periods=5) == []
    assert zscore_flags(ps[:5], [10, 12, 11, 13, None], window=4, min_periods=3) == []


def test_zscore_rejects_bad_arguments():
    with pytest.raises(ValueError, match="2 periods but 3 values"):
        zscore_flags(months(2), [1, 2, 3])
    with pytest.raises(ValueError, match="strictly increasing"):
        zscore_flags([date(2020, 2, 1), date(2020, 1, 1)], [1, 2])
    with pytest.raises(ValueError, match="min_periods"):
        zscore_flags(months(3), [1, 2, 3], window=4, min_periods=5)
    with pytest.raises(ValueError, match="finite"):
        zscore_flags(months(2), [1, float("inf")])


# --- changepoints -------------------------------------------------------------------------------------

def test_planted_level_shift_found_at_month_25():
    [s] = changepoints(months(48), PLANTED, indicator="events")
    assert (s.period, s.indicator, s.method, s.direction) == (date(2020, 1, 1), "events", "changepoint", "up")
    assert s.before == 502 / 24 and s.after == 1080 / 24 == 45.0  # sums of the two halves
    assert s.magnitude == pytest.approx(45 - 502 / 24)  # 24.083333
    assert s.relative == pytest.approx((45 - 502 / 24) / (502 / 24))  # +115.1 %
    assert s.detail.startswith("PELT l2, anscombe transform, penalty 11.61: mean 20.9167 over 2018-01..2019-12 "
                               "-> 45 over 2020-01..2021-12")


def test_default_penalty_is_3_sigma2_log_n_with_anscombe_floor():
    y = 2 * np.sqrt(np.array(PLANTED) + 3 / 8)
    assert noise_sigma(y) < 1  # so the Poisson floor sigma = 1 applies: 3 * 1 * ln 48
    assert f"penalty {3 * math.log(48):.4g}" in changepoints(months(48), PLANTED)[0].detail


def test_negative_shift_is_down():
    [s] = changepoints(months(48), PLANTED[::-1])
    assert (s.period, s.direction) == (date(2020, 1, 1), "down")
    assert s.before == 45.0 and s.after == 502 / 24 and s.magnitude == pytest.approx(502 / 24 - 45)


@pytest.mark.parametrize("seed", range(5))
def test_flat_poisson_series_has_no_changepoint(seed):
    xs = np.random.default_rng(seed).poisson(30, 60).tolist()
    assert changepoints(months(60), xs) == []


def test_changepoint_with_gaps_is_the_first_non_null_month_of_the_new_segment():
    xs: list = list(PLANTED)
    xs[3] = xs[30] = None
    assert [s.period for s in changepoints(months(48), xs)] == [date(2020, 1, 1)]
    xs[24] = float("nan")  # 2020-01 is missing: the new level starts at the next month with a value
    [s] = changepoints(months(48), xs)
    assert s.period == date(2020, 2, 1) and s.after == (1080 - 39 - 45) / 22


def test_changepoint_noiseless_constant_and_short_series():
    [s] = changepoints(months(20), [5] * 10 + [10] * 10)
    assert (s.period, s.magnitude, s.before, s.after, s.relative) == (date(2018, 11, 1), 5.0, 5.0, 10.0, 1.0)
    assert changepoints(months(20), [3] * 20) == []
    assert changepoints(months(20), [float(i) for i in range(20)], transform="none") == []  # straight line
    assert changepoints(months(5), [1, 1, 9, 9, 9]) == []  # shorter than 2 * min_size


def test_changepoint_transform_auto_none_for_non_counts():
    tone = [-2.1, -1.9, -2.0, -2.2, -1.8, -2.0, -2.1, -1.9, -4.0, -4.2, -3.9, -4.1, -3.8, -4.0, -4.1, -3.9]
    [s] = changepoints(months(16), tone, indicator="tone")
    assert (s.period, s.direction) == (date(2018, 9, 1), "down")
    assert s.detail.startswith("PELT l2, none transform")
    assert s.before == pytest.approx(-2.0) and s.after == pytest.approx(-4.0)
    with pytest.raises(ValueError, match="anscombe transform is for counts"):
        changepoints(months(16), tone, transform="anscombe")
    with pytest.raises(ValueError, match="give a penalty for model 'rbf'"):
        changepoints(months(16), tone, model="rbf")
    with pytest.raises(ValueError, match="unknown transform 'sqrt'"):
        changepoints(months(16), tone, transform="sqrt")


def test_explicit_penalty_is_used_as_given():
    found = changepoints(months(48), PLANTED, penalty=1e9)
    assert found == []
    assert "penalty 40:" in changepoints(months(48), PLANTED, penalty=40)[0].detail


# --- shifts table and detect --------------------------------------------------------------------------

def test_shifts_table_schema():
    assert shifts_table([]).schema == SHIFT_SCHEMA and shifts_table([]).num_rows == 0
    s = Shift(date(2020, 1, 1), "events", "zscore", "up", 4.5, 20.0, 40.0, "z")
    t = shifts_table([s])
    assert t.schema == SHIFT_SCHEMA
    assert t.to_pylist() == [{"period": date(2020, 1, 1), "indicator": "events", "method": "zscore", "direction": "up",
                              "magnitude": 4.5, "before": 20.0, "after": 40.0, "relative": None, "detail": "z"}]


def test_detect_runs_both_methods_on_every_numeric_column_sorted():
    table = pa.table({"period": pa.array(months(48), pa.date32()), "label": ["x"] * 48,
                      "events": pa.array(PLANTED, pa.int64()), "flat": [7.0] * 48})
    out = detect(table)
    assert out.schema == SHIFT_SCHEMA
    rows = [(r["period"], r["indicator"], r["method"]) for r in out.to_pylist()]
    assert rows == sorted(rows)
    assert {r[1] for r in rows} == {"events"}  # "label" is text, "flat" never moves
    assert (date(2020, 1, 1), "events", "changepoint") in rows and (date(2020, 1, 1), "events", "zscore") in rows
    z_only = detect(table, ["events"], methods=["zscore"], threshold=4.5)
    assert z_only.to_pylist()[0]["period"] == date(2020, 1, 1) and set(z_only["method"].to_pylist()) == {"zscore"}
    assert detect(table, ["events"], methods=["changepoint"])["period"].to_pylist() == [date(2020, 1, 1)]


def test_detect_fills_missing_months_and_takes_dates_to_their_month():
    ps = months(48)
    keep = [i for i in range(48) if i != 10]  # 2018-11 absent: a null, so 2020-01 stays the 25th month
    table = pa.table({"period": pa.array([date(ps[i].year, ps[i].month, 15) for i in keep], pa.date32()),
                      "events": [PLANTED[i] for i in keep]})
    assert detect(table, methods=["changepoint"])["period"].to_pylist() == [date(2020, 1, 1)]


def test_detect_errors():
    table = pa.table({"period": pa.array(months(3), pa.date32()), "label": ["a", "b", "c"], "n": [1, 2, 3]})
    with pytest.raises(ValueError, match=r"^column 'calls' does not exist; numeric columns: n$"):
        detect(table, ["calls"])
    with pytest.raises(ValueError, match=r"^column 'label' is not numeric; numeric columns: n$"):
        detect(table, ["label"])
    with pytest.raises(ValueError, match=r"^no period column 'month'; columns: period, label, n$"):
        detect(table, period_column="month")
    with pytest.raises(ValueError, match=r"^unknown method 'cusum'"):
        detect(table, methods=["cusum"])
    dup = pa.table({"period": pa.array([date(2020, 1, 1), date(2020, 1, 20)], pa.date32()), "n": [1, 2]})
    with pytest.raises(ValueError, match=r"^month 2020-01 appears more than once in column 'period'$"):
        detect(dup)


# --- the analyst's CSV --------------------------------------------------------------------------------

def write(tmp_path, text: str, name: str = "series.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_read_series_csv_happy_path(tmp_path):
    p = write(tmp_path, "\ufeffMonth,calls,visits\n2021-01,12,3\n2021-02,,4\n\n2021-04-01,15,NA\n")
    t = read_series_csv(p)
    assert t.schema == pa.schema([("period", pa.date32()), ("calls", pa.float64()), ("visits", pa.float64())])
    assert t.to_pydict() == {
        "period": [date(2021, 1, 1), date(2021, 2, 1), date(2021, 3, 1), date(2021, 4, 1)],  # March filled
        "calls": [12.0, None, None, 15.0],
        "visits": [3.0, 4.0, None, None],
    }
    assert read_series_csv(p, "visits").column_names == ["period", "visits"]


def test_read_series_csv_formats_order_and_delimiters(tmp_path):
    p = write(tmp_path, 'date;x\n"Mar 2021";-1.5e1\n2021/01;.5\nFebruary 2021;+2\n')
    assert read_series_csv(p).to_pydict() == {
        "period": [date(2021, 1, 1), date(2021, 2, 1), date(2021, 3, 1)], "x": [0.5, 2.0, -15.0]}
    p = write(tmp_path, "when,x\n2021-03-31,1\n2021/04/30 00:00:00,2\n")
    assert read_series_csv(p, period_column="when")["period"].to_pylist() == [date(2021, 3, 1), date(2021, 4, 1)]


@pytest.mark.parametrize("text, s", [
    ("2021-03", date(2021, 3, 1)), ("2021-03-01", date(2021, 3, 1)), ("2021/3", date(2021, 3, 1)),
    ("Mar 2021", date(2021, 3, 1)), ("sept 2021", date(2021, 9, 1)), (" 2021-12-31T23:59:59Z ", date(2021, 12, 1)),
    ("2021-13", None), ("2021-02-30", None), ("03/2021", None), ("Foo 2021", None), ("", None),
])
def test_parse_month(text, s):
    assert parse_month(text) == s


@pytest.mark.parametrize("text, message", [
    ("", "{p}: the file is empty"),
    ("\n  \n", "{p}: the file is empty"),
    ("period,calls\n", "{p}: no data rows under the header"),
    ("when,calls\n2021-01,1\n", "{p}: no period column (looked for period, month, date); columns: when, calls"),
    ("period\n2021-01\n", "{p}: no value columns besides 'period'"),
    ("period,calls,calls\n2021-01,1,2\n", "{p}: column 'calls' appears twice in the header"),
    ("period,calls\n2021-01,1\n2021-02,2\n2021-03,\"12,x\"\n", "{p} row 4: '12,x' in column 'calls' is not a number"),
    ("period,calls\n2021-01,1\n2021-02,1_000\n", "{p} row 3: '1_000' in column 'calls' is not a number"),
    ("period,calls\n2021-01,inf\n", "{p} row 2: 'inf' in column 'calls' is not a number"),
    ("period,calls\n2021-01,1\n\n2021-13,2\n",
     "{p} row 4: '2021-13' in column 'period' is not a month (use YYYY-MM, YYYY-MM-DD, YYYY/MM or Mon YYYY)"),
    ("period,calls\n,2\n", "{p} row 2: '' in column 'period' is not a month (use YYYY-MM, YYYY-MM-DD, YYYY/MM or Mon YYYY)"),
    ("period,calls\n2021-03,1\n2021-04,1\nMar 2021,2\n", "{p} row 4: month 2021-03 is already on row 2"),
    ("period,calls\n2021-03,1,5\n", "{p} row 2: 3 cells, the header has 2"),
])
def test_read_series_csv_errors(tmp_path, text, message):
    p = write(tmp_path, text)
    with pytest.raises(SeriesError) as e:
        read_series_csv(p)
    assert str(e.value) == message.format(p=p)
    assert "\n" not in str(e.value) and isinstance(e.value, ValueError)


def test_read_series_csv_unknown_columns(tmp_path):
    p = write(tmp_path, "period,calls,visits\n2021-01,1,2\n")
    with pytest.raises(SeriesError, match=r"row|cals") as e:
        read_series_csv(p, ["calls", "cals"])
    assert str(e.value) == f"{p}: no column 'cals'; value columns: calls, visits"
    with pytest.raises(SeriesError) as e:
        read_series_csv(p, period_column="month")
    assert str(e.value) == f"{p}: no column 'month'; columns: period, calls, visits"
    with pytest.raises(SeriesError) as e:
        read_series_csv(tmp_path / "missing.csv")
    assert str(e.value) == f"{tmp_path / 'missing.csv'}: cannot read (No such file or directory)"


def test_csv_to_detect_round_trip(tmp_path):
    lines = ["month,events,other"] + [f"{d:%Y-%m},{x},1" for d, x in zip(months(48), PLANTED)]
    t = read_series_csv(write(tmp_path, "\n".join(lines) + "\n"))
    out = detect(t, ["events"], methods=["changepoint"])
    assert out.to_pylist()[0]["period"] == date(2020, 1, 1) and out.num_rows == 1


# --- properties ---------------------------------------------------------------------------------------

values = st.one_of(
    st.lists(st.one_of(st.none(), st.integers(0, 500)), max_size=60),
    st.lists(st.one_of(st.none(), st.just(float("nan")), st.floats(-1e6, 1e6)), max_size=60),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(xs=values, window=st.integers(2, 15), min_periods=st.integers(2, 15), threshold=st.floats(0.5, 5),
       min_size=st.integers(1, 6), transform=st.sampled_from(["auto", "none"]))
def test_random_series_never_crash_and_flag_input_periods(xs, window, min_periods, threshold, min_size, transform):
    ps = months(len(xs), date(2015, 1, 1))
    z = zscore_flags(ps, xs, window=window, min_periods=min(min_periods, window), threshold=threshold)
    c = changepoints(ps, xs, min_size=min_size, transform=transform)
    present = {p for p, x in zip(ps, xs) if x is not None and not math.isnan(x)}
    for s in z + c:
        assert s.period in present
        assert s.direction in ("up", "down") and math.isfinite(s.magnitude)
    for s in z:
        assert abs(s.magnitude) >= threshold and (s.direction == "up") == (s.magnitude > 0)
    for s in c:
        assert s.period != min(present)  # a changepoint starts a new segment, never the first one
    if xs:
        table = pa.table({"period": pa.array(ps, pa.date32()), "v": pa.array(xs, pa.float64(), from_pandas=True)})
        assert set(detect(table)["period"].to_pylist()) <= present


def test_a_spread_too_small_for_a_double_is_no_spread():
    """Found by Hypothesis: [0, 6e-302] is not constant, but its sd underflows to 0.0. It counts as a
    window without spread (the Poisson sd, 1 here), so the next 0 is no shift, and nothing divides by 0."""
    ps = [date(2015, 1, 1), date(2015, 2, 1), date(2015, 3, 1)]
    assert zscore_flags(ps, [0.0, 6.024341628078714e-302, 0.0], window=2, min_periods=2, threshold=1.0) == []
    flagged = zscore_flags(ps, [0.0, 6.024341628078714e-302, 1.5], window=2, min_periods=2, threshold=1.0)
    assert [(s.period, s.direction) for s in flagged] == [(date(2015, 3, 1), "up")]
    assert flagged[0].magnitude == pytest.approx(1.5)
