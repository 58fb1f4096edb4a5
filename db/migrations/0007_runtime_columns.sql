-- The runtime role writes only the columns its writes need: never `source`, `external_id` or
-- `imported_version`, which only ingestion (running as the owner) keeps.
revoke insert, update on organization, service_request, participation_event, resolution
    from hub_runtime;
grant insert (region_code, kind, name, parent_id, member_count, party_member_count,
              leader_name, leader_role, leader_phone, founded_on),
      update (region_code, kind, name, parent_id, member_count, party_member_count,
              leader_name, leader_role, leader_phone, founded_on, version, updated_at)
    on organization to hub_runtime;
grant insert (reference, region_code, handling_region_code, handled_by, category, channel,
              status, title, description, requester_name, requester_phone, submitted_at,
              first_responded_at, accepted_at, due_at, resolved_at, closed_at, satisfaction,
              history, version),
      update (status, handling_region_code, handled_by, first_responded_at, accepted_at,
              resolved_at, closed_at, satisfaction, history, version, updated_at)
    on service_request to hub_runtime;
grant insert (region_code, organizer_id, kind, title, topic, starts_at, participant_count,
              participants_by_group),
      update (organizer_id, kind, title, topic, starts_at, participant_count,
              participants_by_group, version, updated_at)
    on participation_event to hub_runtime;
grant insert (event_id, region_code, position, text),
      update (status, decided_on, implemented_on, votes_for, votes_against, version, updated_at)
    on resolution to hub_runtime;
