-- The low end of a subtree's code range: a region's code starts every descendant's code,
-- so the subtree of a path is the range [low, low || ':') of region codes. The nation's
-- code (100000) is no prefix: its range is everything, ['', ':').
create function subtree_low(p ltree) returns text
    language sql immutable parallel safe strict
as $$ select case when nlevel(p) = 1 then '' else ltree2text(subpath(p, -1)) end $$;
