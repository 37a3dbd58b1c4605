"""Sales channels (persona mix, needs the personas chapter) and the order funnel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from report.chapters.personas import PersonasChapter
from report.fmt import CHANNELS
from report.source import (
    CF,
    PS,
    Fact,
    Recorder,
    Source,
)


@dataclass(frozen=True)
class ChannelsChapter:
    facts: Mapping[str, Fact]
    channel_mix: pd.DataFrame
    funnel: pd.DataFrame


def load(db: Source, personas: PersonasChapter) -> ChannelsChapter:
    rec = Recorder(db)

    def mix(where: str) -> str:
        parts = ", ".join(f"sum(share_{c} * orders) / sum(orders) as {c}" for c in CHANNELS)
        return f"select {parts} from {PS} {where}"

    city_where = "where city = $city"
    if personas.persona_count:
        for c in CHANNELS:
            rec.fact(
                f"ch.{c}",
                f"本市{c}渠道订单占比",
                "pct",
                f"select sum(share_{c} * orders) / sum(orders) from {PS} {city_where}",
                PS,
            )
        unpivot = f"""
            with mix as ({mix(city_where)}),
            long as (unpivot mix on {", ".join(CHANNELS)} into name channel value share),
            top as (select * from long order by share desc, channel limit 1)
        """
        rec.fact("ch.top", "第一大渠道", "channel", unpivot + "select channel from top", PS)
        rec.fact("ch.top_share", "第一大渠道占比", "pct", unpivot + "select share from top", PS)
        for c in ("live_stream", "video_consult"):
            rec.fact(
                f"ch.{c}_diff",
                f"{c}占比与全国之差",
                "pp",
                f"select (select sum(share_{c} * orders) / sum(orders) from {PS} "
                f"{city_where}) - (select sum(share_{c} * orders) / sum(orders) from {PS})",
                PS,
            )
    channel_mix = db.frame(
        f"""
        with city as ({mix(city_where)}), nat as ({mix("")})
        select 'city' as scope, * from city union all select 'national', * from nat
        """
    )
    funnel = f"""
        with f as (
            select channel, sum(orders_created) as created, sum(orders_paid) as paid,
                sum(orders_completed) as completed, sum(orders_refunded) as refunded
            from {CF} where year(month) = $year group by channel
        )
    """
    rec.fact("fn.created", "全国下单量", "count", funnel + "select sum(created) from f", CF)
    best = "(select * from f order by completed / paid desc, channel limit 1)"
    rec.fact(
        "fn.best_channel", "核销率最高渠道", "channel", funnel + f"select channel from {best}", CF
    )
    rec.fact(
        "fn.best_completion",
        "该渠道核销率",
        "pct",
        funnel + f"select completed / paid from {best}",
        CF,
    )
    rec.fact(
        "fn.refund_rate",
        "全渠道退款率",
        "pct",
        funnel + "select sum(refunded) / sum(paid) from f",
        CF,
    )
    rec.fact(
        "fn.live_refund_rate",
        "直播渠道退款率",
        "pct",
        funnel + "select refunded / paid from f where channel = 'live_stream'",
        CF,
    )
    funnel = db.frame(
        funnel
        + """
        select channel, created, paid, completed, refunded,
            paid / created as paid_rate, completed / paid as completion_rate,
            refunded / paid as refund_rate
        from f order by created desc
        """
    )
    return ChannelsChapter(facts=rec.frozen(), channel_mix=channel_mix, funnel=funnel)
