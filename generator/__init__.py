"""Sample feed generator: a realistic, deterministic 医美 landing zone with known truth.

    from generator import SampleConfig, generate
    manifest = generate(Path("data/landing"), SampleConfig(seed=42, as_of=date(2026, 11, 23)))

The manifest lists every partition, every injected governance violation (the
exact failing entities per GOV-01..09 rule), every bad delivery and how the
warehouse must treat it, the rows each raw table must receive, and market
totals to check the marts against.
"""

from generator.config import SampleConfig, cli_args, config_from_args

__all__ = ["SampleConfig", "cli_args", "config_from_args", "generate"]


def __getattr__(name: str):
    # `generate` (numpy, polars and the world builders) loads when first used: every `yimei`
    # command declares the generator's options, and `yimei run` never generates (1.25 s of an
    # L day's start with a cold page cache, py-spy)
    if name == "generate":
        from generator.core import generate

        return generate
    raise AttributeError(f"module 'generator' has no attribute {name!r}")
