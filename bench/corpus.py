"""Synthetic news posts in the shapes of the sample posts, deterministic for a seed.

Realistic sizes (bodies of 3-10 KB, Chinese and English), 200 categories and 5,000 tags whose use
follows a Zipf-like spread: a few tags on many articles, most on a few. `write_posts` makes post files
for the importer; `drafts` makes the same articles as Drafts, for filling a database fast.
"""

import random
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

from models import Draft

CATEGORIES = [f"section-{i:03d}" for i in range(200)]
TAGS = [f"topic-{i:04d}" if i % 3 else f"话题{i:04d}" for i in range(5000)]
ZH = "市区公交线路调整社区居民志愿服务文化活动农贸市场价格稳定学校教育交通出行天气预报健康医疗经济发展城市建设"
EN = [
    "council",
    "harbour",
    "market",
    "school",
    "ferry",
    "weather",
    "bridge",
    "library",
    "museum",
    "festival",
    "budget",
    "residents",
    "volunteers",
    "district",
    "transport",
    "prices",
    "heating",
    "football",
    "runners",
    "station",
    "community",
    "teachers",
    "hospital",
    "river",
]
START = datetime(2016, 1, 1, tzinfo=UTC)


def _zipf_weights(n: int, s: float = 1.1) -> list[float]:
    return list(accumulate(1 / (rank**s) for rank in range(1, n + 1)))


_CATEGORY_WEIGHTS = _zipf_weights(len(CATEGORIES), 0.9)
_TAG_WEIGHTS = _zipf_weights(len(TAGS))


def _paragraph(rng: random.Random, chinese: bool) -> str:
    if chinese:
        return "".join(rng.choice(ZH) for _ in range(rng.randint(80, 220))) + "。"
    words = [rng.choice(EN) for _ in range(rng.randint(40, 110))]
    return " ".join(words).capitalize() + "."


# Articles draw their paragraphs from a pool, so a million of them can be made in seconds.
_POOL = {lang: [_paragraph(random.Random(i), lang) for i in range(1000)] for lang in (True, False)}


def article(n: int, seed: int = 7) -> dict:
    """The n-th synthetic article: the same n and seed always give the same article."""
    rng = random.Random(seed * 1_000_003 + n)
    chinese = rng.random() < 0.5
    paragraphs, size = [], rng.randint(3000, 10000)
    while sum(len(p.encode()) for p in paragraphs) < size:
        paragraphs.append(rng.choice(_POOL[chinese]))
    categories = sorted(set(rng.choices(CATEGORIES, cum_weights=_CATEGORY_WEIGHTS, k=rng.randint(1, 2))))
    tags = list(dict.fromkeys(rng.choices(TAGS, cum_weights=_TAG_WEIGHTS, k=rng.randint(0, 5))))
    title = ("".join(rng.choice(ZH) for _ in range(14))) if chinese else " ".join(rng.choice(EN) for _ in range(7))
    return {
        "id": f"NW{n:018d}",
        "title": title.capitalize(),
        "published": START + timedelta(minutes=5 * n + rng.randint(0, 4)),
        "paragraphs": paragraphs,
        "categories": categories,
        "tags": tags,
        "author": rng.choice(["", "本报记者", "Staff reporter"]),
        "source": "咸宁日报" if chinese else "City Evening Post",
    }


def post_text(a: dict) -> str:
    body = "\n".join(f"<p>{p}</p>" for p in a["paragraphs"])
    tags = ", ".join(f'"{t}"' for t in a["tags"])
    stamp = a["published"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S +0000")
    return (
        f'---\nlayout: post\ntitle: "{a["title"]}"\ndate: {stamp}\n'
        f"categories: [{', '.join(a['categories'])}]\ntags: [{tags}]\n"
        + (f"author: {a['author']}\n" if a["author"] else "")
        + f'---\n{body}\n<p class="em_media">（文章来源：{a["source"]}）</p>\n\n'
        f"<http://finews.zning.xyz/html_News/NewsShare.html?infoCode={a['id']}>\n\n"
        f"[返回{a['categories'][0]}](//finews.withounder.com/category/{a['categories'][0]}.html)｜"
        "[返回首页](//finews.withounder.com/)\n"
    )


def write_posts(folder: Path, count: int, seed: int = 7) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        a = article(n, seed)
        (folder / f"{a['published']:%Y-%m-%d}-{a['id']}.md").write_text(post_text(a))


def drafts(start: int, stop: int, seed: int = 7):
    """Drafts as the importer would make them from these posts (bodies are plain paragraphs, which
    sanitizing leaves as they are)."""
    for n in range(start, stop):
        a = article(n, seed)
        body = "\n".join(f"<p>{p}</p>" for p in a["paragraphs"])
        yield Draft(
            id=a["id"],
            title=a["title"],
            published=a["published"],
            body=body + f'\n<p class="em_media">（文章来源：{a["source"]}）</p>',
            summary=a["paragraphs"][0][:400],
            categories=[(slug, None) for slug in a["categories"]],
            tags=a["tags"],
            author=a["author"],
            source_name=a["source"],
            source_url=f"http://finews.zning.xyz/html_News/NewsShare.html?infoCode={a['id']}",
        )
