-- Indexes for the list orders pages ask for (issue 18).
--
-- Each order a list offers walks an index instead of sorting the subtree: the nullable
-- columns sort by the same `coalesce` sentinel the hub's ORDER BY uses (nulls last both
-- ways), so the planner matches the expression. Backward pages walk the same index the
-- other way. `benchmarks/explain_lists.py` prints each order's plan: on the demo county
-- (a page of 50 as a county viewer) the due, resolved-at and satisfaction orders scanned and
-- sorted the table (88–90 ms); with these indexes each page takes about 0.5 ms. The
-- organization orders need none: a county's organizations sort in about 2 ms either way, and
-- the planner keeps its scan even given an index on (name, id) or (member_count, id).

create index service_request_resolved_desc on service_request
    ((coalesce(resolved_at, '-infinity'::timestamptz)) desc, id desc);
create index service_request_resolved_asc on service_request
    ((coalesce(resolved_at, 'infinity'::timestamptz)), id);
create index service_request_satisfaction_desc on service_request
    ((coalesce(satisfaction, 0::smallint)) desc, id desc);
create index service_request_satisfaction_asc on service_request
    ((coalesce(satisfaction, 6::smallint)), id);
create index service_request_due_asc on service_request
    ((coalesce(due_at, 'infinity'::timestamptz)), id);
create index service_request_due_desc on service_request
    ((coalesce(due_at, '-infinity'::timestamptz)) desc, id desc);
