"""Chinese labels of every enumerated value, for `KindCount.label`, breakdowns and exports."""

from __future__ import annotations

ORGANIZATION_KIND = {
    "PARTY_COMMITTEE": "党委",
    "PARTY_GENERAL_BRANCH": "党总支",
    "PARTY_BRANCH": "党支部",
    "VILLAGE_COMMITTEE": "村民委员会",
    "RESIDENTS_COMMITTEE": "居民委员会",
    "SUPERVISION_COMMITTEE": "村(居)务监督委员会",
    "COLLECTIVE_ECONOMY": "集体经济组织",
    "SERVICE_CENTRE": "便民服务中心",
    "SOCIAL_ORGANIZATION": "社会组织",
    "VOLUNTEER_TEAM": "志愿服务队",
}

SERVICE_CATEGORY = {
    "SOCIAL_SECURITY": "社会保障",
    "ELDERLY_CARE": "养老服务",
    "HEALTH": "医疗卫生",
    "EDUCATION": "教育",
    "EMPLOYMENT": "就业",
    "HOUSING": "住房",
    "INFRASTRUCTURE": "基础设施",
    "ENVIRONMENT": "生态环境",
    "PUBLIC_SAFETY": "公共安全",
    "DISPUTE_MEDIATION": "矛盾纠纷调解",
    "LEGAL_AID": "法律援助",
    "OTHER": "其他",
}

SERVICE_CHANNEL = {
    "WALK_IN": "窗口来访",
    "HOTLINE": "热线电话",
    "ONLINE": "网上办理",
    "MOBILE_APP": "移动应用",
    "GRID_WORKER": "网格员上报",
    "HOME_VISIT": "入户走访",
}

SERVICE_STATUS = {
    "SUBMITTED": "已提交",
    "ACCEPTED": "已受理",
    "IN_PROGRESS": "办理中",
    "ESCALATED": "已上报",
    "RESOLVED": "已办结",
    "CLOSED": "已关闭",
    "REJECTED": "不予受理",
    "WITHDRAWN": "已撤回",
}

PARTICIPATION_KIND = {
    "JOINT_MEETING": "联席会议",
    "DELIBERATION": "议事协商",
    "HEARING": "听证会",
    "OPINION_SOLICITATION": "征求意见",
    "PUBLIC_SUPERVISION": "群众监督",
    "VILLAGERS_ASSEMBLY": "村(居)民会议",
    "VOLUNTEER_ACTIVITY": "志愿服务活动",
}

PARTICIPANT_GROUP = {
    "VILLAGERS": "村(居)民",
    "PARTY_MEMBERS": "党员",
    "REPRESENTATIVES": "村(居)民代表",
    "OFFICIALS": "干部",
    "EXPERTS": "专家",
    "OTHERS": "其他",
}

RESOLUTION_STATUS = {
    "PROPOSED": "提议",
    "ADOPTED": "通过",
    "REJECTED": "否决",
    "IMPLEMENTED": "已落实",
}

REGION_LEVEL = {
    "NATION": "国家",
    "PROVINCE": "省级",
    "CITY": "地级",
    "COUNTY": "县级",
    "TOWNSHIP": "乡级",
    "VILLAGE": "村级",
}

REGION_ACCESS = {
    "FULL": "辖区内",
    "BREADCRUMB": "上级(仅导航)",
}

SERVICE_REQUEST_ORDER = {
    "SUBMITTED_AT_DESC": "按提交时间(新→旧)",
    "SUBMITTED_AT_ASC": "按提交时间(旧→新)",
    "DUE_AT_ASC": "按办理期限(近→远)",
    "DUE_AT_DESC": "按办理期限(远→近)",
    "RESOLVED_AT_DESC": "按办结时间(新→旧,未办结在后)",
    "RESOLVED_AT_ASC": "按办结时间(旧→新,未办结在后)",
    "SATISFACTION_DESC": "按满意度(高→低,未评价在后)",
    "SATISFACTION_ASC": "按满意度(低→高,未评价在后)",
}

ORGANIZATION_ORDER = {
    "NAME_ASC": "按名称(升序)",
    "NAME_DESC": "按名称(降序)",
    "MEMBER_COUNT_DESC": "按成员数(多→少)",
    "MEMBER_COUNT_ASC": "按成员数(少→多)",
}

PARTICIPATION_EVENT_ORDER = {
    "STARTS_AT_DESC": "按开始时间(新→旧)",
    "STARTS_AT_ASC": "按开始时间(旧→新)",
}

BREAKDOWN = {
    "CHILD": "按下级区划",
    "MONTH": "按月",
    "QUARTER": "按季度",
    "YEAR": "按年",
    "SERVICE_CATEGORY": "按服务类别",
    "ORGANIZATION_KIND": "按组织类型",
    "PARTICIPATION_KIND": "按参与形式",
}

# The figures a CHILD breakdown ranks by (`BreakdownOrder`).
RANKED_FIGURE = {
    "ORGANIZATIONS": "组织数",
    "PARTY_MEMBERS": "党员数",
    "TOTAL": "诉求数",
    "OPEN": "未办结数",
    "RESOLVED": "办结数",
    "OVERDUE": "超期数",
    "RESPONSE_RATE": "及时响应率",
    "RESOLUTION_RATE": "解决率",
    "SATISFACTION_RATE": "满意率",
    "AVERAGE_HOURS_TO_RESOLVE": "平均办结时长",
    "EVENTS": "活动数",
    "PARTICIPANTS": "参与人次",
    "RESOLUTIONS_ADOPTED": "通过决议数",
    "RESOLUTIONS_IMPLEMENTED": "落实决议数",
}
BREAKDOWN_ORDER = {
    "KEY_ASC": "按代码升序",
    **{
        f"{figure}_{direction}": f"按{label}{word}"
        for figure, label in RANKED_FIGURE.items()
        for direction, word in (("ASC", "升序"), ("DESC", "降序"))
    },
}

# Keyed by the enum's names; history stores the lower-case values.
SERVICE_REQUEST_ACTION = {
    "SUBMIT": "提交",
    "ACCEPT": "受理",
    "REJECT": "不予受理",
    "START": "开始办理",
    "ESCALATE": "上报",
    "RESOLVE": "办结",
    "CLOSE": "关闭",
    "REOPEN": "重新办理",
    "WITHDRAW": "撤回",
    "RATE": "评价",
    "IMPORTED": "导入",
}
