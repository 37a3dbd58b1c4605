-- Governance findings per rule and clinic city (the compliance chapter).
select findings.rule_id, clinics.city, count(*) as findings,
       count(distinct findings.clinic_id) as clinics
from governance.findings as findings
left join marts.clinic_scorecard as clinics on findings.clinic_id = clinics.clinic_id
where findings.status <> 'resolved'
group by all
order by findings.rule_id, findings desc
