-- The findings lifecycle (governance.md, "Findings contract"): how a run's failing entities
-- of some rules ($rules) become governance.findings. quality/findings.py::write_findings runs
-- these statements in order, in the governance step's transaction, each with the parameters it
-- names. Its inputs, registered or filled by the step:
--   _new_findings       this run's failing entities of $rules (a frame, untyped when empty)
--   _waivers            the owners' valid waivers as of the run date (quality/waivers.py)
--   _carried_findings   open findings kept without revalidating their entity (carry_findings)
-- One entity breaking one rule is one row, however many runs see it.

-- name: found
-- found this run (typed: an empty frame has no types), with the first detection of any earlier
-- row of the same finding
create or replace temp table _found as
select
    found.*,
    coalesce(earlier.first_detected_at, found.detected_at) as first_detected_at
from (
    select
        rule_id::varchar as rule_id,
        entity_type::varchar as entity_type,
        entity_id::varchar as entity_id,
        clinic_id::varchar as clinic_id,
        severity::varchar as severity,
        detail::varchar as detail,
        run_id::varchar as run_id,
        detected_at::timestamptz as detected_at
    from _new_findings
) as found
left join governance.findings as earlier
    on earlier.rule_id = found.rule_id and earlier.entity_id = found.entity_id;

-- name: resolve
-- seen before and not again (nor carried): resolved as of this run
update governance.findings set
    status = 'resolved',
    resolved_at = $detected_at,
    waiver_reason = null,
    waived_by = null,
    waiver_expires_on = null
where rule_id in (select unnest($rules)) and status <> 'resolved'
    and (rule_id, entity_id) not in (select (rule_id, entity_id) from _found)
    and (rule_id, entity_id) not in (select (rule_id, entity_id) from _carried_findings);

-- name: replace
-- an entity found again gets this run's row (a resolved finding is open again)
delete from governance.findings
where (rule_id, entity_id) in (select (rule_id, entity_id) from _found);

-- name: insert
insert into governance.findings (
    rule_id, entity_type, entity_id, clinic_id, severity, detail, run_id, detected_at,
    first_detected_at, status, resolved_at, waiver_reason, waived_by, waiver_expires_on
)
select
    rule_id, entity_type, entity_id, clinic_id, severity, detail, run_id, detected_at,
    first_detected_at, 'open', null, null, null, null
from _found;

-- name: lift_waivers
-- the owners' waivers, as of this run, on every finding still standing: a waiver that lapsed
-- or was withdrawn opens its finding again
update governance.findings set
    status = 'open',
    waiver_reason = null,
    waived_by = null,
    waiver_expires_on = null
where status = 'waived' and rule_id in (select unnest($rules));

-- name: apply_waivers
update governance.findings as findings set
    status = 'waived',
    waiver_reason = waivers.reason,
    waived_by = waivers.owner,
    waiver_expires_on = waivers.expires_on
from _waivers as waivers
where findings.rule_id = waivers.rule_id and findings.entity_id = waivers.entity_id
    and findings.status = 'open' and findings.rule_id in (select unnest($rules));

-- name: done
drop table _found;

-- name: forget_carried
delete from _carried_findings where rule_id in (select unnest($rules));
