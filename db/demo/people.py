"""Made-up people: names, mobile numbers and resident ID numbers with valid check digits."""

from __future__ import annotations

import random
from datetime import date, timedelta

from db.demo.draws import _one

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉力永志春梅海燕宏亮"
    "云飞鹏斌波宁浩凯俊峰林婷倩雪琳晨欣怡子涵雨轩博宇诚德福寿胜利庆荣家兴长松成"
)
MOBILE_PREFIXES = (
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "157",
    "158",
    "159",
    "166",
    "173",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def _person(rng: random.Random) -> str:
    given = _one(rng, GIVEN) + (_one(rng, GIVEN) if rng.random() < 0.7 else "")
    return _one(rng, SURNAMES) + given


def _mobile(rng: random.Random) -> str:
    return _one(rng, MOBILE_PREFIXES) + f"{int(rng.random() * 10**8):08d}"


def _id_number(rng: random.Random, region_code: str) -> str:
    born = date(1945, 1, 1) + timedelta(days=rng.randrange(60 * 365))
    body = f"{region_code[:6]}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + ID_CHECK[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]
