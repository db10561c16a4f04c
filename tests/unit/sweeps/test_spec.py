"""Sweep requests: --param parsing, validation through the config layer (coded errors naming the key),
the sweep id, and the reproducibility rule of the trial parameters (no data is read here)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from basiskit.errors.exceptions import InvalidInput, SweepInputError
from basiskit.sweeps import sampling
from basiskit.sweeps.spec import SweepSpec, parse_param, parse_walk_forward, validate_spec

P = ("2024-06-01", "2024-06-15", 100_000.0)


def spec(*params: str, **kw) -> SweepSpec:
    return validate_spec(SweepSpec("usdt_market_neutral", *P, tuple(parse_param(p) for p in params), **kw))


def test_param_forms():
    p = parse_param("target_ltv=0.7:0.85:0.05")
    assert (p.kind, p.low, p.high, p.step) == ("float", 0.7, 0.85, 0.05)
    assert p.grid_values() == [0.7, 0.75, 0.8, 0.85]
    assert parse_param("step_seconds=1800:3600:1800").grid_values() == [1800, 3600]
    c = parse_param("rewards=base_only,all")
    assert c.kind == "categorical" and c.choices == ("base_only", "all")
    assert parse_param("hedge=true,false").choices == (True, False)
    assert parse_param("target_ltv=0.7:0.9").step is None


@pytest.mark.parametrize("text,field,words", [
    ("target_ltv", "param", "KEY=LOW:HIGH"),
    ("target_ltv=0.9:0.7", "param.target_ltv", "LOW must be below HIGH"),
    ("target_ltv=0.7:0.7", "param.target_ltv", "LOW must be below HIGH"),
    ("target_ltv=0.7:0.9:0", "param.target_ltv", "STEP must be positive"),
    ("target_ltv=0.7:0.9:0.5", "param.target_ltv", "larger than the range"),
    ("target_ltv=a:b", "param.target_ltv", "numbers"),
    ("target_ltv=0.7:0.8:0.1:3", "param.target_ltv", "LOW:HIGH"),
    ("target_ltv=0.7,,0.8", "param.target_ltv", "empty value"),
    ("target_ltv=0.7,0.7", "param.target_ltv", "listed twice"),
    ("target_ltv=", "param.target_ltv", "no values"),
    ("bad key=1,2", "param.bad key", "not a config key"),
])
def test_bad_param_syntax_is_a_coded_error_naming_the_key(text, field, words):
    with pytest.raises(SweepInputError, match=words) as exc:
        parse_param(text)
    assert exc.value.code == "SWEEP-001" and exc.value.field == field and isinstance(exc.value, InvalidInput)


def test_unknown_key_and_refused_values_come_from_the_config_layer():
    with pytest.raises(SweepInputError, match="no_such_key") as exc:
        spec("no_such_key=1:3")
    assert exc.value.field == "param.no_such_key" and "unknown key" in str(exc.value)
    with pytest.raises(SweepInputError) as exc:  # a weight above 1 leaves a negative complement
        spec("hedge_allocation.binance=0.5:1.5:0.5")
    assert exc.value.field == "param.hedge_allocation.binance"


@pytest.mark.parametrize("kw,field", [({"objective": "apyy"}, "objective"), ({"sampler": "cmaes"}, "sampler"),
                                      ({"direction": "up"}, "direction"), ({"trials": 0}, "trials"),
                                      ({"batch": 0}, "batch")])
def test_bad_options_are_coded_errors(kw, field):
    with pytest.raises(SweepInputError) as exc:
        spec("target_ltv=0.7:0.8:0.05", **kw)
    assert exc.value.field == field and exc.value.code == "SWEEP-001"


def test_grid_needs_steps_and_a_key_once():
    with pytest.raises(SweepInputError, match="grid sampler needs a STEP"):
        spec("target_ltv=0.7:0.8", sampler="grid")
    with pytest.raises(SweepInputError, match="given twice"):
        spec("target_ltv=0.7:0.8", "target_ltv=0.7,0.8")


@pytest.mark.parametrize("text", ["90", "90:x", "0:30", "90:30:1", "-5:3"])
def test_bad_walk_forward(text):
    with pytest.raises(SweepInputError) as exc:
        parse_walk_forward(text)
    assert exc.value.field == "walk_forward"
    assert parse_walk_forward("90:30") == (90, 30)


def test_two_venue_weight_is_swept_with_its_complement():
    s = spec("hedge_allocation.binance=0.25,0.75")
    assert s.complements == (("hedge_allocation.binance", "hedge_allocation.bybit"),)
    assert s.trial_overrides({"hedge_allocation.binance": 0.25})["hedge_allocation"] == {"binance": 0.25, "bybit": 0.75}


def test_sweep_id_names_what_decides_the_trials_and_nothing_else():
    a = spec("target_ltv=0.7:0.85:0.05", sampler="grid")
    assert a.sweep_id == spec("target_ltv=0.7:0.85:0.05", sampler="grid", trials=2).sweep_id  # more trials: same study
    assert a.sweep_id != spec("target_ltv=0.7:0.85:0.05", sampler="grid", seed=1).sweep_id
    assert a.sweep_id != spec("target_ltv=0.7:0.8:0.05", sampler="grid").sweep_id
    assert a.n_trials == 4 and a.sweep_id.startswith("sw-usdt_market_neutral-")


def test_grid_point_k_is_the_kth_of_the_product():
    s = spec("target_ltv=0.7:0.8:0.05", "hedge_allocation.binance=0.25,0.5", sampler="grid")
    got = sampling.grid_params(s, range(s.n_trials))
    assert [tuple(v.values()) for v in got.values()] == [(0.7, 0.25), (0.7, 0.5), (0.75, 0.25), (0.75, 0.5),
                                                         (0.8, 0.25), (0.8, 0.5)]


def test_random_trial_k_depends_on_seed_and_k_only():
    s = spec("target_ltv=0.6:0.9", sampler="random")
    all8 = sampling.random_params(s, range(8))
    assert sampling.random_params(s, [5, 2]) == {5: all8[5], 2: all8[2]}
    assert len({v["target_ltv"] for v in all8.values()}) == 8
    other = spec("target_ltv=0.6:0.9", sampler="random", seed=7)
    assert sampling.random_params(other, [0]) != {0: all8[0]}


def test_a_tpe_round_is_a_function_of_its_number_and_history():
    s = spec("target_ltv=0.6:0.9", "margin_ratio_floor=0.2:0.3", sampler="tpe", batch=4)
    history = [({"target_ltv": 0.6 + 0.01 * i, "margin_ratio_floor": 0.2 + 0.005 * i}, float(i % 5)) for i in range(12)]
    a = sampling.tpe_round(s, 3, history)
    assert a == sampling.tpe_round(s, 3, history) and len(a) == 4
    assert a != sampling.tpe_round(s, 4, history)


@pytest.mark.parametrize("args,words", [
    (["--param", "nope=1:2"], "nope"),
    (["--param", "target_ltv=0.9:0.1"], "LOW must be below HIGH"),
    (["--param", "target_ltv=0.7:0.8", "--objective", "bogus"], "unknown objective"),
    (["--param", "target_ltv=0.7:0.8", "--sampler", "bogus"], "unknown sampler"),
    (["--param", "target_ltv=0.7:0.8", "--walk-forward", "30"], "walk-forward"),
])
def test_cli_refuses_bad_sweeps_with_the_code_and_key(args, words, tmp_path, monkeypatch):
    from basiskit.cli.main import app

    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, ["sweep", "usdt_market_neutral", "--start", "2024-06-01", "--end", "2024-06-15",
                                   "--data-dir", str(tmp_path / "home"), *args])
    assert res.exit_code == 2, res.output
    assert "SWEEP-001" in res.output and words in res.output.replace("\n", " ")
    assert not (tmp_path / "home" / "basiskit.db").exists()  # nothing recorded, nothing run
