"""Chinese review texts, assembled vectorised from many fragments plus concrete details.

Each text is a sequence of slots (opening, doctor, process, environment, effect,
price, closing, emoji); every slot draws one of many fragments and most carry a
concrete value of the review (procedure, doctor's surname, days since the
procedure, the amount paid). Two clean reviews of one clinic are therefore far
from near-identical (GOV-07), which keeps accidental manipulation groups out.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import polars as pl

from generator.reference import COMPLAINT_TYPES

# value kinds a fragment wraps: none, proc, doctor, days, price, wait, amount
_POSITIVE = (
    # (inclusion probability, value kind, fragments as (before, after))
    (1.0, "proc", (
        ("在这家做了", "，"), ("第一次来做", "，"), ("朋友推荐过来做的", "，"),
        ("纠结了很久终于做了", "。"), ("这次做的是", "，"), ("趁着假期来做了", "，"),
        ("种草很久的", "终于安排上了，"), ("之前在别家做过", "，这次换到这里，"),
        ("来做了第二次", "，"), ("闺蜜陪我来做", "，"), ("下班后预约了", "，"),
        ("刷到直播间下的单，做了", "，"), ("对比了好几家最后选这里做", "，"),
        ("给自己的生日礼物：", "，"), ("面诊了两次才定下", "的方案，"), ("周末过来做了", "，"),
        ("攒了半年预算做了", "，"), ("同事都说好，我也来做了", "，"),
    )),
    (0.85, "doctor", (
        ("", "医生很耐心，"), ("主刀的是", "医生，审美在线，"), ("", "医生讲解得特别细致，"),
        ("", "主任手法很轻，"), ("面诊的", "医生没有乱推项目，"), ("", "医生会根据脸型给建议，"),
        ("", "医生经验丰富，下手很稳，"), ("全程都是", "医生亲自操作，"), ("特别感谢", "医生，"),
        ("", "老师设计得很自然，"), ("", "医生说话温柔，一点都不紧张了，"),
        ("", "医生把风险讲得很清楚，"), ("找的", "医生，果然名不虚传，"),
    )),
    (0.55, "none", (
        ("前台接待很热情，", ""), ("流程很规范，", ""), ("术前检查做得很仔细，", ""),
        ("签了知情同意书才开始，", ""), ("敷麻时间比较久，", ""), ("顾问不会一直推销，", ""),
        ("术后护士交代了注意事项，", ""), ("全程有人陪同，", ""), ("预约很顺利，", ""),
        ("当天就安排上了，", ""), ("价格透明没有额外收费，", ""), ("会员积分还能抵扣，", ""),
        ("术后回访很及时，", ""), ("护士小姐姐很贴心，", ""),
    )),
    (0.3, "wait", (
        ("到店等了大概", "分钟，"), ("排队", "分钟左右，"), ("从进门到结束一共", "分钟，"),
        ("敷麻", "分钟，"),
    )),
    (0.6, "none", (
        ("环境干净整洁，", ""), ("装修很有格调，", ""), ("私密性很好，", ""), ("消毒很到位，", ""),
        ("停车也方便，", ""), ("离地铁站很近，", ""), ("房间很温馨，", ""),
        ("设备看起来很新，", ""), ("休息区还有茶点，", ""), ("独立的治疗室很安静，", ""),
    )),
    (0.8, "days", (
        ("现在第", "天，效果很自然。"), ("恢复了", "天基本看不出来了。"),
        ("做完", "天消肿了，很满意。"),
        ("过去", "天了，朋友都说气色变好了。"), ("已经", "天了，皮肤状态明显改善。"),
        ("到今天", "天，效果和预期差不多。"), ("第", "天照镜子，越看越喜欢。"),
        ("术后", "天，几乎没有恢复期。"), ("这", "天每天都在变好。"),
    )),
    (0.5, "price", (
        ("总共花了", "元，"), ("到手价", "元，觉得值。"), ("活动价", "元，性价比高。"),
        ("", "元拿下，不算贵。"), ("实付", "元，没有隐形消费。"), ("团购", "元，比门店价便宜。"),
    )),
    (0.8, "none", (
        ("会推荐给身边的朋友。", ""), ("下次还会再来。", ""), ("整体很满意。", ""),
        ("五星好评！", ""), ("值得信赖。", ""), ("还会回购的。", ""), ("体验感很好。", ""),
        ("希望效果能保持久一点。", ""),
        ("下次想试试别的项目。", ""), ("已经安利给闺蜜了。", ""), ("给医生和护士点赞。", ""),
    )),
    (0.3, "none", (
        ("😊", ""), ("👍", ""), ("💖", ""), ("✨", ""), ("🌸", ""), ("🥰", ""), ("💯", ""),
        ("🙏", ""),
    )),
)

_NEUTRAL = (
    (1.0, "proc", (
        ("来做了", "，"), ("这次做的是", "，"), ("朋友推荐来做", "，"), ("活动期间做了", "，"),
        ("第一次尝试", "，"), ("预约了", "，"),
    )),
    (0.7, "doctor", (
        ("", "医生还算专业，"), ("", "医生话不多，"), ("主刀是", "医生，"), ("", "医生比较忙，"),
        ("", "医生讲得有点快，"),
    )),
    (0.6, "wait", (
        ("等了", "分钟才轮到我，"), ("排队", "分钟，有点久，"), ("前后折腾了", "分钟，"),
    )),
    (0.5, "none", (
        ("环境一般，", ""), ("前台有点乱，", ""), ("顾问推销有点多，", ""), ("停车不太方便，", ""),
        ("流程还可以，", ""),
    )),
    (0.9, "days", (
        ("已经", "天了，效果还需要再观察。"), ("做完", "天，还有点肿。"),
        ("第", "天，变化不算明显。"), ("过了", "天，效果中规中矩。"),
    )),
    (0.5, "price", (
        ("花了", "元，性价比一般。"), ("", "元，价格偏高。"), ("实付", "元，"),
    )),
    (0.6, "none", (
        ("再看看后续效果吧。", ""), ("总体还行。", ""), ("中规中矩。", ""), ("希望能有改善。", ""),
    )),
)

_COMPLAINT_OPENING = (
    ("在这里做了", "，"), ("上个月做的", "，"), ("花钱做了", "，"), ("被推荐做了", "，"),
    ("直播间下单做了", "，"),
)
_COMPLAINT_CLOSING = (
    ("希望平台能处理。", ""), ("已经投诉了，等待回复。", ""), ("非常失望。", ""),
    ("不会再来了。", ""), ("要求退款。", ""), ("请给个说法。", ""),
)
_COMPLAINT_BODY = {
    "infection": (
        (1.0, "days", (("术后第", "天伤口红肿发炎，"), ("做完", "天出现感染，"),
                       ("第", "天开始化脓，"))),
        (0.8, "none", (("去医院复查说是术后感染，", ""), ("联系客服只让我自己买药，", ""),
                       ("医生说是个人体质问题，", ""))),
    ),
    "outcome_mismatch": (
        (1.0, "days", (("做完", "天了，效果和面诊时说的完全不一样，"),
                       ("已经", "天，完全没有效果，"),
                       ("过了", "天，两边明显不对称，"))),
        (0.8, "none", (("和宣传图差距太大，", ""), ("医生说再做一次要另外收费，", ""),
                       ("设计方案没按沟通的来，", ""))),
    ),
    "hidden_fee": (
        (1.0, "amount", (("到店后又加收了", "元材料费，"), ("说好的套餐价，结果多收了", "元，"),
                         ("麻醉费另算，多付了", "元，"))),
        (0.8, "none", (("事先完全没说，", ""), ("收据上也没写清楚，", ""),
                       ("顾问一直说是正常收费，", ""))),
    ),
    "service_attitude": (
        (1.0, "wait", (("等了", "分钟都没人理，"), ("排队", "分钟还被插队，"),
                       ("预约了还等了", "分钟，"))),
        (0.9, "none", (("前台态度很差，", ""), ("顾问一直推销，不买就甩脸色，", ""),
                       ("护士操作很粗暴，", ""))),
    ),
    "other": (
        (1.0, "none", (("预约时间被随意改动，", ""), ("退款流程很慢，", ""),
                       ("发票一直开不出来，", ""),
                       ("术后复查找不到人，", ""))),
        (0.6, "wait", (("打电话等了", "分钟没人接，"), ("现场等了", "分钟，"))),
    ),
}


def _pick(rng, fragments, n):
    idx = rng.integers(0, len(fragments), n)
    before = pl.Series([f[0] for f in fragments], dtype=pl.String).gather(idx)
    after = pl.Series([f[1] for f in fragments], dtype=pl.String).gather(idx)
    return before, after


def _assemble(rng, slots, values: dict[str, pl.Series], n: int) -> pl.Series:
    columns = {}
    for i, (p, kind, fragments) in enumerate(slots):
        before, after = _pick(rng, fragments, n)
        include = rng.random(n) < p
        columns[f"b{i}"] = before
        columns[f"a{i}"] = after
        columns[f"v{i}"] = values[kind] if kind != "none" else pl.Series([""] * n,
                                                                         dtype=pl.String)
        columns[f"i{i}"] = include
    frame = pl.DataFrame(columns)
    parts = [
        pl.when(pl.col(f"i{i}"))
        .then(pl.concat_str([pl.col(f"b{i}"), pl.col(f"v{i}"), pl.col(f"a{i}")]))
        .otherwise(pl.lit(""))
        for i in range(len(slots))
    ]
    return frame.select(pl.concat_str(parts).alias("text")).to_series()


def review_texts(rng: np.random.Generator, mood: np.ndarray, complaint_type: np.ndarray,
                 proc_name: pl.Series, doctor_surname: pl.Series, days: np.ndarray,
                 price_yuan: np.ndarray) -> pl.Series:
    """Texts for a batch of reviews.

    mood: 0 positive, 1 neutral, 2 complaint (complaint_type indexes COMPLAINT_TYPES).
    """
    n = len(mood)
    out = pl.Series("text", [""] * n, dtype=pl.String)
    wait = rng.integers(5, 90, n)
    amount = rng.integers(2, 40, n) * 50
    base = {
        "proc": proc_name,
        "doctor": doctor_surname,
        "days": pl.Series(np.maximum(days, 1)).cast(pl.String),
        "price": pl.Series(price_yuan).cast(pl.String),
        "wait": pl.Series(wait).cast(pl.String),
        "amount": pl.Series(amount).cast(pl.String),
    }
    groups = [(np.flatnonzero(mood == 0), _POSITIVE), (np.flatnonzero(mood == 1), _NEUTRAL)]
    for t, name in enumerate(COMPLAINT_TYPES):
        slots = ((1.0, "proc", _COMPLAINT_OPENING), *_COMPLAINT_BODY[name],
                 (0.9, "none", _COMPLAINT_CLOSING))
        groups.append((np.flatnonzero((mood == 2) & (complaint_type == t)), slots))
    for group_rows, slots in groups:
        # in chunks: the slot columns of millions of reviews would not fit comfortably
        for lo in range(0, len(group_rows), 200_000):
            rows = group_rows[lo:lo + 200_000]
            values = {k: v.gather(rows) for k, v in base.items()}
            out = out.scatter(rows, _assemble(rng, slots, values, len(rows)))
    return out


def normalise(text: str) -> str:
    """Keep letters and digits only (regex [^\\p{L}\\p{N}] removed), as rules.md GOV-07."""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


# Punctuation / emoji / whitespace variations of one text for manipulation bursts.
_VARIANTS = (
    lambda t, r: t,
    lambda t, r: t.replace("，", ",").replace("。", "!"),
    lambda t, r: t + "👍👍",
    lambda t, r: " ".join(t[i:i + 6] for i in range(0, len(t), 6)),
    lambda t, r: t.replace("，", "～").rstrip("。") + "！！",
    lambda t, r: "～～" + t + " ",
)


def burst_variants(text: str, count: int, rng: np.random.Generator) -> list[str]:
    """`count` texts near-identical to `text` (the first is `text` itself).

    Variants differ only in punctuation, whitespace and emoji, or by exactly one
    changed Chinese character, so each is near-identical to the first under both
    the exact normalised comparison and the similarity bar of GOV-07.
    """
    out = [text]
    while len(out) < count:
        k = len(out)
        if k % 3 == 2:
            letters = [i for i, ch in enumerate(text) if "\u4e00" <= ch <= "\u9fff"]
            pos = letters[int(rng.integers(len(letters)))]
            replacement = "好" if text[pos] != "好" else "棒"
            out.append(text[:pos] + replacement + text[pos + 1:])
        else:
            out.append(_VARIANTS[k % len(_VARIANTS)](text, rng))
    return out
