-- Reporting SQL a BI tool can show (issue 19): China Standard Time, Chinese labels, comments.
--
-- Reporting logins run with `TimeZone = 'Asia/Shanghai'` (a per-role setting: group roles'
-- settings are not inherited, so each login gets it, here for the existing ones and in
-- `reporting_grant` for new ones), so `date(submitted_at)` in a BI tool falls on the same
-- day as the hub's China-time figures. Each view gains `…_label` columns with the Chinese
-- label beside its code, read from `reporting_label`, which holds the labels of
-- resolvers/labels.py (tests/db/test_reporting_bi.py keeps the two in agreement). The
-- columns are appended at the end, so queries written against the old views keep working.
-- Every view and column carries a comment (Chinese, then the English of the GraphQL
-- schema's description), which BI tools show beside the field.

-- Existing reporting logins.
do $$
declare
    v_role name;
begin
    for v_role in select r.rolname from pg_roles r
                  join pg_auth_members m on m.member = r.oid
                  where m.roleid = 'hub_reporting'::regrole and is_reporting_login(r.rolname)
    loop
        execute format('alter role %I set timezone to %L', v_role, 'Asia/Shanghai');
    end loop;
end
$$;

-- New ones: as in 0010, and the time zone set on the login whether created or updated.
create or replace function reporting_grant(p_role text, p_codes text[], p_verifier text)
    returns text
    language plpgsql security invoker set search_path = public, pg_temp
as $$
declare
    v_paths ltree[];
    v_exists boolean;
    v_unknown text;
begin
    if p_role !~ '^[a-z][a-z0-9_]{0,62}$' or p_role ~ '^(pg_|hub_)' then
        raise exception 'a reporting login is named with lower-case letters, digits and _, and not pg_… or hub_…'
            using errcode = 'invalid_parameter_value';
    end if;
    select string_agg(c, ', ') into v_unknown
    from unnest(p_codes) c where not exists (select from region r where r.code = c);
    if v_unknown is not null or cardinality(p_codes) = 0 then
        raise exception 'no region %', coalesce(v_unknown, '(none given)')
            using errcode = 'foreign_key_violation';
    end if;
    select array_agg(r.path order by r.code) into v_paths
    from region r where r.code = any(p_codes);
    select true into v_exists from pg_roles where rolname = p_role;
    if v_exists then
        if not is_reporting_login(p_role) then
            raise exception 'role % exists and is not a reporting login', p_role
                using errcode = 'duplicate_object';
        end if;
        execute format('alter role %I login password %L', p_role, p_verifier);
    else
        execute format('create role %I login password %L in role hub_reporting', p_role,
                       p_verifier);
    end if;
    execute format('alter role %I set timezone to %L', p_role, 'Asia/Shanghai');
    insert into reporting_scope as s (role_name, jurisdictions, paths)
    values (p_role, (select array_agg(distinct c order by c) from unnest(p_codes) c), v_paths)
    on conflict (role_name) do update
        set jurisdictions = excluded.jurisdictions, paths = excluded.paths, granted_at = now();
    return case when v_exists then 'updated' else 'created' end;
end
$$;
revoke all on function reporting_grant(text, text[], text) from public;

-- The Chinese label of each enumerated value, as resolvers/labels.py has them.
create table reporting_label (
    kind  text not null,
    code  text not null,
    label text not null,
    primary key (kind, code)
);
insert into reporting_label (kind, code, label) values
    ('organization_kind', 'PARTY_COMMITTEE', '党委'),
    ('organization_kind', 'PARTY_GENERAL_BRANCH', '党总支'),
    ('organization_kind', 'PARTY_BRANCH', '党支部'),
    ('organization_kind', 'VILLAGE_COMMITTEE', '村民委员会'),
    ('organization_kind', 'RESIDENTS_COMMITTEE', '居民委员会'),
    ('organization_kind', 'SUPERVISION_COMMITTEE', '村(居)务监督委员会'),
    ('organization_kind', 'COLLECTIVE_ECONOMY', '集体经济组织'),
    ('organization_kind', 'SERVICE_CENTRE', '便民服务中心'),
    ('organization_kind', 'SOCIAL_ORGANIZATION', '社会组织'),
    ('organization_kind', 'VOLUNTEER_TEAM', '志愿服务队'),
    ('service_category', 'SOCIAL_SECURITY', '社会保障'),
    ('service_category', 'ELDERLY_CARE', '养老服务'),
    ('service_category', 'HEALTH', '医疗卫生'),
    ('service_category', 'EDUCATION', '教育'),
    ('service_category', 'EMPLOYMENT', '就业'),
    ('service_category', 'HOUSING', '住房'),
    ('service_category', 'INFRASTRUCTURE', '基础设施'),
    ('service_category', 'ENVIRONMENT', '生态环境'),
    ('service_category', 'PUBLIC_SAFETY', '公共安全'),
    ('service_category', 'DISPUTE_MEDIATION', '矛盾纠纷调解'),
    ('service_category', 'LEGAL_AID', '法律援助'),
    ('service_category', 'OTHER', '其他'),
    ('service_channel', 'WALK_IN', '窗口来访'),
    ('service_channel', 'HOTLINE', '热线电话'),
    ('service_channel', 'ONLINE', '网上办理'),
    ('service_channel', 'MOBILE_APP', '移动应用'),
    ('service_channel', 'GRID_WORKER', '网格员上报'),
    ('service_channel', 'HOME_VISIT', '入户走访'),
    ('service_status', 'SUBMITTED', '已提交'),
    ('service_status', 'ACCEPTED', '已受理'),
    ('service_status', 'IN_PROGRESS', '办理中'),
    ('service_status', 'ESCALATED', '已上报'),
    ('service_status', 'RESOLVED', '已办结'),
    ('service_status', 'CLOSED', '已关闭'),
    ('service_status', 'REJECTED', '不予受理'),
    ('service_status', 'WITHDRAWN', '已撤回'),
    ('participation_kind', 'JOINT_MEETING', '联席会议'),
    ('participation_kind', 'DELIBERATION', '议事协商'),
    ('participation_kind', 'HEARING', '听证会'),
    ('participation_kind', 'OPINION_SOLICITATION', '征求意见'),
    ('participation_kind', 'PUBLIC_SUPERVISION', '群众监督'),
    ('participation_kind', 'VILLAGERS_ASSEMBLY', '村(居)民会议'),
    ('participation_kind', 'VOLUNTEER_ACTIVITY', '志愿服务活动'),
    ('participant_group', 'VILLAGERS', '村(居)民'),
    ('participant_group', 'PARTY_MEMBERS', '党员'),
    ('participant_group', 'REPRESENTATIVES', '村(居)民代表'),
    ('participant_group', 'OFFICIALS', '干部'),
    ('participant_group', 'EXPERTS', '专家'),
    ('participant_group', 'OTHERS', '其他'),
    ('resolution_status', 'PROPOSED', '提议'),
    ('resolution_status', 'ADOPTED', '通过'),
    ('resolution_status', 'REJECTED', '否决'),
    ('resolution_status', 'IMPLEMENTED', '已落实'),
    ('region_level', 'NATION', '国家'),
    ('region_level', 'PROVINCE', '省级'),
    ('region_level', 'CITY', '地级'),
    ('region_level', 'COUNTY', '县级'),
    ('region_level', 'TOWNSHIP', '乡级'),
    ('region_level', 'VILLAGE', '村级');
grant select on reporting_label to hub_reporting_owner;

grant create on schema reporting to hub_reporting_owner;
set local role hub_reporting_owner;

create view reporting.labels with (security_barrier) as
select l.kind, l.code, l.label from reporting_label l;

create or replace view reporting.regions with (security_barrier) as
select r.code, r.name, r.full_name, r.level::text as level, r.parent_code,
    p.code as province_code, p.name as province_name,
    c.code as city_code, c.name as city_name,
    o.code as county_code, o.name as county_name,
    t.code as township_code, t.name as township_name,
    v.code as village_code, v.name as village_name,
    l_level.label as level_label
from region r
left join region p on r.level >= 'PROVINCE' and p.code = left(r.code, 2)
left join region c on r.level >= 'CITY' and c.code = left(r.code, 4)
left join region o on r.level >= 'COUNTY' and o.code = left(r.code, 6)
left join region t on r.level >= 'TOWNSHIP' and t.code = left(r.code, 9)
left join region v on r.level >= 'VILLAGE' and v.code = r.code
left join reporting_label l_level on l_level.kind = 'region_level'
    and l_level.code = r.level::text
where r.path <@ any ((select reporting_paths())::ltree[]);

create or replace view reporting.organizations with (security_barrier) as
select t.id, t.name, t.kind::text as kind,
    t.region_code, g.name as region_name, g.level as region_level,
    g.province_code, g.city_code, g.county_code, g.township_code, g.village_code,
    (select p.id from organization p where p.id = t.parent_id) as parent_id,
    t.member_count, t.party_member_count,
    mask_name(t.leader_name) as leader_name, t.leader_role,
    mask_phone(t.leader_phone) as leader_phone,
    t.founded_on, t.created_at, t.updated_at,
    l_kind.label as kind_label,
    g.level_label as region_level_label
from organization t
join reporting.regions g on g.code = t.region_code
left join reporting_label l_kind on l_kind.kind = 'organization_kind'
    and l_kind.code = t.kind::text;

create or replace view reporting.service_requests with (security_barrier) as
select t.id, t.reference,
    t.region_code, g.name as region_name, g.level as region_level,
    g.province_code, g.city_code, g.county_code, g.township_code, g.village_code,
    t.handling_region_code,
    (select o.id from organization o where o.id = t.handled_by) as handled_by,
    t.category::text as category, t.channel::text as channel, t.status::text as status,
    mask_text(t.title) as title, mask_text(t.description) as description,
    mask_name(t.requester_name) as requester_name,
    mask_phone(t.requester_phone) as requester_phone,
    t.submitted_at, (t.submitted_at at time zone 'Asia/Shanghai')::date as submitted_on,
    t.first_responded_at, t.accepted_at, t.due_at, t.resolved_at, t.closed_at, t.satisfaction,
    t.first_responded_at <= t.submitted_at + interval '24 hours' as answered_within_24h,
    t.status in ('SUBMITTED', 'ACCEPTED', 'IN_PROGRESS', 'ESCALATED')
        and t.due_at < now() as overdue,
    case when t.status in ('RESOLVED', 'CLOSED')
        then extract(epoch from t.resolved_at - t.submitted_at) / 3600 end as hours_to_resolve,
    l_category.label as category_label,
    l_channel.label as channel_label,
    l_status.label as status_label,
    g.level_label as region_level_label
from service_request t
join reporting.regions g on g.code = t.region_code
left join reporting_label l_category on l_category.kind = 'service_category'
    and l_category.code = t.category::text
left join reporting_label l_channel on l_channel.kind = 'service_channel'
    and l_channel.code = t.channel::text
left join reporting_label l_status on l_status.kind = 'service_status'
    and l_status.code = t.status::text;

create or replace view reporting.participation_events with (security_barrier) as
select t.id, t.region_code, g.name as region_name, g.level as region_level,
    g.province_code, g.city_code, g.county_code, g.township_code, g.village_code,
    (select o.id from organization o where o.id = t.organizer_id) as organizer_id,
    t.kind::text as kind, mask_text(t.title) as title, mask_text(t.topic) as topic,
    t.starts_at, (t.starts_at at time zone 'Asia/Shanghai')::date as starts_on,
    t.participant_count, t.participants_by_group,
    l_kind.label as kind_label,
    g.level_label as region_level_label
from participation_event t
join reporting.regions g on g.code = t.region_code
left join reporting_label l_kind on l_kind.kind = 'participation_kind'
    and l_kind.code = t.kind::text;

create or replace view reporting.resolutions with (security_barrier) as
select t.id, t.event_id, t.region_code, g.name as region_name, g.level as region_level,
    g.province_code, g.city_code, g.county_code, g.township_code, g.village_code,
    t.position, mask_text(t.text) as text, t.status::text as status,
    t.decided_on, t.implemented_on, t.votes_for, t.votes_against,
    l_status.label as status_label,
    g.level_label as region_level_label
from resolution t
join reporting.regions g on g.code = t.region_code
left join reporting_label l_status on l_status.kind = 'resolution_status'
    and l_status.code = t.status::text;

grant select on all tables in schema reporting to hub_reporting;

-- Comments: one per view, and per column name (the same name means the same in every view);
-- the few names whose meaning differs by view are given per view first.
comment on view reporting.labels is
    '代码的中文名称(与 GraphQL 枚举的说明一致) / The Chinese label of each enumerated value, as the GraphQL schema gives it';
comment on view reporting.regions is
    '辖区内的行政区划(不含上级),附各级上级的代码与名称 / Regions in scope (not their ancestors), with each ancestor''s code and name';
comment on view reporting.organizations is
    '基层组织,每个组织一行 / Grassroots organizations, one row each';
comment on view reporting.service_requests is
    '服务诉求,每件一行(含已撤回的,见 status) / Service requests, one row each (withdrawn ones included; status says)';
comment on view reporting.participation_events is
    '群众参与活动,每场一行 / Participation events, one row each';
comment on view reporting.resolutions is
    '参与活动形成的决议,每项一行 / Resolutions of participation events, one row each';
comment on view reporting.daily_figures is
    '每个区划每日(北京时间)的可加总数字,可汇总到任意层级与时段 / Additive figures per region and day (China Standard Time), to sum to any level and period';
comment on view reporting.monthly_figures is
    '每个区划每月的可加总数字(month 为当月第一天) / The same figures per region and calendar month (month: its first day)';

do $$
declare
    v_col record;
    v_text text;
begin
    for v_col in select c.table_name, c.column_name from information_schema.columns c
                 where c.table_schema = 'reporting'
    loop
        select x.body into v_text from (values
            ('labels', 'kind', '代码类别,如 service_status / Which codes: service_status, service_category, …'),
            ('labels', 'code', '代码(GraphQL 枚举名) / The code (the GraphQL enum name)'),
            ('labels', 'label', '中文名称 / The Chinese label'),
            ('regions', 'code', '区划代码(12 位以内) / The region''s statistical division code'),
            ('regions', 'name', '区划名称 / The region''s name'),
            ('regions', 'level', '区划层级代码 / The region''s level'),
            ('regions', 'level_label', '区划层级(中文) / The level''s Chinese label, e.g. 县级'),
            ('organizations', 'id', '组织编号 / The organization''s id'),
            ('organizations', 'name', '组织名称 / The organization''s name'),
            ('organizations', 'kind', '组织类型代码 / What kind of organization it is'),
            ('organizations', 'kind_label', '组织类型(中文) / The kind''s Chinese label, e.g. 党支部'),
            ('organizations', 'created_at', '记录创建时间 / When the record was created'),
            ('organizations', 'updated_at', '记录最后修改时间 / When the record last changed'),
            ('service_requests', 'id', '诉求编号 / The request''s id'),
            ('service_requests', 'status', '办理状态代码 / Where it stands in the workflow'),
            ('service_requests', 'status_label', '办理状态(中文) / The status''s Chinese label, e.g. 已受理'),
            ('service_requests', 'title', '标题(电话、身份证号已遮盖) / A short title; phone and ID numbers masked'),
            ('service_requests', 'overdue', '查询时是否逾期未办结 / Open and past its due time, at query time'),
            ('service_requests', 'answered_within_24h', '是否 24 小时内首次答复 / First accepted or rejected within 24 hours'),
            ('service_requests', 'hours_to_resolve', '办结用时(小时,仅已办结) / Hours from submission to resolution (resolved ones)'),
            ('participation_events', 'id', '活动编号 / The event''s id'),
            ('participation_events', 'kind', '参与形式代码 / What kind of participation it was'),
            ('participation_events', 'kind_label', '参与形式(中文) / The kind''s Chinese label, e.g. 议事协商'),
            ('participation_events', 'title', '活动标题(已遮盖个人信息) / The event''s title, masked'),
            ('resolutions', 'id', '决议编号 / The resolution''s id'),
            ('resolutions', 'status', '决议状态代码 / Where the resolution stands'),
            ('resolutions', 'status_label', '决议状态(中文) / The status''s Chinese label, e.g. 已落实'),
            ('daily_figures', 'overdue', '当日提交、查询时逾期未办结的诉求数 / Requests of the day open and past due, at query time'),
            ('daily_figures', 'answered_within_24h', '当日提交、24 小时内首次答复的诉求数 / Requests of the day first answered within 24 hours'),
            ('daily_figures', 'hours_to_resolve', '当日提交、已办结诉求的办结用时合计(小时) / Sum of hours to resolve of the day''s resolved requests'),
            ('monthly_figures', 'overdue', '当月提交、查询时逾期未办结的诉求数 / Requests of the month open and past due, at query time'),
            ('monthly_figures', 'answered_within_24h', '当月提交、24 小时内首次答复的诉求数 / Requests of the month first answered within 24 hours'),
            ('monthly_figures', 'hours_to_resolve', '当月提交、已办结诉求的办结用时合计(小时) / Sum of hours to resolve of the month''s resolved requests'),
            ('*', 'full_name', '区划全称(含上级名称) / The region''s full name, with its ancestors'''),
            ('*', 'parent_code', '上级区划代码 / The parent region''s code'),
            ('*', 'region_code', '所属区划代码 / The code of the region it belongs to'),
            ('*', 'region_name', '所属区划名称 / The name of the region it belongs to'),
            ('*', 'region_level', '所属区划层级代码 / The level of the region it belongs to'),
            ('*', 'region_level_label', '所属区划层级(中文) / That level''s Chinese label'),
            ('*', 'province_code', '所属省级区划代码 / The province''s code'),
            ('*', 'province_name', '所属省级区划名称 / The province''s name'),
            ('*', 'city_code', '所属地级区划代码 / The city''s (prefecture''s) code'),
            ('*', 'city_name', '所属地级区划名称 / The city''s (prefecture''s) name'),
            ('*', 'county_code', '所属县级区划代码 / The county''s code'),
            ('*', 'county_name', '所属县级区划名称 / The county''s name'),
            ('*', 'township_code', '所属乡级区划代码 / The township''s code'),
            ('*', 'township_name', '所属乡级区划名称 / The township''s name'),
            ('*', 'village_code', '所属村级区划代码 / The village''s code'),
            ('*', 'village_name', '所属村级区划名称 / The village''s name'),
            ('*', 'parent_id', '上级组织编号(不在辖区内时为空) / The parent organization; null when outside the scope'),
            ('*', 'member_count', '成员数 / Members'),
            ('*', 'party_member_count', '党员数 / Party members'),
            ('*', 'leader_name', '负责人姓名(已遮盖) / The leader''s name, masked'),
            ('*', 'leader_role', '负责人职务 / The leader''s role'),
            ('*', 'leader_phone', '负责人电话(已遮盖) / The leader''s phone, masked'),
            ('*', 'founded_on', '成立日期 / When it was founded'),
            ('*', 'reference', '诉求编号(按受理区划和年份编号) / Human reference, numbered per raising region and year'),
            ('*', 'handling_region_code', '承办区划代码 / The region handling it'),
            ('*', 'handled_by', '承办组织编号(不在辖区内时为空) / The handling organization; null when outside the scope'),
            ('*', 'category', '服务类别代码 / What the request is about'),
            ('*', 'category_label', '服务类别(中文) / The category''s Chinese label, e.g. 养老服务'),
            ('*', 'channel', '来源渠道代码 / How it reached the office'),
            ('*', 'channel_label', '来源渠道(中文) / The channel''s Chinese label, e.g. 热线电话'),
            ('*', 'description', '诉求内容(电话、身份证号已遮盖) / The account; phone and ID numbers masked'),
            ('*', 'requester_name', '诉求人姓名(已遮盖) / Who asked, masked'),
            ('*', 'requester_phone', '诉求人电话(已遮盖) / The requester''s phone, masked'),
            ('*', 'submitted_at', '提交时间 / When it was submitted'),
            ('*', 'submitted_on', '提交日期(北京时间) / The day it was submitted, China Standard Time'),
            ('*', 'first_responded_at', '首次受理或不予受理的时间 / First accept or reject'),
            ('*', 'accepted_at', '首次受理时间 / When it was first accepted'),
            ('*', 'due_at', '办理期限:提交时间加该类别的办理天数 / When it falls due: submission + the category''s deadline in days'),
            ('*', 'resolved_at', '最近一次办结时间 / The latest resolution'),
            ('*', 'closed_at', '关闭时间 / When it was closed'),
            ('*', 'satisfaction', '群众满意度评价(1–5) / The resident''s rating, 1 to 5'),
            ('*', 'organizer_id', '组织方编号(不在辖区内时为空) / The organizing organization; null when outside the scope'),
            ('*', 'topic', '议题(已遮盖个人信息) / The topic, masked'),
            ('*', 'starts_at', '开始时间 / When it starts'),
            ('*', 'starts_on', '开始日期(北京时间) / The day it starts, China Standard Time'),
            ('*', 'participant_count', '参与人数 / Participants'),
            ('*', 'participants_by_group', '各类参与人数(JSON,键为参与群体代码) / Participants per group (JSON keyed by group code)'),
            ('*', 'event_id', '所属活动编号 / The event it came from'),
            ('*', 'position', '在活动决议中的序号 / Its position among the event''s resolutions'),
            ('*', 'text', '决议内容(已遮盖个人信息) / The resolution''s text, masked'),
            ('*', 'decided_on', '表决日期 / The day it was decided'),
            ('*', 'implemented_on', '落实日期 / The day it was implemented'),
            ('*', 'votes_for', '赞成票数 / Votes for'),
            ('*', 'votes_against', '反对票数 / Votes against'),
            ('*', 'day', '日期(北京时间) / The day, China Standard Time'),
            ('*', 'month', '月份(当月第一天) / The month (its first day)'),
            ('*', 'submitted', '提交的诉求数(不含已撤回) / Requests submitted, withdrawn ones left out'),
            ('*', 'open', '其中未办结的(已提交、已受理、办理中、已上报) / Of those, SUBMITTED, ACCEPTED, IN_PROGRESS or ESCALATED'),
            ('*', 'resolved', '其中已办结或已关闭的 / Of those, RESOLVED or CLOSED'),
            ('*', 'rejected', '其中不予受理的 / Of those, REJECTED'),
            ('*', 'answer_due', '应在 24 小时内答复的诉求数(及时答复率的分母) / Requests whose 24 hours to answer have passed or that were answered: the on-time rate''s denominator'),
            ('*', 'rated', '已评价的诉求数 / Requests rated'),
            ('*', 'satisfied', '评价 4 分及以上的诉求数 / Requests rated 4 or 5'),
            ('*', 'events', '开始的参与活动数 / Participation events started'),
            ('*', 'participants', '参与人次 / Participants of those events'),
            ('*', 'resolutions_adopted', '通过的决议数(按表决日期) / Resolutions ADOPTED or IMPLEMENTED, by the day decided'),
            ('*', 'resolutions_implemented', '落实的决议数(按落实日期) / Resolutions implemented, by the day implemented')
        ) as x(view_name, column_name, body)
        where x.column_name = v_col.column_name and x.view_name in (v_col.table_name, '*')
        order by x.view_name = '*'
        limit 1;
        if v_text is not null then
            execute format('comment on column reporting.%I.%I is %L', v_col.table_name,
                           v_col.column_name, v_text);
        end if;
    end loop;
end
$$;

reset role;
revoke create on schema reporting from hub_reporting_owner;
