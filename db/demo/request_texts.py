"""What service requests say: texts per category, channels, places and requesters."""

from __future__ import annotations

import random
from dataclasses import dataclass

from db.demo.draws import Weighted, _one
from db.demo.people import SURNAMES, _id_number, _mobile, _person
from db.demo.regions import County, Region

REQUEST_TEXTS: dict[str, tuple[tuple[str, str], ...]] = {
    "SOCIAL_SECURITY": (
        (
            "咨询城乡居民养老保险缴费档次",
            "{who}想了解今年城乡居民基本养老保险的缴费档次和政府补贴标准，希望工作人员讲解。",
        ),
        (
            "申请办理最低生活保障",
            "{who}家中主要劳动力因病丧失劳动能力，生活困难，申请纳入最低生活保障。",
        ),
        ("医保关系转移接续", "{who}在外务工多年，现返乡，需要办理基本医疗保险关系转移接续。"),
        ("残疾人两项补贴未到账", "{who}反映本季度残疾人生活补贴和护理补贴未按时发放，请帮助查询。"),
        ("社保卡遗失补办", "{who}的社会保障卡遗失，需挂失补办并激活金融功能。"),
    ),
    "ELDERLY_CARE": (
        ("申请居家养老上门服务", "{spot}一位独居老人行动不便，{who}代为申请助餐、助洁上门服务。"),
        ("高龄津贴资格认证", "{who}家中老人年满八十周岁，需办理高龄津贴资格认证。"),
        ("养老服务站设施损坏", "{place}养老服务站活动室空调和座椅损坏，影响老人日常活动。"),
        ("申请入住敬老院", "{who}家中特困老人生活不能自理，申请入住{upper}敬老院。"),
    ),
    "HEALTH": (
        ("家庭医生签约咨询", "{who}想为家中慢性病老人签约家庭医生，咨询签约流程和服务内容。"),
        ("卫生室常用药品短缺", "{place}卫生室降压药、降糖药等常用药品短缺，老人配药需到{upper}。"),
        ("慢性病门诊报销手续", "{who}咨询慢性病门诊费用报销需要准备的材料和办理地点。"),
        ("申请上门健康体检", "{spot}有卧床老人无法到卫生院体检，申请安排医生上门体检。"),
    ),
    "EDUCATION": (
        ("学生资助政策咨询", "{who}家中孩子考入高中，咨询家庭经济困难学生资助政策。"),
        ("适龄儿童入学报名", "{who}随迁子女需在本地就读小学一年级，咨询报名材料。"),
        ("校车接送时间调整建议", "{spot}家长反映校车早上到站时间过早，建议调整接送时间。"),
        ("留守儿童课后看护", "{spot}留守儿童较多，建议利用活动室开展课后看护。"),
    ),
    "EMPLOYMENT": (
        ("求职登记与岗位推荐", "{who}返乡后希望在{upper}附近就业，申请求职登记和岗位推荐。"),
        ("申请创业担保贷款", "{who}准备发展特色种植，咨询创业担保贷款申请条件。"),
        ("技能培训报名", "{who}想报名参加电工、挖掘机或育婴员职业技能培训。"),
        ("公益性岗位申请", "{who}为脱贫户家庭成员，申请安排乡村公益性岗位。"),
    ),
    "HOUSING": (
        (
            "农村危房改造申请",
            "{who}家房屋墙体开裂、屋顶漏雨，经初步查看存在安全隐患，申请危房改造。",
        ),
        ("宅基地审批咨询", "{who}家中分户后需新建住房，咨询宅基地申请审批流程。"),
        ("公租房申请", "{who}在城区务工，家庭收入较低，申请公共租赁住房。"),
        ("房屋漏雨需维修", "{spot}一户困难群众住房漏雨，申请帮助维修。"),
    ),
    "INFRASTRUCTURE": (
        ("通组道路破损", "{spot}通组道路多处坑洼，雨天积水严重，群众出行不便。"),
        ("路灯不亮", "{spot}主干道有多盏路灯损坏不亮，夜间出行存在安全隐患。"),
        ("自来水停水", "{spot}自来水已停水两天，影响群众正常生活，请尽快维修。"),
        ("灌溉渠道淤堵", "{spot}农田灌溉渠道淤堵，影响农作物灌溉，申请组织清淤。"),
        ("桥梁护栏损坏", "{spot}小桥护栏损坏，过往车辆和学生通行存在安全隐患。"),
    ),
    "ENVIRONMENT": (
        ("垃圾清运不及时", "{spot}垃圾收集点垃圾堆积多日未清运，气味难闻。"),
        ("河塘水面漂浮物", "{spot}河塘水面漂浮垃圾较多，请安排人员打捞。"),
        ("秸秆焚烧烟雾", "{spot}有人焚烧秸秆，烟雾较大，影响周边群众。"),
        ("养殖场异味扰民", "{spot}附近养殖场粪污处理不规范，异味影响周边住户。"),
        ("夜间施工噪音", "{spot}附近工地夜间施工噪音较大，影响群众休息。"),
    ),
    "PUBLIC_SAFETY": (
        ("电动车违规充电隐患", "{spot}楼道内有电动车违规充电，存在火灾隐患。"),
        ("路口缺少警示标志", "{spot}路口车流量大，缺少减速警示标志，请设置。"),
        ("防溺水警示牌缺失", "{spot}水塘边防溺水警示牌缺失，暑期学生较多，请尽快设置。"),
        ("燃气疑似泄漏", "{spot}有住户闻到燃气异味，疑似管道泄漏，请尽快处置。"),
    ),
    "DISPUTE_MEDIATION": (
        ("宅基地边界纠纷", "{who}与邻居因宅基地边界发生争议，申请调解。"),
        ("土地流转租金纠纷", "{spot}部分农户反映土地流转租金未按合同支付，申请协调。"),
        ("家庭赡养纠纷", "{who}反映子女未履行赡养义务，申请调解。"),
        ("排水沟堵塞引发邻里矛盾", "{spot}两户因排水沟堵塞发生矛盾，申请上门调解。"),
    ),
    "LEGAL_AID": (
        ("申请法律援助追讨欠薪", "{who}在外务工被拖欠工资{amount}元，申请法律援助。"),
        ("交通事故赔偿法律咨询", "{who}家人发生交通事故，咨询赔偿标准和诉讼流程。"),
        ("遗产继承法律咨询", "{who}咨询父母房屋遗产继承办理手续。"),
        ("土地流转合同审查", "{who}准备流转承包地，申请对合同条款进行审查。"),
    ),
    "OTHER": (
        ("开具证明材料咨询", "{who}咨询办理相关证明材料需要的手续。"),
        ("便民服务意见建议", "{who}建议{place}便民服务室延长周末办公时间。"),
        ("户籍迁移咨询", "{who}咨询子女户籍迁入办理流程。"),
        ("寻物求助", "{who}在{spot}附近遗失随身物品，请帮助发布寻物信息。"),
    ),
}

CATEGORIES = Weighted(
    {
        "SOCIAL_SECURITY": 14,
        "ELDERLY_CARE": 11,
        "HEALTH": 8,
        "EDUCATION": 5,
        "EMPLOYMENT": 6,
        "HOUSING": 6,
        "INFRASTRUCTURE": 16,
        "ENVIRONMENT": 11,
        "PUBLIC_SAFETY": 4,
        "DISPUTE_MEDIATION": 9,
        "LEGAL_AID": 3,
        "OTHER": 7,
    }
)
CHANNELS: dict[str, Weighted[str]] = {
    "VILLAGE": Weighted(
        {
            "WALK_IN": 30,
            "HOTLINE": 12,
            "ONLINE": 8,
            "MOBILE_APP": 15,
            "GRID_WORKER": 25,
            "HOME_VISIT": 10,
        }
    ),
    "TOWNSHIP": Weighted(
        {
            "WALK_IN": 35,
            "HOTLINE": 20,
            "ONLINE": 15,
            "MOBILE_APP": 15,
            "GRID_WORKER": 10,
            "HOME_VISIT": 5,
        }
    ),
    "COUNTY": Weighted(
        {
            "WALK_IN": 5,
            "HOTLINE": 45,
            "ONLINE": 30,
            "MOBILE_APP": 18,
            "GRID_WORKER": 1,
            "HOME_VISIT": 1,
        }
    ),
}
CHANNEL_HOURS: dict[str, tuple[float, float]] = {
    "WALK_IN": (8, 17.5),
    "HOTLINE": (7, 22),
    "ONLINE": (6, 24),
    "MOBILE_APP": (6, 24),
    "GRID_WORKER": (8, 18),
    "HOME_VISIT": (8.5, 17.5),
}


@dataclass(frozen=True)
class Place:
    """How a request raised in a region talks about places."""

    region: Region
    place: str
    upper: str
    spots: tuple[str, ...]


def _places(county: County) -> dict[str, Place]:
    places = {
        county.county.code: Place(
            county.county,
            county.county.name,
            county.county.name,
            tuple(t.base for t in county.townships),
        )
    }
    for township in county.townships:
        villages = county.villages[township.code]
        places[township.code] = Place(
            township,
            township.base,
            county.county.name,
            tuple(v.base for v in villages) or (township.base,),
        )
        for village in villages:
            spots = (
                tuple(f"第{n}村民组" for n in range(1, 13))
                if village.is_rural
                else tuple(f"第{n}网格" for n in range(1, 9))
            )
            places[village.code] = Place(
                village, village.base, township.base, tuple(village.base + s for s in spots)
            )
    return places


def _request_text(rng: random.Random, place: Place, category: str) -> tuple[str, str | None]:
    title, description = _one(rng, REQUEST_TEXTS[category])
    spot = _one(rng, place.spots)
    who = f"{spot}{place.region.resident_word}{_one(rng, SURNAMES)}某"
    text = description.format(
        who=who,
        spot=spot,
        place=place.place,
        upper=place.upper,
        amount=rng.randrange(20, 400) * 100,
    )
    roll = rng.random()
    # A few texts carry a phone or ID number, so masking of free text has work to do.
    if roll < 0.02:
        text += f"联系电话：{_mobile(rng)}。"
    elif roll < 0.03:
        text += f"身份证号：{_id_number(rng, place.region.code)}。"
    elif roll < 0.04:
        title += f"（请回电{_mobile(rng)}）"
    elif roll < 0.06:
        return title, None
    return title, text


def _requester(rng: random.Random, channel: str) -> tuple[str | None, str | None]:
    anonymous = {"HOTLINE": 0.3, "ONLINE": 0.1}.get(channel, 0.0)
    if rng.random() < anonymous:
        return None, None
    return _person(rng), (_mobile(rng) if rng.random() < 0.95 else None)


# -- service requests: the workflow ----------------------------------------------------------
