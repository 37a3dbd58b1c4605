"""Charts, rendered offline with matplotlib into SVG whose text stays text in a CJK font
(Noto Sans CJK, then the viewer's sans-serif, as the report's own CSS): the PDF embeds the font
and its chart figures can be searched and copied.

Only the object-oriented API is used (``Figure``, no pyplot state): safe inside Dagster.
"""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, PercentFormatter

from report.data import ReportError
from report.fmt import AGE_BAND, AGE_BANDS, CATEGORY, CHANNEL, SPEND_TIER, SPEND_TIERS, TIER

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei")
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")

ROSE = "#B23A5B"
ROSE_LIGHT = "#E8A1B3"
BLUE = "#3A6EA5"
GREY = "#B7BDC7"
GOLD = "#D9982E"
INK = "#2B2B2B"
PALETTE = [ROSE, BLUE, GOLD, "#5A9E6F", "#8A6BB1", "#C7705A", "#4F9DA6", GREY]

CM = 1 / 2.54
WIDTH = 16.5 * CM  # the A4 text block


@lru_cache(maxsize=1)
def cjk_family() -> str:
    """The CJK font family matplotlib will draw with; registers it if the cache predates it."""
    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in names:
            return family
    for path in _cjk_font_files():
        try:
            font_manager.fontManager.addfont(str(path))
        except (OSError, RuntimeError, ValueError):
            continue
    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in names:
            return family
    raise ReportError(
        "no CJK font found (looked for "
        + ", ".join(CJK_FAMILIES)
        + "): install Debian's fonts-noto-cjk (`make setup` does)"
    )


def _cjk_font_files() -> list[Path]:
    files: list[Path] = []
    if shutil.which("fc-list"):
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=False
        ).stdout
        files = [Path(line.split(":")[0].strip()) for line in out.splitlines() if line.strip()]
    for folder in FONT_DIRS:
        if folder.is_dir():
            files += sorted(folder.rglob("*CJK*.tt[cf]")) + sorted(folder.rglob("*CJK*.otf"))
    return [f for f in dict.fromkeys(files) if f.exists()]


def _rc() -> dict:
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [cjk_family(), "DejaVu Sans"],
        "font.size": 8.5,
        "axes.unicode_minus": False,
        "axes.edgecolor": "#888888",
        "axes.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 9.5,
        "axes.titleweight": "bold",
        "axes.labelcolor": INK,
        "xtick.color": INK,
        "ytick.color": INK,
        "legend.frameon": False,
        "legend.fontsize": 8,
        # text, not glyph outlines: those were ~130k path points for WeasyPrint to parse and
        # paint per report (one report at S 4.9 s -> 4.7 s)
        "svg.fonttype": "none",
        "svg.hashsalt": "yimei-report",
    }


def _figure(height_cm: float, ncols: int = 1, width: float = WIDTH):
    fig = Figure(figsize=(width, height_cm * CM), layout="constrained")
    axes = fig.subplots(1, ncols)
    return fig, axes


def to_data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _bar_label(ax, value, y, text: str, **style) -> None:
    """The value at the end of a horizontal bar, 2.5 pt after it (SVG drops leading spaces)."""
    ax.annotate(
        text, (value, y), xytext=(2.5, 0), textcoords="offset points", va="center", **style
    )


def _wan(value, _pos=None) -> str:
    if abs(value) >= 1e8:
        return f"{value / 1e8:.1f}亿"
    if abs(value) >= 1e4:
        return f"{value / 1e4:.0f}万"
    return f"{value:.0f}"


def _render(draw) -> str:
    with matplotlib.rc_context(_rc()):
        fig = draw()
        return to_data_uri(fig)


# -- market ------------------------------------------------------------------------------


def market_monthly(monthly: pd.DataFrame, year: int) -> str:
    def draw():
        fig, ax = _figure(7.2)
        months = np.arange(1, 13)
        cur = monthly[monthly["year"] == year].set_index("m")
        prev = monthly[monthly["year"] == year - 1].set_index("m")
        width = 0.38
        bars = [
            ax.bar(months - width / 2, [prev["gmv"].get(m, 0) for m in months], width,
                   color=GREY, label=f"{year - 1}年GMV"),
            ax.bar(months + width / 2, [cur["gmv"].get(m, 0) for m in months], width,
                   color=ROSE, label=f"{year}年GMV"),
        ]
        # months the deliveries cover in part (month_complete false): hatched, starred
        partial = [set(f.index[~f["month_complete"].astype(bool)]) for f in (prev, cur)]
        for container, months_partial in zip(bars, partial, strict=True):
            for m, patch in zip(months, container.patches, strict=True):
                if m in months_partial:
                    patch.set_hatch("///")
                    patch.set_edgecolor(INK)
        ax.set_xticks(months, [f"{m}月" + ("*" if m in partial[1] else "") for m in months])
        ax.yaxis.set_major_formatter(FuncFormatter(_wan))
        ax.set_ylabel("GMV（元）")
        ax2 = ax.twinx()
        ax2.spines["right"].set_visible(True)
        ax2.plot(cur.index, cur["orders"], color=BLUE, marker="o", ms=3, lw=1.4,
                 label=f"{year}年订单数")
        ax2.set_ylabel("完成订单（单）")
        ax2.set_ylim(0, max(1, cur["orders"].max()) * 1.25)
        handles = ax.get_legend_handles_labels()
        handles2 = ax2.get_legend_handles_labels()
        ax.legend(handles[0] + handles2[0], handles[1] + handles2[1], loc="upper left", ncols=3)
        ax.set_ylim(0, max(1, monthly["gmv"].max()) * 1.25)
        return fig

    return _render(draw)


def city_ranking(ranking: pd.DataFrame, city: str) -> str:
    def draw():
        data = ranking.head(15).iloc[::-1]
        fig, ax = _figure(0.55 * len(data) + 1.6)
        colors = [ROSE if c == city else GREY for c in data["city"]]
        ax.barh(data["city"], data["gmv"], color=colors)
        ax.xaxis.set_major_formatter(FuncFormatter(_wan))
        for y, v in enumerate(data["gmv"]):
            _bar_label(ax, v, y, _wan(v), fontsize=7.5, color=INK)
        ax.set_xlabel("GMV（元）")
        ax.set_xlim(0, data["gmv"].max() * 1.15)
        return fig

    return _render(draw)


# -- categories --------------------------------------------------------------------------


def categories(cats: pd.DataFrame, procedures: pd.DataFrame) -> str:
    def draw():
        fig, (ax1, ax2) = _figure(7.5, ncols=2)
        labels = [CATEGORY.get(c, c) for c in cats["category"]]
        wedges, _ = ax1.pie(
            cats["gmv"], colors=PALETTE[: len(cats)], startangle=90, counterclock=False,
            wedgeprops={"width": 0.42, "edgecolor": "white"},
        )
        ax1.legend(
            wedges, [f"{lab} {s * 100:.1f}%" for lab, s in zip(labels, cats["share"], strict=True)],
            loc="center left", bbox_to_anchor=(0.9, 0.5), fontsize=7.5,
        )
        ax1.set_title("品类GMV结构")
        top = procedures.head(10).iloc[::-1]
        colors = [PALETTE[list(cats["category"]).index(c) % len(PALETTE)]
                  if c in list(cats["category"]) else GREY for c in top["category"]]
        ax2.barh(top["procedure_name"], top["gmv"], color=colors)
        ax2.xaxis.set_major_formatter(FuncFormatter(_wan))
        ax2.set_title("GMV前十项目")
        ax2.set_xlim(0, top["gmv"].max() * 1.12)
        return fig

    return _render(draw)


def category_vs_national(cats: pd.DataFrame) -> str:
    def draw():
        fig, ax = _figure(5.5)
        y = np.arange(len(cats))
        labels = [CATEGORY.get(c, c) for c in cats["category"]]
        ax.barh(y + 0.2, cats["share"], 0.4, color=ROSE, label="本市")
        ax.barh(y - 0.2, cats["national_share"], 0.4, color=GREY, label="全国")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.legend(loc="lower right")
        return fig

    return _render(draw)


# -- prices ------------------------------------------------------------------------------


def price_ranges(prices: pd.DataFrame) -> str:
    def draw():
        data = prices.sort_values("median_paid").reset_index(drop=True)
        fig, ax = _figure(0.6 * len(data) + 2.0)
        y = np.arange(len(data))
        ax.barh(y, data["p75_paid"] - data["p25_paid"], left=data["p25_paid"], height=0.45,
                color=ROSE_LIGHT, label="本市P25–P75区间")
        ax.scatter(data["median_paid"], y, color=ROSE, zorder=3, s=18, label="本市中位价")
        ax.scatter(data["national_median_paid"], y, marker="D", color=BLUE, zorder=3, s=14,
                   label="全国中位价")
        ax.set_yticks(y, data["name"])
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(_wan))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, p: ""))
        ax.set_xlabel("成交价（元，对数刻度）")
        ax.legend(loc="lower right", fontsize=7.5)
        return fig

    return _render(draw)


# -- personas ----------------------------------------------------------------------------


def persona_age_gender(personas: pd.DataFrame) -> str:
    def draw():
        fig, (ax1, ax2) = _figure(6.5, ncols=2)
        known = personas[~personas["age_band"].isin(["merged"])]
        bands = [b for b in AGE_BANDS if b in set(known["age_band"])]
        x = np.arange(len(bands))
        for i, (gender, color, label) in enumerate((("F", ROSE, "女性"), ("M", BLUE, "男性"))):
            values = [known[(known["age_band"] == b) & (known["gender"] == gender)]["buyers"].sum()
                      for b in bands]
            ax1.bar(x + (i - 0.5) * 0.4, values, 0.4, color=color, label=label)
        ax1.set_xticks(x, [AGE_BAND[b] for b in bands], rotation=30, ha="right")
        ax1.set_title("年龄段与性别（买家数）")
        ax1.legend()
        tiers = personas[personas["spend_tier"] != "merged"].groupby("spend_tier")["buyers"].sum()
        order = [t for t in SPEND_TIERS if t in tiers.index]
        ax2.bar([SPEND_TIER[t] for t in order], [tiers[t] for t in order],
                color=[ROSE_LIGHT, ROSE, "#8E2A47", "#5E1A2E"][: len(order)])
        ax2.set_title("年消费分层（买家数）")
        ax2.tick_params(axis="x", labelsize=7.5)
        return fig

    return _render(draw)


def persona_favourites(personas: pd.DataFrame) -> str:
    def draw():
        fig, ax = _figure(5.0)
        fav = (personas[personas["favourite_category"] != "merged"]
               .groupby("favourite_category")["buyers"].sum().sort_values())
        ax.barh([CATEGORY.get(c, c) for c in fav.index], fav.values,
                color=PALETTE[: len(fav)][::-1])
        for y, v in enumerate(fav.values):
            _bar_label(ax, v, y, f"{int(v):,}", fontsize=7.5)
        ax.set_xlabel("买家数")
        ax.set_xlim(0, max(1, fav.max()) * 1.12)
        return fig

    return _render(draw)


# -- travel ------------------------------------------------------------------------------


def travel_origins(origins: pd.DataFrame) -> str:
    def draw():
        data = origins.head(12).iloc[::-1]
        fig, ax = _figure(0.55 * len(data) + 1.6)
        colors = [GREY if c == "其他城市" else ROSE for c in data["buyer_city"]]
        ax.barh(data["buyer_city"], data["orders"], color=colors)
        for y, (v, s) in enumerate(zip(data["orders"], data["share"], strict=True)):
            _bar_label(ax, v, y, f"{int(v):,}单（{s * 100:.1f}%）", fontsize=7.5)
        ax.set_xlabel("外地客完成订单（单）")
        ax.set_xlim(0, max(1, data["orders"].max()) * 1.3)
        return fig

    return _render(draw)


def travel_monthly(monthly: pd.DataFrame, year: int, sf_window: list) -> str:
    def draw():
        fig, ax = _figure(6.0)
        cur = monthly[monthly["year"] == year]
        months = list(cur["m"])
        share = (cur["traveller_orders"] / cur["orders"]).tolist()
        ax.bar(months, cur["traveller_orders"], color=ROSE, width=0.6, label="外地客订单")
        if sf_window:
            lo, hi = (d.month for d in sf_window)
            if lo > hi:  # the window straddles the new year: shade January's side only
                lo = 0.5
            ax.axvspan(lo - 0.45, hi + 0.45, color=GOLD, alpha=0.15, label="春节档")
        ax.set_xticks(range(1, 13), [f"{m}月" for m in range(1, 13)])
        ax.set_xlim(0.4, 12.6)
        ax.set_ylabel("订单（单）")
        ax2 = ax.twinx()
        ax2.spines["right"].set_visible(True)
        ax2.plot(months, share, color=BLUE, marker="o", ms=3, lw=1.3, label="外地客占比")
        ax2.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax2.set_ylim(0, max(0.05, max(share, default=0)) * 1.4)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="upper left", ncols=3)
        ax.set_ylim(0, max(1, cur["traveller_orders"].max()) * 1.35)
        return fig

    return _render(draw)


# -- channels ----------------------------------------------------------------------------


def channel_mix(mix: pd.DataFrame) -> str:
    def draw():
        fig, ax = _figure(5.5)
        channels = list(CHANNEL)
        x = np.arange(len(channels))
        rows = mix.set_index("scope")
        for i, (scope, color, label) in enumerate((("city", ROSE, "本市"), ("national", GREY,
                                                                           "全国"))):
            if scope in rows.index:
                values = [float(rows.loc[scope, c] or 0) for c in channels]
                ax.bar(x + (i - 0.5) * 0.38, values, 0.38, color=color, label=label)
        ax.set_xticks(x, [CHANNEL[c] for c in channels])
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylabel("订单占比")
        ax.legend()
        return fig

    return _render(draw)


def funnel(data: pd.DataFrame) -> str:
    def draw():
        fig, ax = _figure(5.5)
        x = np.arange(len(data))
        for i, (col, color, label) in enumerate(
            (("paid_rate", BLUE, "支付率"), ("completion_rate", ROSE, "核销率"),
             ("refund_rate", GOLD, "退款率"))
        ):
            ax.bar(x + (i - 1) * 0.26, data[col], 0.26, color=color, label=label)
        ax.set_xticks(x, [CHANNEL.get(c, c) for c in data["channel"]])
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylim(0, 1.15)
        ax.legend(ncols=3, loc="upper right")
        return fig

    return _render(draw)


# -- clinics and compliance --------------------------------------------------------------


def clinics(tiers: pd.DataFrame, trust: pd.DataFrame) -> str:
    def draw():
        fig, (ax1, ax2) = _figure(6.0, ncols=2)
        labels = [TIER.get(t, t) for t in tiers["tier"]]
        colors = [{"diamond": GOLD, "selected": ROSE}.get(t, GREY) for t in tiers["tier"]]
        ax1.bar(labels, tiers["clinics"], color=colors,
                label="在营机构")
        ax1.bar(labels, tiers["meets_bar"], color="none", edgecolor=INK, hatch="///",
                linewidth=0.6, label="其中达到美钻标准")
        ax1.set_title("机构分级（家）")
        ax1.legend(fontsize=7)
        ax2.hist(trust["trust_score"], bins=np.arange(40, 102.5, 2.5), color=ROSE,
                 edgecolor="white")
        ax2.set_title("信任分分布（家）")
        ax2.set_xlabel("信任分（0–100）")
        return fig

    return _render(draw)


def compliance(rows: list[tuple[str, float | None, float | None]]) -> str:
    """rows: (label, city rate, national rate)."""

    def draw():
        fig, ax = _figure(0.85 * len(rows) + 1.4)
        y = np.arange(len(rows))
        city = [r[1] or 0 for r in rows]
        nat = [r[2] or 0 for r in rows]
        ax.barh(y - 0.19, city, 0.38, color=ROSE, label="本市")
        ax.barh(y + 0.19, nat, 0.38, color=GREY, label="全国")
        for yy, v in zip(y, city, strict=True):
            _bar_label(ax, v, yy - 0.19, f"{v * 100:.1f}%", fontsize=7)
        for yy, v in zip(y, nat, strict=True):
            _bar_label(ax, v, yy + 0.19, f"{v * 100:.1f}%", fontsize=7, color="#666666")
        ax.set_yticks(y, [r[0] for r in rows])
        ax.invert_yaxis()
        top = max(max(city), max(nat), 0.001)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0 if top >= 0.1 else 1))
        if top > 0.5:  # pass rates: the axis ends at 100%, labels may run past it
            ax.set_xticks(np.linspace(0, 1, 6))
            ax.set_xlim(0, 1.13)
        else:
            ax.set_xlim(0, top * 1.25)
        ax.legend(loc="lower right")
        return fig

    return _render(draw)
